//! The HTTP routes: one handler per route, each declared once with its
//! method, path and docs by frontdesk's route macros.

use frontdesk::http::StatusCode;
use frontdesk::Route;

use crate::auth::ErrorDetail;

pub mod account;
pub mod chat;
pub mod health;
pub mod jobs;
pub mod search;

/// Every route of the service, in the order the docs page lists them. The
/// method, path, tags and docs of each live on its handler; routes that call
/// the model also document how a provider failure is answered.
pub fn all() -> Vec<Route> {
    vec![
        model_failures(Route::from(chat::chat)),
        model_failures(Route::from(chat::chat_stream)),
        Route::from(search::search),
        model_failures(Route::from(jobs::create_job).body_limit(jobs::JOBS_BODY_LIMIT)),
        Route::from(jobs::get_job),
        Route::from(account::me),
        Route::from(health::health),
    ]
}

/// Documents the answers a route that calls the model may give when the
/// provider fails, each with its `{"detail": ...}` body.
pub(crate) fn model_failures(route: Route) -> Route {
    route
        .response_json::<ErrorDetail>(
            StatusCode::BAD_GATEWAY,
            "The model provider failed or sent an invalid answer",
        )
        .response_json::<ErrorDetail>(
            StatusCode::SERVICE_UNAVAILABLE,
            "The model provider is overloaded or rate-limited; retry later",
        )
        .response_json::<ErrorDetail>(
            StatusCode::GATEWAY_TIMEOUT,
            "The model provider did not answer in time",
        )
}
