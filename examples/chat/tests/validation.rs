//! Validation at the desk: every route's bad input gets FastAPI's exact 422
//! body (compared byte for byte), all errors at once, and the model is never
//! called for an invalid request (a counting model proves it).

mod common;

use std::sync::atomic::Ordering;

use chat::{build_app_with_model, Model};
use common::{echo_config, CountingModel};
use frontdesk::testing::TestClient;
use frontdesk::validate::MAX_ECHOED_INPUT;
use serde_json::json;

fn client() -> (TestClient, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let (model, calls) = CountingModel::new();
    (
        TestClient::new(build_app_with_model(echo_config(), Model::new(model))),
        calls,
    )
}

/// Posts `body` to `path` and checks the exact 422 body.
async fn rejects(client: &TestClient, path: &str, body: serde_json::Value, expected: &str) {
    let response = client.post(path).json(&body).send().await;
    assert_eq!(response.status(), 422, "{path} {body}");
    assert_eq!(response.header("content-type"), "application/json");
    assert_eq!(response.text().await, expected, "{path} {body}");
}

#[tokio::test]
async fn a_prompt_that_is_not_a_string_never_reaches_the_model() {
    let (client, calls) = client();
    for path in ["/chat", "/chat/stream"] {
        rejects(
            &client,
            path,
            json!({"prompt": 42}),
            r#"{"detail":[{"type":"string_type","loc":["body","prompt"],"msg":"Input should be a valid string","input":42}]}"#,
        )
        .await;
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    // The same request with a string goes through: the counter works.
    let response = client.post("/chat").json(&json!({"prompt": "42"})).send().await;
    assert_eq!(response.status(), 200);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn chat_request_rules() {
    let (client, calls) = client();
    let cases = [
        (
            json!({}),
            r#"{"detail":[{"type":"missing","loc":["body","prompt"],"msg":"Field required","input":{}}]}"#,
        ),
        (
            json!({"prompt": ""}),
            r#"{"detail":[{"type":"string_too_short","loc":["body","prompt"],"msg":"String should have at least 1 character","input":"","ctx":{"min_length":1}}]}"#,
        ),
        (
            json!({"prompt": "hi", "max_tokens": 0}),
            r#"{"detail":[{"type":"greater_than_equal","loc":["body","max_tokens"],"msg":"Input should be greater than or equal to 1","input":0,"ctx":{"ge":1}}]}"#,
        ),
        (
            json!({"prompt": "hi", "max_tokens": 4097}),
            r#"{"detail":[{"type":"less_than_equal","loc":["body","max_tokens"],"msg":"Input should be less than or equal to 4096","input":4097,"ctx":{"le":4096}}]}"#,
        ),
        (
            json!({"prompt": "hi", "max_tokens": "many"}),
            r#"{"detail":[{"type":"int_parsing","loc":["body","max_tokens"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"many"}]}"#,
        ),
        (
            json!({"prompt": "hi", "temperature": 1.5}),
            r#"{"detail":[{"type":"less_than_equal","loc":["body","temperature"],"msg":"Input should be less than or equal to 1","input":1.5,"ctx":{"le":1.0}}]}"#,
        ),
        (
            json!({"prompt": "hi", "temperature": -0.1}),
            r#"{"detail":[{"type":"greater_than_equal","loc":["body","temperature"],"msg":"Input should be greater than or equal to 0","input":-0.1,"ctx":{"ge":0.0}}]}"#,
        ),
        // Long inputs are echoed cut at frontdesk's MAX_ECHOED_INPUT bytes (FastAPI echoes them whole).
        (
            json!({"prompt": "hi", "system": "x".repeat(8001)}),
            &format!(
                r#"{{"detail":[{{"type":"string_too_long","loc":["body","system"],"msg":"String should have at most 8000 characters","input":"{}...","ctx":{{"max_length":8000}}}}]}}"#,
                "x".repeat(MAX_ECHOED_INPUT)
            ),
        ),
        (
            json!({"prompt": "x".repeat(32001)}),
            &format!(
                r#"{{"detail":[{{"type":"string_too_long","loc":["body","prompt"],"msg":"String should have at most 32000 characters","input":"{}...","ctx":{{"max_length":32000}}}}]}}"#,
                "x".repeat(MAX_ECHOED_INPUT)
            ),
        ),
        // Every error at once, in field order.
        (
            json!({"prompt": "", "max_tokens": 0, "temperature": 2}),
            r#"{"detail":[{"type":"string_too_short","loc":["body","prompt"],"msg":"String should have at least 1 character","input":"","ctx":{"min_length":1}},{"type":"greater_than_equal","loc":["body","max_tokens"],"msg":"Input should be greater than or equal to 1","input":0,"ctx":{"ge":1}},{"type":"less_than_equal","loc":["body","temperature"],"msg":"Input should be less than or equal to 1","input":2,"ctx":{"le":1.0}}]}"#,
        ),
    ];
    for (body, expected) in cases {
        rejects(&client, "/chat", body, expected).await;
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn limits_are_inclusive() {
    let (client, calls) = client();
    let body = json!({"prompt": "x".repeat(32000), "max_tokens": 4096, "system": "y".repeat(8000), "temperature": 1.0});
    assert_eq!(client.post("/chat").json(&body).send().await.status(), 200);
    let body = json!({"prompt": "x", "max_tokens": 1, "temperature": 0});
    assert_eq!(client.post("/chat").json(&body).send().await.status(), 200);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn bodies_that_are_not_json_objects() {
    let (client, calls) = client();
    let response = client.post("/chat").send().await;
    assert_eq!(response.status(), 422);
    assert_eq!(
        response.text().await,
        r#"{"detail":[{"type":"missing","loc":["body"],"msg":"Field required","input":null}]}"#
    );
    let response = client
        .post("/chat")
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await;
    assert_eq!(
        response.text().await,
        r#"{"detail":[{"type":"model_attributes_type","loc":["body"],"msg":"Input should be a valid dictionary or object to extract fields from","input":"hello"}]}"#
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn search_parameters() {
    let (client, _) = client();
    let cases = [
        (
            "/search",
            r#"{"detail":[{"type":"missing","loc":["query","q"],"msg":"Field required","input":null}]}"#,
        ),
        (
            "/search?q=",
            r#"{"detail":[{"type":"string_too_short","loc":["query","q"],"msg":"String should have at least 1 character","input":"","ctx":{"min_length":1}}]}"#,
        ),
        (
            "/search?q=sse&limit=0",
            r#"{"detail":[{"type":"greater_than_equal","loc":["query","limit"],"msg":"Input should be greater than or equal to 1","input":"0","ctx":{"ge":1}}]}"#,
        ),
        (
            "/search?q=sse&limit=51",
            r#"{"detail":[{"type":"less_than_equal","loc":["query","limit"],"msg":"Input should be less than or equal to 50","input":"51","ctx":{"le":50}}]}"#,
        ),
        (
            "/search?q=sse&limit=ten",
            r#"{"detail":[{"type":"int_parsing","loc":["query","limit"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"ten"}]}"#,
        ),
    ];
    for (uri, expected) in cases {
        let response = client.get(uri).send().await;
        assert_eq!(response.status(), 422, "{uri}");
        assert_eq!(response.text().await, expected, "{uri}");
    }
    let long = format!("/search?q={}", "a".repeat(201));
    let response = client.get(&long).send().await;
    assert_eq!(response.status(), 422);
    assert!(response
        .text()
        .await
        .contains(r#""type":"string_too_long","loc":["query","q"]"#));
}

#[tokio::test]
async fn job_documents() {
    let (client, calls) = client();
    let cases = [
        (
            json!({"documents": []}),
            r#"{"detail":[{"type":"too_short","loc":["body","documents"],"msg":"List should have at least 1 item after validation, not 0","input":[],"ctx":{"field_type":"List","min_length":1,"actual_length":0}}]}"#.to_owned(),
        ),
        (
            json!({"documents": [{"text": "fine"}, {"text": ""}]}),
            r#"{"detail":[{"type":"string_too_short","loc":["body","documents",1,"text"],"msg":"String should have at least 1 character","input":"","ctx":{"min_length":1}}]}"#.to_owned(),
        ),
        (
            json!({"documents": [{"body": "x"}]}),
            r#"{"detail":[{"type":"missing","loc":["body","documents",0,"text"],"msg":"Field required","input":{"body":"x"}}]}"#.to_owned(),
        ),
        (
            json!({"documents": "not a list"}),
            r#"{"detail":[{"type":"list_type","loc":["body","documents"],"msg":"Input should be a valid list","input":"not a list"}]}"#.to_owned(),
        ),
    ];
    for (body, expected) in cases {
        rejects(&client, "/jobs", body, &expected).await;
    }
    let too_many: Vec<_> = (0..101).map(|_| json!({"text": "x"})).collect();
    let response = client
        .post("/jobs")
        .json(&json!({"documents": too_many}))
        .send()
        .await;
    assert_eq!(response.status(), 422);
    let body: serde_json::Value = response.json().await;
    assert_eq!(body["detail"][0]["type"], "too_long");
    assert_eq!(
        body["detail"][0]["ctx"],
        json!({"field_type": "List", "max_length": 100, "actual_length": 101})
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}
