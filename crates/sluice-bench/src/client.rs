//! One keep-alive HTTP/1.1 connection to the server, and SQS calls over it: AWS JSON 1.0 bodies,
//! SigV4-signed, each bounded by a timeout. A connection that fails or times out is dropped and the
//! next call opens a new one.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::sigv4::{self, Signer};

pub const JSON_CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// Where the server listens, from `http://host[:port]`.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// `host[:port]` as written, for the `Host` header.
    pub authority: String,
    pub host: String,
    pub port: u16,
}

impl Endpoint {
    pub fn parse(url: &str) -> Result<Self, String> {
        let rest = if let Some(rest) = url.strip_prefix("http://") {
            rest
        } else if url.starts_with("https://") {
            return Err(format!(
                "{url}: https is not supported; the benchmark speaks plain HTTP/1.1"
            ));
        } else {
            url
        };
        let authority = rest.split('/').next().unwrap_or_default();
        if authority.is_empty() {
            return Err(format!("{url}: no host in the endpoint"));
        }
        let bad_port = |port: &str| format!("{url}: bad port {port:?}");
        let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
            // [v6 address] or [v6 address]:port
            let (host, after) = bracketed
                .split_once(']')
                .ok_or_else(|| format!("{url}: unclosed '[' in the host"))?;
            match after.strip_prefix(':') {
                Some(port) => (host, port.parse::<u16>().map_err(|_| bad_port(port))?),
                None if after.is_empty() => (host, 80),
                None => return Err(format!("{url}: unexpected {after:?} after the host")),
            }
        } else {
            match authority.split_once(':') {
                Some((host, port)) => (host, port.parse::<u16>().map_err(|_| bad_port(port))?),
                None => (authority, 80),
            }
        };
        Ok(Endpoint {
            authority: authority.to_string(),
            host: host.to_string(),
            port,
        })
    }
}

/// How a call failed.
#[derive(Debug, Clone)]
pub enum CallError {
    /// No answer within the request timeout.
    Timeout,
    /// Could not connect, or the connection broke.
    Transport(String),
    /// The server answered with an error.
    Api {
        status: u16,
        code: String,
        message: String,
    },
    /// The server answered 200 with a body this tool cannot read.
    BadResponse(String),
}

impl CallError {
    /// Whether trying again later can succeed: time-outs, broken connections, server-side faults and
    /// throttling. Anything else is the server refusing the request and ends the run.
    pub fn is_transient(&self) -> bool {
        match self {
            CallError::Timeout | CallError::Transport(_) => true,
            CallError::Api { status, code, .. } => {
                *status >= 500
                    || matches!(
                        code.as_str(),
                        "ThrottlingException" | "RequestThrottled" | "ServiceUnavailable"
                    )
            }
            CallError::BadResponse(_) => false,
        }
    }

    pub fn is_code(&self, wanted: &str) -> bool {
        matches!(self, CallError::Api { code, .. } if code == wanted)
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Timeout => write!(f, "request timed out"),
            CallError::Transport(e) => write!(f, "connection error: {e}"),
            CallError::Api {
                status,
                code,
                message,
            } => write!(f, "HTTP {status} {code}: {message}"),
            CallError::BadResponse(e) => write!(f, "unreadable response: {e}"),
        }
    }
}

/// Settings every connection shares.
#[derive(Clone)]
pub struct ClientConfig {
    pub endpoint: Endpoint,
    pub signer: Signer,
    pub request_timeout: Duration,
}

/// A worker's own connection.
pub struct Conn {
    config: ClientConfig,
    sender: Option<http1::SendRequest<Full<Bytes>>>,
    /// Connections opened, the first included.
    pub connects: u64,
}

impl Conn {
    pub fn new(config: ClientConfig) -> Self {
        Conn {
            config,
            sender: None,
            connects: 0,
        }
    }

    async fn connect(&mut self) -> Result<http1::SendRequest<Full<Bytes>>, CallError> {
        let endpoint = &self.config.endpoint;
        let stream = TcpStream::connect((endpoint.host.as_str(), endpoint.port))
            .await
            .map_err(|e| CallError::Transport(format!("connect to {}: {e}", endpoint.authority)))?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| CallError::Transport(format!("handshake: {e}")))?;
        tokio::spawn(async move {
            // Ends when the server closes the connection or the sender is dropped.
            let _ = connection.await;
        });
        self.connects += 1;
        Ok(sender)
    }

    /// Calls `AmazonSQS.<operation>` with a JSON body and returns the raw response body, bounded by the
    /// request timeout or, if sooner, `deadline`.
    pub async fn call_raw(
        &mut self,
        operation: &str,
        body: Vec<u8>,
        deadline: Option<Instant>,
    ) -> Result<Bytes, CallError> {
        let mut limit = Instant::now() + self.config.request_timeout;
        if let Some(deadline) = deadline {
            limit = limit.min(deadline);
        }
        match tokio::time::timeout_at(limit, self.exchange(operation, body)).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(e)) => {
                if matches!(e, CallError::Transport(_)) {
                    self.sender = None;
                }
                Err(e)
            }
            Err(_) => {
                // The answer may still arrive on this connection; never read it as another's.
                self.sender = None;
                Err(CallError::Timeout)
            }
        }
    }

    pub async fn call<T: DeserializeOwned>(
        &mut self,
        operation: &str,
        body: Vec<u8>,
        deadline: Option<Instant>,
    ) -> Result<T, CallError> {
        let raw = self.call_raw(operation, body, deadline).await?;
        serde_json::from_slice(&raw)
            .map_err(|e| CallError::BadResponse(format!("{operation}: {e}")))
    }

    async fn exchange(&mut self, operation: &str, body: Vec<u8>) -> Result<Bytes, CallError> {
        let mut sender = match self.sender.take() {
            Some(s) if !s.is_closed() => s,
            _ => self.connect().await?,
        };
        sender
            .ready()
            .await
            .map_err(|e| CallError::Transport(format!("connection not ready: {e}")))?;
        let request = self.build(operation, body)?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| CallError::Transport(e.to_string()))?;
        let status = response.status().as_u16();
        let keep_alive = !response
            .headers()
            .get(hyper::header::CONNECTION)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
        let answer = response
            .into_body()
            .collect()
            .await
            .map_err(|e| CallError::Transport(format!("reading response: {e}")))?
            .to_bytes();
        if keep_alive {
            self.sender = Some(sender);
        }
        if status == 200 {
            Ok(answer)
        } else {
            Err(api_error(status, &answer))
        }
    }

    fn build(&mut self, operation: &str, body: Vec<u8>) -> Result<Request<Full<Bytes>>, CallError> {
        let amz_date = sigv4::amz_date_now();
        let target = format!("AmazonSQS.{operation}");
        let authorization = self.config.signer.authorization(
            &amz_date,
            "POST",
            "/",
            "",
            &[
                ("content-type", JSON_CONTENT_TYPE),
                ("host", &self.config.endpoint.authority),
                ("x-amz-date", &amz_date),
                ("x-amz-target", &target),
            ],
            &body,
        );
        let header = |v: &str| {
            HeaderValue::from_str(v).map_err(|e| CallError::BadResponse(format!("header: {e}")))
        };
        let mut request = Request::new(Full::new(Bytes::from(body)));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = hyper::Uri::from_static("/");
        let headers = request.headers_mut();
        headers.insert(HOST, header(&self.config.endpoint.authority)?);
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON_CONTENT_TYPE));
        headers.insert("x-amz-date", header(&amz_date)?);
        headers.insert("x-amz-target", header(&target)?);
        headers.insert(AUTHORIZATION, header(&authorization)?);
        Ok(request)
    }
}

/// `{"__type": "...#Code", "message": "..."}`, or whatever the body says if it is not that.
fn api_error(status: u16, body: &[u8]) -> CallError {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        #[serde(rename = "__type", default)]
        kind: String,
        #[serde(alias = "Message", default)]
        message: String,
    }
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) if !e.kind.is_empty() => CallError::Api {
            status,
            code: e.kind.rsplit('#').next().unwrap_or_default().to_string(),
            message: e.message,
        },
        _ => CallError::Api {
            status,
            code: format!("HTTP{status}"),
            message: String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned(),
        },
    }
}

/// Appends `value` to `out` as a JSON string literal.
pub fn push_json_str(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Waits for `duration`, or until `deadline` if that comes first.
pub async fn sleep_before(duration: Duration, deadline: Instant) {
    tokio::time::sleep_until((Instant::now() + duration).min(deadline)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let e = Endpoint::parse("http://127.0.0.1:9324").unwrap();
        assert_eq!(
            (e.authority.as_str(), e.host.as_str(), e.port),
            ("127.0.0.1:9324", "127.0.0.1", 9324)
        );
        let e = Endpoint::parse("localhost:9400/").unwrap();
        assert_eq!((e.host.as_str(), e.port), ("localhost", 9400));
        let e = Endpoint::parse("http://[::1]").unwrap();
        assert_eq!((e.host.as_str(), e.port), ("::1", 80));
        let e = Endpoint::parse("http://sqs.local").unwrap();
        assert_eq!((e.host.as_str(), e.port), ("sqs.local", 80));
        let e = Endpoint::parse("http://[::1]:9324").unwrap();
        assert_eq!((e.host.as_str(), e.port), ("::1", 9324));
        assert!(Endpoint::parse("https://x").is_err());
        assert!(Endpoint::parse("http://h:notaport").is_err());
    }

    #[test]
    fn error_bodies() {
        let e = api_error(
            400,
            br#"{"__type":"com.amazonaws.sqs#UnsupportedOperation","message":"no fifo"}"#,
        );
        assert!(e.is_code("UnsupportedOperation"));
        assert!(!e.is_transient());
        let e = api_error(503, b"busy");
        assert!(e.is_transient());
        assert_eq!(e.to_string(), "HTTP 503 HTTP503: busy");
    }

    #[test]
    fn json_strings() {
        let mut s = String::new();
        push_json_str(&mut s, "a\"b\\c\n\u{1}");
        assert_eq!(s, r#""a\"b\\c\n\u0001""#);
        assert_eq!(
            serde_json::from_str::<String>(&s).unwrap(),
            "a\"b\\c\n\u{1}"
        );
    }
}
