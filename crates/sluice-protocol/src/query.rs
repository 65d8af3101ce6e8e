//! AWS Query: form parameters in (`Attribute.1.Name=...`), XML out.
//!
//! Decoding turns the flat parameter list into the JSON value the same input has in AWS JSON 1.0, guided by
//! the service model, so both protocols share one typed decoder. Rendering walks an output value with its
//! shape and writes the XML AWS writes: flattened lists and maps, `locationName`s, a `<Op>Result` wrapper
//! and `ResponseMetadata`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use sluice_model::{ApiError, ErrorCode, Operation};

use crate::model::{model, Member, Model, Shape, ShapeKind};

pub const XML_NAMESPACE: &str = "http://queue.amazonaws.com/doc/2012-11-05/";

/// Form parameters by name. A name given twice keeps its last value.
pub type Params = BTreeMap<String, String>;

/// Reads `application/x-www-form-urlencoded` text into parameters. A name or value whose bytes, once
/// percent-decoded, are not UTF-8 is refused: replacing them would store text the client never sent
/// (and answer an MD5 of other bytes than it hashed).
pub fn parse_form(text: &[u8], into: &mut Params) -> Result<(), ApiError> {
    for pair in text.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let (name, value) = match pair.iter().position(|&b| b == b'=') {
            Some(at) => (&pair[..at], &pair[at + 1..]),
            None => (pair, &pair[pair.len()..]),
        };
        let name = decode_component(name).ok_or_else(|| {
            ApiError::new(
                ErrorCode::MalformedQueryString,
                "A parameter name is not valid UTF-8 once percent-decoded.",
            )
        })?;
        let value = decode_component(value).ok_or_else(|| {
            ApiError::new(
                ErrorCode::MalformedQueryString,
                format!("The value of parameter {name} is not valid UTF-8 once percent-decoded."),
            )
        })?;
        into.insert(name, value);
    }
    Ok(())
}

/// `+` is a space and `%XX` a byte; a `%` not followed by two hex digits stands for itself, as
/// browsers and AWS's own clients treat it.
fn decode_component(raw: &[u8]) -> Option<String> {
    let mut bytes = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => bytes.push(b' '),
            b'%' => match (raw.get(i + 1).and_then(hex), raw.get(i + 2).and_then(hex)) {
                (Some(high), Some(low)) => {
                    bytes.push(high << 4 | low);
                    i += 2;
                }
                _ => bytes.push(b'%'),
            },
            b => bytes.push(b),
        }
        i += 1;
    }
    String::from_utf8(bytes).ok()
}

fn hex(b: &u8) -> Option<u8> {
    (*b as char).to_digit(16).map(|d| d as u8)
}

/// Builds the JSON-shaped input of `operation` from Query parameters.
pub fn params_to_value(operation: Operation, params: &Params) -> Result<Value, ApiError> {
    let m = model();
    let shape = m.shape(&m.operations[operation.name()].input);
    structure_value(m, shape, "", params)
}

fn structure_value(
    m: &Model,
    shape: &Shape,
    prefix: &str,
    params: &Params,
) -> Result<Value, ApiError> {
    let mut object = Map::new();
    for member in &shape.members {
        if let Some(value) = member_value(m, member, prefix, params)? {
            object.insert(member.name.clone(), value);
        }
    }
    Ok(Value::Object(object))
}

fn member_value(
    m: &Model,
    member: &Member,
    prefix: &str,
    params: &Params,
) -> Result<Option<Value>, ApiError> {
    let target = m.shape(&member.shape);
    let wire = member.wire_name(m);
    let key = match (target.kind, member.is_flattened(m), &target.member) {
        // A flattened list is written under its element's name: `AttributeName.1`, not `AttributeNames.1`.
        (ShapeKind::List, true, Some(element)) => element.location_name.as_deref().unwrap_or(wire),
        _ => wire,
    };
    let full = format!("{prefix}{key}");
    let found = value_at(m, &member.shape, member.is_flattened(m), &full, params)?;
    if found.is_some() || key == member.name {
        return Ok(found);
    }
    // Some clients write the member's own name; accept it as well.
    value_at(
        m,
        &member.shape,
        member.is_flattened(m),
        &format!("{prefix}{}", member.name),
        params,
    )
}

fn value_at(
    m: &Model,
    shape_name: &str,
    flattened: bool,
    key: &str,
    params: &Params,
) -> Result<Option<Value>, ApiError> {
    let shape = m.shape(shape_name);
    match shape.kind {
        ShapeKind::Structure => {
            let nested = format!("{key}.");
            if !has_prefix(params, &nested) {
                return Ok(None);
            }
            structure_value(m, shape, &nested, params).map(Some)
        }
        ShapeKind::List => {
            let element = shape
                .member
                .as_ref()
                .map(|r| r.shape.as_str())
                .unwrap_or("String");
            let base = if flattened {
                key.to_string()
            } else {
                let name = shape
                    .member
                    .as_ref()
                    .and_then(|r| r.location_name.as_deref())
                    .unwrap_or("member");
                format!("{key}.{name}")
            };
            let entries = entries_under(params, &base)?;
            if entries.is_empty() {
                // `AttributeName=All` names a single element without an index; an empty value is how
                // clients write an empty list.
                return match params.get(key) {
                    None => Ok(None),
                    Some(v) if v.is_empty() => Ok(Some(Value::Array(Vec::new()))),
                    Some(_) => Ok(Some(Value::Array(
                        value_at(m, element, false, key, params)?
                            .into_iter()
                            .collect(),
                    ))),
                };
            }
            let mut items = Vec::with_capacity(entries.len());
            for entry in entries {
                if let Some(v) = value_at(m, element, false, &entry, params)? {
                    items.push(v);
                }
            }
            Ok(Some(Value::Array(items)))
        }
        ShapeKind::Map => {
            let base = if flattened {
                key.to_string()
            } else {
                format!("{key}.entry")
            };
            let key_ref = shape.key.as_ref();
            let value_ref = shape.value.as_ref();
            let key_name = key_ref
                .and_then(|r| r.location_name.as_deref())
                .unwrap_or("key");
            let value_name = value_ref
                .and_then(|r| r.location_name.as_deref())
                .unwrap_or("value");
            let value_shape = value_ref.map(|r| r.shape.as_str()).unwrap_or("String");
            let entries = entries_under(params, &base)?;
            if entries.is_empty() {
                return Ok(None);
            }
            let mut object = Map::new();
            for entry in entries {
                let Some(name) = params.get(&format!("{entry}.{key_name}")) else {
                    return Err(ApiError::missing_parameter(&format!("{entry}.{key_name}")));
                };
                let value_key = format!("{entry}.{value_name}");
                let Some(value) = value_at(m, value_shape, false, &value_key, params)? else {
                    return Err(ApiError::missing_parameter(&value_key));
                };
                object.insert(name.clone(), value);
            }
            Ok(Some(Value::Object(object)))
        }
        ShapeKind::String | ShapeKind::Blob => {
            Ok(params.get(key).map(|v| Value::String(v.clone())))
        }
        ShapeKind::Integer | ShapeKind::Long => match params.get(key) {
            None => Ok(None),
            Some(text) => text
                .trim()
                .parse::<i64>()
                .map(|n| Some(Value::from(n)))
                .map_err(|_| ApiError::invalid_parameter(key, text, "Value must be an integer.")),
        },
        ShapeKind::Boolean => match params.get(key).map(|v| v.to_ascii_lowercase()) {
            None => Ok(None),
            Some(text) if text == "true" => Ok(Some(Value::Bool(true))),
            Some(text) if text == "false" => Ok(Some(Value::Bool(false))),
            Some(text) => Err(ApiError::invalid_parameter(
                key,
                &text,
                "Value must be true or false.",
            )),
        },
    }
}

fn has_prefix(params: &Params, prefix: &str) -> bool {
    params
        .range(prefix.to_string()..)
        .next()
        .is_some_and(|(k, _)| k.starts_with(prefix))
}

/// The prefixes of the entries of a list or map at `base`: `base.1`, `base.2`, ... in numeric order. A
/// single entry written without an index (`Attribute.Name=...`, as the API reference's own examples do)
/// is the entry `base`. Entries are numbered from 1: an index of 0 or with a leading zero names no
/// entry, and is refused rather than silently dropped.
fn entries_under(params: &Params, base: &str) -> Result<Vec<String>, ApiError> {
    let prefix = format!("{base}.");
    let mut indices = Vec::new();
    let mut unindexed = false;
    for (k, _) in params
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
    {
        let segment = k[prefix.len()..].split('.').next().unwrap_or_default();
        match segment.parse::<u32>() {
            Ok(i) if i > 0 && !segment.starts_with('0') => indices.push(i),
            Ok(_) => {
                return Err(ApiError::invalid_parameter(
                    k,
                    segment,
                    "List and map entries are numbered from 1.",
                ))
            }
            Err(_) => unindexed = true,
        }
    }
    indices.sort_unstable();
    indices.dedup();
    if indices.is_empty() && unindexed {
        return Ok(vec![base.to_string()]);
    }
    Ok(indices.into_iter().map(|i| format!("{base}.{i}")).collect())
}

/// Renders a successful response.
pub fn render_response(operation: Operation, output: &Value, request_id: &str) -> String {
    let m = model();
    let op = operation.name();
    let mut xml = String::with_capacity(512);
    xml.push_str("<?xml version=\"1.0\"?>");
    xml.push_str(&format!("<{op}Response xmlns=\"{XML_NAMESPACE}\">"));
    if let Some(output_shape) = &m.operations[op].output {
        let mut result = String::new();
        if let Value::Object(members) = output {
            write_members(m, m.shape(output_shape), members, &mut result);
        }
        // AWS writes a result with nothing in it as an empty-element tag.
        if result.is_empty() {
            xml.push_str(&format!("<{op}Result/>"));
        } else {
            xml.push_str(&format!("<{op}Result>{result}</{op}Result>"));
        }
    }
    xml.push_str("<ResponseMetadata><RequestId>");
    escape_into(request_id, &mut xml);
    xml.push_str(&format!("</RequestId></ResponseMetadata></{op}Response>"));
    xml
}

/// Renders a successful response as JSON, for a Query client that asks for it with `Accept:
/// application/json`: the XML document's outline (`<Op>Response` holding `<Op>Result` and
/// `ResponseMetadata`), with the result's members as AWS JSON 1.0 writes them.
pub fn render_response_json(operation: Operation, output: &Value, request_id: &str) -> Vec<u8> {
    let op = operation.name();
    let mut response = Map::new();
    if model().operations[op].output.is_some() {
        let result = match output {
            Value::Object(_) => output.clone(),
            _ => Value::Object(Map::new()),
        };
        response.insert(format!("{op}Result"), result);
    }
    response.insert(
        "ResponseMetadata".to_string(),
        serde_json::json!({ "RequestId": request_id }),
    );
    let mut document = Map::new();
    document.insert(format!("{op}Response"), Value::Object(response));
    serde_json::to_vec(&Value::Object(document)).unwrap_or_default()
}

/// The body AWS answers a Query `GET` that names no action with (status 404).
pub const UNKNOWN_OPERATION_BODY: &str = "<UnknownOperationException/>";

/// Renders an error as a Query `ErrorResponse`.
pub fn render_error(error: &ApiError, request_id: &str) -> String {
    let mut xml = String::with_capacity(256);
    xml.push_str("<?xml version=\"1.0\"?>");
    xml.push_str(&format!(
        "<ErrorResponse xmlns=\"{XML_NAMESPACE}\"><Error><Type>"
    ));
    xml.push_str(if error.code.sender_fault() {
        "Sender"
    } else {
        "Receiver"
    });
    xml.push_str("</Type><Code>");
    escape_into(error.code.query_code(), &mut xml);
    xml.push_str("</Code><Message>");
    escape_into(
        error.code.query_message().unwrap_or(&error.message),
        &mut xml,
    );
    xml.push_str("</Message><Detail/></Error><RequestId>");
    escape_into(request_id, &mut xml);
    xml.push_str("</RequestId></ErrorResponse>");
    xml
}

fn write_members(m: &Model, shape: &Shape, members: &Map<String, Value>, xml: &mut String) {
    for (name, value) in members {
        let Some(member) = shape.member(name) else {
            continue;
        };
        let target = m.shape(&member.shape);
        let wire = member.wire_name(m);
        let flattened = member.is_flattened(m);
        match (target.kind, value) {
            (ShapeKind::List, Value::Array(items)) => {
                let element = target.member.as_ref();
                let element_shape = element.map(|r| r.shape.as_str()).unwrap_or("String");
                if flattened {
                    let tag = element
                        .and_then(|r| r.location_name.as_deref())
                        .unwrap_or(wire);
                    for item in items {
                        write_element(m, tag, element_shape, item, xml);
                    }
                } else {
                    let tag = element
                        .and_then(|r| r.location_name.as_deref())
                        .unwrap_or("member");
                    xml.push_str(&format!("<{wire}>"));
                    for item in items {
                        write_element(m, tag, element_shape, item, xml);
                    }
                    xml.push_str(&format!("</{wire}>"));
                }
            }
            (ShapeKind::Map, Value::Object(entries)) => {
                let key_name = target
                    .key
                    .as_ref()
                    .and_then(|r| r.location_name.as_deref())
                    .unwrap_or("key");
                let value_ref = target.value.as_ref();
                let value_name = value_ref
                    .and_then(|r| r.location_name.as_deref())
                    .unwrap_or("value");
                let value_shape = value_ref.map(|r| r.shape.as_str()).unwrap_or("String");
                if !flattened {
                    xml.push_str(&format!("<{wire}>"));
                }
                for (k, v) in entries {
                    let entry = if flattened { wire } else { "entry" };
                    xml.push_str(&format!("<{entry}><{key_name}>"));
                    escape_into(k, xml);
                    xml.push_str(&format!("</{key_name}>"));
                    write_element(m, value_name, value_shape, v, xml);
                    xml.push_str(&format!("</{entry}>"));
                }
                if !flattened {
                    xml.push_str(&format!("</{wire}>"));
                }
            }
            _ => write_element(m, wire, &member.shape, value, xml),
        }
    }
}

fn write_element(m: &Model, tag: &str, shape_name: &str, value: &Value, xml: &mut String) {
    xml.push('<');
    xml.push_str(tag);
    xml.push('>');
    match value {
        Value::Object(members) => write_members(m, m.shape(shape_name), members, xml),
        Value::String(text) => escape_into(text, xml),
        Value::Number(n) => xml.push_str(&n.to_string()),
        Value::Bool(b) => xml.push_str(if *b { "true" } else { "false" }),
        Value::Null | Value::Array(_) => {}
    }
    xml.push_str("</");
    xml.push_str(tag);
    xml.push('>');
}

/// Escapes XML text. Carriage returns are written as a character reference because an XML parser would
/// otherwise turn them into line feeds and change a message body. Characters XML 1.0 cannot carry at all
/// (stored text never has them; an error message may echo them from a request) become U+FFFD, so the
/// document always parses.
pub(crate) fn escape_into(text: &str, xml: &mut String) {
    for c in text.chars() {
        match c {
            c if !sluice_model::is_allowed_char(c) => xml.push('\u{FFFD}'),
            '&' => xml.push_str("&amp;"),
            '<' => xml.push_str("&lt;"),
            '>' => xml.push_str("&gt;"),
            '"' => xml.push_str("&quot;"),
            '\'' => xml.push_str("&apos;"),
            '\r' => xml.push_str("&#xD;"),
            c => xml.push(c),
        }
    }
}

/// The answer to an `Action` that SQS does not have.
pub fn unknown_action(action: &str) -> ApiError {
    ApiError::new(
        ErrorCode::InvalidAction,
        format!("The action {action} is not valid for this endpoint."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(text: &str) -> Result<Params, ApiError> {
        let mut params = Params::new();
        parse_form(text.as_bytes(), &mut params).map(|()| params)
    }

    #[test]
    fn form_values_decode_to_the_bytes_sent() {
        let params = form("MessageBody=caf%C3%A9+au+lait&Empty=&Bare&Odd=100%&Plus=%2B").unwrap();
        assert_eq!(params["MessageBody"], "café au lait");
        assert_eq!(params["Empty"], "");
        assert_eq!(params["Bare"], "");
        assert_eq!(params["Odd"], "100%");
        assert_eq!(params["Plus"], "+");
    }

    #[test]
    fn invalid_utf8_in_a_form_is_refused_not_replaced() {
        for text in [
            "Action=SendMessage&MessageBody=%FF",
            "Action=SendMessage&MessageBody=%C3",
            "Action=SendMessage&Message%FFBody=x",
        ] {
            let error = form(text).unwrap_err();
            assert_eq!(error.code, ErrorCode::MalformedQueryString, "{text}");
        }
    }

    #[test]
    fn an_empty_result_is_an_empty_element_tag() {
        let empty = render_response(Operation::ReceiveMessage, &serde_json::json!({}), "id");
        assert!(
            empty.contains("<ReceiveMessageResult/><ResponseMetadata>"),
            "{empty}"
        );
        let full = render_response(
            Operation::GetQueueUrl,
            &serde_json::json!({"QueueUrl": "u"}),
            "id",
        );
        assert!(
            full.contains("<GetQueueUrlResult><QueueUrl>u</QueueUrl></GetQueueUrlResult>"),
            "{full}"
        );
        // An action without a result has no result element at all.
        let none = render_response(Operation::DeleteQueue, &serde_json::json!({}), "id");
        assert!(!none.contains("Result"), "{none}");
    }

    #[test]
    fn json_rendering_keeps_the_documents_outline() {
        let out = render_response_json(
            Operation::ListQueues,
            &serde_json::json!({"QueueUrls": ["a", "b"]}),
            "id",
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"ListQueuesResponse":{"ListQueuesResult":{"QueueUrls":["a","b"]},"ResponseMetadata":{"RequestId":"id"}}}"#
        );
    }

    #[test]
    fn entries_numbered_zero_are_refused_not_dropped() {
        for text in [
            "Attribute.0.Name=DelaySeconds&Attribute.0.Value=5",
            "Attribute.1.Name=DelaySeconds&Attribute.1.Value=5&Attribute.01.Name=VisibilityTimeout&Attribute.01.Value=9",
        ] {
            let params = form(text).unwrap();
            let error = params_to_value(Operation::SetQueueAttributes, &params).unwrap_err();
            assert_eq!(error.code, ErrorCode::InvalidParameterValue, "{text}");
            assert!(error.message.contains("numbered from 1"), "{error:?}");
        }
        let params = form("QueueUrl=q&Attribute.1.Name=DelaySeconds&Attribute.1.Value=5").unwrap();
        let value = params_to_value(Operation::SetQueueAttributes, &params).unwrap();
        assert_eq!(value["Attributes"]["DelaySeconds"], "5");
    }
}
