//! The OpenAPI 3.1 document, read off the same types that route and validate.
//!
//! Every extractor and every return type describes itself into an
//! [`OperationDoc`] (parameters, request body, responses, required state); the
//! document builder turns the app's routes into one document when the app is
//! built, and the app serves it as cached bytes from then on. Schemas come from
//! schemars (JSON Schema 2020-12, the dialect of OpenAPI 3.1).

use std::any::TypeId;

use http::StatusCode;
use schemars::generate::{Contract, SchemaGenerator, SchemaSettings};
use schemars::JsonSchema;
use serde_json::{json, Map, Value};

use crate::error::BuildError;
use crate::router::Route;
use crate::validate::{Source, Validate};

/// Which OpenAPI version the document follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OpenApiVersion {
    /// OpenAPI 3.1.0 (the default): streams are described by a `schema` for the
    /// body plus the item schema in an `x-itemSchema` extension, so the document
    /// validates as 3.1.
    #[default]
    V3_1,
    /// OpenAPI 3.2.0: streams use the standard `itemSchema` keyword.
    V3_2,
}

/// The document's `info`, `servers` and top-level `tags`.
#[derive(Debug, Clone)]
pub struct ApiInfo {
    /// The API's title.
    pub title: String,
    /// The API's version.
    pub version: String,
    /// A description (Markdown).
    pub description: Option<String>,
    /// `info.contact`, as JSON (`{"name", "url", "email"}`).
    pub contact: Option<Value>,
    /// `info.license`, as JSON (`{"name", "identifier"}`).
    pub license: Option<Value>,
    /// `servers` entries, as JSON (`{"url", "description"}`).
    pub servers: Vec<Value>,
    /// Top-level tags with descriptions: `(name, description)`.
    pub tags: Vec<(String, String)>,
    /// The OpenAPI version of the document.
    pub openapi_version: OpenApiVersion,
}

impl Default for ApiInfo {
    fn default() -> Self {
        ApiInfo {
            title: "frontdesk".to_owned(),
            version: "0.1.0".to_owned(),
            description: None,
            contact: None,
            license: None,
            servers: Vec::new(),
            tags: Vec::new(),
            openapi_version: OpenApiVersion::V3_1,
        }
    }
}

/// What one operation reads and answers, filled in by its extractors and its
/// return type.
#[derive(Debug)]
pub struct OperationDoc {
    generator: Option<SchemaGenerator>,
    response_generator: Option<SchemaGenerator>,
    path_params: Vec<String>,
    parameters: Vec<Value>,
    request_body: Option<Value>,
    success: Option<(StatusCode, Option<Value>)>,
    responses: Vec<(String, Value)>,
    validates: bool,
    states: Vec<(TypeId, &'static str)>,
    security: Vec<(String, Value)>,
    names: Vec<Registered>,
}

/// A schema registered under a name: the name schemars gave it, the name it
/// asked for, and the Rust type behind it.
#[derive(Debug, Clone)]
struct Registered {
    side: Side,
    assigned: String,
    intended: String,
    rust_id: String,
}

/// Which contract a schema describes: what the server reads, or what it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Request,
    Response,
}

fn generator(side: Side) -> SchemaGenerator {
    SchemaSettings::draft2020_12()
        .with(|s| {
            s.definitions_path = "#/components/schemas".into();
            s.contract = match side {
                Side::Request => Contract::Deserialize,
                Side::Response => Contract::Serialize,
            };
        })
        .into_generator()
}

impl OperationDoc {
    fn new(generators: Option<(SchemaGenerator, SchemaGenerator)>, path_params: Vec<String>) -> Self {
        let (generator, response_generator) = match generators {
            Some((request, response)) => (Some(request), Some(response)),
            None => (None, None),
        };
        OperationDoc {
            generator,
            response_generator,
            path_params,
            parameters: Vec::new(),
            request_body: None,
            success: None,
            responses: Vec::new(),
            validates: false,
            states: Vec::new(),
            security: Vec::new(),
            names: Vec::new(),
        }
    }

    /// A description that only collects facts (required state), no schemas.
    pub(crate) fn new_probe() -> Self {
        OperationDoc::new(None, Vec::new())
    }

    pub(crate) fn required_states(&self) -> &[(TypeId, &'static str)] {
        &self.states
    }

    /// Records that the handler needs the state type `T`.
    pub fn require_state<T: 'static>(&mut self) {
        self.states.push((TypeId::of::<T>(), std::any::type_name::<T>()));
    }

    /// Records that the operation validates input (so it may answer 422).
    pub fn mark_validates(&mut self) {
        self.validates = true;
    }

    /// The schema of `T` as the server writes it — for responses and stream
    /// items (a `$ref` for named types), registering its components.
    pub fn schema_for<T: JsonSchema>(&mut self) -> Value {
        self.side_schema_for::<T>(Side::Response)
    }

    /// The schema of `T` as the server reads it — for request bodies.
    pub fn request_schema_for<T: JsonSchema>(&mut self) -> Value {
        self.side_schema_for::<T>(Side::Request)
    }

    fn side_schema_for<T: JsonSchema>(&mut self, side: Side) -> Value {
        let generator = match side {
            Side::Request => &mut self.generator,
            Side::Response => &mut self.response_generator,
        };
        let Some(generator) = generator else {
            return Value::Bool(true);
        };
        let schema = generator.subschema_for::<T>().to_value();
        if let Some(name) = schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/components/schemas/"))
        {
            self.names.push(Registered {
                side,
                assigned: name.to_owned(),
                intended: T::schema_name().into_owned(),
                rust_id: T::schema_id().into_owned(),
            });
        }
        schema
    }

    /// Declares the parameters of `source` read from the fields of `T` (or, for
    /// a path with a single value or a tuple, from its template's names).
    pub fn parameters_from<T: JsonSchema + Validate>(&mut self, source: Source) {
        self.validates = true;
        let Some(generator) = &mut self.generator else {
            return;
        };
        let name = T::schema_name().into_owned();
        let existed = generator.definitions().contains_key(&name);
        let schema = generator.subschema_for::<T>().to_value();
        T::extend_schema(generator.definitions_mut());
        let resolved = resolve(generator.definitions(), &schema);
        let location = source.as_str();
        if let Some(properties) = resolved.get("properties").and_then(Value::as_object) {
            let required: Vec<&str> = resolved
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            for (field, property) in properties {
                let wire_name = if source == Source::Header {
                    field.replace('_', "-")
                } else {
                    field.clone()
                };
                let mut param = Map::new();
                param.insert("name".into(), Value::String(wire_name));
                param.insert("in".into(), location.into());
                param.insert(
                    "required".into(),
                    Value::Bool(source == Source::Path || required.contains(&field.as_str())),
                );
                let mut property = property.clone();
                if let Some(description) = property.get("description").cloned() {
                    param.insert("description".into(), description);
                }
                if property.get("deprecated") == Some(&Value::Bool(true)) {
                    param.insert("deprecated".into(), Value::Bool(true));
                }
                if let Value::Object(p) = &mut property {
                    p.remove("deprecated");
                }
                param.insert("schema".into(), property);
                self.parameters.push(Value::Object(param));
            }
        } else if source == Source::Path {
            let items: Vec<Value> = match resolved.get("prefixItems").and_then(Value::as_array) {
                Some(items) => items.clone(),
                None => vec![schema.clone()],
            };
            for (name, item) in self.path_params.clone().iter().zip(items) {
                self.parameters.push(json!({
                    "name": name, "in": "path", "required": true, "schema": item
                }));
            }
        }
        // A parameters struct is flattened, not published as a component.
        if !existed {
            if let Some(generator) = &mut self.generator {
                generator.definitions_mut().remove(&name);
            }
        }
    }

    /// Declares one parameter given as a raw OpenAPI Parameter Object (`name`,
    /// `in`, `required`, `schema`, ...), for an extractor whose parameter is not
    /// read off a struct's fields. A parameter with the same `name` and `in` as
    /// one already declared replaces it.
    pub fn parameter(&mut self, parameter: Value) {
        let key = |p: &Value| (p.get("name").cloned(), p.get("in").cloned());
        let new = key(&parameter);
        self.parameters.retain(|p| key(p) != new);
        self.parameters.push(parameter);
    }

    /// Declares a JSON request body of type `T`.
    pub fn request_body_json<T: JsonSchema + Validate>(&mut self) {
        self.validates = true;
        let schema = self.request_schema_for::<T>();
        if let Some(generator) = &mut self.generator {
            T::extend_schema(generator.definitions_mut());
        }
        self.request_body = Some(json!({
            "content": {"application/json": {"schema": schema}},
            "required": true
        }));
    }

    /// Declares a form body (`application/x-www-form-urlencoded`) of type `T`.
    pub fn request_body_form<T: JsonSchema + Validate>(&mut self) {
        self.validates = true;
        let schema = self.request_schema_for::<T>();
        if let Some(generator) = &mut self.generator {
            T::extend_schema(generator.definitions_mut());
        }
        self.request_body = Some(json!({
            "content": {"application/x-www-form-urlencoded": {"schema": schema}},
            "required": true
        }));
    }

    /// Declares a raw request body of the given media type.
    pub fn request_body_raw(&mut self, content_type: &str) {
        self.request_body = Some(json!({
            "content": {content_type: {"schema": {"type": "string"}}},
            "required": true
        }));
    }

    /// A successful JSON response of type `T`.
    pub fn success_json<T: JsonSchema>(&mut self) {
        let mut schema = self.schema_for::<T>();
        if schema == Value::Bool(true) {
            // Any JSON: written `{}`, as FastAPI does.
            schema = json!({});
        }
        self.success = Some((
            StatusCode::OK,
            Some(json!({"application/json": {"schema": schema}})),
        ));
    }

    /// A successful response with any content (the default for untyped returns).
    pub fn success_untyped(&mut self) {
        if self.success.is_none() {
            self.success = Some((StatusCode::OK, Some(json!({"application/json": {"schema": {}}}))));
        }
    }

    /// A successful text (or binary) response of the given media type.
    pub fn success_text(&mut self, content_type: &str) {
        self.success = Some((
            StatusCode::OK,
            Some(json!({content_type: {"schema": {"type": "string"}}})),
        ));
    }

    /// A successful response with this media type and a schema for its content.
    pub fn success_content(&mut self, content: Value) {
        self.success = Some((StatusCode::OK, Some(content)));
    }

    /// A successful streamed response of `media_type` whose items are described
    /// by `item_schema`. OpenAPI 3.1 has no keyword for the items of a stream
    /// (3.2's `itemSchema`), so the document says the body is a string and
    /// carries the item schema in `x-itemSchema`; both validators accept that.
    pub fn stream_content(&mut self, media_type: &str, item_schema: Value) {
        self.success = Some((
            StatusCode::OK,
            Some(json!({media_type: {"schema": {"type": "string"}, "x-itemSchema": item_schema}})),
        ));
    }

    /// A successful response without a body.
    pub fn success_empty(&mut self, status: StatusCode) {
        self.success = Some((status, None));
    }

    /// Documents one response: `status` (e.g. `"401"`) with a description and an
    /// optional JSON schema.
    pub fn response(&mut self, status: &str, description: &str, schema: Option<Value>) {
        let mut response = json!({"description": description});
        if let Some(schema) = schema {
            response["content"] = json!({"application/json": {"schema": schema}});
        }
        self.responses.retain(|(s, _)| s != status);
        self.responses.push((status.to_owned(), response));
    }

    /// Requires a security scheme (`name` → its `securitySchemes` entry).
    pub fn security(&mut self, name: &str, scheme: Value) {
        if !self.security.iter().any(|(n, _)| n == name) {
            self.security.push((name.to_owned(), scheme));
        }
    }
}

fn resolve<'a>(defs: &'a Map<String, Value>, schema: &'a Value) -> &'a Value {
    match schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.rsplit('/').next())
        .and_then(|name| defs.get(name))
    {
        Some(target) => target,
        None => schema,
    }
}

/// The schemas FastAPI publishes for its 422 body, byte for byte.
fn validation_components() -> [(&'static str, Value); 2] {
    [
        (
            "HTTPValidationError",
            json!({"properties":{"detail":{"items":{"$ref":"#/components/schemas/ValidationError"},"type":"array","title":"Detail"}},"type":"object","title":"HTTPValidationError"}),
        ),
        (
            "ValidationError",
            json!({"properties":{"loc":{"items":{"anyOf":[{"type":"string"},{"type":"integer"}]},"type":"array","title":"Location"},"msg":{"type":"string","title":"Message"},"type":{"type":"string","title":"Error Type"},"input":{"title":"Input"},"ctx":{"type":"object","title":"Context"}},"type":"object","required":["loc","msg","type"],"title":"ValidationError"}),
        ),
    ]
}

/// Builds the document from the app's routes.
pub(crate) struct OpenApiBuilder<'a> {
    info: &'a ApiInfo,
}

impl<'a> OpenApiBuilder<'a> {
    pub(crate) fn new(info: &'a ApiInfo) -> Self {
        OpenApiBuilder { info }
    }

    pub(crate) fn build(&self, routes: &[Route]) -> Result<Value, BuildError> {
        let mut generators = (generator(Side::Request), generator(Side::Response));
        let mut operations: Vec<(String, String, Map<String, Value>)> = Vec::new();
        let mut security_schemes = Map::new();
        let mut any_validation = false;
        let mut operation_ids: Vec<(String, String)> = Vec::new();
        let mut registered: Vec<Registered> = Vec::new();
        for route in routes.iter().filter(|r| !r.docs.hidden) {
            let path_params: Vec<String> = crate::app::param_names(&route.path)
                .iter()
                .map(|s| s.to_string())
                .collect();
            let mut doc = OperationDoc::new(Some(generators), path_params);
            (route.describe)(&mut doc);
            let extra: Vec<(String, Value)> = route
                .docs
                .extra_responses
                .iter()
                .map(|extra| {
                    let mut response = json!({"description": extra.description});
                    if let Some(schema) = extra.schema {
                        response["content"] = json!({"application/json": {"schema": schema(&mut doc)}});
                    }
                    (extra.status.as_u16().to_string(), response)
                })
                .collect();
            generators = (
                doc.generator.take().unwrap_or_else(|| generator(Side::Request)),
                doc.response_generator
                    .take()
                    .unwrap_or_else(|| generator(Side::Response)),
            );
            registered.append(&mut doc.names);
            let method = route.method.as_str().to_ascii_lowercase();
            let mut op = Map::new();
            if !route.docs.tags.is_empty() {
                op.insert("tags".into(), json!(route.docs.tags));
            }
            if let Some(summary) = &route.docs.summary {
                op.insert("summary".into(), summary.clone().into());
            }
            if let Some(description) = &route.docs.description {
                op.insert("description".into(), description.clone().into());
            }
            let operation_id = route
                .docs
                .operation_id
                .clone()
                .unwrap_or_else(|| default_operation_id(&method, &route.path));
            if let Some((_, other)) = operation_ids.iter().find(|(id, _)| *id == operation_id) {
                return Err(BuildError::OpenApi(format!(
                    "operationId `{operation_id}` is used by both `{other}` and `{} {}`; give one of them `operation_id`",
                    route.method, route.path
                )));
            }
            operation_ids.push((operation_id.clone(), format!("{} {}", route.method, route.path)));
            op.insert("operationId".into(), operation_id.into());
            if !doc.parameters.is_empty() {
                op.insert("parameters".into(), Value::Array(doc.parameters));
            }
            if let Some(body) = doc.request_body {
                op.insert("requestBody".into(), body);
            }
            let mut responses = Map::new();
            let (default_status, content) = doc
                .success
                .unwrap_or((StatusCode::OK, Some(json!({"application/json": {"schema": {}}}))));
            let status = route.docs.status.unwrap_or(default_status);
            let mut success = json!({"description": success_description(status)});
            if let Some(content) = content.filter(|_| status != StatusCode::NO_CONTENT) {
                success["content"] = content;
            }
            responses.insert(status.as_u16().to_string(), success);
            for (status, response) in doc.responses {
                responses.insert(status, response);
            }
            for (status, response) in extra {
                responses.entry(status).or_insert(response);
            }
            if doc.validates {
                any_validation = true;
                responses.insert(
                    "422".into(),
                    json!({"description": "Validation Error","content":{"application/json":{"schema":{"$ref":"#/components/schemas/HTTPValidationError"}}}}),
                );
            }
            op.insert("responses".into(), Value::Object(responses));
            if !doc.security.is_empty() {
                let requirements: Vec<Value> = doc
                    .security
                    .iter()
                    .map(|(name, _)| json!({ name.as_str(): [] }))
                    .collect();
                op.insert("security".into(), Value::Array(requirements));
                for (name, scheme) in doc.security {
                    security_schemes.insert(name, scheme);
                }
            }
            if route.docs.deprecated {
                op.insert("deprecated".into(), Value::Bool(true));
            }
            operations.push((route.path.clone(), method, op));
        }
        let schemas = merge_contracts(generators, &registered, &mut operations)?;
        if !security_schemes.is_empty() {
            // With security schemes in the document, say so explicitly when an
            // operation needs none (an empty requirement list means public).
            for (_, _, op) in &mut operations {
                op.entry("security").or_insert_with(|| json!([]));
            }
        }
        let mut paths = Map::new();
        for (path, method, op) in operations {
            let item = paths.entry(path).or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(item) = item {
                item.insert(method, Value::Object(op));
            }
        }
        let mut info = Map::new();
        info.insert("title".into(), self.info.title.clone().into());
        info.insert("version".into(), self.info.version.clone().into());
        if let Some(d) = &self.info.description {
            info.insert("description".into(), d.clone().into());
        }
        if let Some(c) = &self.info.contact {
            info.insert("contact".into(), c.clone());
        }
        if let Some(l) = &self.info.license {
            info.insert("license".into(), l.clone());
        }
        let mut document = Map::new();
        let version = match self.info.openapi_version {
            OpenApiVersion::V3_1 => "3.1.0",
            OpenApiVersion::V3_2 => "3.2.0",
        };
        document.insert("openapi".into(), version.into());
        document.insert("info".into(), Value::Object(info));
        if !self.info.servers.is_empty() {
            document.insert("servers".into(), Value::Array(self.info.servers.clone()));
        }
        document.insert("paths".into(), Value::Object(paths));
        let mut schemas = schemas;
        if any_validation {
            for (name, schema) in validation_components() {
                schemas.insert(name.to_owned(), schema);
            }
        }
        let mut components = Map::new();
        if !schemas.is_empty() {
            let mut sorted: Vec<(String, Value)> = schemas.into_iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            components.insert("schemas".into(), Value::Object(sorted.into_iter().collect()));
        }
        if !security_schemes.is_empty() {
            components.insert("securitySchemes".into(), Value::Object(security_schemes));
        }
        if !components.is_empty() {
            document.insert("components".into(), Value::Object(components));
        }
        let mut document = Value::Object(document);
        if self.info.openapi_version == OpenApiVersion::V3_2 {
            use_item_schema(&mut document);
        }
        let Value::Object(mut document) = document else {
            unreachable!("built as an object")
        };
        if !self.info.tags.is_empty() {
            let tags: Vec<Value> = self
                .info
                .tags
                .iter()
                .map(|(name, description)| json!({"name": name, "description": description}))
                .collect();
            document.insert("tags".into(), Value::Array(tags));
        }
        Ok(Value::Object(document))
    }
}

/// `crate::api::Page<crate::api::User>` → `Page_User`.
fn generic_name(intended: &str, rust_id: &str) -> Option<String> {
    let start = rust_id.find('<')?;
    let args = &rust_id[start + 1..rust_id.rfind('>')?];
    let mut name = intended.to_owned();
    for part in args.split(['<', '>', ',']) {
        let short = part.trim().rsplit("::").next().unwrap_or("").trim();
        if !short.is_empty() {
            name.push('_');
            name.push_str(short);
        }
    }
    Some(name)
}

/// Chooses stable names: a generic type gets its arguments in its name
/// (`Page_User`), and two different types that want one name are an error
/// naming both (schemars alone would silently call the second `Page2`).
fn stable_names(
    registered: &[Registered],
    schemas: &Map<String, Value>,
) -> Result<Vec<(String, String)>, BuildError> {
    let mut chosen: Vec<(String, String, String)> = Vec::new(); // (assigned, desired, rust_id)
    for r in registered {
        if chosen
            .iter()
            .any(|(a, _, id)| *a == r.assigned && *id == r.rust_id)
        {
            continue;
        }
        let desired = if r.intended == r.assigned || r.assigned.starts_with(&r.intended) {
            generic_name(&r.intended, &r.rust_id).unwrap_or_else(|| r.intended.clone())
        } else {
            // A `#[schemars(rename = ..)]` name: keep it.
            r.assigned.clone()
        };
        chosen.push((r.assigned.clone(), desired, r.rust_id.clone()));
    }
    for (i, (_, desired, id)) in chosen.iter().enumerate() {
        if let Some((_, _, other)) = chosen[..i]
            .iter()
            .find(|(_, d, other)| d == desired && other != id)
        {
            return Err(BuildError::OpenApi(format!(
                "two different types want the schema name `{desired}`: `{other}` and `{id}`; rename one with `#[schemars(rename = \"...\")]`"
            )));
        }
    }
    // Names given to nested types schemars had to number (`Item2`): a collision
    // between types the operations did not name directly.
    for key in schemas.keys() {
        let base = key.trim_end_matches(|c: char| c.is_ascii_digit());
        if base.len() < key.len()
            && schemas.contains_key(base)
            && !chosen.iter().any(|(a, d, _)| a == key && d != key)
        {
            let known: Vec<&str> = chosen
                .iter()
                .filter(|(a, _, _)| a == base || a == key)
                .map(|(_, _, id)| id.as_str())
                .collect();
            return Err(BuildError::OpenApi(format!(
                "two different types want the schema name `{base}` (schemars named the second `{key}`){}; rename one with `#[schemars(rename = \"...\")]`",
                if known.is_empty() { String::new() } else { format!(": {}", known.join(", ")) }
            )));
        }
    }
    let mut renames = Vec::new();
    for (assigned, desired, id) in &chosen {
        if assigned != desired && !renames.iter().any(|(a, _): &(String, String)| a == assigned) {
            if schemas.contains_key(desired.as_str()) && !chosen.iter().any(|(a, _, _)| a == desired) {
                return Err(BuildError::OpenApi(format!(
                    "the schema name `{desired}` (for `{id}`) is already taken by another type; rename one with `#[schemars(rename = \"...\")]`"
                )));
            }
            renames.push((assigned.clone(), desired.clone()));
        }
    }
    Ok(renames)
}

/// OpenAPI 3.2: stream media types carry their items in `itemSchema`.
fn use_item_schema(document: &mut Value) {
    let Some(Value::Object(paths)) = document.get_mut("paths") else {
        return;
    };
    for item in paths.values_mut() {
        let Value::Object(operations) = item else { continue };
        for operation in operations.values_mut() {
            let Some(Value::Object(responses)) = operation.get_mut("responses") else {
                continue;
            };
            for response in responses.values_mut() {
                let Some(Value::Object(content)) = response.get_mut("content") else {
                    continue;
                };
                for media in content.values_mut() {
                    if let Value::Object(media) = media {
                        if let Some(items) = media.remove("x-itemSchema") {
                            media.remove("schema");
                            media.insert("itemSchema".into(), items);
                        }
                    }
                }
            }
        }
    }
}

/// Rewrites every `$ref` to a renamed component.
fn rewrite_refs(value: &mut Value, renames: &[(String, String)]) {
    if renames.is_empty() {
        return;
    }
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if key == "$ref" {
                    if let Value::String(reference) = child {
                        if let Some(name) = reference.strip_prefix("#/components/schemas/") {
                            if let Some((_, to)) = renames.iter().find(|(from, _)| from == name) {
                                *reference = format!("#/components/schemas/{to}");
                            }
                        }
                    }
                } else {
                    rewrite_refs(child, renames);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_refs(v, renames)),
        _ => {}
    }
}

/// Renames the components of one side and the references to them.
fn rename_side(schemas: Map<String, Value>, renames: &[(String, String)]) -> Map<String, Value> {
    schemas
        .into_iter()
        .map(|(name, mut schema)| {
            rewrite_refs(&mut schema, renames);
            let name = renames
                .iter()
                .find(|(from, _)| *from == name)
                .map_or(name, |(_, to)| to.clone());
            (name, schema)
        })
        .collect()
}

/// The parts of an operation that the request contract describes.
fn request_parts(op: &mut Map<String, Value>) -> impl Iterator<Item = &mut Value> {
    op.iter_mut()
        .filter(|(k, _)| *k == "parameters" || *k == "requestBody")
        .map(|(_, v)| v)
}

/// Merges the request-side (deserialize) and response-side (serialize)
/// schemas: a type whose two contracts agree is published once; one whose
/// contracts differ becomes `Name-Input` and `Name-Output`, as in FastAPI.
fn merge_contracts(
    (mut request, mut response): (SchemaGenerator, SchemaGenerator),
    registered: &[Registered],
    operations: &mut [(String, String, Map<String, Value>)],
) -> Result<Map<String, Value>, BuildError> {
    let side_names =
        |side: Side| -> Vec<Registered> { registered.iter().filter(|r| r.side == side).cloned().collect() };
    let mut request_schemas: Map<String, Value> = request.take_definitions(true).into_iter().collect();
    let mut response_schemas: Map<String, Value> = response.take_definitions(true).into_iter().collect();
    let request_renames = stable_names(&side_names(Side::Request), &request_schemas)?;
    let response_renames = stable_names(&side_names(Side::Response), &response_schemas)?;
    request_schemas = rename_side(request_schemas, &request_renames);
    response_schemas = rename_side(response_schemas, &response_renames);
    let id_of = |side: Side, name: &str| {
        registered.iter().find(|r| {
            r.side == side
                && (r.assigned == name
                    || request_renames
                        .iter()
                        .chain(&response_renames)
                        .any(|(f, t)| *f == r.assigned && t == name))
        })
    };
    let mut split_request = Vec::new();
    let mut split_response = Vec::new();
    for (name, schema) in &request_schemas {
        let Some(other) = response_schemas.get(name) else {
            continue;
        };
        if let (Some(a), Some(b)) = (id_of(Side::Request, name), id_of(Side::Response, name)) {
            if a.rust_id != b.rust_id {
                return Err(BuildError::OpenApi(format!(
                    "two different types want the schema name `{name}`: `{}` and `{}`; rename one with `#[schemars(rename = \"...\")]`",
                    a.rust_id, b.rust_id
                )));
            }
        }
        if schema != other {
            split_request.push((name.clone(), format!("{name}-Input")));
            split_response.push((name.clone(), format!("{name}-Output")));
        }
    }
    let request_schemas = rename_side(request_schemas, &split_request);
    let response_schemas = rename_side(response_schemas, &split_response);
    for (_, _, op) in operations.iter_mut() {
        for part in request_parts(op) {
            rewrite_refs(part, &request_renames);
            rewrite_refs(part, &split_request);
        }
        if let Some(responses) = op.get_mut("responses") {
            rewrite_refs(responses, &response_renames);
            rewrite_refs(responses, &split_response);
        }
    }
    let mut merged = request_schemas;
    for (name, schema) in response_schemas {
        merged.entry(name).or_insert(schema);
    }
    let mut sorted: Vec<(String, Value)> = merged.into_iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(sorted.into_iter().collect())
}

fn success_description(status: StatusCode) -> &'static str {
    match status.as_u16() {
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        _ => "Successful Response",
    }
}

/// `get_items__id_`: the method, then the path with every non-word character
/// replaced by `_`.
fn default_operation_id(method: &str, path: &str) -> String {
    let cleaned: String = path
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{method}{cleaned}")
}
