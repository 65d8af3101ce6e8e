//! One suite of storage behaviour run against every backend, and the durable engine's own guarantees:
//! state survives reopening, a torn final write is dropped, damaged or foreign files stop start-up with an
//! error naming them, and reclaimed segments take nothing live with them; security records keep their
//! versions and batches through all of that.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use sluice_store::{
    AttributeValue, CreateOutcome, DeduplicationKey, DeleteOutcome, Deletion, DurableOptions,
    DurableStore, MemoryStore, MessageAttribute, MessageContent, MessageCounts, NewMessage,
    QueueKey, QueueRecord, ReceiveRequest, Redrive, SecurityKey, SecurityRecord, SecurityWrite,
    SendOutcome, Store, StoreError, VisibilityChange, VisibilityOutcome,
};

fn temp_dir(label: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "sluice-store-{label}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn key(name: &str) -> QueueKey {
    QueueKey {
        account_id: "000000000000".into(),
        region: "us-east-1".into(),
        name: name.into(),
    }
}

fn record(name: &str) -> QueueRecord {
    QueueRecord {
        key: key(name),
        attributes: [("VisibilityTimeout".to_string(), "30".to_string())].into(),
        tags: BTreeMap::new(),
        created_timestamp: 1,
        last_modified_timestamp: 1,
        last_purge_millis: None,
        fifo: false,
        incarnation: rand_incarnation(name),
        version: 0,
    }
}

fn rand_incarnation(name: &str) -> u64 {
    name.bytes().fold(1469598103934665603u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(1099511628211)
    })
}

fn message(body: &str, sent_at: i64, delay: i64) -> NewMessage {
    NewMessage {
        content: Arc::new(MessageContent {
            message_id: format!("id-{body}"),
            body: body.into(),
            attributes: vec![MessageAttribute {
                name: "kind".into(),
                data_type: "Binary".into(),
                value: AttributeValue::Binary(vec![1, 2, 3]),
            }],
            system_attributes: Vec::new(),
            md5_of_body: "md5".into(),
            md5_of_attributes: Some("md5a".into()),
            sender_id: "sender".into(),
            sent_at,
            enqueued_at: sent_at,
            group_id: None,
            deduplication_id: None,
            dead_letter_move: None,
        }),
        visible_at: sent_at + delay,
        deduplication: None,
    }
}

fn appended(outcome: &SendOutcome) -> u64 {
    match outcome {
        SendOutcome::Appended(seq) => *seq,
        other => panic!("{other:?}"),
    }
}

fn deletion(seq: u64) -> Deletion {
    Deletion {
        seq,
        receive_count: None,
        now: 0,
    }
}

fn receive_at(now: i64, max: usize, visibility_ms: i64) -> ReceiveRequest {
    ReceiveRequest {
        now,
        max_messages: max,
        visibility_deadline: now + visibility_ms,
        expire_before: i64::MIN,
        max_in_flight: 1000,
    }
}

/// The bodies of one receive of up to ten messages at `now`, hidden for `visibility_ms`.
async fn received_bodies(
    store: &dyn Store,
    q: &QueueKey,
    now: i64,
    visibility_ms: i64,
) -> Vec<String> {
    let outcome = store
        .receive_messages(q, receive_at(now, 10, visibility_ms), None)
        .await
        .unwrap();
    outcome
        .messages
        .iter()
        .map(|m| text(&m.content.body))
        .collect()
}

async fn bodies(store: &dyn Store, q: &QueueKey, now: i64) -> Vec<String> {
    received_bodies(store, q, now, 0).await
}

/// The behaviour every backend shares.
async fn shared_suite(store: &dyn Store) {
    let q = key("suite");
    assert!(matches!(
        store.create_queue(record("suite")).await.unwrap(),
        CreateOutcome::Created(_)
    ));
    assert!(matches!(
        store.create_queue(record("suite")).await.unwrap(),
        CreateOutcome::Existing(_)
    ));
    let stored = QueueRecord::clone(&store.get_queue(&q).await.unwrap().unwrap());
    let replaced = store.replace_queue(stored.clone()).await.unwrap();
    assert_eq!(replaced.version, stored.version + 1);
    assert!(matches!(
        store.replace_queue(stored).await,
        Err(StoreError::Conflict)
    ));

    let seqs = store
        .send_messages(
            &q,
            vec![
                message("a", 0, 0),
                message("b", 0, 0),
                message("late", 0, 100),
            ],
            0,
        )
        .await
        .unwrap();
    assert_eq!(seqs.len(), 3);
    assert_eq!(
        store.message_counts(&q, 0, i64::MIN).await.unwrap(),
        MessageCounts {
            visible: 2,
            in_flight: 0,
            delayed: 1
        }
    );
    let got = store
        .receive_messages(&q, receive_at(0, 1, 50), None)
        .await
        .unwrap();
    assert_eq!(got.messages[0].content.body, "a");
    assert_eq!(
        got.messages[0].content.attributes[0].value,
        AttributeValue::Binary(vec![1, 2, 3])
    );
    let change = VisibilityChange {
        seq: got.messages[0].seq,
        receive_count: 1,
        now: 10,
        deadline: 200,
        max_span_from_receive: 1000,
    };
    assert_eq!(
        store.change_visibility(&q, &[change]).await.unwrap(),
        [VisibilityOutcome::Changed]
    );
    assert_eq!(bodies(store, &q, 100).await, ["b", "late"]);
    let first = got.messages[0].seq;
    let outcomes = store.delete_messages(&q, &[deletion(first)]).await.unwrap();
    assert_eq!(outcomes, [DeleteOutcome::Deleted]);
    let outcomes = store
        .delete_messages(&q, &[deletion(first), deletion(999)])
        .await
        .unwrap();
    assert_eq!(outcomes, [DeleteOutcome::Gone, DeleteOutcome::Gone]);
    assert_eq!(store.purge_messages(&q).await.unwrap(), 2);
    assert_eq!(
        store.message_counts(&q, 1000, i64::MIN).await.unwrap(),
        MessageCounts::default()
    );

    store
        .send_messages(&q, vec![message("old", 0, 0), message("new", 500, 0)], 0)
        .await
        .unwrap();
    assert_eq!(store.message_counts(&q, 600, 100).await.unwrap().visible, 1);

    let other = key("other");
    store.create_queue(record("other")).await.unwrap();
    let names: Vec<String> = store
        .list_queues("000000000000", "us-east-1", "", None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.key.name)
        .collect();
    assert_eq!(names, ["other", "suite"]);
    assert!(store.delete_queue(&other, 77).await.unwrap());
    assert_eq!(store.deleted_at(&other).await.unwrap(), Some(77));
    assert!(matches!(
        store
            .send_messages(&other, vec![message("x", 0, 0)], 0)
            .await,
        Err(StoreError::QueueNotFound)
    ));
    store.flush().await.unwrap();
}

#[tokio::test]
async fn memory_backend_passes_the_shared_suite() {
    shared_suite(&MemoryStore::new()).await;
}

async fn postgres_store() -> sluice_store::PostgresStore {
    let url = sluice_test_postgres::PrivatePostgres::shared().new_database();
    sluice_store::PostgresStore::connect(&url, 4).await.unwrap()
}

#[tokio::test]
async fn postgres_backend_passes_the_shared_suite() {
    shared_suite(&postgres_store().await).await;
}

#[tokio::test]
async fn postgres_backend_passes_the_move_suite() {
    move_suite(&postgres_store().await).await;
}

#[tokio::test]
async fn postgres_backend_passes_the_security_suite() {
    security_suite(&postgres_store().await).await;
}

#[tokio::test]
async fn durable_backend_passes_the_shared_suite() {
    let dir = temp_dir("suite");
    let store = DurableStore::open(&dir).unwrap();
    shared_suite(&store).await;
}

#[tokio::test]
async fn durable_state_survives_reopening() {
    let dir = temp_dir("reopen");
    let q = key("q");
    let (secret, in_flight_seq) = {
        let store = DurableStore::open(&dir).unwrap();
        store.create_queue(record("q")).await.unwrap();
        store.create_queue(record("gone")).await.unwrap();
        store.delete_queue(&key("gone"), 5).await.unwrap();
        let seqs = store
            .send_messages(
                &q,
                (0..5).map(|i| message(&format!("m{i}"), 0, 0)).collect(),
                0,
            )
            .await
            .unwrap();
        let got = store
            .receive_messages(&q, receive_at(10, 2, 1000), None)
            .await
            .unwrap();
        assert_eq!(got.messages.len(), 2);
        store
            .delete_messages(&q, &[deletion(appended(&seqs[0]))])
            .await
            .unwrap();
        (store.server_secret().await.unwrap(), appended(&seqs[1]))
    };
    let store = DurableStore::open(&dir).unwrap();
    assert_eq!(store.server_secret().await.unwrap(), secret);
    assert!(store.get_queue(&key("gone")).await.unwrap().is_none());
    assert_eq!(store.deleted_at(&key("gone")).await.unwrap(), Some(5));
    assert_eq!(
        store.message_counts(&q, 20, i64::MIN).await.unwrap(),
        MessageCounts {
            visible: 3,
            in_flight: 1,
            delayed: 0
        }
    );
    // The in-flight message keeps its deadline and receive count.
    let later = store
        .receive_messages(&q, receive_at(1010, 10, 1000), None)
        .await
        .unwrap();
    let again = later
        .messages
        .iter()
        .find(|m| m.seq == in_flight_seq)
        .unwrap();
    assert_eq!(again.receive_count, 2);
    assert_eq!(again.first_receive_at, 10);
    assert_eq!(again.content.body, "m1");
}

#[tokio::test]
async fn a_second_process_cannot_open_the_same_directory() {
    let dir = temp_dir("lock");
    let _first = DurableStore::open(&dir).unwrap();
    let err = DurableStore::open(&dir).err().unwrap().to_string();
    assert!(err.contains("in use by another sluice process"), "{err}");
}

fn journal_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("journal-")
        })
        .collect();
    files.sort();
    files
}

async fn store_with_messages(dir: &Path, n: usize) {
    let store = DurableStore::open(dir).unwrap();
    store.create_queue(record("q")).await.unwrap();
    for i in 0..n {
        store
            .send_messages(&key("q"), vec![message(&format!("m{i}"), 0, 0)], 0)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_torn_final_write_is_dropped_and_the_rest_recovered() {
    let dir = temp_dir("torn");
    store_with_messages(&dir, 3).await;
    let last = journal_files(&dir).pop().unwrap();
    let len = std::fs::metadata(&last).unwrap().len();
    // Cut the last record in half, as a crash during its write would.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&last)
        .unwrap()
        .set_len(len - 20)
        .unwrap();
    let store = DurableStore::open(&dir).unwrap();
    assert_eq!(
        store
            .message_counts(&key("q"), 0, i64::MIN)
            .await
            .unwrap()
            .visible,
        2
    );
    drop(store);
    // Garbage appended after the last record is a torn write too.
    let last = journal_files(&dir).pop().unwrap();
    let mut bytes = std::fs::read(&last).unwrap();
    bytes.extend([0xAB; 7]);
    std::fs::write(&last, bytes).unwrap();
    let store = DurableStore::open(&dir).unwrap();
    assert_eq!(
        store
            .message_counts(&key("q"), 0, i64::MIN)
            .await
            .unwrap()
            .visible,
        2
    );
}

#[tokio::test]
async fn damage_before_the_tail_stops_start_up_and_names_the_file() {
    let dir = temp_dir("damaged");
    store_with_messages(&dir, 3).await;
    let first = journal_files(&dir).remove(0);
    let mut bytes = std::fs::read(&first).unwrap();
    // Flip a byte inside the first record; valid records follow it.
    bytes[40] ^= 0xFF;
    std::fs::write(&first, &bytes).unwrap();
    let err = DurableStore::open(&dir).err().unwrap().to_string();
    assert!(
        err.contains(first.file_name().unwrap().to_str().unwrap()),
        "{err}"
    );
    assert!(err.contains("left untouched"), "{err}");
    assert_eq!(
        std::fs::read(&first).unwrap(),
        bytes,
        "a damaged file is never rewritten"
    );
}

#[tokio::test]
async fn foreign_files_stop_start_up_and_name_the_file() {
    let dir = temp_dir("foreign");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("journal-0000000001.log");
    std::fs::write(&path, b"this is somebody else's file, not a journal").unwrap();
    std::fs::write(
        dir.join("sluice.meta"),
        format!("sluice-data 1\nsecret {}\n", "ab".repeat(32)),
    )
    .unwrap();
    let err = DurableStore::open(&dir).err().unwrap().to_string();
    assert!(err.contains("journal-0000000001.log"), "{err}");
    let meta = temp_dir("foreign-meta");
    std::fs::create_dir_all(&meta).unwrap();
    std::fs::write(meta.join("sluice.meta"), b"{\"not\": \"ours\"}").unwrap();
    let err = DurableStore::open(&meta).err().unwrap().to_string();
    assert!(err.contains("sluice.meta"), "{err}");
}

/// Creates queue `q` and sends it 200 messages of 4 KiB (some 800 KiB, a dozen segments of 64 KiB),
/// deleting all but every `keep_every`th; returns how many were kept.
async fn sparse_segments(store: &DurableStore, q: &QueueKey, keep_every: u64) -> u64 {
    store.create_queue(record(&q.name)).await.unwrap();
    let body = "x".repeat(4 * 1024);
    let mut kept = 0;
    for i in 0..200 {
        let seq = store
            .send_messages(q, vec![message(&format!("{i}:{body}"), 0, 0)], 0)
            .await
            .unwrap()[0]
            .clone();
        if i % keep_every == 0 {
            kept += 1;
        } else {
            store
                .delete_messages(q, &[deletion(appended(&seq))])
                .await
                .unwrap();
        }
    }
    kept
}

#[tokio::test]
async fn reclaiming_segments_keeps_every_live_message() {
    let dir = temp_dir("compact");
    let q = key("q");
    let options = DurableOptions {
        segment_bytes: 64 * 1024,
    };
    {
        let store = DurableStore::open_with(&dir, options).unwrap();
        let kept = sparse_segments(&store, &q, 25).await;
        assert!(store.active_segment() >= 10, "{}", store.active_segment());
        store.compact_now().await.unwrap();
        assert!(
            store.segment_count() <= 3,
            "{} segments left",
            store.segment_count()
        );
        assert_eq!(
            store.message_counts(&q, 0, i64::MIN).await.unwrap().visible,
            kept
        );
    }
    let store = DurableStore::open_with(&dir, options).unwrap();
    let mut seen = Vec::new();
    loop {
        let got = store
            .receive_messages(&q, receive_at(0, 10, 60_000), None)
            .await
            .unwrap();
        if got.messages.is_empty() {
            break;
        }
        seen.extend(
            got.messages
                .iter()
                .map(|m| text(&m.content.body).split(':').next().unwrap().to_string()),
        );
    }
    seen.sort_by_key(|s| s.parse::<u32>().unwrap());
    assert_eq!(seen, ["0", "25", "50", "75", "100", "125", "150", "175"]);
}

/// A message whose body is only on disk (as after a restart) is written again at the head of the journal
/// when its segment is reclaimed; receives in the meantime, before that copy is on disk, still read it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_stay_readable_while_their_segment_is_reclaimed() {
    let dir = temp_dir("compact-read");
    let q = key("q");
    let options = DurableOptions {
        segment_bytes: 64 * 1024,
    };
    {
        let store = DurableStore::open_with(&dir, options).unwrap();
        assert_eq!(sparse_segments(&store, &q, 5).await, 40);
    }
    let store = Arc::new(DurableStore::open_with(&dir, options).unwrap());
    let compaction = tokio::spawn({
        let store = store.clone();
        async move { store.compact_now().await }
    });
    let mut receives = 0;
    while !compaction.is_finished() && receives < 100_000 {
        let got = store
            .receive_messages(&q, receive_at(0, 10, 0), None)
            .await
            .expect("receive during reclaiming");
        assert!(!got.messages.is_empty());
        receives += 1;
    }
    assert!(compaction.await.unwrap().unwrap() > 0);
    assert_eq!(
        store.message_counts(&q, 0, i64::MIN).await.unwrap().visible,
        40
    );
}

fn fifo_message(body: &str, group: &str, dedup: &str, sent_at: i64) -> NewMessage {
    let mut m = message(body, sent_at, 0);
    let content = Arc::make_mut(&mut m.content);
    content.group_id = Some(group.into());
    content.deduplication_id = Some(dedup.into());
    m.deduplication = Some(DeduplicationKey {
        scope: String::new(),
        id: dedup.into(),
        window_millis: 300_000,
    });
    m
}

async fn fifo_bodies(store: &dyn Store, q: &QueueKey, now: i64) -> Vec<String> {
    received_bodies(store, q, now, 30_000).await
}

#[tokio::test]
async fn durable_fifo_order_locks_and_deduplication_survive_reopening() {
    let dir = temp_dir("fifo");
    let q = key("q.fifo");
    let mut fifo_record = record("q.fifo");
    fifo_record.fifo = true;
    {
        let store = DurableStore::open(&dir).unwrap();
        store.create_queue(fifo_record).await.unwrap();
        let sent = store
            .send_messages(
                &q,
                vec![
                    fifo_message("a1", "a", "1", 0),
                    fifo_message("b1", "b", "2", 0),
                    fifo_message("a2", "a", "3", 0),
                    fifo_message("a1 again", "a", "1", 0),
                ],
                0,
            )
            .await
            .unwrap();
        assert!(
            matches!(sent[3], SendOutcome::Duplicate { seq: 0, .. }),
            "{sent:?}"
        );
        // Group a's head goes in flight; b is free.
        let got = store
            .receive_messages(&q, receive_at(0, 1, 30_000), None)
            .await
            .unwrap();
        assert_eq!(got.messages[0].content.body, "a1");
    }
    let store = DurableStore::open(&dir).unwrap();
    // After recovery group a is still locked by its in-flight head, and b is served.
    assert_eq!(fifo_bodies(&store, &q, 10).await, ["b1"]);
    // The deduplication window survived: a re-send is still a duplicate.
    let again = store
        .send_messages(&q, vec![fifo_message("a1", "a", "1", 20)], 20)
        .await
        .unwrap();
    assert!(matches!(again[0], SendOutcome::Duplicate { .. }));
    // Once a1's visibility runs out, group a resumes in order.
    assert_eq!(fifo_bodies(&store, &q, 40_000).await, ["a1", "a2", "b1"]);
}

fn redrive_to(target: &str, max_receive_count: u32) -> Redrive {
    Redrive {
        target: key(target),
        max_receive_count,
        stamp: MessageAttribute {
            name: "DeadLetterQueueSourceArn".into(),
            data_type: "String".into(),
            value: AttributeValue::String("arn:aws:sqs:us-east-1:000000000000:source".into()),
        },
        restart_retention: false,
        deduplicate_by_message_id: false,
    }
}

async fn move_suite(store: &dyn Store) {
    let (source, dlq) = (key("source"), key("dlq"));
    store.create_queue(record("source")).await.unwrap();
    store.create_queue(record("dlq")).await.unwrap();
    store
        .send_messages(&source, vec![message("poison", 0, 0)], 0)
        .await
        .unwrap();
    let redrive = redrive_to("dlq", 1);
    let first = store
        .receive_messages(&source, receive_at(0, 10, 0), Some(&redrive))
        .await
        .unwrap();
    assert_eq!(first.messages.len(), 1);
    let second = store
        .receive_messages(&source, receive_at(1, 10, 0), Some(&redrive))
        .await
        .unwrap();
    assert!(second.messages.is_empty());
    assert_eq!(second.moved, 1);
    assert_eq!(
        store.message_counts(&source, 1, i64::MIN).await.unwrap(),
        MessageCounts::default()
    );
    assert_eq!(
        store
            .message_counts(&dlq, 1, i64::MIN)
            .await
            .unwrap()
            .visible,
        1
    );
    // Sent at 0 and moved at 1: the dead-letter queue's oldest message joined it at 1, and the
    // receive it had before counts against its source only.
    assert_eq!(
        store
            .queue_gauges(&dlq, 1, i64::MIN)
            .await
            .unwrap()
            .oldest_arrived_at,
        Some(1)
    );
}

#[tokio::test]
async fn moves_to_a_dead_letter_queue_are_atomic_in_both_backends_and_survive_reopening() {
    move_suite(&MemoryStore::new()).await;
    let dir = temp_dir("move");
    {
        let store = DurableStore::open(&dir).unwrap();
        move_suite(&store).await;
    }
    let store = DurableStore::open(&dir).unwrap();
    assert_eq!(
        store
            .message_counts(&key("source"), 2, i64::MIN)
            .await
            .unwrap(),
        MessageCounts::default()
    );
    assert_eq!(
        store
            .queue_gauges(&key("dlq"), 2, i64::MIN)
            .await
            .unwrap()
            .oldest_arrived_at,
        Some(1),
        "the move's time survives reopening"
    );
    let got = store
        .receive_messages(&key("dlq"), receive_at(2, 10, 1000), None)
        .await
        .unwrap();
    assert_eq!(got.messages.len(), 1);
    assert_eq!(got.messages[0].content.body, "poison");
    assert_eq!(
        got.messages[0].receive_count, 2,
        "the count carries over, plus this receive"
    );
    assert!(got.messages[0]
        .content
        .system_attributes
        .iter()
        .any(|a| a.name == "DeadLetterQueueSourceArn"));
}

#[tokio::test]
async fn sequence_numbers_are_not_reused_after_reclaiming_segments() {
    let dir = temp_dir("seq-floor");
    let q = key("q");
    let options = DurableOptions {
        segment_bytes: 16 * 1024,
    };
    let body = "x".repeat(4 * 1024);
    let highest = {
        let store = DurableStore::open_with(&dir, options).unwrap();
        store.create_queue(record("q")).await.unwrap();
        let mut highest = 0;
        for i in 0..20 {
            let sent = store
                .send_messages(&q, vec![message(&format!("{i}{body}"), 0, 0)], 0)
                .await
                .unwrap();
            highest = appended(&sent[0]);
            store
                .delete_messages(&q, &[deletion(highest)])
                .await
                .unwrap();
        }
        // Every message record is dead now; reclaiming removes them all.
        store.compact_now().await.unwrap();
        highest
    };
    let store = DurableStore::open_with(&dir, options).unwrap();
    let sent = store
        .send_messages(&q, vec![message("new", 0, 0)], 0)
        .await
        .unwrap();
    assert!(
        appended(&sent[0]) > highest,
        "{} reused a number up to {highest}",
        appended(&sent[0])
    );
}

/// Deduplication entries that the compactor writes again note the segment their own new record lands
/// in. When those records straddle a segment boundary into the active segment, and the earlier
/// segment is reclaimed in turn, every entry in it must be written again, so the window survives a
/// restart. Several record sizes make some batch straddle the boundary.
#[tokio::test]
async fn deduplication_entries_survive_their_segment_being_reclaimed_twice() {
    // The compactor keeps only entries still in force by the wall clock.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let q = key("q.fifo");
    let options = DurableOptions {
        segment_bytes: 16 * 1024,
    };
    for padding in (20..80).step_by(6) {
        let dir = temp_dir("dedup-reclaim");
        let ids: Vec<String> = (0..300)
            .map(|i| format!("dedup-{i:04}-{}", "x".repeat(padding)))
            .collect();
        {
            let store = DurableStore::open_with(&dir, options).unwrap();
            let mut fifo_record = record("q.fifo");
            fifo_record.fifo = true;
            store.create_queue(fifo_record).await.unwrap();
            let batch = ids
                .iter()
                .map(|id| fifo_message("b", "g", id, now))
                .collect();
            let sent = store.send_messages(&q, batch, now).await.unwrap();
            let deletions: Vec<Deletion> = sent.iter().map(|s| deletion(appended(s))).collect();
            store.delete_messages(&q, &deletions).await.unwrap();
            // The first pass writes the entries again at the head; the second reclaims the segments
            // those copies began in.
            store.compact_now().await.unwrap();
            store.compact_now().await.unwrap();
        }
        let store = DurableStore::open_with(&dir, options).unwrap();
        for id in &ids {
            let again = store
                .send_messages(&q, vec![fifo_message("b", "g", id, now + 1)], now + 1)
                .await
                .unwrap();
            assert!(
                matches!(again[0], SendOutcome::Duplicate { .. }),
                "padding {padding}, {id}: {again:?}"
            );
        }
    }
}

fn user(name: &str) -> SecurityKey {
    SecurityKey::new("user", name)
}

fn put(key: SecurityKey, expected: Option<u64>, value: &str) -> SecurityWrite {
    SecurityWrite::Put {
        key,
        expected,
        value: value.as_bytes().to_vec(),
    }
}

/// The names and versions of a kind's records under a prefix.
async fn listed(store: &dyn Store, kind: &str, prefix: &str) -> Vec<(String, u64)> {
    store
        .security_records(kind, prefix)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.key.name, r.version))
        .collect()
}

fn is_conflict(result: Result<(), StoreError>) -> bool {
    matches!(result, Err(StoreError::Conflict))
}

/// Security records: versioned, written in atomic batches each write of which names the version it read.
async fn security_suite(store: &dyn Store) {
    assert_eq!(store.security_record(&user("alice")).await.unwrap(), None);
    store
        .write_security(vec![
            put(user("alice"), None, "a1"),
            put(user("alan"), None, "b1"),
            put(user("bob"), None, "c1"),
            put(SecurityKey::new("access-key", "alice-key"), None, "k1"),
        ])
        .await
        .unwrap();
    assert_eq!(
        store.security_record(&user("alice")).await.unwrap(),
        Some(SecurityRecord {
            key: user("alice"),
            version: 1,
            value: b"a1".to_vec(),
        })
    );
    assert_eq!(
        listed(store, "user", "al").await,
        [("alan".to_string(), 1), ("alice".to_string(), 1)]
    );
    assert_eq!(listed(store, "user", "").await.len(), 3);
    assert_eq!(
        listed(store, "access-key", "").await,
        [("alice-key".to_string(), 1)],
        "kinds do not mix"
    );
    assert!(listed(store, "role", "").await.is_empty());

    // Every write bumps the version.
    store
        .write_security(vec![put(user("alice"), Some(1), "a2")])
        .await
        .unwrap();
    store
        .write_security(vec![put(user("alice"), Some(2), "a3")])
        .await
        .unwrap();
    let alice = store
        .security_record(&user("alice"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((alice.version, alice.value), (3, b"a3".to_vec()));

    // A write expecting a version the record no longer has, or creating one that exists, conflicts.
    assert!(is_conflict(
        store
            .write_security(vec![put(user("alice"), Some(2), "stale")])
            .await
    ));
    assert!(is_conflict(
        store
            .write_security(vec![put(user("bob"), None, "again")])
            .await
    ));
    assert!(is_conflict(
        store
            .write_security(vec![SecurityWrite::Delete {
                key: user("nobody"),
                expected: 1,
            }])
            .await
    ));
    // One bad write and the whole batch changes nothing.
    assert!(is_conflict(
        store
            .write_security(vec![
                put(user("alan"), Some(1), "b2"),
                put(user("carol"), None, "new"),
                put(user("bob"), Some(7), "c2"),
            ])
            .await
    ));
    // A key written twice in one batch is a conflict too.
    assert!(is_conflict(
        store
            .write_security(vec![
                put(user("alan"), Some(1), "b2"),
                put(user("alan"), Some(2), "b3"),
            ])
            .await
    ));
    assert_eq!(
        listed(store, "user", "").await,
        [
            ("alan".to_string(), 1),
            ("alice".to_string(), 3),
            ("bob".to_string(), 1)
        ]
    );
    assert_eq!(
        store
            .security_record(&user("alan"))
            .await
            .unwrap()
            .unwrap()
            .value,
        b"b1"
    );

    // A delete names the version it read; a record created again starts over at 1.
    assert!(is_conflict(
        store
            .write_security(vec![SecurityWrite::Delete {
                key: user("bob"),
                expected: 2,
            }])
            .await
    ));
    store
        .write_security(vec![
            SecurityWrite::Delete {
                key: user("bob"),
                expected: 1,
            },
            put(user("alan"), Some(1), "b2"),
        ])
        .await
        .unwrap();
    assert_eq!(store.security_record(&user("bob")).await.unwrap(), None);
    assert_eq!(
        listed(store, "user", "").await,
        [("alan".to_string(), 2), ("alice".to_string(), 3)]
    );
    store
        .write_security(vec![put(user("bob"), None, "c-new")])
        .await
        .unwrap();
    assert_eq!(
        store
            .security_record(&user("bob"))
            .await
            .unwrap()
            .unwrap()
            .version,
        1
    );
    store.write_security(Vec::new()).await.unwrap();
}

/// Writers racing on the same version: exactly one of them wins.
async fn security_race(store: Arc<dyn Store>) {
    store
        .write_security(vec![put(user("raced"), None, "0")])
        .await
        .unwrap();
    let writers: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .write_security(vec![put(user("raced"), Some(1), &format!("w{i}"))])
                    .await
            })
        })
        .collect();
    let mut won = 0;
    for writer in writers {
        match writer.await.unwrap() {
            Ok(()) => won += 1,
            Err(StoreError::Conflict) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(won, 1);
    assert_eq!(
        store
            .security_record(&user("raced"))
            .await
            .unwrap()
            .unwrap()
            .version,
        2
    );
}

#[tokio::test]
async fn memory_backend_passes_the_security_suite() {
    security_suite(&MemoryStore::new()).await;
}

#[tokio::test]
async fn durable_backend_passes_the_security_suite() {
    let dir = temp_dir("security-suite");
    let store = DurableStore::open(&dir).unwrap();
    security_suite(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_of_several_racing_security_writers_wins_in_both_backends() {
    security_race(Arc::new(MemoryStore::new())).await;
    let dir = temp_dir("security-race");
    security_race(Arc::new(DurableStore::open(&dir).unwrap())).await;
}

async fn all_security(store: &dyn Store) -> Vec<SecurityRecord> {
    let mut all = store.security_records("user", "").await.unwrap();
    all.extend(store.security_records("access-key", "").await.unwrap());
    all
}

/// Records short enough to read in a failure: key, version, and the start of the value.
fn outline(records: &[SecurityRecord]) -> Vec<(String, u64, String)> {
    records
        .iter()
        .map(|r| {
            let start = String::from_utf8_lossy(&r.value[..r.value.len().min(8)]).into_owned();
            (format!("{}/{}", r.key.kind, r.key.name), r.version, start)
        })
        .collect()
}

fn assert_same(found: &[SecurityRecord], expected: &[SecurityRecord]) {
    assert!(
        found == expected,
        "{:?} where {:?} was expected",
        outline(found),
        outline(expected)
    );
}

#[tokio::test]
async fn security_records_and_their_versions_survive_reopening() {
    let dir = temp_dir("security-reopen");
    let before = {
        let store = DurableStore::open(&dir).unwrap();
        security_suite(&store).await;
        all_security(&store).await
    };
    assert_eq!(before.len(), 4);
    let store = DurableStore::open(&dir).unwrap();
    assert_same(&all_security(&store).await, &before);
    assert_eq!(
        store
            .security_record(&user("bob"))
            .await
            .unwrap()
            .unwrap()
            .version,
        1
    );
    // Writes go on from the recovered versions.
    store
        .write_security(vec![put(user("alice"), Some(3), "a4")])
        .await
        .unwrap();
    assert!(is_conflict(
        store
            .write_security(vec![put(user("alan"), Some(1), "stale")])
            .await
    ));
}

#[tokio::test]
async fn security_records_survive_their_segments_being_reclaimed() {
    let dir = temp_dir("security-compact");
    let options = DurableOptions {
        segment_bytes: 16 * 1024,
    };
    let padding = "p".repeat(1024);
    let expected = {
        let store = DurableStore::open_with(&dir, options).unwrap();
        // Keys written once at the start, that live on in the oldest segment.
        store
            .write_security(vec![
                put(user("early-1"), None, "e1"),
                put(SecurityKey::new("access-key", "early-2"), None, "e2"),
                put(user("early-gone"), None, "e3"),
            ])
            .await
            .unwrap();
        // Then many batches overwriting the same few keys, with a delete and a re-creation among them.
        for round in 0..120u64 {
            let batch = (0..4)
                .map(|k| {
                    let expected = (round > 0).then_some(round);
                    put(
                        user(&format!("hot-{k}")),
                        expected,
                        &format!("{round}:{padding}"),
                    )
                })
                .collect();
            store.write_security(batch).await.unwrap();
            if round == 60 {
                store
                    .write_security(vec![SecurityWrite::Delete {
                        key: user("early-gone"),
                        expected: 1,
                    }])
                    .await
                    .unwrap();
            }
        }
        assert!(store.active_segment() >= 10, "{}", store.active_segment());
        store.compact_now().await.unwrap();
        assert!(
            store.segment_count() <= 3,
            "{} segments left",
            store.segment_count()
        );
        all_security(&store).await
    };
    assert_eq!(expected.len(), 6);
    assert!(expected
        .iter()
        .filter(|r| r.key.name.starts_with("hot-"))
        .all(|r| r.version == 120 && r.value.starts_with(b"119:")));
    let store = DurableStore::open_with(&dir, options).unwrap();
    assert_same(&all_security(&store).await, &expected);
    assert_eq!(
        store.security_record(&user("early-gone")).await.unwrap(),
        None
    );
    // Reclaiming again, after a restart, still keeps them.
    store
        .write_security(vec![put(user("hot-0"), Some(120), &padding)])
        .await
        .unwrap();
    store.compact_now().await.unwrap();
    drop(store);
    let store = DurableStore::open_with(&dir, options).unwrap();
    let again = all_security(&store).await;
    assert_eq!(again.len(), 6);
    assert_eq!(
        store
            .security_record(&user("hot-0"))
            .await
            .unwrap()
            .unwrap()
            .version,
        121
    );
    assert_eq!(
        store
            .security_record(&user("early-1"))
            .await
            .unwrap()
            .unwrap()
            .value,
        b"e1"
    );
}

#[tokio::test]
async fn a_torn_security_batch_is_lost_whole() {
    let dir = temp_dir("security-torn");
    {
        let store = DurableStore::open(&dir).unwrap();
        store
            .write_security(vec![put(user("a"), None, "a1"), put(user("b"), None, "b1")])
            .await
            .unwrap();
        store
            .write_security(vec![
                put(user("a"), Some(1), "a2"),
                SecurityWrite::Delete {
                    key: user("b"),
                    expected: 1,
                },
                put(user("c"), None, &"c".repeat(100)),
            ])
            .await
            .unwrap();
    }
    let last = journal_files(&dir).pop().unwrap();
    let len = std::fs::metadata(&last).unwrap().len();
    // Cut the last batch short, keeping all but the end of its final write.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&last)
        .unwrap()
        .set_len(len - 50)
        .unwrap();
    let store = DurableStore::open(&dir).unwrap();
    assert_eq!(
        listed(&store, "user", "").await,
        [("a".to_string(), 1), ("b".to_string(), 1)]
    );
    assert_eq!(
        store
            .security_record(&user("a"))
            .await
            .unwrap()
            .unwrap()
            .value,
        b"a1"
    );
}

fn text(body: &sluice_store::MessageBody) -> String {
    body.plain().expect("a plain body").to_string()
}

/// A store holds its data directory's lock: a second open fails while it lives. Dropped, it lets go at
/// once, even while other threads of the process start commands, whose forks share the lock's
/// descriptor for a moment before they execute.
#[test]
fn a_data_directory_opens_once_at_a_time_and_again_as_soon_as_it_is_let_go() {
    let dir = temp_dir("lock");
    let held = DurableStore::open(&dir).unwrap();
    assert!(matches!(
        DurableStore::open(&dir),
        Err(sluice_store::durable::OpenError::Locked(_))
    ));
    drop(held);
    let spawning = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let spawners: Vec<_> = (0..2)
        .map(|_| {
            let spawning = spawning.clone();
            std::thread::spawn(move || {
                while spawning.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = std::process::Command::new("true").status();
                }
            })
        })
        .collect();
    for _ in 0..200 {
        let store = DurableStore::open(&dir);
        assert!(store.is_ok(), "{:?}", store.err());
    }
    spawning.store(false, std::sync::atomic::Ordering::Relaxed);
    for spawner in spawners {
        spawner.join().unwrap();
    }
}
