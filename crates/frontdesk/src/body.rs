//! The body type that flows through every step: request bodies after extraction
//! and response bodies before hyper writes them.
//!
//! A response is usually one buffer (a JSON document, a short text), so [`Body`]
//! keeps that case unboxed; streams (SSE, text, JSON Lines) and foreign bodies are
//! boxed once.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::BodyExt;

/// A boxed error, the error type of every body frontdesk handles.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An HTTP body: empty, one buffer, or a boxed stream of frames.
///
/// ```
/// use frontdesk::Body;
/// let body = Body::from("hello");
/// assert_eq!(http_body::Body::size_hint(&body).exact(), Some(5));
/// ```
pub struct Body {
    kind: Kind,
}

enum Kind {
    Full(Option<Bytes>),
    // hyper's request body, kept as is: every request served by hyper has one,
    // and boxing it would cost an allocation per request.
    Incoming(hyper::body::Incoming),
    Boxed(UnsyncBoxBody<Bytes, BoxError>),
}

impl Body {
    /// A body with no bytes.
    #[inline]
    pub fn empty() -> Self {
        Body {
            kind: Kind::Full(None),
        }
    }

    /// A request body as hyper delivers it.
    #[inline]
    pub(crate) fn incoming(body: hyper::body::Incoming) -> Self {
        Body {
            kind: Kind::Incoming(body),
        }
    }

    /// Wraps any [`http_body::Body`] whose data converts into [`Bytes`].
    pub fn new<B>(body: B) -> Self
    where
        B: http_body::Body + Send + 'static,
        B::Data: Into<Bytes>,
        B::Error: Into<BoxError>,
    {
        // The two bodies every request arrives with are taken as they are.
        let mut slot = Some(body);
        let any: &mut dyn std::any::Any = &mut slot;
        if let Some(incoming) = any.downcast_mut::<Option<hyper::body::Incoming>>() {
            if let Some(incoming) = incoming.take() {
                return Body {
                    kind: Kind::Incoming(incoming),
                };
            }
        }
        let any: &mut dyn std::any::Any = &mut slot;
        if let Some(Some(body)) = any.downcast_mut::<Option<Body>>().map(Option::take) {
            return body;
        }
        let Some(body) = slot else {
            unreachable!("taken only by the returns above")
        };
        Body {
            kind: Kind::Boxed(
                body.map_frame(|frame| frame.map_data(Into::into))
                    .map_err(Into::into)
                    .boxed_unsync(),
            ),
        }
    }

    /// A body that yields each item of `stream` as one data frame, flushed as soon
    /// as it is produced.
    pub fn from_stream<S, B, E>(stream: S) -> Self
    where
        S: futures_core::Stream<Item = Result<B, E>> + Send + 'static,
        B: Into<Bytes>,
        E: Into<BoxError>,
    {
        Body::new(StreamBody { stream })
    }

    /// Reads the whole body into one buffer.
    pub async fn collect_bytes(self) -> Result<Bytes, BoxError> {
        match self.kind {
            Kind::Full(bytes) => Ok(bytes.unwrap_or_default()),
            Kind::Incoming(body) => Ok(body.collect().await?.to_bytes()),
            Kind::Boxed(body) => Ok(body.collect().await?.to_bytes()),
        }
    }
}

impl Default for Body {
    fn default() -> Self {
        Body::empty()
    }
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            Kind::Full(bytes) => f
                .debug_struct("Body")
                .field("len", &bytes.as_ref().map_or(0, Bytes::len))
                .finish(),
            Kind::Incoming(_) | Kind::Boxed(_) => f.debug_struct("Body").field("stream", &true).finish(),
        }
    }
}

impl From<Bytes> for Body {
    #[inline]
    fn from(bytes: Bytes) -> Self {
        Body {
            kind: Kind::Full((!bytes.is_empty()).then_some(bytes)),
        }
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Self {
        Body::from(Bytes::from(bytes))
    }
}

impl From<String> for Body {
    fn from(text: String) -> Self {
        Body::from(Bytes::from(text))
    }
}

impl From<&'static str> for Body {
    fn from(text: &'static str) -> Self {
        Body::from(Bytes::from_static(text.as_bytes()))
    }
}

impl From<&'static [u8]> for Body {
    fn from(bytes: &'static [u8]) -> Self {
        Body::from(Bytes::from_static(bytes))
    }
}

impl From<()> for Body {
    fn from(_: ()) -> Self {
        Body::empty()
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = BoxError;

    #[inline]
    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match &mut self.get_mut().kind {
            Kind::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Kind::Incoming(body) => Pin::new(body).poll_frame(cx).map_err(Into::into),
            Kind::Boxed(body) => Pin::new(body).poll_frame(cx),
        }
    }

    #[inline]
    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Full(bytes) => bytes.is_none(),
            Kind::Incoming(body) => body.is_end_stream(),
            Kind::Boxed(body) => body.is_end_stream(),
        }
    }

    #[inline]
    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Kind::Incoming(body) => body.size_hint(),
            Kind::Boxed(body) => body.size_hint(),
        }
    }
}

pin_project_lite::pin_project! {
    /// Adapts a `Stream` of byte chunks into a body of data frames.
    struct StreamBody<S> {
        #[pin]
        stream: S,
    }
}

impl<S, B, E> http_body::Body for StreamBody<S>
where
    S: futures_core::Stream<Item = Result<B, E>>,
    B: Into<Bytes>,
{
    type Data = Bytes;
    type Error = E;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, E>>> {
        match self.project().stream.poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => Poll::Ready(Some(Ok(Frame::data(chunk.into())))),
            Poll::Ready(Some(Err(err))) => Poll::Ready(Some(Err(err))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}
