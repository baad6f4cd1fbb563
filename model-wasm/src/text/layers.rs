//! The few building blocks BERT needs, written so that one implementation serves both
//! differentiable training and fast (possibly 8-bit) inference.

use candle_core::{Result, Tensor, D};

use super::weights::{Matrix, Weights};

/// Training hooks into the forward pass. Inference uses [`NoDropout`]; the trainer supplies a
/// seeded implementation so runs are reproducible.
pub trait Dropout {
    fn apply(&self, xs: &Tensor) -> Result<Tensor>;
}

/// Identity: what inference uses.
pub struct NoDropout;

impl Dropout for NoDropout {
    fn apply(&self, xs: &Tensor) -> Result<Tensor> {
        Ok(xs.clone())
    }
}

/// `y = x W^T + b` over the last dimension; `W` may be f32 or 8-bit.
pub struct Linear {
    weight: Matrix,
    bias: Tensor,
    out_dim: usize,
}

impl Linear {
    pub fn load(vb: &Weights, in_dim: usize, out_dim: usize) -> Result<Self> {
        Ok(Self {
            weight: vb.matrix("weight", (out_dim, in_dim))?,
            bias: vb.tensor("bias", out_dim)?,
            out_dim,
        })
    }

    pub fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        // Flatten to one 2-D matmul: a single large GEMM is much faster on CPU than a batch of
        // small ones, and it is the shape the quantized kernels are tuned for.
        let dims = xs.dims().to_vec();
        let in_dim = dims.last().copied().unwrap_or(0);
        let rows = xs.elem_count() / in_dim.max(1);
        let ys = self
            .weight
            .forward(&xs.reshape((rows, in_dim))?)?
            .broadcast_add(&self.bias)?;
        let mut out_dims = dims;
        if let Some(last) = out_dims.last_mut() {
            *last = self.out_dim;
        }
        ys.reshape(out_dims)
    }
}

/// LayerNorm over the last dimension.
pub struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

impl LayerNorm {
    pub fn load(vb: &Weights, dim: usize, eps: f64) -> Result<Self> {
        Ok(Self {
            weight: vb.tensor("weight", dim)?,
            bias: vb.tensor("bias", dim)?,
            eps,
        })
    }

    pub fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        // candle's fused layer-norm kernel has no backward pass, so use it only when no gradient
        // is being tracked; otherwise compose it from differentiable ops.
        if !xs.track_op() && !self.weight.track_op() {
            return candle_nn::ops::layer_norm(
                &xs.contiguous()?,
                &self.weight,
                &self.bias,
                self.eps as f32,
            );
        }
        let dim = xs.dim(D::Minus1)? as f64;
        let mean = (xs.sum_keepdim(D::Minus1)? / dim)?;
        let centred = xs.broadcast_sub(&mean)?;
        let var = (centred.sqr()?.sum_keepdim(D::Minus1)? / dim)?;
        let normed = centred.broadcast_div(&(var + self.eps)?.sqrt()?)?;
        normed
            .broadcast_mul(&self.weight)?
            .broadcast_add(&self.bias)
    }
}

/// Softmax over the last dimension, fused and vectorisable when no gradient is needed. candle's
/// fused kernel calls libm's scalar `expf` per value (4% of a sentence in the browser, plus
/// rayon's splitting); [`exp`] here has no calls or branches, so LLVM vectorises the loop.
pub fn softmax_last_dim(xs: &Tensor) -> Result<Tensor> {
    if xs.track_op() {
        return candle_nn::ops::softmax(xs, D::Minus1);
    }
    let xs = xs.contiguous()?;
    let dims = xs.dims().to_vec();
    let last = dims.last().copied().unwrap_or(1).max(1);
    let mut values = xs.flatten_all()?.to_vec1::<f32>()?;
    for row in values.chunks_exact_mut(last) {
        // A compare, not `f32::max` (a libm call in wasm).
        let max = row
            .iter()
            .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m });
        for v in row.iter_mut() {
            *v = exp(*v - max);
        }
        let inv = 1.0 / row.iter().sum::<f32>();
        for v in row.iter_mut() {
            *v *= inv;
        }
    }
    Tensor::from_vec(values, dims, xs.device())
}

/// e^x for f32 within 2 ulp on [-87, 88] (clamped there: softmax only asks for x ≤ 0, and
/// e^-87 is already below every weight that matters). Cephes' `expf`: x = n·ln 2 + r with
/// |r| ≤ ln 2 / 2, a degree-6 polynomial for e^r, and 2^n put straight into the exponent bits.
fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let n = (x * std::f32::consts::LOG2_E).round_ties_even();
    // ln 2 in two parts, so n·ln 2 is subtracted without losing r's low bits.
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let p = (((((1.987_569_1e-4_f32 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r
        + 4.166_579_6e-2)
        * r
        + 1.666_666_5e-1)
        * r
        + 0.5)
        * (r * r)
        + r
        + 1.0;
    p * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

#[cfg(test)]
mod softmax_tests {
    use candle_core::{Device, Tensor};

    use super::{exp, softmax_last_dim};

    #[test]
    fn exp_is_within_two_ulp_of_libm() {
        let mut worst = 0f64;
        for i in -870_000..=880_000 {
            let x = i as f32 / 10_000.0;
            let reference = f64::from(x).exp();
            worst = worst.max((f64::from(exp(x)) - reference).abs() / reference);
        }
        assert!(worst < 2.5e-7, "worst relative error {worst}");
    }

    #[test]
    fn softmax_matches_candles_with_masked_and_extreme_scores() -> candle_core::Result<()> {
        let scores = Tensor::new(
            &[
                [1.0f32, 2.0, 3.0, -10_000.0],
                [0.0, 0.0, 0.0, 0.0],
                [88.0, -88.0, 40.0, -f32::INFINITY],
            ],
            &Device::Cpu,
        )?;
        let ours = softmax_last_dim(&scores)?.to_vec2::<f32>()?;
        let theirs = candle_nn::ops::softmax_last_dim(&scores)?.to_vec2::<f32>()?;
        for (a, b) in ours.iter().flatten().zip(theirs.iter().flatten()) {
            assert!((a - b).abs() <= 1e-6, "{a} vs {b}");
        }
        Ok(())
    }
}

/// BERT's GELU, `x · Φ(x)` with the exact erf form, fused and vectorisable when no gradient is
/// needed. candle's `gelu_erf` calls libm's scalar `erf` per value: 7% of the sentiment model's
/// time in the browser. [`erf`] here is a rational approximation with no calls or branches, so
/// LLVM vectorises the loop (simd128 in the browser).
pub fn gelu_erf(xs: &Tensor) -> Result<Tensor> {
    if xs.track_op() {
        return xs.gelu_erf();
    }
    let xs = xs.contiguous()?;
    let dims = xs.dims().to_vec();
    let mut values = xs.flatten_all()?.to_vec1::<f32>()?;
    for v in &mut values {
        *v = 0.5 * *v * (1.0 + erf(*v * std::f32::consts::FRAC_1_SQRT_2));
    }
    Tensor::from_vec(values, dims, xs.device())
}

/// erf(x) for f32 to within 1e-6 absolute: `x·P(x²)/Q(x²)` on x clamped to [-4, 4] (beyond that
/// erf is ±1 in f32). The coefficients are the minimax fit used by Eigen and XLA (`ErfImpl32`).
fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let p = ((((((-2.726_142_3e-10_f32 * x2 + 2.770_681_4e-8) * x2 - 2.101_024e-6) * x2
        - 5.692_506_4e-5)
        * x2
        - 7.349_906e-4)
        * x2
        - 2.954_6e-3)
        * x2
        - 1.609_603_3e-2)
        * x;
    let q = (((-1.456_607_2e-5_f32 * x2 - 2.133_740_6e-4) * x2 - 1.682_827e-3) * x2 - 7.373_329e-3)
        * x2
        - 1.426_474e-2;
    p / q
}

#[cfg(test)]
mod erf_tests {
    use super::erf;

    #[test]
    fn erf_matches_libm_to_a_millionth() {
        let mut worst = 0f64;
        for i in -60_000..=60_000 {
            let x = i as f64 / 10_000.0; // -6 … 6 in steps of 1e-4
            let err = (f64::from(erf(x as f32)) - libm_erf(x)).abs();
            worst = worst.max(err);
        }
        assert!(worst < 1e-6, "worst absolute error {worst}");
    }

    /// erf in f64 via candle's (libm) implementation, the reference the model was trained with.
    fn libm_erf(x: f64) -> f64 {
        candle_core::cpu::erf::erf_f64(x)
    }
}
