//! The journal: numbered segment files of checksummed records, appended by many tasks at once and made
//! durable by one writer thread that writes and fsyncs whatever has accumulated (group commit), so
//! concurrent requests share one fsync instead of paying one each.
//!
//! A segment starts with a 16-byte header (`SLUICEJ1` and its number) followed by frames (see `codec`).
//! Appending assigns each record its final place (segment and offset) at once, so an index can point at
//! it before it is written; the writer thread then writes chunks in order and reports the position up to
//! which everything is durable.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

use tokio::sync::oneshot;

use super::codec::{self, FRAME_HEADER};
use crate::lock;

pub const MAGIC: &[u8; 8] = b"SLUICEJ1";
/// Emptied write buffers kept for reuse.
const SPARE_BUFFERS: usize = 4;
pub const SEGMENT_HEADER: u64 = 16;
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

struct Chunk {
    segment: u64,
    bytes: Vec<u8>,
}

/// Appended but not yet written.
struct Pending {
    chunks: Vec<Chunk>,
    /// Buffers the writer has emptied, kept for reuse so that appending does not keep asking the
    /// allocator (and the kernel) for fresh memory.
    spare: Vec<Vec<u8>>,
    waiters: Vec<oneshot::Sender<Result<(), String>>>,
    /// Where the next record goes.
    segment: u64,
    offset: u64,
    /// Set once a write fails: the journal accepts nothing more.
    failed: Option<String>,
    stopping: bool,
}

struct Shared {
    dir: PathBuf,
    /// Appends and the writer meet here. A std mutex: appends hold it for a memcpy, the writer for a swap.
    pending: Mutex<Pending>,
    /// Signals the writer that `pending` has work (or that it should stop).
    work: Condvar,
    /// The position up to which everything is written and synced, as (segment, offset).
    durable: Mutex<(u64, u64)>,
    /// Open segment files for reads, by number.
    readers: Mutex<HashMap<u64, Arc<File>>>,
}

pub struct Journal {
    shared: Arc<Shared>,
    segment_target: u64,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Journal {
    /// Starts a journal that appends to a new segment `first_segment` in `dir`.
    pub fn start(dir: &Path, first_segment: u64, segment_target: u64) -> std::io::Result<Journal> {
        let shared = Arc::new(Shared {
            dir: dir.to_path_buf(),
            pending: Mutex::new(Pending {
                chunks: vec![Chunk {
                    segment: first_segment,
                    bytes: segment_header(first_segment).to_vec(),
                }],
                spare: Vec::new(),
                waiters: Vec::new(),
                segment: first_segment,
                offset: SEGMENT_HEADER,
                failed: None,
                stopping: false,
            }),
            work: Condvar::new(),
            durable: Mutex::new((first_segment, 0)),
            readers: Mutex::new(HashMap::new()),
        });
        let thread_shared = shared.clone();
        let writer = std::thread::Builder::new()
            .name("sluice-journal".into())
            .spawn(move || write_loop(&thread_shared))?;
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
        pending.waiters.push(tx);
        drop(pending);
        self.shared.work.notify_one();
        Ok((locations, Commit(rx)))
    }

    /// A commit that resolves once everything appended so far is durable.
    pub fn barrier(&self) -> Result<Commit, String> {
        self.append(&[]).map(|(_, commit)| commit)
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
        file.read_exact_at(&mut frame, location.offset)?;
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
        std::fs::remove_file(segment_path(&self.shared.dir, segment))?;
        sync_dir(&self.shared.dir)
    }

    /// Writes everything appended so far, syncs it, and stops the writer thread.
    pub fn close(&self) {
        lock(&self.shared.pending).stopping = true;
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

fn write_loop(shared: &Shared) {
    let mut files: HashMap<u64, File> = HashMap::new();
    loop {
        let (chunks, waiters, stopping) = {
            let mut pending = lock(&shared.pending);
            while pending.waiters.is_empty()
                && pending.chunks.iter().all(|c| c.bytes.is_empty())
                && !pending.stopping
            {
                pending = shared
                    .work
                    .wait(pending)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
            }
            (
                std::mem::take(&mut pending.chunks),
                std::mem::take(&mut pending.waiters),
                pending.stopping,
            )
        };
        let result = write_chunks(shared, &mut files, &chunks);
        match &result {
            Ok(end) => {
                if let Some(end) = end {
                    *lock(&shared.durable) = *end;
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "journal write failed; refusing further writes");
                lock(&shared.pending).failed = Some(format!("journal write failed: {e}"));
            }
        }
        let reusable = chunks.into_iter().map(|mut chunk| {
            chunk.bytes.clear();
            chunk.bytes
        });
        lock(&shared.pending)
            .spare
            .extend(reusable.take(SPARE_BUFFERS));
        let outcome = result
            .map(|_| ())
            .map_err(|e| format!("journal write failed: {e}"));
        for waiter in waiters {
            let _ = waiter.send(outcome.clone());
        }
        if stopping && lock(&shared.pending).chunks.is_empty() {
            return;
        }
    }
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
            let file = OpenOptions::new().create(true).append(true).open(&path)?;
            sync_dir(&shared.dir)?;
            // Only the newest segment is ever appended to again.
            files.retain(|segment, _| *segment > chunk.segment);
            files.insert(chunk.segment, file);
        }
        if let Some(file) = files.get_mut(&chunk.segment) {
            file.write_all(&chunk.bytes)?;
            let len = file.metadata()?.len();
            end = Some((chunk.segment, len));
        }
        if !touched.contains(&chunk.segment) {
            touched.push(chunk.segment);
        }
    }
    for segment in touched {
        if let Some(file) = files.get(&segment) {
            file.sync_data()?;
        }
    }
    Ok(end)
}
