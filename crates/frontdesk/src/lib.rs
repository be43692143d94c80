//! frontdesk turns typed async Rust functions into a web API, the way FastAPI
//! does for Python: you declare the shape of your data once, as types, and the
//! framework routes, validates, runs, serializes and responds — and documents it
//! all as OpenAPI 3.1 with an interactive page.
//!
//! Every request takes five steps, each with one home in this crate:
//!
//! | step | module |
//! |---|---|
//! | route | [`router`](crate::Router), [`App`] |
//! | validate | [`extract`](crate::FromRequestParts), [`validate`] |
//! | run | [`Handler`], [`blocking`] |
//! | serialize | [`IntoResponse`], [`Json`], [`Sse`], [`HttpError`] |
//! | respond | [`serve`], [`testing::TestClient`] |
//!
//! ```
//! use frontdesk::prelude::*;
//!
//! #[derive(Deserialize, JsonSchema, Validate)]
//! struct ChatRequest {
//!     #[validate(length(min = 1, max = 32000))]
//!     prompt: String,
//! }
//!
//! #[derive(Serialize, JsonSchema)]
//! struct ChatReply { reply: String }
//!
//! /// Chat with the model.
//! #[post("/chat", tags = ["chat"])]
//! async fn chat(Json(req): Json<ChatRequest>) -> Json<ChatReply> {
//!     Json(ChatReply { reply: format!("echo: {}", req.prompt) })
//! }
//!
//! let app = App::new().title("Chat API").route(chat);
//! # let _ = app.build().unwrap();
//! ```
//!
//! Start with the tutorial (`docs/tutorial.md` in the repository); the
//! [`validate`] module lists every constraint and error type.

extern crate self as frontdesk;

/// The README's examples, compiled as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

/// The tutorial's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/tutorial.md")]
pub struct TutorialDoctests;

mod app;
mod body;
mod docs;
mod endpoint;
mod error;
mod extract;
mod limits;
pub mod openapi;
mod response;
mod router;
mod server;
pub mod testing;
pub mod validate;

pub use app::{App, AppFuture, AppService};
pub use body::{Body, BoxError};
pub use endpoint::{blocking, Handler};
pub use error::{BuildError, HttpError, Rejection, ERROR_ID_HEADER};
pub use extract::form::Form;
pub use extract::header::Headers;
pub use extract::json::{parse_json, Json};
pub use extract::last_event_id::LastEventId;
pub use extract::path::Path;
pub use extract::query::Query;
pub use extract::raw::Request;
pub use extract::state::State;
pub use extract::{FromRequest, FromRequestParts, RequestContext};
pub use limits::{DEFAULT_BODY_LIMIT, DEFAULT_TIMEOUT};
pub use response::sse::{Event, EventError, IntoEvent, ReceivedEvent, Sse, StreamError, DEFAULT_KEEP_ALIVE};
pub use response::stream::{IntoChunk, IntoLine, JsonLines, TextStream};
pub use response::{Html, IntoResponse, Redirect, Response};
pub use router::{BoxedService, Route, RouteDocs, RouteLayer, Router};
pub use server::{serve, serve_with, shutdown_signal, ServeConfig};

/// The derive for [`validate::Validate`]: reads `#[validate(..)]` attributes.
pub use frontdesk_macros::Validate;

/// The endpoint macros: `#[get]`, `#[post]`, `#[put]`, `#[patch]`, `#[delete]`
/// and `#[endpoint(method = .., path = ..)]` declare an endpoint's method, path
/// and docs once, on the function; the function's name then registers it.
/// The example shows `#[get]`, `#[post]` and a `blocking` endpoint at work.
///
/// ```
/// use frontdesk::prelude::*;
/// use frontdesk::testing::TestClient;
///
/// #[derive(Deserialize, Serialize, JsonSchema, Validate)]
/// struct Item {
///     #[validate(length(min = 1))]
///     name: String,
/// }
///
/// /// Read one item.
/// ///
/// /// Answers 404 when there is no such item.
/// #[get("/items/{id}", tags = ["items"], responses(404 = "Item not found"))]
/// async fn read_item(Path(id): Path<u64>) -> Result<String, HttpError> {
///     if id == 0 {
///         return Err(HttpError::not_found("Item not found"));
///     }
///     Ok(format!("item {id}"))
/// }
///
/// /// Create an item.
/// #[post("/items", status = 201, tags = ["items"])]
/// async fn create_item(Json(item): Json<Item>) -> Json<Item> {
///     Json(item)
/// }
///
/// /// Count the words of a text, on the blocking pool.
/// #[post("/words", blocking)]
/// fn count_words(text: String) -> String {
///     text.split_whitespace().count().to_string()
/// }
///
/// let app = App::new().route(read_item).route(create_item).route(count_words);
/// let doc = app.openapi().unwrap();
/// assert_eq!(doc["paths"]["/items/{id}"]["get"]["summary"], "Read one item");
/// assert_eq!(doc["paths"]["/items/{id}"]["get"]["operationId"], "read_item");
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let client = TestClient::new(app);
/// assert_eq!(client.get("/items/7").send().await.text().await, "item 7");
/// let created = client.post("/items").json(&serde_json::json!({"name": "pen"})).send().await;
/// assert_eq!(created.status(), StatusCode::CREATED);
/// assert_eq!(client.post("/words").body("one two three").send().await.text().await, "3");
/// // The function itself stays callable.
/// assert_eq!(read_item::handler(Path(3)).await.unwrap(), "item 3");
/// # });
/// ```
pub use frontdesk_macros::get;
/// An endpoint macro; the grammar, the options and an example are under [`get`](macro@get).
pub use frontdesk_macros::{delete, endpoint, patch, post, put};

pub use bytes;
pub use http;
pub use schemars;
pub use serde;
pub use serde_json;

/// What a handler module needs: `use frontdesk::prelude::*;`.
pub mod prelude {
    pub use crate::validate::Validate;
    pub use crate::{
        App, Event, Form, FromRequest, FromRequestParts, Headers, HttpError, IntoResponse, Json, JsonLines,
        LastEventId, Path, Query, Rejection, RequestContext, Route, Router, Sse, State, TextStream,
    };
    pub use frontdesk_macros::{delete, endpoint, get, patch, post, put, Validate};
    pub use futures_core::Stream;
    pub use http::StatusCode;
    pub use schemars::JsonSchema;
    pub use serde::{Deserialize, Serialize};
}
