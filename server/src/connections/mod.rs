//! Accepting connections and serving HTTP/1.1 on them, with the limits a public server needs
//! against slow or hostile clients (axum's own `serve` has none of them):
//!
//! - a header timeout (hyper's): the request line and headers must arrive within
//!   `header_read`, which also bounds the wait for the next request on a kept-alive connection;
//! - an idle timeout ([`idle`]): no byte moving either way for `idle` closes the connection;
//! - the body timeout is the API's (it is the only reader of bodies), see `feedback::api`;
//! - at most `per_address` open connections per client address ([`per_address`]) and `total`
//!   in all, never more than the open-file limit allows ([`fd_limit`]): at the cap the server
//!   stops accepting (the kernel queues new connections) instead of failing accepts;
//! - accept errors back off instead of spinning ([`accept_backoff`]);
//! - on shutdown, connections finish their requests for up to [`DRAIN`], then are dropped.

pub mod accept_backoff;
pub mod fd_limit;
pub mod idle;
pub mod limits;
pub mod per_address;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tower::util::MapRequest;
use tower::ServiceExt;

use accept_backoff::AcceptBackoff;
use idle::{LastActivity, Tracked};
pub use limits::{Limits, LimitsError};
use per_address::PerAddress;

/// How long requests in flight may take to finish after a shutdown signal. Shorter than the
/// 10 s a supervisor (and `cargo xtask`) waits after SIGTERM before it kills.
pub const DRAIN: Duration = Duration::from_secs(5);

/// Serves `app` on `listener` until `shutdown` resolves, then drains (see [`DRAIN`]).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: &Limits,
    shutdown: impl Future<Output = ()>,
) {
    let open_files = rlimit::getrlimit(rlimit::Resource::NOFILE)
        .ok()
        .map(|(soft, _)| soft);
    let total = fd_limit::connection_cap(limits.total, open_files);
    tracing::info!(
        "at most {total} connections, {} per address (open-file limit {open_files:?})",
        limits.per_address
    );
    let slots = Arc::new(Semaphore::new(total));
    let per_address = PerAddress::new(limits.per_address);
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read);
    let mut backoff = AcceptBackoff::default();
    tokio::pin!(shutdown);
    loop {
        // Take a slot before accepting: at the cap, new connections wait in the kernel's queue.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break, // never closed
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => {
                    backoff.succeeded();
                    accepted
                }
                Err(e) => {
                    backoff.failed(&e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(address_slot) = per_address.admit(peer.ip()) else {
            // Dropping the stream closes it; the client sees a reset, cheaply.
            tracing::debug!(
                "refused a connection from {peer}: {} open",
                limits.per_address
            );
            continue;
        };
        let activity = LastActivity::default();
        let conn = http.serve_connection(
            Tracked::new(TokioIo::new(stream_with_nodelay(stream)), activity.clone()),
            with_peer(app.clone(), peer),
        );
        let conn = graceful.watch(conn);
        let idle = limits.idle;
        tokio::spawn(async move {
            // Both slots are given back when this task ends, however it ends.
            let _slots = (slot, address_slot);
            tokio::select! {
                done = conn => if let Err(e) = done {
                    tracing::debug!("connection from {peer} ended: {e}");
                },
                () = activity.idle_for(idle) => {
                    tracing::debug!("closed a connection from {peer}: idle for {idle:?}");
                }
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN) => {
            tracing::warn!("requests still running after {DRAIN:?}: closing their connections");
        }
    }
}

fn stream_with_nodelay(stream: TcpStream) -> TcpStream {
    // Responses are written whole; Nagle's delay would only add latency.
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!("cannot set TCP_NODELAY: {e}");
    }
    stream
}

/// One connection's requests, each carrying the peer address (the rate limit reads it).
fn with_peer(
    app: Router,
    peer: SocketAddr,
) -> TowerToHyperService<
    MapRequest<Router, impl FnMut(hyper::Request<Incoming>) -> hyper::Request<Incoming> + Clone>,
> {
    TowerToHyperService::new(app.map_request(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        req
    }))
}
