//! `State<T>`: a value created once at start-up and shared by every request.

use std::any::Any;

use crate::error::{HttpError, Rejection};
use crate::extract::{FromRequestParts, RequestContext};
use crate::openapi::OperationDoc;

/// Shared app state, given to the app with `App::state(value)` and cloned into
/// each handler that asks for it. Wrap expensive values in an `Arc` (or make
/// the type a cheap handle, like a connection pool).
///
/// A route that asks for a state type the app was not given fails at app build,
/// never at request time.
///
/// ```
/// use frontdesk::prelude::*;
///
/// #[derive(Clone)]
/// struct Model { name: &'static str }
///
/// async fn which(State(model): State<Model>) -> String {
///     model.name.to_owned()
/// }
///
/// let app = App::new().state(Model { name: "echo" }).route(Route::get("/model", which));
/// # let _ = app;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct State<T>(pub T);

impl<T: Any + Clone + Send + Sync> FromRequestParts for State<T> {
    async fn from_request_parts(ctx: &mut RequestContext) -> Result<Self, Rejection> {
        match ctx.state::<T>() {
            Some(value) => Ok(State(value.clone())),
            // Unreachable for apps built with `App::build`, which checks every
            // route's state needs; kept as a 500 for hand-assembled services.
            None => Err(HttpError::internal(format_args!(
                "state `{}` was not given to the app",
                std::any::type_name::<T>()
            ))
            .into()),
        }
    }

    fn describe(doc: &mut OperationDoc) {
        doc.require_state::<T>();
    }
}

impl<T> std::ops::Deref for State<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}
