//! `GET /search`: keyword search over the bundled documentation.

use frontdesk::prelude::*;

use crate::search::{SearchHit, SearchIndex};

fn default_limit() -> u32 {
    10
}

/// Search parameters.
#[derive(Debug, Clone, Deserialize, JsonSchema, Validate)]
pub struct SearchParams {
    /// Words to look for, e.g. `stream keep-alive`.
    #[validate(length(min = 1, max = 200))]
    pub q: String,
    /// The most results to return.
    #[serde(default = "default_limit")]
    #[validate(range(min = 1, max = 50))]
    pub limit: u32,
}

/// Search results, best first.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SearchResults {
    /// The matching sections, best first (empty when nothing matches).
    pub results: Vec<SearchHit>,
}

/// Search the documentation.
///
/// Keyword search (BM25) over the sections of the frontdesk guide bundled with
/// the service. Each result names its section (`id`, `title`), shows a snippet
/// around the first matching word and its score. A retrieval step for
/// grounding a chat prompt, or a plain search box.
#[get("/search", tags = ["search"])]
pub async fn search(
    State(index): State<SearchIndex>,
    Query(params): Query<SearchParams>,
) -> Json<SearchResults> {
    Json(SearchResults {
        results: index.search(&params.q, params.limit as usize),
    })
}
