//! Message-move tasks (StartMessageMoveTask, ListMessageMoveTasks, CancelMessageMoveTask): moving the
//! messages of a dead-letter queue back to the queues they came from, or to another queue, in the
//! background and at a chosen rate, as the dead-letter-queue redrive pages describe.
//!
//! Each message moves in one atomic store call, so a task never loses or duplicates a message, and the
//! task's record is stored as it progresses. Processes sharing a store share the tasks: one process
//! at a time runs a task, under a lease it renews at every step; every process looks now and then for
//! tasks whose lease ran out (their runner stopped or died) and takes them over, so a task started
//! anywhere finishes while any process serves. A cancel is a status written to the store, which the
//! runner, wherever it is, sees at its next step.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use sluice_model::types::{
    CancelMessageMoveTaskInput, CancelMessageMoveTaskOutput, ListMessageMoveTasksInput,
    ListMessageMoveTasksOutput, ListMessageMoveTasksResultEntry, StartMessageMoveTaskInput,
    StartMessageMoveTaskOutput,
};
use sluice_store::{MessageContent, MoveTaskRecord, MoveTaskStatus, QueueKey, Store};

use crate::error::QueueError;
use crate::messages::DEAD_LETTER_SOURCE;
use crate::naming::{parse_queue_arn, queue_arn};
use crate::waiters::Waiters;
use crate::QueueService;
use sluice_model::Clock;

const MAX_RATE: i64 = 500;
const MAX_LISTED: i64 = 10;
/// Messages looked at per step of a task without a rate.
const STEP: usize = 10;
/// How long a task waits after a step in which it found messages but could move none of them (they were
/// received or deleted meanwhile), rather than writing its unchanged record again at once.
const IDLE_PAUSE: Duration = Duration::from_secs(1);
/// SQS documents no wording for a move onto the queue being moved from; this names the rule.
const SAME_QUEUE: &str = "The destination queue must be different from the source queue.";
/// How long a task stays with its runner after the runner last renewed the lease. A runner renews it
/// at every step (a step takes at most about `IDLE_PAUSE` plus a second of pacing), so only a runner
/// that stopped lets it run out. Lease times are read on each process's own clock: clocks that
/// disagree by less than this only move a takeover earlier or later, and a runner taken over early
/// stops at its next step, because each of its writes is conditional on its lease.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

/// This process's part in running tasks.
pub struct Movers {
    /// This service's name as a lease owner, new for every service, so that a restarted process
    /// never mistakes its predecessor's lease for its own.
    owner: String,
    lease: Duration,
    /// The handles of the tasks this process runs. Only so that it does not start a second runner
    /// for a task of its own (the store would renew its lease for either); who runs a task is
    /// decided by the store's lease. A std mutex: held only to insert, look up or remove.
    running: Mutex<HashSet<String>>,
}

impl Movers {
    pub fn new(lease: Duration) -> Self {
        Movers {
            owner: uuid::Uuid::new_v4().to_string(),
            lease,
            running: Mutex::default(),
        }
    }

    fn running(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.running
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lease_millis(&self) -> i64 {
        i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX)
    }

    /// How often this process looks for tasks nobody runs: often enough that a task is taken over
    /// soon after its lease ran out.
    fn adopt_every(&self) -> Duration {
        self.lease / 4
    }
}

/// What a task needs to run on its own.
#[derive(Clone)]
pub struct MoverContext {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub waiters: Arc<Waiters>,
    pub movers: Arc<Movers>,
}

pub(crate) fn not_found(parameter: &str) -> QueueError {
    QueueError::ResourceNotFound(format!(
        "The resource that you specified for the {parameter} parameter doesn't exist."
    ))
}

fn encode_handle(source_arn: &str) -> String {
    let body =
        serde_json::json!({ "taskId": uuid::Uuid::new_v4().to_string(), "sourceArn": source_arn });
    base64::engine::general_purpose::STANDARD.encode(body.to_string())
}

/// The source queue a task handle names, if the handle is one this service could have written: base64
/// of a JSON object with a `taskId` and a `sourceArn`.
pub(crate) fn handle_source(handle: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(handle)
        .ok()?;
    let body: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    body.get("taskId")?.as_str()?;
    body.get("sourceArn")?.as_str().map(str::to_string)
}

impl QueueService {
    /// A queue is a dead-letter queue when some queue's redrive policy names it.
    async fn is_dead_letter_queue(&self, key: &QueueKey) -> Result<bool, QueueError> {
        let (sources, _) = self.dead_letter_sources(key, None, 1).await?;
        Ok(!sources.is_empty())
    }

    pub(crate) async fn start_message_move_task(
        &self,
        input: StartMessageMoveTaskInput,
    ) -> Result<StartMessageMoveTaskOutput, QueueError> {
        let source = parse_queue_arn(&input.source_arn).ok_or_else(|| not_found("SourceArn"))?;
        let Some(source_record) = self.store.get_queue(&source).await? else {
            return Err(not_found("SourceArn"));
        };
        if !self.is_dead_letter_queue(&source).await? {
            return Err(QueueError::InvalidParameter(
                "Source queue must be configured as a Dead Letter Queue.".to_string(),
            ));
        }
        let destination = match &input.destination_arn {
            Some(arn) => {
                let key = parse_queue_arn(arn).ok_or_else(|| not_found("DestinationArn"))?;
                if key == source {
                    return Err(QueueError::InvalidParameter(SAME_QUEUE.to_string()));
                }
                let Some(destination) = self.store.get_queue(&key).await? else {
                    return Err(not_found("DestinationArn"));
                };
                if destination.fifo != source_record.fifo {
                    return Err(QueueError::InvalidParameter(
                        "The destination queue must be the same type of queue as the source queue."
                            .to_string(),
                    ));
                }
                Some(key)
            }
            None => None,
        };
        let rate = match input.max_number_of_messages_per_second {
            Some(r) if !(1..=MAX_RATE).contains(&r) => {
                return Err(QueueError::InvalidParameterValue {
                    name: "MaxNumberOfMessagesPerSecond".to_string(),
                    value: r.to_string(),
                    reason: "Must be between 1 and 500.".to_string(),
                })
            }
            Some(r) => Some(r as u32),
            None => None,
        };
        let tasks = self.store.move_tasks().await?;
        if tasks
            .iter()
            .any(|t| t.source == source && t.status == MoveTaskStatus::Running)
        {
            return Err(QueueError::InvalidParameter(
                "There is already a task running. Only one active task is allowed for a source queue arn at a given time."
                    .to_string(),
            ));
        }
        let now = self.clock.now_millis();
        let counts = self.store.message_counts(&source, now, i64::MIN).await?;
        let task = MoveTaskRecord {
            handle: encode_handle(&input.source_arn),
            source,
            destination,
            max_per_second: rate,
            status: MoveTaskStatus::Running,
            moved: 0,
            to_move: counts.visible + counts.in_flight + counts.delayed,
            started_at: now,
            failure_reason: None,
        };
        self.store.put_move_task(task.clone()).await?;
        spawn_mover(self.mover_context(), task.handle.clone());
        Ok(StartMessageMoveTaskOutput {
            task_handle: task.handle,
        })
    }

    pub(crate) async fn cancel_message_move_task(
        &self,
        input: CancelMessageMoveTaskInput,
    ) -> Result<CancelMessageMoveTaskOutput, QueueError> {
        // SQS reads the handle before looking for the task: a handle it cannot read is an invalid
        // value, and one whose source queue is gone names a resource that does not exist.
        let source_arn = handle_source(&input.task_handle).ok_or_else(|| {
            QueueError::InvalidParameter("Value for parameter TaskHandle is invalid.".to_string())
        })?;
        let source = parse_queue_arn(&source_arn).ok_or_else(|| not_found("SourceArn"))?;
        if self.store.get_queue(&source).await?.is_none() {
            return Err(not_found("SourceArn"));
        }
        let cancelling = loop {
            let task = self
                .store
                .move_tasks()
                .await?
                .into_iter()
                .find(|t| t.handle == input.task_handle)
                .ok_or_else(|| QueueError::ResourceNotFound("Task does not exist.".to_string()))?;
            if task.status != MoveTaskStatus::Running {
                return Err(QueueError::InvalidParameter(
                    "Only active tasks can be cancelled.".to_string(),
                ));
            }
            let cancelling = MoveTaskRecord {
                status: MoveTaskStatus::Cancelling,
                ..task.clone()
            };
            if self
                .store
                .replace_move_task(&task, cancelling.clone(), None)
                .await?
            {
                break cancelling;
            }
            // The runner stored its progress (or the task ended) meanwhile: look again.
        };
        self.end_unrun_cancel(&cancelling.handle).await?;
        Ok(CancelMessageMoveTaskOutput {
            approximate_number_of_messages_moved: cancelling.moved as i64,
        })
    }

    /// Ends a cancelled task at once when no process runs it: a made-up owner gets its lease only if
    /// no runner's lease lasts, and holds it no longer than now. A task being run is left CANCELLING
    /// for its runner to end.
    async fn end_unrun_cancel(&self, handle: &str) -> Result<(), QueueError> {
        let now = self.clock.now_millis();
        let owner = uuid::Uuid::new_v4().to_string();
        let Some(task) = self.store.claim_move_task(handle, &owner, now, now).await? else {
            return Ok(());
        };
        if task.status == MoveTaskStatus::Cancelling {
            let cancelled = MoveTaskRecord {
                status: MoveTaskStatus::Cancelled,
                ..task.clone()
            };
            self.store
                .replace_move_task(&task, cancelled, Some(&owner))
                .await?;
        }
        Ok(())
    }

    pub(crate) async fn list_message_move_tasks(
        &self,
        input: ListMessageMoveTasksInput,
    ) -> Result<ListMessageMoveTasksOutput, QueueError> {
        let max = input.max_results.unwrap_or(1);
        if !(1..=MAX_LISTED).contains(&max) {
            return Err(QueueError::InvalidParameterValue {
                name: "MaxResults".to_string(),
                value: max.to_string(),
                reason: "You must enter a number that's between 1 and 10.".to_string(),
            });
        }
        let source = parse_queue_arn(&input.source_arn).ok_or_else(|| not_found("SourceArn"))?;
        if self.store.get_queue(&source).await?.is_none() {
            return Err(not_found("SourceArn"));
        }
        let mut tasks: Vec<MoveTaskRecord> = self
            .store
            .move_tasks()
            .await?
            .into_iter()
            .filter(|t| t.source == source)
            .collect();
        // Most recent first.
        tasks.sort_by(|a, b| {
            b.started_at
                .cmp(&a.started_at)
                .then_with(|| b.handle.cmp(&a.handle))
        });
        let results = tasks
            .into_iter()
            .take(max as usize)
            .map(|t| ListMessageMoveTasksResultEntry {
                task_handle: (t.status == MoveTaskStatus::Running).then_some(t.handle),
                status: t.status.name().to_string(),
                source_arn: queue_arn(&t.source),
                destination_arn: t.destination.as_ref().map(queue_arn),
                max_number_of_messages_per_second: t.max_per_second.map(i64::from),
                approximate_number_of_messages_moved: t.moved as i64,
                approximate_number_of_messages_to_move: Some(t.to_move as i64),
                failure_reason: t.failure_reason,
                started_timestamp: t.started_at,
            })
            .collect();
        Ok(ListMessageMoveTasksOutput { results })
    }

    /// Takes over the tasks nobody runs now (those a previous run left, and those whose runner
    /// stopped), and from then on looks for such tasks every quarter of the lease, until the server
    /// shuts down or the service is dropped. Returns how many tasks it took over now.
    pub async fn resume_move_tasks(&self) -> Result<usize, QueueError> {
        let cx = self.mover_context();
        let adopted = adopt(&cx).await?;
        let mut adopter = self
            .adopter
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if adopter.is_none() {
            *adopter = Some(tokio::spawn(adopt_periodically(cx)).abort_handle());
        }
        Ok(adopted)
    }

    fn mover_context(&self) -> MoverContext {
        MoverContext {
            store: self.store.clone(),
            clock: self.clock.clone(),
            waiters: self.waiters.clone(),
            movers: self.movers.clone(),
        }
    }
}

/// Starts a runner for every active task whose lease this process can take, and that it does not
/// run already. Returns how many it started.
async fn adopt(cx: &MoverContext) -> Result<usize, QueueError> {
    let mut adopted = 0;
    for task in cx.store.move_tasks().await? {
        let active = matches!(
            task.status,
            MoveTaskStatus::Running | MoveTaskStatus::Cancelling
        );
        if !active || cx.movers.running().contains(&task.handle) {
            continue;
        }
        let now = cx.clock.now_millis();
        let lease_until = now.saturating_add(cx.movers.lease_millis());
        if cx
            .store
            .claim_move_task(&task.handle, &cx.movers.owner, now, lease_until)
            .await?
            .is_some()
        {
            spawn_mover(cx.clone(), task.handle);
            adopted += 1;
        }
    }
    Ok(adopted)
}

async fn adopt_periodically(cx: MoverContext) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(cx.movers.adopt_every()) => {}
            _ = cx.waiters.shutting_down() => return,
        }
        match adopt(&cx).await {
            Ok(0) => {}
            Ok(adopted) => tracing::info!(tasks = adopted, "message move tasks taken over"),
            Err(e) => {
                tracing::warn!(error = %e, "looking for message move tasks to take over failed")
            }
        }
    }
}

/// Runs the task in the background unless this process runs it already.
fn spawn_mover(cx: MoverContext, handle: String) {
    if !cx.movers.running().insert(handle.clone()) {
        return;
    }
    tokio::spawn(async move {
        if let Err(e) = run(&cx, &handle).await {
            tracing::warn!(error = %e, "message move task stopped on an error");
        }
        cx.movers.running().remove(&handle);
    });
}

/// The content a message has in the queue it is moved back to: a new message there (a new message id,
/// sent now), without the dead-letter source.
fn redriven(content: &MessageContent, now: i64) -> MessageContent {
    let mut moved = content.clone();
    moved.message_id = uuid::Uuid::new_v4().to_string();
    moved.sent_at = now;
    moved.enqueued_at = now;
    moved.dead_letter_move = None;
    moved
        .system_attributes
        .retain(|a| a.name != DEAD_LETTER_SOURCE);
    moved
}

fn original_source(content: &MessageContent) -> Option<QueueKey> {
    content
        .system_attributes
        .iter()
        .find(|a| a.name == DEAD_LETTER_SOURCE)
        .and_then(|a| match &a.value {
            sluice_store::AttributeValue::String(arn) => parse_queue_arn(arn),
            sluice_store::AttributeValue::Binary(_) => None,
        })
}

/// What one step of a task came to.
enum Step {
    /// It moved this many messages (perhaps none) and goes on.
    Moved(u64),
    /// The task ends with this status and failure reason, after moving this many messages.
    Ends(MoveTaskStatus, Option<&'static str>, u64),
}

/// Looks at the next visible messages of the task's source and moves each that is still there.
async fn step(cx: &MoverContext, task: &MoveTaskRecord) -> Result<Step, QueueError> {
    const NO_QUEUE: &str = "AWS.SimpleQueueService.NonExistentQueue";
    let failed = |reason, moved| Ok(Step::Ends(MoveTaskStatus::Failed, Some(reason), moved));
    let size = task
        .max_per_second
        .map_or(STEP, |r| (r as usize).clamp(1, STEP));
    let now = cx.clock.now_millis();
    let candidates = match cx.store.peek_visible(&task.source, size, now).await {
        Ok(found) => found,
        Err(sluice_store::StoreError::QueueNotFound) => return failed(NO_QUEUE, 0),
        Err(e) => return Err(e.into()),
    };
    if candidates.is_empty() {
        return Ok(Step::Ends(MoveTaskStatus::Completed, None, 0));
    }
    let mut moved = 0;
    for (seq, content) in candidates {
        let Some(destination) = task
            .destination
            .clone()
            .or_else(|| original_source(&content))
        else {
            return failed(
                "The message has no original source queue to move back to.",
                moved,
            );
        };
        // The store never moves a message onto its own queue: such a task could only go round.
        if destination == task.source {
            return failed(SAME_QUEUE, moved);
        }
        match cx
            .store
            .move_message(
                &task.source,
                seq,
                &destination,
                redriven(&content, now),
                now,
            )
            .await
        {
            Ok(true) => {
                moved += 1;
                cx.waiters.wake(&destination);
            }
            Ok(false) => {}
            Err(sluice_store::StoreError::QueueNotFound) => return failed(NO_QUEUE, moved),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Step::Moved(moved))
}

/// Runs the task while this process holds its lease. Every write is conditional on the lease and on
/// the record being the one read at the start of the step, so a cancel stored meanwhile is never
/// overwritten: the write fails, and the next step's claim reads the cancel.
async fn run(cx: &MoverContext, handle: &str) -> Result<(), QueueError> {
    let owner = cx.movers.owner.as_str();
    let started = tokio::time::Instant::now();
    // Messages this runner moved, which its pace counts, and those of them not yet in the record.
    let mut moved_here: u64 = 0;
    let mut unsaved: u64 = 0;
    loop {
        let now = cx.clock.now_millis();
        // A server shutting down leaves the task running, its progress saved, and lets its lease go at
        // once, so that another process (or this one's next start) takes it over without waiting.
        if cx.waiters.is_shutting_down() {
            cx.store.claim_move_task(handle, owner, now, now).await?;
            return Ok(());
        }
        let lease_until = now.saturating_add(cx.movers.lease_millis());
        let Some(task) = cx
            .store
            .claim_move_task(handle, owner, now, lease_until)
            .await?
        else {
            // It ended, or another process took it over.
            return Ok(());
        };
        let (status, reason, moved) = if task.status == MoveTaskStatus::Cancelling {
            (MoveTaskStatus::Cancelled, None, 0)
        } else {
            match step(cx, &task).await? {
                Step::Moved(0) if unsaved == 0 => {
                    // Nothing changed, so there is nothing to write; the messages seen went elsewhere
                    // meanwhile, and the next look finds what is left.
                    tokio::select! {
                        _ = tokio::time::sleep(IDLE_PAUSE) => {}
                        _ = cx.waiters.shutting_down() => {}
                    }
                    continue;
                }
                Step::Moved(moved) => (MoveTaskStatus::Running, None, moved),
                Step::Ends(status, reason, moved) => (status, reason, moved),
            }
        };
        moved_here += moved;
        unsaved += moved;
        let next = MoveTaskRecord {
            status,
            moved: task.moved + unsaved,
            failure_reason: reason.map(str::to_string).or(task.failure_reason.clone()),
            ..task.clone()
        };
        if !cx.store.replace_move_task(&task, next, Some(owner)).await? {
            continue;
        }
        unsaved = 0;
        if status != MoveTaskStatus::Running {
            return Ok(());
        }
        // Keep to the requested rate: the n-th message moves no earlier than n / rate seconds in.
        if let Some(rate) = task.max_per_second {
            let due = Duration::from_secs_f64(moved_here as f64 / f64::from(rate));
            tokio::select! {
                _ = tokio::time::sleep_until(started + due) => {}
                _ = cx.waiters.shutting_down() => {}
            }
        } else {
            tokio::task::yield_now().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;
    use sluice_store::{
        CreateOutcome, DeleteOutcome, Deletion, MemoryStore, MessageCounts, NewMessage,
        QueueRecord, ReceiveAttempt, ReceiveOutcome, ReceiveRequest, Redrive, SecurityKey,
        SecurityRecord, SecurityWrite, SendOutcome, StoreError, VisibilityChange,
        VisibilityOutcome,
    };

    use super::*;
    use sluice_model::ManualClock;

    /// Task records written before a mover is taken to be spinning.
    const WRITE_LIMIT: usize = 100;

    /// The memory store, counting task-record writes (and refusing them past `WRITE_LIMIT`, so a mover
    /// that writes in a loop stops with an error instead of running forever), and, when `stuck`, never
    /// moving a message.
    struct Watched {
        inner: MemoryStore,
        stuck: bool,
        task_writes: AtomicUsize,
    }

    #[async_trait]
    impl Store for Watched {
        async fn create_queue(&self, record: QueueRecord) -> Result<CreateOutcome, StoreError> {
            self.inner.create_queue(record).await
        }
        async fn security_record(
            &self,
            key: &SecurityKey,
        ) -> Result<Option<SecurityRecord>, StoreError> {
            self.inner.security_record(key).await
        }
        async fn security_records(
            &self,
            kind: &str,
            prefix: &str,
        ) -> Result<Vec<SecurityRecord>, StoreError> {
            self.inner.security_records(kind, prefix).await
        }
        async fn write_security(&self, batch: Vec<SecurityWrite>) -> Result<(), StoreError> {
            self.inner.write_security(batch).await
        }
        async fn get_queue(&self, key: &QueueKey) -> Result<Option<Arc<QueueRecord>>, StoreError> {
            self.inner.get_queue(key).await
        }
        async fn list_queues(
            &self,
            account_id: &str,
            region: &str,
            prefix: &str,
            after: Option<&str>,
            limit: usize,
        ) -> Result<Vec<QueueRecord>, StoreError> {
            self.inner
                .list_queues(account_id, region, prefix, after, limit)
                .await
        }
        async fn all_queues(&self) -> Result<Vec<QueueKey>, StoreError> {
            self.inner.all_queues().await
        }
        async fn replace_queue(&self, record: QueueRecord) -> Result<QueueRecord, StoreError> {
            self.inner.replace_queue(record).await
        }
        async fn delete_queue(&self, key: &QueueKey, now: i64) -> Result<bool, StoreError> {
            self.inner.delete_queue(key, now).await
        }
        async fn deleted_at(&self, key: &QueueKey) -> Result<Option<i64>, StoreError> {
            self.inner.deleted_at(key).await
        }
        async fn send_messages(
            &self,
            key: &QueueKey,
            messages: Vec<NewMessage>,
            now: i64,
        ) -> Result<Vec<SendOutcome>, StoreError> {
            self.inner.send_messages(key, messages, now).await
        }
        async fn receive_messages(
            &self,
            key: &QueueKey,
            request: ReceiveRequest,
            redrive: Option<&Redrive>,
        ) -> Result<ReceiveOutcome, StoreError> {
            self.inner.receive_messages(key, request, redrive).await
        }
        async fn delete_messages(
            &self,
            key: &QueueKey,
            deletions: &[Deletion],
        ) -> Result<Vec<DeleteOutcome>, StoreError> {
            self.inner.delete_messages(key, deletions).await
        }
        async fn retime_unreceived(
            &self,
            key: &QueueKey,
            delay: i64,
            now: i64,
        ) -> Result<(), StoreError> {
            self.inner.retime_unreceived(key, delay, now).await
        }
        async fn change_visibility(
            &self,
            key: &QueueKey,
            changes: &[VisibilityChange],
        ) -> Result<Vec<VisibilityOutcome>, StoreError> {
            self.inner.change_visibility(key, changes).await
        }
        async fn purge_messages(&self, key: &QueueKey) -> Result<u64, StoreError> {
            self.inner.purge_messages(key).await
        }
        async fn message_counts(
            &self,
            key: &QueueKey,
            now: i64,
            expire_before: i64,
        ) -> Result<MessageCounts, StoreError> {
            self.inner.message_counts(key, now, expire_before).await
        }
        async fn queue_gauges(
            &self,
            key: &QueueKey,
            now: i64,
            expire_before: i64,
        ) -> Result<sluice_store::QueueGauges, StoreError> {
            self.inner.queue_gauges(key, now, expire_before).await
        }
        async fn peek_visible(
            &self,
            key: &QueueKey,
            max: usize,
            now: i64,
        ) -> Result<Vec<(u64, Arc<MessageContent>)>, StoreError> {
            self.inner.peek_visible(key, max, now).await
        }
        async fn move_message(
            &self,
            from: &QueueKey,
            seq: u64,
            to: &QueueKey,
            content: MessageContent,
            now: i64,
        ) -> Result<bool, StoreError> {
            if self.stuck {
                return Ok(false);
            }
            self.inner.move_message(from, seq, to, content, now).await
        }
        async fn put_move_task(&self, task: MoveTaskRecord) -> Result<(), StoreError> {
            self.count_write()?;
            self.inner.put_move_task(task).await
        }
        async fn move_tasks(&self) -> Result<Vec<MoveTaskRecord>, StoreError> {
            self.inner.move_tasks().await
        }
        async fn claim_move_task(
            &self,
            handle: &str,
            owner: &str,
            now: i64,
            lease_until: i64,
        ) -> Result<Option<MoveTaskRecord>, StoreError> {
            self.inner
                .claim_move_task(handle, owner, now, lease_until)
                .await
        }
        async fn replace_move_task(
            &self,
            expected: &MoveTaskRecord,
            task: MoveTaskRecord,
            owner: Option<&str>,
        ) -> Result<bool, StoreError> {
            self.count_write()?;
            self.inner.replace_move_task(expected, task, owner).await
        }
        async fn record_receive_attempt(
            &self,
            key: &QueueKey,
            id: &str,
            attempt: ReceiveAttempt,
            now: i64,
        ) -> Result<(), StoreError> {
            self.inner
                .record_receive_attempt(key, id, attempt, now)
                .await
        }
        async fn receive_attempt(
            &self,
            key: &QueueKey,
            id: &str,
            now: i64,
        ) -> Result<Option<ReceiveAttempt>, StoreError> {
            self.inner.receive_attempt(key, id, now).await
        }
        async fn spoil_receive_attempts(
            &self,
            key: &QueueKey,
            seqs: &[u64],
        ) -> Result<(), StoreError> {
            self.inner.spoil_receive_attempts(key, seqs).await
        }
        async fn server_secret(&self) -> Result<[u8; 32], StoreError> {
            self.inner.server_secret().await
        }
        async fn flush(&self) -> Result<(), StoreError> {
            self.inner.flush().await
        }
    }

    impl Watched {
        fn count_write(&self) -> Result<(), StoreError> {
            if self.task_writes.fetch_add(1, Ordering::SeqCst) >= WRITE_LIMIT {
                return Err(StoreError::Backend("task record written in a loop".into()));
            }
            Ok(())
        }
    }

    fn key(name: &str) -> QueueKey {
        QueueKey {
            account_id: "000000000000".into(),
            region: "us-east-1".into(),
            name: name.into(),
        }
    }

    fn record(name: &str) -> QueueRecord {
        QueueRecord {
            key: key(name),
            attributes: BTreeMap::new(),
            tags: BTreeMap::new(),
            created_timestamp: 0,
            last_modified_timestamp: 0,
            last_purge_millis: None,
            fifo: false,
            incarnation: 1,
            version: 0,
        }
    }

    /// A store with a dead-letter queue holding one visible message whose original source is `origin`,
    /// and a mover context over it.
    async fn setup(stuck: bool, origin: &str) -> (Arc<Watched>, MoverContext) {
        let store = Arc::new(Watched {
            inner: MemoryStore::new(),
            stuck,
            task_writes: AtomicUsize::new(0),
        });
        for name in ["dlq", "source"] {
            store.create_queue(record(name)).await.unwrap();
        }
        let content = MessageContent {
            message_id: "m".into(),
            body: "b".into(),
            attributes: Vec::new(),
            system_attributes: vec![sluice_store::MessageAttribute {
                name: DEAD_LETTER_SOURCE.into(),
                data_type: "String".into(),
                value: sluice_store::AttributeValue::String(queue_arn(&key(origin))),
            }],
            md5_of_body: String::new(),
            md5_of_attributes: None,
            sender_id: "s".into(),
            sent_at: 0,
            enqueued_at: 0,
            group_id: None,
            deduplication_id: None,
            dead_letter_move: None,
        };
        let message = NewMessage {
            content: Arc::new(content),
            visible_at: 0,
            deduplication: None,
        };
        store
            .send_messages(&key("dlq"), vec![message], 0)
            .await
            .unwrap();
        let cx = MoverContext {
            store: store.clone(),
            clock: Arc::new(ManualClock::new(1_000)),
            waiters: Arc::default(),
            movers: Arc::new(Movers::new(DEFAULT_LEASE)),
        };
        (store, cx)
    }

    fn task(destination: Option<&str>) -> MoveTaskRecord {
        MoveTaskRecord {
            handle: "h".into(),
            source: key("dlq"),
            destination: destination.map(key),
            max_per_second: None,
            status: MoveTaskStatus::Running,
            moved: 0,
            to_move: 1,
            started_at: 0,
            failure_reason: None,
        }
    }

    /// Stores the task (without counting the write) and runs it in the background.
    async fn started(
        store: &Arc<Watched>,
        cx: &MoverContext,
        task: MoveTaskRecord,
    ) -> tokio::task::JoinHandle<Result<(), QueueError>> {
        store.inner.put_move_task(task.clone()).await.unwrap();
        let cx = cx.clone();
        tokio::spawn(async move { run(&cx, &task.handle).await })
    }

    #[tokio::test(start_paused = true)]
    async fn a_mover_that_moves_nothing_does_not_rewrite_its_record() {
        let (store, cx) = setup(true, "source").await;
        let mut runner = started(&store, &cx, task(None)).await;
        let ran = tokio::time::timeout(Duration::from_secs(60), &mut runner).await;
        assert!(ran.is_err(), "the task ended: {ran:?}");
        assert_eq!(store.task_writes.load(Ordering::SeqCst), 0);
        // It still sees a cancel stored meanwhile (by whichever process), and ends cancelled.
        let running = store.move_tasks().await.unwrap().remove(0);
        let cancelling = MoveTaskRecord {
            status: MoveTaskStatus::Cancelling,
            ..running.clone()
        };
        assert!(store
            .inner
            .replace_move_task(&running, cancelling, None)
            .await
            .unwrap());
        let ran = tokio::time::timeout(Duration::from_secs(5), runner).await;
        assert!(matches!(ran, Ok(Ok(Ok(())))), "{ran:?}");
        let tasks = store.move_tasks().await.unwrap();
        assert_eq!(tasks[0].status, MoveTaskStatus::Cancelled);
    }

    #[tokio::test(start_paused = true)]
    async fn a_task_moving_messages_onto_their_own_queue_fails() {
        for (destination, origin) in [(Some("dlq"), "source"), (None, "dlq")] {
            let (store, cx) = setup(false, origin).await;
            let runner = started(&store, &cx, task(destination)).await;
            let ran = tokio::time::timeout(Duration::from_secs(60), runner).await;
            assert!(matches!(ran, Ok(Ok(Ok(())))), "{ran:?}");
            let tasks = store.move_tasks().await.unwrap();
            assert_eq!(tasks[0].status, MoveTaskStatus::Failed);
            assert_eq!(tasks[0].failure_reason.as_deref(), Some(SAME_QUEUE));
            assert_eq!(store.task_writes.load(Ordering::SeqCst), 1);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_task_held_by_another_runner_is_left_to_it_until_its_lease_runs_out() {
        let (store, cx) = setup(false, "source").await;
        store.inner.put_move_task(task(None)).await.unwrap();
        let clock = Arc::new(ManualClock::new(1_000));
        let cx = MoverContext {
            clock: clock.clone(),
            ..cx
        };
        let lease = i64::try_from(DEFAULT_LEASE.as_millis()).unwrap();
        let other = store
            .claim_move_task("h", "another process", 1_000, 1_000 + lease)
            .await
            .unwrap();
        assert!(other.is_some());
        assert_eq!(adopt(&cx).await.unwrap(), 0);
        run(&cx, "h").await.unwrap();
        assert_eq!(store.move_tasks().await.unwrap()[0].moved, 0);
        clock.advance_millis(lease);
        assert_eq!(adopt(&cx).await.unwrap(), 1);
        for _ in 0..100 {
            if store.move_tasks().await.unwrap()[0].status != MoveTaskStatus::Running {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let done = store.move_tasks().await.unwrap().remove(0);
        assert_eq!((done.status, done.moved), (MoveTaskStatus::Completed, 1));
        // The process it was taken from writes nothing more.
        let stale = MoveTaskRecord {
            moved: 7,
            ..done.clone()
        };
        assert!(!store
            .replace_move_task(&done, stale, Some("another process"))
            .await
            .unwrap());
    }
}
