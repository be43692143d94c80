//! `bench-server`: the benchmark contract on frontdesk, on `127.0.0.1:$PORT`
//! (`PORT` default 8080, `DELAY_MS` default 1000, `TOKEN_MS` default 10).
//! See `frontdesk_benches::contract` for the routes.
//!
//! Diagnostics: with `FRONTDESK_HTTP2=0`, `serve_with` serves HTTP/1.1 only
//! (the driver's `frontdesk-http1-only`). With `FRONTDESK_SERVE=http1`, `auto`
//! or `auto-timer` the same app is served by a bare accept loop instead of
//! `frontdesk::serve_with` (see `frontdesk_benches::servers::frontdesk::Loop`;
//! the driver's `frontdesk-h1`, `frontdesk-auto` and `frontdesk-auto-timer`
//! servers).

use frontdesk_benches::contract::Settings;
use frontdesk_benches::servers::frontdesk;

frontdesk_benches::text_shift!();

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let settings = Settings::from_env();
    if let Some(kind) = frontdesk::Loop::from_env() {
        eprintln!(
            "bench-server (frontdesk on a bare {kind:?} loop) on 127.0.0.1:{}",
            settings.port
        );
        return frontdesk::run_variant(settings, kind).await;
    }
    eprintln!("bench-server (frontdesk) on 127.0.0.1:{}", settings.port);
    frontdesk::run(settings).await
}
