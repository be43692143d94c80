//! Serialize: turning a handler's return value into an HTTP response.
//!
//! Anything a handler returns implements [`IntoResponse`]. The trait also lets the
//! return type describe itself in the OpenAPI document, so the declared return
//! type is the contract: there is no second list of responses to keep in sync.

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::StatusCode;

use crate::body::Body;
use crate::openapi::OperationDoc;

pub(crate) mod sse;
pub(crate) mod stream;

/// The response type every handler's value becomes.
pub type Response = http::Response<Body>;

/// A value that can be sent as the answer to a request.
///
/// Implemented for [`Json`](crate::Json), strings, bytes, `()`, status codes,
/// tuples of a status and/or headers with a body, `Result<T, E>` of two
/// implementors, [`HttpError`](crate::HttpError), streams and more.
///
/// ```
/// use frontdesk::{IntoResponse, http::StatusCode};
/// let response = (StatusCode::CREATED, "made").into_response();
/// assert_eq!(response.status(), StatusCode::CREATED);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a frontdesk handler",
    label = "this type does not implement `IntoResponse`",
    note = "return `Json<T>`, a `String`, `HttpError`, `Result<T, E>` of such types, or implement `frontdesk::IntoResponse`"
)]
pub trait IntoResponse {
    /// Builds the response.
    fn into_response(self) -> Response;

    /// Describes the responses this type can produce in the OpenAPI document.
    /// The default says nothing beyond a successful response without a schema.
    fn describe(doc: &mut OperationDoc) {
        doc.success_untyped();
    }
}

impl IntoResponse for Response {
    fn into_response(self) -> Response {
        self
    }
}

impl IntoResponse for Body {
    fn into_response(self) -> Response {
        Response::new(self)
    }
}

fn with_content_type(body: Body, content_type: &'static str) -> Response {
    let mut response = Response::new(body);
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

pub(crate) const TEXT_PLAIN: &str = "text/plain; charset=utf-8";

impl IntoResponse for String {
    fn into_response(self) -> Response {
        with_content_type(Body::from(self), TEXT_PLAIN)
    }
    fn describe(doc: &mut OperationDoc) {
        doc.success_text(TEXT_PLAIN);
    }
}

impl IntoResponse for &'static str {
    fn into_response(self) -> Response {
        with_content_type(Body::from(self), TEXT_PLAIN)
    }
    fn describe(doc: &mut OperationDoc) {
        doc.success_text(TEXT_PLAIN);
    }
}

impl IntoResponse for std::borrow::Cow<'static, str> {
    fn into_response(self) -> Response {
        match self {
            std::borrow::Cow::Borrowed(s) => s.into_response(),
            std::borrow::Cow::Owned(s) => s.into_response(),
        }
    }
    fn describe(doc: &mut OperationDoc) {
        doc.success_text(TEXT_PLAIN);
    }
}

impl IntoResponse for Bytes {
    fn into_response(self) -> Response {
        with_content_type(Body::from(self), "application/octet-stream")
    }
    fn describe(doc: &mut OperationDoc) {
        doc.success_text("application/octet-stream");
    }
}

impl IntoResponse for Vec<u8> {
    fn into_response(self) -> Response {
        Bytes::from(self).into_response()
    }
    fn describe(doc: &mut OperationDoc) {
        doc.success_text("application/octet-stream");
    }
}

/// `()` answers `204 No Content`: there is nothing to send.
impl IntoResponse for () {
    fn into_response(self) -> Response {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NO_CONTENT;
        response
    }
    fn describe(doc: &mut OperationDoc) {
        doc.success_empty(StatusCode::NO_CONTENT);
    }
}

/// A bare status answers with that status and `{"detail": "<reason phrase>"}`.
impl IntoResponse for StatusCode {
    fn into_response(self) -> Response {
        crate::error::HttpError::new(self).into_response()
    }
    fn describe(doc: &mut OperationDoc) {
        doc.success_untyped();
    }
}

impl<T: IntoResponse> IntoResponse for (StatusCode, T) {
    fn into_response(self) -> Response {
        let mut response = self.1.into_response();
        *response.status_mut() = self.0;
        response
    }
    fn describe(doc: &mut OperationDoc) {
        T::describe(doc);
    }
}

impl<T: IntoResponse> IntoResponse for (HeaderMap, T) {
    fn into_response(self) -> Response {
        let mut response = self.1.into_response();
        response.headers_mut().extend(self.0);
        response
    }
    fn describe(doc: &mut OperationDoc) {
        T::describe(doc);
    }
}

impl<T: IntoResponse> IntoResponse for (StatusCode, HeaderMap, T) {
    fn into_response(self) -> Response {
        let mut response = self.2.into_response();
        *response.status_mut() = self.0;
        response.headers_mut().extend(self.1);
        response
    }
    fn describe(doc: &mut OperationDoc) {
        T::describe(doc);
    }
}

impl<T: IntoResponse, const N: usize> IntoResponse for ([(header::HeaderName, HeaderValue); N], T) {
    fn into_response(self) -> Response {
        let mut response = self.1.into_response();
        for (name, value) in self.0 {
            response.headers_mut().insert(name, value);
        }
        response
    }
    fn describe(doc: &mut OperationDoc) {
        T::describe(doc);
    }
}

impl<T: IntoResponse, E: IntoResponse> IntoResponse for Result<T, E> {
    fn into_response(self) -> Response {
        match self {
            Ok(value) => value.into_response(),
            Err(err) => err.into_response(),
        }
    }
    fn describe(doc: &mut OperationDoc) {
        T::describe(doc);
        E::describe(doc);
    }
}

/// An HTML page.
#[derive(Debug, Clone)]
pub struct Html<T>(pub T);

impl<T: Into<Body>> IntoResponse for Html<T> {
    fn into_response(self) -> Response {
        with_content_type(self.0.into(), "text/html; charset=utf-8")
    }
    fn describe(doc: &mut OperationDoc) {
        doc.success_text("text/html");
    }
}

/// A redirect: `307 Temporary Redirect` (method and body kept) by default.
#[derive(Debug, Clone)]
pub struct Redirect {
    status: StatusCode,
    location: HeaderValue,
}

impl Redirect {
    /// A `307 Temporary Redirect` to `uri`.
    ///
    /// # Panics
    /// When `uri` is not a valid header value (a programming error, not request data).
    pub fn temporary(uri: &str) -> Self {
        Redirect {
            status: StatusCode::TEMPORARY_REDIRECT,
            location: HeaderValue::try_from(uri).expect("redirect target is a valid header value"),
        }
    }

    /// A `308 Permanent Redirect` to `uri`.
    ///
    /// # Panics
    /// When `uri` is not a valid header value.
    pub fn permanent(uri: &str) -> Self {
        Redirect {
            status: StatusCode::PERMANENT_REDIRECT,
            location: HeaderValue::try_from(uri).expect("redirect target is a valid header value"),
        }
    }
}

impl IntoResponse for Redirect {
    fn into_response(self) -> Response {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = self.status;
        response.headers_mut().insert(header::LOCATION, self.location);
        response
    }
    fn describe(doc: &mut OperationDoc) {
        doc.success_empty(StatusCode::TEMPORARY_REDIRECT);
    }
}
