//! The database's clock, read on each node as its own clock plus a measured offset. Visibility
//! deadlines, delays, retention and deduplication windows are decided by whichever node serves a
//! request, so nodes whose clocks disagree would disagree on when a message is due; reading the
//! database's time instead makes them agree to within half a round trip, without a query per request.

use std::sync::atomic::{AtomicI64, Ordering};

use sluice_model::{Clock, SystemClock};

use crate::StoreError;

/// A measurement whose round trip took longer than this says little about the offset; the previous
/// offset is kept instead.
const TRUSTED_ROUND_TRIP_MILLIS: i64 = 50;

#[derive(Debug, Default)]
pub struct DatabaseClock {
    /// The database's time minus this node's, in milliseconds.
    offset_millis: AtomicI64,
}

impl DatabaseClock {
    pub fn offset_millis(&self) -> i64 {
        self.offset_millis.load(Ordering::Relaxed)
    }

    /// Asks the database for its time and keeps the offset, taking the reading to have been made
    /// halfway through the round trip. Returns whether the reading was trusted and kept.
    pub async fn align(&self, client: &tokio_postgres::Client) -> Result<bool, StoreError> {
        let sent = SystemClock.now_millis();
        let row = client
            .query_one(
                "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint",
                &[],
            )
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let answered = SystemClock.now_millis();
        let database: i64 = row.get(0);
        let trusted = answered - sent <= TRUSTED_ROUND_TRIP_MILLIS;
        if trusted {
            let midpoint = sent + (answered - sent) / 2;
            self.offset_millis
                .store(database - midpoint, Ordering::Relaxed);
        }
        Ok(trusted)
    }
}

impl Clock for DatabaseClock {
    fn now_millis(&self) -> i64 {
        SystemClock.now_millis() + self.offset_millis()
    }
}
