//! `cargo xtask bench-feedback`: the feedback API under load on loopback, against SQLite and a
//! throwaway PostgreSQL cluster: req/s, p50/p99, errors, and rows == acknowledged; then a
//! kill -9 of the server mid-load and a restart, checking that every acknowledged record is
//! there; then schemathesis against `/api/openapi.json`, which must find no 5xx.
//! Numbers live here, never in unit tests: the machines are shared and timings are noisy.

use std::collections::HashSet;
use std::process::{Child, Command};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::http_load;
use crate::project::step;
use crate::test_suite::{free_port, wait_until_healthy, ServerGuard};
use crate::{serve, toolchain};

// The same helper the server's tests use to start a throwaway cluster.
#[path = "../../server/tests/common/postgres.rs"]
mod postgres;

const TOKEN: &str = "bench-admin-token-0123456789abcdef";

#[derive(clap::Args)]
pub struct Args {
    /// Submissions per load run.
    #[arg(long, default_value_t = 20_000)]
    pub requests: usize,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 16)]
    pub connections: usize,
    /// Examples per API operation for schemathesis.
    #[arg(long, default_value_t = 200)]
    pub examples: u32,
}

#[derive(Clone)]
enum Backend {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

impl Backend {
    fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite(_) => "SQLite",
            Backend::Postgres(_) => "PostgreSQL",
        }
    }
}

struct Server {
    guard: ServerGuard,
    port: u16,
}

fn start(backend: &Backend, dist: &std::path::Path) -> Result<Server> {
    let port = free_port()?;
    let dist = dist.to_string_lossy().into_owned();
    let mut env = vec![
        ("RUST_LOG", "warn".to_owned()),
        ("VITRINE_DIST", dist),
        ("VITRINE_ADMIN_TOKEN", TOKEN.to_owned()),
        // One loopback client: the per-address limit would otherwise be the bottleneck.
        ("VITRINE_RATE_LIMIT", "1000000000".to_owned()),
    ];
    match backend {
        Backend::Sqlite(path) => env.push(("VITRINE_DB", path.to_string_lossy().into_owned())),
        Backend::Postgres(url) => env.push(("DATABASE_URL", url.clone())),
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut guard = ServerGuard::new(serve::spawn_server(port, &env)?);
    wait_until_healthy(port, guard.child())?;
    Ok(Server { guard, port })
}

fn stored_ids(port: u16) -> Result<HashSet<String>> {
    let (status, body) = http_load::get(port, "/api/feedback/export?format=json", TOKEN)?;
    if status != 200 {
        bail!("export answered {status}");
    }
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&body).context("export JSON")?;
    Ok(rows
        .iter()
        .filter_map(|r| r["id"].as_str().map(str::to_owned))
        .collect())
}

pub fn run(args: Args) -> Result<()> {
    toolchain::ensure_postgresql()?;
    let st = toolchain::ensure_schemathesis()?;
    serve::build_server()?;
    let work = tempfile::tempdir()?;
    // The API needs no built site: a one-line page keeps this independent of the Trunk build.
    let dist = work.path().join("dist");
    std::fs::create_dir_all(&dist)?;
    std::fs::write(
        dist.join("index.html"),
        "<!doctype html><title>bench</title>",
    )?;

    let cluster = postgres::Cluster::start();
    let mut backends = vec![Backend::Sqlite(work.path().join("load.db"))];
    if let Some(c) = &cluster {
        backends.push(Backend::Postgres(c.create_database("bench_load")));
    }
    let mut table = Vec::new();
    for backend in &backends {
        table.push(load(backend, &dist, &args)?);
    }
    let mut kills = Vec::new();
    let mut kill_backends = vec![Backend::Sqlite(work.path().join("kill.db"))];
    if let Some(c) = &cluster {
        kill_backends.push(Backend::Postgres(c.create_database("bench_kill")));
    }
    for backend in &kill_backends {
        kills.push(kill_nine(backend, &dist, args.connections)?);
    }
    let fuzz = schemathesis(
        &st,
        &Backend::Sqlite(work.path().join("fuzz.db")),
        work.path(),
        &args,
    )?;

    println!();
    println!(
        "feedback API on loopback: {} submissions over {} connections",
        args.requests, args.connections
    );
    println!("| store | req/s | p50 ms | p99 ms | errors | acknowledged | rows | rows == acked |");
    println!("|---|---|---|---|---|---|---|---|");
    for line in &table {
        println!("{line}");
    }
    println!();
    for line in &kills {
        println!("{line}");
    }
    println!();
    println!("schemathesis: {fuzz}");
    if cluster.is_none() {
        println!("(PostgreSQL was not found: its rows are missing above)");
    }
    Ok(())
}

fn load(backend: &Backend, dist: &std::path::Path, args: &Args) -> Result<String> {
    step(&format!("load test against {}", backend.name()));
    let mut server = start(backend, dist)?;
    // Warm-up: connections, the pool, the page cache.
    http_load::run(server.port, 500, args.connections, false);
    let before = stored_ids(server.port)?.len();
    let out = http_load::run(server.port, args.requests, args.connections, false);
    let rows = stored_ids(server.port)?;
    let new_rows = rows.len() - before;
    let all_present = out.acked.iter().all(|id| rows.contains(id));
    let status = server.guard.terminate()?;
    if !status.success() {
        bail!("the server did not stop cleanly ({status})");
    }
    let ok = new_rows == out.acked.len() && all_present;
    let line = format!(
        "| {} | {:.0} | {:.2} | {:.2} | {} | {} | {} | {} |",
        backend.name(),
        out.per_second(),
        out.percentile_ms(50.0),
        out.percentile_ms(99.0),
        out.errors,
        out.acked.len(),
        new_rows,
        if ok { "yes" } else { "NO" }
    );
    println!("{line}");
    if !ok || out.errors > 0 {
        bail!(
            "{}: {} errors, {} acknowledged, {new_rows} new rows",
            backend.name(),
            out.errors,
            out.acked.len()
        );
    }
    Ok(line)
}

fn kill_nine(backend: &Backend, dist: &std::path::Path, connections: usize) -> Result<String> {
    step(&format!("kill -9 mid-load against {}", backend.name()));
    let mut server = start(backend, dist)?;
    let port = server.port;
    let load = std::thread::spawn(move || http_load::run(port, usize::MAX, connections, true));
    std::thread::sleep(Duration::from_secs(3));
    let child: &mut Child = server.guard.child();
    // SIGKILL: no graceful shutdown, no flush; only what was committed may survive.
    Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()?;
    let _ = child.wait();
    let out = load
        .join()
        .map_err(|_| anyhow::anyhow!("load thread panicked"))?;
    let mut restarted = start(backend, dist)?;
    let rows = stored_ids(restarted.port)?;
    let missing = out.acked.iter().filter(|id| !rows.contains(*id)).count();
    restarted.guard.terminate()?;
    let line = format!(
        "kill -9 ({}): {} acknowledged before the kill, {} missing after restart; {} rows (in-flight, unacknowledged requests may add a few)",
        backend.name(),
        out.acked.len(),
        missing,
        rows.len()
    );
    println!("{line}");
    if missing > 0 || out.acked.is_empty() {
        bail!("{line}");
    }
    Ok(line)
}

/// Runs in `work` (schemathesis keeps its example database in the working directory).
fn schemathesis(
    st: &std::path::Path,
    backend: &Backend,
    work: &std::path::Path,
    args: &Args,
) -> Result<String> {
    step("schemathesis against /api/openapi.json (checks: not_a_server_error)");
    let mut server = start(backend, &work.join("dist"))?;
    let output = Command::new(st)
        .arg("run")
        .arg(format!("http://127.0.0.1:{}/api/openapi.json", server.port))
        .args(["--checks", "not_a_server_error"])
        .args(["--max-examples", &args.examples.to_string()])
        .args(["--header", &format!("Authorization: Bearer {TOKEN}")])
        .args(["--seed", "1"])
        .env("NO_COLOR", "1")
        .current_dir(work)
        .output()
        .context("running schemathesis")?;
    server.guard.terminate()?;
    let text = String::from_utf8_lossy(&output.stdout);
    print!("{text}");
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    let summary: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| {
            l.contains("passed")
                || l.contains("failed")
                || l.contains("test cases")
                || l.contains("Operations")
        })
        .collect();
    let summary = summary.join(" / ");
    if !output.status.success() {
        bail!("schemathesis found problems: {summary}");
    }
    Ok(summary)
}
