//! What processes sharing a backend agree on, run against every backend: move-task leases and the
//! compare-and-set writes of task records, and the receive attempts kept for retries.

mod common;

use common::{key, record};

use std::path::PathBuf;

use sluice_store::{
    DurableStore, MemoryStore, MoveTaskRecord, MoveTaskStatus, PostgresStore, ReceiveAttempt, Store,
};

fn task() -> MoveTaskRecord {
    MoveTaskRecord {
        handle: "h".into(),
        source: key("dlq"),
        destination: None,
        max_per_second: Some(5),
        status: MoveTaskStatus::Running,
        moved: 0,
        to_move: 10,
        started_at: 1,
        failure_reason: None,
    }
}

async fn lease_suite(store: &dyn Store) {
    assert_eq!(store.claim_move_task("h", "a", 0, 100).await.unwrap(), None);
    let running = task();
    store.put_move_task(running.clone()).await.unwrap();
    // The first claim takes the lease; another owner waits until it runs out, the holder renews.
    assert_eq!(
        store.claim_move_task("h", "a", 0, 100).await.unwrap(),
        Some(running.clone())
    );
    assert_eq!(
        store.claim_move_task("h", "b", 99, 200).await.unwrap(),
        None
    );
    assert!(store
        .claim_move_task("h", "a", 99, 200)
        .await
        .unwrap()
        .is_some());
    assert_eq!(
        store.claim_move_task("h", "b", 150, 300).await.unwrap(),
        None
    );
    // Progress is written only over the record read, and only by the holder when one is named.
    let progressed = MoveTaskRecord {
        moved: 3,
        ..running.clone()
    };
    assert!(!store
        .replace_move_task(&running, progressed.clone(), Some("b"))
        .await
        .unwrap());
    assert!(store
        .replace_move_task(&running, progressed.clone(), Some("a"))
        .await
        .unwrap());
    assert!(!store
        .replace_move_task(&running, progressed.clone(), Some("a"))
        .await
        .unwrap());
    // A cancel, by anyone, over the latest record; the holder's stale progress then loses.
    let cancelling = MoveTaskRecord {
        status: MoveTaskStatus::Cancelling,
        ..progressed.clone()
    };
    assert!(store
        .replace_move_task(&progressed, cancelling.clone(), None)
        .await
        .unwrap());
    let stale = MoveTaskRecord {
        moved: 5,
        ..progressed.clone()
    };
    assert!(!store
        .replace_move_task(&progressed, stale, Some("a"))
        .await
        .unwrap());
    // Once the lease ran out, another owner takes the task over, and the former holder writes nothing.
    assert_eq!(
        store.claim_move_task("h", "b", 200, 300).await.unwrap(),
        Some(cancelling.clone())
    );
    let cancelled = MoveTaskRecord {
        status: MoveTaskStatus::Cancelled,
        ..cancelling.clone()
    };
    assert!(!store
        .replace_move_task(&cancelling, cancelled.clone(), Some("a"))
        .await
        .unwrap());
    assert!(store
        .replace_move_task(&cancelling, cancelled.clone(), Some("b"))
        .await
        .unwrap());
    assert_eq!(store.move_tasks().await.unwrap(), vec![cancelled]);
    // An ended task has no lease to take.
    assert_eq!(
        store.claim_move_task("h", "b", 200, 300).await.unwrap(),
        None
    );
    assert_eq!(
        store.claim_move_task("h", "c", 400, 500).await.unwrap(),
        None
    );
}

fn attempt(receipts: &[(u64, u32)], expires_at: i64) -> ReceiveAttempt {
    ReceiveAttempt {
        answer: format!("answer {receipts:?}").into_bytes(),
        receipts: receipts.to_vec(),
        expires_at,
        spoiled: false,
    }
}

async fn attempt_suite(store: &dyn Store) {
    let q = key("q.fifo");
    store.create_queue(record("q.fifo", true)).await.unwrap();
    let first = attempt(&[(1, 1), (2, 1)], 1_000);
    store
        .record_receive_attempt(&q, "one", first.clone(), 0)
        .await
        .unwrap();
    store
        .record_receive_attempt(&q, "two", attempt(&[(3, 2)], 1_000), 0)
        .await
        .unwrap();
    assert_eq!(
        store.receive_attempt(&q, "one", 999).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store
            .receive_attempt(&key("other"), "one", 0)
            .await
            .unwrap(),
        None
    );
    // A change to message 2 spoils the attempt that handed it out, and only that one.
    store.spoil_receive_attempts(&q, &[2, 9]).await.unwrap();
    let spoiled = store.receive_attempt(&q, "one", 0).await.unwrap().unwrap();
    assert!(spoiled.spoiled);
    assert!(
        !store
            .receive_attempt(&q, "two", 0)
            .await
            .unwrap()
            .unwrap()
            .spoiled
    );
    assert_eq!(store.receive_attempt(&q, "one", 1_000).await.unwrap(), None);
    // Recording the id again starts afresh.
    let again = attempt(&[(4, 1)], 2_000);
    store
        .record_receive_attempt(&q, "one", again.clone(), 1_500)
        .await
        .unwrap();
    assert_eq!(
        store.receive_attempt(&q, "one", 1_500).await.unwrap(),
        Some(again)
    );
    assert_eq!(store.receive_attempt(&q, "two", 1_500).await.unwrap(), None);
    // A deleted queue forgets its attempts, and a queue that is gone keeps none.
    store.delete_queue(&q, 1_600).await.unwrap();
    store.create_queue(record("q.fifo", true)).await.unwrap();
    assert_eq!(store.receive_attempt(&q, "one", 1_600).await.unwrap(), None);
    store
        .record_receive_attempt(&key("gone"), "x", attempt(&[(1, 1)], 9_000), 0)
        .await
        .unwrap();
    assert_eq!(
        store.receive_attempt(&key("gone"), "x", 0).await.unwrap(),
        None
    );
}

async fn suites(store: &dyn Store) {
    lease_suite(store).await;
    attempt_suite(store).await;
}

#[tokio::test]
async fn memory_backend_keeps_leases_and_attempts() {
    suites(&MemoryStore::new()).await;
}

#[tokio::test]
async fn durable_backend_keeps_leases_and_attempts() {
    let dir: PathBuf =
        std::env::temp_dir().join(format!("sluice-store-coordination-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    {
        let store = DurableStore::open(&dir).unwrap();
        suites(&store).await;
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn postgres_backend_keeps_leases_and_attempts() {
    let url = sluice_test_postgres::PrivatePostgres::shared().new_database();
    suites(&PostgresStore::connect(&url, 4).await.unwrap()).await;
}

/// Two stores on one database are two processes: a lease one holds, the other sees.
#[tokio::test]
async fn postgres_stores_of_one_database_share_leases_and_attempts() {
    let url = sluice_test_postgres::PrivatePostgres::shared().new_database();
    let a = PostgresStore::connect(&url, 2).await.unwrap();
    let b = PostgresStore::connect(&url, 2).await.unwrap();
    a.put_move_task(task()).await.unwrap();
    assert!(a.claim_move_task("h", "a", 0, 100).await.unwrap().is_some());
    assert_eq!(b.claim_move_task("h", "b", 50, 150).await.unwrap(), None);
    assert!(b
        .claim_move_task("h", "b", 100, 200)
        .await
        .unwrap()
        .is_some());
    let q = key("q.fifo");
    a.create_queue(record("q.fifo", true)).await.unwrap();
    let kept = attempt(&[(1, 1)], 1_000);
    a.record_receive_attempt(&q, "one", kept.clone(), 0)
        .await
        .unwrap();
    assert_eq!(b.receive_attempt(&q, "one", 0).await.unwrap(), Some(kept));
}
