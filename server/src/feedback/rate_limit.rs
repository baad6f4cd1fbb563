//! Per-IP rate limiting for `/api` (governor's GCRA keyed by the peer address). The peer is the
//! TCP peer: behind a reverse proxy every visitor shares its address, so put the limit in the
//! proxy there. Visitors and admins get separate limiters: a busy booth must not lock the team
//! out of its insights, nor the team's dashboard eat the visitors' allowance.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::error::ApiError;

/// How often (in checks) to forget addresses whose allowance has refilled, so a flood of
/// distinct addresses cannot grow the table without bound.
const SWEEP_EVERY: u64 = 4096;

pub struct PerIp {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    checks: AtomicU64,
}

impl PerIp {
    /// `per_minute` requests a minute per address, all of which may come at once.
    pub fn new(per_minute: NonZeroU32) -> Self {
        Self {
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute)),
            checks: AtomicU64::new(0),
        }
    }

    /// `Ok` or how many seconds until the next request would be allowed.
    pub fn check(&self, ip: IpAddr) -> Result<(), u64> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&ip).map_err(|not_until| {
            retry_after_secs(not_until.wait_time_from(DefaultClock::default().now()))
        })
    }
}

/// Whole seconds for `Retry-After`, rounded up: a client that waits exactly this long must get
/// through (rounding 5.4 s down to 5 sent it back into the limit).
fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

pub async fn limit(State(limiter): State<Arc<PerIp>>, req: Request, next: Next) -> Response {
    // In-process callers (tests) have no peer address; they share one bucket.
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    match limiter.check(ip) {
        Ok(()) => next.run(req).await,
        Err(secs) => ApiError::RateLimited(secs).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::retry_after_secs;
    use std::time::Duration;

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::from_millis(5400)), 6);
        assert_eq!(retry_after_secs(Duration::from_secs(5)), 5);
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }
}
