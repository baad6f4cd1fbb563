//! A throwaway PostgreSQL cluster for tests, from Debian's `postgresql` package: initdb into a
//! temporary folder, start on a free port with its socket in that folder, stop and delete on
//! drop. initdb refuses to run as root, so as root the cluster runs as the `postgres` user.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output};

pub struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
}

/// The newest `/usr/lib/postgresql/<version>/bin` that has initdb and pg_ctl.
fn find_bin() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").exists() && bin.join("pg_ctl").exists()).then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Cluster {
    /// `None` (after saying so loudly) only when PostgreSQL is not installed; any other
    /// failure panics, because then the PostgreSQL half of the suite would silently not run.
    pub fn start() -> Option<Self> {
        let Some(bin) = find_bin() else {
            eprintln!(
                "\n!!! SKIPPING the PostgreSQL half of the feedback suite: no \
                 /usr/lib/postgresql/*/bin/initdb. Install it with `apt-get install -y postgresql` \
                 (cargo xtask test does this when run as root).\n"
            );
            return None;
        };
        let dir = tempfile::tempdir().expect("temp dir for PostgreSQL");
        let as_postgres = is_root();
        if as_postgres {
            let out = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .output()
                .expect("chown runs");
            assert!(out.status.success(), "chown: {}", stderr(&out));
        }
        let cluster = Self {
            dir,
            bin,
            port: free_port(),
            as_postgres,
        };
        let data = cluster.data_dir();
        let out = cluster.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-instructions",
            ],
        );
        assert!(out.status.success(), "initdb: {}", stderr(&out));
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200",
            cluster.port,
            cluster.dir.path().display()
        );
        let log = cluster.dir.path().join("postgres.log");
        let out = cluster.run(
            "pg_ctl",
            &[
                "-D",
                &data,
                "-o",
                &opts,
                "-l",
                &log.to_string_lossy(),
                "-w",
                "start",
            ],
        );
        assert!(
            out.status.success(),
            "pg_ctl start: {}\n{}",
            stderr(&out),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        Some(cluster)
    }

    fn data_dir(&self) -> String {
        self.dir.path().join("data").to_string_lossy().into_owned()
    }

    fn run(&self, tool: &str, args: &[&str]) -> Output {
        let program = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        cmd.args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()))
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// A new, empty database, so each test case starts from nothing.
    pub fn create_database(&self, name: &str) -> String {
        let psql = self.bin.join("psql");
        let out = Command::new(psql)
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
            ])
            .args(["-d", "postgres", "-v", "ON_ERROR_STOP=1", "-c"])
            .arg(format!("CREATE DATABASE {name}"))
            .output()
            .expect("psql runs");
        assert!(out.status.success(), "CREATE DATABASE: {}", stderr(&out));
        self.url(name)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data_dir();
        let _ = self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
