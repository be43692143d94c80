//! `serve_with` over real sockets: the header-read timeout (slow headers,
//! silent and idle connections are closed; long requests and streams are not),
//! telling HTTP/1.1 from HTTP/2 by the first bytes, even when they arrive in
//! pieces, graceful shutdown of HTTP/2 connections, long handler timeouts
//! kept by the connection sweep, and clients that leave mid-request (HTTP/1.1
//! and HTTP/2) or reset an HTTP/2 stream: their handlers are cancelled.

#[allow(dead_code)]
mod common;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use frontdesk::bytes::Bytes;
use frontdesk::http::{Request, StatusCode, Version};
use frontdesk::prelude::*;
use frontdesk::ServeConfig;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

/// The header-read timeout of these tests.
const TIMEOUT: Duration = Duration::from_millis(400);

/// How late past 1.25 × [`TIMEOUT`] a close may come on a loaded machine.
const SLACK: Duration = Duration::from_millis(1500);

fn config() -> ServeConfig {
    ServeConfig {
        header_read_timeout: TIMEOUT,
        shutdown_deadline: Duration::from_secs(5),
        ..ServeConfig::default()
    }
}

async fn hello() -> &'static str {
    "hello"
}

async fn slow() -> &'static str {
    tokio::time::sleep(TIMEOUT * 3).await;
    "slow"
}

/// Two events with a pause of twice the timeout between them.
async fn paused() -> Sse<impl Stream<Item = Event>> {
    let events = futures_util::stream::unfold(0u8, |i| async move {
        if i == 2 {
            return None;
        }
        if i == 1 {
            tokio::time::sleep(TIMEOUT * 2).await;
        }
        Some((Event::text(format!("e{i}")), i + 1))
    });
    Sse::new(events).no_keep_alive()
}

fn app() -> App {
    App::new()
        .route(Route::get("/hello", hello))
        .route(Route::get("/slow", slow))
        .route(Route::get("/paused", paused))
}

/// Reads until the server closes the connection; how long after `since`.
async fn closed_after(stream: &mut TcpStream, since: Instant) -> Duration {
    let mut buf = [0u8; 1024];
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return since.elapsed(),
                Ok(_) => {}
            }
        }
    })
    .await
    .expect("the server closes the connection")
}

fn assert_closed_in_time(what: &str, after: Duration) {
    assert!(
        after >= TIMEOUT && after <= TIMEOUT * 5 / 4 + SLACK,
        "{what}: closed after {after:?}, expected {TIMEOUT:?} to {:?}",
        TIMEOUT * 5 / 4
    );
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_cut_off() {
    let server = common::start_with(app(), config()).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let opened = Instant::now();
    stream
        .write_all(b"GET /hello HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let (mut read, mut write) = stream.into_split();
    // A header line every 100 ms, never the blank line that ends them.
    let trickle = tokio::spawn(async move {
        while write.write_all(b"x-slow: 1\r\n").await.is_ok() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut buf = [0u8; 256];
    let after = tokio::time::timeout(Duration::from_secs(10), async {
        match read.read(&mut buf).await {
            Ok(0) | Err(_) => opened.elapsed(),
            Ok(n) => panic!("no answer expected, got {:?}", String::from_utf8_lossy(&buf[..n])),
        }
    })
    .await
    .expect("the server closes the connection");
    trickle.abort();
    assert_closed_in_time("trickled headers", after);
    server.stop_within(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_silent_connection_is_closed() {
    let server = common::start_with(app(), config()).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let after = closed_after(&mut stream, Instant::now()).await;
    assert_closed_in_time("silent connection", after);
    server.stop_within(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_timeout() {
    let server = common::start_with(app(), config()).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /hello HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while !answer.ends_with(b"hello") {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed before the answer");
        answer.extend_from_slice(&buf[..n]);
    }
    let answered = Instant::now();
    assert!(answer.starts_with(b"HTTP/1.1 200"));
    let after = closed_after(&mut stream, answered).await;
    assert_closed_in_time("idle keep-alive", after);
    server.stop_within(Duration::from_secs(5)).await;
}

type Sender = hyper::client::conn::http1::SendRequest<Empty<Bytes>>;

async fn http1_client(addr: std::net::SocketAddr) -> (Sender, tokio::task::JoinHandle<Instant>) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    let closed = tokio::spawn(async move {
        let _ = connection.await;
        Instant::now()
    });
    (sender, closed)
}

async fn get(sender: &mut Sender, path: &str) -> (StatusCode, String) {
    let request = Request::get(path).header("host", "x").body(Empty::new()).unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn long_requests_and_paused_streams_keep_their_connection() {
    let server = common::start_with(app(), config()).await;
    let (mut sender, closed) = http1_client(server.addr).await;
    assert_eq!(
        get(&mut sender, "/slow").await,
        (StatusCode::OK, "slow".to_owned())
    );
    let (status, body) = get(&mut sender, "/paused").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "data: e0\n\ndata: e1\n\n");
    // The same connection still answers, then is closed once idle.
    assert_eq!(
        get(&mut sender, "/hello").await,
        (StatusCode::OK, "hello".to_owned())
    );
    let idle_from = Instant::now();
    let closed_at = tokio::time::timeout(Duration::from_secs(10), closed)
        .await
        .expect("the idle connection is closed")
        .unwrap();
    assert_closed_in_time("idle after long requests", closed_at - idle_from);
    server.stop_within(Duration::from_secs(5)).await;
}

type Http2Sender = hyper::client::conn::http2::SendRequest<Empty<Bytes>>;

/// An HTTP/2 client (prior knowledge) over `io`; the handle completes when
/// its connection ends.
async fn http2_client<T>(io: T) -> (Http2Sender, tokio::task::JoinHandle<hyper::Result<()>>)
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(io))
        .await
        .unwrap();
    (sender, tokio::spawn(connection))
}

/// A GET of `path` for an HTTP/2 client of `addr` (whose requests carry the
/// whole URI).
fn http2_get(addr: std::net::SocketAddr, path: &str) -> Request<Empty<Bytes>> {
    Request::get(format!("http://{addr}{path}"))
        .body(Empty::<Bytes>::new())
        .unwrap()
}

/// A client connection that sends its first five bytes, pauses, then the rest:
/// the server sees a piece of the HTTP/2 preface too short to decide on.
struct Stutter {
    inner: TcpStream,
    written: usize,
    pause: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl AsyncRead for Stutter {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Stutter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = &mut *self;
        if this.written == 0 {
            let n = std::task::ready!(Pin::new(&mut this.inner).poll_write(cx, &buf[..buf.len().min(5)]))?;
            this.written += n;
            this.pause = Some(Box::pin(tokio::time::sleep(Duration::from_millis(100))));
            return Poll::Ready(Ok(n));
        }
        if let Some(pause) = this.pause.as_mut() {
            std::task::ready!(pause.as_mut().poll(cx));
            this.pause = None;
        }
        let n = std::task::ready!(Pin::new(&mut this.inner).poll_write(cx, buf))?;
        this.written += n;
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[tokio::test]
async fn http2_is_recognised_when_its_preface_arrives_in_pieces() {
    let server = common::start_with(app(), config()).await;
    let stream = TcpStream::connect(server.addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let io = Stutter {
        inner: stream,
        written: 0,
        pause: None,
    };
    let (mut sender, _connection) = http2_client(io).await;
    let request = http2_get(server.addr, "/hello");
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.version(), Version::HTTP_2);
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"hello");
    server.stop_within(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn shutdown_lets_an_http2_request_finish_then_closes_the_connection() {
    let mut server = common::start_with(app(), config()).await;
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let (mut sender, closed) = http2_client(stream).await;
    let request = http2_get(server.addr, "/slow");
    let in_flight = tokio::spawn(sender.send_request(request));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let began = Instant::now();
    server.shutdown();
    let response = in_flight.await.unwrap().unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"slow");
    tokio::time::timeout(Duration::from_secs(5), closed)
        .await
        .expect("the server closes the HTTP/2 connection after the last stream")
        .unwrap()
        .unwrap();
    let handle = server.handle;
    tokio::time::timeout(Duration::from_secs(5), handle)
        .await
        .expect("serve_with returns once drained")
        .unwrap()
        .unwrap();
    // The slow handler had ~1.1 s left; the drain did not wait for the 5 s deadline.
    assert!(
        began.elapsed() < Duration::from_secs(3),
        "drained in {:?}",
        began.elapsed()
    );
}

#[tokio::test]
async fn many_connections_open_and_close_without_leaking_slots() {
    let server = common::start_with(app(), config()).await;
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let addr = server.addr;
        tasks.push(tokio::spawn(async move {
            let (mut sender, closed) = http1_client(addr).await;
            for _ in 0..5 {
                assert_eq!(get(&mut sender, "/hello").await.1, "hello");
            }
            drop(sender);
            closed.await.unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    // Every connection was closed by its client, so the drain is immediate.
    let began = Instant::now();
    server.stop_within(Duration::from_secs(5)).await;
    assert!(
        began.elapsed() < Duration::from_secs(1),
        "drained in {:?}",
        began.elapsed()
    );
}

#[tokio::test]
async fn the_longest_timeout_is_accepted() {
    let config = ServeConfig {
        header_read_timeout: Duration::MAX,
        shutdown_deadline: Duration::from_secs(5),
        ..ServeConfig::default()
    };
    let server = common::start_with(app(), config).await;
    let (mut sender, _closed) = http1_client(server.addr).await;
    assert_eq!(
        get(&mut sender, "/hello").await,
        (StatusCode::OK, "hello".to_owned())
    );
    server.stop_within(Duration::from_secs(5)).await;
}

/// A handler timeout of 16 sweep periods or more is kept by the connection
/// sweep on HTTP/1 (no tokio timer), by a tokio timer on HTTP/2: either way
/// the answer is a 504 after the limit, never before, and the connection goes
/// on serving; a request that ends first leaves no deadline behind.
#[tokio::test]
async fn a_long_handler_timeout_fires_after_its_limit_on_http1_and_http2() {
    // Sweeps every 20 ms; 16 periods are 320 ms.
    let header_read_timeout = Duration::from_millis(80);
    let limit = Duration::from_millis(400);
    async fn stuck() -> &'static str {
        std::future::pending::<()>().await;
        "never"
    }
    async fn brief() -> &'static str {
        tokio::time::sleep(Duration::from_millis(30)).await;
        "brief"
    }
    let app = App::new()
        .route(Route::get("/hello", hello))
        .route(Route::get("/stuck", stuck).timeout(limit))
        .route(Route::get("/brief", brief).timeout(limit));
    let config = ServeConfig {
        header_read_timeout,
        shutdown_deadline: Duration::from_secs(5),
        ..ServeConfig::default()
    };
    let server = common::start_with(app, config).await;
    // Late by at most two sweeps, plus what a loaded machine adds.
    let latest = limit + Duration::from_millis(40) + SLACK;

    let (mut sender, _closed) = http1_client(server.addr).await;
    // Ends before its limit, then many sweeps pass: nothing fires for it.
    assert_eq!(
        get(&mut sender, "/brief").await,
        (StatusCode::OK, "brief".to_owned())
    );
    let ((status, body), took) = timed(
        latest * 4,
        "HTTP/1: the handler timeout fires",
        get(&mut sender, "/stuck"),
    )
    .await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(body, r#"{"detail":"Gateway Timeout"}"#);
    assert!(
        took >= limit,
        "HTTP/1: 504 after {took:?}, before the {limit:?} limit"
    );
    assert!(took <= latest, "HTTP/1: 504 only after {took:?}");
    // The same connection answers on, and a later long wait times out again.
    assert_eq!(
        get(&mut sender, "/hello").await,
        (StatusCode::OK, "hello".to_owned())
    );
    let ((status, _), took) = timed(
        latest * 4,
        "HTTP/1: the second handler timeout fires",
        get(&mut sender, "/stuck"),
    )
    .await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert!(took >= limit);

    let stream = TcpStream::connect(server.addr).await.unwrap();
    let (mut h2, _connection) = http2_client(stream).await;
    let request = http2_get(server.addr, "/stuck");
    let (response, took) = timed(
        latest * 4,
        "HTTP/2: the handler timeout fires",
        h2.send_request(request),
    )
    .await;
    let response = response.unwrap();
    assert_eq!(response.version(), Version::HTTP_2);
    assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
    assert!(
        took >= limit,
        "HTTP/2: 504 after {took:?}, before the {limit:?} limit"
    );
    assert!(took <= latest, "HTTP/2: 504 only after {took:?}");
    server.stop_within(Duration::from_secs(5)).await;
}

/// Runs `work` (which must end within `within`, or the test fails with
/// `what`); its output and how long it took.
async fn timed<F: Future>(within: Duration, what: &str, work: F) -> (F::Output, Duration) {
    let began = Instant::now();
    let output = tokio::time::timeout(within, work).await.expect(what);
    (output, began.elapsed())
}

/// Reads HTTP/1.1 answers with a `Content-Length` from `stream` until `count`
/// have come; their bodies, in order.
async fn read_answers(stream: &mut TcpStream, count: usize) -> Vec<String> {
    let mut bytes = Vec::new();
    let mut bodies = Vec::new();
    let mut buf = [0u8; 4096];
    while bodies.len() < count {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("the answers come")
            .unwrap();
        assert!(n > 0, "closed after {} answers", bodies.len());
        bytes.extend_from_slice(&buf[..n]);
        // Take every complete answer at the front.
        loop {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let Some(end) = text.find("\r\n\r\n") else { break };
            let length: usize = text[..end]
                .lines()
                .find_map(|line| {
                    line.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(str::to_owned)
                })
                .expect("a content-length")
                .trim()
                .parse()
                .unwrap();
            if bytes.len() < end + 4 + length {
                break;
            }
            assert!(text.starts_with("HTTP/1.1 200"), "{text}");
            bodies.push(text[end + 4..end + 4 + length].to_owned());
            bytes.drain(..end + 4 + length);
        }
    }
    bodies
}

/// The server looks at a connection's first bytes to tell HTTP/1.1 from
/// HTTP/2 before hyper reads them: requests that arrive together in the first
/// segment, and a first request longer than a read, are all answered in full.
#[tokio::test]
async fn pipelined_and_long_first_requests_are_answered_whole() {
    async fn size(body: Bytes) -> String {
        body.len().to_string()
    }
    let app = app().route(Route::post("/size", size));
    let server = common::start_with(app, config()).await;

    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let hello_request = "GET /hello HTTP/1.1\r\nhost: x\r\n\r\n";
    stream
        .write_all(format!("{hello_request}{hello_request}{hello_request}").as_bytes())
        .await
        .unwrap();
    assert_eq!(read_answers(&mut stream, 3).await, ["hello", "hello", "hello"]);

    for length in [4000, 4096, 20_000] {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        let mut request = format!(
            "POST /size HTTP/1.1\r\nhost: x\r\ncontent-type: application/octet-stream\r\ncontent-length: {length}\r\n\r\n"
        )
        .into_bytes();
        request.extend((0..length).map(|i| b'a' + (i % 26) as u8));
        request.extend_from_slice(hello_request.as_bytes());
        stream.write_all(&request).await.unwrap();
        assert_eq!(
            read_answers(&mut stream, 2).await,
            [length.to_string(), "hello".to_owned()]
        );
    }

    // A client that connects and leaves without a byte costs nothing lasting.
    for _ in 0..8 {
        drop(TcpStream::connect(server.addr).await.unwrap());
    }
    let (mut sender, _closed) = http1_client(server.addr).await;
    assert_eq!(get(&mut sender, "/hello").await.1, "hello");
    server.stop_within(Duration::from_secs(5)).await;
}

/// With `http2: false` the server takes every connection as HTTP/1.1 at once:
/// HTTP/1.1 requests, pipelined ones too, are answered, and a connection that
/// opens with HTTP/2's preface is closed without an answer.
#[tokio::test]
async fn http1_only_serves_http1_and_closes_http2_connections() {
    let config = ServeConfig {
        http2: false,
        ..config()
    };
    let server = common::start_with(app(), config).await;

    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let hello_request = "GET /hello HTTP/1.1\r\nhost: x\r\n\r\n";
    stream
        .write_all(format!("{hello_request}{hello_request}").as_bytes())
        .await
        .unwrap();
    assert_eq!(read_answers(&mut stream, 2).await, ["hello", "hello"]);

    let stream = TcpStream::connect(server.addr).await.unwrap();
    let (mut h2, _connection) = http2_client(stream).await;
    let request = http2_get(server.addr, "/hello");
    let answered = tokio::time::timeout(Duration::from_secs(10), h2.send_request(request))
        .await
        .expect("the HTTP/2 request ends");
    assert!(
        answered.is_err(),
        "an HTTP/1.1-only server answered HTTP/2: {answered:?}"
    );

    let (mut sender, _closed) = http1_client(server.addr).await;
    assert_eq!(get(&mut sender, "/hello").await.1, "hello");
    server.stop_within(Duration::from_secs(5)).await;
}

/// Dropping `serve_with`'s future (here by aborting its task) closes the
/// listener: the accept loop, a task of its own, ends with it.
#[tokio::test]
async fn dropping_the_serve_future_stops_accepting() {
    let server = common::start_with(app(), config()).await;
    let (mut sender, _closed) = http1_client(server.addr).await;
    assert_eq!(get(&mut sender, "/hello").await.1, "hello");
    server.handle.abort();
    let refused = async {
        while TcpStream::connect(server.addr).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), refused)
        .await
        .expect("new connections are refused once serve_with's future is dropped");
}

/// Where [`hang`] reports the calls it starts and the calls dropped.
#[derive(Clone)]
struct Calls {
    started: tokio::sync::mpsc::UnboundedSender<String>,
    dropped: tokio::sync::mpsc::UnboundedSender<String>,
}

/// Reports its call's name when dropped.
struct Guard {
    name: String,
    to: tokio::sync::mpsc::UnboundedSender<String>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.to.send(std::mem::take(&mut self.name));
    }
}

/// A handler that never answers (a model that never returns), and reports
/// when its call is dropped.
async fn hang(State(calls): State<Calls>, Path(name): Path<String>) -> &'static str {
    let _guard = Guard {
        name: name.clone(),
        to: calls.dropped.clone(),
    };
    let _ = calls.started.send(name);
    std::future::pending::<()>().await;
    "never"
}

/// The next name from `rx`, within five seconds.
async fn next_within(rx: &mut tokio::sync::mpsc::UnboundedReceiver<String>, what: &str) -> String {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap_or_else(|_| panic!("{what}: nothing within 5 s"))
        .expect("the app holds the sender")
}

/// Serves [`app`] with `/hang/{name}` ([`hang`]); the names of the calls
/// started and dropped arrive on the two receivers.
async fn serve_hang() -> (
    common::Server,
    tokio::sync::mpsc::UnboundedReceiver<String>,
    tokio::sync::mpsc::UnboundedReceiver<String>,
) {
    let (started_to, started) = tokio::sync::mpsc::unbounded_channel();
    let (dropped_to, dropped) = tokio::sync::mpsc::unbounded_channel();
    let app = app()
        .state(Calls {
            started: started_to,
            dropped: dropped_to,
        })
        .route(Route::get("/hang/{name}", hang));
    (common::start_with(app, config()).await, started, dropped)
}

/// An HTTP/2 client that resets one stream cancels that stream's handler
/// only; one that closes its connection cancels the rest. Nothing of either
/// is left running, and the server goes on serving.
#[tokio::test]
async fn an_http2_client_that_resets_a_stream_or_leaves_cancels_its_handlers() {
    let (server, mut started, mut dropped) = serve_hang().await;
    // The client's socket, and a handle on it to cut the connection with: a
    // client's own connection lives on while any of its streams waits.
    let socket = std::net::TcpStream::connect(server.addr).unwrap();
    socket.set_nonblocking(true).unwrap();
    let cut = socket.try_clone().unwrap();
    let (mut sender, _connection) = http2_client(TcpStream::from_std(socket).unwrap()).await;

    // Two streams of one connection, both handlers waiting at once.
    let a = tokio::spawn(sender.send_request(http2_get(server.addr, "/hang/a")));
    let b = tokio::spawn(sender.send_request(http2_get(server.addr, "/hang/b")));
    let mut names = [
        next_within(&mut started, "first call").await,
        next_within(&mut started, "second call").await,
    ];
    names.sort();
    assert_eq!(names, ["a", "b"]);
    // A third stream is answered meanwhile.
    let response = sender
        .send_request(http2_get(server.addr, "/hello"))
        .await
        .unwrap();
    assert_eq!(response.version(), Version::HTTP_2);
    assert_eq!(response.status(), StatusCode::OK);

    // Dropping a response future resets its stream (RST_STREAM CANCEL).
    a.abort();
    assert_eq!(next_within(&mut dropped, "reset stream").await, "a");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        dropped.try_recv().is_err(),
        "the other stream's handler is still running"
    );
    assert!(
        !b.is_finished(),
        "the other stream is still waiting for its answer"
    );

    // Closing the connection cancels what is left.
    cut.shutdown(std::net::Shutdown::Both).unwrap();
    assert_eq!(next_within(&mut dropped, "closed connection").await, "b");
    let b = tokio::time::timeout(Duration::from_secs(5), b)
        .await
        .unwrap()
        .unwrap();
    assert!(b.is_err(), "the stream of a closed connection has no answer");
    drop(sender);

    // New connections are served as before.
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let (mut sender, _connection) = http2_client(stream).await;
    let response = sender
        .send_request(http2_get(server.addr, "/hello"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    server.stop_within(Duration::from_secs(5)).await;
}

/// An HTTP/1.1 client that closes its connection while its handler waits
/// cancels the handler.
#[tokio::test]
async fn an_http1_client_that_leaves_cancels_its_handler() {
    let (server, mut started, mut dropped) = serve_hang().await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /hang/c HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(next_within(&mut started, "the call").await, "c");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        dropped.try_recv().is_err(),
        "the handler waits while the client does"
    );
    drop(stream);
    assert_eq!(next_within(&mut dropped, "closed connection").await, "c");
    server.stop_within(Duration::from_secs(5)).await;
}
