//! `Headers<T>`: request headers read into a struct, typed and validated.

use crate::error::Rejection;
use crate::extract::params::{extract_params, group};
use crate::extract::{FromRequestParts, RequestContext};
use crate::openapi::OperationDoc;
use crate::validate::{Source, Validate};

/// Typed headers: each field of `T` reads the header of the same name with
/// underscores turned into hyphens (`x_api_key` reads `x-api-key`), matched
/// without regard to case. A missing required header is a 422 at
/// `["header", "x-api-key"]`.
///
/// ```
/// use frontdesk::prelude::*;
///
/// #[derive(Deserialize, JsonSchema, Validate)]
/// struct Tracing {
///     x_request_id: Option<String>,
/// }
///
/// async fn echo_id(Headers(h): Headers<Tracing>) -> String {
///     h.x_request_id.unwrap_or_default()
/// }
/// # let _ = App::new().route(Route::get("/id", echo_id));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Headers<T>(pub T);

impl<T> FromRequestParts for Headers<T>
where
    T: serde::de::DeserializeOwned + schemars::JsonSchema + Validate + Send + 'static,
{
    async fn from_request_parts(ctx: &mut RequestContext) -> Result<Self, Rejection> {
        // Header names arrive lower-case; fields use underscores.
        let pairs: Vec<(String, &str)> = ctx
            .headers()
            .iter()
            .filter_map(|(name, value)| Some((name.as_str().replace('-', "_"), value.to_str().ok()?)))
            .collect();
        let groups = group(pairs.iter().map(|(k, v)| (k.as_str(), *v)));
        extract_params::<T>(Source::Header, &groups)
            .map(Headers)
            .map_err(|mut errors| {
                errors.rename_header_locs();
                Rejection::Invalid(errors)
            })
    }

    fn describe(doc: &mut OperationDoc) {
        doc.parameters_from::<T>(Source::Header);
    }
}

impl<T> std::ops::Deref for Headers<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}
