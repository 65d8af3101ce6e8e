//! What this backend stores as bytes: queue records, message contents and move tasks, each in the
//! journal's record encoding (without its frame), so that both backends read one format.

use std::sync::Arc;

use crate::durable::codec::{self, Record, StateFields, FRAME_HEADER};
use crate::{MessageContent, MoveTaskRecord, QueueRecord, StoreError};

pub(super) fn payload(record: &Record) -> Vec<u8> {
    codec::encode(record)[FRAME_HEADER..].to_vec()
}

pub(super) fn queue_bytes(record: &QueueRecord) -> Vec<u8> {
    payload(&Record::QueuePut(record.clone()))
}

pub(super) fn queue_from(bytes: &[u8]) -> Result<QueueRecord, StoreError> {
    match codec::decode(bytes) {
        Ok(Record::QueuePut(record)) => Ok(record),
        _ => Err(StoreError::Backend(
            "a stored queue record does not decode".into(),
        )),
    }
}

pub(super) fn task_bytes(task: &MoveTaskRecord) -> Vec<u8> {
    payload(&Record::MoveTask(task.clone()))
}

pub(super) fn task_from(bytes: &[u8]) -> Result<MoveTaskRecord, StoreError> {
    match codec::decode(bytes) {
        Ok(Record::MoveTask(task)) => Ok(task),
        _ => Err(StoreError::Backend(
            "a stored move task does not decode".into(),
        )),
    }
}

pub(super) fn content_bytes(content: &Arc<MessageContent>) -> Vec<u8> {
    payload(&Record::Message {
        queue: 0,
        seq: 0,
        state: StateFields {
            visible_at: 0,
            receive_count: 0,
            first_receive_at: i64::MIN,
            received_at: 0,
        },
        content: content.clone(),
        deduplication: None,
    })
}

pub(super) fn content_from(bytes: &[u8]) -> Result<Arc<MessageContent>, StoreError> {
    match codec::decode(bytes) {
        Ok(Record::Message { content, .. }) => Ok(content),
        _ => Err(StoreError::Backend(
            "a stored message does not decode".into(),
        )),
    }
}

pub(super) fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

pub(super) fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}
