//! The contract on frontdesk, written the way the design asks users to write it:
//! typed handlers, `Json<ChatRequest>` doing extraction and validation, `Sse`
//! for the stream, `serve_with` on the shared listener.

use std::io;
use std::time::Duration;

use frontdesk::prelude::*;
use frontdesk::{serve_with, shutdown_signal, AppService, ServeConfig};
use futures_util::stream::{self, StreamExt};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;

use crate::contract::{ticks, token, ChatReply, ChatRequest, Delta, Hello, Settings, DONE, HELLO};
use crate::net::listen;

async fn hello() -> Json<Hello> {
    Json(HELLO)
}

async fn chat(Json(request): Json<ChatRequest>) -> Json<ChatReply> {
    Json(ChatReply::echo(&request.prompt))
}

async fn chat_slow(State(settings): State<Settings>, Json(request): Json<ChatRequest>) -> Json<ChatReply> {
    tokio::time::sleep(settings.delay).await;
    Json(ChatReply::echo(&request.prompt))
}

async fn chat_stream(
    State(settings): State<Settings>,
    Json(_request): Json<ChatRequest>,
) -> Sse<impl Stream<Item = Event>, Delta> {
    token_events(ticks(settings.token_interval))
}

/// The stream's events for token indexes `indexes`, then `done` (the pacing is
/// the caller's: the server passes [`ticks`], the micro-benchmark an iterator).
pub fn token_events(
    indexes: impl Stream<Item = usize> + Send + 'static,
) -> Sse<impl Stream<Item = Event> + Send + 'static, Delta> {
    let tokens = indexes.map(|i| Event::json(&Delta { delta: token(i) }));
    let done = stream::once(std::future::ready(Event::text(DONE).event("done")));
    Sse::new(tokens.chain(done))
}

/// The app: the four routes of the contract, with the default limits (and the
/// default `/openapi.json` and `/docs`).
pub fn app(settings: Settings) -> App {
    App::new()
        .title("frontdesk benchmark")
        .state(settings)
        .route(Route::get("/hello", hello))
        .route(Route::post("/chat", chat))
        .route(Route::post("/chat/slow", chat_slow))
        .route(Route::post("/chat/stream", chat_stream))
}

fn build(settings: Settings) -> io::Result<AppService> {
    app(settings)
        .build()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))
}

/// Serves [`app`] on `127.0.0.1:<settings.port>` with frontdesk's own server
/// (`serve_with`: HTTP/1.1 + h2c, header-read timeout, graceful shutdown) until
/// SIGINT or SIGTERM. With `FRONTDESK_HTTP2=0`, HTTP/1.1 only
/// (`ServeConfig::http2` off: the driver's `frontdesk-http1-only`).
///
/// # Errors
/// When the app does not build or the port cannot be bound.
pub async fn run(settings: Settings) -> io::Result<()> {
    let service = build(settings)?;
    let listener = listen(settings.port)?;
    let config = ServeConfig {
        http2: std::env::var("FRONTDESK_HTTP2").map_or(true, |v| v.trim() != "0"),
        ..ServeConfig::default()
    };
    serve_with(service, listener, config, shutdown_signal()).await
}

/// How a diagnostic variant serves the app, to tell the cost of frontdesk's
/// request path from that of its server loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loop {
    /// The raw hyper peer's loop: `hyper::server::conn::http1`, no timer.
    Http1,
    /// hyper-util's `auto` builder (HTTP/1.1 + h2c sniffing), as `serve_with`
    /// uses, but no header-read timeout and no graceful-shutdown bookkeeping.
    Auto,
    /// [`Loop::Auto`] plus the 30-second header-read timeout `serve_with` sets.
    AutoTimer,
}

impl Loop {
    /// Reads `FRONTDESK_SERVE` (`http1`, `auto`, `auto-timer`); `None` means
    /// frontdesk's own `serve_with`.
    pub fn from_env() -> Option<Loop> {
        match std::env::var("FRONTDESK_SERVE").ok()?.as_str() {
            "http1" => Some(Loop::Http1),
            "auto" => Some(Loop::Auto),
            "auto-timer" => Some(Loop::AutoTimer),
            _ => None,
        }
    }
}

/// Serves the same built app as [`run`] with a bare accept loop of the kind
/// `kind` (a diagnostic; no graceful shutdown: the process is killed).
///
/// # Errors
/// When the app does not build or the port cannot be bound.
pub async fn run_variant(settings: Settings, kind: Loop) -> io::Result<()> {
    let service = build(settings)?;
    let listener = listen(settings.port)?;
    let mut auto = auto::Builder::new(TokioExecutor::new());
    if kind == Loop::AutoTimer {
        auto.http1()
            .timer(TokioTimer::new())
            .header_read_timeout(ServeConfig::default().header_read_timeout);
    }
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(pair) => pair,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let io = TokioIo::new(stream);
        let service = TowerToHyperService::new(service.clone());
        if kind == Loop::Http1 {
            tokio::spawn(async move {
                let _ = http1::Builder::new().serve_connection(io, service).await;
            });
        } else {
            let auto = auto.clone();
            tokio::spawn(async move {
                let _ = auto.serve_connection_with_upgrades(io, service).await;
            });
        }
    }
}
