//! Procedural macros for frontdesk. Users never name this crate: the `frontdesk`
//! crate re-exports everything here.

use proc_macro::TokenStream;

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
