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
//! async fn chat(Json(req): Json<ChatRequest>) -> Json<ChatReply> {
//!     Json(ChatReply { reply: format!("echo: {}", req.prompt) })
//! }
//!
//! let app = App::new().title("Chat API").route(Route::post("/chat", chat));
//! # let _ = app.build().unwrap();
//! ```

extern crate self as frontdesk;

/// The README's examples, compiled as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

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
pub use extract::path::Path;
pub use extract::query::Query;
pub use extract::raw::Request;
pub use extract::state::State;
pub use extract::{FromRequest, FromRequestParts, RequestContext};
pub use limits::{DEFAULT_BODY_LIMIT, DEFAULT_TIMEOUT};
pub use response::sse::{Event, EventError, IntoEvent, ReceivedEvent, Sse, StreamError, DEFAULT_KEEP_ALIVE};
pub use response::stream::{IntoChunk, IntoLine, JsonLines, TextStream};
pub use response::{Html, IntoResponse, Redirect, Response};
pub use router::{BoxedService, Route, RouteDocs, Router};
pub use server::{serve, serve_with, shutdown_signal, ServeConfig};

/// The derive for [`validate::Validate`]: reads `#[validate(..)]` attributes.
pub use frontdesk_macros::Validate;

pub use bytes;
pub use http;
pub use schemars;
pub use serde;
pub use serde_json;

/// What a handler module needs: `use frontdesk::prelude::*;`.
pub mod prelude {
    pub use crate::validate::Validate;
    pub use crate::{
        App, Event, Form, FromRequest, FromRequestParts, Headers, HttpError, IntoResponse, Json, JsonLines, Path, Query,
        Rejection, RequestContext, Route, Router, Sse, State, TextStream,
    };
    pub use frontdesk_macros::Validate;
    pub use futures_core::Stream;
    pub use http::StatusCode;
    pub use schemars::JsonSchema;
    pub use serde::{Deserialize, Serialize};
}
