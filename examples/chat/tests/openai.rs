//! The OpenAI-compatible client against a fake `/v1/chat/completions` server
//! on 127.0.0.1, built with frontdesk itself and speaking OpenAI's wire format
//! (`data: {chunk}` lines ending with `data: [DONE]`, a usage chunk when asked
//! for, `{"error": ..}` bodies): whole and streamed replies, usage, the bearer
//! key, retries, failures and hangs, and a client disconnect.

mod common;

use std::sync::Arc;

use chat::build_app;
use chat::config::{Config, ModelConfig, OpenAiConfig, Secret};
use common::{
    deltas, events, fake_upstream, serve, test_upstream, within, words, Behaviour, FakeProvider, FakeState,
    Server, UPSTREAM_SECRET,
};
use frontdesk::prelude::*;
use frontdesk::testing::TestClient;
use serde_json::{json, Value};

const API_KEY: &str = "sk-openai-test-abcdef";

fn error_body(kind: &str) -> Value {
    json!({"error": {"message": format!("{kind}: {UPSTREAM_SECRET}"), "type": kind, "param": null, "code": null}})
}

fn chunk(delta: Value, finish_reason: Value) -> Event {
    Event::json(&json!({
        "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1, "model": "gpt-test",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]
    }))
}

/// `POST /v1/chat/completions`, as an OpenAI-compatible server answers it:
/// `data: {chunk}` lines ending with `data: [DONE]`, a usage chunk when asked
/// for (except for the model `no-usage`), `{"error": ..}` bodies.
struct OpenAi;

impl FakeProvider for OpenAi {
    const PATH: &'static str = "/v1/chat/completions";

    fn error_body(_status: u16) -> Value {
        error_body("server_error")
    }

    fn whole(request: &Value, text: &str) -> Value {
        json!({
            "id": "chatcmpl-fake", "object": "chat.completion", "created": 1, "model": request["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 9, "completion_tokens": words(text).len(), "total_tokens": 9 + words(text).len()}
        })
    }

    fn opening() -> Vec<Event> {
        vec![chunk(json!({"role": "assistant", "content": ""}), Value::Null)]
    }

    fn delta(word: &str) -> Event {
        chunk(json!({"content": word}), Value::Null)
    }

    fn closing(request: &Value, words: usize) -> Vec<Event> {
        let with_usage = request["stream_options"]["include_usage"] == json!(true)
            && request["model"] != json!("no-usage");
        let mut events = vec![chunk(json!({}), json!("stop"))];
        if with_usage {
            events.push(Event::json(&json!({
                "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1, "model": "gpt-test",
                "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": words, "total_tokens": 9 + words}
            })));
        }
        events.push(Event::text("[DONE]"));
        events
    }

    fn stream_error(kind: &str) -> Event {
        Event::json(&error_body(kind))
    }
}

/// A fake OpenAI-compatible server following `script`, then `fallback`.
async fn fake(script: Vec<Behaviour>, fallback: Behaviour) -> (Arc<FakeState>, Server) {
    fake_upstream::<OpenAi>(script, fallback).await
}

/// The base URL is given as OpenAI's SDKs take it, with `/v1`.
fn config(upstream: &Server, model: &str) -> Config {
    Config {
        model: ModelConfig::OpenAi(OpenAiConfig {
            base_url: upstream.url("/v1"),
            api_key: Some(Secret::new(API_KEY)),
            model: model.to_owned(),
        }),
        upstream: test_upstream(),
        ..Config::default()
    }
}

fn chat_body() -> Value {
    json!({"prompt": "Say hello", "system": "Be brief.", "max_tokens": 32})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_reply_with_usage_and_the_right_request() {
    let (fake, upstream) = fake(vec![], Behaviour::Reply("Hello from a compatible server")).await;
    let client = TestClient::new(build_app(config(&upstream, "gpt-test")));
    let response = within(10, client.post("/chat").json(&chat_body()).send()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await,
        json!({"reply": "Hello from a compatible server", "model": "openai/gpt-test", "stop_reason": "end_turn",
            "usage": {"input_tokens": 9, "output_tokens": 5}})
    );
    let sent = &fake.requests()[0];
    assert_eq!(sent.headers["authorization"], format!("Bearer {API_KEY}"));
    assert_eq!(
        sent.body,
        json!({"model": "gpt-test", "max_tokens": 32, "messages": [
            {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hello"}]})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_deltas_then_done_with_the_usage_chunk() {
    let (fake, upstream) = fake(vec![], Behaviour::Reply("Chunks arrive one by one")).await;
    let client = TestClient::new(build_app(config(&upstream, "gpt-test")));
    let mut response = within(10, client.post("/chat/stream").json(&chat_body()).send()).await;
    assert_eq!(response.status(), 200);
    let events = events(&mut response).await;
    assert_eq!(deltas(&events), "Chunks arrive one by one");
    assert_eq!(
        events.last().unwrap().json::<Value>().unwrap(),
        json!({"stop_reason": "end_turn", "usage": {"input_tokens": 9, "output_tokens": 5}})
    );
    assert_eq!(fake.dropped(), 0, "the body was read to its end");
    let sent = &fake.requests()[0].body;
    assert_eq!(
        (sent["stream"].clone(), sent["stream_options"].clone()),
        (json!(true), json!({"include_usage": true}))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_usage_gets_its_chunks_counted() {
    let (_fake, upstream) = fake(vec![], Behaviour::Reply("three little words")).await;
    let client = TestClient::new(build_app(config(&upstream, "no-usage")));
    let mut response = within(10, client.post("/chat/stream").json(&chat_body()).send()).await;
    let events = events(&mut response).await;
    assert_eq!(deltas(&events), "three little words");
    assert_eq!(
        events.last().unwrap().json::<Value>().unwrap(),
        json!({"stop_reason": "end_turn", "usage": {"input_tokens": 0, "output_tokens": 3}})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_then_success_is_retried() {
    let (fake, upstream) = fake(vec![Behaviour::Status(429)], Behaviour::Reply("Retried fine")).await;
    let client = TestClient::new(build_app(config(&upstream, "gpt-test")));
    let mut response = within(10, client.post("/chat/stream").json(&chat_body()).send()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(deltas(&events(&mut response).await), "Retried fine");
    assert_eq!(fake.calls(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_error_mid_stream_ends_with_an_error_event() {
    let script = vec![Behaviour::FailMidStream {
        after: 2,
        kind: "server_error",
    }];
    let (fake, upstream) = fake(script, Behaviour::Reply("unused")).await;
    let client = TestClient::new(build_app(config(&upstream, "gpt-test")));
    let mut response = within(10, client.post("/chat/stream").json(&chat_body()).send()).await;
    let events = events(&mut response).await;
    assert_eq!(deltas(&events), "one two ");
    let last = events.last().unwrap();
    assert_eq!(last.event.as_deref(), Some("error"));
    assert_eq!(last.data, r#"{"detail":"Model provider error"}"#);
    assert!(!last.data.contains(UPSTREAM_SECRET));
    assert_eq!(fake.calls(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hangs_time_out_before_and_during_the_stream() {
    let (_fake, upstream) = fake(
        vec![Behaviour::HangBeforeHead],
        Behaviour::HangMidStream { after: 1 },
    )
    .await;
    let client = TestClient::new(build_app(config(&upstream, "gpt-test")));
    let response = within(10, client.post("/chat").json(&chat_body()).send()).await;
    assert_eq!(response.status(), 504);
    let mut response = within(10, client.post("/chat/stream").json(&chat_body()).send()).await;
    assert_eq!(response.status(), 200);
    let events = events(&mut response).await;
    assert_eq!(deltas(&events), "one ");
    assert_eq!(
        events.last().unwrap().data,
        r#"{"detail":"Model provider timed out"}"#
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_hangs_up_closes_the_upstream_stream() {
    let (fake, upstream) = fake(vec![], Behaviour::Endless).await;
    let service = serve(build_app(config(&upstream, "gpt-test"))).await;
    let mut socket = common::raw_post(service.addr, "/chat/stream", &chat_body().to_string(), "").await;
    common::read_until(&mut socket, "event: delta", 3).await;
    assert_eq!(fake.dropped(), 0);
    drop(socket);
    fake.wait_dropped(5).await;
}
