//! `GET /health`: the liveness probe.

use frontdesk::prelude::*;

use crate::model::Model;

/// The service is up.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: &'static str,
    /// The model in use, as `provider/model`.
    pub model: String,
}

/// Liveness probe.
///
/// Answers `{"status": "ok"}` with the active model as long as the process
/// serves requests. It does not call the model provider, so a provider outage
/// does not make a load balancer take every instance out.
#[get("/health", tags = ["ops"])]
pub async fn health(State(model): State<Model>) -> Json<Health> {
    Json(Health {
        status: "ok",
        model: model.id().to_owned(),
    })
}
