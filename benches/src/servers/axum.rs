//! The contract on axum 0.8: a `Router`, a small `FromRequest` extractor doing
//! the hand-written checks of [`peer`](crate::peer), axum's `Json` and `Sse`
//! (with the same 15-second keep-alive frontdesk turns on by default), and
//! `axum::serve` on the shared listener.

use std::io;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::header::{HeaderValue, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use axum::{Json, Router};
use futures_util::stream::{self, Stream, StreamExt};

use crate::contract::{ticks, token, ChatReply, Delta, Hello, Settings, DONE, HELLO};
use crate::net::listen;
use crate::peer::{parse_chat, PlainChatRequest};

/// A `/chat` body, read with axum's `Bytes` extractor (2 MB default limit) and
/// checked by hand; a bad one is answered with a FastAPI-shaped 422.
#[derive(Debug)]
pub struct Checked(pub PlainChatRequest);

impl<S: Send + Sync> FromRequest<S> for Checked {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Response> {
        let content_type = request.headers().get(CONTENT_TYPE).cloned();
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        match parse_chat(content_type.as_ref().map(HeaderValue::as_bytes), &bytes) {
            Ok(chat) => Ok(Checked(chat)),
            Err(body) => Err((
                StatusCode::UNPROCESSABLE_ENTITY,
                [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
                body,
            )
                .into_response()),
        }
    }
}

async fn hello() -> Json<Hello> {
    Json(HELLO)
}

async fn chat(Checked(chat): Checked) -> Json<ChatReply> {
    Json(ChatReply::echo(&chat.prompt))
}

async fn chat_slow(State(settings): State<Settings>, Checked(chat): Checked) -> Json<ChatReply> {
    tokio::time::sleep(settings.delay).await;
    Json(ChatReply::echo(&chat.prompt))
}

async fn chat_stream(
    State(settings): State<Settings>,
    Checked(_chat): Checked,
) -> Sse<impl Stream<Item = Result<Event, axum::Error>>> {
    token_events(ticks(settings.token_interval))
}

/// The stream's events for token indexes `indexes`, then `done`, with a
/// 15-second keep-alive.
pub fn token_events(
    indexes: impl Stream<Item = usize> + Send + 'static,
) -> Sse<impl Stream<Item = Result<Event, axum::Error>> + Send + 'static> {
    let tokens = indexes.map(|i| Event::default().json_data(Delta { delta: token(i) }));
    let done = stream::once(std::future::ready(Ok(Event::default().event("done").data(DONE))));
    Sse::new(tokens.chain(done)).keep_alive(KeepAlive::default())
}

/// The router: the four routes of the contract.
pub fn router(settings: Settings) -> Router {
    Router::new()
        .route("/hello", get(hello))
        .route("/chat", post(chat))
        .route("/chat/slow", post(chat_slow))
        .route("/chat/stream", post(chat_stream))
        .with_state(settings)
}

/// Serves [`router`] on `127.0.0.1:<settings.port>` until the process is killed.
///
/// # Errors
/// When the port cannot be bound.
pub async fn run(settings: Settings) -> io::Result<()> {
    let listener = listen(settings.port)?.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, router(settings)).await
}
