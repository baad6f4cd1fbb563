//! A small blocking HTTP/1.1 load generator for `bench-feedback`. wrk and oha count responses,
//! not which submissions were acknowledged; the durability checks need exactly that: every
//! worker keeps the ids whose 201/200 it read, so "rows == acknowledged" and "every
//! acknowledged record survives kill -9" can be checked id by id.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

pub struct Outcome {
    /// Ids whose submission the server acknowledged (201 or a 200 repeat).
    pub acked: Vec<String>,
    /// Requests that failed: connection errors or any status other than 200/201.
    pub errors: usize,
    /// Latency of each acknowledged request, in microseconds, sorted.
    pub latencies_us: Vec<u64>,
    pub elapsed: Duration,
}

impl Outcome {
    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * self.latencies_us.len() as f64).ceil() as usize;
        self.latencies_us[rank.clamp(1, self.latencies_us.len()) - 1] as f64 / 1000.0
    }

    pub fn per_second(&self) -> f64 {
        self.acked.len() as f64 / self.elapsed.as_secs_f64()
    }
}

/// A realistic submission: a visit rating with a comment and telemetry.
pub fn body(id: &str, n: usize) -> String {
    format!(
        r#"{{"id":"{id}","visit":{{"speed":{},"stability":{},"usability":{},"comment":"load test comment {n}"}},"telemetry":{{"latency_ms":{}.5,"backend":"wasm-simd","device":"desktop"}}}}"#,
        1 + n % 5,
        1 + (n / 5) % 5,
        1 + (n / 25) % 5,
        n % 200
    )
}

/// Sends `total` submissions over `connections` keep-alive connections. With `stop_on_error`,
/// a worker ends at its first failure (the kill -9 run); otherwise it reconnects and goes on.
pub fn run(port: u16, total: usize, connections: usize, stop_on_error: bool) -> Outcome {
    let next = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            let next = next.clone();
            let stop = stop.clone();
            std::thread::spawn(move || worker(port, total, &next, &stop, stop_on_error))
        })
        .collect();
    let mut out = Outcome {
        acked: Vec::new(),
        errors: 0,
        latencies_us: Vec::new(),
        elapsed: Duration::ZERO,
    };
    for w in workers {
        if let Ok((acked, errors, lat)) = w.join() {
            out.acked.extend(acked);
            out.errors += errors;
            out.latencies_us.extend(lat);
        }
    }
    out.elapsed = started.elapsed();
    out.latencies_us.sort_unstable();
    out
}

type WorkerResult = (Vec<String>, usize, Vec<u64>);

fn worker(
    port: u16,
    total: usize,
    next: &AtomicUsize,
    stop: &AtomicBool,
    stop_on_error: bool,
) -> WorkerResult {
    let (mut acked, mut errors, mut lat) = (Vec::new(), 0, Vec::new());
    let mut conn: Option<Connection> = None;
    while !stop.load(Ordering::Relaxed) {
        let n = next.fetch_add(1, Ordering::Relaxed);
        if n >= total {
            break;
        }
        let id = uuid::Uuid::new_v4().to_string();
        let start = Instant::now();
        let result = match conn.as_mut() {
            Some(c) => c.post_feedback(&body(&id, n)),
            None => Connection::open(port).and_then(|c| {
                let c = conn.insert(c);
                c.post_feedback(&body(&id, n))
            }),
        };
        match result {
            Ok(200 | 201) => {
                lat.push(start.elapsed().as_micros() as u64);
                acked.push(id);
            }
            Ok(_) | Err(_) => {
                errors += 1;
                conn = None;
                if stop_on_error {
                    break;
                }
            }
        }
    }
    (acked, errors, lat)
}

struct Connection {
    stream: BufReader<TcpStream>,
}

impl Connection {
    fn open(port: u16) -> Result<Self> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(Self {
            stream: BufReader::new(stream),
        })
    }

    fn post_feedback(&mut self, body: &str) -> Result<u16> {
        let head = format!(
            "POST /api/feedback HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let s = self.stream.get_mut();
        s.write_all(head.as_bytes())?;
        s.write_all(body.as_bytes())?;
        let (status, _) = read_response(&mut self.stream)?;
        Ok(status)
    }
}

/// Reads one response with a Content-Length body (all the API sends).
fn read_response(r: &mut BufReader<TcpStream>) -> Result<(u16, Vec<u8>)> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        bail!("connection closed");
    }
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("bad status line {line:?}"))?;
    let mut length = 0usize;
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            bail!("connection closed in headers");
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().context("content-length")?;
            }
        }
    }
    let mut body = vec![0; length];
    r.read_exact(&mut body)?;
    Ok((status, body))
}

/// One GET with a Bearer token; returns the status and body.
pub fn get(port: u16, path: &str, token: &str) -> Result<(u16, Vec<u8>)> {
    let mut c = Connection::open(port)?;
    let head =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n");
    c.stream.get_mut().write_all(head.as_bytes())?;
    read_response(&mut c.stream)
}
