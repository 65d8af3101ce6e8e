//! Records the store suites build their cases from.
// Each test binary uses some of these.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;

use sluice_store::{DeduplicationKey, MessageContent, NewMessage, QueueKey, QueueRecord};

pub fn key(name: &str) -> QueueKey {
    QueueKey {
        account_id: "000000000000".into(),
        region: "us-east-1".into(),
        name: name.into(),
    }
}

pub fn record(name: &str, fifo: bool) -> QueueRecord {
    QueueRecord {
        key: key(name),
        attributes: BTreeMap::new(),
        tags: BTreeMap::new(),
        created_timestamp: 1,
        last_modified_timestamp: 1,
        last_purge_millis: None,
        fifo,
        incarnation: 7,
        version: 0,
    }
}

/// A message sent at `at` whose body names it; with a group, deduplicated on its body for five minutes.
pub fn message(body: &str, group: Option<&str>, at: i64) -> NewMessage {
    let deduplication = group.map(|_| DeduplicationKey {
        scope: String::new(),
        id: body.to_string(),
        window_millis: 300_000,
    });
    NewMessage {
        content: Arc::new(MessageContent {
            message_id: format!("id-{body}"),
            body: body.into(),
            attributes: Vec::new(),
            system_attributes: Vec::new(),
            md5_of_body: "md5".into(),
            md5_of_attributes: None,
            sender_id: "sender".into(),
            sent_at: at,
            enqueued_at: at,
            group_id: group.map(Into::into),
            deduplication_id: group.map(|_| body.to_string()),
            dead_letter_move: None,
        }),
        visible_at: at,
        deduplication,
    }
}
