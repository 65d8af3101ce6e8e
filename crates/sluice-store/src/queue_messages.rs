//! The delivery state of one queue's messages, kept in memory: which are visible, which are delayed or in
//! flight and until when, in queue order. Every operation is a few ordered-map steps, so a receive costs
//! O(log n) per message however long the backlog.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::message::{
    MessageContent, MessageCounts, NewMessage, ReceiveOutcome, ReceiveRequest, ReceivedMessage, VisibilityChange,
    VisibilityOutcome,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Delivery {
    Visible,
    /// Not yet visible and never received.
    Delayed,
    /// Received and hidden until its deadline.
    InFlight,
}

#[derive(Debug)]
struct Slot {
    content: Arc<MessageContent>,
    delivery: Delivery,
    /// For delayed and in-flight messages, when they become visible.
    visible_at: i64,
    receive_count: u32,
    first_receive_at: Option<i64>,
    /// When the latest receive handed the message out.
    received_at: i64,
}

#[derive(Debug, Default)]
pub struct QueueMessages {
    next_seq: u64,
    /// Every message by sequence number, which is send order.
    slots: BTreeMap<u64, Slot>,
    /// Visible messages, in queue order.
    visible: BTreeSet<u64>,
    /// Delayed and in-flight messages by the time they become visible.
    timers: BTreeSet<(i64, u64)>,
    in_flight: u64,
    delayed: u64,
}

impl QueueMessages {
    pub fn append(&mut self, messages: Vec<NewMessage>) -> Vec<u64> {
        let mut seqs = Vec::with_capacity(messages.len());
        for message in messages {
            let seq = self.next_seq;
            self.next_seq += 1;
            let delayed = message.visible_at > message.content.sent_at;
            let slot = Slot {
                content: message.content,
                delivery: if delayed { Delivery::Delayed } else { Delivery::Visible },
                visible_at: message.visible_at,
                receive_count: 0,
                first_receive_at: None,
                received_at: 0,
            };
            if delayed {
                self.timers.insert((slot.visible_at, seq));
                self.delayed += 1;
            } else {
                self.visible.insert(seq);
            }
            self.slots.insert(seq, slot);
            seqs.push(seq);
        }
        seqs
    }

    /// Makes every delayed or in-flight message whose time has come visible.
    fn promote_due(&mut self, now: i64) {
        while let Some(&(at, seq)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            if let Some(slot) = self.slots.get_mut(&seq) {
                match slot.delivery {
                    Delivery::Delayed => self.delayed -= 1,
                    Delivery::InFlight => self.in_flight -= 1,
                    Delivery::Visible => {}
                }
                slot.delivery = Delivery::Visible;
                self.visible.insert(seq);
            }
        }
    }

    /// Removes messages sent before `expire_before`. Messages are appended in send order, so the
    /// expired ones are at the front.
    fn expire(&mut self, expire_before: i64) -> u64 {
        let mut removed = 0;
        while let Some((&seq, slot)) = self.slots.first_key_value() {
            if slot.content.sent_at >= expire_before {
                break;
            }
            self.remove(seq);
            removed += 1;
        }
        removed
    }

    fn remove(&mut self, seq: u64) -> bool {
        let Some(slot) = self.slots.remove(&seq) else { return false };
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
        true
    }

    pub fn receive(&mut self, request: &ReceiveRequest) -> ReceiveOutcome {
        self.expire(request.expire_before);
        self.promote_due(request.now);
        let mut outcome = ReceiveOutcome::default();
        while outcome.messages.len() < request.max_messages {
            if self.in_flight as usize >= request.max_in_flight {
                outcome.in_flight_limit_reached = outcome.messages.is_empty();
                break;
            }
            let Some(seq) = self.visible.pop_first() else { break };
            let Some(slot) = self.slots.get_mut(&seq) else { continue };
            slot.delivery = Delivery::InFlight;
            slot.visible_at = request.visibility_deadline;
            slot.receive_count += 1;
            slot.received_at = request.now;
            let first = *slot.first_receive_at.get_or_insert(request.now);
            self.timers.insert((slot.visible_at, seq));
            self.in_flight += 1;
            outcome.messages.push(ReceivedMessage {
                seq,
                content: slot.content.clone(),
                receive_count: slot.receive_count,
                first_receive_at: first,
            });
        }
        outcome.next_visible_at = self.timers.first().map(|&(at, _)| at);
        outcome
    }

    pub fn delete(&mut self, seq: u64) -> bool {
        self.remove(seq)
    }

    pub fn change_visibility(&mut self, change: &VisibilityChange) -> VisibilityOutcome {
        self.promote_due(change.now);
        let Some(slot) = self.slots.get_mut(&change.seq) else {
            return VisibilityOutcome::Gone;
        };
        if slot.receive_count != change.receive_count {
            return VisibilityOutcome::Stale;
        }
        if change.deadline > slot.received_at.saturating_add(change.max_span_from_receive) {
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
        VisibilityOutcome::Changed
    }

    pub fn purge(&mut self) -> u64 {
        let count = self.slots.len() as u64;
        self.slots.clear();
        self.visible.clear();
        self.timers.clear();
        self.in_flight = 0;
        self.delayed = 0;
        count
    }

    pub fn counts(&mut self, now: i64, expire_before: i64) -> MessageCounts {
        self.expire(expire_before);
        self.promote_due(now);
        MessageCounts {
            visible: self.visible.len() as u64,
            in_flight: self.in_flight,
            delayed: self.delayed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str, sent_at: i64, visible_at: i64) -> NewMessage {
        NewMessage {
            content: Arc::new(MessageContent {
                message_id: id.to_string(),
                body: id.to_string(),
                attributes: Vec::new(),
                system_attributes: Vec::new(),
                md5_of_body: String::new(),
                md5_of_attributes: None,
                sender_id: String::new(),
                sent_at,
            }),
            visible_at,
        }
    }

    fn receive(q: &mut QueueMessages, now: i64, max: usize, deadline: i64) -> Vec<String> {
        let request = ReceiveRequest {
            now,
            max_messages: max,
            visibility_deadline: deadline,
            expire_before: i64::MIN,
            max_in_flight: 100,
        };
        q.receive(&request).messages.iter().map(|m| m.content.message_id.clone()).collect()
    }

    #[test]
    fn delivers_in_order_and_hides_until_the_deadline() {
        let mut q = QueueMessages::default();
        q.append(vec![message("a", 0, 0), message("b", 0, 0), message("c", 0, 0)]);
        assert_eq!(receive(&mut q, 0, 2, 30), ["a", "b"]);
        assert_eq!(q.counts(0, i64::MIN), MessageCounts { visible: 1, in_flight: 2, delayed: 0 });
        assert_eq!(receive(&mut q, 29, 10, 60), ["c"]);
        assert_eq!(receive(&mut q, 30, 10, 60), ["a", "b"]);
    }

    #[test]
    fn delayed_messages_wait_and_count_as_delayed() {
        let mut q = QueueMessages::default();
        q.append(vec![message("late", 0, 10)]);
        assert_eq!(q.counts(5, i64::MIN), MessageCounts { visible: 0, in_flight: 0, delayed: 1 });
        assert!(receive(&mut q, 5, 10, 100).is_empty());
        assert_eq!(receive(&mut q, 10, 10, 100), ["late"]);
    }

    #[test]
    fn expiry_removes_old_messages_from_every_state() {
        let mut q = QueueMessages::default();
        q.append(vec![message("old", 0, 0), message("old-delayed", 1, 500), message("new", 100, 100)]);
        receive(&mut q, 0, 1, 1000);
        assert_eq!(q.counts(100, 50), MessageCounts { visible: 1, in_flight: 0, delayed: 0 });
        assert_eq!(q.slots.len(), 1);
    }

    #[test]
    fn visibility_changes_need_the_latest_receive_and_respect_the_limit() {
        let mut q = QueueMessages::default();
        let seq = q.append(vec![message("a", 0, 0)])[0];
        receive(&mut q, 0, 1, 30);
        let change = |receive_count, now, deadline| VisibilityChange {
            seq,
            receive_count,
            now,
            deadline,
            max_span_from_receive: 100,
        };
        assert_eq!(q.change_visibility(&change(1, 10, 101)), VisibilityOutcome::BeyondLimit);
        assert_eq!(q.change_visibility(&change(1, 10, 50)), VisibilityOutcome::Changed);
        assert_eq!(q.change_visibility(&change(0, 10, 50)), VisibilityOutcome::Stale);
        assert_eq!(q.change_visibility(&change(1, 10, 10)), VisibilityOutcome::Changed);
        assert_eq!(q.counts(10, i64::MIN), MessageCounts { visible: 1, in_flight: 0, delayed: 0 });
        // Visible again but not received since: the same handle hides it again.
        assert_eq!(q.change_visibility(&change(1, 20, 60)), VisibilityOutcome::Changed);
        assert_eq!(q.counts(20, i64::MIN), MessageCounts { visible: 0, in_flight: 1, delayed: 0 });
        // The limit counts from the receive, not from the last change.
        receive(&mut q, 60, 1, 90);
        assert_eq!(q.change_visibility(&change(2, 70, 160)), VisibilityOutcome::Changed);
        assert_eq!(q.change_visibility(&change(2, 70, 161)), VisibilityOutcome::BeyondLimit);
        assert!(q.delete(seq));
        assert_eq!(q.change_visibility(&change(2, 70, 80)), VisibilityOutcome::Gone);
        assert_eq!(q.counts(70, i64::MIN), MessageCounts::default());
    }

    #[test]
    fn the_in_flight_limit_stops_receives() {
        let mut q = QueueMessages::default();
        q.append(vec![message("a", 0, 0), message("b", 0, 0)]);
        let request = ReceiveRequest {
            now: 0,
            max_messages: 10,
            visibility_deadline: 30,
            expire_before: i64::MIN,
            max_in_flight: 1,
        };
        assert_eq!(q.receive(&request).messages.len(), 1);
        let second = q.receive(&request);
        assert!(second.messages.is_empty() && second.in_flight_limit_reached);
        assert_eq!(second.next_visible_at, Some(30));
    }
}
