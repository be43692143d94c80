//! The 422 vocabulary: one [`ValidationError`] per bad input, in FastAPI's (Pydantic
//! v2's) exact wire shape, and [`ValidationErrors`], the list a response carries.
//!
//! Every constructor here writes Pydantic's `type` string and `msg` text, so the
//! typed fast path, the schema-driven slow path and the parameter parsers all
//! speak the same words. A front end written against a FastAPI backend reads these
//! bodies unchanged.

use std::borrow::Cow;
use std::fmt;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

/// Inputs longer than this (in bytes of their JSON text) are not echoed back in
/// full: strings are cut to this many bytes, other values are replaced by a short
/// summary. FastAPI echoes everything, which can return secrets or megabytes.
pub const MAX_ECHOED_INPUT: usize = 1024;

/// Where a request value came from: the first element of every `loc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The request body.
    Body,
    /// A query-string parameter.
    Query,
    /// A path parameter.
    Path,
    /// A request header.
    Header,
    /// A cookie.
    Cookie,
}

impl Source {
    /// The word FastAPI puts first in `loc`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Body => "body",
            Source::Query => "query",
            Source::Path => "path",
            Source::Header => "header",
            Source::Cookie => "cookie",
        }
    }
}

/// One step of a location: an object key or a list index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocItem {
    /// An object key or parameter name.
    Key(Cow<'static, str>),
    /// A position in a list (or the byte offset of a JSON syntax error).
    Index(usize),
}

impl Serialize for LocItem {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            LocItem::Key(k) => s.serialize_str(k),
            LocItem::Index(i) => s.serialize_u64(*i as u64),
        }
    }
}

impl From<&'static str> for LocItem {
    fn from(key: &'static str) -> Self {
        LocItem::Key(Cow::Borrowed(key))
    }
}

impl From<String> for LocItem {
    fn from(key: String) -> Self {
        LocItem::Key(Cow::Owned(key))
    }
}

impl From<usize> for LocItem {
    fn from(index: usize) -> Self {
        LocItem::Index(index)
    }
}

/// The location of a bad value: its source, then keys and indices down to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loc {
    source: Source,
    path: Vec<LocItem>,
}

impl Loc {
    /// The location of the whole source (e.g. the whole body).
    pub fn new(source: Source) -> Self {
        Loc {
            source,
            path: Vec::new(),
        }
    }

    /// This location extended by one key or index.
    pub fn child(&self, item: impl Into<LocItem>) -> Self {
        let mut path = Vec::with_capacity(self.path.len() + 1);
        path.extend_from_slice(&self.path);
        path.push(item.into());
        Loc {
            source: self.source,
            path,
        }
    }

    /// Adds one key or index at the end.
    pub fn push(&mut self, item: impl Into<LocItem>) {
        self.path.push(item.into());
    }

    /// Removes the last key or index.
    pub fn pop(&mut self) {
        self.path.pop();
    }

    /// The source this location starts from.
    pub fn source(&self) -> Source {
        self.source
    }

    /// The keys and indices after the source.
    pub fn path(&self) -> &[LocItem] {
        &self.path
    }
}

impl Serialize for Loc {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.path.len() + 1))?;
        seq.serialize_element(self.source.as_str())?;
        for item in &self.path {
            seq.serialize_element(item)?;
        }
        seq.end()
    }
}

/// One bad input: FastAPI's `{"type","loc","msg","input","ctx"?}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationError {
    kind: Cow<'static, str>,
    loc: Loc,
    msg: Cow<'static, str>,
    input: Value,
    ctx: Option<Map<String, Value>>,
}

impl Serialize for ValidationError {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(4 + usize::from(self.ctx.is_some())))?;
        map.serialize_entry("type", &self.kind)?;
        map.serialize_entry("loc", &self.loc)?;
        map.serialize_entry("msg", &self.msg)?;
        map.serialize_entry("input", &self.input)?;
        if let Some(ctx) = &self.ctx {
            map.serialize_entry("ctx", ctx)?;
        }
        map.end()
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.loc.source.as_str())?;
        for item in &self.loc.path {
            match item {
                LocItem::Key(k) => write!(f, ".{k}")?,
                LocItem::Index(i) => write!(f, "[{i}]")?,
            }
        }
        write!(f, ": {} ({})", self.msg, self.kind)
    }
}

/// Renders a bound as Pydantic does in messages: `10`, `0.5`, and `0` for a float
/// bound of `0.0` (the `ctx` keeps the float).
pub(crate) fn bound_text(bound: &Value) -> String {
    match bound {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or_default();
            if f.fract() == 0.0 && f.abs() < 1e15 {
                format!("{}", f as i64)
            } else {
                f.to_string()
            }
        }
        other => other.to_string(),
    }
}

fn ctx1(key: &str, value: Value) -> Option<Map<String, Value>> {
    let mut map = Map::with_capacity(1);
    map.insert(key.to_owned(), value);
    Some(map)
}

/// Caps an echoed input at [`MAX_ECHOED_INPUT`] bytes.
pub(crate) fn cap_input(input: Value) -> Value {
    match input {
        Value::String(s) if s.len() > MAX_ECHOED_INPUT => {
            let mut end = MAX_ECHOED_INPUT;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            Value::String(format!("{}...", &s[..end]))
        }
        Value::Array(items) if too_big(&items) => {
            Value::String(format!("[array of {} items, not echoed]", items.len()))
        }
        Value::Object(map) if too_big_map(&map) => {
            Value::String(format!("{{object of {} keys, not echoed}}", map.len()))
        }
        other => other,
    }
}

fn approx_len(value: &Value) -> usize {
    match value {
        Value::Null => 4,
        Value::Bool(_) => 5,
        Value::Number(_) => 8,
        Value::String(s) => s.len() + 2,
        Value::Array(items) => 2 + items.iter().map(approx_len).sum::<usize>(),
        Value::Object(map) => {
            2 + map
                .iter()
                .map(|(k, v)| k.len() + 3 + approx_len(v))
                .sum::<usize>()
        }
    }
}

fn too_big(items: &[Value]) -> bool {
    items.iter().map(approx_len).sum::<usize>() > MAX_ECHOED_INPUT
}

fn too_big_map(map: &Map<String, Value>) -> bool {
    map.iter()
        .map(|(k, v)| k.len() + 3 + approx_len(v))
        .sum::<usize>()
        > MAX_ECHOED_INPUT
}

impl ValidationError {
    /// An error with any `type`, `msg` and optional `ctx`; prefer the named
    /// constructors, which use Pydantic's exact words.
    pub fn new(
        kind: impl Into<Cow<'static, str>>,
        loc: Loc,
        msg: impl Into<Cow<'static, str>>,
        input: Value,
        ctx: Option<Map<String, Value>>,
    ) -> Self {
        ValidationError {
            kind: kind.into(),
            loc,
            msg: msg.into(),
            input: cap_input(input),
            ctx,
        }
    }

    /// The Pydantic error type, e.g. `string_too_short`.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// Where the bad value is.
    pub fn loc(&self) -> &Loc {
        &self.loc
    }

    /// The human-readable message.
    pub fn msg(&self) -> &str {
        &self.msg
    }

    /// The offending value (capped, see [`MAX_ECHOED_INPUT`]).
    pub fn input(&self) -> &Value {
        &self.input
    }

    /// The constraint's parameters, when the error is about a constraint.
    pub fn ctx(&self) -> Option<&Map<String, Value>> {
        self.ctx.as_ref()
    }

    /// `missing`: a required value is absent; `input` is the enclosing object.
    pub fn missing(loc: Loc, enclosing: Value) -> Self {
        Self::new("missing", loc, "Field required", enclosing, None)
    }

    /// `string_type`.
    pub fn string_type(loc: Loc, input: Value) -> Self {
        Self::new("string_type", loc, "Input should be a valid string", input, None)
    }

    /// `int_type`.
    pub fn int_type(loc: Loc, input: Value) -> Self {
        Self::new("int_type", loc, "Input should be a valid integer", input, None)
    }

    /// `int_parsing`: a string that is not an integer.
    pub fn int_parsing(loc: Loc, input: Value) -> Self {
        Self::new(
            "int_parsing",
            loc,
            "Input should be a valid integer, unable to parse string as an integer",
            input,
            None,
        )
    }

    /// `int_from_float`: a number with a fractional part where an integer belongs.
    pub fn int_from_float(loc: Loc, input: Value) -> Self {
        Self::new(
            "int_from_float",
            loc,
            "Input should be a valid integer, got a number with a fractional part",
            input,
            None,
        )
    }

    /// `float_type`.
    pub fn float_type(loc: Loc, input: Value) -> Self {
        Self::new("float_type", loc, "Input should be a valid number", input, None)
    }

    /// `float_parsing`.
    pub fn float_parsing(loc: Loc, input: Value) -> Self {
        Self::new(
            "float_parsing",
            loc,
            "Input should be a valid number, unable to parse string as a number",
            input,
            None,
        )
    }

    /// `finite_number`: NaN or an infinity where a number belongs.
    pub fn finite_number(loc: Loc, input: Value) -> Self {
        Self::new(
            "finite_number",
            loc,
            "Input should be a finite number",
            input,
            None,
        )
    }

    /// `bool_type`.
    pub fn bool_type(loc: Loc, input: Value) -> Self {
        Self::new("bool_type", loc, "Input should be a valid boolean", input, None)
    }

    /// `bool_parsing`.
    pub fn bool_parsing(loc: Loc, input: Value) -> Self {
        Self::new(
            "bool_parsing",
            loc,
            "Input should be a valid boolean, unable to interpret input",
            input,
            None,
        )
    }

    /// `list_type`.
    pub fn list_type(loc: Loc, input: Value) -> Self {
        Self::new("list_type", loc, "Input should be a valid list", input, None)
    }

    /// `dict_type`.
    pub fn dict_type(loc: Loc, input: Value) -> Self {
        Self::new(
            "dict_type",
            loc,
            "Input should be a valid dictionary",
            input,
            None,
        )
    }

    /// `model_attributes_type`: an object was expected (the body is not one).
    pub fn model_attributes_type(loc: Loc, input: Value) -> Self {
        Self::new(
            "model_attributes_type",
            loc,
            "Input should be a valid dictionary or object to extract fields from",
            input,
            None,
        )
    }

    /// `extra_forbidden`: an unknown key where unknown keys are refused.
    pub fn extra_forbidden(loc: Loc, input: Value) -> Self {
        Self::new(
            "extra_forbidden",
            loc,
            "Extra inputs are not permitted",
            input,
            None,
        )
    }

    /// `json_invalid`: the body is not JSON; `offset` is where parsing stopped.
    pub fn json_invalid(offset: usize, error: impl Into<String>) -> Self {
        Self::new(
            "json_invalid",
            Loc::new(Source::Body).child(offset),
            "JSON decode error",
            Value::Object(Map::new()),
            ctx1("error", Value::String(error.into())),
        )
    }

    /// `string_too_short`.
    pub fn string_too_short(loc: Loc, input: Value, min: u64) -> Self {
        let unit = if min == 1 { "character" } else { "characters" };
        Self::new(
            "string_too_short",
            loc,
            format!("String should have at least {min} {unit}"),
            input,
            ctx1("min_length", min.into()),
        )
    }

    /// `string_too_long`.
    pub fn string_too_long(loc: Loc, input: Value, max: u64) -> Self {
        let unit = if max == 1 { "character" } else { "characters" };
        Self::new(
            "string_too_long",
            loc,
            format!("String should have at most {max} {unit}"),
            input,
            ctx1("max_length", max.into()),
        )
    }

    /// `too_short`: a list with too few items.
    pub fn too_short(loc: Loc, input: Value, min: u64, actual: usize) -> Self {
        let unit = if min == 1 { "item" } else { "items" };
        let mut ctx = Map::new();
        ctx.insert("field_type".into(), "List".into());
        ctx.insert("min_length".into(), min.into());
        ctx.insert("actual_length".into(), actual.into());
        Self::new(
            "too_short",
            loc,
            format!("List should have at least {min} {unit} after validation, not {actual}"),
            input,
            Some(ctx),
        )
    }

    /// `too_long`: a list with too many items.
    pub fn too_long(loc: Loc, input: Value, max: u64, actual: usize) -> Self {
        let unit = if max == 1 { "item" } else { "items" };
        let mut ctx = Map::new();
        ctx.insert("field_type".into(), "List".into());
        ctx.insert("max_length".into(), max.into());
        ctx.insert("actual_length".into(), actual.into());
        Self::new(
            "too_long",
            loc,
            format!("List should have at most {max} {unit} after validation, not {actual}"),
            input,
            Some(ctx),
        )
    }

    /// `greater_than_equal` (`ge`, JSON Schema `minimum`).
    pub fn greater_than_equal(loc: Loc, input: Value, ge: Value) -> Self {
        let msg = format!("Input should be greater than or equal to {}", bound_text(&ge));
        Self::new("greater_than_equal", loc, msg, input, ctx1("ge", ge))
    }

    /// `greater_than` (`gt`, JSON Schema `exclusiveMinimum`).
    pub fn greater_than(loc: Loc, input: Value, gt: Value) -> Self {
        let msg = format!("Input should be greater than {}", bound_text(&gt));
        Self::new("greater_than", loc, msg, input, ctx1("gt", gt))
    }

    /// `less_than_equal` (`le`, JSON Schema `maximum`).
    pub fn less_than_equal(loc: Loc, input: Value, le: Value) -> Self {
        let msg = format!("Input should be less than or equal to {}", bound_text(&le));
        Self::new("less_than_equal", loc, msg, input, ctx1("le", le))
    }

    /// `less_than` (`lt`, JSON Schema `exclusiveMaximum`).
    pub fn less_than(loc: Loc, input: Value, lt: Value) -> Self {
        let msg = format!("Input should be less than {}", bound_text(&lt));
        Self::new("less_than", loc, msg, input, ctx1("lt", lt))
    }

    /// `string_pattern_mismatch`.
    pub fn string_pattern_mismatch(loc: Loc, input: Value, pattern: &str) -> Self {
        Self::new(
            "string_pattern_mismatch",
            loc,
            format!("String should match pattern '{pattern}'"),
            input,
            ctx1("pattern", Value::String(pattern.to_owned())),
        )
    }

    /// `enum`: not one of the allowed values; `expected` lists them.
    pub fn enumeration(loc: Loc, input: Value, expected: &[Value]) -> Self {
        let expected = expected_list(expected);
        Self::new(
            "enum",
            loc,
            format!("Input should be {expected}"),
            input,
            ctx1("expected", Value::String(expected)),
        )
    }

    /// `value_error`: a custom check failed with `message`.
    pub fn value_error(loc: Loc, input: Value, message: impl fmt::Display) -> Self {
        let mut ctx = Map::new();
        ctx.insert("error".into(), Value::String(message.to_string()));
        Self::new(
            "value_error",
            loc,
            format!("Value error, {message}"),
            input,
            Some(ctx),
        )
    }

    /// A format check failed: `email` answers like Pydantic's `EmailStr`
    /// (`value_error` with a reason), `uri` like its URL types (`url_parsing`).
    pub fn format_error(loc: Loc, input: Value, format: &str) -> Self {
        match format {
            "uri" | "url" => Self::new(
                "url_parsing",
                loc,
                "Input should be a valid URL, relative URL without a base",
                input,
                ctx1("error", "relative URL without a base".into()),
            ),
            "email" => {
                let text = input.as_str().unwrap_or("");
                let reason = match text.rsplit_once('@') {
                    None => "An email address must have an @-sign.",
                    Some(("", _)) => "There must be something before the @-sign.",
                    Some(_) => "The part after the @-sign is not valid. It should have a period.",
                };
                Self::new(
                    "value_error",
                    loc,
                    format!("value is not a valid email address: {reason}"),
                    input,
                    ctx1("reason", reason.into()),
                )
            }
            other => Self::value_error(loc, input, format_args!("value is not a valid {other}")),
        }
    }
}

/// `'a', 'b' or 'c'`, as Pydantic lists expected values.
pub(crate) fn expected_list(values: &[Value]) -> String {
    let quoted: Vec<String> = values
        .iter()
        .map(|v| match v {
            Value::String(s) => format!("'{s}'"),
            other => other.to_string(),
        })
        .collect();
    match quoted.len() {
        0 => String::new(),
        1 => quoted[0].clone(),
        n => format!("{} or {}", quoted[..n - 1].join(", "), quoted[n - 1]),
    }
}

/// Every bad input of one request, answered as one 422.
///
/// ```
/// use frontdesk::validate::{Loc, Source, ValidationError, ValidationErrors};
/// let mut errors = ValidationErrors::new();
/// errors.push(ValidationError::missing(Loc::new(Source::Query).child("limit"), serde_json::Value::Null));
/// assert_eq!(
///     serde_json::to_string(&errors).unwrap(),
///     r#"{"detail":[{"type":"missing","loc":["query","limit"],"msg":"Field required","input":null}]}"#
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ValidationErrors {
    errors: Vec<ValidationError>,
}

impl ValidationErrors {
    /// An empty list.
    pub fn new() -> Self {
        ValidationErrors::default()
    }

    /// Adds one error.
    pub fn push(&mut self, error: ValidationError) {
        self.errors.push(error);
    }

    /// Adds every error of `other`, keeping their order.
    pub fn extend(&mut self, other: ValidationErrors) {
        self.errors.extend(other.errors);
    }

    /// True when nothing is wrong.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// How many errors there are.
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// The errors, in the order they were found (field order).
    pub fn errors(&self) -> &[ValidationError] {
        &self.errors
    }

    /// Header fields are named with underscores in Rust and hyphens on the wire:
    /// report the wire name, as FastAPI does.
    pub(crate) fn rename_header_locs(&mut self) {
        for error in &mut self.errors {
            if error.loc.source == Source::Header {
                if let Some(LocItem::Key(key)) = error.loc.path.first_mut() {
                    *key = Cow::Owned(key.replace('_', "-"));
                }
            }
        }
    }

    /// Adds each error of `other` that has no twin (same location and type)
    /// here: how the typed check's custom-rule errors join the schema walk's.
    pub(crate) fn add_missing_from(
        &mut self,
        other: &ValidationErrors,
        mut prepare: impl FnMut(&ValidationError) -> ValidationError,
    ) {
        for error in &other.errors {
            let known = self
                .errors
                .iter()
                .any(|e| e.kind == error.kind && e.loc == error.loc);
            if !known {
                self.errors.push(prepare(error));
            }
        }
    }

    /// `Ok(())` when empty, `Err(self)` otherwise.
    pub fn into_result(self) -> Result<(), ValidationErrors> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

impl From<ValidationError> for ValidationErrors {
    fn from(error: ValidationError) -> Self {
        ValidationErrors { errors: vec![error] }
    }
}

impl Serialize for ValidationErrors {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry("detail", &self.errors)?;
        map.end()
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} validation error(s)", self.errors.len())?;
        for e in &self.errors {
            write!(f, "; {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(key: &'static str) -> Loc {
        Loc::new(Source::Body).child(key)
    }

    #[test]
    fn key_order_and_ctx_match_fastapi() {
        let e = ValidationError::less_than_equal(body("n"), json!(11), json!(10));
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"type":"less_than_equal","loc":["body","n"],"msg":"Input should be less than or equal to 10","input":11,"ctx":{"le":10}}"#
        );
    }

    #[test]
    fn float_bounds_print_like_pydantic() {
        let e = ValidationError::greater_than(body("f"), json!(0), json!(0.0));
        assert_eq!(e.msg(), "Input should be greater than 0");
        assert_eq!(e.ctx().unwrap()["gt"], json!(0.0));
        let e = ValidationError::less_than(body("f"), json!(1.0), json!(0.5));
        assert_eq!(e.msg(), "Input should be less than 0.5");
    }

    #[test]
    fn enum_lists_expected_values_like_pydantic() {
        let e = ValidationError::enumeration(body("c"), json!("blue"), &[json!("a"), json!("b"), json!("c")]);
        assert_eq!(e.msg(), "Input should be 'a', 'b' or 'c'");
        assert_eq!(e.ctx().unwrap()["expected"], json!("'a', 'b' or 'c'"));
    }

    #[test]
    fn huge_inputs_are_not_echoed() {
        let long = "x".repeat(10_000);
        let e = ValidationError::string_too_long(body("s"), json!(long), 5);
        assert!(e.input().as_str().unwrap().len() < MAX_ECHOED_INPUT + 8);
        let arr: Vec<Value> = (0..1000).map(|i| json!(i)).collect();
        let e = ValidationError::too_long(body("a"), Value::Array(arr), 5, 1000);
        assert_eq!(e.input(), &json!("[array of 1000 items, not echoed]"));
    }
}
