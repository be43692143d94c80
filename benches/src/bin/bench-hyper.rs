//! `bench-hyper`: the benchmark contract on hyper, on `127.0.0.1:$PORT`
//! (`PORT` default 8080, `DELAY_MS` default 1000, `TOKEN_MS` default 10).
//! See `frontdesk_benches::contract` for the routes.

use frontdesk_benches::contract::Settings;
use frontdesk_benches::servers::hyper;

frontdesk_benches::text_shift!();

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let settings = Settings::from_env();
    eprintln!("bench-hyper (hyper) on 127.0.0.1:{}", settings.port);
    hyper::run(settings).await
}
