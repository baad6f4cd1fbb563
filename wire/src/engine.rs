//! What the inference engine answers (placeholder copy; replaced by the engine branch's).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelScore {
    pub label: String,
    pub score: f32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextPrediction {
    pub label: String,
    pub score: f32,
    pub scores: Vec<LabelScore>,
    pub truncated: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WordContribution {
    pub word: String,
    pub start: usize,
    pub end: usize,
    pub contribution: f32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextExplanation {
    pub prediction: TextPrediction,
    pub target: String,
    pub words: Vec<WordContribution>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageClass {
    pub index: u32,
    pub label: String,
    pub score: f32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngineInfo {
    pub version: String,
    pub cpu_backend: String,
    pub simd: bool,
    pub threads: usize,
}
