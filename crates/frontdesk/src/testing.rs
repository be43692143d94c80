//! `TestClient`: drives an app in process, without a socket, through the very
//! same service that `serve` runs — streams included.
//!
//! ```
//! use frontdesk::prelude::*;
//! use frontdesk::testing::TestClient;
//!
//! async fn hello() -> &'static str { "hello" }
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let client = TestClient::new(App::new().route(Route::get("/hello", hello)));
//! let response = client.get("/hello").send().await;
//! assert_eq!(response.status(), 200);
//! assert_eq!(response.text().await, "hello");
//! # });
//! ```

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use http::{HeaderMap, Method, StatusCode};
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::app::{App, AppService};
use crate::body::Body;

/// An in-process client for an app.
#[derive(Debug, Clone)]
pub struct TestClient {
    service: AppService,
}

impl TestClient {
    /// Builds `app` and wraps it.
    ///
    /// # Panics
    /// When the app does not build (a test should fail loudly then).
    pub fn new(app: App) -> Self {
        match app.build() {
            Ok(service) => TestClient { service },
            Err(error) => panic!("the app does not build: {error}"),
        }
    }

    /// Wraps an already built service.
    pub fn from_service(service: AppService) -> Self {
        TestClient { service }
    }

    /// A request with any method.
    pub fn request(&self, method: Method, path: &str) -> TestRequest {
        TestRequest {
            service: self.service.clone(),
            builder: http::Request::builder().method(method).uri(path),
            body: Body::empty(),
        }
    }

    /// A `GET` request.
    pub fn get(&self, path: &str) -> TestRequest {
        self.request(Method::GET, path)
    }

    /// A `HEAD` request.
    pub fn head(&self, path: &str) -> TestRequest {
        self.request(Method::HEAD, path)
    }

    /// A `POST` request.
    pub fn post(&self, path: &str) -> TestRequest {
        self.request(Method::POST, path)
    }

    /// A `PUT` request.
    pub fn put(&self, path: &str) -> TestRequest {
        self.request(Method::PUT, path)
    }

    /// A `PATCH` request.
    pub fn patch(&self, path: &str) -> TestRequest {
        self.request(Method::PATCH, path)
    }

    /// A `DELETE` request.
    pub fn delete(&self, path: &str) -> TestRequest {
        self.request(Method::DELETE, path)
    }
}

/// A request being prepared by a [`TestClient`].
#[derive(Debug)]
pub struct TestRequest {
    service: AppService,
    builder: http::request::Builder,
    body: Body,
}

impl TestRequest {
    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.builder = self.builder.header(name, value);
        self
    }

    /// Sends `value` as JSON, with `content-type: application/json`.
    ///
    /// # Panics
    /// When `value` cannot be serialized.
    pub fn json<T: Serialize + ?Sized>(mut self, value: &T) -> Self {
        let bytes = serde_json::to_vec(value).expect("a serializable test body");
        self.builder = self.builder.header(CONTENT_TYPE, "application/json");
        self.body = Body::from(bytes);
        self
    }

    /// Sends a raw body (no content type is set).
    pub fn body(mut self, body: impl Into<Body>) -> Self {
        self.body = body.into();
        self
    }

    /// Sends the request through the app.
    ///
    /// # Panics
    /// When the request is malformed (a bad header name, say).
    pub async fn send(self) -> TestResponse {
        let request = self.builder.body(self.body).expect("a well-formed test request");
        let response = self.service.handle(request).await;
        let (parts, body) = response.into_parts();
        TestResponse {
            status: parts.status,
            headers: parts.headers,
            body,
            buffer: Vec::new(),
        }
    }
}

/// A response received by a [`TestClient`]; its body can be read whole or
/// chunk by chunk, as it is produced.
#[derive(Debug)]
pub struct TestResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Body,
    buffer: Vec<u8>,
}

impl TestResponse {
    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// One header as text (empty when absent).
    pub fn header(&self, name: &str) -> &str {
        HeaderName::try_from(name)
            .ok()
            .and_then(|n| self.headers.get(n))
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .unwrap_or("")
    }

    /// The next chunk of the body as the app produced it; `None` at the end.
    ///
    /// # Panics
    /// When the body fails (a test should see that).
    pub async fn chunk(&mut self) -> Option<Bytes> {
        if !self.buffer.is_empty() {
            return Some(Bytes::from(std::mem::take(&mut self.buffer)));
        }
        loop {
            match self.body.frame().await {
                None => return None,
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        return Some(data);
                    }
                }
                Some(Err(error)) => panic!("the response body failed: {error}"),
            }
        }
    }

    /// The next Server-Sent Event of a `text/event-stream` body; `None` at the end.
    pub async fn next_event(&mut self) -> Option<crate::response::sse::ReceivedEvent> {
        loop {
            if let Some((event, rest)) = crate::response::sse::ReceivedEvent::split_first(&self.buffer) {
                self.buffer = rest;
                return Some(event);
            }
            match self.body.frame().await {
                None => {
                    if self.buffer.iter().all(|b| b.is_ascii_whitespace()) {
                        return None;
                    }
                    let rest = std::mem::take(&mut self.buffer);
                    return crate::response::sse::ReceivedEvent::parse(&rest);
                }
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.buffer.extend_from_slice(&data);
                    }
                }
                Some(Err(error)) => panic!("the response body failed: {error}"),
            }
        }
    }

    /// The whole (remaining) body.
    ///
    /// # Panics
    /// When the body fails.
    pub async fn bytes(mut self) -> Bytes {
        let mut all = std::mem::take(&mut self.buffer);
        let rest = self
            .body
            .collect()
            .await
            .unwrap_or_else(|e| panic!("the response body failed: {e}"))
            .to_bytes();
        all.extend_from_slice(&rest);
        Bytes::from(all)
    }

    /// The whole body as text.
    ///
    /// # Panics
    /// When the body is not UTF-8.
    pub async fn text(self) -> String {
        String::from_utf8(self.bytes().await.to_vec()).expect("a UTF-8 body")
    }

    /// The whole body parsed as JSON.
    ///
    /// # Panics
    /// When the body is not JSON of type `T`.
    pub async fn json<T: DeserializeOwned>(self) -> T {
        let bytes = self.bytes().await;
        serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "the body is not the expected JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        })
    }
}
