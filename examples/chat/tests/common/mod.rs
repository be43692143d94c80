//! Helpers shared by the integration tests: configurations, apps served on a
//! real socket, models that count or fail, a scripted fake upstream (its state,
//! and the handler that plays its script in a provider's wire format), and
//! bounded waits. Each test file uses a different subset.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chat::config::{Config, EchoConfig, ModelConfig, UpstreamConfig};
use chat::model::echo::EchoModel;
use chat::model::{ChatModel, CompletionStream, ModelError, ModelRequest};
use frontdesk::prelude::*;
use frontdesk::testing::TestResponse;
use frontdesk::{ReceivedEvent, Response, ServeConfig};
use http::HeaderMap;
use serde_json::{json, Value};
use tokio::sync::oneshot;

/// The echo model at full speed: no delay, no pause between tokens.
pub(crate) fn fast_echo() -> EchoConfig {
    EchoConfig {
        first_token_delay: Duration::ZERO,
        token_interval: Duration::ZERO,
    }
}

/// A configuration on the fast echo model, without auth.
pub(crate) fn echo_config() -> Config {
    Config {
        model: ModelConfig::Echo(fast_echo()),
        ..Config::default()
    }
}

/// Upstream settings for tests: short timeouts, fast retries.
pub(crate) fn test_upstream() -> UpstreamConfig {
    UpstreamConfig {
        connect_timeout: Duration::from_secs(2),
        first_byte_timeout: Duration::from_millis(1000),
        idle_timeout: Duration::from_millis(1000),
        max_retries: 2,
        retry_base_delay: Duration::from_millis(10),
    }
}

/// Runs `future`, failing the test if it takes longer than `secs` seconds.
pub(crate) async fn within<T>(secs: u64, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(secs), future).await {
        Ok(value) => value,
        Err(_) => panic!("did not finish within {secs} s"),
    }
}

/// An app served on 127.0.0.1 (a free port) until dropped.
pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    _shutdown: oneshot::Sender<()>,
}

impl Server {
    /// `http://127.0.0.1:<port><path>`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

/// Serves `app` with frontdesk's own server on a free local port.
pub(crate) async fn serve(app: App) -> Server {
    let service = app.build().expect("the app builds");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let addr = listener.local_addr().expect("a local address");
    let (tx, rx) = oneshot::channel::<()>();
    let config = ServeConfig {
        header_read_timeout: Duration::from_secs(5),
        shutdown_deadline: Duration::from_millis(200),
        ..ServeConfig::default()
    };
    tokio::spawn(async move {
        let _ = frontdesk::serve_with(service, listener, config, async {
            let _ = rx.await;
        })
        .await;
    });
    Server { addr, _shutdown: tx }
}

/// Every remaining event of an SSE response (bounded in time).
pub(crate) async fn events(response: &mut TestResponse) -> Vec<ReceivedEvent> {
    within(10, async {
        let mut all = Vec::new();
        while let Some(event) = response.next_event().await {
            if event.event.is_some() || !event.data.is_empty() {
                all.push(event);
            }
        }
        all
    })
    .await
}

/// The concatenated `delta`s of a list of events.
pub(crate) fn deltas(events: &[ReceivedEvent]) -> String {
    events
        .iter()
        .filter(|e| e.event.as_deref() == Some("delta"))
        .map(|e| {
            e.json::<Value>().expect("JSON data")["delta"]
                .as_str()
                .expect("a delta")
                .to_owned()
        })
        .collect()
}

/// The echo model, counting how often it is called.
pub(crate) struct CountingModel {
    pub(crate) calls: Arc<AtomicUsize>,
    inner: Arc<EchoModel>,
}

impl CountingModel {
    pub(crate) fn new() -> (Self, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let model = CountingModel {
            calls: calls.clone(),
            inner: Arc::new(EchoModel::new(&fast_echo())),
        };
        (model, calls)
    }
}

impl ChatModel for CountingModel {
    fn id(&self) -> &str {
        "echo/echo"
    }

    fn stream(self: Arc<Self>, request: ModelRequest) -> CompletionStream {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.clone().stream(request)
    }
}

/// A model whose every call fails with `error`.
pub(crate) struct FailingModel(pub(crate) ModelError);

impl ChatModel for FailingModel {
    fn id(&self) -> &str {
        "test/failing"
    }

    fn stream(self: Arc<Self>, _request: ModelRequest) -> CompletionStream {
        Box::pin(futures_util::stream::iter([Err(self.0.clone())]))
    }
}

/// What a fake upstream does with one request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Behaviour {
    /// Answers normally with these words (whole, or streamed word by word).
    Reply(&'static str),
    /// Answers this error status with the provider's error body, which holds
    /// [`UPSTREAM_SECRET`] (it must never reach a client).
    Status(u16),
    /// Streams `after` words, then reports an error inside the stream.
    FailMidStream { after: usize, kind: &'static str },
    /// Streams `after` words, then ends the body without the final event.
    CutMidStream { after: usize },
    /// Never sends the response head.
    HangBeforeHead,
    /// Streams `after` words, then goes silent (connection open).
    HangMidStream { after: usize },
    /// Streams a word every 20 ms until the client goes away.
    Endless,
}

/// Text a fake puts in its error bodies: a test fails if a client sees it.
pub(crate) const UPSTREAM_SECRET: &str = "upstream-internal-detail-7f3a";

/// One request a fake received.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub(crate) headers: HeaderMap,
    pub(crate) body: Value,
}

/// A fake upstream's script and observations, shared with its handlers.
pub(crate) struct FakeState {
    script: Mutex<VecDeque<Behaviour>>,
    fallback: Behaviour,
    calls: AtomicUsize,
    requests: Mutex<Vec<Recorded>>,
    dropped: AtomicUsize,
}

impl FakeState {
    /// A fake that follows `script`, then `fallback` for every later request.
    pub(crate) fn new(script: Vec<Behaviour>, fallback: Behaviour) -> Arc<Self> {
        Arc::new(FakeState {
            script: Mutex::new(script.into()),
            fallback,
            calls: AtomicUsize::new(0),
            requests: Mutex::new(Vec::new()),
            dropped: AtomicUsize::new(0),
        })
    }

    /// Records a request and says what to do with it.
    pub(crate) fn next(&self, headers: HeaderMap, body: Value) -> Behaviour {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.requests.lock().unwrap().push(Recorded { headers, body });
        self.script
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| self.fallback.clone())
    }

    /// Requests received.
    pub(crate) fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// The requests received, in order.
    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    /// Streams the fake produced that were dropped before they finished.
    pub(crate) fn dropped(&self) -> usize {
        self.dropped.load(Ordering::SeqCst)
    }

    /// Waits (at most `secs` seconds) until a stream of the fake was dropped.
    pub(crate) async fn wait_dropped(&self, secs: u64) {
        within(secs, async {
            while self.dropped() == 0 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
    }
}

/// Owned by a fake's response stream: counts the stream as dropped unless it
/// finished on its own.
pub(crate) struct DropFlag {
    state: Arc<FakeState>,
    finished: bool,
}

impl DropFlag {
    pub(crate) fn new(state: Arc<FakeState>) -> Self {
        DropFlag {
            state,
            finished: false,
        }
    }

    /// The stream ended by itself.
    pub(crate) fn finish(&mut self) {
        self.finished = true;
    }
}

impl Drop for DropFlag {
    fn drop(&mut self) {
        if !self.finished {
            self.state.dropped.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// Sends a raw HTTP/1.1 POST of `json` on a fresh connection and returns the
/// socket, for tests that need to hang up mid-response.
pub(crate) async fn raw_post(
    addr: SocketAddr,
    path: &str,
    json: &str,
    extra_headers: &str,
) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut socket = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{extra_headers}\r\n{json}",
        json.len()
    );
    socket.write_all(request.as_bytes()).await.expect("write");
    socket
}

/// Reads from `socket` until `needle` occurs `times` times; returns what was read.
pub(crate) async fn read_until(socket: &mut tokio::net::TcpStream, needle: &str, times: usize) -> String {
    use tokio::io::AsyncReadExt;
    within(10, async {
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let text = String::from_utf8_lossy(&seen).into_owned();
            if text.matches(needle).count() >= times {
                return text;
            }
            let n = socket.read(&mut buf).await.expect("read");
            assert!(n > 0, "the connection closed early: {text}");
            seen.extend_from_slice(&buf[..n]);
        }
    })
    .await
}

/// The words of `text`, each keeping the whitespace that follows it: one
/// streamed piece, and one output token, each.
pub(crate) fn words(text: &str) -> Vec<String> {
    chat::model::echo::split_words(text)
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// A provider's wire format, as a fake upstream speaks it.
pub(crate) trait FakeProvider: Send + Sync + 'static {
    /// The path the fake answers `POST`s on.
    const PATH: &'static str;

    /// The body of an error answer with `status`.
    fn error_body(status: u16) -> Value;

    /// The whole answer to `request`, replying `text`.
    fn whole(request: &Value, text: &str) -> Value;

    /// The events a stream opens with, before its first word.
    fn opening() -> Vec<Event>;

    /// The event carrying one word of a stream.
    fn delta(word: &str) -> Event;

    /// The events after the last of a complete reply's `words` words.
    fn closing(request: &Value, words: usize) -> Vec<Event>;

    /// The event reporting an error of `kind` inside a stream.
    fn stream_error(kind: &str) -> Event;
}

/// Serves a fake upstream on a free local port: `P`'s answers on `P::PATH`,
/// following `script`, then `fallback` for every later request.
pub(crate) async fn fake_upstream<P: FakeProvider>(
    script: Vec<Behaviour>,
    fallback: Behaviour,
) -> (Arc<FakeState>, Server) {
    let state = FakeState::new(script, fallback);
    let app = App::new()
        .state(state.clone())
        .route(Route::post(P::PATH, fake_answer::<P>));
    (state, serve(app).await)
}

/// `POST P::PATH`, answered as the next behaviour of the script says.
async fn fake_answer<P: FakeProvider>(
    State(fake): State<Arc<FakeState>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let behaviour = fake.next(headers, body.clone());
    let streamed = body["stream"] == json!(true);
    match behaviour {
        Behaviour::Status(status) => {
            (StatusCode::from_u16(status).unwrap(), Json(P::error_body(status))).into_response()
        }
        Behaviour::HangBeforeHead => std::future::pending().await,
        Behaviour::Reply(text) if !streamed => Json(P::whole(&body, text)).into_response(),
        _ if !streamed => (StatusCode::INTERNAL_SERVER_ERROR, Json(P::error_body(500))).into_response(),
        behaviour => {
            let stream = fake_stream::<P>(behaviour, &body, DropFlag::new(fake.clone()));
            Sse::<_, Value>::new(stream).no_keep_alive().into_response()
        }
    }
}

/// The streamed answer for `behaviour`, one event every 5 ms (every 20 ms
/// when endless): a reply's words, or eight words cut short as `behaviour` says.
fn fake_stream<P: FakeProvider>(
    behaviour: Behaviour,
    request: &Value,
    flag: DropFlag,
) -> impl Stream<Item = Event> {
    let text = match behaviour {
        Behaviour::Reply(text) => text,
        _ => "one two three four five six seven eight",
    };
    let words = words(text);
    let mut events = P::opening();
    let shown = match &behaviour {
        Behaviour::FailMidStream { after, .. }
        | Behaviour::CutMidStream { after }
        | Behaviour::HangMidStream { after } => *after,
        _ => words.len(),
    };
    events.extend(words.iter().take(shown).map(|w| P::delta(w)));
    let (mut endless, mut hang) = (false, false);
    match &behaviour {
        Behaviour::Reply(_) => events.extend(P::closing(request, words.len())),
        Behaviour::FailMidStream { kind, .. } => events.push(P::stream_error(kind)),
        Behaviour::HangMidStream { .. } => hang = true,
        Behaviour::Endless => endless = true,
        _ => {}
    }
    let state = (events.into_iter(), flag, 0usize);
    futures_util::stream::unfold(state, move |(mut events, mut flag, n)| async move {
        tokio::time::sleep(Duration::from_millis(if endless { 20 } else { 5 })).await;
        if let Some(event) = events.next() {
            return Some((event, (events, flag, n)));
        }
        if endless {
            return Some((P::delta(&format!("w{n} ")), (events, flag, n + 1)));
        }
        if hang {
            std::future::pending::<()>().await;
        }
        flag.finish();
        None
    })
}
