//! API keys: who is calling, checked at the desk, and what they used.
//!
//! [`Caller`] is a reusable extractor (frontdesk's `Depends`): put it in a
//! handler's arguments and the route requires `Authorization: Bearer <key>`
//! whenever the app has keys (`CHAT_API_KEYS`). It also documents itself: the
//! route gets the `HTTPBearer` security requirement and its 401 response in the
//! OpenAPI document, from the one argument.
//!
//! Keys are compared in constant time (the time depends only on the length of
//! what the caller sent, never on a configured key), every configured key is
//! checked on every request, and a key is never logged or sent back. A failed
//! check answers `401 {"detail":"Not authenticated"}` with
//! `WWW-Authenticate: Bearer`, like FastAPI's `HTTPBearer`.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use frontdesk::openapi::OperationDoc;
use frontdesk::{FromRequestParts, HttpError, Rejection, RequestContext};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::json;

use crate::config::ApiKey;
use crate::model::Usage;

/// The body of every `{"detail": "..."}` error answer, for the OpenAPI document.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ErrorDetail {
    /// What went wrong.
    pub detail: String,
}

/// The app's API keys and each key's usage; given to the app as state.
#[derive(Clone, Default)]
pub struct Auth {
    keys: Arc<[Arc<KeyEntry>]>,
}

/// One configured key with its counters.
struct KeyEntry {
    name: String,
    key: Box<[u8]>,
    usage: Counters,
}

/// Usage counted since start-up.
#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    input_tokens: AtomicU64,
    output_tokens: AtomicU64,
}

/// A key's usage since start-up, as `/me` shows it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct KeyUsage {
    /// Model requests made (`/chat`, `/chat/stream`, `POST /jobs`).
    pub requests: u64,
    /// Input tokens used.
    pub input_tokens: u64,
    /// Output tokens used.
    pub output_tokens: u64,
}

impl Auth {
    /// Auth with these keys; with none, auth is off.
    pub fn new(keys: &[ApiKey]) -> Self {
        let keys: Vec<Arc<KeyEntry>> = keys
            .iter()
            .map(|k| {
                Arc::new(KeyEntry {
                    name: k.name.clone(),
                    key: k.key.expose().as_bytes().into(),
                    usage: Counters::default(),
                })
            })
            .collect();
        Auth { keys: keys.into() }
    }

    /// Whether callers must present a key.
    pub fn enabled(&self) -> bool {
        !self.keys.is_empty()
    }

    /// The entry whose key is `presented`. Every key is compared, each in
    /// constant time, and the match is selected without a branch on secrets.
    fn verify(&self, presented: &[u8]) -> Option<Arc<KeyEntry>> {
        let mut found = usize::MAX;
        for (index, entry) in self.keys.iter().enumerate() {
            let mask = (constant_time_eq(presented, &entry.key) as usize).wrapping_neg();
            found = (index & mask) | (found & !mask);
        }
        self.keys.get(found).cloned()
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.keys.iter().map(|k| k.name.as_str()).collect();
        f.debug_struct("Auth").field("names", &names).finish()
    }
}

/// Compares a presented secret with a known one in time that depends only on
/// `presented.len()`: every byte of `presented` is compared with a byte of
/// `known` (cycled), and the lengths are compared without branching.
pub fn constant_time_eq(presented: &[u8], known: &[u8]) -> bool {
    if known.is_empty() {
        return false;
    }
    let mut diff = (presented.len() ^ known.len()) as u64;
    for (i, byte) in presented.iter().enumerate() {
        diff |= u64::from(byte ^ known[i % known.len()]);
    }
    // Keeps the optimiser from turning the loop into an early exit.
    std::hint::black_box(diff) == 0
}

/// The caller of a protected route: who they are when auth is on, anonymous when off.
///
/// As a handler argument it refuses a request without a valid key with 401
/// before the body is read or the model is called.
#[derive(Clone)]
pub struct Caller {
    key: Option<Arc<KeyEntry>>,
}

impl Caller {
    /// The key's name; `None` when auth is off.
    pub fn name(&self) -> Option<&str> {
        self.key.as_deref().map(|k| k.name.as_str())
    }

    /// Counts one model request.
    pub fn record_request(&self) {
        if let Some(key) = &self.key {
            key.usage.requests.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts the tokens of one model call.
    pub fn record_usage(&self, usage: Usage) {
        if let Some(key) = &self.key {
            key.usage
                .input_tokens
                .fetch_add(usage.input_tokens, Ordering::Relaxed);
            key.usage
                .output_tokens
                .fetch_add(usage.output_tokens, Ordering::Relaxed);
        }
    }

    /// The key's usage since start-up; `None` when auth is off.
    pub fn usage(&self) -> Option<KeyUsage> {
        self.key.as_ref().map(|k| KeyUsage {
            requests: k.usage.requests.load(Ordering::Relaxed),
            input_tokens: k.usage.input_tokens.load(Ordering::Relaxed),
            output_tokens: k.usage.output_tokens.load(Ordering::Relaxed),
        })
    }
}

impl fmt::Debug for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Caller").field("name", &self.name()).finish()
    }
}

/// The 401 every refused request gets.
pub fn not_authenticated() -> HttpError {
    HttpError::unauthorized("Not authenticated").with_header("www-authenticate", "Bearer")
}

/// The token of an `Authorization: Bearer <token>` header (scheme matched
/// without regard to case).
fn bearer_token(ctx: &RequestContext) -> Option<&[u8]> {
    let value = ctx.headers().get(http::header::AUTHORIZATION)?.as_bytes();
    let (scheme, token) = value.split_at(value.iter().position(|b| *b == b' ')?);
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return None;
    }
    let token = token.trim_ascii();
    (!token.is_empty()).then_some(token)
}

impl FromRequestParts for Caller {
    async fn from_request_parts(ctx: &mut RequestContext) -> Result<Self, Rejection> {
        let Some(auth) = ctx.state::<Auth>() else {
            return Err(HttpError::internal("the app has no Auth state").into());
        };
        if !auth.enabled() {
            return Ok(Caller { key: None });
        }
        match bearer_token(ctx).and_then(|token| auth.verify(token)) {
            Some(key) => Ok(Caller { key: Some(key) }),
            None => Err(not_authenticated().into()),
        }
    }

    fn describe(doc: &mut OperationDoc) {
        doc.require_state::<Auth>();
        doc.security("HTTPBearer", json!({"type": "http", "scheme": "bearer"}));
        let schema = doc.schema_for::<ErrorDetail>();
        doc.response("401", "Not authenticated", Some(schema));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_is_plain_equality() {
        assert!(constant_time_eq(b"sk-123", b"sk-123"));
        assert!(!constant_time_eq(b"sk-124", b"sk-123"));
        assert!(!constant_time_eq(b"sk-12", b"sk-123"));
        assert!(!constant_time_eq(b"sk-1234", b"sk-123"));
        // A repetition of the key is not the key.
        assert!(!constant_time_eq(b"abab", b"ab"));
        assert!(!constant_time_eq(b"", b"ab"));
        assert!(!constant_time_eq(b"", b""));
    }

    #[test]
    fn every_key_is_found_and_only_those() {
        let auth = Auth::new(&[ApiKey::new("alice", "key-a"), ApiKey::new("bob", "key-b")]);
        assert_eq!(
            auth.verify(b"key-a").map(|k| k.name.clone()).as_deref(),
            Some("alice")
        );
        assert_eq!(
            auth.verify(b"key-b").map(|k| k.name.clone()).as_deref(),
            Some("bob")
        );
        assert!(auth.verify(b"key-c").is_none());
        assert!(auth.verify(b"").is_none());
        assert!(!format!("{auth:?}").contains("key-"));
    }
}
