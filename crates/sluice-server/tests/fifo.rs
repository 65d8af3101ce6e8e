//! FIFO queues through the official Rust SDK (`aws-sdk-sqs`, AWS JSON 1.0), against an in-process server
//! with durable storage (the default).
//!
//! - A bounded, seeded property test: producers each own a set of message groups and send every group's
//!   messages with an increasing counter in the body (singly and in batches, with re-sends of messages
//!   already acknowledged, under the same deduplication id), while consumers receive with random batch
//!   sizes and visibility timeouts, and then delete, release (visibility 0), abandon (let the timeout
//!   lapse) or delete too late. Every request is timed on the client, and afterwards the log is checked:
//!   within a group every receive returns the lowest counters not yet deleted, in order; while one
//!   receive certainly holds a message, no other receive gets it; every
//!   duplicate send got the original ids and was never delivered as a message of its own; nothing is lost.
//! - The SequenceNumber of sends, batches, duplicates and received messages.
//! - ReceiveRequestAttemptId: a retried receive gets the same messages and receipt handles, and is refused
//!   once one of them was deleted.
//! - Message groups: a group is served from its oldest message whenever that one is visible, and ready
//!   groups take turns in the order they became ready, also across a restart; a purge empties the
//!   deduplication window; switching to high throughput scopes deduplication to groups from then on.
//!
//! Expected behaviour comes from the SQS developer guide (FIFO queues, exactly-once processing, FIFO
//! delivery logic), the SendMessage / SendMessageBatch / ReceiveMessage API references and the research
//! notes on real AWS responses (/tmp/research/sqs-fifo-dlq.md).

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_sqs::error::ProvideErrorMetadata;
use aws_sdk_sqs::types::{
    BatchResultErrorEntry, ChangeMessageVisibilityBatchRequestEntry,
    DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName, QueueAttributeName,
    SendMessageBatchRequestEntry,
};
use aws_sdk_sqs::Client;
use common::{
    counts, create_with, single_shot_client, system_attribute as attribute, SplitMix64, TempDir,
    TestServer,
};

const PRODUCERS: usize = 4;
const GROUPS_PER_PRODUCER: usize = 12;
const MESSAGES_PER_PRODUCER: usize = 750;
const CONSUMERS: usize = 6;
/// The whole workload must be sent, delivered and deleted within this.
const WORK_DEADLINE: Duration = Duration::from_secs(30);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_SEED: u64 = 0xF1F0_0D0E_5EED;
/// "The receiveRequestAttemptId is not valid anymore since the receive call is not retryable." (C: fifo §4)
const NOT_RETRYABLE: &str =
    "The receiveRequestAttemptId is not valid anymore since the receive call is not retryable.";

// ---------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------

async fn fifo_queue(
    client: &Client,
    name: &str,
    attributes: &[(QueueAttributeName, &str)],
) -> String {
    let fifo = [(QueueAttributeName::FifoQueue, "true")];
    create_with(client, name, &[&fifo[..], attributes].concat()).await
}

/// A SequenceNumber as a number, checking its form: a 20-digit decimal (C: every real value in fifo §2),
/// at most 128 bits (SendMessage reference).
fn sequence(text: &str) -> u128 {
    assert!(
        text.len() == 20 && text.bytes().all(|b| b.is_ascii_digit()),
        "SequenceNumber {text:?} is not a 20-digit decimal"
    );
    text.parse().unwrap()
}

// ---------------------------------------------------------------------------------------------------------
// Message groups and the deduplication window
// ---------------------------------------------------------------------------------------------------------

async fn send_to_group(client: &Client, url: &str, body: &str, group: &str, dedup: &str) -> String {
    client
        .send_message()
        .queue_url(url)
        .message_body(body)
        .message_group_id(group)
        .message_deduplication_id(dedup)
        .send()
        .await
        .expect("SendMessage")
        .message_id()
        .unwrap_or_default()
        .to_string()
}

async fn receive_group_messages(
    client: &Client,
    url: &str,
    max: i32,
    visibility: Option<i32>,
) -> Vec<Message> {
    client
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(max)
        .set_visibility_timeout(visibility)
        .send()
        .await
        .expect("ReceiveMessage")
        .messages
        .unwrap_or_default()
}

fn bodies(messages: &[Message]) -> Vec<&str> {
    messages.iter().filter_map(Message::body).collect()
}

#[tokio::test]
async fn a_group_is_served_from_its_oldest_message_while_later_ones_are_in_flight() {
    let server = TestServer::start().await;
    let client = server.client();
    let url = fifo_queue(&client, "oldest.fifo", &[]).await;
    for body in ["g1-m1", "g1-m2", "g2-m1"] {
        send_to_group(&client, &url, body, &body[..2], body).await;
    }
    let first = receive_group_messages(&client, &url, 2, None).await;
    assert_eq!(bodies(&first), ["g1-m1", "g1-m2"]);
    client
        .change_message_visibility()
        .queue_url(&url)
        .receipt_handle(first[0].receipt_handle().unwrap_or_default())
        .visibility_timeout(0)
        .send()
        .await
        .expect("ChangeMessageVisibility");
    let next = receive_group_messages(&client, &url, 3, None).await;
    assert_eq!(bodies(&next), ["g2-m1", "g1-m1"]);
}

#[tokio::test]
async fn groups_take_turns_in_the_order_they_became_ready_also_after_a_restart() {
    let dir = TempDir::new("fifo-turns");
    {
        let server = TestServer::start_in(dir.path()).await;
        let client = server.client();
        let url = fifo_queue(&client, "turns.fifo", &[]).await;
        for body in ["g1-m1", "g1-m2", "g2-m1", "g2-m2", "g3-m1"] {
            send_to_group(&client, &url, body, &body[..2], body).await;
        }
        let first = receive_group_messages(&client, &url, 3, Some(0)).await;
        assert_eq!(bodies(&first), ["g1-m1", "g1-m2", "g2-m1"]);
        server.shutdown().await;
    }
    let server = TestServer::start_in(dir.path()).await;
    let client = server.client();
    let url = server.queue_url("turns.fifo");
    let next = receive_group_messages(&client, &url, 10, Some(0)).await;
    assert_eq!(bodies(&next), ["g3-m1", "g1-m1", "g1-m2", "g2-m1", "g2-m2"]);
}

#[tokio::test]
async fn purge_empties_the_deduplication_window_also_after_a_restart() {
    let dir = TempDir::new("fifo-purge");
    let before = {
        let server = TestServer::start_in(dir.path()).await;
        let client = server.client();
        let url = fifo_queue(&client, "purge.fifo", &[]).await;
        let before = send_to_group(&client, &url, "body", "g", "kept-id").await;
        client
            .purge_queue()
            .queue_url(&url)
            .send()
            .await
            .expect("PurgeQueue");
        server.shutdown().await;
        before
    };
    let server = TestServer::start_in(dir.path()).await;
    let client = server.client();
    let url = server.queue_url("purge.fifo");
    let after = send_to_group(&client, &url, "body", "g", "kept-id").await;
    assert_ne!(after, before);
    let got = receive_group_messages(&client, &url, 10, None).await;
    assert_eq!(
        got.iter()
            .filter_map(Message::message_id)
            .collect::<Vec<_>>(),
        [after.as_str()]
    );
}

#[tokio::test]
async fn switching_to_high_throughput_scopes_deduplication_to_groups_for_the_next_sends() {
    let server = TestServer::start().await;
    let client = server.client();
    let url = fifo_queue(&client, "switch.fifo", &[]).await;
    let a = send_to_group(&client, &url, "before", "a", "before").await;
    assert_eq!(
        send_to_group(&client, &url, "before", "b", "before").await,
        a
    );
    client
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::DeduplicationScope, "messageGroup")
        .attributes(QueueAttributeName::FifoThroughputLimit, "perMessageGroupId")
        .send()
        .await
        .expect("SetQueueAttributes");
    let c = send_to_group(&client, &url, "after", "c", "after").await;
    let d = send_to_group(&client, &url, "after", "d", "after").await;
    assert_ne!(c, d);
    let got = receive_group_messages(&client, &url, 10, None).await;
    assert_eq!(bodies(&got), ["before", "after", "after"]);
}

// ---------------------------------------------------------------------------------------------------------
// SequenceNumber and ReceiveRequestAttemptId
// ---------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn sequence_numbers_grow_within_each_group_and_come_back_on_receive() {
    let server = TestServer::start().await;
    let client = server.client();
    let url = fifo_queue(&client, "seq.fifo", &[]).await;

    // (group, body) in send order, and the SequenceNumber each got.
    let mut sent: Vec<(String, String, String, String)> = Vec::new();
    for i in 0..6 {
        let group = ["a", "b"][i % 2];
        let out = client
            .send_message()
            .queue_url(&url)
            .message_body(format!("single-{i}"))
            .message_group_id(group)
            .message_deduplication_id(format!("single-{i}"))
            .send()
            .await
            .expect("SendMessage");
        sent.push((
            group.to_string(),
            format!("single-{i}"),
            out.message_id().unwrap().to_string(),
            out.sequence_number()
                .expect("FIFO sends return SequenceNumber")
                .to_string(),
        ));
    }
    let entries: Vec<SendMessageBatchRequestEntry> = (0..8)
        .map(|i| {
            SendMessageBatchRequestEntry::builder()
                .id(format!("e{i}"))
                .message_body(format!("batch-{i}"))
                .message_group_id(["a", "b", "c"][i % 3])
                .message_deduplication_id(format!("batch-{i}"))
                .build()
                .unwrap()
        })
        .collect();
    let out = client
        .send_message_batch()
        .queue_url(&url)
        .set_entries(Some(entries))
        .send()
        .await
        .expect("SendMessageBatch");
    assert!(out.failed().is_empty(), "{:?}", out.failed());
    let by_id: HashMap<&str, _> = out.successful().iter().map(|e| (e.id(), e)).collect();
    for i in 0..8 {
        let entry = by_id[format!("e{i}").as_str()];
        sent.push((
            ["a", "b", "c"][i % 3].to_string(),
            format!("batch-{i}"),
            entry.message_id().to_string(),
            entry
                .sequence_number()
                .expect("FIFO batch entries return SequenceNumber")
                .to_string(),
        ));
    }
    // "SequenceNumber continues to increase for a particular MessageGroupId." (SendMessage reference)
    let mut last: HashMap<&str, u128> = HashMap::new();
    for (group, body, _, seq) in &sent {
        let n = sequence(seq);
        if let Some(previous) = last.insert(group, n) {
            assert!(n > previous, "{body} in {group}: {n} after {previous}");
        }
    }
    // A duplicate gets the original's MessageId and SequenceNumber (fifo §1, R) and moves nothing on.
    let duplicate = client
        .send_message()
        .queue_url(&url)
        .message_body("single-0")
        .message_group_id("a")
        .message_deduplication_id("single-0")
        .send()
        .await
        .expect("duplicate SendMessage");
    assert_eq!(duplicate.message_id(), Some(sent[0].2.as_str()));
    assert_eq!(duplicate.sequence_number(), Some(sent[0].3.as_str()));
    let after = client
        .send_message()
        .queue_url(&url)
        .message_body("after")
        .message_group_id("a")
        .message_deduplication_id("after")
        .send()
        .await
        .expect("SendMessage");
    assert!(sequence(after.sequence_number().unwrap()) > last["a"]);

    // Received messages carry the same SequenceNumber, group and deduplication id.
    let mut received = Vec::new();
    for _ in 0..10 {
        let out = client
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .expect("ReceiveMessage");
        if out.messages().is_empty() {
            break;
        }
        for m in out.messages() {
            client
                .delete_message()
                .queue_url(&url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .expect("DeleteMessage");
            received.push(m.clone());
        }
    }
    assert_eq!(received.len(), sent.len() + 1);
    let by_body: HashMap<&str, &Message> =
        received.iter().map(|m| (m.body().unwrap(), m)).collect();
    for (group, body, message_id, seq) in &sent {
        let m = by_body[body.as_str()];
        assert_eq!(m.message_id(), Some(message_id.as_str()));
        assert_eq!(
            attribute(m, MessageSystemAttributeName::SequenceNumber).as_deref(),
            Some(seq.as_str())
        );
        assert_eq!(
            attribute(m, MessageSystemAttributeName::MessageGroupId).as_deref(),
            Some(group.as_str())
        );
        assert_eq!(
            attribute(m, MessageSystemAttributeName::MessageDeduplicationId).as_deref(),
            Some(body.as_str())
        );
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_retried_receive_returns_the_same_messages_until_one_is_deleted() {
    let server = TestServer::start().await;
    let client = server.client();
    let url = fifo_queue(&client, "attempts.fifo", &[]).await;
    for i in 0..4 {
        client
            .send_message()
            .queue_url(&url)
            .message_body(format!("m{i}"))
            .message_group_id(if i < 3 { "g" } else { "h" })
            .message_deduplication_id(format!("m{i}"))
            .send()
            .await
            .expect("SendMessage");
    }
    let receive = |attempt: &'static str| {
        client
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(3)
            .visibility_timeout(60)
            .receive_request_attempt_id(attempt)
            .send()
    };
    let first = receive("attempt-1").await.expect("ReceiveMessage");
    let bodies: Vec<&str> = first.messages().iter().filter_map(|m| m.body()).collect();
    assert_eq!(bodies, ["m0", "m1", "m2"]);
    // "subsequent calls with the same ReceiveRequestAttemptId return the same messages and receipt
    // handles" (ReceiveMessage reference).
    for _ in 0..2 {
        let retry = receive("attempt-1").await.expect("retried ReceiveMessage");
        let pairs = |messages: &[Message]| -> Vec<(String, String)> {
            messages
                .iter()
                .map(|m| {
                    (
                        m.message_id().unwrap().to_string(),
                        m.receipt_handle().unwrap().to_string(),
                    )
                })
                .collect()
        };
        assert_eq!(pairs(retry.messages()), pairs(first.messages()));
    }
    // Another attempt id is a new receive: group g is locked, h is not.
    let other = receive("attempt-2").await.expect("ReceiveMessage");
    let bodies: Vec<&str> = other.messages().iter().filter_map(|m| m.body()).collect();
    assert_eq!(bodies, ["m3"]);
    assert_eq!(counts(&client, &url).await, (0, 4, 0));

    client
        .delete_message()
        .queue_url(&url)
        .receipt_handle(first.messages()[0].receipt_handle().unwrap())
        .send()
        .await
        .expect("DeleteMessage");
    // "It is possible to retry ... if none of the messages have been modified (deleted or had their
    // visibility changes)"; afterwards, C (aws-sdk-java#2613): InvalidParameterValue with this text.
    let err = receive("attempt-1")
        .await
        .expect_err("a retry after a delete is refused");
    assert_eq!(err.code(), Some("InvalidParameterValue"), "{err:?}");
    assert_eq!(
        err.message(),
        Some(format!("Value attempt-1 for parameter ReceiveRequestAttemptId is invalid. Reason: {NOT_RETRYABLE}").as_str()),
        "{err:?}"
    );
    // The refused retry changed nothing: the other two are still in flight with their handles.
    assert_eq!(counts(&client, &url).await, (0, 3, 0));
    for m in &first.messages()[1..] {
        client
            .delete_message()
            .queue_url(&url)
            .receipt_handle(m.receipt_handle().unwrap())
            .send()
            .await
            .expect("DeleteMessage with the handle of the first receive");
    }
    // The other attempt is still retryable.
    let again = receive("attempt-2").await.expect("ReceiveMessage");
    assert_eq!(
        again.messages()[0].receipt_handle(),
        other.messages()[0].receipt_handle()
    );
    server.shutdown().await;
}

// ---------------------------------------------------------------------------------------------------------
// The property test
// ---------------------------------------------------------------------------------------------------------

/// A message: its group and its place in the group.
type Key = (String, u64);

#[derive(Clone, Debug)]
struct Sent {
    message_id: String,
    sequence: u128,
}

#[derive(Clone, Debug)]
struct Item {
    key: Key,
    message_id: String,
    sequence: Option<String>,
    handle: String,
}

/// One ReceiveMessage that returned messages, timed on the client.
#[derive(Clone, Debug)]
struct Receive {
    consumer: usize,
    sent_at: Duration,
    answered_at: Duration,
    visibility: Duration,
    items: Vec<Item>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Act {
    Delete,
    Release,
    /// A delete sent after the visibility timeout certainly ended: it must not remove anything.
    LateDelete,
}

/// A delete or release (visibility 0) of one item of a receive.
#[derive(Clone, Debug)]
struct Action {
    receive: usize,
    item: usize,
    act: Act,
    sent_at: Duration,
    answered_at: Duration,
    ok: bool,
    error: Option<String>,
}

#[derive(Default)]
struct Log {
    sent: HashMap<Key, Sent>,
    /// Re-sends of acknowledged messages: (key, what the re-send was answered with).
    resends: Vec<(Key, String, String)>,
    receives: Vec<Receive>,
    actions: Vec<Action>,
    deleted: HashSet<Key>,
    problems: Vec<String>,
}

struct Shared {
    started: Instant,
    log: Mutex<Log>,
    producers_done: AtomicBool,
    total: usize,
}

impl Shared {
    fn now(&self) -> Duration {
        self.started.elapsed()
    }

    fn problem(&self, text: String) {
        self.log.lock().unwrap().problems.push(text);
    }

    fn finished(&self) -> bool {
        self.producers_done.load(Ordering::SeqCst)
            && self.log.lock().unwrap().deleted.len() >= self.total
    }
}

fn dedup_id(key: &Key) -> String {
    format!("{}-{}", key.0, key.1)
}

fn body_of(key: &Key) -> String {
    format!("{}:{}", key.0, key.1)
}

fn parse_body(body: &str) -> Option<Key> {
    let (group, counter) = body.split_once(':')?;
    Some((group.to_string(), counter.parse().ok()?))
}

async fn produce(
    client: Client,
    url: String,
    producer: usize,
    mut rng: SplitMix64,
    shared: Arc<Shared>,
) {
    let groups: Vec<String> = (0..GROUPS_PER_PRODUCER)
        .map(|g| format!("p{producer}g{g}"))
        .collect();
    let mut next: HashMap<String, u64> = groups.iter().map(|g| (g.clone(), 0)).collect();
    let mut acked: Vec<(Key, Sent)> = Vec::new();
    let mut made = 0;
    let mut fresh = |rng: &mut SplitMix64, made: &mut usize| -> Key {
        let group = groups[rng.range(0, groups.len() as u64) as usize].clone();
        let counter = next.get_mut(&group).unwrap();
        let key = (group, *counter);
        *counter += 1;
        *made += 1;
        key
    };
    while made < MESSAGES_PER_PRODUCER {
        let roll = rng.range(0, 100);
        if roll < 12 && !acked.is_empty() {
            // Re-send an acknowledged message under the same deduplication id.
            let (key, original) = acked[rng.range(0, acked.len() as u64) as usize].clone();
            match client
                .send_message()
                .queue_url(&url)
                .message_body(body_of(&key))
                .message_group_id(&key.0)
                .message_deduplication_id(dedup_id(&key))
                .send()
                .await
            {
                Ok(out) => {
                    let id = out.message_id().unwrap_or_default().to_string();
                    let seq = out.sequence_number().unwrap_or_default().to_string();
                    if id != original.message_id || seq != original.sequence.to_string() {
                        shared.problem(format!(
                            "re-send of {key:?} answered ({id}, {seq}), the original was ({}, {})",
                            original.message_id, original.sequence
                        ));
                    }
                    shared.log.lock().unwrap().resends.push((key, id, seq));
                }
                Err(e) => shared.problem(format!("re-send of {key:?} failed: {e:?}")),
            }
        } else if roll < 50 {
            let key = fresh(&mut rng, &mut made);
            match client
                .send_message()
                .queue_url(&url)
                .message_body(body_of(&key))
                .message_group_id(&key.0)
                .message_deduplication_id(dedup_id(&key))
                .send()
                .await
            {
                Ok(out) => {
                    let sent = Sent {
                        message_id: out.message_id().unwrap_or_default().to_string(),
                        sequence: sequence(out.sequence_number().unwrap_or_default()),
                    };
                    shared
                        .log
                        .lock()
                        .unwrap()
                        .sent
                        .insert(key.clone(), sent.clone());
                    acked.push((key, sent));
                }
                Err(e) => shared.problem(format!("send of {key:?} failed: {e:?}")),
            }
        } else {
            // A batch of new messages, sometimes with a re-send of an acknowledged one and a repeat of
            // one of its own entries (a repeat comes after the entry it repeats).
            let n = rng.range(2, 9) as usize;
            let mut keys: Vec<(Key, Option<Sent>)> = Vec::new();
            for _ in 0..n {
                if made < MESSAGES_PER_PRODUCER {
                    keys.push((fresh(&mut rng, &mut made), None));
                }
            }
            if keys.is_empty() {
                continue;
            }
            if rng.range(0, 4) == 0 && !acked.is_empty() {
                let (key, original) = acked[rng.range(0, acked.len() as u64) as usize].clone();
                let at = rng.range(0, keys.len() as u64 + 1) as usize;
                keys.insert(at, (key, Some(original)));
            }
            if rng.range(0, 5) == 0 {
                let i = rng.range(0, keys.len() as u64) as usize;
                if keys[i].1.is_none() {
                    let repeat = keys[i].0.clone();
                    let at = rng.range(i as u64 + 1, keys.len() as u64 + 1) as usize;
                    // Marked with a placeholder: its answer must equal the first entry's.
                    keys.insert(
                        at,
                        (
                            repeat,
                            Some(Sent {
                                message_id: String::new(),
                                sequence: 0,
                            }),
                        ),
                    );
                }
            }
            let entries: Vec<SendMessageBatchRequestEntry> = keys
                .iter()
                .enumerate()
                .map(|(i, (key, _))| {
                    SendMessageBatchRequestEntry::builder()
                        .id(format!("e{i}"))
                        .message_body(body_of(key))
                        .message_group_id(&key.0)
                        .message_deduplication_id(dedup_id(key))
                        .build()
                        .unwrap()
                })
                .collect();
            match client
                .send_message_batch()
                .queue_url(&url)
                .set_entries(Some(entries))
                .send()
                .await
            {
                Ok(out) => {
                    if !out.failed().is_empty() {
                        shared.problem(format!("batch entries failed: {:?}", out.failed()));
                    }
                    let ids: Vec<&str> = out.successful().iter().map(|e| e.id()).collect();
                    let expected: Vec<String> = (0..keys.len()).map(|i| format!("e{i}")).collect();
                    if ids != expected {
                        shared.problem(format!("batch answered out of order: {ids:?}"));
                    }
                    let mut this_batch: HashMap<Key, Sent> = HashMap::new();
                    for entry in out.successful() {
                        let i: usize = entry.id()[1..].parse().unwrap();
                        let (key, original) = &keys[i];
                        let got = Sent {
                            message_id: entry.message_id().to_string(),
                            sequence: sequence(entry.sequence_number().unwrap_or_default()),
                        };
                        let original = match original {
                            Some(o) if o.message_id.is_empty() => match this_batch.get(key) {
                                Some(first) => Some(first.clone()),
                                None => {
                                    shared.problem(format!(
                                        "batch repeat of {key:?} answered before the entry it repeats"
                                    ));
                                    continue;
                                }
                            },
                            other => other.clone(),
                        };
                        match original {
                            Some(o) => {
                                if o.message_id != got.message_id || o.sequence != got.sequence {
                                    shared.problem(format!(
                                        "batch re-send of {key:?} answered {got:?}, the original was {o:?}"
                                    ));
                                }
                                shared.log.lock().unwrap().resends.push((
                                    key.clone(),
                                    got.message_id,
                                    got.sequence.to_string(),
                                ));
                            }
                            None => {
                                this_batch.insert(key.clone(), got.clone());
                                shared
                                    .log
                                    .lock()
                                    .unwrap()
                                    .sent
                                    .insert(key.clone(), got.clone());
                                acked.push((key.clone(), got));
                            }
                        }
                    }
                }
                Err(e) => shared.problem(format!("batch send failed: {e:?}")),
            }
        }
        if rng.range(0, 4) == 0 {
            tokio::time::sleep(Duration::from_millis(rng.range(0, 4))).await;
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Plan {
    /// Delete everything at once (one by one, or in a batch).
    Delete,
    /// Delete the first few, release the rest with visibility 0.
    DeleteSomeReleaseRest,
    /// Release everything with visibility 0.
    Release,
    /// Let a short visibility timeout lapse.
    Abandon,
    /// Delete the first few at once and let the rest lapse (short timeout).
    DeleteSomeAbandonRest,
    /// Wait until the short timeout certainly ended, then try to delete: the handle has expired.
    LateDelete,
}

async fn consume(
    client: Client,
    url: String,
    consumer: usize,
    mut rng: SplitMix64,
    shared: Arc<Shared>,
) {
    while !shared.finished() && shared.now() < WORK_DEADLINE {
        let plan = match rng.range(0, 100) {
            0..=59 => Plan::Delete,
            60..=71 => Plan::DeleteSomeReleaseRest,
            72..=81 => Plan::Release,
            82..=88 => Plan::Abandon,
            89..=94 => Plan::DeleteSomeAbandonRest,
            _ => Plan::LateDelete,
        };
        let visibility = match plan {
            Plan::Abandon | Plan::LateDelete | Plan::DeleteSomeAbandonRest => 1,
            _ => rng.range(10, 21) as i32,
        };
        // Mostly short polls: a long poll also waits for groups another consumer is about to free.
        let wait = i32::from(rng.range(0, 4) == 0);
        let sent_at = shared.now();
        let out = client
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(rng.range(1, 11) as i32)
            .visibility_timeout(visibility)
            .wait_time_seconds(wait)
            .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
            .message_system_attribute_names(MessageSystemAttributeName::SequenceNumber)
            .send()
            .await;
        let answered_at = shared.now();
        let out = match out {
            Ok(out) => out,
            Err(e) => {
                shared.problem(format!("receive failed: {e:?}"));
                continue;
            }
        };
        if out.messages().is_empty() {
            if wait == 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            continue;
        }
        let mut items = Vec::new();
        for m in out.messages() {
            let body = m.body().unwrap_or_default();
            let Some(key) = parse_body(body) else {
                shared.problem(format!("received a body nobody sent: {body:?}"));
                continue;
            };
            let group = attribute(m, MessageSystemAttributeName::MessageGroupId);
            if group.as_deref() != Some(key.0.as_str()) {
                shared.problem(format!("{key:?} arrived with MessageGroupId {group:?}"));
            }
            items.push(Item {
                key,
                message_id: m.message_id().unwrap_or_default().to_string(),
                sequence: attribute(m, MessageSystemAttributeName::SequenceNumber),
                handle: m.receipt_handle().unwrap_or_default().to_string(),
            });
        }
        let receive = {
            let mut log = shared.log.lock().unwrap();
            log.receives.push(Receive {
                consumer,
                sent_at,
                answered_at,
                visibility: Duration::from_secs(visibility as u64),
                items: items.clone(),
            });
            log.receives.len() - 1
        };
        let n = items.len();
        let some = rng.range(0, n as u64 + 1) as usize;
        let (delete, release): (Vec<usize>, Vec<usize>) = match plan {
            Plan::Delete => ((0..n).collect(), vec![]),
            Plan::DeleteSomeReleaseRest => ((0..some).collect(), (some..n).collect()),
            Plan::Release => (vec![], (0..n).collect()),
            Plan::Abandon => (vec![], vec![]),
            Plan::DeleteSomeAbandonRest => ((0..some).collect(), vec![]),
            Plan::LateDelete => {
                tokio::time::sleep(Duration::from_millis(1_300)).await;
                ((0..n).collect(), vec![])
            }
        };
        let act = if matches!(plan, Plan::LateDelete) {
            Act::LateDelete
        } else {
            Act::Delete
        };
        if !delete.is_empty() {
            act_on(
                &client,
                &url,
                &shared,
                receive,
                &items,
                &delete,
                act,
                rng.range(0, 2) == 0,
            )
            .await;
        }
        if !release.is_empty() {
            act_on(
                &client,
                &url,
                &shared,
                receive,
                &items,
                &release,
                Act::Release,
                rng.range(0, 2) == 0,
            )
            .await;
        }
    }
}

/// The outcome of each of the entries `i{n}` for `n` in `which` of a batch whose failures were `failed`.
fn entry_results(failed: &[BatchResultErrorEntry], which: &[usize]) -> Vec<Result<(), String>> {
    let failed: HashMap<&str, String> = failed
        .iter()
        .map(|f| {
            (
                f.id(),
                format!("{}: {}", f.code(), f.message().unwrap_or_default()),
            )
        })
        .collect();
    which
        .iter()
        .map(|i| match failed.get(format!("i{i}").as_str()) {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        })
        .collect()
}

/// Deletes or releases the given items of a receive, one request each or in one batch, and logs each
/// outcome.
#[allow(clippy::too_many_arguments)]
async fn act_on(
    client: &Client,
    url: &str,
    shared: &Shared,
    receive: usize,
    items: &[Item],
    which: &[usize],
    act: Act,
    batch: bool,
) {
    let mut outcomes: Vec<(usize, Duration, Duration, Result<(), String>)> = Vec::new();
    if batch {
        let sent_at = shared.now();
        let results: Result<Vec<Result<(), String>>, String> = match act {
            Act::Delete | Act::LateDelete => {
                let entries = which
                    .iter()
                    .map(|&i| {
                        DeleteMessageBatchRequestEntry::builder()
                            .id(format!("i{i}"))
                            .receipt_handle(&items[i].handle)
                            .build()
                            .unwrap()
                    })
                    .collect();
                client
                    .delete_message_batch()
                    .queue_url(url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .map(|out| entry_results(out.failed(), which))
                    .map_err(|e| format!("{e:?}"))
            }
            Act::Release => {
                let entries = which
                    .iter()
                    .map(|&i| {
                        ChangeMessageVisibilityBatchRequestEntry::builder()
                            .id(format!("i{i}"))
                            .receipt_handle(&items[i].handle)
                            .visibility_timeout(0)
                            .build()
                            .unwrap()
                    })
                    .collect();
                client
                    .change_message_visibility_batch()
                    .queue_url(url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .map(|out| entry_results(out.failed(), which))
                    .map_err(|e| format!("{e:?}"))
            }
        };
        let answered_at = shared.now();
        match results {
            Ok(results) => {
                for (&i, r) in which.iter().zip(results) {
                    outcomes.push((i, sent_at, answered_at, r));
                }
            }
            Err(e) => shared.problem(format!("{act:?} batch request failed: {e}")),
        }
    } else {
        for &i in which {
            let sent_at = shared.now();
            let result = match act {
                Act::Delete | Act::LateDelete => client
                    .delete_message()
                    .queue_url(url)
                    .receipt_handle(&items[i].handle)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| {
                        format!(
                            "{}: {}",
                            e.code().unwrap_or("?"),
                            e.message().unwrap_or("?")
                        )
                    }),
                Act::Release => client
                    .change_message_visibility()
                    .queue_url(url)
                    .receipt_handle(&items[i].handle)
                    .visibility_timeout(0)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| {
                        format!(
                            "{}: {}",
                            e.code().unwrap_or("?"),
                            e.message().unwrap_or("?")
                        )
                    }),
            };
            outcomes.push((i, sent_at, shared.now(), result));
        }
    }
    let mut log = shared.log.lock().unwrap();
    for (item, sent_at, answered_at, result) in outcomes {
        if act == Act::Delete && result.is_ok() {
            log.deleted.insert(items[item].key.clone());
        }
        log.actions.push(Action {
            receive,
            item,
            act,
            sent_at,
            answered_at,
            ok: result.is_ok(),
            error: result.err(),
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_fifo_consumers_keep_order_exclusivity_and_deduplication() {
    let seed = std::env::var("SLUICE_FIFO_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEED);
    println!("FIFO property test seed {seed} (set SLUICE_FIFO_SEED to repeat)");
    let mut rng = SplitMix64::new(seed);
    let server = TestServer::start().await;
    let admin = server.client();
    let url = fifo_queue(&admin, "property.fifo", &[]).await;
    let shared = Arc::new(Shared {
        started: Instant::now(),
        log: Mutex::default(),
        producers_done: AtomicBool::new(false),
        total: PRODUCERS * MESSAGES_PER_PRODUCER,
    });
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            tokio::spawn(produce(
                single_shot_client(&server.url(), REQUEST_TIMEOUT),
                url.clone(),
                p,
                SplitMix64::new(rng.next_u64()),
                shared.clone(),
            ))
        })
        .collect();
    let consumers: Vec<_> = (0..CONSUMERS)
        .map(|c| {
            tokio::spawn(consume(
                single_shot_client(&server.url(), REQUEST_TIMEOUT),
                url.clone(),
                c,
                SplitMix64::new(rng.next_u64()),
                shared.clone(),
            ))
        })
        .collect();
    for p in producers {
        p.await.expect("producer does not panic");
    }
    let produced_in = shared.now();
    shared.producers_done.store(true, Ordering::SeqCst);
    for c in consumers {
        c.await.expect("consumer does not panic");
    }
    let worked_for = shared.now();
    let final_counts = counts(&admin, &url).await;
    let leftover = admin
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .send()
        .await
        .expect("ReceiveMessage")
        .messages()
        .len();
    server.shutdown().await;

    let log = shared.log.lock().unwrap();
    let verdict = check(&log);
    let acts = |act: Act, ok: bool| {
        log.actions
            .iter()
            .filter(|a| a.act == act && a.ok == ok)
            .count()
    };
    let delivered: usize = log.receives.iter().map(|r| r.items.len()).sum();
    let groups: HashSet<&String> = log.sent.keys().map(|k| &k.0).collect();
    println!(
        "FIFO property: {} messages in {} groups sent by {PRODUCERS} producers in {produced_in:?} ({} re-sends \
         of acknowledged ones); {CONSUMERS} consumers: {} receives delivering {delivered} messages, {} deletes \
         ({} failed), {} releases ({} failed), {} late deletes (refused {}), {} abandoned; all done in \
         {worked_for:?}; final counts {final_counts:?}",
        log.sent.len(),
        groups.len(),
        log.resends.len(),
        log.receives.len(),
        acts(Act::Delete, true),
        acts(Act::Delete, false),
        acts(Act::Release, true),
        acts(Act::Release, false),
        acts(Act::LateDelete, true) + acts(Act::LateDelete, false),
        acts(Act::LateDelete, false),
        delivered - log.actions.iter().filter(|a| a.act != Act::LateDelete).count(),
    );
    println!(
        "FIFO property: {} out-of-order, {} exclusivity, {} deduplication, {} lost, {} other problems",
        verdict.order.len(),
        verdict.exclusivity.len(),
        verdict.dedup.len(),
        verdict.lost.len(),
        log.problems.len() + verdict.other.len(),
    );
    let first = |v: &[String]| v.iter().take(8).cloned().collect::<Vec<_>>();
    assert!(
        log.problems.is_empty(),
        "problems during the run: {:?}",
        first(&log.problems)
    );
    assert!(
        verdict.order.is_empty(),
        "delivered out of order: {:?}",
        first(&verdict.order)
    );
    assert!(
        verdict.exclusivity.is_empty(),
        "a group was delivered to two receives at once: {:?}",
        first(&verdict.exclusivity)
    );
    assert!(
        verdict.dedup.is_empty(),
        "deduplication broken: {:?}",
        first(&verdict.dedup)
    );
    assert!(verdict.other.is_empty(), "{:?}", first(&verdict.other));
    assert!(
        verdict.lost.is_empty(),
        "never deleted: {:?}",
        first(&verdict.lost)
    );
    assert_eq!(log.sent.len(), PRODUCERS * MESSAGES_PER_PRODUCER);
    assert!(
        worked_for < WORK_DEADLINE,
        "the workload took {worked_for:?}, more than {WORK_DEADLINE:?}"
    );
    assert_eq!(final_counts, (0, 0, 0));
    assert_eq!(leftover, 0);
    assert!(
        log.resends.len() > 50 && acts(Act::Release, true) > 20 && acts(Act::LateDelete, false) > 5,
        "the random workload did too little of something to mean anything"
    );
}

#[derive(Default)]
struct Verdict {
    order: Vec<String>,
    exclusivity: Vec<String>,
    dedup: Vec<String>,
    lost: Vec<String>,
    other: Vec<String>,
}

/// Checks the log of a run. Client times bracket server times: a request was handled by the server at
/// some moment between its `sent_at` and `answered_at`. Only what certainly happened counts as a
/// violation.
fn check(log: &Log) -> Verdict {
    let mut v = Verdict::default();
    // Successful real deletes by key: (sent_at, answered_at).
    let mut deletes: HashMap<&Key, Vec<(Duration, Duration)>> = HashMap::new();
    for a in &log.actions {
        let item = &log.receives[a.receive].items[a.item];
        if a.act == Act::Delete && a.ok {
            deletes
                .entry(&item.key)
                .or_default()
                .push((a.sent_at, a.answered_at));
        }
    }
    for (key, list) in &deletes {
        if list.len() > 1 {
            v.dedup
                .push(format!("{key:?} deleted successfully {} times", list.len()));
        }
    }

    // A failed delete or release of a message its receive certainly still held is a server error.
    for a in &log.actions {
        let r = &log.receives[a.receive];
        let item = &r.items[a.item];
        // Server times are whole milliseconds: keep a margin.
        let certainly_held_until = r.sent_at + r.visibility - Duration::from_millis(10);
        match a.act {
            Act::Delete | Act::Release if !a.ok && a.answered_at < certainly_held_until => {
                v.other.push(format!(
                    "{:?} of {:?} refused {:?} after the receive, within its {:?} visibility: {:?}",
                    a.act,
                    item.key,
                    a.answered_at - r.sent_at,
                    r.visibility,
                    a.error
                ))
            }
            // A delete with an expired handle must not remove the message (C: FIFO rejects expired
            // handles). Its success is tolerable only if the message was already gone.
            Act::LateDelete if a.ok => {
                let gone_before = deletes
                    .get(&item.key)
                    .is_some_and(|d| d.iter().any(|(sent, _)| *sent < a.answered_at));
                if !gone_before {
                    v.other.push(format!(
                        "a delete with the expired handle of {:?} ({:?} after its {:?} receive) succeeded",
                        item.key,
                        a.sent_at - r.answered_at,
                        r.visibility
                    ));
                }
            }
            _ => {}
        }
    }

    // Order: each receive gives, per group, consecutive counters starting at the lowest not yet deleted.
    for (ri, r) in log.receives.iter().enumerate() {
        let mut runs: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
        for item in &r.items {
            runs.entry(item.key.0.as_str())
                .or_default()
                .push(item.key.1);
        }
        for (group, run) in &runs {
            if run.windows(2).any(|w| w[1] != w[0] + 1) {
                v.order
                    .push(format!("receive {ri} gave {group} counters {run:?}"));
            }
            for x in 0..run[0] {
                let key = (group.to_string(), x);
                // Every earlier message must have been deleted before this receive was answered.
                let deleted_before = deletes
                    .get(&key)
                    .is_some_and(|d| d.iter().any(|(sent, _)| *sent < r.answered_at));
                if !deleted_before {
                    v.order.push(format!(
                        "receive {ri} (consumer {}) at {:?} gave {group}:{} while {group}:{x} was not deleted",
                        r.consumer, r.sent_at, run[0]
                    ));
                    break;
                }
            }
            for &x in run {
                let key = (group.to_string(), x);
                if let Some(d) = deletes.get(&key) {
                    if let Some((_, acked)) = d.iter().find(|(_, acked)| *acked < r.sent_at) {
                        v.order.push(format!(
                            "receive {ri} at {:?} gave {group}:{x}, deleted at {acked:?}",
                            r.sent_at
                        ));
                    }
                }
            }
        }
    }

    // Exclusivity: while a receive certainly holds a message (from its answer until its visibility
    // ends or it starts giving the message back), no receive handled entirely within that time gets
    // it. Later messages of its group may go to others once the group's oldest is visible again; the
    // order check above keeps those to the oldest not yet deleted.
    let mut by_key: HashMap<&Key, Vec<usize>> = HashMap::new();
    for (ri, r) in log.receives.iter().enumerate() {
        for item in &r.items {
            by_key.entry(&item.key).or_default().push(ri);
        }
    }
    let mut given_back: HashMap<(usize, usize), Duration> = HashMap::new();
    for a in &log.actions {
        if a.act != Act::LateDelete {
            let at = given_back.entry((a.receive, a.item)).or_insert(a.sent_at);
            *at = (*at).min(a.sent_at);
        }
    }
    for (r1, first) in log.receives.iter().enumerate() {
        for (i, item) in first.items.iter().enumerate() {
            let back = given_back.get(&(r1, i)).copied().unwrap_or(Duration::MAX);
            let held_until = back.min(first.sent_at + first.visibility);
            for &r2 in by_key.get(&item.key).into_iter().flatten() {
                let second = &log.receives[r2];
                if r2 != r1
                    && second.sent_at >= first.answered_at
                    && second.answered_at <= held_until
                {
                    v.exclusivity.push(format!(
                        "{:?}: receive {r2} (consumer {}, {:?}..{:?}) while receive {r1} (consumer {}, \
                         answered {:?}) held it until at least {held_until:?}",
                        item.key, second.consumer, second.sent_at, second.answered_at, first.consumer,
                        first.answered_at
                    ));
                }
            }
        }
    }

    // Deduplication and identity: one MessageId per message, the one its send was answered with, and
    // the SequenceNumber of the send; re-sends answered with the original.
    let mut ids: HashMap<&Key, HashSet<&str>> = HashMap::new();
    for r in &log.receives {
        for item in &r.items {
            ids.entry(&item.key)
                .or_default()
                .insert(item.message_id.as_str());
            match log.sent.get(&item.key) {
                None => v.dedup.push(format!(
                    "received {:?}, which no send acknowledged",
                    item.key
                )),
                Some(sent) => {
                    if item.message_id != sent.message_id {
                        v.dedup.push(format!(
                            "{:?} received as {}, sent as {}",
                            item.key, item.message_id, sent.message_id
                        ));
                    }
                    if item.sequence.as_deref() != Some(sent.sequence.to_string().as_str()) {
                        v.dedup.push(format!(
                            "{:?} received with SequenceNumber {:?}, sent with {}",
                            item.key, item.sequence, sent.sequence
                        ));
                    }
                }
            }
        }
    }
    for (key, set) in &ids {
        if set.len() > 1 {
            v.dedup.push(format!(
                "{key:?} delivered as {} different messages: {set:?}",
                set.len()
            ));
        }
    }
    for (key, id, seq) in &log.resends {
        match log.sent.get(key) {
            Some(sent) if sent.message_id == *id && sent.sequence.to_string() == *seq => {}
            other => v.dedup.push(format!(
                "re-send of {key:?} answered ({id}, {seq}); original {other:?}"
            )),
        }
    }
    // Sequence numbers grow with the counter within each group.
    let mut by_group_seq: HashMap<&str, BTreeMap<u64, u128>> = HashMap::new();
    for (key, sent) in &log.sent {
        by_group_seq
            .entry(key.0.as_str())
            .or_default()
            .insert(key.1, sent.sequence);
    }
    for (group, seqs) in &by_group_seq {
        let values: Vec<u128> = seqs.values().copied().collect();
        if values.windows(2).any(|w| w[1] <= w[0]) {
            v.other.push(format!(
                "SequenceNumbers of {group} do not grow with send order"
            ));
        }
        let counters: Vec<u64> = seqs.keys().copied().collect();
        if counters.iter().enumerate().any(|(i, c)| *c != i as u64) {
            v.other.push(format!(
                "sends of {group} acknowledged with gaps: {counters:?}"
            ));
        }
    }
    // Nothing lost: every acknowledged message was deleted.
    let mut lost: Vec<&Key> = log
        .sent
        .keys()
        .filter(|k| !deletes.contains_key(k))
        .collect();
    lost.sort();
    v.lost = lost.iter().map(|k| format!("{k:?}")).collect();
    v
}

/// The checker itself: a clean log passes, and each kind of violation is caught.
#[test]
fn the_checker_catches_each_kind_of_violation() {
    let ms = Duration::from_millis;
    let key = |c: u64| ("g".to_string(), c);
    let item = |c: u64, id: &str| Item {
        key: key(c),
        message_id: id.to_string(),
        sequence: Some((100 + c as u128).to_string()),
        handle: format!("h{c}"),
    };
    let receive = |consumer, at: u64, items: Vec<Item>| Receive {
        consumer,
        sent_at: ms(at),
        answered_at: ms(at + 5),
        visibility: Duration::from_secs(10),
        items,
    };
    let delete = |receive, item, at: u64| Action {
        receive,
        item,
        act: Act::Delete,
        sent_at: ms(at),
        answered_at: ms(at + 5),
        ok: true,
        error: None,
    };
    let base = || {
        let mut log = Log::default();
        for c in 0..2 {
            log.sent.insert(
                key(c),
                Sent {
                    message_id: format!("m{c}"),
                    sequence: 100 + c as u128,
                },
            );
        }
        log
    };
    // Clean: g:0 received and deleted, then g:1 received and deleted.
    let mut log = base();
    log.receives.push(receive(0, 0, vec![item(0, "m0")]));
    log.actions.push(delete(0, 0, 10));
    log.receives.push(receive(1, 20, vec![item(1, "m1")]));
    log.actions.push(delete(1, 0, 30));
    let v = check(&log);
    assert!(
        v.order.is_empty()
            && v.exclusivity.is_empty()
            && v.dedup.is_empty()
            && v.lost.is_empty()
            && v.other.is_empty(),
        "{:?} {:?} {:?} {:?} {:?}",
        v.order,
        v.exclusivity,
        v.dedup,
        v.lost,
        v.other
    );
    // g:1 delivered before g:0 was deleted: out of order.
    let mut log = base();
    log.receives.push(receive(0, 0, vec![item(0, "m0")]));
    log.receives.push(receive(1, 20, vec![item(1, "m1")]));
    log.actions.push(delete(0, 0, 40));
    log.actions.push(delete(1, 0, 50));
    let v = check(&log);
    assert!(!v.order.is_empty() && v.exclusivity.is_empty());
    // g:0 delivered again while the first receive still held it: not exclusive.
    let mut log = base();
    log.receives.push(receive(0, 0, vec![item(0, "m0")]));
    log.receives.push(receive(1, 20, vec![item(0, "m0")]));
    log.actions.push(delete(0, 0, 40));
    let v = check(&log);
    assert!(!v.exclusivity.is_empty());
    // g:0 given back while g:1 stays held: another receive may take g:0 again.
    let mut log = base();
    log.receives
        .push(receive(0, 0, vec![item(0, "m0"), item(1, "m1")]));
    log.actions.push(Action {
        act: Act::Release,
        ..delete(0, 0, 10)
    });
    log.receives.push(receive(1, 20, vec![item(0, "m0")]));
    log.actions.push(delete(1, 0, 30));
    log.actions.push(delete(0, 1, 40));
    let v = check(&log);
    assert!(
        v.order.is_empty() && v.exclusivity.is_empty(),
        "{:?} {:?}",
        v.order,
        v.exclusivity
    );
    // A message delivered under another MessageId, and one never deleted.
    let mut log = base();
    log.receives
        .push(receive(0, 0, vec![item(0, "m0"), item(1, "other")]));
    log.actions.push(delete(0, 0, 10));
    let v = check(&log);
    assert!(!v.dedup.is_empty() && v.lost == ["(\"g\", 1)"]);
    // A deleted message delivered again.
    let mut log = base();
    log.receives.push(receive(0, 0, vec![item(0, "m0")]));
    log.actions.push(delete(0, 0, 10));
    log.receives.push(receive(1, 30, vec![item(0, "m0")]));
    let v = check(&log);
    assert!(!v.order.is_empty());
    // A late delete that removed a message nobody else deleted.
    let mut log = base();
    log.receives.push(receive(0, 0, vec![item(0, "m0")]));
    log.actions.push(Action {
        act: Act::LateDelete,
        ..delete(0, 0, 11_000)
    });
    let v = check(&log);
    assert!(!v.other.is_empty());
}
