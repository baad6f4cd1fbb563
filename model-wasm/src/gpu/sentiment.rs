//! The sentiment encoder on the GPU: the same MiniLM-L6 forward pass as
//! [`crate::sentiment::bert::BertEncoder`], with every weight resident on the device and one
//! read-back per batch (the mean-pooled sentence vectors; the 2 × 384 head stays on the CPU).

use super::kernels::{
    Activation, AttentionShape, EmbeddingTables, Kernels, Linear, Norm, Q8Matrix, HEAD_DIM,
};
use super::{Gpu, GpuError};
use crate::sentiment::{BertConfig, Weights};

struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attention_out: Linear,
    attention_norm: Norm,
    up: Linear,
    down: Linear,
    out_norm: Norm,
}

pub struct GpuEncoder {
    kernels: Kernels,
    tables: EmbeddingTables,
    embedding_norm: Norm,
    layers: Vec<Layer>,
    cfg: BertConfig,
}

fn weights_error(e: candle_core::Error) -> GpuError {
    GpuError::Weights(e.to_string())
}

fn linear(gpu: &Gpu, vb: &Weights, (inp, out): (usize, usize)) -> Result<Linear, GpuError> {
    let bytes = vb.q8_0_bytes("weight", (out, inp)).map_err(weights_error)?;
    let bias = vb.f32_values("bias", out).map_err(weights_error)?;
    Linear::upload(gpu, Q8Matrix::upload(gpu, out, inp, bytes)?, &bias)
}

fn norm(gpu: &Gpu, vb: &Weights, cfg: &BertConfig) -> Result<Norm, GpuError> {
    let gamma = vb.f32_values("weight", cfg.hidden).map_err(weights_error)?;
    let beta = vb.f32_values("bias", cfg.hidden).map_err(weights_error)?;
    Norm::upload(gpu, &gamma, &beta, cfg.layer_norm_eps as f32)
}

impl GpuEncoder {
    /// Uploads the encoder from the 8-bit model file's weights (see [`Weights::q8_0_bytes`]).
    pub fn load(gpu: &Gpu, vb: &Weights, cfg: BertConfig) -> Result<Self, GpuError> {
        if cfg.hidden != cfg.heads * HEAD_DIM {
            return Err(GpuError::Shape(format!(
                "{} heads of {HEAD_DIM} do not make {}",
                cfg.heads, cfg.hidden
            )));
        }
        let h = cfg.hidden;
        let e = vb.pp("embeddings");
        let words = e
            .q8_0_bytes("word_embeddings.weight", (cfg.vocab_size, h))
            .map_err(weights_error)?;
        let positions = e
            .f32_values("position_embeddings.weight", (cfg.max_positions, h))
            .map_err(weights_error)?;
        let token_types = e
            .f32_values("token_type_embeddings.weight", (2, h))
            .map_err(weights_error)?;
        let tables = EmbeddingTables {
            words: Q8Matrix::upload(gpu, cfg.vocab_size, h, words)?,
            positions: gpu.upload("position embeddings", &positions),
            max_positions: cfg.max_positions,
            token_type: gpu.upload("token type 0", &token_types[..h]),
        };
        let embedding_norm = norm(gpu, &e.pp("LayerNorm"), &cfg)?;
        let layers = (0..cfg.layers)
            .map(|i| {
                let l = vb.pp("encoder").pp("layer").pp(i);
                let sa = l.pp("attention").pp("self");
                Ok(Layer {
                    query: linear(gpu, &sa.pp("query"), (h, h))?,
                    key: linear(gpu, &sa.pp("key"), (h, h))?,
                    value: linear(gpu, &sa.pp("value"), (h, h))?,
                    attention_out: linear(
                        gpu,
                        &l.pp("attention").pp("output").pp("dense"),
                        (h, h),
                    )?,
                    attention_norm: norm(
                        gpu,
                        &l.pp("attention").pp("output").pp("LayerNorm"),
                        &cfg,
                    )?,
                    up: linear(
                        gpu,
                        &l.pp("intermediate").pp("dense"),
                        (h, cfg.intermediate),
                    )?,
                    down: linear(gpu, &l.pp("output").pp("dense"), (cfg.intermediate, h))?,
                    out_norm: norm(gpu, &l.pp("output").pp("LayerNorm"), &cfg)?,
                })
            })
            .collect::<Result<Vec<_>, GpuError>>()?;
        Ok(Self {
            kernels: Kernels::new(gpu),
            tables,
            embedding_norm,
            layers,
            cfg,
        })
    }

    /// Mean-pooled sentence vectors (`seqs.len() × hidden`, row-major) for token id sequences
    /// (each with its `[CLS]` and `[SEP]`), in one submission and one read-back.
    pub async fn pooled<S: AsRef<[u32]>>(
        &self,
        gpu: &Gpu,
        seqs: &[S],
    ) -> Result<Vec<f32>, GpuError> {
        let batch = seqs.len();
        let len = seqs.iter().map(|s| s.as_ref().len()).max().unwrap_or(0);
        if batch == 0 || len == 0 {
            return Err(GpuError::Shape("no tokens to encode".into()));
        }
        let mut ids = vec![0u32; batch * len];
        let mut mask = vec![0f32; batch * len];
        for (row, seq) in seqs.iter().enumerate() {
            for (col, &id) in seq.as_ref().iter().enumerate() {
                if id as usize >= self.cfg.vocab_size {
                    return Err(GpuError::Shape(format!(
                        "token id {id} is not in the vocabulary"
                    )));
                }
                ids[row * len + col] = id;
                mask[row * len + col] = 1.0;
            }
        }
        let (h, tokens) = (self.cfg.hidden, batch * len);
        let k = &self.kernels;
        let ids = gpu.upload("ids", &ids);
        let mask = gpu.upload("mask", &mask);
        let zeros = gpu.upload("zeros", &vec![0f32; tokens * h]);
        let hidden = |label| gpu.output(label, tokens * h);
        let (embedded, mut x, mut next) = (hidden("embedded"), hidden("x"), hidden("x'"));
        let [q, key, v, ctx, attended, mid] =
            ["q", "k", "v", "context", "attended", "mid"].map(hidden);
        let ff = gpu.output("feed-forward", tokens * self.cfg.intermediate);
        let ff_out = hidden("feed-forward out");
        let pooled = gpu.output("pooled", batch * h);

        let mut enc = gpu.device.create_command_encoder(&Default::default());
        k.embed(gpu, &mut enc, &ids, (batch, len), &self.tables, &embedded)?;
        k.add_layer_norm(
            gpu,
            &mut enc,
            &embedded,
            &zeros,
            tokens,
            &self.embedding_norm,
            &x,
        )?;
        let shape = AttentionShape {
            batch,
            len,
            heads: self.cfg.heads,
        };
        for layer in &self.layers {
            for (projection, out) in [(&layer.query, &q), (&layer.key, &key), (&layer.value, &v)] {
                k.linear(gpu, &mut enc, &x, tokens, projection, Activation::None, out)?;
            }
            k.attention(gpu, &mut enc, [&q, &key, &v], &mask, shape, &ctx)?;
            k.linear(
                gpu,
                &mut enc,
                &ctx,
                tokens,
                &layer.attention_out,
                Activation::None,
                &attended,
            )?;
            k.add_layer_norm(
                gpu,
                &mut enc,
                &attended,
                &x,
                tokens,
                &layer.attention_norm,
                &mid,
            )?;
            k.linear(
                gpu,
                &mut enc,
                &mid,
                tokens,
                &layer.up,
                Activation::Gelu,
                &ff,
            )?;
            k.linear(
                gpu,
                &mut enc,
                &ff,
                tokens,
                &layer.down,
                Activation::None,
                &ff_out,
            )?;
            k.add_layer_norm(gpu, &mut enc, &ff_out, &mid, tokens, &layer.out_norm, &next)?;
            std::mem::swap(&mut x, &mut next);
        }
        k.mean_pool(gpu, &mut enc, &x, &mask, (batch, len, h), &pooled)?;
        gpu.queue.submit([enc.finish()]);
        gpu.read(&pooled).await
    }
}
