//! A serde deserializer over string parameters (path, query, headers): the fast
//! path of their extraction, straight from the request's strings into the
//! user's type.
//!
//! A struct reads one value per field (the last one when a key repeats, as
//! FastAPI does) or every value for a `Vec` field; a single value or a tuple reads
//! parameters by position. Numbers, booleans and enums are parsed from text with
//! Pydantic's lax rules, and a failure records which key and which kind of value
//! it was, so the 422 names it exactly.

use std::fmt;

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};
use serde_json::Value;

use crate::validate::{Loc, Source, ValidationError};

/// What went wrong while reading a parameter.
#[derive(Debug)]
pub(crate) struct ParamError {
    kind: ParamErrorKind,
    key: Option<String>,
    index: Option<usize>,
    input: Option<String>,
}

#[derive(Debug)]
enum ParamErrorKind {
    Int,
    Float,
    Bool,
    NotFinite,
    Enum(Vec<Value>),
    Missing(String),
    Unknown(String),
    Custom(String),
}

impl ParamError {
    fn new(kind: ParamErrorKind, input: &str) -> Self {
        ParamError {
            kind,
            key: None,
            index: None,
            input: Some(input.to_owned()),
        }
    }

    fn at_key(mut self, key: &str) -> Self {
        if self.key.is_none() {
            self.key = Some(key.to_owned());
        }
        self
    }

    fn at_index(mut self, index: usize) -> Self {
        if self.index.is_none() {
            self.index = Some(index);
        }
        self
    }

    /// The Pydantic error this failure corresponds to.
    pub(crate) fn into_validation_error(self, source: Source) -> ValidationError {
        let mut loc = Loc::new(source);
        let input = self.input.map_or(Value::Null, Value::String);
        let key_loc = |loc: &mut Loc, key: Option<String>, index: Option<usize>| {
            if let Some(key) = key {
                loc.push(key);
            }
            if let Some(index) = index {
                loc.push(index);
            }
        };
        match self.kind {
            ParamErrorKind::Missing(field) => {
                loc.push(field);
                ValidationError::missing(loc, Value::Null)
            }
            ParamErrorKind::Unknown(field) => {
                loc.push(field);
                ValidationError::extra_forbidden(loc, input)
            }
            kind => {
                key_loc(&mut loc, self.key, self.index);
                match kind {
                    ParamErrorKind::Int => ValidationError::int_parsing(loc, input),
                    ParamErrorKind::Float => ValidationError::float_parsing(loc, input),
                    ParamErrorKind::Bool => ValidationError::bool_parsing(loc, input),
                    ParamErrorKind::NotFinite => ValidationError::finite_number(loc, input),
                    ParamErrorKind::Enum(expected) => ValidationError::enumeration(loc, input, &expected),
                    ParamErrorKind::Custom(message) => ValidationError::value_error(loc, input, message),
                    ParamErrorKind::Missing(_) | ParamErrorKind::Unknown(_) => {
                        unreachable!("handled above")
                    }
                }
            }
        }
    }
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.kind)
    }
}

impl std::error::Error for ParamError {}

impl de::Error for ParamError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ParamError {
            kind: ParamErrorKind::Custom(msg.to_string()),
            key: None,
            index: None,
            input: None,
        }
    }

    fn missing_field(field: &'static str) -> Self {
        ParamError {
            kind: ParamErrorKind::Missing(field.to_owned()),
            key: None,
            index: None,
            input: None,
        }
    }

    fn unknown_field(field: &str, _expected: &'static [&'static str]) -> Self {
        ParamError {
            kind: ParamErrorKind::Unknown(field.to_owned()),
            key: None,
            index: None,
            input: None,
        }
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        ParamError {
            kind: ParamErrorKind::Enum(expected.iter().map(|v| Value::String((*v).to_owned())).collect()),
            key: None,
            index: None,
            input: Some(variant.to_owned()),
        }
    }
}

/// Parses an integer the way Pydantic's lax mode reads one from text: surrounding
/// whitespace is allowed, and so is a float text with no fractional part.
pub(crate) fn parse_int<T: std::str::FromStr + TryFrom<i128>>(text: &str) -> Option<T> {
    let trimmed = text.trim();
    if let Ok(v) = trimmed.parse::<T>() {
        return Some(v);
    }
    let wide = trimmed
        .strip_suffix(".0")
        .unwrap_or(trimmed)
        .parse::<i128>()
        .ok()?;
    T::try_from(wide).ok()
}

/// Pydantic's lax booleans.
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "t" | "yes" | "y" | "on" => Some(true),
        "0" | "false" | "f" | "no" | "n" | "off" => Some(false),
        _ => None,
    }
}

/// A float from text; NaN and infinities are refused (they cannot be answered in JSON).
pub(crate) fn parse_float(text: &str) -> Result<f64, FloatError> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(FloatError::NotFinite),
        Err(_) => Err(FloatError::Invalid),
    }
}

/// Why a float could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FloatError {
    Invalid,
    NotFinite,
}

/// One parameter's text values (several when a query key repeats).
pub(crate) struct ValueDeserializer<'a> {
    values: &'a [&'a str],
}

impl<'a> ValueDeserializer<'a> {
    pub(crate) fn new(values: &'a [&'a str]) -> Self {
        ValueDeserializer { values }
    }

    fn last(&self) -> &'a str {
        self.values.last().copied().unwrap_or("")
    }
}

macro_rules! deserialize_int {
    ($($method:ident => $ty:ty, $visit:ident;)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
            let text = self.last();
            match parse_int::<$ty>(text) {
                Some(v) => visitor.$visit(v),
                None => Err(ParamError::new(ParamErrorKind::Int, text)),
            }
        }
    )*};
}

impl<'de> de::Deserializer<'de> for ValueDeserializer<'de> {
    type Error = ParamError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_borrowed_str(self.last())
    }

    deserialize_int! {
        deserialize_i8 => i8, visit_i8;
        deserialize_i16 => i16, visit_i16;
        deserialize_i32 => i32, visit_i32;
        deserialize_i64 => i64, visit_i64;
        deserialize_i128 => i128, visit_i128;
        deserialize_u8 => u8, visit_u8;
        deserialize_u16 => u16, visit_u16;
        deserialize_u32 => u32, visit_u32;
        deserialize_u64 => u64, visit_u64;
        deserialize_u128 => u128, visit_u128;
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        let text = self.last();
        match parse_float(text) {
            Ok(v) => visitor.visit_f64(v),
            Err(FloatError::NotFinite) => Err(ParamError::new(ParamErrorKind::NotFinite, text)),
            Err(FloatError::Invalid) => Err(ParamError::new(ParamErrorKind::Float, text)),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        let text = self.last();
        match parse_bool(text) {
            Some(v) => visitor.visit_bool(v),
            None => Err(ParamError::new(ParamErrorKind::Bool, text)),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        if self.values.is_empty() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_seq(SeqOfValues {
            values: self.values,
            index: 0,
        })
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, ParamError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        let text = self.last();
        visitor
            .visit_enum(text.into_deserializer())
            .map_err(|e: ParamError| match e.input {
                None => ParamError {
                    input: Some(text.to_owned()),
                    ..e
                },
                Some(_) => e,
            })
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        char str string bytes byte_buf unit_struct tuple_struct map struct identifier ignored_any
    }
}

struct SeqOfValues<'a> {
    values: &'a [&'a str],
    index: usize,
}

impl<'de> de::SeqAccess<'de> for SeqOfValues<'de> {
    type Error = ParamError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ParamError> {
        let Some(value) = self.values.get(self.index..=self.index) else {
            return Ok(None);
        };
        let index = self.index;
        self.index += 1;
        seed.deserialize(ValueDeserializer::new(value))
            .map(Some)
            .map_err(|e| e.at_index(index))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.values.len() - self.index)
    }
}

/// Named parameters, grouped by key in order of first appearance.
pub(crate) struct ParamsDeserializer<'a> {
    groups: &'a [(&'a str, Vec<&'a str>)],
}

impl<'a> ParamsDeserializer<'a> {
    pub(crate) fn new(groups: &'a [(&'a str, Vec<&'a str>)]) -> Self {
        ParamsDeserializer { groups }
    }
}

/// Groups `(key, value)` pairs by key, keeping the order of first appearance.
pub(crate) fn group<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<(&'a str, Vec<&'a str>)> {
    let mut groups: Vec<(&'a str, Vec<&'a str>)> = Vec::new();
    for (key, value) in pairs {
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, values)) => values.push(value),
            None => groups.push((key, vec![value])),
        }
    }
    groups
}

macro_rules! forward_single {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
            match self.groups {
                [(key, values)] => ValueDeserializer::new(values).$method(visitor).map_err(|e| e.at_key(key)),
                _ => Err(de::Error::custom(format_args!("expected exactly one parameter, found {}", self.groups.len()))),
            }
        }
    )*};
}

impl<'de> de::Deserializer<'de> for ParamsDeserializer<'de> {
    type Error = ParamError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_map(MapOfParams {
            groups: self.groups,
            index: 0,
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_seq(SeqOfParams {
            groups: self.groups,
            index: 0,
        })
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, ParamError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_unit()
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        match self.groups {
            [(key, values)] => ValueDeserializer::new(values)
                .deserialize_enum(name, variants, visitor)
                .map_err(|e| e.at_key(key)),
            _ => Err(de::Error::custom(format_args!(
                "expected exactly one parameter, found {}",
                self.groups.len()
            ))),
        }
    }

    forward_single! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64 deserialize_char deserialize_str deserialize_string
        deserialize_bytes deserialize_byte_buf deserialize_option
    }

    serde::forward_to_deserialize_any! {
        unit_struct identifier
    }
}

struct MapOfParams<'a> {
    groups: &'a [(&'a str, Vec<&'a str>)],
    index: usize,
}

impl<'de> de::MapAccess<'de> for MapOfParams<'de> {
    type Error = ParamError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, ParamError> {
        match self.groups.get(self.index) {
            Some((key, values)) => seed
                .deserialize(de::value::BorrowedStrDeserializer::<ParamError>::new(key))
                .map(Some)
                .map_err(|mut e| {
                    if e.input.is_none() {
                        e.input = values.last().map(|v| (*v).to_owned());
                    }
                    e
                }),
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, ParamError> {
        let (key, values) = &self.groups[self.index];
        self.index += 1;
        seed.deserialize(ValueDeserializer::new(values))
            .map_err(|e| e.at_key(key))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.groups.len() - self.index)
    }
}

struct SeqOfParams<'a> {
    groups: &'a [(&'a str, Vec<&'a str>)],
    index: usize,
}

impl<'de> de::SeqAccess<'de> for SeqOfParams<'de> {
    type Error = ParamError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ParamError> {
        let Some((key, values)) = self.groups.get(self.index) else {
            return Ok(None);
        };
        self.index += 1;
        seed.deserialize(ValueDeserializer::new(values))
            .map(Some)
            .map_err(|e| e.at_key(key))
    }
}

/// Reads `T` from named text parameters: the typed fast path first, then, only on
/// failure, the schema walk that names every bad parameter.
pub(crate) fn extract_params<T>(
    source: Source,
    groups: &[(&str, Vec<&str>)],
) -> Result<T, crate::validate::ValidationErrors>
where
    T: serde::de::DeserializeOwned + schemars::JsonSchema + crate::validate::Validate + 'static,
{
    use crate::validate::{schema_check, Checker, Coercion};
    let first = match T::deserialize(ParamsDeserializer::new(groups)) {
        Ok(value) => {
            let mut checker = Checker::new(source);
            value.validate(&mut checker);
            if checker.is_ok() {
                return Ok(value);
            }
            Err(checker.into_errors())
        }
        Err(error) => Ok(error),
    };
    // Slow path: walk the parameters against the schema to find every error.
    let schema = schema_check::request_schema::<T>();
    let mode = schema_check::Mode {
        coercion: Coercion::Lax,
        from_text: true,
    };
    let text =
        |values: &Vec<&str>| Value::Array(values.iter().map(|v| Value::String((*v).to_owned())).collect());
    let mut errors = if super::super::validate::schema_check::is_object(&schema) {
        let mut object = serde_json::Map::new();
        for (key, values) in groups {
            object.insert((*key).to_owned(), text(values));
        }
        let mut value = Value::Object(object);
        schema_check::check(&schema, &mut value, source, mode)
    } else if let Some(items) = schema.get("prefixItems").and_then(Value::as_array) {
        let mut all = crate::validate::ValidationErrors::new();
        for ((key, values), item) in groups.iter().zip(items) {
            let mut value = text(values);
            all.extend(schema_check::check_at(
                &schema,
                item,
                &mut value,
                Loc::new(source).child((*key).to_owned()),
                mode,
            ));
        }
        all
    } else if let [(key, values)] = groups {
        let mut value = text(values);
        schema_check::check_at(
            &schema,
            &schema,
            &mut value,
            Loc::new(source).child((*key).to_owned()),
            mode,
        )
    } else {
        crate::validate::ValidationErrors::new()
    };
    match first {
        // Constraint failures from the typed check: keep custom checks' errors,
        // which no schema can express.
        Err(typed) => errors.add_missing_from(&typed, Clone::clone),
        Ok(param_error) => {
            if errors.is_empty() {
                errors.push(param_error.into_validation_error(source));
            }
        }
    }
    Err(errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    fn parse<T: for<'de> Deserialize<'de>>(pairs: &[(&str, &str)]) -> Result<T, Box<ValidationError>> {
        let groups = group(pairs.iter().copied());
        T::deserialize(ParamsDeserializer::new(&groups))
            .map_err(|e| Box::new(e.into_validation_error(Source::Query)))
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Q {
        limit: u32,
        #[serde(default)]
        tags: Vec<String>,
        flag: Option<bool>,
    }

    #[test]
    fn reads_struct_with_repeated_keys_and_options() {
        let q: Q = parse(&[("limit", "5"), ("tags", "a"), ("tags", "b"), ("flag", "yes")]).unwrap();
        assert_eq!(
            q,
            Q {
                limit: 5,
                tags: vec!["a".into(), "b".into()],
                flag: Some(true)
            }
        );
    }

    #[test]
    fn last_value_wins_for_scalars() {
        let q: Q = parse(&[("limit", "1"), ("limit", "2")]).unwrap();
        assert_eq!(q.limit, 2);
    }

    #[test]
    fn bad_integer_is_int_parsing_at_its_key() {
        let err = parse::<Q>(&[("limit", "abc")]).unwrap_err();
        assert_eq!(
            serde_json::to_string(&err).unwrap(),
            r#"{"type":"int_parsing","loc":["query","limit"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"abc"}"#
        );
    }

    #[test]
    fn missing_field_is_missing() {
        let err = parse::<Q>(&[]).unwrap_err();
        assert_eq!(err.kind(), "missing");
        assert_eq!(
            serde_json::to_value(err.loc()).unwrap(),
            serde_json::json!(["query", "limit"])
        );
    }

    #[test]
    fn single_and_tuple_values() {
        let groups = group([("id", "7")].into_iter());
        let v: u64 = u64::deserialize(ParamsDeserializer::new(&groups)).unwrap();
        assert_eq!(v, 7);
        let groups = group([("a", "x"), ("b", "2")].into_iter());
        let v: (String, i8) = <(String, i8)>::deserialize(ParamsDeserializer::new(&groups)).unwrap();
        assert_eq!(v, ("x".to_owned(), 2));
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Color {
        Red,
        Green,
    }

    #[derive(Debug, Deserialize)]
    struct WithEnum {
        #[allow(dead_code)]
        color: Color,
    }

    #[test]
    fn enum_errors_list_expected_values() {
        let err = parse::<WithEnum>(&[("color", "blue")]).unwrap_err();
        assert_eq!(err.kind(), "enum");
        assert_eq!(err.msg(), "Input should be 'red' or 'green'");
        assert_eq!(err.input(), &serde_json::json!("blue"));
    }
}
