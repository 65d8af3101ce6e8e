//! Connections cannot be held without limit: a client that stops sending headers or a body, or a
//! keep-alive connection left idle, is closed after its timeout while other clients keep being served,
//! and connections beyond the configured limit get a clean `503 ServiceUnavailable`.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::TestServer;
use sluice_server::{Config, StorageKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const LIST_QUEUES: &[u8] = b"GET /?Action=ListQueues HTTP/1.1\r\nHost: localhost\r\n\r\n";

fn config(header: f64, body: f64, idle: f64, max_connections: Option<usize>) -> Config {
    Config {
        storage: StorageKind::Memory,
        header_read_timeout: Duration::from_secs_f64(header),
        body_read_timeout: Duration::from_secs_f64(body),
        idle_timeout: Duration::from_secs_f64(idle),
        max_connections,
        ..Config::default()
    }
}

/// Reads one response (headers and a Content-Length body) off a keep-alive connection.
async fn read_response(stream: &mut TcpStream) -> (u16, String) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .expect("a content-length");
            if buf.len() >= end + 4 + length {
                let status = head[9..12].parse().expect("a status code");
                let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + length]).to_string();
                return (status, body);
            }
        }
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk))
            .await
            .expect("a response within 10 s")
            .expect("the connection stays readable");
        assert!(
            n > 0,
            "closed before the response: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Whether the server closes the connection (end of stream or reset) within `within`, reading and
/// discarding anything it sends first.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    let mut chunk = [0u8; 1024];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

async fn connect(addr: SocketAddr) -> TcpStream {
    TcpStream::connect(addr).await.expect("connect")
}

/// A fresh connection, one request, one response.
async fn list_queues(addr: SocketAddr) -> u16 {
    let mut stream = connect(addr).await;
    stream.write_all(LIST_QUEUES).await.unwrap();
    read_response(&mut stream).await.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_slow_connections_are_closed_while_others_are_served() {
    let server = TestServer::try_start_config(config(0.5, 0.5, 1.0, None))
        .await
        .unwrap();
    let addr = server.addr();
    let started = Instant::now();

    // Connected and silent.
    let mut silent = Vec::new();
    for _ in 0..200 {
        silent.push(connect(addr).await);
    }
    // A request line and nothing more.
    let mut stalled_head = connect(addr).await;
    stalled_head
        .write_all(b"POST / HTTP/1.1\r\n")
        .await
        .unwrap();
    // Headers whose last line never ends, sent a byte at a time.
    let mut dribbling = connect(addr).await;
    // Ten bytes of a declared hundred.
    let mut stalled_body = connect(addr).await;
    stalled_body
        .write_all(b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nAction=Lis")
        .await
        .unwrap();
    // One request answered, then nothing.
    let mut idle = connect(addr).await;
    idle.write_all(LIST_QUEUES).await.unwrap();
    assert_eq!(read_response(&mut idle).await.0, 200);
    // A long poll that outlasts the idle timeout is not idle.
    let mut polling = connect(addr).await;
    polling
        .write_all(b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: AmazonSQS.CreateQueue\r\nContent-Length: 22\r\n\r\n{\"QueueName\":\"polled\"}")
        .await
        .unwrap();
    assert_eq!(read_response(&mut polling).await.0, 200);
    let receive = format!(
        "{{\"QueueUrl\":\"{}\",\"WaitTimeSeconds\":2}}",
        server.queue_url("polled")
    );
    polling
        .write_all(
            format!(
                "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: AmazonSQS.ReceiveMessage\r\nContent-Length: {}\r\n\r\n{receive}",
                receive.len()
            )
            .as_bytes(),
        )
        .await
        .unwrap();

    // Normal clients are served all along, on new connections and on a busy keep-alive one.
    let mut busy = connect(addr).await;
    for i in 0..12 {
        assert_eq!(list_queues(addr).await, 200, "new connection, round {i}");
        busy.write_all(LIST_QUEUES).await.unwrap();
        assert_eq!(
            read_response(&mut busy).await.0,
            200,
            "keep-alive, round {i}"
        );
        if i < 8 {
            // Fails once the server has closed the connection, which is the point.
            let _ = dribbling
                .write_all(&b"GET /?Action=ListQueues HTTP/1.1\r\nX-Pad: aaaa"[i..=i])
                .await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, body) = read_response(&mut polling).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "the long poll waited its 2 s"
    );

    let within = Duration::from_secs(3);
    assert!(
        closed_within(&mut stalled_head, within).await,
        "stalled headers"
    );
    assert!(
        closed_within(&mut dribbling, within).await,
        "dribbled headers"
    );
    assert!(
        closed_within(&mut stalled_body, within).await,
        "stalled body"
    );
    assert!(closed_within(&mut idle, within).await, "idle keep-alive");
    for (i, stream) in silent.iter_mut().enumerate() {
        assert!(closed_within(stream, within).await, "silent connection {i}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "closed by their timeouts, not by chance: {:?}",
        started.elapsed()
    );
    assert_eq!(list_queues(addr).await, 200);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_limit_get_service_unavailable() {
    let server = TestServer::try_start_config(config(10.0, 10.0, 60.0, Some(3)))
        .await
        .unwrap();
    let addr = server.addr();
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut stream = connect(addr).await;
        stream.write_all(LIST_QUEUES).await.unwrap();
        assert_eq!(read_response(&mut stream).await.0, 200);
        held.push(stream);
    }

    let mut refused = connect(addr).await;
    refused
        .write_all(b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: AmazonSQS.ListQueues\r\nContent-Length: 2\r\n\r\n{}")
        .await
        .unwrap();
    let (status, body) = read_response(&mut refused).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("ServiceUnavailableException"), "{body}");
    assert!(closed_within(&mut refused, Duration::from_secs(2)).await);

    let mut refused = connect(addr).await;
    refused.write_all(LIST_QUEUES).await.unwrap();
    let (status, body) = read_response(&mut refused).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("<Code>ServiceUnavailable</Code>"), "{body}");

    // A place freed is a place taken.
    drop(held.pop());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let status = list_queues(addr).await;
        if status == 200 {
            break;
        }
        assert_eq!(status, 503);
        assert!(
            Instant::now() < deadline,
            "the freed place was never given out"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.shutdown().await;
}
