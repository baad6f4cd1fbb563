//! A BERT encoder with post-LayerNorm blocks and exact (erf) GELU, of any shape
//! ([`BertConfig`]); the shipped one is all-MiniLM-L6-v2 (6 layers, 384 wide). Tensor names follow the Hugging Face checkpoint (`embeddings.*`, `encoder.layer.N.*`).

use candle_core::quantized::QMatMul;
use candle_core::{Result, Tensor, D};

use super::layers::{gelu_erf, softmax_last_dim, Dropout, LayerNorm, Linear};
use super::weights::Weights;

/// Shape of the encoder, read from the model's catalogue entry ([`super::TextModelSpec`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BertConfig {
    pub vocab_size: usize,
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub intermediate: usize,
    pub max_positions: usize,
    pub layer_norm_eps: f64,
}

struct Embeddings {
    words: QMatMul,
    positions: Tensor,
    token_type: Tensor,
    norm: LayerNorm,
}

impl Embeddings {
    fn load(vb: &Weights, cfg: &BertConfig) -> Result<Self> {
        Ok(Self {
            words: vb.table("word_embeddings.weight", (cfg.vocab_size, cfg.hidden))?,
            positions: vb.tensor(
                "position_embeddings.weight",
                (cfg.max_positions, cfg.hidden),
            )?,
            // Single-sentence input: every token has type 0, so only that row is ever used.
            token_type: vb
                .tensor("token_type_embeddings.weight", (2, cfg.hidden))?
                .narrow(0, 0, 1)?,
            norm: LayerNorm::load(&vb.pp("LayerNorm"), cfg.hidden, cfg.layer_norm_eps)?,
        })
    }

    fn forward(&self, ids: &Tensor, dropout: &dyn Dropout) -> Result<Tensor> {
        let (_, len) = ids.dims2()?;
        let words = self.words.embedding(ids)?;
        let xs = words
            .broadcast_add(&self.positions.narrow(0, 0, len)?)?
            .broadcast_add(&self.token_type)?;
        dropout.apply(&self.norm.forward(&xs)?)
    }
}

struct SelfAttention {
    query: Linear,
    key: Linear,
    value: Linear,
    output: Linear,
    norm: LayerNorm,
    heads: usize,
}

impl SelfAttention {
    fn load(vb: &Weights, cfg: &BertConfig) -> Result<Self> {
        let h = cfg.hidden;
        let sa = vb.pp("self");
        Ok(Self {
            query: Linear::load(&sa.pp("query"), h, h)?,
            key: Linear::load(&sa.pp("key"), h, h)?,
            value: Linear::load(&sa.pp("value"), h, h)?,
            output: Linear::load(&vb.pp("output").pp("dense"), h, h)?,
            norm: LayerNorm::load(&vb.pp("output").pp("LayerNorm"), h, cfg.layer_norm_eps)?,
            heads: cfg.heads,
        })
    }

    /// `mask_bias` is `(batch, 1, 1, len)`: 0 for real tokens, a large negative number for padding.
    fn forward(&self, xs: &Tensor, mask_bias: &Tensor, dropout: &dyn Dropout) -> Result<Tensor> {
        let (b, t, h) = xs.dims3()?;
        let head_dim = h / self.heads;
        let split = |ys: Tensor| {
            ys.reshape((b, t, self.heads, head_dim))?
                .transpose(1, 2)?
                .contiguous()
        };
        let q = split(self.query.forward(xs)?)?;
        let k = split(self.key.forward(xs)?)?;
        let v = split(self.value.forward(xs)?)?;
        let scores = (q.matmul(&k.t()?)? / (head_dim as f64).sqrt())?.broadcast_add(mask_bias)?;
        let probs = softmax_last_dim(&scores)?;
        let ctx = probs.matmul(&v)?.transpose(1, 2)?.reshape((b, t, h))?;
        let out = dropout.apply(&self.output.forward(&ctx)?)?;
        self.norm.forward(&(out + xs)?)
    }
}

struct FeedForward {
    up: Linear,
    down: Linear,
    norm: LayerNorm,
}

impl FeedForward {
    fn load(vb: &Weights, cfg: &BertConfig) -> Result<Self> {
        Ok(Self {
            up: Linear::load(
                &vb.pp("intermediate").pp("dense"),
                cfg.hidden,
                cfg.intermediate,
            )?,
            down: Linear::load(&vb.pp("output").pp("dense"), cfg.intermediate, cfg.hidden)?,
            norm: LayerNorm::load(
                &vb.pp("output").pp("LayerNorm"),
                cfg.hidden,
                cfg.layer_norm_eps,
            )?,
        })
    }

    fn forward(&self, xs: &Tensor, dropout: &dyn Dropout) -> Result<Tensor> {
        // BERT's GELU is the exact erf form, not the tanh approximation.
        let hidden = gelu_erf(&self.up.forward(xs)?)?;
        let out = dropout.apply(&self.down.forward(&hidden)?)?;
        self.norm.forward(&(out + xs)?)
    }
}

struct Layer {
    attention: SelfAttention,
    ffn: FeedForward,
}

/// Token ids in, contextual token vectors out.
pub struct BertEncoder {
    embeddings: Embeddings,
    layers: Vec<Layer>,
    pub config: BertConfig,
}

impl BertEncoder {
    pub fn load(vb: &Weights, cfg: &BertConfig) -> Result<Self> {
        let embeddings = Embeddings::load(&vb.pp("embeddings"), cfg)?;
        let layers = (0..cfg.layers)
            .map(|i| {
                let lvb = vb.pp("encoder").pp("layer").pp(i);
                Ok(Layer {
                    attention: SelfAttention::load(&lvb.pp("attention"), cfg)?,
                    ffn: FeedForward::load(&lvb, cfg)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            embeddings,
            layers,
            config: *cfg,
        })
    }

    /// `ids`: `(batch, len)` u32; `mask`: `(batch, len)` f32, 1 for tokens and 0 for padding.
    /// Returns `(batch, len, hidden)`.
    pub fn forward(&self, ids: &Tensor, mask: &Tensor, dropout: &dyn Dropout) -> Result<Tensor> {
        // Additive bias rather than a select: padded keys get ~zero attention weight, and the
        // op is differentiable and cheap.
        let mask_bias = ((mask.ones_like()? - mask)? * -1e4)?
            .unsqueeze(1)?
            .unsqueeze(1)?;
        let mut xs = self.embeddings.forward(ids, dropout)?;
        for layer in &self.layers {
            xs = layer.attention.forward(&xs, &mask_bias, dropout)?;
            xs = layer.ffn.forward(&xs, dropout)?;
        }
        Ok(xs)
    }
}

/// Mean of the token vectors over real (unmasked) tokens: `(batch, len, h)` → `(batch, h)`.
pub fn mean_pool(hidden: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let summed = hidden.broadcast_mul(&mask.unsqueeze(D::Minus1)?)?.sum(1)?;
    let counts = mask.sum_keepdim(1)?.clamp(1e-9, f64::MAX)?;
    summed.broadcast_div(&counts)
}

/// Scales each row to unit length (how sentence-transformers publishes embeddings).
pub fn l2_normalize(xs: &Tensor) -> Result<Tensor> {
    let norm = xs
        .sqr()?
        .sum_keepdim(D::Minus1)?
        .sqrt()?
        .clamp(1e-12, f64::MAX)?;
    xs.broadcast_div(&norm)
}
