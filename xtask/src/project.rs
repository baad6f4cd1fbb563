//! Where the project is and how xtask talks to the person running it.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// The workspace root (xtask lives one level below it).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask has a parent dir")
        .to_owned()
}

/// A visible progress line.
pub fn step(message: &str) {
    eprintln!("\x1b[1;36m==>\x1b[0m {message}");
}

/// Runs a command from the workspace root, streaming its output; fails with `what`.
pub fn run(what: &str, cmd: &mut Command) -> Result<()> {
    step(what);
    let status = cmd
        .current_dir(root())
        .status()
        .with_context(|| format!("could not start: {what}"))?;
    if !status.success() {
        bail!("{what}: failed ({status})");
    }
    Ok(())
}

pub fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// A shipped model file from `assets/models/` and its recorded sha256 (`<file>.sha256`).
pub fn shipped_model(file: &str) -> Result<(Vec<u8>, String)> {
    let path = root().join("assets/models").join(file);
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok((bytes, crate::quantize_sentiment::read_sha256(&path)?))
}
