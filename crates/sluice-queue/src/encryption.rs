//! Which bodies a queue seals and which it opens. SQS encrypts message bodies only: attributes, ids
//! and queue metadata stay as they are. A body is sealed when it is sent to a queue with server-side
//! encryption on, under the queue's key of that moment, and stays sealed wherever it goes (a
//! dead-letter queue, a move task's destination) and whatever the queue's setting becomes later; a
//! body sent before encryption was turned on stays plain.

use std::sync::Arc;

use sluice_model::{BodyKey, PrincipalType, RequestContext, SealingQueue};
use sluice_store::{MessageBody, MessageContent, NewMessage, QueueKey, QueueRecord};

use crate::attributes;
use crate::error::QueueError;
use crate::naming::queue_arn;
use crate::QueueService;

/// The key new bodies of this queue are sealed with, if server-side encryption is on.
pub fn body_key(record: &QueueRecord) -> Option<BodyKey> {
    let get = |name: &str| record.attributes.get(name).map(String::as_str);
    match (
        get(attributes::KMS_MASTER_KEY_ID),
        get(attributes::SQS_MANAGED_SSE_ENABLED),
    ) {
        (Some(key_id), _) if !key_id.is_empty() => Some(BodyKey::Kms {
            key_id: key_id.to_string(),
            reuse_period_seconds: get(attributes::KMS_DATA_KEY_REUSE_PERIOD_SECONDS)
                .and_then(|v| v.parse().ok())
                .unwrap_or(attributes::DEFAULT_DATA_KEY_REUSE_SECONDS),
        }),
        (_, Some("true")) => Some(BodyKey::SqsManaged),
        _ => None,
    }
}

/// A queue with server-side encryption takes only signed requests (SQS: "all requests to queues
/// with SSE enabled must use HTTPS and Signature Version 4"), so an anonymous send or receive is
/// refused before anything is sealed or handed out.
fn check_signed(ctx: &RequestContext) -> Result<(), QueueError> {
    match ctx.principal.kind {
        PrincipalType::Anonymous => Err(QueueError::UnsignedToEncryptedQueue),
        _ => Ok(()),
    }
}

/// The queue's ARN and key when its encryption is on, for a signed caller.
fn encryption(
    ctx: &RequestContext,
    key: &QueueKey,
    record: &QueueRecord,
) -> Result<Option<(String, BodyKey)>, QueueError> {
    let Some(body_key) = body_key(record) else {
        return Ok(None);
    };
    check_signed(ctx)?;
    Ok(Some((queue_arn(key), body_key)))
}

fn sealing_queue<'a>(key: &'a QueueKey, arn: &'a str, body_key: &'a BodyKey) -> SealingQueue<'a> {
    SealingQueue {
        queue_arn: arn,
        account_id: &key.account_id,
        region: &key.region,
        key: body_key,
    }
}

impl QueueService {
    /// Seals the bodies of messages about to be sent to the queue, if its encryption is on.
    pub(crate) async fn seal_bodies(
        &self,
        ctx: &RequestContext,
        key: &QueueKey,
        record: &QueueRecord,
        messages: &mut [NewMessage],
    ) -> Result<(), QueueError> {
        let Some((arn, body_key)) = encryption(ctx, key, record)? else {
            return Ok(());
        };
        let queue = sealing_queue(key, &arn, &body_key);
        let plain: Vec<&str> = messages
            .iter()
            .filter_map(|m| m.content.body.plain())
            .collect();
        let sealed = self
            .cipher
            .seal(ctx, &queue, &plain)
            .await
            .map_err(QueueError::Encryption)?;
        let mut sealed = sealed.into_iter();
        for message in messages {
            let content: &mut MessageContent = Arc::make_mut(&mut message.content);
            if content.body.plain().is_some() {
                let body = sealed.next().ok_or_else(|| {
                    QueueError::Encryption(sluice_model::ApiError::internal_error())
                })?;
                content.body = MessageBody::Sealed(body);
            }
        }
        Ok(())
    }

    /// Refuses a receive the caller could not complete because of the queue's encryption, before
    /// the receive hides any message.
    pub(crate) async fn check_receive(
        &self,
        ctx: &RequestContext,
        key: &QueueKey,
        record: &QueueRecord,
    ) -> Result<(), QueueError> {
        let Some((arn, body_key)) = encryption(ctx, key, record)? else {
            return Ok(());
        };
        let queue = sealing_queue(key, &arn, &body_key);
        self.cipher
            .check_open(ctx, &queue)
            .await
            .map_err(QueueError::Encryption)
    }

    /// The texts of bodies as stored, those sealed opened for the caller.
    pub(crate) async fn open_bodies(
        &self,
        ctx: &RequestContext,
        bodies: &[&MessageBody],
    ) -> Result<Vec<String>, QueueError> {
        let sealed: Vec<&[u8]> = bodies
            .iter()
            .filter_map(|body| match body {
                MessageBody::Sealed(bytes) => Some(bytes.as_slice()),
                MessageBody::Plain(_) => None,
            })
            .collect();
        let mut opened = if sealed.is_empty() {
            Vec::new()
        } else {
            check_signed(ctx)?;
            self.cipher
                .open(ctx, &sealed)
                .await
                .map_err(QueueError::Encryption)?
        }
        .into_iter();
        bodies
            .iter()
            .map(|body| match body {
                MessageBody::Plain(text) => Ok(text.clone()),
                MessageBody::Sealed(_) => opened.next().ok_or_else(|| {
                    QueueError::Encryption(sluice_model::ApiError::internal_error())
                }),
            })
            .collect()
    }
}
