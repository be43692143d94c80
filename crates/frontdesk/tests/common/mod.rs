//! Helpers shared by the socket-level test files: a producer stream that reports
//! when it is dropped, which is how a test sees an upstream call cancelled.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use futures_core::Stream;
use tokio::sync::mpsc;

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
