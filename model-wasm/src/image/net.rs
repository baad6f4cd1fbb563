//! EfficientNet-Lite (any variant, any class count) as plain candle structs: `load(vb, spec)`
//! and `forward`.
//!
//! BatchNorm is already folded into every conv (weights and bias), activations are ReLU6, and
//! there is no squeeze-excite: the Lite variant dropped both swish and SE so the network
//! quantises well and runs on simple runtimes.
//!
//! Inside, activations are NHWC (channels last): every 1×1 conv is then one plain matrix product
//! `[pixels, c_in] × [c_in, c_out]`, and the depthwise kernel vectorises across channels (see
//! `depthwise.rs`). Weights are rearranged once, at load time.

use candle_core::{Result, Tensor};
use candle_nn::VarBuilder;

use super::arch::BlockSpec;
use super::depthwise::DepthwiseConv;
use super::ops::{BiasAct, Im2Col};
use super::spec::ImageModelSpec;
use super::weights::quantize_per_channel;
use crate::int8_matmul::{Epilogue, Int8Matrix, MatmulMode};

/// `[rows, c_in] × weight [c_in, c_out]`, then bias and optional ReLU6.
#[derive(Debug, Clone)]
struct Dense {
    product: Product,
    bias: Vec<f32>,
    relu6: bool,
}

/// How the 1×1 convolutions and the classifier multiply: the mode, and for 8-bit products the
/// activations' bits (the model's spec).
#[derive(Debug, Clone, Copy)]
struct Products {
    mode: MatmulMode,
    activation_bits: u32,
}

/// How a [`Dense`] layer multiplies (see [`MatmulMode`]).
#[derive(Debug, Clone)]
enum Product {
    /// f32 weights `[c_in, c_out]`, gemm, then bias and ReLU6 in one pass.
    F32(Tensor),
    /// 8-bit weights and activations, bias and ReLU6 fused into the store.
    Int8(Int8Matrix),
}

impl Dense {
    /// `weight`: `[c_out, c_in]` (PyTorch's layout).
    fn new(weight: &Tensor, bias: Vec<f32>, relu6: bool, products: Products) -> Result<Self> {
        let (c_out, c_in) = weight.dims2()?;
        let product = match products.mode {
            MatmulMode::F32 => Product::F32(weight.t()?.contiguous()?),
            MatmulMode::Int8 => {
                // The file's int8 values and per-channel scales, recovered exactly from the
                // dequantised weights (each channel's largest |w| is 127 × its scale).
                let q = quantize_per_channel(&weight.flatten_all()?.to_vec1()?, c_out);
                Product::Int8(
                    Int8Matrix::from_per_output(&q.values, &q.scales, c_out, c_in)
                        .and_then(|m| m.with_activation_bits(products.activation_bits))
                        .map_err(candle_core::Error::msg)?,
                )
            }
        };
        Ok(Self {
            product,
            bias,
            relu6,
        })
    }

    fn forward(&self, rows: &Tensor) -> Result<Tensor> {
        match &self.product {
            Product::F32(weight) => {
                let y = crate::matmul::matmul(rows, weight)?;
                y.inplace_op1(&BiasAct {
                    bias: &self.bias,
                    relu6: self.relu6,
                })?;
                Ok(y)
            }
            Product::Int8(matrix) => matrix.product(
                rows,
                Epilogue {
                    bias: Some(&self.bias),
                    relu6: self.relu6,
                },
            ),
        }
    }
}

/// A 1×1 convolution on NHWC activations.
#[derive(Debug, Clone)]
struct Pointwise(Dense);

impl Pointwise {
    fn load(
        vb: VarBuilder,
        c_in: usize,
        c_out: usize,
        relu6: bool,
        products: Products,
    ) -> Result<Self> {
        let weight = vb
            .get((c_out, c_in, 1, 1), "weight")?
            .reshape((c_out, c_in))?;
        let bias = vb.get(c_out, "bias")?.to_vec1()?;
        Ok(Self(Dense::new(&weight, bias, relu6, products)?))
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (n, h, w, c) = x.dims4()?;
        self.0
            .forward(&x.reshape((n * h * w, c))?)?
            .reshape((n, h, w, ()))
    }
}

/// The 3×3 stride-2 stem on the RGB input, with ReLU6: patches, then one matrix product.
#[derive(Debug, Clone)]
struct Stem {
    dense: Dense,
    channels: usize,
}

impl Stem {
    const PATCHES: Im2Col = Im2Col {
        kernel: 3,
        stride: 2,
    };

    fn load(vb: VarBuilder, channels: usize) -> Result<Self> {
        let w = vb.get((channels, 3, 3, 3), "weight")?;
        // (out, in, ky, kx) → rows in the patch order (ky, kx, in), one column per output.
        let weight = w
            .permute((2, 3, 1, 0))?
            .contiguous()?
            .reshape((27, channels))?;
        let bias = vb.get(channels, "bias")?.to_vec1()?;
        // 27 inputs (3×3×RGB), too few for 8-bit products to pay: always f32.
        Ok(Self {
            dense: Dense {
                product: Product::F32(weight),
                bias,
                relu6: true,
            },
            channels,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let patches = x.apply_op1_no_bwd(&Self::PATCHES)?;
        let (n, h, w, k) = patches.dims4()?;
        self.dense
            .forward(&patches.reshape((n * h * w, k))?)?
            .reshape((n, h, w, self.channels))
    }
}

/// Mobile inverted bottleneck: [1×1 expand, ReLU6] → k×k depthwise, ReLU6 → 1×1 project
/// (linear) → + input where shapes allow.
#[derive(Debug, Clone)]
struct MbConv {
    expand: Option<Pointwise>,
    depthwise: DepthwiseConv,
    project: Pointwise,
    skip: bool,
}

impl MbConv {
    fn load(vb: VarBuilder, spec: &BlockSpec, products: Products) -> Result<Self> {
        let hidden = spec.hidden();
        let expand = if spec.expand != 1 {
            Some(Pointwise::load(
                vb.pp("expand"),
                spec.c_in,
                hidden,
                true,
                products,
            )?)
        } else {
            None
        };
        let dw = vb.pp("depthwise");
        let depthwise = DepthwiseConv::new(
            &dw.get((hidden, 1, spec.kernel, spec.kernel), "weight")?,
            &dw.get(hidden, "bias")?,
            spec.stride,
        )?;
        let project = Pointwise::load(vb.pp("project"), hidden, spec.c_out, false, products)?;
        Ok(Self {
            expand,
            depthwise,
            project,
            skip: spec.has_skip(),
        })
    }

    fn forward(&self, x: &Tensor, observe: &mut Observer, i: usize) -> Result<Tensor> {
        let h = match &self.expand {
            Some(expand) => {
                observe(Layer::Expand(i), x)?;
                expand.forward(x)?
            }
            None => x.clone(),
        };
        observe(Layer::Depthwise(i), &h)?;
        let d = self.depthwise.forward(&h)?;
        observe(Layer::Project(i), &d)?;
        let y = self.project.forward(&d)?;
        if self.skip {
            y + x
        } else {
            Ok(y)
        }
    }
}

/// One layer of the network, as [`Observer`] sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    Stem,
    Expand(usize),
    Depthwise(usize),
    Project(usize),
    Head,
    Classifier,
}

impl Layer {
    /// The layer's name in the model file (`blocks.3.expand`, …).
    pub fn name(self) -> String {
        match self {
            Self::Stem => "stem".into(),
            Self::Expand(i) => format!("blocks.{i}.expand"),
            Self::Depthwise(i) => format!("blocks.{i}.depthwise"),
            Self::Project(i) => format!("blocks.{i}.project"),
            Self::Head => "head".into(),
            Self::Classifier => "classifier".into(),
        }
    }
}

/// Called with each layer and its input (NHWC; `[n, c]` for the classifier) before the layer
/// runs.
pub type Observer<'a> = dyn FnMut(Layer, &Tensor) -> Result<()> + 'a;

/// The whole classifier: normalised NCHW input to class logits.
#[derive(Debug, Clone)]
pub struct EfficientNetLite {
    stem: Stem,
    blocks: Vec<MbConv>,
    head: Pointwise,
    classifier: Dense,
}

impl EfficientNetLite {
    /// The network of `spec`; `mode`: how the 1×1 convolutions and the classifier multiply.
    pub fn load(vb: VarBuilder, spec: &ImageModelSpec, mode: MatmulMode) -> Result<Self> {
        let products = Products {
            mode,
            activation_bits: spec.activation_bits,
        };
        let stem = Stem::load(vb.pp("stem"), spec.stem_channels())?;
        let blocks = spec
            .blocks
            .iter()
            .enumerate()
            .map(|(i, block)| MbConv::load(vb.pp(format!("blocks.{i}")), block, products))
            .collect::<Result<Vec<_>>>()?;
        let head_channels = spec.head_channels();
        let head = Pointwise::load(
            vb.pp("head"),
            spec.last_block_channels(),
            head_channels,
            true,
            products,
        )?;
        let fc = vb.pp("classifier");
        let classifier = Dense::new(
            &fc.get((spec.num_classes, head_channels), "weight")?,
            fc.get(spec.num_classes, "bias")?.to_vec1()?,
            false,
            products,
        )?;
        Ok(Self {
            stem,
            blocks,
            head,
            classifier,
        })
    }

    /// `x`: `[n, 3, h, w]` f32 (NCHW, as PyTorch and the preprocessing lay it out) → logits
    /// `[n, classes]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_observed(x, &mut |_, _| Ok(()))
    }

    /// [`Self::forward`], showing `observe` every layer's input (the importer's calibration
    /// reads their means).
    pub fn forward_observed(&self, x: &Tensor, observe: &mut Observer) -> Result<Tensor> {
        let x = x.permute((0, 2, 3, 1))?.contiguous()?;
        observe(Layer::Stem, &x)?;
        let mut x = self.stem.forward(&x)?;
        for (i, block) in self.blocks.iter().enumerate() {
            x = block.forward(&x, observe, i)?;
        }
        observe(Layer::Head, &x)?;
        let x = self.head.forward(&x)?;
        // Global average pool over the pixels.
        let (n, h, w, c) = x.dims4()?;
        let pooled = x.reshape((n, h * w, c))?.mean(1)?;
        observe(Layer::Classifier, &pooled)?;
        self.classifier.forward(&pooled)
    }
}
