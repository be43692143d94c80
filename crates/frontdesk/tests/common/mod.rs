//! Helpers shared by the socket-level test files: an app served on 127.0.0.1
//! with a shutdown the test triggers, and a producer stream that reports when it
//! is dropped, which is how a test sees an upstream call cancelled.

use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use frontdesk::{App, ServeConfig};
use futures_core::Stream;
use tokio::sync::{mpsc, oneshot};

/// An app served by `frontdesk::serve_with` on 127.0.0.1, with a shutdown we trigger.
pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    pub(crate) handle: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Serves `app` on a free port.
pub(crate) async fn start(app: App, shutdown_deadline: Duration) -> Server {
    let config = ServeConfig {
        shutdown_deadline,
        ..ServeConfig::default()
    };
    start_with(app, config).await
}

/// Serves `app` on a free port with `config`.
pub(crate) async fn start_with(app: App, config: ServeConfig) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(frontdesk::serve_with(
        app.build().unwrap(),
        listener,
        config,
        async {
            let _ = stopped.await;
        },
    ));
    Server {
        addr,
        stop: Some(stop),
        handle,
    }
}

impl Server {
    /// Begins the graceful shutdown.
    pub(crate) fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Shuts down and waits (at most `within`) for `serve_with` to return.
    pub(crate) async fn stop_within(mut self, within: Duration) {
        self.shutdown();
        let result = tokio::time::timeout(within, self.handle)
            .await
            .expect("serve_with returns after shutdown");
        result.unwrap().unwrap();
    }
}

/// Where producers report the moment they are dropped.
#[derive(Clone)]
pub(crate) struct Drops(mpsc::UnboundedSender<Instant>);

/// A channel of drop reports: give the `Drops` to the app as state, read the
/// receiver in the test.
pub(crate) fn drops() -> (Drops, mpsc::UnboundedReceiver<Instant>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Drops(tx), rx)
}

/// A stream that reports its drop.
pub(crate) struct Watched<S> {
    inner: Pin<Box<S>>,
    drops: Drops,
}

impl<S> Watched<S> {
    pub(crate) fn new(inner: S, drops: Drops) -> Self {
        Watched {
            inner: Box::pin(inner),
            drops,
        }
    }
}

impl<S: Stream> Stream for Watched<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl<S> Drop for Watched<S> {
    fn drop(&mut self) {
        let _ = self.drops.0.send(Instant::now());
    }
}
