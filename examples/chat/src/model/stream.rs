//! The streaming loop the HTTP providers share.
//!
//! Anthropic and OpenAI differ in their request bodies and in what their events
//! mean, not in how a stream is run. So the running lives here, once, and a
//! provider only describes its wire format through two small traits:
//!
//! - [`Provider`]: the client and how to build the request (sent again, the
//!   same, on each retry);
//! - [`Decoder`]: one stream's reading of the events, as a [`Step`] each, what
//!   the body ending before the final event means, and the stop reason and
//!   usage it gathered for [`StreamItem::Done`].
//!
//! [`stream`] sends the request (retrying error statuses), reads events with
//! the idle timeout, and turns each [`Step`] into a stream item. A failure before
//! any text reached the client is retried with the same budget, on a fresh
//! [`Decoder`]; a later one ends the stream with the error. After the final
//! event the rest of the body is drained, so its connection goes back to the pool.

use std::sync::Arc;

use bytes::Bytes;

use crate::model::http::{HttpClient, RequestBody};
use crate::model::sse::{EventReader, SseMessage};
use crate::model::{Backoff, CompletionStream, ModelError, StreamItem, Usage};

/// A provider's request side: its client and its request.
pub(crate) trait Provider: Send + Sync + 'static {
    /// How one of this provider's streams reads its events.
    type Decoder: Decoder;

    /// The client the provider's calls go through.
    fn http(&self) -> &HttpClient;

    /// The request carrying `body` (a whole JSON request body).
    fn request(&self, body: &Bytes) -> http::Request<RequestBody>;
}

/// One stream's reading of a provider's events. A fresh one (`Default`) starts
/// each attempt, so what it gathered never outlives a retried attempt.
pub(crate) trait Decoder: Default + Send + 'static {
    /// What one event means for the client.
    fn event(&mut self, message: &SseMessage) -> Step;

    /// What the body ending before the final event means: `Ok` when the reply
    /// is complete anyway (the stream then finishes), the error otherwise.
    fn ended(&self) -> Result<(), ModelError>;

    /// The stop reason and usage of the final [`StreamItem::Done`].
    fn finish(&mut self) -> (String, Usage);
}

/// What one upstream event means for the client.
pub(crate) enum Step {
    /// The next piece of text.
    Emit(String),
    /// Nothing to pass on (metadata, keep-alives, unknown events).
    Skip,
    /// The call failed.
    Fail(ModelError),
    /// The reply is complete: [`Decoder::finish`] makes the last item.
    Finish,
}

/// Sends `body` (a streamed request) and streams the reply: deltas, then
/// `Done`; or an error, which ends it.
pub(crate) fn stream<P: Provider>(provider: Arc<P>, body: Bytes) -> CompletionStream {
    let backoff = provider.http().backoff();
    let state = StreamState {
        provider,
        body,
        backoff,
        reader: None,
        sent_any: false,
        decoder: P::Decoder::default(),
        finished: false,
    };
    Box::pin(futures_util::stream::unfold(state, |mut state| async move {
        let item = state.next_item().await?;
        Some((item, state))
    }))
}

/// One streamed call, from its first attempt to its last item.
struct StreamState<P: Provider> {
    /// The provider the call goes to.
    provider: Arc<P>,
    /// The request body, sent again on each attempt.
    body: Bytes,
    /// The retry budget of the whole call.
    backoff: Backoff,
    /// The current attempt's events; `None` before it is sent.
    reader: Option<EventReader>,
    /// Whether text reached the client (then no attempt is retried).
    sent_any: bool,
    /// The current attempt's reading of its events.
    decoder: P::Decoder,
    /// Whether the last item was given.
    finished: bool,
}

impl<P: Provider> StreamState<P> {
    /// The next item for the client; `None` once the stream is over.
    async fn next_item(&mut self) -> Option<Result<StreamItem, ModelError>> {
        loop {
            if self.finished {
                // After the final event: let the connection go back to the pool.
                if let Some(reader) = self.reader.take() {
                    reader.drain().await;
                }
                return None;
            }
            let Some(reader) = self.reader.as_mut() else {
                let provider = self.provider.clone();
                let body = self.body.clone();
                let http = provider.http();
                match http.send(|| provider.request(&body), &mut self.backoff).await {
                    Ok(response) => {
                        self.reader = Some(EventReader::new(
                            response.into_body(),
                            http.settings().idle_timeout,
                        ));
                    }
                    Err(error) => return self.fail(error),
                }
                continue;
            };
            let step = match reader.next().await {
                Ok(Some(message)) => self.decoder.event(&message),
                Ok(None) => match self.decoder.ended() {
                    Ok(()) => Step::Finish,
                    Err(error) => Step::Fail(error),
                },
                Err(error) => Step::Fail(error),
            };
            match step {
                Step::Skip => {}
                Step::Emit(text) => {
                    self.sent_any = true;
                    return Some(Ok(StreamItem::Delta(text)));
                }
                Step::Finish => {
                    self.finished = true;
                    let (stop_reason, usage) = self.decoder.finish();
                    return Some(Ok(StreamItem::Done { stop_reason, usage }));
                }
                Step::Fail(error) => {
                    // Nothing reached the client yet: a fresh attempt is invisible to it.
                    if !self.sent_any && error.is_retryable() {
                        if let Some(delay) = self.backoff.next_delay(None) {
                            tracing::info!(error = %error, ?delay, "model stream failed before its first token; retrying");
                            self.reader = None;
                            self.decoder = P::Decoder::default();
                            tokio::time::sleep(delay).await;
                            continue;
                        }
                    }
                    return self.fail(error);
                }
            }
        }
    }

    /// Ends the stream with `error`, dropping the upstream connection.
    fn fail(&mut self, error: ModelError) -> Option<Result<StreamItem, ModelError>> {
        self.finished = true;
        self.reader = None;
        Some(Err(error))
    }
}
