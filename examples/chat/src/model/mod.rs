//! Model providers behind one trait.
//!
//! [`ChatModel`] is what a handler talks to: `complete` for a whole reply,
//! `stream` for a reply token by token. Each provider's client is created once,
//! at start-up, and shared by every request through the cheap [`Model`] handle
//! (an `Arc<dyn ChatModel>`). The trait object needs no `async-trait`: its
//! methods take `self: Arc<Self>` and return boxed, `'static` futures and
//! streams, so a stream can outlive the handler that started it — and dropping
//! it (when the client goes away) drops the upstream request with it.
//!
//! | provider | module | wire format |
//! |---|---|---|
//! | `echo` | [`echo`] | none: offline, `"echo: " + prompt` |
//! | `anthropic` | [`anthropic`] | Messages API, SSE stream |
//! | `openai` | [`openai`] | `/v1/chat/completions`, `data:` chunks |
//!
//! The two HTTP providers share their client (`http`: pooled connections,
//! timeouts, retries), their SSE parser (`sse`) and their streaming loop
//! (`stream`); each provider module holds only its wire format.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use frontdesk::http::StatusCode;
use frontdesk::HttpError;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use schemars::JsonSchema;
use serde::Serialize;

use crate::config::{Config, ModelConfig};

pub mod anthropic;
pub mod echo;
mod http;
pub mod openai;
mod sse;
mod stream;

pub use self::http::HttpClient;

/// What to ask a model: one user turn, an optional system prompt and limits.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRequest {
    /// The user's message.
    pub prompt: String,
    /// Instructions that frame the conversation.
    pub system: Option<String>,
    /// The most tokens the reply may have.
    pub max_tokens: u32,
    /// Sampling temperature (0.0 to 1.0); the provider's default when `None`.
    pub temperature: Option<f64>,
}

/// Tokens used by one call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Usage {
    /// Tokens read: the system prompt and the prompt.
    pub input_tokens: u64,
    /// Tokens written: the reply.
    pub output_tokens: u64,
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, other: Usage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
    }
}

/// A finished reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// The reply's text.
    pub text: String,
    /// Why the model stopped: `end_turn`, `max_tokens`, `stop_sequence`…
    pub stop_reason: String,
    /// Tokens used.
    pub usage: Usage,
}

/// One item of a streamed reply.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamItem {
    /// The next piece of text.
    Delta(String),
    /// The end of the reply: always the last item of a successful stream.
    Done {
        /// Why the model stopped.
        stop_reason: String,
        /// Tokens used.
        usage: Usage,
    },
}

/// The future of [`ChatModel::complete`].
pub type CompletionFuture = BoxFuture<'static, Result<Completion, ModelError>>;

/// The stream of [`ChatModel::stream`]: deltas, then `Done`; or an error, which ends it.
pub type CompletionStream = BoxStream<'static, Result<StreamItem, ModelError>>;

/// A chat model provider.
///
/// Implementations are cheap to share (`Arc`); the futures and streams they
/// return own what they need, so they can be moved into a response body.
pub trait ChatModel: Send + Sync + 'static {
    /// `provider/model`, e.g. `anthropic/claude-sonnet-4-6`.
    fn id(&self) -> &str;

    /// The whole reply. The default collects [`ChatModel::stream`].
    fn complete(self: Arc<Self>, request: ModelRequest) -> CompletionFuture {
        Box::pin(collect(self.stream(request)))
    }

    /// The reply, piece by piece, ending with [`StreamItem::Done`].
    fn stream(self: Arc<Self>, request: ModelRequest) -> CompletionStream;
}

/// Collects a stream into a [`Completion`].
///
/// # Errors
/// The stream's error, or a protocol error when it ends without `Done`.
pub async fn collect(mut stream: CompletionStream) -> Result<Completion, ModelError> {
    let mut text = String::new();
    while let Some(item) = stream.next().await {
        match item? {
            StreamItem::Delta(delta) => text.push_str(&delta),
            StreamItem::Done { stop_reason, usage } => {
                return Ok(Completion {
                    text,
                    stop_reason,
                    usage,
                })
            }
        }
    }
    Err(ModelError::Protocol(
        "the stream ended without a final event".into(),
    ))
}

/// The model the app uses: a cheap, clonable handle given to the app as state.
#[derive(Clone)]
pub struct Model(Arc<dyn ChatModel>);

impl Model {
    /// Wraps a provider.
    pub fn new(model: impl ChatModel) -> Self {
        Model(Arc::new(model))
    }

    /// Wraps a shared provider.
    pub fn from_arc(model: Arc<dyn ChatModel>) -> Self {
        Model(model)
    }

    /// Creates the provider the configuration names (its HTTP client included,
    /// once, shared from then on).
    pub fn from_config(config: &Config) -> Self {
        match &config.model {
            ModelConfig::Echo(echo) => Model::new(echo::EchoModel::new(echo)),
            ModelConfig::Anthropic(c) => Model::new(anthropic::AnthropicModel::new(
                c,
                HttpClient::new(&config.upstream),
            )),
            ModelConfig::OpenAi(c) => {
                Model::new(openai::OpenAiModel::new(c, HttpClient::new(&config.upstream)))
            }
        }
    }

    /// `provider/model`.
    pub fn id(&self) -> &str {
        self.0.id()
    }

    /// The whole reply.
    ///
    /// # Errors
    /// When the provider fails; see [`ModelError`].
    pub async fn complete(&self, request: ModelRequest) -> Result<Completion, ModelError> {
        self.0.clone().complete(request).await
    }

    /// The reply, piece by piece.
    pub fn stream(&self, request: ModelRequest) -> CompletionStream {
        self.0.clone().stream(request)
    }
}

impl fmt::Debug for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Model").field(&self.id()).finish()
    }
}

/// Which wait ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutPhase {
    /// Opening the connection.
    Connect,
    /// Waiting for the response head.
    FirstByte,
    /// Waiting for the next piece of a body or stream.
    Idle,
}

/// Why a model call failed. `Display` is for the operator's log (it may carry
/// the provider's error message, never a key); the client only ever sees
/// [`ModelError::client_detail`] with [`ModelError::status`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelError {
    /// The provider could not be reached (DNS, connection refused, TLS…).
    Unreachable(String),
    /// A wait ran out.
    Timeout(TimeoutPhase),
    /// The provider answered with an error status (after any retries).
    Status {
        /// The HTTP status.
        status: u16,
        /// The provider's error message, for the log.
        message: String,
    },
    /// The provider reported an error inside a stream (`event: error`).
    Stream {
        /// The provider's error type, e.g. `overloaded_error`.
        kind: String,
        /// The provider's message, for the log.
        message: String,
    },
    /// The answer could not be understood, or a stream broke off.
    Protocol(String),
}

impl ModelError {
    /// Whether trying again may help: rate limits, overload and server errors.
    pub fn is_retryable(&self) -> bool {
        match self {
            ModelError::Status { status, .. } => {
                *status == 429 || *status == 529 || (500..600).contains(status)
            }
            ModelError::Stream { kind, .. } => {
                matches!(
                    kind.as_str(),
                    "overloaded_error" | "api_error" | "rate_limit_error"
                )
            }
            _ => false,
        }
    }

    /// The status the client gets: 503 for overload, 504 for timeouts, 502 otherwise.
    pub fn status(&self) -> StatusCode {
        match self {
            ModelError::Timeout(_) | ModelError::Status { status: 504, .. } => StatusCode::GATEWAY_TIMEOUT,
            ModelError::Status {
                status: 429 | 503 | 529,
                ..
            } => StatusCode::SERVICE_UNAVAILABLE,
            ModelError::Stream { kind, .. } if kind == "overloaded_error" || kind == "rate_limit_error" => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            _ => StatusCode::BAD_GATEWAY,
        }
    }

    /// The fixed message the client gets: nothing from the provider's answer.
    pub fn client_detail(&self) -> &'static str {
        match (self, self.status()) {
            (_, StatusCode::GATEWAY_TIMEOUT) => "Model provider timed out",
            (_, StatusCode::SERVICE_UNAVAILABLE) => "Model provider is overloaded; try again later",
            (ModelError::Unreachable(_), _) => "Model provider unreachable",
            (ModelError::Protocol(_), _) => "Model provider sent an invalid response",
            _ => "Model provider error",
        }
    }

    /// Logs the error (with `model`) and turns it into the client's answer.
    pub fn into_http(self, model: &str) -> HttpError {
        tracing::warn!(model, error = %self, "model call failed");
        let status = self.status();
        let error = HttpError::with_detail(status, self.client_detail());
        if status == StatusCode::SERVICE_UNAVAILABLE {
            error.with_header("retry-after", "5")
        } else {
            error
        }
    }
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelError::Unreachable(why) => write!(f, "provider unreachable: {why}"),
            ModelError::Timeout(TimeoutPhase::Connect) => f.write_str("timed out connecting to the provider"),
            ModelError::Timeout(TimeoutPhase::FirstByte) => {
                f.write_str("timed out waiting for the provider's response head")
            }
            ModelError::Timeout(TimeoutPhase::Idle) => f.write_str("the provider went silent mid-response"),
            ModelError::Status { status, message } => write!(f, "provider answered {status}: {message}"),
            ModelError::Stream { kind, message } => write!(f, "provider stream error {kind}: {message}"),
            ModelError::Protocol(why) => write!(f, "provider protocol error: {why}"),
        }
    }
}

impl std::error::Error for ModelError {}

/// Exponential backoff with jitter for retries, shared by every attempt of one call.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    attempt: u32,
    max_retries: u32,
    base: Duration,
}

/// The longest `retry-after` a provider may ask for and still be waited on;
/// a longer one fails the call at once (the client gets 503 with its own `retry-after`).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);

impl Backoff {
    pub(crate) fn new(max_retries: u32, base: Duration) -> Self {
        Backoff {
            attempt: 0,
            max_retries,
            base,
        }
    }

    /// The delay before the next retry, or `None` when none is left (or the
    /// provider asked for a wait longer than [`MAX_RETRY_AFTER`]).
    pub(crate) fn next_delay(&mut self, retry_after: Option<Duration>) -> Option<Duration> {
        if self.attempt >= self.max_retries {
            return None;
        }
        let exponential = self.base.saturating_mul(1 << self.attempt.min(16));
        // Full jitter on the upper half: between 50% and 100% of the step.
        let jittered = exponential.mul_f64(0.5 + 0.5 * jitter());
        let delay = match retry_after {
            Some(wanted) if wanted > MAX_RETRY_AFTER => return None,
            Some(wanted) => wanted.max(jittered),
            None => jittered,
        };
        self.attempt += 1;
        Some(delay)
    }
}

/// A number in `[0, 1)`, different on each call: std's randomly keyed hasher
/// over the clock. Good enough to spread retries; not for secrets.
fn jitter() -> f64 {
    use std::hash::BuildHasher;
    let hash = std::collections::hash_map::RandomState::new().hash_one(std::time::Instant::now());
    (hash % 10_000) as f64 / 10_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_gateway_statuses_with_fixed_details() {
        let cases = [
            (
                ModelError::Timeout(TimeoutPhase::Idle),
                504,
                "Model provider timed out",
            ),
            (
                ModelError::Status {
                    status: 429,
                    message: "slow down".into(),
                },
                503,
                "Model provider is overloaded; try again later",
            ),
            (
                ModelError::Status {
                    status: 529,
                    message: String::new(),
                },
                503,
                "Model provider is overloaded; try again later",
            ),
            (
                ModelError::Status {
                    status: 401,
                    message: "invalid x-api-key".into(),
                },
                502,
                "Model provider error",
            ),
            (
                ModelError::Status {
                    status: 500,
                    message: String::new(),
                },
                502,
                "Model provider error",
            ),
            (
                ModelError::Unreachable("refused".into()),
                502,
                "Model provider unreachable",
            ),
            (
                ModelError::Protocol("bad json".into()),
                502,
                "Model provider sent an invalid response",
            ),
            (
                ModelError::Stream {
                    kind: "overloaded_error".into(),
                    message: String::new(),
                },
                503,
                "Model provider is overloaded; try again later",
            ),
        ];
        for (error, status, detail) in cases {
            assert_eq!(error.status().as_u16(), status, "{error}");
            assert_eq!(error.client_detail(), detail, "{error}");
        }
    }

    #[test]
    fn only_overload_and_server_errors_are_retried() {
        assert!(ModelError::Status {
            status: 429,
            message: String::new()
        }
        .is_retryable());
        assert!(ModelError::Status {
            status: 529,
            message: String::new()
        }
        .is_retryable());
        assert!(ModelError::Status {
            status: 502,
            message: String::new()
        }
        .is_retryable());
        assert!(!ModelError::Status {
            status: 400,
            message: String::new()
        }
        .is_retryable());
        assert!(!ModelError::Timeout(TimeoutPhase::FirstByte).is_retryable());
        assert!(!ModelError::Unreachable(String::new()).is_retryable());
    }

    #[test]
    fn backoff_doubles_and_stops() {
        let mut b = Backoff::new(2, Duration::from_millis(100));
        let first = b.next_delay(None).unwrap();
        assert!(
            (Duration::from_millis(50)..=Duration::from_millis(100)).contains(&first),
            "{first:?}"
        );
        let second = b.next_delay(Some(Duration::from_millis(1))).unwrap();
        assert!(
            (Duration::from_millis(100)..=Duration::from_millis(200)).contains(&second),
            "{second:?}"
        );
        assert_eq!(b.next_delay(None), None);
        assert_eq!(
            Backoff::new(2, Duration::ZERO).next_delay(Some(Duration::from_secs(60))),
            None
        );
    }
}
