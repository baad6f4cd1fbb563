//! The Python side: a venv with pinned onnx/onnxruntime (outside the work tree, like the other
//! venvs xtask makes) and the export script that turns our weights into ONNX files.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::project::{root, step};

/// Pinned so a re-run builds and quantises the same graphs. onnxruntime here only checks the
/// graphs and quantises; the browser side is onnxruntime-web, pinned in e2e/package.json.
const REQUIREMENTS: &[&str] = &[
    "onnx==1.23.2",
    "onnxruntime==1.32.0",
    "numpy==2.4.6",
    "safetensors==0.8.0",
];

/// What the export script measured with onnxruntime's native CPU backend.
#[derive(Deserialize, Debug)]
pub struct ExportCheck {
    pub sentiment_f32: SentimentCheck,
    pub sentiment_int8: SentimentCheck,
    pub image_f32: ImageCheck,
    pub image_int8: ImageCheck,
}

#[derive(Deserialize, Debug)]
pub struct SentimentCheck {
    pub diff_vs_native: f64,
}

#[derive(Deserialize, Debug)]
pub struct ImageCheck {
    pub top: usize,
    pub max_logit_diff_vs_native: f64,
    /// Only for the int8 graph: how far ORT's quantisation moves the logits.
    #[serde(default)]
    pub relative_l2_vs_native: Option<f64>,
}

/// The venv's python, creating the venv and installing [`REQUIREMENTS`] when they changed.
pub fn ensure_venv() -> Result<PathBuf> {
    let requirements: Vec<String> = REQUIREMENTS.iter().map(|r| (*r).to_owned()).collect();
    crate::python_venv::ensure("ort-venv", &requirements)
}

/// Builds the ONNX files in `dir` from the fixtures there; fails if ONNX Runtime disagrees with
/// our answers.
pub fn export(python: &Path, dir: &Path) -> Result<ExportCheck> {
    step("building ONNX graphs from our weights; dynamic int8 quantisation of the sentiment model");
    let out = Command::new(python)
        .arg(root().join("e2e/bench/ort_export.py"))
        .arg(dir)
        .output()
        .context("starting the ONNX export script")?;
    if !out.status.success() {
        bail!(
            "ONNX export failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    serde_json::from_slice(&out.stdout).context("reading the export script's JSON")
}
