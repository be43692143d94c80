//! `Path<T>`: the matched route's parameters, typed.

use crate::error::Rejection;
use crate::extract::params::{extract_params, group};
use crate::extract::{FromRequestParts, RequestContext};
use crate::openapi::OperationDoc;
use crate::validate::{Source, Validate};

/// Path parameters: one value (`Path<u64>`), a tuple in template order
/// (`Path<(String, u32)>`) or a struct whose fields name the parameters.
///
/// Values are percent-decoded. A value that does not parse is a 422 at
/// `["path", "<name>"]` with the raw text as `input`, as in FastAPI.
///
/// ```
/// use frontdesk::prelude::*;
///
/// async fn item(Path(id): Path<u64>) -> String {
///     format!("item {id}")
/// }
/// let app = App::new().route(Route::get("/items/{id}", item));
/// # let _ = app;
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Path<T>(pub T);

impl<T> FromRequestParts for Path<T>
where
    T: serde::de::DeserializeOwned + schemars::JsonSchema + Validate + Send + 'static,
{
    async fn from_request_parts(ctx: &mut RequestContext) -> Result<Self, Rejection> {
        let groups = group(ctx.path_params().iter().map(|(k, v)| (&**k, v.as_str())));
        extract_params::<T>(Source::Path, &groups)
            .map(Path)
            .map_err(Rejection::Invalid)
    }

    fn describe(doc: &mut OperationDoc) {
        doc.parameters_from::<T>(Source::Path);
    }
}

impl<T> std::ops::Deref for Path<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}
