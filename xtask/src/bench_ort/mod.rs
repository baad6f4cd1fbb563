//! `cargo xtask bench-ort`: our wasm path against ONNX Runtime Web's wasm backend (issue #7), on
//! the same models, weights and inputs, in the same headless Chromium on the same machine.
//!
//! A sibling of `bench` because it downloads things (onnx/onnxruntime from PyPI into a venv under
//! target/, onnxruntime-web from npm): ONNX files are built from our shipped weights by
//! `e2e/bench/ort_export.py`, then `e2e/bench/ort-bench.mjs` times both runtimes in one browser.

mod fixtures;

use anyhow::Result;

use crate::project::{root, step};

#[derive(clap::Args)]
pub struct Args {
    /// Measured runs per model and runtime (after warm-up).
    #[arg(long, default_value_t = 40)]
    pub runs: usize,
}

pub fn run(args: Args) -> Result<()> {
    let dir = root().join("target/ort");
    step("writing our weights (f32), token ids and owl.jpg's input tensor to target/ort/");
    let inputs = fixtures::write(&dir)?;
    eprintln!("{} tokens, {} runs", inputs.token_ids.len(), args.runs);
    Ok(())
}
