//! The admin listener, apart from the API port: health for load balancers and orchestrators, and
//! Prometheus metrics. `/health/live` answers as soon as the process listens (recovery may still be
//! running); `/health/ready` answers 200 once recovery is done, the service is set up and the store
//! can serve (not while it is out of service after a failed write), 503 otherwise. `/metrics`
//! answers once the service is set up; with authentication on, only to an access key and its
//! secret given as basic credentials, whose principal may `cloudwatch:GetMetricData`.
//!
//! It is bound before recovery, so that a long recovery shows as live but not ready. Each
//! connection serves one request under a header deadline, and few are served at once: nothing here
//! is worth holding a connection open for.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use sluice_model::Access;
use sluice_store::Store;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

use crate::front::Front;
use crate::metrics;

/// Admin connections served at once; more wait to be accepted.
const MAX_ADMIN_CONNECTIONS: usize = 32;
/// How long an admin client has to send its request.
const ADMIN_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// What the admin endpoints look at: the store and the front end, once the server is set up.
#[derive(Default)]
pub struct Health {
    store: OnceLock<Arc<dyn Store>>,
    front: OnceLock<Arc<Front>>,
}

impl Health {
    /// Marks the server set up: from now on readiness is the store's, and the front end serves
    /// what the admin listener shows of the service.
    pub fn set_ready(&self, store: Arc<dyn Store>, front: Arc<Front>) {
        let _ = self.front.set(front);
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
        let (stream, peer) = tokio::select! {
            _ = stopped.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => (stream, peer),
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
                async move { Ok::<_, Infallible>(answer(&request, &health, peer.ip()).await) }
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

async fn answer(
    request: &Request<Incoming>,
    health: &Health,
    peer: IpAddr,
) -> Response<Full<Bytes>> {
    let (status, body) = match (request.method(), request.uri().path()) {
        (&Method::GET | &Method::HEAD, "/health/live") => (StatusCode::OK, "live\n"),
        (&Method::GET | &Method::HEAD, "/health/ready") if health.ready() => {
            (StatusCode::OK, "ready\n")
        }
        (&Method::GET | &Method::HEAD, "/health/ready") => {
            (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
        }
        (&Method::GET, "/metrics") => return metrics(request, health, peer).await,
        (_, "/health/live" | "/health/ready" | "/metrics") => {
            (StatusCode::METHOD_NOT_ALLOWED, "GET only\n")
        }
        _ => (StatusCode::NOT_FOUND, "not found\n"),
    };
    text(status, body.to_string())
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

async fn metrics(
    request: &Request<Incoming>,
    health: &Health,
    peer: IpAddr,
) -> Response<Full<Bytes>> {
    let Some(front) = health.front.get() else {
        return text(StatusCode::SERVICE_UNAVAILABLE, "not ready\n".into());
    };
    if let Err(refusal) = authorize_scrape(front, request, peer).await {
        return refusal;
    }
    let mut response = Response::new(Full::new(Bytes::from(
        front.metrics.render(&front.service).await,
    )));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(metrics::CONTENT_TYPE),
    );
    response
}

/// With authentication on, a scrape must carry an access key and its secret as basic credentials,
/// and their principal must be allowed `cloudwatch:GetMetricData`, the action that reads
/// CloudWatch's metrics.
async fn authorize_scrape(
    front: &Front,
    request: &Request<Incoming>,
    peer: IpAddr,
) -> Result<(), Response<Full<Bytes>>> {
    let Some(authorizer) = &front.authorizer else {
        return Ok(());
    };
    let challenge = |message: String| {
        let mut response = text(StatusCode::UNAUTHORIZED, message + "\n");
        response.headers_mut().insert(
            http::header::WWW_AUTHENTICATE,
            http::HeaderValue::from_static("Basic realm=\"sluice metrics\""),
        );
        response
    };
    let Some((access_key_id, secret)) = basic_credentials(request) else {
        return Err(challenge(
            "Give an access key ID and its secret access key as basic credentials.".into(),
        ));
    };
    let caller = front
        .authenticator
        .authenticate_secret(&access_key_id, &secret, front.clock.now_seconds())
        .await
        .map_err(|error| challenge(error.message))?;
    let access = Access::new(
        "cloudwatch:GetMetricData",
        "*".to_string(),
        &caller.principal.account_id,
    );
    let environment = front.environment(&front.config.region, Some(peer));
    authorizer
        .authorize(
            &caller.principal,
            caller.access_key_id.as_deref(),
            &access,
            &environment,
        )
        .await
        .map_err(|denied| text(StatusCode::FORBIDDEN, denied.message + "\n"))
}

/// The user name and password of an `Authorization: Basic` header.
fn basic_credentials(request: &Request<Incoming>) -> Option<(String, String)> {
    let header = request.headers().get(http::header::AUTHORIZATION)?;
    let encoded = header.to_str().ok()?.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_string(), password.to_string()))
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
        let _ = health.store.set(Arc::new(MemoryStore::new()));
        assert!(health.ready());
    }
}
