//! DeleteMessage(Batch) and ChangeMessageVisibility(Batch): one statement per call on a standard
//! queue, which locks only the messages it changes; a FIFO queue's calls hold its row lock, as every
//! change to its groups does.

use std::collections::{HashMap, HashSet};

use tokio_postgres::Row;

use super::encoding::to_i64;
use super::sql::{backend, find_queue, query, refill_heads, tally_shard, Counters, Removed};
use super::PostgresStore;
use crate::{DeleteOutcome, Deletion, QueueKey, StoreError, VisibilityChange, VisibilityOutcome};

pub(super) async fn delete_messages(
    store: &PostgresStore,
    key: &QueueKey,
    deletions: &[Deletion],
) -> Result<Vec<DeleteOutcome>, StoreError> {
    let mut client = store.client().await?;
    let queue = find_queue(&client, key).await?;
    let seqs: Vec<i64> = deletions.iter().map(|d| to_i64(d.seq)).collect();
    let counts: Vec<Option<i64>> = deletions
        .iter()
        .map(|d| d.receive_count.map(i64::from))
        .collect();
    let nows: Vec<i64> = deletions.iter().map(|d| d.now).collect();
    let shard = tally_shard();
    let sql = include_str!("queries/delete.sql");
    if !queue.fifo {
        let rows = query(&client, sql, &[&queue.id, &seqs, &counts, &nows, &shard]).await?;
        return Ok(delete_outcomes(deletions, &rows));
    }
    let tx = client.transaction().await.map_err(backend)?;
    Counters::lock(&tx, queue.id).await?;
    let rows = query(&tx, sql, &[&queue.id, &seqs, &counts, &nows, &shard]).await?;
    let removed: Vec<Removed> = rows
        .iter()
        .filter(|row| row.get::<_, bool>(5))
        .map(|row| Removed {
            receive_count: row.get(1),
            group: row.get(3),
            head: row.get(4),
        })
        .collect();
    refill_heads(&tx, queue.id, &removed).await?;
    tx.commit().await.map_err(backend)?;
    // A deleted head lets its group's next message be received, perhaps by a poll on another node.
    if !removed.is_empty() {
        store.notices.messages_available(key);
    }
    Ok(delete_outcomes(deletions, &rows))
}

/// Each deletion's outcome, as if they were applied one after another: `rows` holds the messages
/// asked for as they were (receive_count, visible_at) and whether the statement removed them.
fn delete_outcomes(deletions: &[Deletion], rows: &[Row]) -> Vec<DeleteOutcome> {
    let found: HashMap<i64, (i32, i64, bool)> = rows
        .iter()
        .map(|row| (row.get(0), (row.get(1), row.get(2), row.get(5))))
        .collect();
    let mut deleted: HashSet<i64> = HashSet::new();
    deletions
        .iter()
        .map(|deletion| {
            let seq = to_i64(deletion.seq);
            let Some(&(count, visible_at, removed)) =
                found.get(&seq).filter(|_| !deleted.contains(&seq))
            else {
                return DeleteOutcome::Gone;
            };
            let allowed = deletion.receive_count.is_none_or(|asked| {
                i64::from(count) == i64::from(asked) && count > 0 && visible_at > deletion.now
            });
            if !allowed {
                return DeleteOutcome::Expired;
            }
            deleted.insert(seq);
            // Allowed but not removed by this call: another call removed it first.
            match removed {
                true => DeleteOutcome::Deleted,
                false => DeleteOutcome::Gone,
            }
        })
        .collect()
}

pub(super) async fn change_visibility(
    store: &PostgresStore,
    key: &QueueKey,
    changes: &[VisibilityChange],
) -> Result<Vec<VisibilityOutcome>, StoreError> {
    let mut client = store.client().await?;
    let queue = find_queue(&client, key).await?;
    let mut seqs = HashSet::new();
    let distinct = changes.iter().all(|c| seqs.insert(c.seq));
    if !queue.fifo && distinct {
        let stamps = vec![0; changes.len()];
        let rows = change(&client, queue.id, false, changes, &stamps).await?;
        let outcomes = visibility_outcomes(changes, &rows, false);
        announce_released(store, key, changes, &outcomes);
        return Ok(outcomes);
    }
    let tx = client.transaction().await.map_err(backend)?;
    let mut counters = match queue.fifo {
        true => Some(Counters::lock(&tx, queue.id).await?),
        false => None,
    };
    // A message named twice in one call sees the first change before the second: one statement each.
    let steps: Vec<&[VisibilityChange]> = match distinct {
        true => vec![changes],
        false => changes.chunks(1).collect(),
    };
    let mut outcomes = Vec::with_capacity(changes.len());
    for step in steps {
        let stamps: Vec<i64> = match counters.as_mut() {
            Some(counters) => step.iter().map(|_| counters.take_stamp()).collect(),
            None => vec![0; step.len()],
        };
        let rows = change(&tx, queue.id, queue.fifo, step, &stamps).await?;
        outcomes.extend(visibility_outcomes(step, &rows, queue.fifo));
    }
    if let Some(counters) = &counters {
        counters.save(&tx).await?;
    }
    tx.commit().await.map_err(backend)?;
    announce_released(store, key, changes, &outcomes);
    Ok(outcomes)
}

/// Messages made visible at once can be received by a poll waiting on another node.
fn announce_released(
    store: &PostgresStore,
    key: &QueueKey,
    changes: &[VisibilityChange],
    outcomes: &[VisibilityOutcome],
) {
    if changes.iter().zip(outcomes).any(|(change, outcome)| {
        matches!(outcome, VisibilityOutcome::Changed) && change.deadline <= change.now
    }) {
        store.notices.messages_available(key);
    }
}

async fn change<C: deadpool_postgres::GenericClient>(
    client: &C,
    queue: i64,
    fifo: bool,
    changes: &[VisibilityChange],
    stamps: &[i64],
) -> Result<Vec<Row>, StoreError> {
    let seqs: Vec<i64> = changes.iter().map(|c| to_i64(c.seq)).collect();
    let counts: Vec<i64> = changes.iter().map(|c| i64::from(c.receive_count)).collect();
    let nows: Vec<i64> = changes.iter().map(|c| c.now).collect();
    let deadlines: Vec<i64> = changes.iter().map(|c| c.deadline).collect();
    let spans: Vec<i64> = changes.iter().map(|c| c.max_span_from_receive).collect();
    query(
        client,
        include_str!("queries/change_visibility.sql"),
        &[
            &queue, &fifo, &seqs, &counts, &nows, &deadlines, &spans, &stamps,
        ],
    )
    .await
}

/// Each change's outcome: `rows` holds the messages asked for as they were (receive_count,
/// visible_at, received_at) and whether the statement changed them; the rules are the statement's.
fn visibility_outcomes(
    changes: &[VisibilityChange],
    rows: &[Row],
    fifo: bool,
) -> Vec<VisibilityOutcome> {
    let found: HashMap<i64, (i32, i64, Option<i64>, bool)> = rows
        .iter()
        .map(|row| (row.get(0), (row.get(1), row.get(2), row.get(3), row.get(4))))
        .collect();
    changes
        .iter()
        .map(|change| {
            let Some(&(count, visible_at, received_at, changed)) = found.get(&to_i64(change.seq))
            else {
                return VisibilityOutcome::Gone;
            };
            if changed {
                return VisibilityOutcome::Changed;
            }
            let count = i64::from(count);
            let asked = i64::from(change.receive_count);
            let in_flight = count > 0 && visible_at > change.now;
            let older_in_flight = !fifo && asked < count && in_flight;
            let beyond = change.deadline
                > received_at
                    .unwrap_or(0)
                    .saturating_add(change.max_span_from_receive);
            if count > 0 && (count == asked || older_in_flight) && beyond {
                VisibilityOutcome::BeyondLimit
            } else {
                // Not the latest receive; or it was when read, and another call received it since.
                VisibilityOutcome::Stale
            }
        })
        .collect()
}
