//! Anthropic's Messages API (`POST /v1/messages`), whole and streamed.
//!
//! The streamed answer is an SSE stream of named events:
//!
//! ```text
//! message_start        {"message": {"usage": {"input_tokens": 25, ..}}}
//! content_block_start  {"index": 0, "content_block": {"type": "text", "text": ""}}
//! ping                 {}
//! content_block_delta  {"index": 0, "delta": {"type": "text_delta", "text": "Hello"}}
//! content_block_stop   {"index": 0}
//! message_delta        {"delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 15}}
//! message_stop         {}
//! error                {"error": {"type": "overloaded_error", "message": "Overloaded"}}
//! ```
//!
//! Text deltas become [`StreamItem::Delta`]s; `message_stop` becomes
//! [`StreamItem::Done`] with the stop reason and usage gathered on the way.
//! Unknown events are skipped, as Anthropic's versioning policy asks. A stream
//! that ends without `message_stop` is an error, never a silently short reply.
//!
//! This module holds only the wire format: the request, and the reading of the
//! events (`MessageDecoder`). Sending, retries and the stream itself are the
//! shared loop of `model::stream`.
//!
//! [`StreamItem::Delta`]: crate::model::StreamItem::Delta
//! [`StreamItem::Done`]: crate::model::StreamItem::Done

use std::sync::Arc;

use bytes::Bytes;
use http::HeaderValue;
use serde_json::{json, Value};

use crate::config::AnthropicConfig;
use crate::model::http::{json_request, secret_header, HttpClient, RequestBody};
use crate::model::sse::SseMessage;
use crate::model::stream::{self, Decoder, Provider, Step};
use crate::model::{
    ChatModel, Completion, CompletionFuture, CompletionStream, ModelError, ModelRequest, Usage,
};

/// The API version this client speaks.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// A client for one Anthropic model.
#[derive(Debug)]
pub struct AnthropicModel {
    id: String,
    model: String,
    url: String,
    api_key: HeaderValue,
    http: HttpClient,
}

impl AnthropicModel {
    /// A client for the configured model, sharing `http`'s connection pool.
    pub fn new(config: &AnthropicConfig, http: HttpClient) -> Self {
        AnthropicModel {
            id: format!("anthropic/{}", config.model),
            model: config.model.clone(),
            url: format!("{}/v1/messages", config.base_url),
            // The configuration checked that the key is a valid header value.
            api_key: secret_header(config.api_key.expose()).unwrap_or_else(|| HeaderValue::from_static("")),
            http,
        }
    }

    /// The JSON request body; `stream` asks for an SSE answer.
    fn body(&self, request: &ModelRequest, stream: bool) -> Bytes {
        let mut body = json!({
            "model": self.model,
            "max_tokens": request.max_tokens,
            "messages": [{"role": "user", "content": request.prompt}],
        });
        if let Some(system) = &request.system {
            body["system"] = json!(system);
        }
        if let Some(temperature) = request.temperature {
            body["temperature"] = json!(temperature);
        }
        if stream {
            body["stream"] = json!(true);
        }
        Bytes::from(body.to_string())
    }
}

impl Provider for AnthropicModel {
    type Decoder = MessageDecoder;

    fn http(&self) -> &HttpClient {
        &self.http
    }

    fn request(&self, body: &Bytes) -> http::Request<RequestBody> {
        let version = HeaderValue::from_static(ANTHROPIC_VERSION);
        json_request(
            &self.url,
            &[("x-api-key", &self.api_key), ("anthropic-version", &version)],
            body,
        )
    }
}

impl ChatModel for AnthropicModel {
    fn id(&self) -> &str {
        &self.id
    }

    fn complete(self: Arc<Self>, request: ModelRequest) -> CompletionFuture {
        Box::pin(async move {
            let body = self.body(&request, false);
            let message = self.http.send_json(|| self.request(&body)).await?;
            parse_message(&message)
        })
    }

    fn stream(self: Arc<Self>, request: ModelRequest) -> CompletionStream {
        let body = self.body(&request, true);
        stream::stream(self, body)
    }
}

/// Reads a non-streamed answer.
fn parse_message(message: &Value) -> Result<Completion, ModelError> {
    if message.get("type").and_then(Value::as_str) != Some("message") {
        return Err(ModelError::Protocol("the answer is not a message".into()));
    }
    let text = message
        .get("content")
        .and_then(Value::as_array)
        .map(|blocks| {
            blocks
                .iter()
                .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
                .filter_map(|b| b.get("text").and_then(Value::as_str))
                .collect::<String>()
        })
        .ok_or_else(|| ModelError::Protocol("the message has no content".into()))?;
    let mut usage = Usage::default();
    if let Some(u) = message.get("usage") {
        read_usage(u, &mut usage);
    }
    Ok(Completion {
        text,
        stop_reason: message
            .get("stop_reason")
            .and_then(Value::as_str)
            .unwrap_or("end_turn")
            .to_owned(),
        usage,
    })
}

/// Reads a `usage` object; cached input tokens count as input.
fn read_usage(u: &Value, usage: &mut Usage) {
    let n = |key: &str| u.get(key).and_then(Value::as_u64);
    if n("input_tokens").is_some() {
        usage.input_tokens = [
            "input_tokens",
            "cache_creation_input_tokens",
            "cache_read_input_tokens",
        ]
        .iter()
        .filter_map(|k| n(k))
        .sum();
    }
    if let Some(output) = n("output_tokens") {
        usage.output_tokens = output;
    }
}

/// One stream's reading of the Messages API events: the usage and stop
/// reason they reported so far.
#[derive(Default)]
pub(crate) struct MessageDecoder {
    /// The usage of `message_start`, updated by `message_delta`.
    usage: Usage,
    /// The stop reason of `message_delta`, if one came.
    stop_reason: Option<String>,
}

impl Decoder for MessageDecoder {
    fn event(&mut self, message: &SseMessage) -> Step {
        let Ok(data) = serde_json::from_str::<Value>(&message.data) else {
            return Step::Fail(ModelError::Protocol("an event's data is not JSON".into()));
        };
        let kind = data
            .get("type")
            .and_then(Value::as_str)
            .or(message.event.as_deref())
            .unwrap_or("");
        match kind {
            "message_start" => {
                if let Some(u) = data.pointer("/message/usage") {
                    read_usage(u, &mut self.usage);
                }
                Step::Skip
            }
            "content_block_start" => match data.pointer("/content_block/text").and_then(Value::as_str) {
                Some(text) if !text.is_empty() => Step::Emit(text.to_owned()),
                _ => Step::Skip,
            },
            "content_block_delta" => {
                if data.pointer("/delta/type").and_then(Value::as_str) != Some("text_delta") {
                    return Step::Skip;
                }
                match data.pointer("/delta/text").and_then(Value::as_str) {
                    Some(text) if !text.is_empty() => Step::Emit(text.to_owned()),
                    _ => Step::Skip,
                }
            }
            "message_delta" => {
                if let Some(reason) = data.pointer("/delta/stop_reason").and_then(Value::as_str) {
                    self.stop_reason = Some(reason.to_owned());
                }
                if let Some(u) = data.get("usage") {
                    read_usage(u, &mut self.usage);
                }
                Step::Skip
            }
            "message_stop" => Step::Finish,
            "error" => Step::Fail(ModelError::Stream {
                kind: data
                    .pointer("/error/type")
                    .and_then(Value::as_str)
                    .unwrap_or("error")
                    .to_owned(),
                message: crate::model::http::error_message(message.data.as_bytes()),
            }),
            // ping, content_block_stop, and event types added later.
            _ => Step::Skip,
        }
    }

    fn ended(&self) -> Result<(), ModelError> {
        Err(ModelError::Protocol(
            "the stream ended before message_stop".into(),
        ))
    }

    fn finish(&mut self) -> (String, Usage) {
        let stop_reason = self.stop_reason.take().unwrap_or_else(|| "end_turn".to_owned());
        (stop_reason, self.usage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_messages_are_read() {
        let message = json!({
            "type": "message", "role": "assistant",
            "content": [{"type": "text", "text": "Hello"}, {"type": "tool_use"}, {"type": "text", "text": " there"}],
            "stop_reason": "max_tokens",
            "usage": {"input_tokens": 10, "cache_read_input_tokens": 5, "output_tokens": 2}
        });
        let c = parse_message(&message).unwrap();
        assert_eq!(c.text, "Hello there");
        assert_eq!(c.stop_reason, "max_tokens");
        assert_eq!(
            c.usage,
            Usage {
                input_tokens: 15,
                output_tokens: 2
            }
        );
        assert!(parse_message(&json!({"type": "error"})).is_err());
    }
}
