//! Server-side encryption of SQS message bodies: the envelope scheme of SQS's key management page.
//!
//! Each body is sealed with AES-256-GCM under a data key. With SSE-KMS the data key comes from
//! `GenerateDataKey` on the queue's KMS key, called as the producer, who also calls `Decrypt` on it
//! to check it before use; consumers call `Decrypt` for each data key they meet. Data keys are kept
//! per queue and principal, apart for sealing and for opening, for the queue's reuse period, so KMS
//! is called about B/D × (2P + C) times in a period B (reuse period D, P producers, C consumers).
//! Both calls are authorized as the caller against the key policy and the caller's policies, like
//! the same calls made to KMS directly. With SSE-SQS the data key is the server's own, sealed under
//! the master key, and no KMS permission is involved.
//!
//! A cached data key is dropped early when any KMS key changes (disabled, scheduled for deletion,
//! another policy), through this process or, as soon as the store hears of it, another sharing the
//! store; so such a change stops sealing and opening here rather than after the reuse period.

mod envelope;
#[doc(hidden)]
pub mod fuzzing;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::{json, Value};
use sluice_model::{ApiError, BodyCipher, BodyKey, Clock, ErrorCode, RequestContext, SealingQueue};
use subtle::ConstantTimeEq;

use crate::directory::SecurityError;
use crate::kms::{base64_decode, base64_encode, KeySchedule, Kms, SecretKey};
use crate::{Authorizer, Environment};
use envelope::Wrapping;

/// How long an SSE-SQS data key serves: the default reuse period of SSE-KMS.
const OWNED_REUSE_SECONDS: u32 = 300;
/// A data key seals at most this many bodies. Each seal draws a random 96-bit nonce, and one key
/// must not see anywhere near 2^32 of them; a busy queue with a long reuse period would.
const MAX_SEALS_PER_KEY: u64 = 1 << 28;
/// Past this many entries in a cache, expired ones are dropped when another is added.
const CACHE_SWEEP_AT: usize = 4096;

/// The calls made to KMS on behalf of SQS, counted.
#[derive(Debug, Default)]
pub struct KmsCalls {
    pub generate_data_key: AtomicU64,
    pub decrypt: AtomicU64,
}

struct DataKey {
    key: Arc<KeySchedule>,
    wrapped: Arc<[u8]>,
    /// Epoch milliseconds.
    expires_at: i64,
    /// The KMS generation it was made or opened at.
    generation: u64,
    seals: u64,
}

impl DataKey {
    fn usable(&self, now: i64, generation: u64) -> bool {
        now < self.expires_at && self.generation == generation && self.seals < MAX_SEALS_PER_KEY
    }
}

/// A sealing data key is kept per queue, key and principal (SSE-SQS: per queue).
#[derive(Clone, Hash, PartialEq, Eq)]
struct SealingKey {
    queue_arn: String,
    key_id: String,
    principal: String,
}

/// An opened data key is kept per wrapped key and principal (SSE-SQS: per wrapped key).
#[derive(Clone, Hash, PartialEq, Eq)]
struct OpeningKey {
    wrapped: Arc<[u8]>,
    principal: String,
}

/// The `BodyCipher` the queue layer seals and opens bodies with.
pub struct SqsEncryption {
    kms: Arc<Kms>,
    /// With authentication off, every caller may use every key.
    authorizer: Option<Arc<Authorizer>>,
    clock: Arc<dyn Clock>,
    sealing: Mutex<HashMap<SealingKey, DataKey>>,
    opening: Mutex<HashMap<OpeningKey, DataKey>>,
    /// Who was found able to open with a queue's key, for the check before a receive.
    openers: Mutex<HashMap<SealingKey, (i64, u64)>>,
    calls: KmsCalls,
}

impl SqsEncryption {
    pub fn new(kms: Arc<Kms>, authorizer: Option<Arc<Authorizer>>, clock: Arc<dyn Clock>) -> Self {
        SqsEncryption {
            kms,
            authorizer,
            clock,
            sealing: Mutex::default(),
            opening: Mutex::default(),
            openers: Mutex::default(),
            calls: KmsCalls::default(),
        }
    }

    /// The KMS calls made so far.
    pub fn kms_calls(&self) -> &KmsCalls {
        &self.calls
    }

    /// A sealing data key for the queue: a cached one, or a new one.
    async fn sealing_key(
        &self,
        ctx: &RequestContext,
        queue: &SealingQueue<'_>,
        bodies: u64,
    ) -> Result<(Arc<KeySchedule>, Arc<[u8]>, Wrapping, u32), ApiError> {
        let now = self.clock.now_millis();
        let generation = self.kms.generation();
        let (wrapping, reuse_seconds, cache_key) = match queue.key {
            BodyKey::SqsManaged => (
                Wrapping::Owned,
                OWNED_REUSE_SECONDS,
                SealingKey {
                    queue_arn: queue.queue_arn.to_string(),
                    key_id: String::new(),
                    principal: String::new(),
                },
            ),
            BodyKey::Kms {
                key_id,
                reuse_period_seconds,
            } => (
                Wrapping::Kms,
                u32::try_from(*reuse_period_seconds).unwrap_or(OWNED_REUSE_SECONDS),
                SealingKey {
                    queue_arn: queue.queue_arn.to_string(),
                    key_id: key_id.clone(),
                    principal: ctx.principal.arn.clone(),
                },
            ),
        };
        if let Some(cached) = lock(&self.sealing).get_mut(&cache_key) {
            if cached.usable(now, generation) {
                cached.seals += bodies;
                return Ok((
                    cached.key.clone(),
                    cached.wrapped.clone(),
                    wrapping,
                    reuse_seconds,
                ));
            }
        }
        let (key, wrapped) = match queue.key {
            BodyKey::SqsManaged => {
                let key = SecretKey::random();
                let wrapped = self.kms.wrap_owned(&key, &owned_aad(queue.queue_arn));
                (Arc::new(key.schedule()), Arc::<[u8]>::from(wrapped))
            }
            BodyKey::Kms { key_id, .. } => {
                let key_arn = key_arn(key_id, queue.account_id, queue.region);
                let (key, wrapped) = self
                    .generate_data_key(ctx, queue.region, &key_arn, queue.queue_arn)
                    .await?;
                // As SQS does: the producer decrypts the new data key to check it before use,
                // which also leaves it ready for the producer's own receives.
                let checked = self
                    .decrypt_data_key(ctx, &wrapped, queue.queue_arn)
                    .await?;
                if !bool::from(checked.bytes().ct_eq(key.bytes())) {
                    tracing::error!(
                        queue = queue.queue_arn,
                        "a new data key did not decrypt to itself"
                    );
                    return Err(ApiError::internal_error());
                }
                let schedule = Arc::new(key.schedule());
                let wrapped = Arc::<[u8]>::from(wrapped);
                let opening_key = OpeningKey {
                    wrapped: wrapped.clone(),
                    principal: ctx.principal.arn.clone(),
                };
                self.remember_opened(opening_key, schedule.clone(), reuse_seconds, generation);
                (schedule, wrapped)
            }
        };
        let entry = DataKey {
            key: key.clone(),
            wrapped: wrapped.clone(),
            expires_at: now + i64::from(reuse_seconds) * 1000,
            generation,
            seals: bodies,
        };
        insert(&self.sealing, cache_key, entry, now);
        Ok((key, wrapped, wrapping, reuse_seconds))
    }

    /// A wrapped SSE-KMS data key, opened as the caller: cached, or from KMS.
    async fn open_data_key(
        &self,
        ctx: &RequestContext,
        wrapped: &[u8],
        queue_arn: &str,
        reuse_seconds: u32,
    ) -> Result<Arc<KeySchedule>, ApiError> {
        let generation = self.kms.generation();
        let cache_key = OpeningKey {
            wrapped: Arc::from(wrapped),
            principal: ctx.principal.arn.clone(),
        };
        if let Some(key) = self.opened(&cache_key, generation) {
            return Ok(key);
        }
        let key = Arc::new(
            self.decrypt_data_key(ctx, wrapped, queue_arn)
                .await?
                .schedule(),
        );
        self.remember_opened(cache_key, key.clone(), reuse_seconds, generation);
        Ok(key)
    }

    /// A data key opened before under `key`, still usable.
    fn opened(&self, key: &OpeningKey, generation: u64) -> Option<Arc<KeySchedule>> {
        let now = self.clock.now_millis();
        lock(&self.opening)
            .get(key)
            .filter(|cached| cached.usable(now, generation))
            .map(|cached| cached.key.clone())
    }

    /// Keeps an opened data key for its reuse period.
    fn remember_opened(
        &self,
        key: OpeningKey,
        schedule: Arc<KeySchedule>,
        reuse_seconds: u32,
        generation: u64,
    ) {
        let now = self.clock.now_millis();
        let entry = DataKey {
            key: schedule,
            wrapped: key.wrapped.clone(),
            expires_at: now + i64::from(reuse_seconds) * 1000,
            generation,
            seals: 0,
        };
        insert(&self.opening, key, entry, now);
    }

    /// KMS `Decrypt` of a wrapped data key, as the caller, under the queue's encryption context.
    async fn decrypt_data_key(
        &self,
        ctx: &RequestContext,
        wrapped: &[u8],
        queue_arn: &str,
    ) -> Result<SecretKey, ApiError> {
        let region = queue_arn.split(':').nth(3).unwrap_or(&ctx.region);
        let input = json!({
            "CiphertextBlob": base64_encode(wrapped),
            "EncryptionContext": context(queue_arn),
        });
        let output = self.call_kms(ctx, region, "Decrypt", &input).await?;
        self.calls.decrypt.fetch_add(1, Ordering::Relaxed);
        plaintext_key(&output)
    }

    async fn generate_data_key(
        &self,
        ctx: &RequestContext,
        region: &str,
        key_arn: &str,
        queue_arn: &str,
    ) -> Result<(SecretKey, Vec<u8>), ApiError> {
        let input = json!({
            "KeyId": key_arn,
            "KeySpec": "AES_256",
            "EncryptionContext": context(queue_arn),
        });
        let output = self
            .call_kms(ctx, region, "GenerateDataKey", &input)
            .await?;
        self.calls.generate_data_key.fetch_add(1, Ordering::Relaxed);
        let wrapped = output
            .get("CiphertextBlob")
            .and_then(Value::as_str)
            .and_then(base64_decode)
            .ok_or_else(ApiError::internal_error)?;
        Ok((plaintext_key(&output)?, wrapped))
    }

    /// Makes a KMS call as the caller: authorized as a call made to KMS directly would be.
    async fn call_kms(
        &self,
        ctx: &RequestContext,
        region: &str,
        action: &str,
        input: &Value,
    ) -> Result<Value, ApiError> {
        self.authorize_kms(ctx, region, action, input).await?;
        self.kms
            .handle(
                &ctx.principal,
                region,
                action,
                input,
                self.clock.now_seconds(),
            )
            .await
            .map_err(sqs_error)
    }

    /// Whether the caller may make a KMS call (always, with authentication off); a refusal is
    /// SQS's `KmsAccessDenied` with KMS's wording.
    async fn authorize_kms(
        &self,
        ctx: &RequestContext,
        region: &str,
        action: &str,
        input: &Value,
    ) -> Result<(), ApiError> {
        let Some(authorizer) = &self.authorizer else {
            return Ok(());
        };
        let now = self.clock.now_seconds();
        let access = self
            .kms
            .access(&ctx.principal, region, action, input, now)
            .await
            .map_err(sqs_error)?;
        let environment = Environment {
            source_ip: ctx.source_ip,
            secure_transport: ctx.secure_transport,
            region,
            now,
        };
        authorizer
            .authorize(
                &ctx.principal,
                ctx.access_key_id.as_deref(),
                &access,
                &environment,
            )
            .await
            .map_err(|denied| match denied.code {
                ErrorCode::AccessDenied => {
                    ApiError::new(ErrorCode::KmsAccessDenied, denied.message)
                }
                _ => denied,
            })
    }
}

impl SqsEncryption {
    /// The data key a sealed body names, opened for the caller.
    async fn data_key_of(
        &self,
        ctx: &RequestContext,
        envelope: &envelope::Envelope<'_>,
    ) -> Result<Arc<KeySchedule>, ApiError> {
        match envelope.wrapping {
            Wrapping::Kms => {
                self.open_data_key(
                    ctx,
                    envelope.wrapped_key,
                    envelope.queue_arn,
                    envelope.reuse_seconds,
                )
                .await
            }
            Wrapping::Owned => {
                let generation = self.kms.generation();
                let cache_key = OpeningKey {
                    wrapped: Arc::from(envelope.wrapped_key),
                    principal: String::new(),
                };
                if let Some(key) = self.opened(&cache_key, generation) {
                    return Ok(key);
                }
                let key = self
                    .kms
                    .unwrap_owned(envelope.wrapped_key, &owned_aad(envelope.queue_arn))
                    .map(|key| Arc::new(key.schedule()))
                    .ok_or_else(damaged)?;
                self.remember_opened(cache_key, key.clone(), envelope.reuse_seconds, generation);
                Ok(key)
            }
        }
    }
}

#[async_trait]
impl BodyCipher for SqsEncryption {
    async fn seal(
        &self,
        ctx: &RequestContext,
        queue: &SealingQueue<'_>,
        bodies: &[&str],
    ) -> Result<Vec<Vec<u8>>, ApiError> {
        if bodies.is_empty() {
            return Ok(Vec::new());
        }
        let (key, wrapped, wrapping, reuse_seconds) =
            self.sealing_key(ctx, queue, bodies.len() as u64).await?;
        let header = envelope::header(wrapping, reuse_seconds, queue.queue_arn, &wrapped)
            .ok_or_else(ApiError::internal_error)?;
        bodies
            .iter()
            .map(|body| {
                let mut sealed = header.clone();
                key.seal_after(&mut sealed, body.as_bytes())
                    .ok_or_else(ApiError::internal_error)?;
                Ok(sealed)
            })
            .collect()
    }

    async fn open(&self, ctx: &RequestContext, sealed: &[&[u8]]) -> Result<Vec<String>, ApiError> {
        // The bodies of one receive mostly share a data key: it is looked up once for a run.
        let mut last: Option<(&[u8], Arc<KeySchedule>)> = None;
        let mut opened = Vec::with_capacity(sealed.len());
        for bytes in sealed {
            let envelope = envelope::read(bytes).ok_or_else(damaged)?;
            let key = match &last {
                Some((wrapped, key)) if *wrapped == envelope.wrapped_key => key.clone(),
                _ => {
                    let key = self.data_key_of(ctx, &envelope).await?;
                    last = Some((envelope.wrapped_key, key.clone()));
                    key
                }
            };
            let plaintext = key
                .open(envelope.ciphertext, envelope.header)
                .ok_or_else(damaged)?;
            opened.push(String::from_utf8(plaintext).map_err(|_| damaged())?);
        }
        Ok(opened)
    }

    async fn check_open(
        &self,
        ctx: &RequestContext,
        queue: &SealingQueue<'_>,
    ) -> Result<(), ApiError> {
        let BodyKey::Kms {
            key_id,
            reuse_period_seconds,
        } = queue.key
        else {
            return Ok(());
        };
        let now = self.clock.now_millis();
        let generation = self.kms.generation();
        let cache_key = SealingKey {
            queue_arn: queue.queue_arn.to_string(),
            key_id: key_id.clone(),
            principal: ctx.principal.arn.clone(),
        };
        if let Some((expires_at, at)) = lock(&self.openers).get(&cache_key) {
            if now < *expires_at && *at == generation {
                return Ok(());
            }
        }
        // What Decrypt with the key would be told: the key must exist, be usable and allow the
        // caller.
        let key_arn = key_arn(key_id, queue.account_id, queue.region);
        self.kms
            .check_usable(
                &ctx.principal,
                queue.region,
                &key_arn,
                self.clock.now_seconds(),
            )
            .await
            .map_err(sqs_error)?;
        let input = json!({ "KeyId": key_arn });
        self.authorize_kms(ctx, queue.region, "Decrypt", &input)
            .await?;
        let expires_at = now + reuse_period_seconds.saturating_mul(1000);
        insert(&self.openers, cache_key, (expires_at, generation), now);
        Ok(())
    }
}

fn damaged() -> ApiError {
    tracing::error!("a stored message body is not an envelope this server can open");
    ApiError::internal_error()
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What a cache entry is kept until (epoch milliseconds).
trait Expiring {
    fn expires_at(&self) -> i64;
}

impl Expiring for DataKey {
    fn expires_at(&self) -> i64 {
        self.expires_at
    }
}

/// Who may open a queue's bodies: until when, and as of which KMS generation.
impl Expiring for (i64, u64) {
    fn expires_at(&self) -> i64 {
        self.0
    }
}

fn insert<K: std::hash::Hash + Eq, V: Expiring>(
    cache: &Mutex<HashMap<K, V>>,
    key: K,
    entry: V,
    now: i64,
) {
    let mut cache = lock(cache);
    if cache.len() >= CACHE_SWEEP_AT {
        cache.retain(|_, e| now < e.expires_at());
    }
    cache.insert(key, entry);
}

/// The encryption context SQS binds its data keys to.
fn context(queue_arn: &str) -> Value {
    json!({ "aws:sqs:arn": queue_arn })
}

fn owned_aad(queue_arn: &str) -> Vec<u8> {
    let mut aad = b"sse-sqs\0".to_vec();
    aad.extend_from_slice(queue_arn.as_bytes());
    aad
}

/// The ARN of the key a queue names, read in the queue's account and region.
fn key_arn(reference: &str, account: &str, region: &str) -> String {
    if reference.starts_with("arn:") {
        reference.to_string()
    } else if reference.starts_with("alias/") {
        format!("arn:aws:kms:{region}:{account}:{reference}")
    } else {
        format!("arn:aws:kms:{region}:{account}:key/{reference}")
    }
}

fn plaintext_key(output: &Value) -> Result<SecretKey, ApiError> {
    output
        .get("Plaintext")
        .and_then(Value::as_str)
        .and_then(base64_decode)
        .and_then(|bytes| SecretKey::from_bytes(&bytes))
        .ok_or_else(ApiError::internal_error)
}

/// A KMS refusal as SQS reports it to the sender or receiver.
fn sqs_error(error: SecurityError) -> ApiError {
    let code = match error.code {
        "NotFoundException" | "InvalidArnException" | "ValidationException" => {
            ErrorCode::KmsNotFound
        }
        // The key a stored body names no longer exists (deleted after its waiting period).
        "InvalidCiphertextException" => ErrorCode::KmsNotFound,
        "DisabledException" => ErrorCode::KmsDisabled,
        "KMSInvalidStateException" => ErrorCode::KmsInvalidState,
        "InvalidKeyUsageException" | "IncorrectKeyException" => ErrorCode::KmsInvalidKeyUsage,
        "AccessDeniedException" => ErrorCode::KmsAccessDenied,
        other => {
            tracing::error!(code = other, message = %error.message, "a KMS call for SQS failed");
            return ApiError::service_unavailable();
        }
    };
    ApiError::new(code, error.message)
}
