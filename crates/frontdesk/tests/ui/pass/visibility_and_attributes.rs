//! The unit struct and its `handler` keep the function's visibility; `cfg`
//! follows the item everywhere, and other attributes stay on the function.
#![deny(warnings)]

mod api {
    use frontdesk::prelude::*;

    /// Visible to the crate.
    #[get("/a")]
    pub(crate) async fn a() -> &'static str {
        "a"
    }

    /// Visible to the parent only.
    #[get("/b")]
    pub(super) async fn b() -> &'static str {
        "b"
    }

    /// Private: only this module registers it.
    #[get("/c")]
    async fn c() -> &'static str {
        "c"
    }

    /// Compiled out: nothing of it remains.
    #[get("/never")]
    #[cfg(any())]
    async fn never() -> &'static str {
        "never"
    }

    /// Instrumented with tracing.
    #[get("/traced/{id}")]
    #[tracing::instrument(level = "debug")]
    pub(crate) async fn traced(Path(id): Path<u32>) -> String {
        id.to_string()
    }

    pub(crate) fn router() -> Router {
        Router::new("/api").route(a).route(b).route(c).route(traced)
    }
}

fn main() {
    let app = frontdesk::App::new().nest(api::router()).route(api::a);
    let _ = api::b::handler;
    let _ = api::traced::handler;
    let _ = app;
}
