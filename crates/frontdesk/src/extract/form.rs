//! `Form<T>`: an `application/x-www-form-urlencoded` body, typed and validated.

use http::header::CONTENT_TYPE;
use http::StatusCode;

use crate::body::Body;
use crate::error::{HttpError, Rejection};
use crate::extract::params::{extract_params, group};
use crate::extract::query::form_pairs;
use crate::extract::raw::read_body;
use crate::extract::{FromRequest, RequestContext};
use crate::openapi::OperationDoc;
use crate::validate::{Source, Validate};

/// A form body (`application/x-www-form-urlencoded`) read into a struct, with the
/// same rules as [`Query`](crate::Query): text values parsed leniently, repeated
/// keys into `Vec` fields, errors at `["body", "<field>"]` with the raw text as
/// `input` (as FastAPI reports form fields). Another content type is answered
/// with 415.
///
/// ```
/// use frontdesk::prelude::*;
/// use frontdesk::Form;
///
/// #[derive(Deserialize, JsonSchema, Validate)]
/// struct Login {
///     #[validate(length(min = 1))]
///     username: String,
///     password: String,
/// }
///
/// async fn login(Form(login): Form<Login>) -> String {
///     login.username
/// }
/// # let _ = App::new().route(Route::post("/login", login));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Form<T>(pub T);

impl<T> FromRequest for Form<T>
where
    T: serde::de::DeserializeOwned + schemars::JsonSchema + Validate + Send + 'static,
{
    async fn from_request(ctx: &mut RequestContext, body: Body) -> Result<Self, Rejection> {
        let is_form = ctx
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(HttpError::with_detail(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Expected a body of type application/x-www-form-urlencoded",
            )
            .into());
        }
        let bytes = read_body(ctx, body).await?;
        let text = String::from_utf8_lossy(&bytes);
        let pairs = form_pairs(&text);
        let groups = group(pairs.iter().map(|(k, v)| (&**k, &**v)));
        extract_params::<T>(Source::Body, &groups)
            .map(Form)
            .map_err(Rejection::Invalid)
    }

    fn describe(doc: &mut OperationDoc) {
        doc.request_body_form::<T>();
    }
}

impl<T> std::ops::Deref for Form<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}
