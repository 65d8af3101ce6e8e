//! The message operations off the hot path: counts, purge, retiming a FIFO queue's waiting
//! messages, peeking, and moving one message between queues (message-move tasks).

use std::sync::Arc;

use super::append::{append, Entry};
use super::encoding::{content_from, to_i64, to_u64};
use super::sql::{
    after_removal, backend, execute, expire, find_queue, query, Counters, Removed, Tallies,
};
use super::PostgresStore;
use crate::message::OLDEST_AGE_RECEIVE_LIMIT;
use crate::{MessageContent, MessageCounts, QueueGauges, QueueKey, StoreError};

/// The queue's counts, and with `gauges` also its oldest message and groups in flight, after
/// expiring what retention removes.
pub(super) async fn queue_gauges(
    store: &PostgresStore,
    key: &QueueKey,
    now: i64,
    expire_before: i64,
    gauges: bool,
) -> Result<QueueGauges, StoreError> {
    let mut client = store.client().await?;
    let tx = client.transaction().await.map_err(backend)?;
    let queue = find_queue(&tx, key).await?;
    if queue.fifo {
        Counters::lock(&tx, queue.id).await?;
    }
    let mut tallies = Tallies::default();
    expire(&tx, queue, expire_before, i64::MAX, &mut tallies).await?;
    tallies.write(&tx).await?;
    let limit = i32::try_from(OLDEST_AGE_RECEIVE_LIMIT).unwrap_or(i32::MAX);
    let rows = if gauges {
        query(
            &tx,
            include_str!("queries/gauges.sql"),
            &[&queue.id, &now, &expire_before, &queue.fifo, &limit],
        )
        .await?
    } else {
        query(
            &tx,
            include_str!("queries/counts.sql"),
            &[&queue.id, &now, &expire_before],
        )
        .await?
    };
    tx.commit().await.map_err(backend)?;
    let row = rows.first();
    let count = |i: usize| row.map_or(0, |row| to_u64(row.get(i)));
    Ok(QueueGauges {
        counts: MessageCounts {
            visible: count(0),
            in_flight: count(1),
            delayed: count(2),
        },
        oldest_arrived_at: row.filter(|_| gauges).and_then(|row| row.get(3)),
        groups_in_flight: if gauges { count(4) } else { 0 },
    })
}

pub(super) async fn purge_messages(
    store: &PostgresStore,
    key: &QueueKey,
) -> Result<u64, StoreError> {
    let mut client = store.client().await?;
    let tx = client.transaction().await.map_err(backend)?;
    let queue = find_queue(&tx, key).await?;
    if queue.fifo {
        Counters::lock(&tx, queue.id).await?;
    }
    let purged = execute(
        &tx,
        "DELETE FROM messages WHERE queue_id = $1",
        &[&queue.id],
    )
    .await?;
    execute(
        &tx,
        "DELETE FROM deduplication WHERE queue_id = $1",
        &[&queue.id],
    )
    .await?;
    execute(
        &tx,
        "DELETE FROM received_tallies WHERE queue_id = $1",
        &[&queue.id],
    )
    .await?;
    tx.commit().await.map_err(backend)?;
    Ok(purged)
}

pub(super) async fn retime_unreceived(
    store: &PostgresStore,
    key: &QueueKey,
    delay: i64,
    now: i64,
) -> Result<(), StoreError> {
    let mut client = store.client().await?;
    let tx = client.transaction().await.map_err(backend)?;
    let queue = find_queue(&tx, key).await?;
    Counters::lock(&tx, queue.id).await?;
    let rows = query(
        &tx,
        "SELECT seq, visible_at, content FROM messages WHERE queue_id = $1 AND receive_count = 0",
        &[&queue.id],
    )
    .await?;
    let mut seqs = Vec::new();
    let mut times = Vec::new();
    for row in &rows {
        let visible_at = content_from(row.get(2))?.sent_at.saturating_add(delay);
        if visible_at != row.get::<_, i64>(1) {
            seqs.push(row.get::<_, i64>(0));
            times.push(visible_at);
        }
    }
    if !seqs.is_empty() {
        execute(
            &tx,
            include_str!("queries/retime.sql"),
            &[&queue.id, &now, &seqs, &times],
        )
        .await?;
    }
    tx.commit().await.map_err(backend)?;
    store.ready_floors.forget(queue.id);
    store.notices.messages_available(key);
    Ok(())
}

pub(super) async fn peek_visible(
    store: &PostgresStore,
    key: &QueueKey,
    max: usize,
    now: i64,
) -> Result<Vec<(u64, Arc<MessageContent>)>, StoreError> {
    let client = store.client().await?;
    let queue = find_queue(&client, key).await?;
    let rows = query(
        &client,
        "SELECT seq, content FROM messages WHERE queue_id = $1 AND visible_at <= $2
         ORDER BY seq LIMIT $3",
        &[&queue.id, &now, &to_i64(max as u64)],
    )
    .await?;
    rows.iter()
        .map(|row| Ok((to_u64(row.get(0)), content_from(row.get(1))?)))
        .collect()
}

pub(super) async fn move_message(
    store: &PostgresStore,
    from: &QueueKey,
    seq: u64,
    to: &QueueKey,
    content: MessageContent,
    now: i64,
) -> Result<bool, StoreError> {
    if from == to {
        return Ok(false);
    }
    let mut client = store.client().await?;
    let tx = client.transaction().await.map_err(backend)?;
    let source = find_queue(&tx, from).await?;
    let target = find_queue(&tx, to).await?;
    // FIFO rows are locked in key order, so two moves between the same queues never deadlock.
    let lock = |queue: super::sql::Queue| {
        let tx = &tx;
        async move {
            match queue.fifo {
                true => Counters::lock(tx, queue.id).await.map(Some),
                false => Ok(None),
            }
        }
    };
    let (source_counters, mut target_counters) = if from < to {
        let source_counters = lock(source).await?;
        (source_counters, lock(target).await?)
    } else {
        let target_counters = lock(target).await?;
        (lock(source).await?, target_counters)
    };
    let rows = query(
        &tx,
        "DELETE FROM messages WHERE queue_id = $1 AND seq = $2 AND visible_at <= $3
         RETURNING receive_count, group_id, head",
        &[&source.id, &to_i64(seq), &now],
    )
    .await?;
    if rows.is_empty() {
        return Ok(false);
    }
    let removed: Vec<Removed> = rows.iter().map(|row| Removed::from_row(row, 0)).collect();
    let mut tallies = Tallies::default();
    after_removal(&tx, source, &removed, &mut tallies).await?;
    let entry = Entry::new(Arc::new(content), now);
    append(&tx, target.id, target_counters.as_mut(), &[entry], now).await?;
    for counters in [&source_counters, &target_counters].into_iter().flatten() {
        counters.save(&tx).await?;
    }
    tallies.write(&tx).await?;
    tx.commit().await.map_err(backend)?;
    store.notices.messages_available(to);
    Ok(true)
}
