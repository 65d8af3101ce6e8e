//! What the service reports of its queues to operators: each queue's CloudWatch gauges and
//! counters, read at a scrape, and the sampler that keeps the last hour of each queue's history.

use std::sync::{Arc, Weak};

use sluice_store::{MoveTaskRecord, QueueKey, Store};

use crate::activity::{Activity, ActivityPoint, CounterValues, QueueStats, SAMPLE_INTERVAL};
use crate::settings::QueueSettings;
use crate::{Clock, QueueError, QueueService};

/// One queue as a scrape reports it.
#[derive(Clone, Debug)]
pub struct QueueMetrics {
    pub key: QueueKey,
    pub fifo: bool,
    pub stats: QueueStats,
    pub counters: CounterValues,
    /// Counts over the last minute, for names that report per period.
    pub last_minute: ActivityPoint,
}

/// What the service reads its gauges with, apart from the service itself, so that the sampler
/// does not keep a dropped service alive.
#[derive(Clone)]
struct Reader {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    activity: Arc<Activity>,
}

impl Reader {
    /// The queue's gauges now; `None` for a queue that no longer exists.
    async fn stats(&self, key: &QueueKey) -> Result<Option<(bool, QueueStats)>, QueueError> {
        let Some(record) = self.store.get_queue(key).await? else {
            return Ok(None);
        };
        let settings = QueueSettings::of(&record);
        let now = self.clock.now_millis();
        let gauges = match self
            .store
            .queue_gauges(key, now, settings.expire_before(now))
            .await
        {
            Ok(gauges) => gauges,
            Err(sluice_store::StoreError::QueueNotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        Ok(Some((record.fifo, QueueStats::of(&gauges, now))))
    }

    /// Records a point of history for every queue, and forgets the queues that are gone.
    async fn sample(&self) -> Result<(), QueueError> {
        let keys = self.store.all_queues().await?;
        for key in &keys {
            if let Some((_, stats)) = self.stats(key).await? {
                self.activity.sample(key, &stats, self.clock.now_millis());
            }
        }
        self.activity.retain(&keys);
        Ok(())
    }
}

/// Samples until the store goes. The store is held only while a sample is taken: the abort that
/// stops this task when the service is dropped takes effect later, and a store kept until then
/// would keep a durable data directory locked after shutdown.
async fn sample_periodically(
    store: Weak<dyn Store>,
    clock: Arc<dyn Clock>,
    activity: Arc<Activity>,
) {
    let mut ticks = tokio::time::interval(SAMPLE_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(store) = store.upgrade() else {
            return;
        };
        let reader = Reader {
            store,
            clock: clock.clone(),
            activity: activity.clone(),
        };
        if let Err(error) = reader.sample().await {
            tracing::debug!(%error, "queue history not sampled");
        }
    }
}

impl QueueService {
    fn reader(&self) -> Reader {
        Reader {
            store: self.store.clone(),
            clock: self.clock.clone(),
            activity: self.activity.clone(),
        }
    }

    /// Starts recording each queue's history every ten seconds, until the service goes.
    pub fn start_history(&self) {
        let mut sampler = self
            .sampler
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if sampler.is_none() {
            let sampling = sample_periodically(
                Arc::downgrade(&self.store),
                self.clock.clone(),
                self.activity.clone(),
            );
            *sampler = Some(tokio::spawn(sampling).abort_handle());
        }
    }

    /// The queue's CloudWatch gauges now.
    pub async fn queue_stats(&self, key: &QueueKey) -> Result<QueueStats, QueueError> {
        match self.reader().stats(key).await? {
            Some((_, stats)) => Ok(stats),
            None => Err(QueueError::QueueDoesNotExist),
        }
    }

    /// The queue's last hour, one point per ten seconds, oldest first; empty before the first
    /// sample.
    pub fn activity_history(&self, key: &QueueKey) -> Vec<ActivityPoint> {
        self.activity.history(key, self.clock.now_millis())
    }

    /// Every queue's gauges and counters, for a scrape.
    pub async fn queue_metrics(&self) -> Result<Vec<QueueMetrics>, QueueError> {
        let reader = self.reader();
        let mut metrics = Vec::new();
        for key in self.store.all_queues().await? {
            let Some((fifo, stats)) = reader.stats(&key).await? else {
                continue;
            };
            let now = self.clock.now_millis();
            metrics.push(QueueMetrics {
                counters: self.activity.values(&key),
                last_minute: self.activity.recent(&key, now, SAMPLE_INTERVAL * 6),
                key,
                fifo,
                stats,
            });
        }
        Ok(metrics)
    }

    /// Every message-move task the store knows, with its progress.
    pub async fn move_task_progress(&self) -> Result<Vec<MoveTaskRecord>, QueueError> {
        Ok(self.store.move_tasks().await?)
    }

    /// Receives waiting in long polls now.
    pub fn long_polls(&self) -> u64 {
        self.activity.long_polls()
    }
}
