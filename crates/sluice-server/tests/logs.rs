//! What the `sluice` process writes to its log: with `--log-format json` one JSON object per line,
//! each request at debug level with its id, action, queue, status and latency; as text, no ANSI
//! colour codes when the output is not a terminal (a file, journald).

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{json_post, listening, log_tail, raw_exchange_blocking};

/// Starts the binary with its output in `log`, waits (bounded) until it listens, sends a
/// CreateQueue and a GetQueueUrl for a queue that does not exist, and stops it.
fn serve_two_requests(dir: &Path, log: &Path, extra: &[&str]) {
    let file = std::fs::File::create(log).expect("create log file");
    let mut child: Child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "--bind",
            "127.0.0.1:0",
            "--admin-bind",
            "none",
            "--storage",
            "memory",
        ])
        .arg("--data-dir")
        .arg(dir)
        .args(extra)
        .env_remove("SLUICE_CONFIG")
        .env_remove("SLUICE_LOG_FORMAT")
        .env("RUST_LOG", "debug")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(file)
        .spawn()
        .expect("spawn sluice");
    let started = Instant::now();
    let addr = loop {
        if let Some(listening) = listening(log) {
            break listening.api;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "sluice did not start:\n{}",
            log_tail(log)
        );
        std::thread::sleep(Duration::from_millis(25));
    };
    let host = addr.to_string();
    let created = raw_exchange_blocking(
        addr,
        &json_post(&host, "CreateQueue", r#"{"QueueName":"logged"}"#),
    )
    .expect("CreateQueue");
    assert_eq!(created.status, 200);
    let missing = json_post(&host, "GetQueueUrl", r#"{"QueueName":"missing"}"#);
    assert_eq!(raw_exchange_blocking(addr, &missing).unwrap().status, 400);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn json_logs_have_one_object_per_line_and_a_line_per_request() {
    let dir = tempdir("json");
    let log = dir.join("sluice.log");
    serve_two_requests(&dir, &log, &["--log-format", "json"]);
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let served: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["message"] == "request served")
        .collect();
    let outline: Vec<(String, String, i64)> = served
        .iter()
        .map(|l| {
            (
                l["span"]["action"].as_str().unwrap_or_default().to_string(),
                l["span"]["queue"].as_str().unwrap_or_default().to_string(),
                l["status"].as_i64().unwrap_or_default(),
            )
        })
        .collect();
    assert!(
        outline.contains(&("CreateQueue".into(), "logged".into(), 200)),
        "{outline:?}"
    );
    assert!(
        outline.contains(&("GetQueueUrl".into(), "missing".into(), 400)),
        "{outline:?}"
    );
    for line in served {
        assert_eq!(line["level"], "DEBUG");
        assert_eq!(line["span"]["id"].as_str().map(str::len), Some(36));
        assert!(line["latency_us"].is_u64(), "{line}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn text_logs_written_to_a_file_carry_no_colour_codes() {
    let dir = tempdir("text");
    let log = dir.join("sluice.log");
    serve_two_requests(&dir, &log, &[]);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("request served"), "{text}");
    assert!(!text.contains('\u{1b}'), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempdir(label: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sluice-logs-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
