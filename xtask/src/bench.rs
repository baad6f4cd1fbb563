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
use model_wasm::image::{decode::decode, ImageClassifier};
use model_wasm::text::{MatmulMode, TextClassifier};
use serde::{Deserialize, Serialize};

use crate::project::{root, shipped_model, step};
use crate::{serve, site_build, test_suite, toolchain};

/// The Chinese-against-English latency pair: 20 words of English and 20 characters of Chinese.
pub const EN_20_WORDS: &str = "The film's sharp writing and warm performances make it one of the most moving and enjoyable dramas of the year.";
pub const ZH_20_CHARACTERS: &str = "酒店位置很好，房间干净，服务非常热情周到";
/// Chinese may take at most this many times as long as English (the pair above).
const LANGUAGE_TARGET: f64 = 1.2;

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
    /// Only the cold first answer on 'auto', with a software WebGPU adapter and with none.
    #[arg(long)]
    pub first_answer_only: bool,
    /// Only the sentiment model's latency on 20 Chinese characters against 20 English words.
    #[arg(long)]
    pub languages_only: bool,
    /// Fresh profiles per adapter case for the cold first answer.
    #[arg(long, default_value_t = 5)]
    pub first_answer_runs: usize,
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

/// One engine variant and model in the browser (`e2e/bench/browser-bench.mjs`).
#[derive(Deserialize, Debug)]
struct Browser {
    /// The backend and threads that answered (a forced WebGPU falls back to wasm without one).
    backend: String,
    threads: Option<usize>,
    /// The WebGPU adapter, for the WebGPU variant.
    adapter: Option<String>,
    /// Time to the first answer from the SDK call, empty cache and then cached.
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
struct Models {
    sentiment: Browser,
    image: Browser,
}

/// The cold first sentiment answer on the default backend ('auto') in fresh profiles.
#[derive(Deserialize, Debug)]
struct FirstAnswer {
    /// From the SDK call, and from the start of navigation.
    median_ms: f64,
    page_median_ms: f64,
    runs: Vec<f64>,
    backend: String,
    adapter: Option<String>,
}

/// [`FirstAnswer`] with no WebGPU adapter in the browser and with a software one.
#[derive(Deserialize, Debug)]
struct FirstAnswers {
    none: FirstAnswer,
    software: FirstAnswer,
}

/// 'auto' must not make the first answer wait for a GPU check: with a software adapter present
/// it may take at most this many times as long as with none.
const FIRST_ANSWER_TARGET: f64 = 1.15;

/// Chinese against English on the sentiment model, in one engine build.
#[derive(Deserialize, Debug)]
struct LanguagePair {
    en_median_ms: f64,
    zh_median_ms: f64,
    en_p90_ms: f64,
    zh_p90_ms: f64,
    runs: usize,
    labels: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize, Debug)]
struct Languages {
    wasm: LanguagePair,
    threads: LanguagePair,
}

/// Every variant the browser bench measures.
#[derive(Deserialize, Debug)]
struct BrowserRun {
    first_answer: FirstAnswers,
    languages: Languages,
    /// The single-thread build (`?threads=0`): what embeds run.
    wasm: Models,
    /// The multi-threaded build, on the cross-origin isolated main site.
    threads: Models,
    /// Forced onto WebGPU (SwiftShader, in software, on machines without a GPU).
    webgpu: Models,
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
    let (name, bytes, sha, spec) = crate::eval_sentiment::shipped_sentiment()?;
    let t = Instant::now();
    // Native's fastest mode (f32 GEMM, AVX2/FMA) is the baseline, not the browser's int8 mode,
    // whose portable code natively is slower: the ratio must not flatter the browser.
    let sentiment =
        TextClassifier::from_model_file_with(&name, &bytes, &sha, &spec, MatmulMode::F32)?;
    let sentiment_load = t.elapsed().as_secs_f64() * 1e3;
    let sentiment_tokens = sentiment.tokenizer().encode(SENTENCE)?.ids.len();
    let (s_med, s_p90) = time_runs(runs, 3, || Ok(sentiment.classify(SENTENCE).map(|_| ())?))?;

    let (name, bytes, sha) = shipped_model("image")?;
    let t = Instant::now();
    let image = ImageClassifier::from_model_bytes_with(&name, &bytes, &sha, MatmulMode::F32)?;
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
    if args.first_answer_only {
        print_first_answers(&browser_part(&args, "first_answer")?);
        return Ok(());
    }
    if args.languages_only {
        print_languages(&browser_part(&args, "languages")?);
        return Ok(());
    }
    step("native benchmark (all cores, then one thread)");
    let all = native_in_child(args.runs, None)?;
    let one = native_in_child(args.runs, Some(1))?;
    let browser: BrowserRun = serde_json::from_slice(&browser_bench(&args, "")?)
        .context("reading the browser bench's JSON")?;
    print_report(&all, &one, &browser);
    Ok(())
}

/// One part of the browser bench, measured alone (`--first-answer-only`, `--languages-only`).
fn browser_part<T: serde::de::DeserializeOwned>(args: &Args, part: &str) -> Result<T> {
    let mut all: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&browser_bench(args, part)?)
            .context("reading the browser bench's JSON")?;
    let value = all
        .remove(part)
        .with_context(|| format!("the browser bench gave no `{part}`"))?;
    Ok(serde_json::from_value(value)?)
}

/// Runs `e2e/bench/browser-bench.mjs` against the built site; its JSON. `only` names one part
/// (`first_answer`, `languages`), or is empty for all of it.
fn browser_bench(args: &Args, only: &str) -> Result<Vec<u8>> {
    let BenchSite {
        chromium,
        port,
        mut server,
    } = serve_for_browser_bench()?;
    step("in-browser benchmark (headless Chromium, wasm SIMD: one thread, then threads)");
    let out = Command::new("node")
        .arg("e2e/bench/browser-bench.mjs")
        .current_dir(root())
        .env("VITRINE_URL", format!("http://127.0.0.1:{port}"))
        .env("CHROMIUM", &chromium)
        .env("VITRINE_BENCH_SENTENCE", SENTENCE)
        .env("VITRINE_BENCH_RUNS", args.runs.to_string())
        .env("VITRINE_BENCH_MEMORY_RUNS", args.memory_runs.to_string())
        .env(
            "VITRINE_BENCH_FIRST_RUNS",
            args.first_answer_runs.to_string(),
        )
        .env("VITRINE_BENCH_EN_20", EN_20_WORDS)
        .env("VITRINE_BENCH_ZH_20", ZH_20_CHARACTERS)
        .env("VITRINE_BENCH_ONLY", only)
        .output()?;
    server.terminate()?;
    anyhow::ensure!(
        out.status.success(),
        "browser bench failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(out.stdout)
}

/// The built site, served quietly on a free port, and a Chromium to drive it: what every
/// in-browser benchmark (`bench`, `bench-ort`) starts from.
pub struct BenchSite {
    pub chromium: std::path::PathBuf,
    pub port: u16,
    pub server: test_suite::ServerGuard,
}

pub fn serve_for_browser_bench() -> Result<BenchSite> {
    site_build::build(false)?;
    serve::build_server()?;
    let chromium = toolchain::ensure_chromium()?;
    toolchain::ensure_node_modules()?;
    let port = test_suite::free_port()?;
    let mut server =
        test_suite::ServerGuard::new(serve::spawn_server(port, &[("RUST_LOG", "warn")])?);
    test_suite::wait_until_healthy(port, server.child())?;
    Ok(BenchSite {
        chromium,
        port,
        server,
    })
}

/// One row of the table: a way of running a model.
struct Row<'a> {
    runtime: String,
    median_ms: f64,
    p90_ms: f64,
    browser: Option<&'a Browser>,
}

fn print_report(all: &Native, one: &Native, browser: &BrowserRun) {
    println!();
    println!(
        "Vitrine benchmark — {} cores; sentiment input: {} tokens; image input: owl.jpg",
        cores(),
        all.sentiment_tokens
    );
    println!();
    println!("| model | runtime | median (p90) per inference | vs native 1 thread | cold first result: SDK call (navigation) | warm, cached: SDK call (navigation) | downloaded | memory after 10 → N inferences (growth) |");
    println!("|---|---|---|---|---|---|---|---|");
    for (model, native_all, native_one, pick) in [
        (
            "sentiment",
            all.sentiment,
            one.sentiment,
            (|m: &Models| &m.sentiment) as fn(&Models) -> &Browser,
        ),
        ("image", all.image, one.image, |m: &Models| &m.image),
    ] {
        let wasm = pick(&browser.wasm);
        let threads = pick(&browser.threads);
        let gpu = pick(&browser.webgpu);
        let gpu_label = if gpu.backend == "webgpu" {
            let adapter = gpu.adapter.as_deref().unwrap_or("unknown adapter");
            let software = if adapter.to_lowercase().contains("swiftshader") {
                "SwiftShader, software"
            } else {
                "hardware"
            };
            format!("WebGPU ({adapter}; {software})")
        } else {
            format!("WebGPU asked, {} answered (no usable adapter)", gpu.backend)
        };
        let rows = [
            Row {
                runtime: format!(
                    "native, {} cores (load {:.0} ms)",
                    cores(),
                    native_all.load_ms
                ),
                median_ms: native_all.median_ms,
                p90_ms: native_all.p90_ms,
                browser: None,
            },
            Row {
                runtime: format!("native, 1 thread (load {:.0} ms)", native_one.load_ms),
                median_ms: native_one.median_ms,
                p90_ms: native_one.p90_ms,
                browser: None,
            },
            Row {
                runtime: "wasm SIMD, 1 thread".to_owned(),
                median_ms: wasm.median_ms,
                p90_ms: wasm.p90_ms,
                browser: Some(wasm),
            },
            Row {
                runtime: format!(
                    "wasm threads ({}) + relaxed SIMD",
                    threads.threads.unwrap_or(1)
                ),
                median_ms: threads.median_ms,
                p90_ms: threads.p90_ms,
                browser: Some(threads),
            },
            Row {
                runtime: gpu_label,
                median_ms: gpu.median_ms,
                p90_ms: gpu.p90_ms,
                browser: Some(gpu),
            },
        ];
        for row in rows {
            let browser_cells = match row.browser {
                Some(b) => format!(
                    "{:.0} ms ({:.0}) | {:.0} ms ({:.0}) | {:.2} MB | {:.1} → {:.1} MB, N = {} ({:+.1}%)",
                    b.cold_ms,
                    b.cold_page_ms,
                    b.warm_ms,
                    b.warm_page_ms,
                    b.downloaded_bytes as f64 / 1e6,
                    b.memory_after_10_bytes / 1e6,
                    b.memory_after_n_bytes / 1e6,
                    b.memory_runs,
                    100.0 * (b.memory_after_n_bytes / b.memory_after_10_bytes - 1.0)
                ),
                None => "— | — | — | —".to_owned(),
            };
            println!(
                "| {model} | {} | {:.1} ms ({:.1}) | {:.2}× | {browser_cells} |",
                row.runtime,
                row.median_ms,
                row.p90_ms,
                row.median_ms / native_one.median_ms,
            );
        }
    }
    print_first_answers(&browser.first_answer);
    print_languages(&browser.languages);
    println!();
    println!("- native: the f32 GEMM path (AVX2/FMA by run-time dispatch); in the browser both models run 8-bit integer products (the shipped default).");
    println!("- cold: empty cache, models downloaded; warm: a reload, models from the Cache API. Downloaded: compressed bytes on the wire for the cold load (page, engine, model).");
    println!("- memory: the engine's wasm memory plus the page's JS heap, each after a garbage collection (GPU buffers are not included). WebGPU on a software adapter takes seconds per inference, hence its smaller N.");
}

fn print_first_answers(first: &FirstAnswers) {
    println!();
    println!(
        "Cold first sentiment answer, backend 'auto', main site, fresh profile ({} runs each):",
        first.none.runs.len()
    );
    println!();
    println!("| WebGPU adapter in the browser | median: SDK call (navigation) | runs | answered by | vs no adapter |");
    println!("|---|---|---|---|---|");
    for (name, f) in [
        ("none".to_owned(), &first.none),
        (
            format!(
                "software ({})",
                first
                    .software
                    .adapter
                    .as_deref()
                    .unwrap_or("unknown adapter")
            ),
            &first.software,
        ),
    ] {
        let runs: Vec<String> = f.runs.iter().map(|ms| format!("{ms:.0}")).collect();
        println!(
            "| {name} | {:.0} ms ({:.0}) | {} | {} | {:.2}× |",
            f.median_ms,
            f.page_median_ms,
            runs.join(", "),
            f.backend,
            f.median_ms / first.none.median_ms
        );
    }
    let ratio = first.software.median_ms / first.none.median_ms;
    println!();
    println!(
        "- target: with a software adapter ≤ {FIRST_ANSWER_TARGET}× the figure with none: {} ({ratio:.2}×)",
        if ratio <= FIRST_ANSWER_TARGET { "met" } else { "NOT met" }
    );
}

fn print_languages(languages: &Languages) {
    println!();
    println!(
        "Sentiment, 20 Chinese characters against 20 English words (interleaved, {} runs each, time inside the worker):",
        languages.wasm.runs
    );
    println!();
    println!(
        "| engine | English: median (p90) | Chinese: median (p90) | Chinese vs English | labels |"
    );
    println!("|---|---|---|---|---|");
    let mut worst: f64 = 0.0;
    for (name, pair) in [
        ("wasm SIMD, 1 thread", &languages.wasm),
        ("wasm threads", &languages.threads),
    ] {
        let ratio = pair.zh_median_ms / pair.en_median_ms;
        worst = worst.max(ratio);
        let labels: Vec<String> = pair
            .labels
            .iter()
            .map(|(l, v)| format!("{l}: {v}"))
            .collect();
        println!(
            "| {name} | {:.1} ms ({:.1}) | {:.1} ms ({:.1}) | {ratio:.2}× | {} |",
            pair.en_median_ms,
            pair.en_p90_ms,
            pair.zh_median_ms,
            pair.zh_p90_ms,
            labels.join(", ")
        );
    }
    println!();
    println!("- English: {EN_20_WORDS:?}");
    println!("- Chinese: {ZH_20_CHARACTERS:?}");
    // A refusal takes no inference, so its time says nothing about reading Chinese.
    let refused = [&languages.wasm, &languages.threads]
        .iter()
        .any(|pair| pair.labels.values().any(|label| label == "unreadable"));
    if refused {
        println!("- target: Chinese ≤ {LANGUAGE_TARGET}× English: NOT measured — the model answered `unreadable` (it does not read one of the two languages), so the times above are of a refusal, not an inference");
    } else {
        println!(
            "- target: Chinese ≤ {LANGUAGE_TARGET}× English: {} ({worst:.2}× at worst)",
            if worst <= LANGUAGE_TARGET {
                "met"
            } else {
                "NOT met"
            }
        );
    }
}

/// Cores this process may use (also printed by `bench-ort`).
pub fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}
