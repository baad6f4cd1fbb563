//! The weights of a directory someone exported: `model.safetensors`, or else `pytorch_model.bin`
//! (`torch.save` of a state dict, zip format, as transformers 4.x and timm write it). One reader
//! for `import-model`, whatever the framework, so every refusal names the file the same way.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use candle_core::{DType, Device, Tensor};

/// The weight files an export may hold, in the order they are looked for.
pub const WEIGHT_FILES: [&str; 2] = ["model.safetensors", "pytorch_model.bin"];

/// A state dict as read, every floating-point tensor in f32 (integer ones, such as BatchNorm's
/// `num_batches_tracked`, are left out: no model here reads them).
pub struct Checkpoint {
    /// Which of [`WEIGHT_FILES`] it came from, for messages.
    pub file: &'static str,
    pub tensors: HashMap<String, Tensor>,
}

impl Checkpoint {
    /// Reads the first of [`WEIGHT_FILES`] in `dir`.
    pub fn read(dir: &Path) -> Result<Self> {
        let Some(file) = WEIGHT_FILES.into_iter().find(|f| dir.join(f).is_file()) else {
            bail!(
                "{}: no weights: neither model.safetensors nor pytorch_model.bin is in the folder",
                dir.join("model.safetensors").display()
            );
        };
        let path = dir.join(file);
        let raw: Vec<(String, Tensor)> = if file.ends_with(".safetensors") {
            candle_core::safetensors::load(&path, &Device::Cpu)
                .map_err(|e| anyhow::anyhow!("{e}"))
                .with_context(|| {
                    format!(
                        "{}: model.safetensors cannot be read (cut short or not a safetensors file?)",
                        path.display()
                    )
                })?
                .into_iter()
                .collect()
        } else {
            candle_core::pickle::read_all(&path)
                .map_err(|e| anyhow::anyhow!("{e}"))
                .with_context(|| {
                    format!(
                        "{}: pytorch_model.bin cannot be read as a torch.save state dict",
                        path.display()
                    )
                })?
        };
        let mut tensors = HashMap::with_capacity(raw.len());
        for (name, tensor) in raw {
            if tensor.dtype().is_float() {
                tensors.insert(name, tensor.to_dtype(DType::F32)?);
            }
        }
        Ok(Self { file, tensors })
    }

    /// Tensor `name` with shape `dims`, or an error naming the file, the tensor and both shapes.
    pub fn get(&self, name: &str, dims: &[usize]) -> Result<&Tensor> {
        let tensor = self.tensors.get(name).with_context(|| {
            format!(
                "{}: tensor `{name}` is missing (expected shape {dims:?})",
                self.file
            )
        })?;
        if tensor.dims() != dims {
            bail!(
                "{}: tensor `{name}` has shape {:?} where the config implies {dims:?}",
                self.file,
                tensor.dims()
            );
        }
        Ok(tensor)
    }
}

/// The export's directory and weights digest, so `predict --float` finds the float weights.
pub fn source_of(dir: &Path, weights_file: &str) -> wire::catalog::Source {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_owned());
    let sha256 = std::fs::read(dir.join(weights_file))
        .map(|bytes| crate::project::sha256_hex(&bytes))
        .unwrap_or_default();
    wire::catalog::Source {
        dir: dir.display().to_string(),
        file: weights_file.to_owned(),
        sha256,
    }
}
