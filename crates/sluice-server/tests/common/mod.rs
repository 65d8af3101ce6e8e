//! Shared helpers for the integration tests: an in-process server on an ephemeral port with its own data
//! directory, SDK clients pointed at it, and a hand-rolled HTTP/1.1 client for byte-exact checks.
//!
//! Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use std::collections::HashMap;

use aws_sdk_sqs::config::http::HttpResponse;
use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::operation::create_queue::{CreateQueueError, CreateQueueOutput};
use aws_sdk_sqs::operation::set_queue_attributes::{
    SetQueueAttributesError, SetQueueAttributesOutput,
};
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName, QueueAttributeName as A};
use aws_sdk_sqs::Client;
use sluice_queue::{Clock, SystemClock};
use sluice_server::{Config, QueueSpec, RunningServer};

/// The account of requests whose access key is not a 12-digit number.
pub const DEFAULT_ACCOUNT: &str = "000000000000";

/// A running server plus the temporary directory it stores data in (removed on drop).
pub struct TestServer {
    server: Option<RunningServer>,
    data_dir: PathBuf,
    /// Whether the data directory is the server's own, removed when it is dropped.
    owns_data_dir: bool,
}

fn fresh_data_dir() -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!(
        "sluice-it-{}-{}-{n}",
        std::process::id(),
        std::thread::current()
            .name()
            .unwrap_or("t")
            .replace([':', '/'], "_")
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

impl TestServer {
    /// A server on `127.0.0.1:0` with defaults and no configured queues.
    pub async fn start() -> TestServer {
        Self::start_with(Vec::new()).await
    }

    /// A server that creates `queues` at start-up.
    pub async fn start_with(queues: Vec<QueueSpec>) -> TestServer {
        let data_dir = fresh_data_dir();
        let config = Config {
            bind: "127.0.0.1:0".parse().unwrap(),
            data_dir: data_dir.clone(),
            queues,
            ..Config::default()
        };
        let server = sluice_server::start(config).await.expect("server starts");
        TestServer {
            server: Some(server),
            data_dir,
            owns_data_dir: true,
        }
    }

    /// A server with default settings (durable storage) on `127.0.0.1:0` that keeps its state in
    /// `data_dir`, which outlives it: a later server started on the same directory sees the same state.
    pub async fn start_in(data_dir: &std::path::Path) -> TestServer {
        let config = Config {
            bind: "127.0.0.1:0".parse().unwrap(),
            data_dir: data_dir.to_path_buf(),
            ..Config::default()
        };
        let server = sluice_server::start(config)
            .await
            .unwrap_or_else(|e| panic!("server starts on {}: {e}", data_dir.display()));
        TestServer {
            server: Some(server),
            data_dir: data_dir.to_path_buf(),
            owns_data_dir: false,
        }
    }

    /// Like [`TestServer::start_in`], but returns the start-up error instead of panicking.
    pub async fn try_start_in(data_dir: &std::path::Path) -> Result<TestServer, String> {
        let config = Config {
            bind: "127.0.0.1:0".parse().unwrap(),
            data_dir: data_dir.to_path_buf(),
            ..Config::default()
        };
        match sluice_server::start(config).await {
            Ok(server) => Ok(TestServer {
                server: Some(server),
                data_dir: data_dir.to_path_buf(),
                owns_data_dir: false,
            }),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Starts with an arbitrary config (its `bind` and `data_dir` are replaced).
    pub async fn try_start_config(config: Config) -> Result<TestServer, String> {
        Self::try_start_config_with_clock(config, Arc::new(SystemClock)).await
    }

    /// Starts with an arbitrary config (its `bind` and `data_dir` are replaced) and `clock`.
    pub async fn try_start_config_with_clock(
        mut config: Config,
        clock: Arc<dyn Clock>,
    ) -> Result<TestServer, String> {
        let data_dir = fresh_data_dir();
        config.bind = "127.0.0.1:0".parse().unwrap();
        config.data_dir = data_dir.clone();
        match sluice_server::start_with_clock(config, clock).await {
            Ok(server) => Ok(TestServer {
                server: Some(server),
                data_dir,
                owns_data_dir: true,
            }),
            Err(e) => {
                let _ = std::fs::remove_dir_all(&data_dir);
                Err(e.to_string())
            }
        }
    }

    fn running(&self) -> &RunningServer {
        self.server.as_ref().expect("server is running")
    }

    pub fn addr(&self) -> SocketAddr {
        self.running().local_addr()
    }

    pub fn url(&self) -> String {
        self.running().public_url().to_string()
    }

    /// `host:port` of the server, as clients write it in a `Host` header.
    pub fn host(&self) -> String {
        self.url()
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string()
    }

    /// The URL of queue `name` of the default account in the default region.
    pub fn queue_url(&self, name: &str) -> String {
        format!("{}/{DEFAULT_ACCOUNT}/{name}", self.url())
    }

    /// An SDK client for us-east-1 with access key `test` (so the default account).
    pub fn client(&self) -> aws_sdk_sqs::Client {
        self.client_for("us-east-1", "test")
    }

    /// An SDK client signing for `region` with access key id `access_key`.
    pub fn client_for(&self, region: &str, access_key: &str) -> aws_sdk_sqs::Client {
        let config = aws_sdk_sqs::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .endpoint_url(self.url())
            .credentials_provider(Credentials::new(access_key, "test", None, None, "static"))
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .build();
        aws_sdk_sqs::Client::from_conf(config)
    }

    pub async fn shutdown(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if self.owns_data_dir {
            let _ = std::fs::remove_dir_all(&self.data_dir);
        }
    }
}

/// A server with durable storage in its own directory, running on its own runtime in its own thread, so a
/// server that stops making progress (a deadlock among its worker threads) cannot stall the test's runtime:
/// the test's own deadlines still fire and it fails with a message instead of hanging. If the server is stuck,
/// dropping this leaves its thread behind rather than waiting for it.
pub struct IsolatedServer {
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    stopped: Option<tokio::sync::oneshot::Receiver<()>>,
    data_dir: PathBuf,
}

impl IsolatedServer {
    pub async fn start(worker_threads: usize) -> IsolatedServer {
        let data_dir = fresh_data_dir();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<Result<String, String>>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (stopped_tx, stopped_rx) = tokio::sync::oneshot::channel::<()>();
        let dir = data_dir.clone();
        std::thread::Builder::new()
            .name("isolated-sluice".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(worker_threads)
                    .enable_all()
                    .build()
                    .expect("server runtime");
                runtime.block_on(async move {
                    let config = Config {
                        bind: "127.0.0.1:0".parse().unwrap(),
                        data_dir: dir,
                        ..Config::default()
                    };
                    match sluice_server::start(config).await {
                        Ok(server) => {
                            let _ = ready_tx.send(Ok(server.public_url().to_string()));
                            let _ = stop_rx.await;
                            server.shutdown().await;
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e.to_string()));
                        }
                    }
                });
                drop(runtime);
                let _ = stopped_tx.send(());
            })
            .expect("spawn the server thread");
        let url = ready_rx
            .await
            .expect("the server thread reports")
            .unwrap_or_else(|e| panic!("server starts: {e}"));
        IsolatedServer {
            url,
            stop: Some(stop_tx),
            stopped: Some(stopped_rx),
            data_dir,
        }
    }

    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// An SDK client for us-east-1 with access key `test` (so the default account) that gives up on a call
    /// after 30 s, so a stuck server fails the test instead of hanging it.
    pub fn client(&self) -> aws_sdk_sqs::Client {
        let config = aws_sdk_sqs::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&self.url)
            .credentials_provider(Credentials::new("test", "test", None, None, "static"))
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .timeout_config(
                aws_sdk_sqs::config::timeout::TimeoutConfig::builder()
                    .operation_timeout(Duration::from_secs(30))
                    .build(),
            )
            .build();
        aws_sdk_sqs::Client::from_conf(config)
    }

    /// Shuts the server down and waits (at most `within`) for its thread to finish.
    pub async fn shutdown(mut self, within: Duration) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(stopped) = self.stopped.take() {
            tokio::time::timeout(within, stopped)
                .await
                .unwrap_or_else(|_| panic!("the server did not shut down within {within:?}"))
                .expect("the server thread ends");
        }
    }
}

impl Drop for IsolatedServer {
    fn drop(&mut self) {
        // Asks a healthy server to stop; never waits, so a stuck one is left behind.
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// A response read off the wire.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    /// Header names lower-cased, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn request_id(&self) -> &str {
        self.header("x-amzn-requestid")
            .expect("every response carries x-amzn-RequestId")
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("response body is UTF-8")
    }

    /// The body with the request id (taken from the header) replaced by `{REQUEST_ID}`.
    pub fn normalised(&self) -> String {
        let id = self.request_id().to_string();
        assert!(!id.is_empty(), "empty request id");
        self.text().replace(&id, "{REQUEST_ID}")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text()))
    }
}

/// How long a raw exchange may take before the test fails instead of hanging.
pub const RAW_TIMEOUT: Duration = Duration::from_secs(20);

/// Sends `request` (complete bytes, headers and body) and reads the response until the connection closes
/// or the declared Content-Length is read. Returns an error string if the connection broke before a full
/// response arrived.
pub fn raw_exchange_blocking(addr: SocketAddr, request: &[u8]) -> Result<RawResponse, String> {
    let mut stream = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    stream.set_read_timeout(Some(RAW_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(RAW_TIMEOUT)).unwrap();
    // Write from another thread so a server that answers before reading everything (a too-large body)
    // is still heard.
    let mut writer = stream.try_clone().map_err(|e| format!("clone: {e}"))?;
    let owned = request.to_vec();
    let write = std::thread::spawn(move || {
        let r = writer.write_all(&owned).and_then(|_| writer.flush());
        r.map_err(|e| e.to_string())
    });
    let response = read_response(&mut stream);
    let _ = write.join();
    response
}

fn read_response(stream: &mut TcpStream) -> Result<RawResponse, String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let header_end = loop {
        if let Some(pos) = find(&buf, b"\r\n\r\n") {
            break pos;
        }
        match stream.read(&mut chunk) {
            Ok(0) => {
                return Err(format!(
                    "connection closed before the response head ({} bytes: {:?})",
                    buf.len(),
                    String::from_utf8_lossy(&buf)
                ))
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) => return Err(format!("read error before the response head: {e}")),
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(format!("bad status line {status_line:?}"));
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = buf[header_end + 4..].to_vec();
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok());
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked"));
    loop {
        if let Some(length) = length {
            if body.len() >= length {
                body.truncate(length);
                break;
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
            Err(e) => {
                return Err(format!(
                    "read error in the body after {} bytes: {e}",
                    body.len()
                ))
            }
        }
    }
    if let Some(length) = length {
        if body.len() < length {
            return Err(format!(
                "connection closed after {} of {length} body bytes",
                body.len()
            ));
        }
    }
    if chunked {
        body = dechunk(&body)?;
    }
    Ok(RawResponse {
        status,
        headers,
        body,
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = find(data, b"\r\n").ok_or("bad chunk")?;
        let size_text = String::from_utf8_lossy(&data[..line_end]).to_string();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size + 2 {
            return Err("truncated chunk".into());
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// Async wrapper over [`raw_exchange_blocking`] that panics on a broken exchange.
pub async fn raw(addr: SocketAddr, request: Vec<u8>) -> RawResponse {
    try_raw(addr, request)
        .await
        .unwrap_or_else(|e| panic!("raw HTTP exchange failed: {e}"))
}

pub async fn try_raw(addr: SocketAddr, request: Vec<u8>) -> Result<RawResponse, String> {
    tokio::task::spawn_blocking(move || raw_exchange_blocking(addr, &request))
        .await
        .expect("raw exchange thread")
}

/// A complete HTTP/1.1 request with `Connection: close` and a Content-Length.
pub fn http_request(
    method: &str,
    target: &str,
    host: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Vec<u8> {
    let mut out = format!("{method} {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// A Query-protocol POST of `body` (already form-encoded).
pub fn query_post(host: &str, path: &str, body: &str) -> Vec<u8> {
    http_request(
        "POST",
        path,
        host,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    )
}

/// A JSON 1.0 POST to `AmazonSQS.<operation>`.
pub fn json_post(host: &str, operation: &str, body: &str) -> Vec<u8> {
    http_request(
        "POST",
        "/",
        host,
        &[
            ("Content-Type", "application/x-amz-json-1.0"),
            ("X-Amz-Target", &format!("AmazonSQS.{operation}")),
        ],
        body.as_bytes(),
    )
}

/// A SigV4-style Authorization header value naming `access_key` and `region` (the server reads only the
/// credential scope; the signature is not checked).
pub fn authorization(access_key: &str, region: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential={access_key}/20240101/{region}/sqs/aws4_request, \
         SignedHeaders=host;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000"
    )
}

/// Percent-encodes a form value (everything but unreserved characters).
pub fn form_encode(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A scratch directory removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        let mut dir = fresh_data_dir();
        dir.set_file_name(format!(
            "{}-{label}",
            dir.file_name().unwrap().to_string_lossy()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch directory");
        TempDir(dir)
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released): for an address
/// that must refuse connections. A server a test starts binds port 0 instead (see `wait_listening`).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral port")
        .port()
}

/// The addresses a `sluice` process listens on, as it names them when it starts to accept connections.
#[derive(Clone, Copy, Debug)]
pub struct Listening {
    pub api: SocketAddr,
    pub admin: Option<SocketAddr>,
}

impl Listening {
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.api)
    }
}

/// The addresses in the line a `sluice` process logs once it accepts connections, if `log` has it yet:
/// `sluice listening on ADDR ... admin=ADDR` in text, `"admin":"ADDR"` in JSON.
pub fn listening(log: &std::path::Path) -> Option<Listening> {
    let text = std::fs::read_to_string(log).ok()?;
    const MARKER: &str = "sluice listening on ";
    // Only a whole line counts: the server may be writing it as it is read.
    let line = text
        .split_inclusive('\n')
        .find(|line| line.ends_with('\n') && line.contains(MARKER))?;
    Some(Listening {
        api: address_after(line, MARKER)?,
        admin: address_after(line, "admin=").or_else(|| address_after(line, "\"admin\":\"")),
    })
}

fn address_after(line: &str, marker: &str) -> Option<SocketAddr> {
    let rest = &line[line.find(marker)? + marker.len()..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ':'))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// Waits (bounded by `within`) until `child`, started with `--bind 127.0.0.1:0` and its output in `log`,
/// says where it listens. Port 0 lets the kernel choose a free port, which no other process can take
/// between a probe and the bind, and the server binds only once it can answer. `Err`, with the end of the
/// log, when it exits first or takes longer.
pub async fn wait_listening(
    child: &mut std::process::Child,
    log: &std::path::Path,
    within: Duration,
) -> Result<Listening, String> {
    let started = std::time::Instant::now();
    loop {
        if let Some(listening) = listening(log) {
            return Ok(listening);
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "sluice exited with {status} before it listened:\n{}",
                log_tail(log)
            ));
        }
        if started.elapsed() > within {
            return Err(format!(
                "sluice not listening after {within:?}:\n{}",
                log_tail(log)
            ));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The last 20 lines of a log file.
pub fn log_tail(path: &std::path::Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// An SDK client for `endpoint` (us-east-1, access key `test`) that never retries, so each call is
/// exactly one HTTP request, and that gives up on a request after `timeout`.
pub fn single_shot_client(endpoint: &str, timeout: Duration) -> aws_sdk_sqs::Client {
    let config = aws_sdk_sqs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .retry_config(aws_sdk_sqs::config::retry::RetryConfig::disabled())
        .timeout_config(
            aws_sdk_sqs::config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(timeout)
                .operation_timeout(timeout)
                .build(),
        )
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}

/// A small deterministic PRNG (SplitMix64), so a failing run can be repeated from its seed.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..hi` (`hi > lo`).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo)
    }
}

/// MD5 (RFC 1321), written out here so the digests the server returns are checked against an
/// independent computation rather than the server's own code.
pub fn md5(data: &[u8]) -> [u8; 16] {
    const S: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5,
        9, 14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10,
        15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ];
    // K[i] = floor(abs(sin(i + 1)) * 2^32).
    let k: Vec<u32> = (0..64)
        .map(|i| ((i as f64 + 1.0).sin().abs() * 4_294_967_296.0) as u32)
        .collect();
    let mut message = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&bit_len.to_le_bytes());
    let (mut a0, mut b0, mut c0, mut d0) = (
        0x6745_2301u32,
        0xefcd_ab89u32,
        0x98ba_dcfeu32,
        0x1032_5476u32,
    );
    for block in message.chunks(64) {
        let m: Vec<u32> = block
            .chunks(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        let (mut a, mut b, mut c, mut d) = (a0, b0, c0, d0);
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let f = f.wrapping_add(a).wrapping_add(k[i]).wrapping_add(m[g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(f.rotate_left(S[i]));
        }
        a0 = a0.wrapping_add(a);
        b0 = b0.wrapping_add(b);
        c0 = c0.wrapping_add(c);
        d0 = d0.wrapping_add(d);
    }
    let mut out = [0u8; 16];
    for (i, word) in [a0, b0, c0, d0].iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&word.to_le_bytes());
    }
    out
}

/// Lower-case hex MD5, as SQS writes `MD5OfMessageBody`.
pub fn md5_hex(data: &[u8]) -> String {
    md5(data).iter().map(|b| format!("{b:02x}")).collect()
}

/// An attribute value as the attribute digest sees it.
#[derive(Clone, Copy, Debug)]
pub enum DigestValue<'a> {
    String(&'a str),
    Binary(&'a [u8]),
}

/// `MD5OfMessageAttributes` (or `MD5OfMessageSystemAttributes`) as the SQS developer guide defines it
/// ("Calculating the MD5 message digest for message attributes"): names sorted; for each, the 4-byte
/// big-endian length and bytes of the name, the same of the full data type (custom suffix included), a
/// transport byte (1 string, 2 binary) and the length-prefixed value (raw bytes for binary). `None` for
/// no attributes.
pub fn md5_of_attribute_parts(
    mut attributes: Vec<(&str, &str, DigestValue<'_>)>,
) -> Option<String> {
    if attributes.is_empty() {
        return None;
    }
    attributes.sort_by(|a, b| a.0.cmp(b.0));
    fn put(buffer: &mut Vec<u8>, bytes: &[u8]) {
        buffer.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        buffer.extend_from_slice(bytes);
    }
    let mut buffer = Vec::new();
    for (name, data_type, value) in attributes {
        put(&mut buffer, name.as_bytes());
        put(&mut buffer, data_type.as_bytes());
        match value {
            DigestValue::String(s) => {
                buffer.push(1);
                put(&mut buffer, s.as_bytes());
            }
            DigestValue::Binary(b) => {
                buffer.push(2);
                put(&mut buffer, b);
            }
        }
    }
    Some(md5_hex(&buffer))
}

/// [`md5_of_attribute_parts`] of SDK message attributes.
pub fn md5_of_attributes<'a>(
    attributes: impl IntoIterator<Item = (&'a String, &'a aws_sdk_sqs::types::MessageAttributeValue)>,
) -> Option<String> {
    md5_of_attribute_parts(
        attributes
            .into_iter()
            .map(|(name, value)| {
                let digest_value = match (value.string_value(), value.binary_value()) {
                    (Some(s), None) => DigestValue::String(s),
                    (None, Some(b)) => DigestValue::Binary(b.as_ref()),
                    _ => {
                        panic!("attribute {name} must have exactly one of a string or binary value")
                    }
                };
                (name.as_str(), value.data_type(), digest_value)
            })
            .collect(),
    )
}

// ---------------------------------------------------------------------------------------------------------
// SDK helpers shared by the test binaries
// ---------------------------------------------------------------------------------------------------------

/// HTTP status, error code (from `x-amzn-query-error`) and message of a service error.
pub fn parts<E: ProvideErrorMetadata + std::fmt::Debug>(
    err: &SdkError<E, HttpResponse>,
) -> (u16, String, String) {
    let status = err
        .raw_response()
        .unwrap_or_else(|| panic!("expected a service error, got {err:?}"))
        .status()
        .as_u16();
    (
        status,
        err.code().unwrap_or_default().to_string(),
        err.message().unwrap_or_default().to_string(),
    )
}

/// Asserts a service error with `status` and `code`, and `message` when given.
pub fn assert_service_error<E: ProvideErrorMetadata + std::fmt::Debug>(
    err: &SdkError<E, HttpResponse>,
    status: u16,
    code: &str,
    message: Option<&str>,
) {
    let (s, c, m) = parts(err);
    assert_eq!((s, c.as_str()), (status, code), "{err:?}");
    if let Some(message) = message {
        assert_eq!(m, message, "{err:?}");
    }
}

/// Asserts that `err` is a service error for which `is` holds (typically: it is one modelled variant).
pub fn assert_is<E: std::fmt::Debug, R: std::fmt::Debug>(
    err: &SdkError<E, R>,
    is: impl FnOnce(&E) -> bool,
) {
    assert!(err.as_service_error().is_some_and(is), "{err:?}");
}

/// Creates the queue `name` without attributes and returns its URL.
pub async fn create(client: &Client, name: &str) -> String {
    create_with(client, name, &[]).await
}

/// One CreateQueue of `name` with `attributes`.
pub async fn try_create(
    client: &Client,
    name: &str,
    attributes: &[(A, &str)],
) -> Result<CreateQueueOutput, SdkError<CreateQueueError, HttpResponse>> {
    let mut request = client.create_queue().queue_name(name);
    for (k, v) in attributes {
        request = request.attributes(k.clone(), *v);
    }
    request.send().await
}

/// One SetQueueAttributes of `attributes` on the queue at `url`.
pub async fn try_set(
    client: &Client,
    url: &str,
    attributes: &[(A, &str)],
) -> Result<SetQueueAttributesOutput, SdkError<SetQueueAttributesError, HttpResponse>> {
    let mut request = client.set_queue_attributes().queue_url(url);
    for (k, v) in attributes {
        request = request.attributes(k.clone(), *v);
    }
    request.send().await
}

/// Creates the queue `name` with `attributes` and returns its URL.
pub async fn create_with(client: &Client, name: &str, attributes: &[(A, &str)]) -> String {
    try_create(client, name, attributes)
        .await
        .unwrap_or_else(|e| panic!("create {name}: {e:?}"))
        .queue_url()
        .expect("CreateQueue returns QueueUrl")
        .to_string()
}

/// ApproximateNumberOfMessages, ...NotVisible and ...Delayed.
pub async fn counts(client: &Client, url: &str) -> (u64, u64, u64) {
    let out = client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
        .attribute_names(A::ApproximateNumberOfMessagesDelayed)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetQueueAttributes {url}: {e:?}"));
    let attributes = out.attributes().cloned().unwrap_or_default();
    let get = |name: A| -> u64 {
        attributes
            .get(&name)
            .unwrap_or_else(|| panic!("{name:?} missing from {attributes:?}"))
            .parse()
            .unwrap()
    };
    (
        get(A::ApproximateNumberOfMessages),
        get(A::ApproximateNumberOfMessagesNotVisible),
        get(A::ApproximateNumberOfMessagesDelayed),
    )
}

/// The tags of the queue at `url`.
pub async fn tags(client: &Client, url: &str) -> HashMap<String, String> {
    client
        .list_queue_tags()
        .queue_url(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("ListQueueTags {url}: {e:?}"))
        .tags()
        .cloned()
        .unwrap_or_default()
}

/// A system attribute of a received message.
pub fn system_attribute(message: &Message, name: MessageSystemAttributeName) -> Option<String> {
    message.attributes().and_then(|a| a.get(&name)).cloned()
}

/// The current time in seconds since the Unix epoch.
pub fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The current time in milliseconds since the Unix epoch.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Access key id, secret, and session token if any.
pub type SigningKey<'a> = (&'a str, &'a str, Option<&'a str>);

/// A complete Query POST of `body` (form-encoded) to `service`, signed in the `Authorization` header at
/// `time` by the `aws-sigv4` crate, the signer of AWS's Rust SDK.
pub fn signed_query_post(
    host: &str,
    service: &str,
    key: SigningKey<'_>,
    body: &str,
    time: std::time::SystemTime,
) -> Vec<u8> {
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    let url = format!("http://{host}/");
    let headers = [
        ("host", host),
        (
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        ),
    ];
    let identity = aws_credential_types::Credentials::new(
        key.0,
        key.1,
        key.2.map(str::to_string),
        None,
        "test",
    )
    .into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name(service)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .expect("signing parameters")
        .into();
    let signable = SignableRequest::new(
        "POST",
        &url,
        headers.iter().copied(),
        SignableBody::Bytes(body.as_bytes()),
    )
    .expect("signable request");
    let (instructions, _) = sign(signable, &params).expect("signature").into_parts();
    let mut request = http::Request::builder().method("POST").uri(&url);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let mut request = request.body(()).expect("request");
    instructions.apply_to_request_http1x(&mut request);
    let signed: Vec<(String, String)> = request
        .headers()
        .iter()
        .filter(|(n, _)| *n != "host")
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_string()))
        .collect();
    let signed: Vec<(&str, &str)> = signed
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    http_request("POST", "/", host, &signed, body.as_bytes())
}

/// `params` form-encoded after the `Version` the service's API has.
pub fn query_body(service: &str, params: &[(&str, &str)]) -> String {
    let version = match service {
        "iam" => "2010-05-08",
        "sts" => "2011-06-15",
        _ => "2012-11-05",
    };
    let mut body = format!("Version={version}");
    for (name, value) in params {
        body.push_str(&format!("&{name}={}", form_encode(value)));
    }
    body
}

/// The text of the first `<name>` element of an XML document.
pub fn xml_element(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(xml[start..end].to_string())
}
