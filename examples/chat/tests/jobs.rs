//! Background jobs through `TestClient`: 202 with an id and a status URL,
//! `queued`/`running` while the model works, `done` with one summary per
//! document, `failed` with a safe reason, 404 for unknown ids and for other
//! keys' jobs, bounded concurrency, and a bounded store that forgets the
//! oldest finished job (and refuses new jobs when all are unfinished).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chat::config::{ApiKey, Config, JobsConfig};
use chat::jobs::SUMMARY_PROMPT;
use chat::model::echo::{count_words, EchoModel};
use chat::model::{ChatModel, CompletionStream, ModelError, ModelRequest, TimeoutPhase};
use chat::{build_app_with_model, Model};
use common::{echo_config, fast_echo, within, FailingModel};
use frontdesk::testing::TestClient;
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio::sync::Semaphore;

/// The echo model behind a gate: each call waits for a permit the test hands
/// out, and the model counts how many calls run at once.
struct GateModel {
    gate: Arc<Semaphore>,
    running: Arc<AtomicUsize>,
    most_at_once: Arc<AtomicUsize>,
    inner: Arc<EchoModel>,
}

impl GateModel {
    fn new() -> (Self, Arc<Semaphore>, Arc<AtomicUsize>) {
        let gate = Arc::new(Semaphore::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let model = GateModel {
            gate: gate.clone(),
            running: Arc::new(AtomicUsize::new(0)),
            most_at_once: most.clone(),
            inner: Arc::new(EchoModel::new(&fast_echo())),
        };
        (model, gate, most)
    }
}

impl ChatModel for GateModel {
    fn id(&self) -> &str {
        "test/gate"
    }

    fn stream(self: Arc<Self>, request: ModelRequest) -> CompletionStream {
        Box::pin(
            futures_util::stream::once(async move {
                let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
                self.most_at_once.fetch_max(now, Ordering::SeqCst);
                self.gate.acquire().await.expect("the gate stays open").forget();
                // Hold the slot a moment, so overlapping calls would be seen.
                tokio::time::sleep(Duration::from_millis(5)).await;
                self.running.fetch_sub(1, Ordering::SeqCst);
                self.inner.clone().stream(request)
            })
            .flatten(),
        )
    }
}

fn config(jobs: JobsConfig) -> Config {
    Config {
        jobs,
        ..echo_config()
    }
}

fn jobs_config(max_stored: usize, concurrency: usize) -> JobsConfig {
    JobsConfig {
        max_stored,
        concurrency,
        summary_max_tokens: 300,
    }
}

async fn submit(client: &TestClient, texts: &[&str]) -> (u16, Value) {
    let documents: Vec<Value> = texts.iter().map(|t| json!({"text": t})).collect();
    let response = client
        .post("/jobs")
        .json(&json!({"documents": documents}))
        .send()
        .await;
    (response.status().as_u16(), response.json().await)
}

async fn status(client: &TestClient, id: &str) -> Value {
    let response = client.get(&format!("/jobs/{id}")).send().await;
    assert_eq!(response.status(), 200, "{id}");
    response.json().await
}

async fn wait_finished(client: &TestClient, id: &str) -> Value {
    within(10, async {
        loop {
            let job = status(client, id).await;
            if job["status"] == "done" || job["status"] == "failed" {
                return job;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_goes_from_queued_to_done() {
    let (model, gate, _) = GateModel::new();
    let client = TestClient::new(build_app_with_model(
        config(jobs_config(10, 2)),
        Model::new(model),
    ));
    let (code, created) = submit(&client, &["The first document.", "The second one"]).await;
    assert_eq!(code, 202);
    let id = created["job_id"].as_str().unwrap().to_owned();
    assert_eq!(created["status_url"], format!("/jobs/{id}"));

    // Nothing can finish while the gate is shut.
    let job = status(&client, &id).await;
    assert!(job["status"] == "queued" || job["status"] == "running", "{job}");
    assert_eq!(job.get("result"), None);
    within(5, async {
        while status(&client, &id).await["status"] != "running" {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;

    gate.add_permits(2);
    let job = wait_finished(&client, &id).await;
    assert_eq!(
        job,
        json!({"job_id": id, "status": "done", "result": {
            "summaries": [
                {"index": 0, "summary": "echo: The first document.", "stop_reason": "end_turn"},
                {"index": 1, "summary": "echo: The second one", "stop_reason": "end_turn"}
            ],
            "usage": {"input_tokens": 2 * count_words(SUMMARY_PROMPT) + 3 + 3, "output_tokens": 4 + 4}
        }})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_calls_for_jobs_are_bounded() {
    let (model, gate, most_at_once) = GateModel::new();
    let client = TestClient::new(build_app_with_model(
        config(jobs_config(10, 3)),
        Model::new(model),
    ));
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (code, created) = submit(&client, &["a", "b", "c", "d"]).await;
        assert_eq!(code, 202);
        ids.push(created["job_id"].as_str().unwrap().to_owned());
    }
    // Let the calls pile up at the gate (a fourth would show up here), then
    // let them all through.
    within(5, async {
        while most_at_once.load(Ordering::SeqCst) < 3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    gate.add_permits(12);
    for id in &ids {
        assert_eq!(wait_finished(&client, id).await["status"], "done");
    }
    assert_eq!(
        most_at_once.load(Ordering::SeqCst),
        3,
        "JOBS_CONCURRENCY = 3 model calls at once"
    );
}

#[tokio::test]
async fn unknown_jobs_are_404() {
    let client = TestClient::new(build_app_with_model(
        echo_config(),
        Model::new(EchoModel::new(&fast_echo())),
    ));
    for id in ["job_does_not_exist", "x"] {
        let response = client.get(&format!("/jobs/{id}")).send().await;
        assert_eq!(response.status(), 404);
        assert_eq!(response.text().await, r#"{"detail":"Job not found"}"#);
    }
}

#[tokio::test]
async fn a_failing_model_fails_the_job_with_a_safe_reason() {
    let model = FailingModel(ModelError::Timeout(TimeoutPhase::FirstByte));
    let client = TestClient::new(build_app_with_model(echo_config(), Model::new(model)));
    let (code, created) = submit(&client, &["doc"]).await;
    assert_eq!(code, 202);
    let id = created["job_id"].as_str().unwrap();
    assert_eq!(
        wait_finished(&client, id).await,
        json!({"job_id": id, "status": "failed", "error": "document 0: Model provider timed out"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_forgets_the_oldest_finished_job_and_never_grows_past_its_bound() {
    let (model, gate, _) = GateModel::new();
    let client = TestClient::new(build_app_with_model(config(jobs_config(2, 4)), Model::new(model)));
    let (_, first) = submit(&client, &["one"]).await;
    let (_, second) = submit(&client, &["two"]).await;
    // Both unfinished: a third job has no room.
    let response = client
        .post("/jobs")
        .json(&json!({"documents": [{"text": "three"}]}))
        .send()
        .await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.header("retry-after"), "30");
    assert_eq!(
        response.text().await,
        r#"{"detail":"Too many jobs in progress; try again later"}"#
    );

    gate.add_permits(2);
    let first = first["job_id"].as_str().unwrap();
    let second = second["job_id"].as_str().unwrap();
    wait_finished(&client, first).await;
    wait_finished(&client, second).await;
    // Now the oldest finished job makes room.
    let (code, third) = submit(&client, &["three"]).await;
    assert_eq!(code, 202);
    assert_eq!(client.get(&format!("/jobs/{first}")).send().await.status(), 404);
    assert_eq!(status(&client, second).await["status"], "done");
    gate.add_permits(1);
    assert_eq!(
        wait_finished(&client, third["job_id"].as_str().unwrap()).await["status"],
        "done"
    );
}

#[tokio::test]
async fn a_job_is_visible_only_to_the_key_that_created_it() {
    let config = Config {
        api_keys: vec![ApiKey::new("alice", "key-alice"), ApiKey::new("bob", "key-bob")],
        ..echo_config()
    };
    let client = TestClient::new(build_app_with_model(
        config,
        Model::new(EchoModel::new(&fast_echo())),
    ));
    let response = client
        .post("/jobs")
        .header("authorization", "Bearer key-alice")
        .json(&json!({"documents": [{"text": "private"}]}))
        .send()
        .await;
    assert_eq!(response.status(), 202);
    let id = response.json::<Value>().await["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let get = |key: &'static str| {
        client
            .get(&format!("/jobs/{id}"))
            .header("authorization", key)
            .send()
    };
    assert_eq!(get("Bearer key-alice").await.status(), 200);
    let response = get("Bearer key-bob").await;
    assert_eq!(response.status(), 404);
    assert_eq!(response.text().await, r#"{"detail":"Job not found"}"#);
    assert_eq!(get("Bearer nope").await.status(), 401);
}
