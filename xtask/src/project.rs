//! Where the project is and how xtask talks to the person running it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// The workspace root (xtask lives one level below it).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask has a parent dir")
        .to_owned()
}

/// A visible progress line.
pub fn step(message: &str) {
    eprintln!("\x1b[1;36m==>\x1b[0m {message}");
}

/// A finished step and how long it took, so a newcomer learns where the minutes go.
pub fn step_done(what: &str, took: Duration) {
    eprintln!("\x1b[1;32m  ✓\x1b[0m {what} ({})", minutes_seconds(took));
}

/// `1m 05s`, or `12.3s` under a minute.
pub fn minutes_seconds(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        format!("{}m {:02}s", d.as_secs() / 60, d.as_secs() % 60)
    }
}

/// Runs a command from the workspace root, streaming its output; fails with `what`.
pub fn run(what: &str, cmd: &mut Command) -> Result<()> {
    step(what);
    let started = Instant::now();
    in_root_unless_told(cmd);
    let status = cmd
        .status()
        .with_context(|| format!("could not start: {what}"))?;
    if !status.success() {
        bail!("{what}: failed ({status})");
    }
    step_done(what, started.elapsed());
    Ok(())
}

/// Like [`run`], for steps that run side by side: the command's output goes to a log file under
/// `target/xtask-logs/` instead of the terminal (two cargo builds at once would interleave
/// line by line), and only on failure are its last lines shown, with the log's path.
pub fn run_logged(what: &str, cmd: &mut Command) -> Result<()> {
    step(what);
    let started = Instant::now();
    let logs = root().join("target/xtask-logs");
    std::fs::create_dir_all(&logs)?;
    let slug: String = what
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(60)
        .collect();
    let log_path = logs.join(format!("{}.log", slug.trim_matches('-')));
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("creating {}", log_path.display()))?;
    in_root_unless_told(cmd);
    let status = cmd
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()
        .with_context(|| format!("could not start: {what}"))?;
    if !status.success() {
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        for line in &lines[lines.len().saturating_sub(40)..] {
            eprintln!("    {line}");
        }
        bail!(
            "{what}: failed ({status}); the whole log is {}",
            log_path.display()
        );
    }
    step_done(what, started.elapsed());
    Ok(())
}

/// Commands run from the workspace root, except those given a directory of their own.
fn in_root_unless_told(cmd: &mut Command) {
    if cmd.get_current_dir().is_none() {
        cmd.current_dir(root());
    }
}

/// A job for [`parallel`].
pub type Job<'a> = Box<dyn FnOnce() -> Result<()> + Send + 'a>;

/// Runs `jobs` at once, one thread each, and waits for all of them: on two cores, one build's
/// single-threaded stretches (linking, fat LTO) leave a core free that another can use. Fails
/// with the first job's error, in the order given, after every job has finished.
pub fn parallel(jobs: Vec<Job<'_>>) -> Result<()> {
    let results: Vec<Result<()>> = std::thread::scope(|scope| {
        let handles: Vec<_> = jobs.into_iter().map(|job| scope.spawn(job)).collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a build step panicked")))
            })
            .collect()
    });
    results.into_iter().collect()
}

pub fn cargo() -> Command {
    Command::new(cargo_program())
}

fn cargo_program() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// `program` at a lower CPU priority (`nice -n 10`), for a build that runs beside more urgent
/// ones: on two cores, whatever the newcomer waits for first should get them first.
pub fn at_low_priority(program: &str) -> Command {
    let mut cmd = Command::new("nice");
    cmd.args(["-n", "10", program]);
    cmd
}

/// [`cargo`] at a low priority ([`at_low_priority`]).
pub fn cargo_at_low_priority() -> Command {
    at_low_priority(&cargo_program())
}

/// The weights of catalogue model `id`: file name, bytes and recorded sha256.
pub fn shipped_model(id: &str) -> Result<(String, Vec<u8>, String)> {
    let model = crate::catalogue::model_to_measure(id)?;
    let (bytes, sha256) = model.weight_bytes()?;
    let name = model
        .manifest
        .weights()
        .map(|f| f.name.clone())
        .unwrap_or_default();
    Ok((name, bytes, sha256))
}

/// The recorded sha256 of a model file: from its catalogue folder's model.toml when it is in
/// one, else from `<file>.sha256` (`sha256sum` format) next to it.
pub fn read_sha256(model: &Path) -> Result<String> {
    let name = model
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if let Some(folder) = model.parent().filter(|f| f.join("model.toml").is_file()) {
        // Only the recorded digest is read here: the engine checks the bytes against it.
        let entry = crate::catalogue::read_folder_unchecked(folder)?;
        return entry
            .manifest
            .files
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.sha256.clone())
            .with_context(|| {
                format!(
                    "{} does not list {name} in `files`",
                    entry.manifest_path().display()
                )
            });
    }
    let mut digest_file = model.as_os_str().to_owned();
    digest_file.push(".sha256");
    let text = std::fs::read_to_string(&digest_file)
        .with_context(|| format!("reading {}", Path::new(&digest_file).display()))?;
    text.split_whitespace()
        .next()
        .map(str::to_owned)
        .context("empty .sha256 file")
}

/// Lower-case hex sha256 of `bytes` (as `model_wasm::checksum` computes it, without needing that
/// crate: the build commands compile in seconds without the inference stack).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

/// Copies the tree `from` into `to`, leaving out the files whose name `skip` picks.
pub fn copy_dir(from: &Path, to: &Path, skip: &dyn Fn(&std::ffi::OsStr) -> bool) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target, skip)?;
        } else if !skip(&entry.file_name()) {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("copying {}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// Size after `gzip -9`, what a server sending `Content-Encoding: gzip` puts on the wire.
pub fn gzip_len(bytes: &[u8]) -> Result<u64> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes)?;
    Ok(enc.finish()?.len() as u64)
}

/// A test that needs something from outside the repository (a cached wheel, the shared data)
/// and does not have it: prints why and passes, or, with `CI` set, fails, because there the
/// input's absence is a broken step, not a reason to pass.
pub fn cannot_run(reason: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "{reason} (CI is set: a test that cannot run fails instead of skipping)"
    );
    eprintln!("SKIPPED: {reason}");
}
