//! API keys: with `CHAT_API_KEYS` set, the chat and job routes need
//! `Authorization: Bearer <key>` (401 with `WWW-Authenticate: Bearer`
//! otherwise, before the body is read or the model called); `/me` shows the
//! key's name and usage; keys are never echoed; without keys everything is
//! open and `/me` is always 401. The OpenAPI document carries the security
//! requirement on exactly the protected routes.

mod common;

use std::sync::atomic::Ordering;

use chat::config::{ApiKey, Config};
use chat::{build_app, build_app_with_model, Model};
use common::{echo_config, CountingModel};
use frontdesk::testing::TestClient;
use serde_json::{json, Value};

const ALICE: &str = "sk-alice-0001";
const BOB: &str = "sk-bob-0002";

fn keyed_config() -> Config {
    Config {
        api_keys: vec![ApiKey::new("alice", ALICE), ApiKey::new("bob", BOB)],
        ..echo_config()
    }
}

#[tokio::test]
async fn protected_routes_refuse_missing_and_wrong_keys() {
    let (model, calls) = CountingModel::new();
    let client = TestClient::new(build_app_with_model(keyed_config(), Model::new(model)));
    let bad_headers: [Option<String>; 7] = [
        None,
        Some(String::new()),
        Some(format!("Basic {ALICE}")),
        Some("Bearer".to_owned()),
        Some("Bearer sk-alice-000".to_owned()),
        Some(format!("Bearer {ALICE}x")),
        Some(format!("Bearer {ALICE}{ALICE}")),
    ];
    for header in &bad_headers {
        for (method, path) in [
            ("POST", "/chat"),
            ("POST", "/chat/stream"),
            ("POST", "/jobs"),
            ("GET", "/jobs/job_x"),
            ("GET", "/me"),
        ] {
            let mut request = client.request(method.parse().unwrap(), path);
            if let Some(value) = header {
                request = request.header("authorization", value);
            }
            // The body is invalid too: auth is checked first.
            let response = request.json(&json!({"prompt": 42})).send().await;
            assert_eq!(response.status(), 401, "{method} {path} with {header:?}");
            assert_eq!(response.header("www-authenticate"), "Bearer");
            let text = response.text().await;
            assert_eq!(text, r#"{"detail":"Not authenticated"}"#);
        }
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0, "the model is never called");
}

#[tokio::test]
async fn valid_keys_pass_and_public_routes_stay_open() {
    let client = TestClient::new(build_app(keyed_config()));
    for (key, scheme) in [(ALICE, "Bearer"), (BOB, "bearer"), (ALICE, "BEARER")] {
        let response = client
            .post("/chat")
            .header("authorization", &format!("{scheme} {key}"))
            .json(&json!({"prompt": "hello"}))
            .send()
            .await;
        assert_eq!(response.status(), 200);
        let text = response.text().await;
        assert!(!text.contains(key), "the key is never echoed: {text}");
    }
    assert_eq!(client.get("/health").send().await.status(), 200);
    assert_eq!(client.get("/search?q=stream").send().await.status(), 200);
    assert_eq!(client.get("/openapi.json").send().await.status(), 200);
    assert_eq!(client.get("/docs").send().await.status(), 200);
}

#[tokio::test]
async fn me_counts_each_keys_usage() {
    let client = TestClient::new(build_app(keyed_config()));
    let me = |key: &'static str| {
        let client = client.clone();
        async move {
            let response = client
                .get("/me")
                .header("authorization", &format!("Bearer {key}"))
                .send()
                .await;
            assert_eq!(response.status(), 200);
            response.json::<Value>().await
        }
    };
    assert_eq!(
        me(ALICE).await,
        json!({"name": "alice", "usage": {"requests": 0, "input_tokens": 0, "output_tokens": 0}})
    );
    // Two chats (3 + 1 input words with the system prompt; "echo: a b c" is 4 output words)…
    for body in [
        json!({"prompt": "a b c"}),
        json!({"prompt": "x", "system": "be kind to me"}),
    ] {
        let response = client
            .post("/chat")
            .header("authorization", &format!("Bearer {ALICE}"))
            .json(&body)
            .send()
            .await;
        assert_eq!(response.status(), 200);
    }
    // …and a stream, whose usage counts once its `done` event is sent.
    let mut response = client
        .post("/chat/stream")
        .header("authorization", &format!("Bearer {ALICE}"))
        .json(&json!({"prompt": "one two"}))
        .send()
        .await;
    common::events(&mut response).await;
    // A refused request is not counted.
    let response = client
        .post("/chat")
        .header("authorization", &format!("Bearer {ALICE}"))
        .json(&json!({}))
        .send()
        .await;
    assert_eq!(response.status(), 422);
    assert_eq!(
        me(ALICE).await,
        json!({"name": "alice", "usage": {"requests": 3, "input_tokens": 3 + 5 + 2, "output_tokens": 4 + 2 + 3}})
    );
    assert_eq!(
        me(BOB).await,
        json!({"name": "bob", "usage": {"requests": 0, "input_tokens": 0, "output_tokens": 0}})
    );
}

#[tokio::test]
async fn without_keys_everything_is_open_and_me_is_401() {
    let client = TestClient::new(build_app(echo_config()));
    let response = client.post("/chat").json(&json!({"prompt": "hi"})).send().await;
    assert_eq!(response.status(), 200);
    let response = client
        .post("/chat")
        .header("authorization", "Bearer anything")
        .json(&json!({"prompt": "hi"}))
        .send()
        .await;
    assert_eq!(response.status(), 200);
    for auth in [None, Some("Bearer anything")] {
        let mut request = client.get("/me");
        if let Some(value) = auth {
            request = request.header("authorization", value);
        }
        let response = request.send().await;
        assert_eq!(response.status(), 401);
        assert_eq!(response.header("www-authenticate"), "Bearer");
        assert_eq!(response.text().await, r#"{"detail":"Not authenticated"}"#);
    }
}

#[tokio::test]
async fn the_document_marks_exactly_the_protected_routes() {
    let doc = build_app(echo_config()).openapi().unwrap();
    assert_eq!(
        doc["components"]["securitySchemes"],
        json!({"HTTPBearer": {"type": "http", "scheme": "bearer"}})
    );
    let protected = [
        ("/chat", "post"),
        ("/chat/stream", "post"),
        ("/jobs", "post"),
        ("/jobs/{job_id}", "get"),
        ("/me", "get"),
    ];
    for (path, method) in protected {
        let op = &doc["paths"][path][method];
        assert_eq!(op["security"], json!([{"HTTPBearer": []}]), "{method} {path}");
        assert_eq!(
            op["responses"]["401"]["description"], "Not authenticated",
            "{method} {path}"
        );
        assert_eq!(
            op["responses"]["401"]["content"]["application/json"]["schema"],
            json!({"$ref": "#/components/schemas/ErrorDetail"})
        );
    }
    for (path, method) in [("/health", "get"), ("/search", "get")] {
        let op = &doc["paths"][path][method];
        // Public: an explicit empty requirement, and no 401.
        assert_eq!(op["security"], json!([]), "{method} {path}");
        assert!(op["responses"].get("401").is_none(), "{method} {path}");
    }
}
