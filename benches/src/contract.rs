//! The benchmark contract, shared by the three servers.
//!
//! - `GET /hello` → `{"message":"hello"}`
//! - `POST /chat` with [`ChatRequest`] → [`ChatReply`] `{"reply":"echo: <prompt>"}`, 422 on bad input
//! - `POST /chat/slow` → the same after a non-blocking sleep of `DELAY_MS` (default 1000)
//! - `POST /chat/stream` → SSE: [`TOKENS`] events `data: {"delta":"tok<i>"}`, each
//!   after `TOKEN_MS` (default 10), then `event: done` / `data: [DONE]`

use std::time::Duration;

use frontdesk::prelude::*;
use futures_util::stream::{self, Stream};

/// What the client sends to the `/chat` routes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema, Validate)]
pub struct ChatRequest {
    /// The prompt, 1 to 32000 characters.
    #[validate(length(min = 1, max = 32000))]
    pub prompt: String,
    /// The reply budget, 1 to 4096 (default 500).
    #[serde(default = "default_max_tokens")]
    #[validate(range(min = 1, max = 4096))]
    pub max_tokens: u32,
}

/// The default of [`ChatRequest::max_tokens`].
pub fn default_max_tokens() -> u32 {
    500
}

/// The answer of `/chat` and `/chat/slow`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ChatReply {
    /// `echo: <prompt>`.
    pub reply: String,
}

impl ChatReply {
    /// The echo of `prompt`.
    pub fn echo(prompt: &str) -> Self {
        let mut reply = String::with_capacity(prompt.len() + 6);
        reply.push_str("echo: ");
        reply.push_str(prompt);
        ChatReply { reply }
    }
}

/// The answer of `/hello`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Hello {
    /// Always `hello`.
    pub message: &'static str,
}

/// The greeting of `/hello`.
pub const HELLO: Hello = Hello { message: "hello" };

/// One streamed token, the `data` of each SSE event.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Delta {
    /// `tok<i>`.
    pub delta: String,
}

/// The number of token events per stream.
pub const TOKENS: usize = 20;

/// The `data` of the final `done` event.
pub const DONE: &str = "[DONE]";

/// The settings every server reads from its environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// `PORT` (default 8080).
    pub port: u16,
    /// `DELAY_MS`: the sleep of `/chat/slow` (default 1000 ms).
    pub delay: Duration,
    /// `TOKEN_MS`: the pause before each token of `/chat/stream` (default 10 ms).
    pub token_interval: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            port: 8080,
            delay: Duration::from_millis(1000),
            token_interval: Duration::from_millis(10),
        }
    }
}

impl Settings {
    /// Reads `PORT`, `DELAY_MS` and `TOKEN_MS`; an unset or unreadable variable
    /// keeps its default.
    pub fn from_env() -> Self {
        fn var<T: std::str::FromStr>(name: &str) -> Option<T> {
            std::env::var(name).ok()?.trim().parse().ok()
        }
        let defaults = Settings::default();
        Settings {
            port: var("PORT").unwrap_or(defaults.port),
            delay: var("DELAY_MS").map_or(defaults.delay, Duration::from_millis),
            token_interval: var("TOKEN_MS").map_or(defaults.token_interval, Duration::from_millis),
        }
    }
}

/// The token of index `i`: `tok<i>`.
pub fn token(i: usize) -> String {
    format!("tok{i}")
}

/// The stream's pacing: yields `0..TOKENS`, each after `interval` (a
/// non-blocking tokio sleep). Each server turns the indexes into its own events.
pub fn ticks(interval: Duration) -> impl Stream<Item = usize> + Send + 'static {
    stream::unfold(0usize, move |i| async move {
        if i >= TOKENS {
            return None;
        }
        tokio::time::sleep(interval).await;
        Some((i, i + 1))
    })
}
