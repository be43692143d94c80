//! The raw request: its whole body as bytes or text, or the request itself.

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Method, StatusCode, Uri};
use http_body::Body as _;

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
    // Most bodies arrive in one frame, which is returned as it is; only a
    // second frame pays for a buffer to join them in.
    let mut body = std::pin::pin!(body);
    let mut first = Bytes::new();
    let mut joined: Option<BytesMut> = None;
    let mut read = 0usize;
    while let Some(frame) = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
        let frame = frame.map_err(|err| {
            tracing::debug!(error = %err, "request body could not be read");
            Rejection::from(HttpError::bad_request("There was an error reading the body"))
        })?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        if data.is_empty() {
            continue;
        }
        read += data.len();
        if read > limit {
            return Err(too_large(limit));
        }
        match joined.as_mut() {
            Some(joined) => joined.extend_from_slice(&data),
            None if first.is_empty() => first = data,
            None => {
                let mut buffer = BytesMut::with_capacity(read);
                buffer.extend_from_slice(&first);
                buffer.extend_from_slice(&data);
                joined = Some(buffer);
            }
        }
    }
    Ok(joined.map_or(first, BytesMut::freeze))
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
