//! Change notices between nodes: two `PostgresStore`s on one database, as two Sluice processes would
//! have, each hearing what the other changes. Run with `SLUICE_TEST_STORE=postgres`; skipped otherwise.

mod common;

use common::{key, message, record};

use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_store::{ChangeNotice, PostgresStore, SecurityKey, SecurityWrite, Store};
use sluice_test_postgres::PrivatePostgres;
use tokio::sync::mpsc;

/// How long a notice may take to cross from one node to the other.
const CROSSING: Duration = Duration::from_millis(100);

/// How long a test waits for a notice before it fails.
const PATIENCE: Duration = Duration::from_secs(5);

fn postgres_selected() -> bool {
    std::env::var("SLUICE_TEST_STORE").as_deref() == Ok("postgres")
}

/// The notices a store delivers, as a channel (the sink must not block).
fn heard(store: &PostgresStore) -> mpsc::UnboundedReceiver<ChangeNotice> {
    let (tx, rx) = mpsc::unbounded_channel();
    store.subscribe(Arc::new(move |notice| {
        let _ = tx.send(notice);
    }));
    rx
}

async fn next(rx: &mut mpsc::UnboundedReceiver<ChangeNotice>) -> ChangeNotice {
    tokio::time::timeout(PATIENCE, rx.recv())
        .await
        .expect("a notice in time")
        .expect("the store still delivering")
}

/// Waits for `wanted`, passing over others.
async fn wait_for(rx: &mut mpsc::UnboundedReceiver<ChangeNotice>, wanted: &ChangeNotice) {
    while next(rx).await != *wanted {}
}

fn drain(rx: &mut mpsc::UnboundedReceiver<ChangeNotice>) {
    while rx.try_recv().is_ok() {}
}

async fn two_nodes(server: &PrivatePostgres) -> (PostgresStore, PostgresStore) {
    let url = server.new_database();
    let a = PostgresStore::connect(&url, 2).await.unwrap();
    let b = PostgresStore::connect(&url, 2).await.unwrap();
    (a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_through_one_node_is_heard_by_the_other_within_100_ms() {
    if !postgres_selected() {
        return;
    }
    let (a, b) = two_nodes(PrivatePostgres::shared()).await;
    let mut notices = heard(&b);
    a.create_queue(record("q", false)).await.unwrap();
    a.create_queue(record("other", false)).await.unwrap();
    let wanted = ChangeNotice::MessagesAvailable(key("q"));

    let mut latencies = Vec::new();
    for i in 0..200 {
        drain(&mut notices);
        // A send to another queue between, so that each notice names the queue it was for.
        a.send_messages(&key("other"), vec![message("x", None, 0)], 0)
            .await
            .unwrap();
        let sent = Instant::now();
        a.send_messages(&key("q"), vec![message(&i.to_string(), None, 0)], 0)
            .await
            .unwrap();
        wait_for(&mut notices, &wanted).await;
        latencies.push(sent.elapsed());
    }
    latencies.sort();
    let p99 = latencies[latencies.len() * 99 / 100 - 1];
    eprintln!(
        "notice latency: median {:?}, p99 {p99:?}, max {:?}",
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1]
    );
    assert!(p99 < CROSSING, "p99 {p99:?}");
}

#[tokio::test]
async fn a_security_write_through_one_node_is_heard_by_the_other() {
    if !postgres_selected() {
        return;
    }
    let (a, b) = two_nodes(PrivatePostgres::shared()).await;
    let mut notices = heard(&b);
    let before = b.security_generation();
    a.write_security(vec![SecurityWrite::Put {
        key: SecurityKey::new("user", "000000000000/alice"),
        expected: None,
        value: b"{}".to_vec(),
    }])
    .await
    .unwrap();
    wait_for(&mut notices, &ChangeNotice::SecurityChanged).await;
    assert_ne!(b.security_generation(), before);
}

#[tokio::test]
async fn messages_made_available_again_are_announced_but_receives_are_not() {
    if !postgres_selected() {
        return;
    }
    let (a, b) = two_nodes(PrivatePostgres::shared()).await;
    let mut notices = heard(&b);
    a.create_queue(record("q", false)).await.unwrap();
    a.send_messages(&key("q"), vec![message("one", None, 0)], 0)
        .await
        .unwrap();
    let wanted = ChangeNotice::MessagesAvailable(key("q"));
    wait_for(&mut notices, &wanted).await;

    let request = sluice_store::ReceiveRequest {
        now: 10,
        max_messages: 1,
        visibility_deadline: 30_010,
        expire_before: 0,
        max_in_flight: 100,
    };
    let received = a.receive_messages(&key("q"), request, None).await.unwrap();
    let seq = received.messages[0].seq;
    let change = |deadline| sluice_store::VisibilityChange {
        seq,
        receive_count: 1,
        now: 20,
        deadline,
        max_span_from_receive: 43_200_000,
    };
    // Later, then at once: only the second makes the message receivable.
    a.change_visibility(&key("q"), &[change(60_000)])
        .await
        .unwrap();
    a.change_visibility(&key("q"), &[change(20)]).await.unwrap();
    wait_for(&mut notices, &wanted).await;
    // Nothing else was announced: the receive and the first change are not news to a long poll.
    tokio::time::sleep(CROSSING).await;
    assert!(notices.try_recv().is_err());
}

#[tokio::test]
async fn a_node_that_lost_the_database_hears_everything_then_listens_again() {
    if !postgres_selected() {
        return;
    }
    // A server of its own: restarting the shared one would break the other tests' connections.
    let server = PrivatePostgres::start().unwrap_or_else(|message| panic!("{message}"));
    let (a, b) = two_nodes(&server).await;
    let mut notices = heard(&b);
    a.create_queue(record("q", false)).await.unwrap();
    let generation = b.security_generation();

    server.restart();
    wait_for(&mut notices, &ChangeNotice::Everything).await;
    assert_ne!(b.security_generation(), generation, "caches read again");

    // The sending node's pool and announcer reconnect too.
    let mut sent = false;
    for _ in 0..50 {
        if a.send_messages(&key("q"), vec![message("after", None, 0)], 0)
            .await
            .is_ok()
        {
            sent = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(sent, "the sending node reaches the database again");
    wait_for(&mut notices, &ChangeNotice::MessagesAvailable(key("q"))).await;
}
