//! Black-box tests of the endpoint macros (`#[get]`, `#[post]`, `#[put]`,
//! `#[patch]`, `#[delete]`, `#[endpoint]`): apps built from macro-declared
//! endpoints, driven through `TestClient`, and the OpenAPI document they make.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use frontdesk::http::Method;
use frontdesk::prelude::*;
use frontdesk::testing::TestClient;
use serde_json::{json, Value};

#[derive(Debug, Deserialize, Serialize, JsonSchema, Validate)]
struct Item {
    #[validate(length(min = 1, max = 50))]
    name: String,
    #[validate(range(min = 0))]
    price: f64,
}

#[derive(Deserialize, JsonSchema, Validate)]
struct Page {
    #[serde(default)]
    offset: u32,
}

#[derive(Clone, Default)]
struct Counter(Arc<AtomicUsize>);

/// List the items.
///
/// Pages through the catalogue, `offset` items in.
/// Ordered by name.
///
/// Use `offset` to page.
#[get("/items", tags = ["items"])]
async fn list_items(Query(page): Query<Page>) -> Json<Value> {
    Json(json!({"offset": page.offset}))
}

/// Read one item.
#[get("/items/{id}", tags = ["items"], responses(404 = "Item not found"))]
async fn read_item(Path(id): Path<u64>) -> Result<Json<Value>, HttpError> {
    if id == 0 {
        return Err(HttpError::not_found("Item not found"));
    }
    Ok(Json(json!({"id": id})))
}

/// Create an item.
#[post("/items", status = 201, tags = ["items", "write"])]
async fn create_item(State(counter): State<Counter>, Json(item): Json<Item>) -> Json<Item> {
    counter.0.fetch_add(1, Ordering::SeqCst);
    Json(item)
}

/// Replace an item.
#[put("/items/{id}", operation_id = "replace_item")]
async fn update_item(Path(id): Path<u64>, Json(item): Json<Item>) -> Json<Value> {
    Json(json!({"id": id, "name": item.name}))
}

#[patch("/items/{id}/price", summary = "Change a price")]
/// Sets only the price; the name is kept.
async fn patch_price(Path(id): Path<u64>, body: String) -> String {
    format!("{id}:{body}")
}

/// Delete an item.
#[delete("/items/{id}", status = 204, deprecated)]
async fn delete_item(Path(_id): Path<u64>) {}

/// The owner and the name of a repository.
#[get("/repos/{owner}/{name}")]
async fn repo(Path((owner, name)): Path<(String, String)>) -> String {
    format!("{owner}/{name}")
}

/// A file under the static root.
#[get("/static/{*path}", hidden)]
async fn static_file(Path(path): Path<String>) -> String {
    path
}

/// Which methods `/items` allows.
#[endpoint(method = OPTIONS, path = "/items", operation_id = "items_options")]
async fn items_options() -> &'static str {
    "GET, POST"
}

/// Escaped braces are literal.
#[endpoint(method = "get", path = "/literal/{{x}}")]
async fn literal_braces() -> &'static str {
    "braces"
}

#[get("/old")]
#[deprecated = "use `/items` instead"]
async fn old_listing() -> &'static str {
    "old"
}

/// Sums the numbers in the body, slowly, on the blocking pool.
#[post("/sum", blocking, tags = ["slow"])]
fn slow_sum(Query(delay): Query<Delay>, body: String) -> Result<String, HttpError> {
    std::thread::sleep(Duration::from_millis(delay.ms));
    let mut total = 0i64;
    for word in body.split_whitespace() {
        total += word
            .parse::<i64>()
            .map_err(|_| HttpError::bad_request(format!("not a number: {word}")))?;
    }
    Ok(total.to_string())
}

#[derive(Deserialize, JsonSchema, Validate)]
struct Delay {
    #[serde(default)]
    ms: u64,
}

/// Always fails: a panic on the blocking pool is an opaque 500.
#[get("/panics", blocking)]
fn panics() -> String {
    panic!("the blocking body panicked")
}

/// Answers at once.
#[get("/fast")]
#[tracing::instrument]
async fn fast() -> &'static str {
    "fast"
}

mod nested {
    use frontdesk::prelude::*;

    /// Visible to the parent module, as the function would be.
    #[get("/ping")]
    pub(super) async fn ping() -> &'static str {
        "pong"
    }
}

fn app() -> App {
    App::new()
        .state(Counter::default())
        .route(list_items)
        .route(read_item)
        .route(create_item)
        .route(update_item)
        .route(patch_price)
        .route(delete_item)
        .route(repo)
        .route(static_file)
        .route(items_options)
        .route(literal_braces)
        .route(old_listing)
        .route(slow_sum)
        .route(panics)
        .route(fast)
        .nest(Router::new("/v1").tag("v1").route(nested::ping))
}

fn client() -> TestClient {
    TestClient::new(app())
}

#[tokio::test]
async fn every_method_routes_to_its_endpoint() {
    let c = client();
    let r = c.get("/items?offset=3").send().await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await, json!({"offset": 3}));

    assert_eq!(
        c.get("/items/7").send().await.json::<Value>().await,
        json!({"id": 7})
    );
    assert_eq!(c.get("/items/0").send().await.status(), StatusCode::NOT_FOUND);

    let r = c
        .put("/items/7")
        .json(&json!({"name": "pen", "price": 2.5}))
        .send()
        .await;
    assert_eq!(r.json::<Value>().await, json!({"id": 7, "name": "pen"}));

    let r = c.patch("/items/7/price").body("3.5").send().await;
    assert_eq!(r.text().await, "7:3.5");

    let r = c.delete("/items/7").send().await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    let r = c.request(Method::OPTIONS, "/items").send().await;
    assert_eq!(r.text().await, "GET, POST");

    assert_eq!(c.get("/literal/{x}").send().await.text().await, "braces");
    assert_eq!(c.get("/old").send().await.text().await, "old");
    assert_eq!(c.get("/v1/ping").send().await.text().await, "pong");
}

#[tokio::test]
async fn path_parameters_are_extracted() {
    let c = client();
    assert_eq!(
        c.get("/repos/tokio-rs/axum").send().await.text().await,
        "tokio-rs/axum"
    );
    assert_eq!(
        c.get("/static/css/site.css").send().await.text().await,
        "css/site.css"
    );

    let r = c.get("/items/seven").send().await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await;
    assert_eq!(body["detail"][0]["loc"], json!(["path", "id"]));
}

#[tokio::test]
async fn status_option_is_sent_and_the_body_is_validated() {
    let c = client();
    let r = c
        .post("/items")
        .json(&json!({"name": "pen", "price": 2.5}))
        .send()
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.json::<Value>().await, json!({"name": "pen", "price": 2.5}));

    let r = c
        .post("/items")
        .json(&json!({"name": "", "price": -1}))
        .send()
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await;
    let locs: Vec<&Value> = body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["loc"])
        .collect();
    assert_eq!(locs, [&json!(["body", "name"]), &json!(["body", "price"])]);
}

#[tokio::test]
async fn the_function_stays_callable_as_handler() {
    let Json(value) = read_item::handler(Path(5)).await.unwrap();
    assert_eq!(value, json!({"id": 5}));
    assert_eq!(nested::ping::handler().await, "pong");
    // A blocking endpoint's handler is async and reports the blocking pool's outcome.
    let sum = slow_sum::handler(Query(Delay { ms: 0 }), "1 2 3".to_owned()).await;
    assert_eq!(sum.unwrap().unwrap(), "6");
    // The unit struct converts into a route that knows its method and path.
    let route: Route = create_item.into();
    assert_eq!((route.method(), route.path()), (&Method::POST, "/items"));
}

#[tokio::test]
async fn blocking_endpoints_run_and_report_errors() {
    let c = client();
    assert_eq!(c.post("/sum").body("40 2").send().await.text().await, "42");
    let r = c.post("/sum").body("40 two").send().await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await, json!({"detail": "not a number: two"}));

    let r = c.get("/panics").send().await;
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        !r.text().await.contains("panicked"),
        "the panic message stays on the server"
    );
}

/// On a single-threaded runtime a blocking body run inline would stall every
/// other request; on the blocking pool it stalls none.
#[tokio::test(flavor = "current_thread")]
async fn a_blocking_endpoint_does_not_stall_the_event_loop() {
    let c = client();
    let started = Instant::now();
    let slow = {
        let request = c.post("/sum?ms=500").body("1 2");
        tokio::spawn(async move { request.send().await.text().await })
    };
    // Let the slow request reach the blocking pool first.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let quick: Vec<_> = (0..5)
        .map(|_| {
            let request = c.get("/fast");
            tokio::spawn(async move { request.send().await.text().await })
        })
        .collect();
    for request in quick {
        assert_eq!(request.await.unwrap(), "fast");
    }
    let fast_done = started.elapsed();
    assert!(
        fast_done < Duration::from_millis(400),
        "fast requests waited {fast_done:?} for the blocking one"
    );
    assert_eq!(slow.await.unwrap(), "3");
    assert!(started.elapsed() >= Duration::from_millis(500));
}

#[test]
fn the_document_reads_the_macros() {
    let doc = app().openapi().unwrap();
    let paths = &doc["paths"];

    let list = &paths["/items"]["get"];
    assert_eq!(list["operationId"], "list_items");
    assert_eq!(list["summary"], "List the items");
    assert_eq!(
        list["description"],
        "Pages through the catalogue, `offset` items in.\nOrdered by name.\n\nUse `offset` to page."
    );
    assert_eq!(list["tags"], json!(["items"]));

    let read = &paths["/items/{id}"]["get"];
    assert_eq!(read["summary"], "Read one item");
    assert!(read.get("description").is_none());
    assert_eq!(read["responses"]["404"]["description"], "Item not found");
    assert_eq!(read["parameters"][0]["name"], "id");

    let create = &paths["/items"]["post"];
    assert_eq!(create["tags"], json!(["items", "write"]));
    assert!(create["responses"].get("201").is_some(), "{create}");
    assert!(create["responses"].get("200").is_none());

    let update = &paths["/items/{id}"]["put"];
    assert_eq!(update["operationId"], "replace_item");
    assert_eq!(update["summary"], "Replace an item");

    // An explicit summary leaves the whole doc comment to the description.
    let patch = &paths["/items/{id}/price"]["patch"];
    assert_eq!(patch["summary"], "Change a price");
    assert_eq!(patch["description"], "Sets only the price; the name is kept.");

    let delete = &paths["/items/{id}"]["delete"];
    assert_eq!(delete["deprecated"], true);
    assert!(delete["responses"].get("204").is_some());
    assert!(read.get("deprecated").is_none());

    // Rust's own `#[deprecated]` marks the operation too.
    assert_eq!(paths["/old"]["get"]["deprecated"], true);
    assert!(paths["/old"]["get"].get("summary").is_none());

    assert!(
        paths.get("/static/{*path}").is_none(),
        "hidden endpoints are left out"
    );
    assert_eq!(paths["/items"]["options"]["operationId"], "items_options");
    assert_eq!(paths["/sum"]["post"]["tags"], json!(["slow"]));
    assert_eq!(paths["/sum"]["post"]["operationId"], "slow_sum");
    assert_eq!(paths["/v1/ping"]["get"]["tags"], json!(["v1"]));
    assert_eq!(paths["/v1/ping"]["get"]["operationId"], "ping");
}
