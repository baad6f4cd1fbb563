//! The slow-client part of `cargo xtask bench-feedback`: how many slow connections the server
//! holds while `/healthz` still answers within a second. A slow client here sends part of a
//! request's headers and then nothing (the cheapest way to hold a connection open); they come
//! from many source addresses in 127.0.0.0/8, [`PER_SOURCE`] each, as a spread-out attack
//! would, so the per-address cap does not simply refuse them. Everything is on loopback and
//! bounded: at most `--slow-max` connections, and each step ends within the server's header
//! timeout plus a few seconds.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use socket2::{Domain, Socket, Type};

/// Slow connections per source address: well under the server's default cap (256).
pub const PER_SOURCE: usize = 32;
/// How long `/healthz` may take for the server to count as surviving.
const HEALTHY: Duration = Duration::from_secs(1);
/// Probes of `/healthz` per step, spaced out while the slow connections are held.
const PROBES: usize = 10;
const PROBE_GAP: Duration = Duration::from_millis(100);
/// The server's default header timeout, plus slack for a loaded machine: by then after it
/// opened, each must have been closed.
const CLOSED_BY: Duration = Duration::from_secs(10 + 10);
/// After a step, for the server to finish closing its side before the next step starts.
const SETTLE: Duration = Duration::from_secs(2);

/// The server's default header timeout: a slow connection closed sooner was dropped early.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Step {
    pub slow: usize,
    /// How long opening them took (on a loaded machine, the first may time out before the last
    /// is open: that is the header timeout working, and is not counted as dropped).
    pub opening: Duration,
    /// Slow connections closed before their header timeout (the server failed to hold them).
    pub dropped_early: usize,
    pub healthz_max: Option<Duration>,
    /// Slow connections the server had closed by [`CLOSED_BY`] after each opened.
    pub closed_by_server: usize,
}

impl Step {
    /// The server held every slow connection and `/healthz` still answered in time.
    pub fn survived(&self) -> bool {
        self.dropped_early == 0 && self.healthz_max.is_some_and(|d| d < HEALTHY)
    }

    pub fn row(&self) -> String {
        format!(
            "| {} | {:.1} | {} | {} | {} | {} |",
            self.slow,
            self.opening.as_secs_f64(),
            self.dropped_early,
            self.healthz_max.map_or("no answer".to_owned(), |d| format!(
                "{:.1}",
                d.as_secs_f64() * 1e3
            )),
            self.closed_by_server,
            if self.survived() { "yes" } else { "NO" }
        )
    }
}

/// Raises this process's open-file limit as far as it may go: each slow connection is one.
pub fn raise_open_files() -> Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX).context("raising the open-file limit")
}

/// One step: `slow` connections opened from source addresses numbered from `first_source`
/// (each step its own, so nothing left of the last one counts against an address's cap),
/// `/healthz` probed, then held until the server closes them (or [`CLOSED_BY`] passes).
pub fn step(port: u16, slow: usize, first_source: usize) -> Result<Step> {
    let started = Instant::now();
    let mut conns = Vec::with_capacity(slow);
    for k in 0..slow {
        let stream = slow_connection(port, source_address(first_source * PER_SOURCE + k))?;
        conns.push((stream, Instant::now()));
    }
    let opening = started.elapsed();
    let mut healthz_max = Some(Duration::ZERO);
    for _ in 0..PROBES {
        healthz_max = match (healthz_max, healthz(port)) {
            (Some(max), Some(took)) => Some(max.max(took)),
            _ => None,
        };
        std::thread::sleep(PROBE_GAP);
    }
    let dropped_early = conns
        .iter()
        .filter(|(c, opened)| opened.elapsed() < HEADER_TIMEOUT && !is_open(c))
        .count();
    // The server's header timeout must close every one of them: wait for that, bounded.
    let newest = conns.last().map_or(started, |(_, opened)| *opened);
    while newest.elapsed() < CLOSED_BY && conns.iter().any(|(c, _)| is_open(c)) {
        std::thread::sleep(Duration::from_millis(250));
    }
    let closed_by_server = conns.iter().filter(|(c, _)| !is_open(c)).count();
    drop(conns);
    std::thread::sleep(SETTLE);
    Ok(Step {
        slow,
        opening,
        dropped_early,
        healthz_max,
        closed_by_server,
    })
}

/// How many source addresses `slow` connections use.
pub fn sources_for(slow: usize) -> usize {
    slow.div_ceil(PER_SOURCE)
}

/// 127.0.1.1 onwards, [`PER_SOURCE`] connections each (127.0.0.1 is left to the probes).
fn source_address(k: usize) -> Ipv4Addr {
    let n = u32::try_from(k / PER_SOURCE).unwrap_or(u32::MAX);
    Ipv4Addr::from(u32::from(Ipv4Addr::new(127, 0, 1, 1)).saturating_add(n))
}

fn slow_connection(port: u16, from: Ipv4Addr) -> Result<TcpStream> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.bind(&SocketAddr::V4(SocketAddrV4::new(from, 0)).into())?;
    socket
        .connect(&SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port)).into())
        .with_context(|| format!("connecting from {from}"))?;
    let mut stream: TcpStream = socket.into();
    stream.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")?;
    stream.set_nonblocking(true)?;
    Ok(stream)
}

/// Open means the server has neither closed nor reset it (nothing is ever sent back).
fn is_open(stream: &TcpStream) -> bool {
    let mut byte = [0u8; 1];
    // `Read` is implemented for `&TcpStream`: no need for a mutable stream.
    let mut reader = stream;
    match reader.read(&mut byte) {
        Ok(0) => false,
        Ok(_) => true,
        Err(e) => e.kind() == ErrorKind::WouldBlock,
    }
}

/// How long one `GET /healthz` took on a new connection, or `None` without a 200 in time.
fn healthz(port: u16) -> Option<Duration> {
    let started = Instant::now();
    let mut stream =
        TcpStream::connect_timeout(&SocketAddr::from(([127, 0, 0, 1], port)), HEALTHY * 5).ok()?;
    stream.set_read_timeout(Some(HEALTHY * 5)).ok()?;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    response
        .starts_with(b"HTTP/1.1 200")
        .then(|| started.elapsed())
}

#[cfg(test)]
mod tests {
    use super::source_address;
    use std::net::Ipv4Addr;

    #[test]
    fn sources_spread_connections_over_loopback_addresses() {
        assert_eq!(source_address(0), Ipv4Addr::new(127, 0, 1, 1));
        assert_eq!(
            source_address(super::PER_SOURCE),
            Ipv4Addr::new(127, 0, 1, 2)
        );
        assert_eq!(
            source_address(super::PER_SOURCE * 300),
            Ipv4Addr::new(127, 0, 2, 45)
        );
    }
}
