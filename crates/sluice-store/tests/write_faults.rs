//! The durable engine on a disk that fails: a write or sync that fails (EIO, ENOSPC, EROFS) takes the
//! store out of service with nothing of the failed change visible, and once the disk works again the
//! store comes back by itself with everything acknowledged and nothing else.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_store::{
    AttributeValue, DeleteOutcome, Deletion, DiskFaults, DurableOptions, DurableStore, Fault,
    MessageAttribute, MessageContent, MessageCounts, NewMessage, QueueKey, QueueRecord,
    ReceiveRequest, Redrive, SecurityKey, SecurityWrite, SendOutcome, Store, StoreError,
    VisibilityChange, VisibilityOutcome,
};

/// How long a store may take to come back once its disk works again.
const RECOVERY_BOUND: Duration = Duration::from_secs(10);

fn temp_dir(label: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "sluice-faults-{label}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn key() -> QueueKey {
    named("q")
}

fn named(name: &str) -> QueueKey {
    QueueKey {
        account_id: "000000000000".into(),
        region: "us-east-1".into(),
        name: name.into(),
    }
}

fn record() -> QueueRecord {
    QueueRecord {
        key: key(),
        attributes: BTreeMap::new(),
        tags: BTreeMap::new(),
        created_timestamp: 1,
        last_modified_timestamp: 1,
        last_purge_millis: None,
        fifo: false,
        incarnation: 7,
        version: 0,
    }
}

fn message(body: &str) -> NewMessage {
    NewMessage {
        content: Arc::new(MessageContent {
            message_id: format!("id-{body}"),
            body: body.into(),
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
        }),
        visible_at: 0,
        deduplication: None,
    }
}

fn receive(now: i64, max: usize, hide_ms: i64) -> ReceiveRequest {
    ReceiveRequest {
        now,
        max_messages: max,
        visibility_deadline: now + hide_ms,
        expire_before: i64::MIN,
        max_in_flight: 1000,
    }
}

struct Faulty {
    store: DurableStore,
    faults: Arc<DiskFaults>,
    dir: PathBuf,
}

impl Faulty {
    fn finish(self) {
        drop(self.store);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A store holding one queue with `count` acknowledged messages, `m0`, `m1`, ... in that order.
async fn store_with(label: &str, count: usize) -> Faulty {
    let dir = temp_dir(label);
    let faults = DiskFaults::new();
    let store = DurableStore::open_with_faults(&dir, DurableOptions::default(), faults.clone())
        .expect("open");
    store.create_queue(record()).await.expect("create");
    for i in 0..count {
        let sent = store
            .send_messages(&key(), vec![message(&format!("m{i}"))], 0)
            .await
            .expect("send");
        assert!(matches!(sent[..], [SendOutcome::Appended(_)]));
    }
    Faulty { store, faults, dir }
}

fn is_unavailable<T: std::fmt::Debug>(result: Result<T, StoreError>) -> bool {
    matches!(result, Err(StoreError::Unavailable(_)))
}

/// While out of service the store serves nothing, so no read can see what the failed change did.
async fn assert_out_of_service(store: &DurableStore) {
    assert!(!store.is_ready());
    assert!(is_unavailable(
        store.message_counts(&key(), 0, i64::MIN).await
    ));
    assert!(is_unavailable(store.get_queue(&key()).await));
    assert!(is_unavailable(
        store
            .receive_messages(&key(), receive(0, 10, 1), None)
            .await
    ));
    assert!(is_unavailable(
        store.send_messages(&key(), vec![message("late")], 0).await
    ));
}

async fn back_in_service(store: &DurableStore) {
    let deadline = Instant::now() + RECOVERY_BOUND;
    while !store.is_ready() {
        assert!(
            Instant::now() < deadline,
            "the store did not come back within {RECOVERY_BOUND:?} of its disk working again"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every body a receive at `now` hands out, received until none is left.
async fn drain(store: &DurableStore, now: i64) -> Vec<String> {
    let mut bodies = Vec::new();
    loop {
        let outcome = store
            .receive_messages(&key(), receive(now, 10, 1_000_000), None)
            .await
            .expect("receive");
        if outcome.messages.is_empty() {
            return bodies;
        }
        bodies.extend(outcome.messages.iter().map(|m| text(&m.content.body)));
    }
}

fn bodies(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("m{i}")).collect()
}

async fn counts(store: &DurableStore, now: i64) -> MessageCounts {
    store
        .message_counts(&key(), now, i64::MIN)
        .await
        .expect("counts")
}

/// A send whose write fails (a full disk) was once still counted in memory: 79 counted where 78 were
/// acknowledged, and every later write failed too, forever.
#[tokio::test]
async fn a_send_whose_write_fails_is_not_counted_and_the_store_recovers() {
    let s = store_with("send-write", 78).await;
    s.faults.fail_writes(Fault::NoSpace);
    assert!(is_unavailable(
        s.store.send_messages(&key(), vec![message("m78")], 0).await
    ));
    assert_out_of_service(&s.store).await;
    s.faults.clear();
    back_in_service(&s.store).await;
    assert_eq!(counts(&s.store, 0).await.visible, 78);
    assert_eq!(drain(&s.store, 0).await, bodies(0..78));
    let sent = s
        .store
        .send_messages(&key(), vec![message("after")], 0)
        .await
        .expect("writes work again");
    assert!(matches!(sent[..], [SendOutcome::Appended(_)]));
    s.finish();
}

/// After a failed fsync the written record is still readable from the page cache though it may never
/// reach the disk: it must not come back when the store is rebuilt.
#[tokio::test]
async fn a_send_whose_sync_fails_does_not_come_back_from_the_page_cache() {
    let s = store_with("send-sync", 3).await;
    s.faults.fail_syncs(Fault::Io);
    assert!(is_unavailable(
        s.store
            .send_messages(&key(), vec![message("m3"), message("m4")], 0)
            .await
    ));
    assert_out_of_service(&s.store).await;
    s.faults.clear();
    back_in_service(&s.store).await;
    assert_eq!(drain(&s.store, 0).await, bodies(0..3));
    s.finish();
}

/// A receive whose record could not be written hands nothing out: the messages stay visible, while an
/// earlier acknowledged receive still hides its message.
#[tokio::test]
async fn a_receive_whose_write_fails_leaves_its_messages_visible() {
    let s = store_with("receive", 5).await;
    let first = s
        .store
        .receive_messages(&key(), receive(0, 1, 1_000_000), None)
        .await
        .expect("receive");
    assert_eq!(first.messages[0].content.body, "m0");
    s.faults.fail_writes(Fault::Io);
    assert!(is_unavailable(
        s.store
            .receive_messages(&key(), receive(0, 10, 1_000_000), None)
            .await
    ));
    assert_out_of_service(&s.store).await;
    s.faults.clear();
    back_in_service(&s.store).await;
    let after = counts(&s.store, 0).await;
    assert_eq!((after.visible, after.in_flight), (4, 1));
    let again = s
        .store
        .receive_messages(&key(), receive(0, 10, 1_000_000), None)
        .await
        .expect("receive");
    let received: Vec<(String, u32)> = again
        .messages
        .iter()
        .map(|m| (text(&m.content.body), m.receive_count))
        .collect();
    let expected: Vec<(String, u32)> = bodies(1..5).into_iter().map(|b| (b, 1)).collect();
    assert_eq!(received, expected);
    s.finish();
}

/// A delete that could not be written leaves its message; an acknowledged one stays deleted.
#[tokio::test]
async fn a_delete_whose_write_fails_leaves_the_message() {
    let s = store_with("delete", 4).await;
    let deletion = |seq| Deletion {
        seq,
        receive_count: None,
        now: 0,
    };
    let seqs: Vec<u64> = s
        .store
        .peek_visible(&key(), 10, 0)
        .await
        .expect("peek")
        .into_iter()
        .map(|(seq, _)| seq)
        .collect();
    let done = s
        .store
        .delete_messages(&key(), &[deletion(seqs[0])])
        .await
        .expect("delete");
    assert_eq!(done, vec![DeleteOutcome::Deleted]);
    s.faults.fail_writes(Fault::ReadOnly);
    assert!(is_unavailable(
        s.store.delete_messages(&key(), &[deletion(seqs[1])]).await
    ));
    assert_out_of_service(&s.store).await;
    s.faults.clear();
    back_in_service(&s.store).await;
    assert_eq!(drain(&s.store, 0).await, bodies(1..4));
    s.finish();
}

/// A visibility change that could not be written leaves the old deadline; an acknowledged one holds.
#[tokio::test]
async fn a_visibility_change_whose_write_fails_keeps_the_old_deadline() {
    let s = store_with("visibility", 2).await;
    let received = s
        .store
        .receive_messages(&key(), receive(0, 2, 1_000), None)
        .await
        .expect("receive");
    let change = |seq, deadline| VisibilityChange {
        seq,
        receive_count: 1,
        now: 0,
        deadline,
        max_span_from_receive: i64::MAX,
    };
    let (a, b) = (received.messages[0].seq, received.messages[1].seq);
    let changed = s
        .store
        .change_visibility(&key(), &[change(a, 0)])
        .await
        .expect("change");
    assert_eq!(changed, vec![VisibilityOutcome::Changed]);
    s.faults.fail_syncs(Fault::NoSpace);
    assert!(is_unavailable(
        s.store.change_visibility(&key(), &[change(b, 0)]).await
    ));
    assert_out_of_service(&s.store).await;
    s.faults.clear();
    back_in_service(&s.store).await;
    assert_eq!(drain(&s.store, 500).await, bodies(0..1));
    assert_eq!(drain(&s.store, 1_000).await, bodies(1..2));
    s.finish();
}

/// A purge that could not be written removes nothing.
#[tokio::test]
async fn a_purge_whose_write_fails_removes_nothing() {
    let s = store_with("purge", 6).await;
    s.faults.fail_writes(Fault::NoSpace);
    assert!(is_unavailable(s.store.purge_messages(&key()).await));
    assert_out_of_service(&s.store).await;
    s.faults.clear();
    back_in_service(&s.store).await;
    assert_eq!(drain(&s.store, 0).await, bodies(0..6));
    s.finish();
}

/// While the disk keeps failing the store stays out of service, however often it is asked; the
/// moment it works the store comes back, and what it acknowledged survives a restart too.
#[tokio::test]
async fn a_store_stays_out_of_service_until_its_disk_works_and_then_survives_a_restart() {
    let Faulty { store, faults, dir } = store_with("lasting", 2).await;
    faults.fail_writes(Fault::ReadOnly);
    assert!(is_unavailable(
        store.send_messages(&key(), vec![message("x")], 0).await
    ));
    let until = Instant::now() + Duration::from_millis(600);
    while Instant::now() < until {
        assert_out_of_service(&store).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    faults.clear();
    back_in_service(&store).await;
    store
        .send_messages(&key(), vec![message("m2")], 0)
        .await
        .expect("send");
    drop(store);
    let reopened = DurableStore::open(&dir).expect("reopen");
    assert_eq!(drain(&reopened, 0).await, bodies(0..3));
    drop(reopened);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A security batch that could not be made durable changes nothing: reads and writes fail while the
/// store is out of service, and the rebuilt store has the acknowledged records at their versions.
#[tokio::test]
async fn a_security_batch_whose_sync_fails_is_lost_whole_and_the_rest_rebuilt() {
    let s = store_with("security", 1).await;
    let user = |name: &str| SecurityKey::new("user", name);
    let put = |name: &str, expected, value: &str| SecurityWrite::Put {
        key: user(name),
        expected,
        value: value.as_bytes().to_vec(),
    };
    s.store
        .write_security(vec![put("a", None, "a1"), put("b", None, "b1")])
        .await
        .expect("write");
    s.store
        .write_security(vec![put("a", Some(1), "a2")])
        .await
        .expect("write");
    s.faults.fail_syncs(Fault::Io);
    assert!(is_unavailable(
        s.store
            .write_security(vec![
                put("a", Some(2), "a3"),
                SecurityWrite::Delete {
                    key: user("b"),
                    expected: 1,
                },
                put("c", None, "c1"),
            ])
            .await
    ));
    assert!(is_unavailable(s.store.security_record(&user("a")).await));
    assert!(is_unavailable(s.store.security_records("user", "").await));
    assert!(is_unavailable(
        s.store.write_security(vec![put("d", None, "d1")]).await
    ));
    s.faults.clear();
    back_in_service(&s.store).await;
    let found: Vec<(String, u64, Vec<u8>)> = s
        .store
        .security_records("user", "")
        .await
        .expect("list")
        .into_iter()
        .map(|r| (r.key.name, r.version, r.value))
        .collect();
    assert_eq!(
        found,
        [
            ("a".to_string(), 2, b"a2".to_vec()),
            ("b".to_string(), 1, b"b1".to_vec())
        ]
    );
    s.store
        .write_security(vec![put("a", Some(2), "a3")])
        .await
        .expect("writes work again");
    s.finish();
}

/// A data directory that cannot be written was opened anyway, and every request failed after.
#[test]
fn opening_a_directory_that_cannot_be_written_fails_naming_it() {
    let dir = temp_dir("unwritable");
    let faults = DiskFaults::new();
    faults.fail_writes(Fault::ReadOnly);
    let error = DurableStore::open_with_faults(&dir, DurableOptions::default(), faults)
        .err()
        .expect("the open fails")
        .to_string();
    assert!(error.contains(&dir.display().to_string()), "{error}");
    assert!(error.contains("Read-only file system"), "{error}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The start-up check leaves nothing behind, and a directory with a journal already in it opens
/// cleanly after a refused start.
#[test]
fn a_refused_start_leaves_the_directory_usable() {
    let dir = temp_dir("refused");
    DurableStore::open(&dir).expect("first open").close();
    let faults = DiskFaults::new();
    faults.fail_syncs(Fault::Io);
    assert!(DurableStore::open_with_faults(&dir, DurableOptions::default(), faults).is_err());
    assert!(!dir.join("sluice.probe").exists());
    DurableStore::open(&dir)
        .expect("open after a refused start")
        .close();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A receive that moves a message to its dead-letter queue reads the body back from disk after the
/// queue has already changed in memory. When that read failed, the message was gone from the queue
/// in memory, in neither queue, and reads kept serving that.
#[tokio::test]
async fn a_dead_letter_move_whose_body_cannot_be_read_changes_nothing() {
    let dir = temp_dir("dead-letter-read");
    let dead_letters = QueueRecord {
        key: named("dlq"),
        incarnation: 8,
        ..record()
    };
    {
        let store = DurableStore::open(&dir).expect("open");
        store.create_queue(record()).await.expect("create");
        store.create_queue(dead_letters).await.expect("create");
        store
            .send_messages(&key(), vec![message("m0")], 0)
            .await
            .expect("send");
        let first = store
            .receive_messages(&key(), receive(0, 1, 1), None)
            .await
            .expect("receive");
        assert_eq!(first.messages.len(), 1);
    }
    // Reopened, the store holds no body in memory: the move has to read it from the journal.
    let faults = DiskFaults::new();
    let store = DurableStore::open_with_faults(&dir, DurableOptions::default(), faults.clone())
        .expect("reopen");
    let redrive = Redrive {
        target: named("dlq"),
        max_receive_count: 1,
        stamp: MessageAttribute {
            name: "DeadLetterQueueSourceArn".into(),
            data_type: "String".into(),
            value: AttributeValue::String("arn:aws:sqs:us-east-1:000000000000:q".into()),
        },
        restart_retention: false,
        deduplicate_by_message_id: false,
    };
    faults.fail_reads(Fault::Io);
    assert!(is_unavailable(
        store
            .receive_messages(&key(), receive(10, 10, 1_000), Some(&redrive))
            .await
    ));
    assert_out_of_service(&store).await;
    faults.clear();
    back_in_service(&store).await;
    let dead = store
        .message_counts(&named("dlq"), 10, i64::MIN)
        .await
        .expect("counts");
    assert_eq!(dead.visible, 0);
    let again = store
        .receive_messages(&key(), receive(10, 10, 1_000), None)
        .await
        .expect("receive");
    let received: Vec<(String, u32)> = again
        .messages
        .iter()
        .map(|m| (text(&m.content.body), m.receive_count))
        .collect();
    assert_eq!(received, vec![("m0".to_string(), 2)]);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Senders keep sending, each retrying a refused message until it is acknowledged, while the disk
/// fails and recovers again and again: in the end every message is there exactly once, before and
/// after a restart, since a refused send leaves nothing behind and an acknowledged one is durable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn senders_retrying_through_repeated_disk_failures_leave_each_message_once() {
    const SENDERS: usize = 6;
    const EACH: usize = 150;
    let Faulty { store, faults, dir } = store_with("flapping", 0).await;
    let store = Arc::new(store);
    let give_up = Instant::now() + Duration::from_secs(60);
    let kinds = [Fault::Io, Fault::NoSpace, Fault::ReadOnly];
    // The disk fails before the first send, so the faults bite however fast the senders are.
    faults.fail_writes(kinds[0]);
    let senders: Vec<_> = (0..SENDERS)
        .map(|sender| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut refused = 0;
                for i in 0..EACH {
                    let body = format!("s{sender}-{i}");
                    loop {
                        match store.send_messages(&key(), vec![message(&body)], 0).await {
                            Ok(_) => break,
                            Err(StoreError::Unavailable(_)) if Instant::now() < give_up => {
                                refused += 1;
                                tokio::time::sleep(Duration::from_millis(5)).await;
                            }
                            Err(e) => panic!("send {body}: {e}"),
                        }
                    }
                }
                refused
            })
        })
        .collect();
    let faults_flipper = faults.clone();
    let flipper = tokio::spawn(async move {
        for round in 0..8 {
            if round > 0 {
                tokio::time::sleep(Duration::from_millis(40)).await;
                if round % 2 == 0 {
                    faults_flipper.fail_writes(kinds[round % 3]);
                } else {
                    faults_flipper.fail_syncs(kinds[round % 3]);
                }
            }
            tokio::time::sleep(Duration::from_millis(60)).await;
            faults_flipper.clear();
        }
    });
    flipper.await.expect("flipper");
    let mut refused = 0;
    for sender in senders {
        refused += sender.await.expect("sender");
    }
    assert!(
        refused > 0,
        "no send was ever refused: the faults did not bite"
    );
    back_in_service(&store).await;
    let mut expected: Vec<String> = (0..SENDERS)
        .flat_map(|s| (0..EACH).map(move |i| format!("s{s}-{i}")))
        .collect();
    expected.sort();
    let mut found = drain(&store, 0).await;
    found.sort();
    assert_eq!(found, expected);
    drop(store);
    let reopened = DurableStore::open(&dir).expect("reopen");
    // Past the hiding of the first drain's receives, which are durable too.
    let mut found = drain(&reopened, 2_000_000).await;
    found.sort();
    assert_eq!(found, expected);
    drop(reopened);
    let _ = std::fs::remove_dir_all(&dir);
}

fn text(body: &sluice_store::MessageBody) -> String {
    body.plain().expect("a plain body").to_string()
}
