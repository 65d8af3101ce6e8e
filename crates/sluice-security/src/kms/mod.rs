//! A local AWS KMS (API reference 2014-11-01, AWS JSON 1.1): symmetric `SYMMETRIC_DEFAULT` keys for
//! `ENCRYPT_DECRYPT`, aliases, key policies, tags, enabling, scheduled deletion and rotation, and the
//! cryptographic operations. Keys and aliases are security records through the storage boundary;
//! a key's material (one per version, rotation adding one) is kept wrapped under the server's master
//! key, so the data directory alone does not open anything.
//!
//! A key is named by its id, its ARN, an alias name (`alias/…`) or an alias ARN, in the caller's
//! account and the request's region unless an ARN says otherwise. Whether the caller may use a key
//! is decided before, by policy evaluation against the key policy (`access`).

mod crypto;
#[doc(hidden)]
pub mod fuzzing;
mod keys;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;
use sluice_model::{Access, Principal, ResourcePolicy};
use sluice_store::Store;

pub use crypto::{KeySchedule, SecretKey};

use crate::directory::records::{Batch, Records};
use crate::directory::SecurityError;

const MASTER_KIND: &str = "kms-master";
const MASTER_CHECK: &str = "check";
const MASTER_CHECK_TEXT: &[u8] = b"sluice master key";

pub struct Kms {
    records: Records,
    master: SecretKey,
}

/// Why the master key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error("it does not open the keys stored in the data directory; start with the master key they were written with")]
    Wrong,
    #[error("the master key check could not be read or written: {0}")]
    Store(String),
}

impl Kms {
    /// Opens the KMS with the server's master key, refusing one that is not the key the stored
    /// material was wrapped with (the first start records a check value under it).
    pub async fn open(store: Arc<dyn Store>, master: SecretKey) -> Result<Kms, MasterKeyError> {
        let records = Records::new(store);
        let stored = records
            .get::<String>(MASTER_KIND, MASTER_CHECK)
            .await
            .map_err(|e| MasterKeyError::Store(e.message))?;
        match stored {
            Some(check) => {
                let sealed = base64_decode(&check.value).ok_or(MasterKeyError::Wrong)?;
                if master.open(&sealed, MASTER_CHECK.as_bytes()).as_deref()
                    != Some(MASTER_CHECK_TEXT)
                {
                    return Err(MasterKeyError::Wrong);
                }
            }
            None => {
                let sealed =
                    base64_encode(&master.seal(MASTER_CHECK_TEXT, MASTER_CHECK.as_bytes()));
                let mut batch = Batch::new();
                batch.put(MASTER_KIND, MASTER_CHECK, None, &sealed);
                records
                    .write(batch)
                    .await
                    .map_err(|e| MasterKeyError::Store(e.message))?;
            }
        }
        Ok(Kms { records, master })
    }

    /// Runs one KMS action for `caller` in `region` at `now` (epoch seconds); the answer is the
    /// action's output shape as JSON.
    pub async fn handle(
        &self,
        caller: &Principal,
        region: &str,
        action: &str,
        input: &Value,
        now: i64,
    ) -> Result<Value, SecurityError> {
        self.call(caller, region, input, now).run(action).await
    }

    /// What a KMS action acts on, for authorization: the key it names (with the key policy, which
    /// must allow, as KMS requires), or every key of the account for the actions on none.
    pub async fn access(
        &self,
        caller: &Principal,
        region: &str,
        action: &str,
        input: &Value,
        now: i64,
    ) -> Result<Access, SecurityError> {
        let call = self.call(caller, region, input, now);
        let qualified = keys::qualified_action(action).ok_or_else(|| unknown_operation(action))?;
        let key = call.key_named_by(action).await?;
        let access = match key {
            Some(key) => {
                let mut access = Access::new(qualified, key.value.arn(), &key.value.account_id);
                access.resource_policy = Some(ResourcePolicy {
                    version_id: format!("{}#{}", key.value.arn(), key.version),
                    text: key.value.policy.clone(),
                    trust: false,
                });
                access.resource_tags = key.value.tags.clone();
                access.resource_policy_required = true;
                access
            }
            None => Access::new(
                qualified,
                format!("arn:aws:kms:{region}:{}:key/*", caller.account_id),
                &caller.account_id,
            ),
        };
        Ok(access)
    }

    /// Whether the key `reference` names can serve a cryptographic operation now; if not, the error
    /// KMS answers such an operation (`NotFoundException`, `DisabledException`,
    /// `KMSInvalidStateException`).
    pub async fn check_usable(
        &self,
        caller: &Principal,
        region: &str,
        reference: &str,
        now: i64,
    ) -> Result<(), SecurityError> {
        self.call(caller, region, &Value::Null, now)
            .usable_key(reference)
            .await
            .map(drop)
    }

    fn call<'a>(
        &'a self,
        caller: &'a Principal,
        region: &'a str,
        input: &'a Value,
        now: i64,
    ) -> keys::Call<'a> {
        keys::Call {
            kms: self,
            caller,
            region,
            input,
            now,
        }
    }

    /// Moves whenever a key or alias is written (through this process, or through another sharing
    /// the store once the store hears of it), so that what was derived from keys (SQS's cached data
    /// keys) is derived again after a key is disabled, scheduled for deletion or given another
    /// policy.
    pub fn generation(&self) -> u64 {
        self.records.generation()
    }

    /// Seals a key the server owns (an SSE-SQS data key) under the master key, bound to `aad`.
    pub fn wrap_owned(&self, key: &SecretKey, aad: &[u8]) -> Vec<u8> {
        self.master.seal(key.bytes(), aad)
    }

    /// Opens what `wrap_owned` sealed with the same `aad`.
    pub fn unwrap_owned(&self, wrapped: &[u8], aad: &[u8]) -> Option<SecretKey> {
        self.master
            .open(wrapped, aad)
            .and_then(|bytes| SecretKey::from_bytes(&bytes))
    }

    /// The action names of the KMS API Sluice serves.
    pub fn serves(action: &str) -> bool {
        keys::qualified_action(action).is_some()
    }
}

fn unknown_operation(action: &str) -> SecurityError {
    SecurityError {
        code: "UnknownOperationException",
        message: format!("The operation {action} is not supported by this endpoint."),
        status: 400,
        sender_fault: true,
    }
}

/// An error as KMS words it.
/// An error as KMS words it: KMS answers every client error with 400, its own failures with 500.
pub(crate) fn kms_error(code: &'static str, message: impl Into<String>) -> SecurityError {
    let internal = code == "KMSInternalException";
    SecurityError {
        code,
        message: message.into(),
        status: if internal { 500 } else { 400 },
        sender_fault: !internal,
    }
}

pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// An `EncryptionContext` member: a map of strings.
pub(crate) fn context_of(value: Option<&Value>) -> Result<BTreeMap<String, String>, SecurityError> {
    match value {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(v) => Ok((k.clone(), v.clone())),
                _ => Err(kms_error(
                    "ValidationException",
                    "EncryptionContext values must be strings.",
                )),
            })
            .collect(),
        Some(_) => Err(kms_error(
            "ValidationException",
            "EncryptionContext must be a map of strings.",
        )),
    }
}
