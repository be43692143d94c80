//! `LastEventId`: the `Last-Event-ID` header a reconnecting SSE client sends,
//! so a handler can resume a stream where the client lost it.

use serde_json::json;

use crate::error::Rejection;
use crate::extract::{FromRequestParts, RequestContext};
use crate::openapi::OperationDoc;

/// The header's name, as the SSE specification spells it.
const HEADER: &str = "last-event-id";

/// The `Last-Event-ID` request header: the `id` of the last event a client
/// received, sent back by an `EventSource` when it reconnects.
///
/// `None` when the header is absent or empty (a first connection, or a stream
/// whose events carry no ids). The value is opaque text chosen by the server
/// (the `id:` it sent); parsing it is the handler's business, and an id the
/// handler does not understand is best treated as "start over", so this
/// extractor never rejects a request. A value that is not UTF-8 counts as absent.
///
/// In the OpenAPI document it is an optional header parameter named
/// `Last-Event-ID`.
///
/// ```
/// use frontdesk::prelude::*;
/// use frontdesk::LastEventId;
/// use futures_util::stream::{self, StreamExt};
///
/// /// Ten numbered events; a client that reconnects gets only those it missed.
/// async fn ticks(last: LastEventId) -> Sse<impl Stream<Item = Event>> {
///     let start = last.parse::<u32>().map_or(0, |seen| seen + 1);
///     Sse::new(stream::iter(start..10).map(|i| Event::text(i.to_string()).id(i.to_string())))
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let client = frontdesk::testing::TestClient::new(App::new().route(Route::get("/ticks", ticks)));
/// let mut response = client.get("/ticks").header("last-event-id", "7").send().await;
/// assert_eq!(response.next_event().await.unwrap().id.as_deref(), Some("8"));
/// # });
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct LastEventId(pub Option<String>);

impl LastEventId {
    /// The id, if the client sent one.
    pub fn as_str(&self) -> Option<&str> {
        self.0.as_deref()
    }

    /// The id parsed as `T` (a counter, say); `None` when absent or unparsable.
    pub fn parse<T: std::str::FromStr>(&self) -> Option<T> {
        self.as_str().and_then(|id| id.parse().ok())
    }

    /// The id, if the client sent one.
    pub fn into_inner(self) -> Option<String> {
        self.0
    }
}

impl FromRequestParts for LastEventId {
    async fn from_request_parts(ctx: &mut RequestContext) -> Result<Self, Rejection> {
        // `to_str` refuses non-ASCII; an id is any UTF-8 text, so decode it as such.
        let id = ctx
            .headers()
            .get(HEADER)
            .and_then(|value| std::str::from_utf8(value.as_bytes()).ok())
            .filter(|id| !id.is_empty())
            .map(str::to_owned);
        Ok(LastEventId(id))
    }

    fn describe(doc: &mut OperationDoc) {
        doc.parameter(json!({
            "name": "Last-Event-ID",
            "in": "header",
            "required": false,
            "description": "The id of the last event received, sent by a reconnecting client to resume the stream.",
            "schema": {"type": "string"}
        }));
    }
}
