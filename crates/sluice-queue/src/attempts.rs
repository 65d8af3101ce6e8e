//! `ReceiveRequestAttemptId` on FIFO queues: a receive retried with the same attempt id within five
//! minutes gets the same messages and receipt handles again (with their visibility reset), as long as
//! none of them was deleted or had its visibility changed since; after that the id is refused.
//!
//! The store keeps each attempt, so that a retry reaching another process that shares the backend is
//! answered the same. The answer is kept in the form encoded here: each message as it was rendered,
//! but with its body as stored, so that a sealed body stays sealed at rest and is opened again for
//! the retry.

use serde::{Deserialize, Serialize};
use sluice_model::types::{Blob, Message, MessageAttributeMap};
use sluice_store::{MessageBody, ReceivedMessage};

/// How long an attempt id can be retried.
pub const ATTEMPT_WINDOW_MILLIS: i64 = 5 * 60 * 1000;

/// A message of a kept answer.
#[derive(Serialize, Deserialize)]
struct Kept {
    message_id: String,
    receipt_handle: String,
    md5_of_body: String,
    body: KeptBody,
    attributes: Vec<(String, String)>,
    md5_of_message_attributes: Option<String>,
    message_attributes: MessageAttributeMap,
}

#[derive(Serialize, Deserialize)]
enum KeptBody {
    Plain(String),
    Sealed(Blob),
}

/// The answer of a receive: `messages` as rendered, each with the body `received` holds for it.
pub fn encode(messages: &[Message], received: &[ReceivedMessage]) -> serde_json::Result<Vec<u8>> {
    let kept: Vec<Kept> = messages
        .iter()
        .zip(received)
        .map(|(message, received)| Kept {
            message_id: message.message_id.clone(),
            receipt_handle: message.receipt_handle.clone(),
            md5_of_body: message.md5_of_body.clone(),
            body: match &received.content.body {
                MessageBody::Plain(text) => KeptBody::Plain(text.clone()),
                MessageBody::Sealed(bytes) => KeptBody::Sealed(Blob(bytes.clone())),
            },
            attributes: message.attributes.clone(),
            md5_of_message_attributes: message.md5_of_message_attributes.clone(),
            message_attributes: message.message_attributes.clone(),
        })
        .collect();
    serde_json::to_vec(&kept)
}

/// The messages of a kept answer, each with its body as stored (the message's own body left empty
/// until that is opened).
pub fn decode(answer: &[u8]) -> Option<Vec<(Message, MessageBody)>> {
    let kept: Vec<Kept> = serde_json::from_slice(answer).ok()?;
    Some(
        kept.into_iter()
            .map(|kept| {
                let body = match kept.body {
                    KeptBody::Plain(text) => MessageBody::Plain(text),
                    KeptBody::Sealed(bytes) => MessageBody::Sealed(bytes.0),
                };
                let message = Message {
                    message_id: kept.message_id,
                    receipt_handle: kept.receipt_handle,
                    md5_of_body: kept.md5_of_body,
                    body: String::new(),
                    attributes: kept.attributes,
                    md5_of_message_attributes: kept.md5_of_message_attributes,
                    message_attributes: kept.message_attributes,
                };
                (message, body)
            })
            .collect(),
    )
}
