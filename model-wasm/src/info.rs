//! What this build of the inference engine can do, reported to the page by the worker.

pub use wire::engine::EngineInfo;

pub fn engine_info() -> EngineInfo {
    EngineInfo {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        cpu_backend: if cfg!(target_arch = "wasm32") {
            "wasm-simd"
        } else {
            "native"
        }
        .to_owned(),
        simd: cfg!(any(
            target_feature = "simd128",
            target_arch = "x86_64",
            target_arch = "aarch64"
        )),
        threads: crate::parallel::threads(),
    }
}
