//! Open files: every connection is one. A process starts with the soft limit its shell gave it
//! (often 1024), far below the hard limit it may raise it to, so the server raises it at
//! start-up; and it never holds more connections than its descriptors allow, so `accept` and
//! file opens do not fail with "Too many open files".

/// Descriptors kept for everything that is not a connection: the database pool (at most 10),
/// the listener, the runtime's own, standard streams.
pub const RESERVED: u64 = 32;
/// A connection may hold two: its socket, and the file it is sending.
pub const PER_CONNECTION: u64 = 2;

/// Raises the soft open-file limit as far as the hard limit allows; returns the limit now in
/// force, or `None` where it cannot be read (then nothing is assumed about it).
pub fn raise() -> Option<u64> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => Some(limit),
        Err(e) => {
            tracing::warn!("cannot raise the open-file limit: {e}");
            rlimit::getrlimit(rlimit::Resource::NOFILE)
                .ok()
                .map(|(soft, _)| soft)
        }
    }
}

/// How many connections `wanted` becomes with `open_files` descriptors (at least one).
pub fn connection_cap(wanted: usize, open_files: Option<u64>) -> usize {
    match open_files {
        Some(limit) => {
            let spare = limit.saturating_sub(RESERVED) / PER_CONNECTION;
            let spare = usize::try_from(spare).unwrap_or(usize::MAX);
            wanted.min(spare).max(1)
        }
        None => wanted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_for_everything_else() {
        assert_eq!(connection_cap(10_000, Some(1024)), 496);
        assert_eq!(connection_cap(10_000, Some(1_048_576)), 10_000);
        // The probe's `ulimit -n 64`.
        assert_eq!(connection_cap(10_000, Some(64)), 16);
        assert_eq!(connection_cap(10_000, Some(8)), 1);
        assert_eq!(connection_cap(500, None), 500);
    }

    #[test]
    fn raising_never_lowers_the_limit() {
        let before = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap().0;
        assert!(raise().unwrap() >= before);
    }
}
