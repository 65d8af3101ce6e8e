//! The Sluice server: configuration, the HTTP front end, and start-up and shutdown of the whole.

pub mod config;
mod front;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use sluice_model::types::{CreateQueueInput, Request};
use sluice_model::{ErrorCode, Identity, RequestContext};
use sluice_queue::{QueueService, ServiceConfig, SystemClock};
use sluice_store::{DurableStore, MemoryStore, Store};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

pub use config::{Config, QueueSpec, StorageKind};

use crate::front::Front;

/// How long shutdown waits for requests in flight before closing their connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
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
    #[error("configured queue {name} could not be created: {message}")]
    ConfiguredQueue { name: String, message: String },
}

/// A server that is accepting connections.
pub struct RunningServer {
    local_addr: SocketAddr,
    public_url: String,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningServer {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
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
    };
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
    let service = QueueService::new(
        store,
        Arc::new(SystemClock),
        &ServiceConfig {
            public_url: public_url.clone(),
            default_region: config.region.clone(),
            receipt_secret,
        },
    );
    create_configured_queues(&service, &config).await?;
    let resumed = service
        .resume_move_tasks()
        .await
        .map_err(|e| ServerError::Storage(e.to_string()))?;
    if resumed > 0 {
        tracing::info!(tasks = resumed, "message move tasks resumed");
    }
    let front = Arc::new(Front {
        service,
        default_region: config.region.clone(),
        default_account_id: config.account_id.clone(),
    });
    let (stop, stopped) = watch::channel(false);
    let sweeper = tokio::spawn(sweep_expired(front.clone(), stopped.clone()));
    let task = tokio::spawn(async move {
        accept_loop(listener, front.clone(), stopped).await;
        let _ = sweeper.await;
        if let Err(e) = front.service.flush().await {
            tracing::error!(error = %e, "final flush failed");
        }
    });
    Ok(RunningServer {
        local_addr,
        public_url,
        stop,
        task,
    })
}

async fn create_configured_queues(
    service: &QueueService,
    config: &Config,
) -> Result<(), ServerError> {
    for spec in &config.queues {
        let ctx = RequestContext {
            request_id: "startup".to_string(),
            account_id: spec
                .account_id
                .clone()
                .unwrap_or_else(|| config.account_id.clone()),
            region: spec.region.clone().unwrap_or_else(|| config.region.clone()),
            identity: Identity {
                access_key_id: None,
            },
            trace_header: None,
        };
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

async fn accept_loop(listener: TcpListener, front: Arc<Front>, mut stopped: watch::Receiver<bool>) {
    // Connections in flight, so shutdown can wait for them.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = stopped.changed() => {
                front.service.begin_shutdown();
                break;
            }
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        // Running out of file descriptors must not end the server; back off and retry.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let front = front.clone();
                let mut stop = stopped.clone();
                connections.spawn(async move {
                    let service = service_fn(move |request| front.clone().serve(request));
                    let connection = http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), service);
                    tokio::pin!(connection);
                    tokio::select! {
                        _ = connection.as_mut() => {}
                        _ = stop.changed() => {
                            connection.as_mut().graceful_shutdown();
                            let _ = connection.await;
                        }
                    }
                });
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
