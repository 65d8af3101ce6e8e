//! Cost-allocation tag rules from the SQS quotas page: keys of 1 to 128 and values of 0 to 256 Unicode
//! characters, letters, digits, white space and `_ . : / = + - @`, never the reserved `aws:` prefix, and
//! at most 50 tags on a queue.

use std::collections::BTreeMap;

use crate::error::QueueError;

pub const MAX_TAGS: usize = 50;
const MAX_KEY: usize = 128;
const MAX_VALUE: usize = 256;

fn allowed(c: char) -> bool {
    (c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c))
        && sluice_model::is_allowed_char(c)
}

fn invalid(name: &str, value: &str, reason: &str) -> QueueError {
    QueueError::InvalidParameterValue {
        name: name.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

pub fn validate_key(key: &str) -> Result<(), QueueError> {
    let len = key.chars().count();
    if len == 0 || len > MAX_KEY {
        return Err(invalid(
            "TagKey",
            key,
            "Tag keys must be between 1 and 128 characters in length.",
        ));
    }
    if !key.chars().all(allowed) {
        return Err(invalid(
            "TagKey",
            key,
            "Tag keys can only include Unicode letters, digits, white space, and _ . : / = + - @",
        ));
    }
    if key.starts_with("aws:") {
        return Err(invalid(
            "TagKey",
            key,
            "Tag keys must not start with the reserved prefix aws:",
        ));
    }
    Ok(())
}

pub fn validate_tags(tags: &BTreeMap<String, String>) -> Result<(), QueueError> {
    for (key, value) in tags {
        validate_key(key)?;
        if value.chars().count() > MAX_VALUE {
            return Err(invalid(
                "TagValue",
                value,
                "Tag values must be at most 256 characters in length.",
            ));
        }
        if !value.chars().all(allowed) {
            return Err(invalid("TagValue", value, "Tag values can only include Unicode letters, digits, white space, and _ . : / = + - @"));
        }
        if value.starts_with("aws:") {
            return Err(invalid(
                "TagValue",
                value,
                "Tag values must not start with the reserved prefix aws:",
            ));
        }
    }
    Ok(())
}

/// The error for a queue that would end up with more than `MAX_TAGS` tags.
pub fn too_many(queue_name: &str) -> QueueError {
    QueueError::InvalidParameter(format!("Too many tags added for queue {queue_name}."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_rules() {
        let one = |k: &str, v: &str| BTreeMap::from([(k.to_string(), v.to_string())]);
        assert!(validate_tags(&one("team", "")).is_ok());
        assert!(validate_tags(&one("Équipe 1:a/b=c+d-e@f_g.h", "vålue")).is_ok());
        assert!(validate_tags(&one("", "v")).is_err());
        assert!(validate_tags(&one(&"k".repeat(129), "v")).is_err());
        assert!(validate_tags(&one("k", &"v".repeat(257))).is_err());
        assert!(validate_tags(&one("k", &"v".repeat(256))).is_ok());
        assert!(validate_tags(&one("aws:owner", "v")).is_err());
        assert!(validate_tags(&one("k", "aws:v")).is_err());
        assert!(validate_tags(&one("k#", "v")).is_err());
        // Vertical tab and form feed are white space, but no XML response could carry them.
        assert!(validate_tags(&one("k", "a\u{b}b")).is_err());
        assert!(validate_tags(&one("k\u{c}", "v")).is_err());
    }
}
