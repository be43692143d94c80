//! `Json<T>`: a JSON request body parsed and validated into `T`, and a JSON
//! response serialized from `T`.

use http::header::{HeaderValue, CONTENT_TYPE};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::body::Body;
use crate::error::{HttpError, Rejection};
use crate::extract::raw::read_body;
use crate::extract::{FromRequest, RequestContext};
use crate::openapi::OperationDoc;
use crate::response::{IntoResponse, Response};
use crate::validate::schema_check::{self, Mode};
use crate::validate::{Checker, Coercion, Loc, Source, Validate, ValidationError, ValidationErrors};

/// A JSON body: as an argument, the request body parsed into `T` and checked;
/// as a return value, `T` serialized with `content-type: application/json`.
///
/// The body must be sent as `application/json` (or any `+json` type). Like
/// FastAPI, frontdesk answers anything else with a 422 (`model_attributes_type`,
/// the raw text as `input`), so a form post cannot be mistaken for JSON.
///
/// ```
/// use frontdesk::prelude::*;
///
/// #[derive(Deserialize, JsonSchema, Validate)]
/// struct Greeting {
///     #[validate(length(min = 1))]
///     name: String,
/// }
///
/// #[derive(Serialize, JsonSchema)]
/// struct Reply {
///     message: String,
/// }
///
/// async fn greet(Json(g): Json<Greeting>) -> Json<Reply> {
///     Json(Reply { message: format!("hello {}", g.name) })
/// }
/// # let _ = App::new().route(Route::post("/greet", greet));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Json<T>(pub T);

impl<T> FromRequest for Json<T>
where
    T: DeserializeOwned + schemars::JsonSchema + Validate + Send + 'static,
{
    async fn from_request(ctx: &mut RequestContext, body: Body) -> Result<Self, Rejection> {
        let is_json = json_content_type(ctx.headers().get(CONTENT_TYPE));
        let bytes = read_body(ctx, body).await?;
        if !is_json && ctx.limits().strict_content_type {
            if bytes.is_empty() {
                return Err(missing_body().into());
            }
            let text = String::from_utf8_lossy(&bytes).into_owned();
            return Err(
                ValidationError::model_attributes_type(Loc::new(Source::Body), Value::String(text)).into(),
            );
        }
        parse_json::<T>(&bytes, ctx.limits().coercion)
            .map(Json)
            .map_err(Rejection::Invalid)
    }

    fn describe(doc: &mut OperationDoc) {
        doc.request_body_json::<T>();
    }
}

fn missing_body() -> ValidationError {
    ValidationError::missing(Loc::new(Source::Body), Value::Null)
}

/// `application/json`, `application/json; charset=utf-8` and any `+json` type.
pub(crate) fn json_content_type(value: Option<&HeaderValue>) -> bool {
    // What nearly every client sends, compared as is.
    if value.is_some_and(|v| v.as_bytes() == b"application/json") {
        return true;
    }
    let Some(value) = value.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (subtype.eq_ignore_ascii_case("json")
            || subtype.len() > 5 && subtype[subtype.len() - 5..].eq_ignore_ascii_case("+json"))
}

/// Parses and validates a JSON body. The fast path deserializes straight into
/// `T` and runs its derived checks; only a failure pays for the schema walk that
/// lists every error (and, in lax mode, applies Pydantic's coercions).
pub fn parse_json<T>(bytes: &[u8], coercion: Coercion) -> Result<T, ValidationErrors>
where
    T: DeserializeOwned + schemars::JsonSchema + Validate + 'static,
{
    if bytes.is_empty() {
        return Err(missing_body().into());
    }
    match serde_json::from_slice::<T>(bytes) {
        Ok(value) => {
            let mut checker = Checker::new(Source::Body);
            value.validate(&mut checker);
            if checker.is_ok() {
                Ok(value)
            } else {
                Err(constraint_errors::<T>(bytes, checker.into_errors()))
            }
        }
        Err(_) => slow_path::<T>(bytes, coercion),
    }
}

fn json_syntax_error(bytes: &[u8], error: &serde_json::Error) -> ValidationError {
    // serde_json reports a line and a column; FastAPI reports an offset.
    let mut offset = 0usize;
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        if i + 1 == error.line() {
            offset += error.column().saturating_sub(1).min(line.len());
            break;
        }
        offset += line.len() + 1;
    }
    let message = error.to_string();
    let message = match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message,
    };
    ValidationError::json_invalid(offset, message)
}

fn parse_value(bytes: &[u8]) -> Result<Value, ValidationErrors> {
    serde_json::from_slice::<Value>(bytes).map_err(|e| json_syntax_error(bytes, &e).into())
}

fn slow_path<T>(bytes: &[u8], coercion: Coercion) -> Result<T, ValidationErrors>
where
    T: DeserializeOwned + schemars::JsonSchema + Validate + 'static,
{
    let mut value = parse_value(bytes)?;
    let schema = schema_check::request_schema::<T>();
    let mode = Mode {
        coercion,
        from_text: false,
    };
    let errors = schema_check::check(&schema, &mut value, Source::Body, mode);
    if !errors.is_empty() {
        return Err(errors);
    }
    // The walk found nothing the schema forbids, and may have coerced the value:
    // read it again.
    match serde_path_to_error::deserialize::<_, T>(value.clone()) {
        Ok(typed) => {
            let mut checker = Checker::new(Source::Body);
            typed.validate(&mut checker);
            if checker.is_ok() {
                Ok(typed)
            } else {
                Err(checker.into_errors())
            }
        }
        Err(error) => Err(fallback_error(error, &value).into()),
    }
}

/// A failure the schema does not describe (a custom `Deserialize` impl, say):
/// reported where serde found it, as a `value_error`.
fn fallback_error(error: serde_path_to_error::Error<serde_json::Error>, value: &Value) -> ValidationError {
    let mut loc = Loc::new(Source::Body);
    let mut input = value;
    for segment in error.path().iter() {
        match segment {
            serde_path_to_error::Segment::Seq { index } => {
                loc.push(*index);
                input = input.get(*index).unwrap_or(&Value::Null);
            }
            serde_path_to_error::Segment::Map { key }
            | serde_path_to_error::Segment::Enum { variant: key } => {
                loc.push(key.clone());
                input = input.get(key).unwrap_or(&Value::Null);
            }
            serde_path_to_error::Segment::Unknown => {}
        }
    }
    ValidationError::value_error(loc, input.clone(), error.inner())
}

/// The typed value broke a constraint: re-read the body as a value so every
/// error carries its real input, in field order.
fn constraint_errors<T>(bytes: &[u8], typed: ValidationErrors) -> ValidationErrors
where
    T: schemars::JsonSchema + Validate + 'static,
{
    let Ok(mut value) = serde_json::from_slice::<Value>(bytes) else {
        return typed;
    };
    let schema = schema_check::request_schema::<T>();
    let mode = Mode {
        coercion: Coercion::Lax,
        from_text: false,
    };
    let mut errors = schema_check::check(&schema, &mut value, Source::Body, mode);
    // Custom checks are not in the schema: add what the walk did not find, with
    // the real input.
    errors.add_missing_from(&typed, |e| with_input_from(e, &value));
    errors
}

fn with_input_from(error: &ValidationError, value: &Value) -> ValidationError {
    if !error.input().is_null() {
        return error.clone();
    }
    let mut input = value;
    for item in error.loc().path() {
        input = match item {
            crate::validate::LocItem::Key(k) => input.get(k.as_ref()),
            crate::validate::LocItem::Index(i) => input.get(*i),
        }
        .unwrap_or(&Value::Null);
    }
    ValidationError::new(
        error.kind().to_owned(),
        error.loc().clone(),
        error.msg().to_owned(),
        input.clone(),
        error.ctx().cloned(),
    )
}

impl<T: Serialize + schemars::JsonSchema> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        let mut buf = Vec::with_capacity(128);
        match serde_json::to_writer(&mut buf, &self.0) {
            Ok(()) => crate::error::json_response(http::StatusCode::OK, buf),
            Err(error) => {
                HttpError::internal(format_args!("response serialization failed: {error}")).into_response()
            }
        }
    }

    fn describe(doc: &mut OperationDoc) {
        doc.success_json::<T>();
    }
}

impl<T> std::ops::Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> std::ops::DerefMut for Json<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types() {
        let ok = |s: &'static str| json_content_type(Some(&HeaderValue::from_static(s)));
        assert!(ok("application/json"));
        assert!(ok("application/json; charset=utf-8"));
        assert!(ok("application/geo+json"));
        assert!(ok("Application/JSON"));
        assert!(!ok("text/plain"));
        assert!(!ok("application/geo+json-seq"));
        assert!(!ok("application/x-www-form-urlencoded"));
        assert!(!json_content_type(None));
    }
}
