//! The delivery state of one queue's messages, kept in memory: which are visible, which are delayed or in
//! flight and until when, in queue order. Every operation is a few ordered-map steps, so a receive costs
//! O(log n) per message however long the backlog.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::ops::Bound;
use std::sync::Arc;

use crate::message::{
    DeadLetterMove, DeleteOutcome, Deletion, MessageCounts, QueueGauges, ReceiveRequest,
    VisibilityChange, VisibilityOutcome, OLDEST_AGE_RECEIVE_LIMIT,
};

/// What a backend keeps for a message's content: the content itself, or where to find it.
pub trait Payload: Clone {
    /// When the message entered the queue, which retention counts from.
    fn enqueued_at(&self) -> i64;

    /// The message group, which orders delivery on FIFO queues.
    fn group(&self) -> Option<&Arc<str>>;

    /// The message's move to this queue as a dead letter, if it came by one.
    fn dead_letter_move(&self) -> Option<DeadLetterMove> {
        None
    }
}

/// What a deduplication entry remembers of the message that made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deduplicated {
    pub seq: u64,
    pub message_id: String,
    pub expires_at: i64,
    /// Where the backend recorded the entry (the durable engine's journal segment), so it can be kept
    /// when that record's space is reclaimed.
    pub origin: u64,
}

/// Deduplication ids seen within their window, by (scope, id): the scope is empty for queue-wide
/// deduplication and the message group for per-group deduplication.
/// (scope, deduplication id).
type DeduplicationScopeAndId = (Arc<str>, Arc<str>);

#[derive(Debug, Default)]
struct Deduplication {
    entries: HashMap<DeduplicationScopeAndId, Deduplicated>,
    /// Keys in the order they expire (windows are all the same length, so insertion order).
    order: VecDeque<(i64, DeduplicationScopeAndId)>,
}

/// FIFO delivery state: each message group's members in order, and the groups whose oldest message is
/// visible now. Such a group hands out its visible messages from the oldest on, up to the first one that
/// is not visible, whatever is in flight behind them.
#[derive(Debug, Default)]
struct Lanes {
    groups: HashMap<Arc<str>, Lane>,
    /// Ready groups by when their oldest message became visible (`ReadyKey`), so groups take turns in
    /// the order they became ready and receives cost nothing for groups that are idle or blocked.
    ready: BTreeMap<ReadyKey, Arc<str>>,
}

/// When a message became visible: the instant, then the order in which the queue set that instant
/// (`Slot::stamp`), so that a group served at the same millisecond as another became ready still goes
/// behind it.
type ReadyKey = (i64, u64);

#[derive(Debug, Default)]
struct Lane {
    members: BTreeSet<u64>,
    /// The key under which the group is in `ready`, if it is.
    ready_at: Option<ReadyKey>,
}

/// A message handed out by `receive`, with the payload the backend turns into content.
#[derive(Clone, Debug)]
pub struct Delivered<P> {
    pub seq: u64,
    pub payload: P,
    pub receive_count: u32,
    pub first_receive_at: i64,
}

#[derive(Clone, Debug)]
pub struct Deliveries<P> {
    pub messages: Vec<Delivered<P>>,
    /// Messages received too often, taken out of the queue instead of handed out, with their state.
    pub dead: Vec<(u64, P, DeliveryState)>,
    pub next_visible_at: Option<i64>,
    pub in_flight_limit_reached: bool,
}

/// A message's delivery state, as recovery restores it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeliveryState {
    pub visible_at: i64,
    pub receive_count: u32,
    pub first_receive_at: Option<i64>,
    pub received_at: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Delivery {
    Visible,
    /// Not yet visible and never received.
    Delayed,
    /// Received and hidden until its deadline.
    InFlight,
}

#[derive(Debug)]
struct Slot<P> {
    payload: P,
    delivery: Delivery,
    /// For delayed and in-flight messages, when they become visible.
    visible_at: i64,
    receive_count: u32,
    first_receive_at: Option<i64>,
    /// When the latest receive handed the message out.
    received_at: i64,
    /// The queue's count of `visible_at` assignments when this one's was last set: among messages that
    /// become visible at the same instant, the one whose time was set first is first.
    stamp: u64,
}

#[derive(Debug)]
pub struct QueueMessages<P> {
    next_seq: u64,
    /// The last `Slot::stamp` given out.
    stamps: u64,
    /// Every message by sequence number, which is send order.
    slots: BTreeMap<u64, Slot<P>>,
    /// Visible messages, in queue order.
    visible: BTreeSet<u64>,
    /// Delayed and in-flight messages by the time they become visible.
    timers: BTreeSet<(i64, u64)>,
    in_flight: u64,
    delayed: u64,
    /// Present on FIFO queues, whose delivery follows message groups.
    lanes: Option<Lanes>,
    deduplication: Deduplication,
    /// Every message by (enqueue time, sequence number), kept only once a message has come in out of
    /// enqueue-time order (a standard dead-letter queue takes messages with the time they were first
    /// sent). Until then queue order is enqueue order, and expiry finds the old messages at the front.
    by_enqueue: Option<BTreeSet<(i64, u64)>>,
}

impl<P> Default for QueueMessages<P> {
    fn default() -> Self {
        QueueMessages {
            next_seq: 0,
            stamps: 0,
            slots: BTreeMap::new(),
            visible: BTreeSet::new(),
            timers: BTreeSet::new(),
            in_flight: 0,
            delayed: 0,
            lanes: None,
            deduplication: Deduplication::default(),
            by_enqueue: None,
        }
    }
}

impl<P> QueueMessages<P> {
    /// The messages of a FIFO queue: delivered in order within each message group.
    pub fn fifo() -> Self {
        QueueMessages {
            lanes: Some(Lanes::default()),
            ..Self::default()
        }
    }

    pub fn is_fifo(&self) -> bool {
        self.lanes.is_some()
    }
}

impl<P: Payload> QueueMessages<P> {
    /// Appends messages, each with the instant it first becomes visible; returns their sequence numbers.
    pub fn append(&mut self, messages: Vec<(P, i64)>) -> Vec<u64> {
        let mut seqs = Vec::with_capacity(messages.len());
        for (payload, visible_at) in messages {
            let seq = self.next_seq;
            let state = DeliveryState {
                visible_at,
                receive_count: 0,
                first_receive_at: None,
                received_at: 0,
            };
            self.restore(seq, payload, state);
            seqs.push(seq);
        }
        seqs
    }

    /// Puts a message back at `seq` with the given state, as recovery found it. A message never received
    /// whose time has not come is delayed; one received is in flight until `visible_at`.
    pub fn restore(&mut self, seq: u64, payload: P, state: DeliveryState) {
        self.remove(seq);
        self.next_seq = self.next_seq.max(seq + 1);
        self.index_enqueue_time(seq, payload.enqueued_at());
        let waiting = if state.receive_count == 0 {
            (state.visible_at > payload.enqueued_at()).then_some(Delivery::Delayed)
        } else {
            Some(Delivery::InFlight)
        };
        let delivery = waiting.unwrap_or(Delivery::Visible);
        match delivery {
            Delivery::Delayed => {
                self.timers.insert((state.visible_at, seq));
                self.delayed += 1;
            }
            Delivery::InFlight => {
                self.timers.insert((state.visible_at, seq));
                self.in_flight += 1;
            }
            Delivery::Visible => {
                self.visible.insert(seq);
            }
        }
        let group = payload.group().cloned();
        let stamp = self.next_stamp();
        self.slots.insert(
            seq,
            Slot {
                payload,
                delivery,
                visible_at: state.visible_at,
                receive_count: state.receive_count,
                first_receive_at: state.first_receive_at,
                received_at: state.received_at,
                stamp,
            },
        );
        if let (Some(lanes), Some(group)) = (self.lanes.as_mut(), group) {
            lanes
                .groups
                .entry(group.clone())
                .or_default()
                .members
                .insert(seq);
            refresh(lanes, &self.slots, &group);
        }
    }

    fn next_stamp(&mut self) -> u64 {
        self.stamps += 1;
        self.stamps
    }

    /// Notes a message's enqueue time where expiry needs it: nowhere while the message keeps queue order
    /// and enqueue order the same (as its neighbours show), in `by_enqueue` from the first one that
    /// does not.
    fn index_enqueue_time(&mut self, seq: u64, enqueued_at: i64) {
        if self.by_enqueue.is_none() {
            // Most messages go at the end, where the last one is the only neighbour.
            let (earlier, later) = match self.slots.last_key_value() {
                Some((&last, slot)) if last < seq => (Some(slot), None),
                _ => (
                    self.slots.range(..seq).next_back().map(|(_, slot)| slot),
                    self.slots
                        .range((Bound::Excluded(seq), Bound::Unbounded))
                        .next()
                        .map(|(_, slot)| slot),
                ),
            };
            let in_order = earlier.is_none_or(|slot| slot.payload.enqueued_at() <= enqueued_at)
                && later.is_none_or(|slot| slot.payload.enqueued_at() >= enqueued_at);
            if in_order {
                return;
            }
            self.by_enqueue = Some(
                self.slots
                    .iter()
                    .map(|(seq, slot)| (slot.payload.enqueued_at(), *seq))
                    .collect(),
            );
        }
        if let Some(index) = self.by_enqueue.as_mut() {
            index.insert((enqueued_at, seq));
        }
    }

    /// A message's payload and delivery state.
    pub fn get(&self, seq: u64) -> Option<(&P, DeliveryState)> {
        self.slots.get(&seq).map(|slot| {
            (
                &slot.payload,
                DeliveryState {
                    visible_at: slot.visible_at,
                    receive_count: slot.receive_count,
                    first_receive_at: slot.first_receive_at,
                    received_at: slot.received_at,
                },
            )
        })
    }

    pub fn payload_mut(&mut self, seq: u64) -> Option<&mut P> {
        self.slots.get_mut(&seq).map(|slot| &mut slot.payload)
    }

    /// Every message's sequence number and payload, in queue order.
    pub fn payloads(&self) -> impl Iterator<Item = (u64, &P)> {
        self.slots.iter().map(|(seq, slot)| (*seq, &slot.payload))
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Makes every delayed or in-flight message whose time has come visible.
    fn promote_due(&mut self, now: i64) {
        while let Some(&(at, seq)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            let Some(slot) = self.slots.get_mut(&seq) else {
                continue;
            };
            match slot.delivery {
                Delivery::Delayed => self.delayed -= 1,
                Delivery::InFlight => self.in_flight -= 1,
                Delivery::Visible => {}
            }
            slot.delivery = Delivery::Visible;
            self.visible.insert(seq);
            let group = slot.payload.group().cloned();
            if let (Some(lanes), Some(group)) = (self.lanes.as_mut(), group) {
                refresh(lanes, &self.slots, &group);
            }
        }
    }

    /// Removes messages enqueued before `expire_before`, returning them in queue order.
    pub fn expire(&mut self, expire_before: i64) -> Vec<(u64, P)> {
        let mut removed = Vec::new();
        if self.by_enqueue.is_some() {
            while let Some(&(at, seq)) = self.by_enqueue.as_ref().and_then(BTreeSet::first) {
                if at >= expire_before {
                    break;
                }
                // `remove` takes the entry out of the index as well.
                if let Some(payload) = self.remove(seq) {
                    removed.push((seq, payload));
                } else if let Some(index) = self.by_enqueue.as_mut() {
                    index.remove(&(at, seq));
                }
            }
            removed.sort_unstable_by_key(|(seq, _)| *seq);
            return removed;
        }
        while let Some((&seq, slot)) = self.slots.first_key_value() {
            if slot.payload.enqueued_at() >= expire_before {
                break;
            }
            if let Some(payload) = self.remove(seq) {
                removed.push((seq, payload));
            }
        }
        removed
    }

    fn remove(&mut self, seq: u64) -> Option<P> {
        let slot = self.slots.remove(&seq)?;
        if let Some(index) = self.by_enqueue.as_mut() {
            index.remove(&(slot.payload.enqueued_at(), seq));
        }
        if let (Some(lanes), Some(group)) = (self.lanes.as_mut(), slot.payload.group()) {
            if let Some(lane) = lanes.groups.get_mut(group) {
                lane.members.remove(&seq);
            }
            refresh(lanes, &self.slots, group);
        }
        match slot.delivery {
            Delivery::Visible => {
                self.visible.remove(&seq);
            }
            Delivery::Delayed => {
                self.timers.remove(&(slot.visible_at, seq));
                self.delayed -= 1;
            }
            Delivery::InFlight => {
                self.timers.remove(&(slot.visible_at, seq));
                self.in_flight -= 1;
            }
        }
        Some(slot.payload)
    }

    /// Hands out visible messages; the caller removes expired ones first (`expire`), so that it can
    /// record their removal. With `max_receive_count`, a message already received that often is taken
    /// out (into `dead`) instead of handed out again.
    pub fn receive(
        &mut self,
        request: &ReceiveRequest,
        max_receive_count: Option<u32>,
    ) -> Deliveries<P> {
        self.promote_due(request.now);
        let mut outcome = Deliveries {
            messages: Vec::new(),
            dead: Vec::new(),
            next_visible_at: None,
            in_flight_limit_reached: false,
        };
        let mut served: Option<Arc<str>> = None;
        while outcome.messages.len() < request.max_messages {
            if self.in_flight as usize >= request.max_in_flight {
                outcome.in_flight_limit_reached = outcome.messages.is_empty();
                break;
            }
            let batch = match self.lanes.as_mut() {
                None => match self.visible.first() {
                    Some(&seq) => vec![seq],
                    None => break,
                },
                // The group that has been ready longest gives its visible messages from the oldest on,
                // as many as the receive takes, up to the first one that is not visible.
                Some(lanes) => {
                    let Some((_, group)) = lanes.ready.pop_first() else {
                        break;
                    };
                    let Some(lane) = lanes.groups.get_mut(&group) else {
                        continue;
                    };
                    lane.ready_at = None;
                    let room = request.max_messages - outcome.messages.len();
                    let slots = &self.slots;
                    let batch: Vec<u64> = lane
                        .members
                        .iter()
                        .take(room)
                        .copied()
                        .take_while(|seq| {
                            slots
                                .get(seq)
                                .is_some_and(|s| s.delivery == Delivery::Visible)
                        })
                        .collect();
                    served = Some(group);
                    batch
                }
            };
            for seq in batch {
                let exhausted = max_receive_count.is_some_and(|max| {
                    self.slots
                        .get(&seq)
                        .is_some_and(|slot| slot.receive_count >= max)
                });
                if exhausted {
                    if let Some((payload, state)) = self.get(seq).map(|(p, s)| (p.clone(), s)) {
                        self.remove(seq);
                        outcome.dead.push((seq, payload, state));
                    }
                    continue;
                }
                if let Some(delivered) = self.hand_out(seq, request) {
                    outcome.messages.push(delivered);
                }
            }
            // A group whose first messages went to the dead-letter queue is ready again if its next
            // message is visible.
            if let (Some(lanes), Some(group)) = (self.lanes.as_mut(), served.take()) {
                refresh(lanes, &self.slots, &group);
            }
        }
        outcome.next_visible_at = self.timers.first().map(|&(at, _)| at);
        outcome
    }

    /// Makes one visible message in flight until the receive's deadline.
    fn hand_out(&mut self, seq: u64, request: &ReceiveRequest) -> Option<Delivered<P>> {
        let slot = self.slots.get_mut(&seq)?;
        self.visible.remove(&seq);
        slot.delivery = Delivery::InFlight;
        slot.visible_at = request.visibility_deadline;
        slot.receive_count = slot.receive_count.saturating_add(1);
        slot.received_at = request.now;
        self.stamps += 1;
        slot.stamp = self.stamps;
        let first = *slot.first_receive_at.get_or_insert(request.now);
        self.timers.insert((slot.visible_at, seq));
        self.in_flight += 1;
        Some(Delivered {
            seq,
            payload: slot.payload.clone(),
            receive_count: slot.receive_count,
            first_receive_at: first,
        })
    }

    /// Up to `max` visible messages in queue order, left as they are.
    pub fn peek_visible(&mut self, max: usize, now: i64) -> Vec<(u64, P)> {
        self.promote_due(now);
        let slots = &self.slots;
        self.visible
            .iter()
            .take(max)
            .filter_map(|seq| slots.get(seq).map(|slot| (*seq, slot.payload.clone())))
            .collect()
    }

    /// Removes a message only if it is visible (neither delayed nor in flight).
    pub fn take_visible(&mut self, seq: u64, now: i64) -> Option<P> {
        self.promote_due(now);
        match self.slots.get(&seq) {
            Some(slot) if slot.delivery == Delivery::Visible => self.remove(seq),
            _ => None,
        }
    }

    /// Removes a message whatever its state, returning its payload if it was there.
    pub fn delete(&mut self, seq: u64) -> Option<P> {
        self.remove(seq)
    }

    /// Removes a message as a deletion asks: any handle of it works, unless the deletion names the
    /// receive it must come from, which then has to be the one in flight.
    pub fn delete_checked(&mut self, deletion: &Deletion) -> (DeleteOutcome, Option<P>) {
        if let Some(receive_count) = deletion.receive_count {
            self.promote_due(deletion.now);
            let current = self.slots.get(&deletion.seq).map(|slot| {
                slot.receive_count == receive_count && slot.delivery == Delivery::InFlight
            });
            match current {
                None => return (DeleteOutcome::Gone, None),
                Some(false) => return (DeleteOutcome::Expired, None),
                Some(true) => {}
            }
        }
        match self.remove(deletion.seq) {
            Some(payload) => (DeleteOutcome::Deleted, Some(payload)),
            None => (DeleteOutcome::Gone, None),
        }
    }

    pub fn change_visibility(&mut self, change: &VisibilityChange) -> VisibilityOutcome {
        self.promote_due(change.now);
        let Some(slot) = self.slots.get_mut(&change.seq) else {
            return VisibilityOutcome::Gone;
        };
        // On a standard queue an older handle still works while the message is in flight under a newer
        // receive, as in SQS; a FIFO queue takes only the receive in flight, as for deletes. A message
        // never received has no receipt handle at all, so nothing can name it.
        let older_in_flight = self.lanes.is_none()
            && change.receive_count < slot.receive_count
            && slot.delivery == Delivery::InFlight;
        if slot.receive_count == 0
            || (slot.receive_count != change.receive_count && !older_in_flight)
        {
            return VisibilityOutcome::Stale;
        }
        if change.deadline
            > slot
                .received_at
                .saturating_add(change.max_span_from_receive)
        {
            return VisibilityOutcome::BeyondLimit;
        }
        let hide = change.deadline > change.now;
        match (slot.delivery, hide) {
            (Delivery::InFlight, true) => {
                self.timers.remove(&(slot.visible_at, change.seq));
                self.timers.insert((change.deadline, change.seq));
            }
            (Delivery::InFlight, false) => {
                self.timers.remove(&(slot.visible_at, change.seq));
                self.in_flight -= 1;
                self.visible.insert(change.seq);
                slot.delivery = Delivery::Visible;
            }
            (Delivery::Visible, true) => {
                self.visible.remove(&change.seq);
                self.timers.insert((change.deadline, change.seq));
                self.in_flight += 1;
                slot.delivery = Delivery::InFlight;
            }
            // Already visible and asked to be visible; a delayed message has no receipt handle.
            (Delivery::Visible, false) | (Delivery::Delayed, _) => {}
        }
        slot.visible_at = change.deadline;
        self.stamps += 1;
        slot.stamp = self.stamps;
        let group = slot.payload.group().cloned();
        if let (Some(lanes), Some(group)) = (self.lanes.as_mut(), group) {
            refresh(lanes, &self.slots, &group);
        }
        VisibilityOutcome::Changed
    }

    /// Removes every message, returning their payloads, and forgets every deduplication id: after a
    /// purge a message with an id seen before is accepted again.
    pub fn purge(&mut self) -> Vec<P> {
        self.deduplication = Deduplication::default();
        let slots = std::mem::take(&mut self.slots);
        if let Some(lanes) = self.lanes.as_mut() {
            *lanes = Lanes::default();
        }
        self.visible.clear();
        self.timers.clear();
        self.in_flight = 0;
        self.delayed = 0;
        self.by_enqueue = None;
        slots.into_values().map(|slot| slot.payload).collect()
    }

    /// The sequence number the next appended message gets.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Makes sure no message is ever given a sequence number below `floor` (one an earlier message had).
    pub fn raise_next_seq(&mut self, floor: u64) {
        self.next_seq = self.next_seq.max(floor);
    }

    /// Counts after making due messages visible; the caller expires old messages first.
    pub fn counts(&mut self, now: i64) -> MessageCounts {
        self.promote_due(now);
        MessageCounts {
            visible: self.visible.len() as u64,
            in_flight: self.in_flight,
            delayed: self.delayed,
        }
    }

    /// The gauges after making due messages visible; the caller expires old messages first. Messages
    /// join a queue (sent, or moved to it as dead letters) in sequence order, so the first one counted
    /// from the front is the oldest; a standard queue leaves out those received three times or more
    /// since they joined.
    pub fn gauges(&mut self, now: i64) -> QueueGauges {
        let counts = self.counts(now);
        let fifo = self.lanes.is_some();
        let oldest_arrived_at = self
            .slots
            .values()
            .find(|slot| {
                let moved = slot.payload.dead_letter_move();
                let receives_here = slot
                    .receive_count
                    .saturating_sub(moved.map_or(0, |m| m.receive_count));
                fifo || receives_here < OLDEST_AGE_RECEIVE_LIMIT
            })
            .map(|slot| {
                let moved = slot.payload.dead_letter_move();
                moved.map_or(slot.payload.enqueued_at(), |m| m.at)
            });
        // A group's messages in flight are among those received, which are the front of the group.
        let groups_in_flight = self.lanes.as_ref().map_or(0, |lanes| {
            lanes
                .groups
                .values()
                .filter(|lane| {
                    lane.members
                        .iter()
                        .map_while(|seq| self.slots.get(seq).filter(|s| s.receive_count > 0))
                        .any(|slot| slot.delivery == Delivery::InFlight)
                })
                .count() as u64
        });
        QueueGauges {
            counts,
            oldest_arrived_at,
            groups_in_flight,
        }
    }
}

impl<P: Payload> QueueMessages<P> {
    /// The message a deduplication id already names, if its window is still open at `now`.
    pub fn duplicate_of(&mut self, scope: &str, id: &str, now: i64) -> Option<Deduplicated> {
        let dedup = &mut self.deduplication;
        while let Some((expires_at, key)) = dedup.order.front() {
            if *expires_at > now {
                break;
            }
            if dedup.entries.get(key).is_some_and(|e| e.expires_at <= now) {
                dedup.entries.remove(key);
            }
            dedup.order.pop_front();
        }
        let key: DeduplicationScopeAndId = (scope.into(), id.into());
        dedup
            .entries
            .get(&key)
            .filter(|e| e.expires_at > now)
            .cloned()
    }

    /// Remembers a deduplication id until `entry.expires_at`.
    pub fn remember_deduplication(&mut self, scope: &str, id: &str, entry: Deduplicated) {
        let key: DeduplicationScopeAndId = (scope.into(), id.into());
        self.deduplication
            .order
            .push_back((entry.expires_at, key.clone()));
        self.deduplication.entries.insert(key, entry);
    }

    /// Every deduplication entry still remembered: `(scope, id, entry)`.
    pub fn deduplications_mut(&mut self) -> impl Iterator<Item = (&str, &str, &mut Deduplicated)> {
        self.deduplication
            .entries
            .iter_mut()
            .map(|((scope, id), e)| (&**scope, &**id, e))
    }

    /// Turns on FIFO delivery for messages already present (recovery learns a queue's type only once it
    /// has read the queue's record, which may come after its messages).
    pub fn make_fifo(&mut self) {
        let mut lanes = Lanes::default();
        for (seq, slot) in &self.slots {
            if let Some(group) = slot.payload.group() {
                lanes
                    .groups
                    .entry(group.clone())
                    .or_default()
                    .members
                    .insert(*seq);
            }
        }
        let groups: Vec<Arc<str>> = lanes.groups.keys().cloned().collect();
        for group in groups {
            refresh(&mut lanes, &self.slots, &group);
        }
        self.lanes = Some(lanes);
    }

    /// Sets when every never-received message becomes visible to its send time plus `delay`: on FIFO
    /// queues the queue's delay applies to messages already waiting.
    pub fn retime_unreceived(&mut self, delay: i64, now: i64) {
        let waiting: Vec<u64> = self
            .slots
            .iter()
            .filter(|(_, slot)| slot.receive_count == 0)
            .map(|(seq, _)| *seq)
            .collect();
        for seq in waiting {
            let Some((payload, state)) = self.get(seq) else {
                continue;
            };
            let payload = payload.clone();
            let visible_at = payload.enqueued_at().saturating_add(delay);
            if visible_at != state.visible_at {
                self.restore(
                    seq,
                    payload,
                    DeliveryState {
                        visible_at,
                        ..state
                    },
                );
            }
        }
        self.promote_due(now);
    }
}

/// Puts a group in `ready` exactly when its oldest message is visible, keyed by when that message became
/// visible; forgets a group with no messages left.
fn refresh<P>(lanes: &mut Lanes, slots: &BTreeMap<u64, Slot<P>>, group: &Arc<str>) {
    let Some(lane) = lanes.groups.get_mut(group) else {
        return;
    };
    let head = lane.members.first().and_then(|seq| slots.get(seq));
    let key = head
        .filter(|slot| slot.delivery == Delivery::Visible)
        .map(|slot| (slot.visible_at, slot.stamp));
    if lane.ready_at == key && head.is_some() {
        return;
    }
    if let Some(old) = lane.ready_at.take() {
        lanes.ready.remove(&old);
    }
    if head.is_none() {
        lanes.groups.remove(group);
        return;
    }
    if let Some(key) = key {
        lanes.ready.insert(key, group.clone());
        lane.ready_at = Some(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug)]
    struct Named(&'static str, i64);

    impl Payload for Named {
        fn enqueued_at(&self) -> i64 {
            self.1
        }

        fn group(&self) -> Option<&Arc<str>> {
            None
        }
    }

    fn message(id: &'static str, sent_at: i64, visible_at: i64) -> (Named, i64) {
        (Named(id, sent_at), visible_at)
    }

    fn receive(
        q: &mut QueueMessages<Named>,
        now: i64,
        max: usize,
        deadline: i64,
    ) -> Vec<&'static str> {
        let request = ReceiveRequest {
            now,
            max_messages: max,
            visibility_deadline: deadline,
            expire_before: i64::MIN,
            max_in_flight: 100,
        };
        q.receive(&request, None)
            .messages
            .iter()
            .map(|m| m.payload.0)
            .collect()
    }

    #[test]
    fn delivers_in_order_and_hides_until_the_deadline() {
        let mut q = QueueMessages::<Named>::default();
        q.append(vec![
            message("a", 0, 0),
            message("b", 0, 0),
            message("c", 0, 0),
        ]);
        assert_eq!(receive(&mut q, 0, 2, 30), ["a", "b"]);
        assert_eq!(
            q.counts(0),
            MessageCounts {
                visible: 1,
                in_flight: 2,
                delayed: 0
            }
        );
        assert_eq!(receive(&mut q, 29, 10, 60), ["c"]);
        assert_eq!(receive(&mut q, 30, 10, 60), ["a", "b"]);
    }

    #[test]
    fn delayed_messages_wait_and_count_as_delayed() {
        let mut q = QueueMessages::<Named>::default();
        q.append(vec![message("late", 0, 10)]);
        assert_eq!(
            q.counts(5),
            MessageCounts {
                visible: 0,
                in_flight: 0,
                delayed: 1
            }
        );
        assert!(receive(&mut q, 5, 10, 100).is_empty());
        assert_eq!(receive(&mut q, 10, 10, 100), ["late"]);
    }

    #[test]
    fn expiry_removes_old_messages_from_every_state() {
        let mut q = QueueMessages::<Named>::default();
        q.append(vec![
            message("old", 0, 0),
            message("old-delayed", 1, 500),
            message("new", 100, 100),
        ]);
        receive(&mut q, 0, 1, 1000);
        assert_eq!(
            q.expire(50).iter().map(|(seq, _)| *seq).collect::<Vec<_>>(),
            [0, 1]
        );
        assert_eq!(
            q.counts(100),
            MessageCounts {
                visible: 1,
                in_flight: 0,
                delayed: 0
            }
        );
        assert_eq!(q.slots.len(), 1);
    }

    #[test]
    fn visibility_changes_need_the_latest_receive_and_respect_the_limit() {
        let mut q = QueueMessages::<Named>::default();
        let seq = q.append(vec![message("a", 0, 0)])[0];
        receive(&mut q, 0, 1, 30);
        let change = |receive_count, now, deadline| VisibilityChange {
            seq,
            receive_count,
            now,
            deadline,
            max_span_from_receive: 100,
        };
        assert_eq!(
            q.change_visibility(&change(1, 10, 101)),
            VisibilityOutcome::BeyondLimit
        );
        assert_eq!(
            q.change_visibility(&change(1, 10, 50)),
            VisibilityOutcome::Changed
        );
        assert_eq!(
            q.change_visibility(&change(2, 10, 50)),
            VisibilityOutcome::Stale
        );
        assert_eq!(
            q.change_visibility(&change(1, 10, 10)),
            VisibilityOutcome::Changed
        );
        assert_eq!(
            q.counts(10),
            MessageCounts {
                visible: 1,
                in_flight: 0,
                delayed: 0
            }
        );
        // Visible again but not received since: the same handle hides it again.
        assert_eq!(
            q.change_visibility(&change(1, 20, 60)),
            VisibilityOutcome::Changed
        );
        assert_eq!(
            q.counts(20),
            MessageCounts {
                visible: 0,
                in_flight: 1,
                delayed: 0
            }
        );
        // The limit counts from the receive, not from the last change.
        receive(&mut q, 60, 1, 90);
        assert_eq!(
            q.change_visibility(&change(2, 70, 160)),
            VisibilityOutcome::Changed
        );
        assert_eq!(
            q.change_visibility(&change(2, 70, 161)),
            VisibilityOutcome::BeyondLimit
        );
        assert!(q.delete(seq).is_some());
        assert_eq!(
            q.change_visibility(&change(2, 70, 80)),
            VisibilityOutcome::Gone
        );
        assert_eq!(q.counts(70), MessageCounts::default());
    }

    #[test]
    fn the_in_flight_limit_stops_receives() {
        let mut q = QueueMessages::<Named>::default();
        q.append(vec![message("a", 0, 0), message("b", 0, 0)]);
        let request = ReceiveRequest {
            now: 0,
            max_messages: 10,
            visibility_deadline: 30,
            expire_before: i64::MIN,
            max_in_flight: 1,
        };
        assert_eq!(q.receive(&request, None).messages.len(), 1);
        let second = q.receive(&request, None);
        assert!(second.messages.is_empty() && second.in_flight_limit_reached);
        assert_eq!(second.next_visible_at, Some(30));
    }

    #[derive(Clone, Debug)]
    struct Grouped(&'static str, Arc<str>);

    impl Payload for Grouped {
        fn enqueued_at(&self) -> i64 {
            0
        }

        fn group(&self) -> Option<&Arc<str>> {
            Some(&self.1)
        }
    }

    /// A FIFO queue holding the named messages, sent at 0 in this order; each name is `group-message`.
    fn fifo_queue(names: &[&'static str]) -> QueueMessages<Grouped> {
        let mut q = QueueMessages::fifo();
        q.append(
            names
                .iter()
                .map(|name| {
                    let group = name.split('-').next().unwrap_or_default();
                    (Grouped(name, group.into()), 0)
                })
                .collect(),
        );
        q
    }

    fn receive_fifo(
        q: &mut QueueMessages<Grouped>,
        now: i64,
        max: usize,
        deadline: i64,
    ) -> Vec<&'static str> {
        let request = ReceiveRequest {
            now,
            max_messages: max,
            visibility_deadline: deadline,
            expire_before: i64::MIN,
            max_in_flight: 100,
        };
        q.receive(&request, None)
            .messages
            .iter()
            .map(|m| m.payload.0)
            .collect()
    }

    fn set_visibility(q: &mut QueueMessages<Grouped>, seq: u64, now: i64, deadline: i64) {
        let change = VisibilityChange {
            seq,
            receive_count: 1,
            now,
            deadline,
            max_span_from_receive: 1_000,
        };
        assert_eq!(q.change_visibility(&change), VisibilityOutcome::Changed);
    }

    #[test]
    fn a_group_whose_oldest_message_is_visible_again_is_served_while_later_ones_are_in_flight() {
        let mut q = fifo_queue(&["g1-m1", "g1-m2", "g2-m1"]);
        assert_eq!(receive_fifo(&mut q, 1, 2, 30), ["g1-m1", "g1-m2"]);
        set_visibility(&mut q, 0, 2, 2);
        assert_eq!(receive_fifo(&mut q, 3, 3, 30), ["g2-m1", "g1-m1"]);
    }

    #[test]
    fn the_messages_before_an_extended_one_come_back_once_they_time_out() {
        for (extended, expected) in [(0, &[][..]), (1, &["g-m1"][..]), (2, &["g-m1", "g-m2"][..])] {
            let mut q = fifo_queue(&["g-m1", "g-m2", "g-m3"]);
            assert_eq!(receive_fifo(&mut q, 1, 3, 30), ["g-m1", "g-m2", "g-m3"]);
            set_visibility(&mut q, extended, 10, 100);
            assert_eq!(receive_fifo(&mut q, 30, 10, 60), expected, "{extended}");
        }
    }

    #[test]
    fn a_group_served_with_no_visibility_timeout_goes_behind_the_groups_waiting() {
        let mut q = fifo_queue(&["g1-m1", "g1-m2", "g2-m1", "g2-m2", "g3-m1"]);
        // All in the same millisecond as the sends: the order is that of events, not of the clock.
        assert_eq!(receive_fifo(&mut q, 0, 3, 0), ["g1-m1", "g1-m2", "g2-m1"]);
        assert_eq!(
            receive_fifo(&mut q, 0, 10, 0),
            ["g3-m1", "g1-m1", "g1-m2", "g2-m1", "g2-m2"]
        );
    }

    #[test]
    fn a_group_never_received_goes_before_groups_that_timed_out() {
        let mut q = fifo_queue(&["g1-m1", "g2-m1", "g3-m1"]);
        assert_eq!(receive_fifo(&mut q, 1, 2, 30), ["g1-m1", "g2-m1"]);
        assert_eq!(
            receive_fifo(&mut q, 30, 10, 60),
            ["g3-m1", "g1-m1", "g2-m1"]
        );
    }

    #[test]
    fn purge_forgets_deduplication_ids() {
        let mut q = fifo_queue(&["g-m1"]);
        let entry = Deduplicated {
            seq: 0,
            message_id: "m1".into(),
            expires_at: 300,
            origin: 0,
        };
        q.remember_deduplication("", "d", entry);
        assert!(q.duplicate_of("", "d", 1).is_some());
        assert_eq!(q.purge().len(), 1);
        assert!(q.duplicate_of("", "d", 2).is_none());
    }
}
