//! What the GPU tests share: the adapter (or why there is none), deterministic inputs and the
//! error measure they are judged by.

#![allow(dead_code)] // each test file uses what it needs

use model_wasm::gpu::Gpu;

/// The machine's first adapter (lavapipe where there is no GPU), or None after
/// [`super::cannot_run`] says why (under CI, that fails the test instead).
pub fn gpu() -> Option<Gpu> {
    match pollster::block_on(Gpu::new()) {
        Ok(gpu) => {
            eprintln!(
                "GPU tests on {} ({:?})",
                gpu.adapter.name, gpu.adapter.backend
            );
            Some(gpu)
        }
        Err(e) => {
            super::cannot_run(&format!(
                "no GPU adapter ({e}); install mesa-vulkan-drivers for lavapipe"
            ));
            None
        }
    }
}

/// Deterministic values in [-scale, scale] (no RNG crate needed for a test input).
pub fn values(n: usize, seed: u32, scale: f32) -> Vec<f32> {
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state as f32 / u32::MAX as f32 * 2.0 - 1.0) * scale
        })
        .collect()
}

/// ‖ours − reference‖ / ‖reference‖.
pub fn relative_l2(ours: &[f32], reference: &[f32]) -> f32 {
    assert_eq!(ours.len(), reference.len(), "compared values");
    let diff: f32 = ours
        .iter()
        .zip(reference)
        .map(|(a, b)| (a - b).powi(2))
        .sum();
    let norm: f32 = reference.iter().map(|b| b * b).sum();
    (diff / norm).sqrt()
}
