//! Procedural macros for frontdesk. Users never name this crate: the `frontdesk`
//! crate re-exports everything here.

use proc_macro::TokenStream;

mod errors;
mod route;
mod validate;

/// Derives `frontdesk::validate::Validate` from `#[validate(..)]` field
/// attributes: `length(min, max, equal)`, `range(min, max, exclusive_min,
/// exclusive_max)`, `regex(path = ..)`, `pattern = ".."`, `email`, `url`,
/// `contains(pattern = "..")`, `required`, `nested` and
/// `custom = path::to_fn` (or `custom(function = ..)`).
///
/// Every rule is both checked at run time and written into the type's JSON
/// Schema (by schemars, which reads the same attributes, or by frontdesk for the
/// rules schemars does not know). A rule that could not be documented, or a
/// schemars/garde constraint that would be documented but never checked, is a
/// compile error.
#[proc_macro_derive(Validate, attributes(validate))]
pub fn derive_validate(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    validate::expand(input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Declares a `GET` endpoint: `#[get("/items/{id}", options..)]` on an `async fn`.
///
/// The method and the path are said here and nowhere else; the function's name
/// becomes a unit struct that `App::route` and `Router::route` accept, so
/// registering it is `App::new().route(item)`. The function itself stays
/// callable as `item::handler(..)` (with the function's own visibility).
///
/// ```text
/// #[get(PATH [, OPTION]*)]           // also post, put, patch, delete
/// #[endpoint(method = METHOD, path = PATH [, OPTION]*)]
///
/// PATH    "/items/{id}", "/files/{*rest}"   ({{ and }} are literal braces)
/// METHOD  GET | POST | PUT | PATCH | DELETE | HEAD | OPTIONS | TRACE | CONNECT
/// OPTION  tags = ["a", "b"]                 OpenAPI tags
///         status = 201                      success status (sent, and documented)
///         summary = "One line"              instead of the doc comment's first line
///         operation_id = "get_item"         default: the function's name
///         deprecated                        marked deprecated (so is `#[deprecated]`)
///         hidden                            served, but left out of the document
///         responses(404 = "Item not found", 409 = "..")   more documented responses
///         blocking                          a plain `fn` run on the blocking pool
/// ```
///
/// The doc comment documents the operation: its first line is the summary and
/// the rest the description (all of it, when `summary` is given).
///
/// A `blocking` endpoint is a plain `fn`: its body runs through
/// `frontdesk::blocking` on tokio's blocking pool, so it never stalls the event
/// loop, and `handler` is an `async fn` returning `Result<R, HttpError>` (a
/// panic becomes an opaque 500).
///
/// Checked at compile time, each at the user's span and all reported together:
/// the path template (starts with `/`, balanced braces, identifier names, no
/// duplicates, no `//`, a catch-all only as the whole last segment); a
/// `Path<(A, B)>` tuple or `Path<u64>` scalar against the number of template
/// parameters (a struct's field names are checked when the app is built); a
/// template parameter no `Path<..>` extracts; a body extractor (`Json<T>`,
/// `Form<T>`, `Bytes`, `String`, `Request`, `Multipart`) that is not last, or a
/// second one; arguments no extractor can be (references, `impl Trait`, bare
/// tuples, `self`); unknown options and ill-typed values; a missing `async`
/// (or `blocking` on an `async fn`); generics.
///
/// The macro sees only its own path: under a `Router` whose prefix has
/// parameters, extract them with a struct `Path<T>`, which is checked at run
/// time instead.
///
/// ```text
/// use frontdesk::prelude::*;
///
/// /// Read one item.
/// ///
/// /// Answers 404 when there is no such item.
/// #[get("/items/{id}", tags = ["items"], responses(404 = "Item not found"))]
/// async fn read_item(Path(id): Path<u64>) -> Result<String, HttpError> {
///     Ok(format!("item {id}"))
/// }
///
/// let app = App::new().route(read_item);
/// ```
#[proc_macro_attribute]
pub fn get(args: TokenStream, item: TokenStream) -> TokenStream {
    route::expand(route::Macro::Method("GET"), args.into(), item.into()).into()
}

/// Declares a `POST` endpoint: `#[post("/items", options..)]`. The grammar,
/// options and checks are those of [`macro@get`].
///
/// ```text
/// /// Create an item.
/// #[post("/items", status = 201, tags = ["items"])]
/// async fn create_item(Json(item): Json<Item>) -> Json<Item> {
///     Json(item)
/// }
/// ```
#[proc_macro_attribute]
pub fn post(args: TokenStream, item: TokenStream) -> TokenStream {
    route::expand(route::Macro::Method("POST"), args.into(), item.into()).into()
}

/// Declares a `PUT` endpoint: `#[put("/items/{id}", options..)]`. The grammar,
/// options and checks are those of [`macro@get`].
#[proc_macro_attribute]
pub fn put(args: TokenStream, item: TokenStream) -> TokenStream {
    route::expand(route::Macro::Method("PUT"), args.into(), item.into()).into()
}

/// Declares a `PATCH` endpoint: `#[patch("/items/{id}", options..)]`. The
/// grammar, options and checks are those of [`macro@get`].
#[proc_macro_attribute]
pub fn patch(args: TokenStream, item: TokenStream) -> TokenStream {
    route::expand(route::Macro::Method("PATCH"), args.into(), item.into()).into()
}

/// Declares a `DELETE` endpoint: `#[delete("/items/{id}", options..)]`. The
/// grammar, options and checks are those of [`macro@get`].
#[proc_macro_attribute]
pub fn delete(args: TokenStream, item: TokenStream) -> TokenStream {
    route::expand(route::Macro::Method("DELETE"), args.into(), item.into()).into()
}

/// Declares an endpoint for any method:
/// `#[endpoint(method = OPTIONS, path = "/items", options..)]`. The other
/// options and the checks are those of [`macro@get`].
///
/// ```text
/// #[endpoint(method = HEAD, path = "/health", hidden)]
/// async fn health_head() -> StatusCode { StatusCode::OK }
/// ```
#[proc_macro_attribute]
pub fn endpoint(args: TokenStream, item: TokenStream) -> TokenStream {
    route::expand(route::Macro::Endpoint, args.into(), item.into()).into()
}
