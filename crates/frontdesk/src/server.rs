//! Respond: hyper writes the answers, HTTP/1.1 and h2c on one port.
//!
//! [`serve`] binds, serves until SIGINT or SIGTERM, then shuts down gracefully:
//! it stops accepting (new connections are refused), lets in-flight requests and
//! open streams finish up to a deadline, and closes what is left.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::task::JoinSet;

use crate::app::App;

/// Server settings.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// How long a client may take to send a request's headers before the
    /// connection is closed (default 30 s; slow-loris protection).
    pub header_read_timeout: Duration,
    /// How long in-flight requests and streams may run after shutdown begins
    /// (default 30 s).
    pub shutdown_deadline: Duration,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            header_read_timeout: Duration::from_secs(30),
            shutdown_deadline: Duration::from_secs(30),
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
/// Only when accepting connections fails persistently.
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
    let local: Option<SocketAddr> = listener.local_addr().ok();
    tracing::info!(addr = ?local, "serving");
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(pair) => pair,
                    Err(error) => {
                        // Out of file descriptors and the like: wait, keep serving.
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let io = TokioIo::new(stream);
                let hyper_service = TowerToHyperService::new(service.clone());
                let connection = builder.serve_connection_with_upgrades(io, hyper_service).into_owned();
                let watched = graceful.watch(connection);
                connections.spawn(async move {
                    if let Err(error) = watched.await {
                        tracing::debug!(%peer, error = %error, "connection ended with an error");
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tracing::info!(open = connections.len(), deadline = ?config.shutdown_deadline, "shutting down: draining connections");
    let drained = tokio::time::timeout(config.shutdown_deadline, async {
        graceful.shutdown().await;
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            left = connections.len(),
            "shutdown deadline reached; closing the remaining connections"
        );
        connections.abort_all();
        while connections.join_next().await.is_some() {}
    }
    Ok(())
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
