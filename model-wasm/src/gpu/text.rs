//! The text encoder on the GPU: the same BERT forward pass as
//! [`crate::text::bert::BertEncoder`], with every weight resident on the device and one
//! read-back per batch. It stops at the encoder seam — the sentence vectors: the mean of the
//! token vectors, or `[CLS]`'s — and the CPU's [`crate::text::TextClassifier`] runs the pooler
//! (for `[CLS]` models), the small head and everything after, so both backends share that code.
//! Attention heads may be any width up to [`super::attention::MAX_HEAD_DIM`].

use super::attention::{check_head_dim, Attention, AttentionShape};
use super::kernels::{Activation, EmbeddingTables, Kernels, Linear, Norm, Q8Matrix};
use super::{Gpu, GpuError};
use crate::text::batching::{length_sorted_chunks, unsort};
use crate::text::{BertConfig, Pooling, TextModelSpec, Weights};

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
    /// Compiled for this model's head width.
    attention: Attention,
    tables: EmbeddingTables,
    embedding_norm: Norm,
    layers: Vec<Layer>,
    cfg: BertConfig,
    pooling: Pooling,
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

/// Whether the GPU kernels can run an encoder of this shape: heads that split the hidden width
/// evenly, each at most [`super::attention::MAX_HEAD_DIM`] wide (what the attention kernel holds
/// per query). Checked before anything is uploaded, so such a model simply stays on the CPU path.
pub fn supports(cfg: &BertConfig) -> Result<(), GpuError> {
    if cfg.heads == 0 || !cfg.hidden.is_multiple_of(cfg.heads) {
        return Err(GpuError::Unsupported(format!(
            "{} attention heads do not split {} values evenly",
            cfg.heads, cfg.hidden
        )));
    }
    check_head_dim(cfg.hidden / cfg.heads)
}

impl GpuEncoder {
    /// Uploads the encoder of the model `spec` describes from the 8-bit model file's weights
    /// (see [`Weights::q8_0_bytes`]), and compiles attention for its head width. A shape the
    /// kernels do not cover is refused first ([`supports`]).
    pub fn load(gpu: &Gpu, vb: &Weights, spec: &TextModelSpec) -> Result<Self, GpuError> {
        let cfg = spec.config;
        supports(&cfg)?;
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
            attention: Attention::new(gpu, h / cfg.heads)?,
            tables,
            embedding_norm,
            layers,
            cfg,
            pooling: spec.pooling,
        })
    }

    /// Sentence vectors (`seqs.len() × hidden`, row-major, in the order given), as
    /// [`crate::text::TextClassifier::pooled`] gives them on the CPU: the mean of the token
    /// vectors, or `[CLS]`'s, as the model pools. For token id sequences (each with its `[CLS]`
    /// and `[SEP]`), in one submission and one read-back however many there are: an
    /// explanation's hundreds of variants cost one round trip. Sequences are encoded shortest
    /// first in chunks of at most [`TOKENS_PER_CHUNK`] padded tokens, which reuse one set of
    /// scratch buffers in turn.
    pub async fn pooled<S: AsRef<[u32]>>(
        &self,
        gpu: &Gpu,
        seqs: &[S],
    ) -> Result<Vec<f32>, GpuError> {
        self.pooled_in_chunks(gpu, seqs, TOKENS_PER_CHUNK).await
    }

    /// [`Self::pooled`] with chunks of at most `tokens_per_chunk` padded tokens (tests use small
    /// ones to cover many chunks with short texts).
    pub async fn pooled_in_chunks<S: AsRef<[u32]>>(
        &self,
        gpu: &Gpu,
        seqs: &[S],
        tokens_per_chunk: usize,
    ) -> Result<Vec<f32>, GpuError> {
        let lens: Vec<usize> = seqs.iter().map(|s| s.as_ref().len()).collect();
        if seqs.is_empty() || lens.contains(&0) {
            return Err(GpuError::Shape("no tokens to encode".into()));
        }
        if let Some(&len) = lens.iter().find(|&&l| l > self.cfg.max_positions) {
            return Err(GpuError::Shape(format!(
                "{len} tokens, more than the model's {}",
                self.cfg.max_positions
            )));
        }
        // Shortest first, so each chunk pads its sequences little (the CPU batches alike).
        let chunks = length_sorted_chunks(&lens, usize::MAX, tokens_per_chunk);
        let padded =
            |chunk: &[usize]| chunk.len() * chunk.iter().map(|&i| lens[i]).max().unwrap_or(0);
        let scratch_tokens = chunks.iter().map(|c| padded(c)).max().unwrap_or(0);
        let most_rows = chunks.iter().map(Vec::len).max().unwrap_or(0);
        let scratch = Scratch::new(gpu, &self.cfg, scratch_tokens, most_rows);
        let h = self.cfg.hidden;
        let sorted = gpu.output("pooled, shortest first", seqs.len() * h);

        let mut enc = gpu.device.create_command_encoder(&Default::default());
        let mut row = 0;
        for chunk in &chunks {
            let chunk_seqs: Vec<&[u32]> = chunk.iter().map(|&i| seqs[i].as_ref()).collect();
            self.record_chunk(gpu, &mut enc, &scratch, &chunk_seqs)?;
            // The next chunk reuses `scratch.pooled`; keep this one's vectors in their rows.
            let bytes = (chunk.len() * h * 4) as u64;
            enc.copy_buffer_to_buffer(&scratch.pooled, 0, &sorted, (row * h * 4) as u64, bytes);
            row += chunk.len();
        }
        gpu.queue.submit([enc.finish()]);
        let sorted = gpu.read(&sorted).await?;
        Ok(unsort(&chunks, &sorted, h))
    }

    /// Records the encoder over one chunk of sequences, padded to the longest, leaving their
    /// sentence vectors in the first rows of `scratch.pooled`.
    fn record_chunk(
        &self,
        gpu: &Gpu,
        enc: &mut wgpu::CommandEncoder,
        scratch: &Scratch,
        seqs: &[&[u32]],
    ) -> Result<(), GpuError> {
        let batch = seqs.len();
        let len = seqs.iter().map(|s| s.len()).max().unwrap_or(0);
        let mut ids = vec![0u32; batch * len];
        let mut mask = vec![0f32; batch * len];
        for (row, seq) in seqs.iter().enumerate() {
            for (col, &id) in seq.iter().enumerate() {
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
        let Scratch {
            zeros,
            embedded,
            q,
            key,
            v,
            context,
            attended,
            mid,
            ff,
            ff_out,
            pooled,
            ..
        } = scratch;
        let (mut x, mut next) = (&scratch.x, &scratch.next);

        k.embed(gpu, enc, &ids, (batch, len), &self.tables, embedded)?;
        k.add_layer_norm(gpu, enc, embedded, zeros, tokens, &self.embedding_norm, x)?;
        let shape = AttentionShape {
            batch,
            len,
            heads: self.cfg.heads,
        };
        for layer in &self.layers {
            for (projection, out) in [(&layer.query, q), (&layer.key, key), (&layer.value, v)] {
                k.linear(gpu, enc, x, tokens, projection, Activation::None, out)?;
            }
            self.attention
                .record(gpu, enc, [q, key, v], &mask, shape, context)?;
            let out = &layer.attention_out;
            k.linear(gpu, enc, context, tokens, out, Activation::None, attended)?;
            k.add_layer_norm(gpu, enc, attended, x, tokens, &layer.attention_norm, mid)?;
            k.linear(gpu, enc, mid, tokens, &layer.up, Activation::Gelu, ff)?;
            k.linear(gpu, enc, ff, tokens, &layer.down, Activation::None, ff_out)?;
            k.add_layer_norm(gpu, enc, ff_out, mid, tokens, &layer.out_norm, next)?;
            std::mem::swap(&mut x, &mut next);
        }
        match self.pooling {
            Pooling::Mean => k.mean_pool(gpu, enc, x, &mask, (batch, len, h), pooled),
            Pooling::ClsPooler => {
                // [CLS] is each sequence's first token, so its vector is one contiguous row:
                // copied as it is, no kernel needed (the pooler runs in the shared head).
                let row = (h * 4) as u64;
                for b in 0..batch {
                    enc.copy_buffer_to_buffer(
                        x,
                        (b * len) as u64 * row,
                        pooled,
                        b as u64 * row,
                        row,
                    );
                }
                Ok(())
            }
        }
    }
}

/// Padded tokens per chunk in [`GpuEncoder::pooled`]. Bounds the largest scratch buffer (the
/// feed-forward activations: 4096 × 1536 f32, 25 MB) well under WebGPU's default 128 MB binding
/// limit, and the matmul's rows per dispatch under the 65,535 workgroups a dimension allows.
pub const TOKENS_PER_CHUNK: usize = 4096;

/// The activations of one chunk between kernels, allocated once per [`GpuEncoder::pooled`] for
/// its largest chunk and reused by each chunk in turn (the kernels run in recording order).
struct Scratch {
    zeros: wgpu::Buffer,
    embedded: wgpu::Buffer,
    x: wgpu::Buffer,
    next: wgpu::Buffer,
    q: wgpu::Buffer,
    key: wgpu::Buffer,
    v: wgpu::Buffer,
    context: wgpu::Buffer,
    attended: wgpu::Buffer,
    mid: wgpu::Buffer,
    ff: wgpu::Buffer,
    ff_out: wgpu::Buffer,
    pooled: wgpu::Buffer,
}

impl Scratch {
    fn new(gpu: &Gpu, cfg: &BertConfig, tokens: usize, rows: usize) -> Self {
        let hidden = |label| gpu.output(label, tokens * cfg.hidden);
        Self {
            zeros: gpu.upload("zeros", &vec![0f32; tokens * cfg.hidden]),
            embedded: hidden("embedded"),
            x: hidden("x"),
            next: hidden("x'"),
            q: hidden("q"),
            key: hidden("k"),
            v: hidden("v"),
            context: hidden("context"),
            attended: hidden("attended"),
            mid: hidden("mid"),
            ff: gpu.output("feed-forward", tokens * cfg.intermediate),
            ff_out: hidden("feed-forward out"),
            pooled: gpu.output("pooled", rows * cfg.hidden),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::supports;
    use crate::gpu::GpuError;
    use crate::text::BertConfig;

    fn config(hidden: usize, heads: usize) -> BertConfig {
        BertConfig {
            vocab_size: 10,
            hidden,
            layers: 1,
            heads,
            intermediate: 4 * hidden,
            max_positions: 16,
            layer_norm_eps: 1e-12,
        }
    }

    #[test]
    fn heads_of_any_width_up_to_the_kernels_go_to_the_gpu() {
        // MiniLM (32), BERT base and bert-tiny (64), one 128-wide head, TinyBERT (26).
        for (hidden, heads) in [(384, 12), (768, 12), (128, 2), (128, 1), (312, 12)] {
            assert!(supports(&config(hidden, heads)).is_ok(), "{hidden}/{heads}");
        }
        assert!(matches!(
            supports(&config(512, 2)),
            Err(GpuError::HeadWidth {
                width: 256,
                max: 128
            })
        ));
        for (hidden, heads) in [(384, 0), (384, 5)] {
            let err = supports(&config(hidden, heads)).unwrap_err().to_string();
            assert!(err.contains("do not split"), "{hidden}/{heads}: {err}");
        }
    }
}
