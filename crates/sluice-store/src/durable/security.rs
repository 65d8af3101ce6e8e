//! Security records as the durable engine keeps them: the records, where each one's current version is
//! recorded, and which batch records are still live. A batch record is live while it holds the current
//! version of at least one key; its bytes count towards its segment's live bytes for exactly that long.
//! Start-up replay, new batches and the compactor all change this state through `apply`, so the three
//! agree on what is live.

use std::collections::{BTreeMap, HashMap};

use super::codec::SecurityChange;
use super::journal::Location;
use crate::{SecurityKey, SecurityRecord, SecurityRecords, SecurityWrite};

#[derive(Default)]
pub struct SecurityState {
    records: SecurityRecords,
    /// The batch record holding each key's current version.
    locations: HashMap<SecurityKey, Location>,
    /// Batch records holding at least one current version, and how many.
    holders: HashMap<Location, usize>,
}

impl SecurityState {
    pub fn records(&self) -> &SecurityRecords {
        &self.records
    }

    /// What a batch that `SecurityRecords::check` accepted leaves of each key it writes: the record
    /// with its next version, or its deletion. The journal stores these, so that replay restores
    /// versions exactly rather than counting writes again.
    pub fn changes(&self, batch: Vec<SecurityWrite>) -> Vec<SecurityChange> {
        batch
            .into_iter()
            .map(|write| match write {
                SecurityWrite::Put { key, value, .. } => {
                    let version = self
                        .records
                        .get(&key)
                        .map_or(1, |r| r.version.saturating_add(1));
                    SecurityChange::Put(SecurityRecord {
                        key,
                        version,
                        value,
                    })
                }
                SecurityWrite::Delete { key, .. } => SecurityChange::Delete(key),
            })
            .collect()
    }

    /// Applies changes recorded at `location`, moving live bytes between the segments in `live`.
    pub fn apply(
        &mut self,
        changes: &[SecurityChange],
        location: Location,
        live: &mut BTreeMap<u64, u64>,
    ) {
        for change in changes {
            match change {
                SecurityChange::Put(record) => {
                    self.release(&record.key, live);
                    self.records.restore(record.clone());
                    self.locations.insert(record.key.clone(), location);
                    let holding = self.holders.entry(location).or_default();
                    if *holding == 0 {
                        *live.entry(location.segment).or_default() += u64::from(location.len);
                    }
                    *holding += 1;
                }
                SecurityChange::Delete(key) => {
                    self.release(key, live);
                    self.records.apply_one(SecurityWrite::Delete {
                        key: key.clone(),
                        expected: 0,
                    });
                }
            }
        }
    }

    /// The current records whose version is recorded in `segment`, in key order.
    pub fn in_segment(&self, segment: u64) -> Vec<SecurityRecord> {
        self.records
            .all()
            .filter(|r| {
                self.locations
                    .get(&r.key)
                    .is_some_and(|l| l.segment == segment)
            })
            .cloned()
            .collect()
    }

    pub fn len(&self) -> usize {
        self.locations.len()
    }

    /// The key's current version leaves the batch record that held it.
    fn release(&mut self, key: &SecurityKey, live: &mut BTreeMap<u64, u64>) {
        let Some(location) = self.locations.remove(key) else {
            return;
        };
        let Some(holding) = self.holders.get_mut(&location) else {
            return;
        };
        *holding -= 1;
        if *holding == 0 {
            self.holders.remove(&location);
            if let Some(bytes) = live.get_mut(&location.segment) {
                *bytes = bytes.saturating_sub(u64::from(location.len));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(segment: u64, offset: u64) -> Location {
        Location {
            segment,
            offset,
            len: 100,
        }
    }

    fn put(name: &str, version: u64) -> SecurityChange {
        SecurityChange::Put(SecurityRecord {
            key: SecurityKey::new("user", name),
            version,
            value: name.as_bytes().to_vec(),
        })
    }

    #[test]
    fn a_batch_record_is_live_while_it_holds_a_current_version() {
        let mut state = SecurityState::default();
        let mut live = BTreeMap::new();
        state.apply(&[put("a", 1), put("b", 1)], at(1, 0), &mut live);
        assert_eq!(live[&1], 100, "one record, however many keys it holds");
        state.apply(&[put("a", 2)], at(2, 0), &mut live);
        assert_eq!((live[&1], live[&2]), (100, 100));
        state.apply(
            &[SecurityChange::Delete(SecurityKey::new("user", "b"))],
            at(2, 100),
            &mut live,
        );
        assert_eq!((live[&1], live[&2]), (0, 100), "deletions hold nothing");
        assert!(state.in_segment(1).is_empty());
        assert_eq!(state.in_segment(2).len(), 1);
        assert_eq!(state.len(), 1);
        assert_eq!(
            state
                .records()
                .get(&SecurityKey::new("user", "a"))
                .map(|r| r.version),
            Some(2)
        );
    }

    #[test]
    fn changes_carry_the_next_version() {
        let mut state = SecurityState::default();
        let mut live = BTreeMap::new();
        state.apply(&[put("a", 4)], at(1, 0), &mut live);
        let changes = state.changes(vec![
            SecurityWrite::Put {
                key: SecurityKey::new("user", "a"),
                expected: Some(4),
                value: vec![1],
            },
            SecurityWrite::Put {
                key: SecurityKey::new("user", "new"),
                expected: None,
                value: vec![2],
            },
        ]);
        let versions: Vec<u64> = changes
            .iter()
            .map(|c| match c {
                SecurityChange::Put(r) => r.version,
                SecurityChange::Delete(_) => 0,
            })
            .collect();
        assert_eq!(versions, [5, 1]);
    }
}
