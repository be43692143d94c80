//! `bench-allocs`: heap allocations per request of each server, counted exactly.
//!
//! Timings on a shared machine move by a few percent from run to run; the number
//! of allocations a request costs does not. This binary serves the contract
//! with frontdesk, raw hyper and axum in this one process (each on its own
//! runtime and port on 127.0.0.1), sends each of them the same keep-alive
//! requests from a client that allocates nothing per request, and prints the
//! allocations and bytes allocated per request, counted by a global allocator.
//!
//! usage: `bench-allocs [REQUESTS] [SERVER] [ROUTE] [CONNECTIONS]`: REQUESTS
//! per route and server (default 20000), SERVER `frontdesk`, `hyper` or `axum`
//! (default `all` three), ROUTE `hello`, `chat` or `slow` (default `all` three;
//! `slow` sleeps 1 ms, so it counts a timer and a wake-up beside `chat`'s
//! work), CONNECTIONS (default 1) keep-alive connections that send in waves:
//! one request on each, then every answer read, so that many requests wait at
//! once (CONNECTIONS divides REQUESTS), or `fresh`: a new connection for
//! every request, closed by the client once answered, to count what a
//! connection costs (accept, set-up, close) besides its request. Under
//! `valgrind --tool=callgrind`, one server, one route and two request counts
//! give that server's instructions per request exactly: `benches/instructions.sh`.

use std::alloc::System;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use frontdesk_benches::contract::Settings;
use frontdesk_benches::servers;
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

/// The system allocator, counting every allocation and its bytes.
#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// The servers, in print order.
const SERVERS: [&str; 3] = ["frontdesk", "hyper", "axum"];

/// The requests, by name: raw HTTP/1.1 bytes, kept alive.
const ROUTES: [(&str, &str, &[u8]); 3] = [
    (
        "hello",
        "GET /hello",
        b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    ),
    (
        "chat",
        "POST /chat",
        b"POST /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 39\r\n\r\n{\"prompt\":\"hello there\",\"max_tokens\":8}",
    ),
    (
        "slow",
        "POST /chat/slow",
        b"POST /chat/slow HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 39\r\n\r\n{\"prompt\":\"hello there\",\"max_tokens\":8}",
    ),
];

/// `DELAY_MS` of `/chat/slow` here: the sleep's timer is what is counted, not
/// its length.
const SLOW_DELAY: Duration = Duration::from_millis(1);

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The servers' runtime worker threads: `BENCH_WORKERS`, default 1 (with
/// two, counts include the workers' stealing and waking each other).
fn workers() -> usize {
    std::env::var("BENCH_WORKERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(1)
}

/// Starts server `name` on `port` on a runtime of its own, in a thread left
/// running until the process exits.
fn start(name: &'static str, port: u16) {
    let settings = Settings {
        port,
        delay: SLOW_DELAY,
        ..Settings::default()
    };
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers())
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let served = runtime.block_on(async move {
            match name {
                "frontdesk" => servers::frontdesk::run(settings).await,
                "hyper" => servers::hyper::run(settings).await,
                _ => servers::axum::run(settings).await,
            }
        });
        if let Err(e) = served {
            eprintln!("bench-allocs: {name} stopped: {e}");
        }
    });
}

/// A keep-alive connection that reads each response into a fixed buffer.
struct Client {
    stream: TcpStream,
    buffer: Box<[u8]>,
}

impl Client {
    fn connect(port: u16) -> std::io::Result<Client> {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(10);
        let stream = loop {
            match TcpStream::connect(addr) {
                Ok(stream) => break stream,
                Err(e) if Instant::now() > deadline => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        };
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(Client {
            stream,
            // Straight on the heap, not built on the stack and copied.
            buffer: vec![0; 16 * 1024].into_boxed_slice(),
        })
    }

    /// Sends `request`.
    fn send(&mut self, request: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(request)
    }

    /// Reads one whole response; returns the status.
    fn receive(&mut self) -> std::io::Result<u16> {
        let mut filled = 0;
        loop {
            let read = self.stream.read(&mut self.buffer[filled..])?;
            if read == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            filled += read;
            if let Some((head, length, status)) = parse_head(&self.buffer[..filled]) {
                if filled >= head + length {
                    return Ok(status);
                }
            }
            if filled == self.buffer.len() {
                return Err(std::io::ErrorKind::InvalidData.into());
            }
        }
    }
}

/// The head's length, the body's `Content-Length` and the status, once the
/// head is complete.
fn parse_head(bytes: &[u8]) -> Option<(usize, usize, u16)> {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&bytes[..end]).ok()?;
    let status = head.get(9..12)?.parse().ok()?;
    let length = head
        .split("\r\n")
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())
                .flatten()
        })
        .unwrap_or(0);
    Some((end, length, status))
}

/// `count` times: connects, sends `request`, reads the answer and closes.
/// Returns the first status other than 200, or 200.
fn fresh(port: u16, request: &[u8], count: u64) -> std::io::Result<u16> {
    let mut worst = 200;
    for _ in 0..count {
        let mut client = Client::connect(port)?;
        client.send(request)?;
        let status = client.receive()?;
        if worst == 200 {
            worst = status;
        }
    }
    Ok(worst)
}

/// How the requests are sent.
#[derive(Clone, Copy)]
enum Mode {
    /// This many keep-alive connections, in waves.
    Waves(usize),
    /// A new connection per request.
    Fresh,
}

/// `waves` times: sends `request` on every connection, then reads every
/// answer, so that all the connections' requests are in flight at once.
/// Returns the first status other than 200, or 200.
fn wave(clients: &mut [Client], request: &[u8], waves: u64) -> std::io::Result<u16> {
    let mut worst = 200;
    for _ in 0..waves {
        for client in clients.iter_mut() {
            client.send(request)?;
        }
        for client in clients.iter_mut() {
            let status = client.receive()?;
            if worst == 200 {
                worst = status;
            }
        }
    }
    Ok(worst)
}

fn main() -> std::io::Result<()> {
    let requests: u64 = match std::env::args().nth(1) {
        Some(n) => n
            .parse()
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "REQUESTS is a number"))?,
        None => 20_000,
    };
    let only = std::env::args().nth(2).filter(|s| s != "all");
    let servers: Vec<&'static str> = SERVERS
        .into_iter()
        .filter(|name| only.as_deref().is_none_or(|only| only == *name))
        .collect();
    let only_route = std::env::args().nth(3).filter(|s| s != "all");
    let invalid = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidInput, what.to_owned());
    let mode = match std::env::args().nth(4).as_deref() {
        Some("fresh") => Mode::Fresh,
        Some(n) => Mode::Waves(
            n.parse()
                .map_err(|_| invalid("CONNECTIONS is a number or fresh"))?,
        ),
        None => Mode::Waves(1),
    };
    if requests == 0 {
        return Err(invalid("REQUESTS is at least 1"));
    }
    if let Mode::Waves(connections) = mode {
        if connections == 0 || requests % connections as u64 != 0 {
            return Err(invalid("CONNECTIONS is at least 1 and divides REQUESTS"));
        }
    }
    if servers.is_empty() {
        return Err(invalid("SERVER is frontdesk, hyper, axum or all"));
    }
    if only_route
        .as_deref()
        .is_some_and(|only| !ROUTES.iter().any(|(key, _, _)| *key == only))
    {
        return Err(invalid("ROUTE is hello, chat or slow"));
    }
    let mut ports = Vec::new();
    for name in &servers {
        let port = free_port()?;
        start(name, port);
        ports.push(port);
    }
    println!("| route | server | allocations per request | bytes allocated per request |");
    println!("|---|---|---:|---:|");
    for (key, route, request) in ROUTES {
        if only_route.as_deref().is_some_and(|only| only != key) {
            continue;
        }
        for (name, port) in servers.iter().zip(&ports) {
            let (region, status) = match mode {
                Mode::Waves(connections) => {
                    let mut clients = (0..connections)
                        .map(|_| Client::connect(*port))
                        .collect::<std::io::Result<Vec<_>>>()?;
                    // Warm up: the connections' buffers, the runtime's first tasks.
                    wave(&mut clients, request, 1000_u64.div_ceil(connections as u64))?;
                    let region = Region::new(GLOBAL);
                    (
                        region,
                        wave(&mut clients, request, requests / connections as u64)?,
                    )
                }
                Mode::Fresh => {
                    fresh(*port, request, 1000)?;
                    let region = Region::new(GLOBAL);
                    (region, fresh(*port, request, requests)?)
                }
            };
            if status != 200 {
                return Err(std::io::Error::other(format!("{name} {route}: status {status}")));
            }
            let stats = region.change();
            // A reallocation is a new block too (it usually moves).
            let allocations = (stats.allocations + stats.reallocations) as u64;
            let bytes = (stats.bytes_allocated + stats.bytes_reallocated.max(0) as usize) as u64;
            println!(
                "| {route} | {name} | {:.2} | {:.0} |",
                allocations as f64 / requests as f64,
                bytes as f64 / requests as f64
            );
        }
    }
    Ok(())
}
