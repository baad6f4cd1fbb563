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
    #[error("the image file is empty (0 bytes)")]
    EmptyImage,
    #[error("the image is {width}×{height} pixels, more than the {max_megapixels} megapixels accepted; use a smaller photo")]
    ImageTooLarge {
        width: u32,
        height: u32,
        max_megapixels: u64,
    },
    #[error("this file is not an image we can read ({0}); use a JPEG, PNG, GIF or BMP")]
    UnsupportedImage(String),
    #[error("the image file is damaged or incomplete: {0}")]
    CorruptImage(String),
    #[error("the image pixels are not usable: {0}")]
    InvalidPixels(String),
    #[error(transparent)]
    Manifest(#[from] crate::image::spec::ManifestError),
}
