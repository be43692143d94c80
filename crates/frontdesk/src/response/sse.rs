//! Server-Sent Events: each event is written and flushed the moment the
//! producing stream yields it.
//!
//! The response carries the headers that stop proxies from buffering
//! (`cache-control: no-cache`, `x-accel-buffering: no`), sends a `: ping`
//! comment after 15 seconds of silence so idle connections stay open, and ends
//! a failing stream with an explicit `event: error` whose `{"detail": ...}`
//! payload is safe to show (the cause goes to `tracing`). When the client goes
//! away, hyper drops the body, which drops the producing stream — and with it
//! whatever upstream request the stream holds.

use std::convert::Infallible;
use std::fmt;
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use futures_core::Stream;
use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use serde::Serialize;
use serde_json::Value;

use crate::body::Body;
use crate::error::HttpError;
use crate::openapi::OperationDoc;
use crate::response::{IntoResponse, Response};

/// The default keep-alive interval.
pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Why an event could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// An `event` name or `id` contains a line break (or `id` a NUL).
    #[error("SSE `{field}` must be one line without NUL: {value:?}")]
    InvalidField {
        /// `event` or `id`.
        field: &'static str,
        /// The refused value.
        value: String,
    },
    /// The `data` payload could not be serialized as JSON.
    #[error("SSE data could not be serialized as JSON: {0}")]
    Serialize(String),
}

/// One Server-Sent Event.
///
/// ```
/// use frontdesk::Event;
/// let event = Event::json(&serde_json::json!({"delta": "Hel"})).event("delta").id("1");
/// assert_eq!(event.to_string(), "event: delta\ndata: {\"delta\":\"Hel\"}\nid: 1\n\n");
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Event {
    comments: Vec<String>,
    event: Option<String>,
    data: Option<String>,
    id: Option<String>,
    retry: Option<u64>,
    error: Option<EventError>,
}

impl Event {
    /// An event whose `data` is `value` as compact JSON.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Self {
        match serde_json::to_string(value) {
            Ok(data) => Event {
                data: Some(data),
                ..Event::default()
            },
            Err(e) => Event {
                error: Some(EventError::Serialize(e.to_string())),
                ..Event::default()
            },
        }
    }

    /// An event whose `data` is `text` as is; line breaks split it into several
    /// `data:` lines, which the client joins back with `\n`.
    pub fn text(text: impl Into<String>) -> Self {
        Event {
            data: Some(text.into()),
            ..Event::default()
        }
    }

    /// A comment-only event (`: text`), ignored by clients.
    pub fn comment(text: impl Into<String>) -> Self {
        Event {
            comments: vec![text.into()],
            ..Event::default()
        }
    }

    /// Sets the event name (`event:`). A name with a line break makes the event
    /// invalid: the stream then ends with an `error` event and the reason is
    /// logged. Use [`Event::try_event`] to handle that yourself.
    pub fn event(self, name: impl Into<String>) -> Self {
        let name = name.into();
        match self.clone().try_event(name) {
            Ok(event) => event,
            Err(error) => Event {
                error: Some(error),
                ..self
            },
        }
    }

    /// Sets the event name, refusing a line break.
    pub fn try_event(mut self, name: impl Into<String>) -> Result<Self, EventError> {
        let name = name.into();
        if name.contains(['\n', '\r']) {
            return Err(EventError::InvalidField {
                field: "event",
                value: name,
            });
        }
        self.event = Some(name);
        Ok(self)
    }

    /// Sets the event id (`id:`), which the client sends back as
    /// `Last-Event-ID` when it reconnects. Invalid ids behave as in [`Event::event`].
    pub fn id(self, id: impl Into<String>) -> Self {
        let id = id.into();
        match self.clone().try_id(id) {
            Ok(event) => event,
            Err(error) => Event {
                error: Some(error),
                ..self
            },
        }
    }

    /// Sets the event id, refusing a line break or NUL.
    pub fn try_id(mut self, id: impl Into<String>) -> Result<Self, EventError> {
        let id = id.into();
        if id.contains(['\n', '\r', '\0']) {
            return Err(EventError::InvalidField {
                field: "id",
                value: id,
            });
        }
        self.id = Some(id);
        Ok(self)
    }

    /// Tells the client how long to wait before reconnecting (`retry:`).
    pub fn retry(mut self, after: Duration) -> Self {
        self.retry = Some(after.as_millis() as u64);
        self
    }

    /// Adds a comment line to the event.
    pub fn with_comment(mut self, text: impl Into<String>) -> Self {
        self.comments.push(text.into());
        self
    }

    /// Whether the event can be sent, and why not.
    pub fn check(&self) -> Result<(), &EventError> {
        match &self.error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// About how many bytes the event takes on the wire.
    fn encoded_len(&self) -> usize {
        let field = |f: &Option<String>| f.as_ref().map_or(0, |v| v.len() + 8);
        16 + field(&self.event)
            + field(&self.data)
            + field(&self.id)
            + self.comments.iter().map(|c| c.len() + 3).sum::<usize>()
    }

    fn encode(&self, out: &mut BytesMut) {
        for comment in &self.comments {
            for_each_line(comment, |line| {
                out.put_slice(b": ");
                out.put_slice(line.as_bytes());
                out.put_u8(b'\n');
            });
        }
        if let Some(event) = &self.event {
            out.put_slice(b"event: ");
            out.put_slice(event.as_bytes());
            out.put_u8(b'\n');
        }
        if let Some(data) = &self.data {
            for_each_line(data, |line| {
                out.put_slice(b"data: ");
                out.put_slice(line.as_bytes());
                out.put_u8(b'\n');
            });
        }
        if let Some(id) = &self.id {
            out.put_slice(b"id: ");
            out.put_slice(id.as_bytes());
            out.put_u8(b'\n');
        }
        if let Some(retry) = self.retry {
            out.put_slice(format!("retry: {retry}\n").as_bytes());
        }
        out.put_u8(b'\n');
    }
}

/// Calls `line` for each line of `text`, split on `\r\n`, `\r` and `\n` (not on
/// U+2028), including a trailing empty line.
fn for_each_line(text: &str, mut line: impl FnMut(&str)) {
    let mut rest = text;
    while let Some(i) = rest.find(['\r', '\n']) {
        line(&rest[..i]);
        let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
        rest = &rest[i + skip..];
    }
    line(rest);
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = BytesMut::new();
        self.encode(&mut out);
        f.write_str(&String::from_utf8_lossy(&out))
    }
}

/// An error that ends a stream: what the client may see, and what only the log
/// gets.
#[derive(Debug)]
pub struct StreamError {
    detail: Value,
}

impl StreamError {
    /// The `detail` sent to the client.
    pub fn detail(&self) -> &Value {
        &self.detail
    }
}

impl From<HttpError> for StreamError {
    fn from(error: HttpError) -> Self {
        StreamError {
            detail: error.detail().clone(),
        }
    }
}

impl From<crate::body::BoxError> for StreamError {
    fn from(error: crate::body::BoxError) -> Self {
        // An unexpected failure: logged with an id, never shown.
        let id = crate::error::next_error_id();
        tracing::error!(error_id = %id, error = %error, "stream failed");
        StreamError {
            detail: Value::String(format!("Internal Server Error (error id {id})")),
        }
    }
}

impl From<std::io::Error> for StreamError {
    fn from(error: std::io::Error) -> Self {
        StreamError::from(Box::new(error) as crate::body::BoxError)
    }
}

/// What an SSE stream may yield: an [`Event`], or a `Result` whose error ends
/// the stream with an `error` event.
pub trait IntoEvent {
    /// The event to send, or the error that ends the stream.
    fn into_event(self) -> Result<Event, StreamError>;
}

impl IntoEvent for Event {
    fn into_event(self) -> Result<Event, StreamError> {
        Ok(self)
    }
}

impl<E: Into<StreamError>> IntoEvent for Result<Event, E> {
    fn into_event(self) -> Result<Event, StreamError> {
        self.map_err(Into::into)
    }
}

/// A Server-Sent Events response from any stream of events. `D` documents the
/// type of the events' JSON `data` in the OpenAPI document.
///
/// ```
/// use frontdesk::prelude::*;
/// use futures_util::stream::{self, StreamExt};
///
/// #[derive(Serialize, JsonSchema)]
/// struct Delta { delta: String }
///
/// async fn count() -> Sse<impl Stream<Item = Event>, Delta> {
///     Sse::new(stream::iter(0..3).map(|i| Event::json(&Delta { delta: i.to_string() }).event("delta")))
/// }
/// # let _ = App::new().route(Route::get("/count", count));
/// ```
pub struct Sse<S, D = Value> {
    stream: S,
    keep_alive: Option<Duration>,
    _data: PhantomData<fn() -> D>,
}

impl<S, D> Sse<S, D> {
    /// Wraps a stream of events (or of `Result<Event, E>`).
    pub fn new(stream: S) -> Self {
        Sse {
            stream,
            keep_alive: Some(DEFAULT_KEEP_ALIVE),
            _data: PhantomData,
        }
    }

    /// Sends a `: ping` comment after `interval` without an event (default 15 s).
    pub fn keep_alive(mut self, interval: Duration) -> Self {
        self.keep_alive = Some(interval);
        self
    }

    /// Sends no keep-alive comments.
    pub fn no_keep_alive(mut self) -> Self {
        self.keep_alive = None;
        self
    }
}

impl<S, D> fmt::Debug for Sse<S, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sse")
            .field("keep_alive", &self.keep_alive)
            .finish()
    }
}

/// The JSON Schema of one event on the wire (OpenAPI 3.2's `itemSchema` idea),
/// with `data` described as JSON of `data_schema`.
pub(crate) fn event_item_schema(data_schema: Value) -> Value {
    serde_json::json!({
        "type": "object",
        "properties": {
            "data": {"type": "string", "contentMediaType": "application/json", "contentSchema": data_schema},
            "event": {"type": "string"},
            "id": {"type": "string"},
            "retry": {"type": "integer", "minimum": 0}
        },
        "required": ["data"]
    })
}

impl<S, D> IntoResponse for Sse<S, D>
where
    S: Stream + Send + 'static,
    S::Item: IntoEvent,
    D: schemars::JsonSchema,
{
    fn into_response(self) -> Response {
        let body = Body::from_stream(SseBody {
            stream: Some(Box::pin(self.stream)),
            keep_alive: self.keep_alive.map(KeepAlive::new),
        });
        let mut response = Response::new(body);
        let headers = response.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream; charset=utf-8"),
        );
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
        response
    }

    fn describe(doc: &mut OperationDoc) {
        let data = doc.schema_for::<D>();
        doc.stream_content("text/event-stream", event_item_schema(data));
    }
}

struct SseBody<S> {
    stream: Option<Pin<Box<S>>>,
    keep_alive: Option<KeepAlive>,
}

/// The keep-alive timer. Events only record when they were sent; the timer is
/// moved when it fires early, so a busy stream never touches the timer wheel.
struct KeepAlive {
    interval: Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
    last_sent: tokio::time::Instant,
}

impl KeepAlive {
    fn new(interval: Duration) -> Self {
        KeepAlive {
            interval,
            sleep: Box::pin(tokio::time::sleep(interval)),
            last_sent: tokio::time::Instant::now(),
        }
    }

    /// True when a ping is due now; otherwise the timer is armed for the next one.
    fn poll_due(&mut self, cx: &mut Context<'_>) -> bool {
        loop {
            if self.sleep.as_mut().poll(cx).is_pending() {
                return false;
            }
            let due = self.last_sent + self.interval;
            let now = tokio::time::Instant::now();
            if due <= now {
                self.last_sent = now;
                self.sleep.as_mut().reset(now + self.interval);
                // Register the next deadline with the waker before answering.
                let _ = self.sleep.as_mut().poll(cx);
                return true;
            }
            self.sleep.as_mut().reset(due);
        }
    }
}

fn error_event(detail: &Value) -> Bytes {
    let mut out = BytesMut::new();
    Event::json(&serde_json::json!({ "detail": detail }))
        .event("error")
        .encode(&mut out);
    out.freeze()
}

impl<S> Stream for SseBody<S>
where
    S: Stream,
    S::Item: IntoEvent,
{
    type Item = Result<Bytes, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let Some(stream) = this.stream.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = std::panic::catch_unwind(AssertUnwindSafe(|| stream.as_mut().poll_next(cx)));
        let item = match polled {
            Ok(Poll::Ready(Some(item))) => item,
            Ok(Poll::Ready(None)) => {
                this.stream = None;
                return Poll::Ready(None);
            }
            Ok(Poll::Pending) => {
                if let Some(keep_alive) = &mut this.keep_alive {
                    if keep_alive.poll_due(cx) {
                        return Poll::Ready(Some(Ok(Bytes::from_static(b": ping\n\n"))));
                    }
                }
                return Poll::Pending;
            }
            Err(panic) => {
                let message = crate::endpoint::panic_message(&panic).to_owned();
                let error =
                    StreamError::from(crate::body::BoxError::from(format!("stream panicked: {message}")));
                this.stream = None;
                return Poll::Ready(Some(Ok(error_event(error.detail()))));
            }
        };
        if let Some(keep_alive) = &mut this.keep_alive {
            keep_alive.last_sent = tokio::time::Instant::now();
        }
        match item.into_event() {
            Ok(event) => match event.check() {
                Ok(()) => {
                    let mut out = BytesMut::with_capacity(event.encoded_len());
                    event.encode(&mut out);
                    Poll::Ready(Some(Ok(out.freeze())))
                }
                Err(problem) => {
                    tracing::error!(error = %problem, "invalid SSE event; ending the stream");
                    this.stream = None;
                    Poll::Ready(Some(Ok(error_event(&Value::String("Invalid event".into())))))
                }
            },
            Err(error) => {
                // Drop the producer now: it failed, and it may hold an upstream call.
                this.stream = None;
                Poll::Ready(Some(Ok(error_event(error.detail()))))
            }
        }
    }
}

use std::future::Future;

/// An event as a client received it (see
/// [`TestResponse::next_event`](crate::testing::TestResponse::next_event)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceivedEvent {
    /// The `event:` name, if any.
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
    /// The `id:`, if any.
    pub id: Option<String>,
    /// The `retry:` in milliseconds, if any.
    pub retry: Option<u64>,
    /// The comment lines.
    pub comments: Vec<String>,
}

impl ReceivedEvent {
    /// The data parsed as JSON.
    ///
    /// # Errors
    /// When the data is not JSON of type `T`.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(&self.data)
    }

    /// Splits the first complete event off `buffer`.
    pub(crate) fn split_first(buffer: &[u8]) -> Option<(ReceivedEvent, Vec<u8>)> {
        let text = std::str::from_utf8(buffer).ok()?;
        let (end, skip) = [("\r\n\r\n", 4), ("\n\n", 2), ("\r\r", 2)]
            .iter()
            .filter_map(|(sep, n)| text.find(sep).map(|i| (i, *n)))
            .min_by_key(|(i, _)| *i)?;
        let event = ReceivedEvent::parse(&text.as_bytes()[..end])?;
        Some((event, buffer[end + skip..].to_vec()))
    }

    /// Parses one event block.
    pub(crate) fn parse(block: &[u8]) -> Option<ReceivedEvent> {
        let text = String::from_utf8_lossy(block);
        let mut event = ReceivedEvent::default();
        let mut data: Vec<&str> = Vec::new();
        for line in text.lines() {
            if let Some(comment) = line.strip_prefix(':') {
                event
                    .comments
                    .push(comment.strip_prefix(' ').unwrap_or(comment).to_owned());
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "event" => event.event = Some(value.to_owned()),
                "data" => data.push(value),
                "id" => event.id = Some(value.to_owned()),
                "retry" => event.retry = value.parse().ok(),
                _ => {}
            }
        }
        event.data = data.join("\n");
        Some(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_order_matches_fastapi() {
        let e = Event::text("x")
            .retry(Duration::from_millis(3000))
            .id("2")
            .event("delta")
            .with_comment("c");
        assert_eq!(
            e.to_string(),
            ": c\nevent: delta\ndata: x\nid: 2\nretry: 3000\n\n"
        );
    }

    #[test]
    fn multi_line_data_is_split() {
        assert_eq!(Event::text("Hello\n").to_string(), "data: Hello\ndata: \n\n");
        assert_eq!(
            Event::text("Hello\r\nWorld").to_string(),
            "data: Hello\ndata: World\n\n"
        );
        assert_eq!(Event::text("").to_string(), "data: \n\n");
        assert_eq!(Event::text("a\u{2028}b").to_string(), "data: a\u{2028}b\n\n");
        assert_eq!(Event::comment("hi\n").to_string(), ": hi\n: \n\n");
    }

    #[test]
    fn invalid_fields_are_refused() {
        assert!(Event::text("x").try_event("a\nb").is_err());
        assert!(Event::text("x").try_id("a\0").is_err());
        assert!(Event::text("x").event("a\nb").check().is_err());
    }

    #[test]
    fn received_events_parse() {
        let (e, rest) =
            ReceivedEvent::split_first(b"event: delta\ndata: {\"a\":1}\nid: 3\n\ndata: x").unwrap();
        assert_eq!(e.event.as_deref(), Some("delta"));
        assert_eq!(e.id.as_deref(), Some("3"));
        assert_eq!(e.json::<serde_json::Value>().unwrap()["a"], 1);
        assert_eq!(rest, b"data: x");
    }
}
