//! Background jobs: summarise many documents without holding a request open.
//!
//! `POST /jobs` stores a job and answers `202` at once; a tokio task then
//! summarises each document with the model. Every job shares one semaphore, so
//! at most `JOBS_CONCURRENCY` model calls run for jobs at any time, however
//! many jobs are queued. The store is in memory and bounded: when it holds
//! `JOBS_MAX_STORED` jobs, the oldest finished one is forgotten to make room,
//! and with none finished a new job is refused (503) rather than growing
//! without limit.
//!
//! This is the single-instance design. Jobs do not survive a restart, and
//! several instances behind a load balancer do not share them: for that, keep
//! the same handlers and move the store and the queue to Redis (or any shared
//! engine), as frontdesk's design notes recommend.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use futures_util::{StreamExt, TryStreamExt};
use schemars::JsonSchema;
use serde::Serialize;
use tokio::sync::Semaphore;

use crate::auth::Caller;
use crate::config::JobsConfig;
use crate::model::{Model, ModelRequest, Usage};

/// The system prompt of every summary.
pub const SUMMARY_PROMPT: &str =
    "Summarise the user's document in a few sentences. Keep names, numbers and conclusions; drop everything else.";

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    /// Stored, waiting for a model slot.
    Queued,
    /// At least one document is being summarised.
    Running,
    /// Every document was summarised: see `result`.
    Done,
    /// A summary failed: see `error`.
    Failed,
}

impl JobStatus {
    fn is_finished(self) -> bool {
        matches!(self, JobStatus::Done | JobStatus::Failed)
    }
}

/// One document's summary.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct DocumentSummary {
    /// The document's position in the request, from 0.
    pub index: usize,
    /// The model's summary.
    pub summary: String,
    /// Why the model stopped (`max_tokens` means the summary was cut).
    pub stop_reason: String,
}

/// What a finished job produced.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct JobResult {
    /// One summary per document, in request order.
    pub summaries: Vec<DocumentSummary>,
    /// Tokens used by all the summaries.
    pub usage: Usage,
}

/// A job as `GET /jobs/{job_id}` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct JobView {
    /// The job's id.
    pub job_id: String,
    /// Where the job is.
    pub status: JobStatus,
    /// The summaries, once `done`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<JobResult>,
    /// Why the job failed, once `failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Why a job could not be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreFull;

struct Record {
    owner: Option<String>,
    status: JobStatus,
    result: Option<JobResult>,
    error: Option<String>,
}

#[derive(Default)]
struct Store {
    jobs: HashMap<String, Record>,
    /// Job ids, oldest first.
    order: VecDeque<String>,
}

/// The job store and runner; given to the app as state.
#[derive(Clone)]
pub struct Jobs {
    inner: Arc<Inner>,
}

struct Inner {
    store: Mutex<Store>,
    permits: Arc<Semaphore>,
    concurrency: usize,
    max_stored: usize,
    summary_max_tokens: u32,
}

impl std::fmt::Debug for Jobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jobs")
            .field("stored", &self.lock().jobs.len())
            .finish()
    }
}

impl Jobs {
    /// An empty store with the configured limits.
    pub fn new(config: &JobsConfig) -> Self {
        let concurrency = config.concurrency.max(1);
        Jobs {
            inner: Arc::new(Inner {
                store: Mutex::new(Store::default()),
                permits: Arc::new(Semaphore::new(concurrency)),
                concurrency,
                max_stored: config.max_stored.max(1),
                summary_max_tokens: config.summary_max_tokens,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Store> {
        // A panic elsewhere cannot leave a record half-written: every update is
        // one assignment. Keep serving.
        self.inner
            .store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Stores a job for `caller` and starts it on a tokio task.
    ///
    /// # Errors
    /// [`StoreFull`] when the store is full of unfinished jobs.
    pub fn submit(&self, caller: Caller, model: Model, documents: Vec<String>) -> Result<String, StoreFull> {
        let id = new_job_id();
        {
            let mut store = self.lock();
            if store.jobs.len() >= self.inner.max_stored {
                let oldest_finished = store
                    .order
                    .iter()
                    .position(|id| store.jobs.get(id).is_some_and(|r| r.status.is_finished()))
                    .ok_or(StoreFull)?;
                if let Some(evicted) = store.order.remove(oldest_finished) {
                    store.jobs.remove(&evicted);
                }
            }
            store.jobs.insert(
                id.clone(),
                Record {
                    owner: caller.name().map(str::to_owned),
                    status: JobStatus::Queued,
                    result: None,
                    error: None,
                },
            );
            store.order.push_back(id.clone());
        }
        tokio::spawn(self.clone().run(id.clone(), caller, model, documents));
        Ok(id)
    }

    /// The job `id` as `caller` may see it: a job is visible to the key that
    /// created it (to everyone when auth is off).
    pub fn get(&self, id: &str, caller: &Caller) -> Option<JobView> {
        let store = self.lock();
        let record = store.jobs.get(id)?;
        if record.owner.as_deref() != caller.name() {
            return None;
        }
        Some(JobView {
            job_id: id.to_owned(),
            status: record.status,
            result: record.result.clone(),
            error: record.error.clone(),
        })
    }

    /// How many jobs are stored.
    pub fn stored(&self) -> usize {
        self.lock().jobs.len()
    }

    fn update(&self, id: &str, change: impl FnOnce(&mut Record)) {
        if let Some(record) = self.lock().jobs.get_mut(id) {
            change(record);
        }
    }

    async fn run(self, id: String, caller: Caller, model: Model, documents: Vec<String>) {
        // Marks the job failed if this task ends early (a panic in the model).
        let mut guard = Unfinished { jobs: &self, id: &id };
        let summaries = futures_util::stream::iter(documents.into_iter().enumerate())
            .map(|(index, text)| {
                let (jobs, id, caller, model) = (&self, &id, &caller, &model);
                async move {
                    let _permit = jobs.inner.permits.acquire().await.map_err(|_| "the job runner stopped".to_owned())?;
                    jobs.update(id, |r| {
                        if r.status == JobStatus::Queued {
                            r.status = JobStatus::Running;
                        }
                    });
                    let request = ModelRequest {
                        prompt: text,
                        system: Some(SUMMARY_PROMPT.to_owned()),
                        max_tokens: jobs.inner.summary_max_tokens,
                        temperature: None,
                    };
                    match model.complete(request).await {
                        Ok(completion) => {
                            caller.record_usage(completion.usage);
                            Ok((
                                DocumentSummary {
                                    index,
                                    summary: completion.text,
                                    stop_reason: completion.stop_reason,
                                },
                                completion.usage,
                            ))
                        }
                        Err(error) => {
                            let detail = format!("document {index}: {}", error.client_detail());
                            tracing::warn!(job_id = %id, model = model.id(), error = %error, "job document failed");
                            Err(detail)
                        }
                    }
                }
            })
            .buffered(self.inner.concurrency)
            .try_collect::<Vec<_>>()
            .await;
        match summaries {
            Ok(parts) => {
                let mut usage = Usage::default();
                let summaries = parts
                    .into_iter()
                    .map(|(summary, u)| {
                        usage += u;
                        summary
                    })
                    .collect();
                tracing::info!(
                    job_id = %id,
                    input_tokens = usage.input_tokens,
                    output_tokens = usage.output_tokens,
                    "job done"
                );
                self.update(&id, |r| {
                    r.status = JobStatus::Done;
                    r.result = Some(JobResult { summaries, usage });
                });
            }
            Err(detail) => self.update(&id, |r| {
                r.status = JobStatus::Failed;
                r.error = Some(detail);
            }),
        }
        guard.finished();
    }
}

/// Fails its job when dropped before [`Unfinished::finished`].
struct Unfinished<'a> {
    jobs: &'a Jobs,
    id: &'a str,
}

impl Unfinished<'_> {
    fn finished(&mut self) {
        self.id = "";
    }
}

impl Drop for Unfinished<'_> {
    fn drop(&mut self) {
        if !self.id.is_empty() {
            self.jobs.update(self.id, |r| {
                if !r.status.is_finished() {
                    r.status = JobStatus::Failed;
                    r.error = Some("The job was interrupted".to_owned());
                }
            });
        }
    }
}

/// 128 bits from std's randomly keyed hasher: unguessable enough that one
/// caller cannot find another's job by counting, without a `rand` dependency.
fn new_job_id() -> String {
    use std::hash::BuildHasher;
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let now = std::time::SystemTime::now();
    let a = std::collections::hash_map::RandomState::new().hash_one((n, now));
    let b = std::collections::hash_map::RandomState::new().hash_one((now, n, a));
    format!("job_{a:016x}{b:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_are_distinct_and_opaque() {
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| new_job_id()).collect();
        assert_eq!(ids.len(), 1000);
        assert!(ids.iter().all(|id| id.len() == 36 && id.starts_with("job_")));
    }
}
