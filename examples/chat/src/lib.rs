//! A production-shaped AI chat service built on frontdesk.
//!
//! What a user runs first and copies from: typed, validated routes in front of
//! a model provider, with streaming, search, background jobs and API keys.
//!
//! | route | what it does |
//! |---|---|
//! | `POST /chat` | the whole reply |
//! | `POST /chat/stream` | the reply as Server-Sent Events |
//! | `GET /search` | BM25 keyword search over the bundled frontdesk guide |
//! | `POST /jobs`, `GET /jobs/{job_id}` | summarise documents in the background |
//! | `GET /me` | the calling API key and its usage |
//! | `GET /health` | liveness probe |
//! | `GET /docs`, `GET /openapi.json` | the interactive docs and the OpenAPI 3.1 document |
//!
//! The crate is a library with a thin binary (`src/main.rs`), so tests build
//! the very same app with an injected [`Config`] (and, if they like, their own
//! [`Model`]) and drive it through `frontdesk::testing::TestClient` or a real
//! socket:
//!
//! ```
//! use chat::{build_app, Config};
//! use frontdesk::testing::TestClient;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let client = TestClient::new(build_app(Config::default()));
//! let reply = client.post("/chat").json(&serde_json::json!({"prompt": "hi"})).send().await;
//! assert_eq!(reply.status(), 200);
//! # });
//! ```
//!
//! | module | holds |
//! |---|---|
//! | [`config`] | every setting, read once from the environment and the command line |
//! | [`routes`] | one handler per route, with its request and response types |
//! | [`model`] | the [`ChatModel`](model::ChatModel) trait and the echo, Anthropic and OpenAI clients |
//! | [`auth`] | the [`Caller`](auth::Caller) extractor: bearer API keys and usage |
//! | [`search`] | the BM25 index over `corpus/` |
//! | [`jobs`] | the bounded in-memory job store and runner |

pub mod auth;
pub mod config;
pub mod jobs;
pub mod model;
pub mod routes;
pub mod search;

pub use config::Config;
pub use model::Model;

use frontdesk::App;

/// The API's description on the docs page.
const DESCRIPTION: &str = "\
An AI chat service built on frontdesk: typed, validated routes in front of a \
model provider (`echo`, Anthropic or any OpenAI-compatible server).

Every request is checked before the model is called: invalid input gets a 422 naming each bad field, in FastAPI's \
format. When the service runs with API keys (`CHAT_API_KEYS`), send `Authorization: Bearer <key>` to the chat and \
job routes.";

/// The app for `config`, with the model provider it names (created once, here).
pub fn build_app(config: Config) -> App {
    let model = Model::from_config(&config);
    build_app_with_model(config, model)
}

/// The app for `config`, answering with `model` (tests pass a counting or
/// failing model here).
pub fn build_app_with_model(config: Config, model: Model) -> App {
    let mut app = App::new()
        .title("frontdesk chat")
        .version(env!("CARGO_PKG_VERSION"))
        .description(DESCRIPTION)
        .license("MIT OR Apache-2.0", "MIT OR Apache-2.0")
        .tag("chat", "Talk to the model, whole or streamed")
        .tag("search", "Find passages in the bundled frontdesk guide")
        .tag("jobs", "Summarise documents in the background")
        .tag("account", "The calling API key")
        .tag("ops", "Probes for load balancers and orchestrators")
        .state(model)
        .state(auth::Auth::new(&config.api_keys))
        .state(jobs::Jobs::new(&config.jobs))
        .state(search::SearchIndex::bundled());
    for route in routes::all() {
        app = app.route(route);
    }
    app
}
