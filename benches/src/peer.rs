//! The validation a careful hyper or axum user writes by hand: the same rules as
//! [`ChatRequest`](crate::contract::ChatRequest), the same FastAPI-shaped 422
//! (`{"detail":[{"type","loc","msg","input","ctx"?}]}`).
//!
//! Like frontdesk, the good path parses once, straight into the typed struct,
//! and checks two numbers; only a failure re-reads the body as a JSON value to
//! name each bad field. Unlike frontdesk, it does not apply Pydantic's lax
//! coercions (`"5"` for an integer is refused) — the benchmark sends valid
//! bodies, so this only matters for the 422 path.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::contract::default_max_tokens;

/// The request body limit of the peers, frontdesk's default (2 MiB).
pub const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// The `/chat` body for the peers: plain serde, no frontdesk derive.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PlainChatRequest {
    /// The prompt, 1 to 32000 characters.
    pub prompt: String,
    /// The reply budget, 1 to 4096 (default 500).
    #[serde(default = "default_max_tokens")]
    pub max_tokens: u32,
}

const PROMPT_MIN: usize = 1;
const PROMPT_MAX: usize = 32000;
const TOKENS_MIN: i64 = 1;
const TOKENS_MAX: i64 = 4096;

/// Parses and checks a `/chat` body sent with `content_type`.
///
/// # Errors
/// The bytes of a FastAPI-shaped 422 body naming every bad field.
pub fn parse_chat(content_type: Option<&[u8]>, body: &[u8]) -> Result<PlainChatRequest, Vec<u8>> {
    if !is_json(content_type) {
        let input = Value::String(String::from_utf8_lossy(body).into_owned());
        return Err(detail(vec![error(
            "model_attributes_type",
            json!(["body"]),
            "Input should be a valid dictionary or object to extract fields from",
            input,
            None,
        )]));
    }
    if let Ok(request) = serde_json::from_slice::<PlainChatRequest>(body) {
        let len = request.prompt.chars().count();
        let tokens = i64::from(request.max_tokens);
        if (PROMPT_MIN..=PROMPT_MAX).contains(&len) && (TOKENS_MIN..=TOKENS_MAX).contains(&tokens) {
            return Ok(request);
        }
    }
    Err(detail(every_error(body)))
}

/// `application/json` (with parameters) or any `+json` type.
fn is_json(content_type: Option<&[u8]>) -> bool {
    let Some(value) = content_type.and_then(|v| std::str::from_utf8(v).ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
        || (essence.len() > 17
            && essence[..12].eq_ignore_ascii_case("application/")
            && essence[essence.len() - 5..].eq_ignore_ascii_case("+json"))
}

fn error(kind: &str, loc: Value, msg: &str, input: Value, ctx: Option<Value>) -> Value {
    let mut e = Map::new();
    e.insert("type".into(), kind.into());
    e.insert("loc".into(), loc);
    e.insert("msg".into(), msg.into());
    e.insert("input".into(), input);
    if let Some(ctx) = ctx {
        e.insert("ctx".into(), ctx);
    }
    Value::Object(e)
}

fn detail(errors: Vec<Value>) -> Vec<u8> {
    serde_json::to_vec(&json!({ "detail": errors })).unwrap_or_else(|_| b"{\"detail\":[]}".to_vec())
}

/// The slow path: every error, in field order.
fn every_error(body: &[u8]) -> Vec<Value> {
    if body.is_empty() {
        return vec![error(
            "missing",
            json!(["body"]),
            "Field required",
            Value::Null,
            None,
        )];
    }
    let value = match serde_json::from_slice::<Value>(body) {
        Ok(value) => value,
        Err(e) => {
            let offset = offset_of(body, e.line(), e.column());
            let message = e.to_string();
            let message = message.split(" at line ").next().unwrap_or("").to_owned();
            return vec![error(
                "json_invalid",
                json!(["body", offset]),
                "JSON decode error",
                json!({}),
                Some(json!({ "error": message })),
            )];
        }
    };
    let Value::Object(map) = &value else {
        return vec![error(
            "model_attributes_type",
            json!(["body"]),
            "Input should be a valid dictionary or object to extract fields from",
            value.clone(),
            None,
        )];
    };
    let mut errors = Vec::new();
    match map.get("prompt") {
        None => errors.push(error(
            "missing",
            json!(["body", "prompt"]),
            "Field required",
            value.clone(),
            None,
        )),
        Some(Value::String(s)) => {
            let len = s.chars().count();
            if len < PROMPT_MIN {
                errors.push(error(
                    "string_too_short",
                    json!(["body", "prompt"]),
                    "String should have at least 1 character",
                    Value::String(s.clone()),
                    Some(json!({ "min_length": PROMPT_MIN })),
                ));
            } else if len > PROMPT_MAX {
                errors.push(error(
                    "string_too_long",
                    json!(["body", "prompt"]),
                    "String should have at most 32000 characters",
                    Value::String(s.clone()),
                    Some(json!({ "max_length": PROMPT_MAX })),
                ));
            }
        }
        Some(other) => errors.push(error(
            "string_type",
            json!(["body", "prompt"]),
            "Input should be a valid string",
            other.clone(),
            None,
        )),
    }
    if let Some(tokens) = map.get("max_tokens") {
        let loc = json!(["body", "max_tokens"]);
        match (tokens.as_i64(), tokens.as_u64()) {
            (Some(n), _) if n < TOKENS_MIN => errors.push(error(
                "greater_than_equal",
                loc,
                "Input should be greater than or equal to 1",
                tokens.clone(),
                Some(json!({ "ge": TOKENS_MIN })),
            )),
            (Some(n), _) if n > TOKENS_MAX => errors.push(error(
                "less_than_equal",
                loc,
                "Input should be less than or equal to 4096",
                tokens.clone(),
                Some(json!({ "le": TOKENS_MAX })),
            )),
            (Some(_), _) => {}
            (None, Some(_)) => errors.push(error(
                "less_than_equal",
                loc,
                "Input should be less than or equal to 4096",
                tokens.clone(),
                Some(json!({ "le": TOKENS_MAX })),
            )),
            (None, None) => errors.push(error(
                "int_type",
                loc,
                "Input should be a valid integer",
                tokens.clone(),
                None,
            )),
        }
    }
    if errors.is_empty() {
        // Something serde refused that the rules above do not name.
        errors.push(error(
            "value_error",
            json!(["body"]),
            "Value error, invalid body",
            value.clone(),
            None,
        ));
    }
    errors
}

/// serde_json reports a line and a column; FastAPI reports a byte offset.
fn offset_of(bytes: &[u8], line: usize, column: usize) -> usize {
    let mut offset = 0usize;
    for (i, text) in bytes.split(|b| *b == b'\n').enumerate() {
        if i + 1 == line {
            return offset + column.saturating_sub(1).min(text.len());
        }
        offset += text.len() + 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: Option<&[u8]> = Some(b"application/json");

    fn types(body: &[u8]) -> Vec<String> {
        let bytes = parse_chat(JSON, body).unwrap_err();
        let value: Value = serde_json::from_slice(&bytes).unwrap();
        value["detail"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["type"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn valid_bodies_pass() {
        let request = parse_chat(JSON, br#"{"prompt":"hi"}"#).unwrap();
        assert_eq!(request.max_tokens, 500);
        assert_eq!(
            parse_chat(
                Some(b"application/json; charset=utf-8"),
                br#"{"prompt":"hi","max_tokens":4096}"#
            )
            .unwrap()
            .max_tokens,
            4096
        );
    }

    #[test]
    fn bad_bodies_name_every_field() {
        assert_eq!(
            types(br#"{"prompt":"","max_tokens":0}"#),
            ["string_too_short", "greater_than_equal"]
        );
        assert_eq!(
            types(br#"{"prompt":42,"max_tokens":"x"}"#),
            ["string_type", "int_type"]
        );
        assert_eq!(types(br#"{"max_tokens":5000}"#), ["missing", "less_than_equal"]);
        assert_eq!(types(br#"{"prompt":"#), ["json_invalid"]);
        assert_eq!(types(b"[]"), ["model_attributes_type"]);
        assert_eq!(types(b""), ["missing"]);
        assert!(parse_chat(Some(b"text/plain"), br#"{"prompt":"hi"}"#).is_err());
    }
}
