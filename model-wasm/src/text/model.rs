//! Encoder + mean pooling + classification head: text ids in, two logits out
//! (index 0 = negative, 1 = positive, as in SST-2).

use candle_core::{Device, Result, Tensor};

use super::bert::{mean_pool, BertConfig, BertEncoder};
use super::layers::{Dropout, Linear, NoDropout};
use super::weights::Weights;

/// Number of classes: negative, positive.
pub const NUM_LABELS: usize = 2;

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

/// The fine-tuned sentiment model.
pub struct TextModel {
    pub encoder: BertEncoder,
    classifier: Linear,
}

impl TextModel {
    /// Encoder tensors at the root (`embeddings.*`, `encoder.*`), head under `classifier.*`.
    pub fn load(vb: &Weights, cfg: &BertConfig) -> Result<Self> {
        Ok(Self {
            encoder: BertEncoder::load(vb, cfg)?,
            classifier: Linear::load(&vb.pp("classifier"), cfg.hidden, NUM_LABELS)?,
        })
    }

    /// `(batch, 2)` logits, with dropout supplied by the trainer.
    pub fn forward_t(&self, batch: &Batch, dropout: &dyn Dropout) -> Result<Tensor> {
        let hidden = self.encoder.forward(&batch.ids, &batch.mask, dropout)?;
        let pooled = dropout.apply(&mean_pool(&hidden, &batch.mask)?)?;
        self.classifier.forward(&pooled)
    }

    /// `(batch, 2)` logits from mean-pooled sentence vectors `(batch, hidden)`: the head alone,
    /// for backends that run the encoder elsewhere (the GPU).
    pub fn head(&self, pooled: &Tensor) -> Result<Tensor> {
        self.classifier.forward(pooled)
    }

    /// `(batch, 2)` logits for inference.
    pub fn forward(&self, batch: &Batch) -> Result<Tensor> {
        self.forward_t(batch, &NoDropout)
    }
}
