//! Plain functions marked `blocking`: `mut` bindings, `?`, early `return`, an
//! `impl Trait` return type and user attributes all survive the move to the
//! blocking pool.
#![deny(warnings)]

use frontdesk::prelude::*;

#[derive(Deserialize, JsonSchema, Validate)]
struct Numbers {
    values: Vec<i64>,
}

/// Adds the numbers.
#[post("/sum", blocking)]
#[allow(clippy::needless_pass_by_value)]
fn sum(Json(mut numbers): Json<Numbers>) -> Result<String, HttpError> {
    numbers.values.sort_unstable();
    if numbers.values.is_empty() {
        return Err(HttpError::bad_request("no numbers"));
    }
    let first = numbers.values.first().copied().ok_or_else(|| HttpError::bad_request("empty"))?;
    Ok(format!("{} (smallest {first})", numbers.values.iter().sum::<i64>()))
}

/// An opaque return type.
#[get("/page/{n}", blocking, tags = ["pages"])]
fn page(Path(n): Path<u32>) -> impl IntoResponse {
    Html(format!("<p>{n}</p>"))
}

/// No arguments, no return value.
#[delete("/cache", blocking)]
fn clear_cache() {}

use frontdesk::Html;

fn main() {
    let _ = App::new().route(sum).route(page).route(clear_cache).build().unwrap();
    let _handler = sum::handler;
}
