//! Route: method + path matched to one endpoint.
//!
//! A [`Route`] is one operation: a method, a path template (`/items/{id}`,
//! catch-all `/files/{*path}`), a handler and its documentation. A [`Router`]
//! groups routes under a prefix with shared tags, limits and tower layers, and
//! nests into an [`App`](crate::App). Paths are matched by `matchit` once the app is
//! built; a malformed or conflicting template fails the build with a message
//! naming the route.

use std::convert::Infallible;
use std::sync::Arc;

use http::{Method, StatusCode};
use tower::util::BoxCloneSyncService;
use tower_layer::Layer;
use tower_service::Service;

use crate::body::Body;
use crate::endpoint::{Erased, ErasedHandler, Handler};
use crate::extract::StateMap;
use crate::limits::{limit_setters, Limits, Overrides};
use crate::openapi::OperationDoc;
use crate::response::Response;

/// A type-erased tower service over frontdesk's request and response types: what
/// a layered route becomes.
pub type BoxedService = BoxCloneSyncService<http::Request<Body>, Response, Infallible>;

pub(crate) type LayerFn = Arc<dyn RouteLayer>;

/// A tower [`Layer`] that can wrap routes: any layer whose service takes and
/// gives frontdesk's request and response types (tower-http's layers do).
/// Implemented for every such layer; there is nothing to implement by hand.
pub trait RouteLayer: Send + Sync + 'static {
    /// Wraps a route's service.
    fn wrap(&self, inner: BoxedService) -> BoxedService;
}

impl<L> RouteLayer for L
where
    L: Layer<BoxedService> + Send + Sync + 'static,
    L::Service:
        Service<http::Request<Body>, Response = Response, Error = Infallible> + Clone + Send + Sync + 'static,
    <L::Service as Service<http::Request<Body>>>::Future: Send + 'static,
{
    fn wrap(&self, inner: BoxedService) -> BoxedService {
        BoxCloneSyncService::new(self.layer(inner))
    }
}

/// How a route's OpenAPI operation is described: metadata given by the user or
/// the endpoint macros.
#[derive(Debug, Clone, Default)]
pub struct RouteDocs {
    pub(crate) summary: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) operation_id: Option<String>,
    pub(crate) tags: Vec<String>,
    pub(crate) deprecated: bool,
    pub(crate) hidden: bool,
    pub(crate) status: Option<StatusCode>,
    pub(crate) extra_responses: Vec<ExtraResponse>,
}

/// A response documented on the route: a status, a description and, for
/// [`Route::response_json`], the schema of its JSON body.
#[derive(Debug, Clone)]
pub(crate) struct ExtraResponse {
    pub(crate) status: StatusCode,
    pub(crate) description: String,
    pub(crate) schema: Option<fn(&mut OperationDoc) -> serde_json::Value>,
}

/// One endpoint: method, path template, handler, documentation and settings.
///
/// ```
/// use frontdesk::prelude::*;
///
/// async fn health() -> &'static str { "ok" }
///
/// let route = Route::get("/health", health).summary("Liveness probe").tag("ops");
/// let app = App::new().route(route);
/// # let _ = app;
/// ```
#[derive(Clone)]
pub struct Route {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) handler: Arc<dyn ErasedHandler>,
    pub(crate) describe: fn(&mut OperationDoc),
    pub(crate) docs: RouteDocs,
    pub(crate) overrides: Overrides,
    pub(crate) layers: Vec<LayerFn>,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Route")
            .field("method", &self.method)
            .field("path", &self.path)
            .finish()
    }
}

macro_rules! method_constructors {
    ($($name:ident => $method:ident),*) => {$(
        #[doc = concat!("A `", stringify!($method), "` route.")]
        pub fn $name<H, Args>(path: &str, handler: H) -> Self
        where
            H: Handler<Args>,
            Args: 'static,
        {
            Route::new(Method::$method, path, handler)
        }
    )*};
}

impl Route {
    /// A route for any method.
    pub fn new<H, Args>(method: Method, path: &str, handler: H) -> Self
    where
        H: Handler<Args>,
        Args: 'static,
    {
        Route {
            method,
            path: path.to_owned(),
            handler: Arc::new(Erased::<H, Args>::new(handler)),
            describe: <H as Handler<Args>>::describe,
            docs: RouteDocs::default(),
            overrides: Overrides::default(),
            layers: Vec::new(),
        }
    }

    method_constructors!(get => GET, post => POST, put => PUT, patch => PATCH, delete => DELETE, options => OPTIONS);

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The path template.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The operation's one-line summary.
    pub fn summary(mut self, summary: impl Into<String>) -> Self {
        self.docs.summary = Some(summary.into());
        self
    }

    /// The operation's longer description (Markdown).
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.docs.description = Some(description.into());
        self
    }

    /// The operation id (default: the handler's name when given by the macros,
    /// else derived from method and path).
    pub fn operation_id(mut self, id: impl Into<String>) -> Self {
        self.docs.operation_id = Some(id.into());
        self
    }

    /// Adds a tag (groups operations in the docs).
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.docs.tags.push(tag.into());
        self
    }

    /// Marks the operation deprecated in the document.
    pub fn deprecated(mut self) -> Self {
        self.docs.deprecated = true;
        self
    }

    /// Leaves the operation out of the OpenAPI document (it still serves).
    pub fn hidden(mut self) -> Self {
        self.docs.hidden = true;
        self
    }

    /// The status of a successful response (e.g. 201, 202); replaces the 200
    /// (or 204) the return value would give.
    pub fn status(mut self, status: StatusCode) -> Self {
        self.docs.status = Some(status);
        self
    }

    /// Documents one more response this operation may give.
    pub fn response(mut self, status: StatusCode, description: impl Into<String>) -> Self {
        self.docs.extra_responses.push(ExtraResponse {
            status,
            description: description.into(),
            schema: None,
        });
        self
    }

    /// Documents one more response with a JSON body of type `T` (e.g. the
    /// `{"detail": ...}` of an upstream failure).
    ///
    /// ```
    /// use frontdesk::prelude::*;
    ///
    /// /// The body of every error.
    /// #[derive(Serialize, JsonSchema)]
    /// struct ErrorDetail { detail: String }
    ///
    /// async fn chat() -> &'static str { "hi" }
    ///
    /// let app = App::new().route(
    ///     Route::post("/chat", chat).response_json::<ErrorDetail>(StatusCode::BAD_GATEWAY, "The model failed"),
    /// );
    /// let doc = app.openapi().unwrap();
    /// assert_eq!(
    ///     doc["paths"]["/chat"]["post"]["responses"]["502"]["content"]["application/json"]["schema"]["$ref"],
    ///     "#/components/schemas/ErrorDetail"
    /// );
    /// ```
    pub fn response_json<T: schemars::JsonSchema>(
        mut self,
        status: StatusCode,
        description: impl Into<String>,
    ) -> Self {
        self.docs.extra_responses.push(ExtraResponse {
            status,
            description: description.into(),
            schema: Some(|doc| doc.schema_for::<T>()),
        });
        self
    }

    /// Wraps this route's handler in a tower layer.
    pub fn layer(mut self, layer: impl RouteLayer) -> Self {
        self.layers.push(Arc::new(layer));
        self
    }

    limit_setters!();
}

/// A group of routes under a common prefix, with shared tags, limits and layers.
///
/// ```
/// use frontdesk::prelude::*;
///
/// async fn list() -> &'static str { "[]" }
///
/// let v1 = Router::new("/v1").tag("v1").route(Route::get("/items", list));
/// let app = App::new().nest(v1);
/// # let _ = app;
/// ```
#[derive(Clone, Default)]
pub struct Router {
    pub(crate) prefix: String,
    pub(crate) routes: Vec<Route>,
    pub(crate) tags: Vec<String>,
    pub(crate) overrides: Overrides,
    pub(crate) layers: Vec<LayerFn>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("prefix", &self.prefix)
            .field("routes", &self.routes)
            .finish()
    }
}

impl Router {
    /// A router whose routes live under `prefix` (e.g. `/v1`; may be empty).
    pub fn new(prefix: &str) -> Self {
        Router {
            prefix: prefix.trim_end_matches('/').to_owned(),
            ..Router::default()
        }
    }

    /// Adds a route (a [`Route`], or an endpoint made by the route macros).
    pub fn route(mut self, route: impl Into<Route>) -> Self {
        self.routes.push(route.into());
        self
    }

    /// Nests another router under this one's prefix.
    pub fn nest(mut self, router: Router) -> Self {
        for route in router.flatten() {
            self.routes.push(route);
        }
        self
    }

    /// Adds a tag to every route of this router.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// Wraps every route of this router in a tower layer.
    pub fn layer(mut self, layer: impl RouteLayer) -> Self {
        self.layers.push(Arc::new(layer));
        self
    }

    limit_setters!();

    /// The routes with this router's prefix, tags, limits and layers applied.
    pub(crate) fn flatten(self) -> Vec<Route> {
        let Router {
            prefix,
            routes,
            tags,
            overrides,
            layers,
        } = self;
        routes
            .into_iter()
            .map(|mut route| {
                route.path = join(&prefix, &route.path);
                let mut all_tags = tags.clone();
                all_tags.extend(route.docs.tags.drain(..).filter(|t| !tags.contains(t)));
                route.docs.tags = all_tags;
                route.overrides = merge(overrides, route.overrides);
                route.layers.extend(layers.iter().cloned());
                route
            })
            .collect()
    }
}

fn join(prefix: &str, path: &str) -> String {
    if prefix.is_empty() {
        return path.to_owned();
    }
    if path == "/" || path.is_empty() {
        return prefix.to_owned();
    }
    format!("{prefix}{path}")
}

/// `inner` settings win over `outer` ones.
pub(crate) fn merge(outer: Overrides, inner: Overrides) -> Overrides {
    Overrides {
        body_limit: inner.body_limit.or(outer.body_limit),
        timeout: inner.timeout.or(outer.timeout),
        strict_content_type: inner.strict_content_type.or(outer.strict_content_type),
        coercion: inner.coercion.or(outer.coercion),
    }
}

/// What every request to a route needs at run time, shared by reference.
pub(crate) struct RouteRuntime {
    pub(crate) path: String,
    pub(crate) limits: Limits,
    pub(crate) status: Option<StatusCode>,
    pub(crate) shared: Arc<Shared>,
}

/// State shared by every route of one app.
pub(crate) struct Shared {
    pub(crate) states: StateMap,
}
