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
}
