//! The inference API: `classify` and `explain`, on the quantized file (browser, eval) or on float
//! weights (tests comparing the two).

use candle_core::{Device, Tensor};
use candle_nn::ops::softmax_last_dim;
use serde::Serialize;

use super::bert::BertConfig;
use super::file;
use super::model::{Batch, TextModel};
use super::tokenizer::{TextTokenizer, Tokens};
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

pub struct TextClassifier {
    model: TextModel,
    tokenizer: TextTokenizer,
    device: Device,
}

impl TextClassifier {
    /// Loads the shipped model file after checking its sha256 (a damaged download fails here with
    /// [`ModelError::ChecksumMismatch`] rather than giving wrong answers). This is where native
    /// code (eval, bench, tests) verifies; in the browser the worker verifies instead (see
    /// [`Self::from_verified_model_file`]).
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
        Self::from_verified_model_file(name, bytes, mode)
    }

    /// Loads a model file whose sha256 the caller has already checked. Only the browser worker
    /// uses this: `public/sdk/worker.js` (`verify`) hashes every copy with the platform's native
    /// SHA-256 (`crypto.subtle`, tens of milliseconds) before handing it over, because sha2
    /// compiled to wasm takes over a second on 24 MB the first time it runs (V8 runs a single long
    /// call in its baseline compiler). Everything else goes through [`Self::from_model_file`].
    pub fn from_verified_model_file(
        name: &str,
        bytes: &[u8],
        mode: MatmulMode,
    ) -> Result<Self, ModelError> {
        let device = Device::Cpu;
        let parsed = file::parse(name, bytes, &device, mode)?;
        let model = TextModel::load(&Weights::Quantized(parsed.weights), &BertConfig::MINILM_L6)
            .map_err(|e| ModelError::InvalidModel {
                name: name.to_owned(),
                reason: e.to_string(),
            })?;
        let tokenizer = TextTokenizer::from_bytes(parsed.tokenizer_json.as_bytes())?;
        Ok(Self {
            model,
            tokenizer,
            device,
        })
    }

    /// Any model and tokenizer, e.g. float weights for comparisons with the quantized file.
    pub fn new(model: TextModel, tokenizer: TextTokenizer) -> Self {
        Self {
            model,
            tokenizer,
            device: Device::Cpu,
        }
    }

    pub fn tokenizer(&self) -> &TextTokenizer {
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

    /// Per-word contributions, in positive log-odds (above zero pushes towards positive).
    ///
    /// Each word is scored twice and the two averaged: how much the answer moves when the word
    /// is *left out* of the text, and how far the word *on its own* moves an empty text. This is
    /// the two-sample form of the Shapley value (the word joining last, and joining first). Left-
    /// out alone fails on redundant texts: in "a dull, lifeless and boring film" any one negative
    /// word can go and the rest still carry the answer, so "boring" came out slightly positive;
    /// on-its-own alone misses context ("not" in "not good"). Together they get both. Log-odds
    /// rather than probability because confident answers saturate the probability (there, 99.8%
    /// negative whichever word is dropped). Costs 2 × words + 2 short sequences, run in batches.
    pub fn explain(&self, text: &str) -> Result<Explanation, ModelError> {
        let plan = self.plan_explanation(text)?;
        let odds = self.log_odds_batched(&plan.variants)?;
        Ok(plan.finish(&odds))
    }

    /// The first half of [`Self::explain`]: the text's tokens and the variants to score (the
    /// text, the empty text, and per word the text without it and the word alone). The GPU path
    /// scores them in one submission and finishes with [`ExplanationPlan::finish`] as well.
    pub fn plan_explanation(&self, text: &str) -> Result<ExplanationPlan, ModelError> {
        let tokens = self.tokenizer.encode(text)?;
        let ids = &tokens.ids;
        // `ids` is [CLS] … [SEP]; every variant keeps both.
        let (cls, sep) = (ids[0], ids[ids.len() - 1]);
        let mut variants: Vec<Vec<u32>> = vec![ids.clone(), vec![cls, sep]];
        for w in &tokens.words {
            let mut without = ids[..w.tokens.start].to_vec();
            without.extend_from_slice(&ids[w.tokens.end..]);
            variants.push(without);
            let mut alone = vec![cls];
            alone.extend_from_slice(&ids[w.tokens.clone()]);
            alone.push(sep);
            variants.push(alone);
        }
        Ok(ExplanationPlan {
            text: text.to_owned(),
            tokens,
            variants,
        })
    }

    /// [`Self::positive_log_odds`] for any number of sequences, in batches of similar lengths
    /// (padding a 4-token sequence to 128 would waste most of the work).
    fn log_odds_batched(&self, seqs: &[Vec<u32>]) -> Result<Vec<f32>, ModelError> {
        let mut order: Vec<usize> = (0..seqs.len()).collect();
        order.sort_by_key(|&i| seqs[i].len());
        let mut odds = vec![0f32; seqs.len()];
        for chunk in order.chunks(BATCH) {
            let batch: Vec<&[u32]> = chunk.iter().map(|&i| seqs[i].as_slice()).collect();
            for (&i, o) in chunk.iter().zip(self.positive_log_odds(&batch)?) {
                odds[i] = o;
            }
        }
        Ok(odds)
    }

    /// Positive-minus-negative logit for each sequence of token ids.
    fn positive_log_odds<S: AsRef<[u32]>>(&self, seqs: &[S]) -> Result<Vec<f32>, ModelError> {
        let batch = Batch::new(seqs, &self.device)?;
        let logits = self.model.forward(&batch)?;
        let odds = (logits.narrow(1, 1, 1)? - logits.narrow(1, 0, 1)?)?;
        Ok(odds.squeeze(1)?.to_vec1::<f32>()?)
    }

    /// Positive-class probability for each sequence of token ids.
    fn positive_probs<S: AsRef<[u32]>>(&self, seqs: &[S]) -> Result<Vec<f32>, ModelError> {
        let batch = Batch::new(seqs, &self.device)?;
        let probs: Tensor = softmax_last_dim(&self.model.forward(&batch)?)?;
        Ok(probs.narrow(1, 1, 1)?.squeeze(1)?.to_vec1::<f32>()?)
    }
}

#[cfg(feature = "gpu")]
impl TextClassifier {
    /// The prediction for `tokens` from its sentence vector computed elsewhere (the GPU encoder,
    /// [`crate::gpu::text::GpuEncoder::pooled`]): the same head and softmax as [`Self::classify`].
    pub fn predict_from_pooled(
        &self,
        tokens: &Tokens,
        pooled: Vec<f32>,
    ) -> Result<Prediction, ModelError> {
        let hidden = pooled.len();
        let pooled = Tensor::from_vec(pooled, (1, hidden), &self.device)?;
        let probs = softmax_last_dim(&self.model.head(&pooled)?)?;
        let positive = probs.narrow(1, 1, 1)?.squeeze(1)?.to_vec1::<f32>()?;
        Ok(Prediction::from_positive(positive[0], tokens.truncated))
    }

    /// [`Self::explain`] finished from the variants' sentence vectors computed elsewhere (the
    /// GPU encoder, all variants at once): the same head on the CPU gives their log-odds.
    pub fn explain_from_pooled(
        &self,
        plan: ExplanationPlan,
        pooled: Vec<f32>,
    ) -> Result<Explanation, ModelError> {
        // A plan always has the text and the empty text; from_vec refuses a ragged length.
        let rows = plan.variants.len().max(1);
        let hidden = pooled.len() / rows;
        let pooled = Tensor::from_vec(pooled, (rows, hidden), &self.device)?;
        let logits = self.model.head(&pooled)?;
        let odds = (logits.narrow(1, 1, 1)? - logits.narrow(1, 0, 1)?)?;
        Ok(plan.finish(&odds.squeeze(1)?.to_vec1::<f32>()?))
    }
}

/// An explanation half done: the token-id variants whose positive log-odds it needs, in order.
pub struct ExplanationPlan {
    text: String,
    tokens: Tokens,
    pub variants: Vec<Vec<u32>>,
}

impl ExplanationPlan {
    /// The explanation from each variant's positive log-odds (`odds[i]` for `variants[i]`).
    pub fn finish(self, odds: &[f32]) -> Explanation {
        let (full, empty) = (odds[0], odds[1]);
        let words = self
            .tokens
            .words
            .iter()
            .zip(odds[2..].chunks_exact(2))
            .map(|(w, pair)| WordContribution {
                word: self.text.get(w.start..w.end).unwrap_or_default().to_owned(),
                start: w.start,
                end: w.end,
                contribution: ((full - pair[0]) + (pair[1] - empty)) / 2.0,
            })
            .collect();
        Explanation {
            prediction: Prediction::from_positive(sigmoid(full), self.tokens.truncated),
            words,
        }
    }
}

/// The logistic function: log-odds back to a probability (the two-class softmax).
fn sigmoid(log_odds: f32) -> f32 {
    1.0 / (1.0 + (-log_odds).exp())
}
