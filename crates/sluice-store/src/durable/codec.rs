//! The journal's record format. Every record is one frame: `[payload length u32][crc32 of payload u32]
//! [payload]`, little-endian, and a payload starts with its record type. Fields are fixed-width integers
//! and length-prefixed byte strings, written and read by the two small cursors below.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::{
    AttributeValue, MessageAttribute, MessageContent, MoveTaskRecord, MoveTaskStatus, QueueKey,
    QueueRecord, SecurityKey, SecurityRecord,
};

pub const FRAME_HEADER: usize = 8;

/// A message's delivery state as a record carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateFields {
    pub visible_at: i64,
    pub receive_count: u32,
    /// `i64::MIN` when never received.
    pub first_receive_at: i64,
    pub received_at: i64,
}

#[derive(Debug, PartialEq)]
pub enum Record {
    /// A queue was created or replaced; the whole record.
    QueuePut(QueueRecord),
    /// A queue record changed: only what changed, to apply on top of the queue's latest full record.
    QueuePatch(QueuePatch),
    /// The queue of this incarnation was deleted at this instant (epoch milliseconds).
    QueueDelete {
        key: QueueKey,
        incarnation: u64,
        at: i64,
    },
    /// A message with its state: written at send, and again when compaction moves it forward.
    Message {
        queue: u64,
        seq: u64,
        state: StateFields,
        content: Arc<MessageContent>,
        /// The deduplication entry the send made: `(scope, id, expires_at)`.
        deduplication: Option<(String, String, i64)>,
    },
    /// A deduplication entry kept past its message's record (written when that record's space is
    /// reclaimed within the window).
    Deduplication {
        queue: u64,
        scope: String,
        id: String,
        seq: u64,
        message_id: String,
        expires_at: i64,
    },
    /// A FIFO queue's delay changed: messages not yet received become visible at send time plus this.
    Retime {
        queue: u64,
        delay: i64,
    },
    /// A message-move task as it stands; the latest record for a handle wins.
    MoveTask(MoveTaskRecord),
    /// The queue's next sequence number was at least this when older records were reclaimed: sequence
    /// numbers (and so receipt handles) are never reused.
    SeqFloor {
        queue: u64,
        next_seq: u64,
    },
    /// A message moved from one queue to another (to a dead-letter queue), as one record so that it is
    /// never in both queues and never in neither.
    Move {
        from_queue: u64,
        from_seq: u64,
        queue: u64,
        seq: u64,
        state: StateFields,
        content: Arc<MessageContent>,
    },
    /// Messages handed out by one receive: `(seq, visibility deadline)`, all at `at`.
    Receive {
        queue: u64,
        at: i64,
        messages: Vec<(u64, i64)>,
    },
    Delete {
        queue: u64,
        seqs: Vec<u64>,
    },
    Visibility {
        queue: u64,
        seq: u64,
        deadline: i64,
    },
    Purge {
        queue: u64,
    },
    /// A batch of security-record writes, as one record so that a torn write loses all of it or none.
    Security(Vec<SecurityChange>),
}

/// What a security batch left of one key: the record with its new version, or nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecurityChange {
    Put(SecurityRecord),
    Delete(SecurityKey),
}

/// A change of a queue record, written instead of the whole record so that a small change (a tag) does
/// not write a large attribute (a policy) again. It applies only to the record it was made from (same
/// incarnation, `version - 1`); once that record's segment is reclaimed the compactor has written the
/// whole record again after it, so a patch that finds no such record at recovery is superseded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuePatch {
    pub key: QueueKey,
    pub incarnation: u64,
    pub version: u64,
    pub attributes: MapChange,
    pub tags: MapChange,
    pub created_timestamp: i64,
    pub last_modified_timestamp: i64,
    pub last_purge_millis: Option<i64>,
    pub fifo: bool,
}

/// The entries of a map that were set (added or changed) and the names that were removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MapChange {
    pub set: BTreeMap<String, String>,
    pub removed: BTreeSet<String>,
}

impl MapChange {
    fn between(old: &BTreeMap<String, String>, new: &BTreeMap<String, String>) -> MapChange {
        MapChange {
            set: new
                .iter()
                .filter(|(k, v)| old.get(*k) != Some(*v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            removed: old
                .keys()
                .filter(|k| !new.contains_key(*k))
                .cloned()
                .collect(),
        }
    }

    fn apply(&self, map: &mut BTreeMap<String, String>) {
        for k in &self.removed {
            map.remove(k);
        }
        map.extend(self.set.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
}

impl QueuePatch {
    /// The change from `old` to `new`, or `None` when `new` is not a later version of the same queue.
    pub fn between(old: &QueueRecord, new: &QueueRecord) -> Option<QueuePatch> {
        if old.key != new.key
            || old.incarnation != new.incarnation
            || old.version.checked_add(1) != Some(new.version)
        {
            return None;
        }
        Some(QueuePatch {
            key: new.key.clone(),
            incarnation: new.incarnation,
            version: new.version,
            attributes: MapChange::between(&old.attributes, &new.attributes),
            tags: MapChange::between(&old.tags, &new.tags),
            created_timestamp: new.created_timestamp,
            last_modified_timestamp: new.last_modified_timestamp,
            last_purge_millis: new.last_purge_millis,
            fifo: new.fifo,
        })
    }

    /// Applies the change to the record it was made from; any other record is left as it is.
    pub fn apply(&self, record: &mut QueueRecord) -> bool {
        if record.key != self.key
            || record.incarnation != self.incarnation
            || record.version.checked_add(1) != Some(self.version)
        {
            return false;
        }
        self.attributes.apply(&mut record.attributes);
        self.tags.apply(&mut record.tags);
        record.created_timestamp = self.created_timestamp;
        record.last_modified_timestamp = self.last_modified_timestamp;
        record.last_purge_millis = self.last_purge_millis;
        record.fifo = self.fifo;
        record.version = self.version;
        true
    }
}

const QUEUE_PUT: u8 = 1;
const QUEUE_DELETE: u8 = 2;
const MESSAGE: u8 = 3;
const RECEIVE: u8 = 4;
const DELETE: u8 = 5;
const VISIBILITY: u8 = 6;
const PURGE: u8 = 7;
const DEDUPLICATION: u8 = 8;
const RETIME: u8 = 9;
const MOVE: u8 = 10;
const MOVE_TASK: u8 = 11;
const SEQ_FLOOR: u8 = 12;
const QUEUE_PATCH: u8 = 13;
const SECURITY: u8 = 14;

/// The kinds of entry in a security batch.
const SECURITY_PUT: u8 = 1;
const SECURITY_DELETE: u8 = 2;

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend(v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend(v.to_le_bytes());
    }
    fn i64(&mut self, v: i64) {
        self.0.extend(v.to_le_bytes());
    }
    fn bytes(&mut self, v: &[u8]) {
        self.u32(v.len() as u32);
        self.0.extend(v);
    }
    fn str(&mut self, v: &str) {
        self.bytes(v.as_bytes());
    }
    fn map(&mut self, map: &BTreeMap<String, String>) {
        self.u32(map.len() as u32);
        for (k, v) in map {
            self.str(k);
            self.str(v);
        }
    }
    fn change(&mut self, change: &MapChange) {
        self.map(&change.set);
        self.u32(change.removed.len() as u32);
        for k in &change.removed {
            self.str(k);
        }
    }
    fn key(&mut self, key: &QueueKey) {
        self.str(&key.account_id);
        self.str(&key.region);
        self.str(&key.name);
    }
    fn security_key(&mut self, key: &SecurityKey) {
        self.str(&key.kind);
        self.str(&key.name);
    }
    fn message(
        &mut self,
        queue: u64,
        seq: u64,
        state: &StateFields,
        content: &MessageContent,
        deduplication: Option<&(String, String, i64)>,
    ) {
        self.u64(queue);
        self.u64(seq);
        self.i64(state.visible_at);
        self.u32(state.receive_count);
        self.i64(state.first_receive_at);
        self.i64(state.received_at);
        self.i64(content.sent_at);
        self.i64(content.enqueued_at);
        self.str(content.group_id.as_deref().unwrap_or(""));
        let (scope, id, expires_at) =
            deduplication.map_or(("", "", 0), |(s, i, e)| (s.as_str(), i.as_str(), *e));
        self.str(scope);
        self.str(id);
        self.i64(expires_at);
        self.str(&content.message_id);
        self.str(content.deduplication_id.as_deref().unwrap_or(""));
        self.str(&content.md5_of_body);
        self.str(content.md5_of_attributes.as_deref().unwrap_or(""));
        self.str(&content.sender_id);
        self.attributes(&content.attributes);
        self.attributes(&content.system_attributes);
        self.str(&content.body);
    }

    fn attributes(&mut self, attributes: &[MessageAttribute]) {
        self.u32(attributes.len() as u32);
        for a in attributes {
            self.str(&a.name);
            self.str(&a.data_type);
            match &a.value {
                AttributeValue::String(s) => {
                    self.u8(1);
                    self.str(s);
                }
                AttributeValue::Binary(b) => {
                    self.u8(2);
                    self.bytes(b);
                }
            }
        }
    }
}

/// A payload that ended early or held an impossible value.
#[derive(Debug, PartialEq, Eq)]
pub struct Malformed;

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        if self.0.len() < n {
            return Err(Malformed);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, Malformed> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, Malformed> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().map_err(|_| Malformed)?,
        ))
    }
    fn u64(&mut self) -> Result<u64, Malformed> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().map_err(|_| Malformed)?,
        ))
    }
    fn i64(&mut self) -> Result<i64, Malformed> {
        Ok(i64::from_le_bytes(
            self.take(8)?.try_into().map_err(|_| Malformed)?,
        ))
    }
    fn bytes(&mut self) -> Result<&'a [u8], Malformed> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    fn string(&mut self) -> Result<String, Malformed> {
        String::from_utf8(self.bytes()?.to_vec()).map_err(|_| Malformed)
    }
    fn map(&mut self) -> Result<BTreeMap<String, String>, Malformed> {
        let n = self.u32()?;
        let mut map = BTreeMap::new();
        for _ in 0..n {
            let k = self.string()?;
            map.insert(k, self.string()?);
        }
        Ok(map)
    }
    fn change(&mut self) -> Result<MapChange, Malformed> {
        let set = self.map()?;
        let n = self.u32()?;
        let mut removed = BTreeSet::new();
        for _ in 0..n {
            removed.insert(self.string()?);
        }
        Ok(MapChange { set, removed })
    }
    fn key(&mut self) -> Result<QueueKey, Malformed> {
        Ok(QueueKey {
            account_id: self.string()?,
            region: self.string()?,
            name: self.string()?,
        })
    }
    fn security_key(&mut self) -> Result<SecurityKey, Malformed> {
        Ok(SecurityKey {
            kind: self.string()?,
            name: self.string()?,
        })
    }
    fn security_change(&mut self) -> Result<SecurityChange, Malformed> {
        Ok(match self.u8()? {
            SECURITY_PUT => SecurityChange::Put(SecurityRecord {
                key: self.security_key()?,
                version: self.u64()?,
                value: self.bytes()?.to_vec(),
            }),
            SECURITY_DELETE => SecurityChange::Delete(self.security_key()?),
            _ => return Err(Malformed),
        })
    }
    fn attributes(&mut self) -> Result<Vec<MessageAttribute>, Malformed> {
        let n = self.u32()?;
        let mut out = Vec::with_capacity(n.min(64) as usize);
        for _ in 0..n {
            let name = self.string()?;
            let data_type = self.string()?;
            let value = match self.u8()? {
                1 => AttributeValue::String(self.string()?),
                2 => AttributeValue::Binary(self.bytes()?.to_vec()),
                _ => return Err(Malformed),
            };
            out.push(MessageAttribute {
                name,
                data_type,
                value,
            });
        }
        Ok(out)
    }
    fn state(&mut self) -> Result<StateFields, Malformed> {
        Ok(StateFields {
            visible_at: self.i64()?,
            receive_count: self.u32()?,
            first_receive_at: self.i64()?,
            received_at: self.i64()?,
        })
    }
    fn seqs(&mut self) -> Result<Vec<u64>, Malformed> {
        let n = self.u32()?;
        (0..n).map(|_| self.u64()).collect()
    }
}

/// Encodes a record as a whole frame, ready to append.
pub fn encode(record: &Record) -> Vec<u8> {
    // Room for a message's body and its fixed fields up front, so a large body is not copied again
    // each time the buffer grows.
    let body = match record {
        Record::Message { content, .. } | Record::Move { content, .. } => content.body.len(),
        Record::Security(changes) => changes
            .iter()
            .map(|c| match c {
                SecurityChange::Put(r) => r.value.len(),
                SecurityChange::Delete(_) => 0,
            })
            .sum(),
        _ => 0,
    };
    let mut w = Writer(Vec::with_capacity(FRAME_HEADER + body + 256));
    w.0.resize(FRAME_HEADER, 0);
    match record {
        Record::QueuePut(r) => {
            w.u8(QUEUE_PUT);
            w.key(&r.key);
            w.map(&r.attributes);
            w.map(&r.tags);
            w.i64(r.created_timestamp);
            w.i64(r.last_modified_timestamp);
            w.i64(r.last_purge_millis.unwrap_or(i64::MIN));
            w.u8(u8::from(r.fifo));
            w.u64(r.incarnation);
            w.u64(r.version);
        }
        Record::QueuePatch(p) => {
            w.u8(QUEUE_PATCH);
            w.key(&p.key);
            w.u64(p.incarnation);
            w.u64(p.version);
            w.change(&p.attributes);
            w.change(&p.tags);
            w.i64(p.created_timestamp);
            w.i64(p.last_modified_timestamp);
            w.i64(p.last_purge_millis.unwrap_or(i64::MIN));
            w.u8(u8::from(p.fifo));
        }
        Record::QueueDelete {
            key,
            incarnation,
            at,
        } => {
            w.u8(QUEUE_DELETE);
            w.key(key);
            w.u64(*incarnation);
            w.i64(*at);
        }
        Record::Message {
            queue,
            seq,
            state,
            content,
            deduplication,
        } => {
            w.u8(MESSAGE);
            w.message(*queue, *seq, state, content, deduplication.as_ref());
        }
        Record::SeqFloor { queue, next_seq } => {
            w.u8(SEQ_FLOOR);
            w.u64(*queue);
            w.u64(*next_seq);
        }
        Record::MoveTask(task) => {
            w.u8(MOVE_TASK);
            w.str(&task.handle);
            w.key(&task.source);
            match &task.destination {
                Some(key) => {
                    w.u8(1);
                    w.key(key);
                }
                None => w.u8(0),
            }
            w.u32(task.max_per_second.unwrap_or(0));
            w.str(task.status.name());
            w.u64(task.moved);
            w.u64(task.to_move);
            w.i64(task.started_at);
            w.str(task.failure_reason.as_deref().unwrap_or(""));
        }
        Record::Move {
            from_queue,
            from_seq,
            queue,
            seq,
            state,
            content,
        } => {
            w.u8(MOVE);
            w.u64(*from_queue);
            w.u64(*from_seq);
            w.message(*queue, *seq, state, content, None);
        }
        Record::Deduplication {
            queue,
            scope,
            id,
            seq,
            message_id,
            expires_at,
        } => {
            w.u8(DEDUPLICATION);
            w.u64(*queue);
            w.str(scope);
            w.str(id);
            w.u64(*seq);
            w.str(message_id);
            w.i64(*expires_at);
        }
        Record::Retime { queue, delay } => {
            w.u8(RETIME);
            w.u64(*queue);
            w.i64(*delay);
        }
        Record::Receive {
            queue,
            at,
            messages,
        } => {
            w.u8(RECEIVE);
            w.u64(*queue);
            w.i64(*at);
            w.u32(messages.len() as u32);
            for (seq, deadline) in messages {
                w.u64(*seq);
                w.i64(*deadline);
            }
        }
        Record::Delete { queue, seqs } => {
            w.u8(DELETE);
            w.u64(*queue);
            w.u32(seqs.len() as u32);
            for seq in seqs {
                w.u64(*seq);
            }
        }
        Record::Visibility {
            queue,
            seq,
            deadline,
        } => {
            w.u8(VISIBILITY);
            w.u64(*queue);
            w.u64(*seq);
            w.i64(*deadline);
        }
        Record::Purge { queue } => {
            w.u8(PURGE);
            w.u64(*queue);
        }
        Record::Security(changes) => {
            w.u8(SECURITY);
            w.u32(changes.len() as u32);
            for change in changes {
                match change {
                    SecurityChange::Put(record) => {
                        w.u8(SECURITY_PUT);
                        w.security_key(&record.key);
                        w.u64(record.version);
                        w.bytes(&record.value);
                    }
                    SecurityChange::Delete(key) => {
                        w.u8(SECURITY_DELETE);
                        w.security_key(key);
                    }
                }
            }
        }
    }
    let mut frame = w.0;
    let len = (frame.len() - FRAME_HEADER) as u32;
    let crc = crc32fast::hash(&frame[FRAME_HEADER..]);
    frame[0..4].copy_from_slice(&len.to_le_bytes());
    frame[4..8].copy_from_slice(&crc.to_le_bytes());
    frame
}

/// Whether `kind` is the type byte of some record.
pub fn known_type(kind: u8) -> bool {
    (QUEUE_PUT..=SECURITY).contains(&kind)
}

/// Reads a frame header: the payload length and checksum.
pub fn frame_header(bytes: &[u8]) -> Option<(usize, u32)> {
    let header: &[u8; FRAME_HEADER] = bytes.get(..FRAME_HEADER)?.try_into().ok()?;
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    Some((len, crc))
}

pub fn checksum_ok(payload: &[u8], crc: u32) -> bool {
    crc32fast::hash(payload) == crc
}

/// Decodes a payload whose checksum has been verified.
pub fn decode(payload: &[u8]) -> Result<Record, Malformed> {
    let mut r = Reader(payload);
    let record = match r.u8()? {
        QUEUE_PUT => Record::QueuePut(QueueRecord {
            key: r.key()?,
            attributes: r.map()?,
            tags: r.map()?,
            created_timestamp: r.i64()?,
            last_modified_timestamp: r.i64()?,
            last_purge_millis: Some(r.i64()?).filter(|v| *v != i64::MIN),
            fifo: r.u8()? != 0,
            incarnation: r.u64()?,
            version: r.u64()?,
        }),
        QUEUE_PATCH => Record::QueuePatch(QueuePatch {
            key: r.key()?,
            incarnation: r.u64()?,
            version: r.u64()?,
            attributes: r.change()?,
            tags: r.change()?,
            created_timestamp: r.i64()?,
            last_modified_timestamp: r.i64()?,
            last_purge_millis: Some(r.i64()?).filter(|v| *v != i64::MIN),
            fifo: r.u8()? != 0,
        }),
        QUEUE_DELETE => Record::QueueDelete {
            key: r.key()?,
            incarnation: r.u64()?,
            at: r.i64()?,
        },
        MESSAGE => {
            let (head, content) = read_message(&mut r)?;
            Record::Message {
                queue: head.queue,
                seq: head.seq,
                state: head.state,
                content,
                deduplication: head.deduplication,
            }
        }
        SEQ_FLOOR => Record::SeqFloor {
            queue: r.u64()?,
            next_seq: r.u64()?,
        },
        MOVE_TASK => {
            let handle = r.string()?;
            let source = r.key()?;
            let destination = match r.u8()? {
                0 => None,
                _ => Some(r.key()?),
            };
            let max_per_second = Some(r.u32()?).filter(|n| *n != 0);
            let status = MoveTaskStatus::from_name(&r.string()?).ok_or(Malformed)?;
            Record::MoveTask(MoveTaskRecord {
                handle,
                source,
                destination,
                max_per_second,
                status,
                moved: r.u64()?,
                to_move: r.u64()?,
                started_at: r.i64()?,
                failure_reason: Some(r.string()?).filter(|s| !s.is_empty()),
            })
        }
        MOVE => {
            let from_queue = r.u64()?;
            let from_seq = r.u64()?;
            let (head, content) = read_message(&mut r)?;
            Record::Move {
                from_queue,
                from_seq,
                queue: head.queue,
                seq: head.seq,
                state: head.state,
                content,
            }
        }
        DEDUPLICATION => Record::Deduplication {
            queue: r.u64()?,
            scope: r.string()?,
            id: r.string()?,
            seq: r.u64()?,
            message_id: r.string()?,
            expires_at: r.i64()?,
        },
        RETIME => Record::Retime {
            queue: r.u64()?,
            delay: r.i64()?,
        },
        RECEIVE => {
            let queue = r.u64()?;
            let at = r.i64()?;
            let n = r.u32()?;
            let messages = (0..n)
                .map(|_| Ok((r.u64()?, r.i64()?)))
                .collect::<Result<_, Malformed>>()?;
            Record::Receive {
                queue,
                at,
                messages,
            }
        }
        DELETE => Record::Delete {
            queue: r.u64()?,
            seqs: r.seqs()?,
        },
        VISIBILITY => Record::Visibility {
            queue: r.u64()?,
            seq: r.u64()?,
            deadline: r.i64()?,
        },
        PURGE => Record::Purge { queue: r.u64()? },
        SECURITY => {
            let n = r.u32()?;
            let changes = (0..n)
                .map(|_| r.security_change())
                .collect::<Result<_, Malformed>>()?;
            Record::Security(changes)
        }
        _ => return Err(Malformed),
    };
    if !r.0.is_empty() {
        return Err(Malformed);
    }
    Ok(record)
}

/// The fields of a message record that recovery needs without reading the content.
pub struct MessageHead {
    pub queue: u64,
    pub seq: u64,
    pub state: StateFields,
    pub sent_at: i64,
    pub enqueued_at: i64,
    pub group: Option<Arc<str>>,
    pub deduplication: Option<(String, String, i64)>,
    pub message_id: String,
    /// For a move, the queue and sequence number the message left.
    pub moved_from: Option<(u64, u64)>,
}

fn read_head(r: &mut Reader<'_>) -> Result<MessageHead, Malformed> {
    let queue = r.u64()?;
    // A queue's next sequence number is always one past its messages', so no message has the last.
    let seq = Some(r.u64()?)
        .filter(|seq| *seq != u64::MAX)
        .ok_or(Malformed)?;
    let state = r.state()?;
    let sent_at = r.i64()?;
    let enqueued_at = r.i64()?;
    let group = Some(r.string()?).filter(|g| !g.is_empty()).map(Arc::from);
    let scope = r.string()?;
    let id = r.string()?;
    let expires_at = r.i64()?;
    let message_id = r.string()?;
    Ok(MessageHead {
        queue,
        seq,
        state,
        sent_at,
        enqueued_at,
        group,
        deduplication: (!id.is_empty()).then_some((scope, id, expires_at)),
        message_id,
        moved_from: None,
    })
}

fn read_message(r: &mut Reader<'_>) -> Result<(MessageHead, Arc<MessageContent>), Malformed> {
    let head = read_head(r)?;
    let deduplication_id = Some(r.string()?).filter(|s| !s.is_empty());
    let md5_of_body = r.string()?;
    let md5_of_attributes = Some(r.string()?).filter(|s| !s.is_empty());
    let sender_id = r.string()?;
    let attributes = r.attributes()?;
    let system_attributes = r.attributes()?;
    let body = r.string()?;
    let content = Arc::new(MessageContent {
        message_id: head.message_id.clone(),
        body,
        attributes,
        system_attributes,
        md5_of_body,
        md5_of_attributes,
        sender_id,
        sent_at: head.sent_at,
        enqueued_at: head.enqueued_at,
        group_id: head.group.clone(),
        deduplication_id,
    });
    Ok((head, content))
}

/// Reads the leading fields of a message or move record, or `None` for any other record.
pub fn message_head(payload: &[u8]) -> Option<MessageHead> {
    let mut r = Reader(payload);
    match r.u8().ok()? {
        MESSAGE => read_head(&mut r).ok(),
        MOVE => {
            let from = (r.u64().ok()?, r.u64().ok()?);
            let mut head = read_head(&mut r).ok()?;
            head.moved_from = Some(from);
            Some(head)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content() -> Arc<MessageContent> {
        Arc::new(MessageContent {
            message_id: "id".into(),
            body: "body ✓".into(),
            attributes: vec![MessageAttribute {
                name: "n".into(),
                data_type: "Binary".into(),
                value: AttributeValue::Binary(vec![0, 255]),
            }],
            system_attributes: vec![MessageAttribute {
                name: "AWSTraceHeader".into(),
                data_type: "String".into(),
                value: AttributeValue::String("Root=1".into()),
            }],
            md5_of_body: "md5".into(),
            md5_of_attributes: Some("md5a".into()),
            sender_id: "AKID".into(),
            sent_at: 42,
            enqueued_at: 43,
            group_id: Some("g1".into()),
            deduplication_id: Some("d1".into()),
        })
    }

    #[test]
    fn every_record_round_trips() {
        let key = QueueKey {
            account_id: "000000000000".into(),
            region: "us-east-1".into(),
            name: "q".into(),
        };
        let state = StateFields {
            visible_at: 5,
            receive_count: 2,
            first_receive_at: i64::MIN,
            received_at: 3,
        };
        let records = vec![
            Record::QueuePut(QueueRecord {
                key: key.clone(),
                attributes: [("VisibilityTimeout".to_string(), "30".to_string())].into(),
                tags: BTreeMap::new(),
                created_timestamp: 1,
                last_modified_timestamp: 2,
                last_purge_millis: None,
                fifo: true,
                incarnation: 7,
                version: 3,
            }),
            Record::QueuePatch(QueuePatch {
                key: key.clone(),
                incarnation: 7,
                version: 4,
                attributes: MapChange {
                    set: [("DelaySeconds".to_string(), "5".to_string())].into(),
                    removed: ["Policy".to_string()].into(),
                },
                tags: MapChange::default(),
                created_timestamp: 1,
                last_modified_timestamp: 3,
                last_purge_millis: Some(8),
                fifo: true,
            }),
            Record::QueueDelete {
                key,
                incarnation: 7,
                at: 9,
            },
            Record::Message {
                queue: 7,
                seq: 1,
                state,
                content: content(),
                deduplication: Some(("g1".into(), "d1".into(), 300_000)),
            },
            Record::Deduplication {
                queue: 7,
                scope: String::new(),
                id: "d2".into(),
                seq: 4,
                message_id: "m".into(),
                expires_at: 9,
            },
            Record::Retime {
                queue: 7,
                delay: 5000,
            },
            Record::Receive {
                queue: 7,
                at: 4,
                messages: vec![(1, 10), (2, 11)],
            },
            Record::Delete {
                queue: 7,
                seqs: vec![1, 2],
            },
            Record::Visibility {
                queue: 7,
                seq: 1,
                deadline: -1,
            },
            Record::Purge { queue: 7 },
            Record::SeqFloor {
                queue: 7,
                next_seq: 99,
            },
            Record::MoveTask(MoveTaskRecord {
                handle: "h".into(),
                source: QueueKey {
                    account_id: "1".into(),
                    region: "r".into(),
                    name: "dlq".into(),
                },
                destination: None,
                max_per_second: Some(50),
                status: MoveTaskStatus::Cancelling,
                moved: 3,
                to_move: 9,
                started_at: 11,
                failure_reason: None,
            }),
            Record::Move {
                from_queue: 7,
                from_seq: 1,
                queue: 8,
                seq: 0,
                state,
                content: content(),
            },
            Record::Security(vec![
                SecurityChange::Put(SecurityRecord {
                    key: SecurityKey::new("user", "alice"),
                    version: 3,
                    value: vec![0, 1, 255],
                }),
                SecurityChange::Delete(SecurityKey::new("access-key", "AKIA")),
            ]),
            Record::Security(Vec::new()),
        ];
        for record in records {
            let frame = encode(&record);
            let (len, crc) = frame_header(&frame).unwrap();
            assert_eq!(len, frame.len() - FRAME_HEADER);
            assert!(checksum_ok(&frame[FRAME_HEADER..], crc));
            assert_eq!(decode(&frame[FRAME_HEADER..]).unwrap(), record);
        }
    }

    #[test]
    fn a_queue_patch_applies_only_to_the_record_it_was_made_from() {
        let old = QueueRecord {
            key: QueueKey {
                account_id: "1".into(),
                region: "r".into(),
                name: "q".into(),
            },
            attributes: [
                ("Policy".to_string(), "p".repeat(1000)),
                ("VisibilityTimeout".to_string(), "30".to_string()),
            ]
            .into(),
            tags: [("a".to_string(), "1".to_string())].into(),
            created_timestamp: 1,
            last_modified_timestamp: 2,
            last_purge_millis: None,
            fifo: false,
            incarnation: 7,
            version: 3,
        };
        let mut new = old.clone();
        new.attributes
            .insert("VisibilityTimeout".into(), "60".into());
        new.tags.remove("a");
        new.tags.insert("b".into(), "2".into());
        new.last_purge_millis = Some(9);
        new.version = 4;
        let patch = QueuePatch::between(&old, &new).unwrap();
        assert!(encode(&Record::QueuePatch(patch.clone())).len() < 200);
        let mut applied = old.clone();
        assert!(patch.apply(&mut applied));
        assert_eq!(applied, new);
        // Not again, and not to another incarnation.
        assert!(!patch.apply(&mut applied));
        let mut other = old.clone();
        other.incarnation = 8;
        assert!(!patch.apply(&mut other));
        assert_eq!(other.attributes, old.attributes);
        let mut skipped = new.clone();
        skipped.version = 6;
        assert!(QueuePatch::between(&old, &skipped).is_none());
    }

    #[test]
    fn truncated_or_trailing_payloads_are_malformed() {
        let frame = encode(&Record::Purge { queue: 1 });
        let payload = &frame[FRAME_HEADER..];
        assert_eq!(decode(&payload[..payload.len() - 1]), Err(Malformed));
        let mut longer = payload.to_vec();
        longer.push(0);
        assert_eq!(decode(&longer), Err(Malformed));
        assert_eq!(decode(&[99]), Err(Malformed));
    }
}

#[cfg(test)]
mod properties {
    use proptest::collection::{btree_map, btree_set, vec};
    use proptest::option;
    use proptest::prelude::*;

    use super::*;

    fn text() -> impl Strategy<Value = String> {
        "\\PC{0,6}"
    }

    /// A string the format reads back as present: empty stands for absent in optional fields.
    fn some_text() -> impl Strategy<Value = String> {
        "\\PC{1,6}"
    }

    fn key() -> impl Strategy<Value = QueueKey> {
        (text(), text(), text()).prop_map(|(account_id, region, name)| QueueKey {
            account_id,
            region,
            name,
        })
    }

    fn map() -> impl Strategy<Value = BTreeMap<String, String>> {
        btree_map(text(), text(), 0..4)
    }

    /// Epoch milliseconds of an optional instant: `i64::MIN` stands for none.
    fn instant() -> impl Strategy<Value = Option<i64>> {
        option::of((i64::MIN + 1)..=i64::MAX)
    }

    fn change() -> impl Strategy<Value = MapChange> {
        (map(), btree_set(text(), 0..3)).prop_map(|(set, removed)| MapChange { set, removed })
    }

    fn state() -> impl Strategy<Value = StateFields> {
        (any::<i64>(), any::<u32>(), any::<i64>(), any::<i64>()).prop_map(
            |(visible_at, receive_count, first_receive_at, received_at)| StateFields {
                visible_at,
                receive_count,
                first_receive_at,
                received_at,
            },
        )
    }

    fn attribute() -> impl Strategy<Value = MessageAttribute> {
        let value = prop_oneof![
            text().prop_map(AttributeValue::String),
            vec(any::<u8>(), 0..8).prop_map(AttributeValue::Binary),
        ];
        (text(), text(), value).prop_map(|(name, data_type, value)| MessageAttribute {
            name,
            data_type,
            value,
        })
    }

    fn content() -> impl Strategy<Value = Arc<MessageContent>> {
        let ids = (text(), option::of(some_text()), option::of(some_text()));
        let digests = (text(), option::of(some_text()), text());
        let attributes = (vec(attribute(), 0..3), vec(attribute(), 0..2));
        (ids, digests, attributes, text(), any::<i64>(), any::<i64>()).prop_map(
            |(
                (message_id, group, deduplication_id),
                (md5_of_body, md5_of_attributes, sender_id),
                (attributes, system_attributes),
                body,
                sent_at,
                enqueued_at,
            )| {
                Arc::new(MessageContent {
                    message_id,
                    body,
                    attributes,
                    system_attributes,
                    md5_of_body,
                    md5_of_attributes,
                    sender_id,
                    sent_at,
                    enqueued_at,
                    group_id: group.map(Arc::from),
                    deduplication_id,
                })
            },
        )
    }

    fn seq() -> impl Strategy<Value = u64> {
        0..u64::MAX
    }

    fn queue_record() -> impl Strategy<Value = QueueRecord> {
        let times = (any::<i64>(), any::<i64>(), instant());
        (
            key(),
            map(),
            map(),
            times,
            any::<bool>(),
            any::<u64>(),
            any::<u64>(),
        )
            .prop_map(
                |(
                    key,
                    attributes,
                    tags,
                    (created, modified, purge),
                    fifo,
                    incarnation,
                    version,
                )| {
                    QueueRecord {
                        key,
                        attributes,
                        tags,
                        created_timestamp: created,
                        last_modified_timestamp: modified,
                        last_purge_millis: purge,
                        fifo,
                        incarnation,
                        version,
                    }
                },
            )
    }

    fn queue_patch() -> impl Strategy<Value = QueuePatch> {
        let times = (any::<i64>(), any::<i64>(), instant());
        (
            key(),
            any::<u64>(),
            any::<u64>(),
            change(),
            change(),
            times,
            any::<bool>(),
        )
            .prop_map(
                |(
                    key,
                    incarnation,
                    version,
                    attributes,
                    tags,
                    (created, modified, purge),
                    fifo,
                )| {
                    QueuePatch {
                        key,
                        incarnation,
                        version,
                        attributes,
                        tags,
                        created_timestamp: created,
                        last_modified_timestamp: modified,
                        last_purge_millis: purge,
                        fifo,
                    }
                },
            )
    }

    fn security_key() -> impl Strategy<Value = SecurityKey> {
        (text(), text()).prop_map(|(kind, name)| SecurityKey { kind, name })
    }

    fn security_change() -> impl Strategy<Value = SecurityChange> {
        prop_oneof![
            (security_key(), any::<u64>(), vec(any::<u8>(), 0..8)).prop_map(
                |(key, version, value)| SecurityChange::Put(SecurityRecord {
                    key,
                    version,
                    value
                })
            ),
            security_key().prop_map(SecurityChange::Delete),
        ]
    }

    fn move_task() -> impl Strategy<Value = MoveTaskRecord> {
        let status = prop_oneof![
            Just(MoveTaskStatus::Running),
            Just(MoveTaskStatus::Completed),
            Just(MoveTaskStatus::Cancelling),
            Just(MoveTaskStatus::Cancelled),
            Just(MoveTaskStatus::Failed),
        ];
        let counts = (any::<u64>(), any::<u64>(), any::<i64>());
        (
            text(),
            key(),
            option::of(key()),
            option::of(1..=u32::MAX),
            status,
            counts,
            option::of(some_text()),
        )
            .prop_map(
                |(handle, source, destination, max_per_second, status, counts, failure_reason)| {
                    MoveTaskRecord {
                        handle,
                        source,
                        destination,
                        max_per_second,
                        status,
                        moved: counts.0,
                        to_move: counts.1,
                        started_at: counts.2,
                        failure_reason,
                    }
                },
            )
    }

    /// Every kind of record, with any values the format can carry.
    fn record() -> impl Strategy<Value = Record> {
        let deduplication = option::of((text(), some_text(), any::<i64>()));
        prop_oneof![
            queue_record().prop_map(Record::QueuePut),
            queue_patch().prop_map(Record::QueuePatch),
            (key(), any::<u64>(), any::<i64>()).prop_map(|(key, incarnation, at)| {
                Record::QueueDelete {
                    key,
                    incarnation,
                    at,
                }
            }),
            (any::<u64>(), seq(), state(), content(), deduplication).prop_map(
                |(queue, seq, state, content, deduplication)| Record::Message {
                    queue,
                    seq,
                    state,
                    content,
                    deduplication,
                }
            ),
            (
                any::<u64>(),
                text(),
                text(),
                any::<u64>(),
                text(),
                any::<i64>()
            )
                .prop_map(|(queue, scope, id, seq, message_id, expires_at)| {
                    Record::Deduplication {
                        queue,
                        scope,
                        id,
                        seq,
                        message_id,
                        expires_at,
                    }
                }),
            (any::<u64>(), any::<i64>()).prop_map(|(queue, delay)| Record::Retime { queue, delay }),
            move_task().prop_map(Record::MoveTask),
            (any::<u64>(), any::<u64>())
                .prop_map(|(queue, next_seq)| Record::SeqFloor { queue, next_seq }),
            (any::<(u64, u64, u64)>(), seq(), state(), content()).prop_map(
                |((from_queue, from_seq, queue), seq, state, content)| Record::Move {
                    from_queue,
                    from_seq,
                    queue,
                    seq,
                    state,
                    content,
                }
            ),
            (any::<u64>(), any::<i64>(), vec(any::<(u64, i64)>(), 0..4)).prop_map(
                |(queue, at, messages)| Record::Receive {
                    queue,
                    at,
                    messages,
                }
            ),
            (any::<u64>(), vec(any::<u64>(), 0..4))
                .prop_map(|(queue, seqs)| Record::Delete { queue, seqs }),
            (any::<u64>(), any::<u64>(), any::<i64>()).prop_map(|(queue, seq, deadline)| {
                Record::Visibility {
                    queue,
                    seq,
                    deadline,
                }
            }),
            any::<u64>().prop_map(|queue| Record::Purge { queue }),
            vec(security_change(), 0..4).prop_map(Record::Security),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn every_record_decodes_to_what_was_encoded(record in record()) {
            let frame = encode(&record);
            let (len, crc) = frame_header(&frame).unwrap();
            prop_assert_eq!(len, frame.len() - FRAME_HEADER);
            let payload = &frame[FRAME_HEADER..];
            prop_assert!(checksum_ok(payload, crc));
            prop_assert_eq!(decode(payload), Ok(record));
        }

        #[test]
        fn arbitrary_bytes_never_panic_the_decoder(bytes in vec(any::<u8>(), 0..256)) {
            crate::durable::fuzzing::decode_record(&bytes);
        }

        #[test]
        fn records_with_a_changed_byte_never_panic_the_decoder(
            record in record(),
            at in any::<prop::sample::Index>(),
            byte in any::<u8>(),
        ) {
            let mut payload = encode(&record)[FRAME_HEADER..].to_vec();
            let i = at.index(payload.len());
            payload[i] = byte;
            crate::durable::fuzzing::decode_record(&payload);
        }
    }
}
