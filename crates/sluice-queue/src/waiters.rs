//! Long polls waiting for messages: a receive that finds nothing parks here until a send (or a
//! visibility change to zero) on its queue wakes it, its wait ends, or the server shuts down. A parked
//! receive costs no CPU. Sends through other processes sharing the store wake it through the
//! store's change notices (`Waiters::hear`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sluice_store::{ChangeNotice, QueueKey};
use tokio::sync::{watch, Notify};

pub struct Waiters {
    /// One `Notify` per queue that has had a waiter; a std mutex because it is held only to look up or
    /// insert an entry, never across an await.
    by_queue: Mutex<HashMap<QueueKey, Arc<Notify>>>,
    /// Flips to true once, when the server starts shutting down; every parked receive returns then.
    shutdown: watch::Sender<bool>,
}

impl Default for Waiters {
    fn default() -> Self {
        Waiters {
            by_queue: Mutex::default(),
            shutdown: watch::channel(false).0,
        }
    }
}

impl Waiters {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<QueueKey, Arc<Notify>>> {
        self.by_queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn get(&self, key: &QueueKey) -> Arc<Notify> {
        let mut map = self.map();
        if let Some(notify) = map.get(key) {
            return notify.clone();
        }
        map.entry(key.clone()).or_default().clone()
    }

    /// Wakes every receive parked on the queue; each looks again.
    pub fn wake(&self, key: &QueueKey) {
        if let Some(notify) = self.map().get(key) {
            notify.notify_waiters();
        }
    }

    /// Wakes every receive parked on any queue.
    pub fn wake_all(&self) {
        for notify in self.map().values() {
            notify.notify_waiters();
        }
    }

    /// Acts on a change another process made: wakes the receives it may concern. Never blocks: it
    /// runs on the store's task.
    pub fn hear(&self, notice: ChangeNotice) {
        match notice {
            ChangeNotice::MessagesAvailable(key) => self.wake(&key),
            ChangeNotice::Everything => self.wake_all(),
            // Security caches follow the store's security generation; no receive waits on it.
            ChangeNotice::SecurityChanged => {}
        }
    }

    /// Wakes the queue's waiters and forgets the queue, when it is deleted.
    pub fn forget(&self, key: &QueueKey) {
        if let Some(notify) = self.map().remove(key) {
            notify.notify_waiters();
        }
    }

    pub fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    pub fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Resolves once shutdown has begun.
    pub async fn shutting_down(&self) {
        let mut flag = self.shutdown.subscribe();
        let _ = flag.wait_for(|down| *down).await;
    }
}
