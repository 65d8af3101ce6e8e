//! The Sluice server: configuration, the HTTP front end, and start-up and shutdown of the whole.

mod admin;
pub mod config;
mod connection;
mod console;
mod fdlimit;
mod front;
pub mod logging;
mod master_key;
mod metrics;
pub mod migrate;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use sluice_model::types::{CreateQueueInput, Request};
use sluice_model::{ApiError, ErrorCode, RequestContext};
use sluice_queue::{Clock, QueueService, ServiceConfig, SystemClock};
use sluice_security::directory::Directory;
use sluice_security::kms::Kms;
use sluice_security::{Authenticator, Authorizer, SqsEncryption};
use sluice_store::{DurableStore, MemoryStore, PostgresStore, Store};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

pub use config::{
    AdminBind, Config, ConfigError, DatabaseUrl, MasterKeySource, QueueSpec, StorageKind,
};
pub use master_key::MASTER_KEY_FILE;
pub use sluice_security::AuthMode;

use crate::connection::Timeouts;
use crate::front::{Front, Listener};
use crate::metrics::ServerMetrics;

/// How long shutdown waits for requests in flight before closing their connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Storage(String),
    #[error("database {url}: {message}")]
    Database { url: DatabaseUrl, message: String },
    #[error(
        "no account exists in the database, and with postgres storage no root key is made (its secret \
         would be written to one node's disk): add [[accounts]] with id, access-key-id and \
         secret-access-key to the config file, or give --auth off"
    )]
    NoAccounts,
    #[error("configured queue {name} could not be created: {message}")]
    ConfiguredQueue { name: String, message: String },
    #[error("configured account {id} could not be created: {message}")]
    ConfiguredAccount { id: String, message: String },
    #[error("master key: {0}")]
    MasterKey(String),
    #[error("cannot write the root credentials to {path}: {source}")]
    RootCredentials {
        path: String,
        source: std::io::Error,
    },
}

/// The file, in the data directory, that holds the root key made on first start in `sigv4` mode with
/// no account configured. It has the form of an AWS shared credentials file, so
/// `AWS_SHARED_CREDENTIALS_FILE` can name it.
pub const ROOT_CREDENTIALS_FILE: &str = "root-credentials";

/// Creates the configured accounts and identities (an entry that exists is left alone); in `sigv4`
/// mode with none configured or stored, creates the default account's root key and writes it, readable
/// by the owner only, into the data directory.
async fn prepare_accounts(
    directory: &Directory,
    config: &Config,
    now: i64,
) -> Result<(), ServerError> {
    for account in &config.accounts {
        directory
            .seed(account, now)
            .await
            .map_err(|e| ServerError::ConfiguredAccount {
                id: account.id.clone(),
                message: e.message,
            })?;
    }
    if config.auth == AuthMode::Off {
        if config.auth_explicit && !config.bind.ip().is_loopback() {
            tracing::warn!(
                bind = %config.bind,
                "authentication is off on an address beyond loopback: anyone who can reach it can \
                 read, change and delete every queue"
            );
        }
        return Ok(());
    }
    let has_accounts = directory
        .has_accounts()
        .await
        .map_err(|e| ServerError::Storage(e.message))?;
    if config.storage == StorageKind::Postgres {
        return if has_accounts {
            Ok(())
        } else {
            Err(ServerError::NoAccounts)
        };
    }
    let path = config.data_dir.join(ROOT_CREDENTIALS_FILE);
    if !has_accounts {
        let (access_key_id, secret) = directory
            .create_root_key(&config.account_id, now)
            .await
            .map_err(|e| ServerError::ConfiguredAccount {
                id: config.account_id.clone(),
                message: e.message,
            })?;
        let credentials = format!(
            "[default]\naws_access_key_id = {access_key_id}\naws_secret_access_key = {secret}\n"
        );
        write_private_file(&path, &credentials).map_err(|source| ServerError::RootCredentials {
            path: path.display().to_string(),
            source,
        })?;
        tracing::info!(
            account = %config.account_id,
            path = %path.display(),
            "created the account's root access key; its secret is in the file named"
        );
    } else if path.exists() {
        tracing::info!(path = %path.display(), "the default account's root key is in the file named");
    }
    Ok(())
}

/// Writes `text` to a file only its owner may read (a secret), creating its directory.
pub(crate) fn write_private_file(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    // A file left from an earlier run keeps its mode when reopened; the secret must not be readable
    // by others whatever it was.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// A server that is accepting connections.
pub struct RunningServer {
    local_addr: SocketAddr,
    admin_addr: Option<SocketAddr>,
    public_url: String,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningServer {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Where the admin listener listens, if it does.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr
    }

    /// The base URL clients use and queue URLs start with.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// Stops accepting connections, lets requests in flight finish, and returns when all connections are
    /// closed.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }

    /// Runs until the task ends (it ends only after `shutdown`).
    pub async fn wait(self) {
        let _ = self.task.await;
    }

    /// A handle that can ask the server to stop from elsewhere.
    pub fn stopper(&self) -> watch::Sender<bool> {
        self.stop.clone()
    }
}

/// Binds, prepares storage, creates the configured queues, and starts serving.
pub async fn start(config: Config) -> Result<RunningServer, ServerError> {
    serve(config, None).await
}

/// `start` with the clock that queue semantics and authentication read, so tests can move time.
pub async fn start_with_clock(
    config: Config,
    clock: Arc<dyn Clock>,
) -> Result<RunningServer, ServerError> {
    serve(config, Some(clock)).await
}

/// How often a node measures the database clock's offset again.
const CLOCK_ALIGNMENT: Duration = Duration::from_secs(60);

/// The clock of a node without one given: the system's, or on PostgreSQL the database's (which
/// every node then agrees on), measured again every minute while the store lives.
fn database_clock(store: &Arc<PostgresStore>) -> Arc<dyn Clock> {
    let watched = Arc::downgrade(store);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(CLOCK_ALIGNMENT).await;
            let Some(store) = watched.upgrade() else {
                return;
            };
            if let Err(error) = store.align_clock().await {
                tracing::debug!(%error, "the database clock could not be read");
            }
        }
    });
    store.database_clock()
}

async fn serve(
    config: Config,
    mut clock: Option<Arc<dyn Clock>>,
) -> Result<RunningServer, ServerError> {
    config.validate()?;
    // The admin listener comes first, so that a long recovery shows as live and not ready.
    let (stop, stopped) = watch::channel(false);
    let health = Arc::new(admin::Health::default());
    let mut admin_addr = None;
    if let Some(addr) = config.admin_bind {
        let bound = admin::bind(addr, config.admin_bind_explicit)
            .await
            .map_err(|source| ServerError::Bind { addr, source })?;
        if let Some(listener) = bound {
            admin_addr = listener.local_addr().ok();
            let timeouts = Timeouts {
                header_read: config.header_read_timeout,
                body_read: config.body_read_timeout,
                idle: config.idle_timeout,
            };
            let hosts = match config.auth {
                AuthMode::Sigv4 => admin::Hosts::Any,
                AuthMode::Off => admin::Hosts::Loopback,
            };
            tokio::spawn(admin::serve(
                listener,
                health.clone(),
                timeouts,
                hosts,
                stopped.clone(),
            ));
        }
    }
    // Recovery comes before binding, so the port accepts connections only once requests can be answered.
    let store: Arc<dyn Store> = match config.storage {
        StorageKind::Durable => {
            let dir = config.data_dir.clone();
            let opened = tokio::task::spawn_blocking(move || DurableStore::open(&dir))
                .await
                .map_err(|e| ServerError::Storage(e.to_string()))?;
            Arc::new(opened.map_err(|e| ServerError::Storage(e.to_string()))?)
        }
        StorageKind::Memory => Arc::new(MemoryStore::new()),
        StorageKind::Postgres => {
            let store = Arc::new(connect_database(&config).await?);
            if clock.is_none() {
                clock = Some(database_clock(&store));
            }
            store
        }
    };
    let clock = clock.unwrap_or_else(|| Arc::new(SystemClock));
    let listener = TcpListener::bind(config.bind)
        .await
        .map_err(|source| ServerError::Bind {
            addr: config.bind,
            source,
        })?;
    let local_addr = listener.local_addr().map_err(|source| ServerError::Bind {
        addr: config.bind,
        source,
    })?;
    let public_url = config.public_url_for(local_addr);
    let receipt_secret = store
        .server_secret()
        .await
        .map_err(|e| ServerError::Storage(e.to_string()))?;
    let master = master_key::load(&config)?;
    let kms = Arc::new(
        Kms::open(store.clone(), master)
            .await
            .map_err(|e| ServerError::MasterKey(e.to_string()))?,
    );
    let directory = Arc::new(Directory::new(store.clone()));
    prepare_accounts(&directory, &config, clock.now_seconds()).await?;
    let authenticator = Authenticator::new(directory.clone(), config.auth, &config.account_id);
    // Authorization comes with authentication: with `off`, whoever is named may do anything.
    let authorizer = match config.auth {
        AuthMode::Sigv4 => Some(Arc::new(Authorizer::new(
            directory.clone(),
            config.organization().map_err(ServerError::Config)?,
        ))),
        AuthMode::Off => None,
    };
    let encryption = Arc::new(SqsEncryption::new(
        kms.clone(),
        authorizer.clone(),
        clock.clone(),
    ));
    let service = QueueService::new(
        store.clone(),
        clock.clone(),
        &ServiceConfig {
            public_url: public_url.clone(),
            default_region: config.region.clone(),
            receipt_secret,
        },
        encryption,
    );
    create_configured_queues(&service, &config).await?;
    let resumed = service
        .resume_move_tasks()
        .await
        .map_err(|e| ServerError::Storage(e.to_string()))?;
    if resumed > 0 {
        tracing::info!(tasks = resumed, "message move tasks resumed");
    }
    let max_connections =
        fdlimit::max_connections(config.max_connections, fdlimit::raise_nofile_limit());
    tracing::debug!(max_connections, "connection limit");
    let limits = Limits {
        timeouts: Timeouts {
            header_read: config.header_read_timeout,
            body_read: config.body_read_timeout,
            idle: config.idle_timeout,
        },
        connections: Arc::new(Semaphore::new(max_connections)),
        refusals: Arc::new(Semaphore::new(MAX_REFUSALS)),
    };
    service.start_history();
    let metrics = Arc::new(ServerMetrics::new(store.as_ref(), config.metrics_names));
    let front = Arc::new(Front {
        service,
        directory,
        authenticator,
        authorizer,
        kms,
        clock,
        config: config.clone(),
        metrics,
    });
    health.set_ready(store, front.clone());
    let sweeper = tokio::spawn(sweep_expired(front.clone(), stopped.clone()));
    let task = tokio::spawn(async move {
        accept_loop(listener, front.clone(), limits, stopped).await;
        let _ = sweeper.await;
        if let Err(e) = front.service.flush().await {
            tracing::error!(error = %e, "final flush failed");
        }
    });
    Ok(RunningServer {
        local_addr,
        admin_addr,
        public_url,
        stop,
        task,
    })
}

/// Connects to the configured database and brings its schema to this build's version.
async fn connect_database(config: &Config) -> Result<PostgresStore, ServerError> {
    let url = config
        .database_url
        .clone()
        .ok_or(ConfigError::DatabaseUrlMissing)?;
    tracing::info!(database = %url, pool_size = config.database_pool_size, "connecting to the database");
    PostgresStore::connect(url.expose(), config.database_pool_size)
        .await
        .map_err(|e| ServerError::Database {
            url,
            message: e.to_string(),
        })
}

async fn create_configured_queues(
    service: &QueueService,
    config: &Config,
) -> Result<(), ServerError> {
    for spec in &config.queues {
        let ctx = RequestContext::root(
            "startup",
            spec.account_id.as_deref().unwrap_or(&config.account_id),
            spec.region.as_deref().unwrap_or(&config.region),
        );
        let input = CreateQueueInput {
            queue_name: spec.name.clone(),
            attributes: spec.attributes.clone(),
            tags: spec.tags.clone(),
        };
        match service.handle(&ctx, Request::CreateQueue(input)).await {
            Ok(_) => {}
            // A queue kept from an earlier run whose attributes were changed since stays as it is.
            Err(e) if e.code == ErrorCode::QueueNameExists => {
                tracing::warn!(queue = %spec.name, "configured queue exists with other attributes; left as it is");
            }
            Err(e) => {
                return Err(ServerError::ConfiguredQueue {
                    name: spec.name.clone(),
                    message: e.to_string(),
                })
            }
        }
    }
    Ok(())
}

/// How often messages past retention are removed from queues nobody reads.
const SWEEP_INTERVAL: Duration = Duration::from_secs(10);

async fn sweep_expired(front: Arc<Front>, mut stopped: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(SWEEP_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stopped.changed() => return,
            _ = tick.tick() => {
                if let Err(e) = front.service.sweep_expired().await {
                    tracing::warn!(error = %e, "retention sweep failed");
                }
            }
        }
    }
}

/// Connections being answered `ServiceUnavailable` at once; beyond this, a connection over the limit is
/// closed without an answer, so a flood cannot take the descriptors the refusals hold.
const MAX_REFUSALS: usize = 64;

/// The shortest and longest pause after a failed accept (out of file descriptors, say): short enough
/// to resume quickly, doubling so a persistent failure does not spin.
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(5);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// What a connection may take: time per phase, and a place among the connections served.
struct Limits {
    timeouts: Timeouts,
    /// One permit per connection served; a connection holds its permit until it closes.
    connections: Arc<Semaphore>,
    /// One permit per connection being refused.
    refusals: Arc<Semaphore>,
}

async fn accept_loop(
    listener: TcpListener,
    front: Arc<Front>,
    limits: Limits,
    mut stopped: watch::Receiver<bool>,
) {
    // Connections in flight, so shutdown can wait for them.
    let mut connections = JoinSet::new();
    let mut backoff = ACCEPT_BACKOFF_MIN;
    loop {
        tokio::select! {
            _ = stopped.changed() => {
                front.service.begin_shutdown();
                break;
            }
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    // The peer gave up between connecting and being accepted; nothing is wrong here.
                    Err(e) if matches!(e.kind(), std::io::ErrorKind::ConnectionAborted | std::io::ErrorKind::ConnectionReset) => continue,
                    Err(e) => {
                        // Running out of file descriptors must not end the server; back off and retry.
                        tracing::warn!(error = %e, backoff_ms = backoff.as_millis() as u64, "accept failed");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
                        continue;
                    }
                };
                backoff = ACCEPT_BACKOFF_MIN;
                let _ = stream.set_nodelay(true);
                match limits.connections.clone().try_acquire_owned() {
                    Ok(permit) => {
                        connections.spawn(serve_connection(stream, front.clone(), limits.timeouts, permit, stopped.clone()));
                    }
                    Err(_) => match limits.refusals.clone().try_acquire_owned() {
                        Ok(permit) => {
                            connections.spawn(refuse_connection(stream, limits.timeouts.header_read, permit));
                        }
                        Err(_) => tracing::debug!("connection limit reached; connection closed unanswered"),
                    },
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await
    .is_err()
    {
        tracing::warn!("connections still open after the shutdown grace period; closing them");
        connections.abort_all();
    }
}

/// Serves one API connection: each request goes to the front end.
async fn serve_connection(
    stream: TcpStream,
    front: Arc<Front>,
    timeouts: Timeouts,
    _permit: OwnedSemaphorePermit,
    stop: watch::Receiver<bool>,
) {
    // Counted open for as long as the connection is served.
    let _open = front.metrics.connection_opened();
    connection::serve(stream, timeouts, stop, move |request, activity, peer| {
        let front = front.clone();
        async move {
            let served = front.serve(request, &activity, peer, Listener::Api).await;
            served.unwrap_or_else(|never| match never {})
        }
    })
    .await;
}

/// Answers a connection over the limit with `503 ServiceUnavailable` (SDKs retry it after a pause) and
/// closes it. The request is read first, so the answer comes in its protocol and the client is not
/// reset while still sending; a client that does not send one within the header timeout is closed.
async fn refuse_connection(stream: TcpStream, within: Duration, _permit: OwnedSemaphorePermit) {
    let service = service_fn(|request: http::Request<hyper::body::Incoming>| async move {
        let error = ApiError::new(
            ErrorCode::ServiceUnavailable,
            "The server is serving as many connections as it may; retry later.",
        );
        Ok::<_, std::convert::Infallible>(front::error_response(request.headers(), &error))
    });
    let connection = http1::Builder::new()
        .keep_alive(false)
        .serve_connection(TokioIo::new(stream), service);
    let _ = tokio::time::timeout(within, connection).await;
}
