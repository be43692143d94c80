//! `Query<T>`: the query string, typed.

use std::borrow::Cow;

use crate::error::Rejection;
use crate::extract::params::{extract_params, group};
use crate::extract::{FromRequestParts, RequestContext};
use crate::openapi::OperationDoc;
use crate::validate::{Source, Validate};

/// Query parameters read into a struct: `Option` fields may be absent, serde
/// defaults apply, and a repeated key fills a `Vec` field (`?tag=a&tag=b`). For a
/// scalar field the last value of a repeated key wins, as in FastAPI.
///
/// ```
/// use frontdesk::prelude::*;
///
/// #[derive(Deserialize, JsonSchema, Validate)]
/// struct Search {
///     #[validate(length(min = 1, max = 200))]
///     q: String,
///     #[serde(default = "ten")]
///     #[validate(range(min = 1, max = 50))]
///     limit: u32,
/// }
/// fn ten() -> u32 { 10 }
///
/// async fn search(Query(s): Query<Search>) -> String {
///     format!("{} x{}", s.q, s.limit)
/// }
/// # let _ = App::new().route(Route::get("/search", search));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Query<T>(pub T);

impl<T> FromRequestParts for Query<T>
where
    T: serde::de::DeserializeOwned + schemars::JsonSchema + Validate + Send + 'static,
{
    async fn from_request_parts(ctx: &mut RequestContext) -> Result<Self, Rejection> {
        let raw = ctx.uri().query().unwrap_or("");
        let pairs: Vec<(Cow<'_, str>, Cow<'_, str>)> = form_pairs(raw);
        let groups = group(pairs.iter().map(|(k, v)| (&**k, &**v)));
        extract_params::<T>(Source::Query, &groups)
            .map(Query)
            .map_err(Rejection::Invalid)
    }

    fn describe(doc: &mut OperationDoc) {
        doc.parameters_from::<T>(Source::Query);
    }
}

/// Splits `application/x-www-form-urlencoded` text into decoded pairs.
pub(crate) fn form_pairs(raw: &str) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    raw.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode_form(k), decode_form(v))
        })
        .collect()
}

fn decode_form(text: &str) -> Cow<'_, str> {
    if !text.contains(['+', '%']) {
        return Cow::Borrowed(text);
    }
    let spaced = text.replace('+', " ");
    let decoded = percent_encoding::percent_decode_str(&spaced).decode_utf8_lossy();
    Cow::Owned(decoded.into_owned())
}

impl<T> std::ops::Deref for Query<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}
