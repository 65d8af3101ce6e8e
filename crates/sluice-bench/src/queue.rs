//! Queue set-up and tear-down: a fresh uniquely named queue per run by default, or a named one that is
//! created if missing and purged.

use serde::Deserialize;
use serde_json::{json, Map, Value};
use tokio::time::Instant;

use crate::client::{CallError, Conn};

/// SQS queue names: up to 80 characters, `.fifo` included.
const MAX_NAME: usize = 80;

pub struct QueueSpec {
    /// The name as given, `.fifo` removed.
    pub base: String,
    pub fifo: bool,
    pub content_based_dedup: bool,
    pub visibility_timeout: u32,
    /// Append the run tag to the name.
    pub unique: bool,
    /// More attributes to create the queue with (`KmsMasterKeyId`, `SqsManagedSseEnabled`, …).
    pub extra: Vec<(String, String)>,
}

impl QueueSpec {
    pub fn name(&self, tag: &str) -> String {
        let suffix = if self.fifo { ".fifo" } else { "" };
        let mut base = self.base.clone();
        let tail = if self.unique {
            format!("-{tag}")
        } else {
            String::new()
        };
        let room = MAX_NAME.saturating_sub(suffix.len() + tail.len());
        base.truncate(room);
        format!("{base}{tail}{suffix}")
    }

    fn attributes(&self) -> Value {
        let mut attributes = Map::new();
        attributes.insert(
            "VisibilityTimeout".into(),
            Value::String(self.visibility_timeout.to_string()),
        );
        for (name, value) in &self.extra {
            attributes.insert(name.clone(), Value::String(value.clone()));
        }
        if self.fifo {
            attributes.insert("FifoQueue".into(), "true".into());
            attributes.insert(
                "ContentBasedDeduplication".into(),
                self.content_based_dedup.to_string().into(),
            );
        }
        Value::Object(attributes)
    }
}

/// Whether `name` is a valid queue name base: letters, digits, `-` and `_`.
pub fn valid_base(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[derive(Deserialize)]
struct UrlResult {
    #[serde(rename = "QueueUrl")]
    queue_url: String,
}

#[derive(Deserialize)]
struct AttributesResult {
    #[serde(rename = "Attributes", default)]
    attributes: Map<String, Value>,
}

fn body(value: Value) -> Vec<u8> {
    serde_json::to_vec(&value).unwrap_or_default()
}

/// Creates the queue (or finds and purges an existing named one) and returns its URL.
pub async fn open(
    conn: &mut Conn,
    spec: &QueueSpec,
    name: &str,
    deadline: Instant,
) -> Result<String, String> {
    let create = || {
        body(json!({
            "QueueName": name,
            "Attributes": spec.attributes(),
        }))
    };
    if spec.unique {
        return conn
            .call::<UrlResult>("CreateQueue", create(), Some(deadline))
            .await
            .map(|r| r.queue_url)
            .map_err(|e| format!("CreateQueue {name}: {e}"));
    }
    match conn
        .call::<UrlResult>(
            "GetQueueUrl",
            body(json!({ "QueueName": name })),
            Some(deadline),
        )
        .await
    {
        Ok(found) => {
            conn.call_raw(
                "PurgeQueue",
                body(json!({ "QueueUrl": found.queue_url })),
                Some(deadline),
            )
            .await
            .map_err(|e| format!("PurgeQueue {name}: {e}"))?;
            Ok(found.queue_url)
        }
        Err(e)
            if e.is_code("QueueDoesNotExist")
                || e.is_code("AWS.SimpleQueueService.NonExistentQueue") =>
        {
            conn.call::<UrlResult>("CreateQueue", create(), Some(deadline))
                .await
                .map(|r| r.queue_url)
                .map_err(|e| format!("CreateQueue {name}: {e}"))
        }
        Err(e) => Err(format!("GetQueueUrl {name}: {e}")),
    }
}

pub async fn delete(conn: &mut Conn, url: &str, deadline: Instant) -> Result<(), CallError> {
    conn.call_raw(
        "DeleteQueue",
        body(json!({ "QueueUrl": url })),
        Some(deadline),
    )
    .await
    .map(|_| ())
}

/// `ApproximateNumberOfMessages` and `ApproximateNumberOfMessagesNotVisible`.
pub async fn depth(conn: &mut Conn, url: &str, deadline: Instant) -> Result<(u64, u64), CallError> {
    let result: AttributesResult = conn
        .call(
            "GetQueueAttributes",
            body(json!({
                "QueueUrl": url,
                "AttributeNames": [
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible"
                ],
            })),
            Some(deadline),
        )
        .await?;
    let number = |name: &str| -> Result<u64, CallError> {
        result
            .attributes
            .get(name)
            .and_then(Value::as_str)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| CallError::BadResponse(format!("GetQueueAttributes: no {name}")))
    };
    Ok((
        number("ApproximateNumberOfMessages")?,
        number("ApproximateNumberOfMessagesNotVisible")?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(base: &str, fifo: bool, unique: bool) -> QueueSpec {
        QueueSpec {
            base: base.to_string(),
            fifo,
            content_based_dedup: false,
            visibility_timeout: 60,
            unique,
            extra: Vec::new(),
        }
    }

    #[test]
    fn names() {
        assert_eq!(spec("bench", false, true).name("abc"), "bench-abc");
        assert_eq!(spec("bench", true, true).name("abc"), "bench-abc.fifo");
        assert_eq!(spec("bench", true, false).name("abc"), "bench.fifo");
        let long = "q".repeat(100);
        let name = spec(&long, true, true).name("abc");
        assert_eq!(name.len(), 80);
        assert!(name.ends_with("-abc.fifo"));
        assert!(valid_base("a-b_C9"));
        assert!(!valid_base("a.b"));
        assert!(!valid_base(""));
    }
}
