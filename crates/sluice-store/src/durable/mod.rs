//! The embedded durable engine: a journal of checksummed records in the data directory, with every
//! index in memory and message bodies left on disk once the memory budget for them is spent.
//!
//! - Every mutation appends a record and waits for its group commit before returning, so whatever a
//!   response acknowledges is on disk. Records of one queue are appended under that queue's lock, so
//!   the journal's order is the order the state changed in.
//! - Recovery replays the segments in order. A record cut short at the very end of the newest segment
//!   (a torn write) is dropped and the file truncated; damage anywhere else, or a file that is not a
//!   journal, stops start-up with an error naming the file, which is left as it is.
//! - Space is reclaimed from the oldest segment: once few of its messages and security records are
//!   still live, those are written again at the head of the journal with their current state, and the
//!   segment is deleted.
//! - A write or sync that fails (EIO, ENOSPC, EROFS) takes the store out of service: every request,
//!   and every commit not yet durable, fails with `StoreError::Unavailable`, so nothing the failed
//!   writes changed in memory is ever served. The maintenance thread then retries, with backoff,
//!   until the directory can be written again: it cuts the journal back to its last durable
//!   position, replays it with the start-up recovery and serves from the rebuilt state. Whatever
//!   was acknowledged was durable, so it all survives; nothing unacknowledged does.

pub(crate) mod codec;
mod disk;
#[doc(hidden)]
pub mod fuzzing;
mod journal;
mod maintenance;
mod metrics;
mod recovery;
mod security;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use prometheus_client::registry::Registry;

use self::codec::{QueuePatch, Record, SecurityChange, StateFields};
use self::disk::Disk;
pub use self::disk::{DiskFaults, Fault};

use self::journal::{Commit, Journal, JournalMetrics, Location};
use self::security::SecurityState;
use crate::coordination::LocalCoordination;
use crate::queue_messages::{Deduplicated, DeliveryState, Payload, QueueMessages};
use crate::{
    list_page, lock, lock_pair, CreateOutcome, DeadLetterMove, DeleteOutcome, Deletion,
    MessageContent, MessageCounts, MoveTaskRecord, NewMessage, QueueGauges, QueueKey, QueueRecord,
    ReceiveAttempt, ReceiveOutcome, ReceiveRequest, ReceivedMessage, Redrive, SecurityKey,
    SecurityRecord, SecurityWrite, SendOutcome, Store, StoreError, VisibilityChange,
    VisibilityOutcome,
};

/// Message bodies kept in memory across all queues before the oldest are left to the disk.
const HOT_BYTES_BUDGET: usize = 64 * 1024 * 1024;
/// How long a deleted queue's name is remembered (the 60-second reuse rule needs no more).
const TOMBSTONE_MILLIS: i64 = 60_000;
const META_FILE: &str = "sluice.meta";
const LOCK_FILE: &str = "sluice.lock";
/// How long an open waits for the data directory's lock before calling it held by another store.
const LOCK_WAIT: Duration = Duration::from_millis(500);
const META_HEADER: &str = "sluice-data 1";

/// A message as the engine holds it: where its latest full record is, and its content while hot.
#[derive(Clone, Debug)]
struct Stored {
    location: Location,
    enqueued_at: i64,
    group: Option<Arc<str>>,
    dead_letter_move: Option<DeadLetterMove>,
    hot: Option<Arc<MessageContent>>,
}

impl Payload for Stored {
    fn enqueued_at(&self) -> i64 {
        self.enqueued_at
    }

    fn group(&self) -> Option<&Arc<str>> {
        self.group.as_ref()
    }

    fn dead_letter_move(&self) -> Option<DeadLetterMove> {
        self.dead_letter_move
    }
}

fn content_bytes(content: &MessageContent) -> usize {
    content.body.len() + 256
}

struct QueueState {
    incarnation: u64,
    messages: QueueMessages<Stored>,
    /// Hot messages in send order, the order their bodies are let go of.
    hot: VecDeque<u64>,
}

struct Catalog {
    queues: BTreeMap<QueueKey, (Arc<QueueRecord>, Location)>,
    /// Deleted queues: when, which incarnation, and where that is recorded.
    tombstones: HashMap<QueueKey, (i64, u64, Location)>,
    /// Message-move tasks by handle, and where each is recorded.
    move_tasks: BTreeMap<String, (MoveTaskRecord, Location)>,
}

struct Inner {
    journal: Journal,
    /// Queue records and deleted-queue tombstones. Held briefly; never while a queue lock is taken.
    catalog: Mutex<Catalog>,
    /// Each queue's messages by incarnation, each behind its own lock so queues do not contend.
    queues: Mutex<HashMap<u64, Arc<Mutex<QueueState>>>>,
    /// Security records. Held while a batch is checked, appended and applied, so that of two writers
    /// expecting the same version only one wins. Never taken while another lock is held; `live` is
    /// taken inside it.
    security: Mutex<SecurityState>,
    /// Bytes of message content held in memory.
    hot_bytes: AtomicUsize,
    /// Bytes of live records in each segment, which decides when a segment is worth reclaiming.
    live: Mutex<BTreeMap<u64, u64>>,
    /// Segment files on disk.
    segments: Mutex<BTreeSet<u64>>,
    segment_bytes: u64,
}

/// Tuning of the durable engine; the defaults suit production.
#[derive(Clone, Copy, Debug)]
pub struct DurableOptions {
    /// Bytes after which the journal starts a new segment.
    pub segment_bytes: u64,
}

impl Default for DurableOptions {
    fn default() -> Self {
        DurableOptions {
            segment_bytes: journal::SEGMENT_TARGET,
        }
    }
}

/// What the store and its maintenance thread share.
struct Engine {
    dir: PathBuf,
    options: DurableOptions,
    disk: Disk,
    secret: [u8; 32],
    /// Kept across rebuilds, which start a new journal.
    metrics: JournalMetrics,
    /// The state requests are served from, replaced whole when it is rebuilt after a failed write. A
    /// std `RwLock`: requests hold the read side only to clone the `Arc`; the maintenance thread takes
    /// the write side once per rebuild.
    current: RwLock<Arc<Inner>>,
    stopping: AtomicBool,
}

impl Engine {
    fn current(&self) -> Arc<Inner> {
        self.current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

pub struct DurableStore {
    engine: Arc<Engine>,
    /// Who runs each move task, and kept FIFO receive answers. In memory only: one process owns the
    /// directory and its runners end with it, so no lease has anything to say after a restart; and
    /// answers serve retries within five minutes, where a restart in between makes a retry a new
    /// receive, which the journal's cost for every FIFO receive would not be worth. Taken inside the
    /// catalog lock, so that a claim or a conditional write sees the lease and the record at one
    /// instant, and a deleted queue keeps no answer.
    coordination: LocalCoordination,
    /// Reclaims segments and brings the store back after a failed write.
    maintenance: Mutex<Option<std::thread::JoinHandle<()>>>,
    _lock: File,
}

/// Why the data directory could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot use data directory {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("data directory {path} cannot be written: {source}")]
    NotWritable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("data directory {0} is in use by another sluice process")]
    Locked(PathBuf),
    #[error("{path} is not a sluice data file or is damaged: {reason}; it was left untouched")]
    Damaged { path: PathBuf, reason: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> OpenError + '_ {
    move |source| OpenError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

impl DurableStore {
    /// Opens (or creates) the data directory, recovers its state and starts the journal.
    pub fn open(dir: &Path) -> Result<DurableStore, OpenError> {
        Self::open_with(dir, DurableOptions::default())
    }

    pub fn open_with(dir: &Path, options: DurableOptions) -> Result<DurableStore, OpenError> {
        Self::open_on(dir, options, Disk::default())
    }

    /// Opens the store with `faults` injected into every write and sync it makes, for tests of how it
    /// copes with a failing disk.
    pub fn open_with_faults(
        dir: &Path,
        options: DurableOptions,
        faults: Arc<DiskFaults>,
    ) -> Result<DurableStore, OpenError> {
        Self::open_on(dir, options, Disk::new(Some(faults)))
    }

    fn open_on(dir: &Path, options: DurableOptions, disk: Disk) -> Result<DurableStore, OpenError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock_file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io(&lock_path))?;
        // A lock its holder just released can stay held for a moment: a process forked meanwhile
        // (to run a command) shares the descriptor until it executes. Another live store holds it
        // for good.
        let waited_since = Instant::now();
        while lock_file.try_lock().is_err() {
            if waited_since.elapsed() >= LOCK_WAIT {
                return Err(OpenError::Locked(dir.to_path_buf()));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        // Found now, a directory that cannot be written stops start-up instead of failing every
        // request later.
        disk.probe(dir).map_err(|source| OpenError::NotWritable {
            path: dir.to_path_buf(),
            source,
        })?;
        let secret = load_or_create_meta(dir)?;
        let recovered = recovery::recover(dir)?;
        let (queue_count, message_count, security_count, truncated_tail) = (
            recovered.queue_count,
            recovered.message_count,
            recovered.security.len(),
            recovered.truncated_tail,
        );
        let metrics = JournalMetrics::default();
        let inner = Inner::start(dir, options, &disk, &metrics, recovered).map_err(|source| {
            OpenError::NotWritable {
                path: dir.to_path_buf(),
                source,
            }
        })?;
        let engine = Arc::new(Engine {
            dir: dir.to_path_buf(),
            options,
            disk,
            secret,
            metrics,
            current: RwLock::new(Arc::new(inner)),
            stopping: AtomicBool::new(false),
        });
        let maintained = engine.clone();
        let maintenance = std::thread::Builder::new()
            .name("sluice-maintenance".into())
            .spawn(move || maintenance::maintain(&maintained))
            .map_err(io(dir))?;
        tracing::info!(
            queues = queue_count,
            messages = message_count,
            security_records = security_count,
            truncated_tail,
            "data directory recovered"
        );
        Ok(DurableStore {
            engine,
            coordination: LocalCoordination::default(),
            maintenance: Mutex::new(Some(maintenance)),
            _lock: lock_file,
        })
    }

    /// Writes what is pending, stops background work and syncs. The store must not be used after.
    pub fn close(&self) {
        self.engine.stopping.store(true, Ordering::SeqCst);
        if let Some(maintenance) = lock(&self.maintenance).take() {
            maintenance.thread().unpark();
            let _ = maintenance.join();
        }
        self.engine.current().journal.close();
    }

    /// The state to serve a request from, unless the store is out of service.
    /// Removes the queue's messages enqueued before `expire_before`, then reads what is left.
    /// Expiry acknowledges nothing to a client, so it does not wait for its commit.
    fn read_unexpired<T>(
        &self,
        key: &QueueKey,
        expire_before: i64,
        read: impl FnOnce(&mut QueueMessages<Stored>) -> T,
    ) -> Result<T, StoreError> {
        let inner = &self.serving()?;
        let queue = inner.queue_state(key)?;
        let mut state = lock(&queue);
        let expired = state.messages.expire(expire_before);
        if !expired.is_empty() {
            for (_, stored) in &expired {
                inner.forget(stored);
            }
            inner.append(&[Record::Delete {
                queue: state.incarnation,
                seqs: expired.iter().map(|(seq, _)| *seq).collect(),
            }])?;
        }
        Ok(read(&mut state.messages))
    }

    fn serving(&self) -> Result<Arc<Inner>, StoreError> {
        let inner = self.engine.current();
        if inner.journal.is_broken() {
            if let Some(maintenance) = lock(&self.maintenance).as_ref() {
                maintenance.thread().unpark();
            }
            return Err(unavailable(
                "a write to the data directory failed; waiting until it can be written again",
            ));
        }
        Ok(inner)
    }

    /// Reclaims what it can from the oldest segments now; returns how many segments were removed.
    pub async fn compact_now(&self) -> Result<usize, StoreError> {
        let inner = self.serving()?;
        tokio::task::spawn_blocking(move || maintenance::compact(&inner))
            .await
            .map_err(backend)?
            .map_err(backend)
    }

    /// The segment files the journal currently has.
    pub fn segment_count(&self) -> usize {
        let inner = self.engine.current();
        let mut segments = lock(&inner.segments);
        segments.insert(inner.journal.active_segment());
        segments.len()
    }

    /// The number of the segment being appended to; it grows by one with each new segment.
    pub fn active_segment(&self) -> u64 {
        self.engine.current().journal.active_segment()
    }
}

impl Drop for DurableStore {
    fn drop(&mut self) {
        self.close();
    }
}

/// Reads the data directory's meta file (format and server secret), creating it in a new directory.
fn load_or_create_meta(dir: &Path) -> Result<[u8; 32], OpenError> {
    let path = dir.join(META_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => parse_meta(&text).ok_or_else(|| OpenError::Damaged {
            path: path.clone(),
            reason: "unrecognised contents".to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let has_journal = std::fs::read_dir(dir)
                .map_err(io(dir))?
                .filter_map(Result::ok)
                .any(|entry| {
                    entry
                        .file_name()
                        .to_str()
                        .and_then(journal::segment_number)
                        .is_some()
                });
            if has_journal {
                return Err(OpenError::Damaged {
                    path,
                    reason: "missing, while journal files exist".to_string(),
                });
            }
            let secret: [u8; 32] = rand::random();
            let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
            let tmp = dir.join(format!("{META_FILE}.tmp"));
            let write = || -> std::io::Result<()> {
                let mut file = File::create(&tmp)?;
                std::io::Write::write_all(
                    &mut file,
                    format!("{META_HEADER}\nsecret {hex}\n").as_bytes(),
                )?;
                file.sync_all()?;
                std::fs::rename(&tmp, &path)?;
                journal::sync_dir(dir)
            };
            write().map_err(io(&path))?;
            Ok(secret)
        }
        Err(e) => Err(OpenError::Io { path, source: e }),
    }
}

fn parse_meta(text: &str) -> Option<[u8; 32]> {
    let mut lines = text.lines();
    if lines.next()? != META_HEADER {
        return None;
    }
    let hex = lines.next()?.strip_prefix("secret ")?;
    if hex.len() != 64 {
        return None;
    }
    let mut secret = [0u8; 32];
    for (i, byte) in secret.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(secret)
}

impl Inner {
    /// The state to serve from, built from what recovery found, with a new journal segment (written
    /// and synced here) to append to.
    fn start(
        dir: &Path,
        options: DurableOptions,
        disk: &Disk,
        metrics: &JournalMetrics,
        recovered: recovery::Recovered,
    ) -> std::io::Result<Inner> {
        let journal = Journal::start(
            dir,
            recovered.next_segment,
            options.segment_bytes,
            disk.clone(),
            metrics.clone(),
        )?;
        let mut segments = recovered.segments;
        segments.insert(recovered.next_segment);
        Ok(Inner {
            journal,
            catalog: Mutex::new(Catalog {
                queues: recovered
                    .queues
                    .into_iter()
                    .map(|(key, (record, location))| (key, (Arc::new(record), location)))
                    .collect(),
                tombstones: recovered.tombstones,
                move_tasks: recovered.move_tasks,
            }),
            queues: Mutex::new(
                recovered
                    .messages
                    .into_iter()
                    .map(|(incarnation, messages)| {
                        let state = QueueState {
                            incarnation,
                            messages,
                            hot: VecDeque::new(),
                        };
                        (incarnation, Arc::new(Mutex::new(state)))
                    })
                    .collect(),
            ),
            security: Mutex::new(recovered.security),
            hot_bytes: AtomicUsize::new(0),
            live: Mutex::new(recovered.live),
            segments: Mutex::new(segments),
            segment_bytes: options.segment_bytes,
        })
    }

    fn append(&self, records: &[Record]) -> Result<(Vec<Location>, Commit), StoreError> {
        let frames: Vec<Vec<u8>> = records.iter().map(codec::encode).collect();
        self.journal.append(&frames).map_err(unavailable)
    }

    /// Appends a security batch as one record and applies it; the caller holds the security lock.
    fn record_security(
        &self,
        security: &mut SecurityState,
        changes: &[SecurityChange],
    ) -> Result<Commit, StoreError> {
        let (locations, commit) = self.append(&[Record::Security(changes.to_vec())])?;
        security.apply(changes, locations[0], &mut lock(&self.live));
        Ok(commit)
    }

    fn barrier(&self) -> Result<Commit, StoreError> {
        self.journal.barrier().map_err(unavailable)
    }

    /// Takes the store out of service because a mutation failed halfway: its in-memory changes can no
    /// longer be undone, so the state is rebuilt from the journal instead.
    fn abandon(&self, error: &StoreError) -> StoreError {
        self.journal
            .fail(&format!("a change failed after it began: {error}"));
        unavailable(error)
    }

    fn queue_state(&self, key: &QueueKey) -> Result<Arc<Mutex<QueueState>>, StoreError> {
        let incarnation = lock(&self.catalog)
            .queues
            .get(key)
            .map(|(record, _)| record.incarnation)
            .ok_or(StoreError::QueueNotFound)?;
        lock(&self.queues)
            .get(&incarnation)
            .cloned()
            .ok_or(StoreError::QueueNotFound)
    }

    fn add_live(&self, location: &Location) {
        *lock(&self.live).entry(location.segment).or_default() += u64::from(location.len);
    }

    /// Accounts for a message that left the queue.
    fn forget(&self, stored: &Stored) {
        if let Some(content) = &stored.hot {
            self.hot_bytes
                .fetch_sub(content_bytes(content), Ordering::Relaxed);
        }
        if let Some(live) = lock(&self.live).get_mut(&stored.location.segment) {
            *live = live.saturating_sub(u64::from(stored.location.len));
        }
    }

    /// Counts `content` as held in memory for message `seq`; `cool` lets go of it once it is on disk.
    fn hold(&self, hot: &mut VecDeque<u64>, seq: u64, content: &MessageContent) {
        self.hot_bytes
            .fetch_add(content_bytes(content), Ordering::Relaxed);
        hot.push_back(seq);
    }

    /// Adds a message that arrived by a move (recorded at `location`) to the queue it moved to.
    fn place_moved(
        &self,
        state: &mut QueueState,
        seq: u64,
        content: Arc<MessageContent>,
        delivery: DeliveryState,
        location: Location,
    ) {
        self.add_live(&location);
        self.hold(&mut state.hot, seq, &content);
        let stored = Stored {
            location,
            enqueued_at: content.enqueued_at,
            group: content.group_id.clone(),
            dead_letter_move: content.dead_letter_move,
            hot: Some(content),
        };
        state.messages.restore(seq, stored, delivery);
        self.cool(state);
    }

    /// Lets go of the oldest hot bodies of a queue while over budget, once they are on disk.
    fn cool(&self, state: &mut QueueState) {
        while self.hot_bytes.load(Ordering::Relaxed) > HOT_BYTES_BUDGET {
            let Some(&seq) = state.hot.front() else { break };
            let Some(stored) = state.messages.payload_mut(seq) else {
                state.hot.pop_front();
                continue;
            };
            if !self.journal.is_durable(&stored.location) {
                break;
            }
            if let Some(content) = stored.hot.take() {
                self.hot_bytes
                    .fetch_sub(content_bytes(&content), Ordering::Relaxed);
            }
            state.hot.pop_front();
        }
    }

    /// The content of message `seq` of `queue`, read through `stored`, a copy of its payload taken
    /// under the queue's lock. Reading happens after the lock is released, and meanwhile the
    /// compactor may have written the record again elsewhere and removed its segment: then the
    /// payload is looked up again, where the compactor left it.
    fn content_of(
        &self,
        queue: &Mutex<QueueState>,
        seq: u64,
        stored: &Stored,
    ) -> Result<Arc<MessageContent>, StoreError> {
        match self.content(stored) {
            Ok(content) => Ok(content),
            Err(first) => {
                let current = lock(queue)
                    .messages
                    .get(seq)
                    .map(|(current, _)| current.clone())
                    .filter(|current| current.location != stored.location || current.hot.is_some());
                match current {
                    Some(current) => self.content(&current),
                    None => Err(first),
                }
            }
        }
    }

    fn content(&self, stored: &Stored) -> Result<Arc<MessageContent>, StoreError> {
        if let Some(content) = &stored.hot {
            return Ok(content.clone());
        }
        let payload = self.journal.read(&stored.location).map_err(backend)?;
        match codec::decode(&payload) {
            Ok(Record::Message { content, .. } | Record::Move { content, .. }) => Ok(content),
            _ => Err(backend(format!(
                "record at offset {} of segment {} is not a message",
                stored.location.offset, stored.location.segment
            ))),
        }
    }
}

fn state_fields(state: DeliveryState) -> StateFields {
    StateFields {
        visible_at: state.visible_at,
        receive_count: state.receive_count,
        first_receive_at: state.first_receive_at.unwrap_or(i64::MIN),
        received_at: state.received_at,
    }
}

async fn committed(commit: Commit) -> Result<(), StoreError> {
    commit.wait().await.map_err(unavailable)
}

#[async_trait]
impl Store for DurableStore {
    async fn create_queue(&self, record: QueueRecord) -> Result<CreateOutcome, StoreError> {
        let inner = &self.serving()?;
        let commit = {
            let mut catalog = lock(&inner.catalog);
            if let Some((existing, _)) = catalog.queues.get(&record.key) {
                return Ok(CreateOutcome::Existing((**existing).clone()));
            }
            let (locations, commit) = inner.append(&[Record::QueuePut(record.clone())])?;
            catalog
                .queues
                .insert(record.key.clone(), (Arc::new(record.clone()), locations[0]));
            catalog.tombstones.remove(&record.key);
            let state = QueueState {
                incarnation: record.incarnation,
                messages: if record.fifo {
                    QueueMessages::fifo()
                } else {
                    QueueMessages::default()
                },
                hot: VecDeque::new(),
            };
            lock(&inner.queues).insert(record.incarnation, Arc::new(Mutex::new(state)));
            commit
        };
        committed(commit).await?;
        Ok(CreateOutcome::Created(record))
    }

    async fn get_queue(&self, key: &QueueKey) -> Result<Option<Arc<QueueRecord>>, StoreError> {
        Ok(lock(&self.serving()?.catalog)
            .queues
            .get(key)
            .map(|(r, _)| r.clone()))
    }

    async fn list_queues(
        &self,
        account_id: &str,
        region: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<QueueRecord>, StoreError> {
        let inner = self.serving()?;
        let catalog = lock(&inner.catalog);
        Ok(
            list_page(&catalog.queues, account_id, region, prefix, after, limit)
                .map(|(record, _)| (**record).clone())
                .collect(),
        )
    }

    async fn all_queues(&self) -> Result<Vec<QueueKey>, StoreError> {
        Ok(lock(&self.serving()?.catalog)
            .queues
            .keys()
            .cloned()
            .collect())
    }

    async fn replace_queue(&self, mut record: QueueRecord) -> Result<QueueRecord, StoreError> {
        let inner = &self.serving()?;
        let commit = {
            let mut catalog = lock(&inner.catalog);
            let (stored, full) = match catalog.queues.get(&record.key) {
                Some((stored, full)) if stored.version == record.version => (stored.clone(), *full),
                _ => return Err(StoreError::Conflict),
            };
            record.version += 1;
            // Only what changed is written; the queue's location stays that of its last whole record,
            // which the compactor writes whole again when it reclaims that record's segment.
            let (location, commit) = match QueuePatch::between(&stored, &record) {
                Some(patch) => (full, inner.append(&[Record::QueuePatch(patch)])?.1),
                None => {
                    let (locations, commit) = inner.append(&[Record::QueuePut(record.clone())])?;
                    (locations[0], commit)
                }
            };
            catalog
                .queues
                .insert(record.key.clone(), (Arc::new(record.clone()), location));
            commit
        };
        committed(commit).await?;
        Ok(record)
    }

    async fn delete_queue(&self, key: &QueueKey, now_millis: i64) -> Result<bool, StoreError> {
        let inner = &self.serving()?;
        let (commit, state) = {
            let mut catalog = lock(&inner.catalog);
            let Some((record, _)) = catalog.queues.remove(key) else {
                return Ok(false);
            };
            let (locations, commit) = inner.append(&[Record::QueueDelete {
                key: key.clone(),
                incarnation: record.incarnation,
                at: now_millis,
            }])?;
            catalog
                .tombstones
                .insert(key.clone(), (now_millis, record.incarnation, locations[0]));
            self.coordination.forget_queue(key);
            (commit, lock(&inner.queues).remove(&record.incarnation))
        };
        if let Some(state) = state {
            let mut state = lock(&state);
            for stored in state.messages.purge() {
                inner.forget(&stored);
            }
        }
        committed(commit).await?;
        Ok(true)
    }

    async fn deleted_at(&self, key: &QueueKey) -> Result<Option<i64>, StoreError> {
        Ok(lock(&self.serving()?.catalog)
            .tombstones
            .get(key)
            .map(|(at, _, _)| *at))
    }

    async fn send_messages(
        &self,
        key: &QueueKey,
        messages: Vec<NewMessage>,
        now: i64,
    ) -> Result<Vec<SendOutcome>, StoreError> {
        let inner = &self.serving()?;
        let queue = inner.queue_state(key)?;
        let (outcomes, commit) = {
            let mut state = lock(&queue);
            let mut outcomes = Vec::with_capacity(messages.len());
            let mut records = Vec::new();
            let mut appended = Vec::new();
            let mut next = state.messages.next_seq();
            for message in messages {
                if let Some(dedup) = &message.deduplication {
                    let earlier = appended.iter().find_map(|(m, seq): &(NewMessage, u64)| {
                        let d = m.deduplication.as_ref()?;
                        (d.scope == dedup.scope && d.id == dedup.id)
                            .then(|| (*seq, m.content.message_id.clone()))
                    });
                    let original = earlier.or_else(|| {
                        state
                            .messages
                            .duplicate_of(&dedup.scope, &dedup.id, now)
                            .map(|d| (d.seq, d.message_id))
                    });
                    if let Some((seq, message_id)) = original {
                        outcomes.push(SendOutcome::Duplicate { seq, message_id });
                        continue;
                    }
                }
                let seq = next;
                next += 1;
                records.push(Record::Message {
                    queue: state.incarnation,
                    seq,
                    state: StateFields {
                        visible_at: message.visible_at,
                        receive_count: 0,
                        first_receive_at: i64::MIN,
                        received_at: 0,
                    },
                    content: message.content.clone(),
                    deduplication: message
                        .deduplication
                        .as_ref()
                        .map(|d| (d.scope.clone(), d.id.clone(), now + d.window_millis)),
                });
                outcomes.push(SendOutcome::Appended(seq));
                appended.push((message, seq));
            }
            if records.is_empty() {
                // Every message was a duplicate of one that may not be on disk yet: answer once it is.
                (outcomes, inner.barrier()?)
            } else {
                let (locations, commit) = inner.append(&records)?;
                let mut hot_added = 0;
                let mut entries = Vec::with_capacity(appended.len());
                for ((message, seq), location) in appended.into_iter().zip(&locations) {
                    inner.add_live(location);
                    hot_added += content_bytes(&message.content);
                    if let Some(dedup) = &message.deduplication {
                        let entry = Deduplicated {
                            seq,
                            message_id: message.content.message_id.clone(),
                            expires_at: now + dedup.window_millis,
                            origin: location.segment,
                        };
                        state
                            .messages
                            .remember_deduplication(&dedup.scope, &dedup.id, entry);
                    }
                    let stored = Stored {
                        location: *location,
                        enqueued_at: message.content.enqueued_at,
                        group: message.content.group_id.clone(),
                        dead_letter_move: message.content.dead_letter_move,
                        hot: Some(message.content),
                    };
                    entries.push((stored, message.visible_at));
                }
                let seqs = state.messages.append(entries);
                state.hot.extend(&seqs);
                inner.hot_bytes.fetch_add(hot_added, Ordering::Relaxed);
                inner.cool(&mut state);
                (outcomes, commit)
            }
        };
        committed(commit).await?;
        Ok(outcomes)
    }

    async fn receive_messages(
        &self,
        key: &QueueKey,
        request: ReceiveRequest,
        redrive: Option<&Redrive>,
    ) -> Result<ReceiveOutcome, StoreError> {
        let inner = &self.serving()?;
        let queue = inner.queue_state(key)?;
        let target = match redrive {
            Some(redrive) if redrive.target != *key => inner.queue_state(&redrive.target).ok(),
            _ => None,
        };
        let (delivered, next_visible_at, limit_reached, moved, commit) = {
            // Both queues are locked at once, so that a move to the dead-letter queue is one atomic
            // step.
            let (mut state, mut dead_letters) = match &target {
                Some(target) => {
                    let (s, t) = lock_pair(&queue, target);
                    (s, Some(t))
                }
                None => (lock(&queue), None),
            };
            let expired = state.messages.expire(request.expire_before);
            let max_receive_count = dead_letters
                .as_ref()
                .and(redrive)
                .map(|r| r.max_receive_count);
            let delivered = state.messages.receive(&request, max_receive_count);
            let mut records = Vec::new();
            if !expired.is_empty() {
                for (_, stored) in &expired {
                    inner.forget(stored);
                }
                records.push(Record::Delete {
                    queue: state.incarnation,
                    seqs: expired.iter().map(|(seq, _)| *seq).collect(),
                });
            }
            if !delivered.messages.is_empty() {
                records.push(Record::Receive {
                    queue: state.incarnation,
                    at: request.now,
                    messages: delivered
                        .messages
                        .iter()
                        .map(|d| (d.seq, request.visibility_deadline))
                        .collect(),
                });
            }
            let mut moving = Vec::new();
            if let (Some(dead_letters), Some(redrive)) = (dead_letters.as_mut(), redrive) {
                let first = dead_letters.messages.next_seq();
                for (next, (seq, stored, delivery)) in (first..).zip(&delivered.dead) {
                    inner.forget(stored);
                    // The queue has already changed in memory: a body that cannot be read now leaves
                    // nothing to do but rebuild it from the journal.
                    let original = inner.content(stored).map_err(|e| inner.abandon(&e))?;
                    let content = Arc::new(redrive.moved(
                        original.as_ref(),
                        request.now,
                        delivery.receive_count,
                    ));
                    let delivery = DeliveryState {
                        visible_at: request.now,
                        ..*delivery
                    };
                    records.push(Record::Move {
                        from_queue: state.incarnation,
                        from_seq: *seq,
                        queue: dead_letters.incarnation,
                        seq: next,
                        state: state_fields(delivery),
                        content: content.clone(),
                    });
                    moving.push((next, content, delivery));
                }
            }
            let moved = moving.len();
            let commit = if records.is_empty() {
                None
            } else {
                let (locations, commit) = inner.append(&records)?;
                if let Some(dead_letters) = dead_letters.as_mut() {
                    let moved_locations = &locations[locations.len() - moving.len()..];
                    for ((seq, content, delivery), location) in
                        moving.into_iter().zip(moved_locations)
                    {
                        inner.place_moved(dead_letters, seq, content, delivery, *location);
                    }
                }
                Some(commit)
            };
            (
                delivered.messages,
                delivered.next_visible_at,
                delivered.in_flight_limit_reached,
                moved,
                commit,
            )
        };
        let mut messages = Vec::with_capacity(delivered.len());
        for d in delivered {
            messages.push(ReceivedMessage {
                seq: d.seq,
                content: inner.content_of(&queue, d.seq, &d.payload)?,
                receive_count: d.receive_count,
                first_receive_at: d.first_receive_at,
            });
        }
        if let Some(commit) = commit {
            committed(commit).await?;
        }
        Ok(ReceiveOutcome {
            messages,
            next_visible_at,
            in_flight_limit_reached: limit_reached,
            moved,
        })
    }

    async fn delete_messages(
        &self,
        key: &QueueKey,
        deletions: &[Deletion],
    ) -> Result<Vec<DeleteOutcome>, StoreError> {
        let inner = &self.serving()?;
        let queue = inner.queue_state(key)?;
        let (outcomes, commit) = {
            let mut state = lock(&queue);
            let mut deleted = Vec::new();
            let outcomes: Vec<DeleteOutcome> = deletions
                .iter()
                .map(|deletion| {
                    let (outcome, stored) = state.messages.delete_checked(deletion);
                    if let Some(stored) = stored {
                        inner.forget(&stored);
                        deleted.push(deletion.seq);
                    }
                    outcome
                })
                .collect();
            // With nothing to record (every message already gone, perhaps by a delete whose record is not
            // yet on disk) the answer still waits for everything appended before it, so an acknowledged
            // delete is never undone by a crash.
            let commit = if deleted.is_empty() {
                inner.barrier()?
            } else {
                let record = Record::Delete {
                    queue: state.incarnation,
                    seqs: deleted,
                };
                inner.append(&[record])?.1
            };
            (outcomes, commit)
        };
        committed(commit).await?;
        Ok(outcomes)
    }

    async fn retime_unreceived(
        &self,
        key: &QueueKey,
        delay: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        let inner = &self.serving()?;
        let queue = inner.queue_state(key)?;
        let commit = {
            let mut state = lock(&queue);
            state.messages.retime_unreceived(delay, now);
            inner
                .append(&[Record::Retime {
                    queue: state.incarnation,
                    delay,
                }])?
                .1
        };
        committed(commit).await
    }

    async fn change_visibility(
        &self,
        key: &QueueKey,
        changes: &[VisibilityChange],
    ) -> Result<Vec<VisibilityOutcome>, StoreError> {
        let inner = &self.serving()?;
        let queue = inner.queue_state(key)?;
        let (outcomes, commit) = {
            let mut state = lock(&queue);
            let outcomes: Vec<VisibilityOutcome> = changes
                .iter()
                .map(|change| state.messages.change_visibility(change))
                .collect();
            let records: Vec<Record> = changes
                .iter()
                .zip(&outcomes)
                .filter(|(_, outcome)| **outcome == VisibilityOutcome::Changed)
                .map(|(change, _)| Record::Visibility {
                    queue: state.incarnation,
                    seq: change.seq,
                    deadline: change.deadline,
                })
                .collect();
            let commit = if records.is_empty() {
                inner.barrier()?
            } else {
                inner.append(&records)?.1
            };
            (outcomes, commit)
        };
        committed(commit).await?;
        Ok(outcomes)
    }

    async fn purge_messages(&self, key: &QueueKey) -> Result<u64, StoreError> {
        let inner = &self.serving()?;
        let queue = inner.queue_state(key)?;
        let (purged, commit) = {
            let mut state = lock(&queue);
            let removed = state.messages.purge();
            for stored in &removed {
                inner.forget(stored);
            }
            state.hot.clear();
            let (_, commit) = inner.append(&[Record::Purge {
                queue: state.incarnation,
            }])?;
            (removed.len() as u64, commit)
        };
        committed(commit).await?;
        Ok(purged)
    }

    async fn message_counts(
        &self,
        key: &QueueKey,
        now: i64,
        expire_before: i64,
    ) -> Result<MessageCounts, StoreError> {
        self.read_unexpired(key, expire_before, |messages| messages.counts(now))
    }

    fn register_metrics(&self, registry: &mut Registry) {
        metrics::register(registry, &self.engine.metrics, &self.engine.dir);
    }

    async fn queue_gauges(
        &self,
        key: &QueueKey,
        now: i64,
        expire_before: i64,
    ) -> Result<QueueGauges, StoreError> {
        self.read_unexpired(key, expire_before, |messages| messages.gauges(now))
    }

    async fn peek_visible(
        &self,
        key: &QueueKey,
        max: usize,
        now: i64,
    ) -> Result<Vec<(u64, Arc<MessageContent>)>, StoreError> {
        let inner = &self.serving()?;
        let queue = inner.queue_state(key)?;
        let found = lock(&queue).messages.peek_visible(max, now);
        found
            .into_iter()
            .map(|(seq, stored)| Ok((seq, inner.content_of(&queue, seq, &stored)?)))
            .collect()
    }

    async fn move_message(
        &self,
        from: &QueueKey,
        seq: u64,
        to: &QueueKey,
        content: MessageContent,
        now: i64,
    ) -> Result<bool, StoreError> {
        let inner = &self.serving()?;
        let source = inner.queue_state(from)?;
        let target = inner.queue_state(to)?;
        if Arc::ptr_eq(&source, &target) {
            return Ok(false);
        }
        let commit = {
            // Both queues are locked at once: the move is one atomic step.
            let (mut source, mut target) = lock_pair(&source, &target);
            let Some(left) = source.messages.take_visible(seq, now) else {
                return Ok(false);
            };
            inner.forget(&left);
            let content = Arc::new(content);
            let to_seq = target.messages.next_seq();
            let delivery = DeliveryState {
                visible_at: now,
                receive_count: 0,
                first_receive_at: None,
                received_at: 0,
            };
            let (locations, commit) = inner.append(&[Record::Move {
                from_queue: source.incarnation,
                from_seq: seq,
                queue: target.incarnation,
                seq: to_seq,
                state: state_fields(delivery),
                content: content.clone(),
            }])?;
            inner.place_moved(&mut target, to_seq, content, delivery, locations[0]);
            commit
        };
        committed(commit).await?;
        Ok(true)
    }

    async fn put_move_task(&self, task: MoveTaskRecord) -> Result<(), StoreError> {
        let inner = &self.serving()?;
        let commit = {
            let mut catalog = lock(&inner.catalog);
            let (locations, commit) = inner.append(&[Record::MoveTask(task.clone())])?;
            catalog
                .move_tasks
                .insert(task.handle.clone(), (task, locations[0]));
            commit
        };
        committed(commit).await
    }

    async fn move_tasks(&self) -> Result<Vec<MoveTaskRecord>, StoreError> {
        Ok(lock(&self.serving()?.catalog)
            .move_tasks
            .values()
            .map(|(task, _)| task.clone())
            .collect())
    }

    async fn claim_move_task(
        &self,
        handle: &str,
        owner: &str,
        now: i64,
        lease_until: i64,
    ) -> Result<Option<MoveTaskRecord>, StoreError> {
        let inner = &self.serving()?;
        let catalog = lock(&inner.catalog);
        let task = catalog.move_tasks.get(handle).map(|(task, _)| task);
        Ok(self.coordination.claim(task, owner, now, lease_until))
    }

    async fn replace_move_task(
        &self,
        expected: &MoveTaskRecord,
        task: MoveTaskRecord,
        owner: Option<&str>,
    ) -> Result<bool, StoreError> {
        let inner = &self.serving()?;
        let commit = {
            let mut catalog = lock(&inner.catalog);
            let stored = catalog
                .move_tasks
                .get(&expected.handle)
                .map(|(task, _)| task);
            if !self.coordination.may_replace(stored, expected, owner) {
                return Ok(false);
            }
            let (locations, commit) = inner.append(&[Record::MoveTask(task.clone())])?;
            catalog
                .move_tasks
                .insert(task.handle.clone(), (task, locations[0]));
            commit
        };
        committed(commit).await?;
        Ok(true)
    }

    async fn record_receive_attempt(
        &self,
        key: &QueueKey,
        id: &str,
        attempt: ReceiveAttempt,
        now: i64,
    ) -> Result<(), StoreError> {
        let inner = &self.serving()?;
        let catalog = lock(&inner.catalog);
        if catalog.queues.contains_key(key) {
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
        self.serving()?;
        Ok(self.coordination.attempt(key, id, now))
    }

    async fn spoil_receive_attempts(&self, key: &QueueKey, seqs: &[u64]) -> Result<(), StoreError> {
        self.serving()?;
        self.coordination.spoil_attempts(key, seqs);
        Ok(())
    }

    async fn security_record(
        &self,
        key: &SecurityKey,
    ) -> Result<Option<SecurityRecord>, StoreError> {
        Ok(lock(&self.serving()?.security).records().get(key).cloned())
    }

    async fn security_records(
        &self,
        kind: &str,
        prefix: &str,
    ) -> Result<Vec<SecurityRecord>, StoreError> {
        Ok(lock(&self.serving()?.security).records().list(kind, prefix))
    }

    async fn write_security(&self, batch: Vec<SecurityWrite>) -> Result<(), StoreError> {
        let inner = &self.serving()?;
        let commit = {
            let mut security = lock(&inner.security);
            security.records().check(&batch)?;
            if batch.is_empty() {
                // Nothing to write, but whatever the caller read may not be on disk yet.
                inner.barrier()?
            } else {
                let changes = security.changes(batch);
                inner.record_security(&mut security, &changes)?
            }
        };
        committed(commit).await
    }

    async fn server_secret(&self) -> Result<[u8; 32], StoreError> {
        Ok(self.engine.secret)
    }

    async fn flush(&self) -> Result<(), StoreError> {
        committed(self.serving()?.barrier()?).await
    }

    /// False while the store is out of service after a failed write, until it has been rebuilt.
    fn is_ready(&self) -> bool {
        !self.engine.current().journal.is_broken()
    }
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
