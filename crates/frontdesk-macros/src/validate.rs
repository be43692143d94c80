//! `#[derive(Validate)]`: one declaration drives the runtime check and the schema.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Expr, Fields, Lit, Meta, Token, Type};

use crate::errors::Errors;

#[derive(Default)]
struct Rules {
    length: Option<(Option<Expr>, Option<Expr>)>,
    range: Option<[Option<Expr>; 4]>,
    regex: Option<Expr>,
    pattern: Option<syn::LitStr>,
    email: bool,
    url: bool,
    contains: Option<syn::LitStr>,
    required: bool,
    nested: bool,
    custom: Vec<syn::Path>,
}

fn parse_rules(field: &syn::Field, errors: &mut Errors) -> Rules {
    let mut rules = Rules::default();
    for attr in &field.attrs {
        let name = attr.path().get_ident().map(|i| i.to_string());
        match name.as_deref() {
            Some("validate") => {}
            Some("garde") => {
                errors.push(syn::Error::new(
                    attr.span(),
                    "frontdesk checks `#[validate(..)]` rules; a `#[garde(..)]` rule would be documented by schemars but never checked — write it as `#[validate(..)]`",
                ));
                continue;
            }
            Some("schemars") => {
                if let Ok(list) = attr.meta.require_list() {
                    let text = list.tokens.to_string();
                    for word in [
                        "length", "range", "pattern", "regex", "email", "url", "contains", "inner",
                    ] {
                        if text
                            .split(|c: char| !c.is_alphanumeric() && c != '_')
                            .any(|w| w == word)
                        {
                            errors.push(syn::Error::new(
                                attr.span(),
                                format!("`#[schemars({word}(..))]` would be documented but never checked — write it as `#[validate({word}(..))]` so frontdesk checks it too"),
                            ));
                        }
                    }
                }
                continue;
            }
            _ => continue,
        }
        let metas = match attr.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated) {
            Ok(m) => m,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        for meta in metas {
            let key = meta.path().get_ident().map(|i| i.to_string()).unwrap_or_default();
            match (key.as_str(), &meta) {
                ("length", Meta::List(list)) => {
                    let mut min = None;
                    let mut max = None;
                    for (k, v) in name_values(list, errors) {
                        match k.as_str() {
                            "min" => min = Some(v),
                            "max" => max = Some(v),
                            "equal" => {
                                min = Some(v.clone());
                                max = Some(v);
                            }
                            other => errors.push(syn::Error::new(list.span(), format!("unknown `length` item `{other}`: use `min`, `max` or `equal`"))),
                        }
                    }
                    rules.length = Some((min, max));
                }
                ("range", Meta::List(list)) => {
                    let mut bounds: [Option<Expr>; 4] = Default::default();
                    for (k, v) in name_values(list, errors) {
                        let slot = match k.as_str() {
                            "min" => 0,
                            "max" => 1,
                            "exclusive_min" => 2,
                            "exclusive_max" => 3,
                            other => {
                                errors.push(syn::Error::new(list.span(), format!("unknown `range` item `{other}`: use `min`, `max`, `exclusive_min` or `exclusive_max`")));
                                continue;
                            }
                        };
                        bounds[slot] = Some(v);
                    }
                    rules.range = Some(bounds);
                }
                ("regex", Meta::List(list)) => {
                    for (k, v) in name_values(list, errors) {
                        if k == "path" {
                            rules.regex = Some(v);
                        } else {
                            errors.push(syn::Error::new(list.span(), "`regex` takes `path = <a static Regex>`; for a literal pattern use `pattern = \"..\"`"));
                        }
                    }
                }
                ("pattern", Meta::NameValue(nv)) => match lit_str(&nv.value) {
                    Some(s) => rules.pattern = Some(s),
                    None => errors.push(syn::Error::new(nv.value.span(), "`pattern` takes a string literal")),
                },
                ("contains", Meta::NameValue(nv)) => errors.push(syn::Error::new(
                    nv.span(),
                    "write `contains(pattern = \"..\")`, the form schemars documents",
                )),
                ("contains", Meta::List(list)) => {
                    for (k, v) in name_values(list, errors) {
                        match (k.as_str(), lit_str(&v)) {
                            ("pattern", Some(s)) => rules.contains = Some(s),
                            _ => errors.push(syn::Error::new(list.span(), "`contains` takes `pattern = \"..\"`")),
                        }
                    }
                }
                ("email", Meta::Path(_)) => rules.email = true,
                ("url", Meta::Path(_)) => rules.url = true,
                ("required", Meta::Path(_)) => rules.required = true,
                ("nested", Meta::Path(_)) => rules.nested = true,
                ("custom", Meta::NameValue(nv)) => match &nv.value {
                    Expr::Path(p) => rules.custom.push(p.path.clone()),
                    other => errors.push(syn::Error::new(other.span(), "`custom` takes a path to a function")),
                },
                ("custom", Meta::List(list)) => {
                    for (k, v) in name_values(list, errors) {
                        match (k.as_str(), &v) {
                            ("function", Expr::Path(p)) => rules.custom.push(p.path.clone()),
                            ("function", Expr::Lit(syn::ExprLit { lit: Lit::Str(s), .. })) => match s.parse::<syn::Path>() {
                                Ok(p) => rules.custom.push(p),
                                Err(e) => errors.push(e),
                            },
                            _ => {}
                        }
                    }
                }
                (other, _) => errors.push(syn::Error::new(
                    meta.span(),
                    format!("unsupported validation rule `{other}`: frontdesk supports length, range, regex, pattern, email, url, contains, required, nested and custom — each both checked and documented"),
                )),
            }
        }
    }
    if rules.required && option_inner(&field.ty).is_none() {
        errors.push(syn::Error::new(
            field.ty.span(),
            "`required` applies to `Option<T>` fields",
        ));
    }
    rules
}

fn lit_str(expr: &Expr) -> Option<syn::LitStr> {
    match expr {
        Expr::Lit(syn::ExprLit { lit: Lit::Str(s), .. }) => Some(s.clone()),
        _ => None,
    }
}

fn name_values(list: &syn::MetaList, errors: &mut Errors) -> Vec<(String, Expr)> {
    let parser = Punctuated::<Meta, Token![,]>::parse_terminated;
    match parser.parse2(list.tokens.clone()) {
        Ok(items) => items
            .into_iter()
            .filter_map(|m| match m {
                Meta::NameValue(nv) => Some((nv.path.get_ident()?.to_string(), unquote(nv.value))),
                other => {
                    errors.push(syn::Error::new(other.span(), "expected `name = value`"));
                    None
                }
            })
            .collect(),
        Err(e) => {
            errors.push(e);
            Vec::new()
        }
    }
}

/// `"5"` → `5`: schemars accepts bounds written as strings, so do we.
fn unquote(expr: Expr) -> Expr {
    if let Some(s) = lit_str(&expr) {
        if let Ok(parsed) = s.parse::<Expr>() {
            return parsed;
        }
    }
    expr
}

fn option_inner(ty: &Type) -> Option<&Type> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if last.ident != "Option" {
        return None;
    }
    match &last.arguments {
        syn::PathArguments::AngleBracketed(args) => match args.args.first()? {
            syn::GenericArgument::Type(t) => Some(t),
            _ => None,
        },
        _ => None,
    }
}

fn serde_attr(attrs: &[syn::Attribute], key: &str) -> Option<String> {
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let Ok(metas) = attr.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated) else {
            continue;
        };
        for meta in metas {
            if let Meta::NameValue(nv) = meta {
                if nv.path.is_ident(key) {
                    if let Some(s) = lit_str(&nv.value) {
                        return Some(s.value());
                    }
                }
            }
        }
    }
    None
}

fn rename(name: &str, rule: Option<&str>) -> String {
    let words: Vec<String> = name
        .split('_')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    let capitalize = |w: &str| {
        let mut c = w.chars();
        c.next()
            .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
            .unwrap_or_default()
    };
    match rule {
        Some("lowercase") => name.to_lowercase(),
        Some("UPPERCASE") => name.to_uppercase(),
        Some("PascalCase") => words.iter().map(|w| capitalize(w)).collect(),
        Some("camelCase") => words
            .iter()
            .enumerate()
            .map(|(i, w)| if i == 0 { w.clone() } else { capitalize(w) })
            .collect(),
        Some("SCREAMING_SNAKE_CASE") => name.to_uppercase(),
        Some("kebab-case") => name.replace('_', "-"),
        Some("SCREAMING-KEBAB-CASE") => name.replace('_', "-").to_uppercase(),
        _ => name.to_owned(),
    }
}

pub(crate) fn expand(input: DeriveInput) -> syn::Result<TokenStream> {
    let name = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let mut errors = Errors::default();
    let rename_all = serde_attr(&input.attrs, "rename_all");
    let mut checks = Vec::new();
    let mut extends = Vec::new();
    let mut nested_types = Vec::new();
    match &input.data {
        Data::Struct(data) => {
            let named = matches!(data.fields, Fields::Named(_));
            for (index, field) in data.fields.iter().enumerate() {
                let rules = parse_rules(field, &mut errors);
                let (access, key) = match &field.ident {
                    Some(ident) => {
                        let rust_name = ident.to_string().trim_start_matches("r#").to_owned();
                        let wire = serde_attr(&field.attrs, "rename")
                            .unwrap_or_else(|| rename(&rust_name, rename_all.as_deref()));
                        (quote!(self.#ident), quote!(#wire))
                    }
                    None => {
                        let i = syn::Index::from(index);
                        (quote!(self.#i), quote!(#index))
                    }
                };
                let inner_ty = option_inner(&field.ty);
                let body = field_checks(&rules, field.ty.span());
                let wire_key = key.clone();
                if rules.nested {
                    nested_types.push(field.ty.clone());
                }
                if !body.is_empty() || rules.required {
                    let run = match inner_ty {
                        Some(_) => {
                            let missing = if rules.required {
                                quote! {
                                    else {
                                        checker.push(|loc| ::frontdesk::validate::ValidationError::missing(loc, ::frontdesk::serde_json::Value::Null));
                                    }
                                }
                            } else {
                                quote!()
                            };
                            quote! {
                                if let ::core::option::Option::Some(value) = (#access).as_ref() { #(#body)* } #missing
                            }
                        }
                        None => quote! { let value = &#access; #(#body)* },
                    };
                    let at = if named {
                        quote!(#key)
                    } else {
                        quote!(#key as usize)
                    };
                    checks.push(quote! {
                        checker.at(#at, |checker| { #run });
                    });
                }
                // Rules schemars does not write: frontdesk adds them to the schema.
                let mut keywords = Vec::new();
                if let Some([_, _, emin, emax]) = &rules.range {
                    if let Some(e) = emin {
                        keywords.push(quote!(("exclusiveMinimum", ::frontdesk::serde_json::json!(#e))));
                    }
                    if let Some(e) = emax {
                        keywords.push(quote!(("exclusiveMaximum", ::frontdesk::serde_json::json!(#e))));
                    }
                }
                if let Some(p) = &rules.pattern {
                    keywords.push(quote!(("pattern", ::frontdesk::serde_json::json!(#p))));
                }
                if !keywords.is_empty() && named {
                    extends.push(quote! {
                        ::frontdesk::validate::__extend_property(
                            defs,
                            &<Self as ::frontdesk::schemars::JsonSchema>::schema_name(),
                            #wire_key,
                            &[#(#keywords),*],
                        );
                    });
                }
            }
        }
        Data::Enum(_) => {}
        Data::Union(u) => errors.push(syn::Error::new(
            u.union_token.span(),
            "`Validate` cannot be derived for unions",
        )),
    }
    errors.finish()?;
    let nested_extends = nested_types.iter().map(|ty| {
        quote! { ::frontdesk::validate::__extend_nested::<#ty>(defs); }
    });
    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics ::frontdesk::validate::Validate for #name #ty_generics #where_clause {
            #[allow(unused_variables)]
            fn validate(&self, checker: &mut ::frontdesk::validate::Checker) {
                #(#checks)*
            }

            fn extend_schema(defs: &mut ::frontdesk::serde_json::Map<::std::string::String, ::frontdesk::serde_json::Value>) {
                #(#extends)*
                #(#nested_extends)*
            }
        }
    })
}

fn field_checks(rules: &Rules, span: Span) -> Vec<TokenStream> {
    let mut out = Vec::new();
    if let Some((min, max)) = &rules.length {
        let min = opt(min, quote!(u64));
        let max = opt(max, quote!(u64));
        out.push(quote_spanned! {span=> checker.length(value, #min, #max); });
    }
    if let Some([min, max, emin, emax]) = &rules.range {
        let [min, max, emin, emax] = [min, max, emin, emax].map(|b| match b {
            Some(e) => quote!(::core::option::Option::Some((#e) as _)),
            None => quote!(::core::option::Option::None),
        });
        out.push(quote_spanned! {span=> checker.range(value, #min, #max, #emin, #emax); });
    }
    if let Some(re) = &rules.regex {
        out.push(
            quote_spanned! {span=> checker.pattern(::core::convert::AsRef::<str>::as_ref(value), &(#re)); },
        );
    }
    if let Some(p) = &rules.pattern {
        out.push(
            quote_spanned! {span=> checker.pattern_text(::core::convert::AsRef::<str>::as_ref(value), #p); },
        );
    }
    if let Some(c) = &rules.contains {
        out.push(
            quote_spanned! {span=> checker.contains(::core::convert::AsRef::<str>::as_ref(value), #c); },
        );
    }
    if rules.email {
        out.push(
            quote_spanned! {span=> checker.format(::core::convert::AsRef::<str>::as_ref(value), "email"); },
        );
    }
    if rules.url {
        out.push(
            quote_spanned! {span=> checker.format(::core::convert::AsRef::<str>::as_ref(value), "uri"); },
        );
    }
    for f in &rules.custom {
        out.push(
            quote_spanned! {span=> checker.custom(#f(value), || ::frontdesk::serde_json::Value::Null); },
        );
    }
    if rules.nested {
        out.push(quote_spanned! {span=> checker.nested(value); });
    }
    out
}

fn opt(e: &Option<Expr>, ty: TokenStream) -> TokenStream {
    match e {
        Some(e) => quote!(::core::option::Option::Some((#e) as #ty)),
        None => quote!(::core::option::Option::None),
    }
}
