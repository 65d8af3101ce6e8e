//! AWS JSON 1.1, as KMS speaks it: a JSON object in, the output shape as a JSON object out, and an
//! error as `{"__type": <code>, "message": <text>}` (KMS's own spelling of the member).

use serde_json::{json, Value};

use crate::WireResponse;

pub const JSON_11_CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// The action an `X-Amz-Target` of `<prefix>.<Action>` names.
pub fn json11_action<'a>(target: &'a str, prefix: &str) -> Option<&'a str> {
    target.strip_prefix(prefix)?.strip_prefix('.')
}

/// A request's input: its body's JSON object (an empty body is an empty input); `None` for a body
/// that is not one.
pub fn read_json11_input(body: &[u8]) -> Option<Value> {
    if body.is_empty() {
        return Some(json!({}));
    }
    match serde_json::from_slice(body) {
        Ok(value @ Value::Object(_)) => Some(value),
        _ => None,
    }
}

pub fn encode_json11_response(value: &Value) -> WireResponse {
    WireResponse {
        status: 200,
        content_type: JSON_11_CONTENT_TYPE,
        query_error: None,
        body: value.to_string().into_bytes(),
    }
}

pub fn encode_json11_error(code: &str, message: &str, status: u16) -> WireResponse {
    WireResponse {
        status,
        content_type: JSON_11_CONTENT_TYPE,
        query_error: None,
        body: json!({ "__type": code, "message": message })
            .to_string()
            .into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_and_errors() {
        assert_eq!(
            json11_action("TrentService.Encrypt", "TrentService"),
            Some("Encrypt")
        );
        assert_eq!(json11_action("AmazonSQS.SendMessage", "TrentService"), None);
        let wire = encode_json11_error("NotFoundException", "Key 'x' is not found.", 400);
        assert_eq!(
            String::from_utf8(wire.body).unwrap(),
            r#"{"__type":"NotFoundException","message":"Key 'x' is not found."}"#
        );
        assert_eq!(wire.content_type, "application/x-amz-json-1.1");
    }
}
