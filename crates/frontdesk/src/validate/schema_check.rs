//! The slow path: walks a JSON value against its type's JSON Schema and reports
//! every error in Pydantic's words.
//!
//! It runs only when the fast, typed parse failed or a constraint was broken, so
//! it may allocate freely. The schema is the one schemars writes for the type —
//! the same document published in `/openapi.json` — so the errors and the docs
//! cannot disagree. In lax mode the walk also rewrites the value the way Pydantic
//! coerces it (`"5"` → `5`), after which the typed parse is tried again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Map, Value};

use super::error::Loc;
use super::{Coercion, Source, ValidationError, ValidationErrors};

/// How the walk reads values.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mode {
    /// Lax or strict typing for JSON values.
    pub(crate) coercion: Coercion,
    /// Values are text (path, query, headers): always parsed, never typed.
    pub(crate) from_text: bool,
}

/// Walks `value` against `root` (a schema with its `$defs`), coercing it in
/// place where the mode allows, and returns every error found.
pub(crate) fn check(root: &Value, value: &mut Value, source: Source, mode: Mode) -> ValidationErrors {
    let mut walker = Walker {
        root,
        mode,
        errors: ValidationErrors::new(),
    };
    let mut loc = Loc::new(source);
    walker.walk(root, value, &mut loc, true);
    walker.errors
}

/// Walks one named value (a lone path parameter, say) against `schema`.
pub(crate) fn check_at(
    root: &Value,
    schema: &Value,
    value: &mut Value,
    loc: Loc,
    mode: Mode,
) -> ValidationErrors {
    let mut walker = Walker {
        root,
        mode,
        errors: ValidationErrors::new(),
    };
    let mut loc = loc;
    walker.walk(schema, value, &mut loc, false);
    walker.errors
}

struct Walker<'a> {
    root: &'a Value,
    mode: Mode,
    errors: ValidationErrors,
}

fn type_list(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => {
            if schema.get("properties").is_some() {
                vec!["object"]
            } else {
                Vec::new()
            }
        }
    }
}

impl<'a> Walker<'a> {
    fn resolve(&self, schema: &'a Value) -> &'a Value {
        let mut current = schema;
        for _ in 0..32 {
            let Some(reference) = current.get("$ref").and_then(Value::as_str) else {
                return current;
            };
            let name = reference
                .strip_prefix("#/$defs/")
                .or_else(|| reference.strip_prefix("#/components/schemas/"))
                .or_else(|| reference.strip_prefix("#/definitions/"));
            let target = name.and_then(|n| {
                self.root
                    .get("$defs")
                    .or_else(|| self.root.get("definitions"))
                    .and_then(|d| d.get(n))
            });
            match target {
                Some(t) => current = t,
                None => return &Value::Bool(true),
            }
        }
        current
    }

    fn walk(&mut self, schema: &'a Value, value: &mut Value, loc: &mut Loc, is_root: bool) {
        let schema = self.resolve(schema);
        let Value::Object(_) = schema else {
            return; // `true` accepts anything; `false` never appears in request schemas.
        };
        if self.mode.from_text && !self.accepts_array(schema) {
            // A repeated query key, read as a scalar: the last value wins.
            if let Value::Array(items) = value {
                if let Some(last) = items.pop() {
                    *value = last;
                }
            }
        }
        if let Some(branches) = schema
            .get("anyOf")
            .or_else(|| schema.get("oneOf"))
            .and_then(Value::as_array)
        {
            self.union(branches, value, loc, is_root);
            return;
        }
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
            self.enumeration(allowed, value, loc);
            return;
        }
        if let Some(constant) = schema.get("const") {
            self.enumeration(std::slice::from_ref(constant), value, loc);
            return;
        }
        let types = type_list(schema);
        if types.is_empty() {
            return;
        }
        if value.is_null() && types.contains(&"null") {
            return;
        }
        if self.mode.from_text && types.contains(&"null") && value.is_null() {
            return;
        }
        let kind = types.iter().copied().find(|t| *t != "null").unwrap_or("null");
        match kind {
            "object" => self.object(schema, value, loc, is_root),
            "array" => self.array(schema, value, loc),
            "string" => self.string(schema, value, loc),
            "integer" => self.integer(schema, value, loc),
            "number" => self.number(schema, value, loc),
            "boolean" => self.boolean(value, loc),
            "null" if !value.is_null() => {
                let input = value.clone();
                self.errors.push(ValidationError::new(
                    "none_required",
                    loc.clone(),
                    "Input should be None",
                    input,
                    None,
                ));
            }
            _ => {}
        }
    }

    fn accepts_array(&self, schema: &'a Value) -> bool {
        if type_list(schema).contains(&"array") {
            return true;
        }
        schema
            .get("anyOf")
            .or_else(|| schema.get("oneOf"))
            .and_then(Value::as_array)
            .is_some_and(|branches| {
                branches
                    .iter()
                    .any(|b| type_list(self.resolve(b)).contains(&"array"))
            })
    }

    fn union(&mut self, branches: &'a [Value], value: &mut Value, loc: &mut Loc, is_root: bool) {
        let resolved: Vec<&Value> = branches.iter().map(|b| self.resolve(b)).collect();
        // A union of constants is an enum with documented variants.
        let constants: Option<Vec<Value>> = resolved
            .iter()
            .map(|b| {
                b.get("const")
                    .cloned()
                    .map(|c| vec![c])
                    .or_else(|| b.get("enum").and_then(Value::as_array).cloned())
            })
            .collect::<Option<Vec<_>>>()
            .map(|v| v.into_iter().flatten().collect());
        if let Some(allowed) = constants {
            self.enumeration(&allowed, value, loc);
            return;
        }
        if value.is_null() && resolved.iter().any(|b| type_list(b) == ["null"]) {
            return;
        }
        let mut first_failure: Option<(ValidationErrors, bool)> = None;
        for branch in branches {
            let mut trial = Walker {
                root: self.root,
                mode: self.mode,
                errors: ValidationErrors::new(),
            };
            let mut candidate = value.clone();
            trial.walk(branch, &mut candidate, loc, is_root);
            if trial.errors.is_empty() {
                *value = candidate;
                return;
            }
            let is_null_branch = type_list(self.resolve(branch)) == ["null"];
            let matches_shape = self.same_shape(self.resolve(branch), value);
            let better = match &first_failure {
                None => true,
                Some((_, had_shape)) => matches_shape && !had_shape,
            };
            if better && !is_null_branch {
                first_failure = Some((trial.errors, matches_shape));
            }
        }
        if let Some((errors, _)) = first_failure {
            self.errors.extend(errors);
        }
    }

    fn same_shape(&self, schema: &Value, value: &Value) -> bool {
        let types = type_list(schema);
        match value {
            Value::Object(_) => types.contains(&"object"),
            Value::Array(_) => types.contains(&"array"),
            Value::String(_) => types.contains(&"string"),
            Value::Number(_) => types.contains(&"number") || types.contains(&"integer"),
            Value::Bool(_) => types.contains(&"boolean"),
            Value::Null => types.contains(&"null"),
        }
    }

    fn enumeration(&mut self, allowed: &[Value], value: &mut Value, loc: &mut Loc) {
        if allowed.contains(value) {
            return;
        }
        if self.mode.from_text || self.mode.coercion == Coercion::Lax {
            if let Value::String(text) = value {
                // Text parameters name numeric or boolean members by their text.
                if let Some(member) = allowed.iter().find(|a| match a {
                    Value::Number(n) => n.to_string() == *text,
                    Value::Bool(b) => b.to_string() == *text,
                    _ => false,
                }) {
                    *value = member.clone();
                    return;
                }
            }
        }
        let input = value.clone();
        if allowed.len() == 1 {
            let expected = super::error::expected_list(allowed);
            let mut ctx = Map::new();
            ctx.insert("expected".into(), Value::String(expected.clone()));
            self.errors.push(ValidationError::new(
                "literal_error",
                loc.clone(),
                format!("Input should be {expected}"),
                input,
                Some(ctx),
            ));
        } else {
            self.errors
                .push(ValidationError::enumeration(loc.clone(), input, allowed));
        }
    }

    fn object(&mut self, schema: &'a Value, value: &mut Value, loc: &mut Loc, is_root: bool) {
        let properties = schema.get("properties").and_then(Value::as_object);
        let Value::Object(map) = value else {
            let input = value.clone();
            let error = if is_root && loc.source() == Source::Body {
                ValidationError::model_attributes_type(loc.clone(), input)
            } else if properties.is_some() {
                let title = schema.get("title").and_then(Value::as_str).unwrap_or("object");
                let mut ctx = Map::new();
                ctx.insert("class_name".into(), Value::String(title.to_owned()));
                ValidationError::new(
                    "model_type",
                    loc.clone(),
                    format!("Input should be a valid dictionary or instance of {title}"),
                    input,
                    Some(ctx),
                )
            } else {
                ValidationError::dict_type(loc.clone(), input)
            };
            self.errors.push(error);
            return;
        };
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if let Some(properties) = properties {
            for (name, property) in properties {
                match map.get_mut(name) {
                    Some(field) => {
                        loc.push(name.clone());
                        self.walk(property, field, loc, false);
                        loc.pop();
                    }
                    None if required.contains(&name.as_str()) => {
                        let enclosing = if self.mode.from_text {
                            Value::Null
                        } else {
                            Value::Object(map.clone())
                        };
                        self.errors
                            .push(ValidationError::missing(loc.child(name.clone()), enclosing));
                    }
                    None => {}
                }
            }
        }
        match schema.get("additionalProperties") {
            Some(Value::Bool(false)) => {
                for (key, extra) in map.iter() {
                    if properties.is_some_and(|p| p.contains_key(key)) {
                        continue;
                    }
                    let input = if self.mode.from_text {
                        last_text(extra)
                    } else {
                        extra.clone()
                    };
                    self.errors
                        .push(ValidationError::extra_forbidden(loc.child(key.clone()), input));
                }
            }
            Some(extra_schema @ Value::Object(_)) => {
                for (key, extra) in map.iter_mut() {
                    if properties.is_some_and(|p| p.contains_key(key)) {
                        continue;
                    }
                    loc.push(key.clone());
                    self.walk(extra_schema, extra, loc, false);
                    loc.pop();
                }
            }
            _ => {}
        }
    }

    fn array(&mut self, schema: &'a Value, value: &mut Value, loc: &mut Loc) {
        if self.mode.from_text {
            if let Value::String(_) = value {
                *value = Value::Array(vec![value.take()]);
            }
        }
        let Value::Array(items) = value else {
            let input = value.clone();
            self.errors.push(ValidationError::list_type(loc.clone(), input));
            return;
        };
        if let Some(prefix) = schema.get("prefixItems").and_then(Value::as_array) {
            for (i, (item, item_schema)) in items.iter_mut().zip(prefix).enumerate() {
                loc.push(i);
                self.walk(item_schema, item, loc, false);
                loc.pop();
            }
        } else if let Some(item_schema) = schema.get("items") {
            for (i, item) in items.iter_mut().enumerate() {
                loc.push(i);
                self.walk(item_schema, item, loc, false);
                loc.pop();
            }
        }
        let len = items.len();
        if let Some(min) = schema.get("minItems").and_then(Value::as_u64) {
            if (len as u64) < min {
                let input = value.clone();
                self.errors
                    .push(ValidationError::too_short(loc.clone(), input, min, len));
                return;
            }
        }
        if let Some(max) = schema.get("maxItems").and_then(Value::as_u64) {
            if len as u64 > max {
                let input = value.clone();
                self.errors
                    .push(ValidationError::too_long(loc.clone(), input, max, len));
            }
        }
    }

    fn string(&mut self, schema: &'a Value, value: &mut Value, loc: &mut Loc) {
        let Value::String(text) = value else {
            let input = value.clone();
            self.errors.push(ValidationError::string_type(loc.clone(), input));
            return;
        };
        let len = text.chars().count() as u64;
        if let Some(min) = schema.get("minLength").and_then(Value::as_u64) {
            if len < min {
                let input = value.clone();
                self.errors
                    .push(ValidationError::string_too_short(loc.clone(), input, min));
                return;
            }
        }
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64) {
            if len > max {
                let input = value.clone();
                self.errors
                    .push(ValidationError::string_too_long(loc.clone(), input, max));
                return;
            }
        }
        if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
            if let Some(regex) = cached_regex(pattern) {
                if !regex.is_match(text) {
                    let input = value.clone();
                    self.errors.push(ValidationError::string_pattern_mismatch(
                        loc.clone(),
                        input,
                        pattern,
                    ));
                    return;
                }
            }
        }
        if let Some(format) = schema.get("format").and_then(Value::as_str) {
            if !format_ok(format, text) {
                let input = value.clone();
                self.errors
                    .push(ValidationError::format_error(loc.clone(), input, format));
            }
        }
    }

    fn lax_text(&self) -> bool {
        self.mode.from_text || self.mode.coercion == Coercion::Lax
    }

    fn integer(&mut self, schema: &'a Value, value: &mut Value, loc: &mut Loc) {
        let input = value.clone();
        let parsed: Option<f64> = match &*value {
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Some(i as f64)
                } else if let Some(u) = n.as_u64() {
                    Some(u as f64)
                } else {
                    let f = n.as_f64().unwrap_or(f64::NAN);
                    if f.fract() != 0.0 {
                        self.errors
                            .push(ValidationError::int_from_float(loc.clone(), input));
                        return;
                    }
                    if self.mode.coercion == Coercion::Strict {
                        self.errors.push(ValidationError::int_type(loc.clone(), input));
                        return;
                    }
                    Some(f)
                }
            }
            Value::String(text) if self.lax_text() => {
                match super::super::extract::params::parse_int::<i128>(text) {
                    Some(i) => Some(i as f64),
                    None => {
                        let trimmed = text.trim();
                        let is_fraction = trimmed
                            .parse::<f64>()
                            .is_ok_and(|f| f.is_finite() && f.fract() != 0.0);
                        if is_fraction {
                            self.errors
                                .push(ValidationError::int_from_float(loc.clone(), input));
                        } else {
                            self.errors.push(ValidationError::int_parsing(loc.clone(), input));
                        }
                        return;
                    }
                }
            }
            Value::Bool(b) if self.mode.coercion == Coercion::Lax && !self.mode.from_text => {
                Some(if *b { 1.0 } else { 0.0 })
            }
            _ => {
                self.errors.push(ValidationError::int_type(loc.clone(), input));
                return;
            }
        };
        let Some(v) = parsed else { return };
        if let Value::String(text) = &*value {
            if let Some(i) = super::super::extract::params::parse_int::<i64>(text) {
                *value = Value::from(i);
            } else if let Some(u) = super::super::extract::params::parse_int::<u64>(text) {
                *value = Value::from(u);
            }
        } else if let Value::Bool(b) = &*value {
            *value = Value::from(i64::from(*b));
        } else if value.as_i64().is_none() && value.as_u64().is_none() {
            *value = Value::from(v as i64);
        }
        self.bounds(schema, v, input, loc, true);
    }

    fn number(&mut self, schema: &'a Value, value: &mut Value, loc: &mut Loc) {
        let input = value.clone();
        let v = match &*value {
            Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
            Value::String(text) if self.lax_text() => {
                match super::super::extract::params::parse_float(text) {
                    Ok(v) => {
                        *value = serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number);
                        v
                    }
                    Err(super::super::extract::params::FloatError::NotFinite) => {
                        self.errors
                            .push(ValidationError::finite_number(loc.clone(), input));
                        return;
                    }
                    Err(super::super::extract::params::FloatError::Invalid) => {
                        self.errors
                            .push(ValidationError::float_parsing(loc.clone(), input));
                        return;
                    }
                }
            }
            Value::Bool(b) if self.mode.coercion == Coercion::Lax && !self.mode.from_text => {
                let v = if *b { 1.0 } else { 0.0 };
                *value = Value::from(v);
                v
            }
            _ => {
                self.errors.push(ValidationError::float_type(loc.clone(), input));
                return;
            }
        };
        self.bounds(schema, v, input, loc, false);
    }

    fn bounds(&mut self, schema: &Value, v: f64, input: Value, loc: &mut Loc, integer: bool) {
        let input = match (&input, integer) {
            (Value::String(_), _) => input,
            _ => input,
        };
        let get = |k: &str| schema.get(k).filter(|b| b.is_number());
        if let Some(b) = get("exclusiveMinimum").filter(|b| v <= b.as_f64().unwrap_or(f64::MIN)) {
            self.errors
                .push(ValidationError::greater_than(loc.clone(), input, b.clone()));
        } else if let Some(b) = get("minimum").filter(|b| v < b.as_f64().unwrap_or(f64::MIN)) {
            self.errors
                .push(ValidationError::greater_than_equal(loc.clone(), input, b.clone()));
        } else if let Some(b) = get("exclusiveMaximum").filter(|b| v >= b.as_f64().unwrap_or(f64::MAX)) {
            self.errors
                .push(ValidationError::less_than(loc.clone(), input, b.clone()));
        } else if let Some(b) = get("maximum").filter(|b| v > b.as_f64().unwrap_or(f64::MAX)) {
            self.errors
                .push(ValidationError::less_than_equal(loc.clone(), input, b.clone()));
        } else if integer {
            if let Some((lo, hi)) = schema
                .get("format")
                .and_then(Value::as_str)
                .and_then(int_format_range)
            {
                if v < lo {
                    self.errors.push(ValidationError::greater_than_equal(
                        loc.clone(),
                        input,
                        Value::from(lo as i64),
                    ));
                } else if v > hi {
                    self.errors.push(ValidationError::less_than_equal(
                        loc.clone(),
                        input,
                        int_bound(hi),
                    ));
                }
            }
        }
    }

    fn boolean(&mut self, value: &mut Value, loc: &mut Loc) {
        let input = value.clone();
        match &*value {
            Value::Bool(_) => {}
            Value::String(text) if self.lax_text() => match super::super::extract::params::parse_bool(text) {
                Some(b) => *value = Value::Bool(b),
                None => self
                    .errors
                    .push(ValidationError::bool_parsing(loc.clone(), input)),
            },
            Value::Number(n) if self.mode.coercion == Coercion::Lax && !self.mode.from_text => {
                match n.as_i64() {
                    Some(0) => *value = Value::Bool(false),
                    Some(1) => *value = Value::Bool(true),
                    _ => self
                        .errors
                        .push(ValidationError::bool_parsing(loc.clone(), input)),
                }
            }
            _ => self.errors.push(ValidationError::bool_type(loc.clone(), input)),
        }
    }
}

/// Whether a schema (after `$ref`s) describes an object.
pub(crate) fn is_object(root: &Value) -> bool {
    let walker = Walker {
        root,
        mode: Mode {
            coercion: Coercion::Lax,
            from_text: true,
        },
        errors: ValidationErrors::new(),
    };
    type_list(walker.resolve(root)).contains(&"object")
}

fn int_bound(v: f64) -> Value {
    if v >= u64::MAX as f64 {
        Value::from(u64::MAX)
    } else {
        Value::from(v as i64)
    }
}

fn int_format_range(format: &str) -> Option<(f64, f64)> {
    Some(match format {
        "int8" => (i8::MIN as f64, i8::MAX as f64),
        "int16" => (i16::MIN as f64, i16::MAX as f64),
        "int32" => (i32::MIN as f64, i32::MAX as f64),
        "int64" => (i64::MIN as f64, i64::MAX as f64),
        "uint8" => (0.0, u8::MAX as f64),
        "uint16" => (0.0, u16::MAX as f64),
        "uint32" => (0.0, u32::MAX as f64),
        "uint64" | "uint" => (0.0, u64::MAX as f64),
        _ => return None,
    })
}

fn last_text(value: &Value) -> Value {
    match value {
        Value::Array(items) => items.last().cloned().unwrap_or(Value::Null),
        other => other.clone(),
    }
}

pub(crate) fn cached_regex(pattern: &str) -> Option<regex::Regex> {
    static CACHE: OnceLock<Mutex<HashMap<String, Option<regex::Regex>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if cache.len() > 4096 {
        cache.clear();
    }
    cache
        .entry(pattern.to_owned())
        .or_insert_with(|| regex::Regex::new(pattern).ok())
        .clone()
}

/// Whether `text` satisfies the JSON Schema `format` named `format`. Unknown
/// formats are annotations only and always pass.
pub(crate) fn format_ok(format: &str, text: &str) -> bool {
    match format {
        "email" => {
            let Some((local, domain)) = text.rsplit_once('@') else {
                return false;
            };
            !local.is_empty()
                && !domain.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !text.chars().any(char::is_whitespace)
        }
        "uri" | "url" => {
            let Some((scheme, rest)) = text.split_once(':') else {
                return false;
            };
            let mut chars = scheme.chars();
            chars.next().is_some_and(|c| c.is_ascii_alphabetic())
                && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                && !rest.is_empty()
                && !text.chars().any(char::is_whitespace)
        }
        _ => true,
    }
}

/// The request-side JSON Schema of `T` (with `$defs`), built once per type and
/// extended with the rules only frontdesk's `Validate` derive knows.
pub(crate) fn request_schema<T>() -> Arc<Value>
where
    T: schemars::JsonSchema + super::Validate + 'static,
{
    static CACHE: OnceLock<Mutex<HashMap<std::any::TypeId, Arc<Value>>>> = OnceLock::new();
    let id = std::any::TypeId::of::<T>();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(found) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(&id).cloned() {
        return found;
    }
    let schema = Arc::new(build_request_schema::<T>());
    cache
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(id, schema.clone());
    schema
}

fn build_request_schema<T: schemars::JsonSchema + super::Validate>() -> Value {
    let settings = schemars::generate::SchemaSettings::draft2020_12()
        .with(|s| s.contract = schemars::generate::Contract::Deserialize);
    let generator = settings.into_generator();
    let schema = generator.into_root_schema_for::<T>();
    let mut value = schema.to_value();
    // Run the derive's schema extensions over the definitions, and over the root
    // (which schemars keeps outside `$defs`) under its own name.
    if let Value::Object(root) = &mut value {
        let mut defs = match root.remove("$defs") {
            Some(Value::Object(defs)) => defs,
            _ => Map::new(),
        };
        let name = T::schema_name().into_owned();
        let mut own = root.clone();
        own.remove("$schema");
        let had_def = defs.contains_key(&name);
        if !had_def {
            defs.insert(name.clone(), Value::Object(own));
        }
        T::extend_schema(&mut defs);
        if !had_def {
            if let Some(Value::Object(extended)) = defs.remove(&name) {
                for (k, v) in extended {
                    root.insert(k, v);
                }
            }
        }
        if !defs.is_empty() {
            root.insert("$defs".into(), Value::Object(defs));
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lax() -> Mode {
        Mode {
            coercion: Coercion::Lax,
            from_text: false,
        }
    }

    fn body_errors(schema: Value, mut value: Value) -> Value {
        serde_json::to_value(check(&schema, &mut value, Source::Body, lax())).unwrap()
    }

    fn cons() -> Value {
        json!({
            "type": "object",
            "title": "Cons",
            "properties": {
                "name": {"type": "string", "minLength": 3, "maxLength": 5},
                "n": {"type": "integer", "minimum": 1, "maximum": 10},
                "f": {"type": "number", "exclusiveMinimum": 0.0, "exclusiveMaximum": 1.0, "default": 0.5},
                "code": {"type": "string", "pattern": "^[a-z]+$"}
            },
            "required": ["name", "n"]
        })
    }

    #[test]
    fn three_errors_in_field_order() {
        let errors = body_errors(cons(), json!({"name": 1, "n": "x", "f": "y"}));
        let kinds: Vec<&str> = errors["detail"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["type"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["string_type", "int_parsing", "float_parsing"]);
    }

    #[test]
    fn lax_coercion_rewrites_the_value() {
        let schema = cons();
        let mut value = json!({"name": "abc", "n": "5", "f": "0.25"});
        let errors = check(&schema, &mut value, Source::Body, lax());
        assert!(errors.is_empty(), "{errors}");
        assert_eq!(value, json!({"name": "abc", "n": 5, "f": 0.25}));
    }

    #[test]
    fn strict_mode_refuses_strings_for_integers() {
        let schema = cons();
        let mut value = json!({"name": "abc", "n": "5"});
        let errors = check(
            &schema,
            &mut value,
            Source::Body,
            Mode {
                coercion: Coercion::Strict,
                from_text: false,
            },
        );
        assert_eq!(errors.errors()[0].kind(), "int_type");
    }

    #[test]
    fn constraint_errors_carry_ctx() {
        let errors = body_errors(cons(), json!({"name": "ab", "n": 11, "f": 1.0, "code": "A1"}));
        assert_eq!(
            errors,
            json!({"detail": [
                {"type":"string_too_short","loc":["body","name"],"msg":"String should have at least 3 characters","input":"ab","ctx":{"min_length":3}},
                {"type":"less_than_equal","loc":["body","n"],"msg":"Input should be less than or equal to 10","input":11,"ctx":{"le":10}},
                {"type":"less_than","loc":["body","f"],"msg":"Input should be less than 1","input":1.0,"ctx":{"lt":1.0}},
                {"type":"string_pattern_mismatch","loc":["body","code"],"msg":"String should match pattern '^[a-z]+$'","input":"A1","ctx":{"pattern":"^[a-z]+$"}}
            ]})
        );
    }

    #[test]
    fn missing_reports_the_enclosing_object() {
        let errors = body_errors(cons(), json!({"n": 5}));
        assert_eq!(
            errors["detail"][0],
            json!({"type":"missing","loc":["body","name"],"msg":"Field required","input":{"n":5}})
        );
    }

    #[test]
    fn body_that_is_not_an_object() {
        let errors = body_errors(cons(), json!([1, 2]));
        assert_eq!(errors["detail"][0]["type"], "model_attributes_type");
        assert_eq!(errors["detail"][0]["loc"], json!(["body"]));
    }

    #[test]
    fn int_from_float_and_int_coercion() {
        let schema = json!({"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]});
        assert_eq!(
            body_errors(schema.clone(), json!({"n": 5.5}))["detail"][0]["type"],
            "int_from_float"
        );
        let mut v = json!({"n": 5.0});
        assert!(check(&schema, &mut v, Source::Body, lax()).is_empty());
        assert_eq!(v, json!({"n": 5}));
    }

    #[test]
    fn list_items_are_located_by_index() {
        let schema = json!({
            "type":"object",
            "properties":{"items":{"type":"array","items":{"$ref":"#/$defs/X"}}},
            "required":["items"],
            "$defs":{"X":{"type":"object","properties":{"x":{"type":"integer"}},"required":["x"]}}
        });
        let errors = body_errors(schema, json!({"items": [{"x": 1}, {"x": "a"}]}));
        assert_eq!(errors["detail"][0]["loc"], json!(["body", "items", 1, "x"]));
    }

    #[test]
    fn extra_forbidden_and_enum() {
        let schema = json!({
            "type":"object",
            "properties":{"c":{"type":"string","enum":["a","b","c"]}},
            "additionalProperties": false
        });
        let errors = body_errors(schema, json!({"c": "d", "z": 1}));
        assert_eq!(errors["detail"][0]["msg"], "Input should be 'a', 'b' or 'c'");
        assert_eq!(errors["detail"][1]["type"], "extra_forbidden");
        assert_eq!(errors["detail"][1]["loc"], json!(["body", "z"]));
    }

    #[test]
    fn list_length_bounds() {
        let schema = json!({"type":"object","properties":{"a":{"type":"array","items":{"type":"integer"},"minItems":1,"maxItems":2}}});
        assert_eq!(
            body_errors(schema.clone(), json!({"a": []}))["detail"][0]["type"],
            "too_short"
        );
        assert_eq!(
            body_errors(schema, json!({"a": [1, 2, 3]}))["detail"][0]["msg"],
            "List should have at most 2 items after validation, not 3"
        );
    }

    #[test]
    fn option_fields_accept_null() {
        let schema = json!({"type":"object","properties":{"s":{"type":["string","null"],"maxLength":2}}});
        assert!(body_errors(schema.clone(), json!({"s": null}))["detail"]
            .as_array()
            .unwrap()
            .is_empty());
        assert_eq!(
            body_errors(schema, json!({"s": "abc"}))["detail"][0]["type"],
            "string_too_long"
        );
    }

    #[test]
    fn formats() {
        assert!(format_ok("email", "a@b.co"));
        assert!(!format_ok("email", "ab.co"));
        assert!(format_ok("uri", "https://x.y/z"));
        assert!(!format_ok("uri", "not a url"));
    }
}
