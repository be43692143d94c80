//! Run: calling the user's function with its extracted arguments.
//!
//! [`Handler`] is implemented for every `async fn` (or closure returning a
//! future) of up to 16 extractor arguments whose output implements
//! [`IntoResponse`]. All but the last argument read the request head; the last
//! may consume the body. Every argument is extracted before the function runs,
//! and all their validation errors are answered together in one 422.
//!
//! Blocking work belongs on tokio's blocking pool: wrap it in [`blocking`], or
//! mark a plain `fn` endpoint `blocking` in its route macro
//! (`#[post("/x", blocking)]`).

use std::future::Future;
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::body::Body;
use crate::error::{HttpError, Rejection};
use crate::extract::{FromRequest, FromRequestParts, RequestContext};
use crate::openapi::OperationDoc;
use crate::response::{IntoResponse, Response};
use crate::validate::ValidationErrors;

/// A boxed, sendable future.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A function that can serve requests: an `async fn` of extractors returning
/// something that implements [`IntoResponse`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a frontdesk handler",
    label = "not a handler",
    note = "a handler is an `async fn` of at most 16 extractor arguments (the last may read the body) returning a type that implements `IntoResponse`",
    note = "for a blocking `fn`, use `#[get(.., blocking)]` (any method) or call `frontdesk::blocking` inside an `async fn`"
)]
pub trait Handler<Args>: Clone + Send + Sync + Sized + 'static {
    /// Extracts the arguments, runs the function and builds the response.
    ///
    /// It takes the handler by value (a clone: nothing for a function, the
    /// captured values for a closure), so the call borrows nothing and
    /// outlives the route it was started from.
    fn call(self, ctx: RequestContext, body: Body) -> impl Future<Output = Response> + Send + 'static;

    /// Describes the arguments and the return type in the OpenAPI document.
    fn describe(doc: &mut OperationDoc);
}

/// Records one extractor's outcome; `None` means it failed with validation errors
/// (kept in `errors`), so the others still run and report theirs.
fn settle<T>(
    result: Result<T, Rejection>,
    errors: &mut ValidationErrors,
) -> Result<Option<T>, Box<Response>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(Rejection::Invalid(found)) => {
            errors.extend(found);
            Ok(None)
        }
        Err(Rejection::Response(response)) => Err(response),
    }
}

impl<F, Fut, Res> Handler<((),)> for F
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Res> + Send,
    Res: IntoResponse,
{
    // An `async fn` here would capture `Fut` and `Res` as well, whose types
    // need not be `'static`; the block captures only what it holds.
    #[allow(clippy::manual_async_fn)]
    fn call(self, _ctx: RequestContext, _body: Body) -> impl Future<Output = Response> + Send + 'static {
        async move { self().await.into_response() }
    }

    fn describe(doc: &mut OperationDoc) {
        Res::describe(doc);
    }
}

macro_rules! impl_handler {
    ([$($head:ident),*], $last:ident) => {
        #[allow(non_snake_case, unused_mut)]
        impl<F, Fut, Res, M, $($head,)* $last> Handler<(M, $($head,)* $last,)> for F
        where
            F: Fn($($head,)* $last) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = Res> + Send,
            Res: IntoResponse,
            $($head: FromRequestParts + 'static,)*
            $last: FromRequest<M> + 'static,
            M: 'static,
        {
            fn call(self, mut ctx: RequestContext, body: Body) -> impl Future<Output = Response> + Send + 'static {
                let f = self;
                async move {
                    let mut errors = ValidationErrors::new();
                    $(
                        let $head = match settle($head::from_request_parts(&mut ctx).await, &mut errors) {
                            Ok(value) => value,
                            Err(response) => return *response,
                        };
                    )*
                    let $last = match settle($last::from_request(&mut ctx, body).await, &mut errors) {
                        Ok(value) => value,
                        Err(response) => return *response,
                    };
                    drop(ctx);
                    match ($($head,)* $last,) {
                        ($(Some($head),)* Some($last),) => f($($head,)* $last).await.into_response(),
                        _ => errors.into_response(),
                    }
                }
            }

            fn describe(doc: &mut OperationDoc) {
                $( <$head as FromRequestParts>::describe(doc); )*
                <$last as FromRequest<M>>::describe(doc);
                Res::describe(doc);
            }
        }
    };
}

impl_handler!([], T1);
impl_handler!([T1], T2);
impl_handler!([T1, T2], T3);
impl_handler!([T1, T2, T3], T4);
impl_handler!([T1, T2, T3, T4], T5);
impl_handler!([T1, T2, T3, T4, T5], T6);
impl_handler!([T1, T2, T3, T4, T5, T6], T7);
impl_handler!([T1, T2, T3, T4, T5, T6, T7], T8);
impl_handler!([T1, T2, T3, T4, T5, T6, T7, T8], T9);
impl_handler!([T1, T2, T3, T4, T5, T6, T7, T8, T9], T10);
impl_handler!([T1, T2, T3, T4, T5, T6, T7, T8, T9, T10], T11);
impl_handler!([T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11], T12);
impl_handler!([T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12], T13);
impl_handler!([T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13], T14);
impl_handler!([T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14], T15);
impl_handler!(
    [T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14, T15],
    T16
);

/// A handler with its argument types forgotten, so routes can be stored together.
pub(crate) trait ErasedHandler: Send + Sync + 'static {
    /// Starts one call of the handler in a box of its own.
    fn call(&self, ctx: RequestContext, body: Body) -> BoxFuture<Response>;

    /// Starts one call of the handler in a box that can be refilled with the
    /// next call of the same handler (see [`HandlerCall`]).
    fn start(&self, ctx: RequestContext, body: Body) -> BoxCall;
}

/// One handler's call in a box that outlives it: a connection keeps the box
/// of its last request and refills it when the next request is for the same
/// route. A request then makes no allocation for its handler, and no box is
/// allocated on one worker thread and freed on another after a long wait,
/// which costs the allocator's cross-thread locks.
pub(crate) trait HandlerCall: Future<Output = Response> + Send {
    /// Starts the handler's next call in this box; whatever is left of the
    /// previous call is dropped.
    fn refill(self: Pin<&mut Self>, ctx: RequestContext, body: Body);

    /// Drops what is left of the call (finished, panicked or cut short),
    /// keeping the box.
    fn clear(self: Pin<&mut Self>);
}

/// A boxed [`HandlerCall`].
pub(crate) type BoxCall = Pin<Box<dyn HandlerCall>>;

pin_project_lite::pin_project! {
    /// A [`HandlerCall`]: the handler, how to call it, and its call in flight.
    /// The call is dropped as soon as it answers.
    struct Call<H, M, F> {
        handler: H,
        make: M,
        #[pin]
        running: Option<F>,
    }
}

impl<H, M, F> Future for Call<H, M, F>
where
    F: Future<Output = Response>,
{
    type Output = Response;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Response> {
        let mut running = self.project().running;
        let Some(call) = running.as_mut().as_pin_mut() else {
            return Poll::Ready(HttpError::internal("handler call polled after it answered").into_response());
        };
        let response = std::task::ready!(call.poll(cx));
        running.set(None);
        Poll::Ready(response)
    }
}

impl<H, M, F> HandlerCall for Call<H, M, F>
where
    H: Send,
    M: Fn(&H, RequestContext, Body) -> F + Send,
    F: Future<Output = Response> + Send,
{
    fn refill(self: Pin<&mut Self>, ctx: RequestContext, body: Body) {
        let mut this = self.project();
        let next = (this.make)(this.handler, ctx, body);
        this.running.set(Some(next));
    }

    fn clear(self: Pin<&mut Self>) {
        self.project().running.set(None);
    }
}

pub(crate) struct Erased<H, Args> {
    handler: H,
    _args: PhantomData<fn() -> Args>,
}

impl<H, Args> Erased<H, Args> {
    pub(crate) fn new(handler: H) -> Self {
        Erased {
            handler,
            _args: PhantomData,
        }
    }
}

impl<H, Args> ErasedHandler for Erased<H, Args>
where
    H: Handler<Args>,
    Args: 'static,
{
    fn call(&self, ctx: RequestContext, body: Body) -> BoxFuture<Response> {
        Box::pin(self.handler.clone().call(ctx, body))
    }

    fn start(&self, ctx: RequestContext, body: Body) -> BoxCall {
        let make = |handler: &H, ctx: RequestContext, body: Body| handler.clone().call(ctx, body);
        let running = Some(make(&self.handler, ctx, body));
        Box::pin(Call {
            handler: self.handler.clone(),
            make,
            running,
        })
    }
}

pin_project_lite::pin_project! {
    /// Turns a panic while polling the handler into an opaque 500; the server
    /// and every other request carry on.
    pub(crate) struct CatchPanic<F> {
        #[pin]
        inner: F,
    }
}

impl<F> CatchPanic<F> {
    pub(crate) fn new(inner: F) -> Self {
        CatchPanic { inner }
    }

    /// The watched future.
    pub(crate) fn get_mut(&mut self) -> &mut F
    where
        F: Unpin,
    {
        &mut self.inner
    }
}

impl<F: Future<Output = Response>> Future for CatchPanic<F> {
    type Output = Response;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Response> {
        let inner = self.project().inner;
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(poll) => poll,
            Err(panic) => Poll::Ready(
                HttpError::internal(format_args!("handler panicked: {}", panic_message(&panic)))
                    .into_response(),
            ),
        }
    }
}

pub(crate) fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> &str {
    if let Some(s) = panic.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s
    } else {
        "(non-string panic payload)"
    }
}

/// Runs blocking work (file I/O, CPU-heavy parsing, a synchronous client) on
/// tokio's blocking pool, so it never stalls the event loop. A panic inside `f`
/// becomes an opaque 500.
///
/// ```
/// use frontdesk::prelude::*;
///
/// async fn checksum(body: String) -> Result<String, HttpError> {
///     frontdesk::blocking(move || format!("{}", body.bytes().map(u64::from).sum::<u64>())).await
/// }
/// # let _ = App::new().route(Route::post("/sum", checksum));
/// ```
pub async fn blocking<F, R>(f: F) -> Result<R, HttpError>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(value) => Ok(value),
        Err(error) if error.is_panic() => {
            let panic = error.into_panic();
            Err(HttpError::internal(format_args!(
                "blocking task panicked: {}",
                panic_message(&panic)
            )))
        }
        Err(error) => Err(HttpError::internal(format_args!("blocking task failed: {error}"))),
    }
}
