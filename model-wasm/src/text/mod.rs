//! Sentiment: all-MiniLM-L6-v2 fine-tuned on SST-2, shipped with 8-bit weights.
//!
//! One code path for native and wasm32: [`tokenizer`] → [`bert`] encoder → mean pooling →
//! linear head ([`model`]) → softmax. Weights come from f32 safetensors / a `VarMap` (training,
//! golden tests) or the shipped GGUF file ([`weights`]).

pub mod bert;
pub mod classifier;
pub mod file;
pub mod layers;
pub mod model;
pub(crate) mod q8_0;
pub mod tokenizer;
pub mod weights;

pub use bert::BertConfig;
pub use classifier::{
    Explanation, ExplanationPlan, Label, Prediction, TextClassifier, WordContribution,
};

pub use layers::{Dropout, NoDropout};
pub use model::{Batch, TextModel, NUM_LABELS};
pub use tokenizer::{TextTokenizer, Tokens, MAX_TOKENS};
pub use weights::{MatmulMode, QuantizedWeights, Weights};
