//! The app: routes, state, settings and documents assembled once, then served.
//!
//! [`App`] is the builder a user writes; [`App::build`] checks it (path templates,
//! duplicate routes, missing state, the OpenAPI document) and returns an
//! [`AppService`]: a cheap-to-clone `tower::Service` that can be handed to
//! [`serve`](crate::serve), to a hand-written hyper loop, or mounted inside
//! another tower or axum service.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use http::{Method, StatusCode};
use tower::ServiceExt;
use tower_service::Service;

use crate::body::{Body, BoxError};
use crate::endpoint::{BoxFuture, CatchPanic, ErasedHandler, InlineCall};
use crate::error::{BuildError, HttpError};
use crate::extract::{RequestContext, StateMap};
use crate::limits::{limit_setters, Limits, Overrides};
use crate::openapi::{ApiInfo, OpenApiBuilder};
use crate::response::{IntoResponse, Response};
use crate::router::{merge, BoxedService, LayerFn, Route, RouteRuntime, Router, Shared};
use crate::server::{Activity, CountedBody, InFlight, SweepTimer};

/// A frontdesk application under construction.
///
/// ```
/// use frontdesk::prelude::*;
///
/// async fn hello() -> Json<serde_json::Value> {
///     Json(serde_json::json!({"message": "hello"}))
/// }
///
/// let service = App::new().title("Hello API").route(Route::get("/hello", hello)).build().unwrap();
/// # let _ = service;
/// ```
pub struct App {
    router: Router,
    states: StateMap,
    pub(crate) overrides: Overrides,
    info: ApiInfo,
    openapi_path: Option<String>,
    docs_path: Option<String>,
    swagger_cdn: Option<String>,
    redirect_trailing_slash: bool,
}

impl Default for App {
    fn default() -> Self {
        App::new()
    }
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("routes", &self.router.routes)
            .finish()
    }
}

impl App {
    /// An empty app: no routes, the default limits, the OpenAPI document at
    /// `/openapi.json` and the docs page at `/docs`.
    pub fn new() -> Self {
        App {
            router: Router::new(""),
            states: StateMap::default(),
            overrides: Overrides::default(),
            info: ApiInfo::default(),
            openapi_path: Some("/openapi.json".to_owned()),
            docs_path: Some("/docs".to_owned()),
            swagger_cdn: None,
            redirect_trailing_slash: true,
        }
    }

    /// Adds a route (a [`Route`], or an endpoint made by the route macros).
    pub fn route(mut self, route: impl Into<Route>) -> Self {
        self.router = self.router.route(route);
        self
    }

    /// Adds every route of `router`, under its prefix.
    pub fn nest(mut self, router: Router) -> Self {
        self.router = self.router.nest(router);
        self
    }

    /// Gives the app a state value, extracted by handlers as [`State<T>`](crate::State).
    /// One value per type; a later call replaces an earlier one.
    pub fn state<T: Clone + Send + Sync + 'static>(mut self, value: T) -> Self {
        self.states.insert(value);
        self
    }

    /// Wraps every route in a tower layer (after routing: 404 and 405 answers
    /// do not pass through it). To wrap the whole service, layer the
    /// [`AppService`] returned by [`App::build`].
    pub fn layer(mut self, layer: impl crate::router::RouteLayer) -> Self {
        self.router = self.router.layer(layer);
        self
    }

    /// The API's title in the OpenAPI document.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.info.title = title.into();
        self
    }

    /// The API's version in the OpenAPI document (default `0.1.0`).
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.info.version = version.into();
        self
    }

    /// The API's description (Markdown) in the OpenAPI document.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.info.description = Some(description.into());
        self
    }

    /// The OpenAPI version of the document (default 3.1.0).
    pub fn openapi_version(mut self, version: crate::openapi::OpenApiVersion) -> Self {
        self.info.openapi_version = version;
        self
    }

    /// Adds a top-level tag with a description (shown by the docs page).
    pub fn tag(mut self, name: impl Into<String>, description: impl Into<String>) -> Self {
        self.info.tags.push((name.into(), description.into()));
        self
    }

    /// Adds a `servers` entry.
    pub fn server(mut self, url: impl Into<String>, description: impl Into<String>) -> Self {
        self.info
            .servers
            .push(serde_json::json!({"url": url.into(), "description": description.into()}));
        self
    }

    /// Sets `info.contact` (`name`, `url`, `email`; empty strings are left out).
    pub fn contact(mut self, name: &str, url: &str, email: &str) -> Self {
        let mut contact = serde_json::Map::new();
        for (k, v) in [("name", name), ("url", url), ("email", email)] {
            if !v.is_empty() {
                contact.insert(k.into(), v.into());
            }
        }
        self.info.contact = Some(serde_json::Value::Object(contact));
        self
    }

    /// Sets `info.license` by SPDX identifier (e.g. `MIT OR Apache-2.0`).
    pub fn license(mut self, name: &str, spdx_identifier: &str) -> Self {
        self.info.license = Some(serde_json::json!({"name": name, "identifier": spdx_identifier}));
        self
    }

    /// Mutable access to the OpenAPI `info`, servers and tags.
    pub fn info_mut(&mut self) -> &mut ApiInfo {
        &mut self.info
    }

    /// Serves the OpenAPI document at `path`, or not at all with `None`.
    pub fn openapi_path(mut self, path: Option<&str>) -> Self {
        self.openapi_path = path.map(str::to_owned);
        self
    }

    /// Serves the docs page at `path`, or not at all with `None`.
    pub fn docs_path(mut self, path: Option<&str>) -> Self {
        self.docs_path = path.map(str::to_owned);
        self
    }

    /// Also serves Swagger UI at `<docs path>/swagger`, loading its assets from
    /// `cdn_base` (e.g. `https://cdn.jsdelivr.net/npm/swagger-ui-dist@5`). Off by
    /// default: the built-in page at `/docs` needs no network.
    pub fn swagger_ui(mut self, cdn_base: impl Into<String>) -> Self {
        self.swagger_cdn = Some(cdn_base.into());
        self
    }

    /// Trailing-slash policy. With `true` (the default, as in FastAPI), a
    /// request for `/items/` when only `/items` exists (or the reverse) is
    /// answered `307 Temporary Redirect` to the other form, query kept. With
    /// `false`, paths match exactly and the other form is a 404.
    pub fn redirect_trailing_slash(mut self, redirect: bool) -> Self {
        self.redirect_trailing_slash = redirect;
        self
    }

    limit_setters!();

    /// The OpenAPI document this app would serve, as JSON.
    pub fn openapi(&self) -> Result<serde_json::Value, BuildError> {
        let routes = self.router.clone().flatten();
        OpenApiBuilder::new(&self.info).build(&routes)
    }

    /// Checks the app and returns the service that serves it.
    pub fn build(self) -> Result<AppService, BuildError> {
        let App {
            router,
            states,
            overrides,
            info,
            openapi_path,
            docs_path,
            swagger_cdn,
            redirect_trailing_slash,
        } = self;
        let routes = router.flatten();
        let shared = Arc::new(Shared { states });
        let mut table = RouteTable {
            matcher: matchit::Router::new(),
            statics: StaticPaths::default(),
            paths: Vec::new(),
            base: overrides.apply(Limits::default()),
            overrides,
            shared,
        };
        // Routing problems first: their messages name the route to fix.
        for route in &routes {
            table.insert(route)?;
        }
        // Then every route's state needs.
        for route in &routes {
            let mut doc = crate::openapi::OperationDoc::new_probe();
            (route.describe)(&mut doc);
            for (id, type_name) in doc.required_states() {
                if !table.shared.states.contains(*id) {
                    return Err(BuildError::MissingState {
                        method: route.method.to_string(),
                        path: route.path.clone(),
                        type_name,
                    });
                }
            }
        }
        let document = OpenApiBuilder::new(&info).build(&routes)?;
        if let Some(path) = &openapi_path {
            let bytes =
                Bytes::from(serde_json::to_vec(&document).map_err(|e| BuildError::OpenApi(e.to_string()))?);
            table.insert(&Route::get(path, move || {
                let bytes = bytes.clone();
                async move {
                    let mut response = Response::new(Body::from(bytes));
                    response
                        .headers_mut()
                        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                    response
                }
            }))?;
        }
        if let Some(path) = &docs_path {
            let page = crate::docs::page(&info.title, openapi_path.as_deref().unwrap_or(""));
            table.insert(&Route::get(path, move || {
                let page = page.clone();
                async move { crate::response::Html(page).into_response() }
            }))?;
        }
        if let (Some(docs), Some(cdn)) = (&docs_path, &swagger_cdn) {
            let page = crate::docs::swagger_page(&info.title, openapi_path.as_deref().unwrap_or(""), cdn);
            let path = format!("{}/swagger", docs.trim_end_matches('/'));
            table.insert(&Route::get(&path, move || {
                let page = page.clone();
                async move { crate::response::Html(page).into_response() }
            }))?;
        }
        Ok(AppService {
            inner: Arc::new(Inner {
                matcher: table.matcher,
                statics: table.statics,
                paths: table.paths,
                redirect_trailing_slash,
            }),
        })
    }
}

/// The routing table under construction: paths matched by `matchit`, each with
/// its endpoints by method.
struct RouteTable {
    matcher: matchit::Router<usize>,
    statics: StaticPaths,
    paths: Vec<PathEntry>,
    base: Limits,
    overrides: Overrides,
    shared: Arc<Shared>,
}

impl RouteTable {
    /// Adds one route, refusing a malformed template, a conflict or a duplicate.
    fn insert(&mut self, route: &Route) -> Result<(), BuildError> {
        let invalid = |reason: String| BuildError::InvalidRoute {
            method: route.method.to_string(),
            path: route.path.clone(),
            reason,
        };
        if !route.path.starts_with('/') {
            return Err(invalid("a path template starts with `/`".to_owned()));
        }
        if route.path.matches('{').count() != route.path.matches('}').count() {
            return Err(invalid("unbalanced `{` and `}`".to_owned()));
        }
        let index = match self.paths.iter().position(|p| p.template == route.path) {
            Some(index) => index,
            None => {
                self.matcher
                    .insert(route.path.clone(), self.paths.len())
                    .map_err(|e| invalid(e.to_string()))?;
                if !route.path.contains(['{', '}']) {
                    self.statics.insert(route.path.as_str().into(), self.paths.len());
                }
                self.paths.push(PathEntry {
                    template: route.path.clone(),
                    param_names: param_names(&route.path),
                    methods: Vec::new(),
                });
                self.paths.len() - 1
            }
        };
        let entry = &mut self.paths[index];
        if entry.methods.iter().any(|(m, _)| *m == route.method) {
            return Err(BuildError::DuplicateRoute {
                method: route.method.to_string(),
                path: route.path.clone(),
            });
        }
        let runtime = Arc::new(RouteRuntime {
            path: route.path.clone(),
            limits: merge(self.overrides, route.overrides).apply(self.base),
            status: route.docs.status,
            shared: self.shared.clone(),
        });
        let target = if route.layers.is_empty() {
            Target::Direct(route.handler.clone())
        } else {
            let inner = BoxedService::new(HandlerService {
                handler: route.handler.clone(),
            });
            Target::Layered(apply_layers(inner, &route.layers))
        };
        let (limits, status) = (runtime.limits, runtime.status);
        entry.methods.push((
            route.method.clone(),
            Endpoint {
                runtime,
                limits,
                status,
                target,
            },
        ));
        Ok(())
    }
}

fn apply_layers(inner: BoxedService, layers: &[LayerFn]) -> BoxedService {
    // Route layers were added first and wrap innermost; router layers wrap them.
    layers.iter().fold(inner, |service, layer| layer.wrap(service))
}

/// The names of a template's parameters, in order (`/a/{x}/{*rest}` → x, rest).
pub(crate) fn param_names(template: &str) -> Vec<Arc<str>> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else { break };
        let name = after[..end].trim_start_matches('*');
        if !name.is_empty() && !after.starts_with('{') {
            names.push(Arc::from(name));
        }
        rest = &after[end + 1..];
    }
    names
}

struct PathEntry {
    template: String,
    param_names: Vec<Arc<str>>,
    methods: Vec<(Method, Endpoint)>,
}

struct Endpoint {
    runtime: Arc<RouteRuntime>,
    // Copies of the runtime's, read by every request: the runtime's own
    // cache line is written by the reference count of every request that
    // holds it.
    limits: Limits,
    status: Option<StatusCode>,
    target: Target,
}

enum Target {
    Direct(Arc<dyn ErasedHandler>),
    Layered(BoxedService),
}

/// The paths without parameters, looked up before the radix tree: `matchit`
/// gives a static segment precedence over a parameter, so an exact hit here is
/// the route it would find, for less work.
type StaticPaths = std::collections::HashMap<Box<str>, usize, std::hash::BuildHasherDefault<PathHasher>>;

/// FNV-1a: a few instructions per byte for the short keys of a route table,
/// where SipHash's setup costs more than the lookup. The keys are the app's
/// own templates, so there is no attacker-chosen key to collide.
#[derive(Default)]
struct PathHasher(u64);

impl std::hash::Hasher for PathHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut hash = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for byte in bytes {
            hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = hash;
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

struct Inner {
    matcher: matchit::Router<usize>,
    statics: StaticPaths,
    paths: Vec<PathEntry>,
    redirect_trailing_slash: bool,
}

/// A built app: a `tower::Service` for `http::Request<B>` with any body `B`.
/// Cloning is cheap (one `Arc`).
#[derive(Clone)]
pub struct AppService {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AppService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppService")
            .field(
                "paths",
                &self.inner.paths.iter().map(|p| &p.template).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Where a layered route finds the request's route context.
#[derive(Clone)]
struct RouteCall {
    params: Vec<(Arc<str>, String)>,
    runtime: Arc<RouteRuntime>,
}

/// The innermost service of a layered route: extracts and runs the handler.
#[derive(Clone)]
struct HandlerService {
    handler: Arc<dyn ErasedHandler>,
}

impl Service<http::Request<Body>> for HandlerService {
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<Result<Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let (mut parts, body) = request.into_parts();
        let Some(call) = parts.extensions.remove::<RouteCall>() else {
            return Box::pin(async {
                Ok(HttpError::internal("layered route lost its context").into_response())
            });
        };
        let limits = call.runtime.limits;
        let ctx = RequestContext::new(parts, call.params, limits, RouteRef::Route(call.runtime));
        let future = self.handler.call(ctx, body);
        Box::pin(async move { Ok(future.await) })
    }
}

impl AppService {
    /// Answers one request. Every error is a response: the service never fails.
    pub async fn handle(&self, request: http::Request<Body>) -> Response {
        self.dispatch(request, None).await
    }

    /// The settings of the route at `path`, `method` in the route table.
    fn runtime(&self, path: usize, method: usize) -> &RouteRuntime {
        &self.inner.paths[path].methods[method].1.runtime
    }

    /// Routes `request` and starts its handler. `connection` is the serving
    /// connection, whose [`Activity`] holds its own handle on this app (see
    /// [`RouteRef`]), when there is one: the dispatch is then polled with it
    /// ([`Dispatch::poll_on`]).
    fn dispatch(&self, request: http::Request<Body>, connection: Option<&Arc<Activity>>) -> Dispatch {
        let inner = &self.inner;
        let path = request.uri().path();
        let (path_index, matched) = match inner.statics.get(path) {
            Some(index) => (*index, None),
            None => match inner.matcher.at(path) {
                Ok(m) => (*m.value, Some(m.params)),
                Err(_) => return Dispatch::ready(self.not_found(&request)),
            },
        };
        let entry = &inner.paths[path_index];
        let method = request.method();
        let is_head = method == Method::HEAD;
        let endpoint = entry.methods.iter().position(|(m, _)| m == method).or_else(|| {
            is_head
                .then(|| entry.methods.iter().position(|(m, _)| m == Method::GET))
                .flatten()
        });
        let Some((method_index, (_, endpoint))) = endpoint.map(|i| (i, &entry.methods[i])) else {
            return Dispatch::ready(method_not_allowed(entry));
        };
        let params: Vec<(Arc<str>, String)> = match matched {
            Some(params) if !entry.param_names.is_empty() => params
                .iter()
                .map(|(name, value)| {
                    let name = entry
                        .param_names
                        .iter()
                        .find(|n| &***n == name)
                        .cloned()
                        .unwrap_or_else(|| Arc::from(name));
                    let value = percent_encoding::percent_decode_str(value)
                        .decode_utf8_lossy()
                        .into_owned();
                    (name, value)
                })
                .collect(),
            _ => Vec::new(),
        };
        // The dispatch keeps copies of what it needs of the route.
        let runtime = &endpoint.runtime;
        let finishing = Finishing {
            timeout: endpoint.limits.timeout,
            status: endpoint.status,
            is_head,
        };
        let (parts, body) = request.into_parts();
        let route = || match connection {
            Some(connection) => RouteRef::Connection(connection.clone(), path_index, method_index),
            None => RouteRef::Route(runtime.clone()),
        };
        let running = match &endpoint.target {
            Target::Direct(handler) => {
                let ctx = RequestContext::new(parts, params, endpoint.limits, route());
                Running::Inline {
                    call: handler.inline(ctx, body),
                }
            }
            Target::Layered(service) => {
                let mut request = http::Request::from_parts(parts, body);
                request.extensions_mut().insert(RouteCall {
                    params,
                    runtime: runtime.clone(),
                });
                let service = service.clone();
                Running::Boxed {
                    future: Box::pin(async move {
                        match service.oneshot(request).await {
                            Ok(response) => response,
                            Err(never) => match never {},
                        }
                    }),
                }
            }
        };
        let timed = finishing.timeout.map(|_| Timed {
            route: connection.is_none().then(|| runtime.clone()),
            at: (path_index, method_index),
            swept: None,
        });
        Dispatch {
            state: State::Running {
                handler: CatchPanic::new(running),
                timer: None,
                finishing,
                timed,
            },
        }
    }

    fn not_found<B>(&self, request: &http::Request<B>) -> Response {
        if self.inner.redirect_trailing_slash {
            let path = request.uri().path();
            let other = if path.len() > 1 && path.ends_with('/') {
                path.trim_end_matches('/').to_owned()
            } else {
                format!("{path}/")
            };
            if !other.is_empty() && self.inner.matcher.at(&other).is_ok() {
                let location = match request.uri().query() {
                    Some(q) => format!("{other}?{q}"),
                    None => other,
                };
                if let Ok(value) = HeaderValue::from_str(&location) {
                    let mut response = Response::new(Body::empty());
                    *response.status_mut() = StatusCode::TEMPORARY_REDIRECT;
                    response.headers_mut().insert(http::header::LOCATION, value);
                    return response;
                }
            }
        }
        HttpError::new(StatusCode::NOT_FOUND).into_response()
    }
}

fn method_not_allowed(entry: &PathEntry) -> Response {
    let mut allowed: Vec<&str> = entry.methods.iter().map(|(m, _)| m.as_str()).collect();
    if allowed.contains(&"GET") && !allowed.contains(&"HEAD") {
        allowed.push("HEAD");
    }
    let mut response = HttpError::new(StatusCode::METHOD_NOT_ALLOWED).into_response();
    if let Ok(value) = HeaderValue::from_str(&allowed.join(", ")) {
        response.headers_mut().insert(ALLOW, value);
    }
    response
}

pin_project_lite::pin_project! {
    /// One request's way through the app: either an answer known at routing
    /// time (404, 405, a redirect) or the route's handler, watched for panics
    /// and for its timeout. The timeout starts only when the handler first
    /// waits, so a handler that answers at once costs no timer at all; a long
    /// one on a connection of [`serve_with`](crate::serve_with) is kept by its
    /// connection sweep ([`SweepTimer`]), any other by a tokio timer.
    pub(crate) struct Dispatch {
        #[pin]
        state: State,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProject]
    enum State {
        Ready { response: Option<Response> },
        Running {
            #[pin]
            handler: CatchPanic<Running>,
            // Inline: hyper keeps one connection's in-flight future in one
            // allocation, reused from request to request.
            #[pin]
            timer: Option<tokio::time::Sleep>,
            finishing: Finishing,
            // `Some` when the route has a timeout.
            timed: Option<Timed>,
        },
    }
}

pin_project_lite::pin_project! {
    /// A handler's call in flight.
    #[project = RunningProject]
    enum Running {
        /// A handler's call, in the request's own future ([`InlineCall`]).
        Inline { #[pin] call: InlineCall },
        /// A layered route's service call, in a box of its own.
        Boxed { future: BoxFuture<Response> },
        /// Answered or cut short: whatever the call held is dropped.
        Done,
    }
}

impl Future for Running {
    type Output = Response;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Response> {
        match self.project() {
            RunningProject::Inline { call } => call.poll(cx),
            RunningProject::Boxed { future } => future.as_mut().poll(cx),
            RunningProject::Done => {
                Poll::Ready(HttpError::internal("request polled after it answered").into_response())
            }
        }
    }
}

/// The route of a request that has a timeout, for the log line when it times
/// out, and the sweep deadline it armed, withdrawn when the request answers.
/// The route, not the URI, names the request in the log line: the URI shares
/// the connection's read buffer, which a waiting request would then keep from
/// being reused.
struct Timed {
    /// The route's own handle; `None` for a request on a connection, whose
    /// app holds the route at `at`.
    route: Option<Arc<RouteRuntime>>,
    at: (usize, usize),
    swept: Option<u64>,
}

impl Timed {
    /// The route's path template, for the log line.
    fn path<'a>(&'a self, connection: Option<&'a Activity>) -> &'a str {
        let runtime = match &self.route {
            Some(runtime) => Some(&**runtime),
            None => connection
                .and_then(|connection| connection.app.as_ref())
                .map(|app| app.runtime(self.at.0, self.at.1)),
        };
        runtime.map_or("", |runtime| runtime.path.as_str())
    }
}

impl Dispatch {
    fn ready(response: Response) -> Self {
        Dispatch {
            state: State::Ready {
                response: Some(response),
            },
        }
    }
}

impl Future for Dispatch {
    type Output = Response;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Response> {
        self.poll_on(cx, None, None)
    }
}

impl Dispatch {
    /// Polls the dispatch of a request on `connection` (the one given to
    /// [`AppService::dispatch`]), whose `sweep` may keep its timeout.
    fn poll_on(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        connection: Option<&Activity>,
        sweep: Option<SweepTimer<'_>>,
    ) -> Poll<Response> {
        match self.project().state.project() {
            StateProject::Ready { response } => match response.take() {
                Some(response) => Poll::Ready(response),
                None => Poll::Pending,
            },
            StateProject::Running {
                handler,
                timer,
                finishing,
                timed,
            } => {
                let mut handler = handler;
                if let Poll::Ready(response) = handler.as_mut().poll(cx) {
                    handler.inner().set(Running::Done);
                    if let (Some(deadline), Some(sweep)) =
                        (timed.as_mut().and_then(|t| t.swept.take()), sweep)
                    {
                        sweep.disarm(deadline);
                    }
                    return Poll::Ready(finishing.finish(response));
                }
                let (Some(limit), Some(timed)) = (finishing.timeout, timed.as_mut()) else {
                    return Poll::Pending;
                };
                // The clock starts at the handler's first wait: its first poll
                // runs right after routing, and reading the clock only here
                // keeps it off the path of handlers that answer at once.
                let mut timer = timer;
                if timed.swept.is_none() && timer.is_none() {
                    match sweep.and_then(|sweep| sweep.arm(limit)) {
                        Some(deadline) => timed.swept = Some(deadline),
                        None => timer.set(Some(tokio::time::sleep(limit))),
                    }
                }
                let waiting = match timed.swept {
                    Some(deadline) => sweep.is_some_and(|sweep| !sweep.expired(deadline)),
                    None => timer
                        .as_pin_mut()
                        .is_some_and(|sleep| sleep.poll(cx).is_pending()),
                };
                if waiting {
                    return Poll::Pending;
                }
                let route = timed.path(connection);
                tracing::warn!(route, ?limit, "handler timed out");
                // The call is dropped now, not when the caller drops this.
                handler.inner().set(Running::Done);
                let response = HttpError::new(StatusCode::GATEWAY_TIMEOUT).into_response();
                Poll::Ready(finishing.finish(response))
            }
        }
    }
}

/// What a dispatch applies to the handler's answer, copied from the route.
#[derive(Debug, Clone, Copy)]
struct Finishing {
    timeout: Option<std::time::Duration>,
    status: Option<StatusCode>,
    is_head: bool,
}

impl Finishing {
    /// The route's declared status, and the body dropped for a `HEAD` request.
    fn finish(self, mut response: Response) -> Response {
        if let Some(status) = self.status {
            if matches!(response.status(), StatusCode::OK | StatusCode::NO_CONTENT) {
                *response.status_mut() = status;
            }
        }
        if self.is_head {
            // Keep the headers (and Content-Length) of the GET answer, drop the body.
            let size = http_body::Body::size_hint(response.body()).exact();
            *response.body_mut() = Body::empty();
            if let Some(size) = size {
                response
                    .headers_mut()
                    .insert(http::header::CONTENT_LENGTH, HeaderValue::from(size));
            }
        }
        response
    }
}

impl<B> Service<http::Request<B>> for AppService
where
    B: http_body::Body + Send + 'static,
    B::Data: Into<Bytes>,
    B::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = AppFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> AppFuture {
        let request = request.map(Body::new);
        AppFuture {
            inner: self.dispatch(request, None),
        }
    }
}

/// How a request's extractors reach its route's settings and the app's state.
///
/// The route's own `Arc` is shared by every request of every connection: a
/// clone per request writes its reference count, a cache line that then moves
/// between the cores serving those requests. A connection served by
/// [`serve_with`](crate::serve_with) has its own handle on the app instead,
/// in its [`Activity`], whose count only that connection's requests write.
pub(crate) enum RouteRef {
    /// The route's own handle.
    Route(Arc<RouteRuntime>),
    /// The connection, whose app holds the route at these indexes.
    Connection(Arc<Activity>, usize, usize),
}

impl RouteRef {
    /// The route's settings; `None` only for a connection that serves no
    /// built app, which makes no `RouteRef`.
    pub(crate) fn get(&self) -> Option<&RouteRuntime> {
        match self {
            RouteRef::Route(runtime) => Some(runtime),
            RouteRef::Connection(connection, path, method) => {
                connection.app.as_ref().map(|app| app.runtime(*path, *method))
            }
        }
    }
}

/// The app as hyper's own service, one per connection, for
/// [`serve_with`](crate::serve_with): hyper calls it by reference, so a request
/// costs no clone of the app and no readiness check (the app is always ready).
/// Its requests reach their routes through the connection's own handle on the
/// app ([`RouteRef`]), and it counts them in the connection's [`Activity`]
/// itself: one handle per request goes from its start to its response's body.
pub(crate) struct HyperApp {
    connection: Arc<Activity>,
    /// HTTP/1: one request at a time, which may use the sweep's timer, and
    /// every request and body polled and dropped on the connection's task.
    http1: bool,
}

impl HyperApp {
    /// The service of `connection` (whose [`Activity`] holds the app), on
    /// HTTP/1 or HTTP/2.
    pub(crate) fn new(connection: &Arc<Activity>, http1: bool) -> Self {
        HyperApp {
            connection: connection.clone(),
            http1,
        }
    }

    /// Starts `request` on this connection.
    #[inline]
    pub(crate) fn serve(&self, request: http::Request<Body>) -> ConnectionFuture {
        let in_flight = InFlight::start(&self.connection, self.http1);
        let dispatch = match &self.connection.app {
            Some(app) => app.dispatch(request, Some(&self.connection)),
            None => Dispatch::ready(HttpError::internal("the connection serves no app").into_response()),
        };
        ConnectionFuture {
            dispatch,
            in_flight: Some(in_flight),
        }
    }
}

impl hyper::service::Service<http::Request<hyper::body::Incoming>> for HyperApp {
    type Response = http::Response<CountedBody<Body>>;
    type Error = Infallible;
    type Future = ConnectionFuture;

    #[inline]
    fn call(&self, request: http::Request<hyper::body::Incoming>) -> ConnectionFuture {
        self.serve(request.map(Body::incoming))
    }
}

pin_project_lite::pin_project! {
    /// A request of [`HyperApp`]: its dispatch, polled with the connection,
    /// and the request's mark on the connection, which goes to the response's
    /// body.
    pub(crate) struct ConnectionFuture {
        #[pin]
        dispatch: Dispatch,
        in_flight: Option<InFlight>,
    }
}

impl Future for ConnectionFuture {
    type Output = Result<http::Response<CountedBody<Body>>, Infallible>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let in_flight = this.in_flight.as_ref();
        let connection = in_flight.map(|in_flight| &**in_flight.activity());
        // HTTP/1 only: the sweep keeps one deadline per connection.
        let sweep = in_flight
            .filter(|in_flight| in_flight.one_task())
            .and_then(|in_flight| in_flight.activity().sweep_timer());
        let response = std::task::ready!(this.dispatch.poll_on(cx, connection, sweep));
        let in_flight = this.in_flight.take();
        Poll::Ready(Ok(response.map(|body| CountedBody::new(body, in_flight))))
    }
}

pin_project_lite::pin_project! {
    /// The future of [`AppService::call`].
    pub struct AppFuture {
        #[pin]
        inner: Dispatch,
    }
}

impl Future for AppFuture {
    type Output = Result<Response, Infallible>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx).map(Ok)
    }
}

impl std::fmt::Debug for AppFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppFuture").finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::{Handler, INLINE_CALL as INLINE_CALL_FOR_TESTS};
    use crate::extract::RequestContext;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// An HTTP/1 connection's service on `app`, as `serve_with` makes one.
    fn connection(app: AppService) -> HyperApp {
        HyperApp::new(&Arc::new(Activity::serving(app)), true)
    }

    /// Sends one request on `connection` and reads the answer's status and body.
    async fn send(connection: &HyperApp, method: Method, uri: &str) -> (StatusCode, String) {
        let request = http::Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .expect("a valid request");
        let Ok(response) = connection.serve(request).await;
        let status = response.status();
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .expect("a readable body")
            .to_bytes();
        (status, String::from_utf8(body.to_vec()).expect("a UTF-8 body"))
    }

    /// Answers `uri` on `connection`, and counts the handler calls still
    /// alive the moment the request's future is ready, before it is dropped.
    async fn answer_then_count(connection: &HyperApp, uri: &str, alive: &AtomicUsize) -> (StatusCode, usize) {
        let request = http::Request::builder()
            .uri(uri)
            .body(Body::empty())
            .expect("a valid request");
        let mut future = std::pin::pin!(connection.serve(request));
        let Ok(response) = std::future::poll_fn(|cx| future.as_mut().poll(cx)).await;
        (response.status(), alive.load(Ordering::SeqCst))
    }

    #[tokio::test]
    async fn a_handler_call_is_kept_in_the_request_future_unless_it_is_large() {
        // What a typical handler is: extractors, then a wait on a model.
        #[derive(serde::Deserialize, schemars::JsonSchema)]
        struct Ask {
            prompt: String,
        }
        impl crate::validate::Validate for Ask {
            fn validate(&self, _: &mut crate::validate::Checker) {}
        }
        async fn ask(crate::State(delay): crate::State<u64>, crate::Json(ask): crate::Json<Ask>) -> String {
            tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
            ask.prompt
        }
        /// Whether `handler`'s call fits inline, and its size, from its type
        /// alone (the call is never made).
        fn fits<H: Handler<A>, A>(handler: H) -> (bool, usize) {
            fn of<F>(_: &impl Fn() -> F) -> (bool, usize) {
                let fits = InlineCall::has_space_for::<F>() && InlineCall::has_alignment_for::<F>();
                (fits, std::mem::size_of::<F>())
            }
            fn no_ctx() -> RequestContext {
                unreachable!("only the call's type is looked at")
            }
            of(&move || handler.clone().call(no_ctx(), Body::empty()))
        }
        let (inline, size) = fits(ask);
        assert!(
            inline,
            "a model handler's call ({size} bytes) fits in the request's future"
        );

        // A larger call goes in a box and answers all the same.
        let big = || async {
            let buffer = [7u8; 4 * INLINE_CALL_FOR_TESTS];
            tokio::task::yield_now().await;
            format!("{}", buffer.iter().map(|b| usize::from(*b)).sum::<usize>())
        };
        let (inline, size) = fits(big);
        assert!(!inline, "a call of {size} bytes is boxed");
        let app = App::new()
            .route(Route::get("/big", big))
            .build()
            .expect("a valid app");
        assert_eq!(
            send(&connection(app), Method::GET, "/big").await,
            (StatusCode::OK, (7 * 4 * INLINE_CALL_FOR_TESTS).to_string())
        );

        // The request's future stays small enough to sit in hyper's
        // per-connection allocation without a second one.
        for size in [
            std::mem::size_of::<AppFuture>(),
            std::mem::size_of::<ConnectionFuture>(),
        ] {
            assert!(
                size <= INLINE_CALL_FOR_TESTS + 256,
                "a request's future takes {size} bytes"
            );
        }
    }

    /// Counts the handler calls still alive: one is made in each call and
    /// dropped with it.
    struct Alive(&'static AtomicUsize);

    impl Alive {
        fn new(count: &'static AtomicUsize) -> Self {
            count.fetch_add(1, Ordering::SeqCst);
            Alive(count)
        }
    }

    impl Drop for Alive {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_holds_nothing_once_it_answered_panicked_or_timed_out() {
        static ALIVE: AtomicUsize = AtomicUsize::new(0);
        let app = App::new()
            .route(Route::get("/answer", || async {
                let alive = Alive::new(&ALIVE);
                tokio::task::yield_now().await;
                drop(alive);
                "answered"
            }))
            .route(Route::get("/panic", || async {
                let _alive = Alive::new(&ALIVE);
                tokio::task::yield_now().await;
                if ALIVE.load(Ordering::SeqCst) > 0 {
                    panic!("handler failed");
                }
                "unreachable"
            }))
            .route(
                Route::get("/hang", || async {
                    let _alive = Alive::new(&ALIVE);
                    std::future::pending::<()>().await;
                    "unreachable"
                })
                .timeout(std::time::Duration::from_millis(50)),
            )
            .build()
            .expect("a valid app");
        let connection = connection(app);
        for _ in 0..2 {
            assert_eq!(
                answer_then_count(&connection, "/answer", &ALIVE).await,
                (StatusCode::OK, 0)
            );
            assert_eq!(
                answer_then_count(&connection, "/panic", &ALIVE).await,
                (StatusCode::INTERNAL_SERVER_ERROR, 0),
                "the panicked call dropped"
            );
            assert_eq!(
                answer_then_count(&connection, "/hang", &ALIVE).await,
                (StatusCode::GATEWAY_TIMEOUT, 0),
                "the cut-short call dropped as it is answered"
            );
        }
        assert_eq!(ALIVE.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn template_parameter_names() {
        let names: Vec<String> = param_names("/a/{x}/b/{*rest}")
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(names, ["x", "rest"]);
    }
}
