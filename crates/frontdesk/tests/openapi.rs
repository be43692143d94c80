//! The OpenAPI document: read off the handlers' types, FastAPI's conventions
//! where they are right, stable names, and build-time errors for ambiguity.

use frontdesk::openapi::OpenApiVersion;
use frontdesk::prelude::*;
use frontdesk::testing::TestClient;
use frontdesk::{BuildError, JsonLines};
use futures_util::stream;
use serde_json::{json, Value};

async fn root() -> Json<Value> {
    Json(json!({"message": "Hello World"}))
}

#[test]
fn a_minimal_app_has_no_components_and_no_422() {
    let doc = App::new()
        .title("FastAPI")
        .route(Route::get("/", root).operation_id("root__get").summary("Root"))
        .openapi()
        .unwrap();
    assert_eq!(
        doc,
        json!({"openapi":"3.1.0","info":{"title":"FastAPI","version":"0.1.0"},"paths":{"/":{"get":{"summary":"Root","operationId":"root__get","responses":{"200":{"description":"Successful Response","content":{"application/json":{"schema":{}}}}}}}}})
    );
}

#[derive(Deserialize, JsonSchema, Validate)]
struct Search {
    /// What to look for.
    #[validate(length(min = 1, max = 200))]
    q: String,
    #[serde(default = "ten")]
    #[validate(range(min = 1, max = 50))]
    limit: u32,
}

fn ten() -> u32 {
    10
}

#[derive(Deserialize, JsonSchema, Validate)]
#[allow(dead_code)]
struct Auth {
    x_api_key: String,
}

#[derive(Serialize, JsonSchema)]
struct Hit {
    id: String,
}

async fn search(
    Path(_index): Path<String>,
    Query(_q): Query<Search>,
    Headers(_h): Headers<Auth>,
) -> Json<Vec<Hit>> {
    Json(Vec::new())
}

#[test]
fn parameters_are_flattened_with_their_constraints() {
    let doc = App::new()
        .route(Route::get("/indexes/{index}/search", search))
        .openapi()
        .unwrap();
    let op = &doc["paths"]["/indexes/{index}/search"]["get"];
    assert_eq!(
        op["parameters"],
        json!([
            {"name":"index","in":"path","required":true,"schema":{"type":"string"}},
            {"name":"q","in":"query","required":true,"description":"What to look for.","schema":{"type":"string","minLength":1,"maxLength":200,"description":"What to look for."}},
            {"name":"limit","in":"query","required":false,"schema":{"type":"integer","format":"uint32","minimum":1,"maximum":50,"default":10}},
            {"name":"x-api-key","in":"header","required":true,"schema":{"type":"string"}}
        ])
    );
    assert_eq!(
        op["responses"]["422"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/HTTPValidationError"
    );
    let schemas = &doc["components"]["schemas"];
    assert!(
        schemas.get("Search").is_none(),
        "parameter structs are not components"
    );
    assert_eq!(
        schemas["ValidationError"],
        json!({"properties":{"loc":{"items":{"anyOf":[{"type":"string"},{"type":"integer"}]},"type":"array","title":"Location"},"msg":{"type":"string","title":"Message"},"type":{"type":"string","title":"Error Type"},"input":{"title":"Input"},"ctx":{"type":"object","title":"Context"}},"type":"object","required":["loc","msg","type"],"title":"ValidationError"})
    );
    assert_eq!(
        op["responses"]["200"]["content"]["application/json"]["schema"]["items"]["$ref"],
        "#/components/schemas/Hit"
    );
}

mod users {
    use frontdesk::prelude::*;
    /// A user.
    #[derive(Serialize, JsonSchema)]
    pub(crate) struct User {
        pub(crate) name: String,
    }
    /// An item of the users module.
    #[derive(Serialize, JsonSchema)]
    pub(crate) struct Item {
        pub(crate) user: String,
    }
}

mod teams {
    use frontdesk::prelude::*;
    /// A team.
    #[derive(Serialize, JsonSchema)]
    pub(crate) struct Team {
        pub(crate) size: u32,
    }
    /// An item of the teams module.
    #[derive(Serialize, JsonSchema)]
    pub(crate) struct Item {
        pub(crate) team: String,
    }
}

#[derive(Serialize, JsonSchema)]
struct Page<T> {
    items: Vec<T>,
    next: Option<String>,
}

async fn user_page() -> Json<Page<users::User>> {
    Json(Page {
        items: Vec::new(),
        next: None,
    })
}

async fn team_page() -> Json<Page<teams::Team>> {
    Json(Page {
        items: Vec::new(),
        next: None,
    })
}

#[test]
fn generic_schemas_get_stable_names() {
    let doc = App::new()
        .route(Route::get("/users", user_page))
        .route(Route::get("/teams", team_page))
        .openapi()
        .unwrap();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let names: Vec<&String> = schemas.keys().collect();
    assert_eq!(names, ["Page_Team", "Page_User", "Team", "User"]);
    assert_eq!(
        doc["paths"]["/users"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Page_User"
    );
    assert_eq!(
        doc["paths"]["/teams"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Page_Team"
    );
    assert!(!doc.to_string().contains("Page2"));
}

async fn user_item() -> Json<users::Item> {
    Json(users::Item { user: String::new() })
}

async fn team_item() -> Json<teams::Item> {
    Json(teams::Item { team: String::new() })
}

#[test]
fn two_types_with_one_name_fail_at_build_naming_both() {
    let err = App::new()
        .route(Route::get("/a", user_item))
        .route(Route::get("/b", team_item))
        .build()
        .unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, BuildError::OpenApi(_)));
    assert!(
        message.contains("users::Item") && message.contains("teams::Item"),
        "{message}"
    );
}

#[test]
fn duplicate_operation_ids_fail_at_build() {
    let err = App::new()
        .route(Route::get("/a", root).operation_id("same"))
        .route(Route::get("/b", root).operation_id("same"))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("operationId `same`"), "{err}");
}

#[derive(Serialize, JsonSchema)]
struct Delta {
    delta: String,
}

async fn sse() -> Sse<impl Stream<Item = Event>, Delta> {
    Sse::new(stream::iter([Event::json(&Delta { delta: "x".into() })]))
}

async fn lines() -> JsonLines<impl Stream<Item = Delta>, Delta> {
    JsonLines::new(stream::iter([Delta { delta: "x".into() }]))
}

#[test]
fn streams_document_their_items_in_a_valid_way() {
    let app = || {
        App::new()
            .route(Route::get("/sse", sse))
            .route(Route::get("/lines", lines))
    };
    let doc = app().openapi().unwrap();
    let media = &doc["paths"]["/sse"]["get"]["responses"]["200"]["content"]["text/event-stream"];
    assert_eq!(media["schema"], json!({"type": "string"}));
    assert_eq!(
        media["x-itemSchema"]["properties"]["data"]["contentSchema"]["$ref"],
        "#/components/schemas/Delta"
    );
    assert!(
        doc.to_string().find("\"itemSchema\"").is_none(),
        "3.1 documents do not use the 3.2 keyword"
    );
    let jsonl = &doc["paths"]["/lines"]["get"]["responses"]["200"]["content"]["application/jsonl"];
    assert_eq!(jsonl["x-itemSchema"]["$ref"], "#/components/schemas/Delta");

    let doc = app().openapi_version(OpenApiVersion::V3_2).openapi().unwrap();
    assert_eq!(doc["openapi"], "3.2.0");
    let media = &doc["paths"]["/sse"]["get"]["responses"]["200"]["content"]["text/event-stream"];
    assert!(media.get("schema").is_none());
    assert_eq!(media["itemSchema"]["required"], json!(["data"]));
}

#[test]
fn info_tags_servers_and_route_metadata() {
    let doc = App::new()
        .title("Chat API")
        .version("1.2.3")
        .description("Talk to a model.")
        .contact("Ops", "", "ops@example.com")
        .license("MIT OR Apache-2.0", "MIT OR Apache-2.0")
        .server("http://127.0.0.1:8000", "local")
        .tag("chat", "Talking to the model")
        .route(
            Route::post("/chat", root)
                .summary("Chat")
                .description("Long text")
                .tag("chat")
                .deprecated()
                .status(frontdesk::http::StatusCode::CREATED)
                .response(frontdesk::http::StatusCode::CONFLICT, "Already exists"),
        )
        .route(Route::get("/hidden", root).hidden())
        .openapi()
        .unwrap();
    assert_eq!(
        doc["info"]["contact"],
        json!({"name":"Ops","email":"ops@example.com"})
    );
    assert_eq!(doc["servers"][0]["url"], "http://127.0.0.1:8000");
    assert_eq!(
        doc["tags"],
        json!([{"name":"chat","description":"Talking to the model"}])
    );
    let op = &doc["paths"]["/chat"]["post"];
    assert_eq!(op["tags"], json!(["chat"]));
    assert_eq!(op["deprecated"], true);
    assert_eq!(op["responses"]["201"]["description"], "Created");
    assert_eq!(op["responses"]["409"]["description"], "Already exists");
    assert!(doc["paths"].get("/hidden").is_none());
}

#[tokio::test]
async fn the_document_and_the_page_are_served_and_can_move_or_go() {
    let c = TestClient::new(App::new().route(Route::get("/", root)));
    let r = c.get("/openapi.json").send().await;
    assert_eq!(r.header("content-type"), "application/json");
    assert_eq!(r.json::<Value>().await["openapi"], "3.1.0");
    let r = c.get("/docs").send().await;
    assert_eq!(r.header("content-type"), "text/html; charset=utf-8");
    assert!(r.text().await.contains("/openapi.json"));

    let c = TestClient::new(
        App::new()
            .openapi_path(Some("/spec.json"))
            .docs_path(None)
            .route(Route::get("/", root)),
    );
    assert_eq!(c.get("/spec.json").send().await.status(), 200);
    assert_eq!(c.get("/openapi.json").send().await.status(), 404);
    assert_eq!(c.get("/docs").send().await.status(), 404);
}

#[tokio::test]
async fn swagger_ui_is_opt_in() {
    let c = TestClient::new(App::new().route(Route::get("/", root)));
    assert_eq!(c.get("/docs/swagger").send().await.status(), 404);
    let c = TestClient::new(
        App::new()
            .swagger_ui("https://cdn.example/swagger-ui-dist@5")
            .route(Route::get("/", root)),
    );
    let r = c.get("/docs/swagger").send().await;
    assert_eq!(r.status(), 200);
    assert!(r
        .text()
        .await
        .contains("https://cdn.example/swagger-ui-dist@5/swagger-ui-bundle.js"));
}

/// Read with a default, written always: its two contracts differ.
#[derive(Serialize, Deserialize, JsonSchema, Validate)]
struct Note {
    text: String,
    #[serde(default)]
    pinned: bool,
}

/// The same both ways.
#[derive(Serialize, Deserialize, JsonSchema, Validate)]
struct Tag {
    name: String,
}

async fn echo_note(Json(note): Json<Note>) -> Json<Note> {
    Json(note)
}

async fn echo_tag(Json(tag): Json<Tag>) -> Json<Tag> {
    Json(tag)
}

#[test]
fn request_and_response_contracts_may_differ() {
    let doc = App::new()
        .route(Route::post("/notes", echo_note))
        .route(Route::post("/tags", echo_tag))
        .openapi()
        .unwrap();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    assert_eq!(schemas["Note-Input"]["required"], json!(["text"]));
    assert_eq!(schemas["Note-Output"]["required"], json!(["text", "pinned"]));
    assert!(schemas.get("Note").is_none());
    assert!(
        schemas.get("Tag").is_some() && schemas.get("Tag-Input").is_none(),
        "identical contracts are published once"
    );
    let op = &doc["paths"]["/notes"]["post"];
    assert_eq!(
        op["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Note-Input"
    );
    assert_eq!(
        op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Note-Output"
    );
}

/// A bearer-token dependency that documents itself.
struct Bearer;

impl FromRequestParts for Bearer {
    async fn from_request_parts(_ctx: &mut RequestContext) -> Result<Self, Rejection> {
        Ok(Bearer)
    }

    fn describe(doc: &mut frontdesk::openapi::OperationDoc) {
        doc.security("HTTPBearer", json!({"type": "http", "scheme": "bearer"}));
        doc.response("401", "Not authenticated", None);
    }
}

async fn private(_: Bearer) -> &'static str {
    "secret"
}

#[test]
fn security_is_explicit_on_every_operation_once_schemes_exist() {
    let doc = App::new()
        .route(Route::get("/private", private))
        .route(Route::get("/public", root))
        .openapi()
        .unwrap();
    assert_eq!(
        doc["components"]["securitySchemes"]["HTTPBearer"],
        json!({"type": "http", "scheme": "bearer"})
    );
    assert_eq!(
        doc["paths"]["/private"]["get"]["security"],
        json!([{"HTTPBearer": []}])
    );
    assert_eq!(
        doc["paths"]["/private"]["get"]["responses"]["401"]["description"],
        "Not authenticated"
    );
    assert!(
        doc["paths"]["/private"]["get"]["responses"].get("422").is_none(),
        "nothing to validate, no 422"
    );
    assert_eq!(doc["paths"]["/public"]["get"]["security"], json!([]));
}
