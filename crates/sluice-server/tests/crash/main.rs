//! Crash consistency of the durable engine with the real `sluice` binary: producers and consumers run
//! against it through the SDK while it is killed with SIGKILL at random moments and restarted on the same
//! data directory, several times. After the last restart the queue is drained and compared with what
//! the clients were told:
//!
//! - every send answered with a 200 is still there, or was removed by a delete answered with a 200 (or
//!   by a delete that was in flight at a kill, which may have taken effect without its answer arriving);
//! - no message whose delete was answered with a 200 comes back, neither in a later round nor at the end;
//! - nothing is there that nobody sent, and nothing is there twice (the clients never retry);
//! - the queue, and a tag and a queue created in each round, are still there after every kill.
//!
//! A second test does the same to a FIFO queue and checks what FIFO adds: within each message group,
//! every receive (across the restarts) returns the lowest counters not yet deleted, in order; a message
//! whose send was acknowledged and that is sent again after a kill, under the same deduplication id, is
//! answered with the original MessageId and SequenceNumber and never delivered twice; a send whose answer
//! was lost in a kill is sent again and the message still exists once; SequenceNumbers keep growing
//! within each group across restarts, also after a round in which the queue was drained and the server
//! idled long enough to reclaim its journal; receipt handles of messages deleted before the restarts
//! remove nothing; and nothing acknowledged is lost.
//!
//! Some restarts are themselves killed a few milliseconds in, during recovery, before the real one.
//! Requests in flight at a kill may fail; they count as neither acknowledged sends nor acknowledged
//! deletes. The kill times come from a seeded PRNG; set `SLUICE_CRASH_SEED` to repeat a run.
//!
//! A SIGKILL loses what the process had not handed to the kernel, not what the kernel had not written to
//! the disk, so this checks that nothing is acknowledged before it is written and that recovery reads
//! back exactly what was written (including a record cut short by the kill); it does not simulate a
//! power failure.

#[path = "../common/mod.rs"]
mod common;
mod fifo;
mod standard;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry,
    MessageSystemAttributeName, QueueAttributeName, SendMessageBatchRequestEntry,
};
use aws_sdk_sqs::Client;
use common::{
    counts as queue_counts, log_tail, single_shot_client, system_attribute, wait_listening,
    SplitMix64, TempDir,
};

/// Bound on the whole test.
const TEST_DEADLINE: Duration = Duration::from_secs(60);
/// Bound on a restarted server becoming ready (recovery included).
const READY_DEADLINE: Duration = Duration::from_secs(15);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// A running `sluice` process; killed (SIGKILL) when dropped.
struct ServerProcess {
    child: Child,
    endpoint: String,
    log: PathBuf,
}

impl ServerProcess {
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts `sluice --bind 127.0.0.1:0 --data-dir <data_dir>` with its output in a log file (returned).
fn spawn_server(data_dir: &Path, logs: &Path, label: &str) -> (Child, PathBuf) {
    let log = logs.join(format!("{label}.log"));
    let log_file = std::fs::File::create(&log).expect("create log file");
    let child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["--bind", "127.0.0.1:0", "--admin-bind", "none"])
        .arg("--data-dir")
        .arg(data_dir)
        // Only the flags above configure it: durable storage, the default.
        .env_remove("SLUICE_CONFIG")
        .env_remove("SLUICE_STORAGE")
        .env_remove("SLUICE_PUBLIC_URL")
        .env_remove("SLUICE_REGION")
        .env_remove("SLUICE_ACCOUNT_ID")
        .env("RUST_LOG", "info,sluice_store=debug")
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file)
        .spawn()
        .expect("spawn sluice");
    (child, log)
}

/// Starts `sluice` on the data directory and waits (bounded) until it listens.
async fn start_server(data_dir: &Path, logs: &Path, label: &str) -> ServerProcess {
    let (mut child, log) = spawn_server(data_dir, logs, label);
    let listening = wait_listening(&mut child, &log, READY_DEADLINE)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    ServerProcess {
        child,
        endpoint: listening.endpoint(),
        log,
    }
}

/// The journal's segment files and their total size, e.g. `3 segments (2-4), 150.2 MB`.
fn journal_summary(data_dir: &Path) -> String {
    let mut segments: Vec<(String, u64)> = std::fs::read_dir(data_dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().to_string();
                    let number = name.strip_prefix("journal-")?.strip_suffix(".log")?;
                    Some((
                        number.trim_start_matches('0').to_string(),
                        e.metadata().ok()?.len(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    segments.sort_by_key(|(n, _)| n.parse::<u64>().unwrap_or(0));
    let total: u64 = segments.iter().map(|(_, len)| len).sum();
    format!(
        "{} segments ({}), {:.1} MB",
        segments.len(),
        segments
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(","),
        total as f64 / 1e6
    )
}

/// How many segments a server run reclaimed, from its debug log.
fn reclaimed_in(log: &Path) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .matches("journal segment reclaimed")
        .count()
}

/// Runs `rounds`, failing if it takes longer than [`TEST_DEADLINE`].
async fn within_deadline(what: &str, rounds: impl std::future::Future<Output = ()>) {
    match tokio::time::timeout(TEST_DEADLINE, rounds).await {
        Ok(()) => {}
        Err(_) => panic!("{what} did not finish within {TEST_DEADLINE:?}"),
    }
}

/// The seed from `SLUICE_CRASH_SEED`, or `default`; printed so that a failing run can be repeated.
fn crash_seed(what: &str, default: u64) -> u64 {
    let seed = std::env::var("SLUICE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    println!("{what} seed {seed} (set SLUICE_CRASH_SEED to repeat)");
    seed
}
