//! What the inference engine answers, as the worker hands it to the page (JSON-compatible JS
//! objects) and as native callers (eval, the native reference, the server's checks) read it.
//! Field names are part of the contract with `public/` and `app/`: rename none.

use serde::{Deserialize, Serialize};

/// One label's probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelScore {
    /// The label's id, as in the model's `[[labels]]` (e.g. `"positive"`).
    pub label: String,
    /// Its probability, 0–1: softmax over the labels (they sum to 1), or for a multi-label
    /// model the label's own sigmoid.
    pub score: f32,
}

/// A text classifier's answer for one text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextPrediction {
    /// The most likely label's id.
    pub label: String,
    /// That label's probability (the same number as its entry in `scores`).
    pub score: f32,
    /// Every label's probability, in the model's label order (as listed in its manifest).
    pub scores: Vec<LabelScore>,
    /// The text was longer than the model reads (its `max_tokens`) and only its start was used.
    pub truncated: bool,
}

/// The answer for a text the model cannot read, given instead of a label: most of its writing is
/// in a script none of the model's languages use, or most of its word pieces are unknown to the
/// model's vocabulary. A label there would be a guess.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Unreadable {
    /// Always true: what tells this answer apart from a [`TextPrediction`].
    pub unreadable: bool,
    /// The model that was asked.
    pub model: String,
    /// The text's main script (`latin`, `han`, `kana`, `hangul`, `cyrillic`, `greek`, `arabic`,
    /// `hebrew`, `devanagari`, `thai`, `other`), or none when it has no letters.
    pub script: Option<String>,
    /// Why: the text is written in a script none of `languages` use, or it is in one they use
    /// but most of its word pieces are unknown to the vocabulary.
    pub reason: UnreadableReason,
    /// The languages the model reads (its manifest's `languages`, e.g. `["en"]`).
    pub languages: Vec<String>,
    /// The share of the text's word pieces the vocabulary does not know (0–1).
    pub unknown_share: f32,
    /// Catalogue text models with the same labels that read the text's script: where a tap can
    /// send it.
    #[serde(default)]
    pub readers: Vec<String>,
    /// The same in a sentence, in English, for logs and SDK users.
    pub message: String,
}

/// Why a text gets no label: `"script"` or `"unknown-words"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnreadableReason {
    /// Its main script is one none of the model's languages is written in.
    Script,
    /// At least half of its word pieces (of words with letters) are unknown to the vocabulary.
    UnknownWords,
}

/// How much one word of the text moved the answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WordContribution {
    /// The word as it appears in the text.
    pub word: String,
    /// Its byte range in the text (UTF-8 offsets, end exclusive).
    pub start: usize,
    pub end: usize,
    /// Its effect in log-odds of the explanation's `target` label: above zero the word pushed
    /// the text towards `target`, below zero away from it (towards the other labels).
    pub contribution: f32,
}

/// A prediction with per-word reasons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextExplanation {
    /// The answer for the whole text, as `classify` gives it.
    pub prediction: TextPrediction,
    /// The label the contributions are measured towards: the predicted one
    /// (`prediction.label`).
    pub target: String,
    /// Every word of the text, in order.
    pub words: Vec<WordContribution>,
}

/// One of an image classifier's most likely classes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageClass {
    /// The class's position in the model's output (ImageNet-1k: 0–999).
    pub index: u32,
    /// Its short name, from the labels the weights file carries.
    pub label: String,
    /// Its softmax probability, 0–1.
    pub score: f32,
}

/// What this build of the engine is and can do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineInfo {
    /// The engine crate's version, so the page can tell a stale cached worker from the current
    /// one.
    pub version: String,
    /// The CPU backend compiled in: `"wasm-simd"` in the browser, `"native"` elsewhere.
    pub cpu_backend: String,
    /// Whether the CPU kernels use 128-bit SIMD (wasm32 with `+simd128`, or native
    /// x86_64/aarch64).
    pub simd: bool,
    /// Threads the CPU kernels use: 1, except natively and in the browser's multi-threaded
    /// build once its pool is started.
    pub threads: usize,
}
