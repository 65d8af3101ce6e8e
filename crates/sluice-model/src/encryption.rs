//! Server-side encryption of message bodies, as the queue layer asks for it. The queue layer decides
//! which bodies are sealed and under which key (a queue's `SqsManagedSseEnabled` and `KmsMasterKeyId`);
//! the security layer, which owns keys and KMS, implements `BodyCipher`. A sealed envelope names
//! everything needed to open it, so a message moved to another queue opens wherever it is.

use async_trait::async_trait;

use crate::{ApiError, RequestContext};

/// The key a queue seals new bodies with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BodyKey {
    /// SSE-SQS: keys the server owns; no KMS key is involved and no KMS permission is needed.
    SqsManaged,
    /// SSE-KMS: data keys made by the KMS key `key_id` names (a key id, key ARN, alias name or alias
    /// ARN, in the queue's account and region unless an ARN says otherwise), each reused for
    /// `reuse_period_seconds`.
    Kms {
        key_id: String,
        reuse_period_seconds: i64,
    },
}

/// Where a body is sealed: the queue, and its key.
#[derive(Clone, Copy, Debug)]
pub struct SealingQueue<'a> {
    pub queue_arn: &'a str,
    pub account_id: &'a str,
    pub region: &'a str,
    pub key: &'a BodyKey,
}

#[async_trait]
pub trait BodyCipher: Send + Sync {
    /// Seals the bodies of one request for `queue` on behalf of the caller, in order. A refusal is
    /// the error SQS answers (`KmsDisabled`, `KmsNotFound`, `KmsAccessDenied`, …).
    async fn seal(
        &self,
        ctx: &RequestContext,
        queue: &SealingQueue<'_>,
        bodies: &[&str],
    ) -> Result<Vec<Vec<u8>>, ApiError>;

    /// Opens the sealed bodies of one receive on behalf of the caller, in order.
    async fn open(&self, ctx: &RequestContext, sealed: &[&[u8]]) -> Result<Vec<String>, ApiError>;

    /// Whether the caller could open bodies sealed now under `queue`'s key, asked before a receive
    /// hides anything, so that a key the caller cannot use leaves the queue as it was.
    async fn check_open(
        &self,
        ctx: &RequestContext,
        queue: &SealingQueue<'_>,
    ) -> Result<(), ApiError>;
}
