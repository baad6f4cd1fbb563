//! Where model weights come from. The same model code loads either float weights (a
//! `candle_nn::VarBuilder`: safetensors for inference and golden tests, or a `VarMap` so that
//! training can backpropagate into them) or the shipped 8-bit GGUF file. Matrices come back as
//! a [`Matrix`] in every case, so the layers never need to know which one they run on.

use std::collections::HashMap;
use std::sync::Arc;

use candle_core::quantized::ggml_file::qtensor_from_ggml;
use candle_core::quantized::gguf_file::TensorInfo;
use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{Device, Result, Shape, Tensor};

use super::q8_0;
pub use crate::int8_matmul::MatmulMode;
use crate::int8_matmul::{Epilogue, Int8Matrix};

/// A weight matrix `W` as [`crate::text::layers::Linear`] multiplies it: `x · Wᵀ`.
#[derive(Debug, Clone)]
pub enum Matrix {
    /// f32 or candle's own quantized types.
    Candle(QMatMul),
    /// 8-bit weights and activations, integer dot products.
    Int8(Int8Matrix),
}

impl Matrix {
    /// `x` is `[rows, in]`; returns `[rows, out]`. Inference products use every thread
    /// [`crate::parallel`] offers (candle's own never thread in wasm); training (gradients) and
    /// candle's quantized types keep candle's products.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            Self::Candle(QMatMul::Tensor(w)) if !x.track_op() && !w.track_op() => {
                crate::matmul::matmul(x, &w.t()?)
            }
            Self::Candle(m) => candle_core::Module::forward(m, x),
            Self::Int8(m) => m.product(x, Epilogue::NONE),
        }
    }
}

/// A prefix-scoped view of the model's weights, in the spirit of candle's `VarBuilder`.
#[derive(Clone)]
pub enum Weights<'a> {
    /// f32 weights; gradients flow when the builder is backed by a `VarMap`.
    Float(candle_nn::VarBuilder<'a>),
    /// Weights read from the shipped GGUF file (8-bit matrices, f32 vectors).
    Quantized(QuantizedWeights<'a>),
}

/// The tensors of a GGUF file, read in place from the file's bytes, plus the current name
/// prefix. Each tensor is decoded once, when the model asks for it, straight into the buffer
/// it will live in: no intermediate copy of the 24 MB.
#[derive(Clone)]
pub struct QuantizedWeights<'a> {
    infos: Arc<HashMap<String, TensorInfo>>,
    /// The file from its tensor-data section on; [`TensorInfo::offset`] is relative to it.
    data: &'a [u8],
    prefix: String,
    device: Device,
    mode: MatmulMode,
}

impl<'a> QuantizedWeights<'a> {
    pub fn new(
        infos: HashMap<String, TensorInfo>,
        data: &'a [u8],
        device: Device,
        mode: MatmulMode,
    ) -> Self {
        Self {
            infos: Arc::new(infos),
            data,
            prefix: String::new(),
            device,
            mode,
        }
    }

    fn path(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.prefix)
        }
    }

    /// The tensor's type and its bytes in the file, after checking its shape and extent.
    fn raw(&self, name: &str, shape: &Shape) -> Result<(GgmlDType, &'a [u8])> {
        let path = self.path(name);
        let info = self
            .infos
            .get(&path)
            .ok_or_else(|| candle_core::Error::Msg(format!("missing tensor {path}")))?;
        if &info.shape != shape {
            candle_core::bail!(
                "tensor {path} has shape {:?}, expected {shape:?}",
                info.shape
            );
        }
        let dtype = info.ggml_dtype;
        let elems = shape.elem_count();
        if !elems.is_multiple_of(dtype.block_size()) {
            candle_core::bail!("tensor {path}: {elems} values are not whole {dtype:?} blocks");
        }
        let len = elems / dtype.block_size() * dtype.type_size();
        let bytes = usize::try_from(info.offset)
            .ok()
            .and_then(|start| self.data.get(start..start.checked_add(len)?))
            .ok_or_else(|| {
                candle_core::Error::Msg(format!("tensor {path} runs past the end of the file"))
            })?;
        Ok((dtype, bytes))
    }

    /// The tensor as stored (8-bit stays 8-bit).
    fn qtensor(&self, name: &str, shape: &Shape) -> Result<QTensor> {
        let (dtype, bytes) = self.raw(name, shape)?;
        // candle reinterprets the bytes as blocks in place, which needs them aligned for the
        // block type (2 bytes for Q8_0's f16 scale, 4 for f32). GGUF aligns tensors to 32 bytes
        // within the file and allocators align the file's buffer, so this copy is a fallback.
        if (bytes.as_ptr() as usize).is_multiple_of(8) {
            qtensor_from_ggml(dtype, bytes, shape.dims().to_vec(), &self.device)
        } else {
            let mut aligned = vec![0u64; bytes.len().div_ceil(8)];
            let buf = &mut bytemuck_bytes(&mut aligned)[..bytes.len()];
            buf.copy_from_slice(bytes);
            qtensor_from_ggml(dtype, buf, shape.dims().to_vec(), &self.device)
        }
    }

    /// The tensor expanded to f32.
    fn dequantized(&self, name: &str, shape: &Shape) -> Result<Tensor> {
        let (dtype, bytes) = self.raw(name, shape)?;
        let values = match dtype {
            GgmlDType::F32 => bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            GgmlDType::Q8_0 => q8_0::dequantize(bytes),
            _ => return self.qtensor(name, shape)?.dequantize(&self.device),
        };
        Tensor::from_vec(values, shape, &self.device)
    }
}

/// The bytes of a `u64` buffer (an 8-byte-aligned scratch area).
fn bytemuck_bytes(words: &mut [u64]) -> &mut [u8] {
    // SAFETY: u8 has no alignment or validity requirements; the length covers the same memory.
    unsafe { std::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u8>(), words.len() * 8) }
}

impl Weights<'_> {
    /// The same weights with `name` appended to the prefix (`a.b` style).
    pub fn pp(&self, name: impl ToString) -> Self {
        match self {
            Self::Float(vb) => Self::Float(vb.pp(name)),
            Self::Quantized(q) => {
                let mut q = q.clone();
                q.prefix = q.path(&name.to_string());
                Self::Quantized(q)
            }
        }
    }

    /// The stored shape of tensor `name`, where the source can tell without building it: the
    /// model file and safetensors can, a trainer's `VarMap` (which creates tensors on demand)
    /// cannot, and says `None`.
    pub fn stored_dims(&self, name: &str) -> Option<Vec<usize>> {
        match self {
            Self::Float(vb) => vb.get_unchecked(name).ok().map(|t| t.dims().to_vec()),
            Self::Quantized(q) => q.infos.get(&q.path(name)).map(|i| i.shape.dims().to_vec()),
        }
    }

    /// A matrix used in `x @ W^T`; see [`MatmulMode`] for how a quantized one is run.
    pub fn matrix(&self, name: &str, (rows, cols): (usize, usize)) -> Result<Matrix> {
        match self {
            Self::Quantized(q) if q.mode == MatmulMode::F32 => Ok(Matrix::Candle(QMatMul::Tensor(
                q.dequantized(name, &(rows, cols).into())?,
            ))),
            Self::Quantized(q) => match q.raw(name, &(rows, cols).into())? {
                (GgmlDType::Q8_0, bytes) => Int8Matrix::from_q8_0(bytes, rows, cols)
                    .map(Matrix::Int8)
                    .map_err(|e| candle_core::Error::Msg(format!("{}: {e}", q.path(name)))),
                _ => Ok(Matrix::Candle(self.table(name, (rows, cols))?)),
            },
            Self::Float(_) => Ok(Matrix::Candle(self.table(name, (rows, cols))?)),
        }
    }

    /// A lookup table (word embeddings): stays 8-bit in memory when the file is, since only the
    /// rows of the input's tokens are ever expanded.
    pub fn table(&self, name: &str, (rows, cols): (usize, usize)) -> Result<QMatMul> {
        match self {
            Self::Float(vb) => Ok(QMatMul::Tensor(vb.get((rows, cols), name)?)),
            Self::Quantized(q) => QMatMul::from_qtensor(q.qtensor(name, &(rows, cols).into())?),
        }
    }

    /// A plain f32 tensor (biases, LayerNorm parameters, small tables).
    pub fn tensor<S: Into<Shape>>(&self, name: &str, shape: S) -> Result<Tensor> {
        let shape = shape.into();
        match self {
            Self::Float(vb) => vb.get(shape, name),
            Self::Quantized(q) => q.dequantized(name, &shape),
        }
    }
}

#[cfg(feature = "gpu")]
impl<'a> Weights<'a> {
    /// The Q8_0 bytes of an 8-bit matrix exactly as stored in the model file: the GPU backend
    /// uploads them as they are, so the GPU computes with the very weights the CPU does.
    pub fn q8_0_bytes(&self, name: &str, (rows, cols): (usize, usize)) -> Result<&'a [u8]> {
        match self {
            Self::Quantized(q) => {
                let (dtype, bytes) = q.raw(name, &(rows, cols).into())?;
                if dtype != GgmlDType::Q8_0 {
                    candle_core::bail!("{} is {dtype:?}, the GPU path expects Q8_0", q.path(name));
                }
                Ok(bytes)
            }
            Self::Float(_) => candle_core::bail!("the GPU path reads the 8-bit model file"),
        }
    }

    /// Any tensor's values as f32 (vectors and small tables).
    pub fn f32_values(&self, name: &str, shape: impl Into<Shape>) -> Result<Vec<f32>> {
        self.tensor(name, shape)?.flatten_all()?.to_vec1()
    }
}
