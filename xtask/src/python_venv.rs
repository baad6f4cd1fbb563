//! Pinned Python venvs under the cache directory (never in the work tree), for tools and test
//! fixtures only: nothing Vitrine serves or runs at run time needs Python.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::project::step;
use crate::wheels::cache_dir;

/// The python of venv `name` (`~/.cache/vitrine/<name>`), created and given `requirements`
/// (pip specifiers, pinned) unless it already has exactly those.
pub fn ensure(name: &str, requirements: &[String]) -> Result<PathBuf> {
    let venv = cache_dir().join(name);
    let python = venv.join("bin/python");
    let stamp = venv.join(".requirements");
    let wanted = requirements.join("\n");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(python);
    }
    step(&format!(
        "installing {} from PyPI into {}",
        requirements.join(" "),
        venv.display()
    ));
    run(Command::new("python3").arg("-m").arg("venv").arg(&venv))
        .context("python3 -m venv (Debian: `apt-get install -y python3-venv`)")?;
    run(Command::new(&python)
        .args(["-m", "pip", "install", "-q"])
        .args(requirements))
    .context("pip install (check access to PyPI)")?;
    std::fs::write(&stamp, wanted)?;
    Ok(python)
}

pub fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd.status()?;
    if !status.success() {
        bail!("failed ({status})");
    }
    Ok(())
}
