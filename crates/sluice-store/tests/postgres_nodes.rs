//! Several Sluice nodes on one PostgreSQL database: two stores with pools of their own receive from
//! the same queues at the same time. On a standard queue no message is handed out twice; on a FIFO
//! queue no two nodes ever hold messages of the same group, and each group is received in order.
//! These run only with `SLUICE_TEST_STORE=postgres`.

mod common;

use common::{key, message, record};

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use sluice_store::{Deletion, MessageContent, PostgresStore, ReceiveRequest, SendOutcome, Store};

const NOW: i64 = 1_000;
/// Long enough that nothing handed out in a test becomes visible again.
const HIDDEN_UNTIL: i64 = NOW + 3_600_000;

/// Two stores on one new database, or None when the tests run on another backend.
async fn two_nodes() -> Option<(Arc<PostgresStore>, Arc<PostgresStore>)> {
    if std::env::var("SLUICE_TEST_STORE").as_deref() != Ok("postgres") {
        eprintln!("skipped: SLUICE_TEST_STORE is not postgres");
        return None;
    }
    let url = sluice_test_postgres::PrivatePostgres::shared().new_database();
    let a = PostgresStore::connect(&url, 4).await.unwrap();
    let b = PostgresStore::connect(&url, 4).await.unwrap();
    Some((Arc::new(a), Arc::new(b)))
}

fn receive(max_messages: usize) -> ReceiveRequest {
    ReceiveRequest {
        now: NOW,
        max_messages,
        visibility_deadline: HIDDEN_UNTIL,
        expire_before: i64::MIN,
        max_in_flight: 120_000,
    }
}

fn body(content: &MessageContent) -> String {
    content.body.plain().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_never_hand_out_one_standard_message_twice() {
    let Some((a, b)) = two_nodes().await else {
        return;
    };
    let q = key("shared");
    a.create_queue(record("shared", false)).await.unwrap();
    let total = 1_500;
    for batch in 0..total / 10 {
        let node = if batch % 2 == 0 { &a } else { &b };
        let messages = (0..10)
            .map(|i| message(&format!("m{}", batch * 10 + i), None, NOW))
            .collect();
        node.send_messages(&q, messages, NOW).await.unwrap();
    }
    let mut workers = Vec::new();
    for worker in 0..8 {
        let node = if worker % 2 == 0 {
            a.clone()
        } else {
            b.clone()
        };
        let q = q.clone();
        workers.push(tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let outcome = node.receive_messages(&q, receive(10), None).await.unwrap();
                if outcome.messages.is_empty() {
                    return got;
                }
                // Half of what a worker gets it deletes, so deletes run beside the receives.
                let deletions: Vec<Deletion> = outcome
                    .messages
                    .iter()
                    .step_by(2)
                    .map(|m| Deletion {
                        seq: m.seq,
                        receive_count: None,
                        now: NOW,
                    })
                    .collect();
                node.delete_messages(&q, &deletions).await.unwrap();
                got.extend(outcome.messages.iter().map(|m| body(&m.content)));
            }
        }));
    }
    let mut seen = HashSet::new();
    for worker in workers {
        for body in worker.await.unwrap() {
            assert!(seen.insert(body.clone()), "{body} handed out twice");
        }
    }
    assert_eq!(seen.len(), total);
    let counts = a.message_counts(&q, NOW, i64::MIN).await.unwrap();
    assert_eq!((counts.visible, counts.delayed), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_never_hold_messages_of_one_fifo_group_together() {
    let Some((a, b)) = two_nodes().await else {
        return;
    };
    let q = key("shared.fifo");
    a.create_queue(record("shared.fifo", true)).await.unwrap();
    let (groups, per_group) = (12, 15);
    for i in 0..per_group {
        let messages = (0..groups)
            .map(|g| message(&format!("{g}:{i}"), Some(&format!("g{g}")), NOW))
            .collect();
        let sent = a.send_messages(&q, messages, NOW).await.unwrap();
        assert!(sent.iter().all(|s| matches!(s, SendOutcome::Appended(_))));
    }
    // Which node holds messages of each group, and how far each group has been received.
    let holders: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let received: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let deleted = Arc::new(AtomicUsize::new(0));
    let total = groups * per_group;
    let mut workers = Vec::new();
    for worker in 0..6 {
        let node = if worker % 2 == 0 {
            a.clone()
        } else {
            b.clone()
        };
        let (q, holders, received, deleted) = (
            q.clone(),
            holders.clone(),
            received.clone(),
            deleted.clone(),
        );
        workers.push(tokio::spawn(async move {
            for round in 0..20_000 {
                if deleted.load(Ordering::SeqCst) == total {
                    return;
                }
                let max = 1 + (worker + round) % 10;
                let outcome = node.receive_messages(&q, receive(max), None).await.unwrap();
                if outcome.messages.is_empty() {
                    tokio::task::yield_now().await;
                    continue;
                }
                let mut mine = Vec::new();
                for m in &outcome.messages {
                    let text = body(&m.content);
                    let (group, index) = text.split_once(':').unwrap();
                    let index: usize = index.parse().unwrap();
                    let mut holders = holders.lock().unwrap();
                    let holder = *holders.entry(group.to_string()).or_insert(worker);
                    assert_eq!(holder, worker, "group {group} held by two workers at once");
                    let mut received = received.lock().unwrap();
                    let next = received.entry(group.to_string()).or_insert(0);
                    assert_eq!(index, *next, "group {group} out of order");
                    *next += 1;
                    mine.push(group.to_string());
                }
                // Released before the deletes: until they commit, nobody else can receive the
                // group, so a second holder seen meanwhile is a real one.
                {
                    let mut held = holders.lock().unwrap();
                    for group in &mine {
                        held.remove(group);
                    }
                }
                let deletions: Vec<Deletion> = outcome
                    .messages
                    .iter()
                    .map(|m| Deletion {
                        seq: m.seq,
                        receive_count: Some(m.receive_count),
                        now: NOW,
                    })
                    .collect();
                let outcomes = node.delete_messages(&q, &deletions).await.unwrap();
                assert!(outcomes
                    .iter()
                    .all(|o| *o == sluice_store::DeleteOutcome::Deleted));
                deleted.fetch_add(deletions.len(), Ordering::SeqCst);
            }
        }));
    }
    for worker in workers {
        worker.await.unwrap();
    }
    assert_eq!(deleted.load(Ordering::SeqCst), total);
    let received = received.lock().unwrap();
    assert!(received.values().all(|n| *n == per_group));
}
