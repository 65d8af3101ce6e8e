//! AWS JSON 1.0: `X-Amz-Target: AmazonSQS.<Operation>`, a JSON object in, a JSON object out.

use serde_json::Value;
use sluice_model::{ApiError, ErrorCode, Operation};

use crate::WireResponse;

pub const JSON_CONTENT_TYPE: &str = "application/x-amz-json-1.0";

const TARGET_PREFIX: &str = "AmazonSQS.";

/// The operation an `X-Amz-Target` header names.
pub fn operation_from_target(target: &str) -> Result<Operation, ApiError> {
    target
        .strip_prefix(TARGET_PREFIX)
        .and_then(Operation::from_name)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::UnknownOperation,
                format!("Unknown operation {target}"),
            )
        })
}

pub fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(_) => Err(ApiError::new(
            ErrorCode::SerializationException,
            "The request body must be a JSON object",
        )),
        Err(e) => Err(ApiError::new(
            ErrorCode::SerializationException,
            format!("The request body is not valid JSON: {e}"),
        )),
    }
}

/// `{"__type": ..., "message": ...}` and the `x-amzn-query-error` header that lets clients built for the
/// Query protocol see the same error code (the model is `awsQueryCompatible`).
pub fn render_error(error: &ApiError) -> WireResponse {
    let body = serde_json::json!({
        "__type": error.code.json_type(),
        "message": error.message,
    });
    let fault = if error.code.sender_fault() {
        "Sender"
    } else {
        "Receiver"
    };
    WireResponse {
        status: error.code.http_status(),
        content_type: JSON_CONTENT_TYPE,
        query_error: Some(format!("{};{fault}", error.code.query_code())),
        body: serde_json::to_vec(&body).unwrap_or_default(),
    }
}
