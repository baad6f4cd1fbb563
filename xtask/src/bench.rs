//! `cargo xtask bench`: how fast the shipped models are, natively and in headless Chromium, with
//! download sizes and the wasm/native ratio, printed as one table. Speed targets live here and
//! never in unit tests: the machines are shared and timings are noisy.
//!
//! Native numbers come from child processes of this binary (`bench --native-json`), once with
//! every core and once with one thread: the browser's single-thread wasm build is compared with
//! the one-thread native figure; the multi-threaded build gets its own "wasm threads" table.
//!
//! The comparison with ONNX Runtime Web on the same models is `cargo xtask bench-ort`
//! (`bench_ort/`): it downloads onnxruntime, so it is kept out of this command.

use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result};
use model_wasm::catalog;
use model_wasm::image::{decode::decode, ImageClassifier};
use model_wasm::sentiment::{MatmulMode, SentimentClassifier};
use serde::{Deserialize, Serialize};

use crate::project::{root, shipped_model, step};
use crate::{serve, site_build, test_suite, toolchain};

/// About 32 tokens, the length the issue measures at.
pub const SENTENCE: &str = "The film's sharp writing, warm performances and gorgeous photography make it one of the most moving and enjoyable dramas of the year.";

#[derive(clap::Args)]
pub struct Args {
    /// Measured runs per model (after warm-up).
    #[arg(long, default_value_t = 40)]
    pub runs: usize,
    /// Inferences per model in the browser's memory-growth check.
    #[arg(long, default_value_t = 1000)]
    pub memory_runs: usize,
    /// Internal: measure natively in this process and print JSON.
    #[arg(long, hide = true)]
    pub native_json: bool,
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy)]
struct Latency {
    median_ms: f64,
    p90_ms: f64,
    load_ms: f64,
}

#[derive(Serialize, Deserialize, Debug)]
struct Native {
    sentiment: Latency,
    sentiment_tokens: usize,
    image: Latency,
}

#[derive(Deserialize, Debug)]
struct Browser {
    /// Time to the first answer from the SDK call.
    cold_ms: f64,
    warm_ms: f64,
    /// The same from the start of the page's navigation (HTML and app included).
    cold_page_ms: f64,
    warm_page_ms: f64,
    downloaded_bytes: u64,
    median_ms: f64,
    p90_ms: f64,
    /// Engine wasm memory + page JS heap after 10 and after `memory_runs` inferences.
    memory_after_10_bytes: f64,
    memory_after_n_bytes: f64,
    memory_runs: usize,
}

#[derive(Deserialize, Debug)]
struct BrowserRun {
    sentiment: Browser,
    image: Browser,
    /// The sentiment model forced onto WebGPU; None when the browser offered no adapter.
    sentiment_webgpu: Option<WebGpuRun>,
    /// The image model forced onto WebGPU; None when the browser offered no adapter.
    #[serde(default)]
    image_webgpu: Option<WebGpuRun>,
    /// The multi-threaded engine on the cross-origin isolated page.
    sentiment_threads: Option<WasmThreadsRun>,
    image_threads: Option<WasmThreadsRun>,
}

#[derive(Deserialize, Debug)]
struct WasmThreadsRun {
    median_ms: f64,
    p90_ms: f64,
    /// Threads the engine reported (its rayon pool of Web Workers).
    threads: usize,
}

/// The "wasm threads" table: the multi-threaded build against the single-thread one.
fn print_wasm_threads(browser: &BrowserRun) {
    println!();
    println!("| model | wasm SIMD, 1 thread | wasm threads | threads | speed-up |");
    println!("|---|---|---|---|---|");
    for (name, one, threaded) in [
        ("sentiment", &browser.sentiment, &browser.sentiment_threads),
        ("image", &browser.image, &browser.image_threads),
    ] {
        match threaded {
            Some(t) => println!(
                "| {name} median (p90) | {:.1} ms ({:.1}) | {:.1} ms ({:.1}) | {} | {:.2}× |",
                one.median_ms,
                one.p90_ms,
                t.median_ms,
                t.p90_ms,
                t.threads,
                one.median_ms / t.median_ms
            ),
            None => println!("| {name} | {:.1} ms | not measured | | |", one.median_ms),
        }
    }
}

#[derive(Deserialize, Debug)]
struct WebGpuRun {
    median_ms: f64,
    p90_ms: f64,
    adapter: String,
}

fn quantiles(mut ms: Vec<f64>) -> (f64, f64) {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((q * ms.len() as f64) as usize).min(ms.len() - 1)];
    (at(0.5), at(0.9))
}

fn time_runs(runs: usize, warmup: usize, mut f: impl FnMut() -> Result<()>) -> Result<(f64, f64)> {
    for _ in 0..warmup {
        f()?;
    }
    let mut ms = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        f()?;
        ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    Ok(quantiles(ms))
}

fn native(runs: usize) -> Result<Native> {
    let (bytes, sha) = shipped_model(model_wasm::sentiment::MODEL_FILE)?;
    let t = Instant::now();
    // Native's fastest mode (f32 GEMM, AVX2/FMA) is the baseline, not the browser's int8 mode,
    // whose portable code natively is slower: the ratio must not flatter the browser.
    let sentiment = SentimentClassifier::from_model_file_with(
        model_wasm::sentiment::MODEL_FILE,
        &bytes,
        &sha,
        MatmulMode::F32,
    )?;
    let sentiment_load = t.elapsed().as_secs_f64() * 1e3;
    let sentiment_tokens = sentiment.tokenizer().encode(SENTENCE)?.ids.len();
    let (s_med, s_p90) = time_runs(runs, 3, || Ok(sentiment.classify(SENTENCE).map(|_| ())?))?;

    let (bytes, sha) = shipped_model(catalog::IMAGE_MODEL_FILE)?;
    let t = Instant::now();
    let image = ImageClassifier::from_model_bytes(catalog::IMAGE_MODEL_FILE, &bytes, &sha)?;
    let image_load = t.elapsed().as_secs_f64() * 1e3;
    let photo = decode(&std::fs::read(root().join("assets/samples/owl.jpg"))?)?;
    let pixels = photo.pixels()?;
    let (i_med, i_p90) = time_runs(runs.div_ceil(3).max(5), 2, || {
        Ok(image.classify(&pixels).map(|_| ())?)
    })?;
    Ok(Native {
        sentiment: Latency {
            median_ms: s_med,
            p90_ms: s_p90,
            load_ms: sentiment_load,
        },
        sentiment_tokens,
        image: Latency {
            median_ms: i_med,
            p90_ms: i_p90,
            load_ms: image_load,
        },
    })
}

fn native_in_child(runs: usize, threads: Option<usize>) -> Result<Native> {
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.args(["bench", "--native-json", "--runs", &runs.to_string()]);
    if let Some(n) = threads {
        // candle sizes its CPU thread pool from this variable.
        cmd.env("RAYON_NUM_THREADS", n.to_string());
    }
    let out = cmd.output()?;
    anyhow::ensure!(
        out.status.success(),
        "native bench failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(serde_json::from_slice(&out.stdout)?)
}

pub fn run(args: Args) -> Result<()> {
    if args.native_json {
        println!("{}", serde_json::to_string(&native(args.runs)?)?);
        return Ok(());
    }
    step("native benchmark (all cores, then one thread)");
    let all = native_in_child(args.runs, None)?;
    let one = native_in_child(args.runs, Some(1))?;

    site_build::build(false)?;
    serve::build_server()?;
    let chromium = toolchain::ensure_chromium()?;
    toolchain::ensure_node_modules()?;
    let port = test_suite::free_port()?;
    let mut server =
        test_suite::ServerGuard::new(serve::spawn_server(port, &[("RUST_LOG", "warn")])?);
    test_suite::wait_until_healthy(port, server.child())?;
    step("in-browser benchmark (headless Chromium, wasm SIMD: one thread, then threads)");
    let out = Command::new("node")
        .arg("e2e/bench/browser-bench.mjs")
        .current_dir(root())
        .env("VITRINE_URL", format!("http://127.0.0.1:{port}"))
        .env("CHROMIUM", &chromium)
        .env("VITRINE_BENCH_SENTENCE", SENTENCE)
        .env("VITRINE_BENCH_RUNS", args.runs.to_string())
        .env("VITRINE_BENCH_MEMORY_RUNS", args.memory_runs.to_string())
        .output()?;
    server.terminate()?;
    anyhow::ensure!(
        out.status.success(),
        "browser bench failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let browser: BrowserRun =
        serde_json::from_slice(&out.stdout).context("reading the browser bench's JSON")?;

    println!();
    println!(
        "Vitrine benchmark — {} cores; sentiment input: {} tokens; image input: owl.jpg",
        cores(),
        all.sentiment_tokens
    );
    println!();
    println!("| model | native, all cores | native, 1 thread | wasm SIMD in Chromium | wasm / native 1-thread | wasm / native all cores |");
    println!("|---|---|---|---|---|---|");
    for (name, a, o, b) in [
        (
            "sentiment",
            all.sentiment,
            one.sentiment,
            &browser.sentiment,
        ),
        ("image", all.image, one.image, &browser.image),
    ] {
        println!(
            "| {name} median (p90) | {:.1} ms ({:.1}) | {:.1} ms ({:.1}) | {:.1} ms ({:.1}) | {:.2}× | {:.2}× |",
            a.median_ms, a.p90_ms, o.median_ms, o.p90_ms, b.median_ms, b.p90_ms,
            b.median_ms / o.median_ms, b.median_ms / a.median_ms
        );
    }
    print_wasm_threads(&browser);
    match &browser.sentiment_webgpu {
        Some(gpu) => println!(
            "sentiment on WebGPU ({}; SwiftShader is software, so this is a correctness run, not a speed one): median {:.1} ms (p90 {:.1}), {:.2}× the wasm path",
            gpu.adapter,
            gpu.median_ms,
            gpu.p90_ms,
            gpu.median_ms / browser.sentiment.median_ms
        ),
        None => println!("sentiment on WebGPU: no adapter in this browser"),
    }
    match &browser.image_webgpu {
        Some(gpu) => println!(
            "image on WebGPU ({}; software on SwiftShader, as above): median {:.1} ms (p90 {:.1}), {:.2}× the wasm path",
            gpu.adapter,
            gpu.median_ms,
            gpu.p90_ms,
            gpu.median_ms / browser.image.median_ms
        ),
        None => println!("image on WebGPU: not used (no adapter, or the GPU failed its check)"),
    }
    println!();
    println!("| model | native load | browser cold first result (from navigation) | browser warm, cached (from navigation) | downloaded (compressed) |");
    println!("|---|---|---|---|---|");
    for (name, a, b) in [
        ("sentiment", all.sentiment, &browser.sentiment),
        ("image", all.image, &browser.image),
    ] {
        println!(
            "| {name} | {:.0} ms | {:.0} ms ({:.0}) | {:.0} ms ({:.0}) | {:.2} MB |",
            a.load_ms,
            b.cold_ms,
            b.cold_page_ms,
            b.warm_ms,
            b.warm_page_ms,
            b.downloaded_bytes as f64 / 1e6
        );
    }
    println!();
    println!("| model | memory after 10 inferences | after N | N | growth |");
    println!("|---|---|---|---|---|");
    for (name, b) in [("sentiment", &browser.sentiment), ("image", &browser.image)] {
        println!(
            "| {name} | {:.1} MB | {:.1} MB | {} | {:+.1}% |",
            b.memory_after_10_bytes / 1e6,
            b.memory_after_n_bytes / 1e6,
            b.memory_runs,
            100.0 * (b.memory_after_n_bytes / b.memory_after_10_bytes - 1.0)
        );
    }
    println!("memory: the engine's wasm memory plus the page's JS heap, each after a garbage collection.");
    Ok(())
}

/// Cores this process may use (also printed by `bench-ort`).
pub fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}
