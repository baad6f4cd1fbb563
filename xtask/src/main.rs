//! `cargo xtask`: building, serving and testing the site; the model commands are handed to
//! `xtask-models` (see the library's docs).

use anyhow::Result;
use clap::{Parser, Subcommand};
use xtask::{bench_feedback, models, serve, site_build, test_suite};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "Vitrine's task runner",
    after_help = models::help()
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build what is missing and serve the site on http://127.0.0.1:8080 (PORT overrides).
    Serve,
    /// The whole suite: fmt, clippy, unit/golden tests, site build, e2e in headless Chromium.
    Test(test_suite::Args),
    /// Feedback API under load (SQLite, PostgreSQL), kill -9 durability, schemathesis fuzzing,
    /// slow clients (`--only slow-clients` for one part).
    BenchFeedback(bench_feedback::Args),
    /// Build the release site into dist/ (pre-compressed, with a size report) and the release
    /// server, target/release/server: what a deployment runs.
    Build {
        /// Rebuild even if dist/ is up to date.
        #[arg(long)]
        force: bool,
    },
    #[command(external_subcommand)]
    Models(Vec<String>),
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Serve => serve::serve(),
        Command::Test(args) => test_suite::test(args),
        Command::BenchFeedback(args) => bench_feedback::run(args),
        Command::Build { force } => xtask::project::parallel(vec![
            Box::new(move || site_build::build(force)),
            Box::new(|| serve::build_server().map(|_| ())),
        ]),
        Command::Models(args) => {
            let known = models::COMMANDS
                .iter()
                .any(|(name, _)| Some(*name) == args.first().map(String::as_str));
            anyhow::ensure!(
                known,
                "unknown command `{}`; `cargo xtask --help` lists them",
                args.first().map(String::as_str).unwrap_or_default()
            );
            models::run(&args)
        }
    }
}
