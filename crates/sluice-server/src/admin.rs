//! The admin listener, apart from the API port: health for load balancers and orchestrators.
//! `/health/live` answers as soon as the process listens (recovery may still be running);
//! `/health/ready` answers 200 once recovery is done, the service is set up and the store can
//! serve (not while it is out of service after a failed write), 503 otherwise.
//!
//! It is bound before recovery, so that a long recovery shows as live but not ready. Each
//! connection serves one request under a header deadline, and few are served at once: nothing here
//! is worth holding a connection open for.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use sluice_store::Store;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

/// Admin connections served at once; more wait to be accepted.
const MAX_ADMIN_CONNECTIONS: usize = 32;
/// How long an admin client has to send its request.
const ADMIN_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// What the health endpoints look at: the store, once the server is ready to serve.
#[derive(Default)]
pub struct Health {
    store: OnceLock<Arc<dyn Store>>,
}

impl Health {
    /// Marks the server set up: from now on readiness is the store's.
    pub fn set_ready(&self, store: Arc<dyn Store>) {
        let _ = self.store.set(store);
    }

    fn ready(&self) -> bool {
        self.store.get().is_some_and(|store| store.is_ready())
    }
}

/// Serves the admin endpoints on `listener` until `stopped` changes.
pub async fn serve(listener: TcpListener, health: Arc<Health>, mut stopped: watch::Receiver<bool>) {
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
        let health = health.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let health = health.clone();
                async move { Ok::<_, Infallible>(answer(&request, &health)) }
            });
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(ADMIN_REQUEST_TIMEOUT)
                .keep_alive(false)
                .serve_connection(TokioIo::new(stream), service);
            let _ = tokio::time::timeout(ADMIN_REQUEST_TIMEOUT * 2, connection).await;
            drop(permit);
        });
    }
}

fn answer(request: &Request<Incoming>, health: &Health) -> Response<Full<Bytes>> {
    let (status, body) = match (request.method(), request.uri().path()) {
        (&Method::GET | &Method::HEAD, "/health/live") => (StatusCode::OK, "live\n"),
        (&Method::GET | &Method::HEAD, "/health/ready") if health.ready() => {
            (StatusCode::OK, "ready\n")
        }
        (&Method::GET | &Method::HEAD, "/health/ready") => {
            (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
        }
        (_, "/health/live" | "/health/ready") => (StatusCode::METHOD_NOT_ALLOWED, "GET only\n"),
        _ => (StatusCode::NOT_FOUND, "not found\n"),
    };
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
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
        health.set_ready(Arc::new(MemoryStore::new()));
        assert!(health.ready());
    }
}
