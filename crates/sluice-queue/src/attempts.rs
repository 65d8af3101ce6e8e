//! `ReceiveRequestAttemptId` on FIFO queues: a receive retried with the same attempt id within five
//! minutes gets the same messages and receipt handles again (with their visibility reset), as long as
//! none of them was deleted or had its visibility changed since; after that the id is refused.

use std::collections::HashMap;
use std::sync::Mutex;

use sluice_model::types::Message;
use sluice_store::QueueKey;

/// How long an attempt id can be retried.
pub const ATTEMPT_WINDOW_MILLIS: i64 = 5 * 60 * 1000;

/// What a receive handed out, for its retries.
#[derive(Clone, Debug)]
pub struct Attempt {
    pub expires_at: i64,
    pub messages: Vec<Message>,
    /// `(sequence number, receive count)` of each message, in the order of `messages`.
    pub receipts: Vec<(u64, u32)>,
    /// A message was deleted or had its visibility changed since: the attempt cannot be retried.
    pub spoiled: bool,
}

#[derive(Default)]
pub struct Attempts {
    /// By queue and attempt id. A std mutex: held only for map operations, never across an await.
    by_id: Mutex<HashMap<(QueueKey, String), Attempt>>,
}

impl Attempts {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<(QueueKey, String), Attempt>> {
        self.by_id
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The attempt recorded under the id, if it is still within its window.
    pub fn get(&self, key: &QueueKey, id: &str, now: i64) -> Option<Attempt> {
        let mut map = self.map();
        map.retain(|_, attempt| attempt.expires_at > now);
        map.get(&(key.clone(), id.to_string())).cloned()
    }

    pub fn record(&self, key: &QueueKey, id: &str, attempt: Attempt) {
        self.map().insert((key.clone(), id.to_string()), attempt);
    }

    /// Marks every attempt that handed out one of these messages as no longer retryable.
    pub fn spoil(&self, key: &QueueKey, seqs: &[u64]) {
        let mut map = self.map();
        for ((queue, _), attempt) in map.iter_mut() {
            if queue == key && attempt.receipts.iter().any(|(seq, _)| seqs.contains(seq)) {
                attempt.spoiled = true;
            }
        }
    }

    pub fn forget_queue(&self, key: &QueueKey) {
        self.map().retain(|(queue, _), _| queue != key);
    }
}
