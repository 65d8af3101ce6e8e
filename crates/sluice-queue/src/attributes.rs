//! Queue attributes: which exist, which can be set and when, their ranges and defaults, and the canonical
//! form in which they are stored and returned.
//!
//! Ranges and defaults are those of the CreateQueue and SetQueueAttributes API reference and the service
//! model (which raised the largest message to 1 MiB).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::QueueError;
use crate::naming::parse_queue_arn;

pub const DELAY_SECONDS: &str = "DelaySeconds";
pub const MAXIMUM_MESSAGE_SIZE: &str = "MaximumMessageSize";
pub const MESSAGE_RETENTION_PERIOD: &str = "MessageRetentionPeriod";
pub const POLICY: &str = "Policy";
pub const RECEIVE_MESSAGE_WAIT_TIME_SECONDS: &str = "ReceiveMessageWaitTimeSeconds";
pub const VISIBILITY_TIMEOUT: &str = "VisibilityTimeout";
pub const REDRIVE_POLICY: &str = "RedrivePolicy";
pub const REDRIVE_ALLOW_POLICY: &str = "RedriveAllowPolicy";
pub const KMS_MASTER_KEY_ID: &str = "KmsMasterKeyId";
pub const KMS_DATA_KEY_REUSE_PERIOD_SECONDS: &str = "KmsDataKeyReusePeriodSeconds";
pub const SQS_MANAGED_SSE_ENABLED: &str = "SqsManagedSseEnabled";
/// How long a data key serves when a queue names a KMS key and no reuse period.
pub const DEFAULT_DATA_KEY_REUSE_SECONDS: i64 = 300;
pub const FIFO_QUEUE: &str = "FifoQueue";
pub const CONTENT_BASED_DEDUPLICATION: &str = "ContentBasedDeduplication";
pub const DEDUPLICATION_SCOPE: &str = "DeduplicationScope";
pub const FIFO_THROUGHPUT_LIMIT: &str = "FifoThroughputLimit";

pub const QUEUE_ARN: &str = "QueueArn";
pub const APPROXIMATE_NUMBER_OF_MESSAGES: &str = "ApproximateNumberOfMessages";
pub const APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE: &str =
    "ApproximateNumberOfMessagesNotVisible";
pub const APPROXIMATE_NUMBER_OF_MESSAGES_DELAYED: &str = "ApproximateNumberOfMessagesDelayed";
pub const CREATED_TIMESTAMP: &str = "CreatedTimestamp";
pub const LAST_MODIFIED_TIMESTAMP: &str = "LastModifiedTimestamp";

pub const ALL: &str = "All";

/// Every attribute GetQueueAttributes knows, in the order `All` lists them.
pub const READABLE: &[&str] = &[
    QUEUE_ARN,
    APPROXIMATE_NUMBER_OF_MESSAGES,
    APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE,
    APPROXIMATE_NUMBER_OF_MESSAGES_DELAYED,
    CREATED_TIMESTAMP,
    LAST_MODIFIED_TIMESTAMP,
    VISIBILITY_TIMEOUT,
    MAXIMUM_MESSAGE_SIZE,
    MESSAGE_RETENTION_PERIOD,
    DELAY_SECONDS,
    POLICY,
    RECEIVE_MESSAGE_WAIT_TIME_SECONDS,
    REDRIVE_POLICY,
    REDRIVE_ALLOW_POLICY,
    KMS_MASTER_KEY_ID,
    KMS_DATA_KEY_REUSE_PERIOD_SECONDS,
    SQS_MANAGED_SSE_ENABLED,
    FIFO_QUEUE,
    DEDUPLICATION_SCOPE,
    FIFO_THROUGHPUT_LIMIT,
    CONTENT_BASED_DEDUPLICATION,
];

const FIFO_ONLY: &[&str] = &[
    CONTENT_BASED_DEDUPLICATION,
    DEDUPLICATION_SCOPE,
    FIFO_THROUGHPUT_LIMIT,
];

/// The FIFO high-throughput settings, which CreateQueue of a standard queue refuses by naming FifoQueue.
const HIGH_THROUGHPUT: &[&str] = &[DEDUPLICATION_SCOPE, FIFO_THROUGHPUT_LIMIT];

/// Whether the attribute is one CreateQueue or SetQueueAttributes may be given.
fn settable(name: &str) -> bool {
    matches!(
        name,
        DELAY_SECONDS
            | MAXIMUM_MESSAGE_SIZE
            | MESSAGE_RETENTION_PERIOD
            | POLICY
            | RECEIVE_MESSAGE_WAIT_TIME_SECONDS
            | VISIBILITY_TIMEOUT
            | REDRIVE_POLICY
            | REDRIVE_ALLOW_POLICY
            | KMS_MASTER_KEY_ID
            | KMS_DATA_KEY_REUSE_PERIOD_SECONDS
            | SQS_MANAGED_SSE_ENABLED
            | FIFO_QUEUE
            | CONTENT_BASED_DEDUPLICATION
            | DEDUPLICATION_SCOPE
            | FIFO_THROUGHPUT_LIMIT
    )
}

/// The attributes a new queue has before any are given.
pub fn defaults(fifo: bool) -> BTreeMap<String, String> {
    let mut map: BTreeMap<String, String> = [
        (VISIBILITY_TIMEOUT, "30"),
        (MAXIMUM_MESSAGE_SIZE, "1048576"),
        (MESSAGE_RETENTION_PERIOD, "345600"),
        (DELAY_SECONDS, "0"),
        (RECEIVE_MESSAGE_WAIT_TIME_SECONDS, "0"),
        (SQS_MANAGED_SSE_ENABLED, "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    if fifo {
        for (k, v) in [
            (FIFO_QUEUE, "true"),
            (CONTENT_BASED_DEDUPLICATION, "false"),
            (DEDUPLICATION_SCOPE, "queue"),
            (FIFO_THROUGHPUT_LIMIT, "perQueue"),
        ] {
            map.insert(k.to_string(), v.to_string());
        }
    }
    map
}

/// Whether CreateQueue was asked for a FIFO queue, read before anything else so the name can be checked
/// against the right rule.
pub fn requests_fifo(given: &BTreeMap<String, String>) -> Result<bool, QueueError> {
    match given.get(FIFO_QUEUE) {
        None => Ok(false),
        Some(v) => parse_bool(FIFO_QUEUE, v),
    }
}

/// The change a CreateQueue or SetQueueAttributes asks for, checked and in canonical form. An empty value
/// for `Policy`, `RedrivePolicy`, `RedriveAllowPolicy` or `KmsMasterKeyId` removes the attribute, which
/// `Some(None)` records.
#[derive(Debug, Default)]
pub struct AttributeChanges {
    pub values: BTreeMap<String, Option<String>>,
}

/// What validation needs to know besides the values themselves.
pub struct ChangeContext<'a> {
    pub creating: bool,
    pub fifo: bool,
    /// The caller's account and region, which a dead-letter target must share.
    pub account_id: &'a str,
    pub region: &'a str,
}

pub fn validate_changes(
    given: &BTreeMap<String, String>,
    cx: &ChangeContext<'_>,
) -> Result<AttributeChanges, QueueError> {
    for name in given.keys() {
        // Any other use of a FIFO-only attribute on a standard queue is an unknown attribute to SQS.
        if cx.creating && !cx.fifo && HIGH_THROUGHPUT.contains(&name.as_str()) {
            return Err(QueueError::FifoOnlyAttribute(name.clone()));
        }
        if !settable(name) || (!cx.fifo && FIFO_ONLY.contains(&name.as_str())) {
            return Err(QueueError::InvalidAttributeName(name.clone()));
        }
    }
    let sse_sqs = given
        .get(SQS_MANAGED_SSE_ENABLED)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if sse_sqs && given.get(KMS_MASTER_KEY_ID).is_some_and(|k| !k.is_empty()) {
        // Only one server-side encryption option is supported per queue: SSE-KMS or SSE-SQS.
        return Err(QueueError::InvalidAttributeValue(
            SQS_MANAGED_SSE_ENABLED.to_string(),
        ));
    }
    let mut changes = AttributeChanges::default();
    for (name, raw) in given {
        if !raw.chars().all(sluice_model::is_allowed_char) {
            return Err(QueueError::InvalidAttributeValue(name.clone()));
        }
        let canonical = match name.as_str() {
            DELAY_SECONDS => Some(int_in(name, raw, 0, 900)?),
            MAXIMUM_MESSAGE_SIZE => Some(int_in(name, raw, 1024, 1_048_576)?),
            MESSAGE_RETENTION_PERIOD => Some(int_in(name, raw, 60, 1_209_600)?),
            RECEIVE_MESSAGE_WAIT_TIME_SECONDS => Some(int_in(name, raw, 0, 20)?),
            VISIBILITY_TIMEOUT => Some(int_in(name, raw, 0, 43_200)?),
            KMS_DATA_KEY_REUSE_PERIOD_SECONDS => Some(int_in(name, raw, 60, 86_400)?),
            SQS_MANAGED_SSE_ENABLED => Some(bool_text(parse_bool(name, raw)?)),
            CONTENT_BASED_DEDUPLICATION => Some(bool_text(parse_bool(name, raw)?)),
            FIFO_QUEUE => {
                // CreateQueue takes FifoQueue only as `true`, and a standard queue knows no FifoQueue at
                // all: SQS calls anything else an unknown attribute. A FIFO queue accepts `true`, which
                // changes nothing, and refuses `false`.
                match (parse_bool(name, raw)?, cx.creating, cx.fifo) {
                    (true, true, _) => Some(bool_text(true)),
                    (true, false, true) => continue,
                    (false, false, true) => {
                        return Err(QueueError::InvalidAttributeValueBecause {
                            name: name.clone(),
                            reason: "Modifying queue type is not supported.".to_string(),
                        })
                    }
                    _ => return Err(QueueError::InvalidAttributeName(name.clone())),
                }
            }
            DEDUPLICATION_SCOPE => Some(one_of(name, raw, &["queue", "messageGroup"])?),
            FIFO_THROUGHPUT_LIMIT => Some(one_of(name, raw, &["perQueue", "perMessageGroupId"])?),
            POLICY => non_empty(raw).map(policy_document).transpose()?,
            KMS_MASTER_KEY_ID => non_empty(raw).map(str::to_string),
            REDRIVE_POLICY => non_empty(raw).map(|p| redrive_policy(p, cx)).transpose()?,
            REDRIVE_ALLOW_POLICY => non_empty(raw).map(redrive_allow_policy).transpose()?,
            _ => return Err(QueueError::InvalidAttributeName(name.clone())),
        };
        changes.values.insert(name.clone(), canonical);
    }
    Ok(changes)
}

impl AttributeChanges {
    /// Applies the change to a queue's stored attributes.
    pub fn apply_to(&self, attributes: &mut BTreeMap<String, String>) {
        for (name, value) in &self.values {
            match value {
                Some(v) => {
                    attributes.insert(name.clone(), v.clone());
                }
                None => {
                    attributes.remove(name);
                }
            }
        }
        // A queue has one kind of server-side encryption: choosing SQS-managed keys drops a KMS key, and
        // choosing a KMS key turns SQS-managed encryption off.
        if self
            .values
            .get(SQS_MANAGED_SSE_ENABLED)
            .is_some_and(|v| v.as_deref() == Some("true"))
        {
            attributes.remove(KMS_MASTER_KEY_ID);
            attributes.remove(KMS_DATA_KEY_REUSE_PERIOD_SECONDS);
        }
        if self
            .values
            .get(KMS_MASTER_KEY_ID)
            .is_some_and(Option::is_some)
        {
            if !self.values.contains_key(SQS_MANAGED_SSE_ENABLED) {
                attributes.insert(SQS_MANAGED_SSE_ENABLED.to_string(), "false".to_string());
            }
            attributes
                .entry(KMS_DATA_KEY_REUSE_PERIOD_SECONDS.to_string())
                .or_insert_with(|| DEFAULT_DATA_KEY_REUSE_SECONDS.to_string());
        }
    }

    /// The first attribute whose requested value differs from what the queue has, for CreateQueue on an
    /// existing name.
    pub fn first_difference(&self, attributes: &BTreeMap<String, String>) -> Option<&str> {
        self.values
            .iter()
            .find(|(name, value)| attributes.get(name.as_str()) != value.as_ref())
            .map(|(name, _)| name.as_str())
    }
}

/// Rules that hold between attributes, checked on a queue's attributes after a change.
pub fn check_consistency(attributes: &BTreeMap<String, String>) -> Result<(), QueueError> {
    // The CreateQueue reference: "The perMessageGroupId value is allowed only when the value for
    // DeduplicationScope is messageGroup."
    let per_group = attributes
        .get(FIFO_THROUGHPUT_LIMIT)
        .is_some_and(|v| v == "perMessageGroupId");
    let group_scope = attributes
        .get(DEDUPLICATION_SCOPE)
        .is_some_and(|v| v == "messageGroup");
    if per_group && !group_scope {
        return Err(QueueError::InvalidAttributeValue(
            FIFO_THROUGHPUT_LIMIT.to_string(),
        ));
    }
    Ok(())
}

fn non_empty(raw: &str) -> Option<&str> {
    (!raw.is_empty()).then_some(raw)
}

fn int_in(name: &str, raw: &str, min: i64, max: i64) -> Result<String, QueueError> {
    match raw.parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n.to_string()),
        _ => Err(QueueError::InvalidAttributeValue(name.to_string())),
    }
}

fn parse_bool(name: &str, raw: &str) -> Result<bool, QueueError> {
    match raw.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(QueueError::InvalidAttributeValue(name.to_string())),
    }
}

fn bool_text(b: bool) -> String {
    if b { "true" } else { "false" }.to_string()
}

fn one_of(name: &str, raw: &str, allowed: &[&str]) -> Result<String, QueueError> {
    allowed
        .iter()
        .find(|a| **a == raw)
        .map(|a| a.to_string())
        .ok_or_else(|| QueueError::InvalidAttributeValue(name.to_string()))
}

/// A queue policy must be a resource policy in the IAM policy language, within SQS's policy limits;
/// it is kept as given.
fn policy_document(raw: &str) -> Result<String, QueueError> {
    crate::policy::check_size(raw)?;
    let Ok(Value::Object(policy)) = serde_json::from_str::<Value>(raw) else {
        return Err(QueueError::InvalidAttributeValue(POLICY.to_string()));
    };
    crate::policy::check_limits(&policy)?;
    sluice_policy::Policy::parse(raw, sluice_policy::Grammar::Resource).map_err(|error| {
        tracing::debug!(reason = %error, "queue policy refused");
        QueueError::InvalidAttributeValue(POLICY.to_string())
    })?;
    Ok(raw.to_string())
}

fn invalid_redrive(raw: &str, reason: &str) -> QueueError {
    QueueError::InvalidParameterValue {
        name: REDRIVE_POLICY.to_string(),
        value: raw.to_string(),
        reason: reason.to_string(),
    }
}

/// `{"deadLetterTargetArn": ..., "maxReceiveCount": ...}`, written back in the form SQS returns it (the
/// count as a number). The target's existence is checked by the caller, which can read the store.
fn redrive_policy(raw: &str, cx: &ChangeContext<'_>) -> Result<String, QueueError> {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(raw) else {
        return Err(invalid_redrive(
            raw,
            "Redrive policy is not a valid JSON map.",
        ));
    };
    // SQS asks for maxReceiveCount first, and for both even though the API reference mentions a default.
    let Some(count) = map.get("maxReceiveCount") else {
        return Err(invalid_redrive(
            raw,
            "Redrive policy does not contain mandatory attribute: maxReceiveCount.",
        ));
    };
    let Some(target) = map.get("deadLetterTargetArn") else {
        return Err(invalid_redrive(
            raw,
            "Redrive policy does not contain mandatory attribute: deadLetterTargetArn.",
        ));
    };
    if let Some(extra) = map
        .keys()
        .find(|k| *k != "deadLetterTargetArn" && *k != "maxReceiveCount")
    {
        return Err(invalid_redrive(raw, &format!("Only following attributes are supported: [deadLetterTargetArn, maxReceiveCount]. {extra} is not supported.")));
    }
    let parsed = match count {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse::<i64>().ok(),
        _ => None,
    };
    let count = match parsed {
        Some(c) if (1..=1000).contains(&c) => c,
        _ => {
            return Err(invalid_redrive(
                raw,
                &format!("Invalid value for maxReceiveCount: {count}, valid values are from 1 to 1000 both inclusive."),
            ))
        }
    };
    let target = target.as_str().unwrap_or_default();
    let Some(key) = parse_queue_arn(target) else {
        return Err(invalid_redrive(
            raw,
            "Invalid value for deadLetterTargetArn.",
        ));
    };
    if key.account_id != cx.account_id || key.region != cx.region {
        return Err(invalid_redrive(
            raw,
            "Dead-letter target owner should be same as the source.",
        ));
    }
    let mut out = Map::new();
    out.insert(
        "deadLetterTargetArn".into(),
        Value::String(target.to_string()),
    );
    out.insert("maxReceiveCount".into(), Value::from(count));
    Ok(Value::Object(out).to_string())
}

/// The dead-letter queue and the receive count that sends messages there, from a stored, canonical
/// redrive policy.
pub fn redrive_parts(canonical: &str) -> Option<(sluice_store::QueueKey, u32)> {
    let value: Value = serde_json::from_str(canonical).ok()?;
    let target = parse_queue_arn(value.get("deadLetterTargetArn")?.as_str()?)?;
    let count = u32::try_from(value.get("maxReceiveCount")?.as_u64()?).ok()?;
    Some((target, count))
}

/// Whether a stored, canonical redrive allow policy lets the queue with this ARN use its queue as a
/// dead-letter queue.
pub fn redrive_allows(canonical: &str, source_arn: &str) -> bool {
    let Ok(value) = serde_json::from_str::<Value>(canonical) else {
        return true;
    };
    match value.get("redrivePermission").and_then(Value::as_str) {
        Some("denyAll") => false,
        Some("byQueue") => value
            .get("sourceQueueArns")
            .and_then(Value::as_array)
            .is_some_and(|arns| arns.iter().any(|a| a.as_str() == Some(source_arn))),
        _ => true,
    }
}

/// `{"redrivePermission": "allowAll" | "denyAll" | "byQueue", "sourceQueueArns": [...]}`.
fn redrive_allow_policy(raw: &str) -> Result<String, QueueError> {
    let invalid = |reason: &str| QueueError::InvalidAttributeValueBecause {
        name: REDRIVE_ALLOW_POLICY.to_string(),
        reason: format!("Amazon SQS can't create the redrive allow policy{reason}"),
    };
    let unsupported = || invalid(", as it\u{2019}s in an unsupported format.");
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(raw) else {
        return Err(unsupported());
    };
    let permission = match map.get("redrivePermission").and_then(Value::as_str) {
        Some(p @ ("allowAll" | "denyAll" | "byQueue")) => p,
        _ => return Err(unsupported()),
    };
    let mut out = Map::new();
    out.insert(
        "redrivePermission".into(),
        Value::String(permission.to_string()),
    );
    match (permission, map.get("sourceQueueArns")) {
        ("byQueue", Some(Value::Array(arns))) => {
            if arns.is_empty() {
                return Err(invalid(". When you specify the byQueue permission type, you must also specify one or more sourceQueueArns values."));
            }
            if arns.len() > 10 {
                return Err(invalid(". You can specify up to 10 source queue ARNs."));
            }
            if arns.iter().any(|a| a.as_str().and_then(parse_queue_arn).is_none()) {
                return Err(unsupported());
            }
            out.insert("sourceQueueArns".into(), Value::Array(arns.clone()));
        }
        ("byQueue", None) => {
            return Err(invalid(". When you specify the byQueue permission type, you must also specify one or more sourceQueueArns values."))
        }
        ("byQueue", Some(_)) => return Err(unsupported()),
        (_, Some(_)) => return Err(invalid(". To specify one or more source queue ARNs, you must set redrivePermission to byQueue.")),
        (_, None) => {}
    }
    Ok(Value::Object(out).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx(creating: bool, fifo: bool) -> ChangeContext<'static> {
        ChangeContext {
            creating,
            fifo,
            account_id: "000000000000",
            region: "us-east-1",
        }
    }

    fn given(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn ranges_are_inclusive_at_both_ends() {
        for (name, lo, hi) in [
            (DELAY_SECONDS, 0, 900),
            (MAXIMUM_MESSAGE_SIZE, 1024, 1_048_576),
            (MESSAGE_RETENTION_PERIOD, 60, 1_209_600),
            (RECEIVE_MESSAGE_WAIT_TIME_SECONDS, 0, 20),
            (VISIBILITY_TIMEOUT, 0, 43_200),
            (KMS_DATA_KEY_REUSE_PERIOD_SECONDS, 60, 86_400),
        ] {
            for ok in [lo, hi] {
                assert!(
                    validate_changes(&given(&[(name, &ok.to_string())]), &cx(true, false)).is_ok(),
                    "{name}={ok}"
                );
            }
            for bad in [lo - 1, hi + 1] {
                let err = validate_changes(&given(&[(name, &bad.to_string())]), &cx(true, false))
                    .unwrap_err();
                assert!(matches!(err, QueueError::InvalidAttributeValue(n) if n == name));
            }
        }
        assert!(
            validate_changes(&given(&[(VISIBILITY_TIMEOUT, "ten")]), &cx(true, false)).is_err()
        );
    }

    #[test]
    fn fifo_attributes_are_unknown_on_standard_queues() {
        let err = validate_changes(
            &given(&[(CONTENT_BASED_DEDUPLICATION, "true")]),
            &cx(true, false),
        )
        .unwrap_err();
        assert!(matches!(err, QueueError::InvalidAttributeName(_)));
        assert!(validate_changes(
            &given(&[(CONTENT_BASED_DEDUPLICATION, "true")]),
            &cx(true, true)
        )
        .is_ok());
    }

    #[test]
    fn fifo_queue_is_unknown_except_as_true_at_creation_or_on_a_fifo_queue() {
        assert!(validate_changes(&given(&[(FIFO_QUEUE, "true")]), &cx(true, true)).is_ok());
        for (value, creating) in [("false", true), ("true", false), ("false", false)] {
            let err =
                validate_changes(&given(&[(FIFO_QUEUE, value)]), &cx(creating, false)).unwrap_err();
            assert!(matches!(err, QueueError::InvalidAttributeName(n) if n == FIFO_QUEUE));
        }
        let err = validate_changes(&given(&[(FIFO_QUEUE, "yes")]), &cx(true, false)).unwrap_err();
        assert!(matches!(err, QueueError::InvalidAttributeValue(_)));
    }

    /// SetQueueAttributes with FifoQueue on a FIFO queue was refused as an unknown attribute; SQS
    /// accepts `true` (nothing changes) and refuses `false` as a change of queue type.
    #[test]
    fn fifo_queue_true_on_a_fifo_queue_changes_nothing_and_false_is_a_change_of_type() {
        let same = validate_changes(&given(&[(FIFO_QUEUE, "true")]), &cx(false, true)).unwrap();
        assert!(same.values.is_empty());
        let err = validate_changes(&given(&[(FIFO_QUEUE, "false")]), &cx(false, true)).unwrap_err();
        assert!(
            matches!(&err, QueueError::InvalidAttributeValueBecause { name, reason }
                if name == FIFO_QUEUE && reason == "Modifying queue type is not supported."),
            "{err:?}"
        );
    }

    /// DeduplicationScope and FifoThroughputLimit at the creation of a standard queue were called unknown
    /// attributes; SQS says they need FifoQueue.
    #[test]
    fn high_throughput_attributes_at_the_creation_of_a_standard_queue_name_the_fifo_rule() {
        for name in [DEDUPLICATION_SCOPE, FIFO_THROUGHPUT_LIMIT] {
            let err = validate_changes(&given(&[(name, "queue")]), &cx(true, false)).unwrap_err();
            assert!(
                matches!(&err, QueueError::FifoOnlyAttribute(n) if n == name),
                "{err:?}"
            );
        }
    }

    #[test]
    fn read_only_and_unknown_attributes_are_rejected_by_name() {
        for name in [
            QUEUE_ARN,
            CREATED_TIMESTAMP,
            APPROXIMATE_NUMBER_OF_MESSAGES,
            "Colour",
            ALL,
        ] {
            let err = validate_changes(&given(&[(name, "1")]), &cx(true, false)).unwrap_err();
            assert!(matches!(err, QueueError::InvalidAttributeName(n) if n == name));
        }
    }

    #[test]
    fn redrive_policy_is_written_back_in_canonical_form() {
        let raw = r#"{"maxReceiveCount":"5","deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq"}"#;
        let changes = validate_changes(&given(&[(REDRIVE_POLICY, raw)]), &cx(true, false)).unwrap();
        assert_eq!(
            changes.values[REDRIVE_POLICY].as_deref(),
            Some(
                r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":5}"#
            )
        );
        for bad in [
            "not json",
            r#"{"maxReceiveCount":5}"#,
            r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":"ten"}"#,
            r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":0}"#,
            r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:111111111111:dlq","maxReceiveCount":3}"#,
        ] {
            assert!(
                validate_changes(&given(&[(REDRIVE_POLICY, bad)]), &cx(true, false)).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn per_group_throughput_needs_per_group_deduplication() {
        let mut attributes = defaults(true);
        attributes.insert(FIFO_THROUGHPUT_LIMIT.into(), "perMessageGroupId".into());
        assert!(check_consistency(&attributes).is_err());
        attributes.insert(DEDUPLICATION_SCOPE.into(), "messageGroup".into());
        assert!(check_consistency(&attributes).is_ok());
    }

    #[test]
    fn a_queue_has_one_kind_of_encryption() {
        let both = given(&[
            (KMS_MASTER_KEY_ID, "alias/aws/sqs"),
            (SQS_MANAGED_SSE_ENABLED, "true"),
        ]);
        assert!(validate_changes(&both, &cx(true, false)).is_err());
        let mut attributes = defaults(false);
        validate_changes(
            &given(&[(KMS_MASTER_KEY_ID, "alias/aws/sqs")]),
            &cx(false, false),
        )
        .unwrap()
        .apply_to(&mut attributes);
        assert_eq!(attributes[SQS_MANAGED_SSE_ENABLED], "false");
        assert_eq!(attributes[KMS_DATA_KEY_REUSE_PERIOD_SECONDS], "300");
        validate_changes(
            &given(&[(SQS_MANAGED_SSE_ENABLED, "true")]),
            &cx(false, false),
        )
        .unwrap()
        .apply_to(&mut attributes);
        assert!(!attributes.contains_key(KMS_MASTER_KEY_ID));
    }

    #[test]
    fn values_xml_cannot_carry_are_rejected() {
        for value in ["a\u{1}b", "\u{FFFE}"] {
            let err = validate_changes(&given(&[(POLICY, value)]), &cx(false, false)).unwrap_err();
            assert!(matches!(err, QueueError::InvalidAttributeValue(_)));
        }
    }

    #[test]
    fn policies_keep_to_seven_actions_a_statement() {
        let actions: Vec<String> = (0..8).map(|i| format!("\"sqs:A{i}\"")).collect();
        let policy = format!(
            r#"{{"Statement":[{{"Effect":"Allow","Action":[{}]}}]}}"#,
            actions.join(",")
        );
        let err = validate_changes(&given(&[(POLICY, &policy)]), &cx(false, false)).unwrap_err();
        assert!(
            matches!(&err, QueueError::OverLimit(m) if m == "8 actions were found in a statement from the submitted policy, max allowed is 7")
        );
    }

    #[test]
    fn a_policy_over_8192_bytes_is_over_limit() {
        let padding = "x".repeat(7 * 1024 * 1024);
        let policy = format!(r#"{{"Id":"{padding}","Statement":[]}}"#);
        for creating in [true, false] {
            let err =
                validate_changes(&given(&[(POLICY, &policy)]), &cx(creating, false)).unwrap_err();
            assert!(
                matches!(&err, QueueError::OverLimit(m) if m == "Submitted policy is over max allowed size."),
                "{err:?}"
            );
        }
        let statement = r#"{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage"}"#;
        let fits = format!(
            r#"{{"Id":"{}","Statement":[{statement}]}}"#,
            "x".repeat(8192 - 24 - statement.len())
        );
        assert_eq!(fits.len(), 8192);
        assert!(validate_changes(&given(&[(POLICY, &fits)]), &cx(false, false)).is_ok());
    }

    #[test]
    fn empty_values_remove_optional_documents() {
        let changes = validate_changes(&given(&[(POLICY, "")]), &cx(false, false)).unwrap();
        let mut attributes = defaults(false);
        attributes.insert(POLICY.into(), "{}".into());
        changes.apply_to(&mut attributes);
        assert!(!attributes.contains_key(POLICY));
    }
}
