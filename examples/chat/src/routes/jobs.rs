//! `POST /jobs` and `GET /jobs/{job_id}`: summarise documents in the background.

use frontdesk::prelude::*;
use frontdesk::HttpError;

use crate::auth::Caller;
use crate::jobs::{JobView, Jobs};
use crate::model::Model;

/// The largest `POST /jobs` body: 100 documents of 100 000 characters, with
/// room for multi-byte characters and JSON escapes.
pub const JOBS_BODY_LIMIT: usize = 48 * 1024 * 1024;

/// One document to summarise.
#[derive(Debug, Clone, Deserialize, JsonSchema, Validate)]
pub struct Document {
    /// The document's text.
    #[validate(length(min = 1, max = 100000))]
    pub text: String,
}

/// Documents to summarise.
#[derive(Debug, Clone, Deserialize, JsonSchema, Validate)]
pub struct JobRequest {
    /// From 1 to 100 documents.
    #[validate(length(min = 1, max = 100), nested)]
    pub documents: Vec<Document>,
}

/// A job was accepted.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct JobCreated {
    /// The job's id.
    pub job_id: String,
    /// Where to follow the job: `GET` it until `status` is `done` or `failed`.
    pub status_url: String,
}

/// Summarise documents in the background.
///
/// Stores the job and answers 202 at once with its id and status URL; each
/// document is then summarised by the model, a few at a time across all jobs.
/// Poll `GET /jobs/{job_id}` until its status is `done` or `failed`. Jobs live
/// in memory: they are lost on restart, and the oldest finished ones are
/// forgotten when the store is full (503 when it is full of unfinished jobs).
#[post("/jobs", tags = ["jobs"], status = 202)]
pub async fn create_job(
    caller: Caller,
    State(model): State<Model>,
    State(jobs): State<Jobs>,
    Json(request): Json<JobRequest>,
) -> Result<Json<JobCreated>, HttpError> {
    caller.record_request();
    let documents = request.documents.into_iter().map(|d| d.text).collect();
    let job_id = jobs.submit(caller, model, documents).map_err(|_| {
        HttpError::with_detail(
            StatusCode::SERVICE_UNAVAILABLE,
            "Too many jobs in progress; try again later",
        )
        .with_header("retry-after", "30")
    })?;
    Ok(Json(JobCreated {
        status_url: format!("/jobs/{job_id}"),
        job_id,
    }))
}

/// A job's status and result.
///
/// `queued` or `running` while the model works; `done` with one summary per
/// document and the tokens used; or `failed` with the reason. A job is only
/// visible to the API key that created it; any other id is a 404.
#[get("/jobs/{job_id}", tags = ["jobs"], responses(404 = "Job not found"))]
pub async fn get_job(
    caller: Caller,
    State(jobs): State<Jobs>,
    Path(job_id): Path<String>,
) -> Result<Json<JobView>, HttpError> {
    jobs.get(&job_id, &caller)
        .map(Json)
        .ok_or_else(|| HttpError::not_found("Job not found"))
}
