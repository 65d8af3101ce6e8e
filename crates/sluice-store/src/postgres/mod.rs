//! The `postgres` backend: every queue, message and security record in one PostgreSQL database that
//! several Sluice processes share. Each store call is one transaction; a message operation first
//! locks its queue's row, so that two nodes never both hand out a message or a FIFO group, and
//! sequence numbers, deduplication and redrive are decided inside that transaction.

use std::sync::Arc;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::{NoTls, Transaction};

mod shared;

use crate::durable::codec::{self, Record, StateFields, FRAME_HEADER};
use crate::{
    CreateOutcome, DeleteOutcome, Deletion, MessageContent, MessageCounts, MoveTaskRecord,
    NewMessage, QueueKey, QueueRecord, ReceiveOutcome, ReceiveRequest, ReceivedMessage, Redrive,
    SecurityKey, SecurityRecord, SecurityWrite, SendOutcome, Store, StoreError, VisibilityChange,
    VisibilityOutcome,
};

/// The schema version this build knows; a database with a newer one is refused.
pub const SCHEMA_VERSION: i32 = 1;
const SCHEMA_V1: &str = include_str!("schema.sql");
const SECRET: &str = "receipt-secret";

pub struct PostgresStore {
    pool: Pool,
    secret: [u8; 32],
}

fn backend(error: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(error.to_string())
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host:port/database`), applies the schema migrations this
    /// build knows, and reads (or makes) the secret every node shares.
    pub async fn connect(url: &str, pool_size: usize) -> Result<PostgresStore, StoreError> {
        let config: tokio_postgres::Config = url.parse().map_err(backend)?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(pool_size)
            .build()
            .map_err(backend)?;
        migrate(&pool).await?;
        let secret = shared_secret(&pool).await?;
        Ok(PostgresStore { pool, secret })
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(backend)
    }
}

/// Applies the migrations the database lacks, one node at a time (an advisory lock), or refuses a
/// database whose schema is newer than this build.
pub async fn migrate(pool: &Pool) -> Result<i32, StoreError> {
    let mut client = pool.get().await.map_err(backend)?;
    let tx = client.transaction().await.map_err(backend)?;
    tx.batch_execute(
        "SELECT pg_advisory_xact_lock(7305735161);
         CREATE TABLE IF NOT EXISTS sluice_schema (version integer NOT NULL);",
    )
    .await
    .map_err(backend)?;
    let found: Option<i32> = tx
        .query_opt("SELECT max(version) FROM sluice_schema", &[])
        .await
        .map_err(backend)?
        .and_then(|row| row.get(0));
    let found = found.unwrap_or(0);
    if found > SCHEMA_VERSION {
        return Err(StoreError::Backend(format!(
            "the database has schema version {found}, newer than this build's {SCHEMA_VERSION}: \
             run a newer sluice"
        )));
    }
    if found < 1 {
        tx.batch_execute(SCHEMA_V1).await.map_err(backend)?;
        tx.execute("INSERT INTO sluice_schema (version) VALUES (1)", &[])
            .await
            .map_err(backend)?;
    }
    tx.commit().await.map_err(backend)?;
    Ok(SCHEMA_VERSION)
}

async fn shared_secret(pool: &Pool) -> Result<[u8; 32], StoreError> {
    let client = pool.get().await.map_err(backend)?;
    let candidate: [u8; 32] = rand::random();
    client
        .execute(
            "INSERT INTO sluice_meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            &[&SECRET, &candidate.as_slice()],
        )
        .await
        .map_err(backend)?;
    let row = client
        .query_one("SELECT value FROM sluice_meta WHERE name = $1", &[&SECRET])
        .await
        .map_err(backend)?;
    let value: Vec<u8> = row.get(0);
    value
        .try_into()
        .map_err(|_| StoreError::Backend("the stored receipt secret is not 32 bytes".into()))
}

fn payload(record: &Record) -> Vec<u8> {
    codec::encode(record)[FRAME_HEADER..].to_vec()
}

fn queue_bytes(record: &QueueRecord) -> Vec<u8> {
    payload(&Record::QueuePut(record.clone()))
}

fn queue_from(bytes: &[u8]) -> Result<QueueRecord, StoreError> {
    match codec::decode(bytes) {
        Ok(Record::QueuePut(record)) => Ok(record),
        _ => Err(StoreError::Backend(
            "a stored queue record does not decode".into(),
        )),
    }
}

fn content_bytes(content: &Arc<MessageContent>) -> Vec<u8> {
    payload(&Record::Message {
        queue: 0,
        seq: 0,
        state: StateFields {
            visible_at: 0,
            receive_count: 0,
            first_receive_at: i64::MIN,
            received_at: 0,
        },
        content: content.clone(),
        deduplication: None,
    })
}

fn content_from(bytes: &[u8]) -> Result<Arc<MessageContent>, StoreError> {
    match codec::decode(bytes) {
        Ok(Record::Message { content, .. }) => Ok(content),
        _ => Err(StoreError::Backend(
            "a stored message does not decode".into(),
        )),
    }
}

fn task_from(bytes: &[u8]) -> Result<MoveTaskRecord, StoreError> {
    match codec::decode(bytes) {
        Ok(Record::MoveTask(task)) => Ok(task),
        _ => Err(StoreError::Backend(
            "a stored move task does not decode".into(),
        )),
    }
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// The queue's id, its next sequence number and stamp count, locked for this transaction.
async fn lock_queue(tx: &Transaction<'_>, key: &QueueKey) -> Result<(i64, i64, i64), StoreError> {
    let row = tx
        .query_opt(
            "SELECT id, next_seq, stamps FROM queues
             WHERE account_id = $1 AND region = $2 AND name = $3 FOR UPDATE",
            &[&key.account_id, &key.region, &key.name],
        )
        .await
        .map_err(backend)?
        .ok_or(StoreError::QueueNotFound)?;
    Ok((row.get(0), row.get(1), row.get(2)))
}

async fn save_counters(
    tx: &Transaction<'_>,
    queue: i64,
    next_seq: i64,
    stamps: i64,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE queues SET next_seq = $2, stamps = $3 WHERE id = $1",
        &[&queue, &next_seq, &stamps],
    )
    .await
    .map_err(backend)?;
    Ok(())
}

/// One message row as a receive looks at it.
struct Row {
    seq: i64,
    visible_at: i64,
    stamp: i64,
    receive_count: i32,
    first_receive_at: Option<i64>,
    received_at: Option<i64>,
    group: Option<String>,
}

const ROW_COLUMNS: &str =
    "seq, visible_at, stamp, receive_count, first_receive_at, received_at, group_id";

fn row_of(row: &tokio_postgres::Row) -> Row {
    Row {
        seq: row.get(0),
        visible_at: row.get(1),
        stamp: row.get(2),
        receive_count: row.get(3),
        first_receive_at: row.get(4),
        received_at: row.get(5),
        group: row.get(6),
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn create_queue(&self, record: QueueRecord) -> Result<CreateOutcome, StoreError> {
        let client = self.client().await?;
        let key = &record.key;
        let inserted = client
            .execute(
                "INSERT INTO queues (account_id, region, name, fifo, record, version)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                &[
                    &key.account_id,
                    &key.region,
                    &key.name,
                    &record.fifo,
                    &queue_bytes(&record),
                    &to_i64(record.version),
                ],
            )
            .await
            .map_err(backend)?;
        if inserted == 1 {
            return Ok(CreateOutcome::Created(record));
        }
        match self.get_queue(key).await? {
            Some(existing) => Ok(CreateOutcome::Existing((*existing).clone())),
            // Deleted again in between: as if created and deleted.
            None => Ok(CreateOutcome::Created(record)),
        }
    }

    async fn get_queue(&self, key: &QueueKey) -> Result<Option<Arc<QueueRecord>>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT record FROM queues WHERE account_id = $1 AND region = $2 AND name = $3",
                &[&key.account_id, &key.region, &key.name],
            )
            .await
            .map_err(backend)?;
        row.map(|row| queue_from(row.get(0)).map(Arc::new))
            .transpose()
    }

    async fn list_queues(
        &self,
        account_id: &str,
        region: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<QueueRecord>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT record FROM queues
                 WHERE account_id = $1 AND region = $2 AND starts_with(name, $3)
                   AND ($4::text IS NULL OR name > $4)
                 ORDER BY name COLLATE \"C\" LIMIT $5",
                &[&account_id, &region, &prefix, &after, &to_i64(limit as u64)],
            )
            .await
            .map_err(backend)?;
        rows.iter().map(|row| queue_from(row.get(0))).collect()
    }

    async fn all_queues(&self) -> Result<Vec<QueueKey>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query("SELECT account_id, region, name FROM queues", &[])
            .await
            .map_err(backend)?;
        Ok(rows
            .iter()
            .map(|row| QueueKey {
                account_id: row.get(0),
                region: row.get(1),
                name: row.get(2),
            })
            .collect())
    }

    async fn replace_queue(&self, mut record: QueueRecord) -> Result<QueueRecord, StoreError> {
        let client = self.client().await?;
        let read = record.version;
        record.version += 1;
        let key = &record.key;
        let changed = client
            .execute(
                "UPDATE queues SET record = $4, version = $6
                 WHERE account_id = $1 AND region = $2 AND name = $3 AND version = $5",
                &[
                    &key.account_id,
                    &key.region,
                    &key.name,
                    &queue_bytes(&record),
                    &to_i64(read),
                    &to_i64(record.version),
                ],
            )
            .await
            .map_err(backend)?;
        if changed == 1 {
            Ok(record)
        } else {
            Err(StoreError::Conflict)
        }
    }

    async fn delete_queue(&self, key: &QueueKey, now_millis: i64) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        let removed = tx
            .execute(
                "DELETE FROM queues WHERE account_id = $1 AND region = $2 AND name = $3",
                &[&key.account_id, &key.region, &key.name],
            )
            .await
            .map_err(backend)?;
        if removed == 1 {
            tx.execute(
                "INSERT INTO queue_tombstones (account_id, region, name, deleted_at)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (account_id, region, name) DO UPDATE SET deleted_at = $4",
                &[&key.account_id, &key.region, &key.name, &now_millis],
            )
            .await
            .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(removed == 1)
    }

    async fn deleted_at(&self, key: &QueueKey) -> Result<Option<i64>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT deleted_at FROM queue_tombstones
                 WHERE account_id = $1 AND region = $2 AND name = $3",
                &[&key.account_id, &key.region, &key.name],
            )
            .await
            .map_err(backend)?;
        Ok(row.map(|row| row.get(0)))
    }

    async fn send_messages(
        &self,
        key: &QueueKey,
        messages: Vec<NewMessage>,
        now: i64,
    ) -> Result<Vec<SendOutcome>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        let (queue, mut next_seq, mut stamps) = lock_queue(&tx, key).await?;
        let mut outcomes = Vec::with_capacity(messages.len());
        for message in messages {
            if let Some(dedup) = &message.deduplication {
                let original = tx
                    .query_opt(
                        "SELECT seq, message_id FROM deduplication
                         WHERE queue_id = $1 AND scope = $2 AND id = $3 AND expires_at > $4",
                        &[&queue, &dedup.scope, &dedup.id, &now],
                    )
                    .await
                    .map_err(backend)?;
                if let Some(original) = original {
                    outcomes.push(SendOutcome::Duplicate {
                        seq: to_u64(original.get(0)),
                        message_id: original.get(1),
                    });
                    continue;
                }
            }
            let seq = next_seq;
            next_seq += 1;
            stamps += 1;
            tx.execute(
                "INSERT INTO messages
                   (queue_id, seq, visible_at, stamp, enqueued_at, group_id, content)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &queue,
                    &seq,
                    &message.visible_at,
                    &stamps,
                    &message.content.enqueued_at,
                    &message.content.group_id.as_deref(),
                    &content_bytes(&message.content),
                ],
            )
            .await
            .map_err(backend)?;
            if let Some(dedup) = &message.deduplication {
                tx.execute(
                    "INSERT INTO deduplication (queue_id, scope, id, seq, message_id, expires_at)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (queue_id, scope, id) DO UPDATE
                       SET seq = $4, message_id = $5, expires_at = $6",
                    &[
                        &queue,
                        &dedup.scope,
                        &dedup.id,
                        &seq,
                        &message.content.message_id,
                        &(now + dedup.window_millis),
                    ],
                )
                .await
                .map_err(backend)?;
            }
            outcomes.push(SendOutcome::Appended(to_u64(seq)));
        }
        save_counters(&tx, queue, next_seq, stamps).await?;
        tx.commit().await.map_err(backend)?;
        Ok(outcomes)
    }

    async fn receive_messages(
        &self,
        key: &QueueKey,
        request: ReceiveRequest,
        redrive: Option<&Redrive>,
    ) -> Result<ReceiveOutcome, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        let (queue, next_seq, mut stamps) = lock_queue(&tx, key).await?;
        let fifo: bool = tx
            .query_one("SELECT fifo FROM queues WHERE id = $1", &[&queue])
            .await
            .map_err(backend)?
            .get(0);
        tx.execute(
            "DELETE FROM messages WHERE queue_id = $1 AND enqueued_at < $2",
            &[&queue, &request.expire_before],
        )
        .await
        .map_err(backend)?;
        // The dead-letter queue, locked after the source (a receive never locks them the other way
        // round: a dead-letter queue's own redrive never points back at its source's receive).
        let target = match redrive {
            Some(redrive) if redrive.target != *key => {
                match lock_queue(&tx, &redrive.target).await {
                    Ok(found) => Some(found),
                    Err(StoreError::QueueNotFound) => None,
                    Err(e) => return Err(e),
                }
            }
            _ => None,
        };
        let max_receive_count = target.and(redrive).map(|r| i64::from(r.max_receive_count));
        let in_flight: i64 = tx
            .query_one(
                "SELECT count(*) FROM messages
                 WHERE queue_id = $1 AND receive_count > 0 AND visible_at > $2",
                &[&queue, &request.now],
            )
            .await
            .map_err(backend)?
            .get(0);
        let mut outcome = ReceiveOutcome::default();
        let mut in_flight = to_u64(in_flight) as usize;
        let mut handed: Vec<Row> = Vec::new();
        let mut dead: Vec<Row> = Vec::new();
        // Candidates in delivery order: standard queues by sequence number; FIFO queues group by
        // group, the group whose oldest message became visible first going first.
        let candidates: Vec<Row> = if fifo {
            let rows = tx
                .query(
                    &format!("SELECT {ROW_COLUMNS} FROM messages WHERE queue_id = $1 ORDER BY seq"),
                    &[&queue],
                )
                .await
                .map_err(backend)?;
            fifo_order(rows.iter().map(row_of).collect(), request.now)
        } else {
            let limit = to_i64((request.max_messages * 4 + 40) as u64);
            let rows = tx
                .query(
                    &format!(
                        "SELECT {ROW_COLUMNS} FROM messages
                         WHERE queue_id = $1 AND visible_at <= $2 ORDER BY seq LIMIT $3"
                    ),
                    &[&queue, &request.now, &limit],
                )
                .await
                .map_err(backend)?;
            rows.iter().map(row_of).collect()
        };
        for row in candidates {
            if handed.len() >= request.max_messages {
                break;
            }
            if in_flight >= request.max_in_flight {
                outcome.in_flight_limit_reached = handed.is_empty();
                break;
            }
            if max_receive_count.is_some_and(|max| i64::from(row.receive_count) >= max) {
                dead.push(row);
                continue;
            }
            in_flight += 1;
            handed.push(row);
        }
        for row in &mut handed {
            stamps += 1;
            row.receive_count += 1;
            row.first_receive_at.get_or_insert(request.now);
            row.received_at = Some(request.now);
            row.visible_at = request.visibility_deadline;
            row.stamp = stamps;
            tx.execute(
                "UPDATE messages SET visible_at = $3, stamp = $4, receive_count = $5,
                   first_receive_at = $6, received_at = $7
                 WHERE queue_id = $1 AND seq = $2",
                &[
                    &queue,
                    &row.seq,
                    &row.visible_at,
                    &row.stamp,
                    &row.receive_count,
                    &row.first_receive_at,
                    &row.received_at,
                ],
            )
            .await
            .map_err(backend)?;
        }
        if let (Some((target_queue, mut target_seq, mut target_stamps)), Some(redrive)) =
            (target, redrive)
        {
            for row in &dead {
                let content = content_of(&tx, queue, row.seq).await?;
                let moved = Arc::new(redrive.moved(&content, request.now));
                target_stamps += 1;
                tx.execute(
                    "INSERT INTO messages (queue_id, seq, visible_at, stamp, receive_count,
                       first_receive_at, received_at, enqueued_at, group_id, content)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    &[
                        &target_queue,
                        &target_seq,
                        &request.now,
                        &target_stamps,
                        &row.receive_count,
                        &row.first_receive_at,
                        &row.received_at,
                        &moved.enqueued_at,
                        &moved.group_id.as_deref(),
                        &content_bytes(&moved),
                    ],
                )
                .await
                .map_err(backend)?;
                target_seq += 1;
                tx.execute(
                    "DELETE FROM messages WHERE queue_id = $1 AND seq = $2",
                    &[&queue, &row.seq],
                )
                .await
                .map_err(backend)?;
            }
            save_counters(&tx, target_queue, target_seq, target_stamps).await?;
        }
        for row in &handed {
            outcome.messages.push(ReceivedMessage {
                seq: to_u64(row.seq),
                content: content_of(&tx, queue, row.seq).await?,
                receive_count: u32::try_from(row.receive_count).unwrap_or(u32::MAX),
                first_receive_at: row.first_receive_at.unwrap_or(request.now),
            });
        }
        outcome.moved = dead.len();
        outcome.next_visible_at = tx
            .query_one(
                "SELECT min(visible_at) FROM messages WHERE queue_id = $1 AND visible_at > $2",
                &[&queue, &request.now],
            )
            .await
            .map_err(backend)?
            .get(0);
        save_counters(&tx, queue, next_seq, stamps).await?;
        tx.commit().await.map_err(backend)?;
        Ok(outcome)
    }

    async fn delete_messages(
        &self,
        key: &QueueKey,
        deletions: &[Deletion],
    ) -> Result<Vec<DeleteOutcome>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        let (queue, _, _) = lock_queue(&tx, key).await?;
        let mut outcomes = Vec::with_capacity(deletions.len());
        for deletion in deletions {
            let seq = to_i64(deletion.seq);
            if let Some(receive_count) = deletion.receive_count {
                let current = tx
                    .query_opt(
                        "SELECT receive_count, visible_at FROM messages
                         WHERE queue_id = $1 AND seq = $2",
                        &[&queue, &seq],
                    )
                    .await
                    .map_err(backend)?;
                match current {
                    None => {
                        outcomes.push(DeleteOutcome::Gone);
                        continue;
                    }
                    Some(row) => {
                        let count: i32 = row.get(0);
                        let visible_at: i64 = row.get(1);
                        let in_flight = count > 0 && visible_at > deletion.now;
                        if i64::from(count) != i64::from(receive_count) || !in_flight {
                            outcomes.push(DeleteOutcome::Expired);
                            continue;
                        }
                    }
                }
            }
            let removed = tx
                .execute(
                    "DELETE FROM messages WHERE queue_id = $1 AND seq = $2",
                    &[&queue, &seq],
                )
                .await
                .map_err(backend)?;
            outcomes.push(if removed == 1 {
                DeleteOutcome::Deleted
            } else {
                DeleteOutcome::Gone
            });
        }
        tx.commit().await.map_err(backend)?;
        Ok(outcomes)
    }

    async fn retime_unreceived(
        &self,
        key: &QueueKey,
        delay: i64,
        _now: i64,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        let (queue, _, _) = lock_queue(&tx, key).await?;
        let rows = tx
            .query(
                "SELECT seq, content FROM messages WHERE queue_id = $1 AND receive_count = 0
                 ORDER BY seq",
                &[&queue],
            )
            .await
            .map_err(backend)?;
        for row in rows {
            let seq: i64 = row.get(0);
            let content = content_from(row.get(1))?;
            tx.execute(
                "UPDATE messages SET visible_at = $3 WHERE queue_id = $1 AND seq = $2",
                &[&queue, &seq, &(content.sent_at + delay)],
            )
            .await
            .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(())
    }

    async fn change_visibility(
        &self,
        key: &QueueKey,
        changes: &[VisibilityChange],
    ) -> Result<Vec<VisibilityOutcome>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        let (queue, next_seq, mut stamps) = lock_queue(&tx, key).await?;
        let fifo: bool = tx
            .query_one("SELECT fifo FROM queues WHERE id = $1", &[&queue])
            .await
            .map_err(backend)?
            .get(0);
        let mut outcomes = Vec::with_capacity(changes.len());
        for change in changes {
            let seq = to_i64(change.seq);
            let row = tx
                .query_opt(
                    "SELECT receive_count, visible_at, received_at FROM messages
                     WHERE queue_id = $1 AND seq = $2",
                    &[&queue, &seq],
                )
                .await
                .map_err(backend)?;
            let Some(row) = row else {
                outcomes.push(VisibilityOutcome::Gone);
                continue;
            };
            let count: i32 = row.get(0);
            let visible_at: i64 = row.get(1);
            let received_at: Option<i64> = row.get(2);
            let in_flight = count > 0 && visible_at > change.now;
            let asked = i64::from(change.receive_count);
            let older_in_flight = !fifo && asked < i64::from(count) && in_flight;
            if count == 0 || (i64::from(count) != asked && !older_in_flight) {
                outcomes.push(VisibilityOutcome::Stale);
                continue;
            }
            if change.deadline
                > received_at
                    .unwrap_or(0)
                    .saturating_add(change.max_span_from_receive)
            {
                outcomes.push(VisibilityOutcome::BeyondLimit);
                continue;
            }
            stamps += 1;
            tx.execute(
                "UPDATE messages SET visible_at = $3, stamp = $4 WHERE queue_id = $1 AND seq = $2",
                &[&queue, &seq, &change.deadline, &stamps],
            )
            .await
            .map_err(backend)?;
            outcomes.push(VisibilityOutcome::Changed);
        }
        save_counters(&tx, queue, next_seq, stamps).await?;
        tx.commit().await.map_err(backend)?;
        Ok(outcomes)
    }

    async fn purge_messages(&self, key: &QueueKey) -> Result<u64, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        let (queue, _, _) = lock_queue(&tx, key).await?;
        let purged = tx
            .execute("DELETE FROM messages WHERE queue_id = $1", &[&queue])
            .await
            .map_err(backend)?;
        tx.execute("DELETE FROM deduplication WHERE queue_id = $1", &[&queue])
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(purged)
    }

    async fn message_counts(
        &self,
        key: &QueueKey,
        now: i64,
        expire_before: i64,
    ) -> Result<MessageCounts, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        let (queue, _, _) = lock_queue(&tx, key).await?;
        tx.execute(
            "DELETE FROM messages WHERE queue_id = $1 AND enqueued_at < $2",
            &[&queue, &expire_before],
        )
        .await
        .map_err(backend)?;
        let row = tx
            .query_one(
                "SELECT count(*) FILTER (WHERE visible_at <= $2),
                        count(*) FILTER (WHERE visible_at > $2 AND receive_count > 0),
                        count(*) FILTER (WHERE visible_at > $2 AND receive_count = 0)
                 FROM messages WHERE queue_id = $1",
                &[&queue, &now],
            )
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(MessageCounts {
            visible: to_u64(row.get(0)),
            in_flight: to_u64(row.get(1)),
            delayed: to_u64(row.get(2)),
        })
    }

    async fn peek_visible(
        &self,
        key: &QueueKey,
        max: usize,
        now: i64,
    ) -> Result<Vec<(u64, Arc<MessageContent>)>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT m.seq, m.content FROM messages m JOIN queues q ON q.id = m.queue_id
                 WHERE q.account_id = $1 AND q.region = $2 AND q.name = $3 AND m.visible_at <= $4
                 ORDER BY m.seq LIMIT $5",
                &[
                    &key.account_id,
                    &key.region,
                    &key.name,
                    &now,
                    &to_i64(max as u64),
                ],
            )
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| Ok((to_u64(row.get(0)), content_from(row.get(1))?)))
            .collect()
    }

    async fn move_message(
        &self,
        from: &QueueKey,
        seq: u64,
        to: &QueueKey,
        content: MessageContent,
        now: i64,
    ) -> Result<bool, StoreError> {
        if from == to {
            return Ok(false);
        }
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        // Always in key order, so two moves between the same queues never deadlock.
        let (source, target) = if from < to {
            let source = lock_queue(&tx, from).await?;
            (source, lock_queue(&tx, to).await?)
        } else {
            let target = lock_queue(&tx, to).await?;
            (lock_queue(&tx, from).await?, target)
        };
        let removed = tx
            .execute(
                "DELETE FROM messages WHERE queue_id = $1 AND seq = $2 AND visible_at <= $3",
                &[&source.0, &to_i64(seq), &now],
            )
            .await
            .map_err(backend)?;
        if removed == 0 {
            return Ok(false);
        }
        let (queue, next_seq, stamps) = target;
        let content = Arc::new(content);
        tx.execute(
            "INSERT INTO messages (queue_id, seq, visible_at, stamp, enqueued_at, group_id, content)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &queue,
                &next_seq,
                &now,
                &(stamps + 1),
                &content.enqueued_at,
                &content.group_id.as_deref(),
                &content_bytes(&content),
            ],
        )
        .await
        .map_err(backend)?;
        save_counters(&tx, queue, next_seq + 1, stamps + 1).await?;
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn put_move_task(&self, task: MoveTaskRecord) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO move_tasks (handle, record) VALUES ($1, $2)
                 ON CONFLICT (handle) DO UPDATE SET record = $2",
                &[&task.handle, &payload(&Record::MoveTask(task.clone()))],
            )
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn move_tasks(&self) -> Result<Vec<MoveTaskRecord>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query("SELECT record FROM move_tasks ORDER BY handle", &[])
            .await
            .map_err(backend)?;
        rows.iter().map(|row| task_from(row.get(0))).collect()
    }

    async fn claim_move_task(
        &self,
        handle: &str,
        owner: &str,
        now: i64,
        lease_until: i64,
    ) -> Result<Option<MoveTaskRecord>, StoreError> {
        shared::claim_move_task(self, handle, owner, now, lease_until).await
    }

    async fn replace_move_task(
        &self,
        expected: &MoveTaskRecord,
        task: MoveTaskRecord,
        owner: Option<&str>,
    ) -> Result<bool, StoreError> {
        shared::replace_move_task(self, expected, task, owner).await
    }

    async fn record_receive_attempt(
        &self,
        key: &QueueKey,
        id: &str,
        attempt: crate::ReceiveAttempt,
        now: i64,
    ) -> Result<(), StoreError> {
        shared::record_receive_attempt(self, key, id, attempt, now).await
    }

    async fn receive_attempt(
        &self,
        key: &QueueKey,
        id: &str,
        now: i64,
    ) -> Result<Option<crate::ReceiveAttempt>, StoreError> {
        shared::receive_attempt(self, key, id, now).await
    }

    async fn spoil_receive_attempts(&self, key: &QueueKey, seqs: &[u64]) -> Result<(), StoreError> {
        shared::spoil_receive_attempts(self, key, seqs).await
    }

    async fn security_record(
        &self,
        key: &SecurityKey,
    ) -> Result<Option<SecurityRecord>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT version, value FROM security_records WHERE kind = $1 AND name = $2",
                &[&key.kind, &key.name],
            )
            .await
            .map_err(backend)?;
        Ok(row.map(|row| SecurityRecord {
            key: key.clone(),
            version: to_u64(row.get(0)),
            value: row.get(1),
        }))
    }

    async fn security_records(
        &self,
        kind: &str,
        prefix: &str,
    ) -> Result<Vec<SecurityRecord>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT name, version, value FROM security_records
                 WHERE kind = $1 AND starts_with(name, $2) ORDER BY name COLLATE \"C\"",
                &[&kind, &prefix],
            )
            .await
            .map_err(backend)?;
        Ok(rows
            .iter()
            .map(|row| SecurityRecord {
                key: SecurityKey::new(kind, row.get::<_, String>(0)),
                version: to_u64(row.get(1)),
                value: row.get(2),
            })
            .collect())
    }

    async fn write_security(&self, batch: Vec<SecurityWrite>) -> Result<(), StoreError> {
        // A key written twice in one batch can only have expected one of its versions.
        let mut seen = std::collections::HashSet::new();
        if !batch.iter().all(|write| seen.insert(write.key())) {
            return Err(StoreError::Conflict);
        }
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        for write in &batch {
            let changed = match write {
                SecurityWrite::Put {
                    key,
                    expected: None,
                    value,
                } => {
                    tx.execute(
                        "INSERT INTO security_records (kind, name, version, value)
                         VALUES ($1, $2, 1, $3) ON CONFLICT DO NOTHING",
                        &[&key.kind, &key.name, value],
                    )
                    .await
                }
                SecurityWrite::Put {
                    key,
                    expected: Some(version),
                    value,
                } => {
                    tx.execute(
                        "UPDATE security_records SET version = version + 1, value = $4
                         WHERE kind = $1 AND name = $2 AND version = $3",
                        &[&key.kind, &key.name, &to_i64(*version), value],
                    )
                    .await
                }
                SecurityWrite::Delete { key, expected } => {
                    tx.execute(
                        "DELETE FROM security_records WHERE kind = $1 AND name = $2 AND version = $3",
                        &[&key.kind, &key.name, &to_i64(*expected)],
                    )
                    .await
                }
            }
            .map_err(backend)?;
            if changed != 1 {
                return Err(StoreError::Conflict);
            }
        }
        tx.commit().await.map_err(backend)?;
        Ok(())
    }

    async fn server_secret(&self) -> Result<[u8; 32], StoreError> {
        Ok(self.secret)
    }

    async fn flush(&self) -> Result<(), StoreError> {
        // Every call commits its own transaction before it returns.
        Ok(())
    }
}

async fn content_of(
    tx: &Transaction<'_>,
    queue: i64,
    seq: i64,
) -> Result<Arc<MessageContent>, StoreError> {
    let row = tx
        .query_one(
            "SELECT content FROM messages WHERE queue_id = $1 AND seq = $2",
            &[&queue, &seq],
        )
        .await
        .map_err(backend)?;
    content_from(row.get(0))
}

/// A FIFO queue's messages (all of them, in sequence order) as a receive takes them: the groups
/// whose oldest message is visible, ordered by when that message became visible (its instant, then
/// its stamp), each giving its visible messages from the oldest on up to the first one that is not.
fn fifo_order(rows: Vec<Row>, now: i64) -> Vec<Row> {
    let mut groups: Vec<(String, Vec<Row>)> = Vec::new();
    for row in rows {
        let group = row.group.clone().unwrap_or_default();
        match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, members)) => members.push(row),
            None => groups.push((group, vec![row])),
        }
    }
    let mut ready: Vec<(i64, i64, Vec<Row>)> = groups
        .into_iter()
        .filter_map(|(_, members)| {
            let (at, stamp) = members.first().map(|m| (m.visible_at, m.stamp))?;
            (at <= now).then_some((at, stamp, members))
        })
        .collect();
    ready.sort_by_key(|(at, stamp, _)| (*at, *stamp));
    ready
        .into_iter()
        .flat_map(|(_, _, members)| {
            members
                .into_iter()
                .take_while(move |row| row.visible_at <= now)
        })
        .collect()
}
