//! The two wire formats SQS clients speak, AWS JSON 1.0 and AWS Query, decoded into one typed request model
//! and rendered from one typed response model. This crate decides nothing about queues: it only checks that
//! a request is well formed (known operation, required members present, values of the right type).

mod console;
mod json;
mod json11;
mod model;
mod query;
mod security_query;

use serde::{Deserialize, Deserializer};
use serde_json::Value;
use sluice_model::types::{Request, Response};
use sluice_model::{ApiError, ErrorCode, Operation};

pub use console::{
    decode_console, ConsoleListQueues, ConsolePeekMessages, ConsoleQueueHistory, ConsoleRequest,
    CONSOLE_TARGET_PREFIX,
};
pub use json::{operation_from_target, JSON_CONTENT_TYPE};
pub use json11::{
    encode_json11_error, encode_json11_response, json11_action, read_json11_input,
    JSON_11_CONTENT_TYPE,
};
pub use query::{params_to_value, parse_form, unknown_action, Params, XML_NAMESPACE};
pub use security_query::{encode_service_error, encode_service_response, Service, ServiceError};

use crate::model::{model, Model, Shape, ShapeKind};

/// The protocol a request arrived in; its response and errors are written in the same one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Json,
    Query,
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
    request_from(operation, value).map_err(bad)
}

/// Decodes an AWS JSON 1.0 body of `operation`. A JSON object with every required member (what
/// clients send) is read straight into the typed request; anything else goes through `decode` on its
/// JSON value, which names the problem as SQS does. The typed inputs make every required scalar and
/// structure a plain field, so the direct read fails wherever `decode` would refuse (a test walks the
/// model to keep it so).
pub fn decode_json(operation: Operation, body: &[u8]) -> Result<Request, ApiError> {
    let is_object = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if is_object {
        let mut reader = serde_json::Deserializer::from_slice(body);
        if let Ok(request) = request_from(operation, &mut reader) {
            if reader.end().is_ok() {
                return Ok(request);
            }
        }
    }
    decode(Protocol::Json, operation, json::parse_body(body)?)
}

/// The typed request of `operation` from any serde source.
fn request_from<'de, D: Deserializer<'de>>(
    operation: Operation,
    source: D,
) -> Result<Request, D::Error> {
    use Operation as O;
    use Request as R;
    Ok(match operation {
        O::AddPermission => R::AddPermission(Deserialize::deserialize(source)?),
        O::CancelMessageMoveTask => R::CancelMessageMoveTask(Deserialize::deserialize(source)?),
        O::ChangeMessageVisibility => R::ChangeMessageVisibility(Deserialize::deserialize(source)?),
        O::ChangeMessageVisibilityBatch => {
            R::ChangeMessageVisibilityBatch(Deserialize::deserialize(source)?)
        }
        O::CreateQueue => R::CreateQueue(Deserialize::deserialize(source)?),
        O::DeleteMessage => R::DeleteMessage(Deserialize::deserialize(source)?),
        O::DeleteMessageBatch => R::DeleteMessageBatch(Deserialize::deserialize(source)?),
        O::DeleteQueue => R::DeleteQueue(Deserialize::deserialize(source)?),
        O::GetQueueAttributes => R::GetQueueAttributes(Deserialize::deserialize(source)?),
        O::GetQueueUrl => R::GetQueueUrl(Deserialize::deserialize(source)?),
        O::ListDeadLetterSourceQueues => {
            R::ListDeadLetterSourceQueues(Deserialize::deserialize(source)?)
        }
        O::ListMessageMoveTasks => R::ListMessageMoveTasks(Deserialize::deserialize(source)?),
        O::ListQueueTags => R::ListQueueTags(Deserialize::deserialize(source)?),
        O::ListQueues => R::ListQueues(Deserialize::deserialize(source)?),
        O::PurgeQueue => R::PurgeQueue(Deserialize::deserialize(source)?),
        O::ReceiveMessage => R::ReceiveMessage(Deserialize::deserialize(source)?),
        O::RemovePermission => R::RemovePermission(Deserialize::deserialize(source)?),
        O::SendMessage => R::SendMessage(Deserialize::deserialize(source)?),
        O::SendMessageBatch => R::SendMessageBatch(Deserialize::deserialize(source)?),
        O::SetQueueAttributes => R::SetQueueAttributes(Deserialize::deserialize(source)?),
        O::StartMessageMoveTask => R::StartMessageMoveTask(Deserialize::deserialize(source)?),
        O::TagQueue => R::TagQueue(Deserialize::deserialize(source)?),
        O::UntagQueue => R::UntagQueue(Deserialize::deserialize(source)?),
    })
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

/// Renders a successful Query response as JSON, for a client that sent `Accept: application/json`.
pub fn encode_query_response_json(
    operation: Operation,
    output: &Response,
    request_id: &str,
) -> WireResponse {
    WireResponse {
        status: 200,
        content_type: "application/json",
        query_error: None,
        body: query::render_response_json(operation, &output.to_json(), request_id),
    }
}

/// AWS's answer to a Query `GET` that names no action: 404 and an `UnknownOperationException` element,
/// not an `ErrorResponse` document.
pub fn unknown_operation_response() -> WireResponse {
    WireResponse {
        status: 404,
        content_type: "text/xml",
        query_error: None,
        body: query::UNKNOWN_OPERATION_BODY.as_bytes().to_vec(),
    }
}

/// Whether `operation` acts on one queue (its input names it by `QueueUrl`): the only actions a queue's
/// own URL is an endpoint for.
pub fn names_a_queue(operation: Operation) -> bool {
    let m = model();
    m.shape(&m.operations[operation.name()].input)
        .member("QueueUrl")
        .is_some()
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A value of `shape` with every member present and one element in each list and map.
    fn example(m: &Model, shape: &Shape) -> Value {
        let of = |r: &Option<model::ShapeRef>| r.as_ref().map(|r| example(m, m.shape(&r.shape)));
        match shape.kind {
            ShapeKind::Structure => Value::Object(
                shape
                    .members
                    .iter()
                    .map(|member| (member.name.clone(), example(m, m.shape(&member.shape))))
                    .collect(),
            ),
            ShapeKind::List => Value::Array(of(&shape.member).into_iter().collect()),
            ShapeKind::Map => Value::Object(
                of(&shape.value)
                    .map(|v| ("k".to_string(), v))
                    .into_iter()
                    .collect(),
            ),
            ShapeKind::String => json!("x"),
            ShapeKind::Integer | ShapeKind::Long => json!(1),
            ShapeKind::Boolean => json!(true),
            ShapeKind::Blob => json!("eA=="),
        }
    }

    /// `value` with, at any depth, one required member taken away or set to null.
    fn without_a_required_member(m: &Model, shape: &Shape, value: &Value) -> Vec<Value> {
        let mut variants = Vec::new();
        match (shape.kind, value) {
            (ShapeKind::Structure, Value::Object(members)) => {
                for name in &shape.required {
                    for replacement in [None, Some(Value::Null)] {
                        let mut changed = members.clone();
                        match replacement {
                            None => changed.shift_remove(name),
                            Some(null) => changed.insert(name.clone(), null),
                        };
                        variants.push(Value::Object(changed));
                    }
                }
                for member in &shape.members {
                    let Some(child) = members.get(&member.name) else {
                        continue;
                    };
                    for variant in without_a_required_member(m, m.shape(&member.shape), child) {
                        let mut changed = members.clone();
                        changed.insert(member.name.clone(), variant);
                        variants.push(Value::Object(changed));
                    }
                }
            }
            (ShapeKind::List, Value::Array(items)) => {
                if let (Some(element), Some(first)) = (&shape.member, items.first()) {
                    for variant in without_a_required_member(m, m.shape(&element.shape), first) {
                        variants.push(Value::Array(vec![variant]));
                    }
                }
            }
            (ShapeKind::Map, Value::Object(entries)) => {
                if let (Some(v), Some((key, first))) = (&shape.value, entries.iter().next()) {
                    for variant in without_a_required_member(m, m.shape(&v.shape), first) {
                        variants.push(json!({ key.clone(): variant }));
                    }
                }
            }
            _ => {}
        }
        variants
    }

    #[test]
    fn only_actions_on_one_queue_name_a_queue() {
        let general = [
            Operation::CreateQueue,
            Operation::GetQueueUrl,
            Operation::ListQueues,
            Operation::ListMessageMoveTasks,
            Operation::StartMessageMoveTask,
            Operation::CancelMessageMoveTask,
        ];
        for operation in Operation::ALL {
            assert_eq!(
                names_a_queue(*operation),
                !general.contains(operation),
                "{operation:?}"
            );
        }
    }

    /// The direct read of `decode_json` must agree with the checked path through a JSON value on
    /// every operation: complete inputs decode the same, and an input missing a required member (at
    /// any depth, absent or null) gets the same error.
    #[test]
    fn direct_json_decoding_agrees_with_the_checked_path() {
        let m = model();
        let mut checked = 0;
        for operation in Operation::ALL {
            let shape = m.shape(&m.operations[operation.name()].input);
            let full = example(m, shape);
            let direct = |v: &Value| decode_json(*operation, v.to_string().as_bytes());
            let full_direct = direct(&full);
            assert!(full_direct.is_ok(), "{operation:?}: {full_direct:?}");
            for variant in
                std::iter::once(full.clone()).chain(without_a_required_member(m, shape, &full))
            {
                let slow = decode(Protocol::Json, *operation, variant.clone());
                assert_eq!(
                    format!("{:?}", direct(&variant)),
                    format!("{slow:?}"),
                    "{operation:?} {variant}"
                );
                checked += 1;
            }
        }
        assert!(checked > 60, "{checked}");
        // Serde would read a struct from an array of its fields; a body that is not an object never
        // takes the direct read.
        let positional = decode_json(Operation::DeleteQueue, b" [\"https://q\"]");
        assert!(
            matches!(&positional, Err(e) if e.code == ErrorCode::SerializationException),
            "{positional:?}"
        );
    }
}
