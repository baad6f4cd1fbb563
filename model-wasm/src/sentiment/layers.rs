//! The few building blocks BERT needs, written so that one implementation serves both
//! differentiable training and fast (possibly 8-bit) inference.

use candle_core::quantized::QMatMul;
use candle_core::{Module, Result, Tensor, D};

use super::weights::Weights;

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
    weight: QMatMul,
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
            .matmul(&xs.reshape((rows, in_dim))?)?
            .broadcast_add(&self.bias)?;
        let mut out_dims = dims;
        if let Some(last) = out_dims.last_mut() {
            *last = self.out_dim;
        }
        ys.reshape(out_dims)
    }
}

impl Linear {
    /// `xs · Wᵀ`. Inference with f32 weights (the default [`super::MatmulMode::F32`]) goes
    /// through [`crate::matmul`], which uses the browser's worker threads where there are some;
    /// training (gradients) and 8-bit weights keep candle's own products.
    fn matmul(&self, xs: &Tensor) -> Result<Tensor> {
        match &self.weight {
            QMatMul::Tensor(w) if !xs.track_op() && !w.track_op() => {
                crate::matmul::matmul(xs, &w.t()?)
            }
            weight => weight.forward(xs),
        }
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

/// Softmax over the last dimension, fused when no gradient is needed (same reason as above).
pub fn softmax_last_dim(xs: &Tensor) -> Result<Tensor> {
    if xs.track_op() {
        candle_nn::ops::softmax(xs, D::Minus1)
    } else {
        candle_nn::ops::softmax_last_dim(xs)
    }
}
