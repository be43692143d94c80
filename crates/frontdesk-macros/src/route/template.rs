//! The path template, read at compile time: the same rules the router applies
//! when the app is built (leading `/`, balanced braces, `{{`/`}}` escapes, a
//! catch-all only at the end), plus the ones only a reader of the source can
//! enforce kindly (identifier names, no duplicates, no `//`).

use syn::LitStr;

use super::Errors;

/// The names of the template's parameters, or `None` when it is malformed (each
/// problem is reported at the path literal).
pub(super) fn template_parameters(path: &LitStr, errors: &mut Errors) -> Option<Vec<String>> {
    let text = path.value();
    let chars: Vec<char> = text.chars().collect();
    let mut problems: Vec<String> = Vec::new();
    if !text.starts_with('/') {
        problems.push(format!("a path starts with `/`: write \"/{text}\""));
    }
    if text.contains("//") {
        problems.push("the path has an empty segment (`//`)".to_owned());
    }
    if text.contains(['?', '#']) {
        problems
            .push("a path has no query string or fragment: read query parameters with `Query<T>`".to_owned());
    }
    let mut names: Vec<String> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '{' | '}' if chars.get(i + 1) == Some(&chars[i]) => i += 2,
            '}' => {
                problems.push("unbalanced `}` in the path (write `}}` for a literal brace)".to_owned());
                i += 1;
            }
            '{' => {
                let close = chars[i + 1..]
                    .iter()
                    .position(|c| matches!(c, '{' | '}' | '/'))
                    .map(|offset| i + 1 + offset);
                let Some(close) = close.filter(|&c| chars[c] == '}') else {
                    problems.push("unbalanced `{` in the path: a parameter is written `{name}`".to_owned());
                    i = close.unwrap_or(chars.len());
                    continue;
                };
                let written: String = chars[i + 1..close].iter().collect();
                let catch_all = written.starts_with('*');
                let name = written.trim_start_matches('*');
                if name.is_empty() {
                    problems.push(format!(
                        "`{{{written}}}` has no name: write `{{id}}` (or `{{*rest}}` for a catch-all)"
                    ));
                } else if !is_identifier(name) {
                    problems.push(format!("path parameter `{{{written}}}`: a parameter name is an identifier, like `{{item_id}}`"));
                } else if names.iter().any(|n| n == name) {
                    problems.push(format!("path parameter `{{{name}}}` appears twice"));
                } else {
                    names.push(name.to_owned());
                }
                let whole_last_segment = close + 1 == chars.len() && i > 0 && chars[i - 1] == '/';
                if catch_all && !whole_last_segment {
                    problems.push(format!(
                        "the catch-all `{{{written}}}` must be the whole last segment of the path"
                    ));
                }
                i = close + 1;
            }
            _ => i += 1,
        }
    }
    if problems.is_empty() {
        Some(names)
    } else {
        for problem in problems {
            errors.spanned(path, problem);
        }
        None
    }
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) if first.is_ascii_alphabetic() || first == '_' => {
            name != "_" && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proc_macro2::Span;

    fn parameters(path: &str) -> Result<Vec<String>, String> {
        let mut errors = Errors::default();
        let lit = LitStr::new(path, Span::call_site());
        template_parameters(&lit, &mut errors)
            .ok_or_else(|| errors.take().map(|e| e.to_string()).unwrap_or_default())
    }

    #[test]
    fn templates() {
        assert_eq!(parameters("/items/{id}").unwrap(), ["id"]);
        assert_eq!(parameters("/a/{x}/b/{*rest}").unwrap(), ["x", "rest"]);
        assert_eq!(parameters("/lit/{{braces}}").unwrap(), Vec::<String>::new());
        assert!(parameters("items").unwrap_err().contains("starts with `/`"));
        assert!(parameters("/a//b").unwrap_err().contains("empty segment"));
        assert!(parameters("/a/{id").unwrap_err().contains("unbalanced `{`"));
        assert!(parameters("/a/id}").unwrap_err().contains("unbalanced `}`"));
        assert!(parameters("/a/{1x}").unwrap_err().contains("identifier"));
        assert!(parameters("/a/{x}/{x}").unwrap_err().contains("twice"));
        assert!(parameters("/a/{*rest}/b").unwrap_err().contains("last segment"));
        assert!(parameters("/a/{*rest}x").unwrap_err().contains("last segment"));
        assert!(parameters("/a/{}").unwrap_err().contains("no name"));
    }
}
