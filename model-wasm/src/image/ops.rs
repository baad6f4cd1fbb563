//! Two small CPU kernels candle lacks in the form this network needs.
//!
//! - [`BiasAct`]: adds a per-channel bias and optionally clamps to ReLU6, in place, in one pass.
//!   With candle ops this is `broadcast_add` then `clamp` (itself a max and a min against
//!   broadcast scalars): three strided passes and three allocations over the largest tensors
//!   of the network, which cost more than the matrix products they follow.
//! - [`Im2Col`]: NHWC patches with TF "SAME" padding, so the stem conv is a single matrix product.

use candle_core::{bail, CpuStorage, CustomOp1, InplaceOp1, Layout, Result, Shape};

use super::arch::same_padding;

/// `x[.., c] = act(x[.., c] + bias[c])` over a contiguous tensor whose last dimension is channels.
#[derive(Debug, Clone)]
pub struct BiasAct<'a> {
    pub bias: &'a [f32],
    pub relu6: bool,
}

impl InplaceOp1 for BiasAct<'_> {
    fn name(&self) -> &'static str {
        "bias-act"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> Result<()> {
        let c = self.bias.len();
        if layout.dims().last() != Some(&c) {
            bail!(
                "bias of {c} channels for a tensor of shape {:?}",
                layout.dims()
            );
        }
        let CpuStorage::F32(data) = storage else {
            bail!("bias-act runs on f32 tensors only");
        };
        let Some((start, end)) = layout.contiguous_offsets() else {
            bail!("bias-act needs a contiguous tensor");
        };
        for row in data[start..end].chunks_exact_mut(c) {
            for (v, &b) in row.iter_mut().zip(self.bias) {
                *v += b;
            }
            if self.relu6 {
                for v in row.iter_mut() {
                    *v = v.clamp(0.0, 6.0);
                }
            }
        }
        Ok(())
    }
}

/// `[n, h, w, c]` → `[n, out_h, out_w, k·k·c]`, each row one receptive field in (ky, kx, c)
/// order, zeros where it overhangs the image (SAME padding, extra on the right/bottom).
#[derive(Debug, Clone, Copy)]
pub struct Im2Col {
    pub kernel: usize,
    pub stride: usize,
}

impl CustomOp1 for Im2Col {
    fn name(&self) -> &'static str {
        "im2col-same-nhwc"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let (n, h, w, c) = layout.shape().dims4()?;
        let CpuStorage::F32(data) = storage else {
            bail!("im2col runs on f32 tensors only");
        };
        let Some((start, end)) = layout.contiguous_offsets() else {
            bail!("im2col needs a contiguous input");
        };
        let (k, s) = (self.kernel, self.stride);
        let (pad_top, pad_left) = (same_padding(h, k, s).0, same_padding(w, k, s).0);
        let (out_h, out_w) = (h.div_ceil(s), w.div_ceil(s));
        let row_len = k * k * c;
        let mut out = vec![0f32; n * out_h * out_w * row_len];
        for (image, dst) in data[start..end]
            .chunks_exact(h * w * c)
            .zip(out.chunks_exact_mut(out_h * out_w * row_len))
        {
            for (o, row) in dst.chunks_exact_mut(row_len).enumerate() {
                let (oy, ox) = (o / out_w, o % out_w);
                for ky in 0..k {
                    let Some(iy) = (oy * s + ky).checked_sub(pad_top).filter(|&iy| iy < h) else {
                        continue;
                    };
                    for kx in 0..k {
                        let Some(ix) = (ox * s + kx).checked_sub(pad_left).filter(|&ix| ix < w)
                        else {
                            continue;
                        };
                        row[(ky * k + kx) * c..][..c]
                            .copy_from_slice(&image[(iy * w + ix) * c..][..c]);
                    }
                }
            }
        }
        Ok((
            CpuStorage::F32(out),
            Shape::from((n, out_h, out_w, row_len)),
        ))
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Tensor};

    use super::*;

    #[test]
    fn bias_act_adds_then_clamps_per_channel() -> Result<()> {
        let t = Tensor::new(&[[-1f32, 2.0, 5.0], [1.0, 9.0, -3.0]], &Device::Cpu)?;
        t.inplace_op1(&BiasAct {
            bias: &[0.5, 0.0, 2.0],
            relu6: true,
        })?;
        assert_eq!(
            t.to_vec2::<f32>()?,
            vec![vec![0.0, 2.0, 6.0], vec![1.5, 6.0, 0.0]]
        );
        let t = Tensor::new(&[[-1f32, 2.0]], &Device::Cpu)?;
        t.inplace_op1(&BiasAct {
            bias: &[-1.0, 10.0],
            relu6: false,
        })?;
        assert_eq!(t.to_vec2::<f32>()?, vec![vec![-2.0, 12.0]]);
        Ok(())
    }

    #[test]
    fn im2col_conv_matches_candle_conv2d_with_same_padding() -> Result<()> {
        let dev = Device::Cpu;
        for (h, w) in [(8, 8), (7, 9)] {
            let x = Tensor::randn(0f32, 1.0, (2, 3, h, w), &dev)?;
            let wt = Tensor::randn(0f32, 1.0, (4, 3, 3, 3), &dev)?;
            let (pt, pb) = same_padding(h, 3, 2);
            let (pl, pr) = same_padding(w, 3, 2);
            let reference = x
                .pad_with_zeros(2, pt, pb)?
                .pad_with_zeros(3, pl, pr)?
                .conv2d(&wt, 0, 2, 1, 1)?;
            let cols = x
                .permute((0, 2, 3, 1))?
                .contiguous()?
                .apply_op1_no_bwd(&Im2Col {
                    kernel: 3,
                    stride: 2,
                })?;
            let (n, oh, ow, kk) = cols.dims4()?;
            let w_rows = wt.permute((2, 3, 1, 0))?.contiguous()?.reshape((kk, 4))?;
            let ours = cols
                .reshape((n * oh * ow, kk))?
                .matmul(&w_rows)?
                .reshape((n, oh, ow, 4))?
                .permute((0, 3, 1, 2))?;
            let diff = (ours - reference)?.abs()?.max_all()?.to_scalar::<f32>()?;
            assert!(diff < 1e-4, "{h}x{w}: {diff}");
        }
        Ok(())
    }
}
