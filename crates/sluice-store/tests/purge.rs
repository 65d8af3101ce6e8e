//! PurgeQueue on a FIFO queue empties the deduplication window with the messages, in both engines: a
//! message whose deduplication id was seen before the purge is accepted after it, also once the durable
//! engine has restarted and reclaimed the segments that held the id.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use sluice_store::{
    DeduplicationKey, DurableOptions, DurableStore, MemoryStore, MessageContent, NewMessage,
    QueueKey, QueueRecord, SendOutcome, Store,
};

fn key() -> QueueKey {
    QueueKey {
        account_id: "000000000000".into(),
        region: "us-east-1".into(),
        name: "q.fifo".into(),
    }
}

fn fifo_record() -> QueueRecord {
    QueueRecord {
        key: key(),
        attributes: BTreeMap::new(),
        tags: BTreeMap::new(),
        created_timestamp: 1,
        last_modified_timestamp: 1,
        last_purge_millis: None,
        fifo: true,
        incarnation: 11,
        version: 0,
    }
}

/// The compactor keeps deduplication entries still in force by the wall clock, so sends use it.
fn wall_clock() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn message(dedup: &str, now: i64) -> NewMessage {
    NewMessage {
        content: Arc::new(MessageContent {
            message_id: format!("id-{dedup}-{now}"),
            body: "x".repeat(200).into(),
            attributes: Vec::new(),
            system_attributes: Vec::new(),
            md5_of_body: "md5".into(),
            md5_of_attributes: None,
            sender_id: "sender".into(),
            sent_at: now,
            enqueued_at: now,
            group_id: Some("g".into()),
            deduplication_id: Some(dedup.into()),
            dead_letter_move: None,
        }),
        visible_at: now,
        deduplication: Some(DeduplicationKey {
            scope: String::new(),
            id: dedup.into(),
            window_millis: 300_000,
        }),
    }
}

async fn send(store: &dyn Store, dedup: &str, now: i64) -> SendOutcome {
    let mut sent = store
        .send_messages(&key(), vec![message(dedup, now)], now)
        .await
        .unwrap();
    sent.remove(0)
}

async fn purge_forgets_deduplication_ids(store: &dyn Store) {
    store.create_queue(fifo_record()).await.unwrap();
    let now = wall_clock();
    assert!(matches!(
        send(store, "d", now).await,
        SendOutcome::Appended(_)
    ));
    assert!(matches!(
        send(store, "d", now + 1).await,
        SendOutcome::Duplicate { .. }
    ));
    assert_eq!(store.purge_messages(&key()).await.unwrap(), 1);
    assert!(matches!(
        send(store, "d", now + 2).await,
        SendOutcome::Appended(_)
    ));
    let counts = store
        .message_counts(&key(), now + 2, i64::MIN)
        .await
        .unwrap();
    assert_eq!(counts.visible, 1);
}

fn temp_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sluice-purge-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[tokio::test]
async fn a_memory_purge_forgets_deduplication_ids() {
    purge_forgets_deduplication_ids(&MemoryStore::new()).await;
}

#[tokio::test]
async fn a_durable_purge_forgets_deduplication_ids() {
    let dir = temp_dir("live");
    purge_forgets_deduplication_ids(&DurableStore::open(&dir).unwrap()).await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// The ids are first written again by the compactor (so they are in records after the messages'), then
/// purged, and the segments around the purge reclaimed: replaying what is left must not bring them back.
#[tokio::test]
async fn deduplication_ids_stay_forgotten_after_a_purge_a_restart_and_reclaiming() {
    let dir = temp_dir("restart");
    let options = DurableOptions {
        segment_bytes: 4 * 1024,
    };
    let now = wall_clock();
    let ids: Vec<String> = (0..40).map(|i| format!("id-{i}")).collect();
    {
        let store = DurableStore::open_with(&dir, options).unwrap();
        store.create_queue(fifo_record()).await.unwrap();
        for id in &ids {
            assert!(matches!(
                send(&store, id, now).await,
                SendOutcome::Appended(_)
            ));
        }
        store.compact_now().await.unwrap();
        store.purge_messages(&key()).await.unwrap();
        store.compact_now().await.unwrap();
        store.compact_now().await.unwrap();
    }
    {
        let store = DurableStore::open_with(&dir, options).unwrap();
        for id in &ids {
            assert!(
                matches!(send(&store, id, now + 1).await, SendOutcome::Appended(_)),
                "{id}"
            );
        }
    }
    // And the ids sent after the purge are remembered across another restart.
    let store = DurableStore::open_with(&dir, options).unwrap();
    assert!(matches!(
        send(&store, "id-0", now + 2).await,
        SendOutcome::Duplicate { .. }
    ));
    let counts = store
        .message_counts(&key(), now + 2, i64::MIN)
        .await
        .unwrap();
    assert_eq!(counts.visible, ids.len() as u64);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
