//! The HTTP client the providers share: hyper's pooled client over rustls
//! (ring), with the timeouts and retries every provider call needs.
//!
//! One [`HttpClient`] is created per provider at start-up; its connection pool
//! (HTTP/1.1, or HTTP/2 where the server offers it by ALPN) is shared by every
//! request. `https://` and plain `http://` URLs both work, the latter for local
//! servers and tests.

use std::error::Error as _;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::config::UpstreamConfig;
use crate::model::{Backoff, ModelError, TimeoutPhase};

/// The most bytes read from a provider's non-streamed answer.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// The most bytes read from an error answer (only its message is kept).
const MAX_ERROR_BODY: usize = 64 * 1024;

/// The most characters of a provider's error message kept for the log.
const MAX_MESSAGE: usize = 300;

/// A request body as the client sends it.
pub(crate) type RequestBody = Full<Bytes>;

/// A shared, pooled HTTP client with the configured timeouts and retries.
#[derive(Clone)]
pub struct HttpClient {
    client: Client<HttpsConnector<HttpConnector>, RequestBody>,
    settings: UpstreamConfig,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("settings", &self.settings)
            .finish()
    }
}

impl HttpClient {
    /// A client with Mozilla's root certificates (webpki-roots).
    pub fn new(settings: &UpstreamConfig) -> Self {
        let mut connector = HttpConnector::new();
        connector.enforce_http(false);
        connector.set_connect_timeout(Some(settings.connect_timeout));
        connector.set_nodelay(true);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(connector);
        let client = Client::builder(TokioExecutor::new())
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build(https);
        HttpClient {
            client,
            settings: settings.clone(),
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &UpstreamConfig {
        &self.settings
    }

    /// A fresh retry budget for one call.
    pub(crate) fn backoff(&self) -> Backoff {
        Backoff::new(self.settings.max_retries, self.settings.retry_base_delay)
    }

    /// Sends the request `make` builds, retrying (with `backoff`) on 429, 529
    /// and 5xx answers. Returns the first successful response, its body unread.
    ///
    /// # Errors
    /// Timeouts, connection failures, and error statuses once retries are spent.
    pub(crate) async fn send<F>(
        &self,
        make: F,
        backoff: &mut Backoff,
    ) -> Result<http::Response<Incoming>, ModelError>
    where
        F: Fn() -> http::Request<RequestBody>,
    {
        loop {
            match self.send_once(make()).await {
                Ok(response) => return Ok(response),
                Err((error, retry_after)) => {
                    if error.is_retryable() {
                        if let Some(delay) = backoff.next_delay(retry_after) {
                            tracing::info!(error = %error, ?delay, "model provider call failed; retrying");
                            tokio::time::sleep(delay).await;
                            continue;
                        }
                    }
                    return Err(error);
                }
            }
        }
    }

    /// Sends the request `make` builds, with a fresh retry budget, and reads
    /// the whole JSON answer: a provider's non-streamed call.
    ///
    /// # Errors
    /// As [`HttpClient::send`] and [`HttpClient::read_json`].
    pub(crate) async fn send_json<F>(&self, make: F) -> Result<serde_json::Value, ModelError>
    where
        F: Fn() -> http::Request<RequestBody>,
    {
        let mut backoff = self.backoff();
        let response = self.send(make, &mut backoff).await?;
        self.read_json(response.into_body()).await
    }

    /// One attempt: the error carries the provider's `retry-after`, if any.
    async fn send_once(
        &self,
        request: http::Request<RequestBody>,
    ) -> Result<http::Response<Incoming>, (ModelError, Option<Duration>)> {
        let response = match tokio::time::timeout(
            self.settings.first_byte_timeout,
            self.client.request(request),
        )
        .await
        {
            Err(_) => return Err((ModelError::Timeout(TimeoutPhase::FirstByte), None)),
            Ok(Err(error)) => return Err((classify(&error), None)),
            Ok(Ok(response)) => response,
        };
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = self
            .read_body(response.into_body(), MAX_ERROR_BODY)
            .await
            .unwrap_or_default();
        let error = ModelError::Status {
            status: status.as_u16(),
            message: error_message(&body),
        };
        Err((error, retry_after))
    }

    /// Reads a whole body (at most `limit` bytes), with the idle timeout
    /// between reads.
    ///
    /// # Errors
    /// A silent provider, a broken connection or a body over `limit`.
    pub(crate) async fn read_body(&self, mut body: Incoming, limit: usize) -> Result<Bytes, ModelError> {
        let mut out = Vec::new();
        loop {
            match tokio::time::timeout(self.settings.idle_timeout, body.frame()).await {
                Err(_) => return Err(ModelError::Timeout(TimeoutPhase::Idle)),
                Ok(None) => return Ok(Bytes::from(out)),
                Ok(Some(Err(error))) => {
                    return Err(ModelError::Protocol(format!("the answer broke off: {error}")))
                }
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        if out.len() + data.len() > limit {
                            return Err(ModelError::Protocol(format!("the answer is over {limit} bytes")));
                        }
                        out.extend_from_slice(&data);
                    }
                }
            }
        }
    }

    /// Reads a successful JSON answer.
    ///
    /// # Errors
    /// As [`HttpClient::read_body`], or when the body is not JSON.
    pub(crate) async fn read_json(&self, body: Incoming) -> Result<serde_json::Value, ModelError> {
        let bytes = self.read_body(body, MAX_BODY).await?;
        serde_json::from_slice(&bytes)
            .map_err(|e| ModelError::Protocol(format!("the answer is not JSON: {e}")))
    }
}

/// A JSON request with the given headers.
pub(crate) fn json_request(
    url: &str,
    headers: &[(&'static str, &http::HeaderValue)],
    body: &Bytes,
) -> http::Request<RequestBody> {
    let mut request = http::Request::new(Full::new(body.clone()));
    *request.method_mut() = http::Method::POST;
    // The URL was checked when the configuration was read.
    *request.uri_mut() = url.parse().unwrap_or_default();
    let h = request.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    h.insert(
        http::header::ACCEPT,
        http::HeaderValue::from_static("application/json, text/event-stream"),
    );
    h.insert(
        http::header::USER_AGENT,
        http::HeaderValue::from_static(concat!("frontdesk-chat/", env!("CARGO_PKG_VERSION"))),
    );
    for (name, value) in headers {
        h.insert(*name, (*value).clone());
    }
    request
}

/// A header value for a secret: marked sensitive, so HTTP/2's HPACK never
/// indexes it and debug output hides it.
pub(crate) fn secret_header(value: &str) -> Option<http::HeaderValue> {
    let mut header = http::HeaderValue::from_str(value).ok()?;
    header.set_sensitive(true);
    Some(header)
}

/// A connection failure, told apart from a connect timeout.
fn classify(error: &hyper_util::client::legacy::Error) -> ModelError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = error.source();
    let mut chain = error.to_string();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::TimedOut {
                return ModelError::Timeout(TimeoutPhase::Connect);
            }
        }
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    ModelError::Unreachable(chain)
}

/// The provider's error message (`{"error": {"message": ..}}`, as both
/// Anthropic and OpenAI send it), shortened, for the log only.
pub(crate) fn error_message(body: &[u8]) -> String {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let message = value
        .pointer("/error/message")
        .or_else(|| value.get("message"))
        .or_else(|| value.get("error"))
        .and_then(|m| m.as_str())
        .unwrap_or("(no message)");
    message.chars().take(MAX_MESSAGE).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_are_read_and_shortened() {
        assert_eq!(
            error_message(br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#),
            "Overloaded"
        );
        assert_eq!(error_message(b"<html>502</html>"), "(no message)");
        let long = format!(r#"{{"error":{{"message":"{}"}}}}"#, "x".repeat(1000));
        assert_eq!(error_message(long.as_bytes()).len(), MAX_MESSAGE);
    }
}
