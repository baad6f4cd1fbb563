//! The inference API: `classify` and `explain`, on the quantized file (browser, eval) or on float
//! weights (tests comparing the two).

use candle_core::{Device, Tensor};
use candle_nn::ops::softmax_last_dim;
use serde::Serialize;

use super::bert::BertConfig;
use super::file;
use super::model::{Batch, SentimentModel};
use super::tokenizer::{SentimentTokenizer, Tokens};
use super::weights::{MatmulMode, Weights};
use crate::{checksum, ModelError};

/// Sequences per forward pass in batch work (evaluation, explanations): large enough to amortise
/// per-op overhead, small enough to keep wasm memory modest.
const BATCH: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    Negative,
    Positive,
}

#[derive(Debug, Clone, Serialize)]
pub struct Prediction {
    pub label: Label,
    /// Probability of `label` (0.5–1).
    pub score: f32,
    /// Probability of the positive class.
    pub positive: f32,
    /// The text was longer than the model's 128 tokens and only its start was read.
    pub truncated: bool,
}

impl Prediction {
    fn from_positive(positive: f32, truncated: bool) -> Self {
        let label = if positive >= 0.5 {
            Label::Positive
        } else {
            Label::Negative
        };
        let score = if label == Label::Positive {
            positive
        } else {
            1.0 - positive
        };
        Self {
            label,
            score,
            positive,
            truncated,
        }
    }
}

/// How much one word moved the answer.
#[derive(Debug, Clone, Serialize)]
pub struct WordContribution {
    pub word: String,
    /// Byte range of the word in the input text.
    pub start: usize,
    pub end: usize,
    /// Change in the positive probability the word causes: `p(full) − p(without the word)`.
    /// Positive values pushed towards positive, negative towards negative.
    pub contribution: f32,
}

#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    pub prediction: Prediction,
    pub words: Vec<WordContribution>,
}

pub struct SentimentClassifier {
    model: SentimentModel,
    tokenizer: SentimentTokenizer,
    device: Device,
}

impl SentimentClassifier {
    /// Loads the shipped model file after checking its sha256 (a damaged download fails here with
    /// [`ModelError::ChecksumMismatch`] rather than giving wrong answers).
    pub fn from_model_file(
        name: &str,
        bytes: &[u8],
        expected_sha256: &str,
    ) -> Result<Self, ModelError> {
        Self::from_model_file_with(name, bytes, expected_sha256, MatmulMode::default())
    }

    /// [`Self::from_model_file`] with a choice of speed versus memory.
    pub fn from_model_file_with(
        name: &str,
        bytes: &[u8],
        expected_sha256: &str,
        mode: MatmulMode,
    ) -> Result<Self, ModelError> {
        checksum::verify(name, bytes, expected_sha256)?;
        let device = Device::Cpu;
        let parsed = file::parse(name, bytes, &device, mode)?;
        let model =
            SentimentModel::load(&Weights::Quantized(parsed.weights), &BertConfig::MINILM_L6)
                .map_err(|e| ModelError::InvalidModel {
                    name: name.to_owned(),
                    reason: e.to_string(),
                })?;
        let tokenizer = SentimentTokenizer::from_bytes(parsed.tokenizer_json.as_bytes())?;
        Ok(Self {
            model,
            tokenizer,
            device,
        })
    }

    /// Any model and tokenizer, e.g. float weights for comparisons with the quantized file.
    pub fn new(model: SentimentModel, tokenizer: SentimentTokenizer) -> Self {
        Self {
            model,
            tokenizer,
            device: Device::Cpu,
        }
    }

    pub fn tokenizer(&self) -> &SentimentTokenizer {
        &self.tokenizer
    }

    pub fn classify(&self, text: &str) -> Result<Prediction, ModelError> {
        let tokens = self.tokenizer.encode(text)?;
        let positive = self.positive_probs(&[tokens.ids.as_slice()])?;
        Ok(Prediction::from_positive(positive[0], tokens.truncated))
    }

    /// Classifies many texts, batching similar lengths together. Fails on the first text with no
    /// words.
    pub fn classify_batch<S: AsRef<str>>(
        &self,
        texts: &[S],
    ) -> Result<Vec<Prediction>, ModelError> {
        let tokens = texts
            .iter()
            .map(|t| self.tokenizer.encode(t.as_ref()))
            .collect::<Result<Vec<Tokens>, _>>()?;
        let mut order: Vec<usize> = (0..tokens.len()).collect();
        order.sort_by_key(|&i| tokens[i].ids.len());
        let mut positive = vec![0f32; tokens.len()];
        for chunk in order.chunks(BATCH) {
            let seqs: Vec<&[u32]> = chunk.iter().map(|&i| tokens[i].ids.as_slice()).collect();
            for (&i, p) in chunk.iter().zip(self.positive_probs(&seqs)?) {
                positive[i] = p;
            }
        }
        Ok(tokens
            .iter()
            .zip(positive)
            .map(|(t, p)| Prediction::from_positive(p, t.truncated))
            .collect())
    }

    /// Per-word contributions by occlusion: each word is removed in turn and the change in the
    /// positive probability is that word's contribution. All variants run in batches.
    pub fn explain(&self, text: &str) -> Result<Explanation, ModelError> {
        let tokens = self.tokenizer.encode(text)?;
        let full = self.positive_probs(&[tokens.ids.as_slice()])?[0];
        let variants: Vec<Vec<u32>> = tokens
            .words
            .iter()
            .map(|w| {
                let mut ids = tokens.ids[..w.tokens.start].to_vec();
                ids.extend_from_slice(&tokens.ids[w.tokens.end..]);
                ids
            })
            .collect();
        let mut without = Vec::with_capacity(variants.len());
        for chunk in variants.chunks(BATCH) {
            without.extend(self.positive_probs(chunk)?);
        }
        let words = tokens
            .words
            .iter()
            .zip(without)
            .map(|(w, p)| WordContribution {
                word: text.get(w.start..w.end).unwrap_or_default().to_owned(),
                start: w.start,
                end: w.end,
                contribution: full - p,
            })
            .collect();
        Ok(Explanation {
            prediction: Prediction::from_positive(full, tokens.truncated),
            words,
        })
    }

    /// Positive-class probability for each sequence of token ids.
    fn positive_probs<S: AsRef<[u32]>>(&self, seqs: &[S]) -> Result<Vec<f32>, ModelError> {
        let batch = Batch::new(seqs, &self.device)?;
        let probs: Tensor = softmax_last_dim(&self.model.forward(&batch)?)?;
        Ok(probs.narrow(1, 1, 1)?.squeeze(1)?.to_vec1::<f32>()?)
    }
}
