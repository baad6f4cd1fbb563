//! Which shipped file under `assets/models/` serves which task. The site build turns this into
//! `/models/manifest.json` (file, sha256, size) for the worker; xtask commands read it too.
//!
//! This file names nothing outside itself: xtask's build commands include it by path, so that
//! they compile in seconds without the inference stack.

/// `(task, file name)` for every model the site ships.
pub const MODELS: &[(&str, &str)] = &[
    ("sentiment", SENTIMENT_MODEL_FILE),
    ("image", IMAGE_MODEL_FILE),
];

/// The 8-bit fine-tuned MiniLM file (`sentiment::MODEL_FILE`).
pub const SENTIMENT_MODEL_FILE: &str = "sentiment-minilm-l6-sst2-q8.gguf";

/// The 8-bit EfficientNet-Lite0 file.
pub const IMAGE_MODEL_FILE: &str = "efficientnet-lite0-int8.safetensors";
