//! What the server knows of its open connections, kept off the request path.
//!
//! Each connection is one slot in [`Connections`], and one [`Activity`] its
//! requests share. Per request the only work is two counter increments
//! (request started, response finished) by an [`InFlight`] mark, made by the
//! app's own connection service or by [`Counted`]; per poll of a connection,
//! one atomic load of the server's [`Raised`] mark in [`Ticket::watch`], a
//! line no request writes. Everything else happens elsewhere:
//!
//! - **Idle and slow-header timeout.** [`Connections::sweep`] runs every quarter
//!   of the timeout over all slots, on a thread of its own ([`Sweeper`]), so
//!   the runtime's workers have no timer to check when they park. A
//!   connection with no request in progress whose counters have not moved for
//!   four sweeps in a row is marked expired and woken; it then closes. A
//!   client therefore has between 1 and 1.25 times the timeout to send a
//!   request's headers, counted from the connection's opening or the end of
//!   its last response, and no timer is armed per request.
//! - **Long handler timeouts.** A handler timeout of at least
//!   [`SWEEP_TIMEOUT_PERIODS`] sweep periods, on an HTTP/1 connection, needs no
//!   tokio timer: the waiting request writes the sweep number it must not
//!   outlive into its connection's slot ([`SweepTimer::arm`]), and the sweep
//!   that reaches it wakes the connection. With thousands of requests waiting
//!   on a model, this keeps one timer-wheel entry per request (and the work of
//!   every park over a fuller wheel) off the runtime. Such a timeout fires
//!   after its length and at most two sweep periods later.
//! - **Graceful shutdown.** [`Connections::shut_down`] raises a flag on every
//!   connection and wakes it; each then asks hyper to finish the request in
//!   progress and close. [`Connections::close_all`] (at the deadline) makes
//!   every connection drop at its next poll.
//! - **Draining.** A slot is freed when its connection's task ends;
//!   [`Connections::drained`] completes when none is left.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Buf;
use http_body::{Body, Frame, SizeHint};
use tokio::sync::Notify;

use super::socket::Handoff;
use crate::app::AppService;

/// How many quiet sweeps in a row close a connection (the sweep runs every
/// `timeout / QUIET_SWEEPS`).
pub(crate) const QUIET_SWEEPS: u8 = 4;

/// A handler timeout of at least this many sweep periods is kept by the sweep
/// ([`SweepTimer`]); a shorter one by a tokio timer. The sweep may fire up to
/// two periods late, so this bounds the lateness to an eighth of the timeout.
pub(crate) const SWEEP_TIMEOUT_PERIODS: u32 = 16;

/// [`Activity::flags`]: finish the request in progress, then close.
const FINISH: u8 = 1;
/// [`Activity::flags`]: close now.
const CLOSE: u8 = 2;

/// One connection's own state, shared by its service and requests (which
/// count), its socket (which may hand itself to HTTP/2) and the sweep (which
/// reads the counters): one allocation per connection.
///
/// The fields a request touches come first: after a long wait on a model,
/// each cache line the end of a request touches again is a miss, and these
/// are read or written within a few bytes of the reference count.
#[derive(Debug, Default)]
#[repr(C)]
pub(crate) struct Activity {
    started: AtomicU32,
    finished: AtomicU32,
    /// The sweep number at which the request in progress times out, or 0
    /// ([`SweepTimer`]).
    deadline: AtomicU64,
    /// The app, when the server serves a built app: this connection's own
    /// handle on it (see [`RouteRef`](crate::app::RouteRef)).
    pub(crate) app: Option<AppService>,
    /// The sweep's clock, when the server sweeps.
    clock: Option<Arc<SweepClock>>,
    /// [`FINISH`] and [`CLOSE`]: one byte read at every poll of the connection.
    flags: AtomicU8,
    /// The socket, when the connection opened with HTTP/2's preface.
    pub(crate) handoff: Handoff,
}

impl Activity {
    /// A connection's state for serving `app`, on a server that does not sweep.
    #[cfg(test)]
    pub(crate) fn serving(app: AppService) -> Self {
        Activity {
            app: Some(app),
            ..Activity::default()
        }
    }

    #[cfg(test)]
    fn expired(&self) -> bool {
        self.flags.load(Ordering::SeqCst) & CLOSE != 0
    }

    fn snapshot(&self) -> (u32, u32) {
        (
            self.started.load(Ordering::Relaxed),
            self.finished.load(Ordering::Relaxed),
        )
    }

    /// The sweep's timer for this connection's requests; `None` when the
    /// server does not sweep. For HTTP/1 only: the connection holds one
    /// deadline, and an HTTP/1 connection runs one request at a time.
    #[inline]
    pub(crate) fn sweep_timer(&self) -> Option<SweepTimer<'_>> {
        self.clock.as_deref().map(|clock| SweepTimer {
            activity: self,
            clock,
        })
    }
}

/// How many sweeps have run, which is the clock of [`SweepTimer`], and the
/// time between two of them. Shared by the server's connections; written
/// once per sweep.
#[derive(Debug)]
struct SweepClock {
    sweeps: AtomicU64,
    every: Duration,
}

#[derive(Debug)]
struct Slot {
    activity: Arc<Activity>,
    waker: Option<Waker>,
    /// The counters at the last sweep; `None` until the first sweep sees them.
    seen: Option<(u32, u32)>,
    quiet: u8,
}

impl Slot {
    /// Sets `flag` for the connection. It acts on it once [`Raised`] has
    /// moved and it is woken ([`Slot::wake`]), in that order.
    fn raise(&self, flag: u8) {
        self.activity.flags.fetch_or(flag, Ordering::SeqCst);
    }

    fn wake(&self) {
        if let Some(waker) = &self.waker {
            waker.wake_by_ref();
        }
    }
}

/// Moves (under the table's lock) each time flags have been raised on some
/// connections, before they are woken: a connection reads its own flags, a
/// line its requests write, only at the first poll after a move. On a cache
/// line of its own, which only shutdown and expiry write.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Raised(AtomicU64);

#[derive(Debug, Default)]
struct Slots {
    slots: Vec<Option<Slot>>,
    free: Vec<usize>,
    live: usize,
}

/// The open connections of one server.
#[derive(Debug, Default)]
pub(crate) struct Connections {
    slots: Mutex<Slots>,
    drained: Notify,
    /// The sweep's count and period; `None` when there is no sweep.
    clock: Option<Arc<SweepClock>>,
    /// The app every connection serves, when the server serves a built app.
    app: Option<AppService>,
    raised: Raised,
}

impl Connections {
    /// The table of a server that sweeps it every `every` ([`Sweeper`]); an
    /// interval too long to wait for (`Duration::MAX`) means no sweep.
    pub(crate) fn new(every: Duration) -> Self {
        Connections {
            clock: Instant::now().checked_add(every).map(|_| {
                Arc::new(SweepClock {
                    sweeps: AtomicU64::new(0),
                    every,
                })
            }),
            ..Connections::default()
        }
    }

    /// The same table, whose connections serve `app` (each holds a handle on
    /// it in its [`Activity`]).
    pub(crate) fn serving(self, app: AppService) -> Self {
        Connections {
            app: Some(app),
            ..self
        }
    }

    fn lock(&self) -> MutexGuard<'_, Slots> {
        // A panic while holding the lock leaves the slots consistent (every
        // update is a single assignment), so a poisoned lock is still usable.
        self.slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes a slot for a newly accepted connection.
    pub(crate) fn open(self: &Arc<Self>) -> Ticket {
        let activity = Arc::new(Activity {
            app: self.app.clone(),
            clock: self.clock.clone(),
            ..Activity::default()
        });
        let slot = Slot {
            activity: activity.clone(),
            waker: None,
            seen: None,
            quiet: 0,
        };
        let mut slots = self.lock();
        let index = match slots.free.pop() {
            Some(index) => {
                slots.slots[index] = Some(slot);
                index
            }
            None => {
                slots.slots.push(Some(slot));
                slots.slots.len() - 1
            }
        };
        slots.live += 1;
        drop(slots);
        Ticket {
            connections: self.clone(),
            activity,
            index,
        }
    }

    /// How many connections are open.
    pub(crate) fn len(&self) -> usize {
        self.lock().live
    }

    /// Marks every connection quiet for [`QUIET_SWEEPS`] sweeps in a row as
    /// expired and wakes it so that it closes; wakes every connection whose
    /// request's [`SweepTimer`] deadline this sweep reaches.
    pub(crate) fn sweep(&self) {
        // Counted first: a request woken below then sees its deadline reached.
        // Without a clock no deadline is ever armed: 0 reaches none.
        let sweep = self
            .clock
            .as_ref()
            .map_or(0, |clock| clock.sweeps.fetch_add(1, Ordering::Release) + 1);
        let mut expired = 0usize;
        let mut timed_out = 0usize;
        let mut slots = self.lock();
        for slot in slots.slots.iter_mut().flatten() {
            let deadline = slot.activity.deadline.load(Ordering::Relaxed);
            // Cleared only if still this request's: the next request on the
            // connection may have armed its own in between.
            if deadline != 0
                && deadline <= sweep
                && slot
                    .activity
                    .deadline
                    .compare_exchange(deadline, 0, Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok()
            {
                if let Some(waker) = &slot.waker {
                    waker.wake_by_ref();
                }
                timed_out += 1;
            }
            let now = slot.activity.snapshot();
            if now.0 != now.1 || slot.seen != Some(now) {
                slot.seen = Some(now);
                slot.quiet = 0;
                continue;
            }
            slot.quiet = slot.quiet.saturating_add(1);
            if slot.quiet == QUIET_SWEEPS {
                slot.raise(CLOSE);
                expired += 1;
            }
        }
        if expired > 0 {
            self.raised.0.fetch_add(1, Ordering::SeqCst);
            // The connections that reached the count in this sweep.
            for slot in slots.slots.iter().flatten() {
                if slot.quiet == QUIET_SWEEPS {
                    slot.wake();
                }
            }
        }
        drop(slots);
        if expired > 0 {
            tracing::debug!(expired, "closing connections that sent no request in time");
        }
        if timed_out > 0 {
            tracing::debug!(timed_out, "waking requests whose handler timeout has passed");
        }
    }

    /// Asks every open connection to finish its request in progress and
    /// close (call it once no more connections are accepted).
    pub(crate) fn shut_down(&self) {
        self.raise_all(FINISH);
    }

    /// Makes every open connection close at once, request in progress or not.
    pub(crate) fn close_all(&self) {
        self.raise_all(CLOSE);
    }

    fn raise_all(&self, flag: u8) {
        let slots = self.lock();
        for slot in slots.slots.iter().flatten() {
            slot.raise(flag);
        }
        self.raised.0.fetch_add(1, Ordering::SeqCst);
        for slot in slots.slots.iter().flatten() {
            slot.wake();
        }
    }

    /// Completes once no connection is open.
    pub(crate) async fn drained(&self) {
        loop {
            let notified = self.drained.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.lock().live == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// The thread that runs [`Connections::sweep`] at a fixed interval, until
/// dropped.
#[derive(Debug)]
pub(crate) struct Sweeper {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sweeper {
    /// Sweeps `connections` at their interval ([`Connections::new`]); none
    /// means no thread.
    ///
    /// # Errors
    /// When the thread cannot be started.
    pub(crate) fn start(connections: Arc<Connections>) -> std::io::Result<Sweeper> {
        let Some(every) = connections.clock.as_ref().map(|clock| clock.every) else {
            return Ok(Sweeper {
                stop: None,
                thread: None,
            });
        };
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("frontdesk-sweep".to_owned())
            .spawn(move || {
                // Nothing is ever sent: the channel closes when the sweeper is dropped.
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                    connections.sweep();
                }
            })?;
        Ok(Sweeper {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Sweeper {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            // A sweep is short (one pass over the slots under the lock).
            let _ = thread.join();
        }
    }
}

/// One connection's slot, freed on drop.
#[derive(Debug)]
pub(crate) struct Ticket {
    connections: Arc<Connections>,
    activity: Arc<Activity>,
    index: usize,
}

/// What a watched connection should do at this poll.
enum Watch {
    Run,
    /// Finish the request in progress, then close.
    Finish,
    /// Close now.
    Close,
}

impl Ticket {
    /// The counters this connection's service updates.
    pub(crate) fn activity(&self) -> Arc<Activity> {
        self.activity.clone()
    }

    /// Stores `waker` in the slot, for the sweep and shutdown to wake the
    /// connection with.
    #[cold]
    fn register(&self, waker: &Waker) -> Waker {
        let waker = waker.clone();
        if let Some(slot) = self.connections.lock().slots[self.index].as_mut() {
            slot.waker = Some(waker.clone());
        }
        waker
    }

    /// Drives a hyper connection until it ends. When the server shuts down,
    /// `finish` is called once (hyper's `graceful_shutdown`); when the
    /// connection expires or the shutdown deadline passes, it is dropped.
    /// Completes with `None` when it was dropped.
    pub(crate) fn watch<C: Future>(&self, connection: C, finish: fn(Pin<&mut C>)) -> Watched<'_, C> {
        Watched {
            watcher: Watcher {
                raised: &self.connections.raised.0,
                seen: u64::MAX,
                registered: None,
                ticket: self,
                finish,
                finishing: false,
            },
            connection,
        }
    }
}

/// What [`Watched`] reads at every poll, kept together: after a long wait,
/// each line of the connection's task that a poll touches again is a cache
/// miss.
#[repr(C)]
struct Watcher<'a, C> {
    /// The server's [`Raised`] mark.
    raised: &'a AtomicU64,
    /// The mark at the last read of the flags; unlike any mark at first, so
    /// that the first poll reads them.
    seen: u64,
    /// The waker last stored in the slot, to skip the lock while it is current.
    registered: Option<Waker>,
    ticket: &'a Ticket,
    finish: fn(Pin<&mut C>),
    finishing: bool,
}

impl<C> Watcher<'_, C> {
    #[inline]
    fn check(&mut self, cx: &Context<'_>) -> Watch {
        if !self
            .registered
            .as_ref()
            .is_some_and(|waker| waker.will_wake(cx.waker()))
        {
            self.registered = Some(self.ticket.register(cx.waker()));
        }
        // The mark is read after the waker is stored: flags raised later move
        // it, then find this waker in the slot and wake the connection again.
        // Flags are raised before the mark moves, so a moved mark shows them.
        let raised = self.raised.load(Ordering::SeqCst);
        if raised == self.seen {
            return Watch::Run;
        }
        self.seen = raised;
        let flags = self.ticket.activity.flags.load(Ordering::SeqCst);
        if flags & CLOSE != 0 {
            Watch::Close
        } else if flags & FINISH != 0 {
            Watch::Finish
        } else {
            Watch::Run
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Ticket::watch`]: per poll, a waker comparison and one
    /// load of the server's [`Raised`] mark before the connection itself (and
    /// of the connection's flags when the mark has moved).
    pub(crate) struct Watched<'a, C> {
        watcher: Watcher<'a, C>,
        #[pin]
        connection: C,
    }
}

impl<C: Future> Future for Watched<'_, C> {
    type Output = Option<C::Output>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let watcher = this.watcher;
        match watcher.check(cx) {
            Watch::Run => {}
            Watch::Finish if !watcher.finishing => {
                watcher.finishing = true;
                (watcher.finish)(this.connection.as_mut());
            }
            Watch::Finish => {}
            Watch::Close => return Poll::Ready(None),
        }
        this.connection.poll(cx).map(Some)
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut slots = self.connections.lock();
        slots.slots[self.index] = None;
        slots.free.push(self.index);
        slots.live -= 1;
        let empty = slots.live == 0;
        drop(slots);
        if empty {
            self.connections.drained.notify_waiters();
        }
    }
}

/// The handler timeout of an HTTP/1 connection's requests, kept by the sweep
/// instead of a tokio timer when it is long enough (see the module docs).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SweepTimer<'a> {
    activity: &'a Activity,
    clock: &'a SweepClock,
}

impl SweepTimer<'_> {
    /// Starts `limit` for the connection's request in progress, now: returns
    /// the sweep number it ends at, or `None` when `limit` is under
    /// [`SWEEP_TIMEOUT_PERIODS`] sweep periods (a tokio timer keeps it then).
    ///
    /// The request started after sweep `n` began, so sweep `n + 1 +
    /// ceil(limit / every)` comes after the limit, at most two periods late
    /// (sweeps are at least `every` apart, never closer).
    pub(crate) fn arm(&self, limit: Duration) -> Option<u64> {
        if limit < self.clock.every.saturating_mul(SWEEP_TIMEOUT_PERIODS) {
            return None;
        }
        // In nanoseconds, a u64 holds 584 years; a longer limit stays with tokio.
        let limit = u64::try_from(limit.as_nanos()).ok()?;
        let every = u64::try_from(self.clock.every.as_nanos()).ok()?.max(1);
        let now = self.clock.sweeps.load(Ordering::Acquire);
        let deadline = limit.div_ceil(every).checked_add(now)?.checked_add(1)?;
        self.activity.deadline.store(deadline, Ordering::Relaxed);
        Some(deadline)
    }

    /// Whether the sweep has reached `deadline`.
    #[inline]
    pub(crate) fn expired(&self, deadline: u64) -> bool {
        self.clock.sweeps.load(Ordering::Acquire) >= deadline
    }

    /// Withdraws `deadline` (the request ended first), unless the sweep took
    /// it already.
    ///
    /// A load and a store, no read-modify-write. The sweep only ever clears
    /// the deadline, so whichever of the two clears it, it ends at 0. The
    /// request withdraws it as it answers, on the connection's task and
    /// before hyper reads the next request, so the next request's deadline is
    /// armed only after this returns. A request dropped unanswered (its
    /// connection closing) leaves its deadline: the sweep that reaches it
    /// clears it and wakes the connection, if it is still open, once.
    #[inline]
    pub(crate) fn disarm(&self, deadline: u64) {
        let armed = &self.activity.deadline;
        if armed.load(Ordering::Relaxed) == deadline {
            armed.store(0, Ordering::Relaxed);
        }
    }
}

/// A per-connection service that counts requests started and responses
/// finished (a response is finished when hyper drops its body).
#[derive(Debug, Clone)]
pub(crate) struct Counted<S> {
    inner: S,
    activity: Arc<Activity>,
    one_task: bool,
}

impl<S> Counted<S> {
    /// Counts for `activity`. `one_task` says that every request and every
    /// response body of the connection is polled and dropped by its own task,
    /// as on HTTP/1 (HTTP/2 runs each stream in a task of its own): the
    /// counters then take a load and a store each, no atomic read-modify-write,
    /// which would wait on the connection's cold cache line.
    pub(crate) fn new(inner: S, activity: Arc<Activity>, one_task: bool) -> Self {
        Counted {
            inner,
            activity,
            one_task,
        }
    }
}

/// Adds one to `counter`, which only this task writes when `one_task`.
#[inline]
fn count(counter: &AtomicU32, one_task: bool) {
    if one_task {
        counter.store(counter.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
    } else {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// A request in progress on a connection, counted as started when made and
/// as finished when dropped (with its response's body, see [`CountedBody`]).
#[derive(Debug)]
pub(crate) struct InFlight {
    activity: Arc<Activity>,
    one_task: bool,
}

impl InFlight {
    /// Counts a request started on `activity`'s connection; `one_task` as
    /// for [`Counted::new`].
    #[inline]
    pub(crate) fn start(activity: &Arc<Activity>, one_task: bool) -> Self {
        count(&activity.started, one_task);
        InFlight {
            activity: activity.clone(),
            one_task,
        }
    }

    /// The connection the request is on.
    #[inline]
    pub(crate) fn activity(&self) -> &Arc<Activity> {
        &self.activity
    }

    /// Whether the connection runs its requests on its own task, one at a
    /// time (HTTP/1), as given to [`InFlight::start`].
    #[inline]
    pub(crate) fn one_task(&self) -> bool {
        self.one_task
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        count(&self.activity.finished, self.one_task);
    }
}

impl<S, R, B> hyper::service::Service<R> for Counted<S>
where
    S: hyper::service::Service<R, Response = http::Response<B>>,
{
    type Response = http::Response<CountedBody<B>>;
    type Error = S::Error;
    type Future = CountedFuture<S::Future>;

    fn call(&self, request: R) -> Self::Future {
        let in_flight = InFlight::start(&self.activity, self.one_task);
        CountedFuture {
            inner: self.inner.call(request),
            in_flight: Some(in_flight),
        }
    }
}

pin_project_lite::pin_project! {
    /// The service's future; hands the in-flight mark to the response body.
    pub(crate) struct CountedFuture<F> {
        #[pin]
        inner: F,
        in_flight: Option<InFlight>,
    }
}

impl<F, B, E> Future for CountedFuture<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
{
    type Output = Result<http::Response<CountedBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = std::task::ready!(this.inner.poll(cx))?;
        let in_flight = this.in_flight.take();
        Poll::Ready(Ok(response.map(|inner| CountedBody::new(inner, in_flight))))
    }
}

pin_project_lite::pin_project! {
    /// A response body that marks its response finished when dropped.
    pub(crate) struct CountedBody<B> {
        #[pin]
        inner: B,
        _in_flight: Option<InFlight>,
    }
}

impl<B> CountedBody<B> {
    /// `inner`, which ends `in_flight` when dropped.
    #[inline]
    pub(crate) fn new(inner: B, in_flight: Option<InFlight>) -> Self {
        CountedBody {
            inner,
            _in_flight: in_flight,
        }
    }
}

impl<B> Body for CountedBody<B>
where
    B: Body,
    B::Data: Buf,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        self.project().inner.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sweeps(connections: &Connections, n: usize) {
        for _ in 0..n {
            connections.sweep();
        }
    }

    #[test]
    fn a_quiet_connection_expires_after_four_sweeps_and_not_before() {
        let connections = Arc::new(Connections::default());
        let ticket = connections.open();
        // The first sweep only records the counters.
        sweeps(&connections, 1 + usize::from(QUIET_SWEEPS) - 1);
        assert!(!ticket.activity.expired());
        sweeps(&connections, 1);
        assert!(ticket.activity.expired());
    }

    #[test]
    fn a_request_in_progress_keeps_the_connection_open_and_its_end_restarts_the_clock() {
        let connections = Arc::new(Connections::default());
        let ticket = connections.open();
        ticket.activity.started.fetch_add(1, Ordering::Relaxed);
        sweeps(&connections, 20);
        assert!(!ticket.activity.expired());
        ticket.activity.finished.fetch_add(1, Ordering::Relaxed);
        sweeps(&connections, usize::from(QUIET_SWEEPS));
        assert!(!ticket.activity.expired());
        sweeps(&connections, 1);
        assert!(ticket.activity.expired());
    }

    #[test]
    fn the_sweeper_thread_sweeps_until_dropped() {
        let connections = Arc::new(Connections::new(Duration::from_millis(5)));
        let ticket = connections.open();
        let sweeper = Sweeper::start(connections.clone()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !ticket.activity.expired() {
            assert!(
                Instant::now() < deadline,
                "the sweeper never expired a quiet connection"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        // Dropping it joins the thread, which then holds no handle on the table.
        drop(sweeper);
        assert_eq!(Arc::strong_count(&connections), 2, "the table and the ticket");
        let unswept = Arc::new(Connections::new(Duration::MAX));
        let none = Sweeper::start(unswept.clone()).unwrap();
        assert!(none.thread.is_none());
        assert!(unswept.open().activity.sweep_timer().is_none());
    }

    /// A waker that counts its wakes.
    struct CountWakes(AtomicU32);

    impl std::task::Wake for CountWakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_sweep_timer_takes_long_limits_and_the_sweep_that_reaches_one_wakes_its_connection() {
        let every = Duration::from_secs(1);
        let connections = Arc::new(Connections::new(every));
        let ticket = connections.open();
        let wakes = Arc::new(CountWakes(AtomicU32::new(0)));
        let waker = Waker::from(wakes.clone());
        ticket.register(&waker);
        let timer = ticket.activity.sweep_timer().expect("a swept server has a timer");
        // A request in progress: the sweep does not close the connection.
        ticket.activity.started.fetch_add(1, Ordering::Relaxed);
        // Under 16 periods: a tokio timer's job.
        assert_eq!(timer.arm(every * 16 - Duration::from_nanos(1)), None);
        assert_eq!(ticket.activity.deadline.load(Ordering::SeqCst), 0);
        sweeps(&connections, 3);
        // 16.5 periods round up to 17, plus the period already begun.
        let deadline = timer.arm(every * 33 / 2).unwrap();
        assert_eq!(deadline, 3 + 17 + 1);
        sweeps(&connections, 17);
        assert!(!timer.expired(deadline));
        assert_eq!(wakes.0.load(Ordering::SeqCst), 0);
        sweeps(&connections, 1);
        assert!(timer.expired(deadline));
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1);
        // Taken: later sweeps do not wake the connection again.
        sweeps(&connections, 5);
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1);
        assert_eq!(ticket.activity.deadline.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_request_that_ends_first_withdraws_only_its_own_deadline() {
        let connections = Arc::new(Connections::new(Duration::from_secs(1)));
        let ticket = connections.open();
        let timer = ticket.activity.sweep_timer().unwrap();
        let first = timer.arm(Duration::from_secs(60)).unwrap();
        timer.disarm(first);
        assert_eq!(ticket.activity.deadline.load(Ordering::SeqCst), 0);
        sweeps(&connections, 1);
        let second = timer.arm(Duration::from_secs(60)).unwrap();
        assert_ne!(first, second);
        // A late withdrawal of the first leaves the second in place.
        timer.disarm(first);
        assert_eq!(ticket.activity.deadline.load(Ordering::SeqCst), second);
        // A limit past the end of the sweep count is left to tokio.
        assert_eq!(timer.arm(Duration::MAX), None);
    }

    #[tokio::test]
    async fn an_app_request_counts_until_its_body_drops_and_withdraws_its_deadline_as_it_answers() {
        let app = crate::App::new()
            .route(
                crate::Route::get("/wait", || async {
                    tokio::task::yield_now().await;
                    "done"
                })
                .timeout(Duration::from_secs(3600)),
            )
            .build()
            .expect("a valid app");
        let connections = Arc::new(Connections::new(Duration::from_secs(1)).serving(app));
        let ticket = connections.open();
        let service = crate::app::HyperApp::new(&ticket.activity, true);
        let request = http::Request::get("/wait")
            .body(crate::body::Body::empty())
            .expect("a valid request");
        let mut future = std::pin::pin!(service.serve(request));
        // The handler waits: its hour-long timeout goes to the sweep.
        assert!(future
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
            .is_pending());
        assert_eq!(ticket.activity.snapshot(), (1, 0));
        assert_ne!(ticket.activity.deadline.load(Ordering::SeqCst), 0);
        let Ok(response) = future.as_mut().await;
        assert_eq!(response.status(), http::StatusCode::OK);
        assert_eq!(
            ticket.activity.deadline.load(Ordering::SeqCst),
            0,
            "withdrawn as it answered"
        );
        assert_eq!(
            ticket.activity.snapshot(),
            (1, 0),
            "in flight until hyper drops the body"
        );
        drop(response);
        assert_eq!(ticket.activity.snapshot(), (1, 1));
    }

    /// A connection that never ends, and whether it was asked to finish.
    struct Endless {
        finishing: bool,
    }

    impl Future for Endless {
        type Output = ();

        fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
            Poll::Pending
        }
    }

    #[test]
    fn a_watched_connection_acts_on_its_own_flags_only_when_they_are_raised() {
        let connections = Arc::new(Connections::default());
        let ticket = connections.open();
        let quiet = connections.open();
        // A request in progress: the sweeps below do not expire it.
        ticket.activity.started.fetch_add(1, Ordering::Relaxed);
        let wakes = Arc::new(CountWakes(AtomicU32::new(0)));
        let waker = Waker::from(wakes.clone());
        let mut cx = Context::from_waker(&waker);
        let mut watched = Box::pin(ticket.watch(Endless { finishing: false }, |c| {
            c.get_mut().finishing = true;
        }));
        assert!(watched.as_mut().poll(&mut cx).is_pending());
        // Another connection expires: the mark moves, this one reads its
        // flags again, finds none, and was not woken.
        sweeps(&connections, 1 + usize::from(QUIET_SWEEPS));
        assert!(quiet.activity.expired());
        assert_eq!(wakes.0.load(Ordering::SeqCst), 0);
        assert!(watched.as_mut().poll(&mut cx).is_pending());
        assert!(!watched.connection.finishing);
        // Shutdown: woken, then asked to finish; it goes on until it does.
        connections.shut_down();
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1);
        assert!(watched.as_mut().poll(&mut cx).is_pending());
        assert!(watched.connection.finishing);
        assert!(watched.as_mut().poll(&mut cx).is_pending());
        // The deadline: woken, then dropped at its next poll.
        connections.close_all();
        assert_eq!(wakes.0.load(Ordering::SeqCst), 2);
        assert!(matches!(watched.as_mut().poll(&mut cx), Poll::Ready(None)));
    }

    #[tokio::test]
    async fn slots_are_reused_and_drained_completes_when_the_last_closes() {
        let connections = Arc::new(Connections::default());
        let a = connections.open();
        let b = connections.open();
        assert_eq!((a.index, b.index), (0, 1));
        drop(a);
        let c = connections.open();
        assert_eq!(c.index, 0);
        assert_eq!(connections.len(), 2);
        let waiting = tokio::spawn({
            let connections = connections.clone();
            async move { connections.drained().await }
        });
        drop(b);
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(c);
        tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
            .await
            .expect("drained completes")
            .unwrap();
    }
}
