//! The `postgres` backend: every queue, message and security record in one PostgreSQL database that
//! several Sluice processes share. Each store call is one statement or one transaction, and nodes
//! coordinate only through the database:
//! - a standard queue's sends, receives, deletes and visibility changes lock only the messages they
//!   touch (receives pass over what another holds), so nodes work on one queue side by side;
//! - a FIFO queue's message operations lock its row, so that one at a time decides group order,
//!   sequence numbers and deduplication;
//! - each non-trivial statement lives in `queries/`, is prepared once per connection, and finds what
//!   it needs through an index (`schema.sql` says which), never by reading a whole queue.
//!
//! Other nodes hear of the changes that make messages receivable, and of security writes, through
//! `notify`.

mod append;
mod clock;
mod encoding;
mod notify;
mod receive;
mod settle;
mod shared;
mod sql;
mod upkeep;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

use crate::{
    CreateOutcome, DeleteOutcome, Deletion, MessageContent, MessageCounts, MoveTaskRecord,
    NewMessage, QueueGauges, QueueKey, QueueRecord, ReceiveOutcome, ReceiveRequest, Redrive,
    SecurityKey, SecurityRecord, SecurityWrite, SendOutcome, Store, StoreError, VisibilityChange,
    VisibilityOutcome,
};
use encoding::{queue_bytes, queue_from, task_bytes, task_from, to_i64, to_u64};
use sql::backend;

pub use clock::DatabaseClock;

/// The schema version this build knows; a database with a newer one is refused.
pub const SCHEMA_VERSION: i32 = 2;
const SCHEMA_V1: &str = include_str!("schema.sql");
const SCHEMA_V2: &str = include_str!("schema_v2.sql");
const SECRET: &str = "receipt-secret";
/// Readings of the database's clock tried at start until one has a round trip short enough to trust.
const CLOCK_READINGS: usize = 5;

/// How long a request waits for a pooled connection, and a new connection for the database to
/// answer, before it is refused as unavailable: a lost database must not hold requests (the URL's
/// own `connect_timeout` wins over this one for connecting).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// A database gone without closing its connections (a host lost, a network cut) breaks them within
/// seconds rather than the kernel's hours: keepalive probes after this much idle time, and a
/// connection dropped once what it sent, probes included, stays unacknowledged this long.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(10);
const DEAD_PEER_TIMEOUT: Duration = Duration::from_secs(15);

pub struct PostgresStore {
    pool: Pool,
    secret: [u8; 32],
    /// Whether the last attempt to take a connection succeeded: readiness without a query per ask.
    /// Request traffic and the retention sweep keep it current.
    reachable: AtomicBool,
    clock: Arc<DatabaseClock>,
    notices: notify::Notices,
    ready_floors: receive::ReadyFloors,
}

/// How to reach the database at `url`, with every wait bounded.
fn connection_config(url: &str) -> Result<tokio_postgres::Config, StoreError> {
    let mut config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| StoreError::Backend(format!("the database URL is not valid: {e}")))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    config
        .keepalives(true)
        .keepalives_idle(KEEPALIVE_IDLE)
        .tcp_user_timeout(DEAD_PEER_TIMEOUT);
    Ok(config)
}

/// A pool of connections to `url` whose every wait is bounded.
fn pool(url: &str, size: usize) -> Result<Pool, StoreError> {
    pool_of(connection_config(url)?, size)
}

fn pool_of(config: tokio_postgres::Config, size: usize) -> Result<Pool, StoreError> {
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(CONNECT_TIMEOUT))
        .create_timeout(Some(CONNECT_TIMEOUT))
        .recycle_timeout(Some(CONNECT_TIMEOUT))
        .build()
        .map_err(|e| StoreError::Backend(e.to_string()))
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host:port/database`), applies the schema migrations this
    /// build knows, and reads (or makes) the secret every node shares.
    pub async fn connect(url: &str, pool_size: usize) -> Result<PostgresStore, StoreError> {
        let config = connection_config(url)?;
        let pool = pool_of(config.clone(), pool_size)?;
        apply_migrations(&pool).await?;
        let secret = shared_secret(&pool).await?;
        let notices = notify::Notices::start(&config).await?;
        let store = PostgresStore {
            pool,
            secret,
            reachable: AtomicBool::new(true),
            clock: Arc::default(),
            notices,
            ready_floors: receive::ReadyFloors::default(),
        };
        for _ in 0..CLOCK_READINGS {
            if store.align_clock().await? {
                break;
            }
        }
        Ok(store)
    }

    /// The database's clock as this node reads it; `align_clock` keeps it true.
    pub fn database_clock(&self) -> Arc<DatabaseClock> {
        self.clock.clone()
    }

    /// Measures the database clock's offset again (clocks drift); false when the round trip was too
    /// slow to trust and the previous offset was kept.
    pub async fn align_clock(&self) -> Result<bool, StoreError> {
        let client = self.client().await?;
        self.clock.align(&client).await
    }

    /// Applies the schema migrations this build knows to the database at `url`, without serving it;
    /// returns the schema version the database is at.
    pub async fn migrate(url: &str) -> Result<i32, StoreError> {
        apply_migrations(&pool(url, 1)?).await
    }

    /// The schema version of the database at `url` (0 for one never migrated), changing nothing.
    pub async fn schema_version(url: &str) -> Result<i32, StoreError> {
        let client = pool(url, 1)?.get().await.map_err(backend)?;
        let exists: bool = client
            .query_one("SELECT to_regclass('sluice_schema') IS NOT NULL", &[])
            .await
            .map_err(backend)?
            .get(0);
        if !exists {
            return Ok(0);
        }
        let found: Option<i32> = client
            .query_one("SELECT max(version) FROM sluice_schema", &[])
            .await
            .map_err(backend)?
            .get(0);
        Ok(found.unwrap_or(0))
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        let taken = self.pool.get().await;
        let was = self.reachable.swap(taken.is_ok(), Ordering::Relaxed);
        match &taken {
            Err(e) if was => tracing::warn!(error = %e, "database unreachable"),
            Ok(_) if !was => tracing::info!("database reachable again"),
            _ => {}
        }
        taken.map_err(backend)
    }
}

/// Applies the migrations the database lacks, one node at a time (an advisory lock), or refuses a
/// database whose schema is newer than this build.
async fn apply_migrations(pool: &Pool) -> Result<i32, StoreError> {
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
    for (version, schema) in [(1, SCHEMA_V1), (2, SCHEMA_V2)] {
        if found < version {
            tx.batch_execute(schema).await.map_err(backend)?;
            tx.execute(
                "INSERT INTO sluice_schema (version) VALUES ($1)",
                &[&version],
            )
            .await
            .map_err(backend)?;
        }
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

#[async_trait]
impl Store for PostgresStore {
    async fn create_queue(&self, record: QueueRecord) -> Result<CreateOutcome, StoreError> {
        let client = self.client().await?;
        let key = &record.key;
        let inserted = sql::execute(
            &client,
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
        .await?;
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
        let row = sql::query_opt(
            &client,
            "SELECT record FROM queues WHERE account_id = $1 AND region = $2 AND name = $3",
            &[&key.account_id, &key.region, &key.name],
        )
        .await?;
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
        let rows = sql::query(
            &client,
            "SELECT record FROM queues
                 WHERE account_id = $1 AND region = $2 AND starts_with(name, $3)
                   AND ($4::text IS NULL OR name > $4)
                 ORDER BY name COLLATE \"C\" LIMIT $5",
            &[&account_id, &region, &prefix, &after, &to_i64(limit as u64)],
        )
        .await?;
        rows.iter().map(|row| queue_from(row.get(0))).collect()
    }

    async fn all_queues(&self) -> Result<Vec<QueueKey>, StoreError> {
        let client = self.client().await?;
        let rows = sql::query(&client, "SELECT account_id, region, name FROM queues", &[]).await?;
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
        let changed = sql::execute(
            &client,
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
        .await?;
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
        let row = sql::query_opt(
            &client,
            "SELECT deleted_at FROM queue_tombstones
                 WHERE account_id = $1 AND region = $2 AND name = $3",
            &[&key.account_id, &key.region, &key.name],
        )
        .await?;
        Ok(row.map(|row| row.get(0)))
    }

    async fn send_messages(
        &self,
        key: &QueueKey,
        messages: Vec<NewMessage>,
        now: i64,
    ) -> Result<Vec<SendOutcome>, StoreError> {
        append::send_messages(self, key, messages, now).await
    }

    async fn receive_messages(
        &self,
        key: &QueueKey,
        request: ReceiveRequest,
        redrive: Option<&Redrive>,
    ) -> Result<ReceiveOutcome, StoreError> {
        receive::receive_messages(self, key, request, redrive).await
    }

    async fn delete_messages(
        &self,
        key: &QueueKey,
        deletions: &[Deletion],
    ) -> Result<Vec<DeleteOutcome>, StoreError> {
        settle::delete_messages(self, key, deletions).await
    }

    async fn retime_unreceived(
        &self,
        key: &QueueKey,
        delay: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        upkeep::retime_unreceived(self, key, delay, now).await
    }

    async fn change_visibility(
        &self,
        key: &QueueKey,
        changes: &[VisibilityChange],
    ) -> Result<Vec<VisibilityOutcome>, StoreError> {
        settle::change_visibility(self, key, changes).await
    }

    async fn purge_messages(&self, key: &QueueKey) -> Result<u64, StoreError> {
        upkeep::purge_messages(self, key).await
    }

    async fn message_counts(
        &self,
        key: &QueueKey,
        now: i64,
        expire_before: i64,
    ) -> Result<MessageCounts, StoreError> {
        Ok(upkeep::queue_gauges(self, key, now, expire_before, false)
            .await?
            .counts)
    }

    async fn queue_gauges(
        &self,
        key: &QueueKey,
        now: i64,
        expire_before: i64,
    ) -> Result<QueueGauges, StoreError> {
        upkeep::queue_gauges(self, key, now, expire_before, true).await
    }

    async fn peek_visible(
        &self,
        key: &QueueKey,
        max: usize,
        now: i64,
    ) -> Result<Vec<(u64, Arc<MessageContent>)>, StoreError> {
        upkeep::peek_visible(self, key, max, now).await
    }

    async fn move_message(
        &self,
        from: &QueueKey,
        seq: u64,
        to: &QueueKey,
        content: MessageContent,
        now: i64,
    ) -> Result<bool, StoreError> {
        upkeep::move_message(self, from, seq, to, content, now).await
    }

    async fn put_move_task(&self, task: MoveTaskRecord) -> Result<(), StoreError> {
        let client = self.client().await?;
        sql::execute(
            &client,
            "INSERT INTO move_tasks (handle, record) VALUES ($1, $2)
                 ON CONFLICT (handle) DO UPDATE SET record = $2",
            &[&task.handle, &task_bytes(&task)],
        )
        .await?;
        Ok(())
    }

    async fn move_tasks(&self) -> Result<Vec<MoveTaskRecord>, StoreError> {
        let client = self.client().await?;
        let rows = sql::query(
            &client,
            "SELECT record FROM move_tasks ORDER BY handle",
            &[],
        )
        .await?;
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
        let row = sql::query_opt(
            &client,
            "SELECT version, value FROM security_records WHERE kind = $1 AND name = $2",
            &[&key.kind, &key.name],
        )
        .await?;
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
        let rows = sql::query(
            &client,
            "SELECT name, version, value FROM security_records
                 WHERE kind = $1 AND starts_with(name, $2) ORDER BY name COLLATE \"C\"",
            &[&kind, &prefix],
        )
        .await?;
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
        let committed = tx.commit().await;
        // Even when the outcome is unknown: the commit may have landed, and other nodes' caches have
        // nothing else to tell them.
        self.notices.security_changed();
        committed.map_err(backend)?;
        Ok(())
    }

    async fn server_secret(&self) -> Result<[u8; 32], StoreError> {
        Ok(self.secret)
    }

    async fn flush(&self) -> Result<(), StoreError> {
        // Every call commits its own transaction before it returns.
        Ok(())
    }

    fn is_ready(&self) -> bool {
        self.reachable.load(Ordering::Relaxed)
    }

    fn subscribe(&self, sink: crate::ChangeSink) {
        self.notices.subscribe(sink);
    }

    fn security_generation(&self) -> u64 {
        self.notices.security_generation()
    }

    fn recheck_interval(&self) -> Option<Duration> {
        Some(notify::RECHECK_INTERVAL)
    }
}
