//! What CloudWatch counts of each queue (messages sent, received and deleted, empty receives,
//! deduplicated sends, sizes), counted in this process as requests are served, and the last hour
//! of it at 10-second resolution with the queue's depth, which the console charts.
//!
//! Counting costs a request a hash and a read lock on one of many shards, then atomic adds: no lock
//! is shared by all queues. Everything else (gauges, history) is read or computed off the request
//! path, at a scrape or by the sampler.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use sluice_store::{QueueGauges, QueueKey};

/// Upper bounds, in bytes, of the buckets sent message sizes are counted in.
pub const SENT_SIZE_BUCKETS: [u64; 7] = [1_024, 4_096, 16_384, 65_536, 262_144, 524_288, 1_048_576];
/// How often the sampler records a point of history.
pub const SAMPLE_INTERVAL: Duration = Duration::from_secs(10);
/// How long history is kept.
const HISTORY_MILLIS: i64 = 60 * 60 * 1000;
const SHARDS: usize = 64;

/// One queue's counters since this process started.
#[derive(Debug, Default)]
pub struct QueueCounters {
    sent: AtomicU64,
    sent_bytes: AtomicU64,
    /// Sends by size bucket (not cumulative); the last counts sizes above every bound.
    sent_sizes: [AtomicU64; SENT_SIZE_BUCKETS.len() + 1],
    deduplicated: AtomicU64,
    received: AtomicU64,
    empty_receives: AtomicU64,
    deleted: AtomicU64,
}

impl QueueCounters {
    /// A message added to the queue by a send, of `size` bytes (body and attributes).
    pub fn sent(&self, size: u64) {
        self.sent.fetch_add(1, Ordering::Relaxed);
        self.sent_bytes.fetch_add(size, Ordering::Relaxed);
        let bucket = SENT_SIZE_BUCKETS
            .iter()
            .position(|bound| size <= *bound)
            .unwrap_or(SENT_SIZE_BUCKETS.len());
        self.sent_sizes[bucket].fetch_add(1, Ordering::Relaxed);
    }

    /// A send that duplicated one within the deduplication interval, so added nothing.
    pub fn deduplicated(&self) {
        self.deduplicated.fetch_add(1, Ordering::Relaxed);
    }

    /// A receive call: the messages it returned, or an empty receive.
    pub fn received(&self, messages: usize) {
        if messages == 0 {
            self.empty_receives.fetch_add(1, Ordering::Relaxed);
        } else {
            self.received.fetch_add(messages as u64, Ordering::Relaxed);
        }
    }

    /// Successful deletes, repeated ones of the same message included, as SQS counts them.
    pub fn deleted(&self, deletes: usize) {
        self.deleted.fetch_add(deletes as u64, Ordering::Relaxed);
    }

    fn values(&self) -> CounterValues {
        let sent_size_buckets = self
            .sent_sizes
            .iter()
            .map(|bucket| bucket.load(Ordering::Relaxed))
            .collect();
        CounterValues {
            sent: self.sent.load(Ordering::Relaxed),
            sent_bytes: self.sent_bytes.load(Ordering::Relaxed),
            sent_size_buckets,
            deduplicated: self.deduplicated.load(Ordering::Relaxed),
            received: self.received.load(Ordering::Relaxed),
            empty_receives: self.empty_receives.load(Ordering::Relaxed),
            deleted: self.deleted.load(Ordering::Relaxed),
        }
    }
}

/// A reading of one queue's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CounterValues {
    pub sent: u64,
    pub sent_bytes: u64,
    /// Sends in each of `SENT_SIZE_BUCKETS` (above the one before, at most its own), then those
    /// above every bound.
    pub sent_size_buckets: Vec<u64>,
    pub deduplicated: u64,
    pub received: u64,
    pub empty_receives: u64,
    pub deleted: u64,
}

/// A queue's gauges as CloudWatch names them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueStats {
    pub visible: u64,
    pub in_flight: u64,
    pub delayed: u64,
    /// Seconds since the oldest counted message entered the queue; 0 when there is none.
    pub oldest_age_seconds: u64,
    pub groups_in_flight: u64,
}

impl QueueStats {
    pub(crate) fn of(gauges: &QueueGauges, now_millis: i64) -> QueueStats {
        let age_millis = gauges
            .oldest_arrived_at
            .map_or(0, |at| now_millis.saturating_sub(at).max(0));
        QueueStats {
            visible: gauges.counts.visible,
            in_flight: gauges.counts.in_flight,
            delayed: gauges.counts.delayed,
            oldest_age_seconds: u64::try_from(age_millis / 1000).unwrap_or(0),
            groups_in_flight: gauges.groups_in_flight,
        }
    }
}

/// Ten seconds of a queue's history: what happened in them, and its depth at their end.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ActivityPoint {
    /// When the interval ended, in epoch milliseconds.
    pub at_millis: i64,
    pub sent: u64,
    pub sent_bytes: u64,
    pub received: u64,
    pub deleted: u64,
    pub visible: u64,
    pub in_flight: u64,
    pub delayed: u64,
}

/// A point as kept: counts saturate at `u32::MAX` per ten seconds, which no queue reaches, and the
/// point takes a third of the memory.
#[derive(Clone, Copy, Debug)]
struct Sample {
    at_millis: i64,
    values: [u32; 7],
}

impl Sample {
    fn of(point: &ActivityPoint) -> Sample {
        let narrow = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        Sample {
            at_millis: point.at_millis,
            values: [
                narrow(point.sent),
                narrow(point.sent_bytes),
                narrow(point.received),
                narrow(point.deleted),
                narrow(point.visible),
                narrow(point.in_flight),
                narrow(point.delayed),
            ],
        }
    }

    fn point(&self) -> ActivityPoint {
        let [sent, sent_bytes, received, deleted, visible, in_flight, delayed] =
            self.values.map(u64::from);
        ActivityPoint {
            at_millis: self.at_millis,
            sent,
            sent_bytes,
            received,
            deleted,
            visible,
            in_flight,
            delayed,
        }
    }
}

/// One queue's last hour. Points where nothing happened and the queue was empty are not kept: an
/// idle queue costs nothing, and the reader knows the gap means zero.
#[derive(Debug, Default)]
struct History {
    samples: VecDeque<Sample>,
    /// The counters at the previous sample, which the next one's counts are taken from.
    last: CounterValues,
}

/// Every queue's counters and history, and the receives waiting in long polls.
#[derive(Debug)]
pub struct Activity {
    shards: Vec<RwLock<HashMap<QueueKey, Arc<QueueCounters>>>>,
    hasher: RandomState,
    /// Held by the sampler and by readers of one queue's history, never across an await.
    history: Mutex<HashMap<QueueKey, History>>,
    /// Queues with counters that the sampler's last listing did not hold.
    unlisted: Mutex<HashSet<QueueKey>>,
    long_polls: AtomicI64,
}

impl Default for Activity {
    fn default() -> Self {
        Activity {
            shards: (0..SHARDS).map(|_| RwLock::default()).collect(),
            hasher: RandomState::new(),
            history: Mutex::default(),
            unlisted: Mutex::default(),
            long_polls: AtomicI64::new(0),
        }
    }
}

/// Counts a receive as waiting in a long poll while it lives.
pub struct LongPoll<'a>(&'a AtomicI64);

impl Drop for LongPoll<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Activity {
    fn shard(&self, key: &QueueKey) -> &RwLock<HashMap<QueueKey, Arc<QueueCounters>>> {
        let index = self.hasher.hash_one(key) as usize % self.shards.len();
        &self.shards[index]
    }

    /// The queue's counters, made on first use.
    pub fn counters(&self, key: &QueueKey) -> Arc<QueueCounters> {
        let shard = self.shard(key);
        let found = shard
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(key)
            .cloned();
        found.unwrap_or_else(|| {
            shard
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .entry(key.clone())
                .or_default()
                .clone()
        })
    }

    /// A reading of the queue's counters: zero for a queue nothing has been counted for.
    pub fn values(&self, key: &QueueKey) -> CounterValues {
        let counters = self
            .shard(key)
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(key)
            .cloned();
        match counters {
            Some(counters) => counters.values(),
            None => QueueCounters::default().values(),
        }
    }

    /// Forgets a deleted queue: a queue made again under its name counts from zero.
    pub fn forget(&self, key: &QueueKey) {
        self.shard(key)
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(key);
        self.history_map().remove(key);
    }

    /// Forgets the queues missing from `live` (deleted through another process sharing the store)
    /// that were missing from the previous listing too: a queue made after a listing was read is
    /// in the next one, so its counts are not lost in between.
    pub fn retain(&self, live: &[QueueKey]) {
        let live: HashSet<&QueueKey> = live.iter().collect();
        let mut unlisted = self
            .unlisted
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut missing = HashSet::new();
        for shard in &self.shards {
            shard
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .retain(|key, _| {
                    if live.contains(key) {
                        return true;
                    }
                    missing.insert(key.clone());
                    !unlisted.contains(key)
                });
        }
        self.history_map()
            .retain(|key, _| live.contains(key) || !unlisted.contains(key));
        *unlisted = missing;
    }

    pub fn long_poll(&self) -> LongPoll<'_> {
        self.long_polls.fetch_add(1, Ordering::Relaxed);
        LongPoll(&self.long_polls)
    }

    /// Receives waiting in long polls now.
    pub fn long_polls(&self) -> u64 {
        u64::try_from(self.long_polls.load(Ordering::Relaxed)).unwrap_or(0)
    }

    fn history_map(&self) -> std::sync::MutexGuard<'_, HashMap<QueueKey, History>> {
        self.history
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records a point of the queue's history at `now_millis`, its depth read as `stats`.
    pub fn sample(&self, key: &QueueKey, stats: &QueueStats, now_millis: i64) {
        let values = self.values(key);
        let mut map = self.history_map();
        let history = map.entry(key.clone()).or_default();
        let point = ActivityPoint {
            at_millis: now_millis,
            sent: values.sent.saturating_sub(history.last.sent),
            sent_bytes: values.sent_bytes.saturating_sub(history.last.sent_bytes),
            received: values.received.saturating_sub(history.last.received),
            deleted: values.deleted.saturating_sub(history.last.deleted),
            visible: stats.visible,
            in_flight: stats.in_flight,
            delayed: stats.delayed,
        };
        history.last = values;
        let idle = ActivityPoint {
            at_millis: now_millis,
            ..ActivityPoint::default()
        };
        if point != idle {
            history.samples.push_back(Sample::of(&point));
        }
        while history
            .samples
            .front()
            .is_some_and(|s| s.at_millis <= now_millis - HISTORY_MILLIS)
        {
            history.samples.pop_front();
        }
    }

    /// The queue's points of the last hour, oldest first, one per interval (zero where nothing was
    /// kept) up to the last sample.
    pub fn history(&self, key: &QueueKey, now_millis: i64) -> Vec<ActivityPoint> {
        let map = self.history_map();
        let kept = map.get(key).map(|h| &h.samples);
        let Some(last_at) = kept.and_then(|s| s.back()).map(|s| s.at_millis) else {
            return Vec::new();
        };
        let step = SAMPLE_INTERVAL.as_millis() as i64;
        let points = (HISTORY_MILLIS / step) as usize;
        // Intervals end on the sampler's ticks; the reader's clock only bounds the hour.
        let newest = last_at.max(now_millis - (now_millis - last_at) % step);
        let mut out: Vec<ActivityPoint> = (0..points)
            .rev()
            .map(|i| ActivityPoint {
                at_millis: newest - i as i64 * step,
                ..ActivityPoint::default()
            })
            .collect();
        for sample in kept.into_iter().flatten() {
            let offset = (newest - sample.at_millis + step / 2) / step;
            if let Some(index) = usize::try_from(offset)
                .ok()
                .and_then(|o| (points - 1).checked_sub(o))
            {
                out[index] = sample.point();
            }
        }
        out
    }

    /// The sums over the last `span` of the kept history, for names that report per period.
    pub fn recent(&self, key: &QueueKey, now_millis: i64, span: Duration) -> ActivityPoint {
        let since = now_millis - span.as_millis() as i64;
        let map = self.history_map();
        let mut sum = ActivityPoint {
            at_millis: now_millis,
            ..ActivityPoint::default()
        };
        for sample in map.get(key).into_iter().flat_map(|h| &h.samples) {
            if sample.at_millis > since {
                let point = sample.point();
                sum.sent += point.sent;
                sum.sent_bytes += point.sent_bytes;
                sum.received += point.received;
                sum.deleted += point.deleted;
            }
        }
        sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> QueueKey {
        QueueKey {
            account_id: "000000000000".into(),
            region: "us-east-1".into(),
            name: name.into(),
        }
    }

    #[test]
    fn counts_as_cloudwatch_does() {
        let activity = Activity::default();
        let q = key("q");
        let counters = activity.counters(&q);
        counters.sent(10);
        counters.sent(5_000);
        counters.sent(2_000_000);
        counters.deduplicated();
        counters.received(3);
        counters.received(0);
        counters.received(0);
        counters.deleted(2);
        let values = activity.values(&q);
        assert_eq!(values.sent, 3);
        assert_eq!(values.sent_bytes, 2_005_010);
        assert_eq!(values.sent_size_buckets, vec![1, 0, 1, 0, 0, 0, 0, 1]);
        assert_eq!(values.deduplicated, 1);
        assert_eq!(values.received, 3);
        assert_eq!(values.empty_receives, 2);
        assert_eq!(values.deleted, 2);
        activity.forget(&q);
        assert_eq!(activity.values(&q), QueueCounters::default().values());
    }

    #[test]
    fn history_keeps_an_hour_of_intervals() {
        let activity = Activity::default();
        let q = key("q");
        let start = 1_000_000_000;
        let step = SAMPLE_INTERVAL.as_millis() as i64;
        activity.sample(&q, &QueueStats::default(), start);
        activity.counters(&q).sent(1);
        activity.counters(&q).sent(1);
        let depth = QueueStats {
            visible: 2,
            ..QueueStats::default()
        };
        activity.sample(&q, &depth, start + step);
        activity.counters(&q).received(1);
        activity.sample(&q, &depth, start + 2 * step);
        let history = activity.history(&q, start + 2 * step + 3);
        assert_eq!(history.len(), 360);
        let last = history[359];
        assert_eq!(
            (last.at_millis, last.received, last.visible),
            (start + 2 * step, 1, 2)
        );
        let before = history[358];
        assert_eq!((before.sent, before.sent_bytes, before.visible), (2, 2, 2));
        assert_eq!(
            history[357],
            ActivityPoint {
                at_millis: start,
                ..ActivityPoint::default()
            }
        );
        let minute = activity.recent(&q, start + 2 * step, Duration::from_secs(60));
        assert_eq!((minute.sent, minute.received), (2, 1));
        // An hour later the points have aged out.
        activity.sample(
            &q,
            &QueueStats::default(),
            start + HISTORY_MILLIS + 3 * step,
        );
        assert!(activity
            .history(&q, start + HISTORY_MILLIS + 3 * step)
            .is_empty());
    }

    #[test]
    fn a_queue_missing_from_two_listings_is_forgotten() {
        let activity = Activity::default();
        let (kept, gone) = (key("kept"), key("gone"));
        activity.counters(&kept).sent(1);
        activity.counters(&gone).sent(1);
        activity.retain(std::slice::from_ref(&kept));
        assert_eq!(activity.values(&gone).sent, 1);
        activity.retain(std::slice::from_ref(&kept));
        assert_eq!(activity.values(&gone).sent, 0);
        assert_eq!(activity.values(&kept).sent, 1);
    }

    #[test]
    fn long_polls_are_counted_while_they_wait() {
        let activity = Activity::default();
        let first = activity.long_poll();
        let second = activity.long_poll();
        assert_eq!(activity.long_polls(), 2);
        drop(first);
        drop(second);
        assert_eq!(activity.long_polls(), 0);
    }
}
