//! The one reader of model weights files: `model.safetensors`, a zip-format `torch.save` state
//! dict (`pytorch_model.bin`, as transformers 4.x and timm write it), or a legacy `torch.save`
//! from before PyTorch 1.6 (the EfficientNet-Lite0 wheel's `.pth`, see [`crate::pth`]).
//! `import-model` (text and image) and the shipped models' commands all read through it, so a
//! tensor means the same thing whoever reads it and every refusal names the file the same way.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use candle_core::{DType, Device, Tensor};

/// The weight files an export may hold, in the order they are looked for.
pub const WEIGHT_FILES: [&str; 2] = ["model.safetensors", "pytorch_model.bin"];

/// One tensor as read: row-major f32 values and the shape.
#[derive(Debug, Clone, PartialEq)]
pub struct FloatTensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

impl FloatTensor {
    /// The same values as a candle tensor (what the text quantiser takes).
    pub fn to_candle(&self) -> Result<Tensor> {
        Ok(Tensor::from_slice(
            &self.data,
            self.shape.as_slice(),
            &Device::Cpu,
        )?)
    }

    fn from_candle(tensor: &Tensor) -> candle_core::Result<Self> {
        Ok(Self {
            shape: tensor.dims().to_vec(),
            data: tensor.to_dtype(DType::F32)?.flatten_all()?.to_vec1()?,
        })
    }
}

/// A state dict as read, every floating-point tensor in f32. Integer tensors (BatchNorm's
/// `num_batches_tracked`, BERT's `position_ids`) are left out: no model here reads them.
pub struct Checkpoint {
    /// The file's name, for messages.
    pub file: String,
    pub tensors: HashMap<String, FloatTensor>,
}

impl Checkpoint {
    /// Reads the first of [`WEIGHT_FILES`] in the export folder `dir`.
    pub fn read(dir: &Path) -> Result<Self> {
        let Some(file) = WEIGHT_FILES.into_iter().find(|f| dir.join(f).is_file()) else {
            bail!(
                "{}: no weights: neither model.safetensors nor pytorch_model.bin is in the folder",
                dir.join("model.safetensors").display()
            );
        };
        Self::read_file(&dir.join(file))
    }

    /// Reads one weights file, whichever of the three layouts it has (told by its first bytes;
    /// a safetensors file has no magic number, so it is what is neither kind of `torch.save`).
    pub fn read_file(path: &Path) -> Result<Self> {
        let file = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into(),
        );
        let bytes =
            std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
        let tensors = if bytes.starts_with(b"PK\x03\x04") {
            let raw = candle_core::pickle::read_all(path)
                .map_err(|e| anyhow::anyhow!("{e}"))
                .with_context(|| {
                    format!(
                        "{}: {file} cannot be read as a torch.save state dict",
                        path.display()
                    )
                })?;
            floats(raw, path)?
        } else if crate::pth::is_legacy(&bytes) {
            crate::pth::parse_legacy(&bytes).with_context(|| {
                format!(
                    "{}: {file} cannot be read as a legacy torch.save state dict",
                    path.display()
                )
            })?
        } else {
            let raw = candle_core::safetensors::load_buffer(&bytes, &Device::Cpu).map_err(|e| {
                anyhow::anyhow!(
                    "{}: {file} is damaged or incomplete ({e}); download or export it again",
                    path.display()
                )
            })?;
            floats(raw, path)?
        };
        Ok(Self { file, tensors })
    }

    /// Tensor `name` with shape `dims`, or an error naming the file, the tensor and both shapes.
    pub fn get(&self, name: &str, dims: &[usize]) -> Result<&FloatTensor> {
        let tensor = self.tensors.get(name).with_context(|| {
            format!(
                "{}: tensor `{name}` is missing (expected shape {dims:?})",
                self.file
            )
        })?;
        if tensor.shape != dims {
            bail!(
                "{}: tensor `{name}` has shape {:?} where the config implies {dims:?}",
                self.file,
                tensor.shape
            );
        }
        Ok(tensor)
    }
}

/// The floating-point tensors of a candle read, as f32 values.
fn floats(
    raw: impl IntoIterator<Item = (String, Tensor)>,
    path: &Path,
) -> Result<HashMap<String, FloatTensor>> {
    let mut out = HashMap::new();
    for (name, tensor) in raw {
        if tensor.dtype().is_float() {
            let values = FloatTensor::from_candle(&tensor)
                .with_context(|| format!("{}: tensor `{name}`", path.display()))?;
            out.insert(name, values);
        }
    }
    Ok(out)
}

/// The export's directory and weights digest, so `predict --float` finds the float weights.
pub fn source_of(dir: &Path, weights_file: &str) -> wire::catalog::Source {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_owned());
    let sha256 = std::fs::read(dir.join(weights_file))
        .map(|bytes| crate::project::sha256_hex(&bytes))
        .unwrap_or_default();
    wire::catalog::Source {
        dir: dir.display().to_string(),
        wheel: None,
        file: weights_file.to_owned(),
        sha256,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same state dict written as safetensors and read back: every float value exactly,
    /// integer buffers left out, and a cut-short file refused naming it.
    #[test]
    fn safetensors_round_trip_exactly_and_damage_is_named() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("model.safetensors");
        let weight = Tensor::new(&[[1.5f32, -0.25, 3.0e-8], [7.0, 0.0, -2.0]], &Device::Cpu)?;
        let half = Tensor::new(&[0.5f32, 2.0], &Device::Cpu)?.to_dtype(DType::F16)?;
        let steps = Tensor::new(&[3i64], &Device::Cpu)?;
        let all = HashMap::from([
            ("w".to_owned(), weight),
            ("h".to_owned(), half),
            ("bn.num_batches_tracked".to_owned(), steps),
        ]);
        candle_core::safetensors::save(&all, &path)?;
        let read = Checkpoint::read(dir.path())?;
        assert_eq!(read.file, "model.safetensors");
        assert_eq!(
            read.tensors["w"],
            FloatTensor {
                shape: vec![2, 3],
                data: vec![1.5, -0.25, 3.0e-8, 7.0, 0.0, -2.0]
            }
        );
        assert_eq!(read.tensors["h"].data, [0.5, 2.0]);
        assert!(!read.tensors.contains_key("bn.num_batches_tracked"));
        assert!(read.get("w", &[3, 2]).is_err());

        let bytes = std::fs::read(&path)?;
        std::fs::write(&path, &bytes[..bytes.len() / 2])?;
        let err = format!(
            "{:#}",
            Checkpoint::read(dir.path()).err().context("accepted")?
        );
        assert!(
            err.contains("model.safetensors") && err.contains("damaged"),
            "{err}"
        );
        Ok(())
    }
}
