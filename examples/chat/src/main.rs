//! `chat`: serves the chat service until SIGINT or SIGTERM.
//!
//! Everything is in the library; this reads the configuration (environment,
//! then `--host`/`--port`), sets up logging (`RUST_LOG`, default `info`), binds,
//! says where it is and what it runs, and serves.

use std::io::IsTerminal;
use std::process::ExitCode;

use chat::config::{Command, USAGE};
use chat::{build_app, Config};
use frontdesk::{serve_with, shutdown_signal, ServeConfig};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_ansi(std::io::stdout().is_terminal())
        .init();
    let mut config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            tracing::error!(%error, "invalid configuration");
            return ExitCode::from(2);
        }
    };
    match config.apply_args(std::env::args().skip(1)) {
        Ok(Command::Serve) => {}
        Ok(Command::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprint!("error: {error}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    let listener = match tokio::net::TcpListener::bind((config.host.as_str(), config.port)).await {
        Ok(listener) => listener,
        Err(error) => {
            tracing::error!(host = %config.host, port = config.port, %error, "cannot listen");
            return ExitCode::FAILURE;
        }
    };
    let url = match listener.local_addr() {
        Ok(addr) => format!("http://{addr}"),
        Err(_) => format!("http://{}:{}", config.host, config.port),
    };
    let model = config.model.id();
    let auth = if config.auth_enabled() {
        format!("on ({} keys)", config.api_keys.len())
    } else {
        "off".to_owned()
    };
    let service = match build_app(config).build() {
        Ok(service) => service,
        Err(error) => {
            tracing::error!(%error, "the app does not build");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(%url, docs = %format!("{url}/docs"), %model, %auth, "chat service ready");
    match serve_with(service, listener, ServeConfig::default(), shutdown_signal()).await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!(%error, "server failed");
            ExitCode::FAILURE
        }
    }
}
