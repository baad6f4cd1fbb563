//! The browser's multi-threaded inference engine, `dist/sdk/threads/`: model-wasm with its
//! `threads` feature, built on nightly with atomics and a std rebuilt for them (`-Z build-std`),
//! as wasm-bindgen-rayon requires. `public/sdk/worker.js` loads it only on cross-origin
//! isolated pages (the server sends COOP/COEP there) and falls back to Trunk's single-thread
//! `dist/sdk/model-wasm.js` everywhere else, or if anything here fails to load.
//!
//! Trunk replaces `dist/` on every site build, so the finished files are kept under
//! `target/threads/sdk/` with the digest of the wasm they came from and copied in: when
//! cargo finds nothing to rebuild, wasm-bindgen and wasm-opt do not run again either.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result};

use crate::project::{root, run, run_logged, step};
use crate::toolchain;

/// Where the worker looks for this build, inside `dist/`.
pub const DIST_SUBDIR: &str = "sdk/threads";
/// The same engine as Trunk's (WebGPU included), plus the rayon pool.
const FEATURES: &str = "threads,gpu";
/// wasm-bindgen-rayon's requirements (atomics, bulk-memory; mutable-globals for the thread
/// stack pointer) plus the SIMD every build uses (`.cargo/config.toml`, which RUSTFLAGS
/// replaces, so it is repeated here), plus relaxed SIMD: the fused multiply-add of the f32
/// GEMM (vendor/gemm-f32, 10% faster image model in V8). Not every browser with wasm threads
/// has relaxed SIMD: the worker checks both before loading this build and falls back to the
/// single-thread baseline build otherwise.
const RUSTFLAGS: &str =
    "-C target-feature=+atomics,+bulk-memory,+mutable-globals,+simd128,+relaxed-simd";
/// Linker arguments for a module whose threads share one memory. rustc stopped implying them
/// from `+atomics` (rust-lang/rust#147225; `__heap_base` since #156174): without them the memory
/// is private and wasm-bindgen emits single-thread glue ("Memory could not be cloned"). Only
/// the final link needs them, so they go to model-wasm's own rustc call, and the std and
/// dependency builds stay cached when they change. 1 GiB of address space, as rustc used to set.
const SHARED_MEMORY_LINK_ARGS: &[&str] = &[
    "--shared-memory",
    "--max-memory=1073741824",
    "--import-memory",
    "--export=__wasm_init_tls",
    "--export=__tls_size",
    "--export=__tls_align",
    "--export=__tls_base",
    "--export=__heap_base",
];
/// What the optimiser may assume: the features the code was compiled with. wasm-opt must be
/// told about threads, or it rejects the shared memory and atomic instructions.
const WASM_OPT_FEATURES: &[&str] = &[
    "--enable-threads",
    "--enable-bulk-memory",
    "--enable-simd",
    "--enable-mutable-globals",
    "--enable-sign-ext",
    "--enable-nontrapping-float-to-int",
    "--enable-reference-types",
    "--enable-multivalue",
];
const DIGEST_FILE: &str = ".source-sha256";

fn target_dir() -> PathBuf {
    // Its own target dir: another toolchain and other flags would otherwise invalidate the
    // stable builds' artifacts on every alternation.
    root().join("target/threads")
}

/// Builds (or reuses) the multi-threaded engine and puts it into `out` (which the site build
/// then moves to `dist/`[`DIST_SUBDIR`]).
pub fn build(out: &Path) -> Result<()> {
    let started = Instant::now();
    toolchain::ensure_nightly()?;
    let wasm = compile()?;
    let cached = target_dir().join("sdk");
    let digest = crate::project::sha256_hex(
        &std::fs::read(&wasm).with_context(|| format!("reading {}", wasm.display()))?,
    );
    let up_to_date = std::fs::read_to_string(cached.join(DIGEST_FILE)).ok() == Some(digest.clone());
    if up_to_date {
        step("multi-threaded engine unchanged: reusing its wasm-bindgen + wasm-opt output");
    } else {
        if cached.exists() {
            std::fs::remove_dir_all(&cached)?;
        }
        bindgen(&wasm, &cached)?;
        optimise(&cached.join("model-wasm_bg.wasm"))?;
        std::fs::write(cached.join(DIGEST_FILE), &digest)?;
    }
    if out.exists() {
        std::fs::remove_dir_all(out)?;
    }
    crate::project::copy_dir(&cached, out, &|name| name == DIGEST_FILE)?;
    step(&format!(
        "multi-threaded engine built in {}",
        crate::project::minutes_seconds(started.elapsed())
    ));
    Ok(())
}

/// `cargo rustc` on nightly with build-std; returns the `.wasm` it wrote.
fn compile() -> Result<PathBuf> {
    let mut cmd = nightly_cargo("rustc");
    cmd.arg("--").args(
        SHARED_MEMORY_LINK_ARGS
            .iter()
            .flat_map(|arg| ["-C".to_owned(), format!("link-arg={arg}")]),
    );
    run_logged(
        &format!(
            "compiling the multi-threaded engine ({}, atomics, build-std; 5–10 minutes from scratch)",
            toolchain::nightly_toolchain()
        ),
        &mut cmd,
    )?;
    Ok(target_dir().join("wasm32-unknown-unknown/wasm-model/model_wasm.wasm"))
}

/// Clippy on the code only this build compiles (the `threads` feature), warnings as errors:
/// the stable lints in `cargo xtask test` never see it.
pub fn lint() -> Result<()> {
    toolchain::ensure_nightly()?;
    let mut cmd = nightly_cargo("clippy");
    cmd.args(["--", "-D", "warnings"]);
    run(
        "linting the multi-threaded engine (nightly clippy, threads feature, warnings are errors)",
        &mut cmd,
    )
}

/// `cargo <subcommand>` for model-wasm with this build's toolchain, features, flags and target
/// directory (the lint's check artifacts sit next to the build's, std included).
fn nightly_cargo(subcommand: &str) -> Command {
    let toolchain = toolchain::nightly_toolchain();
    // Low priority: `serve` builds this in the background while the site is already in use.
    let mut cmd = crate::project::at_low_priority("rustup");
    cmd.args(["run", &toolchain, "cargo", subcommand, "--locked"])
        .args(["-p", "model-wasm", "--lib", "--features", FEATURES])
        .args([
            "--target",
            "wasm32-unknown-unknown",
            "--profile",
            "wasm-model",
        ])
        .args(["-Z", "build-std=panic_abort,std"])
        .env("CARGO_TARGET_DIR", target_dir())
        .env("RUSTFLAGS", RUSTFLAGS)
        // Set by the `cargo xtask` that runs us; they would pin the stable toolchain or flags.
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("RUSTC")
        .env_remove("CARGO")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    cmd
}

/// JS glue for `--target web` (wasm-bindgen-rayon needs it to hand the module to its workers),
/// named like Trunk's single-thread files so the worker imports either the same way.
fn bindgen(wasm: &Path, out: &Path) -> Result<()> {
    run_logged(
        "wasm-bindgen for the multi-threaded engine",
        Command::new("wasm-bindgen")
            .args([
                "--target",
                "web",
                "--no-typescript",
                "--out-name",
                "model-wasm",
            ])
            .arg("--out-dir")
            .arg(out)
            .arg(wasm)
            .env("PATH", toolchain::tool_path()?),
    )
}

/// wasm-opt's level for the engine, here and in `app/index.html` (`data-wasm-opt`, checked by a
/// test). LLVM has already optimised it whole (fat LTO, opt-level 3); on top of that -O1 measured
/// no slower than -O3 in Chromium (single-thread engine, 3 alternating rounds on a quiet machine:
/// sentiment 11.9–12.8 ms vs 15.0–22.0 ms per sentence, image 30.7–32.7 vs 31.2–31.4 ms),
/// 1.2% smaller gzipped (1.32 vs 1.34 MB), and it takes 21 CPU-s instead of 87, on the critical
/// path of a newcomer's first `serve`.
pub const ENGINE_WASM_OPT_LEVEL: &str = "1";

/// The project's pinned wasm-opt (npm binaryen), at [`ENGINE_WASM_OPT_LEVEL`].
fn optimise(wasm: &Path) -> Result<()> {
    run_logged(
        &format!(
            "wasm-opt -O{ENGINE_WASM_OPT_LEVEL} for the multi-threaded engine (under a minute)"
        ),
        Command::new("wasm-opt")
            .arg(format!("-O{ENGINE_WASM_OPT_LEVEL}"))
            .args(WASM_OPT_FEATURES)
            .arg(wasm)
            .arg("-o")
            .arg(wasm)
            .env("PATH", toolchain::tool_path()?),
    )
}

#[cfg(test)]
mod tests {
    use super::ENGINE_WASM_OPT_LEVEL;

    /// Trunk's single-thread engine and this threaded one get the same wasm-opt level.
    #[test]
    fn trunk_optimises_the_engine_at_the_same_level() {
        let html = std::fs::read_to_string(crate::project::root().join("app/index.html"))
            .expect("app/index.html");
        let engine = html
            .split("<link")
            .find(|tag| tag.contains("model-wasm/Cargo.toml"))
            .expect("the engine's <link data-trunk rel=\"rust\">");
        assert!(
            engine.contains(&format!("data-wasm-opt=\"{ENGINE_WASM_OPT_LEVEL}\"")),
            "app/index.html's engine link must say data-wasm-opt=\"{ENGINE_WASM_OPT_LEVEL}\": {engine}"
        );
    }
}
