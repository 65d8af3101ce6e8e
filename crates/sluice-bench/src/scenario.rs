//! The workers: producers that send single messages or batches, and consumers that receive and delete.
//! Every loop ends by message count, by duration, by the overall deadline, or when the server refuses
//! a request outright.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use tokio::time::Instant;

use crate::client::{push_json_str, sleep_before, CallError, ClientConfig, Conn, Endpoint};
use crate::histogram::Histogram;
use crate::tracker::{GroupOrder, Receipt, Tracker, MAX_IDS};

/// Pause after a transient failure before the next request.
const BACKOFF: Duration = Duration::from_millis(50);
/// Tries of a DeleteMessageBatch whose failure was transient.
const DELETE_TRIES: u32 = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dedup {
    /// Each entry carries `MessageDeduplicationId`.
    Explicit,
    /// The queue has `ContentBasedDeduplication`; bodies are unique.
    Content,
}

/// FIFO settings of a run.
#[derive(Clone, Copy, Debug)]
pub struct Fifo {
    pub groups: u32,
    pub dedup: Dedup,
}

#[derive(Clone)]
pub struct Plan {
    pub client: ClientConfig,
    /// The nodes workers are spread over, in turn (`client`'s endpoint among them).
    pub endpoints: Vec<Endpoint>,
    pub queue_url: String,
    /// Unique tag of the run, written into every body.
    pub tag: String,
    pub producers: usize,
    pub consumers: usize,
    /// 1 sends with SendMessage, more with SendMessageBatch.
    pub batch_size: usize,
    pub messages: Option<u64>,
    pub duration: Option<Duration>,
    pub body_size: usize,
    /// Total send rate of all producers, messages per second; unpaced when `None`.
    pub rate: Option<f64>,
    pub wait_time_seconds: u32,
    pub fifo: Option<Fifo>,
    /// Nothing runs past this.
    pub deadline: Instant,
    /// Consumers give up when the producers are done and nothing new arrived for this long.
    pub drain_timeout: Duration,
}

impl Plan {
    /// The connection settings of the `n`th producer or consumer: workers take the nodes in turn.
    fn client_for(&self, n: usize) -> ClientConfig {
        let mut client = self.client.clone();
        if let Some(endpoint) = self.endpoints.get(n % self.endpoints.len().max(1)) {
            client.endpoint = endpoint.clone();
        }
        client
    }
}

/// What a run shares between its workers.
struct Shared {
    plan: Plan,
    start: Instant,
    next_id: AtomicU64,
    producers_left: AtomicUsize,
    abort: AtomicBool,
    fatal: Mutex<Option<String>>,
    tracker: Tracker,
    order: Option<GroupOrder>,
    /// Microseconds since start of the last first receive.
    last_progress_us: AtomicU64,
    /// Microseconds since start when the last producer stopped.
    producers_done_us: AtomicU64,
    /// Microseconds since start when a DeleteMessageBatch that removed new messages last returned.
    last_delete_us: AtomicU64,
}

impl Shared {
    fn since_start_us(&self) -> u64 {
        self.start.elapsed().as_micros() as u64
    }

    fn fail(&self, context: &str, error: &CallError) {
        let mut fatal = self.fatal.lock().unwrap_or_else(|e| e.into_inner());
        if fatal.is_none() {
            *fatal = Some(format!("{context}: {error}"));
        }
        self.abort.store(true, Ordering::Release);
    }

    fn aborted(&self) -> bool {
        self.abort.load(Ordering::Acquire)
    }

    fn producers_done(&self) -> bool {
        self.producers_left.load(Ordering::Acquire) == 0
    }
}

/// Counters and latencies of one worker, merged into the run's at the end.
#[derive(Default)]
pub struct Stats {
    pub send_latency: Histogram,
    pub receive_latency: Histogram,
    pub delete_latency: Histogram,
    pub end_to_end: Histogram,
    pub requests: u64,
    /// Requests that failed transiently (time-outs, broken connections, server faults).
    pub errors: u64,
    /// Messages the server acknowledged as sent.
    pub sent: u64,
    /// Batch entries the server reported as failed.
    pub send_failed: u64,
    /// Messages received, duplicates included.
    pub received: u64,
    /// Distinct messages of this run received.
    pub delivered: u64,
    pub empty_receives: u64,
    pub deleted: u64,
    pub delete_failed: u64,
    pub duplicates: u64,
    /// Received messages that are not this run's.
    pub foreign: u64,
    /// This run's messages whose body came back altered.
    pub corrupt: u64,
    pub order_violations: u64,
    pub connections: u64,
    pub first_error: Option<String>,
}

impl Stats {
    fn merge(&mut self, o: Stats) {
        self.send_latency.merge(&o.send_latency);
        self.receive_latency.merge(&o.receive_latency);
        self.delete_latency.merge(&o.delete_latency);
        self.end_to_end.merge(&o.end_to_end);
        self.requests += o.requests;
        self.errors += o.errors;
        self.sent += o.sent;
        self.send_failed += o.send_failed;
        self.received += o.received;
        self.delivered += o.delivered;
        self.empty_receives += o.empty_receives;
        self.deleted += o.deleted;
        self.delete_failed += o.delete_failed;
        self.duplicates += o.duplicates;
        self.foreign += o.foreign;
        self.corrupt += o.corrupt;
        self.order_violations += o.order_violations;
        self.connections += o.connections;
        if self.first_error.is_none() {
            self.first_error = o.first_error;
        }
    }

    fn transient(&mut self, context: &str, error: &CallError) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(format!("{context}: {error}"));
        }
    }
}

/// The outcome of a run.
pub struct Outcome {
    pub stats: Stats,
    /// Start to the last producer stopping.
    pub send_elapsed: Duration,
    /// Start to the last message deleted (pipelines), or to the end of sending.
    pub elapsed: Duration,
    /// Acknowledged, never received (pipelines only).
    pub lost: u64,
    /// Received without an acknowledged send (pipelines only).
    pub unacknowledged: u64,
    /// The server refused a request; the run stopped early.
    pub fatal: Option<String>,
    /// The overall deadline cut the run short.
    pub deadline_hit: bool,
    /// Consumers stopped because nothing arrived for the drain timeout.
    pub drain_stalled: bool,
}

/// Runs producers and, when `plan.consumers > 0`, consumers until every message is accounted for.
pub async fn run(plan: Plan) -> Outcome {
    let shared = Arc::new(Shared {
        start: Instant::now(),
        next_id: AtomicU64::new(0),
        producers_left: AtomicUsize::new(plan.producers),
        abort: AtomicBool::new(false),
        fatal: Mutex::new(None),
        tracker: Tracker::new(),
        order: plan.fifo.map(|f| GroupOrder::new(f.groups)),
        last_progress_us: AtomicU64::new(0),
        producers_done_us: AtomicU64::new(0),
        last_delete_us: AtomicU64::new(0),
        plan,
    });
    let mut tasks = Vec::new();
    for index in 0..shared.plan.producers {
        tasks.push(tokio::spawn(producer(shared.clone(), index)));
    }
    for index in 0..shared.plan.consumers {
        tasks.push(tokio::spawn(consumer(shared.clone(), index)));
    }
    let mut stats = Stats::default();
    let mut drain_stalled = false;
    for task in tasks {
        match task.await {
            Ok((worker, stalled)) => {
                stats.merge(worker);
                drain_stalled |= stalled;
            }
            Err(e) => {
                let mut fatal = shared.fatal.lock().unwrap_or_else(|e| e.into_inner());
                fatal.get_or_insert_with(|| format!("a worker failed: {e}"));
            }
        }
    }
    let end = Instant::now();
    let plan = &shared.plan;
    let send_elapsed = Duration::from_micros(shared.producers_done_us.load(Ordering::Acquire));
    let (elapsed, lost, unacknowledged) = if plan.consumers > 0 {
        let tally = shared.tracker.tally();
        let last = shared.last_delete_us.load(Ordering::Acquire);
        let elapsed = if last > 0 {
            Duration::from_micros(last)
        } else {
            end - shared.start
        };
        (elapsed, tally.lost, tally.unacknowledged)
    } else {
        (send_elapsed, 0, 0)
    };
    let fatal = shared
        .fatal
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    Outcome {
        stats,
        send_elapsed,
        elapsed,
        lost,
        unacknowledged,
        fatal,
        deadline_hit: end >= plan.deadline,
        drain_stalled,
    }
}

/// The body of message `id`: `sb:<tag>:<id>:<group>:<seq>:<sent us>:` padded with `x` to the body size.
/// Group and sequence are 0 on standard queues.
fn message_body(tag: &str, id: u64, group: u32, seq: u64, sent_us: u64, size: usize) -> String {
    let mut body = format!("sb:{tag}:{id}:{group}:{seq}:{sent_us}:");
    if body.len() < size {
        body.extend(std::iter::repeat_n('x', size - body.len()));
    }
    body
}

/// The parts of a body [`message_body`] wrote, if it is one of this run's and unaltered.
#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    Ours {
        id: u64,
        group: u32,
        seq: u64,
        sent_us: u64,
    },
    Corrupt,
    Foreign,
}

fn parse_body(body: &str, tag: &str, size: usize) -> Parsed {
    let Some(rest) = body
        .strip_prefix("sb:")
        .and_then(|r| r.strip_prefix(tag))
        .and_then(|r| r.strip_prefix(':'))
    else {
        return Parsed::Foreign;
    };
    let mut fields = rest.splitn(5, ':');
    let mut number = || fields.next().and_then(|f| f.parse::<u64>().ok());
    let (Some(id), Some(group), Some(seq), Some(sent_us)) =
        (number(), number(), number(), number())
    else {
        return Parsed::Corrupt;
    };
    let padding = fields.next().unwrap_or_default();
    let header_len = body.len() - padding.len();
    let expected_padding = size.saturating_sub(header_len);
    if padding.len() != expected_padding || padding.bytes().any(|b| b != b'x') {
        return Parsed::Corrupt;
    }
    let Ok(group) = u32::try_from(group) else {
        return Parsed::Corrupt;
    };
    Parsed::Ours {
        id,
        group,
        seq,
        sent_us,
    }
}

#[derive(Deserialize)]
struct SendResult {
    #[serde(rename = "MessageId")]
    _message_id: String,
}

#[derive(Deserialize)]
struct BatchResult {
    #[serde(rename = "Successful", default)]
    successful: Vec<BatchSuccess>,
    #[serde(rename = "Failed", default)]
    failed: Vec<BatchFailure>,
}

#[derive(Deserialize)]
struct BatchSuccess {
    #[serde(rename = "Id")]
    id: String,
}

#[derive(Deserialize)]
struct BatchFailure {
    #[serde(rename = "Id", default)]
    id: String,
    #[serde(rename = "SenderFault", default)]
    sender_fault: bool,
    #[serde(rename = "Code", default)]
    code: String,
    #[serde(rename = "Message", default)]
    message: String,
}

#[derive(Deserialize)]
struct ReceiveResult {
    #[serde(rename = "Messages", default)]
    messages: Vec<ReceivedMessage>,
}

#[derive(Deserialize)]
struct ReceivedMessage {
    #[serde(rename = "ReceiptHandle")]
    receipt_handle: String,
    #[serde(rename = "Body", default)]
    body: String,
}

/// Round-robin over the FIFO groups a producer owns (`g % producers == index`), with the next sequence
/// number of each.
struct GroupCursor {
    groups: Vec<(u32, u64)>,
    next: usize,
}

impl GroupCursor {
    fn new(index: usize, producers: usize, groups: u32) -> Self {
        GroupCursor {
            groups: (0..groups)
                .filter(|g| *g as usize % producers == index)
                .map(|g| (g, 0))
                .collect(),
            next: 0,
        }
    }

    fn take(&mut self) -> (u32, u64) {
        let len = self.groups.len();
        let slot = &mut self.groups[self.next];
        let taken = *slot;
        slot.1 += 1;
        self.next = (self.next + 1) % len;
        taken
    }
}

async fn producer(shared: Arc<Shared>, index: usize) -> (Stats, bool) {
    let plan = &shared.plan;
    let mut stats = Stats::default();
    let mut conn = Conn::new(plan.client_for(index));
    let mut cursor = plan
        .fifo
        .map(|f| GroupCursor::new(index, plan.producers, f.groups))
        .filter(|c| !c.groups.is_empty());
    let idle = plan.fifo.is_some() && cursor.is_none();
    let stop_at = plan.duration.map(|d| shared.start + d);
    let limit = plan.messages.unwrap_or(MAX_IDS).min(MAX_IDS);
    let batch = plan.batch_size as u64;
    let mut queue_url = String::new();
    push_json_str(&mut queue_url, &plan.queue_url);
    let mut body = String::new();
    while !idle && !shared.aborted() {
        let now = Instant::now();
        if now >= plan.deadline || stop_at.is_some_and(|s| now >= s) {
            break;
        }
        let first = shared.next_id.fetch_add(batch, Ordering::AcqRel);
        if first >= limit {
            break;
        }
        let count = batch.min(limit - first);
        if let Some(rate) = plan.rate {
            // Message `first` is due `first / rate` seconds into the run.
            let due = shared.start + Duration::from_secs_f64(first as f64 / rate);
            if due >= plan.deadline || stop_at.is_some_and(|s| due >= s) {
                break;
            }
            tokio::time::sleep_until(due).await;
        }
        let sent_us = shared.since_start_us();
        body.clear();
        let single = plan.batch_size == 1;
        body.push_str("{\"QueueUrl\":");
        body.push_str(&queue_url);
        if !single {
            body.push_str(",\"Entries\":[");
        }
        for id in first..first + count {
            let (group, seq) = cursor.as_mut().map_or((0, 0), GroupCursor::take);
            let text = message_body(&plan.tag, id, group, seq, sent_us, plan.body_size);
            if !single {
                if id > first {
                    body.push(',');
                }
                body.push_str("{\"Id\":\"m");
                body.push_str(&id.to_string());
                body.push('"');
            }
            body.push_str(",\"MessageBody\":");
            push_json_str(&mut body, &text);
            if let Some(fifo) = plan.fifo {
                body.push_str(",\"MessageGroupId\":\"g");
                body.push_str(&group.to_string());
                body.push('"');
                if fifo.dedup == Dedup::Explicit {
                    body.push_str(",\"MessageDeduplicationId\":\"");
                    body.push_str(&plan.tag);
                    body.push('-');
                    body.push_str(&id.to_string());
                    body.push('"');
                }
            }
            if !single {
                body.push('}');
            }
        }
        body.push_str(if single { "}" } else { "]}" });
        let operation = if single {
            "SendMessage"
        } else {
            "SendMessageBatch"
        };
        let started = Instant::now();
        let payload = body.as_bytes().to_vec();
        let result = if single {
            conn.call::<SendResult>(operation, payload, Some(plan.deadline))
                .await
                .map(|_| None)
        } else {
            conn.call::<BatchResult>(operation, payload, Some(plan.deadline))
                .await
                .map(Some)
        };
        stats
            .send_latency
            .record(started.elapsed().as_micros() as u64);
        stats.requests += 1;
        match result {
            Ok(None) => {
                stats.sent += 1;
                shared.tracker.ack(first);
            }
            Ok(Some(batch_result)) => {
                for entry in &batch_result.successful {
                    match entry
                        .id
                        .strip_prefix('m')
                        .and_then(|n| n.parse::<u64>().ok())
                    {
                        Some(id) if (first..first + count).contains(&id) => {
                            stats.sent += 1;
                            shared.tracker.ack(id);
                        }
                        _ => stats.foreign += 1,
                    }
                }
                for failure in &batch_result.failed {
                    stats.send_failed += 1;
                    let error = CallError::Api {
                        status: 200,
                        code: failure.code.clone(),
                        message: format!("entry {}: {}", failure.id, failure.message),
                    };
                    if failure.sender_fault {
                        shared.fail(operation, &error);
                    } else if stats.first_error.is_none() {
                        stats.first_error = Some(format!("{operation}: {error}"));
                    }
                }
            }
            Err(e) if e.is_transient() => {
                stats.transient(operation, &e);
                sleep_before(BACKOFF, plan.deadline).await;
            }
            Err(e) => shared.fail(operation, &e),
        }
    }
    stats.connections = conn.connects;
    let done_us = shared.since_start_us();
    shared
        .producers_done_us
        .fetch_max(done_us, Ordering::AcqRel);
    shared.producers_left.fetch_sub(1, Ordering::AcqRel);
    (stats, false)
}

async fn consumer(shared: Arc<Shared>, index: usize) -> (Stats, bool) {
    let plan = &shared.plan;
    let mut stats = Stats::default();
    let mut conn = Conn::new(plan.client_for(index));
    let mut receive = String::from("{\"QueueUrl\":");
    push_json_str(&mut receive, &plan.queue_url);
    receive.push_str(&format!(
        ",\"MaxNumberOfMessages\":10,\"WaitTimeSeconds\":{}}}",
        plan.wait_time_seconds
    ));
    let mut stalled = false;
    loop {
        if shared.aborted() || Instant::now() >= plan.deadline {
            break;
        }
        if shared.producers_done() {
            if shared.tracker.outstanding() <= 0 {
                break;
            }
            let quiet_since = shared
                .last_progress_us
                .load(Ordering::Acquire)
                .max(shared.producers_done_us.load(Ordering::Acquire));
            if shared.since_start_us().saturating_sub(quiet_since)
                > plan.drain_timeout.as_micros() as u64
            {
                stalled = true;
                break;
            }
        }
        let started = Instant::now();
        let result = conn
            .call::<ReceiveResult>(
                "ReceiveMessage",
                receive.as_bytes().to_vec(),
                Some(plan.deadline),
            )
            .await;
        stats
            .receive_latency
            .record(started.elapsed().as_micros() as u64);
        stats.requests += 1;
        let messages = match result {
            Ok(r) => r.messages,
            Err(e) if e.is_transient() => {
                stats.transient("ReceiveMessage", &e);
                sleep_before(BACKOFF, plan.deadline).await;
                continue;
            }
            Err(e) => {
                shared.fail("ReceiveMessage", &e);
                break;
            }
        };
        if messages.is_empty() {
            stats.empty_receives += 1;
            continue;
        }
        let now_us = shared.since_start_us();
        let mut new_messages = 0;
        for message in &messages {
            stats.received += 1;
            match parse_body(&message.body, &plan.tag, plan.body_size) {
                Parsed::Ours {
                    id,
                    group,
                    seq,
                    sent_us,
                } => match shared.tracker.receive(id) {
                    Receipt::First => {
                        new_messages += 1;
                        stats.delivered += 1;
                        stats.end_to_end.record(now_us.saturating_sub(sent_us));
                        if let Some(order) = &shared.order {
                            if !order.observe(group, seq) {
                                stats.order_violations += 1;
                            }
                        }
                    }
                    Receipt::Duplicate => stats.duplicates += 1,
                    Receipt::Unknown => stats.foreign += 1,
                },
                Parsed::Corrupt => stats.corrupt += 1,
                Parsed::Foreign => stats.foreign += 1,
            }
        }
        if new_messages > 0 {
            shared.last_progress_us.fetch_max(now_us, Ordering::AcqRel);
        }
        let deleted = delete(&shared, &mut conn, &mut stats, &messages).await;
        if new_messages > 0 && deleted > 0 {
            let done = shared.since_start_us();
            shared.last_delete_us.fetch_max(done, Ordering::AcqRel);
        }
    }
    stats.connections = conn.connects;
    (stats, stalled)
}

/// Deletes every received message, this run's or not, trying again on transient failures. Returns how
/// many the server deleted.
async fn delete(
    shared: &Shared,
    conn: &mut Conn,
    stats: &mut Stats,
    messages: &[ReceivedMessage],
) -> u64 {
    let plan = &shared.plan;
    let mut body = String::from("{\"QueueUrl\":");
    push_json_str(&mut body, &plan.queue_url);
    body.push_str(",\"Entries\":[");
    for (i, message) in messages.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&format!("{{\"Id\":\"d{i}\",\"ReceiptHandle\":"));
        push_json_str(&mut body, &message.receipt_handle);
        body.push('}');
    }
    body.push_str("]}");
    for attempt in 1..=DELETE_TRIES {
        let started = Instant::now();
        // Deletes may finish a little past the deadline so a drained run is not miscounted.
        let result = conn
            .call::<BatchResult>(
                "DeleteMessageBatch",
                body.as_bytes().to_vec(),
                Some(plan.deadline.max(Instant::now() + Duration::from_secs(2))),
            )
            .await;
        stats
            .delete_latency
            .record(started.elapsed().as_micros() as u64);
        stats.requests += 1;
        match result {
            Ok(r) => {
                let deleted = r.successful.len() as u64;
                stats.deleted += deleted;
                stats.delete_failed += r.failed.len() as u64;
                if let Some(f) = r.failed.first() {
                    if stats.first_error.is_none() {
                        stats.first_error = Some(format!(
                            "DeleteMessageBatch entry {}: {} {}",
                            f.id, f.code, f.message
                        ));
                    }
                }
                return deleted;
            }
            Err(e) if e.is_transient() && attempt < DELETE_TRIES => {
                stats.transient("DeleteMessageBatch", &e);
                sleep_before(BACKOFF, plan.deadline).await;
            }
            Err(e) if e.is_transient() => {
                stats.transient("DeleteMessageBatch", &e);
                stats.delete_failed += messages.len() as u64;
                return 0;
            }
            Err(e) => {
                stats.delete_failed += messages.len() as u64;
                shared.fail("DeleteMessageBatch", &e);
                return 0;
            }
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_round_trip() {
        let body = message_body("t1", 42, 7, 3, 123_456, 100);
        assert_eq!(body.len(), 100);
        assert_eq!(
            parse_body(&body, "t1", 100),
            Parsed::Ours {
                id: 42,
                group: 7,
                seq: 3,
                sent_us: 123_456
            }
        );
        // A body size smaller than the header yields just the header.
        let short = message_body("t1", 1, 0, 0, 0, 4);
        assert_eq!(short, "sb:t1:1:0:0:0:");
        assert!(matches!(
            parse_body(&short, "t1", 4),
            Parsed::Ours { id: 1, .. }
        ));
    }

    #[test]
    fn altered_and_foreign_bodies() {
        let body = message_body("t1", 42, 0, 0, 9, 64);
        assert_eq!(parse_body(&body, "t2", 64), Parsed::Foreign);
        assert_eq!(parse_body("hello", "t1", 64), Parsed::Foreign);
        assert_eq!(parse_body(&body[..60], "t1", 64), Parsed::Corrupt);
        let mut changed = body.clone();
        changed.replace_range(63..64, "y");
        assert_eq!(parse_body(&changed, "t1", 64), Parsed::Corrupt);
        assert_eq!(parse_body("sb:t1:x:0:0:0:", "t1", 0), Parsed::Corrupt);
    }

    #[test]
    fn group_cursor_owns_its_groups() {
        let mut c = GroupCursor::new(1, 3, 8);
        let taken: Vec<_> = (0..5).map(|_| c.take()).collect();
        assert_eq!(taken, vec![(1, 0), (4, 0), (7, 0), (1, 1), (4, 1)]);
        assert!(GroupCursor::new(5, 6, 3).groups.is_empty());
    }
}
