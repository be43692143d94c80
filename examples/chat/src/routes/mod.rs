//! The HTTP routes: one handler function per route, each next to the
//! `*_route()` function that registers it with its documentation.
//!
//! When frontdesk's route macros land, each pair becomes one declaration: the
//! handler gains `#[post("/chat", tags = ["chat"], ...)]`, its doc comment
//! becomes the summary and description, the `*_route()` function goes away, and
//! [`build_app`](crate::build_app) registers the handler itself
//! (`.route(chat)`). The operation ids are already the handlers' names, so the
//! OpenAPI document does not change.

use frontdesk::http::StatusCode;
use frontdesk::Route;

pub mod account;
pub mod chat;
pub mod health;
pub mod jobs;
pub mod search;

/// Every route of the service, in the order the docs page lists them.
pub fn all() -> Vec<Route> {
    vec![
        chat::chat_route(),
        chat::chat_stream_route(),
        search::search_route(),
        jobs::create_job_route(),
        jobs::get_job_route(),
        account::me_route(),
        health::health_route(),
    ]
}

/// Documents the answers a route that calls the model may give when the
/// provider fails.
pub(crate) fn model_failures(route: Route) -> Route {
    route
        .response(
            StatusCode::BAD_GATEWAY,
            "The model provider failed or sent an invalid answer",
        )
        .response(
            StatusCode::SERVICE_UNAVAILABLE,
            "The model provider is overloaded or rate-limited; retry later",
        )
        .response(
            StatusCode::GATEWAY_TIMEOUT,
            "The model provider did not answer in time",
        )
}
