//! The load shapes: a closed loop over keep-alive connections for a fixed time,
//! and a burst of N connections opened first, then released at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{watch, Semaphore};

use crate::client::{Conn, Prepared};
use crate::procs::ServerProcess;
use crate::stats::Latencies;

/// The events a complete `/chat/stream` answer carries: the tokens and `done`.
pub(crate) const STREAM_EVENTS: usize = frontdesk_benches::contract::TOKENS + 1;

/// What one run against one server measured.
#[derive(Debug, Clone, Default)]
pub(crate) struct Measurement {
    /// Requests answered correctly within the window.
    pub(crate) ok: u64,
    /// Failed requests (I/O error, wrong status, incomplete stream).
    pub(crate) errors: u64,
    /// The window, in seconds (the burst's makespan for bursts).
    pub(crate) seconds: f64,
    /// Whole-response latency, send to last byte.
    pub(crate) latency: Latencies,
    /// Send to first complete SSE event (streams only).
    pub(crate) first_event: Latencies,
    /// The server's utime + stime over the window (bursts: from the first
    /// connect to the last answer).
    pub(crate) cpu_seconds: f64,
    /// The server's `VmHWM` at the end, KiB.
    pub(crate) peak_rss_kib: u64,
    /// Bursts: the most requests in flight at one instant.
    pub(crate) max_in_flight: usize,
    /// SSE bursts: every stream had its first event before any stream ended.
    pub(crate) all_open_at_once: Option<bool>,
    /// Bursts: how long opening the connections took.
    pub(crate) connect_seconds: f64,
    /// Sustained runs: the fewest requests in flight at a 10 ms sample
    /// during the window.
    pub(crate) min_in_flight: usize,
}

impl Measurement {
    pub(crate) fn per_second(&self) -> f64 {
        self.ok as f64 / self.seconds
    }

    pub(crate) fn per_cpu_second(&self) -> f64 {
        if self.cpu_seconds > 0.0 {
            self.ok as f64 / self.cpu_seconds
        } else {
            f64::NAN
        }
    }
}

#[derive(Default)]
struct WorkerResult {
    ok: u64,
    errors: u64,
    latency: Latencies,
    first_event: Latencies,
}

impl Measurement {
    /// Adds up what the closed-loop workers of one run report; a worker
    /// that did not finish counts as one error.
    async fn absorb<T>(
        &mut self,
        workers: Vec<tokio::task::JoinHandle<T>>,
        mut result: impl FnMut(T) -> WorkerResult,
    ) {
        for worker in workers {
            match worker.await {
                Ok(out) => {
                    let r = result(out);
                    self.ok += r.ok;
                    self.errors += r.errors;
                    self.latency.extend(r.latency);
                    self.first_event.extend(r.first_event);
                }
                Err(_) => self.errors += 1,
            }
        }
    }
}

/// One exchange: send, read the answer; `Ok(first_event)` when it was right.
async fn exchange(
    conn: &mut Conn,
    request: &Prepared,
    sse: bool,
) -> std::io::Result<Result<Option<Instant>, ()>> {
    conn.send(request).await?;
    if sse {
        let head = conn.read_head().await?;
        let outcome = conn.read_events(&head).await?;
        let right = head.status == 200 && outcome.done && outcome.events == STREAM_EVENTS;
        Ok(if right { Ok(outcome.first_event) } else { Err(()) })
    } else {
        let (status, _) = conn.read_response(false).await?;
        Ok(if status == 200 { Ok(None) } else { Err(()) })
    }
}

/// `connections` keep-alive connections, each sending `request` as soon as
/// the previous answer is in, for `warmup` (not recorded) then `duration`.
pub(crate) async fn closed_loop(
    server: &ServerProcess,
    request: Prepared,
    connections: usize,
    warmup: Duration,
    duration: Duration,
    sse: bool,
) -> Measurement {
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + duration;
    let addr = server.addr;
    let mut workers = Vec::with_capacity(connections);
    for _ in 0..connections {
        let request = request.clone();
        workers.push(tokio::spawn(async move {
            let mut result = WorkerResult::default();
            let mut conn: Option<Conn> = None;
            loop {
                let t0 = Instant::now();
                if t0 >= end {
                    break;
                }
                let recorded = t0 >= measure_from;
                if conn.is_none() {
                    match Conn::connect(addr).await {
                        Ok(c) => conn = Some(c),
                        Err(_) => {
                            result.errors += u64::from(recorded);
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        }
                    }
                }
                let Some(c) = conn.as_mut() else { continue };
                let outcome = exchange(c, &request, sse).await;
                let t1 = Instant::now();
                match outcome {
                    Ok(Ok(first)) if recorded => {
                        result.ok += 1;
                        result.latency.push(t1 - t0);
                        if let Some(first) = first {
                            result.first_event.push(first - t0);
                        }
                    }
                    Ok(Ok(_)) => {}
                    Ok(Err(())) => result.errors += u64::from(recorded),
                    Err(_) => {
                        result.errors += u64::from(recorded);
                        conn = None;
                    }
                }
            }
            result
        }));
    }
    tokio::time::sleep_until(measure_from.into()).await;
    let cpu_before = server.sample();
    let mut total = Measurement {
        seconds: duration.as_secs_f64(),
        ..Measurement::default()
    };
    total.absorb(workers, |r| r).await;
    total.cpu_seconds = server.sample().cpu_seconds - cpu_before.cpu_seconds;
    total.peak_rss_kib = server.status_kib("VmHWM");
    total
}

struct BurstOne {
    sent: Instant,
    ended: Instant,
    first_event: Option<Instant>,
    ok: bool,
}

/// Opens `n` connections (at most `parallelism` connects at a time), then
/// releases all `n` requests at once and waits for every answer (at most
/// `limit`).
pub(crate) async fn burst(
    server: &ServerProcess,
    request: Prepared,
    n: usize,
    parallelism: usize,
    sse: bool,
    limit: Duration,
) -> Measurement {
    let cpu_before = server.sample();
    let connect_start = Instant::now();
    let (conns, failed_connects) = open_all(server.addr, n, parallelism).await;
    let connected = conns.len();
    let (go_tx, go_rx) = watch::channel(false);
    let abandon = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::with_capacity(connected);
    for mut conn in conns {
        let mut go_rx = go_rx.clone();
        let request = request.clone();
        let abandon = abandon.clone();
        tasks.push(tokio::spawn(async move {
            if go_rx.wait_for(|go| *go).await.is_err() || abandon.load(Ordering::Relaxed) {
                return None;
            }
            let sent = Instant::now();
            let outcome = exchange(&mut conn, &request, sse).await;
            let ended = Instant::now();
            Some(match outcome {
                Ok(Ok(first_event)) => BurstOne {
                    sent,
                    ended,
                    first_event,
                    ok: true,
                },
                _ => BurstOne {
                    sent,
                    ended,
                    first_event: None,
                    ok: false,
                },
            })
        }));
    }
    let connect_seconds = connect_start.elapsed().as_secs_f64();
    let go_at = Instant::now();
    let _ = go_tx.send(true);
    let mut results = Vec::with_capacity(connected);
    let mut timed_out = 0u64;
    let deadline = tokio::time::Instant::now() + limit;
    for task in tasks {
        match tokio::time::timeout_at(deadline, task).await {
            Ok(Ok(Some(one))) => results.push(one),
            Ok(Ok(None)) => {}
            Ok(Err(_)) => timed_out += 1,
            Err(_) => {
                // Past the limit: abandon what is left (dropping the handle
                // does not stop the task; the server is killed right after).
                abandon.store(true, Ordering::Relaxed);
                timed_out += 1;
            }
        }
    }
    let mut m = Measurement {
        errors: failed_connects + timed_out,
        connect_seconds,
        ..Measurement::default()
    };
    m.cpu_seconds = server.sample().cpu_seconds - cpu_before.cpu_seconds;
    m.peak_rss_kib = server.status_kib("VmHWM");
    let mut last_end = go_at;
    let mut first_events_max: Option<Instant> = None;
    let mut ends_min: Option<Instant> = None;
    let mut edges: Vec<(Instant, i32)> = Vec::with_capacity(results.len() * 2);
    for one in &results {
        edges.push((one.sent, 1));
        edges.push((one.ended, -1));
        if !one.ok {
            m.errors += 1;
            continue;
        }
        m.ok += 1;
        m.latency.push(one.ended - one.sent);
        last_end = last_end.max(one.ended);
        ends_min = Some(ends_min.map_or(one.ended, |e| e.min(one.ended)));
        if let Some(first) = one.first_event {
            m.first_event.push(first - one.sent);
            first_events_max = Some(first_events_max.map_or(first, |f| f.max(first)));
        }
    }
    edges.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut open = 0i32;
    for (_, delta) in edges {
        open += delta;
        m.max_in_flight = m.max_in_flight.max(open.max(0) as usize);
    }
    m.seconds = (last_end - go_at).as_secs_f64().max(1e-9);
    if sse {
        m.all_open_at_once = match (first_events_max, ends_min) {
            (Some(f), Some(e)) => Some(m.ok as usize == n && f <= e),
            _ => Some(false),
        };
    }
    m
}

/// One slice: `conns` (the server's open keep-alive connections) send
/// `request` in a closed loop until `length` has passed; the requests in
/// flight then finish and count. CPU is the server's, from just before the
/// first request to just after the last answer.
async fn slice(
    server: &ServerProcess,
    conns: &mut Vec<Conn>,
    request: &Prepared,
    length: Duration,
) -> Measurement {
    let cpu_before = server.cpu_ns();
    let ticks_before = server.sample();
    let start = Instant::now();
    let end = start + length;
    let addr = server.addr;
    let mut workers = Vec::with_capacity(conns.len());
    for mut conn in conns.drain(..) {
        let request = request.clone();
        workers.push(tokio::spawn(async move {
            let mut result = WorkerResult::default();
            loop {
                let t0 = Instant::now();
                if t0 >= end {
                    break;
                }
                match exchange(&mut conn, &request, false).await {
                    Ok(Ok(_)) => {
                        result.ok += 1;
                        result.latency.push(t0.elapsed());
                    }
                    Ok(Err(())) => result.errors += 1,
                    Err(_) => {
                        result.errors += 1;
                        match Conn::connect(addr).await {
                            Ok(fresh) => conn = fresh,
                            Err(_) => return (None, result),
                        }
                    }
                }
            }
            (Some(conn), result)
        }));
    }
    let mut total = Measurement::default();
    total
        .absorb(workers, |(conn, r)| {
            conns.extend(conn);
            r
        })
        .await;
    total.seconds = start.elapsed().as_secs_f64();
    total.cpu_seconds = match (cpu_before, server.cpu_ns()) {
        (Some(before), Some(after)) => after.saturating_sub(before) as f64 / 1e9,
        _ => server.sample().cpu_seconds - ticks_before.cpu_seconds,
    };
    total
}

/// The closed loop of [`closed_loop`], cut into short slices that alternate
/// between the servers (all running at once, each with its own `connections`
/// keep-alive connections opened up front): a change in the machine's load
/// lasting longer than a few slices hits every server alike. One warm-up slice
/// of `warmup` per server, then `cycles` cycles of one `length` slice per
/// server, the order rotated every cycle. Returns, per server, one
/// measurement per cycle.
pub(crate) async fn sliced(
    servers: &[&ServerProcess],
    request: Prepared,
    connections: usize,
    warmup: Duration,
    length: Duration,
    cycles: usize,
) -> std::io::Result<Vec<Vec<Measurement>>> {
    let mut conns: Vec<Vec<Conn>> = Vec::with_capacity(servers.len());
    for server in servers {
        let mut mine = Vec::with_capacity(connections);
        for _ in 0..connections {
            mine.push(Conn::connect(server.addr).await?);
        }
        conns.push(mine);
    }
    for (server, mine) in servers.iter().zip(conns.iter_mut()) {
        slice(server, mine, &request, warmup).await;
    }
    let n = servers.len();
    let mut results: Vec<Vec<Measurement>> = vec![Vec::with_capacity(cycles); n];
    for cycle in 0..cycles {
        for k in 0..n {
            let index = (k + cycle) % n;
            let measurement = slice(servers[index], &mut conns[index], &request, length).await;
            results[index].push(measurement);
        }
    }
    Ok(results)
}

/// All of one server's slices as one measurement: answers, time and CPU
/// summed, latencies pooled.
pub(crate) fn pooled(slices: &[Measurement]) -> Measurement {
    let mut total = Measurement::default();
    for m in slices {
        total.ok += m.ok;
        total.errors += m.errors;
        total.seconds += m.seconds;
        total.cpu_seconds += m.cpu_seconds;
        total.latency.extend(m.latency.clone());
    }
    total
}

/// Opens `n` connections, at most `parallelism` connects at a time (each
/// tried three times).
async fn open_all(addr: std::net::SocketAddr, n: usize, parallelism: usize) -> (Vec<Conn>, u64) {
    let gate = Arc::new(Semaphore::new(parallelism.max(1)));
    let mut tasks = Vec::with_capacity(n);
    for _ in 0..n {
        let gate = gate.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await;
            for attempt in 0..3u64 {
                if let Ok(conn) = Conn::connect(addr).await {
                    return Some(conn);
                }
                tokio::time::sleep(Duration::from_millis(50 * (attempt + 1))).await;
            }
            None
        }));
    }
    let mut conns = Vec::with_capacity(n);
    let mut failed = 0;
    for task in tasks {
        match task.await {
            Ok(Some(conn)) => conns.push(conn),
            _ => failed += 1,
        }
    }
    (conns, failed)
}

/// `n` connections (opened first) each sending `request` again as soon as
/// its answer is in — `n` requests in flight all the time — released at
/// once. The first `warmup` is not recorded (it holds the synchronized first
/// wave, which [`burst`] measures); then `duration` is. The in-flight count
/// is sampled every 10 ms in the window.
pub(crate) async fn sustained(
    server: &ServerProcess,
    request: Prepared,
    n: usize,
    parallelism: usize,
    warmup: Duration,
    duration: Duration,
) -> Measurement {
    let (conns, failed_connects) = open_all(server.addr, n, parallelism).await;
    let in_flight = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + duration;
    let mut workers = Vec::with_capacity(conns.len());
    for mut conn in conns {
        let request = request.clone();
        let in_flight = in_flight.clone();
        workers.push(tokio::spawn(async move {
            let mut result = WorkerResult::default();
            loop {
                let t0 = Instant::now();
                if t0 >= end {
                    break;
                }
                in_flight.fetch_add(1, Ordering::Relaxed);
                let outcome = exchange(&mut conn, &request, false).await;
                in_flight.fetch_sub(1, Ordering::Relaxed);
                let recorded = t0 >= measure_from;
                match outcome {
                    Ok(Ok(_)) if recorded => {
                        result.ok += 1;
                        result.latency.push(t0.elapsed());
                    }
                    Ok(Ok(_)) => {}
                    Ok(Err(())) | Err(_) => {
                        result.errors += u64::from(recorded);
                        if outcome.is_err() {
                            break;
                        }
                    }
                }
            }
            result
        }));
    }
    tokio::time::sleep_until(measure_from.into()).await;
    let cpu_before = server.sample();
    let mut min_in_flight = usize::MAX;
    let mut max_in_flight = 0;
    while Instant::now() < end {
        let now = in_flight.load(Ordering::Relaxed);
        min_in_flight = min_in_flight.min(now);
        max_in_flight = max_in_flight.max(now);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let cpu_after = server.sample();
    let mut total = Measurement {
        seconds: duration.as_secs_f64(),
        errors: failed_connects,
        min_in_flight: if min_in_flight == usize::MAX {
            0
        } else {
            min_in_flight
        },
        max_in_flight,
        ..Measurement::default()
    };
    total.absorb(workers, |r| r).await;
    total.cpu_seconds = cpu_after.cpu_seconds - cpu_before.cpu_seconds;
    total.peak_rss_kib = server.status_kib("VmHWM");
    total
}
