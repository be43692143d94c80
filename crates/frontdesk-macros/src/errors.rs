//! Every error of one expansion, reported at once: a macro that stops at the
//! first mistake makes the user compile once per mistake.

use proc_macro2::Span;
use quote::ToTokens;
use syn::Error;

/// Collects errors, each at its own span, and combines them into one.
#[derive(Default)]
pub(crate) struct Errors(Option<Error>);

impl Errors {
    /// Records an error.
    pub(crate) fn push(&mut self, error: Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// Records an error spanning `tokens`.
    pub(crate) fn spanned(&mut self, tokens: impl ToTokens, message: impl std::fmt::Display) {
        self.push(Error::new_spanned(tokens, message));
    }

    /// Records an error at `span`.
    pub(crate) fn at(&mut self, span: Span, message: impl std::fmt::Display) {
        self.push(Error::new(span, message));
    }

    /// `Err` with every recorded error, or `Ok` when there is none.
    pub(crate) fn finish(self) -> syn::Result<()> {
        match self.0 {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Takes the combined error out, if any.
    pub(crate) fn take(&mut self) -> Option<Error> {
        self.0.take()
    }
}
