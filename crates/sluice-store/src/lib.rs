//! The storage boundary: what queue semantics ask of a backend, and the backends.
//!
//! A backend stores queue records and (with the message lifecycle) messages. It knows nothing of wire
//! protocols and decides no SQS rule; it offers operations that are atomic on their own, so that several
//! Sluice processes can share one backend without assuming they own the state:
//! - `create_queue` is insert-if-absent;
//! - `replace_queue` is compare-and-swap on the record's `version`, which callers retry on `Conflict`;
//! - `claim_move_task` and `replace_move_task` are compare-and-set on a move task's lease and record,
//!   so that one process at a time runs a task and a cancel is never lost.
//!
//! A backend that other processes share also tells the layer above of their changes (`subscribe`,
//! `security_generation`), so that long polls wake and caches of security records are read again
//! whichever node made the change.

mod coordination;
pub mod durable;
mod memory;
mod message;
pub mod postgres;
mod queue_messages;
mod security;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;

pub use coordination::ReceiveAttempt;
pub use durable::{DiskFaults, DurableOptions, DurableStore, Fault};
pub use memory::MemoryStore;
pub use message::{
    AttributeValue, DeadLetterMove, DeduplicationKey, DeleteOutcome, Deletion, MessageAttribute,
    MessageBody, MessageContent, MessageCounts, MoveTaskRecord, MoveTaskStatus, NewMessage,
    QueueGauges, ReceiveOutcome, ReceiveRequest, ReceivedMessage, Redrive, SendOutcome,
    VisibilityChange, VisibilityOutcome,
};
pub use postgres::{DatabaseClock, PostgresStore};
pub use queue_messages::{
    Deduplicated, Delivered, Deliveries, DeliveryState, Payload, QueueMessages,
};
pub use security::{SecurityKey, SecurityRecord, SecurityRecords, SecurityWrite};

/// A queue's identity: the same name in two accounts or two regions is two queues.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QueueKey {
    pub account_id: String,
    pub region: String,
    pub name: String,
}

/// Everything stored about a queue except its messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueRecord {
    pub key: QueueKey,
    /// Settable attributes in their canonical string form, as GetQueueAttributes returns them.
    pub attributes: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    /// Epoch seconds.
    pub created_timestamp: i64,
    /// Epoch seconds.
    pub last_modified_timestamp: i64,
    /// Epoch milliseconds of the last PurgeQueue.
    pub last_purge_millis: Option<i64>,
    /// Whether messages are delivered in order within message groups (a FIFO queue).
    pub fifo: bool,
    /// Chosen at creation and never reused, so that receipt handles of a deleted queue do not work on a
    /// new queue of the same name.
    pub incarnation: u64,
    /// Bumped by every successful `replace_queue`; a record read at one version can only replace that
    /// version.
    pub version: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// `replace_queue` lost a race: the record changed since it was read.
    #[error("the queue record changed since it was read")]
    Conflict,
    /// A message operation named a queue that does not exist.
    #[error("the queue does not exist")]
    QueueNotFound,
    /// Storage failed in a way a retry does not cure by itself. The text is for the log: it can name
    /// files and carry operating-system error text.
    #[error("storage failure: {0}")]
    Backend(String),
    /// The backend is out of service until it can write again (a write or sync failed); nothing
    /// the request changed survives, and a retry later can succeed. The text is for the log.
    #[error("storage out of service: {0}")]
    Unavailable(String),
}

/// A change that another process sharing the backend made, as the backend hears of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeNotice {
    /// Messages of this queue may have become receivable (sent, made visible again, moved in, or
    /// due earlier): a long poll on it looks again.
    MessagesAvailable(QueueKey),
    /// Security records changed.
    SecurityChanged,
    /// Notices may have been missed (the backend lost touch with the other processes for a while):
    /// anything may have changed.
    Everything,
}

/// Where a backend delivers change notices. It runs on the backend's own task, so it must return at
/// once: no blocking, no awaiting, no calls back into the store.
pub type ChangeSink = Arc<dyn Fn(ChangeNotice) + Send + Sync>;

/// What `create_queue` found.
#[derive(Debug)]
pub enum CreateOutcome {
    Created(QueueRecord),
    /// A queue with that key already existed; nothing was written.
    Existing(QueueRecord),
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Inserts the record unless a queue with its key exists.
    async fn create_queue(&self, record: QueueRecord) -> Result<CreateOutcome, StoreError>;

    /// The queue's record, shared rather than copied: it is read on every message request.
    async fn get_queue(&self, key: &QueueKey) -> Result<Option<Arc<QueueRecord>>, StoreError>;

    /// The queues of an account in a region whose names start with `prefix` and sort after `after`, in name
    /// order, at most `limit` of them.
    async fn list_queues(
        &self,
        account_id: &str,
        region: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<QueueRecord>, StoreError>;

    /// Every queue of every account and region.
    async fn all_queues(&self) -> Result<Vec<QueueKey>, StoreError>;

    /// Writes `record` if the stored record still has `record.version`; the stored version becomes
    /// `record.version + 1`.
    async fn replace_queue(&self, record: QueueRecord) -> Result<QueueRecord, StoreError>;

    /// Removes the queue and everything in it (its kept receive attempts too), remembering when (epoch milliseconds) for
    /// `deleted_at`. Returns whether a queue was there.
    async fn delete_queue(&self, key: &QueueKey, now_millis: i64) -> Result<bool, StoreError>;

    /// When the queue with this key was last deleted, if it was.
    async fn deleted_at(&self, key: &QueueKey) -> Result<Option<i64>, StoreError>;

    /// Appends messages to a queue in the order given, each unless its deduplication id was seen within
    /// its window (checked and remembered atomically with the append).
    async fn send_messages(
        &self,
        key: &QueueKey,
        messages: Vec<NewMessage>,
        now: i64,
    ) -> Result<Vec<SendOutcome>, StoreError>;

    /// Atomically removes expired messages, makes due messages visible, and hands out up to
    /// `max_messages` visible messages in queue order, hiding each until the visibility deadline. With a
    /// redrive, a message already received `max_receive_count` times is moved to the dead-letter queue
    /// instead, in the same atomic step: it is never in both queues and never in neither.
    async fn receive_messages(
        &self,
        key: &QueueKey,
        request: ReceiveRequest,
        redrive: Option<&Redrive>,
    ) -> Result<ReceiveOutcome, StoreError>;

    /// Removes messages, atomically; one outcome per deletion, in order.
    async fn delete_messages(
        &self,
        key: &QueueKey,
        deletions: &[Deletion],
    ) -> Result<Vec<DeleteOutcome>, StoreError>;

    /// On a FIFO queue, makes every message not yet received visible at its send time plus `delay`
    /// (milliseconds): the queue's delay applies to messages already waiting.
    async fn retime_unreceived(
        &self,
        key: &QueueKey,
        delay: i64,
        now: i64,
    ) -> Result<(), StoreError>;

    /// Moves in-flight messages' visibility deadlines, atomically; one outcome per change, in order.
    async fn change_visibility(
        &self,
        key: &QueueKey,
        changes: &[VisibilityChange],
    ) -> Result<Vec<VisibilityOutcome>, StoreError>;

    /// Removes every message of a queue, in flight or not. Returns how many went.
    async fn purge_messages(&self, key: &QueueKey) -> Result<u64, StoreError>;

    /// Removes expired messages and makes due messages visible, then counts.
    async fn message_counts(
        &self,
        key: &QueueKey,
        now: i64,
        expire_before: i64,
    ) -> Result<MessageCounts, StoreError>;

    /// Removes expired messages and makes due messages visible, then reads the queue's gauges.
    async fn queue_gauges(
        &self,
        key: &QueueKey,
        now: i64,
        expire_before: i64,
    ) -> Result<QueueGauges, StoreError>;

    /// Up to `max` visible messages of a queue, in queue order, without changing them.
    async fn peek_visible(
        &self,
        key: &QueueKey,
        max: usize,
        now: i64,
    ) -> Result<Vec<(u64, Arc<MessageContent>)>, StoreError>;

    /// Moves one message, if it is still visible, from a queue to the end of another as `content` (a new
    /// message there), atomically. Returns whether it moved.
    async fn move_message(
        &self,
        from: &QueueKey,
        seq: u64,
        to: &QueueKey,
        content: MessageContent,
        now: i64,
    ) -> Result<bool, StoreError>;

    /// Stores a message-move task, replacing the one with the same handle.
    async fn put_move_task(&self, task: MoveTaskRecord) -> Result<(), StoreError>;

    /// Every stored message-move task.
    async fn move_tasks(&self) -> Result<Vec<MoveTaskRecord>, StoreError>;

    /// Gives `owner` the lease on an active (RUNNING or CANCELLING) move task until `lease_until`, or
    /// renews it: a compare-and-set that succeeds only if no other owner's lease lasts past `now`.
    /// Returns the task as stored, or `None`, with nothing written, when there is no such active task
    /// or another owner holds it.
    async fn claim_move_task(
        &self,
        handle: &str,
        owner: &str,
        now: i64,
        lease_until: i64,
    ) -> Result<Option<MoveTaskRecord>, StoreError>;

    /// Writes `task` in place of the stored task with its handle if that one is still `expected` and,
    /// with `owner`, its lease is still that owner's: a compare-and-set, so that a runner's progress
    /// never overwrites a cancel made meanwhile, and a runner whose task was taken over writes
    /// nothing. Returns whether it wrote.
    async fn replace_move_task(
        &self,
        expected: &MoveTaskRecord,
        task: MoveTaskRecord,
        owner: Option<&str>,
    ) -> Result<bool, StoreError>;

    /// Keeps a FIFO receive's answer under its attempt id, in place of one kept before, and forgets
    /// the queue's attempts expired by `now`. A queue that no longer exists keeps nothing.
    async fn record_receive_attempt(
        &self,
        key: &QueueKey,
        id: &str,
        attempt: ReceiveAttempt,
        now: i64,
    ) -> Result<(), StoreError>;

    /// The attempt kept under this id, unless it expired by `now`.
    async fn receive_attempt(
        &self,
        key: &QueueKey,
        id: &str,
        now: i64,
    ) -> Result<Option<ReceiveAttempt>, StoreError>;

    /// Marks every kept attempt of the queue that handed out one of these messages as spoiled.
    async fn spoil_receive_attempts(&self, key: &QueueKey, seqs: &[u64]) -> Result<(), StoreError>;

    /// The security record with this key.
    async fn security_record(
        &self,
        key: &SecurityKey,
    ) -> Result<Option<SecurityRecord>, StoreError>;

    /// The security records of a kind whose names start with `prefix`, in name order.
    async fn security_records(
        &self,
        kind: &str,
        prefix: &str,
    ) -> Result<Vec<SecurityRecord>, StoreError>;

    /// Writes a batch of security records atomically and durably (as `flush` makes writes durable): all
    /// of them, or none with `Conflict` when one does not find the version it expects.
    async fn write_security(&self, batch: Vec<SecurityWrite>) -> Result<(), StoreError>;

    /// A secret kept with the data (receipt handles are sealed with it), the same for every process that
    /// shares the backend.
    async fn server_secret(&self) -> Result<[u8; 32], StoreError>;

    /// Returns once everything acknowledged so far is durable.
    async fn flush(&self) -> Result<(), StoreError>;

    /// Registers the metrics the backend keeps of its own work (the durable engine's journal and
    /// disk); a backend with none registers nothing.
    fn register_metrics(&self, _registry: &mut prometheus_client::registry::Registry) {}

    /// Whether requests can be served now; false while the backend is out of service.
    fn is_ready(&self) -> bool {
        true
    }

    /// Delivers to `sink` the changes other processes sharing the backend make from now on (changes
    /// made through this store are not promised to it; the caller knows of those already). A backend
    /// only this process uses has no one else to hear of and never calls it.
    fn subscribe(&self, _sink: ChangeSink) {}

    /// A count that moves whenever this store hears that another process changed security records
    /// (or may have: after `ChangeNotice::Everything`), for caches of what was derived from them.
    /// Only its changes mean anything; it stays 0 on a backend only this process uses.
    fn security_generation(&self) -> u64 {
        0
    }

    /// How long a long poll may wait without looking again, when change notices can arrive late or
    /// not at all. `None` (a backend only this process uses): the wake-ups of this process are all
    /// there is, so a waiting receive looks again only when woken or due.
    fn recheck_interval(&self) -> Option<Duration> {
        None
    }
}

/// Locks a mutex, taking over a poisoned one: every critical section in this crate leaves its data
/// consistent at each step, so a panic elsewhere cannot leave it half-updated.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Locks two different mutexes, always the one at the lower address first, so that two calls on the
/// same pair never deadlock; returns the guards as `(a, b)`.
pub(crate) fn lock_pair<'a, T>(
    a: &'a Mutex<T>,
    b: &'a Mutex<T>,
) -> (MutexGuard<'a, T>, MutexGuard<'a, T>) {
    if std::ptr::from_ref(a) < std::ptr::from_ref(b) {
        let a = lock(a);
        (a, lock(b))
    } else {
        let b = lock(b);
        (lock(a), b)
    }
}

/// The entries of a queue map, in key order, that a `list_queues` call asks for: one account and
/// region, names starting with `prefix` and sorting after `after`, at most `limit`.
pub(crate) fn list_page<'a, V>(
    queues: &'a BTreeMap<QueueKey, V>,
    account_id: &'a str,
    region: &'a str,
    prefix: &'a str,
    after: Option<&'a str>,
    limit: usize,
) -> impl Iterator<Item = &'a V> + 'a {
    let start = QueueKey {
        account_id: account_id.to_string(),
        region: region.to_string(),
        name: match after {
            Some(after) if after >= prefix => after.to_string(),
            _ => prefix.to_string(),
        },
    };
    queues
        .range(start..)
        .take_while(move |(k, _)| {
            k.account_id == account_id && k.region == region && k.name.starts_with(prefix)
        })
        .filter(move |(k, _)| after.is_none_or(|after| k.name.as_str() > after))
        .take(limit)
        .map(|(_, v)| v)
}
