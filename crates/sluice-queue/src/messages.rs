//! The message lifecycle on standard queues: SendMessage(Batch), ReceiveMessage with long polling,
//! DeleteMessage(Batch) and ChangeMessageVisibility(Batch), as the SQS API reference and the developer
//! guide's visibility-timeout, delay-queue and short/long-polling pages describe them.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use sluice_model::types::{
    BatchOutput, BatchResultEntry, BatchResultErrorEntry, ChangeMessageVisibilityBatchInput,
    ChangeMessageVisibilityInput, DeleteMessageBatchInput, DeleteMessageInput, Message,
    MessageAttributeMap, MessageAttributeValue, ReceiveMessageInput, ReceiveMessageOutput,
    SendMessageBatchInput, SendMessageBatchOutput, SendMessageBatchRequestEntry,
    SendMessageBatchResultEntry, SendMessageInput, SendMessageOutput,
};
use sluice_model::{ApiError, RequestContext};
use sluice_store::{
    AttributeValue, DeduplicationKey, DeleteOutcome, Deletion, MessageBody, MessageContent,
    NewMessage, QueueKey, QueueRecord, ReceiveAttempt, ReceiveRequest, ReceivedMessage, Redrive,
    SendOutcome, StoreError, VisibilityChange, VisibilityOutcome,
};

use crate::attempts::{self, ATTEMPT_WINDOW_MILLIS};
use crate::content;
use crate::error::QueueError;
use crate::receipt::ReceiptHandle;
use crate::settings::QueueSettings;
use crate::QueueService;

const MAX_DELAY_SECONDS: i64 = 900;
const MAX_VISIBILITY_TIMEOUT: i64 = 43_200;
const MAX_WAIT_SECONDS: i64 = 20;
const MAX_RECEIVE: i64 = 10;
const MAX_BATCH_ENTRIES: usize = 10;
const MAX_BATCH_ID: usize = 80;
/// The largest total payload of a SendMessageBatch, the same as the largest message.
const MAX_BATCH_PAYLOAD: usize = 1_048_576;
/// About this many messages can be in flight in a standard queue before receives are refused.
pub const MAX_IN_FLIGHT: usize = 120_000;
/// How long a FIFO deduplication id is remembered.
const DEDUPLICATION_WINDOW_MILLIS: i64 = 5 * 60 * 1000;
/// A message's visibility can be extended to at most 12 hours after the receive that handed it out.
const MAX_VISIBILITY_SPAN_MILLIS: i64 = MAX_VISIBILITY_TIMEOUT * 1000;

/// The system attributes ReceiveMessage can return, in the order they are listed.
pub(crate) const SYSTEM_ATTRIBUTES: &[&str] = &[
    "SenderId",
    "SentTimestamp",
    "ApproximateReceiveCount",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageDeduplicationId",
    "MessageGroupId",
    content::AWS_TRACE_HEADER,
    DEAD_LETTER_SOURCE,
];

/// The system attribute naming the queue a dead-lettered message came from.
pub(crate) const DEAD_LETTER_SOURCE: &str = "DeadLetterQueueSourceArn";

fn out_of_range(name: &str, value: i64, reason: &str) -> QueueError {
    QueueError::InvalidParameterValue {
        name: name.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

/// One message to send, from SendMessage or a SendMessageBatch entry.
struct Outgoing<'a> {
    body: &'a str,
    delay_seconds: Option<i64>,
    attributes: &'a MessageAttributeMap,
    system_attributes: &'a MessageAttributeMap,
    deduplication_id: Option<&'a str>,
    group_id: Option<&'a str>,
    /// The request's `X-Amzn-Trace-Id` header; only SendMessage reads it.
    trace_header: Option<&'a str>,
}

impl QueueService {
    pub(crate) async fn message_queue(
        &self,
        ctx: &RequestContext,
        queue_url: &str,
    ) -> Result<(QueueKey, Arc<QueueRecord>), QueueError> {
        let key = self.key_for_url(ctx, queue_url)?;
        let record = self
            .store
            .get_queue(&key)
            .await?
            .ok_or(QueueError::QueueDoesNotExist)?;
        Ok((key, record))
    }

    /// Checks one outgoing message and builds what the store keeps, with the response it earns.
    fn prepare(
        &self,
        ctx: &RequestContext,
        settings: &QueueSettings,
        now: i64,
        message: &Outgoing<'_>,
    ) -> Result<(NewMessage, SendMessageOutput), QueueError> {
        let not_for_this_queue_type =
            |name: &str, value: String| QueueError::InvalidParameterValue {
                name: name.to_string(),
                value,
                reason: "The request include parameter that is not valid for this queue type."
                    .to_string(),
            };
        let group = match (settings.fifo, message.group_id) {
            (true, None) => return Err(QueueError::MissingParameter("MessageGroupId".to_string())),
            (_, Some(group)) => {
                validate_token("MessageGroupId", group)?;
                Some(group)
            }
            (false, None) => None,
        };
        if let (false, Some(id)) = (settings.fifo, message.deduplication_id) {
            return Err(not_for_this_queue_type(
                "MessageDeduplicationId",
                id.to_string(),
            ));
        }
        // FIFO queues take no per-message delay (0 is accepted), only the queue's.
        let delay = match (settings.fifo, message.delay_seconds) {
            (true, Some(d)) if d != 0 => {
                return Err(not_for_this_queue_type("DelaySeconds", d.to_string()))
            }
            (true, _) => settings.delay_seconds,
            (false, given) => given.unwrap_or(settings.delay_seconds),
        };
        if !(0..=MAX_DELAY_SECONDS).contains(&delay) {
            return Err(out_of_range(
                "DelaySeconds",
                delay,
                "DelaySeconds must be >= 0 and <= 900.",
            ));
        }
        content::validate_body(message.body)?;
        let body = message.body.to_string();
        let deduplication = if settings.fifo {
            let id = match message.deduplication_id {
                Some(id) => {
                    validate_token("MessageDeduplicationId", id)?;
                    id.to_string()
                }
                // Content-based deduplication: the SHA-256 of the body alone.
                None if settings.content_based_deduplication => content::sha256_hex(body.as_bytes()),
                None => {
                    return Err(QueueError::InvalidParameter(
                        "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly"
                            .to_string(),
                    ))
                }
            };
            let scope = match (settings.per_group_deduplication, group) {
                (true, Some(group)) => group.to_string(),
                _ => String::new(),
            };
            Some(DeduplicationKey {
                scope,
                id,
                window_millis: DEDUPLICATION_WINDOW_MILLIS,
            })
        } else {
            None
        };
        let attributes = content::user_attributes(message.attributes)?;
        let system_attributes = content::system_attributes(message.system_attributes)?;
        // The digest covers the system attributes the request gave, which is what SDKs check it against.
        let md5_of_system_attributes = content::md5_of_attributes(&system_attributes);
        let system_attributes = content::with_trace_header(system_attributes, message.trace_header);
        if content::message_size(&body, &attributes) > settings.maximum_message_size {
            return Err(QueueError::InvalidParameter(format!(
                "One or more parameters are invalid. Reason: Message must be shorter than {} bytes.",
                settings.maximum_message_size
            )));
        }
        let md5_of_attributes = content::md5_of_attributes(&attributes);
        let output = SendMessageOutput {
            message_id: uuid::Uuid::new_v4().to_string(),
            md5_of_message_body: content::md5_hex(body.as_bytes()),
            md5_of_message_attributes: md5_of_attributes.clone(),
            md5_of_message_system_attributes: md5_of_system_attributes,
            sequence_number: None,
        };
        let content = MessageContent {
            message_id: output.message_id.clone(),
            md5_of_body: output.md5_of_message_body.clone(),
            body: MessageBody::Plain(body),
            attributes,
            system_attributes,
            md5_of_attributes,
            sender_id: ctx.principal.user_id.clone(),
            sent_at: now,
            enqueued_at: now,
            group_id: group.map(Arc::from),
            deduplication_id: deduplication.as_ref().map(|d| d.id.clone()),
            dead_letter_move: None,
        };
        let new = NewMessage {
            content: Arc::new(content),
            visible_at: now + delay * 1000,
            deduplication,
        };
        Ok((new, output))
    }

    /// Completes a send's output with what the store made of it: the sequence number of a FIFO message,
    /// and for a duplicate the id of the message it duplicates (the MD5 digests stay those of this
    /// request, which the client's SDK checks).
    fn sent(
        &self,
        settings: &QueueSettings,
        mut output: SendMessageOutput,
        outcome: &SendOutcome,
    ) -> SendMessageOutput {
        let seq = match outcome {
            SendOutcome::Appended(seq) => *seq,
            SendOutcome::Duplicate { seq, message_id } => {
                output.message_id = message_id.clone();
                *seq
            }
        };
        if settings.fifo {
            output.sequence_number = Some(sequence_number(seq));
        }
        output
    }

    /// Counts a send's messages as CloudWatch does: those added, with their sizes, and those
    /// deduplicated.
    fn count_sends(&self, key: &QueueKey, sizes: &[u64], outcomes: &[SendOutcome]) {
        let counters = self.activity.counters(key);
        for (size, outcome) in sizes.iter().zip(outcomes) {
            match outcome {
                SendOutcome::Appended(_) => counters.sent(*size),
                SendOutcome::Duplicate { .. } => counters.deduplicated(),
            }
        }
    }

    pub(crate) async fn send_message(
        &self,
        ctx: &RequestContext,
        input: SendMessageInput,
    ) -> Result<SendMessageOutput, QueueError> {
        let (key, record) = self.message_queue(ctx, &input.queue_url).await?;
        let settings = QueueSettings::of(&record);
        let now = self.clock.now_millis();
        let (message, output) = self.prepare(
            ctx,
            &settings,
            now,
            &Outgoing {
                body: &input.message_body,
                delay_seconds: input.delay_seconds,
                attributes: &input.message_attributes,
                system_attributes: &input.message_system_attributes,
                deduplication_id: input.message_deduplication_id.as_deref(),
                group_id: input.message_group_id.as_deref(),
                trace_header: ctx.trace_header.as_deref(),
            },
        )?;
        let mut messages = [message];
        let sizes = sent_sizes(&messages);
        self.seal_bodies(ctx, &key, &record, &mut messages).await?;
        let outcomes = self.store.send_messages(&key, messages.into(), now).await?;
        self.waiters.wake(&key);
        self.count_sends(&key, &sizes, &outcomes);
        Ok(match outcomes.first() {
            Some(outcome) => self.sent(&settings, output, outcome),
            None => output,
        })
    }

    pub(crate) async fn send_message_batch(
        &self,
        ctx: &RequestContext,
        input: SendMessageBatchInput,
    ) -> Result<SendMessageBatchOutput, QueueError> {
        let (key, record) = self.message_queue(ctx, &input.queue_url).await?;
        check_batch_ids(
            input.entries.iter().map(|e| e.id.as_str()),
            "SendMessageBatchRequestEntry",
        )?;
        let settings = QueueSettings::of(&record);
        check_fifo_batch_entries(&settings, &input.entries)?;
        let payload: usize = input
            .entries
            .iter()
            .map(|e| {
                let attributes: Vec<_> = e
                    .message_attributes
                    .iter()
                    .map(|(name, value)| {
                        name.len() + value.data_type.len() + attribute_value_len(value)
                    })
                    .collect();
                e.message_body.len() + attributes.iter().sum::<usize>()
            })
            .sum();
        if payload > MAX_BATCH_PAYLOAD {
            return Err(QueueError::BatchRequestTooLong(payload));
        }
        let now = self.clock.now_millis();
        let mut output = SendMessageBatchOutput::default();
        let mut accepted = Vec::new();
        for entry in &input.entries {
            let outgoing = Outgoing {
                body: &entry.message_body,
                delay_seconds: entry.delay_seconds,
                attributes: &entry.message_attributes,
                system_attributes: &entry.message_system_attributes,
                deduplication_id: entry.message_deduplication_id.as_deref(),
                group_id: entry.message_group_id.as_deref(),
                trace_header: None,
            };
            match self.prepare(ctx, &settings, now, &outgoing) {
                Ok((message, result)) => {
                    accepted.push(message);
                    output.successful.push(SendMessageBatchResultEntry {
                        id: entry.id.clone(),
                        result,
                    });
                }
                Err(e) => output.failed.push(failed_entry(&entry.id, e)),
            }
        }
        if !accepted.is_empty() {
            let sizes = sent_sizes(&accepted);
            self.seal_bodies(ctx, &key, &record, &mut accepted).await?;
            let outcomes = self.store.send_messages(&key, accepted, now).await?;
            self.waiters.wake(&key);
            self.count_sends(&key, &sizes, &outcomes);
            output.successful = std::mem::take(&mut output.successful)
                .into_iter()
                .zip(&outcomes)
                .map(|(entry, outcome)| SendMessageBatchResultEntry {
                    id: entry.id,
                    result: self.sent(&settings, entry.result, outcome),
                })
                .collect();
        }
        Ok(output)
    }

    pub(crate) async fn receive_message(
        &self,
        ctx: &RequestContext,
        input: ReceiveMessageInput,
    ) -> Result<ReceiveMessageOutput, QueueError> {
        let (key, record) = self.message_queue(ctx, &input.queue_url).await?;
        let settings = QueueSettings::of(&record);
        let max = input.max_number_of_messages.unwrap_or(1);
        if !(1..=MAX_RECEIVE).contains(&max) {
            return Err(out_of_range(
                "MaxNumberOfMessages",
                max,
                "Must be between 1 and 10, if provided.",
            ));
        }
        let visibility = input
            .visibility_timeout
            .unwrap_or(settings.visibility_timeout_seconds);
        if !(0..=MAX_VISIBILITY_TIMEOUT).contains(&visibility) {
            return Err(out_of_range(
                "VisibilityTimeout",
                visibility,
                "Must be >= 0 and <= 43200, if provided.",
            ));
        }
        let wait = input
            .wait_time_seconds
            .unwrap_or(settings.receive_wait_seconds);
        if !(0..=MAX_WAIT_SECONDS).contains(&wait) {
            return Err(out_of_range(
                "WaitTimeSeconds",
                wait,
                "Must be >= 0 and <= 20, if provided.",
            ));
        }
        // Names SQS does not know are ignored, as the SDKs' loosely typed attribute lists allow.
        let system_names: Vec<&str> = input
            .attribute_names
            .iter()
            .chain(&input.message_system_attribute_names)
            .map(String::as_str)
            .collect();
        let attempt_id = match (&input.receive_request_attempt_id, record.fifo) {
            (Some(id), true) => {
                validate_token("ReceiveRequestAttemptId", id)?;
                Some(id.as_str())
            }
            // Standard queues accept the parameter and ignore it.
            _ => None,
        };
        // Before a retried attempt too: its answer holds opened bodies.
        self.check_receive(ctx, &key, &record).await?;
        if let Some(id) = attempt_id {
            if let Some(retried) = self.retry_attempt(ctx, &key, id, visibility).await? {
                return Ok(retried);
            }
        }
        let redrive = Self::redrive(&key, &record);
        let deadline = self.clock.now_millis() + wait * 1000;
        let waiter = self.waiters.get(&key);
        let counters = self.activity.counters(&key);
        let _long_poll = (wait > 0).then(|| self.activity.long_poll());
        loop {
            // Registered before looking, so a send between the look and the wait still wakes us.
            let notified = waiter.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let now = self.clock.now_millis();
            let request = ReceiveRequest {
                now,
                max_messages: max as usize,
                visibility_deadline: now + visibility * 1000,
                expire_before: settings.expire_before(now),
                max_in_flight: MAX_IN_FLIGHT,
            };
            let outcome = self
                .store
                .receive_messages(&key, request, redrive.as_ref())
                .await?;
            if let (Some(redrive), true) = (&redrive, outcome.moved > 0) {
                self.waiters.wake(&redrive.target);
            }
            if !outcome.messages.is_empty() {
                let stored: Vec<&MessageBody> =
                    outcome.messages.iter().map(|m| &m.content.body).collect();
                let bodies = match self.open_bodies(ctx, &stored).await {
                    Ok(bodies) => bodies,
                    Err(e) => {
                        self.release(&key, &outcome.messages).await?;
                        return Err(e);
                    }
                };
                let messages: Vec<Message> = outcome
                    .messages
                    .iter()
                    .zip(bodies)
                    .map(|(m, body)| {
                        self.render(
                            &record,
                            (m.seq, &m.content),
                            Some(m),
                            body,
                            &system_names,
                            &input.message_attribute_names,
                        )
                    })
                    .collect();
                if let Some(id) = attempt_id {
                    self.keep_attempt(&key, id, &messages, &outcome.messages, now)
                        .await;
                }
                counters.received(messages.len());
                return Ok(ReceiveMessageOutput { messages });
            }
            if outcome.in_flight_limit_reached && wait == 0 {
                return Err(QueueError::OverLimit(
                    "Too many messages have been received without being deleted.\nPlease delete your received messages or let them timeout before receiving more."
                        .to_string(),
                ));
            }
            if now >= deadline {
                counters.received(0);
                return Ok(ReceiveMessageOutput::default());
            }
            let wake_at = outcome
                .next_visible_at
                .map_or(deadline, |at| at.clamp(now + 1, deadline));
            let mut nap = Duration::from_millis(u64::try_from(wake_at - now).unwrap_or(0));
            // A store shared with other processes may not hear of each of their sends.
            if let Some(recheck) = self.store.recheck_interval() {
                nap = nap.min(recheck);
            }
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep(nap) => {}
                _ = self.waiters.shutting_down() => {
                    counters.received(0);
                    return Ok(ReceiveMessageOutput::default());
                }
            }
        }
    }

    /// Where a receive on this queue moves messages received too often: the dead-letter queue of its
    /// redrive policy. A dead-letter queue that does not exist (any more) takes nothing: the store
    /// moves messages only to a queue it has.
    fn redrive(key: &QueueKey, record: &QueueRecord) -> Option<Redrive> {
        let policy = record.attributes.get(crate::attributes::REDRIVE_POLICY)?;
        let (target, max_receive_count) = crate::attributes::redrive_parts(policy)?;
        Some(Redrive {
            max_receive_count,
            stamp: sluice_store::MessageAttribute {
                name: DEAD_LETTER_SOURCE.to_string(),
                data_type: "String".to_string(),
                value: AttributeValue::String(crate::naming::queue_arn(key)),
            },
            // The dead-letter-queue page: a FIFO dead-letter queue restarts the retention clock, and a
            // moved FIFO message is deduplicated by its message id. A dead-letter queue is always of
            // its source's type (`check_redrive_target`), and a queue's name fixes its type.
            restart_retention: record.fifo,
            deduplicate_by_message_id: record.fifo,
            target,
        })
    }

    /// Keeps a receive's answer for retries with its attempt id. The messages are handed out whether
    /// or not that works: a retry of an answer the store could not keep is a new receive.
    async fn keep_attempt(
        &self,
        key: &QueueKey,
        id: &str,
        messages: &[Message],
        received: &[ReceivedMessage],
        now: i64,
    ) {
        let kept = match attempts::encode(messages, received) {
            Ok(answer) => {
                let attempt = ReceiveAttempt {
                    answer,
                    receipts: received.iter().map(|m| (m.seq, m.receive_count)).collect(),
                    expires_at: now + ATTEMPT_WINDOW_MILLIS,
                    spoiled: false,
                };
                self.store
                    .record_receive_attempt(key, id, attempt, now)
                    .await
                    .map_err(|e| e.to_string())
            }
            Err(e) => Err(e.to_string()),
        };
        if let Err(error) = kept {
            tracing::warn!(queue = %key.name, %error, "receive attempt not kept for retries");
        }
    }

    /// Answers a retried receive from its earlier attempt: the same messages and handles, hidden again
    /// for the new visibility timeout. `None` when there is no earlier attempt to retry.
    async fn retry_attempt(
        &self,
        ctx: &RequestContext,
        key: &QueueKey,
        id: &str,
        visibility: i64,
    ) -> Result<Option<ReceiveMessageOutput>, QueueError> {
        let now = self.clock.now_millis();
        let Some(attempt) = self.store.receive_attempt(key, id, now).await? else {
            return Ok(None);
        };
        let not_retryable = || {
            QueueError::InvalidParameterValue {
            name: "ReceiveRequestAttemptId".to_string(),
            value: id.to_string(),
            reason: "The receiveRequestAttemptId is not valid anymore since the receive call is not retryable."
                .to_string(),
        }
        };
        if attempt.spoiled {
            return Err(not_retryable());
        }
        let kept = attempts::decode(&attempt.answer).ok_or_else(|| {
            StoreError::Backend("a kept receive attempt does not decode".to_string())
        })?;
        // Opened before the messages are hidden again, so that a body the caller cannot open leaves
        // them as they are.
        let stored: Vec<&MessageBody> = kept.iter().map(|(_, body)| body).collect();
        let bodies = self.open_bodies(ctx, &stored).await?;
        let changes: Vec<VisibilityChange> = attempt
            .receipts
            .iter()
            .map(|(seq, receive_count)| VisibilityChange {
                seq: *seq,
                receive_count: *receive_count,
                now,
                deadline: now + visibility * 1000,
                max_span_from_receive: MAX_VISIBILITY_SPAN_MILLIS,
            })
            .collect();
        let outcomes = self.store.change_visibility(key, &changes).await?;
        if outcomes.iter().any(|o| *o != VisibilityOutcome::Changed) {
            return Err(not_retryable());
        }
        let messages = kept
            .into_iter()
            .zip(bodies)
            .map(|((message, _), body)| Message { body, ..message })
            .collect();
        Ok(Some(ReceiveMessageOutput { messages }))
    }

    /// Makes messages a receive hid visible again at once, for a receive that could not hand them
    /// out (a body the caller cannot open): nothing is lost, and each becomes receivable again.
    async fn release(
        &self,
        key: &QueueKey,
        received: &[ReceivedMessage],
    ) -> Result<(), QueueError> {
        let now = self.clock.now_millis();
        let changes: Vec<VisibilityChange> = received
            .iter()
            .map(|m| VisibilityChange {
                seq: m.seq,
                receive_count: m.receive_count,
                now,
                deadline: now,
                max_span_from_receive: MAX_VISIBILITY_SPAN_MILLIS,
            })
            .collect();
        self.store.change_visibility(key, &changes).await?;
        self.waiters.wake(key);
        Ok(())
    }

    /// A message as ReceiveMessage returns it. `received` is the receive it comes from (its count,
    /// first receive and receipt handle); a peek has none, and its message carries no receive
    /// attributes and an empty receipt handle.
    pub(crate) fn render(
        &self,
        record: &QueueRecord,
        (seq, content): (u64, &MessageContent),
        received: Option<&ReceivedMessage>,
        body: String,
        system_names: &[&str],
        attribute_names: &[String],
    ) -> Message {
        let wanted = |name: &str| system_names.iter().any(|n| *n == "All" || *n == name);
        let mut attributes = Vec::new();
        for name in SYSTEM_ATTRIBUTES.iter().copied().filter(|n| wanted(n)) {
            let value = match name {
                "SenderId" => Some(content.sender_id.clone()),
                "SentTimestamp" => Some(content.sent_at.to_string()),
                "ApproximateReceiveCount" => received.map(|r| r.receive_count.to_string()),
                "ApproximateFirstReceiveTimestamp" => {
                    received.map(|r| r.first_receive_at.to_string())
                }
                "MessageGroupId" => content.group_id.as_deref().map(str::to_string),
                "MessageDeduplicationId" => content.deduplication_id.clone(),
                "SequenceNumber" => record.fifo.then(|| sequence_number(seq)),
                other => content
                    .system_attributes
                    .iter()
                    .find(|a| a.name == other)
                    .and_then(|a| match &a.value {
                        AttributeValue::String(s) => Some(s.clone()),
                        AttributeValue::Binary(_) => None,
                    }),
            };
            if let Some(value) = value {
                attributes.push((name.to_string(), value));
            }
        }
        let selected: Vec<&sluice_store::MessageAttribute> = content
            .attributes
            .iter()
            .filter(|a| attribute_selected(&a.name, attribute_names))
            .collect();
        // The digest covers exactly the attributes returned, which is what the client's SDK checks.
        let md5_of_message_attributes = if selected.len() == content.attributes.len() {
            content.md5_of_attributes.clone()
        } else {
            content::md5_of_attributes(selected.iter().copied())
        };
        let message_attributes = selected
            .iter()
            .map(|a| {
                let value = match &a.value {
                    AttributeValue::String(s) => MessageAttributeValue {
                        string_value: Some(s.clone()),
                        data_type: a.data_type.clone(),
                        ..Default::default()
                    },
                    AttributeValue::Binary(b) => MessageAttributeValue {
                        binary_value: Some(sluice_model::types::Blob(b.clone())),
                        data_type: a.data_type.clone(),
                        ..Default::default()
                    },
                };
                (a.name.clone(), value)
            })
            .collect();
        Message {
            message_id: content.message_id.clone(),
            receipt_handle: received
                .map(|r| {
                    self.receipts.seal(ReceiptHandle {
                        incarnation: record.incarnation,
                        seq,
                        receive_count: r.receive_count,
                    })
                })
                .unwrap_or_default(),
            md5_of_body: content.md5_of_body.clone(),
            body,
            attributes,
            md5_of_message_attributes,
            message_attributes,
        }
    }

    fn open_receipt(&self, record: &QueueRecord, text: &str) -> Result<ReceiptHandle, QueueError> {
        match self.receipts.open(text) {
            Some(handle) if handle.incarnation == record.incarnation => Ok(handle),
            Some(_) => Err(QueueError::ReceiptHandleForAnotherQueue(text.to_string())),
            None => Err(QueueError::ReceiptHandleIsInvalid(text.to_string())),
        }
    }

    /// Deletes the messages the receipt handles name, in one store call. Any handle a message was received
    /// with works, as in SQS; a message already gone is not an error. Each entry's outcome is returned in
    /// order.
    async fn delete_handles(
        &self,
        key: &QueueKey,
        record: &QueueRecord,
        receipt_handles: &[&str],
    ) -> Result<Vec<Result<(), QueueError>>, QueueError> {
        let opened: Vec<Result<ReceiptHandle, QueueError>> = receipt_handles
            .iter()
            .map(|h| self.open_receipt(record, h))
            .collect();
        // On FIFO queues only the receive in flight may delete; standard queues take any handle.
        let now = self.clock.now_millis();
        let deletions: Vec<Deletion> = opened
            .iter()
            .filter_map(|h| h.as_ref().ok())
            .map(|h| Deletion {
                seq: h.seq,
                receive_count: record.fifo.then_some(h.receive_count),
                now,
            })
            .collect();
        // Before the messages change, so that no retry slips in between and hands them out again.
        if record.fifo && !deletions.is_empty() {
            let seqs: Vec<u64> = deletions.iter().map(|d| d.seq).collect();
            self.store.spoil_receive_attempts(key, &seqs).await?;
        }
        let outcomes = if deletions.is_empty() {
            Vec::new()
        } else {
            self.store.delete_messages(key, &deletions).await?
        };
        // On a FIFO queue a delete can free a message group, so a waiting receive may now find messages.
        if record.fifo && outcomes.contains(&DeleteOutcome::Deleted) {
            self.waiters.wake(key);
        }
        let deleted = outcomes
            .iter()
            .filter(|o| **o != DeleteOutcome::Expired)
            .count();
        if deleted > 0 {
            self.activity.counters(key).deleted(deleted);
        }
        let mut outcomes = outcomes.into_iter();
        Ok(opened
            .into_iter()
            .zip(receipt_handles)
            .map(|(handle, text)| {
                handle?;
                match outcomes.next() {
                    Some(DeleteOutcome::Expired) => Err(QueueError::InvalidParameterValue {
                        name: "ReceiptHandle".to_string(),
                        value: text.to_string(),
                        reason: "The receipt handle has expired.".to_string(),
                    }),
                    _ => Ok(()),
                }
            })
            .collect())
    }

    pub(crate) async fn delete_message(
        &self,
        ctx: &RequestContext,
        input: DeleteMessageInput,
    ) -> Result<(), QueueError> {
        let (key, record) = self.message_queue(ctx, &input.queue_url).await?;
        let mut outcomes = self
            .delete_handles(&key, &record, &[&input.receipt_handle])
            .await?;
        outcomes.pop().unwrap_or(Ok(()))
    }

    pub(crate) async fn delete_message_batch(
        &self,
        ctx: &RequestContext,
        input: DeleteMessageBatchInput,
    ) -> Result<BatchOutput, QueueError> {
        let (key, record) = self.message_queue(ctx, &input.queue_url).await?;
        check_batch_ids(
            input.entries.iter().map(|e| e.id.as_str()),
            "DeleteMessageBatchRequestEntry",
        )?;
        let handles: Vec<&str> = input
            .entries
            .iter()
            .map(|e| e.receipt_handle.as_str())
            .collect();
        let outcomes = self.delete_handles(&key, &record, &handles).await?;
        Ok(batch_output(
            input.entries.iter().map(|e| e.id.as_str()),
            outcomes,
        ))
    }

    /// Changes the visibility of the messages the handles name, in one store call; `None` as a timeout
    /// is an entry that gave none.
    async fn change_handles(
        &self,
        key: &QueueKey,
        record: &QueueRecord,
        entries: &[(&str, Option<i64>)],
    ) -> Result<Vec<Result<(), QueueError>>, QueueError> {
        let now = self.clock.now_millis();
        let checked: Vec<Result<VisibilityChange, QueueError>> = entries
            .iter()
            .map(|(receipt_handle, timeout)| {
                let handle = self.open_receipt(record, receipt_handle)?;
                let Some(timeout) = *timeout else {
                    return Err(QueueError::MissingParameter(
                        "VisibilityTimeout".to_string(),
                    ));
                };
                if !(0..=MAX_VISIBILITY_TIMEOUT).contains(&timeout) {
                    return Err(out_of_range(
                        "VisibilityTimeout",
                        timeout,
                        "Must be between 0 and 43200, if provided.",
                    ));
                }
                Ok(VisibilityChange {
                    seq: handle.seq,
                    receive_count: handle.receive_count,
                    now,
                    deadline: now + timeout * 1000,
                    max_span_from_receive: MAX_VISIBILITY_SPAN_MILLIS,
                })
            })
            .collect();
        let changes: Vec<VisibilityChange> = checked
            .iter()
            .filter_map(|c| c.as_ref().ok())
            .copied()
            .collect();
        if record.fifo && !changes.is_empty() {
            let seqs: Vec<u64> = changes.iter().map(|c| c.seq).collect();
            self.store.spoil_receive_attempts(key, &seqs).await?;
        }
        let mut outcomes = if changes.is_empty() {
            Vec::new()
        } else {
            self.store.change_visibility(key, &changes).await?
        }
        .into_iter();
        let mut woke = false;
        let results = checked
            .into_iter()
            .zip(entries)
            .map(|(change, (receipt_handle, _))| {
                let change = change?;
                match outcomes.next() {
                    Some(VisibilityOutcome::Changed) => {
                        woke |= change.deadline <= change.now;
                        Ok(())
                    }
                    Some(VisibilityOutcome::BeyondLimit) => Err(out_of_range(
                        "VisibilityTimeout",
                        (change.deadline - change.now) / 1000,
                        "Total VisibilityTimeout for the message is beyond the limit [43200 seconds].",
                    )),
                    Some(VisibilityOutcome::Stale | VisibilityOutcome::Gone) | None => {
                        Err(QueueError::InvalidParameterValue {
                            name: "ReceiptHandle".to_string(),
                            value: receipt_handle.to_string(),
                            reason: "Message does not exist or is not available for visibility timeout change."
                                .to_string(),
                        })
                    }
                }
            })
            .collect();
        if woke {
            self.waiters.wake(key);
        }
        Ok(results)
    }

    pub(crate) async fn change_message_visibility(
        &self,
        ctx: &RequestContext,
        input: ChangeMessageVisibilityInput,
    ) -> Result<(), QueueError> {
        let (key, record) = self.message_queue(ctx, &input.queue_url).await?;
        let entry = [(
            input.receipt_handle.as_str(),
            Some(input.visibility_timeout),
        )];
        let mut outcomes = self.change_handles(&key, &record, &entry).await?;
        outcomes.pop().unwrap_or(Ok(()))
    }

    pub(crate) async fn change_message_visibility_batch(
        &self,
        ctx: &RequestContext,
        input: ChangeMessageVisibilityBatchInput,
    ) -> Result<BatchOutput, QueueError> {
        let (key, record) = self.message_queue(ctx, &input.queue_url).await?;
        check_batch_ids(
            input.entries.iter().map(|e| e.id.as_str()),
            "ChangeMessageVisibilityBatchRequestEntry",
        )?;
        let entries: Vec<(&str, Option<i64>)> = input
            .entries
            .iter()
            .map(|e| (e.receipt_handle.as_str(), e.visibility_timeout))
            .collect();
        let outcomes = self.change_handles(&key, &record, &entries).await?;
        Ok(batch_output(
            input.entries.iter().map(|e| e.id.as_str()),
            outcomes,
        ))
    }
}

/// On a FIFO queue, an entry without a message group, or without a deduplication id where the queue
/// does not derive one from the body, fails the whole SendMessageBatch rather than that entry, as in SQS.
fn check_fifo_batch_entries(
    settings: &QueueSettings,
    entries: &[SendMessageBatchRequestEntry],
) -> Result<(), QueueError> {
    if !settings.fifo {
        return Ok(());
    }
    for entry in entries {
        if entry.message_group_id.is_none() {
            return Err(QueueError::InvalidParameter(
                "The request must contain the parameter MessageGroupId.".to_string(),
            ));
        }
        if entry.message_deduplication_id.is_none() && !settings.content_based_deduplication {
            return Err(QueueError::InvalidParameter(
                "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly"
                    .to_string(),
            ));
        }
    }
    Ok(())
}

/// Successful and failed entries of a batch, from each entry's outcome in order.
fn batch_output<'a>(
    ids: impl Iterator<Item = &'a str>,
    outcomes: Vec<Result<(), QueueError>>,
) -> BatchOutput {
    let mut output = BatchOutput::default();
    for (id, outcome) in ids.zip(outcomes) {
        match outcome {
            Ok(()) => output
                .successful
                .push(BatchResultEntry { id: id.to_string() }),
            Err(e) => output.failed.push(failed_entry(id, e)),
        }
    }
    output
}

fn attribute_value_len(value: &MessageAttributeValue) -> usize {
    value.string_value.as_ref().map_or(0, String::len)
        + value.binary_value.as_ref().map_or(0, |b| b.0.len())
}

/// `All`, `*` and `.*` select every attribute, `prefix.*` every one whose name starts with the prefix
/// (`Hel.*` takes `Hello`), anything else one name.
fn attribute_selected(name: &str, requested: &[String]) -> bool {
    requested.iter().any(|r| {
        r == "All"
            || r == "*"
            || r == name
            || r.strip_suffix(".*")
                .is_some_and(|prefix| name.starts_with(prefix))
    })
}

/// Message group, deduplication and receive-attempt ids: 1 to 128 characters of letters, digits and
/// ASCII punctuation.
fn validate_token(name: &str, value: &str) -> Result<(), QueueError> {
    if value.is_empty()
        || value.len() > 128
        || !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b.is_ascii_punctuation())
    {
        return Err(QueueError::InvalidParameterValue {
            name: name.to_string(),
            value: value.to_string(),
            reason: format!("{name} can only include alphanumeric and punctuation characters. 1 to 128 in length."),
        });
    }
    Ok(())
}

/// A FIFO message's `SequenceNumber`: a 20-digit decimal that grows with the message's place in the
/// queue, so it only grows within a group.
/// The size SQS reports of each message sent: its body and attributes, as its limit counts them.
fn sent_sizes(messages: &[NewMessage]) -> Vec<u64> {
    messages
        .iter()
        .map(|m| match &m.content.body {
            MessageBody::Plain(body) => content::message_size(body, &m.content.attributes) as u64,
            MessageBody::Sealed(bytes) => bytes.len() as u64,
        })
        .collect()
}

fn sequence_number(seq: u64) -> String {
    ((1u128 << 64) + u128::from(seq)).to_string()
}

/// The rules every batch shares: 1 to 10 entries, with distinct ids of 1 to 80 characters from
/// `[A-Za-z0-9_-]`.
fn check_batch_ids<'a>(
    ids: impl ExactSizeIterator<Item = &'a str>,
    entry: &'static str,
) -> Result<(), QueueError> {
    match ids.len() {
        0 => return Err(QueueError::EmptyBatchRequest(entry)),
        n if n > MAX_BATCH_ENTRIES => return Err(QueueError::TooManyEntriesInBatchRequest(n)),
        _ => {}
    }
    let ids: Vec<&str> = ids.collect();
    let mut seen = HashSet::new();
    if let Some(repeated) = ids.iter().find(|id| !seen.insert(**id)) {
        return Err(QueueError::BatchEntryIdsNotDistinct(repeated.to_string()));
    }
    if let Some(bad) = ids.iter().find(|id| {
        id.is_empty()
            || id.len() > MAX_BATCH_ID
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }) {
        return Err(QueueError::InvalidBatchEntryId(bad.to_string()));
    }
    Ok(())
}

/// A batch entry's failure, reported with the code and message the same error has on its own.
fn failed_entry(id: &str, error: QueueError) -> BatchResultErrorEntry {
    let error = ApiError::from(error);
    BatchResultErrorEntry {
        id: id.to_string(),
        sender_fault: error.code.sender_fault(),
        code: error.code.query_code().to_string(),
        message: error.message,
    }
}
