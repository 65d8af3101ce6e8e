//! The maintenance thread of the durable store: it reclaims the oldest journal segment by writing its
//! still-live records again at the head, and rebuilds the store from the journal after a failed write.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::codec::{Record, SecurityChange};
use super::disk::Disk;
use super::{
    journal, now_millis, recovery, state_fields, Catalog, Engine, Inner, QueueState,
    TOMBSTONE_MILLIS,
};
use crate::lock;

/// How often the maintenance thread looks for segments to reclaim.
const COMPACT_EVERY: Duration = Duration::from_secs(1);
/// The first wait before retrying to bring an out-of-service store back, doubled after each failed
/// attempt up to `RESTORE_RETRY_MAX`.
const RESTORE_RETRY_FIRST: Duration = Duration::from_millis(50);
const RESTORE_RETRY_MAX: Duration = Duration::from_secs(2);

/// Reclaims segments once a second while the store is in service, and brings it back, retrying with
/// backoff, when it is out of service.
pub(super) fn maintain(engine: &Engine) {
    let mut backoff = RESTORE_RETRY_FIRST;
    let mut next_attempt = Instant::now();
    while !engine.stopping.load(Ordering::SeqCst) {
        let inner = engine.current();
        if inner.journal.is_broken() {
            // Requests wake this thread whenever they find the store out of service; the backoff
            // still decides how often the directory is tried.
            let wait = next_attempt.saturating_duration_since(Instant::now());
            if !wait.is_zero() {
                std::thread::park_timeout(wait);
                continue;
            }
            match restore(engine, &inner) {
                Ok((queues, messages)) => {
                    backoff = RESTORE_RETRY_FIRST;
                    tracing::info!(
                        queues,
                        messages,
                        "data directory writable again; store back in service"
                    );
                }
                Err(e) => {
                    next_attempt = Instant::now() + backoff;
                    tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "store still out of service");
                    backoff = (backoff * 2).min(RESTORE_RETRY_MAX);
                }
            }
            continue;
        }
        drop(inner);
        std::thread::park_timeout(COMPACT_EVERY);
        let inner = engine.current();
        if engine.stopping.load(Ordering::SeqCst) || inner.journal.is_broken() {
            continue;
        }
        if let Err(e) = compact(&inner) {
            tracing::warn!(error = %e, "journal compaction failed; will retry");
        }
    }
}

/// Rebuilds an out-of-service store from what its journal made durable and serves from that.
/// Returns how many queues and messages it found.
fn restore(engine: &Engine, broken: &Inner) -> Result<(usize, usize), String> {
    broken.journal.close();
    let (segment, offset) = broken.journal.durable_position();
    discard_undurable(&engine.disk, &engine.dir, segment, offset)
        .map_err(|e| format!("cannot cut the journal back to its durable end: {e}"))?;
    engine
        .disk
        .probe(&engine.dir)
        .map_err(|e| format!("cannot write the data directory: {e}"))?;
    let recovered = recovery::recover(&engine.dir).map_err(|e| e.to_string())?;
    let counts = (recovered.queue_count, recovered.message_count);
    let inner = Inner::start(
        &engine.dir,
        engine.options,
        &engine.disk,
        &engine.metrics,
        recovered,
    )
    .map_err(|e| format!("cannot start a journal segment: {e}"))?;
    *engine
        .current
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(inner);
    Ok(counts)
}

/// Removes from the journal every byte past the durable position (segment, offset): after a failed
/// write or fsync they may be torn, or readable from the page cache while never reaching the disk,
/// and none of them was acknowledged.
fn discard_undurable(disk: &Disk, dir: &Path, segment: u64, offset: u64) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name();
        if let Some(later) = name
            .to_str()
            .and_then(journal::segment_number)
            .filter(|n| *n > segment)
        {
            disk.remove(&journal::segment_path(dir, later))?;
        }
    }
    disk.truncate(&journal::segment_path(dir, segment), offset)?;
    disk.sync_dir(dir)
}

/// Reclaims oldest segments while doing so is cheap (the segment is mostly dead) or space is being
/// wasted (the journal holds more than twice its live data). Returns how many segments went.
pub(super) fn compact(inner: &Inner) -> Result<usize, String> {
    let active = inner.journal.active_segment();
    lock(&inner.segments).insert(active);
    let mut removed = 0;
    loop {
        let (oldest, count) = {
            let segments = lock(&inner.segments);
            match segments.first() {
                Some(&oldest) if oldest < active => (oldest, segments.len() as u64),
                _ => return Ok(removed),
            }
        };
        let (live_oldest, live_total) = {
            let live = lock(&inner.live);
            (
                live.get(&oldest).copied().unwrap_or(0),
                live.values().sum::<u64>(),
            )
        };
        let target = inner.segment_bytes;
        let mostly_dead = live_oldest < target / 4;
        let wasteful = count * target > 2 * live_total + 2 * target;
        if !(mostly_dead || wasteful) {
            return Ok(removed);
        }
        relocate(inner, oldest)?;
        inner
            .journal
            .remove_segment(oldest)
            .map_err(|e| e.to_string())?;
        lock(&inner.segments).remove(&oldest);
        lock(&inner.live).remove(&oldest);
        removed += 1;
        tracing::debug!(
            segment = oldest,
            live_bytes = live_oldest,
            "journal segment reclaimed"
        );
    }
}

/// Writes again, at the head of the journal, everything still needed from `segment`: queue records,
/// recent tombstones, security records at their current versions, and live messages with their
/// current state. Returns once that is durable.
fn relocate(inner: &Inner, segment: u64) -> Result<(), String> {
    let mut last_commit = None;
    {
        // Only the keys whose current version is recorded here go, each as a batch of its own: the
        // batch's other keys have changed since, and their old versions written at the head would
        // override the newer ones on replay.
        let mut security = lock(&inner.security);
        for record in security.in_segment(segment) {
            let commit = inner
                .record_security(&mut security, &[SecurityChange::Put(record)])
                .map_err(|e| e.to_string())?;
            last_commit = Some(commit);
        }
    }
    {
        let mut catalog = lock(&inner.catalog);
        let now = crate::durable::now_millis();
        catalog
            .tombstones
            .retain(|_, (at, _, _)| now - *at < TOMBSTONE_MILLIS);
        let Catalog {
            queues,
            tombstones,
            move_tasks,
        } = &mut *catalog;
        for (task, location) in move_tasks
            .values_mut()
            .filter(|(_, l)| l.segment == segment)
        {
            let (locations, commit) = inner
                .append(&[Record::MoveTask(task.clone())])
                .map_err(|e| e.to_string())?;
            *location = locations[0];
            last_commit = Some(commit);
        }
        for (record, location) in queues.values_mut().filter(|(_, l)| l.segment == segment) {
            let (locations, commit) = inner
                .append(&[Record::QueuePut((**record).clone())])
                .map_err(|e| e.to_string())?;
            *location = locations[0];
            last_commit = Some(commit);
        }
        for (key, (at, incarnation, location)) in tombstones
            .iter_mut()
            .filter(|(_, (_, _, l))| l.segment == segment)
        {
            let record = Record::QueueDelete {
                key: key.clone(),
                incarnation: *incarnation,
                at: *at,
            };
            let (locations, commit) = inner.append(&[record]).map_err(|e| e.to_string())?;
            *location = locations[0];
            last_commit = Some(commit);
        }
    }
    let queues: Vec<Arc<Mutex<QueueState>>> = lock(&inner.queues).values().cloned().collect();
    let now = now_millis();
    for queue in &queues {
        let mut state = lock(queue);
        let incarnation = state.incarnation;
        // The records that tell how far the queue's sequence numbers have gone may be in this segment.
        let mut kept = vec![Record::SeqFloor {
            queue: incarnation,
            next_seq: state.messages.next_seq(),
        }];
        // Entries recorded in this segment and still in force go with it, each noting where its
        // new record lands (the records may straddle a segment boundary).
        let mut carried = Vec::new();
        for (scope, id, entry) in state.messages.deduplications_mut() {
            if entry.origin == segment && entry.expires_at > now {
                kept.push(Record::Deduplication {
                    queue: incarnation,
                    scope: scope.to_string(),
                    id: id.to_string(),
                    seq: entry.seq,
                    message_id: entry.message_id.clone(),
                    expires_at: entry.expires_at,
                });
                carried.push(entry);
            }
        }
        let (locations, commit) = inner.append(&kept).map_err(|e| e.to_string())?;
        for (entry, location) in carried.into_iter().zip(&locations[1..]) {
            entry.origin = location.segment;
        }
        last_commit = Some(commit);
        let moving: Vec<u64> = state
            .messages
            .payloads()
            .filter(|(_, stored)| stored.location.segment == segment)
            .map(|(seq, _)| seq)
            .collect();
        for seq in moving {
            let Some((stored, delivery)) = state.messages.get(seq) else {
                continue;
            };
            let content = inner.content(stored).map_err(|e| e.to_string())?;
            let old = stored.location;
            let record = Record::Message {
                queue: state.incarnation,
                seq,
                state: state_fields(delivery),
                content: content.clone(),
                deduplication: None,
            };
            let (locations, commit) = inner.append(&[record]).map_err(|e| e.to_string())?;
            if let Some(stored) = state.messages.payload_mut(seq) {
                stored.location = locations[0];
                // Until its new record is on disk the content can only come from memory.
                if stored.hot.is_none() {
                    stored.hot = Some(content.clone());
                    inner.hold(&mut state.hot, seq, &content);
                }
            }
            inner.add_live(&locations[0]);
            if let Some(live) = lock(&inner.live).get_mut(&old.segment) {
                *live = live.saturating_sub(u64::from(old.len));
            }
            last_commit = Some(commit);
        }
    }
    if let Some(commit) = last_commit {
        commit.blocking_wait()?;
    }
    // The bodies held while their new records were written may go now.
    for queue in &queues {
        inner.cool(&mut lock(queue));
    }
    Ok(())
}
