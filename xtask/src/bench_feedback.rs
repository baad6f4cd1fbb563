//! `cargo xtask bench-feedback`: the feedback API under load on loopback, against SQLite and a
//! throwaway PostgreSQL cluster: req/s, p50/p99, errors, and rows == acknowledged; then a
//! kill -9 of the server mid-load and a restart, checking that every acknowledged record is
//! there; then schemathesis against `/api/openapi.json`, which must find no 5xx; then how many
//! slow connections the server holds with `/healthz` answering within a second
//! (`bench_slow_clients.rs`). `--only PART` runs one part.
//! Numbers live here, never in unit tests: the machines are shared and timings are noisy.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::http_load;
use crate::project::step;
use crate::test_suite::{free_port, wait_until_healthy, ServerGuard};
use crate::{bench_slow_clients, serve, toolchain};

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
    /// Run only this part.
    #[arg(long, value_enum)]
    pub only: Option<Part>,
    /// Most slow connections to try (steps double up to it).
    #[arg(long, default_value_t = 4000)]
    pub slow_max: usize,
    /// Use this server binary instead of building the release one (e.g. target/debug/server).
    #[arg(long)]
    pub server: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Part {
    Load,
    Kill,
    Fuzz,
    SlowClients,
}

impl Args {
    fn runs(&self, part: Part) -> bool {
        self.only.is_none_or(|only| only == part)
    }
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

fn start(backend: &Backend, dist: &Path, binary: &Path) -> Result<Server> {
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
    let mut guard = ServerGuard::new(serve::spawn_server_binary(binary, port, &env)?);
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
    let needs_postgres = args.runs(Part::Load) || args.runs(Part::Kill);
    if needs_postgres {
        toolchain::ensure_postgresql()?;
    }
    let st = if args.runs(Part::Fuzz) {
        Some(toolchain::ensure_schemathesis()?)
    } else {
        None
    };
    let binary = match &args.server {
        Some(path) => path.clone(),
        None => serve::build_server()?,
    };
    let work = tempfile::tempdir()?;
    // The API needs no built site: a one-line page keeps this independent of the Trunk build.
    let dist = work.path().join("dist");
    std::fs::create_dir_all(&dist)?;
    std::fs::write(
        dist.join("index.html"),
        "<!doctype html><title>bench</title>",
    )?;

    let cluster = if needs_postgres {
        postgres::Cluster::start()
    } else {
        None
    };
    let mut table = Vec::new();
    if args.runs(Part::Load) {
        let mut backends = vec![Backend::Sqlite(work.path().join("load.db"))];
        if let Some(c) = &cluster {
            backends.push(Backend::Postgres(c.create_database("bench_load")));
        }
        for backend in &backends {
            table.push(load(backend, &dist, &binary, &args)?);
        }
    }
    let mut kills = Vec::new();
    if args.runs(Part::Kill) {
        let mut kill_backends = vec![Backend::Sqlite(work.path().join("kill.db"))];
        if let Some(c) = &cluster {
            kill_backends.push(Backend::Postgres(c.create_database("bench_kill")));
        }
        for backend in &kill_backends {
            kills.push(kill_nine(backend, &dist, &binary, args.connections)?);
        }
    }
    let fuzz = match &st {
        Some(st) => Some(schemathesis(
            st,
            &Backend::Sqlite(work.path().join("fuzz.db")),
            work.path(),
            &binary,
            &args,
        )?),
        None => None,
    };
    let slow = if args.runs(Part::SlowClients) {
        Some(slow_clients(
            &Backend::Sqlite(work.path().join("slow.db")),
            &dist,
            &binary,
            args.slow_max,
        )?)
    } else {
        None
    };

    println!();
    if !table.is_empty() {
        println!(
            "feedback API on loopback: {} submissions over {} connections",
            args.requests, args.connections
        );
        println!(
            "| store | req/s | p50 ms | p99 ms | errors | acknowledged | rows | rows == acked |"
        );
        println!("|---|---|---|---|---|---|---|---|");
        for line in &table {
            println!("{line}");
        }
        println!();
    }
    for line in &kills {
        println!("{line}");
    }
    if let Some(fuzz) = fuzz {
        println!();
        println!("schemathesis: {fuzz}");
    }
    if let Some(slow) = slow {
        println!();
        print!("{slow}");
    }
    if needs_postgres && cluster.is_none() {
        println!("(PostgreSQL was not found: its rows are missing above)");
    }
    Ok(())
}

/// Steps of doubling size up to `max` slow connections; stops at the first the server does not
/// survive. Returns the report.
fn slow_clients(backend: &Backend, dist: &Path, binary: &Path, max: usize) -> Result<String> {
    step("slow clients: partial headers, then silence; /healthz must answer within 1 s");
    let open_files = bench_slow_clients::raise_open_files()?;
    let mut server = start(backend, dist, binary)?;
    let mut report = format!(
        "slow clients ({} per source address in 127.0.0.0/8; open-file limit of the load \
         generator {open_files}):\n\
         | slow connections | opened in s | closed before their header timeout | /healthz max ms | closed by the server within 20 s of opening | survived |\n\
         |---|---|---|---|---|---|\n",
        bench_slow_clients::PER_SOURCE
    );
    let mut survived = 0;
    let mut slow = 250.min(max);
    let mut first_source = 0;
    loop {
        let outcome = bench_slow_clients::step(server.port, slow, first_source)?;
        first_source += bench_slow_clients::sources_for(slow);
        println!("{}", outcome.row());
        report.push_str(&outcome.row());
        report.push('\n');
        if !outcome.survived() {
            break;
        }
        survived = slow;
        if slow >= max {
            break;
        }
        slow = (slow * 2).min(max);
    }
    server.guard.terminate()?;
    report.push_str(&format!(
        "survived: {survived} slow connections, all held, with /healthz under 1 s\n"
    ));
    Ok(report)
}

fn load(backend: &Backend, dist: &Path, binary: &Path, args: &Args) -> Result<String> {
    step(&format!("load test against {}", backend.name()));
    let mut server = start(backend, dist, binary)?;
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

fn kill_nine(backend: &Backend, dist: &Path, binary: &Path, connections: usize) -> Result<String> {
    step(&format!("kill -9 mid-load against {}", backend.name()));
    let mut server = start(backend, dist, binary)?;
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
    let mut restarted = start(backend, dist, binary)?;
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
    st: &Path,
    backend: &Backend,
    work: &Path,
    binary: &Path,
    args: &Args,
) -> Result<String> {
    step("schemathesis against /api/openapi.json (checks: not_a_server_error)");
    let mut server = start(backend, &work.join("dist"), binary)?;
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
