//! `cargo xtask serve`: builds what is missing and serves the site on http://127.0.0.1:8080
//! (`PORT` overrides). The server process replaces nothing: Ctrl-C stops it cleanly.

use std::process::{Child, Command};

use anyhow::{Context, Result};

use crate::project::{cargo, root, run, step};
use crate::site_build;

/// Builds the server binary (release) and returns its path.
pub fn build_server() -> Result<std::path::PathBuf> {
    run(
        "building the server (release)",
        cargo().args(["build", "--release", "--quiet", "-p", "server"]),
    )?;
    Ok(root().join("target/release/server"))
}

/// Starts the server for `dist/` with `PORT=port` plus any extra environment.
pub fn spawn_server(port: u16, env: &[(&str, &str)]) -> Result<Child> {
    let binary = root().join("target/release/server");
    let mut cmd = Command::new(&binary);
    cmd.current_dir(root())
        .env("PORT", port.to_string())
        .env("VITRINE_DIST", site_build::dist());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn()
        .with_context(|| format!("starting {}", binary.display()))
}

pub fn serve() -> Result<()> {
    site_build::build(false)?;
    build_server()?;
    let port: u16 = match std::env::var("PORT") {
        Ok(p) => p
            .parse()
            .with_context(|| format!("PORT={p:?} is not a port number"))?,
        Err(_) => 8080,
    };
    step(&format!(
        "serving on http://127.0.0.1:{port}  (Ctrl-C to stop)"
    ));
    let status = spawn_server(port, &[])?.wait()?;
    anyhow::ensure!(status.success(), "the server stopped with {status}");
    Ok(())
}
