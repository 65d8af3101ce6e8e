//! Appending messages: SendMessage(Batch), and the moves that put a message at the end of another
//! queue. A standard queue numbers its messages from a database sequence and takes no lock; a FIFO
//! queue numbers them from its locked row, and marks the first message of an empty group as the
//! group's head.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use deadpool_postgres::GenericClient;

use super::encoding::{content_bytes, to_u64};
use super::sql::{execute, find_queue, query, Counters, Queue};
use super::PostgresStore;
use crate::{MessageContent, NewMessage, QueueKey, SendOutcome, StoreError};

/// A message as an append writes it: a new one, or one moved with its delivery history.
pub(super) struct Entry {
    pub visible_at: i64,
    pub receive_count: i32,
    pub first_receive_at: Option<i64>,
    pub received_at: Option<i64>,
    pub content: Arc<MessageContent>,
}

impl Entry {
    pub fn new(content: Arc<MessageContent>, visible_at: i64) -> Entry {
        Entry {
            visible_at,
            receive_count: 0,
            first_receive_at: None,
            received_at: None,
            content,
        }
    }
}

/// Appends entries to a queue in order and returns their sequence numbers. A FIFO queue comes with
/// its counters (its row locked); a standard queue without.
pub(super) async fn append<C: GenericClient>(
    client: &C,
    queue: i64,
    counters: Option<&mut Counters>,
    entries: &[Entry],
    now: i64,
) -> Result<Vec<i64>, StoreError> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    match counters {
        Some(counters) => append_fifo(client, queue, counters, entries).await,
        None => append_standard(client, queue, entries, now).await,
    }
}

async fn append_standard<C: GenericClient>(
    client: &C,
    queue: i64,
    entries: &[Entry],
    now: i64,
) -> Result<Vec<i64>, StoreError> {
    let visible_at: Vec<i64> = entries.iter().map(|e| e.visible_at).collect();
    let enqueued_at: Vec<i64> = entries.iter().map(|e| e.content.enqueued_at).collect();
    let receive_count: Vec<i32> = entries.iter().map(|e| e.receive_count).collect();
    let first_receive_at: Vec<Option<i64>> = entries.iter().map(|e| e.first_receive_at).collect();
    let received_at: Vec<Option<i64>> = entries.iter().map(|e| e.received_at).collect();
    let content: Vec<Vec<u8>> = entries.iter().map(|e| content_bytes(&e.content)).collect();
    let (moved_at, moved_receive_count) = dead_letter_moves(entries);
    let rows = query(
        client,
        include_str!("queries/append_standard.sql"),
        &[
            &queue,
            &now,
            &visible_at,
            &enqueued_at,
            &receive_count,
            &first_receive_at,
            &received_at,
            &content,
            &moved_at,
            &moved_receive_count,
        ],
    )
    .await?;
    let mut seqs = vec![0; entries.len()];
    for row in &rows {
        let ord: i64 = row.get(0);
        let slot = usize::try_from(ord - 1)
            .ok()
            .and_then(|i| seqs.get_mut(i))
            .ok_or_else(|| StoreError::Backend("an append numbered a message twice".into()))?;
        *slot = row.get(1);
    }
    Ok(seqs)
}

/// Each entry's move to its queue as a dead letter, as the columns keep it: when, and the receive count
/// then (both NULL for a message that came otherwise).
fn dead_letter_moves(entries: &[Entry]) -> (Vec<Option<i64>>, Vec<Option<i32>>) {
    entries
        .iter()
        .map(|e| match e.content.dead_letter_move {
            Some(moved) => (
                Some(moved.at),
                Some(i32::try_from(moved.receive_count).unwrap_or(i32::MAX)),
            ),
            None => (None, None),
        })
        .unzip()
}

/// The group a FIFO message is kept under (a FIFO message always names one).
pub(super) fn fifo_group(content: &MessageContent) -> &str {
    content.group_id.as_deref().unwrap_or_default()
}

async fn append_fifo<C: GenericClient>(
    client: &C,
    queue: i64,
    counters: &mut Counters,
    entries: &[Entry],
) -> Result<Vec<i64>, StoreError> {
    let mut groups: Vec<&str> = entries.iter().map(|e| fifo_group(&e.content)).collect();
    groups.sort_unstable();
    groups.dedup();
    let occupied: HashSet<String> = query(
        client,
        include_str!("queries/occupied_groups.sql"),
        &[&queue, &groups],
    )
    .await?
    .iter()
    .map(|row| row.get(0))
    .collect();
    let mut headed: HashSet<&str> = HashSet::new();
    let mut seq = Vec::with_capacity(entries.len());
    let mut stamp = Vec::with_capacity(entries.len());
    let mut group = Vec::with_capacity(entries.len());
    let mut head = Vec::with_capacity(entries.len());
    for entry in entries {
        let g = fifo_group(&entry.content);
        seq.push(counters.take_seq());
        stamp.push(counters.take_stamp());
        group.push(g);
        head.push(!occupied.contains(g) && headed.insert(g));
    }
    let visible_at: Vec<i64> = entries.iter().map(|e| e.visible_at).collect();
    let receive_count: Vec<i32> = entries.iter().map(|e| e.receive_count).collect();
    let first_receive_at: Vec<Option<i64>> = entries.iter().map(|e| e.first_receive_at).collect();
    let received_at: Vec<Option<i64>> = entries.iter().map(|e| e.received_at).collect();
    let enqueued_at: Vec<i64> = entries.iter().map(|e| e.content.enqueued_at).collect();
    let content: Vec<Vec<u8>> = entries.iter().map(|e| content_bytes(&e.content)).collect();
    let (moved_at, moved_receive_count) = dead_letter_moves(entries);
    execute(
        client,
        include_str!("queries/append_fifo.sql"),
        &[
            &queue,
            &seq,
            &visible_at,
            &stamp,
            &receive_count,
            &first_receive_at,
            &received_at,
            &enqueued_at,
            &group,
            &head,
            &content,
            &moved_at,
            &moved_receive_count,
        ],
    )
    .await?;
    Ok(seq)
}

/// What a send decided for one message before the numbers are known.
enum Plan {
    /// Appended as the entry at this index.
    Append(usize),
    /// A duplicate of a message already in the queue.
    Stored { seq: i64, message_id: String },
    /// A duplicate of the entry at this index, appended by the same send.
    Sibling(usize),
}

pub(super) async fn send_messages(
    store: &PostgresStore,
    key: &QueueKey,
    messages: Vec<NewMessage>,
    now: i64,
) -> Result<Vec<SendOutcome>, StoreError> {
    let mut client = store.client().await?;
    let queue = find_queue(&client, key).await?;
    if !queue.fifo && messages.iter().all(|m| m.deduplication.is_none()) {
        // One statement, atomic on its own: no transaction, no lock.
        let entries: Vec<Entry> = messages
            .into_iter()
            .map(|m| Entry::new(m.content, m.visible_at))
            .collect();
        let seqs = append(&client, queue.id, None, &entries, now).await?;
        store.notices.messages_available(key);
        return Ok(seqs
            .into_iter()
            .map(|seq| SendOutcome::Appended(to_u64(seq)))
            .collect());
    }
    let tx = client.transaction().await.map_err(super::sql::backend)?;
    // Deduplication is checked and remembered under the queue's row lock, so two nodes never both
    // accept the same id.
    let mut counters = Counters::lock(&tx, queue.id).await?;
    let outcomes = send_deduplicated(&tx, queue, &mut counters, messages, now).await?;
    counters.save(&tx).await?;
    tx.commit().await.map_err(super::sql::backend)?;
    if outcomes
        .iter()
        .any(|o| matches!(o, SendOutcome::Appended(_)))
    {
        store.notices.messages_available(key);
    }
    Ok(outcomes)
}

async fn send_deduplicated<C: GenericClient>(
    client: &C,
    queue: Queue,
    counters: &mut Counters,
    messages: Vec<NewMessage>,
    now: i64,
) -> Result<Vec<SendOutcome>, StoreError> {
    let keyed: Vec<(&str, &str)> = messages
        .iter()
        .filter_map(|m| m.deduplication.as_ref())
        .map(|d| (d.scope.as_str(), d.id.as_str()))
        .collect();
    let scopes: Vec<&str> = keyed.iter().map(|(scope, _)| *scope).collect();
    let ids: Vec<&str> = keyed.iter().map(|(_, id)| *id).collect();
    let mut seen: HashMap<(String, String), Plan> = HashMap::new();
    if !keyed.is_empty() {
        let rows = query(
            client,
            include_str!("queries/deduplicated.sql"),
            &[&queue.id, &scopes, &ids, &now],
        )
        .await?;
        for row in rows {
            seen.insert(
                (row.get(0), row.get(1)),
                Plan::Stored {
                    seq: row.get(2),
                    message_id: row.get(3),
                },
            );
        }
    }
    let mut plans = Vec::with_capacity(messages.len());
    let mut entries = Vec::new();
    let mut remembered = Vec::new();
    for message in &messages {
        let key = message
            .deduplication
            .as_ref()
            .map(|d| (d.scope.clone(), d.id.clone()));
        let earlier = key.as_ref().and_then(|k| seen.get(k));
        let plan = match earlier {
            Some(Plan::Stored { seq, message_id }) => Plan::Stored {
                seq: *seq,
                message_id: message_id.clone(),
            },
            Some(Plan::Append(index) | Plan::Sibling(index)) => Plan::Sibling(*index),
            None => {
                let index = entries.len();
                entries.push(Entry::new(message.content.clone(), message.visible_at));
                if let (Some(key), Some(dedup)) = (key, &message.deduplication) {
                    seen.insert(key, Plan::Append(index));
                    remembered.push((index, dedup, &message.content.message_id));
                }
                Plan::Append(index)
            }
        };
        plans.push(plan);
    }
    let seqs = append(
        client,
        queue.id,
        queue.fifo.then_some(counters),
        &entries,
        now,
    )
    .await?;
    if !remembered.is_empty() {
        let scopes: Vec<&str> = remembered
            .iter()
            .map(|(_, d, _)| d.scope.as_str())
            .collect();
        let ids: Vec<&str> = remembered.iter().map(|(_, d, _)| d.id.as_str()).collect();
        let seq: Vec<i64> = remembered.iter().map(|(i, _, _)| seqs[*i]).collect();
        let message_ids: Vec<&str> = remembered.iter().map(|(_, _, id)| id.as_str()).collect();
        let expires_at: Vec<i64> = remembered
            .iter()
            .map(|(_, d, _)| now.saturating_add(d.window_millis))
            .collect();
        execute(
            client,
            include_str!("queries/remember_deduplication.sql"),
            &[&queue.id, &scopes, &ids, &seq, &message_ids, &expires_at],
        )
        .await?;
    }
    Ok(plans
        .into_iter()
        .map(|plan| match plan {
            Plan::Append(index) => SendOutcome::Appended(to_u64(seqs[index])),
            Plan::Stored { seq, message_id } => SendOutcome::Duplicate {
                seq: to_u64(seq),
                message_id,
            },
            Plan::Sibling(index) => SendOutcome::Duplicate {
                seq: to_u64(seqs[index]),
                message_id: entries[index].content.message_id.clone(),
            },
        })
        .collect())
}
