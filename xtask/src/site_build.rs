//! `cargo xtask build`: the release site in `dist/`, built offline by Trunk and pre-compressed
//! (brotli + gzip) for the server, with a size report; then the multi-threaded engine beside it
//! (`threads_build`). `cargo xtask serve` starts serving between the two: the single-thread site
//! is complete on its own (the worker falls back to it), and the threaded engine, the slowest
//! part of a first build (a nightly std), joins it in the background.
//!
//! Trunk builds offline, so every crate any target needs is fetched first (`cargo fetch`): on a
//! fresh machine nothing else would have fetched the wasm32-only ones.
//!
//! A fingerprint of every input (paths, sizes, modification times) is kept in
//! `dist/.vitrine-build` (and `dist/.vitrine-threads` once the threaded engine is in); when
//! nothing changed the build is skipped, so a second `cargo xtask serve` starts in seconds
//! instead of re-running wasm-opt.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::UNIX_EPOCH;

use anyhow::{Context, Result};

use crate::project::{cargo, parallel, root, run, run_logged, step, Job};
use crate::toolchain;

const INPUTS: &[&str] = &[
    "app",
    "model-wasm/src",
    "model-wasm/Cargo.toml",
    "assets",
    "public",
    "Cargo.toml",
    "Cargo.lock",
    "Trunk.toml",
];
const STAMP: &str = ".vitrine-build";
/// Written once the multi-threaded engine is in `dist/` too.
const THREADS_STAMP: &str = ".vitrine-threads";
/// Where the threaded engine is assembled and compressed before one rename puts it in place,
/// so a server already serving `dist/` never hands out half of it.
const THREADS_STAGING: &str = "sdk/.threads-staging";

/// The cargo builds Trunk runs for `app/index.html`'s two Rust assets, as its `cargo_build`
/// spells them (target, manifest, profile, bin, features, offline). Running them first, while
/// the build tools still compile, leaves Trunk nothing to compile; a mismatch only costs time.
pub const TRUNK_CARGO_BUILDS: &[WasmBuild] = &[
    WasmBuild {
        manifest: "app/Cargo.toml",
        profile: "wasm-ui",
        bin: Some("app"),
        features: None,
    },
    WasmBuild {
        manifest: "model-wasm/Cargo.toml",
        profile: "wasm-model",
        bin: None,
        features: Some("gpu"),
    },
];

/// One wasm32 cargo build of the site.
pub struct WasmBuild {
    pub manifest: &'static str,
    pub profile: &'static str,
    pub bin: Option<&'static str>,
    pub features: Option<&'static str>,
}

impl WasmBuild {
    /// `--manifest-path … [--features …]`: what selects the crates this build needs.
    pub fn selection(&self) -> Vec<&'static str> {
        let mut args = vec!["--manifest-path", self.manifest];
        if let Some(features) = self.features {
            args.extend(["--features", features]);
        }
        args
    }
}
/// File types worth compressing; images and already-compressed formats are not.
const COMPRESSIBLE: &[&str] = &[
    "html",
    "js",
    "css",
    "wasm",
    "json",
    "svg",
    "txt",
    "webmanifest",
    "map",
    "toml",
    "bin",
    "gguf",
    "safetensors",
];

pub fn dist() -> PathBuf {
    root().join("dist")
}

/// Builds the whole site, threaded engine included, unless `dist/` is already up to date with
/// its inputs (or `force`).
pub fn build(force: bool) -> Result<()> {
    let fingerprint = build_single_thread(force)?;
    add_threaded_engine(&fingerprint, force)
}

/// Whether `dist/<stamp>` records `fingerprint`.
fn stamped(stamp: &str, fingerprint: &str) -> bool {
    std::fs::read_to_string(dist().join(stamp)).ok().as_deref() == Some(fingerprint)
}

/// The site with the single-thread engine, complete and servable, unless `dist/` already is
/// (or `force`). Returns the inputs' fingerprint, for [`add_threaded_engine`].
pub fn build_single_thread(force: bool) -> Result<String> {
    let fingerprint = inputs_fingerprint()?;
    if !force && stamped(STAMP, &fingerprint) {
        step("site is up to date (dist/)");
        return Ok(fingerprint);
    }
    // The tools and the two wasm compiles side by side: each has stretches on one core
    // (linking, fat LTO) that the others fill.
    parallel(vec![
        Box::new(toolchain::ensure_build_tools),
        Box::new(|| {
            fetch_dependencies()?;
            parallel(TRUNK_CARGO_BUILDS.iter().map(precompile_wasm).collect())
        }),
    ])?;
    run(
        "building the release site with Trunk (offline: wasm-bindgen and wasm-opt; about a minute once compiled)",
        Command::new("trunk")
            .args(["build", "--release"])
            .env("PATH", toolchain::tool_path()?),
    )?;
    write_model_manifest(&dist().join("models"))?;
    write_precache_list(&dist())?;
    step("pre-compressing dist/ (brotli + gzip)");
    let files = precompress(&dist())?;
    report_sizes(&files);
    std::fs::write(dist().join(STAMP), &fingerprint)?;
    Ok(fingerprint)
}

/// Builds the multi-threaded engine into `dist/sdk/threads/` (compressed, in the offline list)
/// unless it is already there for `fingerprint`. Safe while the server serves `dist/`.
pub fn add_threaded_engine(fingerprint: &str, force: bool) -> Result<()> {
    let out = dist().join(crate::threads_build::DIST_SUBDIR);
    if !force && stamped(THREADS_STAMP, fingerprint) && out.exists() {
        step("multi-threaded engine is up to date (dist/sdk/threads/)");
        return Ok(());
    }
    let staging = dist().join(THREADS_STAGING);
    if staging.exists() {
        std::fs::remove_dir_all(&staging)?;
    }
    crate::threads_build::build(&staging)?;
    let files = precompress(&staging)?;
    if out.exists() {
        std::fs::remove_dir_all(&out)?;
    }
    std::fs::rename(&staging, &out)
        .with_context(|| format!("moving the engine to {}", out.display()))?;
    let files: Vec<BuiltFile> = files
        .into_iter()
        .map(|f| BuiltFile {
            path: out.join(f.path.strip_prefix(&staging).unwrap_or(&f.path)),
            ..f
        })
        .collect();
    write_precache_list(&dist())?;
    report_sizes(&files);
    std::fs::write(dist().join(THREADS_STAMP), fingerprint)?;
    Ok(())
}

/// Every crate that any target and feature of the workspace needs, as the lockfile pins them:
/// Trunk's builds are offline, and on a fresh machine nothing else fetches the wasm32-only ones.
pub fn fetch_dependencies() -> Result<()> {
    run_logged(
        "fetching every crate the build needs, for all targets (cargo fetch --locked; a minute on a fresh machine)",
        &mut fetch_command(),
    )
}

/// The fetch [`fetch_dependencies`] runs (the fresh-registry check runs it in another
/// `CARGO_HOME`).
pub fn fetch_command() -> Command {
    let mut cmd = cargo();
    cmd.args(["fetch", "--locked"]);
    cmd
}

/// One of Trunk's own cargo builds ([`TRUNK_CARGO_BUILDS`]), run ahead of it.
fn precompile_wasm(build: &'static WasmBuild) -> Job<'static> {
    Box::new(move || {
        let mut cmd = cargo();
        cmd.args([
            "build",
            "--target=wasm32-unknown-unknown",
            "--offline",
            "--locked",
        ])
        .args(build.selection())
        .args(["--profile", build.profile]);
        if let Some(bin) = build.bin {
            cmd.args(["--bin", bin]);
        }
        run_logged(
            &format!(
                "compiling {} for the browser (profile {}; 3–6 minutes from scratch)",
                build.manifest.trim_end_matches("/Cargo.toml"),
                build.profile
            ),
            &mut cmd,
        )
    })
}

/// A copy of the built site in `out` with the catalogue folders under `extra` added to its
/// models, exactly as a deployer adds one: a folder with a `model.toml`, whose weights (named by
/// its first `[[files]]` entry) are taken from the catalogue folder `weights_from`, with their
/// sha256 and size recorded, and the `complete` folders (weights and all, e.g. what
/// `import-model` wrote) as they are. The catalogue, precache list and their compressed copies are then
/// written as `build` writes them. The e2e suite serves it to show that a model joins every part
/// of the site by its folder alone.
pub fn stage_with_extra_models(
    out: &Path,
    extra: &Path,
    weights_from: &str,
    complete: &[PathBuf],
) -> Result<()> {
    if out.exists() {
        std::fs::remove_dir_all(out)?;
    }
    crate::project::copy_dir(&dist(), out, &|_| false)?;
    let (weights, _) = crate::catalogue::model(weights_from)?.weight_bytes()?;
    for entry in std::fs::read_dir(extra).with_context(|| format!("reading {}", extra.display()))? {
        let from = entry?.path();
        let Some(id) = from.file_name() else { continue };
        let folder = out.join("models").join(id);
        crate::project::copy_dir(&from, &folder, &|_| false)?;
        let manifest: wire::catalog::ModelManifest =
            toml::from_str(&std::fs::read_to_string(folder.join("model.toml"))?)
                .with_context(|| format!("{}/model.toml", from.display()))?;
        let name = &manifest
            .files
            .first()
            .context("the fixture lists no file")?
            .name;
        std::fs::write(folder.join(name), &weights)?;
        crate::catalogue::record_file(&folder, name, &weights)?;
    }
    for from in complete {
        let id = from.file_name().context("a model folder has a name")?;
        crate::project::copy_dir(from, &out.join("models").join(id), &|_| false)?;
    }
    write_model_manifest(&out.join("models"))?;
    compress_file(&out.join("models/manifest.json"))?;
    write_precache_list(out)
}

/// `models/manifest.json`: the catalogue as the browser reads it ([`wire::catalog::Catalogue`]),
/// from the model folders Trunk copied into `dist/models/`. Each folder is checked again there
/// (sha256 and size of every file), so a stale digest never ships.
fn write_model_manifest(models_dir: &Path) -> Result<()> {
    let models = crate::catalogue::load_from(models_dir)?;
    let catalogue = crate::catalogue::browser_catalogue(&models)?;
    std::fs::write(
        models_dir.join("manifest.json"),
        serde_json::to_vec_pretty(&catalogue)?,
    )?;
    Ok(())
}

/// `precache.json`: what the kiosk's service worker (`public/sw.js`) stores for offline use —
/// every built file except the models (the worker's own model cache holds those) and the service
/// worker itself — plus a version that changes with any file's content, so a new deployment
/// refreshes the stored copies. Written before pre-compression: `.br`/`.gz` are not files a
/// browser asks for.
fn write_precache_list(dir: &Path) -> Result<()> {
    let mut all = Vec::new();
    collect(dir, &mut all)?;
    let mut files = Vec::new();
    let mut digests = String::new();
    for (path, _, _) in all {
        let path = PathBuf::from(path);
        let rel = path
            .strip_prefix(dir)
            .with_context(|| format!("{} is outside dist/", path.display()))?
            .to_string_lossy()
            .replace('\\', "/");
        if !precached(&rel) {
            continue;
        }
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        digests.push_str(&format!("{rel} {}\n", crate::project::sha256_hex(&bytes)));
        files.push(format!("/{rel}"));
    }
    files.sort();
    let version = crate::project::sha256_hex(digests.as_bytes());
    let list = serde_json::json!({ "version": &version[..16], "files": files });
    // Written aside and renamed (with its compressed copies): the server may be serving it.
    let path = dir.join("precache.json");
    let written = dir.join("precache.json.new");
    std::fs::write(&written, serde_json::to_vec_pretty(&list)?)?;
    std::fs::rename(&written, &path)?;
    compress_file(&path)?;
    Ok(())
}

/// Whether the service worker should store `rel` (a path inside `dist/`).
fn precached(rel: &str) -> bool {
    let skipped_ext = [".br", ".gz", ".md", ".sha256"];
    !(rel.starts_with("models/")
        || rel.starts_with(THREADS_STAGING)
        || rel == STAMP
        || rel == THREADS_STAMP
        || rel.ends_with(".new")
        || rel == "sw.js"
        || rel == "precache.json"
        || skipped_ext.iter().any(|ext| rel.ends_with(ext)))
}

fn inputs_fingerprint() -> Result<String> {
    let mut entries = Vec::new();
    for input in INPUTS {
        collect(&root().join(input), &mut entries)?;
    }
    entries.sort();
    let mut hasher = DefaultHasher::new();
    entries.hash(&mut hasher);
    Ok(format!("{:016x}", hasher.finish()))
}

fn collect(path: &Path, out: &mut Vec<(String, u64, u128)>) -> Result<()> {
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(());
    };
    if meta.is_dir() {
        for entry in std::fs::read_dir(path)? {
            collect(&entry?.path(), out)?;
        }
    } else {
        let mtime = meta
            .modified()?
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        out.push((path.to_string_lossy().into_owned(), meta.len(), mtime));
    }
    Ok(())
}

/// One row of the size report.
pub struct BuiltFile {
    pub path: PathBuf,
    pub raw: u64,
    pub gzip: u64,
    pub brotli: u64,
}

fn precompress(dir: &Path) -> Result<Vec<BuiltFile>> {
    let mut files = Vec::new();
    let mut all = Vec::new();
    collect(dir, &mut all)?;
    for (path, _, _) in all {
        let path = PathBuf::from(path);
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default();
        if COMPRESSIBLE.contains(&ext) {
            files.push(compress_file(&path)?);
        }
    }
    Ok(files)
}

/// Writes `path.gz` and `path.br` beside `path` (each aside, then renamed into place).
fn compress_file(path: &Path) -> Result<BuiltFile> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let raw = bytes.len() as u64;
    let gz = gzip(&bytes)?;
    let br = brotli(&bytes, raw)?;
    for (suffix, data) in [("gz", &gz), ("br", &br)] {
        let target = with_suffix(path, suffix);
        let written = with_suffix(&target, "new");
        std::fs::write(&written, data)?;
        std::fs::rename(&written, &target)?;
    }
    Ok(BuiltFile {
        path: path.to_owned(),
        raw,
        gzip: gz.len() as u64,
        brotli: br.len() as u64,
    })
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".");
    s.push(suffix);
    PathBuf::from(s)
}

pub fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes)?;
    Ok(enc.finish()?)
}

fn brotli(bytes: &[u8], size: u64) -> Result<Vec<u8>> {
    // Quality 11 is worth its time for code; for multi-megabyte model weights it is minutes of
    // CPU for a percent or two, so large files use 9.
    let quality = if size > 4 << 20 { 9 } else { 11 };
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality,
        lgwin: 22,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params)?;
    Ok(out)
}

fn report_sizes(files: &[BuiltFile]) {
    let mut files: Vec<&BuiltFile> = files.iter().collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.raw));
    eprintln!(
        "{:<52} {:>10} {:>10} {:>10}",
        "file", "raw", "gzip", "brotli"
    );
    let dist = dist();
    for f in &files {
        let name = f
            .path
            .strip_prefix(&dist)
            .unwrap_or(&f.path)
            .display()
            .to_string();
        eprintln!(
            "{:<52} {:>10} {:>10} {:>10}",
            name,
            kib(f.raw),
            kib(f.gzip),
            kib(f.brotli)
        );
    }
    let code = |f: &&&BuiltFile| {
        matches!(
            f.path.extension().and_then(|e| e.to_str()),
            Some("wasm" | "js" | "css")
        )
    };
    let (raw, gz, br) = files.iter().filter(code).fold((0, 0, 0), |(r, g, b), f| {
        (r + f.raw, g + f.gzip, b + f.brotli)
    });
    eprintln!(
        "{:<52} {:>10} {:>10} {:>10}",
        "total wasm + js + css",
        kib(raw),
        kib(gz),
        kib(br)
    );
}

fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::precached;

    #[test]
    fn the_offline_shell_leaves_out_models_and_build_leftovers() {
        assert!(precached("index.html"));
        assert!(precached("app-0123456789abcdef_bg.wasm"));
        assert!(precached("sdk/model-wasm_bg.wasm"));
        assert!(precached("samples/owl.jpg"));
        assert!(!precached("models/sentiment-minilm-l6-sst2-q8.gguf"));
        assert!(!precached("models/manifest.json"));
        assert!(!precached("app-0123456789abcdef_bg.wasm.br"));
        assert!(!precached(".vitrine-build"));
        assert!(!precached("sw.js"));
    }
}
