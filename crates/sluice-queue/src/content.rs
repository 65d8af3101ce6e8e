//! What a sent message may contain, and the digests SQS returns for it.
//!
//! Rules from the SendMessage API reference and the message-attributes section of the developer guide:
//! bodies and string values are Unicode from `#x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD |
//! #x10000-#x10FFFF` (the service model, newer than the seed page that spoke of replacing other
//! characters with U+FFFD, says a message with any other character is rejected); at most 10 attributes;
//! names of up to 256 characters that are letters or digits of any script, `_`, `-` or `.` (SQS takes
//! `attr.1øßä`), not starting with `AWS.` or `Amazon.` in any case, not starting or ending with a period
//! and without `..`; types `String`, `Number` or `Binary` with an optional `.suffix`; a message's size is
//! its body plus every attribute's name, type and value.

use md5::{Digest, Md5};
use sluice_model::types::{MessageAttributeMap, MessageAttributeValue};
use sluice_store::{AttributeValue, MessageAttribute};

use crate::error::QueueError;

pub const MAX_ATTRIBUTES: usize = 10;
const MAX_ATTRIBUTE_NAME: usize = 256;
const MAX_DATA_TYPE: usize = 256;
pub const AWS_TRACE_HEADER: &str = "AWSTraceHeader";

/// The first character outside the allowed ranges, written as SQS writes it (`#x7`).
fn invalid_character(c: char, place: &str) -> String {
    format!(
        "Invalid binary character '#x{:X}' was found in the {place}, the set of allowed characters is #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].",
        c as u32
    )
}

/// A body with a character outside the allowed ranges is invalid message contents.
fn invalid_contents(c: char, place: &str) -> QueueError {
    QueueError::InvalidMessageContents(invalid_character(c, place))
}

/// A body must have at least one character, all of them allowed; SQS rejects any other.
pub fn validate_body(body: &str) -> Result<(), QueueError> {
    if body.is_empty() {
        return Err(QueueError::MissingParameter("MessageBody".to_string()));
    }
    if plain_ascii(body.as_bytes()) {
        return Ok(());
    }
    match body.chars().find(|c| !sluice_model::is_allowed_char(*c)) {
        Some(c) => Err(invalid_contents(c, "message body")),
        None => Ok(()),
    }
}

/// Whether every byte is printable ASCII, tab, newline or carriage return, as most bodies are: a scan
/// without early exits over fixed blocks, which the compiler turns into vector code, confirms it
/// without decoding characters.
fn plain_ascii(bytes: &[u8]) -> bool {
    let allowed = |b: u8| (0x20..0x7F).contains(&b) || b == b'\t' || b == b'\n' || b == b'\r';
    let mut blocks = bytes.chunks_exact(64);
    let blocks_ok = blocks
        .by_ref()
        .all(|block| block.iter().fold(true, |ok, &b| ok & allowed(b)));
    blocks_ok && blocks.remainder().iter().all(|&b| allowed(b))
}

fn invalid_attribute(reason: String) -> QueueError {
    QueueError::InvalidParameter(reason)
}

fn validate_name(name: &str, kind: &str) -> Result<(), QueueError> {
    let lower = name.to_ascii_lowercase();
    if name.is_empty() {
        return Err(invalid_attribute(
            "The request must contain non-empty message attribute name.".to_string(),
        ));
    }
    let bad = name.chars().count() > MAX_ATTRIBUTE_NAME
        || !name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '.')
        || name.starts_with('.')
        || name.ends_with('.')
        || name.contains("..")
        || lower.starts_with("aws.")
        || lower.starts_with("amazon.");
    if bad {
        return Err(invalid_attribute(format!(
            "Message ({kind}) attribute name '{name}' is invalid."
        )));
    }
    Ok(())
}

/// `String`, `Number` or `Binary`, optionally followed by `.` and a custom label.
fn base_type(data_type: &str) -> Option<&'static str> {
    let base = data_type.split_once('.').map_or(data_type, |(b, _)| b);
    let label_ok = data_type
        .split_once('.')
        .is_none_or(|(_, label)| !label.is_empty());
    if data_type.len() > MAX_DATA_TYPE || !label_ok {
        return None;
    }
    match base {
        "String" => Some("String"),
        "Number" => Some("Number"),
        "Binary" => Some("Binary"),
        _ => None,
    }
}

/// A number as SQS accepts it: up to 38 significant digits, magnitude between 10^-128 and 10^+126.
fn is_valid_number(text: &str) -> bool {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((m, e)) => match e.parse::<i32>() {
            Ok(e) => (m, e),
            Err(_) => return false,
        },
        None => (unsigned, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if (int_part.is_empty() && frac_part.is_empty())
        || !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return false;
    }
    let digits: String = format!("{int_part}{frac_part}");
    let significant = digits.trim_start_matches('0');
    if significant.is_empty() {
        return true;
    }
    if significant.trim_end_matches('0').len() > 38 {
        return false;
    }
    // The decimal exponent of the leading significant digit. Worked out in i64: the written exponent
    // may be any i32, and the digit counts (bounded by the request size) move it further either way.
    let leading_zeros = (digits.len() - significant.len()) as i64;
    let magnitude = i64::from(exponent) + int_part.len() as i64 - 1 - leading_zeros;
    (-128..=126).contains(&magnitude)
}

/// Checks user message attributes and converts them to stored form, sorted by name.
pub fn user_attributes(given: &MessageAttributeMap) -> Result<Vec<MessageAttribute>, QueueError> {
    if given.len() > MAX_ATTRIBUTES {
        return Err(invalid_attribute(format!(
            "Number of message attributes [{}] exceeds the allowed maximum [{MAX_ATTRIBUTES}].",
            given.len()
        )));
    }
    given
        .iter()
        .map(|(name, value)| attribute(name, value, "user"))
        .collect()
}

/// Checks the system attributes a sender may give (only `AWSTraceHeader`, a string).
pub fn system_attributes(given: &MessageAttributeMap) -> Result<Vec<MessageAttribute>, QueueError> {
    given
        .iter()
        .map(|(name, value)| {
            if name != AWS_TRACE_HEADER {
                return Err(invalid_attribute(format!(
                    "Message system attribute name '{name}' is invalid."
                )));
            }
            if value.data_type != "String" {
                return Err(invalid_attribute(format!(
                    "The type of message system attribute '{name}' is invalid. It must be String."
                )));
            }
            attribute(name, value, "system")
        })
        .collect()
}

/// Adds the `X-Amzn-Trace-Id` header of a SendMessage as its `AWSTraceHeader`, unless the request gave
/// that attribute itself (the explicit attribute wins). A header value a message could not carry is
/// left out rather than failing the send: the header is set by tracing middleware, not by the sender.
pub fn with_trace_header(
    mut given: Vec<MessageAttribute>,
    header: Option<&str>,
) -> Vec<MessageAttribute> {
    let Some(header) = header else {
        return given;
    };
    let usable = !header.is_empty() && header.chars().all(sluice_model::is_allowed_char);
    if usable && !given.iter().any(|a| a.name == AWS_TRACE_HEADER) {
        given.push(MessageAttribute {
            name: AWS_TRACE_HEADER.to_string(),
            data_type: "String".to_string(),
            value: AttributeValue::String(header.to_string()),
        });
    }
    given
}

fn attribute(
    name: &str,
    value: &MessageAttributeValue,
    kind: &str,
) -> Result<MessageAttribute, QueueError> {
    validate_name(name, kind)?;
    let Some(base) = base_type(&value.data_type) else {
        return Err(invalid_attribute(format!(
            "The type of message ({kind}) attribute '{name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String."
        )));
    };
    let stored = match base {
        "Binary" => match &value.binary_value {
            Some(bytes) if !bytes.0.is_empty() && value.string_value.is_none() => AttributeValue::Binary(bytes.0.clone()),
            _ => {
                return Err(invalid_attribute(format!(
                    "Message ({kind}) attribute '{name}' must contain a non-empty value of type 'Binary'."
                )))
            }
        },
        _ => match &value.string_value {
            Some(text) if !text.is_empty() && value.binary_value.is_none() => {
                // Unlike a body, a value with a character outside the allowed ranges is an invalid
                // parameter value to SQS.
                if let Some(c) = text.chars().find(|c| !sluice_model::is_allowed_char(*c)) {
                    return Err(invalid_attribute(invalid_character(
                        c,
                        &format!("message attribute '{name}'"),
                    )));
                }
                if base == "Number" && !is_valid_number(text) {
                    return Err(invalid_attribute(format!(
                        "Can't cast the value of message ({kind}) attribute '{name}' to a number."
                    )));
                }
                AttributeValue::String(text.clone())
            }
            _ => {
                return Err(invalid_attribute(format!(
                    "Message ({kind}) attribute '{name}' must contain a non-empty value of type '{base}'."
                )))
            }
        },
    };
    Ok(MessageAttribute {
        name: name.to_string(),
        data_type: value.data_type.clone(),
        value: stored,
    })
}

/// The bytes a message counts against `MaximumMessageSize`: body, and each user attribute's name, type
/// and value. System attributes do not count.
pub fn message_size(body: &str, attributes: &[MessageAttribute]) -> usize {
    body.len()
        + attributes
            .iter()
            .map(|a| {
                a.name.len()
                    + a.data_type.len()
                    + match &a.value {
                        AttributeValue::String(s) => s.len(),
                        AttributeValue::Binary(b) => b.len(),
                    }
            })
            .sum::<usize>()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&sha2::Sha256::digest(bytes))
}

pub fn md5_hex(bytes: &[u8]) -> String {
    hex(&Md5::digest(bytes))
}

/// The digest SQS returns as `MD5OfMessageAttributes` (and `MD5OfMessageSystemAttributes`): over the
/// attributes sorted by name, each written as its length-prefixed name, length-prefixed type, a transport
/// byte (1 for string values, 2 for binary) and its length-prefixed value, lengths as 4-byte big-endian.
/// `None` when there are no attributes.
pub fn md5_of_attributes<'a>(
    attributes: impl IntoIterator<Item = &'a MessageAttribute>,
) -> Option<String> {
    let mut sorted: Vec<&MessageAttribute> = attributes.into_iter().collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut hasher = Md5::new();
    for attribute in sorted {
        put_prefixed(&mut hasher, attribute.name.as_bytes());
        put_prefixed(&mut hasher, attribute.data_type.as_bytes());
        match &attribute.value {
            AttributeValue::String(s) => {
                hasher.update([1u8]);
                put_prefixed(&mut hasher, s.as_bytes());
            }
            AttributeValue::Binary(b) => {
                hasher.update([2u8]);
                put_prefixed(&mut hasher, b);
            }
        }
    }
    Some(hex(&hasher.finalize()))
}

fn put_prefixed(hasher: &mut Md5, bytes: &[u8]) {
    hasher.update((bytes.len() as u32).to_be_bytes());
    hasher.update(bytes);
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string_attr(name: &str, data_type: &str, value: &str) -> MessageAttribute {
        MessageAttribute {
            name: name.into(),
            data_type: data_type.into(),
            value: AttributeValue::String(value.into()),
        }
    }

    #[test]
    fn digests_match_the_api_reference_examples() {
        // SendMessage API reference: "This is a test message" -> fafb00f5732ab283681e124bf8747ed1.
        assert_eq!(
            md5_hex(b"This is a test message"),
            "fafb00f5732ab283681e124bf8747ed1"
        );
        // SendMessage API reference: two String attributes -> c48838208d2b4e14e3ca0093a8443f09.
        let attributes = [
            string_attr("my_attribute_name_1", "String", "my_attribute_value_1"),
            string_attr("my_attribute_name_2", "String", "my_attribute_value_2"),
        ];
        assert_eq!(
            md5_of_attributes(&attributes).as_deref(),
            Some("c48838208d2b4e14e3ca0093a8443f09")
        );
    }

    #[test]
    fn attribute_digest_is_order_independent_and_covers_every_field() {
        let a = string_attr("a", "String", "1");
        let b = MessageAttribute {
            name: "b".into(),
            data_type: "Binary".into(),
            value: AttributeValue::Binary(vec![0, 1, 2]),
        };
        let forward = md5_of_attributes([&a, &b]);
        assert_eq!(forward, md5_of_attributes([&b, &a]));
        assert_ne!(
            forward,
            md5_of_attributes([&string_attr("a", "String", "2"), &b])
        );
        assert_ne!(
            forward,
            md5_of_attributes([&string_attr("a", "Number", "1"), &b])
        );
        assert_eq!(md5_of_attributes([]), None);
        // One string attribute, worked by hand: name "a", type "String", transport 1, value "1".
        let mut bytes = Vec::new();
        for part in [&b"a"[..], b"String"] {
            bytes.extend((part.len() as u32).to_be_bytes());
            bytes.extend(part);
        }
        bytes.push(1);
        bytes.extend(1u32.to_be_bytes());
        bytes.push(b'1');
        assert_eq!(md5_of_attributes([&a]), Some(md5_hex(&bytes)));
    }

    #[test]
    fn bodies_with_characters_outside_the_allowed_set_are_rejected() {
        assert!(validate_body("ok \t\r\n\u{10FFFF}").is_ok());
        let err = validate_body("a\u{7}b").unwrap_err();
        assert!(
            matches!(&err, QueueError::InvalidMessageContents(m) if m.starts_with("Invalid binary character '#x7' was found in the message body"))
        );
        assert!(matches!(
            validate_body("\u{FFFE}"),
            Err(QueueError::InvalidMessageContents(_))
        ));
        assert!(matches!(
            validate_body(""),
            Err(QueueError::MissingParameter(_))
        ));
    }

    #[test]
    fn a_forbidden_byte_is_found_in_any_block_and_in_the_tail() {
        for len in [1, 63, 64, 65, 200] {
            for at in [0, len / 2, len - 1] {
                let mut body = vec![b'x'; len];
                body[at] = 0x1F;
                let body = String::from_utf8(body).expect("ascii");
                assert!(validate_body(&body).is_err(), "len {len}, at {at}");
            }
            assert!(validate_body(&"y".repeat(len)).is_ok());
        }
    }

    /// Names with letters outside ASCII were refused; SQS takes letters of any script.
    #[test]
    fn attribute_names_take_letters_of_any_script() {
        let value = MessageAttributeValue {
            string_value: Some("v".into()),
            data_type: "String".into(),
            ..Default::default()
        };
        for ok in [
            "attr.1\u{f8}\u{df}\u{e4}",
            "\u{540d}\u{524d}",
            "\u{0438}\u{043c}\u{044f}-2",
        ] {
            assert!(attribute(ok, &value, "user").is_ok(), "{ok}");
        }
        assert!(attribute(&"\u{e4}".repeat(256), &value, "user").is_ok());
        assert!(attribute(&"\u{e4}".repeat(257), &value, "user").is_err());
    }

    /// A string value with a character outside the allowed ranges was answered InvalidMessageContents;
    /// SQS answers InvalidParameterValue (a body keeps InvalidMessageContents).
    #[test]
    fn a_forbidden_character_in_an_attribute_value_is_an_invalid_parameter_value() {
        let value = MessageAttributeValue {
            string_value: Some("a\u{1}b".into()),
            data_type: "String".into(),
            ..Default::default()
        };
        let err = attribute("n", &value, "user").unwrap_err();
        assert!(
            matches!(&err, QueueError::InvalidParameter(m) if m.starts_with("Invalid binary character '#x1' was found in the message attribute 'n'")),
            "{err:?}"
        );
    }

    #[test]
    fn digests_are_written_in_lowercase_hex() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn numbers_follow_sqs_precision_and_range() {
        for ok in [
            "0",
            "-1",
            "+3.25",
            "1e10",
            "0.0001",
            "123456789012345678901234567890123456.78",
            "1e126",
            "1e-128",
        ] {
            assert!(is_valid_number(ok), "{ok}");
        }
        for bad in [
            "",
            "abc",
            "1.2.3",
            "1e",
            "--1",
            "1234567890123456789012345678901234567890",
            "1e127",
            "1e-129",
            ".",
        ] {
            assert!(!is_valid_number(bad), "{bad}");
        }
    }

    #[test]
    fn extreme_exponents_are_out_of_range_not_an_overflow() {
        for bad in [
            "0.01e-2147483648",
            "1e-2147483648",
            "-0.001e-2147483647",
            "10e2147483647",
            "12345.6e2147483647",
            "1e2147483648",
        ] {
            assert!(!is_valid_number(bad), "{bad}");
        }
        assert!(is_valid_number("0e-2147483648"));
        assert!(is_valid_number("0.0000000001e-118"));
        assert!(!is_valid_number("0.0000000001e-119"));
    }

    #[test]
    fn attribute_names_and_types_are_checked() {
        let value = |t: &str| MessageAttributeValue {
            string_value: Some("v".into()),
            data_type: t.into(),
            ..Default::default()
        };
        for bad in [
            "AWS.x", "amazon.x", "aMaZoN.x", ".x", "x.", "a..b", "a b", "a/b", "a\u{e9}!", "",
        ] {
            assert!(attribute(bad, &value("String"), "user").is_err(), "{bad}");
        }
        assert!(attribute(&"n".repeat(256), &value("String"), "user").is_ok());
        assert!(attribute(&"n".repeat(257), &value("String"), "user").is_err());
        for ok in ["String", "Number.int", "String.custom"] {
            let v = if ok.starts_with("Number") {
                MessageAttributeValue {
                    string_value: Some("5".into()),
                    ..value(ok)
                }
            } else {
                value(ok)
            };
            assert!(attribute("n", &v, "user").is_ok(), "{ok}");
        }
        for bad in ["Str", "string", "String.", "Binary"] {
            assert!(attribute("n", &value(bad), "user").is_err(), "{bad}");
        }
    }
}
