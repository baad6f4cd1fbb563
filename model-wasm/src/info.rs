//! What this build of the inference engine can do, reported to the page by the worker.

use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EngineInfo {
    /// Crate version, so the page can tell a stale cached worker from the current one.
    pub version: &'static str,
    /// The CPU backend compiled into this build.
    pub cpu_backend: &'static str,
    /// Whether this build uses 128-bit SIMD (wasm32 with `+simd128`, or any native x86_64/aarch64).
    pub simd: bool,
    /// Threads the CPU kernels use: 1, except natively and in the browser's multi-threaded
    /// build once its pool is started.
    pub threads: usize,
}

pub fn engine_info() -> EngineInfo {
    EngineInfo {
        version: env!("CARGO_PKG_VERSION"),
        cpu_backend: if cfg!(target_arch = "wasm32") {
            "wasm-simd"
        } else {
            "native"
        },
        simd: cfg!(any(
            target_feature = "simd128",
            target_arch = "x86_64",
            target_arch = "aarch64"
        )),
        threads: crate::parallel::threads(),
    }
}
