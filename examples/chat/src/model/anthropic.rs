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

use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream;
use http::HeaderValue;
use serde_json::{json, Value};

use crate::config::AnthropicConfig;
use crate::model::http::{json_request, secret_header, HttpClient, RequestBody};
use crate::model::sse::{EventReader, SseMessage};
use crate::model::{
    Backoff, ChatModel, Completion, CompletionFuture, CompletionStream, ModelError, ModelRequest, StreamItem,
    Usage,
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
            let mut backoff = self.http.backoff();
            let response = self.http.send(|| self.request(&body), &mut backoff).await?;
            let message = self.http.read_json(response.into_body()).await?;
            parse_message(&message)
        })
    }

    fn stream(self: Arc<Self>, request: ModelRequest) -> CompletionStream {
        let body = self.body(&request, true);
        let backoff = self.http.backoff();
        let state = StreamState {
            model: self,
            body,
            backoff,
            reader: None,
            sent_any: false,
            usage: Usage::default(),
            stop_reason: None,
            finished: false,
        };
        Box::pin(stream::unfold(state, |mut state| async move {
            let item = state.next_item().await?;
            Some((item, state))
        }))
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

struct StreamState {
    model: Arc<AnthropicModel>,
    body: Bytes,
    backoff: Backoff,
    reader: Option<EventReader>,
    sent_any: bool,
    usage: Usage,
    stop_reason: Option<String>,
    finished: bool,
}

/// What one upstream event means for the client.
enum Step {
    Emit(StreamItem),
    Skip,
    Fail(ModelError),
}

impl StreamState {
    async fn next_item(&mut self) -> Option<Result<StreamItem, ModelError>> {
        loop {
            if self.finished {
                // After the final event: let the connection go back to the pool.
                if let Some(reader) = self.reader.take() {
                    reader.drain().await;
                }
                return None;
            }
            let Some(reader) = self.reader.as_mut() else {
                let model = self.model.clone();
                let body = self.body.clone();
                match model.http.send(|| model.request(&body), &mut self.backoff).await {
                    Ok(response) => {
                        self.reader = Some(EventReader::new(
                            response.into_body(),
                            model.http.settings().idle_timeout,
                        ));
                    }
                    Err(error) => return self.fail(error),
                }
                continue;
            };
            let step = match reader.next().await {
                Ok(Some(message)) => self.handle(&message),
                Ok(None) => Step::Fail(ModelError::Protocol(
                    "the stream ended before message_stop".into(),
                )),
                Err(error) => Step::Fail(error),
            };
            match step {
                Step::Skip => {}
                Step::Emit(item) => {
                    match &item {
                        StreamItem::Delta(_) => self.sent_any = true,
                        StreamItem::Done { .. } => self.finished = true,
                    }
                    return Some(Ok(item));
                }
                Step::Fail(error) => {
                    // Nothing reached the client yet: a fresh attempt is invisible to it.
                    if !self.sent_any && error.is_retryable() {
                        if let Some(delay) = self.backoff.next_delay(None) {
                            tracing::info!(error = %error, ?delay, "model stream failed before its first token; retrying");
                            self.reader = None;
                            self.usage = Usage::default();
                            self.stop_reason = None;
                            tokio::time::sleep(delay).await;
                            continue;
                        }
                    }
                    return self.fail(error);
                }
            }
        }
    }

    fn fail(&mut self, error: ModelError) -> Option<Result<StreamItem, ModelError>> {
        self.finished = true;
        self.reader = None;
        Some(Err(error))
    }

    fn handle(&mut self, message: &SseMessage) -> Step {
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
                Some(text) if !text.is_empty() => Step::Emit(StreamItem::Delta(text.to_owned())),
                _ => Step::Skip,
            },
            "content_block_delta" => {
                if data.pointer("/delta/type").and_then(Value::as_str) != Some("text_delta") {
                    return Step::Skip;
                }
                match data.pointer("/delta/text").and_then(Value::as_str) {
                    Some(text) if !text.is_empty() => Step::Emit(StreamItem::Delta(text.to_owned())),
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
            "message_stop" => Step::Emit(StreamItem::Done {
                stop_reason: self.stop_reason.take().unwrap_or_else(|| "end_turn".to_owned()),
                usage: self.usage,
            }),
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
