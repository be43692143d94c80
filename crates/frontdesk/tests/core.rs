//! Black-box tests of the five steps through `TestClient` and a real socket:
//! routing, extraction, running, serializing and responding.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use frontdesk::http::{HeaderMap, HeaderValue, StatusCode};
use frontdesk::prelude::*;
use frontdesk::testing::TestClient;
use frontdesk::{BuildError, Request};
use serde_json::{json, Value};

async fn hello() -> Json<Value> {
    Json(json!({"message": "hello"}))
}

async fn item(Path(id): Path<u64>) -> String {
    format!("item {id}")
}

async fn file(Path(path): Path<String>) -> String {
    path
}

async fn pair(Path((a, b)): Path<(String, u32)>) -> String {
    format!("{a}:{b}")
}

#[derive(Deserialize, JsonSchema, Validate)]
struct Ids {
    user: u32,
    name: String,
}

async fn named(Path(ids): Path<Ids>) -> String {
    format!("{}/{}", ids.user, ids.name)
}

fn app() -> App {
    App::new()
        .route(Route::get("/hello", hello))
        .route(Route::post("/hello", hello))
        .route(Route::get("/items/{id}", item))
        .route(Route::get("/files/{*path}", file))
        .route(Route::get("/pairs/{a}/{b}", pair))
        .route(Route::get("/users/{user}/names/{name}", named))
}

fn client() -> TestClient {
    TestClient::new(app())
}

#[tokio::test]
async fn not_found_and_method_not_allowed_are_json() {
    let c = client();
    let r = c.get("/nope").send().await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.header("content-type"), "application/json");
    assert_eq!(r.text().await, r#"{"detail":"Not Found"}"#);

    let r = c.delete("/hello").send().await;
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.header("allow"), "GET, POST, HEAD");
    assert_eq!(r.header("content-type"), "application/json");
    assert_eq!(r.text().await, r#"{"detail":"Method Not Allowed"}"#);
}

#[tokio::test]
async fn head_is_answered_for_get_routes() {
    let r = client().head("/hello").send().await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.header("content-length"), "19");
    assert_eq!(r.header("content-type"), "application/json");
    assert!(r.bytes().await.is_empty());
}

#[tokio::test]
async fn trailing_slash_redirects_keeping_the_query() {
    let r = client().get("/hello/?x=1").send().await;
    assert_eq!(r.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(r.header("location"), "/hello?x=1");

    let strict = TestClient::new(app().redirect_trailing_slash(false));
    assert_eq!(strict.get("/hello/").send().await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn path_parameters_single_tuple_struct_and_catch_all() {
    let c = client();
    assert_eq!(c.get("/items/42").send().await.text().await, "item 42");
    assert_eq!(c.get("/files/a/b/c.txt").send().await.text().await, "a/b/c.txt");
    assert_eq!(c.get("/files/a%20b").send().await.text().await, "a b");
    assert_eq!(c.get("/pairs/x/7").send().await.text().await, "x:7");
    assert_eq!(c.get("/users/3/names/ann").send().await.text().await, "3/ann");
}

#[tokio::test]
async fn a_static_path_wins_over_parameters_and_catch_alls_only_on_an_exact_match() {
    async fn fixed() -> &'static str {
        "fixed"
    }
    let c = TestClient::new(
        app()
            .route(Route::get("/items/special", fixed))
            .route(Route::get("/files/readme", fixed)),
    );
    assert_eq!(c.get("/items/special").send().await.text().await, "fixed");
    assert_eq!(c.get("/items/7").send().await.text().await, "item 7");
    assert_eq!(c.get("/files/readme").send().await.text().await, "fixed");
    assert_eq!(
        c.get("/files/readme/more").send().await.text().await,
        "readme/more"
    );
    // Not the same path: case, an encoded letter and a query string.
    assert_eq!(
        c.get("/items/Special").send().await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(c.get("/files/r%65adme").send().await.text().await, "readme");
    assert_eq!(c.get("/items/special?x=1").send().await.text().await, "fixed");
}

#[tokio::test]
async fn bad_path_parameter_is_a_422_with_string_input() {
    let r = client().get("/items/abc").send().await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json::<Value>().await,
        json!({"detail":[{"type":"int_parsing","loc":["path","id"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"abc"}]})
    );
    let r = client().get("/pairs/x/y").send().await;
    assert_eq!(r.json::<Value>().await["detail"][0]["loc"], json!(["path", "b"]));
}

#[derive(Deserialize, JsonSchema, Validate)]
struct Page {
    #[validate(range(min = 1, max = 100))]
    limit: u32,
    #[serde(default)]
    offset: u32,
    tag: Option<String>,
    #[serde(default)]
    ids: Vec<u32>,
}

async fn page(Query(p): Query<Page>) -> Json<Value> {
    Json(json!({"limit": p.limit, "offset": p.offset, "tag": p.tag, "ids": p.ids}))
}

#[tokio::test]
async fn query_struct_with_options_defaults_and_repeated_keys() {
    let c = TestClient::new(App::new().route(Route::get("/page", page)));
    let r = c.get("/page?limit=5&ids=1&ids=2&tag=a%20b").send().await;
    assert_eq!(
        r.json::<Value>().await,
        json!({"limit":5,"offset":0,"tag":"a b","ids":[1,2]})
    );

    let r = c.get("/page?limit=1&limit=2").send().await;
    assert_eq!(
        r.json::<Value>().await["limit"],
        2,
        "the last value wins, as in FastAPI"
    );

    let r = c.get("/page").send().await;
    assert_eq!(
        r.json::<Value>().await,
        json!({"detail":[{"type":"missing","loc":["query","limit"],"msg":"Field required","input":null}]})
    );

    let r = c.get("/page?limit=abc&offset=x&ids=1&ids=z").send().await;
    let body = r.json::<Value>().await;
    let locs: Vec<&Value> = body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["loc"])
        .collect();
    assert_eq!(
        locs,
        [
            &json!(["query", "limit"]),
            &json!(["query", "offset"]),
            &json!(["query", "ids", 1])
        ]
    );

    let r = c.get("/page?limit=500").send().await;
    assert_eq!(r.json::<Value>().await["detail"][0]["type"], "less_than_equal");
}

#[derive(Deserialize, JsonSchema, Validate)]
struct KeyHeader {
    x_key: String,
    x_count: Option<u8>,
}

async fn headers(Headers(h): Headers<KeyHeader>) -> String {
    format!("{} {:?}", h.x_key, h.x_count)
}

#[tokio::test]
async fn typed_headers() {
    let c = TestClient::new(App::new().route(Route::get("/h", headers)));
    let r = c
        .get("/h")
        .header("X-Key", "k1")
        .header("x-count", "3")
        .send()
        .await;
    assert_eq!(r.text().await, "k1 Some(3)");
    let r = c.get("/h").send().await;
    assert_eq!(
        r.json::<Value>().await,
        json!({"detail":[{"type":"missing","loc":["header","x-key"],"msg":"Field required","input":null}]})
    );
    let r = c
        .get("/h")
        .header("x-key", "k")
        .header("x-count", "300")
        .send()
        .await;
    assert_eq!(
        r.json::<Value>().await["detail"][0]["loc"],
        json!(["header", "x-count"])
    );
}

#[derive(Clone)]
struct Keys(Arc<Vec<String>>);

/// A dependency: reads a header and the app state.
struct ApiKey(String);

impl FromRequestParts for ApiKey {
    async fn from_request_parts(ctx: &mut RequestContext) -> Result<Self, Rejection> {
        let State(keys) = ctx.extract::<State<Keys>>().await?;
        let given = ctx
            .headers()
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if keys.0.iter().any(|k| k == given) {
            Ok(ApiKey(given.to_owned()))
        } else {
            Err(HttpError::unauthorized("Not authenticated")
                .with_header("www-authenticate", "APIKey")
                .into())
        }
    }
}

async fn whoami(ApiKey(key): ApiKey, State(counter): State<Arc<AtomicUsize>>) -> String {
    let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
    format!("{key} #{n}")
}

#[tokio::test]
async fn state_and_user_defined_dependencies() {
    let counter = Arc::new(AtomicUsize::new(0));
    let c = TestClient::new(
        App::new()
            .state(Keys(Arc::new(vec!["secret".into()])))
            .state(counter.clone())
            .route(Route::get("/me", whoami)),
    );
    let r = c.get("/me").header("x-api-key", "secret").send().await;
    assert_eq!(r.text().await, "secret #1");
    let r = c.get("/me").header("x-api-key", "wrong").send().await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.header("www-authenticate"), "APIKey");
    assert_eq!(r.text().await, r#"{"detail":"Not authenticated"}"#);
    assert_eq!(
        counter.load(Ordering::SeqCst),
        1,
        "the handler did not run for a refused key"
    );
}

#[test]
fn missing_state_fails_at_build() {
    let err = App::new().route(Route::get("/me", whoami)).build().unwrap_err();
    assert!(matches!(err, BuildError::MissingState { .. }), "{err}");
    assert!(err.to_string().contains("GET /me"), "{err}");
}

#[test]
fn conflicting_duplicate_and_invalid_routes_fail_at_build() {
    let err = App::new()
        .route(Route::get("/a/{x}", hello))
        .route(Route::get("/a/{y}", hello))
        .build()
        .unwrap_err();
    assert!(matches!(err, BuildError::InvalidRoute { .. }), "{err}");
    let err = App::new()
        .route(Route::get("/a", hello))
        .route(Route::get("/a", hello))
        .build()
        .unwrap_err();
    assert!(matches!(err, BuildError::DuplicateRoute { .. }), "{err}");
    let err = App::new().route(Route::get("/a/{x", hello)).build().unwrap_err();
    assert!(err.to_string().contains("/a/{x"), "{err}");
}

async fn raw_bytes(body: frontdesk::bytes::Bytes) -> String {
    format!("{} bytes", body.len())
}

async fn raw_text(body: String) -> String {
    body.to_uppercase()
}

async fn raw_request(request: Request) -> String {
    format!("{} {}", request.method(), request.uri().path())
}

#[tokio::test]
async fn raw_bodies_and_the_request_itself() {
    let c = TestClient::new(
        App::new()
            .route(Route::post("/bytes", raw_bytes))
            .route(Route::post("/text", raw_text))
            .route(Route::post("/req", raw_request)),
    );
    assert_eq!(c.post("/bytes").body("abc").send().await.text().await, "3 bytes");
    assert_eq!(c.post("/text").body("abc").send().await.text().await, "ABC");
    assert_eq!(
        c.post("/text").body(vec![0xff, 0xfe]).send().await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(c.post("/req").send().await.text().await, "POST /req");
}

#[derive(Deserialize, JsonSchema, Validate)]
struct Gen {
    prompt: String,
    #[serde(default)]
    max_tokens: u32,
}

async fn generate(Query(p): Query<Page>, Json(g): Json<Gen>) -> String {
    format!("{} {} {}", p.limit, g.prompt, g.max_tokens)
}

#[tokio::test]
async fn errors_of_every_argument_come_in_one_response() {
    let c = TestClient::new(App::new().route(Route::post("/gen", generate)));
    let r = c.post("/gen?limit=x").json(&json!({"prompt": 1})).send().await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.json::<Value>().await;
    assert_eq!(body["detail"][0]["loc"], json!(["query", "limit"]));
    assert_eq!(body["detail"][1]["loc"], json!(["body", "prompt"]));
}

#[tokio::test]
async fn body_content_type_and_presence() {
    let c = TestClient::new(App::new().route(Route::post("/gen", generate)));
    let r = c
        .post("/gen?limit=1")
        .header("content-type", "text/plain")
        .body("prompt=x")
        .send()
        .await;
    assert_eq!(
        r.json::<Value>().await,
        json!({"detail":[{"type":"model_attributes_type","loc":["body"],"msg":"Input should be a valid dictionary or object to extract fields from","input":"prompt=x"}]})
    );
    let r = c.post("/gen?limit=1").send().await;
    assert_eq!(
        r.json::<Value>().await,
        json!({"detail":[{"type":"missing","loc":["body"],"msg":"Field required","input":null}]})
    );
    let r = c
        .post("/gen?limit=1")
        .header("content-type", "application/geo+json")
        .body(r#"{"prompt":"p"}"#)
        .send()
        .await;
    assert_eq!(r.text().await, "1 p 0");

    let lenient = TestClient::new(
        App::new()
            .strict_content_type(false)
            .route(Route::post("/gen", generate)),
    );
    let r = lenient
        .post("/gen?limit=1")
        .body(r#"{"prompt":"p"}"#)
        .send()
        .await;
    assert_eq!(r.text().await, "1 p 0");
}

async fn echo_len(body: frontdesk::bytes::Bytes) -> String {
    body.len().to_string()
}

#[tokio::test]
async fn body_limit_counts_bytes_actually_read() {
    let c = TestClient::new(
        App::new()
            .body_limit(5)
            .route(Route::post("/small", echo_len))
            .route(Route::post("/big", echo_len).body_limit(1024)),
    );
    assert_eq!(c.post("/small").body("12345").send().await.text().await, "5");
    for content_length in [None, Some("2"), Some("5"), Some("6"), Some("invalid")] {
        let mut request = c.post("/small").body("123456");
        if let Some(len) = content_length {
            request = request.header("content-length", len);
        }
        let r = request.send().await;
        assert_eq!(
            r.status(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "content-length {content_length:?}"
        );
        assert_eq!(r.text().await, r#"{"detail":"Content Too Large"}"#);
    }
    // A streamed body with no length at all.
    let chunks = futures_util::stream::iter(["123", "456"].map(Ok::<_, std::io::Error>));
    let r = c
        .post("/small")
        .body(frontdesk::Body::from_stream(chunks))
        .send()
        .await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        c.post("/big").body("123456").send().await.text().await,
        "6",
        "the route's own limit wins"
    );
}

async fn echo_text(body: String) -> String {
    body
}

#[tokio::test]
async fn a_body_in_many_frames_is_joined_and_a_failing_one_is_a_400() {
    let c = TestClient::new(App::new().body_limit(8).route(Route::post("/echo", echo_text)));
    let frames = |parts: Vec<Result<&'static str, std::io::Error>>| {
        frontdesk::Body::from_stream(futures_util::stream::iter(parts))
    };
    // One frame, several, empty frames between them, exactly the limit.
    for parts in [
        vec!["abcdefgh"],
        vec!["ab", "", "cde", "fgh"],
        vec!["", "a", "bcdefgh"],
    ] {
        let r = c
            .post("/echo")
            .body(frames(parts.iter().copied().map(Ok).collect()))
            .send()
            .await;
        assert_eq!(r.status(), StatusCode::OK, "{parts:?}");
        assert_eq!(r.text().await, "abcdefgh", "{parts:?}");
    }
    // One byte over the limit, in the third frame.
    let r = c
        .post("/echo")
        .body(frames(vec![Ok("abc"), Ok("def"), Ok("ghi")]))
        .send()
        .await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // The client's body fails half-way: a 400, not a truncated request.
    let broken = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
    let r = c
        .post("/echo")
        .body(frames(vec![Ok("abc"), Err(broken)]))
        .send()
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        r.text().await,
        r#"{"detail":"There was an error reading the body"}"#
    );
}

#[tokio::test]
async fn deep_json_nesting_is_refused_without_overflow() {
    let c = TestClient::new(App::new().route(Route::post("/gen", generate)));
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let r = c
        .post("/gen?limit=1")
        .header("content-type", "application/json")
        .body(deep)
        .send()
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json::<Value>().await["detail"][0]["type"], "json_invalid");
}

async fn boom() -> String {
    panic!("secret database password is hunter2")
}

#[tokio::test]
async fn a_panic_becomes_an_opaque_500_and_serving_continues() {
    let c = TestClient::new(
        App::new()
            .route(Route::get("/boom", boom))
            .route(Route::get("/hello", hello)),
    );
    let r = c.get("/boom").send().await;
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!r.header("x-error-id").is_empty());
    let text = r.text().await;
    assert_eq!(text, r#"{"detail":"Internal Server Error"}"#);
    assert_eq!(c.get("/hello").send().await.status(), StatusCode::OK);
}

async fn teapot() -> Result<String, HttpError> {
    Err(
        HttpError::with_detail(StatusCode::IM_A_TEAPOT, json!({"code": "bad", "msg": ["a"]}))
            .with_header("x-err", "1"),
    )
}

async fn created() -> (StatusCode, Json<Value>) {
    (StatusCode::CREATED, Json(json!({"id": 1})))
}

async fn with_headers() -> (StatusCode, HeaderMap, &'static str) {
    let mut headers = HeaderMap::new();
    headers.insert("x-trace", HeaderValue::from_static("t1"));
    (StatusCode::ACCEPTED, headers, "queued")
}

async fn nothing() {}

async fn bytes_out() -> frontdesk::bytes::Bytes {
    frontdesk::bytes::Bytes::from_static(b"\x00\x01")
}

async fn owned() -> String {
    "owned".to_owned()
}

#[tokio::test]
async fn responses_of_every_kind() {
    let c = TestClient::new(
        App::new()
            .route(Route::get("/teapot", teapot))
            .route(Route::post("/created", created))
            .route(Route::get("/headers", with_headers))
            .route(Route::delete("/nothing", nothing))
            .route(Route::get("/bytes", bytes_out))
            .route(Route::get("/owned", owned))
            .route(Route::post("/declared", hello).status(StatusCode::CREATED)),
    );
    let r = c.get("/teapot").send().await;
    assert_eq!(r.status(), StatusCode::IM_A_TEAPOT);
    assert_eq!(r.header("x-err"), "1");
    assert_eq!(r.text().await, r#"{"detail":{"code":"bad","msg":["a"]}}"#);
    let r = c.post("/created").send().await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.text().await, r#"{"id":1}"#);
    let r = c.get("/headers").send().await;
    assert_eq!((r.status(), r.header("x-trace")), (StatusCode::ACCEPTED, "t1"));
    assert_eq!(r.header("content-type"), "text/plain; charset=utf-8");
    let r = c.delete("/nothing").send().await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(r.bytes().await.is_empty());
    let r = c.get("/bytes").send().await;
    assert_eq!(r.header("content-type"), "application/octet-stream");
    assert_eq!(&r.bytes().await[..], b"\x00\x01");
    assert_eq!(c.get("/owned").send().await.text().await, "owned");
    assert_eq!(c.post("/declared").send().await.status(), StatusCode::CREATED);
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(5)).await;
    "late"
}

#[tokio::test]
async fn a_route_timeout_answers_504() {
    let c = TestClient::new(App::new().route(Route::get("/slow", slow).timeout(Duration::from_millis(50))));
    let started = Instant::now();
    let r = c.get("/slow").send().await;
    assert_eq!(r.status(), StatusCode::GATEWAY_TIMEOUT);
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(r.text().await, r#"{"detail":"Gateway Timeout"}"#);
}

#[tokio::test]
async fn tower_layers_on_app_router_and_route() {
    use tower::util::MapResponseLayer;
    fn tag(
        name: &'static str,
    ) -> MapResponseLayer<impl Fn(frontdesk::Response) -> frontdesk::Response + Clone> {
        MapResponseLayer::new(move |mut r: frontdesk::Response| {
            r.headers_mut().append("x-layer", HeaderValue::from_static(name));
            r
        })
    }
    let router = Router::new("/v1")
        .layer(tag("router"))
        .route(Route::get("/a", hello).layer(tag("route")));
    let c = TestClient::new(
        App::new()
            .nest(router)
            .layer(tag("app"))
            .route(Route::get("/b", hello)),
    );
    let r = c.get("/v1/a").send().await;
    let layers: Vec<&str> = r
        .headers()
        .get_all("x-layer")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(layers, ["route", "router", "app"]);
    let r = c.get("/b").send().await;
    let layers: Vec<&str> = r
        .headers()
        .get_all("x-layer")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(layers, ["app"]);
}

#[tokio::test]
async fn the_app_is_a_tower_service_for_any_body() {
    use tower::ServiceExt;
    let service = app().build().unwrap();
    let request = frontdesk::http::Request::get("/items/7")
        .body(http_body_util::Full::new(frontdesk::bytes::Bytes::new()))
        .unwrap();
    let response = service.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[allow(clippy::too_many_arguments)]
async fn sixteen(
    _a: State<u8>,
    _b: State<u8>,
    _c: State<u8>,
    _d: State<u8>,
    _e: State<u8>,
    _f: State<u8>,
    _g: State<u8>,
    _h: State<u8>,
    _i: State<u8>,
    _j: State<u8>,
    _k: State<u8>,
    _l: State<u8>,
    _m: State<u8>,
    _n: State<u8>,
    _o: Query<Page>,
    body: String,
) -> String {
    body
}

#[tokio::test]
async fn handlers_take_up_to_sixteen_extractors() {
    let c = TestClient::new(App::new().state(1u8).route(Route::post("/16", sixteen)));
    assert_eq!(c.post("/16?limit=1").body("ok").send().await.text().await, "ok");
}

async fn spawn_server(
    app: App,
) -> (
    std::net::SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let config = frontdesk::ServeConfig {
        shutdown_deadline: Duration::from_secs(5),
        ..Default::default()
    };
    let handle = tokio::spawn(frontdesk::serve_with(
        app.build().unwrap(),
        listener,
        config,
        async {
            let _ = rx.await;
        },
    ));
    (addr, tx, handle)
}

async fn raw_get(addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).await.unwrap();
    out
}

async fn blocking_sleep() -> Result<&'static str, HttpError> {
    frontdesk::blocking(|| {
        std::thread::sleep(Duration::from_millis(600));
        "slept"
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn blocking_work_does_not_stall_other_requests() {
    let (addr, stop, handle) = spawn_server(
        App::new()
            .route(Route::get("/block", blocking_sleep))
            .route(Route::get("/hello", hello)),
    )
    .await;
    let blocked = tokio::spawn(raw_get(addr, "/block"));
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = Instant::now();
    let fast: Vec<_> = (0..5).map(|_| tokio::spawn(raw_get(addr, "/hello"))).collect();
    for f in fast {
        assert!(f.await.unwrap().starts_with("HTTP/1.1 200"));
    }
    let fast_elapsed = started.elapsed();
    assert!(blocked.await.unwrap().ends_with("slept"));
    assert!(
        fast_elapsed < Duration::from_millis(400),
        "fast requests took {fast_elapsed:?} while a blocking one ran"
    );
    stop.send(()).unwrap();
    handle.await.unwrap().unwrap();
}

async fn slow_ok() -> &'static str {
    tokio::time::sleep(Duration::from_millis(400)).await;
    "done"
}

#[tokio::test]
async fn graceful_shutdown_drains_in_flight_requests_and_refuses_new_ones() {
    let (addr, stop, handle) = spawn_server(App::new().route(Route::get("/slow", slow_ok))).await;
    let in_flight = tokio::spawn(raw_get(addr, "/slow"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "new connections are refused"
    );
    let answer = in_flight.await.unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.ends_with("done"),
        "{answer}"
    );
    handle.await.unwrap().unwrap();
}

#[tokio::test]
async fn http2_prior_knowledge_is_served() {
    let (addr, stop, handle) = spawn_server(app()).await;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .http2_only(true)
        .build_http::<http_body_util::Empty<frontdesk::bytes::Bytes>>();
    let response = client
        .get(format!("http://{addr}/hello").parse().unwrap())
        .await
        .unwrap();
    assert_eq!(response.version(), frontdesk::http::Version::HTTP_2);
    assert_eq!(response.status(), StatusCode::OK);
    stop.send(()).unwrap();
    handle.await.unwrap().unwrap();
}

#[tokio::test]
async fn streamed_bodies_can_be_read_chunk_by_chunk() {
    async fn chunks() -> frontdesk::TextStream<impl futures_core::Stream<Item = &'static str>> {
        frontdesk::TextStream::new(futures_util::stream::iter(["a", "b", "c"]))
    }
    let c = TestClient::new(App::new().route(Route::get("/chunks", chunks)));
    let mut r = c.get("/chunks").send().await;
    let mut seen = Vec::new();
    while let Some(chunk) = r.chunk().await {
        seen.push(String::from_utf8(chunk.to_vec()).unwrap());
    }
    assert_eq!(seen, ["a", "b", "c"]);
}
