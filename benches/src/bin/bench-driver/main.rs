//! `bench-driver`: runs the same load against the frontdesk, raw hyper and axum
//! servers of this package, side by side, and prints medians and ratios.
//!
//! It builds nothing: it starts `bench-server`, `bench-hyper` and `bench-axum`
//! from its own directory (`target/release`), each as a child process on a free
//! `127.0.0.1` port, waits for `GET /hello` and checks the contract once. Then,
//! round after round:
//!
//! - **hello, chat** (steady throughput): all servers are started fresh and run
//!   at once; they are loaded in turn, one short slice each (`--slice`, order
//!   rotated every cycle), for `--cycles` cycles, so that a change in the
//!   machine's load hits all of them alike. CPU comes from
//!   `/proc/<pid>/task/*/schedstat` (nanoseconds). A round's slices are pooled;
//!   the ratio of each round is printed and their median is the headline.
//! - **slow, slow-sustained, stream, sse-open** (bursts, 5,000 in flight,
//!   streams): every server in turn
//!   (the order rotates each round) is started fresh, loaded, measured
//!   (`/proc/<pid>/stat`, `VmHWM`) and killed.
//!
//! Every server is killed by PID. All traffic goes to 127.0.0.1.
//!
//! ```text
//! bench-driver [--quick] [--rounds N] [--duration S] [--warmup S]
//!              [--scenarios hello,chat,slow,slow-sustained,stream,sse-open]
//!              [--servers frontdesk,hyper,axum] [--cycles N] [--slice S]
//!              [--sustained S] [--sustained-warmup S] [--connections N] [--stream-connections N]
//!              [--concurrency N] [--connect-parallelism N] [--delay-ms MS] [--token-ms MS]
//!              [--open-token-ms MS] [--driver-threads N] [--server-cpus LIST]
//!              [--bin-dir DIR] [--baseline DIR]
//! ```
//!
//! The driver runs on `--driver-threads` tokio workers (default 1), so on a
//! small machine it leaves the server at least one core. `--server-cpus`
//! pins the servers with `taskset -c`. `--baseline DIR` adds `frontdesk-base`,
//! the `bench-server` of another build, to compare two versions of frontdesk.
//!
//! Environment: `BENCH_ROUNDS`, `BENCH_DURATION`, `BENCH_SCENARIOS`,
//! `BENCH_SERVERS` (flags win). `--quick` finishes in about two minutes.

mod client;
mod procs;
mod scenarios;
mod stats;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use client::{Conn, Prepared};
use procs::{Server, ServerProcess};
use scenarios::{burst, closed_loop, pooled, sliced, sustained, Measurement, STREAM_EVENTS};
use stats::median;

/// What is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    Hello,
    Chat,
    Slow,
    SlowSustained,
    Stream,
    SseOpen,
}

impl Scenario {
    /// Whether the scenario runs in slices alternating between servers that
    /// all run at once (the steady-state throughput scenarios), rather than
    /// one fresh server per run.
    fn is_sliced(self) -> bool {
        matches!(self, Scenario::Hello | Scenario::Chat)
    }

    const ALL: [Scenario; 6] = [
        Scenario::Hello,
        Scenario::Chat,
        Scenario::Slow,
        Scenario::SlowSustained,
        Scenario::Stream,
        Scenario::SseOpen,
    ];

    fn name(self) -> &'static str {
        match self {
            Scenario::Hello => "hello",
            Scenario::Chat => "chat",
            Scenario::Slow => "slow",
            Scenario::SlowSustained => "slow-sustained",
            Scenario::Stream => "stream",
            Scenario::SseOpen => "sse-open",
        }
    }

    fn parse(text: &str) -> Option<Scenario> {
        Scenario::ALL.into_iter().find(|s| s.name() == text)
    }
}

/// The run's settings.
#[derive(Debug, Clone)]
struct Config {
    rounds: usize,
    duration: Duration,
    warmup: Duration,
    scenarios: Vec<Scenario>,
    servers: Vec<Server>,
    connections: usize,
    stream_connections: usize,
    concurrency: usize,
    connect_parallelism: usize,
    delay_ms: u64,
    token_ms: u64,
    open_token_ms: u64,
    bin_dir: PathBuf,
    pause: Duration,
    driver_threads: usize,
    /// CPUs the servers are pinned to (`taskset -c`), if any.
    server_cpus: Option<String>,
    /// Where `frontdesk-base`'s `bench-server` is.
    baseline: Option<PathBuf>,
    /// slow-sustained: the unrecorded start and the recorded window.
    sustained_warmup: Duration,
    sustained: Duration,
    /// hello and chat: cycles of slices, and the length of one slice.
    cycles: usize,
    slice: Duration,
}

const PROMPT: &str =
    "Summarize in one paragraph why validating requests before calling a model saves money and time.";

impl Config {
    fn defaults() -> Config {
        let bin_dir = std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("target/release"));
        Config {
            rounds: 5,
            duration: Duration::from_secs(5),
            warmup: Duration::from_secs(1),
            scenarios: Scenario::ALL.to_vec(),
            servers: Server::ALL.to_vec(),
            connections: 64,
            stream_connections: 32,
            concurrency: 5000,
            connect_parallelism: 256,
            delay_ms: 1000,
            token_ms: 10,
            open_token_ms: 250,
            bin_dir,
            pause: Duration::from_millis(500),
            driver_threads: 1,
            server_cpus: None,
            baseline: None,
            sustained_warmup: Duration::from_secs(3),
            sustained: Duration::from_secs(6),
            cycles: 30,
            slice: Duration::from_millis(300),
        }
    }

    fn quick(&mut self) {
        self.rounds = 2;
        self.duration = Duration::from_secs(2);
        self.warmup = Duration::from_millis(500);
        self.open_token_ms = 150;
        self.pause = Duration::from_millis(200);
        self.cycles = 8;
        self.sustained = Duration::from_secs(3);
        self.slice = Duration::from_millis(250);
    }

    fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let number = |v: &str| {
            v.parse::<u64>()
                .map_err(|_| format!("--{key}: not a number: {v}"))
        };
        let seconds = |v: &str| {
            v.parse::<f64>()
                .ok()
                .filter(|s| *s >= 0.0)
                .map(Duration::from_secs_f64)
                .ok_or_else(|| format!("--{key}: not a number of seconds: {v}"))
        };
        match key {
            "rounds" => self.rounds = number(value)?.max(1) as usize,
            "duration" => self.duration = seconds(value)?,
            "warmup" => self.warmup = seconds(value)?,
            "connections" => self.connections = number(value)?.max(1) as usize,
            "stream-connections" => self.stream_connections = number(value)?.max(1) as usize,
            "concurrency" => self.concurrency = number(value)?.max(1) as usize,
            "connect-parallelism" => self.connect_parallelism = number(value)?.max(1) as usize,
            "delay-ms" => self.delay_ms = number(value)?,
            "token-ms" => self.token_ms = number(value)?,
            "open-token-ms" => self.open_token_ms = number(value)?,
            "driver-threads" => self.driver_threads = number(value)?.max(1) as usize,
            "bin-dir" => self.bin_dir = PathBuf::from(value),
            "sustained" => self.sustained = seconds(value)?,
            "sustained-warmup" => self.sustained_warmup = seconds(value)?,
            "cycles" => self.cycles = number(value)?.max(1) as usize,
            "slice" => self.slice = seconds(value)?.max(Duration::from_millis(10)),
            "baseline" => self.baseline = Some(PathBuf::from(value)),
            "server-cpus" => self.server_cpus = Some(value.to_owned()).filter(|v| !v.is_empty()),
            "scenarios" => {
                self.scenarios = value
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(|s| Scenario::parse(s.trim()).ok_or_else(|| format!("unknown scenario `{s}`")))
                    .collect::<Result<_, _>>()?;
            }
            "servers" => {
                self.servers = value
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(|s| Server::parse(s.trim()).ok_or_else(|| format!("unknown server `{s}`")))
                    .collect::<Result<_, _>>()?;
            }
            _ => return Err(format!("unknown flag --{key}")),
        }
        Ok(())
    }

    fn from_args() -> Result<Config, String> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let mut config = Config::defaults();
        if args.iter().any(|a| a == "--quick") {
            config.quick();
        }
        for (var, key) in [
            ("BENCH_ROUNDS", "rounds"),
            ("BENCH_DURATION", "duration"),
            ("BENCH_SCENARIOS", "scenarios"),
            ("BENCH_SERVERS", "servers"),
        ] {
            if let Ok(value) = std::env::var(var) {
                config.set(key, &value).map_err(|e| format!("{var}: {e}"))?;
            }
        }
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            if arg == "--quick" {
                continue;
            }
            if arg == "--help" || arg == "-h" {
                return Err(String::new());
            }
            let Some(flag) = arg.strip_prefix("--") else {
                return Err(format!("unexpected argument `{arg}`"));
            };
            let (key, value) = match flag.split_once('=') {
                Some((k, v)) => (k.to_owned(), v.to_owned()),
                None => (
                    flag.to_owned(),
                    iter.next()
                        .cloned()
                        .ok_or_else(|| format!("--{flag} needs a value"))?,
                ),
            };
            config.set(&key, &value)?;
        }
        Ok(config)
    }
}

const USAGE: &str = "usage: bench-driver [--quick] [--rounds N] [--duration S] [--warmup S]
       [--scenarios hello,chat,slow,slow-sustained,stream,sse-open] [--servers frontdesk,hyper,axum]
       [--cycles N] [--slice S] [--sustained S] [--sustained-warmup S] [--connections N] [--stream-connections N] [--concurrency N]
       [--connect-parallelism N] [--delay-ms MS] [--token-ms MS] [--open-token-ms MS]
       [--driver-threads N] [--server-cpus LIST] [--bin-dir DIR] [--baseline DIR]

hello and chat: in each round, every server runs at once and they are loaded in turn,
--cycles (30) cycles of one --slice (0.3 s) per server. The other scenarios: one fresh
server per run, --duration long. --server-cpus pins the servers (taskset -c LIST).
servers: frontdesk, hyper, axum (default); diagnostics: frontdesk-h1, frontdesk-auto,
frontdesk-auto-timer (frontdesk's app on a bare hyper http1 / auto / auto+timer loop),
frontdesk-http1-only (serve_with with http2: false: no look at the first bytes),
frontdesk-base (the bench-server in --baseline DIR: another build, side by side).
--quick: 2 rounds of short runs, about two minutes.";

/// The soft `RLIMIT_NOFILE`, read from `/proc/self/limits`.
fn open_files_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Sends one request; the status, the body as JSON (null if it is not) and as text.
async fn ask(conn: &mut Conn, request: Prepared) -> Result<(u16, serde_json::Value, String), String> {
    conn.send(&request).await.map_err(|e| e.to_string())?;
    let (status, body) = conn.read_response(true).await.map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&body).into_owned();
    let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    Ok((status, json, text))
}

/// Checks one server against the contract: answers, 422s and the stream.
/// Starts `server` (with `DELAY_MS` and `TOKEN_MS` as given) and waits until
/// it answers.
async fn start_ready(
    config: &Config,
    server: Server,
    delay_ms: u64,
    token_ms: u64,
    ticks: f64,
) -> Result<ServerProcess, String> {
    let mut process = ServerProcess::start(
        server,
        config.bin_dir(server)?,
        config.server_cpus.as_deref(),
        delay_ms,
        token_ms,
        ticks,
    )
    .map_err(|e| e.to_string())?;
    process
        .wait_ready(Duration::from_secs(10))
        .await
        .map_err(|e| format!("{}: {e}", server.name()))?;
    Ok(process)
}

async fn check_contract(config: &Config, server: Server, ticks: f64) -> Result<(), String> {
    let process = start_ready(config, server, 50, 1, ticks).await?;
    let mut conn = Conn::connect(process.addr).await.map_err(|e| e.to_string())?;
    let types = |v: &serde_json::Value| -> Vec<String> {
        v["detail"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e["type"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut problems = Vec::new();
    let (status, body, _) = ask(&mut conn, Prepared::get("/hello")).await?;
    if status != 200 || body != serde_json::json!({"message": "hello"}) {
        problems.push(format!("GET /hello: {status} {body}"));
    }
    let (status, body, _) = ask(&mut conn, Prepared::post_json("/chat", r#"{"prompt":"hi"}"#)).await?;
    if status != 200 || body != serde_json::json!({"reply": "echo: hi"}) {
        problems.push(format!("POST /chat: {status} {body}"));
    }
    let (status, body, _) = ask(
        &mut conn,
        Prepared::post_json("/chat", r#"{"prompt":"","max_tokens":0}"#),
    )
    .await?;
    if status != 422 || types(&body) != ["string_too_short", "greater_than_equal"] {
        problems.push(format!(
            "POST /chat (empty prompt, max_tokens 0): {status} {body}"
        ));
    }
    let (status, body, _) = ask(&mut conn, Prepared::post_json("/chat", r#"{"prompt":42}"#)).await?;
    if status != 422
        || types(&body) != ["string_type"]
        || body["detail"][0]["loc"] != serde_json::json!(["body", "prompt"])
    {
        problems.push(format!("POST /chat (prompt 42): {status} {body}"));
    }
    let (status, body, _) = ask(
        &mut conn,
        Prepared::post_json("/chat", r#"{"prompt":"x","max_tokens":5000}"#),
    )
    .await?;
    if status != 422 || types(&body) != ["less_than_equal"] {
        problems.push(format!("POST /chat (max_tokens 5000): {status} {body}"));
    }
    let started = Instant::now();
    let (status, body, _) = ask(
        &mut conn,
        Prepared::post_json("/chat/slow", r#"{"prompt":"slow"}"#),
    )
    .await?;
    if status != 200
        || body != serde_json::json!({"reply": "echo: slow"})
        || started.elapsed() < Duration::from_millis(50)
    {
        problems.push(format!(
            "POST /chat/slow: {status} {body} in {:?}",
            started.elapsed()
        ));
    }
    let (status, _, text) = ask(
        &mut conn,
        Prepared::post_json("/chat/stream", r#"{"prompt":"s"}"#),
    )
    .await?;
    let events: Vec<&str> = text.split("\n\n").filter(|e| !e.is_empty()).collect();
    let expected_first = "data: {\"delta\":\"tok0\"}";
    let expected_last = "event: done\ndata: [DONE]";
    if status != 200
        || events.len() != STREAM_EVENTS
        || events.first() != Some(&expected_first)
        || events.last() != Some(&expected_last)
    {
        problems.push(format!("POST /chat/stream: {status} {text:?}"));
    }
    let (status, _, _) = ask(&mut conn, Prepared::get("/nope")).await?;
    if status != 404 {
        problems.push(format!("GET /nope: {status}"));
    }
    process.stop();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n  "))
    }
}

/// One run: a fresh server, one scenario, killed afterwards.
async fn run_once(
    config: &Config,
    scenario: Scenario,
    server: Server,
    ticks: f64,
) -> Result<Measurement, String> {
    let chat_body = serde_json::json!({"prompt": PROMPT, "max_tokens": 256}).to_string();
    let token_ms = match scenario {
        Scenario::SseOpen => config.open_token_ms,
        _ => config.token_ms,
    };
    let process = start_ready(config, server, config.delay_ms, token_ms, ticks).await?;
    let limit = |expected_ms: u64| Duration::from_millis(expected_ms * 3 + 30_000);
    let measurement = match scenario {
        Scenario::Hello => {
            closed_loop(
                &process,
                Prepared::get("/hello"),
                config.connections,
                config.warmup,
                config.duration,
                false,
            )
            .await
        }
        Scenario::Chat => {
            let request = Prepared::post_json("/chat", &chat_body);
            closed_loop(
                &process,
                request,
                config.connections,
                config.warmup,
                config.duration,
                false,
            )
            .await
        }
        Scenario::Stream => {
            let request = Prepared::post_json("/chat/stream", &chat_body);
            closed_loop(
                &process,
                request,
                config.stream_connections,
                config.warmup,
                config.duration,
                true,
            )
            .await
        }
        Scenario::Slow => {
            let request = Prepared::post_json("/chat/slow", &chat_body);
            let limit = limit(config.delay_ms);
            burst(
                &process,
                request,
                config.concurrency,
                config.connect_parallelism,
                false,
                limit,
            )
            .await
        }
        Scenario::SlowSustained => {
            let request = Prepared::post_json("/chat/slow", &chat_body);
            sustained(
                &process,
                request,
                config.concurrency,
                config.connect_parallelism,
                config.sustained_warmup,
                config.sustained,
            )
            .await
        }
        Scenario::SseOpen => {
            let request = Prepared::post_json("/chat/stream", &chat_body);
            let limit = limit(config.open_token_ms * STREAM_EVENTS as u64);
            burst(
                &process,
                request,
                config.concurrency,
                config.connect_parallelism,
                true,
                limit,
            )
            .await
        }
    };
    process.stop();
    Ok(measurement)
}

impl Config {
    /// The directory `server`'s binary is started from.
    fn bin_dir(&self, server: Server) -> Result<&std::path::Path, String> {
        match server {
            Server::FrontdeskBase => self
                .baseline
                .as_deref()
                .ok_or_else(|| "frontdesk-base needs --baseline DIR".to_owned()),
            _ => Ok(&self.bin_dir),
        }
    }
}

/// hello or chat on every server at once, in alternating slices (see
/// [`sliced`]); per server, one measurement per cycle.
async fn run_sliced(config: &Config, scenario: Scenario, ticks: f64) -> Result<PerServer, String> {
    let request = match scenario {
        Scenario::Hello => Prepared::get("/hello"),
        _ => {
            let chat_body = serde_json::json!({"prompt": PROMPT, "max_tokens": 256}).to_string();
            Prepared::post_json("/chat", &chat_body)
        }
    };
    let mut processes = Vec::with_capacity(config.servers.len());
    for server in &config.servers {
        processes.push(start_ready(config, *server, config.delay_ms, config.token_ms, ticks).await?);
    }
    let refs: Vec<&ServerProcess> = processes.iter().collect();
    let servers = &config.servers;
    let per_cycle = sliced(
        &refs,
        request,
        config.connections,
        config.warmup,
        config.slice,
        config.cycles,
    )
    .await
    .map_err(|e| format!("{}: {e}", scenario.name()))?;
    let mut results = PerServer::new();
    for ((server, process), mut runs) in servers.iter().zip(&processes).zip(per_cycle) {
        let rss = process.status_kib("VmHWM");
        for m in &mut runs {
            m.peak_rss_kib = rss;
        }
        results.push((*server, runs));
    }
    drop(refs);
    for process in processes {
        process.stop();
    }
    Ok(results)
}

/// Each server's runs of one scenario, one measurement per round.
type PerServer = Vec<(Server, Vec<Measurement>)>;

/// One column of a result table.
struct Column {
    header: &'static str,
    value: fn(&Measurement) -> f64,
    decimals: usize,
    ratio: bool,
}

fn mib(m: &Measurement) -> f64 {
    m.peak_rss_kib as f64 / 1024.0
}

fn columns(scenario: Scenario) -> Vec<Column> {
    let col = |header, value, decimals, ratio| Column {
        header,
        value,
        decimals,
        ratio,
    };
    let common_tail = [
        col("peak RSS MiB", mib as fn(&Measurement) -> f64, 1, true),
        col("req per CPU-s", |m| m.per_cpu_second(), 0, true),
        col("errors", |m| m.errors as f64, 0, false),
    ];
    let slow_latency = [
        col("p50 ms", |m| m.latency.clone().quantile_ms(0.5), 1, true),
        col("p99 ms", |m| m.latency.clone().quantile_ms(0.99), 1, true),
        col("max ms", |m| m.latency.clone().quantile_ms(1.0), 1, true),
    ];
    let mut columns = match scenario {
        Scenario::Hello | Scenario::Chat => vec![
            col("req/s", |m| m.per_second(), 0, true),
            col("p50 ms", |m| m.latency.clone().quantile_ms(0.5), 2, true),
            col("p99 ms", |m| m.latency.clone().quantile_ms(0.99), 2, true),
        ],
        // The slow scenarios' latencies are around a second: one decimal.
        Scenario::Slow => [
            col("completed", |m| m.ok as f64, 0, false),
            col("max in flight", |m| m.max_in_flight as f64, 0, false),
        ]
        .into_iter()
        .chain(slow_latency)
        .collect(),
        Scenario::SlowSustained => [
            col("req/s", |m| m.per_second(), 0, true),
            col("in flight min", |m| m.min_in_flight as f64, 0, false),
            col("in flight max", |m| m.max_in_flight as f64, 0, false),
        ]
        .into_iter()
        .chain(slow_latency)
        .collect(),
        Scenario::Stream => vec![
            col("streams/s", |m| m.per_second(), 0, true),
            col(
                "first event p50 ms",
                |m| m.first_event.clone().quantile_ms(0.5),
                2,
                true,
            ),
            col(
                "first event p99 ms",
                |m| m.first_event.clone().quantile_ms(0.99),
                2,
                true,
            ),
            col("total p50 ms", |m| m.latency.clone().quantile_ms(0.5), 1, true),
            col("total p99 ms", |m| m.latency.clone().quantile_ms(0.99), 1, true),
        ],
        Scenario::SseOpen => vec![
            col("completed", |m| m.ok as f64, 0, false),
            col(
                "all open at once",
                |m| f64::from(u8::from(m.all_open_at_once == Some(true))),
                0,
                false,
            ),
            col(
                "first event p50 ms",
                |m| m.first_event.clone().quantile_ms(0.5),
                1,
                true,
            ),
            col(
                "first event p99 ms",
                |m| m.first_event.clone().quantile_ms(0.99),
                1,
                true,
            ),
            col("total p99 ms", |m| m.latency.clone().quantile_ms(0.99), 0, true),
        ],
    };
    columns.extend(common_tail);
    columns
}

fn title(config: &Config, scenario: Scenario) -> String {
    let runs = format!(
        "{} s per run after {} s warm-up",
        config.duration.as_secs_f64(),
        config.warmup.as_secs_f64()
    );
    match scenario {
        Scenario::Hello => format!("GET /hello — {} keep-alive connections", config.connections),
        Scenario::Chat => format!("POST /chat (valid ~100-char prompt) — {} keep-alive connections", config.connections),
        Scenario::Slow => format!(
            "POST /chat/slow — {} concurrent requests, DELAY_MS={} (connections opened first, then all requests released at once)",
            config.concurrency, config.delay_ms
        ),
        Scenario::SlowSustained => format!(
            "POST /chat/slow — {} connections, each sending again as soon as answered ({} in flight all the time), DELAY_MS={}; \
             released at once, the first {} s (the synchronized first wave) not recorded, then {} s recorded",
            config.concurrency,
            config.concurrency,
            config.delay_ms,
            config.sustained_warmup.as_secs_f64(),
            config.sustained.as_secs_f64()
        ),
        Scenario::Stream => format!(
            "POST /chat/stream — {} connections, TOKEN_MS={} ({} events), {runs}",
            config.stream_connections, config.token_ms, STREAM_EVENTS
        ),
        Scenario::SseOpen => format!(
            "{} concurrent open SSE streams on one process — TOKEN_MS={} (each stream lasts ~{} ms)",
            config.concurrency,
            config.open_token_ms,
            config.open_token_ms * STREAM_EVENTS as u64 - config.open_token_ms
        ),
    }
}

fn format_value(value: f64, decimals: usize) -> String {
    if value.is_nan() {
        "–".to_owned()
    } else {
        format!("{value:.decimals$}")
    }
}

fn print_table(config: &Config, scenario: Scenario, runs: &PerServer) {
    let columns = columns(scenario);
    println!("\n### {}\n", title(config, scenario));
    let results = runs;
    if scenario.is_sliced() {
        println!(
            "median of {} rounds; in each round all servers run at once (fresh processes) and are loaded in turn: \
             {} cycles of one {} s slice per server (order rotated every cycle) after a {} s warm-up slice each, \
             pooled; CPU from `/proc/<pid>/task/*/schedstat`\n",
            config.rounds,
            config.cycles,
            config.slice.as_secs_f64(),
            config.warmup.as_secs_f64()
        );
    } else {
        println!(
            "median of {} rounds{}\n",
            config.rounds,
            if scenario == Scenario::SseOpen || scenario == Scenario::Slow {
                "; CPU counts accepting the connections too"
            } else {
                ""
            }
        );
    }
    let headers: Vec<&str> = columns.iter().map(|c| c.header).collect();
    println!("| server | {} |", headers.join(" | "));
    println!("|---|{}", "---|".repeat(columns.len()));
    let medians: Vec<(Server, Vec<f64>)> = results
        .iter()
        .map(|(server, runs)| {
            let values = columns
                .iter()
                .map(|c| median(&runs.iter().map(|m| (c.value)(m)).collect::<Vec<_>>()))
                .collect();
            (*server, values)
        })
        .collect();
    for (server, values) in &medians {
        let cells: Vec<String> = values
            .iter()
            .zip(&columns)
            .map(|(v, c)| format_value(*v, c.decimals))
            .collect();
        println!("| {} | {} |", server.name(), cells.join(" | "));
    }
    let find = |s: Server| medians.iter().find(|(server, _)| *server == s).map(|(_, v)| v);
    if let Some(fd) = find(Server::Frontdesk) {
        for peer in [Server::Hyper, Server::Axum, Server::FrontdeskBase] {
            let Some(other) = find(peer) else { continue };
            let cells: Vec<String> = fd
                .iter()
                .zip(other)
                .zip(&columns)
                .map(|((a, b), c)| {
                    if c.ratio && b.abs() > f64::EPSILON {
                        format_value(a / b, 2)
                    } else {
                        "–".to_owned()
                    }
                })
                .collect();
            println!("| *frontdesk/{}* | {} |", peer.name(), cells.join(" | "));
        }
    }
    // The spread behind the medians: each round's value of the key latency or
    // rate column and of the per-CPU column.
    let key = match scenario {
        Scenario::Hello | Scenario::Chat => 0,
        Scenario::Stream => 2,
        Scenario::Slow | Scenario::SseOpen => 3,
        Scenario::SlowSustained => 4,
    };
    for index in [key, columns.len() - 2] {
        let column = &columns[index];
        let rounds: Vec<String> = runs
            .iter()
            .map(|(server, runs)| {
                let values: Vec<String> = runs
                    .iter()
                    .map(|m| format_value((column.value)(m), column.decimals))
                    .collect();
                format!("{} [{}]", server.name(), values.join(", "))
            })
            .collect();
        println!("\n{} per round: {}", column.header, rounds.join("; "));
    }
    // The ratios round by round: frontdesk and the peer ran back to back in
    // each round, so a round's ratio is the fairest single comparison and
    // their median the steadiest figure.
    let runs_of = |s: Server| runs.iter().find(|(server, _)| *server == s).map(|(_, runs)| runs);
    if let Some(fd) = runs_of(Server::Frontdesk) {
        let column = &columns[columns.len() - 2];
        for peer in [Server::Hyper, Server::Axum, Server::FrontdeskBase] {
            let Some(other) = runs_of(peer) else { continue };
            let ratios: Vec<f64> = fd
                .iter()
                .zip(other)
                .map(|(a, b)| (column.value)(a) / (column.value)(b))
                .filter(|r| r.is_finite())
                .collect();
            let listed: Vec<String> = ratios.iter().map(|r| format!("{r:.3}")).collect();
            println!(
                "\n{}, frontdesk/{} round by round: [{}] → median **{}**",
                column.header,
                peer.name(),
                listed.join(", "),
                format_value(median(&ratios), 3)
            );
        }
    }
}

fn one_line(m: &Measurement) -> String {
    let mut latency = m.latency.clone();
    let mut first = m.first_event.clone();
    let mut line = format!(
        "{:.0}/s ok {} err {} p50 {:.2} ms p99 {:.2} ms",
        m.per_second(),
        m.ok,
        m.errors,
        latency.quantile_ms(0.5),
        latency.quantile_ms(0.99)
    );
    if first.len() > 0 {
        line += &format!(
            " first-event p50 {:.2} p99 {:.2} ms",
            first.quantile_ms(0.5),
            first.quantile_ms(0.99)
        );
    }
    if m.connect_seconds > 0.0 {
        line += &format!(
            " (connect {:.2} s, max in flight {})",
            m.connect_seconds, m.max_in_flight
        );
    }
    line + &format!(
        " cpu {:.2} s → {:.0} req/cpu-s, peak RSS {:.1} MiB",
        m.cpu_seconds,
        m.per_cpu_second(),
        mib(m)
    )
}

async fn run(config: Config) -> Result<(), String> {
    let ticks = procs::clock_ticks();
    let needed = config.concurrency as u64 + 256;
    match open_files_limit() {
        Some(limit) if limit < needed => eprintln!(
            "warning: RLIMIT_NOFILE is {limit}, the bursts need about {needed} descriptors per process: run under `ulimit -n {needed}` (run.sh does)"
        ),
        _ => {}
    }
    let started = Instant::now();
    eprintln!("servers from {}", config.bin_dir.display());
    for server in &config.servers {
        check_contract(&config, *server, ticks)
            .await
            .map_err(|e| format!("{} breaks the contract:\n  {e}", server.name()))?;
        eprintln!("contract ok: {}", server.name());
    }
    let mut results: Vec<(Scenario, PerServer)> = config
        .scenarios
        .iter()
        .map(|s| (*s, config.servers.iter().map(|v| (*v, Vec::new())).collect()))
        .collect();
    // Sliced scenarios: every round starts fresh processes (a process's own
    // luck, such as where its threads and memory land, lasts all its life, so
    // only fresh processes average it out) and pools that round's slices.
    for round in 0..config.rounds {
        for (scenario, per_server) in results.iter_mut() {
            if !scenario.is_sliced() {
                continue;
            }
            let cycles = run_sliced(&config, *scenario, ticks).await?;
            for ((server, runs), (_, slices)) in per_server.iter_mut().zip(cycles) {
                let mut all = pooled(&slices);
                all.peak_rss_kib = slices.last().map_or(0, |m| m.peak_rss_kib);
                eprintln!(
                    "[round {}/{}] {:<8} {:<9} {}",
                    round + 1,
                    config.rounds,
                    scenario.name(),
                    server.name(),
                    one_line(&all)
                );
                runs.push(all);
            }
        }
    }
    for round in 0..config.rounds {
        for (scenario, per_server) in results.iter_mut() {
            if scenario.is_sliced() {
                continue;
            }
            let n = per_server.len();
            for k in 0..n {
                // Rotate who goes first, so a drift in machine load is spread.
                let (server, runs) = &mut per_server[(k + round) % n];
                let measurement = run_once(&config, *scenario, *server, ticks).await?;
                eprintln!(
                    "[round {}/{}] {:<8} {:<9} {}",
                    round + 1,
                    config.rounds,
                    scenario.name(),
                    server.name(),
                    one_line(&measurement)
                );
                runs.push(measurement);
                tokio::time::sleep(config.pause).await;
            }
        }
    }
    println!("## Results\n");
    println!(
        "{} rounds, servers alternated (order rotated every round), each run on a fresh process; \
         driver ({} tokio worker) and servers share this machine's {} cores; total {:.0} s.",
        config.rounds,
        config.driver_threads,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        started.elapsed().as_secs_f64()
    );
    for (scenario, per_server) in &results {
        print_table(&config, *scenario, per_server);
    }
    Ok(())
}

fn main() -> ExitCode {
    let config = match Config::from_args() {
        Ok(config) => config,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("{message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.driver_threads)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: no tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(drive(config))
}

async fn drive(config: Config) -> ExitCode {
    // Children die with the driver, whatever ends it.
    tokio::spawn(async {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => return,
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = term.recv() => {},
        }
        procs::kill_all_registered();
        std::process::exit(130);
    });
    let outcome = run(config).await;
    procs::kill_all_registered();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
