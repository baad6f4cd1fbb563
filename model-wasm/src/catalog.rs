//! Which shipped file under `assets/models/` serves which task. The site build turns this into
//! `/models/manifest.json` (file, sha256, size) for the worker; xtask commands read it too.

/// `(task, file name)` for every model the site ships.
pub const MODELS: &[(&str, &str)] = &[
    ("sentiment", crate::sentiment::MODEL_FILE),
    ("image", IMAGE_MODEL_FILE),
];

/// The 8-bit EfficientNet-Lite0 file.
pub const IMAGE_MODEL_FILE: &str = "efficientnet-lite0-int8.safetensors";
