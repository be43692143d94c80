//! The servers under test as child processes: started from the release
//! directory on a free port, probed until ready, measured through `/proc`,
//! and always killed by PID — when done, on a panic (the guard's `Drop`) and
//! on SIGINT/SIGTERM (the registry below).

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::client::{Conn, Prepared};

/// The children alive right now, owned here so that the signal handler can
/// kill and reap them too.
static LIVE: Mutex<Vec<Child>> = Mutex::new(Vec::new());

fn live() -> std::sync::MutexGuard<'static, Vec<Child>> {
    LIVE.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Kills (SIGKILL, by PID) and reaps the child `pid`, if it is still ours.
fn kill_child(pid: u32) {
    let child = {
        let mut live = live();
        live.iter()
            .position(|c| c.id() == pid)
            .map(|i| live.swap_remove(i))
    };
    if let Some(mut child) = child {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Kills and reaps every child still running. Used at exit and on SIGINT/SIGTERM.
pub(crate) fn kill_all_registered() {
    let children: Vec<Child> = std::mem::take(&mut *live());
    for mut child in children {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Which server a binary is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Server {
    Frontdesk,
    Hyper,
    Axum,
    /// Diagnostic: frontdesk's app on the raw hyper http1 accept loop.
    FrontdeskH1,
    /// frontdesk's own `serve_with` with `http2: false` (HTTP/1.1 only, no
    /// look at the first bytes).
    FrontdeskHttp1Only,
    /// Diagnostic: frontdesk's app on hyper-util's auto builder, bare.
    FrontdeskAuto,
    /// Diagnostic: as `FrontdeskAuto` plus the header-read timeout.
    FrontdeskAutoTimer,
    /// Another build of `bench-server`, from `--baseline DIR`: compares two
    /// versions of frontdesk side by side.
    FrontdeskBase,
}

impl Server {
    /// The default line-up.
    pub(crate) const ALL: [Server; 3] = [Server::Frontdesk, Server::Hyper, Server::Axum];
    const KNOWN: [Server; 8] = [
        Server::Frontdesk,
        Server::Hyper,
        Server::Axum,
        Server::FrontdeskH1,
        Server::FrontdeskHttp1Only,
        Server::FrontdeskAuto,
        Server::FrontdeskAutoTimer,
        Server::FrontdeskBase,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Server::Frontdesk => "frontdesk",
            Server::Hyper => "hyper",
            Server::Axum => "axum",
            Server::FrontdeskH1 => "frontdesk-h1",
            Server::FrontdeskHttp1Only => "frontdesk-http1-only",
            Server::FrontdeskAuto => "frontdesk-auto",
            Server::FrontdeskAutoTimer => "frontdesk-auto-timer",
            Server::FrontdeskBase => "frontdesk-base",
        }
    }

    fn env(self) -> Option<(&'static str, &'static str)> {
        match self {
            Server::FrontdeskH1 => Some(("FRONTDESK_SERVE", "http1")),
            Server::FrontdeskHttp1Only => Some(("FRONTDESK_HTTP2", "0")),
            Server::FrontdeskAuto => Some(("FRONTDESK_SERVE", "auto")),
            Server::FrontdeskAutoTimer => Some(("FRONTDESK_SERVE", "auto-timer")),
            _ => None,
        }
    }

    pub(crate) fn binary(self) -> &'static str {
        match self {
            Server::Frontdesk
            | Server::FrontdeskH1
            | Server::FrontdeskHttp1Only
            | Server::FrontdeskAuto
            | Server::FrontdeskAutoTimer
            | Server::FrontdeskBase => "bench-server",
            Server::Hyper => "bench-hyper",
            Server::Axum => "bench-axum",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Server> {
        Server::KNOWN.into_iter().find(|s| s.name() == text)
    }
}

/// CPU time and memory of a process, from `/proc/<pid>/stat` and `/status`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Sample {
    /// utime + stime, in seconds.
    pub(crate) cpu_seconds: f64,
}

/// A running server; killed by PID when dropped.
pub(crate) struct ServerProcess {
    pub(crate) pid: u32,
    pub(crate) addr: SocketAddr,
    ticks_per_second: f64,
}

/// A port nobody listens on right now (bound, read, released).
fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// `sysconf(_SC_CLK_TCK)` through `getconf`, 100 when unavailable.
pub(crate) fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

impl ServerProcess {
    /// Starts `server` from `bin_dir` with the contract's environment, pinned
    /// to `cpus` (a `taskset -c` list) when given.
    pub(crate) fn start(
        server: Server,
        bin_dir: &Path,
        cpus: Option<&str>,
        delay_ms: u64,
        token_ms: u64,
        ticks_per_second: f64,
    ) -> io::Result<ServerProcess> {
        let path: PathBuf = bin_dir.join(server.binary());
        if !path.exists() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "{} not found: build it first (`cargo build --release -p frontdesk-benches`)",
                    path.display()
                ),
            ));
        }
        let port = free_port()?;
        // `taskset` execs the server, so the PID stays the server's.
        let mut command = match cpus {
            Some(cpus) => {
                let mut command = Command::new("taskset");
                command.arg("-c").arg(cpus).arg(&path);
                command
            }
            None => Command::new(&path),
        };
        command
            .env_remove("FRONTDESK_SERVE")
            .env_remove("FRONTDESK_HTTP2");
        if let Some((key, value)) = server.env() {
            command.env(key, value);
        }
        let child = command
            .env("PORT", port.to_string())
            .env("DELAY_MS", delay_ms.to_string())
            .env("TOKEN_MS", token_ms.to_string())
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let pid = child.id();
        live().push(child);
        Ok(ServerProcess {
            pid,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            ticks_per_second,
        })
    }

    /// Waits until `GET /hello` answers 200 (at most `limit`).
    pub(crate) async fn wait_ready(&mut self, limit: Duration) -> io::Result<()> {
        let start = Instant::now();
        let hello = Prepared::get("/hello");
        loop {
            if let Some(status) = self.exited() {
                return Err(io::Error::other(format!(
                    "server exited during start-up: {status}"
                )));
            }
            if let Ok(mut conn) = Conn::connect(self.addr).await {
                if conn.send(&hello).await.is_ok() {
                    if let Ok((200, _)) = conn.read_response(false).await {
                        return Ok(());
                    }
                }
            }
            if start.elapsed() > limit {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "server not ready in time",
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// utime + stime so far, all threads.
    pub(crate) fn sample(&self) -> Sample {
        let text = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).unwrap_or_default();
        // Fields after the `(comm)`, which may contain spaces: state is field 3,
        // utime 14, stime 15.
        let rest = text.rsplit_once(')').map_or("", |(_, r)| r);
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |n: usize| {
            fields
                .get(n - 3)
                .and_then(|f| f.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        Sample {
            cpu_seconds: (field(14) + field(15)) / self.ticks_per_second,
        }
    }

    /// CPU time of all the server's threads so far, in nanoseconds, from
    /// `/proc/<pid>/task/*/schedstat` (exact, where `stat` counts 10 ms ticks).
    /// `None` when the kernel does not provide it.
    pub(crate) fn cpu_ns(&self) -> Option<u64> {
        let tasks = std::fs::read_dir(format!("/proc/{}/task", self.pid)).ok()?;
        let mut total = 0u64;
        for task in tasks.flatten() {
            let text = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
            total += text.split_whitespace().next()?.parse::<u64>().ok()?;
        }
        Some(total)
    }

    /// A `/proc/<pid>/status` value in KiB (`VmHWM`, `VmRSS`).
    pub(crate) fn status_kib(&self, key: &str) -> u64 {
        let text = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap_or_default();
        text.lines()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    }

    /// The exit status, if the server has exited.
    fn exited(&self) -> Option<std::process::ExitStatus> {
        live()
            .iter_mut()
            .find(|c| c.id() == self.pid)
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// Kills the server by PID and reaps it.
    pub(crate) fn stop(self) {
        // `Drop` does it.
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        kill_child(self.pid);
    }
}
