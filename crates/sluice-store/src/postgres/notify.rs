//! Change notices between the nodes that share one database, over PostgreSQL's LISTEN/NOTIFY.
//!
//! After a transaction that makes messages receivable commits, its queue joins this node's pending
//! set; the announcer task sends the set's wake-ups in one statement of its own, on a connection of
//! its own: NOTIFY takes a lock global to the database when its transaction commits, so it is never
//! part of the message transactions, and a burst of sends to one queue costs one notification.
//! Security writes are announced the same way on a second channel.
//!
//! The listener task holds one more connection, LISTENing on both channels, and hands what it hears
//! to the subscribed sinks. Notices sent while it was not listening are lost, so after it connects
//! again it delivers `ChangeNotice::Everything`. A node hears its own notices too; they only wake
//! what it woke already.

use std::collections::HashSet;
use std::convert::Infallible;
use std::future::{poll_fn, Future};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_postgres::tls::NoTlsStream;
use tokio_postgres::{AsyncMessage, Client, Config, Connection, NoTls, Socket, Statement};

use super::backend;
use crate::{lock, ChangeNotice, ChangeSink, QueueKey, StoreError};

const MESSAGES: &str = "sluice_messages";
const SECURITY: &str = "sluice_security";

/// How long a long poll on this backend waits without looking again: the bound on how late it can
/// be when a notice is lost without the listener noticing (a connection that died silently, until
/// TCP keepalive gives up on it) or when a change is not announced (a delete that frees a FIFO
/// group, a deleted queue, a visibility deadline moved earlier but still ahead, a commit whose
/// outcome was lost).
pub const RECHECK_INTERVAL: Duration = Duration::from_secs(1);

/// NOTIFY refuses payloads of 8000 bytes or more.
const MAX_PAYLOAD: usize = 7999;

/// Waits between attempts to reach the database again: doubling from the first to the last.
const FIRST_RETRY: Duration = Duration::from_millis(100);
const LAST_RETRY: Duration = Duration::from_secs(5);

/// Sends the pending notices: one per element of the two arrays, all committed together.
const ANNOUNCE: &str =
    "SELECT pg_notify(channel, payload) FROM unnest($1::text[], $2::text[]) AS n(channel, payload)";

type PgConnection = Connection<Socket, NoTlsStream>;

/// The notice machinery of one `PostgresStore`: its two tasks end when it is dropped.
pub struct Notices {
    shared: Arc<Shared>,
    tasks: [JoinHandle<()>; 2],
}

struct Shared {
    /// What waits to be announced. A std mutex: held only to add to it or take it whole, never
    /// across an await; message transactions add, the announcer takes.
    pending: Mutex<Pending>,
    /// Wakes the announcer when `pending` gains something. Its single stored permit means an
    /// addition made while the announcer is busy sending is picked up when it comes back.
    kick: Notify,
    /// Who hears the notices. A std mutex: cloned out before the sinks are called, so a sink is
    /// never called with it held.
    sinks: Mutex<Vec<ChangeSink>>,
    /// Moved by every security notice heard (and `Everything`); read by every authorized request.
    security_generation: AtomicU64,
}

#[derive(Default)]
struct Pending {
    queues: HashSet<QueueKey>,
    security: bool,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.queues.is_empty() && !self.security
    }
}

impl Notices {
    /// Starts listening (returning once the LISTEN is in place, so that nothing another node
    /// announces afterwards is missed) and starts the announcer, which connects when it first has
    /// something to say.
    pub async fn start(config: &Config) -> Result<Notices, StoreError> {
        let mut config = config.clone();
        // A connection that is only read from would otherwise go on waiting on a peer that is gone.
        config
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(10))
            .keepalives_interval(Duration::from_secs(5))
            .keepalives_retries(3);
        if config.get_application_name().is_none() {
            config.application_name("sluice notices");
        }
        let shared = Arc::new(Shared {
            pending: Mutex::default(),
            kick: Notify::new(),
            sinks: Mutex::default(),
            security_generation: AtomicU64::new(0),
        });
        let listening = listen(&config, &shared).await?;
        let listener = tokio::spawn(run_listener(config.clone(), shared.clone(), listening));
        let announcer = tokio::spawn(run_announcer(config, shared.clone()));
        Ok(Notices {
            shared,
            tasks: [listener, announcer],
        })
    }

    /// Records, after its transaction committed, that messages of `key` may have become receivable.
    pub fn messages_available(&self, key: &QueueKey) {
        let mut pending = lock(&self.shared.pending);
        if !pending.queues.contains(key) {
            pending.queues.insert(key.clone());
        }
        drop(pending);
        self.shared.kick.notify_one();
    }

    /// Records, after its transaction committed, that security records changed.
    pub fn security_changed(&self) {
        lock(&self.shared.pending).security = true;
        self.shared.kick.notify_one();
    }

    pub fn subscribe(&self, sink: ChangeSink) {
        lock(&self.shared.sinks).push(sink);
    }

    pub fn security_generation(&self) -> u64 {
        self.shared.security_generation.load(Ordering::Acquire)
    }
}

impl Drop for Notices {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Shared {
    fn deliver(&self, notice: ChangeNotice) {
        if matches!(
            notice,
            ChangeNotice::SecurityChanged | ChangeNotice::Everything
        ) {
            self.security_generation.fetch_add(1, Ordering::AcqRel);
        }
        let sinks = lock(&self.sinks).clone();
        for sink in sinks {
            sink(notice.clone());
        }
    }

    fn heard(&self, channel: &str, payload: &str) {
        match channel {
            MESSAGES => self.deliver(
                decode_queue(payload).map_or(ChangeNotice::Everything, |key| {
                    ChangeNotice::MessagesAvailable(key)
                }),
            ),
            SECURITY => self.deliver(ChangeNotice::SecurityChanged),
            _ => {}
        }
    }

    /// Puts back what could not be sent, merged with what was added meanwhile.
    fn put_back(&self, batch: Pending) {
        let mut pending = lock(&self.pending);
        pending.queues.extend(batch.queues);
        pending.security |= batch.security;
    }
}

/// A connection LISTENing on both channels, and its client (the connection ends with it).
struct Listening {
    _client: Client,
    connection: PgConnection,
}

async fn listen(config: &Config, shared: &Shared) -> Result<Listening, StoreError> {
    let (client, mut connection) = config.connect(NoTls).await.map_err(backend)?;
    let statement = format!("LISTEN {MESSAGES}; LISTEN {SECURITY}");
    drive(&mut connection, shared, client.batch_execute(&statement)).await?;
    Ok(Listening {
        _client: client,
        connection,
    })
}

/// Awaits `work` while driving `connection`, delivering the notifications that arrive meanwhile.
/// Fails when `work` does or the connection ends.
async fn drive<T>(
    connection: &mut PgConnection,
    shared: &Shared,
    work: impl Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T, StoreError> {
    tokio::pin!(work);
    loop {
        tokio::select! {
            done = &mut work => return done.map_err(backend),
            message = poll_fn(|cx| connection.poll_message(cx)) => match message {
                Some(Ok(AsyncMessage::Notification(n))) => shared.heard(n.channel(), n.payload()),
                Some(Ok(_)) => {}
                Some(Err(error)) => return Err(backend(error)),
                None => return Err(StoreError::Unavailable("the connection closed".into())),
            },
        }
    }
}

async fn run_listener(config: Config, shared: Arc<Shared>, mut listening: Listening) {
    loop {
        let Err(error) = drive(
            &mut listening.connection,
            &shared,
            std::future::pending::<Result<Infallible, _>>(),
        )
        .await;
        tracing::warn!(%error, "lost the connection listening for change notices");
        let mut wait = FIRST_RETRY;
        listening = loop {
            tokio::time::sleep(wait).await;
            match listen(&config, &shared).await {
                Ok(listening) => break listening,
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for change notices yet");
                    wait = (wait * 2).min(LAST_RETRY);
                }
            }
        };
        tracing::info!("listening for change notices again");
        shared.deliver(ChangeNotice::Everything);
    }
}

async fn run_announcer(config: Config, shared: Arc<Shared>) {
    let mut connected: Option<(Client, Statement)> = None;
    let mut wait = FIRST_RETRY;
    loop {
        shared.kick.notified().await;
        let batch = std::mem::take(&mut *lock(&shared.pending));
        if batch.is_empty() {
            continue;
        }
        match announce(&config, &mut connected, &batch).await {
            Ok(()) => wait = FIRST_RETRY,
            Err(error) => {
                tracing::warn!(%error, "cannot announce changes to the other nodes");
                shared.put_back(batch);
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(LAST_RETRY);
                shared.kick.notify_one();
            }
        }
    }
}

async fn announce(
    config: &Config,
    connected: &mut Option<(Client, Statement)>,
    batch: &Pending,
) -> Result<(), StoreError> {
    let mut channels: Vec<&str> = Vec::with_capacity(batch.queues.len() + 1);
    let mut payloads: Vec<String> = Vec::with_capacity(batch.queues.len() + 1);
    for key in &batch.queues {
        channels.push(MESSAGES);
        payloads.push(encode_queue(key));
    }
    if batch.security {
        channels.push(SECURITY);
        payloads.push(String::new());
    }
    // Taken out while in use: a connection that fails is dropped, and the next call makes another.
    let (client, statement) = match connected.take() {
        Some(connected) => connected,
        None => {
            let (client, connection) = config.connect(NoTls).await.map_err(backend)?;
            // Ends when the client is dropped (a failure here, or the store going away).
            tokio::spawn(connection);
            let statement = client.prepare(ANNOUNCE).await.map_err(backend)?;
            (client, statement)
        }
    };
    client
        .execute(&statement, &[&channels, &payloads])
        .await
        .map_err(backend)?;
    *connected = Some((client, statement));
    Ok(())
}

/// A queue as a notification names it: `account/region/name`, each part with `%` and `/` escaped.
/// A key too long for a payload is sent as the empty payload, which listeners take as "any queue".
fn encode_queue(key: &QueueKey) -> String {
    let payload = [&key.account_id, &key.region, &key.name]
        .map(|part| part.replace('%', "%25").replace('/', "%2F"))
        .join("/");
    if payload.len() > MAX_PAYLOAD {
        return String::new();
    }
    payload
}

fn decode_queue(payload: &str) -> Option<QueueKey> {
    let mut parts = payload.split('/').map(unescape);
    let key = QueueKey {
        account_id: parts.next()??,
        region: parts.next()??,
        name: parts.next()??,
    };
    parts.next().is_none().then_some(key)
}

fn unescape(part: &str) -> Option<String> {
    let mut out = String::with_capacity(part.len());
    let mut rest = part;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let escaped = rest.get(at..at + 3)?;
        out.push(match escaped {
            "%25" => '%',
            "%2F" => '/',
            _ => return None,
        });
        rest = &rest[at + 3..];
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(account_id: &str, region: &str, name: &str) -> QueueKey {
        QueueKey {
            account_id: account_id.into(),
            region: region.into(),
            name: name.into(),
        }
    }

    #[test]
    fn a_queue_survives_its_payload() {
        for queue in [
            key("000000000000", "us-east-1", "orders.fifo"),
            key("a/b", "%2F", "100%/"),
            key("", "", ""),
        ] {
            let payload = encode_queue(&queue);
            assert_eq!(decode_queue(&payload), Some(queue), "{payload}");
        }
        assert_eq!(
            encode_queue(&key("000000000000", "us-east-1", "q")),
            "000000000000/us-east-1/q"
        );
    }

    #[test]
    fn a_payload_that_names_no_queue_decodes_to_none() {
        for payload in ["", "a/b", "a/b/c/d", "a/b/%2", "a/b/%41"] {
            assert_eq!(decode_queue(payload), None, "{payload}");
        }
    }

    #[test]
    fn a_queue_too_long_for_a_payload_is_sent_as_any_queue() {
        let long = key("000000000000", "us-east-1", &"/".repeat(3000));
        assert_eq!(encode_queue(&long), "");
        let fits = key("000000000000", "us-east-1", &"q".repeat(7900));
        assert_eq!(decode_queue(&encode_queue(&fits)), Some(fits));
    }
}
