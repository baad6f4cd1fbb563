//! f32 matrix products on the CPU that use every thread [`crate::parallel`] offers.
//!
//! Why not `Tensor::matmul`: candle picks gemm's parallelism from its own thread count, which on
//! wasm32 is always 1, so even the browser's multi-threaded build would run every product on one
//! thread. This op makes exactly the call candle makes (same gemm, same strides, same
//! `dst = lhs · rhs`), with the thread count from [`crate::parallel::threads`]: on one thread the
//! result and the speed are candle's own; gemm splits the output into blocks per thread without
//! changing the order of any sum, so every thread count gives the same bits.

use candle_core::{bail, CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};
use gemm::Parallelism;

use crate::parallel;

/// `lhs [m, k] · rhs [k, n]` for f32 CPU tensors (any strides, e.g. a transposed weight).
pub fn matmul(lhs: &Tensor, rhs: &Tensor) -> Result<Tensor> {
    matmul_on(lhs, rhs, parallel::threads())
}

/// [`matmul`] on exactly `threads` threads (tests compare thread counts).
pub fn matmul_on(lhs: &Tensor, rhs: &Tensor, threads: usize) -> Result<Tensor> {
    lhs.apply_op2_no_bwd(rhs, &MatMul { threads })
}

struct MatMul {
    threads: usize,
}

/// A 2-D operand as gemm wants it: element strides and the slice starting at its first element.
struct Operand<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a> Operand<'a> {
    fn new(storage: &'a CpuStorage, layout: &Layout, which: &str) -> Result<Self> {
        let CpuStorage::F32(data) = storage else {
            bail!("matmul: {which} must be f32");
        };
        let (rows, cols) = layout.shape().dims2()?;
        let &[row_stride, col_stride] = layout.stride() else {
            bail!("matmul: {which} must be 2-D");
        };
        let data = &data[layout.start_offset()..];
        // gemm reads through raw pointers: make sure the last element is inside the slice.
        if rows > 0 && cols > 0 && (rows - 1) * row_stride + (cols - 1) * col_stride >= data.len() {
            bail!("matmul: {which}'s layout runs past its storage");
        }
        Ok(Self {
            data,
            rows,
            cols,
            row_stride,
            col_stride,
        })
    }
}

impl CustomOp2 for MatMul {
    fn name(&self) -> &'static str {
        "matmul-f32-threads"
    }

    fn cpu_fwd(
        &self,
        lhs: &CpuStorage,
        lhs_layout: &Layout,
        rhs: &CpuStorage,
        rhs_layout: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let a = Operand::new(lhs, lhs_layout, "lhs")?;
        let b = Operand::new(rhs, rhs_layout, "rhs")?;
        if a.cols != b.rows {
            bail!(
                "matmul: [{}, {}] · [{}, {}] do not fit",
                a.rows,
                a.cols,
                b.rows,
                b.cols
            );
        }
        let (m, k, n) = (a.rows, a.cols, b.cols);
        let mut dst = vec![0f32; m * n];
        if m > 0 && n > 0 && k > 0 {
            let parallelism = if self.threads > 1 {
                Parallelism::Rayon(self.threads)
            } else {
                Parallelism::None
            };
            // SAFETY: both operands were checked to lie inside their slices (`Operand::new`);
            // dst is a fresh contiguous m×n buffer (row stride n, column stride 1).
            unsafe {
                gemm::gemm(
                    m,
                    n,
                    k,
                    dst.as_mut_ptr(),
                    1,
                    n as isize,
                    false,
                    a.data.as_ptr(),
                    a.col_stride as isize,
                    a.row_stride as isize,
                    b.data.as_ptr(),
                    b.col_stride as isize,
                    b.row_stride as isize,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    parallelism,
                );
            }
        }
        Ok((CpuStorage::F32(dst), Shape::from((m, n))))
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Tensor};

    use super::*;

    fn bits(t: &Tensor) -> Vec<u32> {
        t.flatten_all()
            .and_then(|t| t.to_vec1::<f32>())
            .expect("f32 values")
            .into_iter()
            .map(f32::to_bits)
            .collect()
    }

    /// The shapes the shipped models multiply: image 1×1 convs and classifier, sentiment
    /// linear layers (a transposed weight, as `x · Wᵀ`), plus odd sizes for the edge tiles.
    const SHAPES: &[(usize, usize, usize, bool)] = &[
        (12544, 27, 32, false),
        (3136, 24, 144, false),
        (49, 1152, 192, false),
        (1, 1280, 1000, false),
        (32, 384, 1536, true),
        (32, 1536, 384, true),
        (7, 384, 384, true),
        (13, 5, 3, false),
    ];

    #[test]
    fn every_thread_count_gives_candles_bits() -> Result<()> {
        let dev = Device::Cpu;
        for &(m, k, n, transposed) in SHAPES {
            let a = Tensor::randn(0f32, 1.0, (m, k), &dev)?;
            let b = if transposed {
                Tensor::randn(0f32, 1.0, (n, k), &dev)?.t()?
            } else {
                Tensor::randn(0f32, 1.0, (k, n), &dev)?
            };
            let serial = matmul_on(&a, &b, 1)?;
            assert_eq!(serial.dims(), [m, n]);
            for threads in [2, 3, 8] {
                let parallel = matmul_on(&a, &b, threads)?;
                assert!(
                    bits(&serial) == bits(&parallel),
                    "[{m},{k}]·[{k},{n}] on {threads} threads differs from one thread"
                );
            }
            assert!(
                bits(&serial) == bits(&a.matmul(&b)?),
                "[{m},{k}]·[{k},{n}] differs from candle's matmul"
            );
        }
        Ok(())
    }

    #[test]
    fn refuses_shapes_that_do_not_fit() -> Result<()> {
        let a = Tensor::zeros((2, 3), candle_core::DType::F32, &Device::Cpu)?;
        assert!(matmul_on(&a, &a, 1).is_err());
        Ok(())
    }
}
