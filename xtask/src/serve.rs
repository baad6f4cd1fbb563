//! `cargo xtask serve`: builds what is missing and serves the site on http://127.0.0.1:8080
//! (`PORT` overrides). The server process replaces nothing: Ctrl-C stops it cleanly.
//!
//! On a fresh machine the page is served as soon as the single-thread site and the server are
//! built (tool installs, compiles and the server's build run side by side); the multi-threaded
//! engine is then built in the background and joins `dist/` in one rename. Until it does, the
//! worker finds no `/sdk/threads/` and runs on one thread; the next page load picks it up.

use std::process::{Child, Command};
use std::time::Instant;

use anyhow::{Context, Result};

use crate::project::{cargo_at_low_priority, minutes_seconds, parallel, root, run_logged, step};
use crate::site_build;

/// Builds the server binary (release: what deployments run) and returns its path.
pub fn build_server() -> Result<std::path::PathBuf> {
    build_server_in(
        "release",
        "building the server (cargo build --release; about 2 minutes from scratch)",
    )
}

/// Builds the server that `serve` runs (profile `serve`, see Cargo.toml: unoptimised, about a
/// quarter less CPU time than opt-level 1) and returns its path.
fn build_local_server() -> Result<std::path::PathBuf> {
    build_server_in(
        "serve",
        "building the local server (cargo build --profile serve; 1–2 minutes from scratch)",
    )
}

/// Builds the server with cargo profile `profile` (at low priority: it is needed last) and
/// returns the binary's path, `target/<profile>/server`.
fn build_server_in(profile: &str, what: &str) -> Result<std::path::PathBuf> {
    run_logged(
        what,
        cargo_at_low_priority().args(["build", "--profile", profile, "--locked", "-p", "server"]),
    )?;
    Ok(root().join("target").join(profile).join("server"))
}

/// Starts the server for `dist/` with `PORT=port` plus any extra environment.
pub fn spawn_server(port: u16, env: &[(&str, &str)]) -> Result<Child> {
    spawn_server_binary(&root().join("target/release/server"), port, env)
}

/// [`spawn_server`] with another build of the server (`bench-feedback --server`).
pub fn spawn_server_binary(
    binary: &std::path::Path,
    port: u16,
    env: &[(&str, &str)],
) -> Result<Child> {
    let mut cmd = Command::new(binary);
    cmd.current_dir(root())
        .env("PORT", port.to_string())
        .env("VITRINE_DIST", site_build::dist());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn()
        .with_context(|| format!("starting {}", binary.display()))
}

fn port_from_env() -> Result<u16> {
    match std::env::var("PORT") {
        Ok(p) => p
            .parse()
            .with_context(|| format!("PORT={p:?} is not a port number")),
        Err(_) => Ok(8080),
    }
}

pub fn serve() -> Result<()> {
    let started = Instant::now();
    let port = port_from_env()?;
    // The server's build runs alongside the site's (at a lower priority: it is needed last,
    // and goes on while Trunk runs wasm-opt on one core).
    let mut fingerprint = None;
    let mut binary = None;
    parallel(vec![
        Box::new(|| {
            binary = Some(build_local_server()?);
            Ok(())
        }),
        Box::new(|| {
            fingerprint = Some(site_build::build_single_thread(false)?);
            Ok(())
        }),
    ])?;
    let fingerprint = fingerprint.context("the site build finished without a fingerprint")?;
    let binary = binary.context("the server build finished without a binary")?;
    let mut server = spawn_server_binary(&binary, port, &[])?;
    step(&format!(
        "serving on http://127.0.0.1:{port}  (ready {} after `cargo xtask serve`; Ctrl-C to stop)",
        minutes_seconds(started.elapsed())
    ));
    // Detached on purpose: the server must not wait for it, and Ctrl-C ends both.
    std::thread::spawn(move || {
        let began = Instant::now();
        match site_build::add_threaded_engine(&fingerprint, false) {
            Ok(()) if began.elapsed().as_secs() >= 2 => step(
                "the multi-threaded engine is in: pages loaded from now on compute on several threads",
            ),
            Ok(()) => {}
            Err(e) => eprintln!(
                "warning: the multi-threaded engine could not be built, so pages run on one thread: {e:#}"
            ),
        }
    });
    let status = server.wait()?;
    anyhow::ensure!(status.success(), "the server stopped with {status}");
    Ok(())
}
