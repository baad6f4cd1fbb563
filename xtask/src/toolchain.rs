//! Installs exactly what is missing to build and test the site, and says precisely what to do
//! when it cannot. Every check is cheap, so `cargo xtask serve` on a ready machine costs nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Result};

use crate::project::{root, step};

pub const TRUNK_VERSION: &str = "0.21.14";
/// Must equal the `wasm-bindgen` crate version pinned in Cargo.toml.
pub const WASM_BINDGEN_VERSION: &str = "0.2.130";

/// Output of `program args…` if it ran and succeeded.
fn output_of(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn cargo_bin_dir() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"))
        .join("bin")
}

/// PATH with the project's pinned npm tools (wasm-opt from binaryen) first, so Trunk never
/// finds another wasm-opt, and cargo's bin dir for trunk and wasm-bindgen.
pub fn tool_path() -> Result<std::ffi::OsString> {
    let mut dirs = vec![root().join("e2e/node_modules/.bin"), cargo_bin_dir()];
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    Ok(std::env::join_paths(dirs)?)
}

/// Runs an install step (`what` says what and roughly how long), its output in a log file
/// since installs run side by side; on failure the error ends with `remedy`.
fn run(cmd: &mut Command, what: &str, remedy: &str) -> Result<()> {
    crate::project::run_logged(what, cmd).map_err(|e| anyhow::anyhow!("{e:#}. {remedy}"))
}

/// Environment for `cargo install` of a build tool, which a newcomer's first `serve` waits for:
/// the tools' own release profiles (trunk: fat LTO, one codegen unit) spend minutes optimising
/// code whose speed hardly shows, so they are installed unoptimised. Measured here: trunk takes
/// 224 CPU-s to install (450 at opt-level 1), wasm-bindgen 76; the unoptimised wasm-bindgen
/// writes the same bytes, in 2.1 s of CPU instead of 0.7 s for the 6 MB engine.
const QUICK_INSTALL_PROFILE: &[(&str, &str)] = &[
    ("CARGO_PROFILE_RELEASE_LTO", "off"),
    ("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16"),
    ("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0"),
];
pub fn ensure_wasm_target() -> Result<()> {
    let installed = output_of("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if installed
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        return Ok(());
    }
    run(
        Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]),
        "installing the Rust wasm32-unknown-unknown target (rustup, under a minute, once)",
        "Install rustup (https://rustup.rs) or add the target by hand, then run this again.",
    )
}

/// The toolchain of the browser's multi-threaded engine: building std with atomics needs
/// `-Z build-std`, which only nightly accepts. `VITRINE_NIGHTLY` picks another (e.g. a dated
/// `nightly-YYYY-MM-DD` when today's nightly is broken).
pub fn nightly_toolchain() -> String {
    std::env::var("VITRINE_NIGHTLY").unwrap_or_else(|_| PINNED_NIGHTLY.to_owned())
}

/// The nightly the threaded build is tested with (rustc 1.97.0-nightly e50aa6fba): a floating
/// `nightly` would change under CI from one day to the next, and build-std with atomics is the
/// part of Rust that changes most (see `threads_build.rs`).
const PINNED_NIGHTLY: &str = "nightly-2026-05-20";

/// What the threaded build needs of the nightly: the std sources `build-std` compiles, and
/// clippy for its lint (`cargo xtask test`).
const NIGHTLY_COMPONENTS: &[&str] = &["rust-src", "clippy"];

/// Installs the nightly toolchain and its [`NIGHTLY_COMPONENTS`] when any is missing. No wasm32
/// target is needed: build-std builds that std.
pub fn ensure_nightly() -> Result<()> {
    let toolchain = nightly_toolchain();
    let installed = output_of("rustup", &["toolchain", "list"]).unwrap_or_default();
    let has_toolchain = installed
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .any(|name| name == toolchain || name.starts_with(&format!("{toolchain}-")));
    if !has_toolchain {
        let mut install = Command::new("rustup");
        install.args(["toolchain", "install", &toolchain, "--profile", "minimal"]);
        for component in NIGHTLY_COMPONENTS {
            install.args(["--component", component]);
        }
        return run(
            &mut install,
            &format!(
                "installing the Rust {toolchain} toolchain with {} for the multi-threaded engine (rustup, about a minute, once)",
                NIGHTLY_COMPONENTS.join(" and ")
            ),
            "Check access to static.rust-lang.org, or set VITRINE_NIGHTLY to an installed nightly.",
        );
    }
    let components = output_of(
        "rustup",
        &[
            "component",
            "list",
            "--installed",
            "--toolchain",
            &toolchain,
        ],
    )
    .unwrap_or_default();
    for component in NIGHTLY_COMPONENTS {
        if components.lines().any(|l| l.trim().starts_with(component)) {
            continue;
        }
        run(
            Command::new("rustup").args(["component", "add", component, "--toolchain", &toolchain]),
            &format!("adding {component} to {toolchain} (rustup, once)"),
            "Check access to static.rust-lang.org, then run this again.",
        )?;
    }
    Ok(())
}

fn has_cargo_tool(binary: &str, version: &str) -> bool {
    let path = cargo_bin_dir().join(binary);
    let program = if path.exists() {
        path.to_string_lossy().into_owned()
    } else {
        binary.to_owned()
    };
    output_of(&program, &["--version"]).is_some_and(|v| v.split_whitespace().any(|w| w == version))
}

pub fn ensure_trunk() -> Result<()> {
    if has_cargo_tool("trunk", TRUNK_VERSION) {
        return Ok(());
    }
    // No default features: they are TLS and an update check, for downloads that our offline
    // builds never make.
    run(
        Command::new("cargo")
            .args(["install", "--locked", "trunk", "--version", TRUNK_VERSION])
            .arg("--no-default-features")
            .envs(QUICK_INSTALL_PROFILE.iter().copied()),
        &format!("installing trunk {TRUNK_VERSION} (cargo install, 2–4 minutes, once)"),
        "Check access to crates.io, then run this again.",
    )
}

pub fn ensure_wasm_bindgen() -> Result<()> {
    if has_cargo_tool("wasm-bindgen", WASM_BINDGEN_VERSION) {
        return Ok(());
    }
    // No --locked: the CLI's own lockfile pins a yanked crate. Only the `wasm-bindgen` binary
    // (not its test runner) and no default features (TLS for the runner's downloads).
    run(
        Command::new("cargo")
            .args([
                "install",
                "wasm-bindgen-cli",
                "--version",
                WASM_BINDGEN_VERSION,
            ])
            .args(["--no-default-features", "--bin", "wasm-bindgen"])
            .envs(QUICK_INSTALL_PROFILE.iter().copied()),
        &format!(
            "installing wasm-bindgen-cli {WASM_BINDGEN_VERSION} (cargo install, 1–2 minutes, once)"
        ),
        "Check access to crates.io, then run this again.",
    )
}

/// e2e/node_modules: playwright-core, axe-core and binaryen (our pinned wasm-opt).
pub fn ensure_node_modules() -> Result<()> {
    let e2e = root().join("e2e");
    let stamp = e2e.join("node_modules/.package-lock.json");
    if is_newer(&stamp, &e2e.join("package-lock.json")) {
        return Ok(());
    }
    if output_of("npm", &["--version"]).is_none() {
        bail!("npm is missing. Install Node.js 18+ with npm (Debian: `apt-get install -y nodejs npm`), then run this again.");
    }
    run(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&e2e),
        "installing e2e and build tools from npm (playwright-core, axe-core, binaryen; under a minute)",
        "Check access to the npm registry, then run this again.",
    )
}

/// Headless Chromium for the e2e suite: Debian's package, installed when we are root.
pub fn ensure_chromium() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM").map(PathBuf::from) {
        return Ok(path);
    }
    let path = PathBuf::from("/usr/bin/chromium");
    if path.exists() {
        return Ok(path);
    }
    if !is_root() {
        bail!("Chromium is needed for the browser tests: run `sudo apt-get install -y chromium` (or set CHROMIUM=/path/to/chromium), then run this again.");
    }
    apt_install(
        &["chromium"],
        "Install Chromium by hand or set CHROMIUM=/path/to/chromium.",
    )?;
    Ok(path)
}

/// Mesa's lavapipe (a Vulkan driver on the CPU), so the GPU kernels' tests run on machines
/// without a GPU. Installed with apt-get when missing and we are root; otherwise those tests
/// skip and say why.
pub fn ensure_lavapipe() -> Result<()> {
    let icd = Path::new("/usr/share/vulkan/icd.d");
    let present = std::fs::read_dir(icd).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("lvp_icd"))
    });
    if present {
        return Ok(());
    }
    if !is_root() {
        step("GPU kernel tests will skip: run `sudo apt-get install -y mesa-vulkan-drivers libvulkan1` to run them on the CPU");
        return Ok(());
    }
    apt_install(
        &["mesa-vulkan-drivers", "libvulkan1"],
        "Install them by hand; the GPU kernel tests need a Vulkan driver.",
    )
}

/// Installing system packages needs root; otherwise the callers say what to run instead.
fn is_root() -> bool {
    output_of("id", &["-u"]).is_some_and(|u| u.trim() == "0")
}

/// `apt-get update` then `apt-get install -y PACKAGES` (as root), with `remedy` on failure.
fn apt_install(packages: &[&str], remedy: &str) -> Result<()> {
    run(
        Command::new("apt-get").arg("update").arg("-qq"),
        &format!("apt-get update (before installing {})", packages.join(", ")),
        "Check access to Debian's package mirrors.",
    )?;
    run(
        Command::new("apt-get")
            .args(["install", "-y", "-qq"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive"),
        &format!("installing {} (apt-get)", packages.join(", ")),
        remedy,
    )
}

/// PostgreSQL from Debian's package, for the PostgreSQL half of the feedback tests and
/// `bench-feedback`. Installed when we are root; otherwise those parts skip with a loud message.
pub fn ensure_postgresql() -> Result<()> {
    let installed = std::fs::read_dir("/usr/lib/postgresql").is_ok_and(|versions| {
        versions
            .filter_map(|v| v.ok())
            .any(|v| v.path().join("bin/initdb").exists())
    });
    if installed {
        return Ok(());
    }
    if !is_root() {
        step("PostgreSQL is not installed and we are not root: the PostgreSQL feedback tests will be skipped (`sudo apt-get install -y postgresql` runs them)");
        return Ok(());
    }
    apt_install(
        &["postgresql"],
        "Install postgresql by hand, then run this again.",
    )
}

/// A virtualenv under ~/.cache/vitrine with schemathesis (PyPI), for `bench-feedback`'s API
/// fuzzing; returns the path of its `st` command.
pub fn ensure_schemathesis() -> Result<PathBuf> {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| ".".into());
    let venv = home.join(".cache/vitrine/schemathesis-venv");
    let st = venv.join("bin/st");
    if st.exists() {
        return Ok(st);
    }
    run(
        Command::new("python3").arg("-m").arg("venv").arg(&venv),
        "creating ~/.cache/vitrine/schemathesis-venv (python3 -m venv, once)",
        "Install Python 3 with venv (Debian: `apt-get install -y python3-venv`).",
    )?;
    run(
        Command::new(venv.join("bin/pip")).args(["install", "-q", "schemathesis"]),
        "installing schemathesis from PyPI into that venv (once)",
        "Check access to PyPI, then run this again.",
    )?;
    Ok(st)
}

fn is_newer(a: &Path, b: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    matches!((modified(a), modified(b)), (Some(a), Some(b)) if a >= b)
}

/// Everything Trunk's single-thread site build needs (the multi-threaded engine's nightly is
/// installed by `threads_build`). The two cargo installs compile side by side.
pub fn ensure_build_tools() -> Result<()> {
    ensure_wasm_target()?;
    ensure_node_modules()?;
    crate::project::parallel(vec![Box::new(ensure_wasm_bindgen), Box::new(ensure_trunk)])
}
