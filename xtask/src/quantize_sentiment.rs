//! `cargo xtask quantize-sentiment`: the trained float weights → the one shipped file,
//! `assets/models/sentiment/sentiment-minilm-l6-sst2-q8.gguf` (its sha256 and size go into the
//! folder's model.toml).
//!
//! Q8_0 (blocks of 32 weights sharing one f16 scale) for every matrix whose rows split into such
//! blocks: the encoder's linear layers and the word/position embedding tables. Biases, LayerNorm
//! parameters, the 2-row token-type table and the tiny 2×384 head stay f32. Q8_0 is what candle's
//! `QMatMul` runs with wasm simd128 kernels in the browser.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
use candle_core::Device;
use model_wasm::text::file::{TASK, TASK_KEY, TOKENIZER_KEY};

use crate::train_sentiment::{base_model_dir, default_out_dir};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Trained weights (safetensors); default: best.safetensors from train-sentiment's output.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Directory the model file is written to (default: its catalogue folder, whose model.toml
    /// records the new sha256 and size).
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The shipped file's name, inside the `sentiment` catalogue folder.
pub const MODEL_FILE: &str = "sentiment-minilm-l6-sst2-q8.gguf";

/// The catalogue folder the shipped sentiment model lives in.
pub fn default_out_dir_for_model() -> PathBuf {
    repo_root().join("assets/models/sentiment")
}

pub fn default_model_path() -> PathBuf {
    default_out_dir_for_model().join(MODEL_FILE)
}

/// Tensors of the checkpoint that inference never reads.
fn unused(name: &str) -> bool {
    name == "embeddings.position_ids" || name.starts_with("pooler.")
}

fn wants_q8(name: &str, dims: &[usize]) -> bool {
    dims.len() == 2
        && dims[1].is_multiple_of(GgmlDType::Q8_0.block_size())
        && dims[0] > 2
        && !name.starts_with("classifier.")
}

pub fn run(args: Args) -> Result<()> {
    let weights = args
        .weights
        .unwrap_or_else(|| default_out_dir().join("best.safetensors"));
    let out_dir = args.out_dir.unwrap_or_else(default_out_dir_for_model);
    let tensors = candle_core::safetensors::load(&weights, &Device::Cpu).with_context(|| {
        format!(
            "reading {} (train first: cargo xtask train-sentiment)",
            weights.display()
        )
    })?;
    if !tensors.contains_key("classifier.weight") {
        bail!(
            "{} has no classifier head: is it a fine-tuned checkpoint?",
            weights.display()
        );
    }

    let mut names: Vec<&String> = tensors.keys().filter(|n| !unused(n)).collect();
    names.sort();
    let mut quantized = Vec::with_capacity(names.len());
    let (mut q8, mut f32s) = (0usize, 0usize);
    for name in names {
        let t = &tensors[name];
        let dtype = if wants_q8(name, t.dims()) {
            GgmlDType::Q8_0
        } else {
            GgmlDType::F32
        };
        match dtype {
            GgmlDType::Q8_0 => q8 += t.elem_count(),
            _ => f32s += t.elem_count(),
        }
        quantized.push((
            name.as_str(),
            QTensor::quantize(&t.to_dtype(candle_core::DType::F32)?, dtype)?,
        ));
    }

    let tokenizer_json = tokenizer_without_padding(&base_model_dir()?.join("tokenizer.json"))?;
    let metadata = [
        (
            "general.architecture",
            gguf_file::Value::String("bert".into()),
        ),
        (
            "general.name",
            gguf_file::Value::String("all-MiniLM-L6-v2 fine-tuned on SST-2, Q8_0".into()),
        ),
        (
            "general.license",
            gguf_file::Value::String("Apache-2.0".into()),
        ),
        // "text-classification": the catalogue entry, not the file, says which labels and shape.
        (TASK_KEY, gguf_file::Value::String(TASK.into())),
        (
            "vitrine.labels",
            gguf_file::Value::String(crate::eval_sentiment::sentiment_spec()?.labels.join(",")),
        ),
        (TOKENIZER_KEY, gguf_file::Value::String(tokenizer_json)),
    ];
    let metadata: Vec<(&str, &gguf_file::Value)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
    let tensor_refs: Vec<(&str, &QTensor)> = quantized.iter().map(|(n, t)| (*n, t)).collect();
    let mut bytes = std::io::Cursor::new(Vec::new());
    gguf_file::write(&mut bytes, &metadata, &tensor_refs)?;
    let bytes = bytes.into_inner();

    std::fs::create_dir_all(&out_dir)?;
    let path = out_dir.join(MODEL_FILE);
    std::fs::write(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
    let digest = model_wasm::checksum::sha256_hex(&bytes);
    crate::catalogue::record_file(&out_dir, MODEL_FILE, &bytes)?;
    println!(
        "weights: {} ({q8} params Q8_0, {f32s} f32)",
        weights.display()
    );
    println!("wrote {} sha256 {digest}", path.display());
    println!(
        "size: {:.2} MB raw, {:.2} MB gzip",
        bytes.len() as f64 / 1e6,
        gzip_len(&bytes)? as f64 / 1e6
    );
    Ok(())
}

/// The package's tokenizer.json pads every input to 128 tokens; the shipped copy does not.
fn tokenizer_without_padding(path: &Path) -> Result<String> {
    let mut json: serde_json::Value = serde_json::from_slice(&std::fs::read(path)?)?;
    json["padding"] = serde_json::Value::Null;
    Ok(serde_json::to_string(&json)?)
}

/// Size after `gzip -9`, what a server sending `Content-Encoding: gzip` puts on the wire.
pub fn gzip_len(bytes: &[u8]) -> Result<usize> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes)?;
    Ok(enc.finish()?.len())
}
