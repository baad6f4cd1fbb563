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
    /// A text the model cannot read: no label is given (see `text::reading`).
    #[error("{}", unreadable_message(languages, *script, *unknown_share))]
    Unreadable {
        script: Option<crate::text::reading::Script>,
        languages: Vec<String>,
        unknown_share: f32,
    },
    #[error("the tokenizer could not process this text: {0}")]
    Tokenizer(String),
    #[error("the model file {name} is not a valid model: {reason}")]
    InvalidModel { name: String, reason: String },
    #[error("model.toml: {0}")]
    Manifest(#[from] crate::text::SpecError),
    /// The weights' classifier has another number of outputs than the catalogue lists labels.
    #[error("the model's classifier head `{tensor}` has {rows} rows, but its model.toml lists {labels} labels; the weights file and the catalogue entry do not belong together")]
    HeadRows {
        tensor: String,
        rows: usize,
        labels: usize,
    },
    /// An image model whose file carries another number of classes than its catalogue entry.
    #[error("the model file {name} has {found} classes, but its model.toml lists {expected}")]
    ClassCount {
        name: String,
        found: usize,
        expected: usize,
    },
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
    ImageManifest(#[from] crate::image::spec::ManifestError),
}

fn unreadable_message(
    languages: &[String],
    script: Option<crate::text::reading::Script>,
    unknown_share: f32,
) -> String {
    let reads = crate::text::reading::language_names(languages);
    match script {
        Some(s) if !crate::text::reading::reads(languages, s) => format!(
            "this model reads {reads}, and this text is written in another script ({}); it gives no answer rather than a guess",
            s.name()
        ),
        _ => format!(
            "this model reads {reads}, and it does not know {:.0}% of this text's word pieces; it gives no answer rather than a guess",
            unknown_share * 100.0
        ),
    }
}
