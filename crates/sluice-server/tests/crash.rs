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

mod common;

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

const ROUNDS: usize = 5;
const PRODUCERS: usize = 4;
/// This many of the producers send bodies of 100–250 KB, so kills also land in the middle of large
/// records. (Each start begins a new journal segment and the previous one is soon reclaimed, its live
/// messages written again, so kills also meet reclaiming; the 64 MiB segment size itself is not
/// reached in the time this test runs.)
const BULKY_PRODUCERS: usize = 1;
const BULKY_BODY: (u64, u64) = (100_000, 250_000);
const SMALL_BODY: (u64, u64) = (0, 600);
const CONSUMERS: usize = 4;
/// How long load runs before each kill, in milliseconds (uniform).
const LOAD_MILLIS: (u64, u64) = (150, 2_000);
/// Visibility timeout of the consumers' receives: messages in flight at a kill come back this soon.
const CONSUMER_VISIBILITY: i32 = 2;
const QUEUE: &str = "crash";
/// Bound on the whole test.
const TEST_DEADLINE: Duration = Duration::from_secs(60);
/// Bound on a restarted server becoming ready (recovery included).
const READY_DEADLINE: Duration = Duration::from_secs(15);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const DEFAULT_SEED: u64 = 0x005E_ED0F_C4A5;

/// What the clients were told, across all rounds. Bodies are unique, so they name messages.
#[derive(Default)]
struct Ledger {
    attempted_sends: HashSet<String>,
    acked_sends: HashSet<String>,
    attempted_deletes: HashSet<String>,
    acked_deletes: HashSet<String>,
    /// Bodies received during the load whose delete had been acknowledged in an earlier round.
    resurrected_during_load: Vec<String>,
    /// Bodies received during the load that nobody sent.
    unknown_during_load: Vec<String>,
    failed_entries: Vec<String>,
}

/// Counters of one round.
#[derive(Default)]
struct RoundStats {
    sends_ok: AtomicUsize,
    sends_failed: AtomicUsize,
    received: AtomicUsize,
    deletes_ok: AtomicUsize,
    deletes_failed: AtomicUsize,
    released: AtomicUsize,
    receives_failed: AtomicUsize,
}

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

#[allow(clippy::too_many_arguments)]
async fn produce(
    client: Client,
    url: String,
    label: String,
    bulky: bool,
    mut rng: SplitMix64,
    ledger: Arc<Mutex<Ledger>>,
    stats: Arc<RoundStats>,
    stop: Arc<AtomicBool>,
) {
    let mut n = 0u64;
    while !stop.load(Ordering::SeqCst) {
        let count = if rng.range(0, 4) == 0 {
            1
        } else if bulky {
            rng.range(1, 5) as usize
        } else {
            rng.range(1, 11) as usize
        };
        let bodies: Vec<String> = (0..count)
            .map(|_| {
                n += 1;
                let pad = if bulky { BULKY_BODY } else { SMALL_BODY };
                let pad = "x".repeat(rng.range(pad.0, pad.1) as usize);
                format!("{label}-{n}-{pad}")
            })
            .collect();
        {
            let mut ledger = ledger.lock().unwrap();
            ledger.attempted_sends.extend(bodies.iter().cloned());
        }
        let acked: Result<Vec<String>, ()> = if count == 1 && rng.range(0, 2) == 0 {
            client
                .send_message()
                .queue_url(&url)
                .message_body(&bodies[0])
                .send()
                .await
                .map(|_| bodies.clone())
                .map_err(|_| ())
        } else {
            let entries: Vec<_> = bodies
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(format!("e{i}"))
                        .message_body(b)
                        .build()
                        .unwrap()
                })
                .collect();
            match client
                .send_message_batch()
                .queue_url(&url)
                .set_entries(Some(entries))
                .send()
                .await
            {
                Ok(out) => {
                    if !out.failed().is_empty() {
                        ledger
                            .lock()
                            .unwrap()
                            .failed_entries
                            .push(format!("send: {:?}", out.failed()));
                    }
                    Ok(out
                        .successful()
                        .iter()
                        .map(|s| bodies[s.id()[1..].parse::<usize>().unwrap()].clone())
                        .collect())
                }
                Err(_) => Err(()),
            }
        };
        match acked {
            Ok(acked) => {
                stats.sends_ok.fetch_add(acked.len(), Ordering::Relaxed);
                ledger.lock().unwrap().acked_sends.extend(acked);
            }
            Err(()) => {
                stats.sends_failed.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn consume(
    client: Client,
    url: String,
    mut rng: SplitMix64,
    ledger: Arc<Mutex<Ledger>>,
    deleted_before_round: Arc<HashSet<String>>,
    stats: Arc<RoundStats>,
    stop: Arc<AtomicBool>,
) {
    while !stop.load(Ordering::SeqCst) {
        let received = client
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .visibility_timeout(CONSUMER_VISIBILITY)
            .wait_time_seconds(rng.range(0, 2) as i32)
            .send()
            .await;
        let Ok(received) = received else {
            stats.receives_failed.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let messages: Vec<(String, String)> = received
            .messages()
            .iter()
            .map(|m| {
                (
                    m.body().unwrap_or_default().to_string(),
                    m.receipt_handle().unwrap_or_default().to_string(),
                )
            })
            .collect();
        if messages.is_empty() {
            continue;
        }
        stats.received.fetch_add(messages.len(), Ordering::Relaxed);
        {
            let mut ledger = ledger.lock().unwrap();
            for (body, _) in &messages {
                if deleted_before_round.contains(body) {
                    ledger.resurrected_during_load.push(body.clone());
                }
                if !ledger.attempted_sends.contains(body) {
                    ledger.unknown_during_load.push(body.clone());
                }
            }
        }
        match rng.range(0, 10) {
            // Now and then give the messages back instead of deleting them.
            0 => {
                let entries: Vec<_> = messages
                    .iter()
                    .enumerate()
                    .map(|(i, (_, h))| {
                        ChangeMessageVisibilityBatchRequestEntry::builder()
                            .id(format!("v{i}"))
                            .receipt_handle(h)
                            .visibility_timeout(0)
                            .build()
                            .unwrap()
                    })
                    .collect();
                if client
                    .change_message_visibility_batch()
                    .queue_url(&url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .is_ok()
                {
                    stats.released.fetch_add(messages.len(), Ordering::Relaxed);
                }
            }
            // One DeleteMessage per message.
            1..=4 => {
                for (body, h) in &messages {
                    ledger
                        .lock()
                        .unwrap()
                        .attempted_deletes
                        .insert(body.clone());
                    let result = client
                        .delete_message()
                        .queue_url(&url)
                        .receipt_handle(h)
                        .send()
                        .await;
                    if result.is_ok() {
                        stats.deletes_ok.fetch_add(1, Ordering::Relaxed);
                        ledger.lock().unwrap().acked_deletes.insert(body.clone());
                    } else {
                        stats.deletes_failed.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                }
            }
            // One DeleteMessageBatch.
            _ => {
                {
                    let mut ledger = ledger.lock().unwrap();
                    ledger
                        .attempted_deletes
                        .extend(messages.iter().map(|(b, _)| b.clone()));
                }
                let entries: Vec<_> = messages
                    .iter()
                    .enumerate()
                    .map(|(i, (_, h))| {
                        DeleteMessageBatchRequestEntry::builder()
                            .id(format!("d{i}"))
                            .receipt_handle(h)
                            .build()
                            .unwrap()
                    })
                    .collect();
                match client
                    .delete_message_batch()
                    .queue_url(&url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                {
                    Ok(out) => {
                        let mut ledger = ledger.lock().unwrap();
                        if !out.failed().is_empty() {
                            ledger
                                .failed_entries
                                .push(format!("delete: {:?}", out.failed()));
                        }
                        for s in out.successful() {
                            let i: usize = s.id()[1..].parse().unwrap();
                            ledger.acked_deletes.insert(messages[i].0.clone());
                        }
                        stats
                            .deletes_ok
                            .fetch_add(out.successful().len(), Ordering::Relaxed);
                    }
                    Err(_) => {
                        stats.deletes_failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_work_survives_repeated_kill_9() {
    within_deadline("the crash test", crash_rounds()).await;
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

async fn crash_rounds() {
    let seed = crash_seed("crash test", DEFAULT_SEED);
    let mut rng = SplitMix64::new(seed);
    let scratch = TempDir::new("crash");
    let data_dir = scratch.path().join("data");
    let logs = scratch.path().to_path_buf();
    let ledger: Arc<Mutex<Ledger>> = Arc::default();
    let started = Instant::now();

    let mut early_kills = 0;
    for round in 0..ROUNDS {
        // Every other round on average, first kill a start during its recovery, before it answers.
        if round > 0 && rng.range(0, 2) == 0 {
            let (mut doomed, _) = spawn_server(&data_dir, &logs, &format!("round{round}-early"));
            tokio::time::sleep(Duration::from_millis(rng.range(0, 60))).await;
            let _ = doomed.kill();
            let _ = doomed.wait();
            early_kills += 1;
        }
        let restart = Instant::now();
        let mut server = start_server(&data_dir, &logs, &format!("round{round}")).await;
        let ready_in = restart.elapsed();
        let admin = single_shot_client(&server.endpoint, REQUEST_TIMEOUT);
        let url = if round == 0 {
            admin
                .create_queue()
                .queue_name(QUEUE)
                .send()
                .await
                .expect("CreateQueue")
                .queue_url()
                .unwrap()
                .to_string()
        } else {
            // The queue must have survived the kill.
            admin
                .get_queue_url()
                .queue_name(QUEUE)
                .send()
                .await
                .unwrap_or_else(|e| {
                    panic!(
                        "queue lost after the kill of round {}: {e:?}\n{}",
                        round - 1,
                        log_tail(&server.log)
                    )
                })
                .queue_url()
                .unwrap()
                .to_string()
        };
        // Queue-level changes acknowledged in earlier rounds survive the kills too.
        let tags = admin
            .list_queue_tags()
            .queue_url(&url)
            .send()
            .await
            .expect("ListQueueTags")
            .tags()
            .cloned()
            .unwrap_or_default();
        let names: HashSet<String> = admin
            .list_queues()
            .send()
            .await
            .expect("ListQueues")
            .queue_urls()
            .iter()
            .map(|u| u.rsplit('/').next().unwrap().to_string())
            .collect();
        for earlier in 0..round {
            assert_eq!(
                tags.get(&format!("round{earlier}")).map(String::as_str),
                Some("tagged"),
                "tag of round {earlier} lost: {tags:?}"
            );
            assert!(
                names.contains(&format!("extra-{earlier}")),
                "queue of round {earlier} lost: {names:?}"
            );
        }
        admin
            .tag_queue()
            .queue_url(&url)
            .tags(format!("round{round}"), "tagged")
            .send()
            .await
            .expect("TagQueue");
        admin
            .create_queue()
            .queue_name(format!("extra-{round}"))
            .send()
            .await
            .expect("CreateQueue");
        let before = queue_counts(&admin, &url).await;
        let deleted_before_round = Arc::new(ledger.lock().unwrap().acked_deletes.clone());
        let stats = Arc::new(RoundStats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        for p in 0..PRODUCERS {
            tasks.push(tokio::spawn(produce(
                single_shot_client(&server.endpoint, REQUEST_TIMEOUT),
                url.clone(),
                format!("r{round}p{p}"),
                p < BULKY_PRODUCERS,
                SplitMix64::new(rng.next_u64()),
                ledger.clone(),
                stats.clone(),
                stop.clone(),
            )));
        }
        for _ in 0..CONSUMERS {
            tasks.push(tokio::spawn(consume(
                single_shot_client(&server.endpoint, REQUEST_TIMEOUT),
                url.clone(),
                SplitMix64::new(rng.next_u64()),
                ledger.clone(),
                deleted_before_round.clone(),
                stats.clone(),
                stop.clone(),
            )));
        }
        let load = Duration::from_millis(rng.range(LOAD_MILLIS.0, LOAD_MILLIS.1));
        tokio::time::sleep(load).await;
        // SIGKILL while the clients are still busy.
        server.kill();
        stop.store(true, Ordering::SeqCst);
        for task in tasks {
            tokio::time::timeout(Duration::from_secs(15), task)
                .await
                .expect("client task ends after the kill")
                .expect("client task does not panic");
        }
        println!(
            "round {round}: ready in {ready_in:?}, counts at start {before:?}, killed after {load:?}: \
             {} sends acked ({} failed requests), {} received, {} released, {} deletes acked \
             ({} failed requests), {} failed receives; {} reclaimed; journal now {}",
            stats.sends_ok.load(Ordering::Relaxed),
            stats.sends_failed.load(Ordering::Relaxed),
            stats.received.load(Ordering::Relaxed),
            stats.released.load(Ordering::Relaxed),
            stats.deletes_ok.load(Ordering::Relaxed),
            stats.deletes_failed.load(Ordering::Relaxed),
            stats.receives_failed.load(Ordering::Relaxed),
            reclaimed_in(&server.log),
            journal_summary(&data_dir),
        );
    }

    // ---- Recovery: restart once more and drain the queue.
    let restart = Instant::now();
    let server = start_server(&data_dir, &logs, "final").await;
    let ready_in = restart.elapsed();
    let client = single_shot_client(&server.endpoint, REQUEST_TIMEOUT);
    let url = client
        .get_queue_url()
        .queue_name(QUEUE)
        .send()
        .await
        .expect("queue survives")
        .queue_url()
        .unwrap()
        .to_string();
    let counts_after_recovery = queue_counts(&client, &url).await;
    let drain_started = Instant::now();
    let mut found: HashMap<String, u32> = HashMap::new();
    loop {
        assert!(
            drain_started.elapsed() < Duration::from_secs(20),
            "queue not drained after 20 s: {} found so far, counts {:?}",
            found.len(),
            queue_counts(&client, &url).await
        );
        let out = client
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .visibility_timeout(60)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive while draining");
        if out.messages().is_empty() {
            if queue_counts(&client, &url).await == (0, 0, 0) {
                break;
            }
            continue;
        }
        let entries: Vec<_> = out
            .messages()
            .iter()
            .enumerate()
            .map(|(i, m)| {
                *found
                    .entry(m.body().unwrap_or_default().to_string())
                    .or_default() += 1;
                DeleteMessageBatchRequestEntry::builder()
                    .id(format!("d{i}"))
                    .receipt_handle(m.receipt_handle().unwrap())
                    .build()
                    .unwrap()
            })
            .collect();
        let deleted = client
            .delete_message_batch()
            .queue_url(&url)
            .set_entries(Some(entries))
            .send()
            .await
            .expect("delete while draining");
        assert!(deleted.failed().is_empty(), "{:?}", deleted.failed());
    }
    let drained_in = drain_started.elapsed();
    // The recovered server still takes new work.
    client
        .send_message()
        .queue_url(&url)
        .message_body("after recovery")
        .send()
        .await
        .expect("send after recovery");
    assert_eq!(queue_counts(&client, &url).await, (1, 0, 0));
    drop(server);

    // ---- The verdict.
    let ledger = ledger.lock().unwrap();
    let lost: Vec<&String> = ledger
        .acked_sends
        .iter()
        .filter(|b| !found.contains_key(*b) && !ledger.attempted_deletes.contains(*b))
        .collect();
    let gone_by_unacked_delete = ledger
        .acked_sends
        .iter()
        .filter(|b| {
            !found.contains_key(*b)
                && !ledger.acked_deletes.contains(*b)
                && ledger.attempted_deletes.contains(*b)
        })
        .count();
    let resurrected: Vec<&String> = found
        .keys()
        .filter(|b| ledger.acked_deletes.contains(*b))
        .collect();
    let unknown: Vec<&String> = found
        .keys()
        .filter(|b| !ledger.attempted_sends.contains(*b))
        .collect();
    let duplicated: BTreeMap<&String, u32> = found
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(b, n)| (b, *n))
        .collect();
    let unacked_but_kept = found
        .keys()
        .filter(|b| !ledger.acked_sends.contains(*b) && ledger.attempted_sends.contains(*b))
        .count();
    println!(
        "crash test: {ROUNDS} kills under load and {early_kills} during start-up; final recovery ready in {ready_in:?} with counts {counts_after_recovery:?}, \
         drained in {drained_in:?}; whole test {:?}",
        started.elapsed()
    );
    let acked_bytes: usize = ledger.acked_sends.iter().map(String::len).sum();
    println!(
        "crash test: {} sends attempted, {} acked ({:.1} MB); {} deletes attempted, {} acked; {} found after recovery \
         ({unacked_but_kept} of them from unacknowledged sends); lost {}, resurrected {} (+{} during the \
         load), unknown {}, duplicated {}, gone by a delete in flight at a kill {gone_by_unacked_delete}",
        ledger.attempted_sends.len(),
        ledger.acked_sends.len(),
        acked_bytes as f64 / 1e6,
        ledger.attempted_deletes.len(),
        ledger.acked_deletes.len(),
        found.len(),
        lost.len(),
        resurrected.len(),
        ledger.resurrected_during_load.len(),
        unknown.len(),
        duplicated.len(),
    );
    let short = |items: &[&String]| -> Vec<String> {
        items
            .iter()
            .take(5)
            .map(|b| b.chars().take(40).collect())
            .collect()
    };
    assert!(
        ledger.acked_sends.len() > 100 && ledger.acked_deletes.len() > 50,
        "too little load to mean anything"
    );
    assert!(
        ledger.failed_entries.is_empty(),
        "batch entries failed: {:?}",
        ledger.failed_entries
    );
    assert!(
        lost.is_empty(),
        "acknowledged sends lost: {:?}",
        short(&lost)
    );
    assert!(
        resurrected.is_empty(),
        "acknowledged deletes undone: {:?}",
        short(&resurrected)
    );
    assert!(
        ledger.resurrected_during_load.is_empty(),
        "acknowledged deletes undone (seen in a later round): {:?}",
        ledger
            .resurrected_during_load
            .iter()
            .take(5)
            .collect::<Vec<_>>()
    );
    assert!(
        unknown.is_empty(),
        "messages nobody sent: {:?}",
        short(&unknown)
    );
    assert!(
        ledger.unknown_during_load.is_empty(),
        "received messages nobody sent: {:?}",
        ledger
            .unknown_during_load
            .iter()
            .take(5)
            .collect::<Vec<_>>()
    );
    assert!(
        duplicated.is_empty(),
        "messages stored twice: {duplicated:?}"
    );
}

// ---------------------------------------------------------------------------------------------------------
// FIFO: order, deduplication and sequence numbers across kills
// ---------------------------------------------------------------------------------------------------------

const FIFO_QUEUE: &str = "crash-order.fifo";
const FIFO_PRODUCERS: usize = 3;
const FIFO_GROUPS_PER_PRODUCER: usize = 8;
const FIFO_CONSUMERS: usize = 3;
/// Rounds of load, each ended by a kill, except the quiet rounds: the first drains the queue and idles,
/// the second only idles, each long enough for the journal's old segments to be reclaimed, so that the
/// journal no longer holds any record of the messages sent so far. Then each is killed.
const FIFO_ROUNDS: usize = 6;
const FIFO_QUIET_ROUNDS: [usize; 2] = [2, 3];
const FIFO_VISIBILITY: i32 = 2;
const FIFO_LOAD_MILLIS: (u64, u64) = (300, 1_500);
const FIFO_DEFAULT_SEED: u64 = 0xF1F0_C4A5_0001;
/// The group of the messages the test itself sends right after the quiet round (see `probe`).
const PROBE_GROUP: &str = "probe";
const PROBE_MESSAGES: usize = 10;

/// A FIFO message: its group and its counter within the group.
type FifoKey = (String, u64);

/// How a delete ended: answered with success, refused (a service error), or unknown (the request broke,
/// typically at a kill, so it may have taken effect).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Ok,
    Refused,
    Unknown,
}

#[derive(Clone, Debug)]
struct FifoItem {
    key: FifoKey,
    message_id: String,
    sequence: Option<String>,
    receive_count: Option<String>,
    handle: String,
}

#[derive(Clone, Debug)]
struct FifoReceive {
    round: usize,
    who: String,
    sent_at: Duration,
    answered_at: Duration,
    items: Vec<FifoItem>,
}

#[derive(Clone, Debug)]
struct FifoDelete {
    key: FifoKey,
    sent_at: Duration,
    answered_at: Duration,
    outcome: Outcome,
}

/// What the clients were told, across all rounds.
#[derive(Default)]
struct FifoLedger {
    attempted: HashSet<FifoKey>,
    /// The MessageId and SequenceNumber each acknowledged send (or re-send of an unacknowledged one)
    /// was answered with.
    acked: HashMap<FifoKey, (String, String)>,
    /// Re-sends of acknowledged messages: key, round, answer.
    resends: Vec<(FifoKey, usize, String, String)>,
    receives: Vec<FifoReceive>,
    deletes: Vec<FifoDelete>,
    /// Failed batch entries and other answers no request should get.
    problems: Vec<String>,
}

/// A producer's state, kept across rounds: the next counter of each of its groups, the messages whose
/// send was not answered (sent again, in order, before anything new), and what was acknowledged.
#[derive(Default)]
struct ProducerState {
    next: HashMap<String, u64>,
    pending: Vec<FifoKey>,
    acked: Vec<FifoKey>,
}

fn fifo_body(key: &FifoKey) -> String {
    format!("{}:{}", key.0, key.1)
}

fn fifo_dedup(key: &FifoKey) -> String {
    format!("{}-{}", key.0, key.1)
}

fn fifo_key(body: &str) -> Option<FifoKey> {
    let (group, counter) = body.split_once(':')?;
    Some((group.to_string(), counter.parse().ok()?))
}

/// Sends `keys` in order (one SendMessage, or one batch), returning each one's MessageId and
/// SequenceNumber, or `None` if the request broke (its effect unknown).
async fn fifo_send(
    client: &Client,
    url: &str,
    keys: &[FifoKey],
    ledger: &Mutex<FifoLedger>,
) -> Option<Vec<(String, String)>> {
    ledger
        .lock()
        .unwrap()
        .attempted
        .extend(keys.iter().cloned());
    if keys.len() == 1 {
        let key = &keys[0];
        let out = client
            .send_message()
            .queue_url(url)
            .message_body(fifo_body(key))
            .message_group_id(&key.0)
            .message_deduplication_id(fifo_dedup(key))
            .send()
            .await
            .ok()?;
        return Some(vec![(
            out.message_id().unwrap_or_default().to_string(),
            out.sequence_number().unwrap_or_default().to_string(),
        )]);
    }
    let entries: Vec<_> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            SendMessageBatchRequestEntry::builder()
                .id(format!("e{i}"))
                .message_body(fifo_body(key))
                .message_group_id(&key.0)
                .message_deduplication_id(fifo_dedup(key))
                .build()
                .unwrap()
        })
        .collect();
    let out = client
        .send_message_batch()
        .queue_url(url)
        .set_entries(Some(entries))
        .send()
        .await
        .ok()?;
    if !out.failed().is_empty() || out.successful().len() != keys.len() {
        ledger
            .lock()
            .unwrap()
            .problems
            .push(format!("send batch entries failed: {:?}", out.failed()));
        return None;
    }
    let mut answers = vec![(String::new(), String::new()); keys.len()];
    for entry in out.successful() {
        let i: usize = entry.id()[1..].parse().unwrap();
        answers[i] = (
            entry.message_id().to_string(),
            entry.sequence_number().unwrap_or_default().to_string(),
        );
    }
    Some(answers)
}

#[allow(clippy::too_many_arguments)]
async fn fifo_produce(
    client: Client,
    url: String,
    producer: usize,
    round: usize,
    mut rng: SplitMix64,
    state: Arc<Mutex<ProducerState>>,
    ledger: Arc<Mutex<FifoLedger>>,
    stop: Arc<AtomicBool>,
) {
    let groups: Vec<String> = (0..FIFO_GROUPS_PER_PRODUCER)
        .map(|g| format!("p{producer}g{g}"))
        .collect();
    // First, send again the last messages acknowledged before the kill: they are duplicates.
    let last: Vec<FifoKey> = {
        let state = state.lock().unwrap();
        state.acked.iter().rev().take(5).cloned().collect()
    };
    let resend = |key: FifoKey, answer: Option<Vec<(String, String)>>| {
        if let Some(answer) = answer {
            let (id, seq) = answer[0].clone();
            ledger.lock().unwrap().resends.push((key, round, id, seq));
        }
    };
    for key in last {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let answer = fifo_send(&client, &url, std::slice::from_ref(&key), &ledger).await;
        resend(key, answer);
    }
    while !stop.load(Ordering::SeqCst) {
        let pending = state.lock().unwrap().pending.clone();
        let roll = rng.range(0, 100);
        let keys: Vec<FifoKey> = if !pending.is_empty() {
            pending
        } else if roll < 10 {
            let key = {
                let state = state.lock().unwrap();
                if state.acked.is_empty() {
                    continue;
                }
                state.acked[rng.range(0, state.acked.len() as u64) as usize].clone()
            };
            let answer = fifo_send(&client, &url, std::slice::from_ref(&key), &ledger).await;
            resend(key, answer);
            continue;
        } else {
            let n = if roll < 55 {
                1
            } else {
                rng.range(2, 7) as usize
            };
            let mut state = state.lock().unwrap();
            (0..n)
                .map(|_| {
                    let group = groups[rng.range(0, groups.len() as u64) as usize].clone();
                    let counter = state.next.entry(group.clone()).or_insert(0);
                    let key = (group, *counter);
                    *counter += 1;
                    key
                })
                .collect()
        };
        match fifo_send(&client, &url, &keys, &ledger).await {
            Some(answers) => {
                let mut ledger = ledger.lock().unwrap();
                for (key, answer) in keys.iter().zip(answers) {
                    ledger.acked.insert(key.clone(), answer);
                }
                let mut state = state.lock().unwrap();
                state.pending.clear();
                state.acked.extend(keys);
            }
            None => {
                state.lock().unwrap().pending = keys;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Receives once (visibility `FIFO_VISIBILITY`), logging what came.
#[allow(clippy::too_many_arguments)]
async fn fifo_receive(
    client: &Client,
    url: &str,
    who: &str,
    round: usize,
    max: i32,
    wait: i32,
    started: Instant,
    ledger: &Mutex<FifoLedger>,
) -> Option<Vec<FifoItem>> {
    let sent_at = started.elapsed();
    let out = client
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(max)
        .visibility_timeout(FIFO_VISIBILITY)
        .wait_time_seconds(wait)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .ok()?;
    let answered_at = started.elapsed();
    let mut items = Vec::new();
    let mut ledger = ledger.lock().unwrap();
    for m in out.messages() {
        let body = m.body().unwrap_or_default();
        let Some(key) = fifo_key(body) else {
            ledger
                .problems
                .push(format!("received a body nobody sent: {body:?}"));
            continue;
        };
        let group = system_attribute(m, MessageSystemAttributeName::MessageGroupId);
        if group.as_deref() != Some(key.0.as_str()) {
            ledger
                .problems
                .push(format!("{key:?} arrived with MessageGroupId {group:?}"));
        }
        items.push(FifoItem {
            key,
            message_id: m.message_id().unwrap_or_default().to_string(),
            sequence: system_attribute(m, MessageSystemAttributeName::SequenceNumber),
            receive_count: system_attribute(m, MessageSystemAttributeName::ApproximateReceiveCount),
            handle: m.receipt_handle().unwrap_or_default().to_string(),
        });
    }
    if !items.is_empty() {
        ledger.receives.push(FifoReceive {
            round,
            who: who.to_string(),
            sent_at,
            answered_at,
            items: items.clone(),
        });
    }
    Some(items)
}

/// Deletes the items (one request each, or one batch) and logs each outcome.
async fn fifo_delete(
    client: &Client,
    url: &str,
    items: &[FifoItem],
    batch: bool,
    started: Instant,
    ledger: &Mutex<FifoLedger>,
) -> bool {
    let mut outcomes = Vec::new();
    if batch {
        let entries: Vec<_> = items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(format!("d{i}"))
                    .receipt_handle(&item.handle)
                    .build()
                    .unwrap()
            })
            .collect();
        let sent_at = started.elapsed();
        let result = client
            .delete_message_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await;
        let answered_at = started.elapsed();
        match result {
            Ok(out) => {
                let failed: HashSet<&str> = out.failed().iter().map(|f| f.id()).collect();
                for (i, item) in items.iter().enumerate() {
                    let outcome = if failed.contains(format!("d{i}").as_str()) {
                        Outcome::Refused
                    } else {
                        Outcome::Ok
                    };
                    outcomes.push((item.key.clone(), sent_at, answered_at, outcome));
                }
            }
            Err(e) => {
                let outcome = if matches!(e, SdkError::ServiceError(_)) {
                    Outcome::Refused
                } else {
                    Outcome::Unknown
                };
                for item in items {
                    outcomes.push((item.key.clone(), sent_at, answered_at, outcome));
                }
            }
        }
    } else {
        for item in items {
            let sent_at = started.elapsed();
            let result = client
                .delete_message()
                .queue_url(url)
                .receipt_handle(&item.handle)
                .send()
                .await;
            let outcome = match &result {
                Ok(_) => Outcome::Ok,
                Err(SdkError::ServiceError(_)) => Outcome::Refused,
                Err(_) => Outcome::Unknown,
            };
            outcomes.push((item.key.clone(), sent_at, started.elapsed(), outcome));
            if outcome == Outcome::Unknown {
                break;
            }
        }
    }
    let all_ok = outcomes.len() == items.len() && outcomes.iter().all(|o| o.3 == Outcome::Ok);
    let mut ledger = ledger.lock().unwrap();
    for (key, sent_at, answered_at, outcome) in outcomes {
        ledger.deletes.push(FifoDelete {
            key,
            sent_at,
            answered_at,
            outcome,
        });
    }
    all_ok
}

#[allow(clippy::too_many_arguments)]
async fn fifo_consume(
    client: Client,
    url: String,
    consumer: usize,
    round: usize,
    drain: bool,
    mut rng: SplitMix64,
    started: Instant,
    ledger: Arc<Mutex<FifoLedger>>,
    stop: Arc<AtomicBool>,
) {
    let who = format!("consumer {consumer}");
    while !stop.load(Ordering::SeqCst) {
        let max = rng.range(1, 11) as i32;
        let wait = rng.range(0, 2) as i32;
        let Some(items) =
            fifo_receive(&client, &url, &who, round, max, wait, started, &ledger).await
        else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        if items.is_empty() {
            continue;
        }
        match rng.range(0, 100) {
            // Give them back.
            0..=11 if !drain => {
                let entries: Vec<_> = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        ChangeMessageVisibilityBatchRequestEntry::builder()
                            .id(format!("v{i}"))
                            .receipt_handle(&item.handle)
                            .visibility_timeout(0)
                            .build()
                            .unwrap()
                    })
                    .collect();
                let _ = client
                    .change_message_visibility_batch()
                    .queue_url(&url)
                    .set_entries(Some(entries))
                    .send()
                    .await;
            }
            // Let the visibility timeout lapse.
            12..=21 if !drain => {}
            _ => {
                fifo_delete(
                    &client,
                    &url,
                    &items,
                    rng.range(0, 2) == 0,
                    started,
                    &ledger,
                )
                .await;
            }
        }
    }
}

/// Right after the restart that follows the quiet rounds: sends `PROBE_MESSAGES` messages, holds them,
/// and tries to delete again messages deleted in round 0 with their old receipt handles (as a client
/// would that never saw those deletes answered), then gives the probes back. Returns the probes that
/// could not be given back (so something removed them) and how many stale deletes were answered 200.
async fn probe(
    client: &Client,
    url: &str,
    round: usize,
    started: Instant,
    ledger: &Mutex<FifoLedger>,
) -> (Vec<FifoKey>, usize) {
    let keys: Vec<FifoKey> = (0..PROBE_MESSAGES as u64)
        .map(|c| (PROBE_GROUP.to_string(), c))
        .collect();
    let answers = fifo_send(client, url, &keys, ledger)
        .await
        .expect("probe messages sent");
    {
        let mut ledger = ledger.lock().unwrap();
        for (key, answer) in keys.iter().zip(answers) {
            ledger.acked.insert(key.clone(), answer);
        }
    }
    // The probes are the queue's only messages: one receive takes them all (one group, in order).
    let held = fifo_receive(client, url, "probe", round, 10, 1, started, ledger)
        .await
        .expect("probe receive");
    assert_eq!(
        held.iter().map(|i| i.key.clone()).collect::<Vec<_>>(),
        keys,
        "the probe receive got something else"
    );
    // Handles of messages deleted in round 0 on their first receive, oldest first.
    let stale: Vec<String> = {
        let ledger = ledger.lock().unwrap();
        let deleted: HashSet<&FifoKey> = ledger
            .deletes
            .iter()
            .filter(|d| d.outcome == Outcome::Ok)
            .map(|d| &d.key)
            .collect();
        let mut old: Vec<(u128, String)> = ledger
            .receives
            .iter()
            .filter(|r| r.round == 0)
            .flat_map(|r| &r.items)
            .filter(|i| i.receive_count.as_deref() == Some("1") && deleted.contains(&i.key))
            .filter_map(|i| Some((i.sequence.as_ref()?.parse().ok()?, i.handle.clone())))
            .collect();
        old.sort();
        old.dedup_by(|a, b| a.1 == b.1);
        old.into_iter().take(100).map(|(_, h)| h).collect()
    };
    let mut answered_ok = 0;
    for handle in &stale {
        if client
            .delete_message()
            .queue_url(url)
            .receipt_handle(handle)
            .send()
            .await
            .is_ok()
        {
            answered_ok += 1;
        }
    }
    let mut gone = Vec::new();
    for item in &held {
        if let Err(e) = client
            .change_message_visibility()
            .queue_url(url)
            .receipt_handle(&item.handle)
            .visibility_timeout(0)
            .send()
            .await
        {
            println!(
                "FIFO crash test: probe {:?} cannot be given back: {:?}",
                item.key,
                e.message()
            );
            gone.push(item.key.clone());
        }
    }
    (gone, answered_ok)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifo_order_and_deduplication_survive_repeated_kill_9() {
    within_deadline("the FIFO crash test", fifo_crash_rounds()).await;
}

async fn fifo_crash_rounds() {
    let seed = crash_seed("FIFO crash test", FIFO_DEFAULT_SEED);
    let mut rng = SplitMix64::new(seed);
    let scratch = TempDir::new("crash-fifo");
    let data_dir = scratch.path().join("data");
    let logs = scratch.path().to_path_buf();
    let ledger: Arc<Mutex<FifoLedger>> = Arc::default();
    let producers: Vec<Arc<Mutex<ProducerState>>> =
        (0..FIFO_PRODUCERS).map(|_| Arc::default()).collect();
    let started = Instant::now();
    let mut probe_result = None;
    let mut early_kills = 0;

    for round in 0..FIFO_ROUNDS {
        if round > 0 && rng.range(0, 2) == 0 {
            let (mut doomed, _) = spawn_server(&data_dir, &logs, &format!("fifo{round}-early"));
            tokio::time::sleep(Duration::from_millis(rng.range(0, 60))).await;
            let _ = doomed.kill();
            let _ = doomed.wait();
            early_kills += 1;
        }
        let mut server = start_server(&data_dir, &logs, &format!("fifo{round}")).await;
        let admin = single_shot_client(&server.endpoint, REQUEST_TIMEOUT);
        let url = if round == 0 {
            admin
                .create_queue()
                .queue_name(FIFO_QUEUE)
                .attributes(QueueAttributeName::FifoQueue, "true")
                .send()
                .await
                .expect("CreateQueue")
                .queue_url()
                .unwrap()
                .to_string()
        } else {
            admin
                .get_queue_url()
                .queue_name(FIFO_QUEUE)
                .send()
                .await
                .unwrap_or_else(|e| {
                    panic!(
                        "FIFO queue lost after a kill: {e:?}\n{}",
                        log_tail(&server.log)
                    )
                })
                .queue_url()
                .unwrap()
                .to_string()
        };
        let before = queue_counts(&admin, &url).await;
        if round == FIFO_QUIET_ROUNDS[1] + 1 {
            assert_eq!(
                before,
                (0, 0, 0),
                "the queue drained in the quiet rounds is not empty"
            );
            probe_result = Some(probe(&admin, &url, round, started, &ledger).await);
        }
        let quiet = FIFO_QUIET_ROUNDS.contains(&round);
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        if !quiet {
            for (p, state) in producers.iter().enumerate() {
                tasks.push(tokio::spawn(fifo_produce(
                    single_shot_client(&server.endpoint, REQUEST_TIMEOUT),
                    url.clone(),
                    p,
                    round,
                    SplitMix64::new(rng.next_u64()),
                    state.clone(),
                    ledger.clone(),
                    stop.clone(),
                )));
            }
        }
        for c in 0..FIFO_CONSUMERS {
            tasks.push(tokio::spawn(fifo_consume(
                single_shot_client(&server.endpoint, REQUEST_TIMEOUT),
                url.clone(),
                c,
                round,
                quiet,
                SplitMix64::new(rng.next_u64()),
                started,
                ledger.clone(),
                stop.clone(),
            )));
        }
        let load = if quiet {
            // Drain, then idle long enough for the journal's old segments to be reclaimed (checked
            // once a second).
            let drain_started = Instant::now();
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                if queue_counts(&admin, &url).await == (0, 0, 0) {
                    break;
                }
                assert!(
                    drain_started.elapsed() < Duration::from_secs(15),
                    "the quiet round {round} did not drain the queue: {:?}",
                    queue_counts(&admin, &url).await
                );
            }
            stop.store(true, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(2_500)).await;
            drain_started.elapsed()
        } else {
            let load = Duration::from_millis(rng.range(FIFO_LOAD_MILLIS.0, FIFO_LOAD_MILLIS.1));
            tokio::time::sleep(load).await;
            load
        };
        server.kill();
        stop.store(true, Ordering::SeqCst);
        for task in tasks {
            tokio::time::timeout(Duration::from_secs(15), task)
                .await
                .expect("client task ends after the kill")
                .expect("client task does not panic");
        }
        let ledger = ledger.lock().unwrap();
        println!(
            "FIFO round {round}{}: counts at start {before:?}, killed after {load:?}; so far {} sends \
             acknowledged, {} re-sends, {} receives, {} deletes answered; {} reclaimed; journal now {}",
            if quiet { " (quiet)" } else { "" },
            ledger.acked.len(),
            ledger.resends.len(),
            ledger.receives.len(),
            ledger.deletes.iter().filter(|d| d.outcome == Outcome::Ok).count(),
            reclaimed_in(&server.log),
            journal_summary(&data_dir),
        );
    }

    // ---- Recovery: restart once more; the producers send what was never answered, then drain.
    let server = start_server(&data_dir, &logs, "fifo-final").await;
    let client = single_shot_client(&server.endpoint, REQUEST_TIMEOUT);
    let url = client
        .get_queue_url()
        .queue_name(FIFO_QUEUE)
        .send()
        .await
        .expect("FIFO queue survives")
        .queue_url()
        .unwrap()
        .to_string();
    let final_round = FIFO_ROUNDS;
    for state in &producers {
        let pending = state.lock().unwrap().pending.clone();
        if !pending.is_empty() {
            let answers = fifo_send(&client, &url, &pending, &ledger)
                .await
                .expect("sending what was never answered");
            let mut ledger = ledger.lock().unwrap();
            for (key, answer) in pending.iter().zip(answers) {
                ledger.acked.insert(key.clone(), answer);
            }
        }
    }
    let drain_started = Instant::now();
    loop {
        assert!(
            drain_started.elapsed() < Duration::from_secs(20),
            "FIFO queue not drained after 20 s: counts {:?}",
            queue_counts(&client, &url).await
        );
        let items = fifo_receive(&client, &url, "drain", final_round, 10, 1, started, &ledger)
            .await
            .expect("receive while draining");
        if items.is_empty() {
            if queue_counts(&client, &url).await == (0, 0, 0) {
                break;
            }
            continue;
        }
        assert!(
            fifo_delete(&client, &url, &items, true, started, &ledger).await,
            "delete while draining failed"
        );
    }
    drop(server);

    // ---- The verdict.
    let ledger = ledger.lock().unwrap();
    let ok_deletes: HashMap<&FifoKey, Vec<&FifoDelete>> = ledger
        .deletes
        .iter()
        .filter(|d| d.outcome == Outcome::Ok)
        .fold(HashMap::new(), |mut map, d| {
            map.entry(&d.key).or_default().push(d);
            map
        });
    let maybe_deleted: HashMap<&FifoKey, Vec<&FifoDelete>> = ledger
        .deletes
        .iter()
        .filter(|d| d.outcome != Outcome::Refused)
        .fold(HashMap::new(), |mut map, d| {
            map.entry(&d.key).or_default().push(d);
            map
        });
    let mut order = Vec::new();
    let mut resurrected = Vec::new();
    for r in &ledger.receives {
        let mut runs: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
        for item in &r.items {
            runs.entry(item.key.0.as_str())
                .or_default()
                .push(item.key.1);
        }
        for (group, run) in runs {
            if run.windows(2).any(|w| w[1] != w[0] + 1) {
                order.push(format!("round {} {} got {group} {run:?}", r.round, r.who));
            }
            // Everything before the first must have been deleted (or had a delete under way) before
            // this receive was answered.
            if let Some(x) = (0..run[0]).find(|x| {
                !maybe_deleted
                    .get(&(group.to_string(), *x))
                    .is_some_and(|d| d.iter().any(|d| d.sent_at < r.answered_at))
            }) {
                order.push(format!(
                    "round {} {} got {group}:{} while {group}:{x} was not deleted",
                    r.round, r.who, run[0]
                ));
            }
            for x in run {
                if let Some(d) = ok_deletes.get(&(group.to_string(), x)) {
                    if d.iter().any(|d| d.answered_at < r.sent_at) {
                        resurrected.push(format!(
                            "round {} {} got {group}:{x}, whose delete had been answered",
                            r.round, r.who
                        ));
                    }
                }
            }
        }
    }
    // Deduplication: one MessageId per message, the one its send was answered with; re-sends of
    // acknowledged messages answered with the original.
    let mut dedup = Vec::new();
    let mut ids: HashMap<&FifoKey, HashSet<&str>> = HashMap::new();
    let mut unknown = Vec::new();
    for r in &ledger.receives {
        for item in &r.items {
            ids.entry(&item.key).or_default().insert(&item.message_id);
            if !ledger.attempted.contains(&item.key) {
                unknown.push(format!("{:?}", item.key));
            }
            if let Some((id, seq)) = ledger.acked.get(&item.key) {
                if *id != item.message_id || item.sequence.as_ref() != Some(seq) {
                    dedup.push(format!(
                        "{:?} received as ({}, {:?}), acknowledged as ({id}, {seq})",
                        item.key, item.message_id, item.sequence
                    ));
                }
            }
        }
    }
    for (key, set) in &ids {
        if set.len() > 1 {
            dedup.push(format!(
                "{key:?} delivered as {} messages: {set:?}",
                set.len()
            ));
        }
    }
    for (key, round, id, seq) in &ledger.resends {
        match ledger.acked.get(key) {
            Some((i, s)) if i == id && s == seq => {}
            other => dedup.push(format!(
                "re-send of {key:?} in round {round} answered ({id}, {seq}); acknowledged as {other:?}"
            )),
        }
    }
    // Sequence numbers grow with the counter within each group, across the restarts.
    let mut sequences: HashMap<&str, BTreeMap<u64, u128>> = HashMap::new();
    for (key, (_, seq)) in &ledger.acked {
        sequences
            .entry(key.0.as_str())
            .or_default()
            .insert(key.1, seq.parse().unwrap_or(0));
    }
    let mut shrinking = Vec::new();
    for (group, seqs) in &sequences {
        let list: Vec<(&u64, &u128)> = seqs.iter().collect();
        if let Some(w) = list.windows(2).find(|w| w[1].1 <= w[0].1) {
            shrinking.push(format!(
                "{group}:{} has SequenceNumber {} after {group}:{} had {}",
                w[1].0, w[1].1, w[0].0, w[0].1
            ));
        }
    }
    shrinking.sort();
    // Nothing acknowledged lost: every acknowledged message was deleted (answered, or under way at a kill).
    let mut lost: Vec<&FifoKey> = ledger
        .acked
        .keys()
        .filter(|k| !maybe_deleted.contains_key(k))
        .collect();
    lost.sort();
    let (probes_gone, stale_ok) = probe_result.unwrap_or_default();
    println!(
        "FIFO crash test: {FIFO_ROUNDS} kills ({early_kills} more during start-up); {} messages in {} groups \
         acknowledged, {} re-sends of acknowledged ones, {} receives, {} deletes answered; stale deletes \
         answered 200: {stale_ok}, probes removed by them: {}; out of order {}, resurrected {}, \
         deduplication {}, shrinking sequence numbers in {} groups, lost {}, unknown {}; whole test {:?}",
        ledger.acked.len(),
        sequences.len(),
        ledger.resends.len(),
        ledger.receives.len(),
        ok_deletes.len(),
        probes_gone.len(),
        order.len(),
        resurrected.len(),
        dedup.len(),
        shrinking.len(),
        lost.len(),
        unknown.len(),
        started.elapsed(),
    );
    let first = |v: &[String]| v.iter().take(5).cloned().collect::<Vec<_>>();
    assert!(
        ledger.acked.len() > 300 && ledger.resends.len() > 20,
        "too little load to mean anything"
    );
    assert!(ledger.problems.is_empty(), "{:?}", first(&ledger.problems));
    assert!(
        order.is_empty(),
        "delivered out of order: {:?}",
        first(&order)
    );
    assert!(
        resurrected.is_empty(),
        "deleted messages delivered again: {:?}",
        first(&resurrected)
    );
    assert!(
        dedup.is_empty(),
        "deduplication broken: {:?}",
        first(&dedup)
    );
    assert!(
        unknown.is_empty(),
        "messages nobody sent: {:?}",
        first(&unknown)
    );
    assert!(
        shrinking.is_empty(),
        "SequenceNumbers went down within a group after the restarts: {:?}",
        first(&shrinking)
    );
    assert!(
        probes_gone.is_empty(),
        "receipt handles of messages deleted before the restarts deleted other messages: {probes_gone:?}"
    );
    assert!(
        lost.is_empty(),
        "acknowledged messages lost: {:?}",
        lost.iter().take(5).collect::<Vec<_>>()
    );
}
