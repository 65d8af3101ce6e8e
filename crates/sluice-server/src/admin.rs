//! The admin listener, apart from the API port: health for load balancers and orchestrators, and
//! the web console with its API.
//! `/health/live` answers as soon as the process listens (recovery may still be running);
//! `/health/ready` answers 200 once recovery is done, the service is set up and the store can
//! serve (not while it is out of service after a failed write), 503 otherwise.
//! `/` and `/console/<file>` are the console's files (`console.rs`); `POST /api` runs a request
//! through the same `Front::serve` as the API port, so the console acts with exactly the
//! permissions of whoever signed it; it answers 503 until the server is set up.
//!
//! It is bound before recovery, so that a long recovery shows as live but not ready. Connections
//! follow the API port's phases and deadlines (`connection.rs`), so the console can keep one open
//! and long-poll; few are served at once, as this listener is for a handful of operators.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use sluice_store::Store;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

use crate::connection::{Activity, Timeouts, TrackedIo};
use crate::console;
use crate::front::{Front, Listener};

/// Admin connections served at once; more wait to be accepted.
const MAX_ADMIN_CONNECTIONS: usize = 32;

/// What the admin endpoints look at: the store, once the server is ready to serve, and the front
/// end `/api` hands requests to.
#[derive(Default)]
pub struct Health {
    store: OnceLock<Arc<dyn Store>>,
    front: OnceLock<Arc<Front>>,
}

impl Health {
    /// Marks the server set up: from now on readiness is the store's, and `/api` is served.
    pub fn set_ready(&self, store: Arc<dyn Store>, front: Arc<Front>) {
        let _ = self.store.set(store);
        let _ = self.front.set(front);
    }

    fn ready(&self) -> bool {
        self.store.get().is_some_and(|store| store.is_ready())
    }
}

/// Serves the admin endpoints on `listener` until `stopped` changes.
pub async fn serve(
    listener: TcpListener,
    health: Arc<Health>,
    timeouts: Timeouts,
    mut stopped: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(MAX_ADMIN_CONNECTIONS));
    loop {
        let permit = tokio::select! {
            _ = stopped.changed() => return,
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
        };
        let stream = tokio::select! {
            _ = stopped.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::debug!(error = %e, "admin accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        tokio::spawn(serve_connection(
            stream,
            health.clone(),
            timeouts,
            permit,
            stopped.clone(),
        ));
    }
}

/// Serves one admin connection until the client closes it, a phase deadline passes, or the server
/// stops.
async fn serve_connection(
    stream: TcpStream,
    health: Arc<Health>,
    timeouts: Timeouts,
    _permit: OwnedSemaphorePermit,
    mut stop: watch::Receiver<bool>,
) {
    let activity = Activity::new(timeouts);
    let peer = stream.peer_addr().ok().map(|a| a.ip());
    let io = TokioIo::new(TrackedIo::new(stream, activity.clone()));
    let service = {
        let activity = activity.clone();
        service_fn(move |request| {
            let health = health.clone();
            let activity = activity.clone();
            async move {
                activity.reading_body();
                let response = answer(request, &health, &activity, peer).await;
                activity.responded();
                Ok::<_, Infallible>(response)
            }
        })
    };
    let connection = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(io, service);
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        _ = activity.expired() => {}
        _ = stop.changed() => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

async fn answer(
    request: Request<Incoming>,
    health: &Health,
    activity: &Activity,
    peer: Option<IpAddr>,
) -> Response<Full<Bytes>> {
    let method = request.method().clone();
    let (status, body) = match (&method, request.uri().path()) {
        (&Method::GET | &Method::HEAD, "/health/live") => (StatusCode::OK, "live\n"),
        (&Method::GET | &Method::HEAD, "/health/ready") if health.ready() => {
            (StatusCode::OK, "ready\n")
        }
        (&Method::GET | &Method::HEAD, "/health/ready") => {
            (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
        }
        (_, "/health/live" | "/health/ready") => (StatusCode::METHOD_NOT_ALLOWED, "GET only\n"),
        (&Method::POST, "/api") => match health.front.get() {
            Some(front) => {
                let front = front.clone();
                let served = front.serve(request, activity, peer, Listener::Admin).await;
                return served.unwrap_or_else(|never| match never {});
            }
            None => (StatusCode::SERVICE_UNAVAILABLE, "not ready\n"),
        },
        (_, "/api") => (StatusCode::METHOD_NOT_ALLOWED, "POST only\n"),
        (&Method::GET | &Method::HEAD, "/console/config") => match health.front.get() {
            Some(front) => return console::config(&front.config),
            None => (StatusCode::SERVICE_UNAVAILABLE, "not ready\n"),
        },
        (&Method::GET | &Method::HEAD, path) => match console::asset(path) {
            Some(response) => return response,
            None => (StatusCode::NOT_FOUND, "not found\n"),
        },
        _ => (StatusCode::NOT_FOUND, "not found\n"),
    };
    console::page_response(
        status,
        "text/plain; charset=utf-8",
        Bytes::from_static(body.as_bytes()),
    )
}

/// Binds the admin listener. A default address that is taken is a warning, not a failure: the
/// API still serves; an address the operator chose must bind.
pub async fn bind(addr: SocketAddr, chosen: bool) -> Result<Option<TcpListener>, std::io::Error> {
    match TcpListener::bind(addr).await {
        Ok(listener) => Ok(Some(listener)),
        Err(e) if !chosen => {
            tracing::warn!(%addr, error = %e, "admin listener not started (health endpoints unavailable); give --admin-bind to choose another address, or none");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_store::MemoryStore;

    #[test]
    fn ready_only_once_set_up() {
        let health = Health::default();
        assert!(!health.ready());
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let _ = health.store.set(store);
        assert!(health.ready());
    }
}
