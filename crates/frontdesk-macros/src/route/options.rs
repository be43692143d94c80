//! The attribute's own grammar: the path literal and the options
//! (`tags = [..]`, `status = 201`, `responses(404 = "..")`, flags), each
//! mistake reported at its token with the form that would have been right.

use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, Lit, LitInt, LitStr, Meta, Token};

use super::Macro;
use crate::errors::Errors;

/// The methods `http::Method` has a constant for.
const METHODS: [&str; 9] = [
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT",
];

/// The options every endpoint macro takes, for the "unknown option" message.
const OPTIONS: [&str; 8] = [
    "tags",
    "status",
    "summary",
    "operation_id",
    "deprecated",
    "hidden",
    "responses",
    "blocking",
];

/// What the attribute said.
#[derive(Default)]
pub(super) struct Options {
    pub(super) method: Option<String>,
    pub(super) path: Option<LitStr>,
    pub(super) tags: Vec<LitStr>,
    pub(super) status: Option<u16>,
    pub(super) summary: Option<LitStr>,
    pub(super) operation_id: Option<LitStr>,
    pub(super) deprecated: bool,
    pub(super) hidden: bool,
    pub(super) blocking: Option<Span>,
    pub(super) responses: Vec<(u16, LitStr)>,
}

/// One comma-separated item of the attribute: the path literal or an option.
enum Argument {
    Path(LitStr),
    Option(Box<Meta>),
}

impl Parse for Argument {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.peek(LitStr) {
            Ok(Argument::Path(input.parse()?))
        } else if input.peek(Lit) {
            Err(input.error(
                "expected the path as a string (`\"/items/{id}\"`) or an option such as `tags = [\"items\"]`",
            ))
        } else {
            Ok(Argument::Option(Box::new(input.parse()?)))
        }
    }
}

/// `404 = "Item not found"` inside `responses(..)`.
struct ResponseEntry {
    status: LitInt,
    description: LitStr,
}

impl Parse for ResponseEntry {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let status = input.parse()?;
        input.parse::<Token![=]>()?;
        let description = input.parse()?;
        Ok(ResponseEntry { status, description })
    }
}

pub(super) fn parse_options(mac: Macro, args: TokenStream, errors: &mut Errors) -> Options {
    let mut options = Options::default();
    let example = match mac {
        Macro::Method(_) => format!("#[{}(\"/items/{{id}}\")]", mac.name()),
        Macro::Endpoint => "#[endpoint(method = GET, path = \"/items/{id}\")]".to_owned(),
    };
    let items = match Punctuated::<Argument, Token![,]>::parse_terminated.parse2(args) {
        Ok(items) => items,
        Err(error) => {
            errors.push(error);
            return options;
        }
    };
    let mut seen: Vec<String> = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        match item {
            Argument::Path(lit) => match mac {
                Macro::Method(_) => {
                    if index > 0 {
                        errors.spanned(&lit, format!("the path comes first: `{example}`"));
                    }
                    // Checked all the same, so its own mistakes show in the same build.
                    options.path = Some(lit);
                }
                Macro::Endpoint => {
                    errors.spanned(&lit, "`#[endpoint]` takes the path as `path = \"/items/{id}\"`")
                }
            },
            Argument::Option(meta) => {
                let key = meta
                    .path()
                    .get_ident()
                    .map(|i| i.unraw().to_string())
                    .unwrap_or_default();
                if seen.contains(&key) {
                    errors.spanned(meta.path(), format!("`{key}` is given twice"));
                    continue;
                }
                seen.push(key.clone());
                parse_option(mac, &key, &meta, &mut options, errors);
            }
        }
    }
    if options.path.is_none() && !seen.iter().any(|k| k == "path") {
        errors.at(Span::call_site(), format!("missing path: write `{example}`"));
    }
    if matches!(mac, Macro::Endpoint) && options.method.is_none() && !seen.iter().any(|k| k == "method") {
        errors.at(Span::call_site(), format!("missing method: write `{example}`"));
    }
    options
}

fn parse_option(mac: Macro, key: &str, meta: &Meta, options: &mut Options, errors: &mut Errors) {
    match key {
        "method" => match mac {
            Macro::Method(_) => errors.spanned(
                meta,
                format!(
                    "`#[{}]` fixes the method; to name it, write `#[endpoint(method = .., path = ..)]`",
                    mac.name()
                ),
            ),
            Macro::Endpoint => {
                if let Some(value) = value_of(meta, "method = GET", errors) {
                    options.method = parse_method(value, errors);
                }
            }
        },
        "path" => match mac {
            Macro::Method(_) => errors.spanned(
                meta,
                format!(
                    "the path is the first argument: `#[{}(\"/items/{{id}}\")]`",
                    mac.name()
                ),
            ),
            Macro::Endpoint => {
                if let Some(value) = value_of(meta, "path = \"/items/{id}\"", errors) {
                    options.path = string(value, "`path` takes a string: `path = \"/items/{id}\"`", errors);
                }
            }
        },
        "tags" => {
            if let Some(value) = value_of(meta, "tags = [\"items\"]", errors) {
                match value {
                    Expr::Array(array) => {
                        for element in &array.elems {
                            if let Some(tag) =
                                string(element, "a tag is a string: `tags = [\"items\"]`", errors)
                            {
                                options.tags.push(tag);
                            }
                        }
                    }
                    other => errors.spanned(other, "`tags` takes a list of strings: `tags = [\"items\"]`"),
                }
            }
        }
        "status" => {
            if let Some(value) = value_of(meta, "status = 201", errors) {
                match value {
                    Expr::Lit(syn::ExprLit {
                        lit: Lit::Int(int), ..
                    }) => options.status = status_code(int, errors),
                    other => errors.spanned(other, "`status` takes an HTTP status code: `status = 201`"),
                }
            }
        }
        "summary" => {
            if let Some(value) = value_of(meta, "summary = \"Create an item\"", errors) {
                options.summary = string(
                    value,
                    "`summary` takes a string: `summary = \"Create an item\"`",
                    errors,
                );
            }
        }
        "operation_id" => {
            if let Some(value) = value_of(meta, "operation_id = \"create_item\"", errors) {
                let id = string(
                    value,
                    "`operation_id` takes a string: `operation_id = \"create_item\"`",
                    errors,
                );
                match id {
                    Some(id) if id.value().trim().is_empty() => {
                        errors.spanned(&id, "`operation_id` cannot be empty")
                    }
                    id => options.operation_id = id,
                }
            }
        }
        "deprecated" | "hidden" | "blocking" => match meta {
            Meta::Path(path) => match key {
                "deprecated" => options.deprecated = true,
                "hidden" => options.hidden = true,
                _ => options.blocking = Some(path.span()),
            },
            other => errors.spanned(other, format!("`{key}` is a flag: write `{key}` alone")),
        },
        "responses" => match meta {
            Meta::List(list) => {
                let entries =
                    Punctuated::<ResponseEntry, Token![,]>::parse_terminated.parse2(list.tokens.clone());
                match entries {
                    Ok(entries) => {
                        for entry in entries {
                            let Some(status) = status_code(&entry.status, errors) else { continue };
                            if options.responses.iter().any(|(s, _)| *s == status) {
                                errors.spanned(&entry.status, format!("response {status} is documented twice"));
                                continue;
                            }
                            options.responses.push((status, entry.description));
                        }
                    }
                    Err(error) => errors.at(
                        error.span(),
                        "`responses` takes `status = \"description\"` pairs: `responses(404 = \"Item not found\")`",
                    ),
                }
            }
            other => errors.spanned(
                other,
                "`responses` takes a list: `responses(404 = \"Item not found\")`",
            ),
        },
        _ => {
            let mut message = format!("unknown option `{key}`");
            if let Some(hint) = suggestion(key) {
                message.push_str(&format!(": {hint}"));
            } else {
                let known: Vec<String> = OPTIONS.iter().map(|o| format!("`{o}`")).collect();
                message.push_str(&format!("; the options are {}", known.join(", ")));
                if matches!(mac, Macro::Endpoint) {
                    message.push_str(", and `method` and `path`");
                }
            }
            errors.spanned(meta.path(), message);
        }
    }
}

/// A hint for an unknown option that is close to a known one.
fn suggestion(key: &str) -> Option<String> {
    let alias = match key {
        "tag" => Some("tags"),
        "operationId" | "operation" | "id" | "name" => Some("operation_id"),
        "response" => Some("responses"),
        "status_code" | "code" => Some("status"),
        _ => None,
    };
    if let Some(alias) = alias {
        return Some(format!("did you mean `{alias}`?"));
    }
    if key == "description" {
        return Some("the description is the doc comment's text after its first line".to_owned());
    }
    OPTIONS
        .iter()
        .find(|option| edit_distance(key, option) <= 2)
        .map(|option| format!("did you mean `{option}`?"))
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

/// The value of `key = value`, or an error showing `example`.
fn value_of<'a>(meta: &'a Meta, example: &str, errors: &mut Errors) -> Option<&'a Expr> {
    match meta {
        Meta::NameValue(nv) => Some(&nv.value),
        other => {
            errors.spanned(other, format!("expected `{example}`"));
            None
        }
    }
}

fn string(expr: &Expr, message: &str, errors: &mut Errors) -> Option<LitStr> {
    match expr {
        Expr::Lit(syn::ExprLit { lit: Lit::Str(s), .. }) => Some(s.clone()),
        other => {
            errors.spanned(other, message);
            None
        }
    }
}

fn parse_method(expr: &Expr, errors: &mut Errors) -> Option<String> {
    let written = match expr {
        // `GET`, or `Method::GET` as it is spelled elsewhere.
        Expr::Path(p) => p.path.segments.last().map(|s| s.ident.unraw().to_string()),
        Expr::Lit(syn::ExprLit { lit: Lit::Str(s), .. }) => Some(s.value()),
        _ => None,
    };
    let found = written
        .as_deref()
        .and_then(|w| METHODS.iter().find(|m| m.eq_ignore_ascii_case(w)));
    match found {
        Some(method) => Some((*method).to_owned()),
        None => {
            let shown = written.map(|w| format!(" `{w}`")).unwrap_or_default();
            errors.spanned(
                expr,
                format!("unknown HTTP method{shown}: use one of {}", METHODS.join(", ")),
            );
            None
        }
    }
}

fn status_code(int: &LitInt, errors: &mut Errors) -> Option<u16> {
    match int.base10_parse::<u16>() {
        Ok(code) if (100..=599).contains(&code) => Some(code),
        _ => {
            errors.spanned(
                int,
                format!("`{int}` is not an HTTP status code: use one from 100 to 599"),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(suggestion("tag").as_deref(), Some("did you mean `tags`?"));
        assert_eq!(suggestion("sumary").as_deref(), Some("did you mean `summary`?"));
        assert_eq!(suggestion("colour"), None);
    }
}
