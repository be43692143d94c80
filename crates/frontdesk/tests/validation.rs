//! The 422 catalogue: every supported error type, pinned through `TestClient`
//! with its exact FastAPI/Pydantic body; and proof that the runtime checks and
//! the published schema come from one declaration.

use std::sync::LazyLock;

use frontdesk::http::StatusCode;
use frontdesk::prelude::*;
use frontdesk::testing::TestClient;
use frontdesk::validate::{check_json, Checker, Coercion, Source};
use serde_json::{json, Value};

#[derive(Debug, Deserialize, JsonSchema, Validate)]
struct Gen {
    prompt: String,
    #[serde(default = "sixteen")]
    max_tokens: i64,
}

fn sixteen() -> i64 {
    16
}

#[derive(Debug, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields)]
struct Strict {
    prompt: String,
}

static LOWER: LazyLock<regex::Regex> = LazyLock::new(|| regex::Regex::new("^[a-z]+$").unwrap());

#[derive(Debug, Deserialize, JsonSchema, Validate)]
struct Cons {
    #[validate(length(min = 3, max = 5))]
    name: String,
    #[validate(range(min = 1, max = 10))]
    n: i64,
    #[serde(default = "half")]
    #[validate(range(exclusive_min = 0.0, exclusive_max = 1.0))]
    f: f64,
    #[serde(default = "abc")]
    #[validate(regex(path = *LOWER))]
    code: String,
}

fn half() -> f64 {
    0.5
}

fn abc() -> String {
    "abc".into()
}

#[derive(Debug, Deserialize, JsonSchema, Validate)]
#[serde(rename_all = "lowercase")]
enum Color {
    A,
    B,
    C,
}

#[derive(Debug, Deserialize, JsonSchema, Validate)]
struct Inner {
    #[validate(range(min = 1, max = 5))]
    x: i64,
}

fn not_admin(name: &String) -> Result<(), &'static str> {
    if name == "admin" {
        Err("the name admin is reserved")
    } else {
        Ok(())
    }
}

#[derive(Debug, Deserialize, JsonSchema, Validate)]
#[allow(dead_code)]
struct Rich {
    #[validate(length(min = 1, max = 2), nested)]
    items: Vec<Inner>,
    #[serde(default)]
    color: Option<Color>,
    #[serde(default)]
    flag: Option<bool>,
    #[serde(default)]
    #[validate(email)]
    email: Option<String>,
    #[serde(default)]
    #[validate(url)]
    site: Option<String>,
    #[serde(default)]
    #[validate(contains(pattern = "@"))]
    handle: Option<String>,
    #[serde(default)]
    #[validate(pattern = "^[0-9]{3}$")]
    code: Option<String>,
    #[serde(default)]
    #[validate(custom = not_admin)]
    user: Option<String>,
    #[validate(nested)]
    inner: Option<Inner>,
}

async fn gen(Json(g): Json<Gen>) -> Json<Value> {
    Json(json!({"prompt": g.prompt, "max_tokens": g.max_tokens}))
}

async fn strict(Json(s): Json<Strict>) -> String {
    s.prompt
}

async fn cons(Json(c): Json<Cons>) -> String {
    format!("{} {} {} {}", c.name, c.n, c.f, c.code)
}

async fn rich(Json(r): Json<Rich>) -> String {
    format!("{} items", r.items.len())
}

async fn list(Json(items): Json<Vec<Inner>>) -> String {
    items.len().to_string()
}

#[derive(Debug, Deserialize, JsonSchema, Validate)]
#[allow(dead_code)]
struct Q {
    limit: i64,
    #[serde(default)]
    color: Option<Color>,
    #[serde(default)]
    flag: Option<bool>,
    #[serde(default)]
    #[validate(range(min = 0.0))]
    score: Option<f64>,
}

async fn query(Query(q): Query<Q>) -> String {
    format!("{}", q.limit)
}

fn client() -> TestClient {
    TestClient::new(
        App::new()
            .route(Route::post("/gen", gen))
            .route(Route::post("/strict", strict))
            .route(Route::post("/cons", cons))
            .route(Route::post("/rich", rich))
            .route(Route::post("/list", list))
            .route(Route::get("/q", query)),
    )
}

async fn post(path: &str, body: Value) -> (StatusCode, Value) {
    let r = client().post(path).json(&body).send().await;
    let status = r.status();
    if r.header("content-type") == "application/json" {
        (status, r.json().await)
    } else {
        (status, Value::String(r.text().await))
    }
}

async fn post_raw(path: &str, body: &'static str) -> (StatusCode, Value) {
    let r = client()
        .post(path)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await;
    (r.status(), r.json().await)
}

async fn error_of(path: &str, body: Value) -> Value {
    let (status, body) = post(path, body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["detail"].as_array().unwrap().len(), 1, "{body}");
    body["detail"][0].clone()
}

#[tokio::test]
async fn string_type() {
    assert_eq!(
        error_of("/gen", json!({"prompt": 42})).await,
        json!({"type":"string_type","loc":["body","prompt"],"msg":"Input should be a valid string","input":42})
    );
}

#[tokio::test]
async fn missing_reports_the_enclosing_object() {
    assert_eq!(
        error_of("/gen", json!({})).await,
        json!({"type":"missing","loc":["body","prompt"],"msg":"Field required","input":{}})
    );
    assert_eq!(
        error_of("/gen", json!({"max_tokens": 5})).await,
        json!({"type":"missing","loc":["body","prompt"],"msg":"Field required","input":{"max_tokens":5}})
    );
}

#[tokio::test]
async fn json_invalid_gives_an_offset_and_the_parser_message() {
    let (status, body) = post_raw("/gen", r#"{"prompt": "hi","#).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let e = &body["detail"][0];
    assert_eq!(e["type"], "json_invalid");
    assert_eq!(e["msg"], "JSON decode error");
    assert_eq!(e["input"], json!({}));
    assert_eq!(e["loc"][0], "body");
    assert!(e["loc"][1].is_u64());
    assert!(!e["ctx"]["error"].as_str().unwrap().is_empty());
}

#[tokio::test]
async fn nan_and_infinity_are_refused_not_a_500() {
    let (status, body) = post_raw("/cons", r#"{"name":"abc","n":1,"f":NaN}"#).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["detail"][0]["type"], "json_invalid");
    let r = client().get("/q?limit=1&score=inf").send().await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json::<Value>().await["detail"][0]["type"], "finite_number");
}

#[tokio::test]
async fn length_and_range_constraints() {
    assert_eq!(
        error_of("/cons", json!({"name": "ab", "n": 5})).await,
        json!({"type":"string_too_short","loc":["body","name"],"msg":"String should have at least 3 characters","input":"ab","ctx":{"min_length":3}})
    );
    assert_eq!(
        error_of("/cons", json!({"name": "abcdef", "n": 5})).await,
        json!({"type":"string_too_long","loc":["body","name"],"msg":"String should have at most 5 characters","input":"abcdef","ctx":{"max_length":5}})
    );
    assert_eq!(
        error_of("/cons", json!({"name": "abc", "n": 11})).await,
        json!({"type":"less_than_equal","loc":["body","n"],"msg":"Input should be less than or equal to 10","input":11,"ctx":{"le":10}})
    );
    assert_eq!(
        error_of("/cons", json!({"name": "abc", "n": 0})).await,
        json!({"type":"greater_than_equal","loc":["body","n"],"msg":"Input should be greater than or equal to 1","input":0,"ctx":{"ge":1}})
    );
    assert_eq!(
        error_of("/cons", json!({"name": "abc", "n": 1, "f": 1.0})).await,
        json!({"type":"less_than","loc":["body","f"],"msg":"Input should be less than 1","input":1.0,"ctx":{"lt":1.0}})
    );
    assert_eq!(
        error_of("/cons", json!({"name": "abc", "n": 1, "f": 0})).await,
        json!({"type":"greater_than","loc":["body","f"],"msg":"Input should be greater than 0","input":0,"ctx":{"gt":0.0}})
    );
    assert_eq!(
        error_of("/cons", json!({"name": "abc", "n": 1, "code": "A1"})).await,
        json!({"type":"string_pattern_mismatch","loc":["body","code"],"msg":"String should match pattern '^[a-z]+$'","input":"A1","ctx":{"pattern":"^[a-z]+$"}})
    );
}

#[tokio::test]
async fn every_error_at_once_in_field_order() {
    let (status, body) = post("/cons", json!({"name": 1, "n": "x", "f": "y"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body,
        json!({"detail":[
            {"type":"string_type","loc":["body","name"],"msg":"Input should be a valid string","input":1},
            {"type":"int_parsing","loc":["body","n"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"x"},
            {"type":"float_parsing","loc":["body","f"],"msg":"Input should be a valid number, unable to parse string as a number","input":"y"}
        ]})
    );
    // Type errors and constraint errors together.
    let (_, body) = post("/cons", json!({"name": "ab", "n": "x", "f": 2.0})).await;
    let kinds: Vec<&str> = body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["string_too_short", "int_parsing", "less_than"]);
}

#[tokio::test]
async fn lax_coercion_like_pydantic() {
    let (status, body) = post("/gen", json!({"prompt": "p", "max_tokens": "5"})).await;
    assert_eq!((status, &body["max_tokens"]), (StatusCode::OK, &json!(5)));
    let (status, body) = post("/gen", json!({"prompt": "p", "max_tokens": 5.0})).await;
    assert_eq!((status, &body["max_tokens"]), (StatusCode::OK, &json!(5)));
    assert_eq!(
        error_of("/gen", json!({"prompt": "p", "max_tokens": 5.5})).await,
        json!({"type":"int_from_float","loc":["body","max_tokens"],"msg":"Input should be a valid integer, got a number with a fractional part","input":5.5})
    );
    assert_eq!(
        error_of("/gen", json!({"prompt": "p", "max_tokens": [1]})).await["type"],
        "int_type"
    );
}

#[tokio::test]
async fn strict_mode_answers_int_type() {
    let c = TestClient::new(
        App::new()
            .coercion(Coercion::Strict)
            .route(Route::post("/gen", gen)),
    );
    let r = c
        .post("/gen")
        .json(&json!({"prompt": "p", "max_tokens": "5"}))
        .send()
        .await;
    assert_eq!(
        r.json::<Value>().await,
        json!({"detail":[{"type":"int_type","loc":["body","max_tokens"],"msg":"Input should be a valid integer","input":"5"}]})
    );
}

#[tokio::test]
async fn extra_forbidden_and_body_shape() {
    assert_eq!(
        error_of("/strict", json!({"prompt": "x", "temperature": 0.2})).await,
        json!({"type":"extra_forbidden","loc":["body","temperature"],"msg":"Extra inputs are not permitted","input":0.2})
    );
    assert_eq!(
        error_of("/gen", json!([1, 2])).await,
        json!({"type":"model_attributes_type","loc":["body"],"msg":"Input should be a valid dictionary or object to extract fields from","input":[1,2]})
    );
    assert_eq!(
        error_of("/gen", json!(null)).await["type"],
        "model_attributes_type"
    );
    let r = client()
        .post("/gen")
        .header("content-type", "application/json")
        .send()
        .await;
    assert_eq!(
        r.json::<Value>().await,
        json!({"detail":[{"type":"missing","loc":["body"],"msg":"Field required","input":null}]})
    );
}

#[tokio::test]
async fn lists_enums_booleans_formats_and_custom_checks() {
    let ok = json!({"items": [{"x": 1}]});
    assert_eq!(post("/rich", ok.clone()).await.0, StatusCode::OK);

    let e = error_of("/rich", json!({"items": []})).await;
    assert_eq!(
        e,
        json!({"type":"too_short","loc":["body","items"],"msg":"List should have at least 1 item after validation, not 0","input":[],"ctx":{"field_type":"List","min_length":1,"actual_length":0}})
    );
    let e = error_of("/rich", json!({"items": [{"x": 1}, {"x": 1}, {"x": 1}]})).await;
    assert_eq!(e["type"], "too_long");
    assert_eq!(
        e["msg"],
        "List should have at most 2 items after validation, not 3"
    );

    let e = error_of("/rich", json!({"items": [{"x": 1}, {"x": "a"}]})).await;
    assert_eq!(e["loc"], json!(["body", "items", 1, "x"]));
    let e = error_of("/rich", json!({"items": [{"x": 1}, {"x": 9}]})).await;
    assert_eq!(
        (e["type"].as_str(), &e["loc"]),
        (Some("less_than_equal"), &json!(["body", "items", 1, "x"]))
    );

    assert_eq!(
        error_of("/rich", json!({"items": [{"x": 1}], "color": "d"})).await,
        json!({"type":"enum","loc":["body","color"],"msg":"Input should be 'a', 'b' or 'c'","input":"d","ctx":{"expected":"'a', 'b' or 'c'"}})
    );
    assert_eq!(
        error_of("/rich", json!({"items": [{"x": 1}], "flag": "maybe"})).await,
        json!({"type":"bool_parsing","loc":["body","flag"],"msg":"Input should be a valid boolean, unable to interpret input","input":"maybe"})
    );
    assert_eq!(
        error_of("/rich", json!({"items": [{"x": 1}], "flag": [true]})).await,
        json!({"type":"bool_type","loc":["body","flag"],"msg":"Input should be a valid boolean","input":[true]})
    );
    assert_eq!(
        post("/rich", json!({"items": [{"x": 1}], "flag": "yes"})).await.0,
        StatusCode::OK
    );
    assert_eq!(
        error_of("/rich", json!({"items": [{"x": 1}], "email": "nobody"})).await,
        json!({"type":"value_error","loc":["body","email"],"msg":"value is not a valid email address: An email address must have an @-sign.","input":"nobody","ctx":{"reason":"An email address must have an @-sign."}})
    );
    assert_eq!(
        error_of("/rich", json!({"items": [{"x": 1}], "site": "not a url"})).await,
        json!({"type":"url_parsing","loc":["body","site"],"msg":"Input should be a valid URL, relative URL without a base","input":"not a url","ctx":{"error":"relative URL without a base"}})
    );
    assert_eq!(
        error_of("/rich", json!({"items": [{"x": 1}], "handle": "bob"})).await["type"],
        "string_pattern_mismatch"
    );
    assert_eq!(
        error_of("/rich", json!({"items": [{"x": 1}], "code": "12"})).await,
        json!({"type":"string_pattern_mismatch","loc":["body","code"],"msg":"String should match pattern '^[0-9]{3}$'","input":"12","ctx":{"pattern":"^[0-9]{3}$"}})
    );
    assert_eq!(
        error_of("/rich", json!({"items": [{"x": 1}], "user": "admin"})).await,
        json!({"type":"value_error","loc":["body","user"],"msg":"Value error, the name admin is reserved","input":"admin","ctx":{"error":"the name admin is reserved"}})
    );
    let e = error_of("/rich", json!({"items": [{"x": 1}], "inner": {"x": 0}})).await;
    assert_eq!(e["loc"], json!(["body", "inner", "x"]));
    let e = error_of("/rich", json!({"items": [{"x": 1}], "inner": 5})).await;
    assert_eq!(e["type"], "model_type");
}

#[tokio::test]
async fn top_level_list_bodies() {
    let e = error_of("/list", json!([{"x": 1}, {"x": "no"}])).await;
    assert_eq!(e["loc"], json!(["body", 1, "x"]));
    let e = error_of("/list", json!({"x": 1})).await;
    assert_eq!(e["type"], "list_type");
}

#[tokio::test]
async fn query_parameters() {
    let c = client();
    let r = c.get("/q?limit=abc").send().await;
    assert_eq!(
        r.json::<Value>().await,
        json!({"detail":[{"type":"int_parsing","loc":["query","limit"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"abc"}]})
    );
    let r = c.get("/q?limit=1&color=blue&flag=maybe").send().await;
    assert_eq!(
        r.json::<Value>().await,
        json!({"detail":[
            {"type":"enum","loc":["query","color"],"msg":"Input should be 'a', 'b' or 'c'","input":"blue","ctx":{"expected":"'a', 'b' or 'c'"}},
            {"type":"bool_parsing","loc":["query","flag"],"msg":"Input should be a valid boolean, unable to interpret input","input":"maybe"}
        ]})
    );
    let r = c.get("/q?limit=&score=-1").send().await;
    let body = r.json::<Value>().await;
    assert_eq!(body["detail"][0]["input"], "");
    assert_eq!(body["detail"][1]["type"], "greater_than_equal");
}

#[tokio::test]
async fn huge_inputs_are_capped_in_the_echo() {
    let long = "x".repeat(100_000);
    let e = error_of("/cons", json!({"name": long, "n": 1})).await;
    assert_eq!(e["type"], "string_too_long");
    assert!(e["input"].as_str().unwrap().len() <= frontdesk::validate::MAX_ECHOED_INPUT + 3);
}

/// Bodies that probe each constraint on both sides of its bound.
fn probes() -> Vec<Value> {
    let mut probes = Vec::new();
    for items in [
        json!([]),
        json!([{"x": 1}]),
        json!([{"x": 1}, {"x": 2}, {"x": 3}]),
        json!([{"x": 0}]),
        json!([{"x": 6}]),
    ] {
        probes.push(json!({"items": items}));
    }
    let base = || json!({"items": [{"x": 3}]});
    for (field, values) in [
        ("email", vec![json!("a@b.co"), json!("nobody"), json!("@b.co")]),
        ("site", vec![json!("https://x.y"), json!("nope")]),
        ("handle", vec![json!("a@b"), json!("ab")]),
        ("code", vec![json!("123"), json!("12"), json!("abc")]),
        (
            "inner",
            vec![json!({"x": 1}), json!({"x": 0}), json!({"x": 5}), json!({"x": 6})],
        ),
    ] {
        for value in values {
            let mut body = base();
            body[field] = value;
            probes.push(body);
        }
    }
    for (name, n, f) in [
        ("ab", 1, 0.5),
        ("abc", 0, 0.5),
        ("abcde", 10, 0.5),
        ("abcdef", 11, 0.99),
        ("abc", 1, 0.0),
        ("abc", 1, 1.0),
    ] {
        probes.push(json!({"name": name, "n": n, "f": f}));
    }
    probes
}

fn summary(errors: &frontdesk::validate::ValidationErrors) -> Vec<(String, Value)> {
    errors
        .errors()
        .iter()
        .map(|e| (e.kind().to_owned(), serde_json::to_value(e.loc()).unwrap()))
        .collect()
}

fn typed_check<T: Validate + serde::de::DeserializeOwned>(body: &Value) -> Option<Vec<(String, Value)>> {
    let value: T = serde_json::from_value(body.clone()).ok()?;
    let mut checker = Checker::new(Source::Body);
    value.validate(&mut checker);
    Some(summary(&checker.into_errors()))
}

#[test]
fn runtime_checks_and_schema_agree_for_every_constraint() {
    // The derive's runtime check and the schema walk (which reads only the
    // published JSON Schema) must find the same errors at the same places.
    for body in probes() {
        let is_cons = body.get("name").is_some();
        let (typed, schema) = if is_cons {
            (
                typed_check::<Cons>(&body),
                summary(&check_json::<Cons>(&body, Source::Body)),
            )
        } else {
            (
                typed_check::<Rich>(&body),
                summary(&check_json::<Rich>(&body, Source::Body)),
            )
        };
        let typed = typed.expect("probe bodies are well typed");
        assert_eq!(typed, schema, "runtime and schema disagree on {body}");
    }
}

#[test]
fn every_rule_is_published_in_the_schema() {
    let rich = frontdesk::validate::request_schema::<Rich>();
    let props = &rich["properties"];
    assert_eq!(props["items"]["minItems"], 1);
    assert_eq!(props["items"]["maxItems"], 2);
    let defs = &rich["$defs"];
    assert_eq!(defs["Inner"]["properties"]["x"]["minimum"], 1);
    assert_eq!(defs["Inner"]["properties"]["x"]["maximum"], 5);
    let text = rich.to_string();
    assert!(text.contains(r#""format":"email""#), "{text}");
    assert!(text.contains(r#""format":"uri""#), "{text}");
    assert!(text.contains(r#""pattern":"^[0-9]{3}$""#), "{text}");
    let cons = frontdesk::validate::request_schema::<Cons>();
    let f = &cons["properties"]["f"];
    assert_eq!(f["exclusiveMinimum"], 0.0);
    assert_eq!(f["exclusiveMaximum"], 1.0);
    assert_eq!(cons["properties"]["code"]["pattern"], "^[a-z]+$");
    assert_eq!(cons["properties"]["name"]["minLength"], 3);
    let strict = frontdesk::validate::request_schema::<Strict>();
    assert_eq!(strict["additionalProperties"], false);
}

#[tokio::test]
async fn the_openapi_document_carries_the_same_rules() {
    let doc = App::new().route(Route::post("/cons", cons)).openapi().unwrap();
    let f = &doc["components"]["schemas"]["Cons"]["properties"]["f"];
    assert_eq!(f["exclusiveMinimum"], 0.0, "{doc}");
}

#[derive(Debug, Deserialize, JsonSchema, Validate)]
struct Login {
    #[validate(length(min = 3))]
    username: String,
    #[validate(range(min = 1))]
    n: u32,
}

async fn login(frontdesk::Form(l): frontdesk::Form<Login>) -> String {
    format!("{} {}", l.username, l.n)
}

#[tokio::test]
async fn forms_are_validated_like_fastapi() {
    let c = TestClient::new(App::new().route(Route::post("/login", login)));
    let form = |body: &'static str| {
        c.post("/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    };
    assert_eq!(
        form("username=ann+lee&n=2").send().await.text().await,
        "ann lee 2"
    );
    let r = form("username=an&n=0").send().await;
    assert_eq!(
        r.json::<Value>().await,
        json!({"detail":[
            {"type":"string_too_short","loc":["body","username"],"msg":"String should have at least 3 characters","input":"an","ctx":{"min_length":3}},
            {"type":"greater_than_equal","loc":["body","n"],"msg":"Input should be greater than or equal to 1","input":"0","ctx":{"ge":1}}
        ]})
    );
    let r = form("n=1").send().await;
    assert_eq!(
        r.json::<Value>().await,
        json!({"detail":[{"type":"missing","loc":["body","username"],"msg":"Field required","input":null}]})
    );
    let r = c
        .post("/login")
        .json(&json!({"username": "ann", "n": 1}))
        .send()
        .await;
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}
