//! Encoder + pooling + classification head: token ids in, one logit per label out, in the label
//! order of the model's catalogue entry.
//!
//! The seam between the encoder and the head is one sentence vector per sequence: the mean of the
//! token vectors, or `[CLS]`'s vector as the encoder leaves it. Everything from there on — the
//! pooler of `[CLS]` models, then the linear head — is [`TextModel::head`], which the CPU and GPU
//! encoders' vectors both go through.

use candle_core::{Device, Result, Tensor};

use super::bert::{mean_pool, BertEncoder};
use super::layers::{Dropout, Linear, NoDropout};
use super::spec::{Pooling, TextModelSpec};
use super::weights::Weights;
use crate::ModelError;

/// A padded batch of token-id sequences.
pub struct Batch {
    /// `(batch, len)` u32, padded with 0 (`[PAD]`).
    pub ids: Tensor,
    /// `(batch, len)` f32: 1 for real tokens, 0 for padding.
    pub mask: Tensor,
}

impl Batch {
    pub fn new<S: AsRef<[u32]>>(seqs: &[S], device: &Device) -> Result<Self> {
        let len = seqs.iter().map(|s| s.as_ref().len()).max().unwrap_or(0);
        if seqs.is_empty() || len == 0 {
            candle_core::bail!("cannot build a batch from no tokens");
        }
        let mut ids = vec![0u32; seqs.len() * len];
        let mut mask = vec![0f32; seqs.len() * len];
        for (row, seq) in seqs.iter().enumerate() {
            for (col, &id) in seq.as_ref().iter().enumerate() {
                ids[row * len + col] = id;
                mask[row * len + col] = 1.0;
            }
        }
        Ok(Self {
            ids: Tensor::from_vec(ids, (seqs.len(), len), device)?,
            mask: Tensor::from_vec(mask, (seqs.len(), len), device)?,
        })
    }
}

/// A BERT encoder, pooling (mean, or `[CLS]` through the pooler) and a linear head with one row
/// per label.
pub struct TextModel {
    pub encoder: BertEncoder,
    /// `pooler.dense`, for models that read `[CLS]` through it ([`Pooling::ClsPooler`]).
    pooler: Option<Linear>,
    classifier: Linear,
    labels: usize,
}

/// The head's weight matrix, named as the errors name it.
pub(crate) const HEAD_WEIGHT: &str = "classifier.weight";

impl TextModel {
    /// Encoder tensors at the root (`embeddings.*`, `encoder.*`), the head under `classifier.*`
    /// with `spec.labels.len()` rows. A head of another size is [`ModelError::HeadRows`] (the
    /// weights are not the model the catalogue describes); other missing or misshapen tensors
    /// are [`ModelError::Inference`] naming the tensor.
    pub fn load(vb: &Weights, spec: &TextModelSpec) -> std::result::Result<Self, ModelError> {
        let labels = spec.labels.len();
        let cfg = &spec.config;
        let head = vb.pp("classifier");
        // Checked before loading, so the error says "rows" and "labels" rather than two shapes.
        if let Some(dims) = head.stored_dims("weight") {
            if let [rows, _] = dims[..] {
                if rows != labels {
                    return Err(ModelError::HeadRows {
                        tensor: HEAD_WEIGHT.to_owned(),
                        rows,
                        labels,
                    });
                }
            }
        }
        let pooler = match spec.pooling {
            Pooling::Mean => None,
            Pooling::ClsPooler => Some(Linear::load(
                &vb.pp("pooler").pp("dense"),
                cfg.hidden,
                cfg.hidden,
            )?),
        };
        Ok(Self {
            pooler,
            encoder: BertEncoder::load(vb, cfg)?,
            classifier: Linear::load(&head, cfg.hidden, labels)?,
            labels,
        })
    }

    /// How many outputs the head has.
    pub fn label_count(&self) -> usize {
        self.labels
    }

    /// `(batch, labels)` logits, with dropout supplied by the trainer (after the pooler, where
    /// `BertForSequenceClassification` has it).
    pub fn forward_t(&self, batch: &Batch, dropout: &dyn Dropout) -> Result<Tensor> {
        let hidden = self.encoder.forward(&batch.ids, &batch.mask, dropout)?;
        let pooled = self.pooler_out(&self.pool(&hidden, &batch.mask)?)?;
        self.classifier.forward(&dropout.apply(&pooled)?)
    }

    /// Sentence vectors `(batch, hidden)`: the CPU's side of the encoder seam (the GPU encoder
    /// produces the same vectors; [`Self::head`] takes either).
    pub fn pooled(&self, batch: &Batch) -> Result<Tensor> {
        let hidden = self.encoder.forward(&batch.ids, &batch.mask, &NoDropout)?;
        self.pool(&hidden, &batch.mask)
    }

    /// One sentence vector per row of `hidden` `(batch, len, hidden)`: the mean over real
    /// tokens, or `[CLS]`'s (the first token's) vector for a model with a pooler.
    fn pool(&self, hidden: &Tensor, mask: &Tensor) -> Result<Tensor> {
        match &self.pooler {
            None => mean_pool(hidden, mask),
            Some(_) => hidden.narrow(1, 0, 1)?.squeeze(1),
        }
    }

    /// `tanh(pooler(x))` for a model with a pooler; the vectors as they are otherwise.
    fn pooler_out(&self, pooled: &Tensor) -> Result<Tensor> {
        match &self.pooler {
            None => Ok(pooled.clone()),
            Some(pooler) => pooler.forward(pooled)?.tanh(),
        }
    }

    /// `(batch, labels)` logits from sentence vectors `(batch, hidden)`, as [`Self::pooled`] or
    /// the GPU encoder gives them: through the pooler first for a `[CLS]` model, then the linear
    /// head. The pooler runs here rather than in the encoders because its weights stay f32 in the
    /// model file (8-bit cost labels; see the importer), which the GPU's 8-bit products do not
    /// take, and one `hidden × hidden` product per sentence is little next to the encoder.
    pub fn head(&self, pooled: &Tensor) -> Result<Tensor> {
        self.classifier.forward(&self.pooler_out(pooled)?)
    }

    /// `(batch, labels)` logits for inference.
    pub fn forward(&self, batch: &Batch) -> Result<Tensor> {
        self.forward_t(batch, &NoDropout)
    }
}
