//! A queue's attributes read as the numbers message handling needs.

use sluice_store::QueueRecord;

use crate::attributes;

#[derive(Clone, Copy, Debug)]
pub struct QueueSettings {
    pub delay_seconds: i64,
    pub maximum_message_size: usize,
    pub message_retention_seconds: i64,
    pub receive_wait_seconds: i64,
    pub visibility_timeout_seconds: i64,
    pub fifo: bool,
    pub content_based_deduplication: bool,
    /// Deduplication ids are scoped to the message group rather than the queue.
    pub per_group_deduplication: bool,
}

impl QueueSettings {
    /// Stored attributes are canonical (checked when set), so a value that does not parse can only be
    /// absent; the SQS default stands in for it.
    pub fn of(record: &QueueRecord) -> Self {
        let number = |name: &str, default: i64| {
            record
                .attributes
                .get(name)
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(default)
        };
        let flag = |name: &str| record.attributes.get(name).is_some_and(|v| v == "true");
        QueueSettings {
            delay_seconds: number(attributes::DELAY_SECONDS, 0),
            maximum_message_size: usize::try_from(number(
                attributes::MAXIMUM_MESSAGE_SIZE,
                1_048_576,
            ))
            .unwrap_or(1_048_576),
            message_retention_seconds: number(attributes::MESSAGE_RETENTION_PERIOD, 345_600),
            receive_wait_seconds: number(attributes::RECEIVE_MESSAGE_WAIT_TIME_SECONDS, 0),
            visibility_timeout_seconds: number(attributes::VISIBILITY_TIMEOUT, 30),
            fifo: record.fifo,
            content_based_deduplication: flag(attributes::CONTENT_BASED_DEDUPLICATION),
            per_group_deduplication: record
                .attributes
                .get(attributes::DEDUPLICATION_SCOPE)
                .is_some_and(|v| v == "messageGroup"),
        }
    }

    /// Messages sent before this instant are past retention.
    pub fn expire_before(&self, now_millis: i64) -> i64 {
        now_millis - self.message_retention_seconds * 1000
    }
}
