//! How this backend talks to PostgreSQL: every statement prepared once per connection (the pool's
//! statement cache), failures mapped to the store's error, and the pieces of state that several
//! message operations share: a queue's identity, a FIFO queue's locked counters, the received
//! tallies and the upkeep after messages are removed.

use std::collections::BTreeMap;

use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Row, Statement};

use crate::{QueueKey, StoreError};

pub(super) type Params<'a> = [&'a (dyn ToSql + Sync)];

pub(super) fn backend(error: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(error.to_string())
}

/// The statement for `sql`, prepared on this connection the first time it is asked for.
pub(super) async fn prepare<C: GenericClient>(
    client: &C,
    sql: &str,
) -> Result<Statement, StoreError> {
    client.prepare_cached(sql).await.map_err(backend)
}

/// Runs a prepared statement. Several of these joined with `tokio::try_join!(biased; ...)` go out
/// in that order without waiting for each other's answers (each sends its request on its first
/// poll), and PostgreSQL runs them in that order.
pub(super) async fn run<C: GenericClient>(
    client: &C,
    statement: &Statement,
    params: &Params<'_>,
) -> Result<Vec<Row>, StoreError> {
    client.query(statement, params).await.map_err(backend)
}

pub(super) async fn query<C: GenericClient>(
    client: &C,
    sql: &str,
    params: &Params<'_>,
) -> Result<Vec<Row>, StoreError> {
    let statement = prepare(client, sql).await?;
    run(client, &statement, params).await
}

pub(super) async fn query_opt<C: GenericClient>(
    client: &C,
    sql: &str,
    params: &Params<'_>,
) -> Result<Option<Row>, StoreError> {
    let statement = prepare(client, sql).await?;
    client.query_opt(&statement, params).await.map_err(backend)
}

pub(super) async fn execute<C: GenericClient>(
    client: &C,
    sql: &str,
    params: &Params<'_>,
) -> Result<u64, StoreError> {
    let statement = prepare(client, sql).await?;
    client.execute(&statement, params).await.map_err(backend)
}

/// A queue as message operations address it.
#[derive(Clone, Copy, Debug)]
pub(super) struct Queue {
    pub id: i64,
    pub fifo: bool,
}

pub(super) async fn find_queue<C: GenericClient>(
    client: &C,
    key: &QueueKey,
) -> Result<Queue, StoreError> {
    let row = query_opt(
        client,
        "SELECT id, fifo FROM queues WHERE account_id = $1 AND region = $2 AND name = $3",
        &[&key.account_id, &key.region, &key.name],
    )
    .await?
    .ok_or(StoreError::QueueNotFound)?;
    Ok(Queue {
        id: row.get(0),
        fifo: row.get(1),
    })
}

/// A queue's row counters, read with the row locked until the transaction ends: FIFO queues number
/// their messages and stamp their visibility instants from them, and every change to a FIFO queue's
/// messages holds this lock, which is what keeps groups in order across nodes.
pub(super) struct Counters {
    queue: i64,
    next_seq: i64,
    stamps: i64,
}

impl Counters {
    /// Locks the queue's row. `FOR NO KEY UPDATE` leaves the key-share locks that inserting a
    /// message takes (its foreign key) free, so it waits only for other holders of this lock.
    pub async fn lock<C: GenericClient>(client: &C, queue: i64) -> Result<Counters, StoreError> {
        let row = query_opt(
            client,
            "SELECT next_seq, stamps FROM queues WHERE id = $1 FOR NO KEY UPDATE",
            &[&queue],
        )
        .await?
        .ok_or(StoreError::QueueNotFound)?;
        Ok(Counters {
            queue,
            next_seq: row.get(0),
            stamps: row.get(1),
        })
    }

    pub fn take_seq(&mut self) -> i64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    pub fn take_stamp(&mut self) -> i64 {
        self.stamps += 1;
        self.stamps
    }

    pub async fn save<C: GenericClient>(&self, client: &C) -> Result<(), StoreError> {
        execute(
            client,
            "UPDATE queues SET next_seq = $2, stamps = $3 WHERE id = $1",
            &[&self.queue, &self.next_seq, &self.stamps],
        )
        .await?;
        Ok(())
    }
}

/// Rows per queue that the received tally is split over.
pub(super) const TALLY_SHARDS: i16 = 16;

/// The tally row a call adds to: one picked at random, so that concurrent calls seldom share one.
pub(super) fn tally_shard() -> i16 {
    i16::from(rand::random::<u8>()) % TALLY_SHARDS
}

/// The sum of a queue's received tallies.
pub(super) const RECEIVED: &str =
    "SELECT coalesce(sum(received), 0)::int8 FROM received_tallies WHERE queue_id = $1";

/// How many messages of a queue have been received and not removed, by the tallies committed.
pub(super) async fn received<C: GenericClient>(client: &C, queue: i64) -> Result<i64, StoreError> {
    let rows = query(client, RECEIVED, &[&queue]).await?;
    Ok(rows.first().map_or(0, |row| row.get(0)))
}

/// Changes to received tallies that a call makes, written by its last statement, after every
/// message row it locks: a transaction holding a tally row then never waits for another lock.
#[derive(Default)]
pub(super) struct Tallies(BTreeMap<i64, i64>);

impl Tallies {
    pub fn add(&mut self, queue: i64, change: i64) {
        *self.0.entry(queue).or_default() += change;
    }

    pub async fn write<C: GenericClient>(&self, client: &C) -> Result<(), StoreError> {
        let shard = tally_shard();
        let changes: Vec<(i64, i64)> = self
            .0
            .iter()
            .filter(|(_, change)| **change != 0)
            .map(|(queue, change)| (*queue, *change))
            .collect();
        if changes.is_empty() {
            return Ok(());
        }
        let queues: Vec<i64> = changes.iter().map(|(queue, _)| *queue).collect();
        let shards = vec![shard; changes.len()];
        let amounts: Vec<i64> = changes.iter().map(|(_, change)| *change).collect();
        execute(
            client,
            include_str!("queries/tally.sql"),
            &[&queues, &shards, &amounts],
        )
        .await?;
        Ok(())
    }
}

/// What a removal returns of each message it removed, for the upkeep after it.
pub(super) struct Removed {
    pub receive_count: i32,
    pub group: Option<String>,
    pub head: bool,
}

impl Removed {
    /// From a row whose columns `from..from + 3` are receive_count, group_id and head.
    pub fn from_row(row: &Row, from: usize) -> Removed {
        Removed {
            receive_count: row.get(from),
            group: row.get(from + 1),
            head: row.get(from + 2),
        }
    }
}

/// Keeps a queue's tally and (FIFO) group heads right after messages were removed from it: the
/// removed received messages leave the tally, and each group whose head went gets its oldest
/// remaining message as head.
pub(super) async fn after_removal<C: GenericClient>(
    client: &C,
    queue: Queue,
    removed: &[Removed],
    tallies: &mut Tallies,
) -> Result<(), StoreError> {
    let received = removed.iter().filter(|r| r.receive_count > 0).count();
    tallies.add(queue.id, -i64::try_from(received).unwrap_or(i64::MAX));
    if queue.fifo {
        refill_heads(client, queue.id, removed).await?;
    }
    Ok(())
}

/// Gives each FIFO group whose head was removed its oldest remaining message as head.
pub(super) async fn refill_heads<C: GenericClient>(
    client: &C,
    queue: i64,
    removed: &[Removed],
) -> Result<(), StoreError> {
    let mut groups: Vec<&str> = removed
        .iter()
        .filter(|r| r.head)
        .filter_map(|r| r.group.as_deref())
        .collect();
    groups.sort_unstable();
    groups.dedup();
    if !groups.is_empty() {
        execute(
            client,
            include_str!("queries/refill_heads.sql"),
            &[&queue, &groups],
        )
        .await?;
    }
    Ok(())
}

/// Removes a queue's messages enqueued before `expire_before`, at most `limit` of them.
pub(super) async fn expire<C: GenericClient>(
    client: &C,
    queue: Queue,
    expire_before: i64,
    limit: i64,
    tallies: &mut Tallies,
) -> Result<(), StoreError> {
    let rows = query(
        client,
        include_str!("queries/expire.sql"),
        &[&queue.id, &expire_before, &limit],
    )
    .await?;
    let removed: Vec<Removed> = rows.iter().map(|row| Removed::from_row(row, 0)).collect();
    after_removal(client, queue, &removed, tallies).await
}
