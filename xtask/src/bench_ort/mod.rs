//! `cargo xtask bench-ort`: our wasm path against ONNX Runtime Web's wasm backend (issue #7), on
//! the same models, weights and inputs, in the same headless Chromium on the same machine.
//!
//! A sibling of `bench` because it downloads things (onnx/onnxruntime from PyPI into a venv in
//! the cache, onnxruntime-web from npm). Steps: [`fixtures`] dumps our shipped weights as f32 with
//! the token ids and owl.jpg's input tensor; [`python`] builds the ONNX graphs from them (and an
//! int8 variant) and checks them natively; `e2e/bench/ort-bench.mjs` times both runtimes in one
//! browser; [`report`] prints the table.

mod fixtures;
mod python;
mod report;

use std::process::Command;

use anyhow::{Context, Result};

use crate::bench::{serve_for_browser_bench, BenchSite};
use crate::project::{root, step};

#[derive(clap::Args)]
pub struct Args {
    /// Measured sentiment runs per runtime (after 3 warm-up runs).
    #[arg(long, default_value_t = 40)]
    pub runs: usize,
    /// Measured image runs per runtime (after 3 warm-up runs).
    #[arg(long, default_value_t = 20)]
    pub image_runs: usize,
}

pub fn run(args: Args) -> Result<()> {
    let dir = root().join("target/ort");
    step("writing our weights (as f32), token ids and owl.jpg's input tensor to target/ort/");
    let inputs = fixtures::write(&dir)?;
    let python = python::ensure_venv()?;
    let check = python::export(&python, &dir)?;

    let BenchSite {
        chromium,
        port,
        mut server,
    } = serve_for_browser_bench()?;
    step("timing ours and ONNX Runtime Web (wasm, SIMD, one thread) in headless Chromium");
    let load_before = load_average();
    let out = Command::new("node")
        .arg("e2e/bench/ort-bench.mjs")
        .current_dir(root())
        .env("VITRINE_URL", format!("http://127.0.0.1:{port}"))
        .env("ORT_DIR", &dir)
        .env("CHROMIUM", &chromium)
        .env("VITRINE_BENCH_RUNS", args.runs.to_string())
        .env("VITRINE_BENCH_IMAGE_RUNS", args.image_runs.to_string())
        .output()?;
    let load = (load_before, load_average());
    server.terminate()?;
    anyhow::ensure!(
        out.status.success(),
        "ORT browser bench failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let browser: report::BrowserRun =
        serde_json::from_slice(&out.stdout).context("reading the ORT bench's JSON")?;
    report::print(&inputs, &check, &browser, &report::our_sizes()?, &load)
}

/// The 1-minute load average: the machine is shared, and a number above its core count means
/// other work competed with the measurement (both runtimes alike: their runs are interleaved).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}
