//! What the import tests share: where the fixtures of `xtask/fixtures/import` are, and the rule
//! for a test that cannot run. Without fixtures a test prints `SKIPPED:` with the reason and
//! passes, so `cargo test` works on a machine without the Python venv; with `CI` set it fails
//! instead (`cargo xtask test` makes the fixtures first, so there a missing one is a bug).

use std::path::PathBuf;

/// Skips (printing why) or, under `CI`, fails.
pub fn cannot_run(reason: &str) {
    xtask::project::cannot_run(reason);
}

/// The good fixtures (`VITRINE_IMPORT_FIXTURES`, default `~/.cache/vitrine/import-fixtures`),
/// if `needed` (a path inside them) is there.
pub fn good(needed: &str) -> Option<PathBuf> {
    present(good_dir(), needed, "VITRINE_IMPORT_FIXTURES")
}

/// The folders the importer must refuse (`VITRINE_IMPORT_FIXTURES_BAD`, default: the good
/// folder's name with `-bad`, beside it), if `needed` is there.
pub fn bad(needed: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("VITRINE_IMPORT_FIXTURES_BAD")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let good = good_dir();
            let mut name = good.file_name().unwrap_or_default().to_owned();
            name.push("-bad");
            good.with_file_name(name)
        });
    present(dir, needed, "VITRINE_IMPORT_FIXTURES_BAD")
}

fn good_dir() -> PathBuf {
    std::env::var_os("VITRINE_IMPORT_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| xtask::wheels::cache_dir().join("import-fixtures"))
}

fn present(dir: PathBuf, needed: &str, var: &str) -> Option<PathBuf> {
    if dir.join(needed).exists() {
        return Some(dir);
    }
    cannot_run(&format!(
        "no import fixture {} (set {var}; `cargo xtask test` makes them, see xtask/fixtures/import/README.md)",
        dir.join(needed).display()
    ));
    None
}
