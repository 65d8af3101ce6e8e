//! The admin listener, apart from the API port: health for load balancers and orchestrators, and
//! the web console with its API, and Prometheus metrics.
//! `/health/live` answers as soon as the process listens (recovery may still be running);
//! `/health/ready` answers 200 once recovery is done, the service is set up and the store can
//! serve (not while it is out of service after a failed write), 503 otherwise. `/metrics`
//! answers once the service is set up; with authentication on, only to an access key and its
//! secret given as basic credentials, whose principal may `cloudwatch:GetMetricData`.
//! `/` and `/console/<file>` are the console's files (`console.rs`); `POST /api` runs a request
//! through the same `Front::serve` as the API port, so the console acts with exactly the
//! permissions of whoever signed it; it answers 503 until the server is set up.
//!
//! With authentication off, the listener is on loopback, and everything but health answers only to a
//! `Host` that names a loopback address (`localhost`, `*.localhost`, `127.0.0.0/8`, `[::1]`); others get
//! 421. A page on another site that rebinds its own name to 127.0.0.1 reaches the listener as a
//! same-origin request, which no preflight stops, but it still names its own host. With
//! authentication on, every request needs a signature or a secret that such a page does not have.
//!
//! It is bound before recovery, so that a long recovery shows as live but not ready. Connections
//! follow the API port's phases and deadlines (`connection.rs`), so the console can keep one open
//! and long-poll; few are served at once, as this listener is for a handful of operators.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use sluice_model::Access;
use sluice_store::Store;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

use crate::connection::{self, Activity, Timeouts};
use crate::console;
use crate::front::{Front, Listener};
use crate::metrics;

/// Admin connections served at once; more wait to be accepted.
const MAX_ADMIN_CONNECTIONS: usize = 32;

/// What the admin endpoints look at: the store and the front end, once the server is set up.
#[derive(Default)]
pub struct Health {
    store: OnceLock<Arc<dyn Store>>,
    front: OnceLock<Arc<Front>>,
}

impl Health {
    /// Marks the server set up: from now on readiness is the store's, and the front end serves
    /// `/api` and what the admin listener shows of the service.
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
    hosts: Hosts,
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
        tokio::spawn(serve_connection(
            stream,
            peer.ip(),
            health.clone(),
            timeouts,
            hosts,
            permit,
            stopped.clone(),
        ));
    }
}

/// Serves one admin connection: each request goes to `answer`.
async fn serve_connection(
    stream: TcpStream,
    peer: IpAddr,
    health: Arc<Health>,
    timeouts: Timeouts,
    hosts: Hosts,
    _permit: OwnedSemaphorePermit,
    stop: watch::Receiver<bool>,
) {
    connection::serve(stream, timeouts, stop, move |request, activity, _| {
        let health = health.clone();
        async move {
            let path = request.uri().path();
            let health_check = matches!(path, "/health/live" | "/health/ready");
            if hosts == Hosts::Loopback && !health_check && !names_loopback(request.headers()) {
                return text(
                    StatusCode::MISDIRECTED_REQUEST,
                    "with authentication off, this listener answers only to a loopback host name\n"
                        .to_string(),
                );
            }
            answer(request, &health, &activity, peer).await
        }
    })
    .await;
}

/// Which `Host` names the admin listener answers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hosts {
    /// Any: requests are authenticated.
    Any,
    /// Only names of loopback addresses: authentication is off.
    Loopback,
}

/// Whether the request's `Host` names a loopback address.
fn names_loopback(headers: &http::HeaderMap) -> bool {
    let Some(authority) = headers
        .get(http::header::HOST)
        .and_then(|host| host.to_str().ok())
        .and_then(|host| host.parse::<http::uri::Authority>().ok())
    else {
        return false;
    };
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    match host.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => {
            let name = host.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
    }
}

async fn answer(
    request: Request<Incoming>,
    health: &Health,
    activity: &Activity,
    peer: IpAddr,
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
        (&Method::GET, "/metrics") => return metrics(&request, health, peer).await,
        (_, "/health/live" | "/health/ready" | "/metrics") => {
            (StatusCode::METHOD_NOT_ALLOWED, "GET only\n")
        }
        // Operator endpoints of fixed paths go above the console's arms: the last of those takes
        // every other GET.
        (&Method::POST, "/api") => match health.front.get() {
            Some(front) => {
                let front = front.clone();
                let served = front
                    .serve(request, activity, Some(peer), Listener::Admin)
                    .await;
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
    text(status, body.to_string())
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    console::page_response(status, "text/plain; charset=utf-8", Bytes::from(body))
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
    let header = request
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let Some((access_key_id, secret)) = header.and_then(sluice_security::basic_credentials) else {
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
    fn only_loopback_names_are_loopback_hosts() {
        let named = |host: Option<&str>| {
            let mut headers = http::HeaderMap::new();
            if let Some(host) = host {
                headers.insert(http::header::HOST, host.parse().unwrap());
            }
            names_loopback(&headers)
        };
        for host in [
            "127.0.0.1:9325",
            "127.8.9.10",
            "[::1]:9325",
            "localhost:9325",
            "LocalHost.",
            "console.localhost:9325",
        ] {
            assert!(named(Some(host)), "{host}");
        }
        for host in [
            "evil.example:9325",
            "localhost.evil.example",
            "10.0.0.1:9325",
            "[::2]",
            "",
            "not a host",
        ] {
            assert!(!named(Some(host)), "{host}");
        }
        assert!(!named(None), "no Host at all");
    }

    #[test]
    fn ready_only_once_set_up() {
        let health = Health::default();
        assert!(!health.ready());
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let _ = health.store.set(store);
        assert!(health.ready());
    }
}
