//! Several `sluice` processes on one PostgreSQL database behave as one server. Each test starts its own
//! nodes (the real binary with `--storage postgres`, each on a free port) on a new database of this test
//! binary's private PostgreSQL server (crates/sluice-test-postgres), and spreads its clients across them:
//!
//! - standard queue: a producer and a long-polling consumer on every node; every acknowledged send is
//!   received and deleted, nothing arrives that nobody sent, and no message is handed out again while an
//!   earlier receipt of it is within its visibility timeout and not deleted;
//! - FIFO queue: each group sent through alternating nodes; sends repeated through another node are
//!   deduplicated (answered with the original MessageId and SequenceNumber, never delivered); each group
//!   arrives in order although consumers on different nodes take turns with it; a receive retried with its
//!   ReceiveRequestAttemptId through another node gets the same messages and receipt handles;
//! - `kill -9` of a node holding received messages: they come back after their visibility timeout and
//!   the other nodes deliver them, and nothing acknowledged is lost;
//! - a message move task started through a node that is then killed is finished by another;
//! - a long poll on one node returns promptly for a send through another (p50 and p99 are printed).
//!
//! Clients never retry, so each call is one request. The tests run one at a time (the latency test needs
//! a quiet machine) and every loop is bounded in count and time. Opt-in, because the file takes a few
//! minutes and needs PostgreSQL's server programs: it runs when `SLUICE_MULTINODE=1` (as `scripts/test`
//! does) and otherwise passes with a note.

mod cluster;
#[path = "../common/mod.rs"]
mod common;
mod fifo;
mod pipeline;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, ListMessageMoveTasksResultEntry, Message,
    MessageSystemAttributeName, QueueAttributeName as A, SendMessageBatchRequestEntry,
};
use aws_sdk_sqs::Client;
use common::{
    counts, create_with, log_tail, single_shot_client, system_attribute, wait_listening, TempDir,
};
use sluice_test_postgres::PrivatePostgres;

use cluster::*;
use fifo::*;
use pipeline::*;

/// Asserts that the queue is empty, as each node sees it.
async fn assert_empty(cluster: &Cluster, nodes: &[usize], url: &str) {
    for &node in nodes {
        let seen = counts(&cluster.client(node), url).await;
        assert_eq!(
            seen,
            (0, 0, 0),
            "the queue is not empty as node {node} counts it\n{}",
            cluster.logs()
        );
    }
}

fn visibility_attribute() -> String {
    QUEUE_VISIBILITY.as_secs().to_string()
}

// ---------------------------------------------------------------------------------------------------------
// Standard pipeline
// ---------------------------------------------------------------------------------------------------------

const PIPELINE_MESSAGES: usize = 3000;
const PIPELINE_DEADLINE: Duration = Duration::from_secs(90);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_deliver_every_acknowledged_send_once_within_its_visibility_timeout() {
    if !enabled("standard pipeline") {
        return;
    }
    let _alone = ONE_AT_A_TIME.lock().await;
    let cluster = Cluster::start("multinode-standard", 3).await;
    let clients = cluster.clients();
    let url = create_with(
        &clients[0],
        "pipeline",
        &[(A::VisibilityTimeout, &visibility_attribute())],
    )
    .await;
    let ledger = SharedLedger::default();
    let producers_done = Arc::new(AtomicBool::new(false));
    let deadline = Instant::now() + PIPELINE_DEADLINE;
    let started = Instant::now();
    let consumers: Vec<_> = (0..3)
        .map(|node| {
            tokio::spawn(
                Consumer {
                    client: clients[node].clone(),
                    url: url.clone(),
                    node,
                    ledger: ledger.clone(),
                    producers_done: producers_done.clone(),
                    deadline,
                }
                .run(),
            )
        })
        .collect();
    let producers: Vec<_> = (0..3)
        .map(|node| {
            tokio::spawn(produce(
                clients[node].clone(),
                url.clone(),
                node,
                format!("standard-n{node}"),
                PIPELINE_MESSAGES / 3,
                ledger.clone(),
                false,
            ))
        })
        .collect();
    for producer in producers {
        producer.await.expect("producer task");
    }
    producers_done.store(true, Ordering::SeqCst);
    for consumer in consumers {
        consumer.await.expect("consumer task");
    }
    let elapsed = started.elapsed();
    let ledger = finished(ledger);
    let mut by_node = [0usize; 3];
    for receipt in ledger.receipts.values().flatten() {
        by_node[receipt.node] += 1;
    }
    println!(
        "standard pipeline: {} acknowledged sends, {} deleted in {elapsed:?}; receipts by node {by_node:?}",
        ledger.acknowledged.len(),
        ledger.deleted.len()
    );
    ledger.check("standard pipeline", &cluster);
    assert_eq!(ledger.acknowledged.len(), PIPELINE_MESSAGES);
    assert_empty(&cluster, &[0, 1, 2], &url).await;
}

// ---------------------------------------------------------------------------------------------------------
// FIFO pipeline
// ---------------------------------------------------------------------------------------------------------

const FIFO_GROUPS: usize = 6;
const FIFO_PER_GROUP: usize = 50;
const FIFO_DEADLINE: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_order_and_deduplication_hold_across_nodes() {
    if !enabled("FIFO pipeline") {
        return;
    }
    let _alone = ONE_AT_A_TIME.lock().await;
    let cluster = Cluster::start("multinode-fifo", 3).await;
    let clients = cluster.clients();
    let url = create_with(
        &clients[1],
        "pipeline.fifo",
        &[
            (A::FifoQueue, "true"),
            (A::ContentBasedDeduplication, "true"),
            (A::VisibilityTimeout, &visibility_attribute()),
        ],
    )
    .await;
    let ledger = Arc::new(Mutex::new(FifoLedger {
        next: vec![0; FIFO_GROUPS],
        delivered_by: vec![BTreeSet::new(); FIFO_GROUPS],
        ..FifoLedger::default()
    }));
    let producers_done = Arc::new(AtomicBool::new(false));
    let deadline = Instant::now() + FIFO_DEADLINE;
    let started = Instant::now();
    let consumers: Vec<_> = (0..3)
        .map(|node| {
            tokio::spawn(consume_fifo(
                clients[node].clone(),
                url.clone(),
                node,
                ledger.clone(),
                producers_done.clone(),
                deadline,
            ))
        })
        .collect();
    let producers: Vec<_> = (0..FIFO_GROUPS)
        .map(|group| {
            tokio::spawn(produce_group(
                clients.clone(),
                url.clone(),
                group,
                ledger.clone(),
            ))
        })
        .collect();
    for producer in producers {
        producer.await.expect("producer task");
    }
    producers_done.store(true, Ordering::SeqCst);
    for consumer in consumers {
        consumer.await.expect("consumer task");
    }
    let ledger = finished(ledger);
    println!(
        "FIFO pipeline: {} sends ({} sent again through another node), {} deliveries in {:?}; nodes \
         delivering each group {:?}",
        ledger.sent.len(),
        ledger.resent,
        ledger.delivered.len(),
        started.elapsed(),
        ledger.delivered_by
    );
    let mut missing: Vec<String> = ledger
        .sent
        .iter()
        .filter(|(key, (id, _))| ledger.delivered.get(id) != Some(*key))
        .map(|((group, index), (id, _))| format!("g{group}-{index:04} ({id})"))
        .collect();
    missing.sort();
    assert!(
        ledger.violations.is_empty() && missing.is_empty(),
        "FIFO pipeline: {} violations (+{} more): {:#?}\n{} acknowledged sends not delivered under their \
         MessageId (first 20): {:?}\n{}",
        ledger.violations.len(),
        ledger.more_violations,
        ledger.violations,
        missing.len(),
        &missing[..missing.len().min(20)],
        cluster.logs()
    );
    assert_eq!(ledger.sent.len(), FIFO_GROUPS * FIFO_PER_GROUP);
    assert_eq!(ledger.delivered.len(), FIFO_GROUPS * FIFO_PER_GROUP);
    assert_empty(&cluster, &[0, 1, 2], &url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifo_receive_retried_through_another_node_gets_the_same_messages() {
    if !enabled("FIFO receive attempt") {
        return;
    }
    let _alone = ONE_AT_A_TIME.lock().await;
    let cluster = Cluster::start("multinode-attempt", 3).await;
    let clients = cluster.clients();
    let url = create_with(
        &clients[0],
        "attempt.fifo",
        &[
            (A::FifoQueue, "true"),
            (A::ContentBasedDeduplication, "true"),
        ],
    )
    .await;
    for i in 0..5 {
        send_fifo(&clients[0], &url, 0, &format!("attempt-{i}"), None)
            .await
            .unwrap_or_else(|error| panic!("send {i}: {error}"));
    }
    let receive = |node: usize, attempt: Option<&str>| {
        clients[node]
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .visibility_timeout(30)
            .set_receive_request_attempt_id(attempt.map(str::to_string))
            .send()
    };
    let ids_and_handles = |messages: &[Message]| -> Vec<(String, String)> {
        messages
            .iter()
            .map(|m| {
                (
                    m.message_id().unwrap_or_default().to_string(),
                    m.receipt_handle().unwrap_or_default().to_string(),
                )
            })
            .collect()
    };
    let first = receive(1, Some("attempt-1"))
        .await
        .unwrap_or_else(|e| panic!("receive through node 1: {e:?}"));
    let first = ids_and_handles(first.messages());
    assert_eq!(first.len(), 5, "the first receive gets the whole group");
    // The answer was lost, say, and the client retries through whichever node it reaches next.
    let retried = receive(2, Some("attempt-1"))
        .await
        .unwrap_or_else(|e| panic!("retried receive through node 2: {e:?}"));
    assert_eq!(
        ids_and_handles(retried.messages()),
        first,
        "a receive retried through node 2 with the attempt id of one through node 1 gets the same \
         messages and receipt handles\n{}",
        cluster.logs()
    );
    let other = receive(0, None)
        .await
        .unwrap_or_else(|e| panic!("receive through node 0: {e:?}"));
    assert!(
        other.messages().is_empty(),
        "the group is in flight, yet node 0 delivered {:?}",
        other.messages()
    );
    for (id, handle) in &first {
        clients[2]
            .delete_message()
            .queue_url(&url)
            .receipt_handle(handle)
            .send()
            .await
            .unwrap_or_else(|e| panic!("delete {id} through node 2: {e:?}"));
    }
    assert_empty(&cluster, &[0, 1, 2], &url).await;
}

// ---------------------------------------------------------------------------------------------------------
// kill -9 of a node holding received messages
// ---------------------------------------------------------------------------------------------------------

/// The visibility timeout of the messages the doomed node holds when it is killed.
const HELD_VISIBILITY: Duration = Duration::from_secs(2);
const HELD_MESSAGES: usize = 30;
const KILL_PRELOAD: usize = 300;
const KILL_PIPELINE: usize = 1500;
const KILL_DEADLINE: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_held_by_a_killed_node_come_back_through_the_others() {
    if !enabled("kill -9 of a node") {
        return;
    }
    let _alone = ONE_AT_A_TIME.lock().await;
    let mut cluster = Cluster::start("multinode-kill", 3).await;
    let clients = cluster.clients();
    let doomed = 2;
    let url = create_with(
        &clients[0],
        "held",
        &[(A::VisibilityTimeout, &visibility_attribute())],
    )
    .await;
    let ledger = SharedLedger::default();
    produce(
        clients[doomed].clone(),
        url.clone(),
        doomed,
        "preload".to_string(),
        KILL_PRELOAD,
        ledger.clone(),
        false,
    )
    .await;

    // Producers on every node, consumers on the two that live.
    let producers_done = Arc::new(AtomicBool::new(false));
    let deadline = Instant::now() + KILL_DEADLINE;
    let consumers: Vec<_> = (0..2)
        .map(|node| {
            tokio::spawn(
                Consumer {
                    client: clients[node].clone(),
                    url: url.clone(),
                    node,
                    ledger: ledger.clone(),
                    producers_done: producers_done.clone(),
                    deadline,
                }
                .run(),
            )
        })
        .collect();
    let producers: Vec<_> = (0..3)
        .map(|node| {
            tokio::spawn(produce(
                clients[node].clone(),
                url.clone(),
                node,
                format!("held-n{node}"),
                KILL_PIPELINE / 3,
                ledger.clone(),
                node == doomed,
            ))
        })
        .collect();

    // Mid-way, the doomed node hands out messages that nobody deletes, and dies holding them.
    let mid = Instant::now() + Duration::from_secs(10);
    while lock(&ledger).acknowledged.len() < KILL_PRELOAD + KILL_PIPELINE / 3
        && Instant::now() < mid
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut held: Vec<String> = Vec::new();
    let holding = Instant::now() + Duration::from_secs(5);
    while held.len() < HELD_MESSAGES && Instant::now() < holding {
        let began = Instant::now();
        let out = clients[doomed]
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages((HELD_MESSAGES - held.len()).min(10) as i32)
            .wait_time_seconds(1)
            .visibility_timeout(HELD_VISIBILITY.as_secs() as i32)
            .send()
            .await
            .unwrap_or_else(|e| panic!("receive through the doomed node: {e:?}"));
        let receipt = Receipt {
            node: doomed,
            began,
            ended: Instant::now(),
            visibility: HELD_VISIBILITY,
        };
        let mut ledger = lock(&ledger);
        for message in out.messages() {
            ledger.received(message, receipt);
            held.push(message.message_id().unwrap_or_default().to_string());
        }
    }
    assert_eq!(
        held.len(),
        HELD_MESSAGES,
        "the doomed node delivered too few messages"
    );
    cluster.kill(doomed);
    let killed_at = Instant::now();

    for producer in producers {
        producer.await.expect("producer task");
    }
    producers_done.store(true, Ordering::SeqCst);
    for consumer in consumers {
        consumer.await.expect("consumer task");
    }
    let ledger = finished(ledger);
    let mut not_redelivered = Vec::new();
    for id in &held {
        let receipts = ledger.receipts.get(id).cloned().unwrap_or_default();
        let again = receipts.iter().find(|r| r.node != doomed);
        // How soon it came again was checked as it came, against the doomed node's receipt.
        if again.is_none() || !ledger.deleted.contains(id) {
            not_redelivered.push(format!("{id}: receipts {receipts:?}"));
        }
    }
    let doomed_sends = ledger
        .acknowledged
        .values()
        .filter(|body| body.starts_with(&format!("held-n{doomed}-")))
        .count();
    println!(
        "kill -9: node {doomed} killed holding {} messages, {doomed_sends} sends through it acknowledged; \
         {} acknowledged sends in all, {} deleted, the last {:?} after the kill",
        held.len(),
        ledger.acknowledged.len(),
        ledger.deleted.len(),
        killed_at.elapsed()
    );
    ledger.check("kill -9 of a node", &cluster);
    assert!(
        not_redelivered.is_empty(),
        "messages held by the killed node were not delivered again by the others: {not_redelivered:#?}\n{}",
        cluster.logs()
    );
    assert_empty(&cluster, &[0, 1], &url).await;
}

// ---------------------------------------------------------------------------------------------------------
// A move task outlives the node that started it
// ---------------------------------------------------------------------------------------------------------

const MOVE_MESSAGES: usize = 40;
/// MaxNumberOfMessagesPerSecond: the move takes about ten seconds.
const MOVE_RATE: i32 = 4;
/// How long another node may take to finish the task once its node is dead: the time a dead node's
/// task is left alone before another takes it over, the remaining moves, and a wide margin.
const MOVE_TAKEOVER: Duration = Duration::from_secs(60);

async fn queue_arn(client: &Client, url: &str) -> String {
    client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::QueueArn)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetQueueAttributes {url}: {e:?}"))
        .attributes()
        .and_then(|a| a.get(&A::QueueArn).cloned())
        .expect("QueueArn")
}

async fn latest_task(client: &Client, source_arn: &str) -> Option<ListMessageMoveTasksResultEntry> {
    client
        .list_message_move_tasks()
        .source_arn(source_arn)
        .max_results(1)
        .send()
        .await
        .unwrap_or_else(|e| panic!("ListMessageMoveTasks: {e:?}"))
        .results()
        .first()
        .cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_task_whose_node_is_killed_is_finished_by_another() {
    if !enabled("move task takeover") {
        return;
    }
    let _alone = ONE_AT_A_TIME.lock().await;
    let mut cluster = Cluster::start("multinode-move", 3).await;
    let clients = cluster.clients();
    let dlq = create_with(&clients[1], "move-dlq", &[]).await;
    let dlq_arn = queue_arn(&clients[1], &dlq).await;
    let policy = format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":1}}"#);
    let source = create_with(&clients[1], "move-src", &[(A::RedrivePolicy, &policy)]).await;

    let bodies: HashSet<String> = (0..MOVE_MESSAGES).map(|i| format!("move-{i:03}")).collect();
    for body in &bodies {
        clients[1]
            .send_message()
            .queue_url(&source)
            .message_body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("send {body}: {e:?}"));
    }
    // Each message is delivered once, then moved to the dead-letter queue by the next receive.
    let dead_lettering = Instant::now() + Duration::from_secs(30);
    loop {
        let out = clients[1]
            .receive_message()
            .queue_url(&source)
            .max_number_of_messages(10)
            .visibility_timeout(0)
            .send()
            .await
            .unwrap_or_else(|e| panic!("receive while dead-lettering: {e:?}"));
        if out.messages().is_empty() && counts(&clients[1], &dlq).await.0 == MOVE_MESSAGES as u64 {
            break;
        }
        assert!(
            Instant::now() < dead_lettering,
            "not dead-lettered within 30 s: source {:?}, dead-letter queue {:?}",
            counts(&clients[1], &source).await,
            counts(&clients[1], &dlq).await
        );
    }

    // Started through node 0, slowly; node 0 dies once the move is under way.
    let starter = 0;
    clients[starter]
        .start_message_move_task()
        .source_arn(&dlq_arn)
        .max_number_of_messages_per_second(MOVE_RATE)
        .send()
        .await
        .unwrap_or_else(|e| panic!("StartMessageMoveTask through node {starter}: {e:?}"));
    let under_way = Instant::now() + Duration::from_secs(10);
    while counts(&clients[1], &source).await.0 < 4 {
        assert!(
            Instant::now() < under_way,
            "the move task did not start moving within 10 s: {:?}",
            latest_task(&clients[1], &dlq_arn).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cluster.kill(starter);
    let killed_at = Instant::now();
    let left_at_kill = counts(&clients[1], &dlq).await;
    assert!(
        left_at_kill.0 > 0,
        "the task had moved everything before its node was killed; lower MOVE_RATE"
    );

    let mut last = None;
    while killed_at.elapsed() < MOVE_TAKEOVER {
        let task = latest_task(&clients[1], &dlq_arn).await;
        let status = task
            .as_ref()
            .and_then(|t| t.status())
            .unwrap_or_default()
            .to_string();
        last = task;
        if status != "RUNNING" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let task = last.expect("the task is listed");
    assert_eq!(
        task.status(),
        Some("COMPLETED"),
        "{:?} after node {starter} was killed with {} messages left to move: the task was not finished \
         by another node: {task:?}\nsource {:?}, dead-letter queue {:?}\n{}",
        killed_at.elapsed(),
        left_at_kill.0,
        counts(&clients[1], &source).await,
        counts(&clients[1], &dlq).await,
        cluster.logs()
    );
    println!(
        "move task: node {starter} killed with {} of {MOVE_MESSAGES} messages left to move; COMPLETED \
         {:?} later, {} moved as listed",
        left_at_kill.0,
        killed_at.elapsed(),
        task.approximate_number_of_messages_moved()
    );

    // Every message back in the source queue, once.
    assert_empty(&cluster, &[1, 2], &dlq).await;
    let mut back: HashMap<String, usize> = HashMap::new();
    let draining = Instant::now() + Duration::from_secs(30);
    while Instant::now() < draining {
        let out = clients[2]
            .receive_message()
            .queue_url(&source)
            .max_number_of_messages(10)
            .visibility_timeout(30)
            .send()
            .await
            .unwrap_or_else(|e| panic!("receive from the source: {e:?}"));
        if out.messages().is_empty() {
            break;
        }
        for message in out.messages() {
            *back
                .entry(message.body().unwrap_or_default().to_string())
                .or_default() += 1;
            clients[2]
                .delete_message()
                .queue_url(&source)
                .receipt_handle(message.receipt_handle().unwrap_or_default())
                .send()
                .await
                .unwrap_or_else(|e| panic!("delete from the source: {e:?}"));
        }
    }
    let twice: Vec<_> = back.iter().filter(|(_, n)| **n > 1).collect();
    let returned: HashSet<String> = back.keys().cloned().collect();
    assert!(twice.is_empty(), "moved twice: {twice:?}");
    assert_eq!(
        returned, bodies,
        "the source queue holds exactly the messages that were dead-lettered"
    );
    assert_empty(&cluster, &[1, 2], &source).await;
}

// ---------------------------------------------------------------------------------------------------------
// Long polls across nodes
// ---------------------------------------------------------------------------------------------------------

const LATENCY_ROUNDS: usize = 100;
const LATENCY_BOUND: Duration = Duration::from_millis(100);
const LATENCY_DEADLINE: Duration = Duration::from_secs(60);
const LATENCY_WAIT_SECONDS: i32 = 10;
/// How long a round waits after starting the receive before sending, so that the receive is parked.
const PARK: Duration = Duration::from_millis(50);

/// The `q`-quantile of sorted `values` (nearest rank).
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_on_one_node_returns_promptly_for_a_send_through_another() {
    if !enabled("cross-node long poll") {
        return;
    }
    let _alone = ONE_AT_A_TIME.lock().await;
    let cluster = Cluster::start("multinode-latency", 2).await;
    let (sender, receiver) = (cluster.client(0), cluster.client(1));
    let url = create_with(&sender, "latency", &[]).await;
    // More slow rounds than this make the p99 bound unreachable: the test stops there.
    let slow_allowed = LATENCY_ROUNDS - (0.99 * LATENCY_ROUNDS as f64).ceil() as usize;
    let mut latencies: Vec<Duration> = Vec::new();
    let mut slow = 0;
    let deadline = Instant::now() + LATENCY_DEADLINE;
    // Round 0 warms up both connections and is not counted.
    for round in 0..=LATENCY_ROUNDS {
        if Instant::now() >= deadline || slow > slow_allowed {
            break;
        }
        let poll = {
            let receiver = receiver.clone();
            let url = url.clone();
            tokio::spawn(async move {
                let out = receiver
                    .receive_message()
                    .queue_url(&url)
                    .max_number_of_messages(1)
                    .wait_time_seconds(LATENCY_WAIT_SECONDS)
                    .send()
                    .await;
                (out, Instant::now())
            })
        };
        tokio::time::sleep(PARK).await;
        let body = format!("round-{round}");
        sender
            .send_message()
            .queue_url(&url)
            .message_body(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("send through node 0: {e:?}"));
        let sent = Instant::now();
        let (out, returned) = poll.await.expect("receive task");
        let out = out.unwrap_or_else(|e| panic!("long poll through node 1: {e:?}"));
        let latency = returned.saturating_duration_since(sent);
        match out.messages().first() {
            Some(message) => {
                assert_eq!(message.body(), Some(body.as_str()));
                receiver
                    .delete_message()
                    .queue_url(&url)
                    .receipt_handle(message.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("delete through node 1: {e:?}"));
            }
            None => {
                // The long poll ended empty: the message is still there; take it out of the next round.
                let out = receiver
                    .receive_message()
                    .queue_url(&url)
                    .wait_time_seconds(1)
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("receive through node 1: {e:?}"));
                for message in out.messages() {
                    receiver
                        .delete_message()
                        .queue_url(&url)
                        .receipt_handle(message.receipt_handle().unwrap_or_default())
                        .send()
                        .await
                        .unwrap_or_else(|e| panic!("delete through node 1: {e:?}"));
                }
            }
        }
        if round == 0 {
            continue;
        }
        let latency = if out.messages().is_empty() {
            // Never woken: the whole wait, at least.
            latency.max(Duration::from_secs(LATENCY_WAIT_SECONDS as u64))
        } else {
            latency
        };
        if latency >= LATENCY_BOUND {
            slow += 1;
        }
        latencies.push(latency);
    }
    latencies.sort();
    let (p50, p99) = match latencies.is_empty() {
        true => (Duration::ZERO, Duration::ZERO),
        false => (quantile(&latencies, 0.50), quantile(&latencies, 0.99)),
    };
    println!(
        "cross-node long poll: {} rounds, send returned -> receive returned p50 {p50:?}, p99 {p99:?}, \
         max {:?}, {slow} at or above {LATENCY_BOUND:?}",
        latencies.len(),
        latencies.last().copied().unwrap_or_default()
    );
    assert!(
        latencies.len() == LATENCY_ROUNDS && p99 < LATENCY_BOUND,
        "a long poll on node 1 for a send through node 0: {} of {LATENCY_ROUNDS} rounds done ({slow} at or \
         above {LATENCY_BOUND:?}, the test stops after {slow_allowed}), p50 {p50:?}, p99 {p99:?}; wanted \
         all rounds with p99 below {LATENCY_BOUND:?}",
        latencies.len()
    );
}
