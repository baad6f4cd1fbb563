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
/// The server's default header timeout, plus slack: by then it must have closed them all.
const CLOSED_BY: Duration = Duration::from_secs(10 + 5);

pub struct Step {
    pub slow: usize,
    /// Slow connections still open when the probes ended (the server held them).
    pub held: usize,
    pub healthz_max: Option<Duration>,
    /// Slow connections the server had closed by [`CLOSED_BY`] after they opened.
    pub closed_by_server: usize,
}

impl Step {
    pub fn survived(&self) -> bool {
        self.healthz_max.is_some_and(|d| d < HEALTHY)
    }

    pub fn row(&self) -> String {
        format!(
            "| {} | {} | {} | {} | {} |",
            self.slow,
            self.held,
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

/// One step: `slow` connections opened, `/healthz` probed, then held until the server closes
/// them (or [`CLOSED_BY`] passes).
pub fn step(port: u16, slow: usize) -> Result<Step> {
    let opened = Instant::now();
    let mut conns = Vec::with_capacity(slow);
    for k in 0..slow {
        conns.push(slow_connection(port, source_address(k))?);
    }
    let mut healthz_max = Some(Duration::ZERO);
    for _ in 0..PROBES {
        healthz_max = match (healthz_max, healthz(port)) {
            (Some(max), Some(took)) => Some(max.max(took)),
            _ => None,
        };
        std::thread::sleep(PROBE_GAP);
    }
    let held = conns.iter().filter(|c| is_open(c)).count();
    // The server's header timeout must close every one of them: wait for that, bounded.
    while opened.elapsed() < CLOSED_BY && conns.iter().any(is_open) {
        std::thread::sleep(Duration::from_millis(250));
    }
    let closed_by_server = conns.iter().filter(|c| !is_open(c)).count();
    Ok(Step {
        slow,
        held,
        healthz_max,
        closed_by_server,
    })
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
    match (&*stream).read(&mut byte) {
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
