//! Validate, part one: turning a request into a handler's typed arguments.
//!
//! Two traits split the work as axum-core does. [`FromRequestParts`] reads the
//! request head (path, query, headers, state) and may appear any number of times,
//! in any order. [`FromRequest`] consumes the body and may appear once, as the last
//! argument; the handler traits only accept a body extractor in that position, so
//! two body extractors, or one that is not last, do not compile.
//!
//! An extractor that finds bad input returns [`Rejection::Invalid`]; the handler
//! runs every extractor and answers one 422 listing every error of the request.
//! A user-defined extractor is frontdesk's `Depends`: it receives the
//! [`RequestContext`] and may run other extractors through
//! [`RequestContext::extract`].

use std::any::{Any, TypeId};
use std::future::Future;
use std::sync::Arc;

use http::request::Parts;
use http::{HeaderMap, Method, Uri};

use crate::app::RouteRef;
use crate::body::Body;
use crate::error::Rejection;
use crate::limits::Limits;
use crate::openapi::OperationDoc;

pub(crate) mod form;
pub(crate) mod header;
pub(crate) mod json;
pub(crate) mod last_event_id;
pub(crate) mod params;
pub(crate) mod path;
pub(crate) mod query;
pub(crate) mod raw;
pub(crate) mod state;

/// Everything known about a request before its body is read: the head, the
/// matched route's parameters, the app's state and the route's limits.
pub struct RequestContext {
    parts: Parts,
    params: Vec<(Arc<str>, String)>,
    /// The route's limits, copied: extractors read them on every request.
    limits: Limits,
    route: RouteRef,
}

impl RequestContext {
    pub(crate) fn new(
        parts: Parts,
        params: Vec<(Arc<str>, String)>,
        limits: Limits,
        route: RouteRef,
    ) -> Self {
        RequestContext {
            parts,
            params,
            limits,
            route,
        }
    }

    /// The request head (method, URI, version, headers, extensions).
    pub fn parts(&self) -> &Parts {
        &self.parts
    }

    /// The request head, mutably (e.g. to store a computed value in its extensions
    /// for later extractors).
    pub fn parts_mut(&mut self) -> &mut Parts {
        &mut self.parts
    }

    /// The request method.
    pub fn method(&self) -> &Method {
        &self.parts.method
    }

    /// The request URI.
    pub fn uri(&self) -> &Uri {
        &self.parts.uri
    }

    /// The request headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.parts.headers
    }

    /// The percent-decoded path parameters of the matched route, in template order.
    pub fn path_params(&self) -> &[(Arc<str>, String)] {
        &self.params
    }

    /// The path template of the matched route (e.g. `/items/{id}`).
    pub fn route_path(&self) -> &str {
        self.route.get().map_or("", |route| route.path.as_str())
    }

    /// A state value given to the app with `.state(value)`.
    pub fn state<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.route.get()?.shared.states.get::<T>()
    }

    /// The body size limit that applies to this route, in bytes.
    pub fn body_limit(&self) -> usize {
        self.limits.body_limit
    }

    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Runs another extractor: how one dependency uses others.
    ///
    /// ```
    /// use frontdesk::prelude::*;
    /// use frontdesk::{RequestContext, Rejection, HttpError};
    ///
    /// /// The caller's API key, checked against the app's key list.
    /// struct ApiKey(String);
    ///
    /// #[derive(Clone)]
    /// struct Keys(Vec<String>);
    ///
    /// impl FromRequestParts for ApiKey {
    ///     async fn from_request_parts(ctx: &mut RequestContext) -> Result<Self, Rejection> {
    ///         let State(keys) = ctx.extract::<State<Keys>>().await?;
    ///         let given = ctx.headers().get("x-key").and_then(|v| v.to_str().ok()).unwrap_or("");
    ///         if keys.0.iter().any(|k| k == given) {
    ///             Ok(ApiKey(given.to_owned()))
    ///         } else {
    ///             Err(HttpError::unauthorized("Not authenticated").into())
    ///         }
    ///     }
    /// }
    /// ```
    pub async fn extract<E: FromRequestParts>(&mut self) -> Result<E, Rejection> {
        E::from_request_parts(self).await
    }
}

impl std::fmt::Debug for RequestContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestContext")
            .field("method", &self.parts.method)
            .field("uri", &self.parts.uri)
            .field("route", &self.route_path())
            .finish()
    }
}

/// An extractor that reads only the request head. Any number of them, in any order.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a handler argument",
    label = "not an extractor",
    note = "handler arguments are extractors: `Path<T>`, `Query<T>`, `Headers<T>`, `State<T>`, `Json<T>` (last), `Bytes`/`String` (last), or your own type implementing `FromRequestParts`"
)]
pub trait FromRequestParts: Sized + Send {
    /// Extracts the value, or says why not.
    fn from_request_parts(ctx: &mut RequestContext) -> impl Future<Output = Result<Self, Rejection>> + Send;

    /// Adds what this extractor reads (parameters, security, required state) to
    /// the operation's OpenAPI description.
    fn describe(_doc: &mut OperationDoc) {}
}

pub(crate) mod private {
    /// Marker: the extractor consumes the body.
    #[derive(Debug, Clone, Copy)]
    pub enum ViaRequest {}
    /// Marker: the extractor reads only the head.
    #[derive(Debug, Clone, Copy)]
    pub enum ViaParts {}
}

/// An extractor that consumes the request body: at most one, the last argument.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the last handler argument",
    label = "not an extractor",
    note = "the last argument may consume the body: `Json<T>`, `Form<T>`, `Bytes`, `String`, `Request`, or any head extractor"
)]
pub trait FromRequest<M = private::ViaRequest>: Sized + Send {
    /// Extracts the value from the head and the body.
    fn from_request(
        ctx: &mut RequestContext,
        body: Body,
    ) -> impl Future<Output = Result<Self, Rejection>> + Send;

    /// Adds what this extractor reads to the operation's OpenAPI description.
    fn describe(_doc: &mut OperationDoc) {}
}

impl<T: FromRequestParts> FromRequest<private::ViaParts> for T {
    async fn from_request(ctx: &mut RequestContext, _body: Body) -> Result<Self, Rejection> {
        T::from_request_parts(ctx).await
    }

    fn describe(doc: &mut OperationDoc) {
        <T as FromRequestParts>::describe(doc);
    }
}

/// `Result<T, Rejection>` hands the rejection to the handler instead of answering it.
impl<T: FromRequestParts> FromRequestParts for Result<T, Rejection> {
    async fn from_request_parts(ctx: &mut RequestContext) -> Result<Self, Rejection> {
        Ok(T::from_request_parts(ctx).await)
    }

    fn describe(doc: &mut OperationDoc) {
        T::describe(doc);
    }
}

/// A type-keyed map of the app's state values, created once at start-up.
#[derive(Default)]
pub(crate) struct StateMap {
    entries: Vec<(TypeId, &'static str, Box<dyn Any + Send + Sync>)>,
}

impl StateMap {
    pub(crate) fn insert<T: Any + Send + Sync>(&mut self, value: T) {
        let id = TypeId::of::<T>();
        self.entries.retain(|(t, _, _)| *t != id);
        self.entries
            .push((id, std::any::type_name::<T>(), Box::new(value)));
    }

    pub(crate) fn get<T: Any>(&self) -> Option<&T> {
        let id = TypeId::of::<T>();
        self.entries
            .iter()
            .find(|(t, _, _)| *t == id)
            .and_then(|(_, _, v)| v.downcast_ref())
    }

    pub(crate) fn contains(&self, id: TypeId) -> bool {
        self.entries.iter().any(|(t, _, _)| *t == id)
    }
}
