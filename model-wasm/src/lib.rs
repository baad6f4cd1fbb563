//! On-device inference for Vitrine.
//!
//! Everything here compiles for the host (native eval, benchmarks, tests) and for
//! `wasm32-unknown-unknown` (the browser worker), so both run exactly the same model code.

pub mod backend;
pub mod checksum;
pub mod error;
#[cfg(feature = "gpu")]
pub mod gpu;
pub mod image;
pub mod info;
pub mod int8_matmul;
pub mod matmul;
pub mod parallel;
pub mod text;

#[cfg(target_arch = "wasm32")]
pub mod worker;

pub use error::ModelError;
