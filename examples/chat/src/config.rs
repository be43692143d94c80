//! Configuration: everything the service reads from its environment and its
//! command line, gathered once at start-up into one [`Config`] value.
//!
//! Tests never touch the process environment: they build a [`Config`] by hand
//! (or with [`Config::from_vars`] over a map) and pass it to
//! [`build_app`](crate::build_app).

use std::fmt;
use std::time::Duration;

/// The whole configuration of the service.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Where to listen (`HOST`, `--host`; default `127.0.0.1`).
    pub host: String,
    /// The port to listen on (`PORT`, `--port`; default `8000`, `0` picks a free one).
    pub port: u16,
    /// Which model answers, and how to reach it (`CHAT_MODEL` and the provider's variables).
    pub model: ModelConfig,
    /// Timeouts and retries for calls to a model provider over HTTP.
    pub upstream: UpstreamConfig,
    /// The API keys callers must present (`CHAT_API_KEYS`); empty means auth is off.
    pub api_keys: Vec<ApiKey>,
    /// The background job runner's limits.
    pub jobs: JobsConfig,
}

/// Which model provider answers.
#[derive(Debug, Clone)]
pub enum ModelConfig {
    /// The offline echo model (`CHAT_MODEL=echo`, the default).
    Echo(EchoConfig),
    /// Anthropic's Messages API (`CHAT_MODEL=anthropic`).
    Anthropic(AnthropicConfig),
    /// Any OpenAI-compatible chat completions server (`CHAT_MODEL=openai`).
    OpenAi(OpenAiConfig),
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig::Echo(EchoConfig::default())
    }
}

impl ModelConfig {
    /// The `provider/model` name shown by `/health` and in every reply.
    pub fn id(&self) -> String {
        match self {
            ModelConfig::Echo(_) => "echo/echo".to_owned(),
            ModelConfig::Anthropic(c) => format!("anthropic/{}", c.model),
            ModelConfig::OpenAi(c) => format!("openai/{}", c.model),
        }
    }
}

/// Settings of the echo model, which answers `"echo: " + prompt` without any network.
#[derive(Debug, Clone)]
pub struct EchoConfig {
    /// Time to the first token (`ECHO_DELAY_MS`, default 0).
    pub first_token_delay: Duration,
    /// Time between two tokens (`ECHO_TOKEN_MS`, default 20).
    pub token_interval: Duration,
}

impl Default for EchoConfig {
    fn default() -> Self {
        EchoConfig {
            first_token_delay: Duration::ZERO,
            token_interval: Duration::from_millis(20),
        }
    }
}

/// Settings of the Anthropic Messages API client.
#[derive(Debug, Clone)]
pub struct AnthropicConfig {
    /// `ANTHROPIC_API_KEY` (required).
    pub api_key: Secret,
    /// `ANTHROPIC_MODEL` (default `claude-sonnet-4-6`).
    pub model: String,
    /// `ANTHROPIC_BASE_URL` (default `https://api.anthropic.com`), without a trailing slash.
    pub base_url: String,
}

/// Settings of the OpenAI-compatible client.
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// `OPENAI_BASE_URL` (required), e.g. `https://api.openai.com/v1` or
    /// `http://127.0.0.1:11434/v1`; a URL without a path gets `/v1`.
    pub base_url: String,
    /// `OPENAI_API_KEY`, sent as a bearer token when set.
    pub api_key: Option<Secret>,
    /// `OPENAI_MODEL` (default `gpt-4o-mini`).
    pub model: String,
}

/// Timeouts and retries for model provider calls.
#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    /// Time to open a TCP connection (`MODEL_CONNECT_TIMEOUT_MS`, default 10 000).
    pub connect_timeout: Duration,
    /// Time from sending a request to the response head
    /// (`MODEL_FIRST_BYTE_TIMEOUT_MS`, default 60 000).
    pub first_byte_timeout: Duration,
    /// Longest silence allowed while reading a response body or stream
    /// (`MODEL_IDLE_TIMEOUT_MS`, default 30 000).
    pub idle_timeout: Duration,
    /// Retries after a 429, 529 or 5xx answer, made only before anything was
    /// streamed to the client (`MODEL_MAX_RETRIES`, default 2).
    pub max_retries: u32,
    /// The first retry's delay; it doubles each time, with jitter
    /// (`MODEL_RETRY_BASE_MS`, default 500).
    pub retry_base_delay: Duration,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        UpstreamConfig {
            connect_timeout: Duration::from_secs(10),
            first_byte_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(30),
            max_retries: 2,
            retry_base_delay: Duration::from_millis(500),
        }
    }
}

/// Limits of the background job runner.
#[derive(Debug, Clone)]
pub struct JobsConfig {
    /// Jobs kept in memory (`JOBS_MAX_STORED`, default 1000); when full, the
    /// oldest finished job is forgotten, and with none finished a new job is
    /// refused with 503.
    pub max_stored: usize,
    /// Model calls that jobs may make at once, across all jobs
    /// (`JOBS_CONCURRENCY`, default 4).
    pub concurrency: usize,
    /// `max_tokens` of each document's summary (`JOBS_SUMMARY_MAX_TOKENS`, default 300).
    pub summary_max_tokens: u32,
}

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig {
            max_stored: 1000,
            concurrency: 4,
            summary_max_tokens: 300,
        }
    }
}

/// One API key: the caller's name (shown by `/me`) and the secret itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// The caller's name.
    pub name: String,
    /// The key a caller sends as `Authorization: Bearer <key>`.
    pub key: Secret,
}

impl ApiKey {
    /// A key named `name`.
    pub fn new(name: impl Into<String>, key: impl Into<String>) -> Self {
        ApiKey {
            name: name.into(),
            key: Secret::new(key),
        }
    }
}

/// A secret string: printed as `***` by `Debug`, read only through [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself; every call site is a place it can leak from.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A setting that could not be used. It names the variable or argument, never
/// a secret's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The variable or argument (`PORT`, `--port`, `CHAT_API_KEYS`…).
    pub setting: String,
    /// What is wrong with it.
    pub reason: String,
}

impl ConfigError {
    fn new(setting: &str, reason: impl Into<String>) -> Self {
        ConfigError {
            setting: setting.to_owned(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.setting, self.reason)
    }
}

impl std::error::Error for ConfigError {}

/// What the command line asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Serve.
    Serve,
    /// Print the usage and exit.
    Help,
}

/// The `--help` text.
pub const USAGE: &str = "\
chat: an AI chat service built on frontdesk

USAGE:
    chat [--host HOST] [--port PORT]

OPTIONS:
    --host HOST    address to listen on (env HOST, default 127.0.0.1)
    --port PORT    port to listen on (env PORT, default 8000; 0 picks a free port)
    -h, --help     print this help

The model and everything else are configured with environment variables:
CHAT_MODEL (echo | anthropic | openai), CHAT_API_KEYS, ANTHROPIC_*, OPENAI_*,
ECHO_*, MODEL_*, JOBS_* and RUST_LOG. See examples/chat/README.md.
";

impl Config {
    /// Reads the configuration from the process environment.
    ///
    /// # Errors
    /// When a variable is set to something unusable, or a provider's required
    /// variable is missing.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `var`, which answers a variable's value
    /// (`None` when unset). An empty value counts as unset.
    ///
    /// # Errors
    /// As [`Config::from_env`].
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| var(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let host = get("HOST").unwrap_or_else(|| "127.0.0.1".to_owned());
        let port = match get("PORT") {
            Some(p) => parse_port("PORT", &p)?,
            None => 8000,
        };
        let model = match get("CHAT_MODEL").as_deref().unwrap_or("echo") {
            "echo" => ModelConfig::Echo(EchoConfig {
                first_token_delay: millis(&get, "ECHO_DELAY_MS", 0)?,
                token_interval: millis(&get, "ECHO_TOKEN_MS", 20)?,
            }),
            "anthropic" => {
                let api_key = get("ANTHROPIC_API_KEY").ok_or_else(|| {
                    ConfigError::new("ANTHROPIC_API_KEY", "required when CHAT_MODEL=anthropic")
                })?;
                header_safe("ANTHROPIC_API_KEY", &api_key)?;
                ModelConfig::Anthropic(AnthropicConfig {
                    api_key: Secret::new(api_key),
                    model: get("ANTHROPIC_MODEL").unwrap_or_else(|| "claude-sonnet-4-6".to_owned()),
                    base_url: base_url(
                        "ANTHROPIC_BASE_URL",
                        get("ANTHROPIC_BASE_URL")
                            .as_deref()
                            .unwrap_or("https://api.anthropic.com"),
                        None,
                    )?,
                })
            }
            "openai" => {
                let base = get("OPENAI_BASE_URL").ok_or_else(|| {
                    ConfigError::new(
                        "OPENAI_BASE_URL",
                        "required when CHAT_MODEL=openai (e.g. https://api.openai.com/v1)",
                    )
                })?;
                let api_key = get("OPENAI_API_KEY");
                if let Some(key) = &api_key {
                    header_safe("OPENAI_API_KEY", key)?;
                }
                ModelConfig::OpenAi(OpenAiConfig {
                    base_url: base_url("OPENAI_BASE_URL", &base, Some("/v1"))?,
                    api_key: api_key.map(Secret::new),
                    model: get("OPENAI_MODEL").unwrap_or_else(|| "gpt-4o-mini".to_owned()),
                })
            }
            other => {
                return Err(ConfigError::new(
                    "CHAT_MODEL",
                    format!("unknown model provider `{other}`: use echo, anthropic or openai"),
                ))
            }
        };
        let defaults = UpstreamConfig::default();
        let upstream = UpstreamConfig {
            connect_timeout: millis(
                &get,
                "MODEL_CONNECT_TIMEOUT_MS",
                defaults.connect_timeout.as_millis() as u64,
            )?,
            first_byte_timeout: millis(
                &get,
                "MODEL_FIRST_BYTE_TIMEOUT_MS",
                defaults.first_byte_timeout.as_millis() as u64,
            )?,
            idle_timeout: millis(
                &get,
                "MODEL_IDLE_TIMEOUT_MS",
                defaults.idle_timeout.as_millis() as u64,
            )?,
            max_retries: number(&get, "MODEL_MAX_RETRIES", defaults.max_retries, 0..=10)?,
            retry_base_delay: millis(
                &get,
                "MODEL_RETRY_BASE_MS",
                defaults.retry_base_delay.as_millis() as u64,
            )?,
        };
        for (name, value) in [
            ("MODEL_CONNECT_TIMEOUT_MS", upstream.connect_timeout),
            ("MODEL_FIRST_BYTE_TIMEOUT_MS", upstream.first_byte_timeout),
            ("MODEL_IDLE_TIMEOUT_MS", upstream.idle_timeout),
        ] {
            if value.is_zero() {
                return Err(ConfigError::new(name, "must be at least 1 ms"));
            }
        }
        let api_keys = match get("CHAT_API_KEYS") {
            Some(list) => parse_api_keys(&list)?,
            None => Vec::new(),
        };
        let job_defaults = JobsConfig::default();
        let jobs = JobsConfig {
            max_stored: number(&get, "JOBS_MAX_STORED", job_defaults.max_stored, 1..=1_000_000)?,
            concurrency: number(&get, "JOBS_CONCURRENCY", job_defaults.concurrency, 1..=1024)?,
            summary_max_tokens: number(
                &get,
                "JOBS_SUMMARY_MAX_TOKENS",
                job_defaults.summary_max_tokens,
                1..=4096,
            )?,
        };
        Ok(Config {
            host,
            port,
            model,
            upstream,
            api_keys,
            jobs,
        })
    }

    /// Applies command-line arguments (`--host H`, `--host=H`, `--port P`,
    /// `--port=P`, `-h`/`--help`) on top of the environment's settings.
    ///
    /// # Errors
    /// On an unknown argument, a missing value or a bad port.
    pub fn apply_args<I>(&mut self, args: I) -> Result<Command, ConfigError>
    where
        I: IntoIterator<Item = String>,
    {
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
                _ => (arg.clone(), None),
            };
            match flag.as_str() {
                "-h" | "--help" => return Ok(Command::Help),
                "--host" | "--port" => {
                    let value = match inline.or_else(|| args.next()) {
                        Some(v) if !v.is_empty() => v,
                        _ => return Err(ConfigError::new(&flag, "needs a value")),
                    };
                    if flag == "--host" {
                        self.host = value;
                    } else {
                        self.port = parse_port("--port", &value)?;
                    }
                }
                _ => return Err(ConfigError::new(&arg, "unknown argument (try --help)")),
            }
        }
        Ok(Command::Serve)
    }

    /// Whether callers must present an API key.
    pub fn auth_enabled(&self) -> bool {
        !self.api_keys.is_empty()
    }
}

/// A key must be sendable as a header value: printable ASCII, no spaces.
fn header_safe(setting: &str, key: &str) -> Result<(), ConfigError> {
    if key.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(ConfigError::new(
            setting,
            "may only contain printable ASCII characters without spaces",
        ))
    }
}

fn parse_port(setting: &str, value: &str) -> Result<u16, ConfigError> {
    value
        .parse::<u16>()
        .map_err(|_| ConfigError::new(setting, format!("`{value}` is not a port number (0-65535)")))
}

fn millis(get: &impl Fn(&str) -> Option<String>, name: &str, default: u64) -> Result<Duration, ConfigError> {
    Ok(Duration::from_millis(number(get, name, default, 0..=86_400_000)?))
}

fn number<T>(
    get: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + fmt::Display + Copy,
{
    let Some(text) = get(name) else {
        return Ok(default);
    };
    match text.parse::<T>() {
        Ok(value) if range.contains(&value) => Ok(value),
        _ => Err(ConfigError::new(
            name,
            format!(
                "`{text}` is not a whole number from {} to {}",
                range.start(),
                range.end()
            ),
        )),
    }
}

/// Checks a provider base URL: `http` or `https`, a host, no query. Returns it
/// without a trailing slash; `default_path` is added when the URL has no path.
fn base_url(setting: &str, value: &str, default_path: Option<&str>) -> Result<String, ConfigError> {
    let uri: http::Uri = value
        .parse()
        .map_err(|_| ConfigError::new(setting, format!("`{value}` is not a URL")))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => return Err(ConfigError::new(setting, "must start with http:// or https://")),
    }
    if uri.authority().is_none() {
        return Err(ConfigError::new(setting, "must name a host"));
    }
    if uri.query().is_some() {
        return Err(ConfigError::new(setting, "must not have a query string"));
    }
    let mut url = value.trim_end_matches('/').to_owned();
    if let Some(path) = default_path {
        if uri.path().trim_end_matches('/').is_empty() {
            url.push_str(path);
        }
    }
    Ok(url)
}

/// Parses `name:key,name:key`. Names and keys must be non-empty, keys unique.
/// Errors name the entry's position, never its key.
fn parse_api_keys(list: &str) -> Result<Vec<ApiKey>, ConfigError> {
    let mut keys: Vec<ApiKey> = Vec::new();
    for (i, entry) in list
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .enumerate()
    {
        let position = i + 1;
        let Some((name, key)) = entry.split_once(':') else {
            return Err(ConfigError::new(
                "CHAT_API_KEYS",
                format!("entry {position} is not `name:key`"),
            ));
        };
        let (name, key) = (name.trim(), key.trim());
        if name.is_empty() || key.is_empty() {
            return Err(ConfigError::new(
                "CHAT_API_KEYS",
                format!("entry {position} needs both a name and a key"),
            ));
        }
        header_safe("CHAT_API_KEYS", key).map_err(|_| {
            ConfigError::new(
                "CHAT_API_KEYS",
                format!(
                    "the key of entry {position} may only contain printable ASCII characters without spaces"
                ),
            )
        })?;
        if keys.iter().any(|k| k.key.expose() == key) {
            return Err(ConfigError::new(
                "CHAT_API_KEYS",
                format!("entry {position} repeats the key of an earlier entry"),
            ));
        }
        keys.push(ApiKey::new(name, key));
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_vars(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_run_the_echo_model_without_auth() {
        let c = config(&[]).unwrap();
        assert_eq!((c.host.as_str(), c.port), ("127.0.0.1", 8000));
        assert_eq!(c.model.id(), "echo/echo");
        assert!(!c.auth_enabled());
        assert_eq!(c.upstream.max_retries, 2);
    }

    #[test]
    fn providers_and_their_settings() {
        let c = config(&[("CHAT_MODEL", "anthropic"), ("ANTHROPIC_API_KEY", "sk-ant")]).unwrap();
        assert_eq!(c.model.id(), "anthropic/claude-sonnet-4-6");
        let ModelConfig::Anthropic(a) = &c.model else {
            panic!()
        };
        assert_eq!(a.base_url, "https://api.anthropic.com");
        assert!(!format!("{a:?}").contains("sk-ant"), "the key is redacted");

        let err = config(&[("CHAT_MODEL", "anthropic")]).unwrap_err();
        assert_eq!(err.setting, "ANTHROPIC_API_KEY");

        let c = config(&[
            ("CHAT_MODEL", "openai"),
            ("OPENAI_BASE_URL", "http://127.0.0.1:9/"),
        ])
        .unwrap();
        let ModelConfig::OpenAi(o) = &c.model else {
            panic!()
        };
        assert_eq!(o.base_url, "http://127.0.0.1:9/v1");
        let c = config(&[
            ("CHAT_MODEL", "openai"),
            ("OPENAI_BASE_URL", "https://x.test/v1/"),
        ])
        .unwrap();
        let ModelConfig::OpenAi(o) = &c.model else {
            panic!()
        };
        assert_eq!(o.base_url, "https://x.test/v1");
        assert!(config(&[("CHAT_MODEL", "openai"), ("OPENAI_BASE_URL", "ftp://x")]).is_err());
        assert!(config(&[("CHAT_MODEL", "gpt")]).is_err());
    }

    #[test]
    fn api_keys_parse_and_errors_never_show_keys() {
        let c = config(&[("CHAT_API_KEYS", " alice:sk-1 , bob:sk:2 ")]).unwrap();
        assert_eq!(
            c.api_keys,
            vec![ApiKey::new("alice", "sk-1"), ApiKey::new("bob", "sk:2")]
        );
        for bad in ["alice", "alice:", ":sk-1", "a:dup,b:dup", "a:d\u{e9}p"] {
            let err = config(&[("CHAT_API_KEYS", bad)]).unwrap_err();
            assert_eq!(err.setting, "CHAT_API_KEYS");
            assert!(
                !err.to_string().contains("dup") && !err.to_string().contains("sk-1"),
                "{err}"
            );
        }
    }

    #[test]
    fn numbers_are_checked() {
        assert_eq!(config(&[("PORT", "80000")]).unwrap_err().setting, "PORT");
        assert_eq!(
            config(&[("ECHO_TOKEN_MS", "-1")]).unwrap_err().setting,
            "ECHO_TOKEN_MS"
        );
        assert_eq!(
            config(&[("MODEL_IDLE_TIMEOUT_MS", "0")]).unwrap_err().setting,
            "MODEL_IDLE_TIMEOUT_MS"
        );
        assert_eq!(
            config(&[("JOBS_CONCURRENCY", "0")]).unwrap_err().setting,
            "JOBS_CONCURRENCY"
        );
        let c = config(&[("ECHO_DELAY_MS", "1000"), ("MODEL_MAX_RETRIES", "0")]).unwrap();
        let ModelConfig::Echo(e) = &c.model else { panic!() };
        assert_eq!(e.first_token_delay, Duration::from_secs(1));
        assert_eq!(c.upstream.max_retries, 0);
    }

    #[test]
    fn command_line_overrides_the_environment() {
        let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let mut c = config(&[("PORT", "9000")]).unwrap();
        assert_eq!(
            c.apply_args(args(&["--host", "0.0.0.0", "--port=9001"])),
            Ok(Command::Serve)
        );
        assert_eq!((c.host.as_str(), c.port), ("0.0.0.0", 9001));
        assert_eq!(c.apply_args(args(&["--help"])), Ok(Command::Help));
        assert!(c.apply_args(args(&["--port"])).is_err());
        assert!(c.apply_args(args(&["--port", "x"])).is_err());
        assert!(c.apply_args(args(&["--verbose"])).is_err());
    }
}
