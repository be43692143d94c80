//! The Anthropic client against a fake Messages API on 127.0.0.1, built with
//! frontdesk itself and speaking Anthropic's wire format (JSON answers, named
//! SSE events, `{"type":"error"}` bodies): whole and streamed replies, usage,
//! headers, retries on 429/529/5xx, failures and hangs before and during a
//! stream, and a client disconnect that closes the upstream connection.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chat::build_app;
use chat::config::{AnthropicConfig, Config, ModelConfig, Secret};
use common::{
    deltas, events, fake_upstream, serve, test_upstream, within, words, Behaviour, FakeProvider, FakeState,
    Server, UPSTREAM_SECRET,
};
use frontdesk::prelude::*;
use frontdesk::testing::TestClient;
use serde_json::{json, Value};

const API_KEY: &str = "sk-ant-test-0123456789";

/// The fake's usage: 12 input tokens, one output token per word.
const INPUT_TOKENS: u64 = 12;

fn error_kind(status: u16) -> &'static str {
    match status {
        429 => "rate_limit_error",
        529 => "overloaded_error",
        401 => "authentication_error",
        400 => "invalid_request_error",
        _ => "api_error",
    }
}

fn error_body(kind: &str) -> Value {
    json!({"type": "error", "error": {"type": kind, "message": format!("{kind}: {UPSTREAM_SECRET}")}})
}

fn named(name: &str, data: Value) -> Event {
    Event::json(&data).event(name)
}

/// `POST /v1/messages`, as Anthropic answers it: JSON messages, named SSE
/// events, `{"type":"error"}` bodies.
struct Anthropic;

impl FakeProvider for Anthropic {
    const PATH: &'static str = "/v1/messages";

    fn error_body(status: u16) -> Value {
        error_body(error_kind(status))
    }

    fn whole(request: &Value, text: &str) -> Value {
        let output = words(text).len() as u64;
        json!({
            "id": "msg_fake", "type": "message", "role": "assistant", "model": request["model"],
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": INPUT_TOKENS, "output_tokens": output}
        })
    }

    fn opening() -> Vec<Event> {
        vec![
            named(
                "message_start",
                json!({"type": "message_start", "message": {"id": "msg_fake", "type": "message", "role": "assistant",
                    "content": [], "model": "claude-test", "stop_reason": null, "stop_sequence": null,
                    "usage": {"input_tokens": INPUT_TOKENS, "output_tokens": 1}}}),
            ),
            named(
                "content_block_start",
                json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            ),
            named("ping", json!({"type": "ping"})),
        ]
    }

    fn delta(word: &str) -> Event {
        named(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": word}}),
        )
    }

    fn closing(_request: &Value, words: usize) -> Vec<Event> {
        vec![
            named(
                "content_block_stop",
                json!({"type": "content_block_stop", "index": 0}),
            ),
            named(
                "message_delta",
                json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
                    "usage": {"output_tokens": words}}),
            ),
            named("message_stop", json!({"type": "message_stop"})),
        ]
    }

    fn stream_error(kind: &str) -> Event {
        named("error", error_body(kind))
    }
}

/// A fake Anthropic server following `script`, then `fallback`.
async fn fake(script: Vec<Behaviour>, fallback: Behaviour) -> (Arc<FakeState>, Server) {
    fake_upstream::<Anthropic>(script, fallback).await
}

fn config(upstream: &Server) -> Config {
    config_for(upstream.url(""))
}

fn config_for(base_url: String) -> Config {
    Config {
        model: ModelConfig::Anthropic(AnthropicConfig {
            api_key: Secret::new(API_KEY),
            model: "claude-test".to_owned(),
            base_url,
        }),
        upstream: test_upstream(),
        ..Config::default()
    }
}

fn chat_body() -> Value {
    json!({"prompt": "Say hello", "system": "Be brief.", "temperature": 0.2, "max_tokens": 64})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_reply_with_usage_and_the_right_request() {
    let (fake, upstream) = fake(vec![], Behaviour::Reply("Hello from the fake")).await;
    let client = TestClient::new(build_app(config(&upstream)));
    let response = within(10, client.post("/chat").json(&chat_body()).send()).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await;
    assert_eq!(
        body,
        json!({"reply": "Hello from the fake", "model": "anthropic/claude-test", "stop_reason": "end_turn",
            "usage": {"input_tokens": 12, "output_tokens": 4}})
    );
    let sent = &fake.requests()[0];
    assert_eq!(sent.headers["x-api-key"], API_KEY);
    assert_eq!(sent.headers["anthropic-version"], "2023-06-01");
    assert_eq!(sent.headers["content-type"], "application/json");
    assert_eq!(
        sent.body,
        json!({"model": "claude-test", "max_tokens": 64, "messages": [{"role": "user", "content": "Say hello"}],
            "system": "Be brief.", "temperature": 0.2})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_deltas_then_done_with_usage() {
    let (fake, upstream) = fake(vec![], Behaviour::Reply("Streaming works, token by token.")).await;
    let client = TestClient::new(build_app(config(&upstream)));
    let mut response = within(10, client.post("/chat/stream").json(&chat_body()).send()).await;
    assert_eq!(response.status(), 200);
    assert!(response.header("content-type").starts_with("text/event-stream"));
    let events = events(&mut response).await;
    assert_eq!(deltas(&events), "Streaming works, token by token.");
    assert_eq!(
        events
            .iter()
            .filter(|e| e.event.as_deref() == Some("delta"))
            .count(),
        5
    );
    let done = events.last().unwrap();
    assert_eq!(done.event.as_deref(), Some("done"));
    assert_eq!(
        done.json::<Value>().unwrap(),
        json!({"stop_reason": "end_turn", "usage": {"input_tokens": 12, "output_tokens": 5}})
    );
    assert_eq!(fake.requests()[0].body["stream"], json!(true));
    assert_eq!(fake.dropped(), 0, "a finished stream is not a dropped one");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_then_success_is_retried() {
    let (fake, upstream) = fake(
        vec![Behaviour::Status(429)],
        Behaviour::Reply("Second time lucky"),
    )
    .await;
    let client = TestClient::new(build_app(config(&upstream)));
    let response = within(10, client.post("/chat").json(&chat_body()).send()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await["reply"], "Second time lucky");
    assert_eq!(fake.calls(), 2);

    // The same for a stream: two failures (overloaded, server error), then a reply.
    let (fake, upstream) = self::fake(
        vec![Behaviour::Status(529), Behaviour::Status(500)],
        Behaviour::Reply("Third time"),
    )
    .await;
    let client = TestClient::new(build_app(config(&upstream)));
    let mut response = within(10, client.post("/chat/stream").json(&chat_body()).send()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(deltas(&events(&mut response).await), "Third time");
    assert_eq!(fake.calls(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_inside_the_stream_before_any_token_is_retried() {
    let script = vec![Behaviour::FailMidStream {
        after: 0,
        kind: "overloaded_error",
    }];
    let (fake, upstream) = fake(script, Behaviour::Reply("After the overload")).await;
    let client = TestClient::new(build_app(config(&upstream)));
    let mut response = within(10, client.post("/chat/stream").json(&chat_body()).send()).await;
    assert_eq!(response.status(), 200);
    let events = events(&mut response).await;
    assert_eq!(deltas(&events), "After the overload");
    assert_eq!(events.last().unwrap().event.as_deref(), Some("done"));
    assert_eq!(fake.calls(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_are_bounded_and_overload_is_a_503() {
    let (fake, upstream) = fake(vec![], Behaviour::Status(529)).await;
    let client = TestClient::new(build_app(config(&upstream)));
    let response = within(10, client.post("/chat").json(&chat_body()).send()).await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.header("retry-after"), "5");
    assert_eq!(
        response.text().await,
        r#"{"detail":"Model provider is overloaded; try again later"}"#
    );
    assert_eq!(fake.calls(), 3, "one call and two retries");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_errors_leak_neither_the_body_nor_the_key() {
    for (status, expected) in [(401, 502), (400, 502), (500, 502), (504, 504)] {
        let (fake, upstream) = fake(vec![], Behaviour::Status(status)).await;
        let client = TestClient::new(build_app(config(&upstream)));
        let response = within(10, client.post("/chat").json(&chat_body()).send()).await;
        assert_eq!(response.status(), expected, "upstream {status}");
        let text = response.text().await;
        assert!(
            !text.contains(UPSTREAM_SECRET) && !text.contains(API_KEY),
            "{text}"
        );
        assert!(text.starts_with(r#"{"detail":"Model provider"#), "{text}");
        let retried = status >= 500;
        assert_eq!(fake.calls(), if retried { 3 } else { 1 }, "upstream {status}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_error_mid_stream_ends_with_an_error_event() {
    let script = vec![Behaviour::FailMidStream {
        after: 3,
        kind: "api_error",
    }];
    let (fake, upstream) = fake(script, Behaviour::Reply("never used")).await;
    let client = TestClient::new(build_app(config(&upstream)));
    let mut response = within(10, client.post("/chat/stream").json(&chat_body()).send()).await;
    assert_eq!(response.status(), 200);
    let events = events(&mut response).await;
    assert_eq!(deltas(&events), "one two three ");
    let last = events.last().unwrap();
    assert_eq!(last.event.as_deref(), Some("error"));
    assert_eq!(last.data, r#"{"detail":"Model provider error"}"#);
    assert_eq!(fake.calls(), 1, "no retry once tokens were sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_cut_short_is_an_error_not_a_short_reply() {
    let (_fake, upstream) = fake(vec![], Behaviour::CutMidStream { after: 2 }).await;
    let client = TestClient::new(build_app(config(&upstream)));
    let mut response = within(10, client.post("/chat/stream").json(&chat_body()).send()).await;
    let events = events(&mut response).await;
    assert_eq!(deltas(&events), "one two ");
    assert_eq!(events.last().unwrap().event.as_deref(), Some("error"));
    assert_eq!(
        events.last().unwrap().data,
        r#"{"detail":"Model provider sent an invalid response"}"#
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_that_never_answers_times_out_with_504() {
    let (_fake, upstream) = fake(vec![], Behaviour::HangBeforeHead).await;
    let client = TestClient::new(build_app(config(&upstream)));
    for path in ["/chat", "/chat/stream"] {
        let started = Instant::now();
        let response = within(10, client.post(path).json(&chat_body()).send()).await;
        assert_eq!(response.status(), 504, "{path}");
        assert_eq!(response.text().await, r#"{"detail":"Model provider timed out"}"#);
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{path}: {:?}",
            started.elapsed()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_that_goes_silent_mid_stream_times_out() {
    let (_fake, upstream) = fake(vec![], Behaviour::HangMidStream { after: 2 }).await;
    let client = TestClient::new(build_app(config(&upstream)));
    let mut response = within(10, client.post("/chat/stream").json(&chat_body()).send()).await;
    assert_eq!(response.status(), 200);
    let events = events(&mut response).await;
    assert_eq!(deltas(&events), "one two ");
    assert_eq!(events.last().unwrap().event.as_deref(), Some("error"));
    assert_eq!(
        events.last().unwrap().data,
        r#"{"detail":"Model provider timed out"}"#
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_hangs_up_closes_the_upstream_stream() {
    let (fake, upstream) = fake(vec![], Behaviour::Endless).await;
    let service = serve(build_app(config(&upstream))).await;
    let mut socket = common::raw_post(service.addr, "/chat/stream", &chat_body().to_string(), "").await;
    let seen = common::read_until(&mut socket, "event: delta", 3).await;
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");
    assert_eq!(fake.dropped(), 0);
    drop(socket);
    fake.wait_dropped(5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_provider_is_a_502() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = config_for(format!("http://127.0.0.1:{port}"));
    config.upstream.max_retries = 0;
    let client = TestClient::new(build_app(config));
    let response = within(10, client.post("/chat").json(&chat_body()).send()).await;
    assert_eq!(response.status(), 502);
    assert_eq!(
        response.text().await,
        r#"{"detail":"Model provider unreachable"}"#
    );
}
