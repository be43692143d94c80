//! `GET /me`: who the API key belongs to, and what it used.

use frontdesk::prelude::*;
use frontdesk::HttpError;

use crate::auth::{not_authenticated, Caller, KeyUsage};

/// The calling key's owner and usage.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Me {
    /// The key's name, from `CHAT_API_KEYS`.
    pub name: String,
    /// Usage since the service started.
    pub usage: KeyUsage,
}

/// The calling API key.
///
/// The name the key was given in `CHAT_API_KEYS` and its usage since the
/// service started: model requests (`/chat`, `/chat/stream`, `POST /jobs`) and
/// the input and output tokens they used. Always 401 when the service runs
/// without API keys.
#[get("/me", tags = ["account"])]
pub async fn me(caller: Caller) -> Result<Json<Me>, HttpError> {
    match (caller.name(), caller.usage()) {
        (Some(name), Some(usage)) => Ok(Json(Me {
            name: name.to_owned(),
            usage,
        })),
        _ => Err(not_authenticated()),
    }
}
