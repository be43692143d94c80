//! Respond: hyper writes the answers, HTTP/1.1 and h2c on one port.
//!
//! [`serve`] binds, serves until SIGINT or SIGTERM, then shuts down gracefully:
//! it stops accepting (new connections are refused), lets in-flight requests and
//! open streams finish up to a deadline, and closes what is left.
//!
//! Per connection, hyper's HTTP/1.1 connection starts at accept; its first
//! read is looked at, and a connection that opens with HTTP/2's preface moves
//! to hyper's HTTP/2 connection instead ([`socket`], unless
//! [`ServeConfig::http2`] is off). Per request, the server adds two counter
//! increments: the header-read timeout, graceful shutdown and draining are
//! kept by [`connections`], off the request path. A built [`AppService`] is
//! called directly, by reference; any other tower service goes through
//! hyper-util's adapter.

mod connections;
mod socket;

pub(crate) use connections::{Activity, CountedBody, InFlight, SweepTimer};

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};

use self::connections::{Connections, Counted, Sweeper, Ticket, QUIET_SWEEPS};
use self::socket::ServerIo;
use crate::app::{App, AppService, HyperApp};

/// Server settings.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// How long a connection may go without a request in progress before it
    /// is closed: the time a client has to send a request's headers, counted
    /// from the connection's opening or from the end of its previous response
    /// (default 30 s). This is the slow-loris protection, and it also closes
    /// idle keep-alive connections. It is checked every quarter of its length,
    /// so a connection closes between 1 and 1.25 times it; a request being
    /// handled or a response being streamed, however long, keeps its
    /// connection open. The same sweep keeps the handler timeouts of four
    /// times this or more on HTTP/1 connections (see
    /// [`App::timeout`](crate::App::timeout)).
    pub header_read_timeout: Duration,
    /// How long in-flight requests and streams may run after shutdown begins
    /// (default 30 s).
    pub shutdown_deadline: Duration,
    /// Whether a connection may speak HTTP/2 without TLS beside HTTP/1.1
    /// (default true): h2c with prior knowledge, a client that opens with
    /// HTTP/2's preface. To tell the two apart the server looks at the bytes
    /// of each connection's first read, which go through a buffer on the
    /// stack (no syscall of their own). Behind a proxy that speaks HTTP/1.1
    /// to its upstreams, `false` skips the look and closes a connection that
    /// opens with HTTP/2's preface, without an answer.
    pub http2: bool,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            header_read_timeout: Duration::from_secs(30),
            shutdown_deadline: Duration::from_secs(30),
            http2: true,
        }
    }
}

/// Builds `app` and serves it on `addr` until SIGINT or SIGTERM.
///
/// # Errors
/// When the app does not build (the error names the route and the fix) or the
/// address cannot be bound.
pub async fn serve(app: App, addr: impl ToSocketAddrs) -> io::Result<()> {
    let service = app
        .build()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
    let listener = TcpListener::bind(addr).await?;
    serve_with(service, listener, ServeConfig::default(), shutdown_signal()).await
}

/// Serves a built app — or any tower service wrapping one, e.g. with
/// `tower-http` layers — on `listener` until `shutdown` completes, then drains
/// connections for up to `config.shutdown_deadline`.
///
/// Each connection speaks HTTP/1.1 (with upgrades) or, when it opens with the
/// HTTP/2 preface, cleartext HTTP/2 (h2c with prior knowledge); the protocol is
/// told from the bytes of the connection's first read.
///
/// ```no_run
/// use frontdesk::prelude::*;
/// use frontdesk::{serve_with, shutdown_signal, ServeConfig};
///
/// async fn hello() -> &'static str { "hello" }
///
/// # async fn run() -> std::io::Result<()> {
/// let service = App::new().route(Route::get("/hello", hello)).build().expect("a valid app");
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
/// serve_with(service, listener, ServeConfig::default(), shutdown_signal()).await
/// # }
/// ```
///
/// # Errors
/// When the thread that times out idle connections cannot be started.
/// Failed accepts (out of file descriptors and the like) are logged and
/// retried, not returned.
pub async fn serve_with<S, B, F>(
    service: S,
    listener: TcpListener,
    config: ServeConfig,
    shutdown: F,
) -> io::Result<()>
where
    S: tower_service::Service<http::Request<hyper::body::Incoming>, Response = http::Response<B>>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<crate::body::BoxError>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<crate::body::BoxError>,
    F: Future<Output = ()> + Send,
{
    // A built app is called directly; any other tower service through
    // hyper-util's adapter (a clone and a readiness check per request).
    let any: &dyn std::any::Any = &service;
    if let Some(app) = any.downcast_ref::<AppService>() {
        return run(listener, config, shutdown, Some(app.clone()), HyperApp::new).await;
    }
    run(listener, config, shutdown, None, move |activity, http1| {
        Counted::new(TowerToHyperService::new(service.clone()), activity.clone(), http1)
    })
    .await
}

/// The accept loop, over `make`, which gives each connection its service: it
/// counts the connection's requests in its [`Activity`], and on HTTP/1
/// (`true`) may use the sweep's handler timer. `app` is the built app the
/// services serve, if it is one.
async fn run<M, H, B, F>(
    listener: TcpListener,
    config: ServeConfig,
    shutdown: F,
    app: Option<AppService>,
    make: M,
) -> io::Result<()>
where
    M: Fn(&Arc<Activity>, bool) -> H + Send + Sync + 'static,
    H: HyperService<B>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<crate::body::BoxError>,
    F: Future<Output = ()> + Send,
{
    let local: Option<SocketAddr> = listener.local_addr().ok();
    tracing::info!(addr = ?local, "serving");
    let protocols = Arc::new(Protocols::new(config.http2));
    let make = Arc::new(make);
    let sweep_every = (config.header_read_timeout / u32::from(QUIET_SWEEPS)).max(Duration::from_millis(1));
    let mut connections = Connections::new(sweep_every);
    if let Some(app) = app {
        connections = connections.serving(app);
    }
    let connections = Arc::new(connections);
    // On a thread of its own: a tokio timer would make every idle worker
    // consult the timer wheel and the clock each time it parks. It stops when
    // this function returns.
    let _sweeper = Sweeper::start(connections.clone())?;
    // The accept loop is a task of its own, so that it waits on the listener
    // alone: a `select!` with `shutdown` would poll the shutdown future at
    // every connection. Aborting it (at an await, so every accepted
    // connection has its task) drops the listener; so does dropping this
    // future.
    let mut accepting = Accepting(tokio::spawn(accept(
        listener,
        make,
        protocols,
        connections.clone(),
    )));
    shutdown.await;
    accepting.0.abort();
    if let Err(error) = (&mut accepting.0).await {
        if error.is_panic() {
            tracing::error!(%error, "the accept loop panicked");
        }
    }
    tracing::info!(open = connections.len(), deadline = ?config.shutdown_deadline, "shutting down: draining connections");
    connections.shut_down();
    if tokio::time::timeout(config.shutdown_deadline, connections.drained())
        .await
        .is_err()
    {
        tracing::warn!(
            left = connections.len(),
            "shutdown deadline reached; closing the remaining connections"
        );
        connections.close_all();
        connections.drained().await;
    }
    Ok(())
}

/// The accept loop's task, aborted when dropped.
struct Accepting(tokio::task::JoinHandle<()>);

impl Drop for Accepting {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Accepts connections and spawns a task for each, until aborted.
async fn accept<M, H, B>(
    listener: TcpListener,
    make: Arc<M>,
    protocols: Arc<Protocols>,
    connections: Arc<Connections>,
) where
    M: Fn(&Arc<Activity>, bool) -> H + Send + Sync + 'static,
    H: HyperService<B>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<crate::body::BoxError>,
{
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(pair) => pair,
            Err(error) => {
                // Out of file descriptors and the like: wait, keep serving.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let ticket = connections.open();
        tokio::spawn(serve_connection(
            stream,
            peer,
            make.clone(),
            protocols.clone(),
            ticket,
        ));
    }
}

/// The connection builders, shared by all connections of one server.
struct Protocols {
    /// Whether HTTP/2 is served too, so that the first bytes must be looked
    /// at ([`ServeConfig::http2`]).
    http2_too: bool,
    http1: http1::Builder,
    http2: http2::Builder<TokioExecutor>,
}

impl Protocols {
    fn new(http2_too: bool) -> Self {
        // No HTTP/1 timer: the header-read timeout is the connection sweep's,
        // which costs nothing per request.
        let http1 = http1::Builder::new();
        let mut http2 = http2::Builder::new(TokioExecutor::new());
        http2.timer(TokioTimer::new());
        Protocols {
            http2_too,
            http1,
            http2,
        }
    }
}

/// A hyper service for one connection, whose answers have bodies `B`.
trait HyperService<B>:
    hyper::service::Service<
        http::Request<hyper::body::Incoming>,
        Response = http::Response<B>,
        Error: Into<crate::body::BoxError>,
        Future: Send + 'static,
    > + Send
    + 'static
{
}

impl<H, B> HyperService<B> for H where
    H: hyper::service::Service<
            http::Request<hyper::body::Incoming>,
            Response = http::Response<B>,
            Error: Into<crate::body::BoxError>,
            Future: Send + 'static,
        > + Send
        + 'static
{
}

async fn serve_connection<M, H, B>(
    stream: TcpStream,
    peer: SocketAddr,
    make: Arc<M>,
    protocols: Arc<Protocols>,
    ticket: Ticket,
) where
    M: Fn(&Arc<Activity>, bool) -> H,
    H: HyperService<B>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<crate::body::BoxError>,
{
    // HTTP/1.1 from the first byte, as a plain hyper server; a connection
    // that opens with HTTP/2's preface leaves its socket in the handoff
    // before HTTP/1 reads a byte of it.
    let activity = ticket.activity();
    let io = if protocols.http2_too {
        ServerIo::sniffing(stream, activity.clone())
    } else {
        ServerIo::http1(stream)
    };
    // The sweep keeps one handler deadline per connection: HTTP/1 runs one
    // request at a time, HTTP/2 many (they keep tokio timers).
    let service = make(&activity, true);
    let connection = protocols.http1.serve_connection(io, service).with_upgrades();
    let mut ended = ticket.watch(connection, |c| c.graceful_shutdown()).await;
    // Only a connection that ended cleanly, on a server with HTTP/2, can have
    // moved: any other skips the handoff's lock.
    let moved = protocols.http2_too && matches!(ended, Some(Ok(())));
    if let Some(io) = moved.then(|| activity.handoff.take()).flatten() {
        let service = make(&activity, false);
        // Boxed: a task is as large as its largest state, and HTTP/1
        // connections should not pay for HTTP/2's.
        let connection = Box::pin(protocols.http2.serve_connection(io, service));
        ended = ticket
            .watch(connection, |c| c.get_mut().as_mut().graceful_shutdown())
            .await;
    }
    match ended {
        Some(Ok(())) => {}
        Some(Err(error)) => tracing::debug!(%peer, %error, "connection ended with an error"),
        None => tracing::debug!(%peer, "connection closed by the server"),
    }
}

/// Completes on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown signal received");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every connection's task is as large as the largest state of
    /// `serve_connection`; HTTP/2's connection is boxed so that HTTP/1
    /// connections (nearly all of them) do not carry its size.
    #[tokio::test]
    async fn a_connection_task_stays_small() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (stream, peer) = listener.accept().await.unwrap();
        let app = App::new().build().unwrap();
        let make = Arc::new(HyperApp::new);
        let connections = Arc::new(Connections::new(Duration::from_secs(1)).serving(app));
        let task = serve_connection(
            stream,
            peer,
            make,
            Arc::new(Protocols::new(true)),
            connections.open(),
        );
        let size = std::mem::size_of_val(&task);
        assert!(size < 2500, "a connection task takes {size} bytes");
        drop(client);
    }
}
