//! The contract on raw hyper 1: one `service_fn`, a `match` on method and path,
//! serde_json, the hand-written checks of [`peer`](crate::peer), and
//! `hyper::server::conn::http1` (HTTP/1.1 only: the floor, no protocol sniffing).

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::{self, Stream, StreamExt};
use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE};
use http::{Method, Request, Response, StatusCode};
use http_body::Frame;
use http_body_util::{BodyExt, Either, Full, Limited, StreamBody};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde::Serialize;

use crate::contract::{ticks, token, ChatReply, Delta, Settings, HELLO};
use crate::net::listen;
use crate::peer::{parse_chat, PlainChatRequest, BODY_LIMIT};

/// A boxed stream of body frames (the SSE responses).
pub type FrameStream = Pin<Box<dyn Stream<Item = Result<Frame<Bytes>, Infallible>> + Send>>;

/// The response body: one buffer, or a stream (unboxed in the common case).
pub type PeerBody = Either<Full<Bytes>, StreamBody<FrameStream>>;

fn json<T: Serialize>(status: StatusCode, value: &T) -> Response<PeerBody> {
    match serde_json::to_vec(value) {
        Ok(bytes) => raw_json(status, bytes),
        Err(_) => raw_json(
            StatusCode::INTERNAL_SERVER_ERROR,
            b"{\"detail\":\"Internal Server Error\"}".to_vec(),
        ),
    }
}

fn raw_json(status: StatusCode, bytes: Vec<u8>) -> Response<PeerBody> {
    let mut response = Response::new(Either::Left(Full::new(Bytes::from(bytes))));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn detail(status: StatusCode, text: &str) -> Response<PeerBody> {
    json(status, &serde_json::json!({ "detail": text }))
}

/// Reads and checks a `/chat` body; any failure is the response to send.
async fn read_chat<B>(request: Request<B>) -> Result<PlainChatRequest, Response<PeerBody>>
where
    B: http_body::Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > BODY_LIMIT) {
        return Err(detail(StatusCode::PAYLOAD_TOO_LARGE, "Content Too Large"));
    }
    let bytes = match Limited::new(body, BODY_LIMIT).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(detail(StatusCode::PAYLOAD_TOO_LARGE, "Content Too Large"))
        }
        Err(_) => {
            return Err(detail(
                StatusCode::BAD_REQUEST,
                "There was an error reading the body",
            ))
        }
    };
    let content_type = parts.headers.get(CONTENT_TYPE).map(HeaderValue::as_bytes);
    parse_chat(content_type, &bytes).map_err(|body| raw_json(StatusCode::UNPROCESSABLE_ENTITY, body))
}

/// The SSE response for token indexes `indexes`, then `done`: each event
/// formatted by hand, one frame each.
pub fn token_events(indexes: impl Stream<Item = usize> + Send + 'static) -> Response<PeerBody> {
    let tokens = indexes.map(|i| {
        let data = serde_json::to_string(&Delta { delta: token(i) }).unwrap_or_default();
        Ok(Frame::data(Bytes::from(format!("data: {data}\n\n"))))
    });
    let done = stream::once(std::future::ready(Ok(Frame::data(Bytes::from_static(
        b"event: done\ndata: [DONE]\n\n",
    )))));
    let frames: FrameStream = Box::pin(tokens.chain(done));
    let mut response = Response::new(Either::Right(StreamBody::new(frames)));
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// Answers one request of the contract.
pub async fn handle<B>(request: Request<B>, settings: Settings) -> Response<PeerBody>
where
    B: http_body::Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    match (request.method(), request.uri().path()) {
        (&Method::GET, "/hello") => json(StatusCode::OK, &HELLO),
        (&Method::POST, "/chat") => match read_chat(request).await {
            Ok(chat) => json(StatusCode::OK, &ChatReply::echo(&chat.prompt)),
            Err(response) => response,
        },
        (&Method::POST, "/chat/slow") => match read_chat(request).await {
            Ok(chat) => {
                tokio::time::sleep(settings.delay).await;
                json(StatusCode::OK, &ChatReply::echo(&chat.prompt))
            }
            Err(response) => response,
        },
        (&Method::POST, "/chat/stream") => match read_chat(request).await {
            Ok(_) => token_events(ticks(settings.token_interval)),
            Err(response) => response,
        },
        (_, "/hello" | "/chat" | "/chat/slow" | "/chat/stream") => {
            detail(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
        }
        _ => detail(StatusCode::NOT_FOUND, "Not Found"),
    }
}

/// Serves the contract on `127.0.0.1:<settings.port>` until the process is killed.
///
/// # Errors
/// When the port cannot be bound.
pub async fn run(settings: Settings) -> io::Result<()> {
    let listener = listen(settings.port)?;
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(pair) => pair,
            Err(_) => {
                // Out of file descriptors and the like: wait, keep serving.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let service =
                service_fn(
                    move |request| async move { Ok::<_, Infallible>(handle(request, settings).await) },
                );
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
