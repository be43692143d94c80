//! Micro-benchmarks, in process (no socket):
//!
//! - `parse`: `frontdesk::parse_json::<ChatRequest>(bytes, Coercion::Lax)`
//!   (deserialization + derived validation) against plain
//!   `serde_json::from_slice::<ChatRequest>` on the same ~100-character-prompt
//!   body, and the peers' hand-written `parse_chat`.
//! - `request`: one whole request through each server's service, the body
//!   collected: frontdesk's `AppService` and axum's `Router` through
//!   `tower::ServiceExt::oneshot`, raw hyper's `handle`; plus frontdesk's
//!   `AppService::handle` and a variant without the default handler timeout, to
//!   show what each costs.
//! - `sse`: one whole `/chat/stream` body (21 events, no pacing) through each
//!   server's event code, collected; plus frontdesk without its keep-alive.
//!
//! Before criterion's report, the same cases are timed *interleaved* (the
//! variants alternate in short batches and each keeps its fastest batch), which
//! on a shared, noisy machine gives steadier ratios than criterion's
//! one-after-the-other runs. `cargo bench -p frontdesk-benches --bench extract`

use std::future::Future;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{black_box, criterion_main, Criterion, Throughput};
use frontdesk::validate::Coercion;
use frontdesk::AppService;
use frontdesk_benches::contract::{ChatRequest, Settings, TOKENS};
use frontdesk_benches::peer::parse_chat;
use frontdesk_benches::servers;
use http_body_util::{BodyExt, Full};
use tokio::runtime::Runtime;
use tower::ServiceExt;

/// The same body the load driver sends: a 100-character prompt.
fn chat_body() -> Vec<u8> {
    let prompt =
        "Summarize in one paragraph why validating requests before calling a model saves money and time.";
    serde_json::to_vec(&serde_json::json!({ "prompt": prompt, "max_tokens": 256 })).expect("a JSON body")
}

/// Everything the cases share, built once.
struct Fixture {
    runtime: Runtime,
    settings: Settings,
    frontdesk: AppService,
    frontdesk_no_timeout: AppService,
    axum: axum::Router,
    body: Bytes,
}

impl Fixture {
    fn new() -> Fixture {
        let settings = Settings::default();
        Fixture {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime"),
            settings,
            frontdesk: servers::frontdesk::app(settings).build().expect("the app builds"),
            frontdesk_no_timeout: servers::frontdesk::app(settings)
                .no_timeout()
                .build()
                .expect("the app builds"),
            axum: servers::axum::router(settings),
            body: Bytes::from(chat_body()),
        }
    }

    fn request(&self, chat: bool) -> http::Request<Full<Bytes>> {
        if chat {
            http::Request::post("/chat")
                .header(http::header::CONTENT_TYPE, "application/json")
                .header(http::header::CONTENT_LENGTH, self.body.len())
                .body(Full::new(self.body.clone()))
                .expect("a request")
        } else {
            http::Request::get("/hello")
                .body(Full::new(Bytes::new()))
                .expect("a request")
        }
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// One request through the named path; returns the collected body.
    fn call(&self, path: Path, chat: bool) -> Bytes {
        let request = self.request(chat);
        self.block_on(async {
            match path {
                Path::FrontdeskOneshot => {
                    let response = self.frontdesk.clone().oneshot(request).await.expect("infallible");
                    assert_eq!(response.status(), 200);
                    response.into_body().collect().await.expect("a body").to_bytes()
                }
                Path::AxumOneshot => {
                    let response = self.axum.clone().oneshot(request).await.expect("infallible");
                    assert_eq!(response.status(), 200);
                    response.into_body().collect().await.expect("a body").to_bytes()
                }
                Path::HyperHandle => {
                    let response = servers::hyper::handle(request, self.settings).await;
                    assert_eq!(response.status(), 200);
                    response.into_body().collect().await.expect("a body").to_bytes()
                }
                Path::FrontdeskHandle | Path::FrontdeskNoTimeout => {
                    let service = match path {
                        Path::FrontdeskHandle => &self.frontdesk,
                        _ => &self.frontdesk_no_timeout,
                    };
                    let response = service.handle(request.map(frontdesk::Body::new)).await;
                    assert_eq!(response.status(), 200);
                    response.into_body().collect().await.expect("a body").to_bytes()
                }
            }
        })
    }

    /// One whole SSE body from the named event code.
    fn sse(&self, kind: SseKind) -> Bytes {
        let indexes = futures_util::stream::iter(0..TOKENS);
        self.block_on(async {
            match kind {
                SseKind::Frontdesk => {
                    let response =
                        frontdesk::IntoResponse::into_response(servers::frontdesk::token_events(indexes));
                    response.into_body().collect().await.expect("a body").to_bytes()
                }
                SseKind::FrontdeskNoKeepAlive => {
                    let sse = servers::frontdesk::token_events(indexes).no_keep_alive();
                    let response = frontdesk::IntoResponse::into_response(sse);
                    response.into_body().collect().await.expect("a body").to_bytes()
                }
                SseKind::Axum => {
                    let response =
                        axum::response::IntoResponse::into_response(servers::axum::token_events(indexes));
                    response.into_body().collect().await.expect("a body").to_bytes()
                }
                SseKind::Hyper => {
                    let response = servers::hyper::token_events(indexes);
                    response.into_body().collect().await.expect("a body").to_bytes()
                }
            }
        })
    }
}

/// A whole-request path.
#[derive(Clone, Copy)]
enum Path {
    HyperHandle,
    FrontdeskOneshot,
    AxumOneshot,
    FrontdeskHandle,
    FrontdeskNoTimeout,
}

const PATHS: [(&str, Path); 5] = [
    ("hyper handle", Path::HyperHandle),
    ("frontdesk oneshot", Path::FrontdeskOneshot),
    ("axum oneshot", Path::AxumOneshot),
    ("frontdesk handle", Path::FrontdeskHandle),
    ("frontdesk handle, no_timeout", Path::FrontdeskNoTimeout),
];

/// An SSE event code.
#[derive(Clone, Copy)]
enum SseKind {
    Hyper,
    Frontdesk,
    FrontdeskNoKeepAlive,
    Axum,
}

const SSE_KINDS: [(&str, SseKind); 4] = [
    ("hyper by hand", SseKind::Hyper),
    ("frontdesk Sse", SseKind::Frontdesk),
    ("frontdesk Sse, no_keep_alive", SseKind::FrontdeskNoKeepAlive),
    ("axum Sse", SseKind::Axum),
];

fn parse(c: &mut Criterion, bytes: &[u8]) {
    assert!(frontdesk::parse_json::<ChatRequest>(bytes, Coercion::Lax).is_ok());
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("serde_json::from_slice", |b| {
        b.iter(|| serde_json::from_slice::<ChatRequest>(black_box(bytes)).ok())
    });
    group.bench_function("frontdesk::parse_json Lax", |b| {
        b.iter(|| frontdesk::parse_json::<ChatRequest>(black_box(bytes), Coercion::Lax).ok())
    });
    group.bench_function("peer::parse_chat (hand-written)", |b| {
        b.iter(|| parse_chat(Some(b"application/json"), black_box(bytes)).ok())
    });
    group.finish();
}

fn request(c: &mut Criterion, fixture: &Fixture) {
    for (name, chat) in [("GET /hello", false), ("POST /chat", true)] {
        let mut group = c.benchmark_group(format!("request {name}"));
        for (label, path) in PATHS {
            group.bench_function(label, |b| b.iter(|| fixture.call(path, chat)));
        }
        group.finish();
    }
}

fn sse(c: &mut Criterion, fixture: &Fixture) {
    let mut group = c.benchmark_group("sse body, 21 events");
    for (label, kind) in SSE_KINDS {
        group.bench_function(label, |b| b.iter(|| fixture.sse(kind)));
    }
    group.finish();
}

/// A named case for [`interleaved`].
type Variant<'a> = (&'static str, Box<dyn FnMut() + 'a>);

/// Times the variants in turns — `batches` batches of `iters` calls each, the
/// variants alternating — and prints each one's fastest batch per call, with
/// its ratio to the first variant.
fn interleaved(title: &str, variants: &mut [Variant<'_>], batches: usize, iters: usize) {
    let mut best = vec![f64::MAX; variants.len()];
    for _ in 0..batches {
        for (i, (_, run)) in variants.iter_mut().enumerate() {
            let start = Instant::now();
            for _ in 0..iters {
                run();
            }
            best[i] = best[i].min(start.elapsed().as_nanos() as f64 / iters as f64);
        }
    }
    println!("\n{title} (interleaved: fastest of {batches} batches of {iters})");
    for (i, (name, _)) in variants.iter().enumerate() {
        println!("  {name:<34} {:>10.1} ns/op   x{:.2}", best[i], best[i] / best[0]);
    }
}

fn interleaved_all(bytes: &[u8], fixture: &Fixture) {
    interleaved(
        "parse ChatRequest",
        &mut [
            (
                "serde_json::from_slice",
                Box::new(|| {
                    black_box(serde_json::from_slice::<ChatRequest>(black_box(bytes)).ok());
                }),
            ),
            (
                "frontdesk::parse_json Lax",
                Box::new(|| {
                    black_box(frontdesk::parse_json::<ChatRequest>(black_box(bytes), Coercion::Lax).ok());
                }),
            ),
            (
                "peer::parse_chat (hand-written)",
                Box::new(|| {
                    black_box(parse_chat(Some(b"application/json"), black_box(bytes)).ok());
                }),
            ),
        ],
        60,
        100_000,
    );
    for (name, chat, iters) in [
        ("request GET /hello", false, 20_000),
        ("request POST /chat", true, 10_000),
    ] {
        let mut variants: Vec<Variant<'_>> = PATHS
            .iter()
            .map(|(label, path)| {
                let path = *path;
                let run: Box<dyn FnMut() + '_> = Box::new(move || {
                    black_box(fixture.call(path, chat));
                });
                (*label, run)
            })
            .collect();
        interleaved(name, &mut variants, 30, iters);
    }
    let mut variants: Vec<Variant<'_>> = SSE_KINDS
        .iter()
        .map(|(label, kind)| {
            let kind = *kind;
            let run: Box<dyn FnMut() + '_> = Box::new(move || {
                black_box(fixture.sse(kind));
            });
            (*label, run)
        })
        .collect();
    interleaved("sse body, 21 events", &mut variants, 30, 2_000);
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(60)
}

/// The interleaved timings (only under `cargo bench`; `NO_INTERLEAVED=1`
/// skips them), then criterion's groups with the shorter default times above
/// (command-line flags win).
fn benches() {
    let bytes = chat_body();
    let fixture = Fixture::new();
    // First, in a fresh process: criterion's own bookkeeping disturbs the
    // allocator enough to shift sub-microsecond timings that follow it.
    if std::env::args().any(|a| a == "--bench") && std::env::var_os("NO_INTERLEAVED").is_none() {
        interleaved_all(&bytes, &fixture);
    }
    let mut criterion = config().configure_from_args();
    parse(&mut criterion, &bytes);
    request(&mut criterion, &fixture);
    sse(&mut criterion, &fixture);
}

criterion_main!(benches);
