//! The service on the echo model: health, whole and streamed replies (live,
//! token by token, with `max_tokens` and usage), search, and 100 concurrent
//! slow `/chat` requests over a real socket finishing together in under 3 s.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use chat::build_app;
use chat::config::{Config, EchoConfig, ModelConfig};
use common::{deltas, echo_config, events, serve, within};
use frontdesk::testing::TestClient;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

fn echo(first_token_delay: u64, token_interval: u64) -> Config {
    Config {
        model: ModelConfig::Echo(EchoConfig {
            first_token_delay: Duration::from_millis(first_token_delay),
            token_interval: Duration::from_millis(token_interval),
        }),
        ..Config::default()
    }
}

#[tokio::test]
async fn health_names_the_model() {
    let client = TestClient::new(build_app(echo_config()));
    let response = client.get("/health").send().await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await, r#"{"status":"ok","model":"echo/echo"}"#);
}

#[tokio::test]
async fn chat_echoes_with_usage_and_max_tokens() {
    let client = TestClient::new(build_app(echo_config()));
    let response = client
        .post("/chat")
        .json(&json!({"prompt": "Hello, frontdesk!", "system": "Be nice."}))
        .send()
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await,
        json!({"reply": "echo: Hello, frontdesk!", "model": "echo/echo", "stop_reason": "end_turn",
            "usage": {"input_tokens": 4, "output_tokens": 3}})
    );
    let response = client
        .post("/chat")
        .json(&json!({"prompt": "one two three four", "max_tokens": 3}))
        .send()
        .await;
    assert_eq!(
        response.json::<Value>().await,
        json!({"reply": "echo: one two ", "model": "echo/echo", "stop_reason": "max_tokens",
            "usage": {"input_tokens": 4, "output_tokens": 3}})
    );
}

#[tokio::test]
async fn the_stream_is_word_by_word_and_its_deltas_make_the_reply() {
    let client = TestClient::new(build_app(echo_config()));
    let prompt = "Streams  are\nfirst-class in frontdesk";
    let mut response = client
        .post("/chat/stream")
        .json(&json!({"prompt": prompt}))
        .send()
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.header("content-type"),
        "text/event-stream; charset=utf-8"
    );
    assert_eq!(response.header("cache-control"), "no-cache");
    assert_eq!(response.header("x-accel-buffering"), "no");
    let streamed = events(&mut response).await;
    let pieces: Vec<String> = streamed
        .iter()
        .filter(|e| e.event.as_deref() == Some("delta"))
        .map(|e| e.json::<Value>().unwrap()["delta"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        pieces,
        ["echo: ", "Streams  ", "are\n", "first-class ", "in ", "frontdesk"]
    );
    assert_eq!(deltas(&streamed), format!("echo: {prompt}"));
    let done = streamed.last().unwrap();
    assert_eq!(done.event.as_deref(), Some("done"));
    assert_eq!(
        done.data,
        r#"{"stop_reason":"end_turn","usage":{"input_tokens":5,"output_tokens":6}}"#
    );
    // Cut by max_tokens.
    let mut response = client
        .post("/chat/stream")
        .json(&json!({"prompt": prompt, "max_tokens": 2}))
        .send()
        .await;
    let cut = events(&mut response).await;
    assert_eq!(deltas(&cut), "echo: Streams  ");
    assert_eq!(
        cut.last().unwrap().json::<Value>().unwrap()["stop_reason"],
        "max_tokens"
    );
}

#[tokio::test]
async fn tokens_arrive_live_at_the_configured_pace() {
    let client = TestClient::new(build_app(echo(150, 60)));
    let started = Instant::now();
    let mut response = within(
        10,
        client
            .post("/chat/stream")
            .json(&json!({"prompt": "a b c d e"}))
            .send(),
    )
    .await;
    let first = within(10, response.next_event()).await.unwrap();
    let first_at = started.elapsed();
    assert_eq!(first.event.as_deref(), Some("delta"));
    let rest = events(&mut response).await;
    let done_at = started.elapsed();
    assert_eq!(rest.len(), 6, "five more deltas and done");
    assert!(
        first_at >= Duration::from_millis(150),
        "time to first token {first_at:?}"
    );
    // Five more tokens 60 ms apart: streamed, not buffered until the end.
    assert!(
        done_at - first_at >= Duration::from_millis(250),
        "{first_at:?} then {done_at:?}"
    );
}

#[tokio::test]
async fn search_finds_sections_of_the_guide() {
    let client = TestClient::new(build_app(echo_config()));
    let response = client
        .get("/search?q=server-sent%20events%20keep-alive&limit=3")
        .send()
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await;
    let results = body["results"].as_array().unwrap();
    assert!(!results.is_empty() && results.len() <= 3, "{body}");
    let first = &results[0];
    for key in ["id", "title", "snippet", "score"] {
        assert!(first.get(key).is_some(), "{key} in {first}");
    }
    assert!(first["id"].as_str().unwrap().starts_with("streaming#"), "{first}");
    let scores: Vec<f64> = results.iter().map(|r| r["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "best first: {scores:?}");
    // The default limit is 10; nothing matching is an empty list.
    let body: Value = client.get("/search?q=the%20request").send().await.json().await;
    assert!(body["results"].as_array().unwrap().len() <= 10);
    let body: Value = client.get("/search?q=zyzzyva").send().await.json().await;
    assert_eq!(body, json!({"results": []}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_slow_chats_at_once_over_a_real_socket() {
    // Each reply takes a second to start: in series that would be 100 s.
    let server = serve(build_app(echo(1000, 0))).await;
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let url = server.url("/chat");
    let started = Instant::now();
    let requests = (0..100).map(|i| {
        let client = client.clone();
        let request = http::Request::post(&url)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(
                json!({"prompt": format!("request {i}")}).to_string(),
            )))
            .unwrap();
        async move {
            let response = client.request(request).await.expect("an answer");
            let status = response.status();
            let body = response.into_body().collect().await.expect("a body").to_bytes();
            (i, status, serde_json::from_slice::<Value>(&body).expect("JSON"))
        }
    });
    let answers = within(10, futures_util::future::join_all(requests)).await;
    let elapsed = started.elapsed();
    eprintln!("100 concurrent /chat with a 1 s model delay took {elapsed:?}");
    for (i, status, body) in answers {
        assert_eq!(status, 200, "request {i}");
        assert_eq!(body["reply"], format!("echo: request {i}"));
    }
    assert!(
        elapsed < Duration::from_secs(3),
        "100 concurrent chats took {elapsed:?}"
    );
}
