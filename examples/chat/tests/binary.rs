//! The `chat` binary itself: `--help`, a refused configuration (exit code 2),
//! and a real start on a free port — the start-up log names the URL, the docs
//! URL, the model and whether auth is on (never a key) — then a graceful stop
//! on SIGTERM. Every wait is bounded; the child is killed if a test fails.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_chat");

/// The child process, killed (by its id, through `Child::kill`) if still
/// running when the test ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// A command with a clean environment: only what the test sets.
fn chat() -> Command {
    let mut command = Command::new(BINARY);
    command
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        assert!(
            started.elapsed() < within,
            "the process did not exit within {within:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn output_of(command: &mut Command) -> (i32, String) {
    let mut child = Running(command.spawn().expect("the binary starts"));
    let status = wait_exit(&mut child.0, Duration::from_secs(10));
    let mut text = String::new();
    child.0.stdout.take().unwrap().read_to_string(&mut text).unwrap();
    child.0.stderr.take().unwrap().read_to_string(&mut text).unwrap();
    (status.code().unwrap_or(-1), text)
}

#[test]
fn help_and_bad_configuration() {
    let (code, text) = output_of(chat().arg("--help"));
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("USAGE") && text.contains("--port"), "{text}");

    let (code, text) = output_of(chat().env("CHAT_MODEL", "gpt"));
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("CHAT_MODEL"), "{text}");

    let (code, text) = output_of(chat().args(["--port", "http"]));
    assert_eq!(code, 2, "{text}");

    let (code, text) = output_of(chat().env("CHAT_MODEL", "anthropic"));
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("ANTHROPIC_API_KEY"), "{text}");
}

fn get(addr: &str, path: &str) -> String {
    let mut socket = std::net::TcpStream::connect(addr).expect("connect");
    socket.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        socket,
        "GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    socket.read_to_string(&mut answer).expect("an answer");
    answer
}

#[test]
fn starts_logs_serves_and_stops_gracefully() {
    let secret = "sk-never-logged-4242";
    let mut child = Running(
        chat()
            .args(["--host", "127.0.0.1", "--port", "0"])
            .env("CHAT_API_KEYS", format!("ops:{secret}"))
            .env("ECHO_TOKEN_MS", "0")
            .spawn()
            .expect("the binary starts"),
    );
    let (lines_tx, lines) = mpsc::channel::<String>();
    let stdout = child.0.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut log = Vec::new();
    let ready = loop {
        let line = lines
            .recv_timeout(Duration::from_secs(10))
            .expect("the service says it is ready");
        log.push(line.clone());
        if line.contains("chat service ready") {
            break line;
        }
    };
    let start = ready.find("http://127.0.0.1:").expect("the URL is logged");
    let url: String = ready[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let addr = url.trim_start_matches("http://").to_owned();
    assert!(ready.contains(&format!("docs={url}/docs")), "{ready}");
    assert!(ready.contains("model=echo/echo"), "{ready}");
    assert!(ready.contains("auth=on (1 keys)"), "{ready}");

    let health = get(&addr, "/health");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(
        health.ends_with(r#"{"status":"ok","model":"echo/echo"}"#),
        "{health}"
    );
    assert!(get(&addr, "/me").starts_with("HTTP/1.1 401"));

    // SIGTERM, as an orchestrator stops a service (the shell's `kill` builtin).
    let status = Command::new("sh")
        .args(["-c", &format!("kill -TERM {}", child.0.id())])
        .status()
        .expect("sh runs");
    assert!(status.success());
    let exit = wait_exit(&mut child.0, Duration::from_secs(10));
    assert!(exit.success(), "{exit:?}");
    log.extend(lines.try_iter());
    let log = log.join("\n");
    assert!(log.contains("shutdown signal received"), "{log}");
    assert!(!log.contains(secret), "a key was logged: {log}");
}
