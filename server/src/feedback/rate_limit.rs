//! Per-IP rate limiting for `/api` (governor's GCRA keyed by the peer address). The peer is the
//! TCP peer: behind a reverse proxy every visitor shares its address, so put the limit in the
//! proxy there.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

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
            not_until
                .wait_time_from(DefaultClock::default().now())
                .as_secs()
                .max(1)
        })
    }
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
