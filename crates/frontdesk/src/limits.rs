//! Safe defaults for every request, overridable per app, router and route (the
//! most specific setting wins).
//!
//! | setting | default | answer when exceeded |
//! |---|---|---|
//! | body limit | 2 MiB, counted as bytes arrive | 413 `{"detail":"Content Too Large"}` |
//! | timeout (until the response head) | 5 minutes | 504 `{"detail":"Gateway Timeout"}` |
//! | JSON content type | required (`application/json`, `+json`) | 422 `model_attributes_type` |
//! | coercion | lax, like Pydantic | 422 with Pydantic's error types |
//! | JSON nesting | 128 levels (serde_json's limit; never a stack overflow) | 422 `json_invalid` |
//!
//! The server adds its own: a 30-second limit to read a request's headers
//! (the connection is closed) — see [`ServeConfig`](crate::ServeConfig).

use std::time::Duration;

use crate::validate::Coercion;

/// The default request body limit: 2 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// The default time a handler has to produce its response head.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// The limits in force for one route.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Limits {
    pub(crate) body_limit: usize,
    pub(crate) timeout: Option<Duration>,
    pub(crate) strict_content_type: bool,
    pub(crate) coercion: Coercion,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            body_limit: DEFAULT_BODY_LIMIT,
            timeout: Some(DEFAULT_TIMEOUT),
            strict_content_type: true,
            coercion: Coercion::Lax,
        }
    }
}

/// Settings given at one level (app, router or route); unset ones inherit.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Overrides {
    pub(crate) body_limit: Option<usize>,
    pub(crate) timeout: Option<Option<Duration>>,
    pub(crate) strict_content_type: Option<bool>,
    pub(crate) coercion: Option<Coercion>,
}

impl Overrides {
    /// Applies `self` on top of `base`.
    pub(crate) fn apply(&self, base: Limits) -> Limits {
        Limits {
            body_limit: self.body_limit.unwrap_or(base.body_limit),
            timeout: self.timeout.unwrap_or(base.timeout),
            strict_content_type: self.strict_content_type.unwrap_or(base.strict_content_type),
            coercion: self.coercion.unwrap_or(base.coercion),
        }
    }
}

/// The builder methods shared by [`App`](crate::App), [`Router`](crate::Router)
/// and [`Route`](crate::Route).
macro_rules! limit_setters {
    () => {
        /// Sets the request body limit in bytes (default 2 MiB). Bodies over it
        /// are answered with 413, whatever their `Content-Length` says.
        pub fn body_limit(mut self, bytes: usize) -> Self {
            self.overrides.body_limit = Some(bytes);
            self
        }

        /// Sets the time a handler has to produce its response head (default 5
        /// minutes); past it the client gets 504 and the handler is dropped. A
        /// stream, once started, is not cut by this timeout.
        ///
        /// On an HTTP/1 connection of [`serve`](crate::serve) or
        /// [`serve_with`](crate::serve_with), a timeout of at least four times
        /// [`ServeConfig::header_read_timeout`](crate::ServeConfig) (2 minutes
        /// by default) is kept by the connection sweep instead of a timer per
        /// request: it fires after its length and at most half a header
        /// timeout later. Shorter ones, HTTP/2, and apps served any other way
        /// use a tokio timer.
        pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
            self.overrides.timeout = Some(Some(timeout));
            self
        }

        /// Removes the handler timeout.
        pub fn no_timeout(mut self) -> Self {
            self.overrides.timeout = Some(None);
            self
        }

        /// Whether a JSON body must be sent with a JSON content type (default
        /// true, like FastAPI 0.132+).
        pub fn strict_content_type(mut self, strict: bool) -> Self {
            self.overrides.strict_content_type = Some(strict);
            self
        }

        /// Lax (default, Pydantic's) or strict reading of JSON types.
        pub fn coercion(mut self, coercion: $crate::validate::Coercion) -> Self {
            self.overrides.coercion = Some(coercion);
            self
        }
    };
}

pub(crate) use limit_setters;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_specific_setting_wins() {
        let app = Overrides {
            body_limit: Some(10),
            ..Default::default()
        };
        let router = Overrides {
            body_limit: Some(5),
            timeout: Some(None),
            ..Default::default()
        };
        let route = Overrides::default();
        let limits = route.apply(router.apply(app.apply(Limits::default())));
        assert_eq!(limits.body_limit, 5);
        assert_eq!(limits.timeout, None);
        assert!(limits.strict_content_type);
    }
}
