//! `POST /chat` and `POST /chat/stream`: the model, whole or token by token.

use frontdesk::prelude::*;
use frontdesk::HttpError;
use futures_util::{stream, StreamExt};

use crate::auth::{Caller, ErrorDetail};
use crate::model::{Model, ModelError, ModelRequest, StreamItem, Usage};

fn default_max_tokens() -> u32 {
    500
}

/// A chat request: one user message, checked before the model is called.
#[derive(Debug, Clone, Deserialize, JsonSchema, Validate)]
pub struct ChatRequest {
    /// The user's message.
    #[validate(length(min = 1, max = 32000))]
    pub prompt: String,
    /// The most tokens the reply may have.
    #[serde(default = "default_max_tokens")]
    #[validate(range(min = 1, max = 4096))]
    pub max_tokens: u32,
    /// Instructions for the model, e.g. "Answer in French."
    #[validate(length(max = 8000))]
    pub system: Option<String>,
    /// Sampling temperature: 0 for focused answers, 1 for varied ones.
    #[validate(range(min = 0.0, max = 1.0))]
    pub temperature: Option<f64>,
}

impl From<ChatRequest> for ModelRequest {
    fn from(request: ChatRequest) -> Self {
        ModelRequest {
            prompt: request.prompt,
            system: request.system,
            max_tokens: request.max_tokens,
            temperature: request.temperature,
        }
    }
}

/// The model's whole reply.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ChatResponse {
    /// The reply's text.
    pub reply: String,
    /// The model that answered, as `provider/model`.
    pub model: String,
    /// Why the model stopped: `end_turn` (finished), `max_tokens` (cut), …
    pub stop_reason: String,
    /// Tokens used.
    pub usage: Usage,
}

/// The data of a `delta` event: the next piece of the reply.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DeltaEvent {
    /// Text to append to what came before.
    pub delta: String,
}

/// The data of the final `done` event.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DoneEvent {
    /// Why the model stopped.
    pub stop_reason: String,
    /// Tokens used.
    pub usage: Usage,
}

/// The data of an event of `/chat/stream`: `event: delta` carries a piece of
/// the reply, the last event is `event: done`; a failure part-way ends the
/// stream with `event: error` and a `detail`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum StreamEvent {
    /// `event: delta`.
    Delta(DeltaEvent),
    /// `event: done`.
    Done(DoneEvent),
    /// `event: error`.
    Error(ErrorDetail),
}

/// Chat with the model.
///
/// Sends the prompt (and the optional system prompt) to the configured model
/// and answers with the whole reply once it is finished, with the stop reason
/// and the tokens used. Invalid input is answered with 422 before the model is
/// called; a provider failure with 502, 503 (overloaded, retry later) or 504.
#[post("/chat", tags = ["chat"])]
pub async fn chat(
    caller: Caller,
    State(model): State<Model>,
    Json(request): Json<ChatRequest>,
) -> Result<Json<ChatResponse>, HttpError> {
    caller.record_request();
    let completion = model
        .complete(request.into())
        .await
        .map_err(|e| e.into_http(model.id()))?;
    caller.record_usage(completion.usage);
    tracing::info!(
        caller = caller.name(),
        model = model.id(),
        input_tokens = completion.usage.input_tokens,
        output_tokens = completion.usage.output_tokens,
        "chat"
    );
    Ok(Json(ChatResponse {
        reply: completion.text,
        model: model.id().to_owned(),
        stop_reason: completion.stop_reason,
        usage: completion.usage,
    }))
}

/// Stream the reply token by token.
///
/// Answers with Server-Sent Events: one `event: delta` per piece of text
/// (`{"delta": "..."}`), then `event: done` with the stop reason and usage.
/// A provider failure before the first token is answered with 502, 503 or 504
/// like `/chat`; one after it ends the stream with `event: error`
/// (`{"detail": "..."}`). Closing the connection cancels the model call.
#[post("/chat/stream", tags = ["chat"])]
pub async fn chat_stream(
    caller: Caller,
    State(model): State<Model>,
    Json(request): Json<ChatRequest>,
) -> Result<Sse<impl Stream<Item = Result<Event, HttpError>>, StreamEvent>, HttpError> {
    caller.record_request();
    let mut upstream = model.stream(request.into());
    // Wait for the first item: a failure before anything is streamed gets a
    // real status code instead of a 200 with an error event.
    let first = match upstream.next().await {
        Some(Err(error)) => return Err(error.into_http(model.id())),
        first => first,
    };
    let id = model.id().to_owned();
    let events = stream::iter(first)
        .chain(upstream)
        .map(move |item| to_event(item, &caller, &id));
    Ok(Sse::new(events))
}

/// One model stream item as an SSE event. An error is the `HttpError` a
/// client of `/chat` would get; `Sse` ends the stream with it as
/// `event: error` and its `{"detail": ...}`.
fn to_event(item: Result<StreamItem, ModelError>, caller: &Caller, model: &str) -> Result<Event, HttpError> {
    match item {
        Ok(StreamItem::Delta(delta)) => Ok(Event::json(&DeltaEvent { delta }).event("delta")),
        Ok(StreamItem::Done { stop_reason, usage }) => {
            caller.record_usage(usage);
            tracing::info!(
                caller = caller.name(),
                model,
                input_tokens = usage.input_tokens,
                output_tokens = usage.output_tokens,
                "chat stream"
            );
            Ok(Event::json(&DoneEvent { stop_reason, usage }).event("done"))
        }
        Err(error) => Err(error.into_http(model)),
    }
}
