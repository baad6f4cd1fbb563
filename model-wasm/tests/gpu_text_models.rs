//! Text models of other shapes than the shipped one on the GPU against the CPU path: 64-wide
//! attention heads (bert-tiny to BERT base) and `[CLS]` pooling through the pooler
//! (`BertForSequenceClassification`), as the importer writes them. The weights are deterministic
//! pseudo-random values, written into an 8-bit model file the way `import-model` writes one, so
//! both paths load exactly what the browser would; the CPU side runs with f32 activations, as the
//! GPU does.

#![cfg(feature = "gpu")]

mod common;

use std::collections::BTreeMap;

use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use model_wasm::gpu::text::GpuEncoder;
use model_wasm::text::{
    file, BertConfig, MatmulMode, Pooling, TextClassifier, TextModel, TextModelSpec, Weights,
};

use common::gpu::{gpu, relative_l2, values};

/// The synthetic tokenizer's words (ids 4…, after `[PAD]`, `[UNK]`, `[CLS]`, `[SEP]`).
const WORDS: &[&str] = &[
    "a", "good", "bad", "film", "not", "very", "dull", "plot", "great", "boring", "at", "all",
];

/// Texts of different lengths, so the GPU pads them in one batch.
const TEXTS: &[&str] = &[
    "a good film",
    "not a very good film at all",
    "dull",
    "the plot is boring , not great",
    "great great film , a very good plot",
];

fn spec(hidden: usize, heads: usize, pooling: Pooling) -> TextModelSpec {
    TextModelSpec {
        config: BertConfig {
            vocab_size: 4 + WORDS.len(),
            hidden,
            layers: 2,
            heads,
            intermediate: 2 * hidden,
            max_positions: 32,
            layer_norm_eps: 1e-12,
        },
        labels: ["a", "b", "c"].map(String::from).to_vec(),
        multi_label: false,
        max_tokens: 32,
        pooling,
        int8_activations: false,
        languages: vec!["en".into()],
    }
}

/// Every tensor `spec`'s model reads, by name, with deterministic values: the names and shapes
/// are what [`TextModel::load`] asks a `VarMap` for, so the list cannot drift from the model.
fn tensors(spec: &TextModelSpec) -> BTreeMap<String, Tensor> {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    TextModel::load(&Weights::Float(vb), spec).expect("a VarMap builds any shape");
    let shapes: BTreeMap<String, Vec<usize>> = varmap
        .data()
        .lock()
        .expect("unpoisoned")
        .iter()
        .map(|(name, var)| (name.clone(), var.dims().to_vec()))
        .collect();
    shapes
        .into_iter()
        .zip(1..)
        .map(|((name, dims), seed)| {
            let n: usize = dims.iter().product();
            // Scales that keep every layer's activations of order one: matrices ±√(3 / fan-in)
            // (unit variance out), norms' scales near 1, small shifts.
            let data: Vec<f32> = if name.ends_with("LayerNorm.weight") {
                values(n, seed, 0.2).into_iter().map(|v| 1.0 + v).collect()
            } else if name.ends_with("bias") {
                values(n, seed, 0.1)
            } else if name.contains("embeddings") {
                values(n, seed, 1.0)
            } else {
                values(n, seed, (3.0 / dims[1] as f32).sqrt())
            };
            let tensor = Tensor::from_vec(data, dims, &Device::Cpu).expect("shape");
            (name, tensor)
        })
        .collect()
}

/// As `import-model` stores them (`wants_q8` in xtask's import_text): matrices whose rows split
/// into 32-wide blocks are Q8_0, except the head, the pooler and the position table.
fn stored_8_bit(name: &str, dims: &[usize]) -> bool {
    dims.len() == 2
        && dims[1].is_multiple_of(32)
        && dims[0] > 2
        && !name.starts_with("classifier.")
        && !name.starts_with("pooler.")
        && name != "embeddings.position_embeddings.weight"
}

/// WordPiece over [`WORDS`], `[CLS]` … `[SEP]` around every text.
fn tokenizer_json() -> String {
    let vocab: serde_json::Map<String, serde_json::Value> = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
        .iter()
        .chain(WORDS)
        .zip(0u32..)
        .map(|(token, id)| ((*token).to_owned(), id.into()))
        .collect();
    serde_json::json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": [],
        "normalizer": {
            "type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
            "strip_accents": null, "lowercase": true
        },
        "pre_tokenizer": { "type": "BertPreTokenizer" },
        "post_processor": { "type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2] },
        "decoder": null,
        "model": {
            "type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
            "max_input_chars_per_word": 100, "vocab": vocab
        }
    })
    .to_string()
}

/// The 8-bit model file (GGUF) of `spec` with [`tensors`]' weights.
fn model_file(spec: &TextModelSpec) -> Vec<u8> {
    let stored: Vec<(String, QTensor)> = tensors(spec)
        .into_iter()
        .map(|(name, tensor)| {
            let dtype = if stored_8_bit(&name, tensor.dims()) {
                GgmlDType::Q8_0
            } else {
                GgmlDType::F32
            };
            let q = QTensor::quantize(&tensor, dtype).expect("quantizes");
            (name, q)
        })
        .collect();
    let metadata = [
        (file::TASK_KEY, gguf_file::Value::String(file::TASK.into())),
        (
            file::TOKENIZER_KEY,
            gguf_file::Value::String(tokenizer_json()),
        ),
    ];
    let metadata: Vec<(&str, &gguf_file::Value)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
    let tensors: Vec<(&str, &QTensor)> = stored.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let mut bytes = std::io::Cursor::new(Vec::new());
    gguf_file::write(&mut bytes, &metadata, &tensors).expect("writes");
    bytes.into_inner()
}

/// The model `spec` describes on the GPU against the CPU path: sentence vectors and, through the
/// one shared head, logits within 1e-3 (relative L2), the same label for every text, and an
/// explanation (every variant encoded on the GPU) with the CPU's target and contributions.
fn gpu_matches_cpu(what: &str, spec: &TextModelSpec) {
    let Some(gpu) = gpu() else { return };
    let bytes = model_file(spec);
    let name = "synthetic.gguf";
    let cpu =
        TextClassifier::from_verified_model_file(name, &bytes, spec, MatmulMode::F32).unwrap();
    let parsed = file::parse(name, &bytes, &Device::Cpu, MatmulMode::F32).unwrap();
    let on_gpu = GpuEncoder::load(&gpu, &Weights::Quantized(parsed.weights), spec).unwrap();

    let seqs: Vec<Vec<u32>> = TEXTS
        .iter()
        .map(|t| cpu.tokenizer().encode(t).unwrap().ids)
        .collect();
    let reference = cpu.pooled(&seqs).unwrap();
    let ours = pollster::block_on(on_gpu.pooled(&gpu, &seqs)).unwrap();
    let vector_err = relative_l2(&ours, &reference);
    let [logits_gpu, logits_cpu] =
        [ours, reference].map(|pooled| cpu.logits_from_pooled(pooled).unwrap());
    let logit_err = relative_l2(&logits_gpu.concat(), &logits_cpu.concat());
    let argmax = |rows: &[Vec<f32>]| -> Vec<usize> {
        rows.iter()
            .map(|r| (0..r.len()).max_by(|&a, &b| r[a].total_cmp(&r[b])).unwrap())
            .collect()
    };
    let labels = argmax(&logits_cpu);
    eprintln!(
        "{what}: sentence vectors, GPU vs CPU: relative L2 {vector_err:.2e}; logits \
         {logit_err:.2e}; labels {labels:?}"
    );
    assert!(
        vector_err <= 1e-3,
        "{what}: sentence vectors differ by {vector_err}"
    );
    assert!(logit_err <= 1e-3, "{what}: logits differ by {logit_err}");
    assert_eq!(argmax(&logits_gpu), labels, "{what}: labels");
    // The CPU's own classify goes the same way (its batching is its own).
    for (text, &label) in TEXTS.iter().zip(&labels) {
        assert_eq!(
            cpu.classify(text).unwrap().label,
            spec.labels[label],
            "{text}"
        );
    }

    let text = TEXTS[1];
    let expected = cpu.explain(text).unwrap();
    let plan = cpu.plan_explanation(text).unwrap();
    let pooled = pollster::block_on(on_gpu.pooled(&gpu, &plan.variants)).unwrap();
    let explained = cpu.explain_from_pooled(plan, pooled).unwrap();
    assert_eq!(
        explained.target, expected.target,
        "{what}: explanation target"
    );
    assert_eq!(explained.words.len(), expected.words.len(), "{what}: words");
    let worst = explained
        .words
        .iter()
        .zip(&expected.words)
        .map(|(g, c)| (g.contribution - c.contribution).abs())
        .fold(0f32, f32::max);
    eprintln!("{what}: largest contribution difference, GPU vs CPU: {worst:.2e} (log-odds)");
    assert!(worst <= 1e-3, "{what}: contributions differ by {worst}");
}

#[test]
fn an_encoder_with_64_wide_heads_matches_the_cpu_path() {
    gpu_matches_cpu("2 heads × 64, mean", &spec(128, 2, Pooling::Mean));
}

#[test]
fn cls_pooling_matches_the_cpu_path() {
    // BertForSequenceClassification as imported: 64-wide heads, [CLS] through the pooler.
    gpu_matches_cpu("2 heads × 64, [CLS]", &spec(128, 2, Pooling::ClsPooler));
}

#[test]
fn cls_pooling_with_32_wide_heads_matches_the_cpu_path() {
    gpu_matches_cpu("4 heads × 32, [CLS]", &spec(128, 4, Pooling::ClsPooler));
}

#[test]
fn an_encoder_with_one_head_as_wide_as_the_kernel_takes_matches_the_cpu_path() {
    gpu_matches_cpu("1 head × 128, mean", &spec(128, 1, Pooling::Mean));
}
