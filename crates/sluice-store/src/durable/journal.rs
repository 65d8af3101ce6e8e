//! The journal: numbered segment files of checksummed records, appended by many tasks at once and made
//! durable by one writer thread that writes and fsyncs whatever has accumulated (group commit), so
//! concurrent requests share one fsync instead of paying one each.
//!
//! A segment starts with a 16-byte header (`SLUICEJ1` and its number) followed by frames (see `codec`).
//! Appending assigns each record its final place (segment and offset) at once, so an index can point at
//! it before it is written; the writer thread then writes chunks in order and reports the position up to
//! which everything is durable. How long a commit waits for company is decided in `next_commit`.
//!
//! A write or sync that fails puts the journal out of service for good: after a failed fsync the page
//! cache no longer says what is on disk, so the writer writes nothing more, every commit not yet
//! durable fails, and appends are refused. The store then rebuilds from what is durable (see
//! `durable_position`) with a new journal.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use tokio::sync::oneshot;

use super::codec::{self, FRAME_HEADER};
use super::disk::Disk;
use crate::lock;

pub const MAGIC: &[u8; 8] = b"SLUICEJ1";
/// Emptied write buffers kept for reuse.
const SPARE_BUFFERS: usize = 4;
pub const SEGMENT_HEADER: u64 = 16;
/// A commit is not held back for more requests once this much is waiting to be written.
const GATHER_BYTES: usize = 4 * 1024 * 1024;
/// Nor for longer than this after the previous commit began.
const GATHER_LIMIT: Duration = Duration::from_millis(2);
/// By default a segment is closed once it holds this many bytes; a record is never split across
/// segments.
pub const SEGMENT_TARGET: u64 = 64 * 1024 * 1024;

/// Where a record lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    pub segment: u64,
    pub offset: u64,
    /// The whole frame, header included.
    pub len: u32,
}

pub fn segment_path(dir: &Path, segment: u64) -> PathBuf {
    dir.join(format!("journal-{segment:010}.log"))
}

/// The segment number of a journal file name, if it is one.
pub fn segment_number(name: &str) -> Option<u64> {
    name.strip_prefix("journal-")?
        .strip_suffix(".log")?
        .parse()
        .ok()
}

fn segment_header(segment: u64) -> [u8; SEGMENT_HEADER as usize] {
    let mut header = [0u8; SEGMENT_HEADER as usize];
    header[..8].copy_from_slice(MAGIC);
    header[8..].copy_from_slice(&segment.to_le_bytes());
    header
}

/// A commit the caller waits for: resolves when every record appended before it is on disk.
pub struct Commit(oneshot::Receiver<Result<(), String>>);

impl Commit {
    pub async fn wait(self) -> Result<(), String> {
        self.0
            .await
            .unwrap_or_else(|_| Err("the journal writer stopped".to_string()))
    }

    /// Waits on a thread that is not running async code.
    pub fn blocking_wait(self) -> Result<(), String> {
        self.0
            .blocking_recv()
            .unwrap_or_else(|_| Err("the journal writer stopped".to_string()))
    }
}

/// Told the outcome of the commit it waits for.
type Waiter = oneshot::Sender<Result<(), String>>;

struct Chunk {
    segment: u64,
    bytes: Vec<u8>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum WriterWait {
    /// Busy writing: nobody needs to signal it.
    Busy,
    /// Nothing to write: any append should wake it.
    Idle,
    /// Gathering a commit: only an append that completes it need wake it before its deadline.
    Gathering,
}

/// Appended but not yet written.
struct Pending {
    chunks: Vec<Chunk>,
    /// Buffers the writer has emptied, kept for reuse so that appending does not keep asking the
    /// allocator (and the kernel) for fresh memory.
    spare: Vec<Vec<u8>>,
    waiters: Vec<Waiter>,
    /// Records appended since the writer last took them.
    records: u64,
    /// Where the next record goes.
    segment: u64,
    offset: u64,
    /// Set once a write fails: the journal accepts nothing more.
    failed: Option<String>,
    stopping: bool,
    /// How many waiters the previous commit had: the writer expects as many for the next (see
    /// `write_loop`).
    expected: usize,
    /// How the writer sleeps on `work`: appends signal it only when it waits for them, sparing a
    /// system call each.
    writer: WriterWait,
}

impl Pending {
    /// Bytes appended and not yet taken by the writer.
    fn unwritten(&self) -> usize {
        self.chunks.iter().map(|chunk| chunk.bytes.len()).sum()
    }
}

struct Shared {
    dir: PathBuf,
    disk: Disk,
    /// Set, before any waiter hears of it, once a write or sync fails; never cleared. Read on every
    /// request, so kept outside `pending`.
    broken: AtomicBool,
    /// Appends and the writer meet here. A std mutex: appends hold it for a memcpy, the writer for a swap.
    pending: Mutex<Pending>,
    /// Signals the writer that `pending` has work (or that it should stop).
    work: Condvar,
    /// The position up to which everything is written and synced, as (segment, offset).
    durable: Mutex<(u64, u64)>,
    /// Open segment files for reads, by number.
    readers: Mutex<HashMap<u64, Arc<File>>>,
    /// What the writer has done, for the operator. Only the writer thread records into them.
    metrics: JournalMetrics,
}

/// The journal's metrics: commits, the records each carried, and how long its syncs took.
#[derive(Clone)]
pub struct JournalMetrics {
    pub commits: Counter,
    pub records_per_commit: Histogram,
    pub fsync_seconds: Histogram,
}

impl Default for JournalMetrics {
    fn default() -> Self {
        JournalMetrics {
            commits: Counter::default(),
            records_per_commit: Histogram::new(exponential_buckets(1.0, 2.0, 12)),
            fsync_seconds: Histogram::new(exponential_buckets(0.000_05, 2.0, 14)),
        }
    }
}

pub struct Journal {
    shared: Arc<Shared>,
    segment_target: u64,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Shared {
    /// Takes the journal out of service.
    fn fail(&self, reason: &str) {
        let mut pending = lock(&self.pending);
        if pending.failed.is_none() {
            pending.failed = Some(reason.to_string());
        }
        self.broken.store(true, Ordering::SeqCst);
    }
}

impl Journal {
    /// Starts a journal that appends to a new segment `first_segment` in `dir`. The segment's header
    /// is written and synced before this returns, so a directory that cannot be written is found
    /// out here rather than by the first request.
    pub fn start(
        dir: &Path,
        first_segment: u64,
        segment_target: u64,
        disk: Disk,
        metrics: JournalMetrics,
    ) -> std::io::Result<Journal> {
        let path = segment_path(dir, first_segment);
        let first = create_segment(&disk, dir, &path, first_segment).inspect_err(|_| {
            // A header that did not fully reach the disk would read as damage once a newer segment
            // exists.
            let _ = std::fs::remove_file(&path);
        })?;
        let shared = Arc::new(Shared {
            dir: dir.to_path_buf(),
            disk,
            broken: AtomicBool::new(false),
            pending: Mutex::new(Pending {
                chunks: Vec::new(),
                spare: Vec::new(),
                waiters: Vec::new(),
                records: 0,
                segment: first_segment,
                offset: SEGMENT_HEADER,
                failed: None,
                stopping: false,
                expected: 0,
                writer: WriterWait::Busy,
            }),
            work: Condvar::new(),
            durable: Mutex::new((first_segment, SEGMENT_HEADER)),
            readers: Mutex::new(HashMap::new()),
            metrics,
        });
        let thread_shared = shared.clone();
        let files = HashMap::from([(first_segment, first)]);
        let writer = std::thread::Builder::new()
            .name("sluice-journal".into())
            .spawn(move || write_loop(&thread_shared, files))?;
        Ok(Journal {
            shared,
            segment_target,
            writer: Mutex::new(Some(writer)),
        })
    }

    /// Appends frames in order and returns where each went, with the commit to wait for. The frames of
    /// one call always land in order, possibly across a segment boundary.
    pub fn append(&self, frames: &[Vec<u8>]) -> Result<(Vec<Location>, Commit), String> {
        let (tx, rx) = oneshot::channel();
        let mut pending = lock(&self.shared.pending);
        if let Some(e) = &pending.failed {
            return Err(e.clone());
        }
        let mut locations = Vec::with_capacity(frames.len());
        for frame in frames {
            if pending.offset + frame.len() as u64 > self.segment_target
                && pending.offset > SEGMENT_HEADER
            {
                let next = pending.segment + 1;
                pending.segment = next;
                pending.offset = SEGMENT_HEADER;
                let mut bytes = pending.spare.pop().unwrap_or_default();
                bytes.extend_from_slice(&segment_header(next));
                pending.chunks.push(Chunk {
                    segment: next,
                    bytes,
                });
            }
            let segment = pending.segment;
            let needs_chunk = pending.chunks.last().is_none_or(|c| c.segment != segment);
            if needs_chunk {
                let bytes = pending.spare.pop().unwrap_or_default();
                pending.chunks.push(Chunk { segment, bytes });
            }
            if let Some(chunk) = pending.chunks.last_mut() {
                chunk.bytes.extend_from_slice(frame);
            }
            locations.push(Location {
                segment,
                offset: pending.offset,
                len: frame.len() as u32,
            });
            pending.offset += frame.len() as u64;
        }
        pending.records += frames.len() as u64;
        pending.waiters.push(tx);
        let wake = match pending.writer {
            WriterWait::Busy => false,
            WriterWait::Idle => true,
            WriterWait::Gathering => {
                pending.waiters.len() >= pending.expected || pending.unwritten() >= GATHER_BYTES
            }
        };
        if wake {
            pending.writer = WriterWait::Busy;
        }
        drop(pending);
        if wake {
            self.shared.work.notify_one();
        }
        Ok((locations, Commit(rx)))
    }

    /// A commit that resolves once everything appended so far is durable.
    pub fn barrier(&self) -> Result<Commit, String> {
        self.append(&[]).map(|(_, commit)| commit)
    }

    /// Whether a write or sync has failed, which leaves the journal refusing everything.
    pub fn is_broken(&self) -> bool {
        self.shared.broken.load(Ordering::SeqCst)
    }

    /// Takes the journal out of service, as a failed write does: used when the state built on it can
    /// no longer be trusted to match it.
    pub fn fail(&self, reason: &str) {
        if !self.is_broken() {
            tracing::error!(reason, "journal taken out of service");
        }
        self.shared.fail(reason);
    }

    /// The position, as (segment, offset), up to which everything is written and synced. Once the
    /// journal is broken this no longer moves: bytes past it were never acknowledged.
    pub fn durable_position(&self) -> (u64, u64) {
        *lock(&self.shared.durable)
    }

    /// Whether the record at `location` has been written and synced.
    pub fn is_durable(&self, location: &Location) -> bool {
        let durable = *lock(&self.shared.durable);
        (location.segment, location.offset + u64::from(location.len)) <= durable
    }

    /// The segment records are being appended to.
    pub fn active_segment(&self) -> u64 {
        lock(&self.shared.pending).segment
    }

    /// Reads a frame's payload back, checking its checksum. Only for durable locations.
    pub fn read(&self, location: &Location) -> std::io::Result<Vec<u8>> {
        let file = self.reader(location.segment)?;
        let mut frame = vec![0u8; location.len as usize];
        self.shared
            .disk
            .read_at(&file, &mut frame, location.offset)?;
        match codec::frame_header(&frame) {
            Some((len, crc))
                if len + FRAME_HEADER == frame.len()
                    && codec::checksum_ok(&frame[FRAME_HEADER..], crc) =>
            {
                frame.drain(..FRAME_HEADER);
                Ok(frame)
            }
            _ => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "record at offset {} of {} fails its checksum",
                    location.offset,
                    segment_path(&self.shared.dir, location.segment).display()
                ),
            )),
        }
    }

    fn reader(&self, segment: u64) -> std::io::Result<Arc<File>> {
        let mut readers = lock(&self.shared.readers);
        if let Some(file) = readers.get(&segment) {
            return Ok(file.clone());
        }
        let file = Arc::new(File::open(segment_path(&self.shared.dir, segment))?);
        readers.insert(segment, file.clone());
        Ok(file)
    }

    /// Deletes a segment whose records are no longer needed.
    pub fn remove_segment(&self, segment: u64) -> std::io::Result<()> {
        lock(&self.shared.readers).remove(&segment);
        let disk = &self.shared.disk;
        disk.remove(&segment_path(&self.shared.dir, segment))?;
        disk.sync_dir(&self.shared.dir)
    }

    /// Writes everything appended so far, syncs it, and stops the writer thread.
    pub fn close(&self) {
        {
            let mut pending = lock(&self.shared.pending);
            pending.stopping = true;
            pending.writer = WriterWait::Busy;
        }
        self.shared.work.notify_one();
        if let Some(writer) = lock(&self.writer).take() {
            let _ = writer.join();
        }
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        self.close();
    }
}

pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Creates a segment file holding just its header, durably.
fn create_segment(disk: &Disk, dir: &Path, path: &Path, segment: u64) -> std::io::Result<File> {
    let mut file = disk.open_append(path)?;
    disk.write_all(&mut file, &segment_header(segment))?;
    disk.sync(&file)?;
    disk.sync_dir(dir)?;
    Ok(file)
}

fn write_loop(shared: &Shared, mut files: HashMap<u64, File>) {
    let mut last_commit = Instant::now();
    loop {
        let (chunks, waiters, records, stopping) = next_commit(shared, last_commit);
        last_commit = Instant::now();
        let outcome = if shared.broken.load(Ordering::SeqCst) {
            // Where the files end after the failure is unknown: writing on would put records where
            // their locations do not say.
            Err("the journal is out of service after a failed write".to_string())
        } else {
            match write_chunks(shared, &mut files, &chunks) {
                Ok(end) => {
                    if let Some(end) = end {
                        *lock(&shared.durable) = end;
                    }
                    if records > 0 {
                        shared.metrics.commits.inc();
                        shared.metrics.records_per_commit.observe(records as f64);
                    }
                    Ok(())
                }
                Err(e) => {
                    tracing::error!(
                        error = %e,
                        dir = %shared.dir.display(),
                        "journal write failed; out of service until the data directory can be written again"
                    );
                    let reason = format!("journal write failed: {e}");
                    shared.fail(&reason);
                    Err(reason)
                }
            }
        };
        let reusable = chunks.into_iter().map(|mut chunk| {
            chunk.bytes.clear();
            chunk.bytes
        });
        lock(&shared.pending)
            .spare
            .extend(reusable.take(SPARE_BUFFERS));
        for waiter in waiters {
            let _ = waiter.send(outcome.clone());
        }
        if stopping && lock(&shared.pending).chunks.is_empty() {
            return;
        }
    }
}

/// Waits for the next commit and takes it. A commit is held back until as many requests wait for it
/// as waited for the previous one, or until `GATHER_LIMIT` after the previous commit began. Under
/// load the same clients come back commit after commit, so one fsync serves all of them instead of
/// a few: the CPU an fsync costs the server, not the disk's latency, is what runs out first on a busy
/// machine. A lone request finds one expected and is committed at once.
fn next_commit(shared: &Shared, last_commit: Instant) -> (Vec<Chunk>, Vec<Waiter>, u64, bool) {
    let mut pending = lock(&shared.pending);
    loop {
        if pending.stopping {
            break;
        }
        let remaining = (last_commit + GATHER_LIMIT).saturating_duration_since(Instant::now());
        if pending.waiters.is_empty() && pending.unwritten() == 0 {
            pending.writer = WriterWait::Idle;
            pending = shared
                .work
                .wait(pending)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        } else if pending.waiters.len() >= pending.expected
            || pending.unwritten() >= GATHER_BYTES
            || remaining.is_zero()
        {
            break;
        } else {
            pending.writer = WriterWait::Gathering;
            pending = shared
                .work
                .wait_timeout(pending, remaining)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
    }
    pending.writer = WriterWait::Busy;
    pending.expected = pending.waiters.len().max(1);
    (
        std::mem::take(&mut pending.chunks),
        std::mem::take(&mut pending.waiters),
        std::mem::take(&mut pending.records),
        pending.stopping,
    )
}

/// Writes chunks in order and syncs every file written; returns the new durable end.
fn write_chunks(
    shared: &Shared,
    files: &mut HashMap<u64, File>,
    chunks: &[Chunk],
) -> std::io::Result<Option<(u64, u64)>> {
    let mut touched = Vec::new();
    let mut end = None;
    for chunk in chunks.iter().filter(|c| !c.bytes.is_empty()) {
        if !files.contains_key(&chunk.segment) {
            let path = segment_path(&shared.dir, chunk.segment);
            let file = shared.disk.open_append(&path)?;
            shared.disk.sync_dir(&shared.dir)?;
            // Only the newest segment is ever appended to again.
            files.retain(|segment, _| *segment > chunk.segment);
            files.insert(chunk.segment, file);
        }
        if let Some(file) = files.get_mut(&chunk.segment) {
            shared.disk.write_all(file, &chunk.bytes)?;
            let len = file.metadata()?.len();
            end = Some((chunk.segment, len));
        }
        if !touched.contains(&chunk.segment) {
            touched.push(chunk.segment);
        }
    }
    for segment in touched {
        if let Some(file) = files.get(&segment) {
            let started = Instant::now();
            shared.disk.sync(file)?;
            shared
                .metrics
                .fsync_seconds
                .observe(started.elapsed().as_secs_f64());
        }
    }
    Ok(end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::durable::disk::{DiskFaults, Fault};

    fn temp_dir(label: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("sluice-journal-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    fn frame(byte: u8) -> Vec<u8> {
        vec![byte; 100]
    }

    /// After a commit that many requests waited for, the writer expects as many for the next one; a
    /// lone append must still be committed, by the gathering deadline, rather than wait for company
    /// that never comes.
    #[test]
    fn a_lone_append_after_a_crowded_commit_is_committed() {
        let dir = temp_dir("lone");
        let journal = Journal::start(
            &dir,
            1,
            SEGMENT_TARGET,
            Disk::default(),
            JournalMetrics::default(),
        )
        .expect("start");
        // Appended while the writer is busy with the first, most of these share the next commit.
        let crowd: Vec<Commit> = (0..20)
            .map(|i| journal.append(&[frame(i)]).expect("append").1)
            .collect();
        for commit in crowd {
            commit.blocking_wait().expect("crowd committed");
        }
        let (locations, lone) = journal.append(&[frame(99)]).expect("append");
        // Waited for on another thread, so that a writer that never commits fails the test instead of
        // hanging it.
        let (done, outcome) = std::sync::mpsc::channel();
        std::thread::spawn(move || done.send(lone.blocking_wait()));
        outcome
            .recv_timeout(Duration::from_secs(10))
            .expect("the lone append is committed well within its gathering limit")
            .expect("lone append committed");
        assert!(journal.is_durable(&locations[0]));
        journal.close();
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// After a failed sync the file's contents are unknown, so nothing more may be written: the commit
    /// fails, later appends are refused even once syncs work again, and the durable position stays
    /// where it was.
    #[test]
    fn a_failed_sync_stops_the_journal_where_it_was_durable() {
        let dir = temp_dir("failed-sync");
        let faults = DiskFaults::new();
        let disk = Disk::new(Some(faults.clone()));
        let journal = Journal::start(&dir, 1, SEGMENT_TARGET, disk, JournalMetrics::default())
            .expect("start");
        let (_, first) = journal.append(&[frame(1)]).expect("append");
        first.blocking_wait().expect("committed");
        let durable = journal.durable_position();
        faults.fail_syncs(Fault::Io);
        let (_, failed) = journal.append(&[frame(2)]).expect("append");
        assert!(failed.blocking_wait().is_err());
        assert!(journal.is_broken());
        faults.clear();
        assert!(journal.append(&[frame(3)]).is_err());
        assert!(journal.barrier().is_err());
        assert_eq!(journal.durable_position(), durable);
        journal.close();
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Closing writes and syncs whatever is still gathering.
    #[test]
    fn close_commits_what_is_pending() {
        let dir = temp_dir("close");
        let journal = Journal::start(
            &dir,
            1,
            SEGMENT_TARGET,
            Disk::default(),
            JournalMetrics::default(),
        )
        .expect("start");
        let (locations, commit) = journal.append(&[frame(1), frame(2)]).expect("append");
        journal.close();
        commit.blocking_wait().expect("committed at close");
        assert!(journal.is_durable(&locations[1]));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
