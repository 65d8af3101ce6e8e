//! The journal's record format. Every record is one frame: `[payload length u32][crc32 of payload u32]
//! [payload]`, little-endian, and a payload starts with its record type. Fields are fixed-width integers
//! and length-prefixed byte strings, written and read by the two small cursors below.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::{
    AttributeValue, DeadLetterMove, MessageAttribute, MessageBody, MessageContent, MoveTaskRecord,
    MoveTaskStatus, QueueKey, QueueRecord, SecurityKey, SecurityRecord,
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
/// The first byte of a sealed message body in a record.
const SEALED_BODY: u8 = 0;
const MOVE: u8 = 10;
const MOVE_TASK: u8 = 11;
const SEQ_FLOOR: u8 = 12;
const QUEUE_PATCH: u8 = 13;
const SECURITY: u8 = 14;
/// A message or move record of a message that came to its queue as a dead letter: the plain record's
/// fields with the move's time and receive count before the message (written only then, so records
/// of every other message keep the format they always had).
const DEAD_LETTER_MESSAGE: u8 = 15;
const DEAD_LETTER_MOVE: u8 = 16;

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
    fn dead_letter_move(&mut self, moved: DeadLetterMove) {
        self.i64(moved.at);
        self.u32(moved.receive_count);
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
        self.body(&content.body);
    }

    /// A plain body as its text; a sealed one behind a NUL byte, which no SQS body contains (so
    /// records written before bodies could be sealed read as they always did).
    fn body(&mut self, body: &MessageBody) {
        match body {
            MessageBody::Plain(text) => self.str(text),
            MessageBody::Sealed(bytes) => {
                self.u32(bytes.len() as u32 + 1);
                self.0.push(SEALED_BODY);
                self.0.extend(bytes);
            }
        }
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
    /// The move's fields, when the record type says the message came as a dead letter.
    fn dead_letter_move(&mut self, present: bool) -> Result<Option<DeadLetterMove>, Malformed> {
        if !present {
            return Ok(None);
        }
        Ok(Some(DeadLetterMove {
            at: self.i64()?,
            receive_count: self.u32()?,
        }))
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
            match content.dead_letter_move {
                None => w.u8(MESSAGE),
                Some(moved) => {
                    w.u8(DEAD_LETTER_MESSAGE);
                    w.dead_letter_move(moved);
                }
            }
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
            w.u8(match content.dead_letter_move {
                None => MOVE,
                Some(_) => DEAD_LETTER_MOVE,
            });
            w.u64(*from_queue);
            w.u64(*from_seq);
            if let Some(moved) = content.dead_letter_move {
                w.dead_letter_move(moved);
            }
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
    let tag = r.u8()?;
    let record = match tag {
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
        MESSAGE | DEAD_LETTER_MESSAGE => {
            let moved = r.dead_letter_move(tag == DEAD_LETTER_MESSAGE)?;
            let (head, content) = read_message(&mut r, moved)?;
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
        MOVE | DEAD_LETTER_MOVE => {
            let from_queue = r.u64()?;
            let from_seq = r.u64()?;
            let moved = r.dead_letter_move(tag == DEAD_LETTER_MOVE)?;
            let (head, content) = read_message(&mut r, moved)?;
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
    pub dead_letter_move: Option<DeadLetterMove>,
}

fn read_head(
    r: &mut Reader<'_>,
    dead_letter_move: Option<DeadLetterMove>,
) -> Result<MessageHead, Malformed> {
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
        dead_letter_move,
    })
}

fn read_message(
    r: &mut Reader<'_>,
    dead_letter_move: Option<DeadLetterMove>,
) -> Result<(MessageHead, Arc<MessageContent>), Malformed> {
    let head = read_head(r, dead_letter_move)?;
    let deduplication_id = Some(r.string()?).filter(|s| !s.is_empty());
    let md5_of_body = r.string()?;
    let md5_of_attributes = Some(r.string()?).filter(|s| !s.is_empty());
    let sender_id = r.string()?;
    let attributes = r.attributes()?;
    let system_attributes = r.attributes()?;
    let body = match r.bytes()? {
        [SEALED_BODY, sealed @ ..] => MessageBody::Sealed(sealed.to_vec()),
        text => MessageBody::Plain(String::from_utf8(text.to_vec()).map_err(|_| Malformed)?),
    };
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
        dead_letter_move,
    });
    Ok((head, content))
}

/// Reads the leading fields of a message or move record, or `None` for any other record.
pub fn message_head(payload: &[u8]) -> Option<MessageHead> {
    let mut r = Reader(payload);
    let tag = r.u8().ok()?;
    match tag {
        MESSAGE | DEAD_LETTER_MESSAGE => {
            let moved = r.dead_letter_move(tag == DEAD_LETTER_MESSAGE).ok()?;
            read_head(&mut r, moved).ok()
        }
        MOVE | DEAD_LETTER_MOVE => {
            let from = (r.u64().ok()?, r.u64().ok()?);
            let moved = r.dead_letter_move(tag == DEAD_LETTER_MOVE).ok()?;
            let mut head = read_head(&mut r, moved).ok()?;
            head.moved_from = Some(from);
            Some(head)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod properties;
