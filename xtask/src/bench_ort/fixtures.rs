//! What the ONNX side needs from ours, written by our own code so both runtimes see the same
//! weights and the same input: the shipped weights expanded to f32 (safetensors, names as in our
//! model code), the sentence's token ids from our tokenizer, owl.jpg through our preprocessing,
//! and our native answers to cross-check ONNX Runtime against.

use std::collections::HashMap;
use std::io::Cursor;
use std::path::Path;

use anyhow::{Context, Result};
use candle_core::quantized::gguf_file;
use candle_core::{Device, Tensor};
use model_wasm::image::{decode::decode, preprocess, weights as image_weights, ImageClassifier};
use model_wasm::int8_matmul::MatmulMode;
use model_wasm::text::TextClassifier;
use serde::Serialize;

use crate::bench::SENTENCE;
use crate::project::{root, shipped_model};

pub const SENTIMENT_WEIGHTS: &str = "sentiment-f32.safetensors";
pub const IMAGE_WEIGHTS: &str = "image-f32.safetensors";
/// owl.jpg after our resize/crop/normalise: `[1, 3, 224, 224]` f32, little-endian, raw.
pub const IMAGE_INPUT: &str = "owl-input.f32";
pub const INPUTS: &str = "inputs.json";

/// The inputs and our native answers, read by the export script and the browser page.
#[derive(Serialize)]
pub struct Inputs {
    pub sentence: String,
    pub token_ids: Vec<u32>,
    /// Probability of "positive" from our native run of the shipped file.
    pub native_positive: f32,
    pub native_image_logits: Vec<f32>,
    pub native_image_top: usize,
    pub labels: Vec<String>,
}

/// Writes every fixture into `dir` and returns the inputs (also written as JSON).
pub fn write(dir: &Path) -> Result<Inputs> {
    std::fs::create_dir_all(dir)?;
    let (name, bytes, sha, spec) = crate::eval_sentiment::shipped_sentiment()?;
    save(&dequantized_gguf(&bytes)?, &dir.join(SENTIMENT_WEIGHTS))?;
    let sentiment = TextClassifier::from_model_file(&name, &bytes, &sha, &spec)?;
    let token_ids = sentiment.tokenizer().encode(SENTENCE)?.ids;
    let native_positive = sentiment
        .classify(SENTENCE)?
        .scores
        .iter()
        .find(|s| s.label == "positive")
        .map(|s| s.score)
        .context("the sentiment model has no `positive` label")?;

    let (name, bytes, sha) = shipped_model("image")?;
    // f32 products: the ONNX graph is f32 on the dequantised weights, and its answer is checked
    // against this one.
    let image = ImageClassifier::from_model_bytes_with(&name, &bytes, &sha, MatmulMode::F32)?;
    // The same dequantisation the classifier does at load, so ONNX gets the weights we run.
    let (layers, _) = image_weights::decode(&name, &bytes)?;
    save(
        &image_weights::to_tensors(&layers, image.spec())?,
        &dir.join(IMAGE_WEIGHTS),
    )?;
    let photo = decode(&std::fs::read(root().join("assets/samples/owl.jpg"))?)?;
    let pixels = photo.pixels()?;
    let input = preprocess::preprocess(&pixels, &image.spec().preprocessing);
    let raw: Vec<u8> = input.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(dir.join(IMAGE_INPUT), raw)?;
    let native_image_logits = image.logits(&pixels)?;
    let native_image_top = image.top_k(&native_image_logits, 1)[0].index as usize;

    let inputs = Inputs {
        sentence: SENTENCE.to_owned(),
        token_ids,
        native_positive,
        native_image_logits,
        native_image_top,
        labels: image.labels().to_vec(),
    };
    std::fs::write(dir.join(INPUTS), serde_json::to_vec(&inputs)?)?;
    Ok(inputs)
}

/// Every tensor of the GGUF file as f32 (Q8_0 matrices expanded exactly as at our load).
fn dequantized_gguf(bytes: &[u8]) -> Result<HashMap<String, Tensor>> {
    let mut reader = Cursor::new(bytes);
    let content = gguf_file::Content::read(&mut reader).context("reading the GGUF header")?;
    let mut out = HashMap::new();
    for name in content.tensor_infos.keys() {
        let q = content.tensor(&mut reader, name, &Device::Cpu)?;
        out.insert(name.clone(), q.dequantize(&Device::Cpu)?);
    }
    Ok(out)
}

fn save(tensors: &HashMap<String, Tensor>, path: &Path) -> Result<()> {
    candle_core::safetensors::save(tensors, path)
        .with_context(|| format!("writing {}", path.display()))
}
