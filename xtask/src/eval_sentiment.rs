//! `cargo xtask eval-sentiment --tsv FILE`: accuracy and F1 of the shipped 8-bit model, through
//! model-wasm's `TextClassifier` (the code the browser runs, built natively), built from the
//! sentiment folder's model.toml.
//! The last line printed is exactly `accuracy=0.XXXX f1=0.XXXX n=N`.
//!
//! `--split val` evaluates the validation split train-sentiment held out; `--float WEIGHTS` also
//! runs the float model and reports how often the two agree on the label.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use model_wasm::text::{
    MatmulMode, TextClassifier, TextModel, TextModelSpec, TextPrediction, TextTokenizer, Weights,
};

use crate::project::read_sha256;
use crate::quantize_sentiment::default_model_path;
use crate::train_sentiment::{base_model_dir, data, default_out_dir};

/// The catalogue folder the sentiment commands (train, quantize, eval, bench) work on.
pub const MODEL_ID: &str = "sentiment";
/// The label whose F1 is reported, and that a TSV's `1` means.
const POSITIVE: &str = "positive";

/// The sentiment model as its catalogue entry describes it (shape, labels, max tokens).
pub fn sentiment_spec() -> Result<TextModelSpec> {
    let model = crate::catalogue::model(MODEL_ID)?;
    TextModelSpec::from_manifest(&model.manifest)
        .with_context(|| model.manifest_path().display().to_string())
}

/// The shipped sentiment model: its file name, bytes, recorded sha256 and spec.
pub fn shipped_sentiment() -> Result<(String, Vec<u8>, String, TextModelSpec)> {
    let (name, bytes, sha256) = crate::project::shipped_model(MODEL_ID)?;
    Ok((name, bytes, sha256, sentiment_spec()?))
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// TSV with a header and `sentence<TAB>label(0|1)` rows.
    #[arg(long, conflicts_with = "split")]
    pub tsv: Option<PathBuf>,
    /// `val`: the held-out split written by train-sentiment.
    #[arg(long)]
    pub split: Option<String>,
    /// Model file (its digest is read from `<model>.sha256`).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Float weights (safetensors) to compare labels with.
    #[arg(long)]
    pub float: Option<PathBuf>,
    /// Expand the 8-bit matrices to f32 and use f32 GEMMs (native's fastest mode) instead of
    /// the browser's 8-bit integer products.
    #[arg(long)]
    pub f32_matmul: bool,
    /// Record accuracy, F1 and size of this evaluation in the `[metrics]` of assets/models/sentiment/model.toml, from
    /// where the build writes them into the landing page's model card.
    #[arg(long)]
    pub record: bool,
    /// Write `sentence<TAB>label` rows the float model predicts (for a committed agreement sample).
    #[arg(long, requires = "float")]
    pub write_float_labels: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    let tsv = match (&args.tsv, args.split.as_deref()) {
        (Some(path), _) => path.clone(),
        (None, Some("val")) => default_out_dir().join("val.tsv"),
        (None, Some(other)) => bail!("unknown split {other:?} (only `val`)"),
        (None, None) => bail!("give --tsv FILE or --split val"),
    };
    let rows = data::read_tsv(&tsv)?;
    if rows.is_empty() {
        bail!("{} has no rows", tsv.display());
    }
    let texts: Vec<&str> = rows.iter().map(|r| r.text.as_str()).collect();
    let gold: Vec<u32> = rows.iter().map(|r| r.label).collect();

    let model_path = args.model.unwrap_or_else(default_model_path);
    let bytes = std::fs::read(&model_path).with_context(|| {
        format!(
            "reading {} (run cargo xtask quantize-sentiment)",
            model_path.display()
        )
    })?;
    let name = model_path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("model");
    let mode = if args.f32_matmul {
        MatmulMode::F32
    } else {
        MatmulMode::Int8
    };
    let spec = sentiment_spec()?;
    // The TSV's labels are indices into the model's label order.
    let positive = spec
        .labels
        .iter()
        .position(|l| l == POSITIVE)
        .with_context(|| format!("the {MODEL_ID} model has no `{POSITIVE}` label"))?;
    let classifier = TextClassifier::from_model_file_with(
        name,
        &bytes,
        &read_sha256(&model_path)?,
        &spec,
        mode,
    )?;
    eprintln!("{}: {mode:?} matmuls", model_path.display());
    let started = std::time::Instant::now();
    let predicted = classifier.classify_batch(&texts)?;
    eprintln!(
        "{} sentences in {:.1} s",
        texts.len(),
        started.elapsed().as_secs_f64()
    );

    if let Some(weights) = &args.float {
        let float = float_classifier(weights, &spec)?;
        let float_pred = float.classify_batch(&texts)?;
        let agree = predicted
            .iter()
            .zip(&float_pred)
            .filter(|(a, b)| a.label == b.label)
            .count();
        let (acc, f1) = scores(&float_pred, &gold, &spec.labels, positive);
        println!("float: accuracy={acc:.4} f1={f1:.4}");
        println!(
            "agreement(8-bit, float)={:.4} ({agree}/{})",
            agree as f64 / texts.len() as f64,
            texts.len()
        );
        if let Some(out) = &args.write_float_labels {
            let labelled: Vec<data::Example> = texts
                .iter()
                .zip(&float_pred)
                .map(|(t, p)| data::Example {
                    text: (*t).to_owned(),
                    label: label_index(&spec.labels, p),
                })
                .collect();
            data::write_tsv(out, &labelled)?;
        }
    }
    report_latency(&classifier)?;
    let (acc, f1) = scores(&predicted, &gold, &spec.labels, positive);
    if args.record {
        let data = match args.split.as_deref() {
            Some("val") => "our held-out SST-2 validation split".to_owned(),
            _ => tsv
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        };
        let mut values = toml::Table::new();
        values.insert("model".into(), name.into());
        values.insert("data".into(), data.into());
        values.insert("n".into(), i64::try_from(texts.len())?.into());
        values.insert("accuracy".into(), round4(acc).into());
        values.insert("f1".into(), round4(f1).into());
        crate::catalogue::record_metrics(MODEL_ID, &values)?;
    }
    println!("accuracy={acc:.4} f1={f1:.4} n={}", texts.len());
    Ok(())
}

fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

/// The unquantized fine-tuned model behind the same API.
pub fn float_classifier(weights: &PathBuf, spec: &TextModelSpec) -> Result<TextClassifier> {
    let device = Device::Cpu;
    let vb = VarBuilder::from_buffered_safetensors(std::fs::read(weights)?, DType::F32, &device)?;
    let model = TextModel::load(&Weights::Float(vb), spec)?;
    let tokenizer = TextTokenizer::from_bytes(
        &std::fs::read(base_model_dir()?.join("tokenizer.json"))?,
        spec.max_tokens,
    )?;
    Ok(TextClassifier::new(model, tokenizer, spec.clone())?)
}

/// A prediction's label as its index in the model's label order (what a TSV row holds).
fn label_index(labels: &[String], p: &TextPrediction) -> u32 {
    let index = labels
        .iter()
        .position(|l| *l == p.label)
        .unwrap_or_default();
    u32::try_from(index).unwrap_or_default()
}

/// Median single-sentence latency, the case the demo page cares about (one visitor, one sentence).
fn report_latency(classifier: &TextClassifier) -> Result<()> {
    let text = "the performances are strong, but the script never quite finds its footing";
    let tokens = classifier.tokenizer().encode(text)?.ids.len();
    let mut ms: Vec<f64> = (0..21)
        .map(|_| {
            let t = std::time::Instant::now();
            classifier
                .classify(text)
                .map(|_| t.elapsed().as_secs_f64() * 1000.0)
        })
        .collect::<Result<_, _>>()?;
    ms.sort_by(f64::total_cmp);
    println!(
        "native latency: {:.1} ms median for one {tokens}-token sentence",
        ms[ms.len() / 2]
    );
    Ok(())
}

/// Accuracy, and F1 of the class at index `positive` (gold labels are label indices).
fn scores(
    predicted: &[TextPrediction],
    gold: &[u32],
    labels: &[String],
    positive: usize,
) -> (f64, f64) {
    let positive = u32::try_from(positive).unwrap_or(u32::MAX);
    let (mut tp, mut fp, mut fn_, mut correct) = (0usize, 0usize, 0usize, 0usize);
    for (p, &g) in predicted.iter().zip(gold) {
        let label = label_index(labels, p);
        match (label == positive, g == positive) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, true) => fn_ += 1,
            (false, false) => {}
        }
        correct += usize::from(label == g);
    }
    let f1 = if tp == 0 {
        0.0
    } else {
        2.0 * tp as f64 / (2 * tp + fp + fn_) as f64
    };
    (correct as f64 / gold.len().max(1) as f64, f1)
}
