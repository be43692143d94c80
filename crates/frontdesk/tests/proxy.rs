//! Streams through a real reverse proxy: the test starts nginx itself in front
//! of a frontdesk server, with stock `proxy_pass` locations and nginx's default
//! response buffering left ON, and shows that SSE events still reach the client
//! one by one, because frontdesk's SSE responses carry `x-accel-buffering: no`.
//!
//! Two locations: `/h11/` with `proxy_http_version 1.1` (the recommended
//! configuration) and `/h10/` with nginx's default HTTP/1.0 to the upstream. On
//! the second, nginx really buffers: a plain text stream without the header
//! reaches the client all at once when it ends, the same stream with the header
//! streams, which proves the header is what makes the difference.
//!
//! nginx is required: when it is missing the test fails (it does not skip);
//! `scripts/install-test-deps.sh` installs it. nginx runs as a child process
//! (single process, no daemon, its own prefix, config, logs and port under a
//! temporary directory) and is killed by its PID when the test ends, even when
//! it fails.
//!
//! A client that leaves nginx mid-stream still cancels the producer behind it.

mod common;

use common::{Drops, Server, Watched};

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use frontdesk::http::header::{HeaderName, HeaderValue};
use frontdesk::prelude::*;
use futures_util::stream::{self, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// The most the test may take.
const BOUND: Duration = Duration::from_secs(30);

/// How long the test waits for one thing before failing.
const STEP: Duration = Duration::from_secs(5);

/// Items per stream.
const ITEMS: u32 = 8;
/// The time between two items.
const EVERY: Duration = Duration::from_millis(100);

async fn bounded<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(BOUND, future).await {
        Ok(output) => output,
        Err(_) => panic!("{what}: did not finish within {BOUND:?}"),
    }
}

// ------------------------------------------------------------------ nginx

/// The nginx binary; the test fails when there is none.
fn nginx_binary() -> PathBuf {
    let mut candidates: Vec<PathBuf> = vec!["/usr/sbin/nginx".into(), "/usr/local/sbin/nginx".into()];
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|dir| dir.join("nginx")));
    }
    match candidates.into_iter().find(|c| c.is_file()) {
        Some(binary) => binary,
        None => panic!("nginx is required by this test and was not found: run scripts/install-test-deps.sh"),
    }
}

/// A port nobody listens on right now (nginx binds it a moment later).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A running nginx; dropping it kills the process (by PID) and removes its
/// directory.
struct Nginx {
    child: Child,
    dir: PathBuf,
    addr: SocketAddr,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // Single-process mode: this one PID is all of nginx.
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Nginx {
    /// Starts nginx on a free 127.0.0.1 port, proxying `/h11/` and `/h10/` to
    /// `upstream` (buffering on), and waits until it accepts. Another process
    /// may take the free port before nginx binds it: then it tries another.
    async fn start(upstream: SocketAddr) -> Nginx {
        let binary = nginx_binary();
        let mut attempt = 1;
        loop {
            let mut nginx = Nginx::spawn(&binary, upstream);
            match nginx.wait_ready().await {
                Ok(()) => return nginx,
                Err(reason) if attempt < 3 && reason.contains("in use") => attempt += 1,
                Err(reason) => panic!("{reason}"),
            }
        }
    }

    fn spawn(binary: &std::path::Path, upstream: SocketAddr) -> Nginx {
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "frontdesk-nginx-{}-{}",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let port = free_port();
        let d = dir.display();
        let config = format!(
            "# Written by crates/frontdesk/tests/proxy.rs.
master_process off;
error_log {d}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen 127.0.0.1:{port};
        # The recommended configuration for an HTTP/1.1 upstream.
        location /h11/ {{
            proxy_pass http://{upstream}/;
            proxy_http_version 1.1;
        }}
        # nginx's defaults untouched: HTTP/1.0 to the upstream.
        location /h10/ {{
            proxy_pass http://{upstream}/;
        }}
    }}
}}
"
        );
        let conf = dir.join("nginx.conf");
        std::fs::write(&conf, config).unwrap();
        let child = Command::new(binary)
            .arg("-p")
            .arg(&dir)
            .arg("-e")
            .arg(dir.join("error.log"))
            .arg("-c")
            .arg(&conf)
            .arg("-g")
            .arg(format!("daemon off; pid {d}/nginx.pid;"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
        Nginx {
            child,
            dir,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        }
    }

    /// Waits until nginx accepts connections; why not, if it does not.
    async fn wait_ready(&mut self) -> Result<(), String> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Err(format!("nginx exited ({status}) at start: {}", self.error_log()));
            }
            if TcpStream::connect(self.addr).await.is_ok() {
                return Ok(());
            }
            if started.elapsed() > STEP {
                return Err(format!(
                    "nginx does not accept on {} after {STEP:?}: {}",
                    self.addr,
                    self.error_log()
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_else(|e| format!("(no error log: {e})"))
    }
}

// ----------------------------------------------------------------- the app

fn spaced() -> impl Stream<Item = u32> + Send + 'static {
    stream::unfold(0u32, |i| async move {
        if i >= ITEMS {
            return None;
        }
        tokio::time::sleep(EVERY).await;
        Some((i, i + 1))
    })
}

async fn events() -> Sse<impl Stream<Item = Event>> {
    Sse::new(spaced().map(|i| Event::text(format!("event {i}")).id(i.to_string())))
}

async fn text() -> TextStream<impl Stream<Item = String>> {
    TextStream::new(spaced().map(|i| format!("chunk {i}\n")))
}

async fn text_unbuffered() -> impl IntoResponse {
    let header = (
        HeaderName::from_static("x-accel-buffering"),
        HeaderValue::from_static("no"),
    );
    (
        [header],
        TextStream::new(spaced().map(|i| format!("chunk {i}\n"))),
    )
}

async fn idle_events(State(drops): State<Drops>) -> Sse<impl Stream<Item = Event>> {
    // Two events, then silence (the keep-alive ping is 15 s away).
    let events = stream::iter([Event::text("a"), Event::text("b")]).chain(stream::pending());
    Sse::new(Watched::new(events, drops))
}

/// The frontdesk server behind nginx, and where its producers report their drops.
async fn serve_app() -> (Server, mpsc::UnboundedReceiver<Instant>) {
    let (drops, dropped) = common::drops();
    let app = App::new()
        .state(drops)
        .route(Route::get("/events", events))
        .route(Route::get("/idle-events", idle_events))
        .route(Route::get("/text", text))
        .route(Route::get("/text-unbuffered", text_unbuffered));
    (common::start(app, Duration::from_secs(2)).await, dropped)
}

// -------------------------------------------------------------- the client

/// What a client received through the proxy: the head, then each decoded
/// chunk of the body with its arrival time.
struct Received {
    sent: Instant,
    head: String,
    chunks: Vec<(Instant, Vec<u8>)>,
}

impl Received {
    fn body(&self) -> String {
        String::from_utf8(self.chunks.iter().flat_map(|(_, c)| c.clone()).collect()).unwrap()
    }

    /// Each piece of the body up to `separator` (an SSE event, a line), with
    /// the arrival time of the chunk that completed it.
    fn arrivals(&self, separator: &str) -> Vec<(Instant, String)> {
        let mut out = Vec::new();
        let mut pending = String::new();
        for (at, chunk) in &self.chunks {
            pending.push_str(std::str::from_utf8(chunk).unwrap());
            while let Some(end) = pending.find(separator) {
                out.push((*at, pending[..end].to_owned()));
                pending.drain(..end + separator.len());
            }
        }
        out
    }
}

/// GETs `path` over HTTP/1.1 and decodes the chunked body by hand, noting when
/// each chunk arrives; fails unless the body ends with its terminator.
async fn get(addr: SocketAddr, path: &str) -> Received {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let sent = Instant::now();
    let request = format!("GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut wire: Vec<u8> = Vec::new();
    let mut last_read = Instant::now();
    let mut buf = [0u8; 8192];
    // Reads until `wire` holds `want` bytes, or fails.
    macro_rules! need {
        ($want:expr) => {
            let want = $want;
            while wire.len() < want {
                let read = tokio::time::timeout(STEP, stream.read(&mut buf))
                    .await
                    .unwrap_or_else(|_| panic!("{path}: nothing received for {STEP:?}"))
                    .unwrap();
                assert!(
                    read > 0,
                    "{path}: the connection closed early: {:?}",
                    String::from_utf8_lossy(&wire)
                );
                last_read = Instant::now();
                wire.extend_from_slice(&buf[..read]);
            }
        };
    }
    // The head.
    let head_end = loop {
        if let Some(at) = wire.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        need!(wire.len() + 1);
    };
    let head = String::from_utf8(wire[..head_end].to_vec()).unwrap();
    wire.drain(..head_end + 4);
    assert!(head.starts_with("HTTP/1.1 200"), "{path}: {head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("\r\ntransfer-encoding: chunked"),
        "{path}: not chunked: {head}"
    );
    // The chunks.
    let mut chunks = Vec::new();
    loop {
        let size_end = loop {
            if let Some(at) = wire.windows(2).position(|w| w == b"\r\n") {
                break at;
            }
            need!(wire.len() + 1);
        };
        let size_line = String::from_utf8(wire[..size_end].to_vec()).unwrap();
        let size = usize::from_str_radix(size_line.split(';').next().unwrap().trim(), 16)
            .unwrap_or_else(|_| panic!("{path}: bad chunk size {size_line:?}"));
        wire.drain(..size_end + 2);
        need!(size + 2);
        if size == 0 {
            assert_eq!(&wire[..2], b"\r\n", "{path}: no trailers expected");
            return Received { sent, head, chunks };
        }
        chunks.push((last_read, wire[..size].to_vec()));
        wire.drain(..size + 2);
    }
}

// ------------------------------------------------------------------- test

/// How a stream's pieces arrived: (first piece after the request, first to
/// last piece, the most pieces within 30 ms, the gaps in ms).
fn timing(sent: Instant, times: &[Instant]) -> (Duration, Duration, usize, Vec<u128>) {
    let first = times[0] - sent;
    let spread = times[times.len() - 1] - times[0];
    let crowd = times
        .iter()
        .enumerate()
        .map(|(i, t)| {
            times[i..]
                .iter()
                .take_while(|u| **u - *t <= Duration::from_millis(30))
                .count()
        })
        .max()
        .unwrap_or(0);
    let gaps = times.windows(2).map(|w| (w[1] - w[0]).as_millis()).collect();
    (first, spread, crowd, gaps)
}

/// GETs `path` through nginx and checks the SSE events arrived one by one.
async fn assert_events_stream(nginx: &Nginx, path: &str) {
    let received = get(nginx.addr, path).await;
    let head = received.head.to_ascii_lowercase();
    assert!(
        head.contains("\r\nserver: nginx"),
        "{path}: not through nginx: {head}"
    );
    assert!(
        head.contains("\r\ncontent-type: text/event-stream; charset=utf-8"),
        "{path}: {head}"
    );
    let events = received.arrivals("\n\n");
    let texts: Vec<&str> = events.iter().map(|(_, e)| e.as_str()).collect();
    let expected: Vec<String> = (0..ITEMS).map(|i| format!("data: event {i}\nid: {i}")).collect();
    assert_eq!(texts, expected, "{path}");
    let times: Vec<Instant> = events.iter().map(|(t, _)| *t).collect();
    let (first, spread, crowd, gaps) = timing(received.sent, &times);
    eprintln!("{path}: SSE through nginx: first event after {first:?}, first to last {spread:?}, gaps (ms) {gaps:?}");
    // Produced 100 ms apart: ~700 ms from first to last when passed on at once.
    assert!(
        first < Duration::from_millis(500),
        "{path}: the first event was held back {first:?}"
    );
    assert!(
        spread >= Duration::from_millis(400),
        "{path}: events bunched over {spread:?}: {gaps:?}"
    );
    assert!(crowd <= 2, "{path}: {crowd} events within 30 ms: {gaps:?}");
}

/// GETs a text stream through nginx; returns (first line after, first to last, gaps).
async fn text_timing(nginx: &Nginx, path: &str) -> (Duration, Duration, Vec<u128>) {
    let received = get(nginx.addr, path).await;
    let expected: String = (0..ITEMS).map(|i| format!("chunk {i}\n")).collect();
    assert_eq!(received.body(), expected, "{path}");
    let times: Vec<Instant> = received.arrivals("\n").iter().map(|(t, _)| *t).collect();
    let (first, spread, _, gaps) = timing(received.sent, &times);
    eprintln!("{path}: text through nginx: first line after {first:?}, first to last {spread:?}, gaps (ms) {gaps:?}");
    (first, spread, gaps)
}

/// The app on a socket and nginx in front of it; nginx is killed (in its
/// `Drop`) even when the test fails.
async fn with_nginx<F, Fut>(what: &str, test: F)
where
    F: FnOnce(Nginx, mpsc::UnboundedReceiver<Instant>) -> Fut,
    Fut: Future<Output = Nginx>,
{
    let (upstream, dropped) = serve_app().await;
    let nginx = Nginx::start(upstream.addr).await;
    let mut nginx = bounded(what, test(nginx, dropped)).await;
    let status = nginx.child.try_wait().unwrap();
    assert!(
        status.is_none(),
        "nginx exited during the test: {}",
        nginx.error_log()
    );
    drop(nginx);
    upstream.stop_within(STEP).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_goes_through_a_buffering_nginx_event_by_event() {
    with_nginx("SSE through nginx", |nginx, _| async move {
        // The recommended configuration: HTTP/1.1 to the upstream.
        assert_events_stream(&nginx, "/h11/events").await;
        // nginx's default (HTTP/1.0 to the upstream, so no chunked encoding):
        // the case where nginx really buffers, and the header still wins.
        assert_events_stream(&nginx, "/h10/events").await;
        nginx
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_holds_back_a_stream_without_x_accel_buffering() {
    with_nginx("text through nginx", |nginx, _| async move {
        // Without the header nginx buffers the response: nothing reaches the
        // client until the stream ends (~800 ms), then everything at once.
        let (first, spread, gaps) = text_timing(&nginx, "/h10/text").await;
        assert!(
            first >= Duration::from_millis(600),
            "nginx passed a line on after {first:?}: {gaps:?}"
        );
        assert!(
            spread < Duration::from_millis(100),
            "lines spread over {spread:?}: not buffered"
        );
        // The same stream with `x-accel-buffering: no` streams: the header is
        // what makes the difference.
        let (first, spread, gaps) = text_timing(&nginx, "/h10/text-unbuffered").await;
        assert!(
            first < Duration::from_millis(500),
            "the first line was held back {first:?}"
        );
        assert!(
            spread >= Duration::from_millis(400),
            "lines bunched over {spread:?}: {gaps:?}"
        );
        // For the record (not asserted: it depends on nginx's version): with
        // HTTP/1.1 to the upstream, nginx passes each complete upstream chunk
        // on even with buffering on.
        let _ = text_timing(&nginx, "/h11/text").await;
        nginx
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_leaving_nginx_drops_the_producer() {
    with_nginx("client leaves nginx", |nginx, mut dropped| async move {
        for path in ["/h11/idle-events", "/h10/idle-events"] {
            let mut stream = TcpStream::connect(nginx.addr).await.unwrap();
            let request = format!("GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n");
            stream.write_all(request.as_bytes()).await.unwrap();
            // Read until both events are in (each ends with a blank line).
            let mut wire = Vec::new();
            let mut buf = [0u8; 4096];
            while wire.windows(2).filter(|w| w == b"\n\n").count() < 2 {
                let read = tokio::time::timeout(STEP, stream.read(&mut buf))
                    .await
                    .expect("the events")
                    .unwrap();
                assert!(
                    read > 0,
                    "{path}: closed early: {:?}",
                    String::from_utf8_lossy(&wire)
                );
                wire.extend_from_slice(&buf[..read]);
            }
            assert!(
                dropped.try_recv().is_err(),
                "{path}: the producer is alive while the client reads"
            );
            let closed = Instant::now();
            drop(stream);
            let at = tokio::time::timeout(STEP, dropped.recv())
                .await
                .unwrap_or_else(|_| panic!("{path}: the producer was not dropped within {STEP:?}"))
                .unwrap();
            let latency = at.saturating_duration_since(closed);
            eprintln!(
                "{path}: idle producer dropped {latency:?} after the client closed its connection to nginx"
            );
            // nginx notices the client's close, closes its upstream connection,
            // and frontdesk drops the producer: no write is needed on either hop.
            assert!(
                latency <= Duration::from_millis(500),
                "{path}: dropped {latency:?} after close"
            );
        }
        nginx
    })
    .await;
}
