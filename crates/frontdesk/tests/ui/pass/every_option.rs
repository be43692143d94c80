//! Every option of every macro, in a crate that denies warnings, missing docs
//! and unreachable `pub`: the expansion adds nothing for a lint to catch.
#![deny(warnings, missing_docs, unreachable_pub)]

use frontdesk::prelude::*;

/// An item.
#[derive(Deserialize, Serialize, JsonSchema, Validate)]
pub struct Item {
    name: String,
}

/// Path parameters named by a struct: checked when the app is built.
#[derive(Deserialize, JsonSchema, Validate)]
pub struct RepoPath {
    owner: String,
    name: String,
}

/// A page of results.
#[derive(Deserialize, JsonSchema, Validate)]
pub struct Page {
    offset: u32,
}

/// Create an item.
///
/// Longer text.
#[post(
    "/items",
    tags = ["items", "write"],
    status = 201,
    summary = "Create",
    operation_id = "create_an_item",
    deprecated,
    hidden,
    responses(409 = "Already exists", 422 = "Invalid"),
)]
pub async fn create_item(Json(item): Json<Item>) -> Json<Item> {
    Json(item)
}

/// Any method, named as a path (`Method::TRACE`) or a string.
#[endpoint(method = frontdesk::http::Method::TRACE, path = "/trace")]
pub async fn trace() -> &'static str {
    "trace"
}

/// Lower-case methods are accepted too.
#[endpoint(path = "/head", method = "head")]
pub async fn head() -> StatusCode {
    StatusCode::OK
}

/// A struct `Path<T>` and a `Result` extractor.
#[get("/repos/{owner}/{name}")]
pub async fn repo(path: Path<RepoPath>, page: Result<Query<Page>, Rejection>) -> String {
    format!("{}/{} {}", path.owner, path.name, page.map(|p| p.offset).unwrap_or(0))
}

/// A one-tuple for one parameter, a catch-all, and `_` patterns.
#[get("/files/{*path}")]
pub async fn file(Path((path,)): Path<(String,)>, _: frontdesk::http::HeaderMap) -> String {
    path
}

/// A raw identifier: its operation id is `type`.
#[put("/types/{id}")]
pub async fn r#type(Path(id): Path<u32>, mut body: String) -> String {
    body.push_str(&id.to_string());
    body
}

/// A patch and a delete.
#[patch("/items/{id}")]
pub async fn patch_item(Path(id): Path<u32>) -> String {
    id.to_string()
}

/// Returns nothing: 204.
#[delete("/items/{id}", status = 204)]
pub async fn delete_item(Path(_id): Path<u32>) {}

fn main() {
    let app = App::new()
        .route(create_item)
        .route(trace)
        .route(head)
        .route(repo)
        .route(file)
        .route(r#type)
        .route(patch_item)
        .route(delete_item);
    let doc = app.openapi().unwrap();
    assert!(doc["paths"].get("/items").is_none());
    assert_eq!(doc["paths"]["/types/{id}"]["put"]["operationId"], "type");
    app.build().unwrap();
}
