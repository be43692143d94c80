//! The raw request: its whole body as bytes or text, or the request itself.

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode, Uri};
use http_body_util::{BodyExt, Limited};

use crate::body::Body;
use crate::error::{HttpError, Rejection};
use crate::extract::{FromRequest, FromRequestParts, RequestContext};
use crate::openapi::OperationDoc;

/// Reads the whole body, refusing with 413 once more than the route's limit has
/// been read. A `Content-Length` above the limit is refused before reading; a
/// missing or lying one changes nothing, because the bytes are counted as they
/// arrive.
pub(crate) async fn read_body(ctx: &RequestContext, body: Body) -> Result<Bytes, Rejection> {
    let limit = ctx.body_limit();
    if let Some(len) = ctx
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        if len > limit as u64 {
            return Err(too_large(limit));
        }
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.is::<http_body_util::LengthLimitError>() => Err(too_large(limit)),
        Err(err) => {
            tracing::debug!(error = %err, "request body could not be read");
            Err(HttpError::bad_request("There was an error reading the body").into())
        }
    }
}

fn too_large(limit: usize) -> Rejection {
    tracing::debug!(limit, "request body over the limit");
    HttpError::with_detail(StatusCode::PAYLOAD_TOO_LARGE, "Content Too Large").into()
}

/// The whole body as bytes (`application/octet-stream` in the OpenAPI document).
impl FromRequest for Bytes {
    async fn from_request(ctx: &mut RequestContext, body: Body) -> Result<Self, Rejection> {
        read_body(ctx, body).await
    }

    fn describe(doc: &mut OperationDoc) {
        doc.request_body_raw("application/octet-stream");
    }
}

/// The whole body as UTF-8 text; other bytes are refused with 400.
impl FromRequest for String {
    async fn from_request(ctx: &mut RequestContext, body: Body) -> Result<Self, Rejection> {
        let bytes = read_body(ctx, body).await?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| HttpError::bad_request("Request body is not valid UTF-8").into())
    }

    fn describe(doc: &mut OperationDoc) {
        doc.request_body_raw("text/plain");
    }
}

/// The request itself, with its body unread, for handlers that stream uploads
/// or need everything.
pub type Request = http::Request<Body>;

impl FromRequest for Request {
    async fn from_request(ctx: &mut RequestContext, body: Body) -> Result<Self, Rejection> {
        Ok(http::Request::from_parts(ctx.parts().clone(), body))
    }
}

impl FromRequestParts for HeaderMap {
    async fn from_request_parts(ctx: &mut RequestContext) -> Result<Self, Rejection> {
        Ok(ctx.headers().clone())
    }
}

impl FromRequestParts for Method {
    async fn from_request_parts(ctx: &mut RequestContext) -> Result<Self, Rejection> {
        Ok(ctx.method().clone())
    }
}

impl FromRequestParts for Uri {
    async fn from_request_parts(ctx: &mut RequestContext) -> Result<Self, Rejection> {
        Ok(ctx.uri().clone())
    }
}
