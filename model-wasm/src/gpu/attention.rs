//! Multi-head self-attention on the GPU, for any head width up to [`MAX_HEAD_DIM`].
//!
//! The kernel keeps one query's vector and its running output in function-scope arrays, and WGSL
//! sizes those by const-expressions only (pipeline-overridable constants may size workgroup
//! arrays, not these). So the width is declared in front of `attention.wgsl`'s source
//! ([`source`]) and each width is its own pipeline, compiled when an encoder of that width is
//! loaded: one kernel file, as many widths as models need.

use super::kernels::{dispatch, need, pipeline, uniform, WORKGROUP};
use super::{Gpu, GpuError};

/// The widest head the kernel takes. Each invocation holds 2 × width f32 (its query and its
/// output) for the whole pass over the keys; at 128 that is 256 values, about one GPU thread's
/// whole register file (255 registers on NVIDIA, 256 VGPRs on AMD), so anything wider would spill
/// to memory on every key. BERT-family heads are 32 (MiniLM) to 64 (BERT tiny to large) wide.
pub const MAX_HEAD_DIM: usize = 128;

/// The shape of a batch of sequences in the attention kernel.
#[derive(Debug, Clone, Copy)]
pub struct AttentionShape {
    pub batch: usize,
    pub len: usize,
    pub heads: usize,
}

/// The attention kernel compiled for one head width.
pub struct Attention {
    head_dim: usize,
    pipeline: wgpu::ComputePipeline,
}

/// Fails with [`GpuError::HeadWidth`] unless the kernel can be compiled for heads `head_dim` wide.
pub fn check_head_dim(head_dim: usize) -> Result<(), GpuError> {
    if head_dim == 0 || head_dim > MAX_HEAD_DIM {
        return Err(GpuError::HeadWidth {
            width: head_dim,
            max: MAX_HEAD_DIM,
        });
    }
    Ok(())
}

/// The kernel's WGSL for heads `head_dim` wide: the width as the constant `D` the kernel's arrays
/// and loops are sized by, then the kernel (WGSL declarations may come in any order).
pub fn source(head_dim: usize) -> String {
    format!(
        "const D: u32 = {head_dim}u;\n{}",
        include_str!("attention.wgsl")
    )
}

impl Attention {
    /// Compiles the kernel for heads `head_dim` wide ([`check_head_dim`] first).
    pub fn new(gpu: &Gpu, head_dim: usize) -> Result<Self, GpuError> {
        check_head_dim(head_dim)?;
        Ok(Self {
            head_dim,
            pipeline: pipeline(gpu, "attention", &source(head_dim)),
        })
    }

    /// The head width this kernel was compiled for.
    pub fn head_dim(&self) -> usize {
        self.head_dim
    }

    /// Records `out = softmax(q·kᵀ/√d + padding mask) · v`, with q, k, v and out
    /// `[batch·len, heads·head_dim]` and `mask` `[batch·len]` (1 token, 0 padding).
    pub fn record(
        &self,
        gpu: &Gpu,
        encoder: &mut wgpu::CommandEncoder,
        [q, k, v]: [&wgpu::Buffer; 3],
        mask: &wgpu::Buffer,
        shape: AttentionShape,
        out: &wgpu::Buffer,
    ) -> Result<(), GpuError> {
        let AttentionShape { batch, len, heads } = shape;
        let hidden = heads * self.head_dim;
        for (buffer, what) in [(q, "q"), (k, "k"), (v, "v"), (out, "out")] {
            need(buffer, batch * len * hidden, what)?;
        }
        need(mask, batch * len, "mask")?;
        let dims = uniform(
            gpu,
            &[batch as u32, len as u32, heads as u32, hidden as u32],
        );
        let buffers = [&dims, q, k, v, mask, out];
        let queries = (batch * heads * len) as u32;
        dispatch(
            gpu,
            encoder,
            &self.pipeline,
            &buffers,
            (queries.div_ceil(WORKGROUP), 1),
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_width_up_to_the_bound_is_taken_and_wider_is_refused_by_name() {
        for width in [1, 24, 32, 64, MAX_HEAD_DIM] {
            assert!(check_head_dim(width).is_ok(), "{width}");
        }
        for width in [0, MAX_HEAD_DIM + 1, 256] {
            let err = check_head_dim(width).unwrap_err();
            assert!(
                matches!(err, GpuError::HeadWidth { width: w, max: MAX_HEAD_DIM } if w == width),
                "{err:?}"
            );
        }
        assert_eq!(
            check_head_dim(256).unwrap_err().to_string(),
            "the GPU path takes attention heads 1 to 128 wide; this model's are 256"
        );
    }

    #[test]
    fn the_source_declares_the_width_once_and_the_kernel_declares_none() {
        assert!(!include_str!("attention.wgsl").contains("const D"));
        let wgsl = source(64);
        assert!(wgsl.starts_with("const D: u32 = 64u;\n"), "{wgsl}");
        assert_eq!(wgsl.matches("const D").count(), 1);
    }
}
