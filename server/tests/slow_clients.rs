//! Slow and hostile clients against the real accept loop, on real loopback sockets: each case
//! is a handful of connections, each bounded in time. Every client uses its own source address
//! in 127.0.0.0/8 (all of it is loopback on Linux), so the per-address cap of one case does not
//! touch another. Timing bounds are generous: the machine is shared and noisy; what is checked
//! is that the server closes the connection, not how fast.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use server::connections::Limits;
use server::feedback::{Settings, Store};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::oneshot;

/// No case may take longer than this, whatever the server does.
const CASE_BOUND: Duration = Duration::from_secs(30);
/// Large enough that a client that never reads leaves the server blocked on writing.
const BIG_FILE_BYTES: usize = 32 * 1024 * 1024;

struct Running {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Running {
    async fn start(limits: Limits) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let dist = dir.path().join("dist");
        std::fs::create_dir(&dist).unwrap();
        std::fs::write(dist.join("index.html"), "<!doctype html><p>app</p>").unwrap();
        std::fs::write(dist.join("big.bin"), vec![7u8; BIG_FILE_BYTES]).unwrap();
        let feedback = Settings::sqlite(dir.path().join("feedback.db"));
        let store = Store::connect(&feedback.database).await.expect("store");
        let config = server::Config {
            addr: "127.0.0.1:0".parse().unwrap(),
            dist_dir: dist,
            feedback,
            connections: limits.clone(),
            public_origin: server::public_origin::PublicOrigin::Listening(None),
        };
        let app = server::router(&config, store).expect("router");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            server::connections::serve(listener, app, &limits, async {
                let _ = stopped.await;
            })
            .await;
        });
        Self {
            addr,
            stop: Some(stop),
            task,
            _dir: dir,
        }
    }

    /// A connection from `127.0.0.<host>`.
    async fn connect_from(&self, host: u8) -> TcpStream {
        let socket = TcpSocket::new_v4().unwrap();
        socket
            .bind(SocketAddr::new(
                IpAddr::V4(Ipv4Addr::new(127, 0, 0, host)),
                0,
            ))
            .expect("bind a loopback source address");
        socket.connect(self.addr).await.expect("connect")
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(CASE_BOUND, self.task)
            .await
            .expect("the server stops")
            .expect("the server task does not panic");
    }
}

/// Reads until the server closes the connection (end of stream or reset); returns what was
/// read and how long that took. Panics if it stays open for [`CASE_BOUND`].
async fn until_closed(stream: &mut tokio::net::tcp::OwnedReadHalf) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    let mut seen = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let read_all = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n.min(4096 - seen.len().min(4096))]),
            }
        }
    };
    tokio::time::timeout(CASE_BOUND, read_all)
        .await
        .expect("the server closed the connection");
    (seen, started.elapsed())
}

/// Sends `bytes` one at a time, `gap` apart, until they run out or the server hangs up.
async fn trickle(mut w: tokio::net::tcp::OwnedWriteHalf, bytes: Vec<u8>, gap: Duration) {
    for b in bytes {
        if w.write_all(&[b]).await.is_err() {
            return;
        }
        tokio::time::sleep(gap).await;
    }
}

async fn healthz_from(server: &Running, host: u8) -> String {
    let stream = server.connect_from(host).await;
    let (mut r, mut w) = stream.into_split();
    w.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let (seen, _) = until_closed(&mut r).await;
    String::from_utf8_lossy(&seen).into_owned()
}

fn short_timeouts() -> Limits {
    Limits {
        header_read: Duration::from_secs(1),
        body_read: Duration::from_secs(1),
        idle: Duration::from_secs(2),
        ..Limits::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off_and_others_still_served() {
    let limits = short_timeouts();
    let server = Running::start(limits.clone()).await;
    let gap = Duration::from_millis(300);

    let silent = async {
        let (mut r, _w) = server.connect_from(10).await.into_split();
        until_closed(&mut r).await
    };
    let partial_headers = async {
        let (mut r, mut w) = server.connect_from(11).await.into_split();
        w.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
            .await
            .unwrap();
        until_closed(&mut r).await
    };
    let trickled_headers = async {
        let (mut r, w) = server.connect_from(12).await.into_split();
        // 60 bytes at 300 ms each would take 18 s: the header timeout ends it first.
        let head = format!(
            "GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: {}",
            "z".repeat(30)
        );
        let writer = tokio::spawn(trickle(w, head.into_bytes(), gap));
        let closed = until_closed(&mut r).await;
        writer.abort();
        closed
    };
    // Headers in full, then a 100-byte body one byte per `gap`.
    let trickled_body = |address: u8, head: &'static [u8]| {
        let server = &server;
        async move {
            let (mut r, mut w) = server.connect_from(address).await.into_split();
            w.write_all(head).await.unwrap();
            let writer = tokio::spawn(trickle(w, vec![b' '; 100], gap));
            let closed = until_closed(&mut r).await;
            writer.abort();
            closed
        }
    };
    let trickled_api_body = trickled_body(
        13,
        b"POST /api/feedback HTTP/1.1\r\nHost: localhost\r\n\
          Content-Type: application/json\r\nContent-Length: 100\r\n\r\n",
    );
    let trickled_body_to_a_page = trickled_body(
        14,
        b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n",
    );
    let idle_after_a_response = async {
        let (mut r, mut w) = server.connect_from(15).await.into_split();
        w.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .unwrap();
        until_closed(&mut r).await
    };
    let never_reads_its_response = async {
        let (mut r, mut w) = server.connect_from(16).await.into_split();
        w.write_all(b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .unwrap();
        // Long enough for the server's writes to stall on full socket buffers.
        tokio::time::sleep(limits.idle * 3).await;
        let started = Instant::now();
        let mut total = 0usize;
        let mut buf = vec![0u8; 1 << 20];
        let drain = async {
            loop {
                match r.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => total += n,
                }
            }
        };
        tokio::time::timeout(CASE_BOUND, drain)
            .await
            .expect("the stalled connection was closed");
        (total, started.elapsed())
    };
    let healthy_meanwhile = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        healthz_from(&server, 20).await
    };

    let (
        silent,
        partial_headers,
        trickled_headers,
        api_body,
        page_body,
        idle,
        never_reads,
        healthz,
    ) = tokio::join!(
        silent,
        partial_headers,
        trickled_headers,
        trickled_api_body,
        trickled_body_to_a_page,
        idle_after_a_response,
        never_reads_its_response,
        healthy_meanwhile,
    );
    // Closed by the header timeout, not refused: not before it ran out.
    for (what, (_, after)) in [
        ("silent", &silent),
        ("partial headers", &partial_headers),
        ("trickled headers", &trickled_headers),
    ] {
        assert!(
            *after >= limits.header_read - Duration::from_millis(100),
            "{what}: closed after {after:?}"
        );
        // Well before the 18 s the trickle would have needed.
        assert!(*after < Duration::from_secs(15), "{what}: {after:?}");
    }
    let api_body = String::from_utf8_lossy(&api_body.0);
    assert!(api_body.starts_with("HTTP/1.1 408"), "{api_body}");
    assert!(api_body.contains("body_timeout"), "{api_body}");
    assert!(page_body.1 < Duration::from_secs(15), "{:?}", page_body.1);
    let idle_reply = String::from_utf8_lossy(&idle.0);
    assert!(idle_reply.starts_with("HTTP/1.1 200"), "{idle_reply}");
    let (received, _) = never_reads;
    assert!(
        received < BIG_FILE_BYTES,
        "the stalled download was closed part-way ({received} bytes)"
    );
    assert!(healthz.starts_with("HTTP/1.1 200"), "{healthz}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_gets_at_most_its_share_of_connections() {
    let limits = Limits {
        // Long timeouts: a held connection stays open for the whole case.
        header_read: Duration::from_secs(60),
        per_address: 4,
        ..Limits::default()
    };
    let server = Running::start(limits).await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(server.connect_from(30).await);
    }
    // The fifth from the same address is closed at once, long before any timeout.
    let (mut r, _w) = server.connect_from(30).await.into_split();
    let (_, after) = until_closed(&mut r).await;
    assert!(after < Duration::from_secs(20), "{after:?}");
    // Another address is served meanwhile.
    assert!(healthz_from(&server, 31).await.starts_with("HTTP/1.1 200"));
    // The four held ones were not touched: each still answers.
    let (mut r, mut w) = held.pop().unwrap().into_split();
    w.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let (reply, _) = until_closed(&mut r).await;
    assert!(String::from_utf8_lossy(&reply).starts_with("HTTP/1.1 200"));
    // That one closed, so the address has a free slot again.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(healthz_from(&server, 30).await.starts_with("HTTP/1.1 200"));
    drop(held);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_connection_cap_new_clients_wait_instead_of_failing() {
    let limits = Limits {
        header_read: Duration::from_secs(1),
        total: 3,
        ..Limits::default()
    };
    let server = Running::start(limits.clone()).await;
    // Three silent clients take every slot until the header timeout frees them.
    let mut silent = Vec::new();
    for host in 40..43 {
        silent.push(server.connect_from(host).await);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let reply = healthz_from(&server, 43).await;
    // Queued by the kernel, not refused: answered once a slot came free.
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(
        started.elapsed() >= limits.header_read / 2,
        "it waited for a slot: {:?}",
        started.elapsed()
    );
    drop(silent);
    server.stop().await;
}
