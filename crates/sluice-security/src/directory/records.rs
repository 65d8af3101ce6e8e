//! What the directory stores, one security record per entity, and the typed reads and writes of those
//! records through the storage boundary. Values are JSON; names of per-account entities are
//! `<account>/<lowercased name>`, so that names are unique case-insensitively, as IAM makes them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sluice_store::{SecurityKey, SecurityWrite, Store, StoreError};

use super::error::SecurityError;

pub const ACCOUNT: &str = "account";
pub const ACCESS_KEY: &str = "access-key";
pub const SESSION: &str = "role-session";
pub const USER: &str = "user";
pub const GROUP: &str = "group";
pub const ROLE: &str = "role";
pub const POLICY: &str = "policy";

/// The record name of a per-account entity.
pub fn entity_name(account_id: &str, name: &str) -> String {
    format!("{account_id}/{}", name.to_ascii_lowercase())
}

/// The prefix of every record name of an account.
pub fn account_prefix(account_id: &str) -> String {
    format!("{account_id}/")
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Account {
    pub id: String,
    pub created: i64,
    /// The root's access keys, kept here so that the quota on them holds under concurrent writers.
    #[serde(default)]
    pub root_keys: Vec<String>,
}

impl Account {
    pub fn new(id: &str, created: i64) -> Self {
        Account {
            id: id.to_string(),
            created,
            root_keys: vec![],
        }
    }
}

/// A long-term access key of an account's root (`user` absent) or of a user.
#[derive(Serialize, Deserialize, Clone)]
pub struct AccessKey {
    pub account_id: String,
    pub user: Option<String>,
    pub secret: String,
    pub active: bool,
    pub created: i64,
}

impl AccessKey {
    pub fn status(&self) -> &'static str {
        if self.active {
            "Active"
        } else {
            "Inactive"
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct InlinePolicy {
    pub name: String,
    pub document: String,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct User {
    pub name: String,
    pub path: String,
    pub id: String,
    pub created: i64,
    pub access_keys: Vec<String>,
    /// Names of the groups the user belongs to; each group lists the user back.
    pub groups: Vec<String>,
    pub inline: Vec<InlinePolicy>,
    pub attached: Vec<String>,
    pub boundary: Option<String>,
    pub tags: Vec<(String, String)>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Group {
    pub name: String,
    pub path: String,
    pub id: String,
    pub created: i64,
    pub members: Vec<String>,
    pub inline: Vec<InlinePolicy>,
    pub attached: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Role {
    pub name: String,
    pub path: String,
    pub id: String,
    pub created: i64,
    pub assume_role_policy: String,
    pub description: Option<String>,
    pub max_session_duration: i64,
    pub inline: Vec<InlinePolicy>,
    pub attached: Vec<String>,
    pub boundary: Option<String>,
    pub tags: Vec<(String, String)>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct PolicyVersion {
    pub id: String,
    pub document: String,
    pub created: i64,
}

/// A customer managed policy. The counts are kept with the policy and changed in the same batch as
/// the attachment, so that a policy in use cannot be deleted.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct ManagedPolicy {
    pub name: String,
    pub path: String,
    pub id: String,
    pub created: i64,
    pub updated: i64,
    pub description: Option<String>,
    pub versions: Vec<PolicyVersion>,
    pub default_version: String,
    pub attachment_count: u64,
    pub boundary_usage_count: u64,
    pub tags: Vec<(String, String)>,
}

/// The temporary credentials of a role session, named by their `ASIA…` key id.
#[derive(Serialize, Deserialize, Clone)]
pub struct Session {
    pub account_id: String,
    pub secret: String,
    pub token: String,
    pub role_name: String,
    pub role_id: String,
    pub role_arn: String,
    pub session_name: String,
    pub policy: Option<String>,
    pub policy_arns: Vec<String>,
    pub tags: Vec<(String, String)>,
    pub issued_at: i64,
    pub expires_at: i64,
}

/// A record as read, with the version a write of it must expect.
pub struct Stored<T> {
    pub value: T,
    pub version: u64,
}

/// Typed access to the security records.
#[derive(Clone)]
pub struct Records {
    store: Arc<dyn Store>,
    /// Counts the batches written through this process, so that what was derived from the records
    /// (parsed policies) knows when to be read again. An atomic: every writer bumps it, every
    /// authorized request reads it. Writes by other processes sharing the store move the store's
    /// own count instead (`Store::security_generation`).
    generation: Arc<AtomicU64>,
}

impl Records {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Records {
            store,
            generation: Arc::default(),
        }
    }

    /// Moves whenever the records may have changed, through this process or another: the sum of
    /// two counts that only grow.
    pub fn generation(&self) -> u64 {
        self.generation
            .load(Ordering::Acquire)
            .wrapping_add(self.store.security_generation())
    }

    pub async fn get<T: DeserializeOwned>(
        &self,
        kind: &str,
        name: &str,
    ) -> Result<Option<Stored<T>>, SecurityError> {
        let record = self
            .store
            .security_record(&SecurityKey::new(kind, name))
            .await?;
        record
            .map(|r| {
                Ok(Stored {
                    value: decode(kind, &r.value)?,
                    version: r.version,
                })
            })
            .transpose()
    }

    /// The records of a kind whose names start with `prefix`, in name order.
    pub async fn list<T: DeserializeOwned>(
        &self,
        kind: &str,
        prefix: &str,
    ) -> Result<Vec<(String, Stored<T>)>, SecurityError> {
        let records = self.store.security_records(kind, prefix).await?;
        records
            .into_iter()
            .map(|r| {
                Ok((
                    r.key.name,
                    Stored {
                        value: decode(kind, &r.value)?,
                        version: r.version,
                    },
                ))
            })
            .collect()
    }

    pub async fn exists(&self, kind: &str, prefix: &str) -> Result<bool, SecurityError> {
        Ok(!self.store.security_records(kind, prefix).await?.is_empty())
    }

    /// Writes a batch atomically; `Ok(false)` when a record changed since it was read, so the
    /// caller reads again and retries.
    pub async fn write(&self, batch: Batch) -> Result<bool, SecurityError> {
        let written = self.store.write_security(batch.writes).await;
        // Bumped whatever the outcome: a write that failed may still have reached the store.
        self.generation.fetch_add(1, Ordering::AcqRel);
        match written {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }
}

fn decode<T: DeserializeOwned>(kind: &str, bytes: &[u8]) -> Result<T, SecurityError> {
    serde_json::from_slice(bytes).map_err(|error| {
        tracing::error!(kind, %error, "undecodable security record");
        SecurityError::service_failure()
    })
}

/// The writes of one atomic change.
#[derive(Default)]
pub struct Batch {
    writes: Vec<SecurityWrite>,
}

impl Batch {
    pub fn new() -> Self {
        Batch::default()
    }

    /// Writes `value` under `kind`/`name`, expecting the record at `expected` (`None`: absent).
    pub fn put<T: Serialize>(
        &mut self,
        kind: &str,
        name: &str,
        expected: Option<u64>,
        value: &T,
    ) -> &mut Self {
        let value = serde_json::to_vec(value).unwrap_or_default();
        self.writes.push(SecurityWrite::Put {
            key: SecurityKey::new(kind, name),
            expected,
            value,
        });
        self
    }

    pub fn delete(&mut self, kind: &str, name: &str, expected: u64) -> &mut Self {
        self.writes.push(SecurityWrite::Delete {
            key: SecurityKey::new(kind, name),
            expected,
        });
        self
    }
}

/// How many times a change is read and written again after losing a race.
pub const ATTEMPTS: usize = 8;

/// Runs one read-modify-write attempt until it is written (`Some`) or it fails; an attempt returns
/// `None` when its batch lost a race.
pub async fn retry<T, F, Fut>(mut attempt: F) -> Result<T, SecurityError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, SecurityError>>,
{
    for _ in 0..ATTEMPTS {
        if let Some(done) = attempt().await? {
            return Ok(done);
        }
    }
    tracing::warn!("security records kept changing under a write");
    Err(SecurityError {
        code: "ConcurrentModification",
        message: "The request was rejected because multiple requests to change this object were submitted simultaneously. Wait a few minutes and submit your request again.".into(),
        status: 409,
        sender_fault: true,
    })
}
