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

    /// Starts one call of the handler inside the caller's own future, in a
    /// box only when it is larger than [`INLINE_CALL`] bytes.
    fn inline(&self, ctx: RequestContext, body: Body) -> InlineCall;
}

/// How large a handler's call may be and still be kept inside its request's
/// future rather than in a box of its own.
///
/// hyper keeps a connection's request future in one allocation that it reuses
/// from request to request, so a call kept inline costs no allocation and,
/// after a wait, no cold object of its own to reach: a box per call cost raw
/// hyper's own handler about 5 % of its requests per CPU-second on
/// `slow-sustained` (`benches/RESULTS.md`). A typical extractor-and-model
/// handler fits; a larger call goes in a box, as every call did before.
pub(crate) const INLINE_CALL: usize = 1024;

/// A handler's call kept inside the request's future ([`INLINE_CALL`]).
pub(crate) type InlineCall = stackfuture::StackFuture<'static, Response, INLINE_CALL>;

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

    fn inline(&self, ctx: RequestContext, body: Body) -> InlineCall {
        InlineCall::from_or_box(self.handler.clone().call(ctx, body))
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
    pub(crate) fn inner(self: Pin<&mut Self>) -> Pin<&mut F> {
        self.project().inner
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
