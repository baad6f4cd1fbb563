//! EfficientNet-Lite on the GPU: the same network as [`crate::image::net`] (any block table, any
//! class count), channels-last, every weight resident on the device (the file's 8-bit weights
//! expanded once at upload, as the CPU path does), one submission and one read-back (the logits)
//! per image.

use super::kernels::{dispatch, need, pipeline, uniform};
use super::{Gpu, GpuError};
use crate::image::arch::{same_padding, BlockSpec};
use crate::image::weights::FloatLayer;

const WORKGROUP: u32 = 64;

/// A k×k convolution (full or depthwise) with bias and ReLU6.
struct Conv {
    weight: wgpu::Buffer,
    bias: wgpu::Buffer,
    c_in: usize,
    c_out: usize,
    kernel: usize,
    stride: usize,
    depthwise: bool,
}

/// A 1×1 convolution or the classifier: `[c_out, c_in]` weights.
struct Dense {
    weight: wgpu::Buffer,
    bias: wgpu::Buffer,
    c_in: usize,
    c_out: usize,
    relu6: bool,
}

struct Block {
    expand: Option<Dense>,
    depthwise: Conv,
    project: Dense,
    skip: bool,
}

pub struct GpuImageNet {
    pointwise: wgpu::ComputePipeline,
    conv2d: wgpu::ComputePipeline,
    pool: wgpu::ComputePipeline,
    stem: Conv,
    blocks: Vec<Block>,
    head: Dense,
    classifier: Dense,
}

/// The activations of one image between layers: channels-last, `side × side × channels`.
struct Activations {
    buffer: wgpu::Buffer,
    side: usize,
    channels: usize,
}

impl GpuImageNet {
    /// Uploads the network from the model file's layers (see
    /// [`crate::image::weights::decode_with_spec`]); `blocks` is the model's block table
    /// ([`crate::image::ImageModelSpec::blocks`]), which gives the strides the file does not hold.
    pub fn load(gpu: &Gpu, layers: &[FloatLayer], blocks: &[BlockSpec]) -> Result<Self, GpuError> {
        let find = |name: &str| {
            layers
                .iter()
                .find(|l| l.name == name)
                .ok_or_else(|| GpuError::Weights(format!("layer {name} is missing")))
        };
        let conv = |name: &str, stride: usize, depthwise: bool| -> Result<Conv, GpuError> {
            let l = find(name)?;
            let [c_out, c_in_per_group, kernel, _] = l.shape[..] else {
                return Err(GpuError::Weights(format!(
                    "{name} is not a 2-D convolution"
                )));
            };
            // [out, in, ky, kx] → [out, ky, kx, in]: each output's taps read its input pixels'
            // channels contiguously.
            let mut weight = vec![0f32; l.weight.len()];
            for o in 0..c_out {
                for i in 0..c_in_per_group {
                    for t in 0..kernel * kernel {
                        weight[(o * kernel * kernel + t) * c_in_per_group + i] =
                            l.weight[(o * c_in_per_group + i) * kernel * kernel + t];
                    }
                }
            }
            Ok(Conv {
                weight: gpu.upload(name, &weight),
                bias: gpu.upload(name, &l.bias),
                c_in: if depthwise { c_out } else { c_in_per_group },
                c_out,
                kernel,
                stride,
                depthwise,
            })
        };
        let dense = |name: &str, relu6: bool| -> Result<Dense, GpuError> {
            let l = find(name)?;
            Ok(Dense {
                weight: gpu.upload(name, &l.weight),
                bias: gpu.upload(name, &l.bias),
                c_in: l.shape[1],
                c_out: l.shape[0],
                relu6,
            })
        };
        let blocks = blocks
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                Ok(Block {
                    expand: (spec.expand != 1)
                        .then(|| dense(&format!("blocks.{i}.expand"), true))
                        .transpose()?,
                    depthwise: conv(&format!("blocks.{i}.depthwise"), spec.stride, true)?,
                    project: dense(&format!("blocks.{i}.project"), false)?,
                    skip: spec.has_skip(),
                })
            })
            .collect::<Result<Vec<_>, GpuError>>()?;
        Ok(Self {
            pointwise: pipeline(gpu, "pointwise", include_str!("pointwise.wgsl")),
            conv2d: pipeline(gpu, "conv2d", include_str!("conv2d.wgsl")),
            pool: pipeline(gpu, "mean_pool", include_str!("mean_pool.wgsl")),
            stem: conv("stem", 2, false)?,
            blocks,
            head: dense("head", true)?,
            classifier: dense("classifier", false)?,
        })
    }

    /// The logits for one preprocessed square image (`[3, side, side]`, channels first, as
    /// [`crate::image::preprocess::preprocess`] returns it).
    pub async fn logits(&self, gpu: &Gpu, chw: &[f32]) -> Result<Vec<f32>, GpuError> {
        let plane = chw.len() / 3;
        let side = plane.isqrt();
        if side == 0 || 3 * side * side != chw.len() {
            return Err(GpuError::Shape(format!(
                "{} input values are not 3 × side × side",
                chw.len()
            )));
        }
        let hwc: Vec<f32> = (0..plane)
            .flat_map(|p| (0..3).map(move |c| chw[c * plane + p]))
            .collect();
        let input = Activations {
            buffer: gpu.upload("image", &hwc),
            side,
            channels: 3,
        };
        let mut enc = gpu.device.create_command_encoder(&Default::default());
        let mut x = self.conv(gpu, &mut enc, &input, &self.stem)?;
        for block in &self.blocks {
            let expanded = match &block.expand {
                Some(expand) => self.dense(gpu, &mut enc, &x, expand, None)?,
                None => Activations {
                    buffer: x.buffer.clone(),
                    side: x.side,
                    channels: x.channels,
                },
            };
            let filtered = self.conv(gpu, &mut enc, &expanded, &block.depthwise)?;
            let skip = block.skip.then_some(&x.buffer);
            x = self.dense(gpu, &mut enc, &filtered, &block.project, skip)?;
        }
        let features = self.dense(gpu, &mut enc, &x, &self.head, None)?;
        // Global average pool: the sentence-pooling kernel with every "token" (pixel) real.
        let pixels = features.side * features.side;
        let ones = gpu.upload("all pixels", &vec![1f32; pixels]);
        let pooled = Activations {
            buffer: gpu.output("pooled", features.channels),
            side: 1,
            channels: features.channels,
        };
        let dims = uniform(gpu, &[1, pixels as u32, features.channels as u32, 0]);
        let groups = (features.channels as u32).div_ceil(WORKGROUP);
        let buffers = [&dims, &features.buffer, &ones, &pooled.buffer];
        dispatch(gpu, &mut enc, &self.pool, &buffers, (groups, 1));
        let logits = self.dense(gpu, &mut enc, &pooled, &self.classifier, None)?;
        gpu.queue.submit([enc.finish()]);
        let out = gpu.read(&logits.buffer).await?;
        debug_assert_eq!(out.len(), self.classifier.c_out);
        Ok(out)
    }

    fn conv(
        &self,
        gpu: &Gpu,
        enc: &mut wgpu::CommandEncoder,
        x: &Activations,
        conv: &Conv,
    ) -> Result<Activations, GpuError> {
        if x.channels != conv.c_in {
            return Err(GpuError::Shape(format!(
                "{} channels into a {}-channel conv",
                x.channels, conv.c_in
            )));
        }
        need(&x.buffer, x.side * x.side * x.channels, "conv input")?;
        let side = x.side.div_ceil(conv.stride);
        let (pad, _) = same_padding(x.side, conv.kernel, conv.stride);
        let out = gpu.output("conv out", side * side * conv.c_out);
        let dims = uniform(
            gpu,
            &[
                x.side as u32,
                x.side as u32,
                conv.c_in as u32,
                conv.c_out as u32,
                side as u32,
                side as u32,
                conv.kernel as u32,
                conv.stride as u32,
                pad as u32,
                pad as u32,
                u32::from(conv.depthwise),
                0,
            ],
        );
        let values = (side * side * conv.c_out) as u32;
        let buffers = [&dims, &x.buffer, &conv.weight, &conv.bias, &out];
        dispatch(
            gpu,
            enc,
            &self.conv2d,
            &buffers,
            (values.div_ceil(WORKGROUP), 1),
        );
        Ok(Activations {
            buffer: out,
            side,
            channels: conv.c_out,
        })
    }

    fn dense(
        &self,
        gpu: &Gpu,
        enc: &mut wgpu::CommandEncoder,
        x: &Activations,
        layer: &Dense,
        skip: Option<&wgpu::Buffer>,
    ) -> Result<Activations, GpuError> {
        if x.channels != layer.c_in {
            return Err(GpuError::Shape(format!(
                "{} channels into a {}-channel layer",
                x.channels, layer.c_in
            )));
        }
        let pixels = x.side * x.side;
        need(&x.buffer, pixels * x.channels, "input")?;
        let out = gpu.output("dense out", pixels * layer.c_out);
        let flags = u32::from(layer.relu6) | (u32::from(skip.is_some()) << 1);
        let dims = uniform(
            gpu,
            &[pixels as u32, layer.c_out as u32, layer.c_in as u32, flags],
        );
        // Without a residual the kernel never reads `skip`; bind the bias in its place.
        let skip = skip.unwrap_or(&layer.bias);
        let buffers = [&dims, &x.buffer, &layer.weight, &layer.bias, skip, &out];
        let groups = (layer.c_out as u32).div_ceil(WORKGROUP);
        dispatch(gpu, enc, &self.pointwise, &buffers, (groups, pixels as u32));
        Ok(Activations {
            buffer: out,
            side: x.side,
            channels: layer.c_out,
        })
    }
}
