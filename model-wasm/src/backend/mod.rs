//! Which backend answers a model's requests: wasm SIMD on the CPU, or the GPU through WebGPU.
//!
//! [`verification`] is the GPU path's check against the CPU path: both answer a fixed probe and
//! must agree. [`choice`] is the policy: from what the worker has found out so far (the SDK's
//! preference, the adapter, the check's verdict, timings) it names the next thing to find out,
//! or the backend to answer on and what to remember. Both are plain Rust, tested natively (the
//! check also on lavapipe, `tests/gpu_check.rs`); `public/sdk/worker.js` only asks the browser
//! for what they need (its WebGPU adapter, `performance.now()`), schedules the trial and stores
//! the remembered choice.

pub mod choice;
pub mod verification;

use serde::{Deserialize, Serialize};

pub use choice::{
    choose_backend, AdapterFacts, AdapterSkip, Choice, Decision, Facts, Preference, Reason, Record,
    Stage, Timing, TIMED_RUNS, WARMUP_RUNS,
};
pub use verification::{
    compare_logits, compare_text, probe_image, text_probe, Disagreement, Verdict, IMAGE_TOLERANCE,
    PROBE_IMAGE_SIDE, TEXT_PROBE, TEXT_TOLERANCE,
};

/// A backend, as results, `ready` events and the remembered choice name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Backend {
    /// The CPU: wasm SIMD in the browser (8-bit activations).
    #[serde(rename = "wasm-simd")]
    Wasm,
    /// The GPU through WebGPU (f32).
    #[serde(rename = "webgpu")]
    WebGpu,
}
