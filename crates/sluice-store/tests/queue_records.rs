//! A change of a queue record writes only what changed, and the record recovers identical after a
//! restart and after the segments holding it are reclaimed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use sluice_store::{
    DurableOptions, DurableStore, MessageContent, NewMessage, QueueKey, QueueRecord, Store,
};

fn temp_dir(label: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "sluice-queue-records-{label}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn key() -> QueueKey {
    QueueKey {
        account_id: "000000000000".into(),
        region: "us-east-1".into(),
        name: "q".into(),
    }
}

fn options() -> DurableOptions {
    DurableOptions {
        segment_bytes: 64 * 1024,
    }
}

/// Bytes in the data directory's journal files.
fn journal_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".log"))
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum()
}

/// `n` changes as TagQueue, UntagQueue and SetQueueAttributes make them, each on the record the last
/// one returned.
async fn change(store: &DurableStore, n: usize, from: usize) -> QueueRecord {
    let mut record = QueueRecord::clone(&store.get_queue(&key()).await.unwrap().unwrap());
    for i in from..from + n {
        record.tags.insert(format!("tag{i}"), format!("value{i}"));
        if i % 3 == 0 {
            record.tags.remove(&format!("tag{}", i.saturating_sub(1)));
        }
        if i % 4 == 0 {
            record
                .attributes
                .insert("VisibilityTimeout".into(), (30 + i).to_string());
        }
        record.last_modified_timestamp = 1000 + i as i64;
        record = store.replace_queue(record).await.unwrap();
    }
    record
}

/// Sends `n` messages of 4 KiB, which stay in the queue.
async fn fill(store: &DurableStore, n: usize) {
    for i in 0..n {
        let content = MessageContent {
            message_id: format!("id-{i}"),
            body: "m".repeat(4096).into(),
            attributes: Vec::new(),
            system_attributes: Vec::new(),
            md5_of_body: "md5".into(),
            md5_of_attributes: None,
            sender_id: "sender".into(),
            sent_at: 0,
            enqueued_at: 0,
            group_id: None,
            deduplication_id: None,
            dead_letter_move: None,
        };
        let message = NewMessage {
            content: Arc::new(content),
            visible_at: 0,
            deduplication: None,
        };
        store.send_messages(&key(), vec![message], 0).await.unwrap();
    }
}

async fn current(store: &DurableStore) -> QueueRecord {
    QueueRecord::clone(&store.get_queue(&key()).await.unwrap().unwrap())
}

#[tokio::test]
async fn changing_a_queue_with_a_large_attribute_does_not_write_it_again() {
    let dir = temp_dir("patches");
    let policy = format!("{{\"Statement\":\"{}\"}}", "p".repeat(1024 * 1024));
    let changes = 20;
    let expected = {
        let store = DurableStore::open_with(&dir, options()).unwrap();
        store
            .create_queue(QueueRecord {
                key: key(),
                attributes: [
                    ("Policy".to_string(), policy.clone()),
                    ("VisibilityTimeout".to_string(), "30".to_string()),
                ]
                .into(),
                tags: BTreeMap::new(),
                created_timestamp: 1,
                last_modified_timestamp: 1,
                last_purge_millis: Some(5),
                fifo: false,
                incarnation: 7,
                version: 0,
            })
            .await
            .unwrap();
        let before = journal_bytes(&dir);
        let expected = change(&store, changes, 0).await;
        let written = journal_bytes(&dir) - before;
        assert!(
            written < policy.len() as u64 / 10,
            "{changes} changes wrote {written} bytes"
        );
        assert_eq!(current(&store).await, expected);
        // Live messages after the changes keep their segment from being reclaimed with the one
        // holding the whole record.
        fill(&store, 10).await;
        expected
    };
    assert_eq!(expected.tags.len(), 13);
    assert_eq!(expected.attributes["Policy"], policy);

    // After a restart the changes apply on top of the whole record.
    let store = DurableStore::open_with(&dir, options()).unwrap();
    assert_eq!(current(&store).await, expected);
    // Reclaiming the segment of the whole record writes it whole again, after the changes, which
    // stay on disk in the next segment but no longer apply.
    assert_eq!(store.compact_now().await.unwrap(), 1);
    assert!(!dir.join("journal-0000000001.log").exists());
    assert!(dir.join("journal-0000000002.log").exists());
    assert_eq!(current(&store).await, expected);
    drop(store);
    let store = DurableStore::open_with(&dir, options()).unwrap();
    assert_eq!(current(&store).await, expected);
    let expected = change(&store, 5, changes).await;
    drop(store);

    let store = DurableStore::open_with(&dir, options()).unwrap();
    assert_eq!(current(&store).await, expected);
    assert_eq!(
        store
            .message_counts(&key(), 0, i64::MIN)
            .await
            .unwrap()
            .visible,
        10
    );
    // Once the messages are gone every older segment goes, the one with the whole record written by the
    // last compaction and the one with the changes made after it included.
    store.purge_messages(&key()).await.unwrap();
    store.compact_now().await.unwrap();
    for gone in 2..=4 {
        assert!(!dir.join(format!("journal-{gone:010}.log")).exists());
    }
    drop(store);
    let store = DurableStore::open_with(&dir, options()).unwrap();
    assert_eq!(current(&store).await, expected);
    assert_eq!(expected.version, 25);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
