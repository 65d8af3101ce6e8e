//! The queue policy document that AddPermission and RemovePermission edit, written as SQS writes it:
//! `{"Version":"2008-10-17","Id":"<queue arn>/SQSDefaultPolicy","Statement":[...]}` with one statement per
//! label, principals as `arn:aws:iam::<account>:root` and actions as `SQS:<Action>`; a single principal or
//! action is a bare string, several are an array.
//!
//! Every policy a queue keeps, set as the `Policy` attribute or built by AddPermission, stays within the
//! SQS policy quotas (developer guide, "Amazon SQS policy quotas"): 8,192 bytes, 20 statements, 7 actions
//! in a statement, 50 principals and 10 conditions. The page gives the last two per policy, so they are
//! counted over all statements; a condition is one key under one operator. SQS answers each with
//! `OverLimit`, whichever action submitted the policy.

use serde_json::{json, Map, Value};

use crate::error::QueueError;

/// The actions AddPermission may grant. SendMessage, DeleteMessage and ChangeMessageVisibility also cover
/// their batch forms.
const GRANTABLE_ACTIONS: &[&str] = &[
    "*",
    "SendMessage",
    "ReceiveMessage",
    "DeleteMessage",
    "ChangeMessageVisibility",
    "GetQueueAttributes",
    "GetQueueUrl",
    "ListDeadLetterSourceQueues",
    "PurgeQueue",
];

const MAX_BYTES: usize = 8192;
const MAX_ACTIONS_PER_STATEMENT: usize = 7;
const MAX_STATEMENTS: usize = 20;
const MAX_PRINCIPALS: usize = 50;
const MAX_CONDITIONS: usize = 10;
const MAX_LABEL: usize = 80;

fn invalid(name: &str, value: &str, reason: &str) -> QueueError {
    QueueError::InvalidParameterValue {
        name: name.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

/// Checks AddPermission's arguments.
pub fn validate_grant(
    label: &str,
    accounts: &[String],
    actions: &[String],
) -> Result<(), QueueError> {
    if label.is_empty()
        || label.len() > MAX_LABEL
        || !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(invalid(
            "Label",
            label,
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
        ));
    }
    if accounts.is_empty() {
        return Err(QueueError::MissingParameter("AWSAccountId".to_string()));
    }
    if actions.is_empty() {
        return Err(QueueError::MissingParameter("ActionName".to_string()));
    }
    for account in accounts {
        if !sluice_model::is_account_id(account) {
            return Err(invalid(
                "PrincipalId",
                account,
                "Unable to verify principal.",
            ));
        }
    }
    for action in actions {
        if !GRANTABLE_ACTIONS.contains(&action.as_str()) {
            return Err(invalid(
                "ActionName",
                &format!("SQS:{action}"),
                "Please refer to the appropriate WSDL for a list of valid actions.",
            ));
        }
    }
    if actions.len() > MAX_ACTIONS_PER_STATEMENT {
        return Err(QueueError::OverLimit(format!(
            "{} actions were found in a statement from the submitted policy, max allowed is {MAX_ACTIONS_PER_STATEMENT}",
            actions.len()
        )));
    }
    Ok(())
}

/// The size limit, checked on the document as submitted before anything reads it.
pub fn check_size(document: &str) -> Result<(), QueueError> {
    if document.len() > MAX_BYTES {
        return Err(QueueError::OverLimit(
            "Submitted policy is over max allowed size.".to_string(),
        ));
    }
    Ok(())
}

/// The statements of a policy: a single statement may be written as an object instead of a list.
fn statement_list(policy: &Map<String, Value>) -> Vec<&Value> {
    match policy.get("Statement") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(single) => vec![single],
        None => Vec::new(),
    }
}

/// How many entries a string-or-list element holds.
fn entries(element: Option<&Value>) -> usize {
    match element {
        Some(Value::Array(list)) => list.len(),
        Some(_) => 1,
        None => 0,
    }
}

/// `"*"` is one principal; `{"AWS": [...], "Service": ...}` holds the entries of each kind.
fn principals(statement: &Value) -> usize {
    match statement
        .get("Principal")
        .or_else(|| statement.get("NotPrincipal"))
    {
        Some(Value::Object(kinds)) => kinds.values().map(|v| entries(Some(v))).sum(),
        other => entries(other),
    }
}

/// `{"StringEquals": {"aws:SourceArn": ..., "aws:SourceAccount": ...}}` holds two conditions.
fn conditions(statement: &Value) -> usize {
    match statement.get("Condition") {
        Some(Value::Object(operators)) => operators
            .values()
            .map(|keys| keys.as_object().map_or(1, Map::len))
            .sum(),
        other => entries(other),
    }
}

/// The limits on what a policy holds: statements, actions in each, principals and conditions.
pub fn check_limits(policy: &Map<String, Value>) -> Result<(), QueueError> {
    let statements = statement_list(policy);
    if statements.len() > MAX_STATEMENTS {
        return Err(QueueError::OverLimit(format!(
            "{} statements were found in the submitted policy, max allowed is {MAX_STATEMENTS}",
            statements.len()
        )));
    }
    for statement in &statements {
        let actions = entries(
            statement
                .get("Action")
                .or_else(|| statement.get("NotAction")),
        );
        if actions > MAX_ACTIONS_PER_STATEMENT {
            return Err(QueueError::OverLimit(format!(
                "{actions} actions were found in a statement from the submitted policy, max allowed is {MAX_ACTIONS_PER_STATEMENT}"
            )));
        }
    }
    let principal_count: usize = statements.iter().map(|s| principals(s)).sum();
    if principal_count > MAX_PRINCIPALS {
        return Err(QueueError::OverLimit(format!(
            "{principal_count} principals were found in the submitted policy, max allowed is {MAX_PRINCIPALS}"
        )));
    }
    let condition_count: usize = statements.iter().map(|s| conditions(s)).sum();
    if condition_count > MAX_CONDITIONS {
        return Err(QueueError::OverLimit(format!(
            "{condition_count} conditions were found in the submitted policy, max allowed is {MAX_CONDITIONS}"
        )));
    }
    Ok(())
}

fn one_or_many(items: Vec<String>) -> Value {
    if items.len() == 1 {
        Value::String(items.into_iter().next().unwrap_or_default())
    } else {
        Value::Array(items.into_iter().map(Value::String).collect())
    }
}

fn statements(policy: &mut Map<String, Value>) -> &mut Vec<Value> {
    let entry = policy
        .entry("Statement")
        .or_insert_with(|| Value::Array(Vec::new()));
    if !entry.is_array() {
        // A single statement written as an object (allowed by the policy grammar) becomes a list of one.
        let single = entry.take();
        *entry = Value::Array(vec![single]);
    }
    match entry {
        Value::Array(list) => list,
        _ => unreachable!("made an array just above"),
    }
}

fn has_label(statements: &[Value], label: &str) -> bool {
    statements
        .iter()
        .any(|s| s.get("Sid").and_then(Value::as_str) == Some(label))
}

/// Adds a statement for `label` to the queue's policy (or a new policy), returning the new document.
pub fn add_permission(
    existing: Option<&str>,
    queue_arn: &str,
    label: &str,
    accounts: &[String],
    actions: &[String],
) -> Result<String, QueueError> {
    let mut policy = match existing.map(serde_json::from_str::<Value>) {
        Some(Ok(Value::Object(map))) => map,
        _ => {
            let mut map = Map::new();
            map.insert("Version".into(), json!("2008-10-17"));
            map.insert("Id".into(), json!(format!("{queue_arn}/SQSDefaultPolicy")));
            map
        }
    };
    let list = statements(&mut policy);
    if has_label(list, label) {
        return Err(invalid("Label", label, "Already exists."));
    }
    let principals = accounts
        .iter()
        .map(|a| format!("arn:aws:iam::{a}:root"))
        .collect();
    let granted = actions.iter().map(|a| format!("SQS:{a}")).collect();
    let mut statement = Map::new();
    statement.insert("Sid".into(), json!(label));
    statement.insert("Effect".into(), json!("Allow"));
    statement.insert(
        "Principal".into(),
        json!({ "AWS": one_or_many(principals) }),
    );
    statement.insert("Action".into(), one_or_many(granted));
    statement.insert("Resource".into(), json!(queue_arn));
    list.push(Value::Object(statement));
    check_limits(&policy)?;
    let document = Value::Object(policy).to_string();
    check_size(&document)?;
    Ok(document)
}

/// Removes the statement for `label`; the policy itself goes when its last statement does.
pub fn remove_permission(
    existing: Option<&str>,
    label: &str,
) -> Result<Option<String>, QueueError> {
    let not_found = || invalid("Label", label, "can't find label.");
    let Some(Ok(Value::Object(mut policy))) = existing.map(serde_json::from_str::<Value>) else {
        return Err(not_found());
    };
    let list = statements(&mut policy);
    if !has_label(list, label) {
        return Err(not_found());
    }
    list.retain(|s| s.get("Sid").and_then(Value::as_str) != Some(label));
    if list.is_empty() {
        return Ok(None);
    }
    Ok(Some(Value::Object(policy).to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:sqs:us-east-1:000000000000:q";

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn first_permission_writes_the_document_aws_writes() {
        let doc = add_permission(
            None,
            ARN,
            "L",
            &strings(&["111122223333"]),
            &strings(&["*"]),
        )
        .unwrap();
        assert_eq!(
            doc,
            r#"{"Version":"2008-10-17","Id":"arn:aws:sqs:us-east-1:000000000000:q/SQSDefaultPolicy","Statement":[{"Sid":"L","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"SQS:*","Resource":"arn:aws:sqs:us-east-1:000000000000:q"}]}"#
        );
    }

    #[test]
    fn several_principals_and_actions_are_arrays_and_labels_are_unique() {
        let accounts = strings(&["111122223333", "444455556666"]);
        let actions = strings(&["SendMessage", "ReceiveMessage"]);
        let doc = add_permission(None, ARN, "A", &accounts, &actions).unwrap();
        let value: Value = serde_json::from_str(&doc).unwrap();
        assert_eq!(
            value["Statement"][0]["Action"],
            json!(["SQS:SendMessage", "SQS:ReceiveMessage"])
        );
        assert_eq!(
            value["Statement"][0]["Principal"]["AWS"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        assert!(add_permission(Some(&doc), ARN, "A", &accounts, &actions).is_err());
        let two = add_permission(Some(&doc), ARN, "B", &accounts, &actions).unwrap();
        let one = remove_permission(Some(&two), "A").unwrap().unwrap();
        assert!(one.contains("\"Sid\":\"B\"") && !one.contains("\"Sid\":\"A\""));
        assert_eq!(remove_permission(Some(&one), "B").unwrap(), None);
        assert!(remove_permission(Some(&one), "missing").is_err());
        assert!(remove_permission(None, "B").is_err());
    }

    fn over_limit(result: Result<impl std::fmt::Debug, QueueError>) -> String {
        match result {
            Err(QueueError::OverLimit(message)) => message,
            other => panic!("not over limit: {other:?}"),
        }
    }

    fn limits_of(document: &Value) -> Result<(), QueueError> {
        check_limits(document.as_object().expect("an object"))
    }

    #[test]
    fn policies_hold_at_most_fifty_principals() {
        let accounts = |n: usize| -> Vec<Value> {
            (0..n)
                .map(|i| json!(format!("arn:aws:iam::{:012}:root", i)))
                .collect()
        };
        // Counted over the whole policy, "*" being one.
        let document = |n: usize| {
            json!({"Statement": [
                {"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage"},
                {"Effect": "Allow", "Principal": {"AWS": accounts(n), "Service": "sns.amazonaws.com"},
                 "Action": "sqs:SendMessage"},
            ]})
        };
        assert!(limits_of(&document(48)).is_ok());
        assert_eq!(
            over_limit(limits_of(&document(49))),
            "51 principals were found in the submitted policy, max allowed is 50"
        );
        let many = strings(&["111122223333"; 51]);
        assert_eq!(
            over_limit(add_permission(None, ARN, "L", &many, &strings(&["*"]))),
            "51 principals were found in the submitted policy, max allowed is 50"
        );
    }

    #[test]
    fn policies_hold_at_most_ten_conditions() {
        let keys = |n: usize| -> Map<String, Value> {
            (0..n)
                .map(|i| (format!("aws:SourceArn{i}"), json!("x")))
                .collect()
        };
        let document = |n: usize| {
            json!({"Statement": [
                {"Effect": "Allow", "Condition": {"StringEquals": keys(n), "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}},
                {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
            ]})
        };
        assert!(limits_of(&document(8)).is_ok());
        assert_eq!(
            over_limit(limits_of(&document(9))),
            "11 conditions were found in the submitted policy, max allowed is 10"
        );
    }

    #[test]
    fn policies_hold_at_most_8192_bytes() {
        assert!(check_size(&"x".repeat(8192)).is_ok());
        assert_eq!(
            over_limit(check_size(&"x".repeat(8193))),
            "Submitted policy is over max allowed size."
        );
        // AddPermission refuses a statement that would take the document over the limit, and the
        // document stays as it was.
        let accounts = strings(&["111122223333", "444455556666"]);
        let actions = strings(&[
            "SendMessage",
            "ReceiveMessage",
            "DeleteMessage",
            "ChangeMessageVisibility",
            "GetQueueAttributes",
            "GetQueueUrl",
            "ListDeadLetterSourceQueues",
        ]);
        let mut document: Option<String> = None;
        for i in 0.. {
            let label = format!("{i:0>80}");
            match add_permission(document.as_deref(), ARN, &label, &accounts, &actions) {
                Ok(grown) => document = Some(grown),
                Err(e) => {
                    assert_eq!(
                        over_limit(Err::<(), _>(e)),
                        "Submitted policy is over max allowed size."
                    );
                    break;
                }
            }
        }
        let kept = document.expect("some statements fit");
        assert!(
            kept.len() <= 8192 && kept.len() > 8192 - 600,
            "{}",
            kept.len()
        );
    }

    #[test]
    fn add_permission_stops_at_twenty_statements() {
        let accounts = strings(&["111122223333"]);
        let actions = strings(&["SendMessage"]);
        let mut document = None;
        for i in 0..20 {
            document = Some(
                add_permission(
                    document.as_deref(),
                    ARN,
                    &format!("L{i}"),
                    &accounts,
                    &actions,
                )
                .unwrap(),
            );
        }
        assert_eq!(
            over_limit(add_permission(
                document.as_deref(),
                ARN,
                "L20",
                &accounts,
                &actions
            )),
            "21 statements were found in the submitted policy, max allowed is 20"
        );
    }

    #[test]
    fn grants_are_checked() {
        let ok = strings(&["111122223333"]);
        assert!(validate_grant("bad label", &ok, &strings(&["*"])).is_err());
        assert!(validate_grant("L", &strings(&["abc"]), &strings(&["*"])).is_err());
        assert!(validate_grant("L", &ok, &strings(&["SendMessageBatch"])).is_err());
        let eight = strings(&["SendMessage"; 8]);
        assert!(matches!(
            validate_grant("L", &ok, &eight),
            Err(QueueError::OverLimit(_))
        ));
    }
}
