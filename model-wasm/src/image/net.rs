//! EfficientNet-Lite0 as plain candle structs: `load(vb)` and `forward`.
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

use super::arch::{BlockSpec, BLOCKS, HEAD_CHANNELS, NUM_CLASSES, STEM_CHANNELS};
use super::depthwise::DepthwiseConv;
use super::ops::{BiasAct, Im2Col};

/// `[rows, c_in] × weight [c_in, c_out]`, then bias and optional ReLU6 in place.
#[derive(Debug, Clone)]
struct Dense {
    weight: Tensor,
    bias: Vec<f32>,
    relu6: bool,
}

impl Dense {
    fn forward(&self, rows: &Tensor) -> Result<Tensor> {
        let y = crate::matmul::matmul(rows, &self.weight)?;
        y.inplace_op1(&BiasAct {
            bias: &self.bias,
            relu6: self.relu6,
        })?;
        Ok(y)
    }
}

/// A 1×1 convolution on NHWC activations.
#[derive(Debug, Clone)]
struct Pointwise(Dense);

impl Pointwise {
    fn load(vb: VarBuilder, c_in: usize, c_out: usize, relu6: bool) -> Result<Self> {
        let w = vb.get((c_out, c_in, 1, 1), "weight")?;
        let weight = w.reshape((c_out, c_in))?.t()?.contiguous()?;
        let bias = vb.get(c_out, "bias")?.to_vec1()?;
        Ok(Self(Dense {
            weight,
            bias,
            relu6,
        }))
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
struct Stem(Dense);

impl Stem {
    const PATCHES: Im2Col = Im2Col {
        kernel: 3,
        stride: 2,
    };

    fn load(vb: VarBuilder) -> Result<Self> {
        let w = vb.get((STEM_CHANNELS, 3, 3, 3), "weight")?;
        // (out, in, ky, kx) → rows in the patch order (ky, kx, in), one column per output.
        let weight = w
            .permute((2, 3, 1, 0))?
            .contiguous()?
            .reshape((27, STEM_CHANNELS))?;
        let bias = vb.get(STEM_CHANNELS, "bias")?.to_vec1()?;
        Ok(Self(Dense {
            weight,
            bias,
            relu6: true,
        }))
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let patches = x.apply_op1_no_bwd(&Self::PATCHES)?;
        let (n, h, w, k) = patches.dims4()?;
        self.0
            .forward(&patches.reshape((n * h * w, k))?)?
            .reshape((n, h, w, STEM_CHANNELS))
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
    fn load(vb: VarBuilder, spec: &BlockSpec) -> Result<Self> {
        let hidden = spec.hidden();
        let expand = if spec.expand != 1 {
            Some(Pointwise::load(vb.pp("expand"), spec.c_in, hidden, true)?)
        } else {
            None
        };
        let dw = vb.pp("depthwise");
        let depthwise = DepthwiseConv::new(
            &dw.get((hidden, 1, spec.kernel, spec.kernel), "weight")?,
            &dw.get(hidden, "bias")?,
            spec.stride,
        )?;
        let project = Pointwise::load(vb.pp("project"), hidden, spec.c_out, false)?;
        Ok(Self {
            expand,
            depthwise,
            project,
            skip: spec.has_skip(),
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = match &self.expand {
            Some(expand) => expand.forward(x)?,
            None => x.clone(),
        };
        let y = self.project.forward(&self.depthwise.forward(&h)?)?;
        if self.skip {
            y + x
        } else {
            Ok(y)
        }
    }
}

/// The whole classifier: normalised NCHW input (224×224) to ImageNet-1k logits.
#[derive(Debug, Clone)]
pub struct EfficientNetLite0 {
    stem: Stem,
    blocks: Vec<MbConv>,
    head: Pointwise,
    classifier: Dense,
}

impl EfficientNetLite0 {
    pub fn load(vb: VarBuilder) -> Result<Self> {
        let stem = Stem::load(vb.pp("stem"))?;
        let blocks = BLOCKS
            .iter()
            .enumerate()
            .map(|(i, spec)| MbConv::load(vb.pp(format!("blocks.{i}")), spec))
            .collect::<Result<Vec<_>>>()?;
        let last = BLOCKS[BLOCKS.len() - 1].c_out;
        let head = Pointwise::load(vb.pp("head"), last, HEAD_CHANNELS, true)?;
        let fc = vb.pp("classifier");
        let classifier = Dense {
            weight: fc
                .get((NUM_CLASSES, HEAD_CHANNELS), "weight")?
                .t()?
                .contiguous()?,
            bias: fc.get(NUM_CLASSES, "bias")?.to_vec1()?,
            relu6: false,
        };
        Ok(Self {
            stem,
            blocks,
            head,
            classifier,
        })
    }

    /// `x`: `[n, 3, h, w]` f32 (NCHW, as PyTorch and the preprocessing lay it out) → logits
    /// `[n, 1000]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut x = self.stem.forward(&x.permute((0, 2, 3, 1))?.contiguous()?)?;
        for block in &self.blocks {
            x = block.forward(&x)?;
        }
        let x = self.head.forward(&x)?;
        // Global average pool over the pixels.
        let (n, h, w, c) = x.dims4()?;
        let pooled = x.reshape((n, h * w, c))?.mean(1)?;
        self.classifier.forward(&pooled)
    }
}
