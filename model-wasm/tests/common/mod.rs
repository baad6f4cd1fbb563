//! What the integration tests share.

/// A test that cannot run on this machine (no GPU adapter, no shared data, no model file). Outside
/// CI it skips, saying why; under CI (`CI` set) that would hide a broken install step, so it
/// fails the test instead.
pub fn cannot_run(reason: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{reason} (CI is set: a test that cannot run fails instead of skipping)");
    }
    eprintln!("SKIPPED: {reason}");
}
