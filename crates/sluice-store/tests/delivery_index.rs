//! The delivery index (`QueueMessages`) against a model that is plainly right: a list of messages in
//! send order, each with its state, scanned in full for every question. Any sequence of sends (with
//! delays and deduplication), receives (with the in-flight limit and dead-lettering), visibility
//! changes, deletes, purges, expiries, moves, FIFO re-timings, arrivals from another queue's
//! redrive and clock steps must give the same
//! observable results, on standard and FIFO queues: what each call returns, in order, and the counts
//! after every step. The same model also drives the durable engine through the `Store` interface,
//! restarting it between steps: what it recovers must go on behaving as the model.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use sluice_store::{
    Deduplicated, DeduplicationKey, DeleteOutcome, Deletion, DeliveryState, DurableStore,
    MessageContent, MessageCounts, NewMessage, Payload, QueueKey, QueueMessages, QueueRecord,
    ReceiveRequest, SendOutcome, Store, VisibilityChange, VisibilityOutcome,
};

const START: i64 = 1_000;
const DEDUPLICATION_WINDOW: i64 = 50;

#[derive(Clone, Debug)]
struct Item {
    enqueued_at: i64,
    group: Option<Arc<str>>,
}

impl Payload for Item {
    fn enqueued_at(&self) -> i64 {
        self.enqueued_at
    }

    fn group(&self) -> Option<&Arc<str>> {
        self.group.as_ref()
    }
}

/// Which receive a handle claims to come from, relative to the message's latest.
#[derive(Clone, Copy, Debug)]
enum Handle {
    /// No receive named (a standard queue's delete).
    Any,
    Latest,
    /// A receive after the latest one (no such handle exists yet).
    Other,
    /// A receive before the latest one.
    Older,
}

#[derive(Clone, Debug)]
enum Op {
    Send {
        group: u8,
        delay: i64,
        deduplication: Option<u8>,
    },
    Receive {
        max: usize,
        visibility: i64,
        max_in_flight: usize,
        max_receive_count: Option<u32>,
    },
    ChangeVisibility {
        pick: u64,
        handle: Handle,
        timeout: i64,
        max_span: i64,
    },
    Delete {
        pick: u64,
        handle: Handle,
    },
    Purge,
    Advance(i64),
    Expire {
        age: i64,
    },
    Peek {
        max: usize,
    },
    TakeVisible {
        pick: u64,
    },
    Retime {
        delay: i64,
    },
    /// A message arriving from the queue whose dead-letter queue this is: put at the end, received
    /// `receive_count` times already, keeping the time it was first sent `age` ago.
    DeadLetter {
        group: u8,
        age: i64,
        receive_count: u32,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Visible,
    /// Never received, visible from the given instant.
    Delayed(i64),
    /// Hidden until the given instant.
    InFlight(i64),
}

#[derive(Clone, Debug)]
struct Message {
    seq: u64,
    group: Option<Arc<str>>,
    enqueued_at: i64,
    state: State,
    visible_at: i64,
    receive_count: u32,
    first_receive_at: Option<i64>,
    received_at: i64,
    /// When `visible_at` was last set, counted in settings of it: the later of two messages that
    /// become visible at the same instant.
    stamp: u64,
}

impl Message {
    fn delivery_state(&self) -> DeliveryState {
        DeliveryState {
            visible_at: self.visible_at,
            receive_count: self.receive_count,
            first_receive_at: self.first_receive_at,
            received_at: self.received_at,
        }
    }

    fn hidden_until(&self) -> Option<i64> {
        match self.state {
            State::Visible => None,
            State::Delayed(at) | State::InFlight(at) => Some(at),
        }
    }
}

/// What a receive shows: each message handed out (sequence number, receive count, first receive), each
/// taken out for the dead-letter queue with its state, when the next hidden one shows, and whether the
/// in-flight limit stopped it before it handed anything out.
#[derive(Debug, Default, PartialEq, Eq)]
struct Received {
    delivered: Vec<(u64, u32, i64)>,
    dead: Vec<(u64, DeliveryState)>,
    next_visible_at: Option<i64>,
    in_flight_limit_reached: bool,
}

/// The FIFO rule, kept in one place so that it can change on its own: the group whose messages may be
/// handed out next, and which of them, at most `room`. A group whose oldest message is visible offers its
/// visible messages from that one on, up to the first that is not visible (in flight or delayed);
/// groups take turns in the order they became ready, that is the order in which their oldest message
/// became visible (its `visible_at`, then the order in which that was set).
fn fifo_batch(messages: &[Message], room: usize) -> Vec<u64> {
    let mut groups: Vec<&Arc<str>> = Vec::new();
    for group in messages.iter().filter_map(|m| m.group.as_ref()) {
        if !groups.contains(&group) {
            groups.push(group);
        }
    }
    let members = |group: &Arc<str>| -> Vec<&Message> {
        messages
            .iter()
            .filter(|m| m.group.as_ref() == Some(group))
            .collect()
    };
    groups
        .into_iter()
        .map(members)
        .filter(|lane| lane[0].state == State::Visible)
        .min_by_key(|lane| (lane[0].visible_at, lane[0].stamp))
        .map(|lane| {
            lane.into_iter()
                .take(room)
                .take_while(|m| m.state == State::Visible)
                .map(|m| m.seq)
                .collect()
        })
        .unwrap_or_default()
}

struct Model {
    fifo: bool,
    now: i64,
    next_seq: u64,
    stamps: u64,
    /// In sequence-number order.
    messages: Vec<Message>,
    /// Deduplication id to (first message, end of its window).
    deduplication: HashMap<u8, (u64, i64)>,
}

impl Model {
    fn new(fifo: bool) -> Self {
        Model {
            fifo,
            now: START,
            next_seq: 0,
            stamps: 0,
            messages: Vec::new(),
            deduplication: HashMap::new(),
        }
    }

    fn stamp(&mut self) -> u64 {
        self.stamps += 1;
        self.stamps
    }

    /// Every hidden message whose time has come is visible.
    fn settle(&mut self) {
        let now = self.now;
        for m in &mut self.messages {
            if m.hidden_until().is_some_and(|at| at <= now) {
                m.state = State::Visible;
            }
        }
    }

    fn position(&self, seq: u64) -> Option<usize> {
        self.messages.iter().position(|m| m.seq == seq)
    }

    fn counts(&self) -> MessageCounts {
        let count = |f: fn(&State) -> bool| self.messages.iter().filter(|m| f(&m.state)).count();
        MessageCounts {
            visible: count(|s| *s == State::Visible) as u64,
            in_flight: count(|s| matches!(s, State::InFlight(_))) as u64,
            delayed: count(|s| matches!(s, State::Delayed(_))) as u64,
        }
    }

    /// `Ok(seq)` for an appended message, `Err(seq)` for a duplicate of the message at `seq`.
    fn send(&mut self, group: Option<Arc<str>>, delay: i64, dedup: Option<u8>) -> Result<u64, u64> {
        if let Some(id) = dedup {
            if let Some(&(seq, until)) = self.deduplication.get(&id) {
                if until > self.now {
                    return Err(seq);
                }
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let visible_at = self.now + delay;
        let stamp = self.stamp();
        self.messages.push(Message {
            stamp,
            seq,
            group,
            enqueued_at: self.now,
            state: if delay > 0 {
                State::Delayed(visible_at)
            } else {
                State::Visible
            },
            visible_at,
            receive_count: 0,
            first_receive_at: None,
            received_at: 0,
        });
        if let Some(id) = dedup {
            self.deduplication
                .insert(id, (seq, self.now + DEDUPLICATION_WINDOW));
        }
        Ok(seq)
    }

    fn receive(
        &mut self,
        max: usize,
        visibility: i64,
        max_in_flight: usize,
        max_receive_count: Option<u32>,
    ) -> Received {
        let deadline = self.now + visibility;
        let mut seen = Received::default();
        while seen.delivered.len() < max {
            if self.counts().in_flight as usize >= max_in_flight {
                seen.in_flight_limit_reached = seen.delivered.is_empty();
                break;
            }
            let batch = if self.fifo {
                fifo_batch(&self.messages, max - seen.delivered.len())
            } else {
                self.messages
                    .iter()
                    .find(|m| m.state == State::Visible)
                    .map(|m| vec![m.seq])
                    .unwrap_or_default()
            };
            if batch.is_empty() {
                break;
            }
            for seq in batch {
                let Some(i) = self.position(seq) else {
                    continue;
                };
                if max_receive_count.is_some_and(|max| self.messages[i].receive_count >= max) {
                    let m = self.messages.remove(i);
                    seen.dead.push((seq, m.delivery_state()));
                    continue;
                }
                let now = self.now;
                let stamp = self.stamp();
                let m = &mut self.messages[i];
                m.stamp = stamp;
                m.state = State::InFlight(deadline);
                m.visible_at = deadline;
                m.receive_count += 1;
                m.received_at = now;
                let first = *m.first_receive_at.get_or_insert(now);
                seen.delivered.push((seq, m.receive_count, first));
            }
        }
        seen.next_visible_at = self.messages.iter().filter_map(Message::hidden_until).min();
        seen
    }

    fn change_visibility(&mut self, change: &VisibilityChange) -> VisibilityOutcome {
        let now = self.now;
        let Some(i) = self.position(change.seq) else {
            return VisibilityOutcome::Gone;
        };
        let fifo = self.fifo;
        let stamp = self.stamps + 1;
        let m = &mut self.messages[i];
        let older_in_flight = !fifo
            && change.receive_count < m.receive_count
            && matches!(m.state, State::InFlight(_));
        if m.receive_count == 0 || (m.receive_count != change.receive_count && !older_in_flight) {
            return VisibilityOutcome::Stale;
        }
        if change.deadline > m.received_at.saturating_add(change.max_span_from_receive) {
            return VisibilityOutcome::BeyondLimit;
        }
        let hide = change.deadline > now;
        m.state = match (m.state, hide) {
            (State::InFlight(_) | State::Visible, true) => State::InFlight(change.deadline),
            (State::InFlight(_), false) => State::Visible,
            (state, _) => state,
        };
        m.visible_at = change.deadline;
        m.stamp = stamp;
        self.stamps = stamp;
        VisibilityOutcome::Changed
    }

    fn delete(&mut self, seq: u64, receive_count: Option<u32>) -> DeleteOutcome {
        let Some(i) = self.position(seq) else {
            return DeleteOutcome::Gone;
        };
        if let Some(receive_count) = receive_count {
            let m = &self.messages[i];
            if m.receive_count != receive_count || !matches!(m.state, State::InFlight(_)) {
                return DeleteOutcome::Expired;
            }
        }
        self.messages.remove(i);
        DeleteOutcome::Deleted
    }

    fn expire(&mut self, before: i64) -> Vec<u64> {
        let (gone, kept) = std::mem::take(&mut self.messages)
            .into_iter()
            .partition(|m| m.enqueued_at < before);
        self.messages = kept;
        gone.iter().map(|m: &Message| m.seq).collect()
    }

    fn peek(&self, max: usize) -> Vec<u64> {
        self.messages
            .iter()
            .filter(|m| m.state == State::Visible)
            .take(max)
            .map(|m| m.seq)
            .collect()
    }

    fn take_visible(&mut self, seq: u64) -> Option<u64> {
        let i = self.position(seq)?;
        (self.messages[i].state == State::Visible).then(|| self.messages.remove(i).seq)
    }

    fn dead_letter(&mut self, group: Option<Arc<str>>, age: i64, receive_count: u32) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        let stamp = self.stamp();
        self.messages.push(Message {
            stamp,
            seq,
            group,
            enqueued_at: self.now - age,
            state: State::InFlight(self.now),
            visible_at: self.now,
            receive_count,
            first_receive_at: Some(self.now - age),
            received_at: self.now - 1,
        });
        seq
    }

    fn retime(&mut self, delay: i64) {
        let mut stamps = self.stamps;
        for m in self.messages.iter_mut().filter(|m| m.receive_count == 0) {
            let visible_at = m.enqueued_at + delay;
            if visible_at != m.visible_at {
                stamps += 1;
                m.stamp = stamps;
                m.visible_at = visible_at;
                m.state = if visible_at > m.enqueued_at {
                    State::Delayed(visible_at)
                } else {
                    State::Visible
                };
            }
        }
        self.stamps = stamps;
        self.settle();
    }

    /// The receive count a handle of this kind carries for the message at `seq`.
    fn handle(&self, seq: u64, handle: Handle) -> Option<u32> {
        let latest = self
            .position(seq)
            .map_or(1, |i| self.messages[i].receive_count.max(1));
        match handle {
            Handle::Any => None,
            Handle::Latest => Some(latest),
            Handle::Other => Some(latest + 1),
            Handle::Older => Some(latest - 1),
        }
    }

    /// A sequence number some message has or had, or the next one (which none has yet).
    fn pick(&self, pick: u64) -> u64 {
        pick % (self.next_seq + 1)
    }
}

fn group_name(fifo: bool, group: u8) -> Option<Arc<str>> {
    fifo.then(|| Arc::from(format!("g{group}")))
}

/// Runs the operations on the index and on the model, comparing what each shows at every step.
fn check(fifo: bool, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut index: QueueMessages<Item> = if fifo {
        QueueMessages::fifo()
    } else {
        QueueMessages::default()
    };
    let mut model = Model::new(fifo);
    for (step, op) in ops.iter().enumerate() {
        model.settle();
        let now = model.now;
        match *op {
            Op::Send {
                group,
                delay,
                deduplication,
            } => {
                let group = group_name(fifo, group);
                let expected = model.send(group.clone(), delay, deduplication);
                let duplicate = deduplication
                    .and_then(|id| index.duplicate_of("", &id.to_string(), now).map(|d| d.seq));
                let actual = match duplicate {
                    Some(seq) => Err(seq),
                    None => {
                        let item = Item {
                            enqueued_at: now,
                            group,
                        };
                        let seq = index.append(vec![(item, now + delay)])[0];
                        if let Some(id) = deduplication {
                            let entry = Deduplicated {
                                seq,
                                message_id: seq.to_string(),
                                expires_at: now + DEDUPLICATION_WINDOW,
                                origin: 0,
                            };
                            index.remember_deduplication("", &id.to_string(), entry);
                        }
                        Ok(seq)
                    }
                };
                prop_assert_eq!(actual, expected, "step {}: {:?}", step, op);
            }
            Op::Receive {
                max,
                visibility,
                max_in_flight,
                max_receive_count,
            } => {
                let expected = model.receive(max, visibility, max_in_flight, max_receive_count);
                let request = ReceiveRequest {
                    now,
                    max_messages: max,
                    visibility_deadline: now + visibility,
                    expire_before: i64::MIN,
                    max_in_flight,
                };
                let outcome = index.receive(&request, max_receive_count);
                let actual = Received {
                    delivered: outcome
                        .messages
                        .iter()
                        .map(|d| (d.seq, d.receive_count, d.first_receive_at))
                        .collect(),
                    dead: outcome
                        .dead
                        .iter()
                        .map(|(seq, _, state)| (*seq, *state))
                        .collect(),
                    next_visible_at: outcome.next_visible_at,
                    in_flight_limit_reached: outcome.in_flight_limit_reached,
                };
                prop_assert_eq!(actual, expected, "step {}: {:?}", step, op);
            }
            Op::ChangeVisibility {
                pick,
                handle,
                timeout,
                max_span,
            } => {
                let seq = model.pick(pick);
                let change = VisibilityChange {
                    seq,
                    receive_count: model.handle(seq, handle).unwrap_or(1),
                    now,
                    deadline: now + timeout,
                    max_span_from_receive: max_span,
                };
                let expected = model.change_visibility(&change);
                prop_assert_eq!(
                    index.change_visibility(&change),
                    expected,
                    "step {}: {:?}",
                    step,
                    op
                );
            }
            Op::Delete { pick, handle } => {
                let seq = model.pick(pick);
                let receive_count = model.handle(seq, handle);
                let expected = model.delete(seq, receive_count);
                let deletion = Deletion {
                    seq,
                    receive_count,
                    now,
                };
                prop_assert_eq!(
                    index.delete_checked(&deletion).0,
                    expected,
                    "step {}: {:?}",
                    step,
                    op
                );
            }
            Op::Purge => {
                let expected = model.messages.len();
                model.messages.clear();
                model.deduplication.clear();
                prop_assert_eq!(index.purge().len(), expected, "step {}", step);
            }
            Op::Advance(millis) => model.now += millis,
            Op::Expire { age } => {
                let expected = model.expire(now - age);
                let actual: Vec<u64> = index
                    .expire(now - age)
                    .into_iter()
                    .map(|(seq, _)| seq)
                    .collect();
                prop_assert_eq!(actual, expected, "step {}: {:?}", step, op);
            }
            Op::Peek { max } => {
                let actual: Vec<u64> = index
                    .peek_visible(max, now)
                    .into_iter()
                    .map(|(seq, _)| seq)
                    .collect();
                prop_assert_eq!(actual, model.peek(max), "step {}: {:?}", step, op);
            }
            Op::TakeVisible { pick } => {
                let seq = model.pick(pick);
                let expected = model.take_visible(seq);
                let actual = index.take_visible(seq, now).map(|_| seq);
                prop_assert_eq!(actual, expected, "step {}: {:?}", step, op);
            }
            Op::Retime { delay } => {
                model.retime(delay);
                index.retime_unreceived(delay, now);
            }
            Op::DeadLetter {
                group,
                age,
                receive_count,
            } => {
                let group = group_name(fifo, group);
                let seq = model.dead_letter(group.clone(), age, receive_count);
                prop_assert_eq!(index.next_seq(), seq, "step {}", step);
                let item = Item {
                    enqueued_at: now - age,
                    group,
                };
                let state = DeliveryState {
                    visible_at: now,
                    receive_count,
                    first_receive_at: Some(now - age),
                    received_at: now - 1,
                };
                index.restore(seq, item, state);
            }
        }
        model.settle();
        prop_assert_eq!(
            index.counts(model.now),
            model.counts(),
            "counts after step {}: {:?}",
            step,
            op
        );
        prop_assert_eq!(
            index.len(),
            model.messages.len(),
            "length after step {}",
            step
        );
    }
    Ok(())
}

fn handle() -> impl Strategy<Value = Handle> {
    prop_oneof![
        1 => Just(Handle::Any),
        3 => Just(Handle::Latest),
        1 => Just(Handle::Other),
        1 => Just(Handle::Older),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let pick = 0u64..40;
    prop_oneof![
        5 => (0u8..3, prop_oneof![2 => Just(0i64), 1 => 1i64..30], proptest::option::weighted(0.3, 0u8..4))
            .prop_map(|(group, delay, deduplication)| Op::Send { group, delay, deduplication }),
        4 => (
            1usize..=10,
            0i64..60,
            prop_oneof![3 => Just(usize::MAX), 1 => 1usize..4],
            proptest::option::weighted(0.25, 1u32..4),
        )
            .prop_map(|(max, visibility, max_in_flight, max_receive_count)| Op::Receive {
                max,
                visibility,
                max_in_flight,
                max_receive_count,
            }),
        3 => (pick.clone(), handle(), prop_oneof![Just(0i64), 0i64..60], prop_oneof![Just(1_000i64), 0i64..60])
            .prop_map(|(pick, handle, timeout, max_span)| Op::ChangeVisibility {
                pick,
                handle,
                timeout,
                max_span,
            }),
        2 => (pick.clone(), handle()).prop_map(|(pick, handle)| Op::Delete { pick, handle }),
        3 => (1i64..40).prop_map(Op::Advance),
        1 => Just(Op::Purge),
        1 => (0i64..100).prop_map(|age| Op::Expire { age }),
        1 => (1usize..=10).prop_map(|max| Op::Peek { max }),
        1 => pick.prop_map(|pick| Op::TakeVisible { pick }),
        1 => (0i64..30).prop_map(|delay| Op::Retime { delay }),
        1 => (0u8..3, 0i64..100, 1u32..4)
            .prop_map(|(group, age, receive_count)| Op::DeadLetter { group, age, receive_count }),
    ]
}

fn operations() -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec(op(), 1..60)
}

/// A step of the durable engine's run: an operation its `Store` interface expresses, or a restart.
#[derive(Clone, Debug)]
enum Step {
    Op(Op),
    Restart,
}

fn temp_dir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "sluice-delivery-index-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn queue_key(fifo: bool) -> QueueKey {
    QueueKey {
        account_id: "000000000000".into(),
        region: "us-east-1".into(),
        name: if fifo { "q.fifo" } else { "q" }.into(),
    }
}

fn new_message(now: i64, delay: i64, group: Option<Arc<str>>, dedup: Option<u8>) -> NewMessage {
    NewMessage {
        content: Arc::new(MessageContent {
            message_id: format!("m{now}"),
            body: "body".into(),
            attributes: Vec::new(),
            system_attributes: Vec::new(),
            md5_of_body: "md5".into(),
            md5_of_attributes: None,
            sender_id: "sender".into(),
            sent_at: now,
            enqueued_at: now,
            group_id: group,
            deduplication_id: dedup.map(|id| id.to_string()),
            dead_letter_move: None,
        }),
        visible_at: now + delay,
        deduplication: dedup.map(|id| DeduplicationKey {
            scope: String::new(),
            id: id.to_string(),
            window_millis: DEDUPLICATION_WINDOW,
        }),
    }
}

/// Runs the steps on a durable store and on the model, comparing what each shows at every step; a
/// restart closes the store and opens it again from its files.
fn check_durable(fifo: bool, steps: &[Step]) -> Result<(), TestCaseError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let dir = temp_dir();
    let open = || DurableStore::open(&dir).map_err(|e| TestCaseError::fail(e.to_string()));
    let key = queue_key(fifo);
    let mut store = open()?;
    let record = QueueRecord {
        key: key.clone(),
        attributes: BTreeMap::new(),
        tags: BTreeMap::new(),
        created_timestamp: 1,
        last_modified_timestamp: 1,
        last_purge_millis: None,
        fifo,
        incarnation: 7,
        version: 0,
    };
    let fail = |e: sluice_store::StoreError| TestCaseError::fail(e.to_string());
    runtime.block_on(store.create_queue(record)).map_err(fail)?;
    let mut model = Model::new(fifo);
    for (step, entry) in steps.iter().enumerate() {
        model.settle();
        let now = model.now;
        let op = match entry {
            Step::Restart => {
                drop(store);
                store = open()?;
                continue;
            }
            Step::Op(op) => op,
        };
        match *op {
            Op::Send {
                group,
                delay,
                deduplication,
            } => {
                let group = group_name(fifo, group);
                let expected = model.send(group.clone(), delay, deduplication);
                let message = new_message(now, delay, group, deduplication);
                let sent = runtime
                    .block_on(store.send_messages(&key, vec![message], now))
                    .map_err(fail)?;
                let actual = match sent.first() {
                    Some(SendOutcome::Appended(seq)) => Ok(*seq),
                    Some(SendOutcome::Duplicate { seq, .. }) => Err(*seq),
                    None => return Err(TestCaseError::fail("no outcome")),
                };
                prop_assert_eq!(actual, expected, "step {}: {:?}", step, op);
            }
            Op::Receive {
                max,
                visibility,
                max_in_flight,
                ..
            } => {
                let expected = model.receive(max, visibility, max_in_flight, None);
                let request = ReceiveRequest {
                    now,
                    max_messages: max,
                    visibility_deadline: now + visibility,
                    expire_before: i64::MIN,
                    max_in_flight,
                };
                let outcome = runtime
                    .block_on(store.receive_messages(&key, request, None))
                    .map_err(fail)?;
                let actual = Received {
                    delivered: outcome
                        .messages
                        .iter()
                        .map(|m| (m.seq, m.receive_count, m.first_receive_at))
                        .collect(),
                    dead: Vec::new(),
                    next_visible_at: outcome.next_visible_at,
                    in_flight_limit_reached: outcome.in_flight_limit_reached,
                };
                prop_assert_eq!(actual, expected, "step {}: {:?}", step, op);
            }
            Op::ChangeVisibility {
                pick,
                handle,
                timeout,
                max_span,
            } => {
                let seq = model.pick(pick);
                let change = VisibilityChange {
                    seq,
                    receive_count: model.handle(seq, handle).unwrap_or(1),
                    now,
                    deadline: now + timeout,
                    max_span_from_receive: max_span,
                };
                let expected = model.change_visibility(&change);
                let actual = runtime
                    .block_on(store.change_visibility(&key, &[change]))
                    .map_err(fail)?;
                prop_assert_eq!(actual, vec![expected], "step {}: {:?}", step, op);
            }
            Op::Delete { pick, handle } => {
                let seq = model.pick(pick);
                let receive_count = model.handle(seq, handle);
                let expected = model.delete(seq, receive_count);
                let deletion = Deletion {
                    seq,
                    receive_count,
                    now,
                };
                let actual = runtime
                    .block_on(store.delete_messages(&key, &[deletion]))
                    .map_err(fail)?;
                prop_assert_eq!(actual, vec![expected], "step {}: {:?}", step, op);
            }
            Op::Purge => {
                let expected = model.messages.len() as u64;
                model.messages.clear();
                model.deduplication.clear();
                let actual = runtime.block_on(store.purge_messages(&key)).map_err(fail)?;
                prop_assert_eq!(actual, expected, "step {}", step);
            }
            Op::Advance(millis) => model.now += millis,
            Op::Expire { age } => {
                model.expire(now - age);
                runtime
                    .block_on(store.message_counts(&key, now, now - age))
                    .map_err(fail)?;
            }
            Op::Peek { max } => {
                let actual: Vec<u64> = runtime
                    .block_on(store.peek_visible(&key, max, now))
                    .map_err(fail)?
                    .into_iter()
                    .map(|(seq, _)| seq)
                    .collect();
                prop_assert_eq!(actual, model.peek(max), "step {}: {:?}", step, op);
            }
            Op::Retime { delay } if fifo => {
                model.retime(delay);
                runtime
                    .block_on(store.retime_unreceived(&key, delay, now))
                    .map_err(fail)?;
            }
            // Moves in and out of the queue are another store call's business.
            Op::Retime { .. } | Op::TakeVisible { .. } | Op::DeadLetter { .. } => {}
        }
        model.settle();
        let counts = runtime
            .block_on(store.message_counts(&key, model.now, i64::MIN))
            .map_err(fail)?;
        prop_assert_eq!(
            counts,
            model.counts(),
            "counts after step {}: {:?}",
            step,
            op
        );
    }
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let step = prop_oneof![
        12 => op().prop_map(Step::Op),
        1 => Just(Step::Restart),
    ];
    proptest::collection::vec(step, 1..50)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn a_standard_queue_index_behaves_as_the_model(ops in operations()) {
        check(false, &ops)?;
    }

    #[test]
    fn a_fifo_queue_index_behaves_as_the_model(ops in operations()) {
        check(true, &ops)?;
    }
}

proptest! {
    // Every step is an fsync: fewer cases, each as long.
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn a_fifo_queue_in_the_durable_engine_behaves_as_the_model_across_restarts(steps in steps()) {
        check_durable(true, &steps)?;
    }

    #[test]
    fn a_standard_queue_in_the_durable_engine_behaves_as_the_model_across_restarts(steps in steps()) {
        check_durable(false, &steps)?;
    }
}

#[test]
fn expiry_reaches_a_message_enqueued_before_those_ahead_of_it() {
    let mut index: QueueMessages<Item> = QueueMessages::default();
    let item = |enqueued_at| Item {
        enqueued_at,
        group: None,
    };
    index.append(vec![(item(100), 100)]);
    // A dead letter first sent at 10, put behind a message sent at 100.
    let moved = DeliveryState {
        visible_at: 100,
        receive_count: 1,
        first_receive_at: Some(50),
        received_at: 50,
    };
    index.restore(index.next_seq(), item(10), moved);
    index.append(vec![(item(10), 100)]);
    let expired: Vec<u64> = index.expire(50).into_iter().map(|(seq, _)| seq).collect();
    assert_eq!(expired, [1, 2]);
    assert_eq!(index.len(), 1);
    assert_eq!(index.expire(101).len(), 1);
    assert!(index.is_empty());
}
