//! Plain streams: text chunks and JSON Lines, each chunk flushed as it is
//! produced.

use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use http::header::{HeaderValue, CONTENT_TYPE};
use serde::Serialize;

use crate::body::Body;
use crate::openapi::OperationDoc;
use crate::response::sse::StreamError;
use crate::response::{IntoResponse, Response};

/// A `text/plain; charset=utf-8` response written chunk by chunk (chunked
/// transfer encoding): each `String` (or `&'static str`) the stream yields is
/// sent at once. A `Result` item's error cuts the response (the cause is
/// logged): clients see the body stop short of its terminator — or, when the
/// error comes before the response head was written, the connection close —
/// never a complete-looking body.
///
/// ```
/// use frontdesk::prelude::*;
/// use futures_util::stream;
///
/// async fn words() -> TextStream<impl Stream<Item = &'static str>> {
///     TextStream::new(stream::iter(["Hello", ", ", "world"]))
/// }
/// # let _ = App::new().route(Route::get("/words", words));
/// ```
#[derive(Debug)]
pub struct TextStream<S>(S);

impl<S> TextStream<S> {
    /// Wraps a stream of text chunks.
    pub fn new(stream: S) -> Self {
        TextStream(stream)
    }
}

/// A chunk of a text stream.
pub trait IntoChunk {
    /// The bytes to send, or the error that ends the stream.
    fn into_chunk(self) -> Result<Bytes, StreamError>;
}

impl IntoChunk for String {
    fn into_chunk(self) -> Result<Bytes, StreamError> {
        Ok(Bytes::from(self))
    }
}

impl IntoChunk for &'static str {
    fn into_chunk(self) -> Result<Bytes, StreamError> {
        Ok(Bytes::from_static(self.as_bytes()))
    }
}

impl IntoChunk for Bytes {
    fn into_chunk(self) -> Result<Bytes, StreamError> {
        Ok(self)
    }
}

impl<T: IntoChunk, E: Into<StreamError>> IntoChunk for Result<T, E> {
    fn into_chunk(self) -> Result<Bytes, StreamError> {
        self.map_err(Into::into).and_then(IntoChunk::into_chunk)
    }
}

struct Chunks<S, F> {
    stream: Option<Pin<Box<S>>>,
    encode: F,
}

impl<S, F> Stream for Chunks<S, F>
where
    S: Stream,
    F: FnMut(S::Item) -> Result<Bytes, Option<Bytes>> + Unpin,
{
    type Item = Result<Bytes, crate::body::BoxError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let Some(stream) = this.stream.as_mut() else {
            return Poll::Ready(None);
        };
        match stream.as_mut().poll_next(cx) {
            Poll::Ready(Some(item)) => match (this.encode)(item) {
                Ok(bytes) => Poll::Ready(Some(Ok(bytes))),
                Err(last) => {
                    this.stream = None;
                    match last {
                        // A final line that tells the client what happened.
                        Some(bytes) => Poll::Ready(Some(Ok(bytes))),
                        // No way to say it in-band: abort the body so the
                        // client sees a truncated, not a complete, response.
                        None => Poll::Ready(Some(Err("stream ended by an error".into()))),
                    }
                }
            },
            Poll::Ready(None) => {
                this.stream = None;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S> IntoResponse for TextStream<S>
where
    S: Stream + Send + 'static,
    S::Item: IntoChunk,
{
    fn into_response(self) -> Response {
        let body = Body::from_stream(Chunks {
            stream: Some(Box::pin(self.0)),
            encode: |item: S::Item| item.into_chunk().map_err(|_| None),
        });
        let mut response = Response::new(body);
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(super::TEXT_PLAIN));
        response
    }

    fn describe(doc: &mut OperationDoc) {
        doc.success_text("text/plain");
    }
}

/// An `application/jsonl` response: one compact JSON document per line, each
/// sent as soon as the stream yields it. A `Result` item's error ends the stream
/// with a last line `{"detail": ...}`.
///
/// ```
/// use frontdesk::prelude::*;
/// use futures_util::stream;
///
/// #[derive(Serialize, JsonSchema)]
/// struct Item { n: u32 }
///
/// async fn items() -> JsonLines<impl Stream<Item = Item>, Item> {
///     JsonLines::new(stream::iter((0..3).map(|n| Item { n })))
/// }
/// # let _ = App::new().route(Route::get("/items", items));
/// ```
pub struct JsonLines<S, T> {
    stream: S,
    _item: PhantomData<fn() -> T>,
}

impl<S, T> JsonLines<S, T> {
    /// Wraps a stream of items (or of `Result<T, E>`).
    pub fn new(stream: S) -> Self {
        JsonLines {
            stream,
            _item: PhantomData,
        }
    }
}

impl<S, T> std::fmt::Debug for JsonLines<S, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonLines").finish()
    }
}

/// An item of a JSON Lines stream.
pub trait IntoLine<T> {
    /// The item, or the error that ends the stream.
    fn into_line(self) -> Result<T, StreamError>;
}

impl<T: Serialize> IntoLine<T> for T {
    fn into_line(self) -> Result<T, StreamError> {
        Ok(self)
    }
}

impl<T: Serialize, E: Into<StreamError>> IntoLine<T> for Result<T, E> {
    fn into_line(self) -> Result<T, StreamError> {
        self.map_err(Into::into)
    }
}

fn line<T: Serialize>(value: &T) -> Result<Bytes, Option<Bytes>> {
    let mut out = serde_json::to_vec(value).map_err(|e| {
        let error = StreamError::from(crate::body::BoxError::from(e.to_string()));
        detail_line(&error)
    })?;
    out.push(b'\n');
    Ok(Bytes::from(out))
}

fn detail_line(error: &StreamError) -> Option<Bytes> {
    let mut out = serde_json::to_vec(&serde_json::json!({ "detail": error.detail() })).ok()?;
    out.push(b'\n');
    Some(Bytes::from(out))
}

impl<S, T> IntoResponse for JsonLines<S, T>
where
    S: Stream + Send + 'static,
    S::Item: IntoLine<T>,
    T: Serialize + schemars::JsonSchema + 'static,
{
    fn into_response(self) -> Response {
        let body = Body::from_stream(Chunks {
            stream: Some(Box::pin(self.stream)),
            encode: |item: S::Item| match item.into_line() {
                Ok(value) => line(&value),
                Err(error) => Err(detail_line(&error)),
            },
        });
        let mut response = Response::new(body);
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/jsonl"));
        response
    }

    fn describe(doc: &mut OperationDoc) {
        let item = doc.schema_for::<T>();
        doc.stream_content("application/jsonl", item);
    }
}
