//! What the nodes sharing the database agree on besides queues and messages: which node runs each
//! message-move task (a lease row beside the task, taken and renewed by compare-and-set), and the
//! answers of FIFO receives kept for retries with the same `ReceiveRequestAttemptId`, which any node
//! can replay.
//!
//! Times are the callers' epoch milliseconds: a lease runs out on the clock of the node that reads it.
//! Clocks that disagree can only make a node take over a task early or late; every write of a runner
//! is conditional on its lease, so the one taken over stops at its next step.

use super::encoding::{task_bytes, task_from, to_i64, to_u64};
use super::sql::backend;
use super::PostgresStore;
use crate::coordination::is_active;
use crate::{MoveTaskRecord, QueueKey, ReceiveAttempt, StoreError};

/// Expired attempts one record removes at most, so that the clean-up keeps pace with new attempts
/// (one each) without ever becoming a long statement.
const EXPIRED_PER_RECORD: i64 = 64;

/// One statement: it locks the task's row (as `replace_move_task` does first), so a claim and a
/// conditional write never interleave, and `ON CONFLICT` compares against the lease as last committed.
/// The lease row of a task that has ended can be written too, which nothing reads.
pub(super) async fn claim_move_task(
    store: &PostgresStore,
    handle: &str,
    owner: &str,
    now: i64,
    lease_until: i64,
) -> Result<Option<MoveTaskRecord>, StoreError> {
    let client = store.client().await?;
    let row = client
        .query_opt(
            "WITH task AS (
               SELECT handle, record FROM move_tasks WHERE handle = $1 FOR UPDATE),
             lease AS (
               INSERT INTO move_task_leases (handle, owner, lease_until)
               SELECT handle, $2, $4 FROM task
               ON CONFLICT (handle) DO UPDATE SET owner = $2, lease_until = $4
               WHERE move_task_leases.owner = $2 OR move_task_leases.lease_until <= $3
               RETURNING handle)
             SELECT task.record FROM task JOIN lease USING (handle)",
            &[&handle, &owner, &now, &lease_until],
        )
        .await
        .map_err(backend)?;
    let Some(row) = row else {
        return Ok(None);
    };
    let task = task_from(row.get(0))?;
    Ok(is_active(task.status).then_some(task))
}

pub(super) async fn replace_move_task(
    store: &PostgresStore,
    expected: &MoveTaskRecord,
    task: MoveTaskRecord,
    owner: Option<&str>,
) -> Result<bool, StoreError> {
    let mut client = store.client().await?;
    let tx = client.transaction().await.map_err(backend)?;
    let stored = tx
        .query_opt(
            "SELECT record FROM move_tasks WHERE handle = $1 FOR UPDATE",
            &[&expected.handle],
        )
        .await
        .map_err(backend)?
        .map(|row| task_from(row.get(0)))
        .transpose()?;
    if stored.as_ref() != Some(expected) {
        return Ok(false);
    }
    // With the row locked, neither the record nor the lease (claims lock the row first) changes
    // until this transaction ends; this statement, begun after the lock was taken, reads the lease
    // as last committed.
    let written = tx
        .execute(
            "UPDATE move_tasks SET record = $2 WHERE handle = $1
               AND ($3::text IS NULL OR EXISTS (
                 SELECT 1 FROM move_task_leases WHERE handle = $1 AND owner = $3))",
            &[&expected.handle, &task_bytes(&task), &owner],
        )
        .await
        .map_err(backend)?;
    if written == 0 {
        return Ok(false);
    }
    tx.commit().await.map_err(backend)?;
    Ok(true)
}

pub(super) async fn record_receive_attempt(
    store: &PostgresStore,
    key: &QueueKey,
    id: &str,
    attempt: ReceiveAttempt,
    now: i64,
) -> Result<(), StoreError> {
    let client = store.client().await?;
    let seqs: Vec<i64> = attempt.receipts.iter().map(|(s, _)| to_i64(*s)).collect();
    let counts: Vec<i32> = attempt
        .receipts
        .iter()
        .map(|(_, c)| i32::try_from(*c).unwrap_or(i32::MAX))
        .collect();
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 8] = [
        &key.account_id,
        &key.region,
        &key.name,
        &id,
        &attempt.answer,
        &seqs,
        &counts,
        &attempt.expires_at,
    ];
    // A queue that is gone matches no row, and so keeps nothing.
    let record = client.execute(
        "INSERT INTO receive_attempts
           (queue_id, attempt_id, answer, seqs, receive_counts, expires_at, spoiled)
         SELECT id, $4, $5, $6, $7, $8, false FROM queues
         WHERE account_id = $1 AND region = $2 AND name = $3
         ON CONFLICT (queue_id, attempt_id) DO UPDATE
           SET answer = EXCLUDED.answer, seqs = EXCLUDED.seqs,
               receive_counts = EXCLUDED.receive_counts, expires_at = EXCLUDED.expires_at,
               spoiled = false",
        &params,
    );
    let clean_params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&now, &EXPIRED_PER_RECORD];
    // Expired rows of any queue, a few at a time; rows another node is removing are left to it.
    let clean = client.execute(
        "DELETE FROM receive_attempts WHERE ctid IN (
           SELECT ctid FROM receive_attempts WHERE expires_at <= $1
           LIMIT $2 FOR UPDATE SKIP LOCKED)",
        &clean_params,
    );
    // Both statements go out together on the one connection.
    tokio::try_join!(record, clean).map_err(backend)?;
    Ok(())
}

pub(super) async fn receive_attempt(
    store: &PostgresStore,
    key: &QueueKey,
    id: &str,
    now: i64,
) -> Result<Option<ReceiveAttempt>, StoreError> {
    let client = store.client().await?;
    let row = client
        .query_opt(
            "SELECT a.answer, a.seqs, a.receive_counts, a.expires_at, a.spoiled
             FROM receive_attempts a JOIN queues q ON q.id = a.queue_id
             WHERE q.account_id = $1 AND q.region = $2 AND q.name = $3
               AND a.attempt_id = $4 AND a.expires_at > $5",
            &[&key.account_id, &key.region, &key.name, &id, &now],
        )
        .await
        .map_err(backend)?;
    Ok(row.map(|row| {
        let seqs: Vec<i64> = row.get(1);
        let counts: Vec<i32> = row.get(2);
        ReceiveAttempt {
            answer: row.get(0),
            receipts: seqs
                .into_iter()
                .zip(counts)
                .map(|(seq, count)| (to_u64(seq), u32::try_from(count).unwrap_or(0)))
                .collect(),
            expires_at: row.get(3),
            spoiled: row.get(4),
        }
    }))
}

pub(super) async fn spoil_receive_attempts(
    store: &PostgresStore,
    key: &QueueKey,
    seqs: &[u64],
) -> Result<(), StoreError> {
    let client = store.client().await?;
    let seqs: Vec<i64> = seqs.iter().map(|s| to_i64(*s)).collect();
    client
        .execute(
            "UPDATE receive_attempts SET spoiled = true
             WHERE queue_id = (SELECT id FROM queues
                               WHERE account_id = $1 AND region = $2 AND name = $3)
               AND seqs && $4 AND NOT spoiled",
            &[&key.account_id, &key.region, &key.name, &seqs],
        )
        .await
        .map_err(backend)?;
    Ok(())
}
