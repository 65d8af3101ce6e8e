//! The `memory` backend: everything in process memory, gone at exit. For tests and throw-away runs.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::coordination::LocalCoordination;
use crate::{
    list_page, lock, lock_pair, CreateOutcome, Deduplicated, DeleteOutcome, Deletion,
    DeliveryState, MessageContent, MessageCounts, MoveTaskRecord, NewMessage, QueueGauges,
    QueueKey, QueueMessages, QueueRecord, ReceiveAttempt, ReceiveOutcome, ReceiveRequest,
    ReceivedMessage, Redrive, SecurityKey, SecurityRecord, SecurityRecords, SecurityWrite,
    SendOutcome, Store, StoreError, VisibilityChange, VisibilityOutcome,
};

/// One queue's messages, their content held in memory.
type Messages = QueueMessages<Arc<MessageContent>>;

pub struct MemoryStore {
    /// Queue records in key order, so listing by account, region and name prefix is a range scan. A plain
    /// mutex: every critical section is a few map operations and never awaits.
    queues: Mutex<BTreeMap<QueueKey, Arc<QueueRecord>>>,
    /// When each deleted queue went, for the rule that a name cannot be reused for 60 seconds.
    tombstones: Mutex<HashMap<QueueKey, i64>>,
    /// Message-move tasks by handle.
    move_tasks: Mutex<BTreeMap<String, MoveTaskRecord>>,
    /// Who runs each move task, and kept FIFO receive answers. Taken inside `move_tasks` by a claim
    /// or a conditional write, so that it sees the lease and the record at one instant, and inside
    /// `queues` by a recorded answer and a queue deletion, so that a deleted queue keeps none.
    coordination: LocalCoordination,
    /// Each queue's messages behind a lock of its own, so queues do not contend. The outer lock is held
    /// only to find a queue's entry; a receive holds one queue's lock for its few map operations. Creating
    /// and deleting a queue take it while holding `queues`, so a record never lacks its entry.
    messages: Mutex<HashMap<QueueKey, Arc<Mutex<Messages>>>>,
    security: Mutex<SecurityRecords>,
    secret: [u8; 32],
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore {
            queues: Mutex::default(),
            tombstones: Mutex::default(),
            move_tasks: Mutex::default(),
            coordination: LocalCoordination::default(),
            messages: Mutex::default(),
            security: Mutex::default(),
            secret: rand::random(),
        }
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn queue_messages(
        &self,
        key: &QueueKey,
    ) -> Result<Arc<Mutex<QueueMessages<Arc<MessageContent>>>>, StoreError> {
        lock(&self.messages)
            .get(key)
            .cloned()
            .ok_or(StoreError::QueueNotFound)
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn create_queue(&self, record: QueueRecord) -> Result<CreateOutcome, StoreError> {
        let mut queues = lock(&self.queues);
        if let Some(existing) = queues.get(&record.key) {
            return Ok(CreateOutcome::Existing((**existing).clone()));
        }
        queues.insert(record.key.clone(), Arc::new(record.clone()));
        let messages = if record.fifo {
            Messages::fifo()
        } else {
            Messages::default()
        };
        lock(&self.messages).insert(record.key.clone(), Arc::new(Mutex::new(messages)));
        Ok(CreateOutcome::Created(record))
    }

    async fn get_queue(&self, key: &QueueKey) -> Result<Option<Arc<QueueRecord>>, StoreError> {
        Ok(lock(&self.queues).get(key).cloned())
    }

    async fn list_queues(
        &self,
        account_id: &str,
        region: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<QueueRecord>, StoreError> {
        let queues = lock(&self.queues);
        Ok(list_page(&queues, account_id, region, prefix, after, limit)
            .map(|record| (**record).clone())
            .collect())
    }

    async fn all_queues(&self) -> Result<Vec<QueueKey>, StoreError> {
        Ok(lock(&self.queues).keys().cloned().collect())
    }

    async fn replace_queue(&self, mut record: QueueRecord) -> Result<QueueRecord, StoreError> {
        let mut queues = lock(&self.queues);
        match queues.get_mut(&record.key) {
            Some(stored) if stored.version == record.version => {
                record.version += 1;
                *stored = Arc::new(record.clone());
                Ok(record)
            }
            _ => Err(StoreError::Conflict),
        }
    }

    async fn delete_queue(&self, key: &QueueKey, now_millis: i64) -> Result<bool, StoreError> {
        // The record and the messages go under the catalog lock, taken before the messages lock as
        // `create_queue` takes them: a create cannot slip in between and lose its messages.
        let mut queues = lock(&self.queues);
        let removed = queues.remove(key).is_some();
        lock(&self.messages).remove(key);
        self.coordination.forget_queue(key);
        drop(queues);
        if removed {
            lock(&self.tombstones).insert(key.clone(), now_millis);
        }
        Ok(removed)
    }

    async fn deleted_at(&self, key: &QueueKey) -> Result<Option<i64>, StoreError> {
        Ok(lock(&self.tombstones).get(key).copied())
    }

    async fn send_messages(
        &self,
        key: &QueueKey,
        messages: Vec<NewMessage>,
        now: i64,
    ) -> Result<Vec<SendOutcome>, StoreError> {
        let queue = self.queue_messages(key)?;
        let mut queue = lock(&queue);
        let mut outcomes = Vec::with_capacity(messages.len());
        for message in messages {
            if let Some(dedup) = &message.deduplication {
                if let Some(original) = queue.duplicate_of(&dedup.scope, &dedup.id, now) {
                    outcomes.push(SendOutcome::Duplicate {
                        seq: original.seq,
                        message_id: original.message_id,
                    });
                    continue;
                }
            }
            let message_id = message.content.message_id.clone();
            let seq = queue.append(vec![(message.content, message.visible_at)])[0];
            if let Some(dedup) = message.deduplication {
                let entry = Deduplicated {
                    seq,
                    message_id,
                    expires_at: now + dedup.window_millis,
                    origin: 0,
                };
                queue.remember_deduplication(&dedup.scope, &dedup.id, entry);
            }
            outcomes.push(SendOutcome::Appended(seq));
        }
        Ok(outcomes)
    }

    async fn receive_messages(
        &self,
        key: &QueueKey,
        request: ReceiveRequest,
        redrive: Option<&Redrive>,
    ) -> Result<ReceiveOutcome, StoreError> {
        let queue = self.queue_messages(key)?;
        let target = match redrive {
            Some(redrive) if redrive.target != *key => self.queue_messages(&redrive.target).ok(),
            _ => None,
        };
        // Both queues are locked at once, so a move is one atomic step.
        let (mut messages, mut dead_letters) = match &target {
            Some(target) => {
                let (q, t) = lock_pair(&queue, target);
                (q, Some(t))
            }
            None => (lock(&queue), None),
        };
        messages.expire(request.expire_before);
        let max_receive_count = dead_letters
            .as_ref()
            .and(redrive)
            .map(|r| r.max_receive_count);
        let delivered = messages.receive(&request, max_receive_count);
        let moved = delivered.dead.len();
        if let (Some(dead_letters), Some(redrive)) = (dead_letters.as_mut(), redrive) {
            for (_, content, state) in delivered.dead {
                let content = Arc::new(redrive.moved(&content, request.now, state.receive_count));
                let seq = dead_letters.next_seq();
                dead_letters.restore(
                    seq,
                    content,
                    DeliveryState {
                        visible_at: request.now,
                        ..state
                    },
                );
            }
        }
        Ok(ReceiveOutcome {
            messages: delivered
                .messages
                .into_iter()
                .map(|d| ReceivedMessage {
                    seq: d.seq,
                    content: d.payload,
                    receive_count: d.receive_count,
                    first_receive_at: d.first_receive_at,
                })
                .collect(),
            next_visible_at: delivered.next_visible_at,
            in_flight_limit_reached: delivered.in_flight_limit_reached,
            moved,
        })
    }

    async fn delete_messages(
        &self,
        key: &QueueKey,
        deletions: &[Deletion],
    ) -> Result<Vec<DeleteOutcome>, StoreError> {
        let queue = self.queue_messages(key)?;
        let mut messages = lock(&queue);
        Ok(deletions
            .iter()
            .map(|d| messages.delete_checked(d).0)
            .collect())
    }

    async fn retime_unreceived(
        &self,
        key: &QueueKey,
        delay: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        let queue = self.queue_messages(key)?;
        lock(&queue).retime_unreceived(delay, now);
        Ok(())
    }

    async fn change_visibility(
        &self,
        key: &QueueKey,
        changes: &[VisibilityChange],
    ) -> Result<Vec<VisibilityOutcome>, StoreError> {
        let queue = self.queue_messages(key)?;
        let mut messages = lock(&queue);
        Ok(changes
            .iter()
            .map(|change| messages.change_visibility(change))
            .collect())
    }

    async fn purge_messages(&self, key: &QueueKey) -> Result<u64, StoreError> {
        let queue = self.queue_messages(key)?;
        let purged = lock(&queue).purge().len() as u64;
        Ok(purged)
    }

    async fn message_counts(
        &self,
        key: &QueueKey,
        now: i64,
        expire_before: i64,
    ) -> Result<MessageCounts, StoreError> {
        let queue = self.queue_messages(key)?;
        let mut messages = lock(&queue);
        messages.expire(expire_before);
        let counts = messages.counts(now);
        Ok(counts)
    }

    async fn queue_gauges(
        &self,
        key: &QueueKey,
        now: i64,
        expire_before: i64,
    ) -> Result<QueueGauges, StoreError> {
        let queue = self.queue_messages(key)?;
        let mut messages = lock(&queue);
        messages.expire(expire_before);
        Ok(messages.gauges(now))
    }

    async fn server_secret(&self) -> Result<[u8; 32], StoreError> {
        Ok(self.secret)
    }

    async fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn peek_visible(
        &self,
        key: &QueueKey,
        max: usize,
        now: i64,
    ) -> Result<Vec<(u64, Arc<MessageContent>)>, StoreError> {
        let queue = self.queue_messages(key)?;
        let found = lock(&queue).peek_visible(max, now);
        Ok(found)
    }

    async fn move_message(
        &self,
        from: &QueueKey,
        seq: u64,
        to: &QueueKey,
        content: MessageContent,
        now: i64,
    ) -> Result<bool, StoreError> {
        let source = self.queue_messages(from)?;
        let target = self.queue_messages(to)?;
        if Arc::ptr_eq(&source, &target) {
            return Ok(false);
        }
        // Both queues are locked at once, so the move is one atomic step.
        let (mut source, mut target) = lock_pair(&source, &target);
        if source.take_visible(seq, now).is_none() {
            return Ok(false);
        }
        target.append(vec![(Arc::new(content), now)]);
        Ok(true)
    }

    async fn put_move_task(&self, task: MoveTaskRecord) -> Result<(), StoreError> {
        lock(&self.move_tasks).insert(task.handle.clone(), task);
        Ok(())
    }

    async fn move_tasks(&self) -> Result<Vec<MoveTaskRecord>, StoreError> {
        Ok(lock(&self.move_tasks).values().cloned().collect())
    }

    async fn claim_move_task(
        &self,
        handle: &str,
        owner: &str,
        now: i64,
        lease_until: i64,
    ) -> Result<Option<MoveTaskRecord>, StoreError> {
        let tasks = lock(&self.move_tasks);
        Ok(self
            .coordination
            .claim(tasks.get(handle), owner, now, lease_until))
    }

    async fn replace_move_task(
        &self,
        expected: &MoveTaskRecord,
        task: MoveTaskRecord,
        owner: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut tasks = lock(&self.move_tasks);
        let stored = tasks.get(&expected.handle);
        if !self.coordination.may_replace(stored, expected, owner) {
            return Ok(false);
        }
        tasks.insert(task.handle.clone(), task);
        Ok(true)
    }

    async fn record_receive_attempt(
        &self,
        key: &QueueKey,
        id: &str,
        attempt: ReceiveAttempt,
        now: i64,
    ) -> Result<(), StoreError> {
        let queues = lock(&self.queues);
        if queues.contains_key(key) {
            self.coordination.record_attempt(key, id, attempt, now);
        }
        Ok(())
    }

    async fn receive_attempt(
        &self,
        key: &QueueKey,
        id: &str,
        now: i64,
    ) -> Result<Option<ReceiveAttempt>, StoreError> {
        Ok(self.coordination.attempt(key, id, now))
    }

    async fn spoil_receive_attempts(&self, key: &QueueKey, seqs: &[u64]) -> Result<(), StoreError> {
        self.coordination.spoil_attempts(key, seqs);
        Ok(())
    }

    async fn security_record(
        &self,
        key: &SecurityKey,
    ) -> Result<Option<SecurityRecord>, StoreError> {
        Ok(lock(&self.security).get(key).cloned())
    }

    async fn security_records(
        &self,
        kind: &str,
        prefix: &str,
    ) -> Result<Vec<SecurityRecord>, StoreError> {
        Ok(lock(&self.security).list(kind, prefix))
    }

    async fn write_security(&self, batch: Vec<SecurityWrite>) -> Result<(), StoreError> {
        let mut security = lock(&self.security);
        security.check(&batch)?;
        security.apply(batch);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use super::*;

    fn key() -> QueueKey {
        QueueKey {
            account_id: "000000000000".into(),
            region: "us-east-1".into(),
            name: "churn".into(),
        }
    }

    fn record() -> QueueRecord {
        QueueRecord {
            key: key(),
            attributes: BTreeMap::new(),
            tags: BTreeMap::new(),
            created_timestamp: 1,
            last_modified_timestamp: 1,
            last_purge_millis: None,
            fifo: false,
            incarnation: 1,
            version: 0,
        }
    }

    fn message() -> NewMessage {
        NewMessage {
            content: Arc::new(MessageContent {
                message_id: "m".into(),
                body: "b".into(),
                attributes: Vec::new(),
                system_attributes: Vec::new(),
                md5_of_body: String::new(),
                md5_of_attributes: None,
                sender_id: "s".into(),
                sent_at: 0,
                enqueued_at: 0,
                group_id: None,
                deduplication_id: None,
                dead_letter_move: None,
            }),
            visible_at: 0,
            deduplication: None,
        }
    }

    /// One task creates the queue and sends to it while another deletes it, over and over. Only the
    /// first task creates, so a send that finds no messages while the record is there means a delete
    /// left a created queue without its messages.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_queue_created_during_a_delete_can_take_messages() {
        const ROUNDS: usize = 100_000;
        let store = Arc::new(MemoryStore::new());
        let deadline = Instant::now() + Duration::from_secs(5);
        let deleter = {
            let store = store.clone();
            tokio::spawn(async move {
                for _ in 0..ROUNDS {
                    if Instant::now() > deadline {
                        break;
                    }
                    store.delete_queue(&key(), 0).await.expect("delete");
                }
            })
        };
        for _ in 0..ROUNDS {
            if Instant::now() > deadline {
                break;
            }
            store.create_queue(record()).await.expect("create");
            if let Err(StoreError::QueueNotFound) =
                store.send_messages(&key(), vec![message()], 0).await
            {
                assert!(
                    store.get_queue(&key()).await.expect("get").is_none(),
                    "a queue record without its messages"
                );
            }
        }
        deleter.await.expect("deleter");
    }
}
