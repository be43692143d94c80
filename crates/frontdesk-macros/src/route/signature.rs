//! The function's signature against the extractor contract: what can be told
//! from the tokens alone (a reference, a body extractor out of place, a
//! `Path<..>` that does not fit the template) is an error here, at the
//! argument; what needs the types (is `Session` an extractor?) is left to the
//! trait bounds, which the expansion also points at the argument.

use quote::ToTokens;
use syn::{FnArg, ItemFn, LitStr, Pat, PatType, Type};

use super::options::Options;
use super::Errors;

/// The most arguments the `Handler` impls cover.
const MAX_ARGUMENTS: usize = 16;

/// What a user may write as an argument: the tail of several messages.
const ACCEPTED: &str = "extractors are taken by value: `Path<T>`, `Query<T>`, `Headers<T>`, `State<T>`, your own `FromRequestParts` type, and last, at most one body extractor (`Json<T>`, `Form<T>`, `Bytes`, `String`, `Request`)";

/// Path parameter types that always hold exactly one parameter.
const SCALARS: [&str; 18] = [
    "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize", "f32", "f64",
    "bool", "String", "char", "Uuid",
];

/// What an argument's type says about what it reads.
enum Extractor<'a> {
    /// `Path<T>`: `T` and how many parameters it holds, when that can be told.
    Path(&'a Type, Option<usize>),
    /// Reads the body: its name for messages.
    Body(String),
    /// Anything else: left to the trait bounds.
    Other,
}

fn peel(ty: &Type) -> &Type {
    match ty {
        Type::Group(group) => peel(&group.elem),
        Type::Paren(paren) => peel(&paren.elem),
        _ => ty,
    }
}

fn first_type_argument(segment: &syn::PathSegment) -> Option<&Type> {
    match &segment.arguments {
        syn::PathArguments::AngleBracketed(args) => args.args.iter().find_map(|arg| match arg {
            syn::GenericArgument::Type(ty) => Some(ty),
            _ => None,
        }),
        _ => None,
    }
}

fn classify(ty: &Type) -> Extractor<'_> {
    let Type::Path(path) = peel(ty) else {
        return Extractor::Other;
    };
    let Some(last) = path.path.segments.last() else {
        return Extractor::Other;
    };
    let name = last.ident.to_string();
    let inner = first_type_argument(last);
    match (name.as_str(), inner) {
        // `Result<E, Rejection>` hands `E`'s rejection to the handler; it still reads what `E` reads.
        ("Result", Some(inner)) => classify(inner),
        ("Path", Some(inner)) => Extractor::Path(inner, arity(inner)),
        ("Json" | "Form", Some(_)) => Extractor::Body(format!("{name}<..>")),
        ("Bytes" | "String" | "Request" | "Multipart", None) => Extractor::Body(name),
        _ => Extractor::Other,
    }
}

/// How many path parameters `Path<T>` holds: a tuple's length, one for a
/// scalar, unknown for a struct (its field names are checked at run time).
fn arity(ty: &Type) -> Option<usize> {
    match peel(ty) {
        Type::Tuple(tuple) => Some(tuple.elems.len()),
        Type::Path(path) if path.qself.is_none() && path.path.segments.len() == 1 => {
            let segment = &path.path.segments[0];
            let scalar = segment.arguments.is_empty() && SCALARS.iter().any(|s| segment.ident == s);
            scalar.then_some(1)
        }
        _ => None,
    }
}

fn check_pattern(pat: &Pat, errors: &mut Errors) {
    match pat {
        Pat::Ident(_) | Pat::TupleStruct(_) | Pat::Wild(_) => {}
        other => errors.spanned(
            other,
            "an endpoint argument is a plain name (`item: Json<Item>`) or destructures its extractor (`Json(item): Json<Item>`)",
        ),
    }
}

/// Rejects the types no extractor can be; `false` if the type was rejected.
fn check_type(ty: &Type, errors: &mut Errors) -> bool {
    let message = match peel(ty) {
        Type::Path(_) => return true,
        Type::Reference(reference) => {
            let hint = match peel(&reference.elem) {
                Type::Path(p) if p.path.is_ident("str") => "take `String` (the body as text) or extract a typed value",
                Type::Slice(_) => "take `Bytes` (the body) or `Vec<T>` inside an extractor",
                _ => "drop the `&`",
            };
            format!("an endpoint argument cannot be a reference: {hint}; {ACCEPTED}")
        }
        Type::ImplTrait(_) => format!("an endpoint argument cannot be `impl Trait`: name a concrete type; {ACCEPTED}"),
        Type::Tuple(_) => format!(
            "a bare tuple is not an extractor: path parameters are `Path<(A, B)>`, and each other value is its own argument; {ACCEPTED}"
        ),
        _ => format!("this type is not an extractor; {ACCEPTED}"),
    };
    errors.spanned(ty, message);
    false
}

/// Checks the arguments one by one and then together: patterns, types, the
/// place of the body extractor, and `Path<..>` against the template.
pub(super) fn check_arguments(func: &ItemFn, template: Option<(&LitStr, Vec<String>)>, errors: &mut Errors) {
    let mut typed: Vec<&PatType> = Vec::new();
    for input in &func.sig.inputs {
        match input {
            FnArg::Receiver(receiver) => errors.spanned(
                receiver,
                format!("an endpoint is a free function: `self` is not an extractor; {ACCEPTED}"),
            ),
            FnArg::Typed(arg) => typed.push(arg),
        }
    }
    if typed.len() > MAX_ARGUMENTS {
        errors.spanned(
            &func.sig.inputs,
            format!(
                "an endpoint takes at most {MAX_ARGUMENTS} arguments, this one takes {}: group some into a struct extractor",
                typed.len()
            ),
        );
    }
    let mut bodies: Vec<(usize, String)> = Vec::new();
    let mut paths: Vec<(&Type, &Type, Option<usize>)> = Vec::new();
    for (index, arg) in typed.iter().enumerate() {
        // A type no extractor can be says all there is to say about the argument.
        if !check_type(&arg.ty, errors) {
            continue;
        }
        check_pattern(&arg.pat, errors);
        match classify(&arg.ty) {
            Extractor::Body(name) => bodies.push((index, name)),
            Extractor::Path(inner, arity) => paths.push((&arg.ty, inner, arity)),
            Extractor::Other => {}
        }
    }
    match bodies.as_slice() {
        [] => {}
        [(index, name)] if *index + 1 < typed.len() => errors.spanned(
            typed[*index],
            format!(
                "`{name}` reads the request body, so it must be the last argument: move it after the others"
            ),
        ),
        [(first, first_name), rest @ ..] => {
            for (index, name) in rest {
                errors.spanned(
                    typed[*index],
                    format!(
                        "only one argument may read the request body, and `{first_name}` (argument {}) already does: `{name}` cannot read it again",
                        first + 1
                    ),
                );
            }
        }
    }
    let Some((path, names)) = template else {
        return;
    };
    let listed = names
        .iter()
        .map(|n| format!("`{{{n}}}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let template_text = path.value();
    if paths.is_empty() && !names.is_empty() {
        let (noun, example) = match names.as_slice() {
            [one] => (
                format!("path parameter {listed} is"),
                format!("Path({one}): Path<String>"),
            ),
            many => (
                format!("path parameters {listed} are"),
                format!(
                    "Path(({})): Path<({})>",
                    many.join(", "),
                    vec!["String"; many.len()].join(", ")
                ),
            ),
        };
        errors.spanned(
            path,
            format!("{noun} never extracted: add a `Path<..>` argument, e.g. `{example}`"),
        );
    }
    for (ty, inner, arity) in paths {
        if names.is_empty() {
            errors.spanned(
                ty,
                format!("`Path<..>` reads path parameters, but `{template_text}` has none: add `{{name}}` to the path or remove this argument"),
            );
            continue;
        }
        let Some(arity) = arity else { continue };
        if arity == names.len() {
            continue;
        }
        let count = match names.len() {
            1 => "1 parameter".to_owned(),
            n => format!("{n} parameters"),
        };
        let message = match peel(inner) {
            Type::Tuple(_) => format!(
                "`{template_text}` has {count} ({listed}) but this tuple has {arity} element{}: give it one type per parameter, in order",
                if arity == 1 { "" } else { "s" }
            ),
            _ => format!(
                "`{}` holds one path parameter but `{template_text}` has {count} ({listed}): use a tuple with one type per parameter, or a struct whose fields name them",
                inner.to_token_stream()
            ),
        };
        errors.spanned(inner, message);
    }
}

/// The signature's own rules: async unless blocking, not generic, not unsafe.
pub(super) fn check_signature(func: &ItemFn, options: &Options, errors: &mut Errors) {
    let sig = &func.sig;
    if let Some(constness) = &sig.constness {
        errors.spanned(constness, "an endpoint cannot be a `const fn`");
    }
    if let Some(unsafety) = &sig.unsafety {
        errors.spanned(unsafety, "an endpoint cannot be `unsafe`");
    }
    if let Some(abi) = &sig.abi {
        errors.spanned(abi, "an endpoint cannot have an `extern` ABI");
    }
    if !sig.generics.params.is_empty() {
        errors.spanned(
            &sig.generics,
            "an endpoint cannot be generic: its arguments must be concrete extractor types (a generic handler can be registered as `Route::new(method, path, handler::<T>)`)",
        );
    }
    if let Some(where_clause) = &sig.generics.where_clause {
        errors.spanned(
            where_clause,
            "an endpoint cannot have a `where` clause: its arguments are concrete extractor types",
        );
    }
    match (&sig.asyncness, options.blocking) {
        (None, None) => errors.spanned(
            sig.fn_token,
            "an endpoint is an `async fn`; for blocking work, mark a plain `fn` with `blocking` (e.g. `#[get(\"/report\", blocking)]`) to run it on the blocking pool",
        ),
        (Some(_), Some(blocking)) => errors.at(
            blocking,
            "`blocking` is for a plain `fn` and this one is `async`: remove `blocking`, and run blocking parts with `frontdesk::blocking(..)`",
        ),
        _ => {}
    }
}
