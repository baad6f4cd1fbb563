//! Depthwise convolution (one k×k filter per channel) on NHWC tensors, bias and ReLU6 fused.
//!
//! Why hand-written: candle 0.11 runs a grouped convolution as one im2col + gemm *per group*, so a
//! depthwise layer with 1152 channels becomes 1152 tiny matrix products plus a `cat`. Why NHWC:
//! the channels of one pixel are contiguous, so the inner loop is a multiply-add over 32–1152
//! adjacent floats, which LLVM vectorises (SSE/AVX natively, simd128 in the browser) whatever the
//! stride and however small the 7×7 and 14×14 feature maps get. In NCHW the inner loop would run
//! along rows only 7–14 floats long, and stride 2 would make it a gather.
//! Folded BatchNorm leaves a bias, and MBConv always follows this conv with ReLU6, so both are
//! applied while the output pixel is still in cache.

use candle_core::{bail, CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};

use super::arch::same_padding;
use crate::parallel;

/// Channels summed together in registers: four 128-bit SIMD vectors of f32.
const BLOCK: usize = 16;

/// A depthwise conv layer with TF "SAME" padding.
#[derive(Debug, Clone)]
pub struct DepthwiseConv {
    /// `[k·k, channels]`: tap-major, so each tap's weights line up with a pixel's channels.
    weight: Vec<f32>,
    bias: Vec<f32>,
    channels: usize,
    kernel: usize,
    stride: usize,
}

impl DepthwiseConv {
    /// `weight` has PyTorch's depthwise shape `[channels, 1, k, k]`.
    pub fn new(weight: &Tensor, bias: &Tensor, stride: usize) -> Result<Self> {
        let (channels, one, kernel, kernel_w) = weight.dims4()?;
        if one != 1 || kernel != kernel_w {
            bail!(
                "depthwise weight must be [c, 1, k, k], got {:?}",
                weight.dims()
            );
        }
        if bias.dims() != [channels] {
            bail!("depthwise bias must be [{channels}], got {:?}", bias.dims());
        }
        let tap_major = weight
            .reshape((channels, kernel * kernel))?
            .t()?
            .contiguous()?;
        Ok(Self {
            weight: tap_major.flatten_all()?.to_vec1()?,
            bias: bias.to_vec1()?,
            channels,
            kernel,
            stride,
        })
    }

    /// One output pixel, all channels: `out = relu6(bias + Σ_taps w[tap] · x[tap])`.
    ///
    /// Register-blocked: a block of [`BLOCK`] channels is summed over every tap in locals, which
    /// LLVM keeps in SIMD registers (four `v128` in the browser), and stored once. The plain
    /// loop it replaces loaded and stored the running sum for every tap: 3 loads and a store per
    /// 4 multiply-adds instead of 2 loads, and this was 13% of the image model's wasm time.
    fn pixel(&self, image: &[f32], taps: &[(usize, usize)], out: &mut [f32]) {
        let c = self.channels;
        let mut c0 = 0;
        while c0 + BLOCK <= c {
            let mut acc: [f32; BLOCK] = [0.0; BLOCK];
            acc.copy_from_slice(&self.bias[c0..c0 + BLOCK]);
            for &(x_at, w_at) in taps {
                let x = &image[x_at + c0..][..BLOCK];
                let wt = &self.weight[w_at + c0..][..BLOCK];
                for ((a, &xi), &wi) in acc.iter_mut().zip(x).zip(wt) {
                    *a += wi * xi;
                }
            }
            for (o, a) in out[c0..c0 + BLOCK].iter_mut().zip(acc) {
                *o = a.clamp(0.0, 6.0);
            }
            c0 += BLOCK;
        }
        // Channel counts not divisible by the block (none in Lite0, but any in general).
        for ch in c0..c {
            let mut acc = self.bias[ch];
            for &(x_at, w_at) in taps {
                acc += self.weight[w_at + ch] * image[x_at + ch];
            }
            out[ch] = acc.clamp(0.0, 6.0);
        }
    }

    /// `x` is NHWC f32; returns `relu6(depthwise(x) + bias)`, NHWC.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_on(x, parallel::threads())
    }

    /// [`Self::forward`] on exactly `threads` threads (tests compare thread counts).
    pub fn forward_on(&self, x: &Tensor, threads: usize) -> Result<Tensor> {
        x.contiguous()?.apply_op1_no_bwd(&OnThreads {
            conv: self,
            threads,
        })
    }
}

/// The layer as a candle op, run on a given number of threads.
struct OnThreads<'a> {
    conv: &'a DepthwiseConv,
    threads: usize,
}

impl CustomOp1 for OnThreads<'_> {
    fn name(&self) -> &'static str {
        "depthwise-conv-relu6-nhwc"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let Self { conv, threads } = *self;
        let (n, h, w, c) = layout.shape().dims4()?;
        if c != conv.channels {
            bail!(
                "depthwise conv has {} channels, input has {c}",
                conv.channels
            );
        }
        let CpuStorage::F32(data) = storage else {
            bail!("depthwise conv runs on f32 tensors only");
        };
        let Some((start, end)) = layout.contiguous_offsets() else {
            bail!("depthwise conv needs a contiguous input");
        };
        if h == 0 || w == 0 {
            bail!("depthwise conv needs a non-empty input, got {h}x{w}");
        }
        let (k, s) = (conv.kernel, conv.stride);
        let (pad_top, pad_left) = (same_padding(h, k, s).0, same_padding(w, k, s).0);
        let (out_h, out_w) = (h.div_ceil(s), w.div_ceil(s));
        let input = &data[start..end];
        let mut out = vec![0f32; n * out_h * out_w * c];
        // One task per output row (of every image in the batch): rows are independent, and even
        // the 7×7 maps of the last blocks give each thread whole rows of 1152 channels.
        parallel::for_each_chunk_mut(&mut out, out_w * c, threads, |row, dst| {
            let (image, oy) = (row / out_h, row % out_h);
            let image = &input[image * h * w * c..][..h * w * c];
            // (input offset, weight offset) of each tap that lands inside the image, for one
            // output pixel; at most k·k of them.
            let mut taps: Vec<(usize, usize)> = Vec::with_capacity(k * k);
            for (ox, px) in dst.chunks_exact_mut(c).enumerate() {
                taps.clear();
                for ky in 0..k {
                    // Taps that land in the zero padding contribute nothing: skip them.
                    let Some(iy) = (oy * s + ky).checked_sub(pad_top).filter(|&iy| iy < h) else {
                        continue;
                    };
                    for kx in 0..k {
                        let Some(ix) = (ox * s + kx).checked_sub(pad_left).filter(|&ix| ix < w)
                        else {
                            continue;
                        };
                        taps.push(((iy * w + ix) * c, (ky * k + kx) * c));
                    }
                }
                conv.pixel(image, &taps, px);
            }
        });
        Ok((CpuStorage::F32(out), Shape::from((n, out_h, out_w, c))))
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Tensor};

    use super::*;

    /// The reference: candle's grouped conv2d (NCHW) with explicit SAME padding, bias, ReLU6.
    fn reference(x_nchw: &Tensor, w: &Tensor, b: &Tensor, stride: usize) -> Result<Tensor> {
        let (_, c, h, wd) = x_nchw.dims4()?;
        let k = w.dims4()?.2;
        let (pt, pb) = same_padding(h, k, stride);
        let (pl, pr) = same_padding(wd, k, stride);
        let xp = x_nchw
            .pad_with_zeros(2, pt, pb)?
            .pad_with_zeros(3, pl, pr)?;
        let y = xp.conv2d(w, 0, stride, 1, c)?;
        y.broadcast_add(&b.reshape((1, c, 1, 1))?)?
            .clamp(0f32, 6f32)
    }

    fn check(n: usize, c: usize, h: usize, w: usize, k: usize, stride: usize) -> Result<()> {
        let dev = Device::Cpu;
        let x = Tensor::randn(0f32, 2.0, (n, c, h, w), &dev)?;
        let wt = Tensor::randn(0f32, 1.0, (c, 1, k, k), &dev)?;
        let b = Tensor::randn(0f32, 1.0, c, &dev)?;
        let nhwc = x.permute((0, 2, 3, 1))?;
        let ours = DepthwiseConv::new(&wt, &b, stride)?
            .forward(&nhwc)?
            .permute((0, 3, 1, 2))?;
        let theirs = reference(&x, &wt, &b, stride)?;
        assert_eq!(ours.dims(), theirs.dims());
        let diff = (ours - theirs)?.abs()?.max_all()?.to_scalar::<f32>()?;
        assert!(
            diff < 1e-4,
            "max diff {diff} for n{n} c{c} {h}x{w} k{k} s{stride}"
        );
        Ok(())
    }

    #[test]
    fn every_thread_count_gives_the_same_bits() -> Result<()> {
        let dev = Device::Cpu;
        for (n, c, h, w, k, stride) in [(1, 32, 112, 112, 3, 1), (2, 144, 15, 13, 5, 2)] {
            let x = Tensor::randn(0f32, 2.0, (n, h, w, c), &dev)?;
            let wt = Tensor::randn(0f32, 1.0, (c, 1, k, k), &dev)?;
            let b = Tensor::randn(0f32, 1.0, c, &dev)?;
            let conv = DepthwiseConv::new(&wt, &b, stride)?;
            let bits = |t: Tensor| -> Result<Vec<u32>> {
                Ok(t.flatten_all()?
                    .to_vec1::<f32>()?
                    .into_iter()
                    .map(f32::to_bits)
                    .collect())
            };
            let serial = bits(conv.forward_on(&x, 1)?)?;
            for threads in [2, 5] {
                assert!(
                    serial == bits(conv.forward_on(&x, threads)?)?,
                    "n{n} c{c} {h}x{w} k{k} s{stride} on {threads} threads"
                );
            }
        }
        Ok(())
    }

    #[test]
    fn matches_candle_grouped_conv_for_every_shape_lite0_uses() -> Result<()> {
        for (k, stride) in [(3, 1), (3, 2), (5, 1), (5, 2)] {
            check(1, 4, 14, 14, k, stride)?;
            check(2, 3, 9, 7, k, stride)?; // odd, non-square, batch of two
            check(1, 2, 2, 3, k, stride)?; // smaller than the kernel
            check(1, 40, 7, 7, k, stride)?; // two register blocks and a remainder
        }
        Ok(())
    }
}
