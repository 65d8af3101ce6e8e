//! Exact bookkeeping of every message id of a run: whether its send was acknowledged and whether it has
//! been received, so losses and duplicates are counted, not estimated. FIFO runs also keep, per message
//! group, the highest sequence number received, to catch out-of-order delivery.

use std::sync::atomic::{AtomicI64, AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock};

const ACKED: u8 = 1;
const RECEIVED: u8 = 2;

const PAGE_BITS: u32 = 16;
const PAGE_SIZE: usize = 1 << PAGE_BITS;
const PAGES: usize = 4096;

/// The largest number of message ids one run can use (268 million).
pub const MAX_IDS: u64 = (PAGE_SIZE * PAGES) as u64;

/// What a receive of an id means.
#[derive(Debug, PartialEq, Eq)]
pub enum Receipt {
    /// First receive of this id.
    First,
    /// Received before.
    Duplicate,
    /// Not an id of this run.
    Unknown,
}

/// Final tallies of the id states.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Acknowledged as sent, never received.
    pub lost: u64,
    /// Received, but its send was never acknowledged (the send failed or timed out after the server
    /// had accepted it).
    pub unacknowledged: u64,
}

pub struct Tracker {
    pages: Vec<OnceLock<Box<[AtomicU8]>>>,
    /// Acknowledged ids not yet received.
    outstanding: AtomicI64,
}

impl Default for Tracker {
    fn default() -> Self {
        Self::new()
    }
}

impl Tracker {
    pub fn new() -> Self {
        Tracker {
            pages: (0..PAGES).map(|_| OnceLock::new()).collect(),
            outstanding: AtomicI64::new(0),
        }
    }

    fn slot(&self, id: u64) -> Option<&AtomicU8> {
        if id >= MAX_IDS {
            return None;
        }
        let page = self.pages[(id >> PAGE_BITS) as usize]
            .get_or_init(|| (0..PAGE_SIZE).map(|_| AtomicU8::new(0)).collect());
        Some(&page[(id as usize) & (PAGE_SIZE - 1)])
    }

    /// The server acknowledged the send of `id`.
    pub fn ack(&self, id: u64) {
        if let Some(slot) = self.slot(id) {
            let before = slot.fetch_or(ACKED, Ordering::AcqRel);
            if before & (ACKED | RECEIVED) == 0 {
                self.outstanding.fetch_add(1, Ordering::AcqRel);
            }
        }
    }

    /// A consumer received `id`.
    pub fn receive(&self, id: u64) -> Receipt {
        let Some(slot) = self.slot(id) else {
            return Receipt::Unknown;
        };
        let before = slot.fetch_or(RECEIVED, Ordering::AcqRel);
        if before & RECEIVED != 0 {
            return Receipt::Duplicate;
        }
        if before & ACKED != 0 {
            self.outstanding.fetch_sub(1, Ordering::AcqRel);
        }
        Receipt::First
    }

    /// How many acknowledged messages have not been received yet.
    pub fn outstanding(&self) -> i64 {
        self.outstanding.load(Ordering::Acquire)
    }

    /// Lost and unacknowledged counts over all ids.
    pub fn tally(&self) -> Tally {
        let mut tally = Tally::default();
        for page in self.pages.iter().filter_map(OnceLock::get) {
            for slot in page.iter() {
                match slot.load(Ordering::Acquire) {
                    ACKED => tally.lost += 1,
                    RECEIVED => tally.unacknowledged += 1,
                    _ => {}
                }
            }
        }
        tally
    }
}

/// Per-group receive order of a FIFO run.
pub struct GroupOrder {
    highest: Vec<Mutex<Option<u64>>>,
}

impl GroupOrder {
    pub fn new(groups: u32) -> Self {
        GroupOrder {
            highest: (0..groups).map(|_| Mutex::new(None)).collect(),
        }
    }

    /// Records the first receive of sequence number `seq` of `group`; false when a later message of the
    /// group was received before it. Unknown groups are ignored.
    pub fn observe(&self, group: u32, seq: u64) -> bool {
        let Some(cell) = self.highest.get(group as usize) else {
            return true;
        };
        let mut highest = cell.lock().unwrap_or_else(|e| e.into_inner());
        match *highest {
            Some(h) if seq < h => false,
            _ => {
                *highest = Some(seq);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acks_and_receives_in_either_order() {
        let t = Tracker::new();
        t.ack(1);
        t.ack(2);
        assert_eq!(t.outstanding(), 2);
        assert_eq!(t.receive(1), Receipt::First);
        assert_eq!(t.outstanding(), 1);
        // Received before its acknowledgement arrived.
        assert_eq!(t.receive(3), Receipt::First);
        t.ack(3);
        assert_eq!(t.outstanding(), 1);
        assert_eq!(t.receive(1), Receipt::Duplicate);
        // Received, never acknowledged.
        assert_eq!(t.receive(70_000), Receipt::First);
        assert_eq!(t.receive(MAX_IDS), Receipt::Unknown);
        assert_eq!(
            t.tally(),
            Tally {
                lost: 1,
                unacknowledged: 1
            }
        );
    }

    #[test]
    fn group_order() {
        let g = GroupOrder::new(2);
        assert!(g.observe(0, 0));
        assert!(g.observe(0, 2));
        assert!(!g.observe(0, 1));
        assert!(g.observe(1, 0));
        assert!(g.observe(7, 0));
    }
}
