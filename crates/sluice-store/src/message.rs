//! Messages as the store keeps them: immutable content written once at send, and the delivery state that
//! receives, deletes and visibility changes move.
//!
//! Every time here is epoch milliseconds on the caller's clock; the store compares times it is given and
//! never reads a clock itself, so queue semantics decide what "now" is.

use std::sync::Arc;

use crate::QueueKey;

/// A message attribute (user or system), already validated by the queue layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageAttribute {
    pub name: String,
    pub data_type: String,
    pub value: AttributeValue,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttributeValue {
    String(String),
    Binary(Vec<u8>),
}

impl crate::queue_messages::Payload for Arc<MessageContent> {
    fn enqueued_at(&self) -> i64 {
        self.enqueued_at
    }

    fn group(&self) -> Option<&Arc<str>> {
        self.group_id.as_ref()
    }

    fn dead_letter_move(&self) -> Option<DeadLetterMove> {
        self.dead_letter_move
    }
}

/// A message body as stored: the text the producer sent, or that text sealed by server-side
/// encryption above the storage boundary (the store never sees the plaintext of a sealed body).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageBody {
    Plain(String),
    /// An envelope the security layer made and alone can open.
    Sealed(Vec<u8>),
}

impl MessageBody {
    /// Bytes the body takes in memory and on disk.
    pub fn len(&self) -> usize {
        match self {
            MessageBody::Plain(text) => text.len(),
            MessageBody::Sealed(bytes) => bytes.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The text, for a body that was not sealed.
    pub fn plain(&self) -> Option<&str> {
        match self {
            MessageBody::Plain(text) => Some(text),
            MessageBody::Sealed(_) => None,
        }
    }
}

impl From<String> for MessageBody {
    fn from(text: String) -> Self {
        MessageBody::Plain(text)
    }
}

impl From<&str> for MessageBody {
    fn from(text: &str) -> Self {
        MessageBody::Plain(text.to_string())
    }
}

impl PartialEq<&str> for MessageBody {
    fn eq(&self, other: &&str) -> bool {
        self.plain() == Some(*other)
    }
}

/// What a send writes and no later operation changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageContent {
    pub message_id: String,
    pub body: MessageBody,
    /// User attributes, sorted by name.
    pub attributes: Vec<MessageAttribute>,
    /// System attributes given at send (`AWSTraceHeader`), sorted by name.
    pub system_attributes: Vec<MessageAttribute>,
    pub md5_of_body: String,
    pub md5_of_attributes: Option<String>,
    pub sender_id: String,
    pub sent_at: i64,
    /// When the message entered its current queue, which retention counts from: its send, or its move
    /// to a FIFO dead-letter queue.
    pub enqueued_at: i64,
    /// The message group: delivery order on FIFO queues, the tenant on standard (fair) queues.
    pub group_id: Option<Arc<str>>,
    /// The deduplication id of a FIFO message, given or derived from the body.
    pub deduplication_id: Option<String>,
    /// Set on a message moved to a dead-letter queue by its source's redrive policy.
    pub dead_letter_move: Option<DeadLetterMove>,
}

/// A message's move to a dead-letter queue. CloudWatch counts a dead-letter queue's oldest message from
/// its move, not its send (which retention of a standard queue still counts from), and the rule that
/// leaves out messages received three times or more counts only the receives since.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeadLetterMove {
    pub at: i64,
    /// How many times the message had been received when it moved; its receive count carries over.
    pub receive_count: u32,
}

impl MessageContent {
    /// When the message entered its current queue, which its age counts from: its move to a
    /// dead-letter queue, else its enqueue time.
    pub fn arrived_at(&self) -> i64 {
        self.dead_letter_move
            .map_or(self.enqueued_at, |moved| moved.at)
    }
}

/// A message to append to a queue.
#[derive(Clone, Debug)]
pub struct NewMessage {
    pub content: Arc<MessageContent>,
    /// When the message first becomes visible (its send time plus any delay).
    pub visible_at: i64,
    /// Deduplicate against messages sent within the window: `(scope, id, window in milliseconds)`.
    pub deduplication: Option<DeduplicationKey>,
}

/// How a FIFO message is deduplicated: its id within a scope (empty for the whole queue, the group for
/// per-group deduplication), remembered for a window.
#[derive(Clone, Debug)]
pub struct DeduplicationKey {
    pub scope: String,
    pub id: String,
    pub window_millis: i64,
}

/// What became of one message of a send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendOutcome {
    /// Appended at this sequence number.
    Appended(u64),
    /// A message with the same deduplication id was sent within the window; nothing was appended.
    Duplicate { seq: u64, message_id: String },
}

/// A message to delete, by sequence number. With `receive_count`, only the receive that issued the
/// handle may delete it, and only while that receive's visibility lasts (as FIFO queues require).
#[derive(Clone, Copy, Debug)]
pub struct Deletion {
    pub seq: u64,
    pub receive_count: Option<u32>,
    pub now: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeleteOutcome {
    Deleted,
    /// No such message (already deleted, purged or expired).
    Gone,
    /// The handle's receive is no longer the one in flight.
    Expired,
}

/// A message handed out by a receive, hidden until `visible_at`.
#[derive(Clone, Debug)]
pub struct ReceivedMessage {
    /// The message's position in its queue, unique within the queue.
    pub seq: u64,
    pub content: Arc<MessageContent>,
    /// How many times the message has been received, this receive included.
    pub receive_count: u32,
    pub first_receive_at: i64,
}

/// One receive, as queue semantics decided it.
#[derive(Clone, Copy, Debug)]
pub struct ReceiveRequest {
    pub now: i64,
    pub max_messages: usize,
    /// When the received messages become visible again.
    pub visibility_deadline: i64,
    /// Messages sent before this are past retention and are removed instead of delivered.
    pub expire_before: i64,
    /// No message is handed out while this many are in flight.
    pub max_in_flight: usize,
}

#[derive(Clone, Debug, Default)]
pub struct ReceiveOutcome {
    pub messages: Vec<ReceivedMessage>,
    /// When the next delayed or in-flight message becomes visible, if any is waiting.
    pub next_visible_at: Option<i64>,
    /// Nothing was handed out because `max_in_flight` messages are in flight.
    pub in_flight_limit_reached: bool,
    /// How many messages the receive moved to the dead-letter queue instead of handing them out.
    pub moved: usize,
}

/// A visibility change, as queue semantics decided it.
#[derive(Clone, Copy, Debug)]
pub struct VisibilityChange {
    pub seq: u64,
    /// The receive the caller's receipt handle came from. On a standard queue a handle of an earlier
    /// receive also works while the message is in flight; a FIFO queue takes only the latest.
    pub receive_count: u32,
    pub now: i64,
    pub deadline: i64,
    /// The change is refused when `deadline` is later than the receive that issued the handle plus this.
    pub max_span_from_receive: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VisibilityOutcome {
    /// The deadline moved. A message whose visibility ran out but that nobody received since is hidden
    /// again: the handle's holder still has the latest receive.
    Changed,
    /// The message was received again since the handle was issued, and (on a standard queue) is no
    /// longer in flight; on a FIFO queue, received again at all.
    Stale,
    /// No such message: deleted, purged or expired.
    Gone,
    /// The new deadline is past the allowed span from the receive.
    BeyondLimit,
}

/// Where a receive sends messages that have been received too often: a dead-letter queue.
#[derive(Clone, Debug)]
pub struct Redrive {
    pub target: QueueKey,
    /// A message already received this many times is moved instead of being handed out again.
    pub max_receive_count: u32,
    /// A system attribute added to each moved message.
    pub stamp: MessageAttribute,
    /// The moved message's retention counts from the move.
    pub restart_retention: bool,
    /// The moved message's deduplication id becomes its message id.
    pub deduplicate_by_message_id: bool,
}

impl Redrive {
    /// The content a message received `receive_count` times has in the dead-letter queue.
    pub fn moved(&self, content: &MessageContent, now: i64, receive_count: u32) -> MessageContent {
        let mut moved = content.clone();
        moved.dead_letter_move = Some(DeadLetterMove {
            at: now,
            receive_count,
        });
        moved
            .system_attributes
            .retain(|a| a.name != self.stamp.name);
        moved.system_attributes.push(self.stamp.clone());
        moved.system_attributes.sort_by(|a, b| a.name.cmp(&b.name));
        if self.restart_retention {
            moved.enqueued_at = now;
        }
        if self.deduplicate_by_message_id {
            moved.deduplication_id = Some(moved.message_id.clone());
        }
        moved
    }
}

/// Exact counts at the moment of the call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MessageCounts {
    pub visible: u64,
    pub in_flight: u64,
    pub delayed: u64,
}

/// What a queue's CloudWatch gauges read: its counts, when its oldest message joined it (sent, or
/// moved to it as a dead letter; on a standard queue, leaving out messages received three times or
/// more since, which SQS moves to the back of the queue), and on FIFO queues the message groups with
/// messages in flight.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueGauges {
    pub counts: MessageCounts,
    pub oldest_arrived_at: Option<i64>,
    pub groups_in_flight: u64,
}

/// Receives (since it joined the queue) after which a standard queue's message no longer counts as its
/// oldest.
pub const OLDEST_AGE_RECEIVE_LIMIT: u32 = 3;

/// Where a message-move task stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MoveTaskStatus {
    Running,
    Completed,
    Cancelling,
    Cancelled,
    Failed,
}

impl MoveTaskStatus {
    pub fn name(self) -> &'static str {
        match self {
            MoveTaskStatus::Running => "RUNNING",
            MoveTaskStatus::Completed => "COMPLETED",
            MoveTaskStatus::Cancelling => "CANCELLING",
            MoveTaskStatus::Cancelled => "CANCELLED",
            MoveTaskStatus::Failed => "FAILED",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [
            MoveTaskStatus::Running,
            MoveTaskStatus::Completed,
            MoveTaskStatus::Cancelling,
            MoveTaskStatus::Cancelled,
            MoveTaskStatus::Failed,
        ]
        .into_iter()
        .find(|s| s.name() == name)
    }
}

/// A message-move task, as stored: written when it starts, as it progresses and when it ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MoveTaskRecord {
    pub handle: String,
    pub source: QueueKey,
    /// `None` sends each message back to the queue it came from.
    pub destination: Option<QueueKey>,
    pub max_per_second: Option<u32>,
    pub status: MoveTaskStatus,
    pub moved: u64,
    pub to_move: u64,
    /// Epoch milliseconds.
    pub started_at: i64,
    pub failure_reason: Option<String>,
}
