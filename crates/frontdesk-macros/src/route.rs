//! `#[get]`, `#[post]`, `#[put]`, `#[patch]`, `#[delete]` and `#[endpoint]`: one
//! declaration per endpoint.
//!
//! The method and the path are said once, on the function, and the doc comment
//! is the operation's summary and description. Whatever can be seen in the
//! signature is checked here, so a mistake is a compile error at the user's own
//! span instead of a start-up failure or a 500: a malformed path template, a
//! `Path<..>` whose arity does not fit the template, a path parameter nobody
//! reads, a body extractor that is not last. Every error of one expansion is
//! reported at once, as dropshot does, so one build shows the whole list.
//!
//! The function becomes a unit struct of the same name whose inherent impl holds
//! it as `handler`; `From<name> for Route` builds the route with its docs, which
//! is what lets `App::new().route(chat)` register it.

mod options;
mod signature;
mod template;

use proc_macro2::{Ident, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Attribute, Error, Expr, FnArg, ItemFn, Lit, LitStr, Meta, ReturnType, Type};

use options::{parse_options, Options};
use signature::{check_arguments, check_signature};
use template::template_parameters;

use crate::errors::Errors;

/// Which macro was written: one with its method in its name, or `#[endpoint]`.
#[derive(Clone, Copy)]
pub(crate) enum Macro {
    /// `#[get]`, `#[post]`, …: the method, upper case.
    Method(&'static str),
    /// `#[endpoint(method = .., path = ..)]`.
    Endpoint,
}

impl Macro {
    fn name(self) -> String {
        match self {
            Macro::Method(method) => method.to_lowercase(),
            Macro::Endpoint => "endpoint".to_owned(),
        }
    }
}

/// The doc comment's lines, one leading space removed, outer blank lines dropped.
fn doc_lines(attrs: &[Attribute]) -> Vec<String> {
    let mut lines = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("doc")) {
        if let Meta::NameValue(nv) = &attr.meta {
            if let Expr::Lit(syn::ExprLit { lit: Lit::Str(s), .. }) = &nv.value {
                for line in s.value().split('\n') {
                    lines.push(line.strip_prefix(' ').unwrap_or(line).trim_end().to_owned());
                }
            }
        }
    }
    while lines.first().is_some_and(|l| l.trim().is_empty()) {
        lines.remove(0);
    }
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    lines
}

/// The summary and description: the first line of the doc comment is the
/// summary (without the sentence's final period, as OpenAPI summaries are
/// written) and the rest the description, unless `summary` was given, in which
/// case the whole comment is the description.
fn summary_and_description(
    attrs: &[Attribute],
    summary: Option<&LitStr>,
) -> (Option<String>, Option<String>) {
    let lines = doc_lines(attrs);
    let (summary, rest) = match summary {
        Some(summary) => (Some(summary.value()), &lines[..]),
        None => match lines.split_first() {
            Some((first, rest)) => {
                let first = first.trim();
                let first = first
                    .strip_suffix('.')
                    .filter(|f| !f.ends_with('.'))
                    .unwrap_or(first);
                (Some(first.to_owned()), rest)
            }
            None => (None, &lines[..]),
        },
    };
    let description = rest.join("\n").trim().to_owned();
    (summary, (!description.is_empty()).then_some(description))
}

/// Runs the macro: the expansion, or every error found plus a stand-in that
/// keeps the user's other code (`route(chat)`, `chat::handler`) free of
/// follow-on errors.
pub(crate) fn expand(mac: Macro, args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let options = parse_options(mac, args, &mut errors);
    let func = match syn::parse2::<ItemFn>(item.clone()) {
        Ok(func) => func,
        Err(_) => {
            errors.at(
                Span::call_site(),
                format!(
                    "`#[{}]` goes on an `async fn` (or a plain `fn` marked `blocking`)",
                    mac.name()
                ),
            );
            let mut out = errors.take().map(Error::into_compile_error).unwrap_or_default();
            out.extend(item);
            return out;
        }
    };
    let template = options
        .path
        .as_ref()
        .and_then(|path| template_parameters(path, &mut errors).map(|names| (path, names)));
    check_signature(&func, &options, &mut errors);
    check_arguments(&func, template, &mut errors);
    match errors.take() {
        Some(error) => {
            let mut out = error.into_compile_error();
            out.extend(stand_in(&func));
            out
        }
        None => generate(mac, &func, &options),
    }
}

/// Attributes that must follow the item wherever its parts go.
fn cfg_attributes(func: &ItemFn) -> Vec<&Attribute> {
    func.attrs.iter().filter(|a| a.path().is_ident("cfg")).collect()
}

fn stand_in(func: &ItemFn) -> TokenStream {
    let name = &func.sig.ident;
    let vis = &func.vis;
    let cfgs = cfg_attributes(func);
    let attrs = &func.attrs;
    let mut sig = func.sig.clone();
    sig.ident = Ident::new("handler", name.span());
    let block = &func.block;
    quote! {
        #(#cfgs)*
        #[allow(non_camel_case_types)]
        #vis struct #name;

        #(#cfgs)*
        #[allow(dead_code)]
        impl #name {
            #(#attrs)*
            #vis #sig #block
        }

        #(#cfgs)*
        impl ::core::convert::From<#name> for ::frontdesk::Route {
            fn from(_: #name) -> Self {
                ::core::unreachable!()
            }
        }
    }
}

fn generate(mac: Macro, func: &ItemFn, options: &Options) -> TokenStream {
    let name = &func.sig.ident;
    let vis = &func.vis;
    let attrs = &func.attrs;
    let cfgs = cfg_attributes(func);
    let method = match (mac, &options.method) {
        (Macro::Method(method), _) => method.to_owned(),
        (Macro::Endpoint, Some(method)) => method.clone(),
        (Macro::Endpoint, None) => "GET".to_owned(),
    };
    let path = options.path.as_ref().map(LitStr::value).unwrap_or_default();
    let signature_line = format!("`{method} {path}`");

    // The struct carries the user's docs (so rustdoc shows the endpoint), then says what it is.
    let docs: Vec<&Attribute> = attrs.iter().filter(|a| a.path().is_ident("doc")).collect();
    let note = format!(
        " {signature_line}: an endpoint. Register it with `App::route` or `Router::route`; the function is `{}::handler`.",
        name.unraw()
    );
    let separator = (!docs.is_empty()).then(|| quote!(#[doc = ""]));
    let handler_doc = docs.is_empty().then(|| {
        let text = format!(" The function behind {signature_line}.");
        quote!(#[doc = #text])
    });

    let handler = if options.blocking.is_some() {
        blocking_handler(func)
    } else {
        let mut sig = func.sig.clone();
        sig.ident = Ident::new("handler", name.span());
        let block = &func.block;
        quote!(#vis #sig #block)
    };

    let route = route_expression(func, options, &method, &path);
    let assertions = assertions(func);
    let rust_deprecated = attrs.iter().any(|a| a.path().is_ident("deprecated"));
    let allow_deprecated = rust_deprecated.then(|| quote!(#[allow(deprecated)]));
    let assertions = (!assertions.is_empty()).then(|| quote!(#(#cfgs)* #allow_deprecated #assertions));

    quote! {
        #(#cfgs)*
        #(#docs)*
        #separator
        #[doc = #note]
        #[allow(non_camel_case_types)]
        #[derive(Debug, Clone, Copy)]
        #vis struct #name;

        #(#cfgs)*
        impl #name {
            #(#attrs)*
            #handler_doc
            #handler
        }

        // Before the route, so that the message naming the argument at fault
        // comes before the one about the function as a whole.
        #assertions

        #(#cfgs)*
        #allow_deprecated
        impl ::core::convert::From<#name> for ::frontdesk::Route {
            fn from(_: #name) -> Self {
                #route
            }
        }
    }
}

/// A plain `fn` marked `blocking`: the async `handler` takes the same
/// extractors and runs the user's body, unchanged in a local fn of the same
/// name, on the blocking pool.
fn blocking_handler(func: &ItemFn) -> TokenStream {
    let name = &func.sig.ident;
    let vis = &func.vis;
    let names: Vec<Ident> = (0..func.sig.inputs.len())
        .map(|i| format_ident!("__frontdesk_arg{i}"))
        .collect();
    let types = func.sig.inputs.iter().filter_map(|input| match input {
        FnArg::Typed(arg) => Some(&arg.ty),
        FnArg::Receiver(_) => None,
    });
    let output = match &func.sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => ty.to_token_stream(),
    };
    let output_span = func.sig.output.span();
    let inner_sig = &func.sig;
    let block = &func.block;
    let handler = Ident::new("handler", name.span());
    let result = quote_spanned!(output_span=> ::core::result::Result<#output, ::frontdesk::HttpError>);
    // `HttpError` is large, and clippy says so of every plain `fn` returning
    // `Result<_, HttpError>`, though an `async fn` returning the same is fine:
    // the body keeps the signature the user wrote for an endpoint.
    quote! {
        #[allow(clippy::result_large_err)]
        #vis async fn #handler(#(#names: #types),*) -> #result {
            #inner_sig #block
            ::frontdesk::blocking(move || #name(#(#names),*)).await
        }
    }
}

fn route_expression(func: &ItemFn, options: &Options, method: &str, path: &str) -> TokenStream {
    let name = &func.sig.ident;
    let method = Ident::new(method, Span::call_site());
    let mut route = quote_spanned! {name.span()=>
        ::frontdesk::Route::new(::frontdesk::http::Method::#method, #path, #name::handler)
    };
    let operation_id = options
        .operation_id
        .as_ref()
        .map(LitStr::value)
        .unwrap_or_else(|| name.unraw().to_string());
    route.extend(quote!(.operation_id(#operation_id)));
    let (summary, description) = summary_and_description(&func.attrs, options.summary.as_ref());
    if let Some(summary) = summary {
        route.extend(quote!(.summary(#summary)));
    }
    if let Some(description) = description {
        route.extend(quote!(.description(#description)));
    }
    for tag in &options.tags {
        route.extend(quote!(.tag(#tag)));
    }
    if options.deprecated || func.attrs.iter().any(|a| a.path().is_ident("deprecated")) {
        route.extend(quote!(.deprecated()));
    }
    if options.hidden {
        route.extend(quote!(.hidden()));
    }
    let status = |code: u16| {
        quote! {
            match ::frontdesk::http::StatusCode::from_u16(#code) {
                ::core::result::Result::Ok(status) => status,
                ::core::result::Result::Err(_) => ::core::unreachable!(),
            }
        }
    };
    if let Some(code) = options.status {
        let status = status(code);
        route.extend(quote!(.status(#status)));
    }
    for (code, description) in &options.responses {
        let status = status(*code);
        route.extend(quote!(.response(#status, #description)));
    }
    route
}

fn mentions_impl(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|token| match token {
        TokenTree::Ident(ident) => ident == "impl",
        TokenTree::Group(group) => mentions_impl(group.stream()),
        _ => false,
    })
}

/// Each argument checked against the extractor traits, and the return type
/// against `IntoResponse`, at the user's span: the trait's own message then
/// points at the argument at fault, not only at the function as a whole.
fn assertions(func: &ItemFn) -> TokenStream {
    let typed: Vec<&Type> = func
        .sig
        .inputs
        .iter()
        .filter_map(|input| match input {
            FnArg::Typed(arg) => Some(&*arg.ty),
            FnArg::Receiver(_) => None,
        })
        .collect();
    // Only the helpers in use, so an endpoint without arguments warns of nothing.
    let mut helpers = Vec::new();
    let mut checks = Vec::new();
    if let Some((last, head)) = typed.split_last() {
        if !head.is_empty() {
            helpers.push(quote!(
                fn __frontdesk_parts<T: ::frontdesk::FromRequestParts>() {}
            ));
        }
        for ty in head {
            checks.push(quote_spanned!(ty.span()=> __frontdesk_parts::<#ty>();));
        }
        helpers.push(quote!(
            fn __frontdesk_last<M, T: ::frontdesk::FromRequest<M>>() {}
        ));
        checks.push(quote_spanned!(last.span()=> __frontdesk_last::<_, #last>();));
    }
    if let ReturnType::Type(_, ty) = &func.sig.output {
        if !mentions_impl(ty.to_token_stream()) {
            helpers.push(quote!(
                fn __frontdesk_response<T: ::frontdesk::IntoResponse>() {}
            ));
            checks.push(quote_spanned!(ty.span()=> __frontdesk_response::<#ty>();));
        }
    }
    if checks.is_empty() {
        return TokenStream::new();
    }
    quote! {
        const _: fn() = || {
            #(#helpers)*
            #(#checks)*
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_split_into_summary_and_description() {
        let func: ItemFn = syn::parse_quote! {
            /// Chat with the model.
            ///
            /// Returns the whole reply.
            async fn chat() {}
        };
        let (summary, description) = summary_and_description(&func.attrs, None);
        assert_eq!(summary.as_deref(), Some("Chat with the model"));
        assert_eq!(description.as_deref(), Some("Returns the whole reply."));
        let given = LitStr::new("Chat", Span::call_site());
        let (summary, description) = summary_and_description(&func.attrs, Some(&given));
        assert_eq!(summary.as_deref(), Some("Chat"));
        assert_eq!(
            description.as_deref(),
            Some("Chat with the model.\n\nReturns the whole reply.")
        );
    }
}
