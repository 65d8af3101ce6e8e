//! The grammar of IAM policy documents, checked when a document is stored, with IAM's wording of
//! `MalformedPolicyDocument`; and policy sizes as IAM's quotas count them. What a statement means is
//! decided where policies are evaluated, not here.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::error::SecurityError;

/// Which grammar a document follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocumentKind {
    /// Attached to a user, group or role (inline or managed), or passed as a session policy: no
    /// principal, resources required.
    Identity,
    /// A role's trust policy: a principal required, no resources.
    Trust,
}

const STATEMENT_FIELDS: &[&str] = &[
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

fn malformed(message: impl Into<String>) -> SecurityError {
    SecurityError::malformed_policy(message)
}

fn syntax() -> SecurityError {
    malformed("Syntax errors in policy.")
}

/// Parses and checks a document; returns its statements.
pub fn validate(text: &str, kind: DocumentKind) -> Result<Vec<Map<String, Value>>, SecurityError> {
    let document: Value =
        serde_json::from_str(text).map_err(|_| malformed("This policy contains invalid Json"))?;
    let Value::Object(document) = document else {
        return Err(syntax());
    };
    for (field, value) in &document {
        match field.as_str() {
            "Version" => {
                if !matches!(value.as_str(), Some("2008-10-17" | "2012-10-17")) {
                    return Err(malformed("The policy failed legacy parsing"));
                }
            }
            "Id" if value.is_string() => {}
            "Statement" => {}
            _ => return Err(syntax()),
        }
    }
    let statements = match document.get("Statement") {
        Some(Value::Object(statement)) => vec![statement.clone()],
        Some(Value::Array(list)) if !list.is_empty() => list
            .iter()
            .map(|s| s.as_object().cloned().ok_or_else(syntax))
            .collect::<Result<_, _>>()?,
        _ => return Err(syntax()),
    };
    let mut sids = HashSet::new();
    for statement in &statements {
        check_statement(statement, kind)?;
        if let Some(sid) = statement.get("Sid") {
            let sid = sid.as_str().ok_or_else(syntax)?;
            if !sid.is_empty() && !sids.insert(sid) {
                return Err(malformed(
                    "Statement IDs (SID) in a single policy must be unique.",
                ));
            }
        }
    }
    Ok(statements)
}

fn check_statement(
    statement: &Map<String, Value>,
    kind: DocumentKind,
) -> Result<(), SecurityError> {
    if let Some(field) = statement
        .keys()
        .find(|f| !STATEMENT_FIELDS.contains(&f.as_str()))
    {
        return Err(malformed(format!("Unknown field {field}")));
    }
    match statement.get("Effect").map(Value::as_str) {
        Some(Some("Allow" | "Deny")) => {}
        Some(Some(effect)) => return Err(malformed(format!("Invalid effect: {effect}"))),
        Some(None) => return Err(syntax()),
        None => return Err(malformed("Missing required field Effect")),
    }
    let actions = one_of(statement, "Action", "NotAction")?
        .ok_or_else(|| malformed("Policy statement must contain actions."))?;
    for action in strings(actions)? {
        let qualified = action == "*"
            || action.split_once(':').is_some_and(|(vendor, name)| {
                !vendor.is_empty()
                    && vendor
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && !name.is_empty()
            });
        if !qualified {
            return Err(malformed(
                "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
            ));
        }
    }
    let principal = one_of(statement, "Principal", "NotPrincipal")?;
    let resources = one_of(statement, "Resource", "NotResource")?;
    match kind {
        DocumentKind::Identity => {
            if let Some(field) = ["Principal", "NotPrincipal"]
                .into_iter()
                .find(|f| statement.contains_key(*f))
            {
                return Err(malformed(format!("Has prohibited field {field}")));
            }
            let resources =
                resources.ok_or_else(|| malformed("Policy statement must contain resources."))?;
            for resource in strings(resources)? {
                if resource != "*" && !resource.starts_with("arn:") {
                    return Err(malformed(format!(
                        "Resource {resource} must be in ARN format or \"*\"."
                    )));
                }
            }
        }
        DocumentKind::Trust => {
            if let Some(field) = ["Resource", "NotResource"]
                .into_iter()
                .find(|f| statement.contains_key(*f))
            {
                return Err(malformed(format!("Has prohibited field {field}")));
            }
            check_principal(
                principal.ok_or_else(|| malformed("Missing required field Principal"))?,
            )?;
        }
    }
    if let Some(condition) = statement.get("Condition") {
        check_condition(condition)?;
    }
    Ok(())
}

/// The value of `field` or of its negation, which a statement may not both carry.
fn one_of<'a>(
    statement: &'a Map<String, Value>,
    field: &str,
    negated: &str,
) -> Result<Option<&'a Value>, SecurityError> {
    match (statement.get(field), statement.get(negated)) {
        (Some(_), Some(_)) => Err(syntax()),
        (value, negation) => Ok(value.or(negation)),
    }
}

/// A string or a non-empty list of strings.
pub fn strings(value: &Value) -> Result<Vec<&str>, SecurityError> {
    match value {
        Value::String(s) => Ok(vec![s.as_str()]),
        Value::Array(list) if !list.is_empty() => {
            list.iter().map(|v| v.as_str().ok_or_else(syntax)).collect()
        }
        _ => Err(syntax()),
    }
}

fn check_principal(principal: &Value) -> Result<(), SecurityError> {
    let entries = match principal {
        Value::String(s) if s == "*" => return Ok(()),
        Value::Object(entries) if !entries.is_empty() => entries,
        _ => return Err(syntax()),
    };
    for (kind, values) in entries {
        let values = strings(values)?;
        let valid = match kind.as_str() {
            "AWS" => values.iter().all(|v| is_aws_principal(v)),
            "Service" | "Federated" | "CanonicalUser" => values.iter().all(|v| !v.is_empty()),
            _ => false,
        };
        if !valid {
            return Err(malformed(format!(
                "Invalid principal in policy: \"{kind}\":{}",
                serde_json::to_string(&values).unwrap_or_default()
            )));
        }
    }
    Ok(())
}

fn is_aws_principal(value: &str) -> bool {
    if value == "*" || is_account_id(value) {
        return true;
    }
    let (account, resource) = match value
        .strip_prefix("arn:aws:iam::")
        .or_else(|| value.strip_prefix("arn:aws:sts::"))
        .and_then(|rest| rest.split_once(':'))
    {
        Some(parts) => parts,
        None => return false,
    };
    is_account_id(account)
        && (resource == "root"
            || ["user/", "role/", "assumed-role/"]
                .iter()
                .any(|kind| resource.len() > kind.len() && resource.starts_with(kind)))
}

pub fn is_account_id(value: &str) -> bool {
    value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit())
}

fn check_condition(condition: &Value) -> Result<(), SecurityError> {
    let Value::Object(operators) = condition else {
        return Err(syntax());
    };
    for keys in operators.values() {
        let Value::Object(keys) = keys else {
            return Err(syntax());
        };
        for value in keys.values() {
            let scalar = |v: &Value| v.is_string() || v.is_number() || v.is_boolean();
            let valid = match value {
                Value::Array(list) => list.iter().all(scalar),
                other => scalar(other),
            };
            if !valid {
                return Err(syntax());
            }
        }
    }
    Ok(())
}

/// A document's size as IAM's quotas count it: whitespace is not counted.
pub fn size(text: &str) -> usize {
    text.chars().filter(|c| !c.is_whitespace()).count()
}

/// Quotas on policy sizes.
pub const MANAGED_POLICY_SIZE: usize = 6144;
pub const USER_INLINE_SIZE: usize = 2048;
pub const GROUP_INLINE_SIZE: usize = 5120;
pub const ROLE_INLINE_SIZE: usize = 10240;
pub const TRUST_POLICY_SIZE: usize = 2048;

#[cfg(test)]
mod tests {
    use super::*;

    fn message(text: &str, kind: DocumentKind) -> String {
        validate(text, kind).unwrap_err().message
    }

    #[test]
    fn identity_policies_need_actions_and_resources() {
        let ok = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:*","Resource":"*"}]}"#;
        assert!(validate(ok, DocumentKind::Identity).is_ok());
        assert_eq!(
            message(
                r#"{"Statement":{"Effect":"Allow","Action":"sqs:*"}}"#,
                DocumentKind::Identity
            ),
            "Policy statement must contain resources."
        );
        assert_eq!(
            message(
                r#"{"Statement":{"Effect":"Allow","Resource":"*"}}"#,
                DocumentKind::Identity
            ),
            "Policy statement must contain actions."
        );
        assert_eq!(
            message(
                r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}}"#,
                DocumentKind::Identity
            ),
            "Has prohibited field Principal"
        );
        assert_eq!(
            message(
                r#"{"Statement":{"Effect":"Allow","Action":"get","Resource":"*"}}"#,
                DocumentKind::Identity
            ),
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
        );
    }

    #[test]
    fn documents_must_be_json_objects_of_a_known_version() {
        assert_eq!(
            message("{", DocumentKind::Identity),
            "This policy contains invalid Json"
        );
        assert_eq!(
            message("[]", DocumentKind::Identity),
            "Syntax errors in policy."
        );
        assert_eq!(
            message(
                r#"{"Version":"2020-01-01","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
                DocumentKind::Identity
            ),
            "The policy failed legacy parsing"
        );
        assert_eq!(
            message(
                r#"{"Statement":{"Effect":"Maybe","Action":"*","Resource":"*"}}"#,
                DocumentKind::Identity
            ),
            "Invalid effect: Maybe"
        );
    }

    #[test]
    fn trust_policies_need_a_principal_and_no_resource() {
        let ok = r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":["111122223333","arn:aws:iam::111122223333:role/r"]},"Action":"sts:AssumeRole"}}"#;
        assert!(validate(ok, DocumentKind::Trust).is_ok());
        assert_eq!(
            message(
                r#"{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole"}}"#,
                DocumentKind::Trust
            ),
            "Missing required field Principal"
        );
        assert_eq!(
            message(
                r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Resource":"*"}}"#,
                DocumentKind::Trust
            ),
            "Has prohibited field Resource"
        );
        assert!(message(
            r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"bob"},"Action":"sts:AssumeRole"}}"#,
            DocumentKind::Trust
        )
        .starts_with("Invalid principal in policy"));
    }

    #[test]
    fn sids_are_unique_and_whitespace_is_not_counted() {
        let twice = r#"{"Statement":[{"Sid":"a","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"a","Effect":"Deny","Action":"*","Resource":"*"}]}"#;
        assert_eq!(
            message(twice, DocumentKind::Identity),
            "Statement IDs (SID) in a single policy must be unique."
        );
        assert_eq!(size("{ \"a\" :\n 1 }"), 7);
    }
}
