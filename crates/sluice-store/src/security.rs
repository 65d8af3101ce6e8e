//! Security records: what the security layer keeps (accounts' identities, access keys, policies, role
//! sessions) as opaque values under typed keys. The store knows neither their meaning nor their
//! encoding; it gives them the same durability as queues and writes a batch of them atomically, each
//! write conditional on the version it was read at, so that two nodes sharing a backend cannot both win.

use std::collections::BTreeMap;

use crate::StoreError;

/// A record's key: a kind (`user`, `access-key`, …) and a name unique within the kind.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SecurityKey {
    pub kind: String,
    pub name: String,
}

impl SecurityKey {
    pub fn new(kind: &str, name: impl Into<String>) -> Self {
        SecurityKey {
            kind: kind.to_string(),
            name: name.into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityRecord {
    pub key: SecurityKey,
    /// 1 when first written, bumped by every later write.
    pub version: u64,
    pub value: Vec<u8>,
}

/// One write of a batch. `expected` is the version the writer read: `None` for a record that must not
/// exist yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecurityWrite {
    Put {
        key: SecurityKey,
        expected: Option<u64>,
        value: Vec<u8>,
    },
    Delete {
        key: SecurityKey,
        expected: u64,
    },
}

impl SecurityWrite {
    pub fn key(&self) -> &SecurityKey {
        match self {
            SecurityWrite::Put { key, .. } | SecurityWrite::Delete { key, .. } => key,
        }
    }
}

/// The security records of a backend that keeps them in memory (the memory store, and the durable
/// store's state rebuilt from its journal).
#[derive(Clone, Debug, Default)]
pub struct SecurityRecords {
    records: BTreeMap<SecurityKey, SecurityRecord>,
}

impl SecurityRecords {
    pub fn get(&self, key: &SecurityKey) -> Option<&SecurityRecord> {
        self.records.get(key)
    }

    /// The records of a kind whose names start with `prefix`, in name order.
    pub fn list(&self, kind: &str, prefix: &str) -> Vec<SecurityRecord> {
        let start = SecurityKey::new(kind, prefix);
        self.records
            .range(start..)
            .take_while(|(k, _)| k.kind == kind && k.name.starts_with(prefix))
            .map(|(_, r)| r.clone())
            .collect()
    }

    /// Every record, in key order.
    pub fn all(&self) -> impl Iterator<Item = &SecurityRecord> {
        self.records.values()
    }

    /// Whether every write of the batch finds the version it expects; `Conflict` if one does not. A key
    /// written twice in one batch is a conflict too: its second expectation cannot be known.
    pub fn check(&self, batch: &[SecurityWrite]) -> Result<(), StoreError> {
        let mut seen = std::collections::HashSet::new();
        for write in batch {
            if !seen.insert(write.key()) {
                return Err(StoreError::Conflict);
            }
            let current = self.records.get(write.key()).map(|r| r.version);
            let expected = match write {
                SecurityWrite::Put { expected, .. } => *expected,
                SecurityWrite::Delete { expected, .. } => Some(*expected),
            };
            if current != expected {
                return Err(StoreError::Conflict);
            }
        }
        Ok(())
    }

    /// Applies a batch that `check` accepted.
    pub fn apply(&mut self, batch: Vec<SecurityWrite>) {
        for write in batch {
            self.apply_one(write);
        }
    }

    /// Applies one write whatever the stored version, as replaying a journal does.
    pub fn apply_one(&mut self, write: SecurityWrite) {
        match write {
            SecurityWrite::Put { key, value, .. } => {
                let version = self
                    .records
                    .get(&key)
                    .map_or(1, |r| r.version.saturating_add(1));
                self.records.insert(
                    key.clone(),
                    SecurityRecord {
                        key,
                        version,
                        value,
                    },
                );
            }
            SecurityWrite::Delete { key, .. } => {
                self.records.remove(&key);
            }
        }
    }

    /// Puts a record back as it was stored, version included, as loading a snapshot does.
    pub fn restore(&mut self, record: SecurityRecord) {
        self.records.insert(record.key.clone(), record);
    }
}
