//! Text classification: any BERT-shaped classifier of the model catalogue (the shipped one is
//! all-MiniLM-L6-v2 fine-tuned on SST-2, 8-bit weights, labels negative / positive).
//!
//! One code path for native and wasm32: [`spec`] (the model's shape and labels, from its
//! `model.toml`) → [`tokenizer`] → [`bert`] encoder → pooling (the mean of the tokens, or
//! `[CLS]` through the pooler) → linear head ([`model`]) → softmax or sigmoid ([`scoring`]);
//! [`explain`] scores words. Weights come from f32
//! safetensors / a `VarMap` (training, golden tests) or the shipped GGUF file ([`weights`]).

pub mod batching;
pub mod bert;
pub mod classifier;
pub mod explain;
pub mod file;
pub mod layers;
pub mod model;
pub(crate) mod q8_0;
pub mod reading;
pub mod scoring;
pub mod spec;
#[cfg(test)]
mod tiny;
pub mod tokenizer;
pub mod weights;

pub use bert::BertConfig;
pub use classifier::TextClassifier;
pub use explain::ExplanationPlan;
pub use layers::{Dropout, NoDropout};
pub use model::{Batch, TextModel};
pub use spec::{Pooling, SpecError, TextModelSpec};
pub use tokenizer::{TextTokenizer, Tokens};
pub use weights::{MatmulMode, QuantizedWeights, Weights};
pub use wire::engine::{LabelScore, TextExplanation, TextPrediction, WordContribution};
