//! What the processes sharing a backend must agree on besides queues and messages: the answers of
//! FIFO receives kept for retries with the same `ReceiveRequestAttemptId`, and which process runs each
//! message-move task (a lease). The in-memory forms here serve the single-process backends.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::{lock, MoveTaskRecord, MoveTaskStatus, QueueKey};

/// A FIFO receive's answer, kept so that a retry with the same attempt id gets it again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiveAttempt {
    /// The answer as the queue layer encoded it; no backend reads it.
    pub answer: Vec<u8>,
    /// `(sequence number, receive count)` of each message the receive handed out.
    pub receipts: Vec<(u64, u32)>,
    /// Epoch milliseconds after which the attempt is forgotten.
    pub expires_at: i64,
    /// One of its messages was deleted or had its visibility changed since: the receive cannot be
    /// retried. Set by `spoil_receive_attempts`.
    pub spoiled: bool,
}

impl ReceiveAttempt {
    pub(crate) fn hands_out_any(&self, seqs: &[u64]) -> bool {
        self.receipts.iter().any(|(seq, _)| seqs.contains(seq))
    }
}

/// What a single-process backend keeps of them, in memory. Lock order: the backend's own map of move
/// tasks (or its catalog) first, then these, so that a claim and a replace never interleave.
#[derive(Default)]
pub(crate) struct LocalCoordination {
    leases: Mutex<Leases>,
    attempts: Mutex<Attempts>,
}

impl LocalCoordination {
    /// `claim_move_task` of `task` as the backend stores it.
    pub fn claim(
        &self,
        task: Option<&MoveTaskRecord>,
        owner: &str,
        now: i64,
        until: i64,
    ) -> Option<MoveTaskRecord> {
        let task = task.filter(|t| is_active(t.status))?;
        lock(&self.leases)
            .claim(&task.handle, owner, now, until)
            .then(|| task.clone())
    }

    /// The condition of `replace_move_task`: the stored task is `expected`, and with `owner`, its
    /// lease is that owner's.
    pub fn may_replace(
        &self,
        stored: Option<&MoveTaskRecord>,
        expected: &MoveTaskRecord,
        owner: Option<&str>,
    ) -> bool {
        stored == Some(expected)
            && owner.is_none_or(|owner| lock(&self.leases).held_by(&expected.handle, owner))
    }

    pub fn record_attempt(&self, key: &QueueKey, id: &str, attempt: ReceiveAttempt, now: i64) {
        lock(&self.attempts).record(key, id, attempt, now);
    }

    pub fn attempt(&self, key: &QueueKey, id: &str, now: i64) -> Option<ReceiveAttempt> {
        lock(&self.attempts).get(key, id, now)
    }

    pub fn spoil_attempts(&self, key: &QueueKey, seqs: &[u64]) {
        lock(&self.attempts).spoil(key, seqs);
    }

    pub fn forget_queue(&self, key: &QueueKey) {
        lock(&self.attempts).forget_queue(key);
    }
}

/// Receive attempts by queue and attempt id, in memory.
#[derive(Default)]
struct Attempts {
    by_queue: HashMap<QueueKey, HashMap<String, ReceiveAttempt>>,
}

impl Attempts {
    pub fn record(&mut self, key: &QueueKey, id: &str, attempt: ReceiveAttempt, now: i64) {
        let queue = self.by_queue.entry(key.clone()).or_default();
        queue.retain(|_, kept| kept.expires_at > now);
        queue.insert(id.to_string(), attempt);
    }

    pub fn get(&mut self, key: &QueueKey, id: &str, now: i64) -> Option<ReceiveAttempt> {
        let queue = self.by_queue.get_mut(key)?;
        queue.retain(|_, attempt| attempt.expires_at > now);
        queue.get(id).cloned()
    }

    pub fn spoil(&mut self, key: &QueueKey, seqs: &[u64]) {
        for attempt in self
            .by_queue
            .get_mut(key)
            .into_iter()
            .flat_map(|q| q.values_mut())
        {
            attempt.spoiled |= attempt.hands_out_any(seqs);
        }
    }

    pub fn forget_queue(&mut self, key: &QueueKey) {
        self.by_queue.remove(key);
    }
}

/// Whether a task with this status still has work for a runner: moving, or ending a cancel.
pub(crate) fn is_active(status: MoveTaskStatus) -> bool {
    matches!(status, MoveTaskStatus::Running | MoveTaskStatus::Cancelling)
}

/// Who holds each move task's lease and until when, in memory.
#[derive(Default)]
struct Leases {
    by_handle: HashMap<String, (String, i64)>,
}

impl Leases {
    /// Gives `owner` the lease until `until` if it is free, ran out by `now`, or `owner`'s already;
    /// returns whether it did.
    pub fn claim(&mut self, handle: &str, owner: &str, now: i64, until: i64) -> bool {
        match self.by_handle.get(handle) {
            Some((holder, held_until)) if holder != owner && *held_until > now => false,
            _ => {
                self.by_handle
                    .insert(handle.to_string(), (owner.to_string(), until));
                true
            }
        }
    }

    pub fn held_by(&self, handle: &str, owner: &str) -> bool {
        self.by_handle
            .get(handle)
            .is_some_and(|(holder, _)| holder == owner)
    }
}
