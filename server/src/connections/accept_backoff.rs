//! What the accept loop does when `accept` fails. Running out of file descriptors (`EMFILE`)
//! fails every accept until a connection closes: retrying at once spins a core, and logging each
//! failure floods the log. So: wait, doubling from 5 ms to 1 s while the failures go on, and log
//! the first failure and then at most one summary a minute.

use std::io;
use std::time::Duration;

use tokio::time::Instant;

const FIRST_WAIT: Duration = Duration::from_millis(5);
const LONGEST_WAIT: Duration = Duration::from_secs(1);
const REPORT_EVERY: Duration = Duration::from_secs(60);

pub struct AcceptBackoff {
    wait: Duration,
    last_report: Option<Instant>,
    unreported: u64,
}

impl Default for AcceptBackoff {
    fn default() -> Self {
        Self {
            wait: FIRST_WAIT,
            last_report: None,
            unreported: 0,
        }
    }
}

impl AcceptBackoff {
    /// A connection was accepted: the next failure waits the shortest time again.
    pub fn succeeded(&mut self) {
        self.wait = FIRST_WAIT;
    }

    /// Logs `error` (or counts it for the next summary) and waits before the next accept.
    pub async fn failed(&mut self, error: &io::Error) {
        // The peer gave up before we took the connection: nothing is wrong with the server.
        if matches!(
            error.kind(),
            io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
        ) {
            return;
        }
        let now = Instant::now();
        match self.last_report {
            Some(at) if now.duration_since(at) < REPORT_EVERY => self.unreported += 1,
            _ => {
                tracing::error!(
                    "accept error: {error} ({} more since the last report; retrying with backoff)",
                    self.unreported
                );
                self.last_report = Some(now);
                self.unreported = 0;
            }
        }
        tokio::time::sleep(self.next_wait()).await;
    }

    fn next_wait(&mut self) -> Duration {
        let wait = self.wait;
        self.wait = (self.wait * 2).min(LONGEST_WAIT);
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_a_second_and_reset_on_success() {
        let mut b = AcceptBackoff::default();
        let waits: Vec<Duration> = (0..10).map(|_| b.next_wait()).collect();
        assert_eq!(waits[0], FIRST_WAIT);
        assert!(waits.windows(2).all(|w| w[1] >= w[0]));
        assert_eq!(*waits.last().unwrap(), LONGEST_WAIT);
        b.succeeded();
        assert_eq!(b.next_wait(), FIRST_WAIT);
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_of_failures_logs_one_line_and_counts_the_rest() {
        let mut b = AcceptBackoff::default();
        let emfile = io::Error::from_raw_os_error(24);
        for _ in 0..30 {
            b.failed(&emfile).await;
        }
        // 30 failures back to back take well under a minute of (paused) time.
        assert_eq!(b.unreported, 29);
    }
}
