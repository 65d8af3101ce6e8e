//! Start-up: replays the journal's segments in order into the in-memory state.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::OpenOptions;
use std::path::Path;

use super::codec::{self, Record, FRAME_HEADER};
use super::journal::{self, Location, MAGIC, SEGMENT_HEADER};
use super::security::SecurityState;
use super::{io, OpenError, Stored};
use crate::queue_messages::{Deduplicated, DeliveryState, QueueMessages};
use crate::{MoveTaskRecord, QueueKey, QueueRecord};

pub struct Recovered {
    pub queues: BTreeMap<QueueKey, (QueueRecord, Location)>,
    pub tombstones: HashMap<QueueKey, (i64, u64, Location)>,
    pub move_tasks: BTreeMap<String, (MoveTaskRecord, Location)>,
    pub messages: HashMap<u64, QueueMessages<Stored>>,
    pub security: SecurityState,
    pub live: BTreeMap<u64, u64>,
    pub segments: BTreeSet<u64>,
    /// The number of the segment to append to next: always a new one.
    pub next_segment: u64,
    pub queue_count: usize,
    pub message_count: usize,
    pub truncated_tail: bool,
}

pub fn recover(dir: &Path) -> Result<Recovered, OpenError> {
    let mut numbers = BTreeSet::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        if let Some(n) = entry.file_name().to_str().and_then(journal::segment_number) {
            numbers.insert(n);
        }
    }
    let mut state = Replay::default();
    let last = numbers.last().copied();
    for &n in &numbers {
        state.replay_segment(dir, n, Some(n) == last)?;
    }
    let live_incarnations: Vec<u64> = state.queues.values().map(|(r, _)| r.incarnation).collect();
    let orphans: Vec<u64> = state
        .messages
        .keys()
        .filter(|i| !live_incarnations.contains(i))
        .copied()
        .collect();
    for incarnation in orphans {
        state.drop_queue(incarnation);
    }
    for (record, _) in state.queues.values() {
        let messages = state.messages.entry(record.incarnation).or_default();
        if record.fifo {
            messages.make_fifo();
        }
    }
    let Replay {
        queues,
        tombstones,
        move_tasks,
        messages,
        security,
        live,
        truncated_tail,
    } = state;
    let message_count = messages.values().map(QueueMessages::len).sum();
    Ok(Recovered {
        queue_count: queues.len(),
        message_count,
        queues,
        tombstones,
        move_tasks,
        messages,
        security,
        live,
        next_segment: last.map_or(1, |n| n + 1),
        segments: numbers,
        truncated_tail,
    })
}

#[derive(Default)]
struct Replay {
    queues: BTreeMap<QueueKey, (QueueRecord, Location)>,
    tombstones: HashMap<QueueKey, (i64, u64, Location)>,
    move_tasks: BTreeMap<String, (MoveTaskRecord, Location)>,
    messages: HashMap<u64, QueueMessages<Stored>>,
    security: SecurityState,
    live: BTreeMap<u64, u64>,
    truncated_tail: bool,
}

// Reclaiming a segment writes its still-needed records again at the head of the journal, so a queue's
// record can come after its messages. Messages are therefore gathered by incarnation whatever the
// order, and kept at the end only for the incarnations that are live queues.

impl Replay {
    fn replay_segment(&mut self, dir: &Path, number: u64, newest: bool) -> Result<(), OpenError> {
        let path = journal::segment_path(dir, number);
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        let damaged = |reason: String| OpenError::Damaged {
            path: path.clone(),
            reason,
        };
        if bytes.len() < SEGMENT_HEADER as usize {
            // A segment whose header never fully reached the disk holds nothing acknowledged.
            if newest {
                self.truncated_tail = true;
                return Ok(());
            }
            return Err(damaged("shorter than a segment header".into()));
        }
        if &bytes[..8] != MAGIC || bytes[8..16] != number.to_le_bytes() {
            return Err(damaged(
                "it does not start with a sluice journal header".into(),
            ));
        }
        let mut offset = SEGMENT_HEADER as usize;
        while offset < bytes.len() {
            let Some(payload) = frame_at(&bytes, offset) else {
                // A write the crash cut short is the last thing in the newest segment: nothing valid
                // comes after it, whatever its length field says (a damaged length can point past the
                // end as easily as a torn write). Anything valid after it means the damage is to data
                // that was acknowledged, which is never dropped.
                if !newest {
                    return Err(damaged(format!(
                        "record at offset {offset} fails its checksum"
                    )));
                }
                if let Some(next) = next_valid_frame(&bytes, offset + 1) {
                    return Err(damaged(format!(
                        "record at offset {offset} fails its checksum, and a valid record follows \
                         at offset {next}"
                    )));
                }
                truncate(&path, offset as u64)?;
                self.truncated_tail = true;
                return Ok(());
            };
            let location = Location {
                segment: number,
                offset: offset as u64,
                len: (FRAME_HEADER + payload.len()) as u32,
            };
            self.apply(payload, location)
                .map_err(|_| damaged(format!("record at offset {offset} cannot be read")))?;
            offset += FRAME_HEADER + payload.len();
        }
        Ok(())
    }

    fn apply(&mut self, payload: &[u8], location: Location) -> Result<(), codec::Malformed> {
        // Message records are most of the journal; their content stays on disk, so only their head is read.
        if let Some(head) = codec::message_head(payload) {
            if let Some((from_queue, from_seq)) = head.moved_from {
                let left = self
                    .messages
                    .get_mut(&from_queue)
                    .and_then(|q| q.delete(from_seq))
                    .map(|s| s.location);
                if let Some(location) = left {
                    self.unlive(&location);
                }
            }
            let queue = self.messages.entry(head.queue).or_default();
            if let Some((scope, id, expires_at)) = &head.deduplication {
                let entry = Deduplicated {
                    seq: head.seq,
                    message_id: head.message_id.clone(),
                    expires_at: *expires_at,
                    origin: location.segment,
                };
                queue.remember_deduplication(scope, id, entry);
            }
            let stored = Stored {
                location,
                enqueued_at: head.enqueued_at,
                group: head.group,
                dead_letter_move: head.dead_letter_move,
                hot: None,
            };
            let replaced = queue.get(head.seq).map(|(old, _)| old.location);
            queue.restore(
                head.seq,
                stored,
                DeliveryState {
                    visible_at: head.state.visible_at,
                    receive_count: head.state.receive_count,
                    first_receive_at: Some(head.state.first_receive_at).filter(|v| *v != i64::MIN),
                    received_at: head.state.received_at,
                },
            );
            if let Some(old) = replaced {
                self.unlive(&old);
            }
            *self.live.entry(location.segment).or_default() += u64::from(location.len);
            return Ok(());
        }
        match codec::decode(payload)? {
            Record::QueuePut(record) => {
                if let Some((old, _)) = self.queues.get(&record.key) {
                    if old.incarnation != record.incarnation {
                        self.drop_queue(old.incarnation);
                    }
                }
                self.tombstones.remove(&record.key);
                self.queues.insert(record.key.clone(), (record, location));
            }
            Record::QueuePatch(patch) => {
                // A patch applies only to the record it was made from. One that finds another record,
                // or none, was superseded: the compactor reclaimed the segment of its record and wrote
                // the whole record again, later in the journal.
                if let Some((record, _)) = self.queues.get_mut(&patch.key) {
                    patch.apply(record);
                }
            }
            Record::QueueDelete {
                key,
                incarnation,
                at,
            } => {
                if self
                    .queues
                    .get(&key)
                    .is_some_and(|(r, _)| r.incarnation == incarnation)
                {
                    self.queues.remove(&key);
                    self.drop_queue(incarnation);
                }
                if !self.queues.contains_key(&key) {
                    self.tombstones.insert(key, (at, incarnation, location));
                }
            }
            Record::Message { .. } | Record::Move { .. } => {}
            Record::Receive {
                queue,
                at,
                messages,
            } => {
                let Some(q) = self.messages.get_mut(&queue) else {
                    return Ok(());
                };
                for (seq, deadline) in messages {
                    let Some((stored, state)) = q.get(seq) else {
                        continue;
                    };
                    let stored = stored.clone();
                    let next = DeliveryState {
                        visible_at: deadline,
                        // The count a live receive gives, which stops at the largest.
                        receive_count: state.receive_count.saturating_add(1),
                        first_receive_at: state.first_receive_at.or(Some(at)),
                        received_at: at,
                    };
                    q.restore(seq, stored, next);
                }
            }
            Record::Delete { queue, seqs } => {
                let Some(q) = self.messages.get_mut(&queue) else {
                    return Ok(());
                };
                let gone: Vec<Location> = seqs
                    .iter()
                    .filter_map(|seq| q.delete(*seq))
                    .map(|s| s.location)
                    .collect();
                for location in gone {
                    self.unlive(&location);
                }
            }
            Record::Visibility {
                queue,
                seq,
                deadline,
            } => {
                let Some(q) = self.messages.get_mut(&queue) else {
                    return Ok(());
                };
                if let Some((stored, state)) = q.get(seq) {
                    let stored = stored.clone();
                    q.restore(
                        seq,
                        stored,
                        DeliveryState {
                            visible_at: deadline,
                            ..state
                        },
                    );
                }
            }
            Record::Deduplication {
                queue,
                scope,
                id,
                seq,
                message_id,
                expires_at,
            } => {
                let entry = Deduplicated {
                    seq,
                    message_id,
                    expires_at,
                    origin: location.segment,
                };
                self.messages
                    .entry(queue)
                    .or_default()
                    .remember_deduplication(&scope, &id, entry);
            }
            Record::Retime { queue, delay } => {
                if let Some(q) = self.messages.get_mut(&queue) {
                    q.retime_unreceived(delay, i64::MIN);
                }
            }
            Record::SeqFloor { queue, next_seq } => {
                self.messages
                    .entry(queue)
                    .or_default()
                    .raise_next_seq(next_seq);
            }
            Record::MoveTask(task) => {
                self.move_tasks
                    .insert(task.handle.clone(), (task, location));
            }
            Record::Purge { queue } => {
                let Some(q) = self.messages.get_mut(&queue) else {
                    return Ok(());
                };
                let gone: Vec<Location> = q.purge().into_iter().map(|s| s.location).collect();
                for location in gone {
                    self.unlive(&location);
                }
            }
            Record::Security(changes) => {
                self.security.apply(&changes, location, &mut self.live);
            }
        }
        Ok(())
    }

    fn drop_queue(&mut self, incarnation: u64) {
        if let Some(mut q) = self.messages.remove(&incarnation) {
            for stored in q.purge() {
                self.unlive(&stored.location);
            }
        }
    }

    fn unlive(&mut self, location: &Location) {
        if let Some(live) = self.live.get_mut(&location.segment) {
            *live = live.saturating_sub(u64::from(location.len));
        }
    }
}

/// The payload of a complete frame at `offset` whose checksum holds. Every record has a type, so an
/// empty payload is no frame: zeroed bytes (space a file system allocated for a write that never
/// landed) would otherwise pass as one, since the checksum of nothing is zero.
fn frame_at(bytes: &[u8], offset: usize) -> Option<&[u8]> {
    let (len, crc) = codec::frame_header(bytes.get(offset..)?)?;
    if len == 0 {
        return None;
    }
    let end = offset.checked_add(FRAME_HEADER)?.checked_add(len)?;
    let payload = bytes.get(offset + FRAME_HEADER..end)?;
    codec::checksum_ok(payload, crc).then_some(payload)
}

/// The first offset at or after `from` where a whole record starts: a frame of a known type whose
/// checksum holds and whose payload decodes. Any offset is tried, since a damaged length field says
/// nothing about where the next record begins.
fn next_valid_frame(bytes: &[u8], from: usize) -> Option<usize> {
    (from..bytes.len().saturating_sub(FRAME_HEADER)).find(|&offset| {
        let Some(&kind) = bytes.get(offset + FRAME_HEADER) else {
            return false;
        };
        codec::known_type(kind)
            && frame_at(bytes, offset).is_some_and(|payload| codec::decode(payload).is_ok())
    })
}

fn truncate(path: &Path, len: u64) -> Result<(), OpenError> {
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io(path))?;
    file.set_len(len).map_err(io(path))?;
    file.sync_all().map_err(io(path))?;
    tracing::warn!(file = %path.display(), offset = len, "dropped a record cut short by a crash");
    Ok(())
}
