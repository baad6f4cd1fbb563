//! A tiny random BERT classifier and WordPiece tokenizer for unit tests: any number of labels,
//! no files needed, seconds to build.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};

use super::bert::BertConfig;
use super::model::TextModel;
use super::spec::{TextModelSpec, DEFAULT_LAYER_NORM_EPS};
use super::tokenizer::TextTokenizer;
use super::weights::Weights;

pub const WORDS: &[&str] = &["a", "good", "bad", "film", "not", "very", "dull"];

pub fn spec(labels: &[&str], multi_label: bool) -> TextModelSpec {
    TextModelSpec {
        config: BertConfig {
            vocab_size: 4 + WORDS.len(),
            hidden: 8,
            layers: 2,
            heads: 2,
            intermediate: 16,
            max_positions: 32,
            layer_norm_eps: DEFAULT_LAYER_NORM_EPS,
        },
        labels: labels.iter().map(|l| (*l).to_owned()).collect(),
        multi_label,
        max_tokens: 16,
        pooling: super::spec::Pooling::Mean,
        int8_activations: true,
        languages: vec!["en".into()],
    }
}

/// Random weights (seeded by candle's CPU generator, so not reproducible: the tests check
/// properties that hold for any weights) for `spec`, with a head of `head_rows` rows.
pub fn weights(spec: &TextModelSpec, head_rows: usize) -> HashMap<String, Tensor> {
    let varmap = VarMap::new();
    let mut shaped = spec.clone();
    shaped.labels = (0..head_rows).map(|i| format!("l{i}")).collect();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    TextModel::load(&Weights::Float(vb), &shaped).expect("a VarMap builds any shape");
    let vars = varmap.data().lock().expect("unpoisoned");
    vars.iter()
        .map(|(name, var)| {
            let random = Tensor::randn(0f32, 0.5, var.shape(), &Device::Cpu).expect("randn");
            (name.clone(), random)
        })
        .collect()
}

pub fn model(spec: &TextModelSpec, tensors: &HashMap<String, Tensor>) -> TextModel {
    let vb = VarBuilder::from_tensors(tensors.clone(), DType::F32, &Device::Cpu);
    TextModel::load(&Weights::Float(vb), spec).expect("tiny model loads")
}

/// WordPiece over [`WORDS`] (ids 4…), with `[CLS]` = 2 and `[SEP]` = 3 around every text.
pub fn tokenizer(max_tokens: usize) -> TextTokenizer {
    let mut vocab = serde_json::Map::new();
    for (id, token) in ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
        .iter()
        .chain(WORDS)
        .enumerate()
    {
        vocab.insert((*token).to_owned(), id.into());
    }
    let json = serde_json::json!({
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
    });
    TextTokenizer::from_bytes(json.to_string().as_bytes(), max_tokens).expect("tiny tokenizer")
}
