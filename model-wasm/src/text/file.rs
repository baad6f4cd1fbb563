//! The shipped model file: one GGUF holding the 8-bit weights (Q8_0 for the encoder matrices and
//! the embedding tables), f32 vectors, and the tokenizer JSON as metadata, so a single download
//! with a single sha256 carries everything the browser needs.
//!
//! Only the header is parsed here; tensors are read straight from the caller's bytes when the
//! model asks for them (see [`super::weights::QuantizedWeights`]), so the 24 MB are neither
//! copied into per-tensor buffers first nor held twice.

use std::io::Cursor;

use candle_core::quantized::gguf_file;
use candle_core::Device;

use super::weights::{MatmulMode, QuantizedWeights};
use crate::ModelError;

/// GGUF metadata key holding the tokenizer JSON.
pub const TOKENIZER_KEY: &str = "vitrine.tokenizer_json";
/// GGUF metadata key naming the task, checked on load so another GGUF is rejected clearly.
pub const TASK_KEY: &str = "vitrine.task";
/// What `quantize-sentiment` writes: the file holds a text classifier, whose labels and shape
/// its catalogue entry gives.
pub const TASK: &str = "text-classification";
/// Also accepted: what the shipped file says, written before the engine was general (its
/// sha256 is fixed in the catalogue, so it is not rewritten).
pub const LEGACY_TASKS: &[&str] = &["sentiment-sst2"];

/// Weights and tokenizer read from a model file.
pub struct ModelFile<'a> {
    pub weights: QuantizedWeights<'a>,
    pub tokenizer_json: String,
}

/// Parses the header of a GGUF model file already verified by the caller.
pub fn parse<'a>(
    name: &str,
    bytes: &'a [u8],
    device: &Device,
    mode: MatmulMode,
) -> Result<ModelFile<'a>, ModelError> {
    let invalid = |reason: String| ModelError::InvalidModel {
        name: name.to_owned(),
        reason,
    };
    let mut content = gguf_file::Content::read(&mut Cursor::new(bytes))
        .map_err(|e| invalid(format!("not a GGUF file ({e})")))?;
    let mut text = |key: &str| -> Result<String, ModelError> {
        match content.metadata.remove(key) {
            Some(gguf_file::Value::String(s)) => Ok(s),
            _ => Err(invalid(format!("metadata {key} is missing"))),
        }
    };
    let task = text(TASK_KEY)?;
    if task != TASK && !LEGACY_TASKS.contains(&task.as_str()) {
        return Err(invalid(format!(
            "it is a \"{task}\" model, not a {TASK} one"
        )));
    }
    let tokenizer_json = text(TOKENIZER_KEY)?;
    let data = usize::try_from(content.tensor_data_offset)
        .ok()
        .and_then(|start| bytes.get(start..))
        .ok_or_else(|| invalid("the file ends before its tensors".to_owned()))?;
    Ok(ModelFile {
        weights: QuantizedWeights::new(content.tensor_infos, data, device.clone(), mode),
        tokenizer_json,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A GGUF header with this task and an (empty) tokenizer, and no tensors.
    fn file_with_task(task: &str) -> Vec<u8> {
        let values = [
            (TASK_KEY, gguf_file::Value::String(task.into())),
            (TOKENIZER_KEY, gguf_file::Value::String("{}".into())),
        ];
        let metadata: Vec<(&str, &gguf_file::Value)> =
            values.iter().map(|(k, v)| (*k, v)).collect();
        let mut bytes = Cursor::new(Vec::new());
        gguf_file::write(&mut bytes, &metadata, &[]).unwrap();
        bytes.into_inner()
    }

    #[test]
    fn text_classification_and_the_shipped_files_task_are_accepted() {
        for task in ["text-classification", "sentiment-sst2"] {
            let bytes = file_with_task(task);
            let parsed = parse("m.gguf", &bytes, &Device::Cpu, MatmulMode::default());
            assert!(parsed.is_ok(), "{task}: {:?}", parsed.err());
        }
    }

    #[test]
    fn another_task_is_refused_by_name() {
        let bytes = file_with_task("llm");
        let err = parse("m.gguf", &bytes, &Device::Cpu, MatmulMode::default())
            .err()
            .expect("refused");
        let msg = err.to_string();
        assert!(msg.contains("m.gguf") && msg.contains("\"llm\""), "{msg}");
    }
}
