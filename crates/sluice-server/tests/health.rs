//! The admin listener, apart from the API port: its health endpoints, and the console's files and
//! API.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{http_request, raw_exchange_blocking, RawResponse};
use sluice_server::{Config, StorageKind};

/// A memory-backed server's config; its data directory (which holds only the master key) is
/// removed when the returned guard is dropped.
fn config(admin: &str, chosen: bool) -> (Config, DataDir) {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "sluice-health-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let config = Config {
        bind: "127.0.0.1:0".parse().unwrap(),
        storage: StorageKind::Memory,
        admin_bind: Some(admin.parse().unwrap()),
        admin_bind_explicit: chosen,
        data_dir: dir.clone(),
        ..Config::default()
    };
    (config, DataDir(dir))
}

struct DataDir(std::path::PathBuf);

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn get(addr: SocketAddr, method: &str, path: &str) -> (u16, String) {
    let request = http_request(method, path, &addr.to_string(), &[], b"");
    let response = raw_exchange_blocking(addr, &request).expect("an answer");
    (response.status, response.text())
}

#[tokio::test]
async fn live_and_ready_answer_on_the_admin_port_once_the_server_is_up() {
    let (config, _dir) = config("127.0.0.1:0", true);
    let server = sluice_server::start(config).await.unwrap();
    let admin = server.admin_addr().expect("an admin listener");
    assert_ne!(admin, server.local_addr());
    let answers = tokio::task::spawn_blocking(move || {
        [
            get(admin, "GET", "/health/live"),
            get(admin, "GET", "/health/ready"),
            get(admin, "POST", "/health/ready"),
            get(admin, "GET", "/metrics-not-here"),
        ]
    })
    .await
    .unwrap();
    assert_eq!(answers[0], (200, "live\n".into()));
    assert_eq!(answers[1], (200, "ready\n".into()));
    assert_eq!(answers[2].0, 405);
    assert_eq!(answers[3].0, 404);
    server.shutdown().await;
}

/// The default admin address being taken (another Sluice on the machine) does not keep the API
/// from serving; an address the operator chose must bind.
#[tokio::test]
async fn a_taken_default_admin_port_is_a_warning_and_a_chosen_one_an_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (default, _dir) = config(&addr, false);
    let server = sluice_server::start(default).await.unwrap();
    assert_eq!(server.admin_addr(), None);
    server.shutdown().await;
    let (chosen, _dir) = config(&addr, true);
    let refused = sluice_server::start(chosen).await;
    assert!(refused.is_err());
}

#[tokio::test]
async fn an_admin_listener_beyond_loopback_needs_authentication() {
    let (config, _dir) = config("0.0.0.0:0", true);
    let refused = sluice_server::start(config).await;
    let message = refused.err().expect("refused").to_string();
    assert!(message.contains("beyond loopback"), "{message}");
}

fn console_call(addr: SocketAddr, action: &str, body: &str) -> RawResponse {
    let target = format!("SluiceConsole.{action}");
    let headers = [
        ("Content-Type", "application/x-amz-json-1.0"),
        ("X-Amz-Target", target.as_str()),
    ];
    let request = http_request("POST", "/api", &addr.to_string(), &headers, body.as_bytes());
    raw_exchange_blocking(addr, &request).expect("an answer")
}

/// The console's page comes with a policy that lets it load only itself; its own actions are
/// served through the admin listener's `/api` and are unknown on the API port.
#[tokio::test]
async fn console_files_and_actions_only_on_the_admin_port() {
    let (mut config, _dir) = config("127.0.0.1:0", true);
    config.queues = vec![sluice_server::config::QueueSpec {
        name: "shown".to_string(),
        ..Default::default()
    }];
    let server = sluice_server::start(config).await.unwrap();
    let admin = server.admin_addr().expect("an admin listener");
    let api = server.local_addr();
    let (page, script, listed, on_api, peeked) = tokio::task::spawn_blocking(move || {
        let page = raw_exchange_blocking(
            admin,
            &http_request("GET", "/", &admin.to_string(), &[], b""),
        )
        .expect("an answer");
        let script = raw_exchange_blocking(
            admin,
            &http_request("GET", "/console/app.js", &admin.to_string(), &[], b""),
        )
        .expect("an answer");
        let listed = console_call(admin, "ListQueues", r#"{"Search":"SHO"}"#);
        let on_api = console_call(api, "ListQueues", "{}");
        let peeked = console_call(
            admin,
            "PeekMessages",
            r#"{"QueueUrl":"shown","MaxNumberOfMessages":11}"#,
        );
        (page, script, listed, on_api, peeked)
    })
    .await
    .unwrap();
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(page
        .header("content-security-policy")
        .unwrap()
        .contains("script-src 'self'"));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert!(script
        .header("content-type")
        .unwrap()
        .starts_with("text/javascript"));
    assert_eq!(listed.status, 200, "{}", listed.text());
    let listed: serde_json::Value = serde_json::from_slice(&listed.body).unwrap();
    assert_eq!(listed["Total"], 1);
    assert_eq!(listed["Queues"][0]["Name"], "shown");
    assert_eq!(listed["Queues"][0]["Visible"], 0);
    assert_eq!(on_api.status, 400);
    assert!(on_api.text().contains("UnknownOperation"));
    assert_eq!(peeked.status, 400);
    assert!(peeked.text().contains("InvalidParameterValue"));
    server.shutdown().await;
}

/// With authentication off, a page on another site that rebinds its name to 127.0.0.1 could reach
/// the console's API as a same-origin request; it still names its own host, so everything but
/// health answers 421 to a `Host` that is not a loopback name.
#[tokio::test]
async fn with_authentication_off_only_loopback_host_names_reach_the_console() {
    let (config, _dir) = config("127.0.0.1:0", true);
    let server = sluice_server::start(config).await.unwrap();
    let admin = server.admin_addr().expect("an admin listener");
    let port = admin.port();
    let answers = tokio::task::spawn_blocking(move || {
        let status = |method: &str, path: &str, host: &str, body: &[u8]| {
            let headers = [
                ("Content-Type", "application/x-amz-json-1.0"),
                ("X-Amz-Target", "SluiceConsole.ListQueues"),
            ];
            let request = http_request(method, path, host, &headers, body);
            raw_exchange_blocking(admin, &request)
                .expect("an answer")
                .status
        };
        let rebound = format!("rebound.example:{port}");
        let local = format!("localhost:{port}");
        [
            status("GET", "/", &rebound, b""),
            status("POST", "/api", &rebound, b"{}"),
            status("GET", "/metrics", &rebound, b""),
            status("GET", "/health/live", &rebound, b""),
            status("GET", "/health/ready", &rebound, b""),
            status("GET", "/", &local, b""),
            status("POST", "/api", &local, b"{}"),
            status("GET", "/metrics", &format!("[::1]:{port}"), b""),
        ]
    })
    .await
    .unwrap();
    assert_eq!(answers, [421, 421, 421, 200, 200, 200, 200, 200]);
    server.shutdown().await;
}
