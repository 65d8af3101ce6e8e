//! A policy document read into its typed form, with the grammar IAM checks when a document is
//! stored and IAM's wording of `MalformedPolicyDocument` (IAM User Guide, "IAM JSON policy element
//! reference"). Which elements a statement must or may not carry depends on where the document is
//! attached (`Grammar`).

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::condition::Condition;
use crate::pattern::Pattern;

/// Where a document is attached, which decides its grammar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grammar {
    /// A user's, group's or role's policy (inline or managed), a permissions boundary or a session
    /// policy: no principal; resources required.
    Identity,
    /// A role's trust policy: a principal required; no resources.
    Trust,
    /// A resource's own policy (a queue's `Policy`): a principal required; without resources, a
    /// statement is about the resource the policy is attached to.
    Resource,
    /// A service control policy: as an identity policy.
    ServiceControl,
    /// A resource control policy: a principal required, resources required.
    ResourceControl,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// The original language, without policy variables; a document without `Version` is read so.
    V2008_10_17,
    V2012_10_17,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// Why a document was refused, in IAM's words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    pub message: String,
}

impl std::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PolicyError {}

fn malformed(message: impl Into<String>) -> PolicyError {
    PolicyError {
        message: message.into(),
    }
}

fn syntax() -> PolicyError {
    malformed("Syntax errors in policy.")
}

/// `Principal` or `NotPrincipal`.
#[derive(Clone, Debug, PartialEq)]
pub struct Principals {
    pub negated: bool,
    /// `"*"` or `{"AWS": "*"}`: everyone, anonymous callers included.
    pub everyone: bool,
    /// `AWS` entries as ARNs; a bare account id is kept as its root ARN.
    pub aws: Vec<String>,
    /// `Service`, `Federated` and `CanonicalUser` entries, which name no caller Sluice has.
    pub others: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    pub sid: Option<String>,
    pub effect: Effect,
    pub principals: Option<Principals>,
    /// Lowercase patterns (actions match case-insensitively).
    pub actions: Vec<Pattern>,
    pub not_action: bool,
    /// `None`: the resource the policy is attached to.
    pub resources: Option<Vec<Pattern>>,
    pub not_resource: bool,
    /// All must hold.
    pub conditions: Vec<Condition>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub version: Version,
    pub statements: Vec<Statement>,
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

impl Policy {
    /// Reads and checks a document.
    pub fn parse(text: &str, grammar: Grammar) -> Result<Policy, PolicyError> {
        let document: Value = serde_json::from_str(text)
            .map_err(|_| malformed("This policy contains invalid Json"))?;
        let Value::Object(document) = document else {
            return Err(syntax());
        };
        let mut version = Version::V2008_10_17;
        for (field, value) in &document {
            match field.as_str() {
                "Version" => {
                    version = match value.as_str() {
                        Some("2008-10-17") => Version::V2008_10_17,
                        Some("2012-10-17") => Version::V2012_10_17,
                        _ => return Err(malformed("The policy failed legacy parsing")),
                    }
                }
                "Id" if value.is_string() => {}
                "Statement" => {}
                _ => return Err(syntax()),
            }
        }
        let statements = match document.get("Statement") {
            Some(Value::Object(statement)) => vec![statement],
            Some(Value::Array(list)) if !list.is_empty() => list
                .iter()
                .map(|s| s.as_object().ok_or_else(syntax))
                .collect::<Result<_, _>>()?,
            _ => return Err(syntax()),
        };
        let mut sids = HashSet::new();
        let variables = version == Version::V2012_10_17;
        let statements = statements
            .into_iter()
            .map(|statement| {
                let statement = read_statement(statement, grammar, variables)?;
                if let Some(sid) = statement.sid.as_deref() {
                    if !sid.is_empty() && !sids.insert(sid.to_string()) {
                        return Err(malformed(
                            "Statement IDs (SID) in a single policy must be unique.",
                        ));
                    }
                }
                Ok(statement)
            })
            .collect::<Result<_, _>>()?;
        Ok(Policy {
            version,
            statements,
        })
    }
}

fn read_statement(
    statement: &Map<String, Value>,
    grammar: Grammar,
    variables: bool,
) -> Result<Statement, PolicyError> {
    if let Some(field) = statement
        .keys()
        .find(|f| !STATEMENT_FIELDS.contains(&f.as_str()))
    {
        return Err(malformed(format!("Unknown field {field}")));
    }
    let sid = match statement.get("Sid") {
        None => None,
        Some(Value::String(sid)) => Some(sid.clone()),
        Some(_) => return Err(syntax()),
    };
    let effect = match statement.get("Effect").map(Value::as_str) {
        Some(Some("Allow")) => Effect::Allow,
        Some(Some("Deny")) => Effect::Deny,
        Some(Some(effect)) => return Err(malformed(format!("Invalid effect: {effect}"))),
        Some(None) => return Err(syntax()),
        None => return Err(malformed("Missing required field Effect")),
    };
    let (actions, not_action) = one_of(statement, "Action", "NotAction")?
        .ok_or_else(|| malformed("Policy statement must contain actions."))?;
    let actions = strings(actions)?
        .into_iter()
        .map(|action| {
            let qualified = action == "*"
                || action.split_once(':').is_some_and(|(vendor, name)| {
                    !vendor.is_empty()
                        && vendor
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                        && !name.is_empty()
                });
            if qualified {
                Ok(Pattern::parse(action, false, true))
            } else {
                Err(malformed(
                    "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
                ))
            }
        })
        .collect::<Result<_, _>>()?;
    let principal = one_of(statement, "Principal", "NotPrincipal")?;
    let resources = one_of(statement, "Resource", "NotResource")?;
    let needs_principal = matches!(
        grammar,
        Grammar::Trust | Grammar::Resource | Grammar::ResourceControl
    );
    let principals = match (principal, needs_principal) {
        (Some(_), false) => {
            let field = if statement.contains_key("Principal") {
                "Principal"
            } else {
                "NotPrincipal"
            };
            return Err(malformed(format!("Has prohibited field {field}")));
        }
        (None, true) => return Err(malformed("Missing required field Principal")),
        (None, false) => None,
        (Some((value, negated)), true) => Some(read_principals(value, negated)?),
    };
    let (resources, not_resource) = match (resources, grammar) {
        (Some(_), Grammar::Trust) => {
            let field = if statement.contains_key("Resource") {
                "Resource"
            } else {
                "NotResource"
            };
            return Err(malformed(format!("Has prohibited field {field}")));
        }
        (None, Grammar::Trust | Grammar::Resource) => (None, false),
        (None, _) => return Err(malformed("Policy statement must contain resources.")),
        (Some((value, negated)), _) => {
            let patterns = strings(value)?
                .into_iter()
                .map(|resource| {
                    if resource == "*" || resource.starts_with("arn:") {
                        Ok(Pattern::parse(resource, variables, false))
                    } else {
                        Err(malformed(format!(
                            "Resource {resource} must be in ARN format or \"*\"."
                        )))
                    }
                })
                .collect::<Result<_, _>>()?;
            (Some(patterns), negated)
        }
    };
    let conditions = match statement.get("Condition") {
        None => Vec::new(),
        Some(Value::Object(operators)) => {
            let mut conditions = Vec::new();
            for (operator, keys) in operators {
                let Value::Object(keys) = keys else {
                    return Err(syntax());
                };
                for (key, values) in keys {
                    conditions.push(
                        Condition::parse(operator, key, values, variables).map_err(malformed)?,
                    );
                }
            }
            conditions
        }
        Some(_) => return Err(syntax()),
    };
    Ok(Statement {
        sid,
        effect,
        principals,
        actions,
        not_action,
        resources,
        not_resource,
        conditions,
    })
}

/// The value of `field` or of its negation (with `true`), which a statement may not both carry.
fn one_of<'a>(
    statement: &'a Map<String, Value>,
    field: &str,
    negated: &str,
) -> Result<Option<(&'a Value, bool)>, PolicyError> {
    match (statement.get(field), statement.get(negated)) {
        (Some(_), Some(_)) => Err(syntax()),
        (Some(value), None) => Ok(Some((value, false))),
        (None, Some(value)) => Ok(Some((value, true))),
        (None, None) => Ok(None),
    }
}

/// A string or a non-empty list of strings.
fn strings(value: &Value) -> Result<Vec<&str>, PolicyError> {
    match value {
        Value::String(s) => Ok(vec![s.as_str()]),
        Value::Array(list) if !list.is_empty() => {
            list.iter().map(|v| v.as_str().ok_or_else(syntax)).collect()
        }
        _ => Err(syntax()),
    }
}

fn read_principals(value: &Value, negated: bool) -> Result<Principals, PolicyError> {
    let mut principals = Principals {
        negated,
        everyone: false,
        aws: Vec::new(),
        others: Vec::new(),
    };
    let entries = match value {
        Value::String(s) if s == "*" => {
            principals.everyone = true;
            return Ok(principals);
        }
        Value::Object(entries) if !entries.is_empty() => entries,
        _ => return Err(syntax()),
    };
    for (kind, values) in entries {
        let values = strings(values)?;
        let invalid = || {
            malformed(format!(
                "Invalid principal in policy: \"{kind}\":{}",
                serde_json::to_string(&values).unwrap_or_default()
            ))
        };
        match kind.as_str() {
            "AWS" => {
                for value in &values {
                    match aws_principal(value) {
                        Some(None) => principals.everyone = true,
                        Some(Some(arn)) => principals.aws.push(arn),
                        None => return Err(invalid()),
                    }
                }
            }
            "Service" | "Federated" | "CanonicalUser" => {
                if values.iter().any(|v| v.is_empty()) {
                    return Err(invalid());
                }
                principals
                    .others
                    .extend(values.iter().map(|v| (kind.clone(), v.to_string())));
            }
            _ => return Err(invalid()),
        }
    }
    Ok(principals)
}

/// An `AWS` principal: `Some(None)` for `*`, else its ARN (an account id becomes its root ARN).
fn aws_principal(value: &str) -> Option<Option<String>> {
    if value == "*" {
        return Some(None);
    }
    if sluice_model::is_account_id(value) {
        return Some(Some(format!("arn:aws:iam::{value}:root")));
    }
    let (account, resource) = value
        .strip_prefix("arn:aws:iam::")
        .or_else(|| value.strip_prefix("arn:aws:sts::"))
        .and_then(|rest| rest.split_once(':'))?;
    let valid = sluice_model::is_account_id(account)
        && (resource == "root"
            || ["user/", "role/", "assumed-role/"]
                .iter()
                .any(|kind| resource.len() > kind.len() && resource.starts_with(kind)));
    valid.then(|| Some(value.to_string()))
}
