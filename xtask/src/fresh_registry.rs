//! The check that a machine with an empty cargo registry can build the site: Trunk builds
//! offline, so the site build's own fetch (`site_build::fetch_dependencies`) must bring every
//! crate its offline builds need. A warm registry hides a gap here (wasm32-only crates that no
//! other step happened to fetch made `cargo xtask serve` fail on every fresh machine while CI
//! stayed green), so this runs that fetch in a throwaway `CARGO_HOME` and then resolves each
//! offline build there with `cargo tree --offline`, which fails exactly as the build would
//! ("attempting to make an HTTP request, but --offline was specified") when a crate is missing.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};

use crate::project::{cargo, run_logged};
use crate::site_build;

pub fn check() -> Result<()> {
    let home = tempfile::Builder::new()
        .prefix("vitrine-fresh-cargo-home-")
        .tempdir()?;
    check_in(home.path())
}

fn check_in(cargo_home: &Path) -> Result<()> {
    run_logged(
        "fresh-registry check: the site build's own fetch, in an empty CARGO_HOME (about a minute)",
        site_build::fetch_command().env("CARGO_HOME", cargo_home),
    )?;
    for build in site_build::TRUNK_CARGO_BUILDS {
        run_logged(
            &format!(
                "fresh-registry check: {} resolves offline for wasm32 with only those crates",
                build.manifest
            ),
            offline_tree(cargo_home)
                .args(["--target", "wasm32-unknown-unknown"])
                .args(build.selection()),
        )
        .with_context(|| {
            format!(
                "`cargo xtask serve` would fail on a fresh machine: Trunk's offline build of {} needs a crate `cargo fetch --locked` did not bring",
                build.manifest
            )
        })?;
    }
    Ok(())
}

/// `cargo tree --offline --locked` in `cargo_home`, with the build-time edges (build scripts and
/// proc macros compile for the host and must be there too).
fn offline_tree(cargo_home: &Path) -> Command {
    let mut cmd = cargo();
    cmd.args(["tree", "--offline", "--locked", "-e", "normal,build"])
        .env("CARGO_HOME", cargo_home);
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The check catches the fault it exists for: a registry that has only the host's crates
    /// (what `cargo build` for the native crates leaves behind) fails it.
    /// Downloads the host's crates from crates.io into a temp dir (seconds here).
    #[test]
    fn a_registry_with_only_the_hosts_crates_fails_the_check() {
        let home = tempfile::tempdir().expect("temp dir");
        let status = site_build::fetch_command()
            .args(["--target", "x86_64-unknown-linux-gnu"])
            .env("CARGO_HOME", home.path())
            .current_dir(crate::project::root())
            .status()
            .expect("cargo fetch runs");
        assert!(status.success());
        let build = &site_build::TRUNK_CARGO_BUILDS[1];
        let status = offline_tree(home.path())
            .args(["--target", "wasm32-unknown-unknown"])
            .args(build.selection())
            .current_dir(crate::project::root())
            .status()
            .expect("cargo tree runs");
        assert!(
            !status.success(),
            "an incomplete registry passed the offline resolution"
        );
    }
}
