//! Errors as values: what a handler may fail with, what the app builder may refuse,
//! and the one place that turns each into an HTTP response.
//!
//! Two audiences, kept apart on purpose: the client gets a status and a short,
//! fixed `{"detail": ...}` body; the operator gets the full story through
//! `tracing`, joined to the client's answer by an opaque error id. Nothing
//! internal (a panic message, a driver error, a file path) reaches the client.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::StatusCode;
use serde::Serialize;
use serde_json::Value;

use crate::body::Body;
use crate::openapi::OperationDoc;
use crate::response::{IntoResponse, Response};
use crate::validate::ValidationErrors;

/// The header that carries the opaque id of a server error.
pub const ERROR_ID_HEADER: &str = "x-error-id";

/// An error to send to the client: a status, a JSON `detail` and optional headers.
///
/// This is FastAPI's `HTTPException`: the body is `{"detail": <detail>}`, where
/// `detail` is any JSON value (a message, an object, a list).
///
/// ```
/// use frontdesk::{HttpError, IntoResponse, http::StatusCode};
/// let err = HttpError::not_found("Item not found").with_header("x-error", "There goes my error");
/// let response = err.into_response();
/// assert_eq!(response.status(), StatusCode::NOT_FOUND);
/// assert_eq!(response.headers()["x-error"], "There goes my error");
/// ```
#[derive(Debug, Clone)]
pub struct HttpError {
    status: StatusCode,
    detail: Value,
    // Boxed and optional: most errors carry no headers, and a small error type
    // keeps `Result<T, HttpError>` cheap to return.
    headers: Option<Box<HeaderMap>>,
}

impl HttpError {
    /// An error with `status` and its reason phrase as the detail
    /// (`404` → `{"detail":"Not Found"}`).
    pub fn new(status: StatusCode) -> Self {
        HttpError {
            status,
            detail: Value::String(status.canonical_reason().unwrap_or("Error").to_owned()),
            headers: None,
        }
    }

    /// An error with `status` and a custom `detail` (any serializable value).
    pub fn with_detail(status: StatusCode, detail: impl Serialize) -> Self {
        HttpError {
            status,
            detail: serde_json::to_value(detail).unwrap_or(Value::Null),
            headers: None,
        }
    }

    /// `400 Bad Request` with a message.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::with_detail(StatusCode::BAD_REQUEST, detail.into())
    }

    /// `401 Unauthorized` with a message (add a `WWW-Authenticate` header with
    /// [`HttpError::with_header`]).
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::with_detail(StatusCode::UNAUTHORIZED, detail.into())
    }

    /// `403 Forbidden` with a message.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::with_detail(StatusCode::FORBIDDEN, detail.into())
    }

    /// `404 Not Found` with a message.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::with_detail(StatusCode::NOT_FOUND, detail.into())
    }

    /// `409 Conflict` with a message.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::with_detail(StatusCode::CONFLICT, detail.into())
    }

    /// `500 Internal Server Error` for an unexpected failure: `error` is logged
    /// with a fresh error id and never sent; the client sees
    /// `{"detail":"Internal Server Error"}` and the id in `x-error-id`.
    pub fn internal(error: impl fmt::Display) -> Self {
        let id = next_error_id();
        tracing::error!(error_id = %id, error = %error, "internal server error");
        let mut err = Self::new(StatusCode::INTERNAL_SERVER_ERROR);
        if let Ok(value) = HeaderValue::from_str(&id) {
            err.headers
                .get_or_insert_with(Default::default)
                .insert(HeaderName::from_static(ERROR_ID_HEADER), value);
        }
        err
    }

    /// Adds a header to the response.
    ///
    /// # Panics
    /// When `name` or `value` is not a valid header (a programming error).
    pub fn with_header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.get_or_insert_with(Default::default).insert(
            HeaderName::from_static(name),
            HeaderValue::from_str(value).expect("a valid header value"),
        );
        self
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The JSON detail.
    pub fn detail(&self) -> &Value {
        &self.detail
    }

    /// The extra headers, if any.
    pub fn headers(&self) -> Option<&HeaderMap> {
        self.headers.as_deref()
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status, self.detail)
    }
}

impl std::error::Error for HttpError {}

#[derive(Serialize)]
struct DetailBody<'a> {
    detail: &'a Value,
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&DetailBody { detail: &self.detail })
            .unwrap_or_else(|_| br#"{"detail":"Internal Server Error"}"#.to_vec());
        let mut response = json_response(self.status, body);
        if let Some(headers) = self.headers {
            response.headers_mut().extend(*headers);
        }
        response
    }

    /// An error's status is chosen at run time, so it adds nothing to the
    /// document; document expected errors with the route's `responses(..)`.
    fn describe(_doc: &mut OperationDoc) {}
}

pub(crate) fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

impl IntoResponse for ValidationErrors {
    fn into_response(self) -> Response {
        tracing::debug!(errors = %self, "request failed validation");
        let body = serde_json::to_vec(&self).unwrap_or_else(|_| br#"{"detail":[]}"#.to_vec());
        json_response(StatusCode::UNPROCESSABLE_ENTITY, body)
    }

    fn describe(doc: &mut OperationDoc) {
        doc.mark_validates();
    }
}

static ERROR_COUNTER: AtomicU64 = AtomicU64::new(1);

/// A fresh opaque id: the process's start time mixed with a counter, so ids from
/// restarts and from several instances behind one load balancer do not collide.
pub(crate) fn next_error_id() -> String {
    use std::sync::OnceLock;
    static PREFIX: OnceLock<u64> = OnceLock::new();
    let prefix = *PREFIX.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        nanos ^ (u64::from(std::process::id()) << 32)
    });
    let n = ERROR_COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{:016x}-{:08x}", prefix, n)
}

/// Why an extractor could not produce its value.
///
/// A [`Rejection::Invalid`] is collected with the other arguments' errors, so one
/// 422 names every bad field of the request (path, query, headers and body
/// together, as FastAPI does); any other rejection answers at once.
#[derive(Debug)]
pub enum Rejection {
    /// The input is invalid: answered as 422 with every error found.
    Invalid(ValidationErrors),
    /// Any other refusal, answered with this response (e.g. 401, 413, 415).
    Response(Box<Response>),
}

impl From<ValidationErrors> for Rejection {
    fn from(errors: ValidationErrors) -> Self {
        Rejection::Invalid(errors)
    }
}

impl From<crate::validate::ValidationError> for Rejection {
    fn from(error: crate::validate::ValidationError) -> Self {
        Rejection::Invalid(error.into())
    }
}

impl From<HttpError> for Rejection {
    fn from(error: HttpError) -> Self {
        Rejection::Response(Box::new(error.into_response()))
    }
}

impl From<Response> for Rejection {
    fn from(response: Response) -> Self {
        Rejection::Response(Box::new(response))
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        match self {
            Rejection::Invalid(errors) => errors.into_response(),
            Rejection::Response(response) => *response,
        }
    }
}

/// Why an [`App`](crate::App) could not be built. Each is a programming error found
/// once, at start-up, with a message that names the route and the fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A path template is malformed or conflicts with another route.
    #[error("route `{method} {path}`: {reason}")]
    InvalidRoute {
        /// The method of the route.
        method: String,
        /// The path template.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// Two routes with the same method and path.
    #[error("route `{method} {path}` is registered twice")]
    DuplicateRoute {
        /// The method.
        method: String,
        /// The path template.
        path: String,
    },
    /// A handler needs a state type the app was not given.
    #[error("route `{method} {path}` extracts `State<{type_name}>`, but the app has no such state: add `.state(value)` to the App")]
    MissingState {
        /// The method.
        method: String,
        /// The path template.
        path: String,
        /// The missing state type.
        type_name: &'static str,
    },
    /// The OpenAPI document could not be built.
    #[error("OpenAPI document: {0}")]
    OpenApi(String),
}
