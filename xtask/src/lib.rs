//! `cargo xtask <command>`: every project task behind one entry point, each command in its own
//! module, named after it.
//!
//! Two binaries share this library. `xtask` (what `cargo xtask` runs) has the commands that
//! build, serve and test the site, and compiles in seconds: a newcomer's first
//! `cargo xtask serve` must not first compile the whole inference stack. The commands that run
//! models natively (train, quantize, eval, bench, native reference) are in `xtask-models`,
//! built with the `models` feature the first time one is asked for; `xtask` hands them over
//! (`models::run`), so every command is still `cargo xtask <command>`.

pub mod bench_feedback;
pub mod bench_slow_clients;
pub mod catalogue;
pub mod e2e_imported;
pub mod fresh_registry;
pub mod http_load;
pub mod import_fixtures;
pub mod models;
pub mod project;
pub mod python_venv;
pub mod serve;
pub mod site_build;
pub mod test_suite;
pub mod threads_build;
pub mod toolchain;
pub mod wheels;

#[cfg(feature = "models")]
pub mod bench;
#[cfg(feature = "models")]
pub mod bench_ort;
#[cfg(feature = "models")]
pub mod checkpoint;
#[cfg(feature = "models")]
pub mod convert_image_model;
#[cfg(feature = "models")]
pub mod eval_image;
#[cfg(feature = "models")]
pub mod eval_sentiment;
#[cfg(feature = "models")]
pub mod eval_tsv;
#[cfg(feature = "models")]
pub mod image_layers;
#[cfg(feature = "models")]
pub mod import_image;
#[cfg(feature = "models")]
pub mod import_model;
#[cfg(feature = "models")]
pub mod import_text;
#[cfg(feature = "models")]
pub mod native_reference;
#[cfg(feature = "models")]
pub mod predict;
#[cfg(feature = "models")]
pub mod pth;
#[cfg(feature = "models")]
pub mod quantize_sentiment;
#[cfg(feature = "models")]
pub mod train_sentiment;
