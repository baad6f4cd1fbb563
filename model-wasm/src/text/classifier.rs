//! The inference API: `classify` and `explain` for any text classifier of the catalogue, on the
//! quantized file (browser, eval) or on float weights (tests comparing the two).
//!
//! One seam splits the work: an encoder turns token-id sequences into sentence vectors
//! (rows × hidden: the mean of the token vectors, or `[CLS]`'s) — [`TextClassifier::pooled`] on
//! the CPU, or the GPU encoder (`crate::gpu::text::GpuEncoder::pooled`) — and everything after,
//! the pooler of `[CLS]` models, the head, the probabilities, the prediction and the
//! explanation, is this one code for both ([`TextClassifier::predict_from_pooled`],
//! [`TextClassifier::explain_from_pooled`]).

use candle_core::{Device, Tensor};
use wire::engine::{TextExplanation, TextPrediction};

use super::batching::{length_sorted_chunks, unsort};
use super::explain::ExplanationPlan;
use super::file;
use super::model::{Batch, TextModel};
use super::reading;
use super::scoring::prediction;
use super::spec::TextModelSpec;
use super::tokenizer::{TextTokenizer, Tokens};
use super::weights::{MatmulMode, Weights};
use crate::{checksum, ModelError};

/// Sequences per CPU forward pass in batch work (evaluation, explanations): large enough to
/// amortise per-op overhead, small enough to keep wasm memory modest.
const BATCH: usize = 32;

pub struct TextClassifier {
    model: TextModel,
    tokenizer: TextTokenizer,
    spec: TextModelSpec,
    device: Device,
}

impl TextClassifier {
    /// Loads a model file after checking its sha256 (a damaged download fails here with
    /// [`ModelError::ChecksumMismatch`] rather than giving wrong answers). This is where native
    /// code (eval, bench, tests) verifies; in the browser the worker verifies instead (see
    /// [`Self::from_verified_model_file`]).
    pub fn from_model_file(
        name: &str,
        bytes: &[u8],
        expected_sha256: &str,
        spec: &TextModelSpec,
    ) -> Result<Self, ModelError> {
        Self::from_model_file_with(name, bytes, expected_sha256, spec, spec.matmul_mode())
    }

    /// [`Self::from_model_file`] with a choice of speed versus memory.
    pub fn from_model_file_with(
        name: &str,
        bytes: &[u8],
        expected_sha256: &str,
        spec: &TextModelSpec,
        mode: MatmulMode,
    ) -> Result<Self, ModelError> {
        checksum::verify(name, bytes, expected_sha256)?;
        Self::from_verified_model_file(name, bytes, spec, mode)
    }

    /// Loads a model file whose sha256 the caller has already checked. Only the browser worker
    /// uses this: `public/sdk/worker.js` (`verify`) hashes every copy with the platform's native
    /// SHA-256 (`crypto.subtle`, tens of milliseconds) before handing it over, because sha2
    /// compiled to wasm takes over a second on 24 MB the first time it runs (V8 runs a single long
    /// call in its baseline compiler). Everything else goes through [`Self::from_model_file`].
    pub fn from_verified_model_file(
        name: &str,
        bytes: &[u8],
        spec: &TextModelSpec,
        mode: MatmulMode,
    ) -> Result<Self, ModelError> {
        let device = Device::Cpu;
        let parsed = file::parse(name, bytes, &device, mode)?;
        let model = TextModel::load(&Weights::Quantized(parsed.weights), spec).map_err(|e| {
            match e {
                // Already names the tensor and both counts.
                ModelError::HeadRows { .. } => e,
                other => ModelError::InvalidModel {
                    name: name.to_owned(),
                    reason: match other {
                        ModelError::Inference(candle) => candle.to_string(),
                        other => other.to_string(),
                    },
                },
            }
        })?;
        let tokenizer =
            TextTokenizer::from_bytes(parsed.tokenizer_json.as_bytes(), spec.max_tokens)?;
        Self::new(model, tokenizer, spec.clone())
    }

    /// Any model and tokenizer, e.g. float weights for comparisons with the quantized file. The
    /// model's head must have one row per label of `spec`.
    pub fn new(
        model: TextModel,
        tokenizer: TextTokenizer,
        spec: TextModelSpec,
    ) -> Result<Self, ModelError> {
        if model.label_count() != spec.labels.len() {
            return Err(ModelError::HeadRows {
                tensor: super::model::HEAD_WEIGHT.to_owned(),
                rows: model.label_count(),
                labels: spec.labels.len(),
            });
        }
        Ok(Self {
            model,
            tokenizer,
            spec,
            device: Device::Cpu,
        })
    }

    pub fn tokenizer(&self) -> &TextTokenizer {
        &self.tokenizer
    }

    pub fn spec(&self) -> &TextModelSpec {
        &self.spec
    }

    /// Label ids in output order.
    pub fn labels(&self) -> &[String] {
        &self.spec.labels
    }

    /// The text's tokens, once it is one the model can read ([`super::reading`]): a text in a
    /// script none of its languages use, or mostly unknown pieces, is
    /// [`ModelError::Unreadable`]. Every answer, CPU or GPU, starts here.
    pub fn encode(&self, text: &str) -> Result<Tokens, ModelError> {
        let tokens = self.tokenizer.encode(text)?;
        match reading::refusal(
            text,
            &self.spec.languages,
            tokens.pieces_read,
            tokens.unknown,
        ) {
            None => Ok(tokens),
            Some(r) => Err(ModelError::Unreadable {
                script: r.script,
                languages: self.spec.languages.clone(),
                unknown_share: r.unknown_share,
            }),
        }
    }

    pub fn classify(&self, text: &str) -> Result<TextPrediction, ModelError> {
        let tokens = self.encode(text)?;
        let pooled = self.pooled(&[tokens.ids.as_slice()])?;
        self.predict_from_pooled(&tokens, pooled)
    }

    /// Classifies many texts, batching similar lengths together. Fails on the first text with no
    /// words or that the model cannot read.
    pub fn classify_batch<S: AsRef<str>>(
        &self,
        texts: &[S],
    ) -> Result<Vec<TextPrediction>, ModelError> {
        let tokens = texts
            .iter()
            .map(|t| self.encode(t.as_ref()))
            .collect::<Result<Vec<Tokens>, _>>()?;
        let seqs: Vec<&[u32]> = tokens.iter().map(|t| t.ids.as_slice()).collect();
        let logits = self.logits_from_pooled(self.pooled(&seqs)?)?;
        Ok(tokens
            .iter()
            .zip(&logits)
            .map(|(t, row)| self.prediction(row, t.truncated))
            .collect())
    }

    /// Per-word contributions, in log-odds of the predicted label (above zero pushed the text
    /// towards it); see [`super::explain`] for the method. Costs 2 × words + 2 short sequences,
    /// run in batches.
    pub fn explain(&self, text: &str) -> Result<TextExplanation, ModelError> {
        let plan = self.plan_explanation(text)?;
        let pooled = self.pooled(&plan.variants)?;
        self.explain_from_pooled(plan, pooled)
    }

    /// The first half of [`Self::explain`]: the text's tokens and the variants to encode.
    pub fn plan_explanation(&self, text: &str) -> Result<ExplanationPlan, ModelError> {
        Ok(ExplanationPlan::new(text, self.encode(text)?))
    }

    /// The CPU encoder: sentence vectors (`seqs.len() × hidden`, row-major, in the order given;
    /// the mean of the token vectors, or `[CLS]`'s, as the model pools), encoded shortest first
    /// in batches of similar lengths.
    pub fn pooled<S: AsRef<[u32]>>(&self, seqs: &[S]) -> Result<Vec<f32>, ModelError> {
        let lens: Vec<usize> = seqs.iter().map(|s| s.as_ref().len()).collect();
        let chunks = length_sorted_chunks(&lens, BATCH, usize::MAX);
        let hidden = self.spec.config.hidden;
        let mut sorted = Vec::with_capacity(seqs.len() * hidden);
        for chunk in &chunks {
            let batch: Vec<&[u32]> = chunk.iter().map(|&i| seqs[i].as_ref()).collect();
            let batch = Batch::new(&batch, &self.device)?;
            sorted.extend(self.model.pooled(&batch)?.flatten_all()?.to_vec1::<f32>()?);
        }
        Ok(unsort(&chunks, &sorted, hidden))
    }

    /// The prediction for `tokens` from its sentence vector, however it was encoded.
    pub fn predict_from_pooled(
        &self,
        tokens: &Tokens,
        pooled: Vec<f32>,
    ) -> Result<TextPrediction, ModelError> {
        let logits = self.logits_from_pooled(pooled)?;
        let row = logits.first().ok_or_else(|| no_rows("a prediction"))?;
        Ok(self.prediction(row, tokens.truncated))
    }

    /// [`Self::explain`] finished from the variants' sentence vectors, however they were encoded
    /// (the GPU encodes all variants in one submission).
    pub fn explain_from_pooled(
        &self,
        plan: ExplanationPlan,
        pooled: Vec<f32>,
    ) -> Result<TextExplanation, ModelError> {
        let logits = self.logits_from_pooled(pooled)?;
        plan.finish(&logits, &self.spec.labels, self.spec.multi_label)
    }

    /// The head over sentence vectors (`rows × hidden`), the pooler first for a `[CLS]` model
    /// ([`TextModel::head`]): one row of logits per vector (none for none).
    pub fn logits_from_pooled(&self, pooled: Vec<f32>) -> Result<Vec<Vec<f32>>, ModelError> {
        let hidden = self.spec.config.hidden;
        if pooled.is_empty() {
            return Ok(Vec::new());
        }
        if !pooled.len().is_multiple_of(hidden) {
            return Err(ModelError::Inference(candle_core::Error::Msg(format!(
                "{} values are not whole sentence vectors of {hidden}",
                pooled.len()
            ))));
        }
        let rows = pooled.len() / hidden;
        let pooled = Tensor::from_vec(pooled, (rows, hidden), &self.device)?;
        Ok(self.model.head(&pooled)?.to_vec2::<f32>()?)
    }

    fn prediction(&self, logits: &[f32], truncated: bool) -> TextPrediction {
        prediction(&self.spec.labels, logits, self.spec.multi_label, truncated)
    }
}

fn no_rows(what: &str) -> ModelError {
    ModelError::Inference(candle_core::Error::Msg(format!(
        "{what} needs one sentence vector"
    )))
}

#[cfg(test)]
mod tests {
    use super::super::scoring::{argmax, target_log_odds};
    use super::super::spec::Pooling;
    use super::super::tiny;
    use super::*;

    fn classifier(labels: &[&str], multi_label: bool) -> (TextClassifier, TextModel) {
        pooled_by(labels, multi_label, Pooling::Mean)
    }

    /// A tiny classifier and its twin (the same weights, for the plain forward pass).
    fn pooled_by(
        labels: &[&str],
        multi_label: bool,
        pooling: Pooling,
    ) -> (TextClassifier, TextModel) {
        let spec = TextModelSpec {
            pooling,
            ..tiny::spec(labels, multi_label)
        };
        let tensors = tiny::weights(&spec, labels.len());
        let twin = tiny::model(&spec, &tensors);
        let classifier = TextClassifier::new(
            tiny::model(&spec, &tensors),
            tiny::tokenizer(spec.max_tokens),
            spec,
        )
        .unwrap();
        (classifier, twin)
    }

    /// One sequence's logits through the plain forward pass, unbatched.
    fn logits(model: &TextModel, ids: &[u32]) -> Vec<f32> {
        let batch = Batch::new(&[ids], &Device::Cpu).unwrap();
        model
            .forward(&batch)
            .unwrap()
            .squeeze(0)
            .unwrap()
            .to_vec1()
            .unwrap()
    }

    #[test]
    fn three_labels_are_scored_by_softmax_in_label_order() {
        let (c, twin) = classifier(&["a", "b", "c"], false);
        let p = c.classify("a very good film").unwrap();
        let names: Vec<&str> = p.scores.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        let sum: f32 = p.scores.iter().map(|s| s.score).sum();
        assert!((sum - 1.0).abs() < 1e-5, "{p:?}");
        let ids = c.tokenizer().encode("a very good film").unwrap().ids;
        let best = argmax(&logits(&twin, &ids));
        assert_eq!(p.label, ["a", "b", "c"][best]);
        assert_eq!(p.score, p.scores[best].score);
    }

    #[test]
    fn multi_label_scores_are_independent_sigmoids() {
        let (c, twin) = classifier(&["x", "y", "z"], true);
        let p = c.classify("not bad").unwrap();
        let ids = c.tokenizer().encode("not bad").unwrap().ids;
        for (s, l) in p.scores.iter().zip(logits(&twin, &ids)) {
            assert!((s.score - super::super::scoring::sigmoid(l)).abs() < 1e-5);
        }
    }

    #[test]
    fn an_empty_batch_is_an_empty_answer() {
        let (c, _) = classifier(&["a", "b"], false);
        assert!(c.classify_batch::<&str>(&[]).unwrap().is_empty());
    }

    #[test]
    fn batches_agree_with_single_texts() {
        let (c, _) = classifier(&["a", "b", "c"], false);
        let texts = ["good", "a very dull film , not good", "bad film", "good"];
        let batch = c.classify_batch(&texts).unwrap();
        for (text, p) in texts.iter().zip(&batch) {
            let one = c.classify(text).unwrap();
            for (x, y) in one.scores.iter().zip(&p.scores) {
                assert!((x.score - y.score).abs() < 1e-4, "{text}: {one:?} vs {p:?}");
            }
        }
    }

    /// A `[CLS]` model through the seam (`[CLS]`'s vector out of the encoder, the pooler in the
    /// head) gives the logits of the plain forward pass, which runs the pooler inside.
    #[test]
    fn cls_pooling_through_the_seam_is_the_plain_forward_pass() {
        let (c, twin) = pooled_by(&["a", "b", "c"], false, Pooling::ClsPooler);
        let texts = ["a very good film", "not bad", "dull"];
        let seqs: Vec<Vec<u32>> = texts
            .iter()
            .map(|t| c.tokenizer().encode(t).unwrap().ids)
            .collect();
        let rows = c.logits_from_pooled(c.pooled(&seqs).unwrap()).unwrap();
        assert_eq!(rows.len(), texts.len());
        for ((text, ids), row) in texts.iter().zip(&seqs).zip(&rows) {
            let want = logits(&twin, ids);
            assert_eq!(row.len(), want.len());
            for (x, y) in row.iter().zip(&want) {
                assert!((x - y).abs() < 1e-4, "{text}: {row:?} vs {want:?}");
            }
        }
    }

    /// The explanation targets the predicted label and its contributions are the two-sample
    /// Shapley values of that label's log-odds, recomputed here one variant at a time.
    #[test]
    fn three_label_explanations_point_at_the_prediction() {
        let cases = [false, true]
            .into_iter()
            .flat_map(|m| [(m, Pooling::Mean), (m, Pooling::ClsPooler)]);
        for (multi_label, pooling) in cases {
            let (c, twin) = pooled_by(&["a", "b", "c"], multi_label, pooling);
            let text = "not a good film";
            let e = c.explain(text).unwrap();
            assert_eq!(e.target, e.prediction.label);
            // Encoded in a batch with its variants, so equal up to padding's rounding.
            let alone = c.classify(text).unwrap();
            assert_eq!(e.prediction.label, alone.label);
            for (x, y) in e.prediction.scores.iter().zip(&alone.scores) {
                assert!((x.score - y.score).abs() < 1e-4, "{e:?} vs {alone:?}");
            }
            let plan = c.plan_explanation(text).unwrap();
            let rows: Vec<Vec<f32>> = plan.variants.iter().map(|v| logits(&twin, v)).collect();
            let t = argmax(&rows[0]);
            assert_eq!(e.target, ["a", "b", "c"][t]);
            let odds: Vec<f32> = rows
                .iter()
                .map(|r| target_log_odds(r, t, multi_label))
                .collect();
            assert_eq!(e.words.len(), 4);
            for (i, w) in e.words.iter().enumerate() {
                let want = ((odds[0] - odds[2 + 2 * i]) + (odds[3 + 2 * i] - odds[1])) / 2.0;
                assert!(
                    (w.contribution - want).abs() < 1e-4,
                    "{}: {} vs {want}",
                    w.word,
                    w.contribution
                );
            }
        }
    }

    #[test]
    fn a_head_with_other_rows_than_labels_names_the_tensor_and_both_counts() {
        let spec = tiny::spec(&["a", "b", "c"], false);
        let two_rows = tiny::weights(&spec, 2);
        let vb =
            candle_nn::VarBuilder::from_tensors(two_rows, candle_core::DType::F32, &Device::Cpu);
        let err = TextModel::load(&Weights::Float(vb), &spec)
            .err()
            .expect("must fail");
        assert!(
            matches!(
                err,
                ModelError::HeadRows {
                    ref tensor,
                    rows: 2,
                    labels: 3
                } if tensor == "classifier.weight"
            ),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("`classifier.weight` has 2 rows") && msg.contains("lists 3 labels"),
            "{msg}"
        );
    }
}
