//! Validate, part two: the constraints declared on a type, checked at the desk.
//!
//! # One declaration
//!
//! A request type is written once:
//!
//! ```
//! use frontdesk::prelude::*;
//!
//! #[derive(Deserialize, JsonSchema, Validate)]
//! struct ChatRequest {
//!     #[validate(length(min = 1, max = 32000))]
//!     prompt: String,
//!     #[validate(range(min = 1, max = 4096))]
//!     max_tokens: u32,
//! }
//! ```
//!
//! The `#[validate(..)]` attributes use the vocabulary of the `validator` crate,
//! which schemars already reads to write the JSON Schema keywords (`minLength`,
//! `maximum`, `pattern`, `format`…). frontdesk's own `Validate` derive reads the
//! same attributes to generate the runtime check, so the check and the document
//! come from one place. We chose our own derive over `validator`/`garde` because
//! neither speaks Pydantic's error vocabulary or knows where a value came from
//! (`body`, `query`…), and because the derive can refuse, at compile time, a rule
//! that schemars would not document (or the reverse).
//!
//! # Two paths
//!
//! Valid input is parsed once, straight into the user's type, then checked by the
//! derived [`Validate`] impl. Only when something is wrong does frontdesk do more
//! work: it parses the input again as a JSON value and walks it against the
//! type's JSON Schema (see [`check_json`]), which finds *every* error — type errors,
//! missing fields and constraint violations together, in field order — with
//! Pydantic's exact `type`, `msg`, `input` and `ctx`. The same walk applies
//! Pydantic's lax coercions (`"5"` → 5), so a request FastAPI accepts is accepted.

use std::fmt;

use serde_json::Value;

mod error;
pub(crate) mod schema_check;

pub use error::{Loc, LocItem, Source, ValidationError, ValidationErrors, MAX_ECHOED_INPUT};

/// How strictly input types are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Coercion {
    /// Pydantic's default ("lax"): `"5"` and `5.0` are read as the integer 5,
    /// `"true"` as a boolean, `"50.5"` as a number. The default, for parity with
    /// FastAPI.
    #[default]
    Lax,
    /// JSON types must match exactly: `"5"` for an integer is `int_type`.
    /// Parameters (path, query, headers) are text by nature and are still parsed.
    Strict,
}

/// A type whose values can be checked against their declared constraints.
///
/// Derive it with `#[derive(Validate)]`; it is implemented for the standard
/// scalar types, strings, `Option`, `Vec`, maps and `serde_json::Value`, which
/// carry no constraints of their own.
pub trait Validate {
    /// Records every constraint this value breaks in `checker`.
    fn validate(&self, checker: &mut Checker);

    /// Adds the JSON Schema keywords for the rules schemars does not write itself
    /// (exclusive bounds, literal patterns) to this type's schema and to the
    /// schemas of the types it contains. `defs` maps schema names to schemas.
    fn extend_schema(_defs: &mut serde_json::Map<String, Value>) {}
}

/// How deep a location can go before the checker's stack spills to the heap.
const INLINE_DEPTH: usize = 4;

/// Collects constraint errors while a value is walked; used by derived
/// [`Validate`] impls.
///
/// Valid input is the common case, so walking it allocates nothing: the
/// current location lives on a small inline stack and becomes a [`Loc`] only
/// when an error is recorded.
#[derive(Debug)]
pub struct Checker {
    source: Source,
    stack: [Option<LocItem>; INLINE_DEPTH],
    depth: usize,
    deeper: Vec<LocItem>,
    errors: ValidationErrors,
}

impl Checker {
    /// A checker for a value from `source`.
    pub fn new(source: Source) -> Self {
        Checker {
            source,
            stack: [const { None }; INLINE_DEPTH],
            depth: 0,
            deeper: Vec::new(),
            errors: ValidationErrors::new(),
        }
    }

    /// Runs `check` one level down, at `key`.
    pub fn at(&mut self, key: impl Into<LocItem>, check: impl FnOnce(&mut Checker)) {
        let key = key.into();
        if self.depth < INLINE_DEPTH {
            self.stack[self.depth] = Some(key);
        } else {
            self.deeper.push(key);
        }
        self.depth += 1;
        check(self);
        self.depth -= 1;
        if self.depth < INLINE_DEPTH {
            self.stack[self.depth] = None;
        } else {
            self.deeper.pop();
        }
    }

    /// The current location.
    pub fn loc(&self) -> Loc {
        let mut loc = Loc::new(self.source);
        for item in self.stack.iter().take(self.depth).flatten() {
            loc.push(item.clone());
        }
        for item in &self.deeper {
            loc.push(item.clone());
        }
        loc
    }

    /// Records an error at the current location.
    pub fn push(&mut self, make: impl FnOnce(Loc) -> ValidationError) {
        let error = make(self.loc());
        self.errors.push(error);
    }

    /// The errors found so far.
    pub fn into_errors(self) -> ValidationErrors {
        self.errors
    }

    /// True when no error was recorded.
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// Checks a string's length in characters, or a list's in items.
    pub fn length<T: HasLength + ?Sized>(&mut self, value: &T, min: Option<u64>, max: Option<u64>) {
        if value.surely_within(min, max) {
            return;
        }
        let len = value.length() as u64;
        if let Some(min) = min.filter(|min| len < *min) {
            let input = value.input();
            self.push(|loc| T::too_short(loc, input, min, len as usize));
        } else if let Some(max) = max.filter(|max| len > *max) {
            let input = value.input();
            self.push(|loc| T::too_long(loc, input, max, len as usize));
        }
    }

    /// Checks a number against inclusive and exclusive bounds, reported as
    /// Pydantic's `ge`/`gt`/`le`/`lt` errors.
    pub fn range<T: Number>(
        &mut self,
        value: &T,
        min: Option<T>,
        max: Option<T>,
        exclusive_min: Option<T>,
        exclusive_max: Option<T>,
    ) {
        let v = value.as_f64();
        // The input is turned into JSON only when a bound is broken.
        if let Some(b) = exclusive_min.filter(|b| v <= b.as_f64()) {
            self.push(|loc| ValidationError::greater_than(loc, value.to_json(), b.to_json()));
        } else if let Some(b) = min.filter(|b| v < b.as_f64()) {
            self.push(|loc| ValidationError::greater_than_equal(loc, value.to_json(), b.to_json()));
        } else if let Some(b) = exclusive_max.filter(|b| v >= b.as_f64()) {
            self.push(|loc| ValidationError::less_than(loc, value.to_json(), b.to_json()));
        } else if let Some(b) = max.filter(|b| v > b.as_f64()) {
            self.push(|loc| ValidationError::less_than_equal(loc, value.to_json(), b.to_json()));
        }
    }

    /// Checks a string against a regular expression.
    pub fn pattern(&mut self, value: &str, regex: &regex::Regex) {
        if !regex.is_match(value) {
            let input = Value::String(value.to_owned());
            self.push(|loc| ValidationError::string_pattern_mismatch(loc, input, regex.as_str()));
        }
    }

    /// Checks a string against a pattern given as text (compiled once, cached).
    pub fn pattern_text(&mut self, value: &str, pattern: &str) {
        if let Some(regex) = schema_check::cached_regex(pattern) {
            if !regex.is_match(value) {
                let input = Value::String(value.to_owned());
                self.push(|loc| ValidationError::string_pattern_mismatch(loc, input, pattern));
            }
        }
    }

    /// Checks that a string contains `needle`.
    pub fn contains(&mut self, value: &str, needle: &str) {
        if !value.contains(needle) {
            let input = Value::String(value.to_owned());
            let pattern = regex::escape(needle);
            self.push(|loc| ValidationError::string_pattern_mismatch(loc, input, &pattern));
        }
    }

    /// Checks a string against a format (`email` or `uri`), as JSON Schema's
    /// `format` keyword names them.
    pub fn format(&mut self, value: &str, format: &'static str) {
        if !schema_check::format_ok(format, value) {
            let input = Value::String(value.to_owned());
            self.push(|loc| ValidationError::format_error(loc, input, format));
        }
    }

    /// Records a custom check's failure as Pydantic's `value_error`.
    pub fn custom<E: fmt::Display>(&mut self, result: Result<(), E>, input: impl FnOnce() -> Value) {
        if let Err(message) = result {
            let input = input();
            self.push(|loc| ValidationError::value_error(loc, input, message));
        }
    }

    /// Validates a nested value in place.
    pub fn nested<T: Validate + ?Sized>(&mut self, value: &T) {
        value.validate(self);
    }
}

/// Something with a length: strings (in characters) and lists (in items).
pub trait HasLength {
    /// The length.
    fn length(&self) -> usize;
    /// True when the bounds surely hold without computing the exact length
    /// (a string's byte length bounds its length in characters).
    fn surely_within(&self, _min: Option<u64>, _max: Option<u64>) -> bool {
        false
    }
    /// The value as an echoed input.
    fn input(&self) -> Value;
    /// The error for a value that is too short.
    fn too_short(loc: Loc, input: Value, min: u64, actual: usize) -> ValidationError;
    /// The error for a value that is too long.
    fn too_long(loc: Loc, input: Value, max: u64, actual: usize) -> ValidationError;
}

impl HasLength for str {
    fn length(&self) -> usize {
        self.chars().count()
    }
    fn surely_within(&self, min: Option<u64>, max: Option<u64>) -> bool {
        // A UTF-8 character takes 1 to 4 bytes.
        let bytes = self.len() as u64;
        min.is_none_or(|min| bytes.div_ceil(4) >= min) && max.is_none_or(|max| bytes <= max)
    }
    fn input(&self) -> Value {
        Value::String(self.to_owned())
    }
    fn too_short(loc: Loc, input: Value, min: u64, _: usize) -> ValidationError {
        ValidationError::string_too_short(loc, input, min)
    }
    fn too_long(loc: Loc, input: Value, max: u64, _: usize) -> ValidationError {
        ValidationError::string_too_long(loc, input, max)
    }
}

impl HasLength for String {
    fn length(&self) -> usize {
        self.as_str().length()
    }
    fn surely_within(&self, min: Option<u64>, max: Option<u64>) -> bool {
        self.as_str().surely_within(min, max)
    }
    fn input(&self) -> Value {
        self.as_str().input()
    }
    fn too_short(loc: Loc, input: Value, min: u64, a: usize) -> ValidationError {
        str::too_short(loc, input, min, a)
    }
    fn too_long(loc: Loc, input: Value, max: u64, a: usize) -> ValidationError {
        str::too_long(loc, input, max, a)
    }
}

impl<T> HasLength for Vec<T> {
    fn length(&self) -> usize {
        self.len()
    }
    fn surely_within(&self, min: Option<u64>, max: Option<u64>) -> bool {
        let len = self.len() as u64;
        min.is_none_or(|min| len >= min) && max.is_none_or(|max| len <= max)
    }
    fn input(&self) -> Value {
        // The slow path re-reads the request and echoes the real list.
        Value::Null
    }
    fn too_short(loc: Loc, input: Value, min: u64, actual: usize) -> ValidationError {
        ValidationError::too_short(loc, input, min, actual)
    }
    fn too_long(loc: Loc, input: Value, max: u64, actual: usize) -> ValidationError {
        ValidationError::too_long(loc, input, max, actual)
    }
}

impl<T: HasLength + ?Sized> HasLength for &T {
    fn length(&self) -> usize {
        (**self).length()
    }
    fn surely_within(&self, min: Option<u64>, max: Option<u64>) -> bool {
        (**self).surely_within(min, max)
    }
    fn input(&self) -> Value {
        (**self).input()
    }
    fn too_short(loc: Loc, input: Value, min: u64, a: usize) -> ValidationError {
        T::too_short(loc, input, min, a)
    }
    fn too_long(loc: Loc, input: Value, max: u64, a: usize) -> ValidationError {
        T::too_long(loc, input, max, a)
    }
}

/// A number that can be range-checked.
pub trait Number: Copy {
    /// The value as a float, for comparison.
    fn as_f64(self) -> f64;
    /// The value as JSON, for `input` and `ctx`.
    fn to_json(self) -> Value;
}

macro_rules! number {
    ($($t:ty),*) => {$(
        impl Number for $t {
            fn as_f64(self) -> f64 { self as f64 }
            fn to_json(self) -> Value { Value::from(self) }
        }
        impl Validate for $t {
            fn validate(&self, _: &mut Checker) {}
        }
    )*};
}
number!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize, f32, f64);

impl<T: Number> Number for &T {
    fn as_f64(self) -> f64 {
        (*self).as_f64()
    }
    fn to_json(self) -> Value {
        (*self).to_json()
    }
}

macro_rules! no_constraints {
    ($($t:ty),*) => {$(
        impl Validate for $t {
            fn validate(&self, _: &mut Checker) {}
        }
    )*};
}
no_constraints!(bool, char, String, str, Value, (), i128, u128);

impl<T: Validate> Validate for Option<T> {
    fn validate(&self, checker: &mut Checker) {
        if let Some(value) = self {
            value.validate(checker);
        }
    }
    fn extend_schema(defs: &mut serde_json::Map<String, Value>) {
        T::extend_schema(defs);
    }
}

impl<T: Validate + ?Sized> Validate for Box<T> {
    fn validate(&self, checker: &mut Checker) {
        (**self).validate(checker);
    }
    fn extend_schema(defs: &mut serde_json::Map<String, Value>) {
        T::extend_schema(defs);
    }
}

impl<T: Validate> Validate for Vec<T> {
    fn validate(&self, checker: &mut Checker) {
        for (i, item) in self.iter().enumerate() {
            checker.at(i, |c| item.validate(c));
        }
    }
    fn extend_schema(defs: &mut serde_json::Map<String, Value>) {
        T::extend_schema(defs);
    }
}

impl<K: ToString, V: Validate, S> Validate for std::collections::HashMap<K, V, S> {
    fn validate(&self, checker: &mut Checker) {
        for (k, v) in self {
            checker.at(k.to_string(), |c| v.validate(c));
        }
    }
    fn extend_schema(defs: &mut serde_json::Map<String, Value>) {
        V::extend_schema(defs);
    }
}

impl<K: ToString, V: Validate> Validate for std::collections::BTreeMap<K, V> {
    fn validate(&self, checker: &mut Checker) {
        for (k, v) in self {
            checker.at(k.to_string(), |c| v.validate(c));
        }
    }
    fn extend_schema(defs: &mut serde_json::Map<String, Value>) {
        V::extend_schema(defs);
    }
}

macro_rules! tuple_validate {
    ($($name:ident $idx:tt),*) => {
        impl<$($name: Validate),*> Validate for ($($name,)*) {
            fn validate(&self, checker: &mut Checker) {
                $( checker.at($idx, |c| self.$idx.validate(c)); )*
            }
        }
    };
}
tuple_validate!(A 0);
tuple_validate!(A 0, B 1);
tuple_validate!(A 0, B 1, C 2);
tuple_validate!(A 0, B 1, C 2, D 3);

/// Checks a JSON value against `T`'s declared contract — its JSON Schema, with
/// every rule of its `#[validate(..)]` attributes — and returns every error, as
/// the slow path of extraction does. Useful to validate data that did not come
/// through a request (a queued job, a config file).
///
/// ```
/// use frontdesk::prelude::*;
/// use frontdesk::validate::{check_json, Source};
///
/// #[derive(Deserialize, JsonSchema, Validate)]
/// struct Item {
///     #[validate(length(min = 3))]
///     name: String,
/// }
///
/// let errors = check_json::<Item>(&serde_json::json!({"name": "ab"}), Source::Body);
/// assert_eq!(errors.errors()[0].kind(), "string_too_short");
/// ```
pub fn check_json<T>(value: &Value, source: Source) -> ValidationErrors
where
    T: schemars::JsonSchema + Validate + 'static,
{
    let schema = schema_check::request_schema::<T>();
    let mut value = value.clone();
    let mode = schema_check::Mode {
        coercion: Coercion::Lax,
        from_text: false,
    };
    schema_check::check(&schema, &mut value, source, mode)
}

/// The JSON Schema frontdesk checks `T` against (request side, with `$defs`).
pub fn request_schema<T>() -> Value
where
    T: schemars::JsonSchema + Validate + 'static,
{
    (*schema_check::request_schema::<T>()).clone()
}

/// Adds JSON Schema keywords to property `field` of the schema named `schema`.
/// Called by derived [`Validate`] impls; not a public API.
#[doc(hidden)]
pub fn __extend_property(
    defs: &mut serde_json::Map<String, Value>,
    schema: &str,
    field: &str,
    keywords: &[(&str, Value)],
) {
    let Some(property) = defs
        .get_mut(schema)
        .and_then(|s| s.get_mut("properties"))
        .and_then(|p| p.get_mut(field))
    else {
        return;
    };
    // `Option<T>` fields may be `anyOf: [T, null]`: extend the non-null branch.
    let target = match property.get_mut("anyOf").and_then(Value::as_array_mut) {
        Some(branches) => branches
            .iter_mut()
            .find(|b| b.get("type").and_then(Value::as_str) != Some("null")),
        None => Some(property),
    };
    if let Some(Value::Object(target)) = target {
        for (k, v) in keywords {
            target.insert((*k).to_owned(), v.clone());
        }
    }
}

/// Runs a nested type's schema extensions, guarding against recursive types.
#[doc(hidden)]
pub fn __extend_nested<T: Validate + ?Sized>(defs: &mut serde_json::Map<String, Value>) {
    thread_local! {
        static DEPTH: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
    }
    let depth = DEPTH.with(|d| d.get());
    if depth > 16 {
        return;
    }
    DEPTH.with(|d| d.set(depth + 1));
    T::extend_schema(defs);
    DEPTH.with(|d| d.set(depth));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_deeper_than_the_inline_stack_are_kept() {
        let mut checker = Checker::new(Source::Body);
        fn dig(checker: &mut Checker, level: usize) {
            if level == 7 {
                checker.length("ab", Some(3), None);
                return;
            }
            checker.at(level, |c| dig(c, level + 1));
        }
        checker.at("root", |c| dig(c, 0));
        checker.at("after", |c| c.length("x", Some(2), None));
        let errors = checker.into_errors();
        let locs: Vec<Value> = errors
            .errors()
            .iter()
            .map(|e| serde_json::to_value(e.loc()).unwrap())
            .collect();
        assert_eq!(
            locs,
            [
                serde_json::json!(["body", "root", 0, 1, 2, 3, 4, 5, 6]),
                serde_json::json!(["body", "after"])
            ]
        );
    }

    #[test]
    fn byte_counts_decide_lengths_without_counting_characters_when_they_can() {
        assert!("abcd".surely_within(Some(1), Some(4)));
        assert!(
            !"abcd".surely_within(Some(2), None),
            "4 bytes may be one character"
        );
        let mut checker = Checker::new(Source::Body);
        checker.length("éé", Some(2), Some(2));
        assert!(checker.is_ok(), "two characters in four bytes");
        checker.length("ééé", None, Some(2));
        assert_eq!(checker.into_errors().errors()[0].kind(), "string_too_long");
    }
}
