//! The offline echo model: replies `"echo: " + prompt`, word by word.
//!
//! It behaves like a real model where it matters for a service: a time to the
//! first token (`ECHO_DELAY_MS`), a pace between tokens (`ECHO_TOKEN_MS`), a
//! `max_tokens` cut with `stop_reason: "max_tokens"`, and usage counts (one
//! word is one token). So the whole service — streaming, cancellation, jobs,
//! load — can be run and tested without a network or an API key.

use std::sync::Arc;
use std::time::Duration;

use futures_util::stream;

use crate::config::EchoConfig;
use crate::model::{ChatModel, CompletionStream, ModelRequest, StreamItem, Usage};

/// The echo model.
#[derive(Debug, Clone)]
pub struct EchoModel {
    first_token_delay: Duration,
    token_interval: Duration,
}

impl EchoModel {
    /// An echo model with the configured pace.
    pub fn new(config: &EchoConfig) -> Self {
        EchoModel {
            first_token_delay: config.first_token_delay,
            token_interval: config.token_interval,
        }
    }
}

/// Splits `text` into words, each keeping the whitespace that follows it, so
/// the pieces concatenate back to `text` exactly.
pub fn split_words(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut in_space = false;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            in_space = true;
        } else if in_space {
            pieces.push(&text[start..i]);
            start = i;
            in_space = false;
        }
    }
    if start < text.len() {
        pieces.push(&text[start..]);
    }
    pieces
}

/// Words in `text`: the echo model's token count.
pub fn count_words(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

struct Playback {
    pieces: std::vec::IntoIter<String>,
    sent: u64,
    first: bool,
    done: bool,
    cut: bool,
    input_tokens: u64,
    first_token_delay: Duration,
    token_interval: Duration,
}

impl ChatModel for EchoModel {
    fn id(&self) -> &str {
        "echo/echo"
    }

    fn stream(self: Arc<Self>, request: ModelRequest) -> CompletionStream {
        let reply = format!("echo: {}", request.prompt);
        let mut pieces: Vec<String> = split_words(&reply).into_iter().map(str::to_owned).collect();
        let max = request.max_tokens as usize;
        let cut = pieces.len() > max;
        pieces.truncate(max);
        let input_tokens = count_words(&request.prompt) + request.system.as_deref().map_or(0, count_words);
        let playback = Playback {
            pieces: pieces.into_iter(),
            sent: 0,
            first: true,
            done: false,
            cut,
            input_tokens,
            first_token_delay: self.first_token_delay,
            token_interval: self.token_interval,
        };
        Box::pin(stream::unfold(playback, |mut p| async move {
            if p.done {
                return None;
            }
            let wait = if p.first {
                p.first_token_delay
            } else {
                p.token_interval
            };
            match p.pieces.next() {
                Some(piece) => {
                    if !wait.is_zero() {
                        tokio::time::sleep(wait).await;
                    }
                    p.first = false;
                    p.sent += 1;
                    Some((Ok(StreamItem::Delta(piece)), p))
                }
                None => {
                    p.done = true;
                    let item = StreamItem::Done {
                        stop_reason: if p.cut { "max_tokens" } else { "end_turn" }.to_owned(),
                        usage: Usage {
                            input_tokens: p.input_tokens,
                            output_tokens: p.sent,
                        },
                    };
                    Some((Ok(item), p))
                }
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Model;

    #[test]
    fn words_keep_their_spaces() {
        assert_eq!(
            split_words("echo: hello  world\n!"),
            ["echo: ", "hello  ", "world\n", "!"]
        );
        assert_eq!(split_words("a"), ["a"]);
        assert_eq!(split_words("a "), ["a "]);
        assert!(split_words("").is_empty());
        assert_eq!(split_words("échos  ünïcode").concat(), "échos  ünïcode");
    }

    fn request(prompt: &str, max_tokens: u32) -> ModelRequest {
        ModelRequest {
            prompt: prompt.into(),
            system: Some("be brief".into()),
            max_tokens,
            temperature: None,
        }
    }

    #[tokio::test]
    async fn replies_and_counts_tokens() {
        let model = Model::new(EchoModel::new(&EchoConfig {
            first_token_delay: Duration::ZERO,
            token_interval: Duration::ZERO,
        }));
        let c = model.complete(request("hello there world", 500)).await.unwrap();
        assert_eq!(c.text, "echo: hello there world");
        assert_eq!(c.stop_reason, "end_turn");
        assert_eq!(
            c.usage,
            Usage {
                input_tokens: 5,
                output_tokens: 4
            }
        );

        let c = model.complete(request("hello there world", 2)).await.unwrap();
        assert_eq!(c.text, "echo: hello ");
        assert_eq!(c.stop_reason, "max_tokens");
        assert_eq!(c.usage.output_tokens, 2);
    }
}
