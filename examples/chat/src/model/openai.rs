//! Any OpenAI-compatible chat completions server (`POST {base}/chat/completions`):
//! OpenAI itself, vLLM, llama.cpp's server, Ollama, LiteLLM…
//!
//! Streaming uses `stream: true` with `stream_options.include_usage`: the answer
//! is a series of `data: {chunk}` lines ending with `data: [DONE]`. Each chunk's
//! `choices[0].delta.content` is a [`StreamItem::Delta`]; `finish_reason` and the
//! final usage chunk (when the server sends one) make the [`StreamItem::Done`].
//! Finish reasons are reported in the service's vocabulary: `stop` → `end_turn`,
//! `length` → `max_tokens`. A server that sends no usage gets its output counted
//! as one token per content chunk and its input as 0.
//!
//! This module holds only the wire format: the request, and the reading of the
//! chunks (`ChunkDecoder`). Sending, retries and the stream itself are the
//! shared loop of `model::stream`.
//!
//! [`StreamItem::Delta`]: crate::model::StreamItem::Delta
//! [`StreamItem::Done`]: crate::model::StreamItem::Done

use std::sync::Arc;

use bytes::Bytes;
use http::HeaderValue;
use serde_json::{json, Value};

use crate::config::OpenAiConfig;
use crate::model::http::{json_request, secret_header, HttpClient, RequestBody};
use crate::model::sse::SseMessage;
use crate::model::stream::{self, Decoder, Provider, Step};
use crate::model::{
    ChatModel, Completion, CompletionFuture, CompletionStream, ModelError, ModelRequest, Usage,
};

/// A client for one model on an OpenAI-compatible server.
#[derive(Debug)]
pub struct OpenAiModel {
    id: String,
    model: String,
    url: String,
    authorization: Option<HeaderValue>,
    http: HttpClient,
}

impl OpenAiModel {
    /// A client for the configured server and model, sharing `http`'s pool.
    pub fn new(config: &OpenAiConfig, http: HttpClient) -> Self {
        OpenAiModel {
            id: format!("openai/{}", config.model),
            model: config.model.clone(),
            url: format!("{}/chat/completions", config.base_url),
            authorization: config
                .api_key
                .as_ref()
                .and_then(|key| secret_header(&format!("Bearer {}", key.expose()))),
            http,
        }
    }

    /// The JSON request body; `stream` asks for chunks, with a usage chunk.
    fn body(&self, request: &ModelRequest, stream: bool) -> Bytes {
        let mut messages = Vec::new();
        if let Some(system) = &request.system {
            messages.push(json!({"role": "system", "content": system}));
        }
        messages.push(json!({"role": "user", "content": request.prompt}));
        let mut body = json!({
            "model": self.model,
            "messages": messages,
            "max_tokens": request.max_tokens,
        });
        if let Some(temperature) = request.temperature {
            body["temperature"] = json!(temperature);
        }
        if stream {
            body["stream"] = json!(true);
            body["stream_options"] = json!({"include_usage": true});
        }
        Bytes::from(body.to_string())
    }
}

impl Provider for OpenAiModel {
    type Decoder = ChunkDecoder;

    fn http(&self) -> &HttpClient {
        &self.http
    }

    fn request(&self, body: &Bytes) -> http::Request<RequestBody> {
        match &self.authorization {
            Some(auth) => json_request(&self.url, &[("authorization", auth)], body),
            None => json_request(&self.url, &[], body),
        }
    }
}

/// `stop` → `end_turn`, `length` → `max_tokens`; others as they are.
fn stop_reason(finish_reason: &str) -> String {
    match finish_reason {
        "stop" => "end_turn".to_owned(),
        "length" => "max_tokens".to_owned(),
        other => other.to_owned(),
    }
}

/// Reads a `usage` object; `None` when a count is missing.
fn read_usage(u: &Value) -> Option<Usage> {
    Some(Usage {
        input_tokens: u.get("prompt_tokens")?.as_u64()?,
        output_tokens: u.get("completion_tokens")?.as_u64()?,
    })
}

/// A chunk or answer that carries `{"error": ..}` instead of choices.
fn embedded_error(value: &Value) -> Option<ModelError> {
    let error = value.get("error")?;
    Some(ModelError::Stream {
        kind: error
            .get("type")
            .or_else(|| error.get("code"))
            .and_then(Value::as_str)
            .unwrap_or("error")
            .to_owned(),
        message: crate::model::http::error_message(value.to_string().as_bytes()),
    })
}

/// Reads a non-streamed answer.
fn parse_completion(value: &Value) -> Result<Completion, ModelError> {
    if let Some(error) = embedded_error(value) {
        return Err(error);
    }
    let choice = value
        .pointer("/choices/0")
        .ok_or_else(|| ModelError::Protocol("the answer has no choices".into()))?;
    let text = choice
        .pointer("/message/content")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    Ok(Completion {
        text,
        stop_reason: stop_reason(
            choice
                .get("finish_reason")
                .and_then(Value::as_str)
                .unwrap_or("stop"),
        ),
        usage: value.get("usage").and_then(read_usage).unwrap_or_default(),
    })
}

impl ChatModel for OpenAiModel {
    fn id(&self) -> &str {
        &self.id
    }

    fn complete(self: Arc<Self>, request: ModelRequest) -> CompletionFuture {
        Box::pin(async move {
            let body = self.body(&request, false);
            let value = self.http.send_json(|| self.request(&body)).await?;
            parse_completion(&value)
        })
    }

    fn stream(self: Arc<Self>, request: ModelRequest) -> CompletionStream {
        let body = self.body(&request, true);
        stream::stream(self, body)
    }
}

/// One stream's reading of the chunks: the content chunks counted, and the
/// usage and finish reason reported so far.
#[derive(Default)]
pub(crate) struct ChunkDecoder {
    /// Chunks that carried text: the output count when no usage comes.
    chunks: u64,
    /// The usage chunk's counts, if one came.
    usage: Option<Usage>,
    /// The first choice's finish reason, if one came.
    finish_reason: Option<String>,
}

impl Decoder for ChunkDecoder {
    fn event(&mut self, message: &SseMessage) -> Step {
        if message.data.trim() == "[DONE]" {
            return Step::Finish;
        }
        let Ok(chunk) = serde_json::from_str::<Value>(&message.data) else {
            return Step::Fail(ModelError::Protocol("a chunk is not JSON".into()));
        };
        if let Some(error) = embedded_error(&chunk) {
            return Step::Fail(error);
        }
        if let Some(usage) = chunk.get("usage").and_then(read_usage) {
            self.usage = Some(usage);
        }
        let Some(choice) = chunk.pointer("/choices/0") else {
            return Step::Skip;
        };
        if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
            self.finish_reason = Some(reason.to_owned());
        }
        match choice.pointer("/delta/content").and_then(Value::as_str) {
            Some(text) if !text.is_empty() => {
                self.chunks += 1;
                Step::Emit(text.to_owned())
            }
            _ => Step::Skip,
        }
    }

    fn ended(&self) -> Result<(), ModelError> {
        // Some servers close without `[DONE]` once they sent a finish reason.
        if self.finish_reason.is_some() {
            Ok(())
        } else {
            Err(ModelError::Protocol("the stream ended before [DONE]".into()))
        }
    }

    fn finish(&mut self) -> (String, Usage) {
        let usage = self.usage.unwrap_or(Usage {
            input_tokens: 0,
            output_tokens: self.chunks,
        });
        (
            stop_reason(self.finish_reason.as_deref().unwrap_or("stop")),
            usage,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completions_are_read() {
        let c = parse_completion(&json!({
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "length"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
        }))
        .unwrap();
        assert_eq!((c.text.as_str(), c.stop_reason.as_str()), ("Hi", "max_tokens"));
        assert_eq!(
            c.usage,
            Usage {
                input_tokens: 3,
                output_tokens: 1
            }
        );
        assert!(parse_completion(&json!({"error": {"message": "bad"}})).is_err());
        assert!(parse_completion(&json!({"choices": []})).is_err());
    }
}
