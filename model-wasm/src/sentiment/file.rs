//! The shipped model file: one GGUF holding the 8-bit weights (Q8_0 for the encoder matrices and
//! the embedding tables), f32 vectors, and the tokenizer JSON as metadata, so a single download
//! with a single sha256 carries everything the browser needs.

use std::collections::HashMap;
use std::io::Cursor;

use candle_core::quantized::gguf_file;
use candle_core::Device;

use super::weights::{MatmulMode, QuantizedWeights};
use crate::ModelError;

/// File name under `assets/models/` (its digest is in `<name>.sha256`).
pub const MODEL_FILE: &str = "sentiment-minilm-l6-sst2-q8.gguf";
/// GGUF metadata key holding the tokenizer JSON.
pub const TOKENIZER_KEY: &str = "vitrine.tokenizer_json";
/// GGUF metadata key naming the task, checked on load so another GGUF is rejected clearly.
pub const TASK_KEY: &str = "vitrine.task";
pub const TASK: &str = "sentiment-sst2";

/// Weights and tokenizer read from a model file.
pub struct ModelFile {
    pub weights: QuantizedWeights,
    pub tokenizer_json: String,
}

/// Parses a GGUF model file already verified by the caller.
pub fn parse(
    name: &str,
    bytes: &[u8],
    device: &Device,
    mode: MatmulMode,
) -> Result<ModelFile, ModelError> {
    let invalid = |reason: String| ModelError::InvalidModel {
        name: name.to_owned(),
        reason,
    };
    let mut reader = Cursor::new(bytes);
    let content = gguf_file::Content::read(&mut reader)
        .map_err(|e| invalid(format!("not a GGUF file ({e})")))?;
    let text = |key: &str| -> Result<String, ModelError> {
        content
            .metadata
            .get(key)
            .and_then(|v| v.to_string().ok())
            .cloned()
            .ok_or_else(|| invalid(format!("metadata {key} is missing")))
    };
    if text(TASK_KEY)? != TASK {
        return Err(invalid(format!("it is not a {TASK} model")));
    }
    let tokenizer_json = text(TOKENIZER_KEY)?;
    let mut tensors = HashMap::new();
    for tensor_name in content.tensor_infos.keys() {
        let t = content
            .tensor(&mut reader, tensor_name, device)
            .map_err(|e| invalid(e.to_string()))?;
        tensors.insert(tensor_name.clone(), t);
    }
    Ok(ModelFile {
        weights: QuantizedWeights::new(tensors, device.clone(), mode),
        tokenizer_json,
    })
}
