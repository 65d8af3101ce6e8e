//! The two wire formats SQS clients speak, AWS JSON 1.0 and AWS Query, decoded into one typed request model
//! and rendered from one typed response model. This crate decides nothing about queues: it only checks that
//! a request is well formed (known operation, required members present, values of the right type).

mod json;
mod model;
mod query;

use serde::de::DeserializeOwned;
use serde_json::Value;
use sluice_model::types::{Request, Response};
use sluice_model::{ApiError, ErrorCode, Operation};

pub use json::{operation_from_target, JSON_CONTENT_TYPE};
pub use query::{params_to_value, parse_form, unknown_action, Params, XML_NAMESPACE};

use crate::model::{model, Model, Shape, ShapeKind};

/// The protocol a request arrived in; its response and errors are written in the same one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Json,
    Query,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Json => "json",
            Protocol::Query => "query",
        }
    }
}

/// A response ready for the HTTP layer.
#[derive(Debug)]
pub struct WireResponse {
    pub status: u16,
    pub content_type: &'static str,
    /// `x-amzn-query-error` for JSON errors.
    pub query_error: Option<String>,
    pub body: Vec<u8>,
}

/// Reads a JSON 1.0 request body into the JSON value of an input.
pub fn parse_json_body(body: &[u8]) -> Result<Value, ApiError> {
    json::parse_body(body)
}

/// Checks an input value against its operation's shape and decodes it into the typed request.
pub fn decode(
    protocol: Protocol,
    operation: Operation,
    mut value: Value,
) -> Result<Request, ApiError> {
    let m = model();
    let shape = m.shape(&m.operations[operation.name()].input);
    check_required(m, shape, &mut value)?;
    let bad = |e: serde_json::Error| match protocol {
        Protocol::Json => ApiError::new(ErrorCode::SerializationException, e.to_string()),
        Protocol::Query => ApiError::new(ErrorCode::InvalidParameterValue, e.to_string()),
    };
    fn typed<T: DeserializeOwned>(v: Value) -> Result<T, serde_json::Error> {
        serde_json::from_value(v)
    }
    use Operation as O;
    use Request as R;
    let request = match operation {
        O::AddPermission => R::AddPermission(typed(value).map_err(bad)?),
        O::CancelMessageMoveTask => R::CancelMessageMoveTask(typed(value).map_err(bad)?),
        O::ChangeMessageVisibility => R::ChangeMessageVisibility(typed(value).map_err(bad)?),
        O::ChangeMessageVisibilityBatch => {
            R::ChangeMessageVisibilityBatch(typed(value).map_err(bad)?)
        }
        O::CreateQueue => R::CreateQueue(typed(value).map_err(bad)?),
        O::DeleteMessage => R::DeleteMessage(typed(value).map_err(bad)?),
        O::DeleteMessageBatch => R::DeleteMessageBatch(typed(value).map_err(bad)?),
        O::DeleteQueue => R::DeleteQueue(typed(value).map_err(bad)?),
        O::GetQueueAttributes => R::GetQueueAttributes(typed(value).map_err(bad)?),
        O::GetQueueUrl => R::GetQueueUrl(typed(value).map_err(bad)?),
        O::ListDeadLetterSourceQueues => R::ListDeadLetterSourceQueues(typed(value).map_err(bad)?),
        O::ListMessageMoveTasks => R::ListMessageMoveTasks(typed(value).map_err(bad)?),
        O::ListQueueTags => R::ListQueueTags(typed(value).map_err(bad)?),
        O::ListQueues => R::ListQueues(typed(value).map_err(bad)?),
        O::PurgeQueue => R::PurgeQueue(typed(value).map_err(bad)?),
        O::ReceiveMessage => R::ReceiveMessage(typed(value).map_err(bad)?),
        O::RemovePermission => R::RemovePermission(typed(value).map_err(bad)?),
        O::SendMessage => R::SendMessage(typed(value).map_err(bad)?),
        O::SendMessageBatch => R::SendMessageBatch(typed(value).map_err(bad)?),
        O::SetQueueAttributes => R::SetQueueAttributes(typed(value).map_err(bad)?),
        O::StartMessageMoveTask => R::StartMessageMoveTask(typed(value).map_err(bad)?),
        O::TagQueue => R::TagQueue(typed(value).map_err(bad)?),
        O::UntagQueue => R::UntagQueue(typed(value).map_err(bad)?),
    };
    Ok(request)
}

/// A required scalar or structure that is absent is `MissingParameter`. A required list or map that is
/// absent counts as empty: the queue layer answers an empty batch or attribute set as SQS does.
fn check_required(m: &Model, shape: &Shape, value: &mut Value) -> Result<(), ApiError> {
    match shape.kind {
        ShapeKind::Structure => {
            let Value::Object(members) = value else {
                return Ok(());
            };
            for name in &shape.required {
                let Some(member) = shape.member(name) else {
                    continue;
                };
                let present = members.get(name).is_some_and(|v| !v.is_null());
                if !present {
                    match m.shape(&member.shape).kind {
                        ShapeKind::List => {
                            members.insert(name.clone(), Value::Array(Vec::new()));
                        }
                        ShapeKind::Map => {
                            members.insert(name.clone(), Value::Object(Default::default()));
                        }
                        _ => return Err(ApiError::missing_parameter(member.wire_name(m))),
                    }
                }
            }
            for member in &shape.members {
                if let Some(v) = members.get_mut(&member.name) {
                    check_required(m, m.shape(&member.shape), v)?;
                }
            }
        }
        ShapeKind::List => {
            let (Value::Array(items), Some(element)) = (value, &shape.member) else {
                return Ok(());
            };
            let element = m.shape(&element.shape);
            for item in items {
                check_required(m, element, item)?;
            }
        }
        ShapeKind::Map => {
            let (Value::Object(entries), Some(v)) = (value, &shape.value) else {
                return Ok(());
            };
            let element = m.shape(&v.shape);
            for item in entries.values_mut() {
                check_required(m, element, item)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Renders a successful response in the request's protocol.
pub fn encode_response(
    protocol: Protocol,
    operation: Operation,
    output: &Response,
    request_id: &str,
) -> WireResponse {
    match protocol {
        Protocol::Json => WireResponse {
            status: 200,
            content_type: JSON_CONTENT_TYPE,
            query_error: None,
            body: output.to_json_bytes(),
        },
        Protocol::Query => WireResponse {
            status: 200,
            content_type: "text/xml",
            query_error: None,
            body: query::render_response(operation, &output.to_json(), request_id).into_bytes(),
        },
    }
}

/// Renders an error in the request's protocol: the only two places errors are written.
pub fn encode_error(protocol: Protocol, error: &ApiError, request_id: &str) -> WireResponse {
    match protocol {
        Protocol::Json => json::render_error(error),
        Protocol::Query => WireResponse {
            status: error.code.http_status(),
            content_type: "text/xml",
            query_error: None,
            body: query::render_error(error, request_id).into_bytes(),
        },
    }
}
