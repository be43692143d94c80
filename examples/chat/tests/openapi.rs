//! The OpenAPI documents: the committed `openapi.json` (3.1) and
//! `openapi-3.2.json` are exactly what the app serves (CI runs two validators
//! on them), and every operation is documented: summary, description, tag,
//! the handler's name as operation id, and the answers it can give.
//!
//! After changing the API, refresh the files with
//! `UPDATE_OPENAPI=1 cargo test -p chat --test openapi`.

use std::path::PathBuf;

use chat::{build_app, Config};
use frontdesk::openapi::OpenApiVersion;
use frontdesk::testing::TestClient;
use serde_json::{json, Value};

fn committed(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(name)
}

/// Compares `document` with the committed file, or rewrites the file when
/// `UPDATE_OPENAPI` is set.
fn check(name: &str, document: &Value) {
    let path = committed(name);
    let text = serde_json::to_string_pretty(document).unwrap() + "\n";
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == text,
        "{} is out of date: run `UPDATE_OPENAPI=1 cargo test -p chat --test openapi` and commit it",
        path.display()
    );
}

#[test]
fn the_committed_documents_are_current() {
    check("openapi.json", &build_app(Config::default()).openapi().unwrap());
    let v32 = build_app(Config::default())
        .openapi_version(OpenApiVersion::V3_2)
        .openapi()
        .unwrap();
    assert_eq!(v32["openapi"], "3.2.0");
    check("openapi-3.2.json", &v32);
}

#[tokio::test]
async fn the_served_document_is_the_committed_one() {
    let client = TestClient::new(build_app(Config::default()));
    let served: Value = client.get("/openapi.json").send().await.json().await;
    assert_eq!(served, build_app(Config::default()).openapi().unwrap());
    let page = client.get("/docs").send().await;
    assert_eq!(page.status(), 200);
    assert!(page.header("content-type").starts_with("text/html"));
}

#[test]
fn every_operation_is_documented() {
    let doc = build_app(Config::default()).openapi().unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let expected = [
        ("/chat", "post", "chat", "200"),
        ("/chat/stream", "post", "chat_stream", "200"),
        ("/search", "get", "search", "200"),
        ("/jobs", "post", "create_job", "202"),
        ("/jobs/{job_id}", "get", "get_job", "200"),
        ("/me", "get", "me", "200"),
        ("/health", "get", "health", "200"),
    ];
    let count: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_object().unwrap().len())
        .sum();
    assert_eq!(count, expected.len(), "no undocumented or hidden extras");
    for (path, method, id, success) in expected {
        let op = &doc["paths"][path][method];
        assert_eq!(op["operationId"], id, "{method} {path}");
        for key in ["summary", "description"] {
            assert!(
                op[key].as_str().is_some_and(|s| s.len() > 10),
                "{method} {path} has a {key}"
            );
        }
        assert_eq!(op["tags"].as_array().map(Vec::len), Some(1), "{method} {path}");
        assert!(
            op["responses"].get(success).is_some(),
            "{method} {path} answers {success}"
        );
    }
    let top_tags: Vec<&str> = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(top_tags, ["chat", "search", "jobs", "account", "ops"]);
    for (path, method) in [("/chat", "post"), ("/chat/stream", "post"), ("/jobs", "post")] {
        let responses = &doc["paths"][path][method]["responses"];
        for status in ["422", "502", "503", "504"] {
            assert!(
                responses.get(status).is_some(),
                "{method} {path} documents {status}"
            );
        }
    }
    assert_eq!(
        doc["paths"]["/jobs/{job_id}"]["get"]["responses"]["404"]["description"],
        "Job not found"
    );
    assert_eq!(
        doc["paths"]["/jobs/{job_id}"]["get"]["parameters"],
        json!([{"name": "job_id", "in": "path", "required": true, "schema": {"type": "string"}}])
    );
}

#[test]
fn schemas_carry_the_constraints_and_the_stream_its_events() {
    let doc = build_app(Config::default()).openapi().unwrap();
    let request = &doc["components"]["schemas"]["ChatRequest"];
    assert_eq!(request["required"], json!(["prompt"]));
    let props = &request["properties"];
    assert_eq!(
        (
            props["prompt"]["minLength"].clone(),
            props["prompt"]["maxLength"].clone()
        ),
        (json!(1), json!(32000))
    );
    assert_eq!(props["max_tokens"]["default"], 500);
    assert_eq!(
        (
            props["max_tokens"]["minimum"].clone(),
            props["max_tokens"]["maximum"].clone()
        ),
        (json!(1), json!(4096))
    );
    let stream = &doc["paths"]["/chat/stream"]["post"]["responses"]["200"]["content"]["text/event-stream"];
    assert_eq!(
        stream["x-itemSchema"]["properties"]["data"]["contentSchema"],
        json!({"$ref": "#/components/schemas/StreamEvent"})
    );
    let query: Vec<&str> = doc["paths"]["/search"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(query, ["q", "limit"]);
}
