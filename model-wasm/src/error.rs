use thiserror::Error;

/// Every way inference can fail, phrased for the person who sees it.
#[derive(Debug, Error)]
pub enum ModelError {
    #[error("the model file {name} is damaged or incomplete (sha256 {actual}, expected {expected}); reload the page to download it again")]
    ChecksumMismatch {
        name: String,
        expected: String,
        actual: String,
    },
    #[error("there is no text to analyse: type a sentence with at least one word")]
    EmptyText,
    #[error("the tokenizer could not process this text: {0}")]
    Tokenizer(String),
    #[error("the model file {name} is not a valid model: {reason}")]
    InvalidModel { name: String, reason: String },
    #[error("inference failed: {0}")]
    Inference(#[from] candle_core::Error),
}
