//! Soak test: the real `sluice` binary under a few minutes of mixed traffic, killed with SIGKILL and
//! restarted on the same data directory every 30-40 s, then checked for exact accounting and for
//! resources that return to where they were.
//!
//! Opt-in, because it takes about three minutes: it runs when `SLUICE_SOAK=1` (for ~150 s of traffic)
//! or `SLUICE_SOAK_SECONDS=<n>` is set, and otherwise passes with a note. `./scripts/test --soak` runs it
//! against the debug build named by `SLUICE_BIN`.
//!
//! The traffic, all at once:
//! - producers sending singles and batches to a standard queue and, in message groups with explicit
//!   deduplication ids, to a FIFO queue (a FIFO send whose answer was lost is sent again, same id);
//! - consumers long polling (WaitTimeSeconds 1-20) that delete what they receive, singly or in batches;
//! - abandoning consumers that receive with a 2 s visibility timeout and never delete;
//! - slow clients writing a SendMessage byte by byte, or stalling in its headers or body;
//! - idle connections, some after one keep-alive request, opened and left alone.
//!
//! The verdict, from what every client was told (each request is sent once; the SDK does not retry):
//! - standard queue: every acknowledged send is received and its delete acknowledged (or a delete was in
//!   flight at a kill, which may have taken effect unanswered); nothing is received that was not sent; no
//!   receive sent after a delete was acknowledged returns that message; a message is received again only
//!   after an abandoning consumer had it, after its visibility timeout ran out, or across a kill;
//! - FIFO queue: the same, and within a group each receive hands out consecutive messages starting at the
//!   oldest one whose delete nobody had attempted: never out of order, never one skipped;
//! - the server runs with short connection timeouts (`TIMEOUT_ARGS`): a stalled request and an idle
//!   connection are closed by the server within the timeout;
//! - after the traffic stops, the queues are drained and the connections are gone, the last server's open
//!   file descriptors are those the first had after its warm-up, and its RSS is back near that baseline.
//!
//! The PRNG seed is printed; set `SLUICE_SOAK_SEED` to repeat a run's choices.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, SendMessageBatchRequestEntry};
use aws_sdk_sqs::Client;
use common::{
    counts as queue_counts, log_tail, single_shot_client, wait_listening, SplitMix64, TempDir,
};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Server flags that close idle connections and requests whose headers or body do not arrive in time,
/// short so that the slow and idle clients meet them during the run.
const TIMEOUT_ARGS: [&str; 6] = [
    "--idle-timeout",
    "2",
    "--header-read-timeout",
    "2",
    "--body-read-timeout",
    "2",
];
/// The timeout above, in seconds, that every connection this test leaves alone runs into.
const SERVER_TIMEOUT_SECS: u64 = 2;

/// Traffic time when `SLUICE_SOAK=1` names none.
const DEFAULT_SOAK_SECS: u64 = 150;
/// Time between kills, in seconds (uniform).
const KILL_EVERY_SECS: (u64, u64) = (30, 41);
/// No kill this close to the end of the traffic, so the last server serves a while before the checks.
const QUIET_TAIL: Duration = Duration::from_secs(20);
const DEFAULT_SEED: u64 = 0x50A4_0000_0150;

const STD_QUEUE: &str = "soak";
const FIFO_QUEUE: &str = "soak.fifo";
const STD_PRODUCERS: u32 = 3;
const FIFO_PRODUCERS: u32 = 2;
const GROUPS_PER_PRODUCER: u32 = 5;
const DELETERS_PER_QUEUE: usize = 3;
const ABANDONERS_PER_QUEUE: usize = 1;
const SLOW_CLIENTS: u32 = 3;
/// Producer numbers of the slow clients' messages, after the producers'.
const SLOW_PRODUCER_BASE: u32 = 100;
/// Pause of a producer between requests, in milliseconds (uniform): enough traffic to matter on a shared
/// two-core machine running a debug build, not so much that it starves everything else.
const PRODUCER_PAUSE_MS: (u64, u64) = (20, 80);
/// Visibility timeout of the deleting consumers: far longer than a receive-then-delete takes.
const DELETER_VISIBILITY: i32 = 10;
/// Visibility timeout of the abandoning consumers: their messages come back this soon.
const ABANDON_VISIBILITY: i32 = 2;
const IDLE_BATCH: usize = 12;
const IDLE_EVERY: Duration = Duration::from_secs(5);
/// How long an idle connection is left before the test gives up on the server closing it.
const IDLE_HOLD: Duration = Duration::from_secs(8);
/// How late the server may close a stalled or idle connection after its timeout (a busy machine).
const CLOSE_SLACK: Duration = Duration::from_secs(3);
/// Time a slow client stalls in the middle of its request, in milliseconds (uniform).
const STALL_MS: (u64, u64) = (4_000, 5_500);
/// Time between two bytes of a dribbling client, in milliseconds (uniform).
const DRIBBLE_MS: (u64, u64) = (10, 30);

/// Bound on a (re)started server becoming ready, recovery included.
const READY_DEADLINE: Duration = Duration::from_secs(20);
/// Bound on any one SDK request; the longest is a 20 s long poll.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Bound on the queues becoming empty once only deleting consumers are left.
const DRAIN_DEADLINE: Duration = Duration::from_secs(45);
/// Bound on the server's connections going away once the clients are done.
const SETTLE_DEADLINE: Duration = Duration::from_secs(15);
/// Bound on the whole test beyond its traffic time.
const OVERHEAD_DEADLINE: Duration = Duration::from_secs(150);

/// How far the final RSS may rise above the baseline. The durable store keeps message bodies in memory
/// up to a 64 MiB budget, and memory the allocator got back from freed bodies and index nodes is not
/// necessarily returned to the kernel; anything beyond that budget is a leak.
const RSS_SLACK_KIB: u64 = 64 * 1024;

/// A message: (producer, counter) on the standard queue, (group, counter) on the FIFO queue.
type Key = (u32, u64);

fn soak_duration() -> Option<Duration> {
    if let Some(secs) = std::env::var("SLUICE_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|s| *s > 0)
    {
        return Some(Duration::from_secs(secs));
    }
    (std::env::var("SLUICE_SOAK").as_deref() == Ok("1"))
        .then(|| Duration::from_secs(DEFAULT_SOAK_SECS))
}

fn sluice_bin() -> PathBuf {
    std::env::var_os("SLUICE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_sluice")))
}

// ---------------------------------------------------------------------------------------------------------
// The server process
// ---------------------------------------------------------------------------------------------------------

/// A running `sluice` process; killed (SIGKILL) when dropped, so a failing test leaves nothing behind.
struct ServerProcess {
    child: Child,
    log: PathBuf,
}

impl ServerProcess {
    fn pid(&self) -> u32 {
        self.child.id()
    }

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

/// How the server is started each time.
struct Launch {
    bin: PathBuf,
    data_dir: PathBuf,
    logs: PathBuf,
    extra_args: Vec<&'static str>,
}

impl Launch {
    fn spawn(&self, port: u16, label: &str) -> ServerProcess {
        let log = self.logs.join(format!("{label}.log"));
        let log_file = std::fs::File::create(&log).expect("create log file");
        let child = Command::new(&self.bin)
            .arg("--bind")
            .arg(format!("127.0.0.1:{port}"))
            .args(["--admin-bind", "none"])
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(&self.extra_args)
            // Only the flags above configure it: durable storage, the default.
            .env_remove("SLUICE_CONFIG")
            .env_remove("SLUICE_STORAGE")
            .env_remove("SLUICE_PUBLIC_URL")
            .env_remove("SLUICE_REGION")
            .env_remove("SLUICE_ACCOUNT_ID")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("clone log file"))
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", self.bin.display()));
        ServerProcess { child, log }
    }

    /// Starts the server on `port` (0: one the kernel chooses) and waits until it listens; `Err` if it
    /// exits first (the port is taken) with the end of its log.
    async fn start_on(&self, port: u16, label: &str) -> Result<(ServerProcess, u16), String> {
        let mut server = self.spawn(port, label);
        let listening = wait_listening(&mut server.child, &server.log, READY_DEADLINE).await?;
        Ok((server, listening.api.port()))
    }

    /// Starts the server on `port` if it can be bound again (a few tries: a client's connection may
    /// hold it for a moment), else on a port the kernel chooses.
    async fn restart(&self, port: u16, label: &str) -> (ServerProcess, u16) {
        for attempt in 0..3 {
            match self.start_on(port, &format!("{label}-{attempt}")).await {
                Ok(started) => return started,
                Err(e) => println!("soak: restart on port {port} failed: {e}"),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        self.start_on(0, &format!("{label}-new"))
            .await
            .unwrap_or_else(|e| panic!("sluice could not be restarted: {e}"))
    }
}

/// Resident set size of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/<pid>/status")
}

/// A process's open file descriptors, by what they are.
#[derive(Clone, Debug, Default)]
struct Fds {
    total: usize,
    sockets: usize,
    journal: usize,
    /// Anything else (event queues, the lock file, pipes, standard streams), by kind.
    other: BTreeMap<String, usize>,
    /// Descriptors of files that were deleted: a segment let go of on disk but not in the process.
    deleted: Vec<String>,
}

impl Fds {
    fn of(pid: u32) -> Fds {
        let mut fds = Fds::default();
        let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            return fds;
        };
        for entry in entries.filter_map(Result::ok) {
            // A descriptor closed between the listing and the read is simply not counted.
            let Ok(target) = std::fs::read_link(entry.path()) else {
                continue;
            };
            let target = target.to_string_lossy().to_string();
            fds.total += 1;
            if target.ends_with(" (deleted)") {
                fds.deleted.push(target.clone());
            }
            if target.starts_with("socket:") {
                fds.sockets += 1;
            } else if target.contains("/journal-") {
                fds.journal += 1;
            } else {
                // Each server run logs to its own file: all of them are one kind.
                let kind = if target.ends_with(".log") {
                    "log file".to_string()
                } else if target.starts_with('/') {
                    target.rsplit('/').next().unwrap_or_default().to_string()
                } else {
                    target.split('[').next().unwrap_or_default().to_string()
                };
                *fds.other.entry(kind).or_default() += 1;
            }
        }
        fds
    }

    fn other_count(&self) -> usize {
        self.other.values().sum()
    }
}

fn segments_on_disk(data_dir: &Path) -> usize {
    std::fs::read_dir(data_dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with("journal-"))
                .count()
        })
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------------------
// What the clients were told
// ---------------------------------------------------------------------------------------------------------

/// State shared by every client task.
struct Shared {
    /// The server's address; changes only if a restart could not bind the same port again.
    addr: Mutex<SocketAddr>,
    /// Bumped whenever `addr` changes, so clients know to point themselves at the new one.
    generation: AtomicU64,
    /// Bumped right before each kill and again once the restarted server answers, so it is odd while
    /// the server is down: see [`Shared::met_kill`].
    epoch: AtomicU64,
    /// A logical clock ordering every request's start and answer across tasks.
    clock: AtomicU64,
    std_url: String,
    fifo_url: String,
    standard: Mutex<Ledger>,
    fifo: Mutex<Ledger>,
    stats: Stats,
    /// Answers no request should get (HTTP errors, failed batch entries, unexpected outcomes).
    problems: Mutex<Vec<String>>,
}

impl Shared {
    fn tick(&self) -> u64 {
        self.clock.fetch_add(1, Ordering::SeqCst) + 1
    }

    fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// Whether something that began in `epoch` may have met a kill or a server that was down.
    fn met_kill(&self, epoch: u64) -> bool {
        epoch % 2 == 1 || self.epoch() != epoch
    }

    fn addr(&self) -> SocketAddr {
        *self.addr.lock().unwrap()
    }

    fn problem(&self, text: String) {
        let mut problems = self.problems.lock().unwrap();
        if problems.len() < 50 {
            problems.push(text);
        }
    }

    fn ledger(&self, fifo: bool) -> &Mutex<Ledger> {
        if fifo {
            &self.fifo
        } else {
            &self.standard
        }
    }

    fn url(&self, fifo: bool) -> &str {
        if fifo {
            &self.fifo_url
        } else {
            &self.std_url
        }
    }

    /// Counts a failed SDK request: a broken connection is expected around a kill, an error answer never.
    fn failed<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
        &self,
        what: &str,
        error: &SdkError<E, R>,
    ) {
        match error {
            SdkError::ServiceError(_) => {
                self.stats.error_answers.fetch_add(1, Ordering::Relaxed);
                self.problem(format!(
                    "{what} answered with an error: {} {}",
                    error.code().unwrap_or_default(),
                    error.message().unwrap_or_default()
                ));
            }
            _ => {
                self.stats.broken_requests.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

#[derive(Default)]
struct Stats {
    sends_acked: AtomicU64,
    deliveries: AtomicU64,
    deletes_acked: AtomicU64,
    broken_requests: AtomicU64,
    error_answers: AtomicU64,
    slow_acked: AtomicU64,
    slow_cut: AtomicU64,
    slow_met_kill: AtomicU64,
    idle_opened: AtomicU64,
    idle_closed_by_server: AtomicU64,
    idle_left_open: AtomicU64,
    idle_met_kill: AtomicU64,
}

impl Stats {
    fn line(&self) -> String {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        format!(
            "{} sends acked, {} deliveries, {} deletes acked, {} broken requests, {} error answers; \
             slow clients {} acked / {} cut / {} met a kill; idle connections {} opened, {} closed by \
             the server, {} left open, {} met a kill",
            g(&self.sends_acked),
            g(&self.deliveries),
            g(&self.deletes_acked),
            g(&self.broken_requests),
            g(&self.error_answers),
            g(&self.slow_acked),
            g(&self.slow_cut),
            g(&self.slow_met_kill),
            g(&self.idle_opened),
            g(&self.idle_closed_by_server),
            g(&self.idle_left_open),
            g(&self.idle_met_kill),
        )
    }
}

/// One message handed out by one receive.
#[derive(Clone, Debug)]
struct Delivery {
    key: Key,
    /// The receive's start (clock tick), which also names the receive.
    sent: u64,
    answered: u64,
    epoch_sent: u64,
    epoch_answered: u64,
    at: Instant,
    visibility: i32,
    abandoned: bool,
    /// Position in the receive's answer.
    position: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Ok,
    /// Answered with an error (a FIFO handle from an earlier receive): certainly not deleted.
    Refused,
    /// The request broke: it may have taken effect.
    Unknown,
}

#[derive(Clone, Debug)]
struct Deletion {
    key: Key,
    attempted: u64,
    answered: u64,
    outcome: Outcome,
    /// Whether a kill came between the receive the handle came from and the delete's answer.
    met_kill: bool,
    /// Time from that receive's answer to the delete's.
    since_receive: Duration,
}

/// Everything the clients of one queue did and were told.
#[derive(Default)]
struct Ledger {
    attempted: HashSet<Key>,
    acked: HashSet<Key>,
    deliveries: Vec<Delivery>,
    deletions: Vec<Deletion>,
}

fn body_of(prefix: char, key: Key, pad: usize) -> String {
    format!("{prefix}{}.{}.{}", key.0, key.1, "x".repeat(pad))
}

fn key_of(body: &str) -> Option<Key> {
    let mut parts = body.get(1..)?.split('.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// Body padding: mostly small, now and then tens of KB so large records are in the journal too.
fn pad_len(rng: &mut SplitMix64) -> usize {
    if rng.range(0, 50) == 0 {
        rng.range(20_000, 60_000) as usize
    } else {
        rng.range(10, 1_000) as usize
    }
}

/// An SDK client that follows the server to a new port.
struct Link {
    shared: Arc<Shared>,
    generation: u64,
    client: Client,
}

impl Link {
    fn new(shared: &Arc<Shared>) -> Link {
        let generation = shared.generation.load(Ordering::SeqCst);
        let client = single_shot_client(&format!("http://{}", shared.addr()), REQUEST_TIMEOUT);
        Link {
            shared: shared.clone(),
            generation,
            client,
        }
    }

    fn client(&mut self) -> &Client {
        let now = self.shared.generation.load(Ordering::SeqCst);
        if now != self.generation {
            *self = Link::new(&self.shared);
        }
        &self.client
    }
}

fn stopped(stop: &watch::Receiver<bool>) -> bool {
    *stop.borrow()
}

async fn until_stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

// ---------------------------------------------------------------------------------------------------------
// Producers
// ---------------------------------------------------------------------------------------------------------

async fn std_producer(
    shared: Arc<Shared>,
    producer: u32,
    mut rng: SplitMix64,
    stop: watch::Receiver<bool>,
) {
    let mut link = Link::new(&shared);
    let mut n = 0u64;
    while !stopped(&stop) {
        let count = if rng.range(0, 3) == 0 {
            1
        } else {
            rng.range(2, 11)
        };
        let keys: Vec<Key> = (0..count)
            .map(|_| {
                n += 1;
                (producer, n)
            })
            .collect();
        let bodies: Vec<String> = keys
            .iter()
            .map(|k| body_of('s', *k, pad_len(&mut rng)))
            .collect();
        shared
            .standard
            .lock()
            .unwrap()
            .attempted
            .extend(keys.iter().copied());
        let client = link.client().clone();
        let acked: Vec<Key> = if count == 1 {
            match client
                .send_message()
                .queue_url(&shared.std_url)
                .message_body(&bodies[0])
                .send()
                .await
            {
                Ok(_) => keys.clone(),
                Err(e) => {
                    shared.failed("SendMessage", &e);
                    Vec::new()
                }
            }
        } else {
            let entries: Vec<_> = bodies
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(format!("e{i}"))
                        .message_body(b)
                        .build()
                        .expect("entry")
                })
                .collect();
            match client
                .send_message_batch()
                .queue_url(&shared.std_url)
                .set_entries(Some(entries))
                .send()
                .await
            {
                Ok(out) => {
                    if !out.failed().is_empty() {
                        shared.problem(format!("send batch entries failed: {:?}", out.failed()));
                    }
                    out.successful()
                        .iter()
                        .filter_map(|s| s.id().get(1..)?.parse::<usize>().ok())
                        .filter_map(|i| keys.get(i).copied())
                        .collect()
                }
                Err(e) => {
                    shared.failed("SendMessageBatch", &e);
                    Vec::new()
                }
            }
        };
        if acked.is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        } else {
            shared
                .stats
                .sends_acked
                .fetch_add(acked.len() as u64, Ordering::Relaxed);
            shared.standard.lock().unwrap().acked.extend(acked);
        }
        tokio::time::sleep(Duration::from_millis(
            rng.range(PRODUCER_PAUSE_MS.0, PRODUCER_PAUSE_MS.1),
        ))
        .await;
    }
}

/// Sends FIFO messages of its own groups with growing counters. A send whose answer is lost is sent
/// again, with the same deduplication ids, until it is acknowledged, before anything new: so each group
/// holds every counter once, in order, and every attempted send ends acknowledged.
async fn fifo_producer(
    shared: Arc<Shared>,
    producer: u32,
    mut rng: SplitMix64,
    stop: watch::Receiver<bool>,
) {
    let mut link = Link::new(&shared);
    let groups: Vec<u32> = (0..GROUPS_PER_PRODUCER)
        .map(|g| producer * GROUPS_PER_PRODUCER + g)
        .collect();
    let mut next: HashMap<u32, u64> = HashMap::new();
    while !stopped(&stop) {
        let count = if rng.range(0, 3) == 0 {
            1
        } else {
            rng.range(2, 11)
        };
        let keys: Vec<Key> = (0..count)
            .map(|_| {
                let group = groups[rng.range(0, groups.len() as u64) as usize];
                let counter = next.entry(group).or_insert(0);
                *counter += 1;
                (group, *counter)
            })
            .collect();
        let bodies: Vec<String> = keys
            .iter()
            .map(|k| body_of('f', *k, pad_len(&mut rng)))
            .collect();
        shared
            .fifo
            .lock()
            .unwrap()
            .attempted
            .extend(keys.iter().copied());
        // Bounded: a server that stays down fails the test at the drain, not here.
        for _ in 0..400 {
            if fifo_send(&shared, link.client(), &keys, &bodies).await {
                shared
                    .stats
                    .sends_acked
                    .fetch_add(keys.len() as u64, Ordering::Relaxed);
                shared
                    .fifo
                    .lock()
                    .unwrap()
                    .acked
                    .extend(keys.iter().copied());
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_millis(
            rng.range(PRODUCER_PAUSE_MS.0, PRODUCER_PAUSE_MS.1),
        ))
        .await;
    }
}

fn dedup_id(key: Key) -> String {
    format!("{}-{}", key.0, key.1)
}

/// One SendMessage or SendMessageBatch of `keys`; true when every entry was acknowledged.
async fn fifo_send(shared: &Shared, client: &Client, keys: &[Key], bodies: &[String]) -> bool {
    if keys.len() == 1 {
        let result = client
            .send_message()
            .queue_url(&shared.fifo_url)
            .message_body(&bodies[0])
            .message_group_id(keys[0].0.to_string())
            .message_deduplication_id(dedup_id(keys[0]))
            .send()
            .await;
        return match result {
            Ok(_) => true,
            Err(e) => {
                shared.failed("SendMessage (FIFO)", &e);
                false
            }
        };
    }
    let entries: Vec<_> = keys
        .iter()
        .zip(bodies)
        .enumerate()
        .map(|(i, (key, body))| {
            SendMessageBatchRequestEntry::builder()
                .id(format!("e{i}"))
                .message_body(body)
                .message_group_id(key.0.to_string())
                .message_deduplication_id(dedup_id(*key))
                .build()
                .expect("entry")
        })
        .collect();
    match client
        .send_message_batch()
        .queue_url(&shared.fifo_url)
        .set_entries(Some(entries))
        .send()
        .await
    {
        Ok(out) if out.failed().is_empty() && out.successful().len() == keys.len() => true,
        Ok(out) => {
            shared.problem(format!(
                "FIFO send batch entries failed: {:?}",
                out.failed()
            ));
            false
        }
        Err(e) => {
            shared.failed("SendMessageBatch (FIFO)", &e);
            false
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Consumers
// ---------------------------------------------------------------------------------------------------------

/// Long polls the queue and deletes what it receives, or (`abandon`) receives with a short visibility
/// timeout and never deletes. Only the receive is given up when told to stop: a delete always finishes,
/// so its outcome is known.
async fn consumer(
    shared: Arc<Shared>,
    fifo: bool,
    abandon: bool,
    mut rng: SplitMix64,
    mut stop: watch::Receiver<bool>,
) {
    let mut link = Link::new(&shared);
    let url = shared.url(fifo).to_string();
    let visibility = if abandon {
        ABANDON_VISIBILITY
    } else {
        DELETER_VISIBILITY
    };
    while !stopped(&stop) {
        let client = link.client().clone();
        let sent = shared.tick();
        let epoch_sent = shared.epoch();
        let began = Instant::now();
        let receive = client
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(rng.range(1, 11) as i32)
            .wait_time_seconds(rng.range(1, 21) as i32)
            .visibility_timeout(visibility)
            .send();
        let result = tokio::select! {
            result = receive => result,
            _ = until_stopped(&mut stop) => return,
        };
        let answered = shared.tick();
        let epoch_answered = shared.epoch();
        let at = Instant::now();
        let out = match result {
            Ok(out) => out,
            Err(e) => {
                shared.failed("ReceiveMessage", &e);
                // A connection can break as a request starts (a kill, or the server closing it as idle
                // just then), never in the middle of a long poll the server is still serving.
                let waited = began.elapsed();
                if !shared.met_kill(epoch_sent)
                    && waited > Duration::from_secs(SERVER_TIMEOUT_SECS) + CLOSE_SLACK
                {
                    shared.problem(format!(
                        "a long poll broke after {waited:?} with no kill: {}",
                        aws_sdk_sqs::error::DisplayErrorContext(&e)
                    ));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let mut received: Vec<(Key, String)> = Vec::new();
        for message in out.messages() {
            let body = message.body().unwrap_or_default();
            match key_of(body) {
                Some(key) => received.push((
                    key,
                    message.receipt_handle().unwrap_or_default().to_string(),
                )),
                None => shared.problem(format!(
                    "received a body nobody sent: {:?}",
                    body.chars().take(40).collect::<String>()
                )),
            }
        }
        shared
            .stats
            .deliveries
            .fetch_add(received.len() as u64, Ordering::Relaxed);
        {
            let mut ledger = shared.ledger(fifo).lock().unwrap();
            for (position, (key, _)) in received.iter().enumerate() {
                ledger.deliveries.push(Delivery {
                    key: *key,
                    sent,
                    answered,
                    epoch_sent,
                    epoch_answered,
                    at,
                    visibility,
                    abandoned: abandon,
                    position,
                });
            }
        }
        if abandon {
            let pause = Duration::from_millis(rng.range(500, 3_000));
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = until_stopped(&mut stop) => return,
            }
            continue;
        }
        if received.is_empty() {
            continue;
        }
        let deletions = if rng.range(0, 3) == 0 {
            delete_singly(&shared, &client, &url, &received, epoch_sent, at).await
        } else {
            delete_batch(&shared, &client, &url, &received, epoch_sent, at).await
        };
        let acked = deletions
            .iter()
            .filter(|d| d.outcome == Outcome::Ok)
            .count();
        shared
            .stats
            .deletes_acked
            .fetch_add(acked as u64, Ordering::Relaxed);
        shared
            .ledger(fifo)
            .lock()
            .unwrap()
            .deletions
            .extend(deletions);
    }
}

async fn delete_singly(
    shared: &Shared,
    client: &Client,
    url: &str,
    received: &[(Key, String)],
    receive_epoch: u64,
    receive_at: Instant,
) -> Vec<Deletion> {
    let mut deletions = Vec::new();
    for (key, handle) in received {
        let attempted = shared.tick();
        let result = client
            .delete_message()
            .queue_url(url)
            .receipt_handle(handle)
            .send()
            .await;
        let outcome = match &result {
            Ok(_) => Outcome::Ok,
            Err(SdkError::ServiceError(_)) => Outcome::Refused,
            Err(e) => {
                shared.failed("DeleteMessage", e);
                Outcome::Unknown
            }
        };
        deletions.push(Deletion {
            key: *key,
            attempted,
            answered: shared.tick(),
            outcome,
            met_kill: shared.met_kill(receive_epoch),
            since_receive: receive_at.elapsed(),
        });
    }
    deletions
}

async fn delete_batch(
    shared: &Shared,
    client: &Client,
    url: &str,
    received: &[(Key, String)],
    receive_epoch: u64,
    receive_at: Instant,
) -> Vec<Deletion> {
    let entries: Vec<_> = received
        .iter()
        .enumerate()
        .map(|(i, (_, handle))| {
            DeleteMessageBatchRequestEntry::builder()
                .id(format!("d{i}"))
                .receipt_handle(handle)
                .build()
                .expect("entry")
        })
        .collect();
    let attempted = shared.tick();
    let result = client
        .delete_message_batch()
        .queue_url(url)
        .set_entries(Some(entries))
        .send()
        .await;
    let answered = shared.tick();
    let met_kill = shared.met_kill(receive_epoch);
    let since_receive = receive_at.elapsed();
    let mut outcomes = vec![Outcome::Unknown; received.len()];
    match result {
        Ok(out) => {
            let index = |id: &str| id.get(1..).and_then(|i| i.parse::<usize>().ok());
            for entry in out.successful() {
                if let Some(o) = index(entry.id()).and_then(|i| outcomes.get_mut(i)) {
                    *o = Outcome::Ok;
                }
            }
            for entry in out.failed() {
                if let Some(o) = index(entry.id()).and_then(|i| outcomes.get_mut(i)) {
                    *o = Outcome::Refused;
                }
            }
        }
        Err(e) => shared.failed("DeleteMessageBatch", &e),
    }
    received
        .iter()
        .zip(outcomes)
        .map(|((key, _), outcome)| Deletion {
            key: *key,
            attempted,
            answered,
            outcome,
            met_kill,
            since_receive,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------------------
// Slow and idle connections
// ---------------------------------------------------------------------------------------------------------

async fn write_all(stream: &TcpStream, mut data: &[u8]) -> std::io::Result<()> {
    while !data.is_empty() {
        stream.writable().await?;
        match stream.try_write(data) {
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

async fn read_some(stream: &TcpStream, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        stream.readable().await?;
        match stream.try_read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
}

/// Reads one response and returns its status, or `None` if the connection ended first.
async fn read_status(stream: &TcpStream) -> Option<u16> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        match read_some(stream, &mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let length: usize = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + 4 + length {
        match read_some(stream, &mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    Some(status)
}

fn json_request(host: &str, operation: &str, body: &str, keep_alive: bool) -> Vec<u8> {
    format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-amz-json-1.0\r\n\
         X-Amz-Target: AmazonSQS.{operation}\r\nConnection: {}\r\nContent-Length: {}\r\n\r\n{body}",
        if keep_alive { "keep-alive" } else { "close" },
        body.len()
    )
    .into_bytes()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slowness {
    /// Every byte on its own, a few ms apart.
    Dribble,
    /// Part of the headers, then a pause longer than the header timeout.
    StallInHeaders,
    /// The headers and part of the body, then a pause longer than the body timeout.
    StallInBody,
}

/// A client that writes SendMessage requests slowly. Its message counts as sent when it is answered 200.
async fn slow_client(
    shared: Arc<Shared>,
    producer: u32,
    mut rng: SplitMix64,
    stop: watch::Receiver<bool>,
) {
    let mut n = 0u64;
    while !stopped(&stop) {
        n += 1;
        let key = (producer, n);
        let mode = match rng.range(0, 3) {
            0 => Slowness::Dribble,
            1 => Slowness::StallInHeaders,
            _ => Slowness::StallInBody,
        };
        let addr = shared.addr();
        let body = format!(
            "{{\"QueueUrl\":\"{}\",\"MessageBody\":\"{}\"}}",
            shared.std_url,
            body_of('s', key, 8)
        );
        let request = json_request(&addr.to_string(), "SendMessage", &body, false);
        let body_start = request.len() - body.len();
        shared.standard.lock().unwrap().attempted.insert(key);
        let epoch = shared.epoch();
        let began = Instant::now();
        let status = match TcpStream::connect(addr).await {
            Ok(stream) => {
                let (split, pause) = match mode {
                    Slowness::Dribble => (request.len(), None),
                    Slowness::StallInHeaders => (body_start / 2, Some(STALL_MS)),
                    Slowness::StallInBody => (body_start + body.len() / 2, Some(STALL_MS)),
                };
                let mut written = true;
                for byte in &request[..split] {
                    if write_all(&stream, std::slice::from_ref(byte))
                        .await
                        .is_err()
                    {
                        written = false;
                        break;
                    }
                    if mode == Slowness::Dribble {
                        tokio::time::sleep(Duration::from_millis(
                            rng.range(DRIBBLE_MS.0, DRIBBLE_MS.1),
                        ))
                        .await;
                    }
                }
                if let (true, Some(pause)) = (written, pause) {
                    tokio::time::sleep(Duration::from_millis(rng.range(pause.0, pause.1))).await;
                    // A server that gave up on the request may have closed the connection already;
                    // what it answered, if anything, is read below.
                    let _ = write_all(&stream, &request[split..]).await;
                }
                tokio::time::timeout(Duration::from_secs(15), read_status(&stream))
                    .await
                    .unwrap_or(None)
            }
            Err(_) => None,
        };
        let elapsed = began.elapsed();
        let met_kill = shared.met_kill(epoch);
        match status {
            Some(200) => {
                shared.stats.slow_acked.fetch_add(1, Ordering::Relaxed);
                shared.standard.lock().unwrap().acked.insert(key);
                if mode != Slowness::Dribble && !met_kill {
                    shared.problem(format!(
                        "a request stalled for longer than the server's timeouts was served ({mode:?}, \
                         {elapsed:?})"
                    ));
                }
            }
            _ if met_kill => {
                shared.stats.slow_met_kill.fetch_add(1, Ordering::Relaxed);
            }
            // A request the server gave up on may be answered with a client error before it closes.
            Some(status) if !(400..500).contains(&status) => {
                shared.problem(format!("slow {mode:?} request answered {status}"));
            }
            _ => {
                shared.stats.slow_cut.fetch_add(1, Ordering::Relaxed);
            }
        }
        tokio::time::sleep(Duration::from_millis(rng.range(100, 1_000))).await;
    }
}

/// Opens a connection, sends one keep-alive request on it (`with_request`) and then nothing. Returns the
/// connection and when it went quiet, or `None` if it broke before that (a kill).
async fn open_idle(shared: &Shared, with_request: bool) -> Option<(TcpStream, Instant)> {
    let addr = shared.addr();
    let stream = TcpStream::connect(addr).await.ok()?;
    shared.stats.idle_opened.fetch_add(1, Ordering::Relaxed);
    if with_request {
        let request = json_request(&addr.to_string(), "ListQueues", "{}", true);
        write_all(&stream, &request).await.ok()?;
        match tokio::time::timeout(Duration::from_secs(10), read_status(&stream)).await {
            Ok(Some(200)) => {}
            Ok(Some(status)) => {
                shared.problem(format!(
                    "ListQueues on an idle connection answered {status}"
                ));
                return None;
            }
            _ => return None,
        }
    }
    Some((stream, Instant::now()))
}

/// Waits (at most `hold`) for the server to close an idle connection; true if it did. What it sends
/// before closing (a 408, say) is read and ignored.
async fn closed_by_server(stream: &TcpStream, hold: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let closed = async {
        loop {
            match read_some(stream, &mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(hold, closed).await.is_ok()
}

/// Holds one idle connection and records what became of it.
async fn idle_connection(shared: Arc<Shared>, with_request: bool, hold: Duration) {
    let epoch = shared.epoch();
    let Some((stream, quiet_since)) = open_idle(&shared, with_request).await else {
        return;
    };
    let closed = closed_by_server(&stream, hold).await;
    let after = quiet_since.elapsed();
    if shared.met_kill(epoch) {
        shared.stats.idle_met_kill.fetch_add(1, Ordering::Relaxed);
    } else if closed {
        shared
            .stats
            .idle_closed_by_server
            .fetch_add(1, Ordering::Relaxed);
        if after > Duration::from_secs(SERVER_TIMEOUT_SECS) + CLOSE_SLACK {
            shared.problem(format!(
                "an idle connection was closed only after {after:?}"
            ));
        }
    } else {
        shared.stats.idle_left_open.fetch_add(1, Ordering::Relaxed);
        shared.problem(format!(
            "an idle connection (after a request: {with_request}) was still open after {after:?}"
        ));
    }
}

/// Every [`IDLE_EVERY`], opens a batch of idle connections and leaves them.
async fn idle_spawner(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut held: Vec<JoinHandle<()>> = Vec::new();
    while !stopped(&stop) {
        for i in 0..IDLE_BATCH {
            held.push(tokio::spawn(idle_connection(
                shared.clone(),
                i % 2 == 0,
                IDLE_HOLD,
            )));
        }
        held.retain(|h| !h.is_finished());
        tokio::select! {
            _ = tokio::time::sleep(IDLE_EVERY) => {}
            _ = until_stopped(&mut stop) => {}
        }
    }
    for handle in held {
        let _ = tokio::time::timeout(IDLE_HOLD + Duration::from_secs(15), handle).await;
    }
}

// ---------------------------------------------------------------------------------------------------------
// The verdict
// ---------------------------------------------------------------------------------------------------------

/// What the analysis of one queue found.
#[derive(Debug, Default)]
struct Verdict {
    acked_sends: usize,
    unacked_sends_delivered: usize,
    deliveries: usize,
    redelivered_after_abandon: usize,
    redelivered_after_timeout: usize,
    redelivered_across_kill: usize,
    /// Messages whose delete was acknowledged more than once (received again across a kill before the
    /// first delete was answered).
    deleted_twice: usize,
    gone_by_unanswered_delete: usize,
    refused_deletes: usize,
    violations: Vec<String>,
}

impl Verdict {
    fn violation(&mut self, text: String) {
        if self.violations.len() < 20 {
            self.violations.push(text);
        } else if self.violations.len() == 20 {
            self.violations.push("(more left out)".to_string());
        }
    }
}

fn analyse(ledger: &Ledger, fifo: bool) -> Verdict {
    let mut v = Verdict {
        acked_sends: ledger.acked.len(),
        deliveries: ledger.deliveries.len(),
        ..Verdict::default()
    };
    let mut deliveries: HashMap<Key, Vec<&Delivery>> = HashMap::new();
    for d in &ledger.deliveries {
        deliveries.entry(d.key).or_default().push(d);
    }
    let mut deletions: HashMap<Key, Vec<&Deletion>> = HashMap::new();
    for d in &ledger.deletions {
        deletions.entry(d.key).or_default().push(d);
    }
    // The earliest acknowledged delete of each message.
    let deleted_at: HashMap<Key, u64> = deletions
        .iter()
        .filter_map(|(k, ds)| {
            ds.iter()
                .filter(|d| d.outcome == Outcome::Ok)
                .map(|d| d.answered)
                .min()
                .map(|t| (*k, t))
        })
        .collect();

    for key in &ledger.acked {
        let ds = deletions.get(key).map(Vec::as_slice).unwrap_or_default();
        let acked_deletes = ds.iter().filter(|d| d.outcome == Outcome::Ok).count();
        if acked_deletes > 1 {
            v.deleted_twice += 1;
        }
        if acked_deletes == 0 {
            if ds.iter().any(|d| d.outcome == Outcome::Unknown) {
                v.gone_by_unanswered_delete += 1;
            } else {
                v.violation(format!(
                    "acknowledged send {key:?} lost ({} deliveries, deletes {:?})",
                    deliveries.get(key).map_or(0, Vec::len),
                    ds.iter().map(|d| d.outcome).collect::<Vec<_>>()
                ));
            }
        }
    }
    for (key, ds) in &mut deliveries {
        if !ledger.attempted.contains(key) {
            v.violation(format!("received {key:?}, which nobody sent"));
            continue;
        }
        if !ledger.acked.contains(key) {
            v.unacked_sends_delivered += 1;
        }
        ds.sort_by_key(|d| d.answered);
        if let Some(deleted) = deleted_at.get(key) {
            for d in ds.iter().filter(|d| d.sent > *deleted) {
                v.violation(format!(
                    "{key:?} received (receive started at tick {}) after its delete was acknowledged \
                     (tick {deleted})",
                    d.sent
                ));
            }
        }
        for pair in ds.windows(2) {
            let (first, again) = (pair[0], pair[1]);
            if first.abandoned {
                v.redelivered_after_abandon += 1;
            } else if first.epoch_sent % 2 == 1 || again.epoch_answered != first.epoch_sent {
                v.redelivered_across_kill += 1;
            } else if again.at.duration_since(first.at)
                >= Duration::from_secs(first.visibility as u64)
                    .saturating_sub(Duration::from_secs(1))
            {
                v.redelivered_after_timeout += 1;
            } else {
                v.violation(format!(
                    "{key:?} received again {:?} after a deleting consumer received it, with no kill \
                     in between",
                    again.at.duration_since(first.at)
                ));
            }
        }
    }
    for d in &ledger.deletions {
        if d.outcome != Outcome::Refused {
            continue;
        }
        v.refused_deletes += 1;
        // Only a FIFO queue refuses a handle, and only one from before the message was received again:
        // which happens only across a kill or after a visibility timeout.
        let explained = fifo
            && (d.met_kill || d.since_receive >= Duration::from_secs(DELETER_VISIBILITY as u64));
        if !explained {
            v.violation(format!(
                "delete of {:?} refused {:?} after its receive, with no kill in between",
                d.key, d.since_receive
            ));
        }
    }
    if fifo {
        check_fifo_order(ledger, &mut v);
    }
    v
}

/// Within each group, every receive hands out consecutive counters starting at the lowest one not
/// acknowledged as deleted when the receive started, or above it only past counters whose delete had
/// been attempted by the time it was answered (such a delete may have taken effect unanswered, or been
/// answered after the receive).
fn check_fifo_order(ledger: &Ledger, v: &mut Verdict) {
    // Per group: the receives (by start tick) and the counters they handed out, in answer order.
    let mut receives: BTreeMap<u32, BTreeMap<u64, Vec<&Delivery>>> = BTreeMap::new();
    for d in &ledger.deliveries {
        receives
            .entry(d.key.0)
            .or_default()
            .entry(d.sent)
            .or_default()
            .push(d);
    }
    let mut acked_delete: HashMap<Key, u64> = HashMap::new();
    let mut attempted_delete: HashMap<Key, u64> = HashMap::new();
    for d in &ledger.deletions {
        let at = attempted_delete.entry(d.key).or_insert(d.attempted);
        *at = (*at).min(d.attempted);
        if d.outcome == Outcome::Ok {
            let at = acked_delete.entry(d.key).or_insert(d.answered);
            *at = (*at).min(d.answered);
        }
    }
    for (group, by_start) in receives {
        // Receives in the order they started: the lowest counter not deleted only grows.
        let mut lowest = 1;
        for (sent, mut items) in by_start {
            items.sort_by_key(|d| d.position);
            let counters: Vec<u64> = items.iter().map(|d| d.key.1).collect();
            if counters.windows(2).any(|w| w[1] != w[0] + 1) {
                v.violation(format!(
                    "group {group}: one receive handed out {counters:?}, not consecutive"
                ));
                continue;
            }
            let answered = items[0].answered;
            let first = counters[0];
            let deleted_before = |c: u64| acked_delete.get(&(group, c)).is_some_and(|t| *t < sent);
            while deleted_before(lowest) {
                lowest += 1;
            }
            if let Some(c) = counters.iter().find(|c| deleted_before(**c)) {
                v.violation(format!(
                    "group {group}: {c} received after its delete was acknowledged"
                ));
            }
            if let Some(skipped) = (lowest..first).find(|c| {
                attempted_delete
                    .get(&(group, *c))
                    .is_none_or(|t| *t >= answered)
            }) {
                v.violation(format!(
                    "group {group}: a receive handed out {counters:?} while {skipped} was neither \
                     deleted nor being deleted"
                ));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_mixed_traffic_with_kill_9_restarts() {
    let Some(duration) = soak_duration() else {
        println!("soak test skipped: set SLUICE_SOAK=1 (or SLUICE_SOAK_SECONDS=<n>) to run it");
        return;
    };
    let deadline = duration + OVERHEAD_DEADLINE;
    match tokio::time::timeout(deadline, soak(duration)).await {
        Ok(()) => {}
        Err(_) => panic!("the soak test did not finish within {deadline:?}"),
    }
}

/// Creates the two queues and runs a little of every kind of request through the server, with a client
/// dropped afterwards, so that what the server sets up on first use is there before the baseline.
async fn warm_up(endpoint: &str) -> (String, String) {
    let client = single_shot_client(endpoint, REQUEST_TIMEOUT);
    let std_url = client
        .create_queue()
        .queue_name(STD_QUEUE)
        .send()
        .await
        .expect("CreateQueue")
        .queue_url()
        .expect("QueueUrl")
        .to_string();
    let fifo_url = client
        .create_queue()
        .queue_name(FIFO_QUEUE)
        .attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .expect("CreateQueue (FIFO)")
        .queue_url()
        .expect("QueueUrl")
        .to_string();
    for round in 0..20 {
        for (url, fifo) in [(&std_url, false), (&fifo_url, true)] {
            let entries: Vec<_> = (0..10)
                .map(|i| {
                    let entry = SendMessageBatchRequestEntry::builder()
                        .id(format!("w{i}"))
                        .message_body(format!("warm-up {round} {i}"));
                    let entry = if fifo {
                        entry
                            .message_group_id("warm-up")
                            .message_deduplication_id(format!("w-{round}-{i}"))
                    } else {
                        entry
                    };
                    entry.build().expect("entry")
                })
                .collect();
            client
                .send_message_batch()
                .queue_url(url)
                .set_entries(Some(entries))
                .send()
                .await
                .expect("warm-up send");
        }
    }
    for url in [&std_url, &fifo_url] {
        let started = Instant::now();
        while queue_counts(&client, url).await != (0, 0, 0) {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "warm-up not drained"
            );
            let out = client
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .expect("warm-up receive");
            for m in out.messages() {
                client
                    .delete_message()
                    .queue_url(url)
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .expect("warm-up delete");
            }
        }
    }
    (std_url, fifo_url)
}

/// The server's descriptors and RSS once its connections are gone: polled until the socket count is at
/// most `sockets` (or, without one, until it stays the same for half a second), within the deadline,
/// then read again a moment later.
async fn settled(pid: u32, sockets: Option<usize>, deadline: Duration) -> (Fds, u64) {
    let started = Instant::now();
    let mut last = Fds::of(pid).sockets;
    while started.elapsed() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = Fds::of(pid).sockets;
        if sockets.map_or(now == last, |s| now <= s) {
            break;
        }
        last = now;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    (Fds::of(pid), rss_kib(pid))
}

async fn soak(duration: Duration) {
    let seed = std::env::var("SLUICE_SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEED);
    println!("soak: seed {seed} (set SLUICE_SOAK_SEED to repeat), {duration:?} of traffic");
    let mut rng = SplitMix64::new(seed);
    let bin = sluice_bin();
    let scratch = TempDir::new("soak");
    let launch = Launch {
        bin,
        data_dir: scratch.path().join("data"),
        logs: scratch.path().to_path_buf(),
        extra_args: TIMEOUT_ARGS.to_vec(),
    };

    // ---- First start, warm-up and baseline.
    let (mut server, mut port) = launch
        .start_on(0, "life0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let endpoint = format!("http://127.0.0.1:{port}");
    let (std_url, fifo_url) = warm_up(&endpoint).await;
    let (baseline_fds, baseline_rss) = settled(server.pid(), None, SETTLE_DEADLINE).await;
    println!(
        "soak: baseline after warm-up: RSS {baseline_rss} KiB, {} fds ({} sockets, {} journal, other \
         {:?})",
        baseline_fds.total, baseline_fds.sockets, baseline_fds.journal, baseline_fds.other
    );

    let shared = Arc::new(Shared {
        addr: Mutex::new(SocketAddr::from(([127, 0, 0, 1], port))),
        generation: AtomicU64::new(0),
        epoch: AtomicU64::new(0),
        clock: AtomicU64::new(0),
        std_url,
        fifo_url,
        standard: Mutex::default(),
        fifo: Mutex::default(),
        stats: Stats::default(),
        problems: Mutex::default(),
    });

    // ---- The traffic.
    let (stop_producers, producers_stop) = watch::channel(false);
    let (stop_abandoners, abandoners_stop) = watch::channel(false);
    let (stop_deleters, deleters_stop) = watch::channel(false);
    let mut producers = Vec::new();
    for p in 0..STD_PRODUCERS {
        producers.push(tokio::spawn(std_producer(
            shared.clone(),
            p,
            SplitMix64::new(rng.next_u64()),
            producers_stop.clone(),
        )));
    }
    for p in 0..FIFO_PRODUCERS {
        producers.push(tokio::spawn(fifo_producer(
            shared.clone(),
            p,
            SplitMix64::new(rng.next_u64()),
            producers_stop.clone(),
        )));
    }
    for s in 0..SLOW_CLIENTS {
        producers.push(tokio::spawn(slow_client(
            shared.clone(),
            SLOW_PRODUCER_BASE + s,
            SplitMix64::new(rng.next_u64()),
            producers_stop.clone(),
        )));
    }
    producers.push(tokio::spawn(idle_spawner(
        shared.clone(),
        producers_stop.clone(),
    )));
    let mut abandoners = Vec::new();
    let mut deleters = Vec::new();
    for fifo in [false, true] {
        for _ in 0..ABANDONERS_PER_QUEUE {
            abandoners.push(tokio::spawn(consumer(
                shared.clone(),
                fifo,
                true,
                SplitMix64::new(rng.next_u64()),
                abandoners_stop.clone(),
            )));
        }
        for _ in 0..DELETERS_PER_QUEUE {
            deleters.push(tokio::spawn(consumer(
                shared.clone(),
                fifo,
                false,
                SplitMix64::new(rng.next_u64()),
                deleters_stop.clone(),
            )));
        }
    }

    // ---- Kills and restarts.
    let traffic_started = Instant::now();
    let traffic_end = traffic_started + duration;
    let mut peak_rss = baseline_rss;
    let mut life = 0;
    let mut next_kill =
        traffic_started + Duration::from_secs(rng.range(KILL_EVERY_SECS.0, KILL_EVERY_SECS.1));
    loop {
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!(
                "sluice exited on its own with {status}:\n{}",
                log_tail(&server.log)
            );
        }
        let now = Instant::now();
        if now >= traffic_end {
            break;
        }
        if now >= next_kill && traffic_end.duration_since(now) > QUIET_TAIL {
            let rss = rss_kib(server.pid());
            let fds = Fds::of(server.pid());
            peak_rss = peak_rss.max(rss);
            shared.epoch.fetch_add(1, Ordering::SeqCst);
            server.kill();
            let restart = Instant::now();
            life += 1;
            let (restarted, bound) = launch.restart(port, &format!("life{life}")).await;
            server = restarted;
            if bound != port {
                port = bound;
                *shared.addr.lock().unwrap() = SocketAddr::from(([127, 0, 0, 1], port));
                shared.generation.fetch_add(1, Ordering::SeqCst);
            }
            shared.epoch.fetch_add(1, Ordering::SeqCst);
            println!(
                "soak: {:?}: kill -9 at RSS {rss} KiB, {} fds ({} sockets); back on port {port} in \
                 {:?}; so far {}",
                traffic_started.elapsed(),
                fds.total,
                fds.sockets,
                restart.elapsed(),
                shared.stats.line()
            );
            next_kill = Instant::now()
                + Duration::from_secs(rng.range(KILL_EVERY_SECS.0, KILL_EVERY_SECS.1));
            continue;
        }
        peak_rss = peak_rss.max(rss_kib(server.pid()));
        let wake = next_kill.min(traffic_end).min(now + Duration::from_secs(1));
        tokio::time::sleep_until(wake.into()).await;
    }
    let before_stop = (rss_kib(server.pid()), Fds::of(server.pid()));

    // ---- Stop the traffic and drain the queues with the deleting consumers alone.
    let _ = stop_producers.send(true);
    for task in producers {
        tokio::time::timeout(Duration::from_secs(60), task)
            .await
            .expect("producer ends")
            .expect("producer does not panic");
    }
    let _ = stop_abandoners.send(true);
    for task in abandoners {
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("abandoning consumer ends")
            .expect("abandoning consumer does not panic");
    }
    let drain_started = Instant::now();
    {
        let admin = single_shot_client(&format!("http://{}", shared.addr()), REQUEST_TIMEOUT);
        let mut empty_in_a_row = 0;
        while empty_in_a_row < 2 {
            assert!(
                drain_started.elapsed() < DRAIN_DEADLINE,
                "queues not drained after {DRAIN_DEADLINE:?}: standard {:?}, FIFO {:?}\n{}",
                queue_counts(&admin, &shared.std_url).await,
                queue_counts(&admin, &shared.fifo_url).await,
                log_tail(&server.log)
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
            let empty = queue_counts(&admin, &shared.std_url).await == (0, 0, 0)
                && queue_counts(&admin, &shared.fifo_url).await == (0, 0, 0);
            empty_in_a_row = if empty { empty_in_a_row + 1 } else { 0 };
        }
    }
    let drained_in = drain_started.elapsed();
    let _ = stop_deleters.send(true);
    for task in deleters {
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("deleting consumer ends")
            .expect("deleting consumer does not panic");
    }

    // ---- Connections left alone at the end, then the server settles.
    let mut last_idle = Vec::new();
    for i in 0..IDLE_BATCH {
        if let Some(connection) = open_idle(&shared, i % 2 == 0).await {
            last_idle.push(connection);
        }
    }
    let (end_fds, end_rss) = settled(
        server.pid(),
        Some(baseline_fds.sockets),
        SETTLE_DEADLINE + Duration::from_secs(SERVER_TIMEOUT_SECS),
    )
    .await;
    let mut last_idle_open = 0;
    for (stream, _) in &last_idle {
        if !closed_by_server(stream, Duration::from_millis(100)).await {
            last_idle_open += 1;
        }
    }
    drop(last_idle);
    let segments = segments_on_disk(&launch.data_dir);

    // ---- The verdict.
    let standard = analyse(&shared.standard.lock().unwrap(), false);
    let fifo = analyse(&shared.fifo.lock().unwrap(), true);
    println!(
        "soak: {:?} of traffic, {life} kill -9 restarts, drained in {drained_in:?}; {}",
        duration,
        shared.stats.line()
    );
    println!("soak: standard queue: {standard:?}");
    println!("soak: FIFO queue: {fifo:?}");
    println!(
        "soak: RSS baseline {baseline_rss} KiB, peak sampled {peak_rss} KiB, before stop {} KiB, end \
         {end_rss} KiB",
        before_stop.0
    );
    println!(
        "soak: fds baseline {} ({} sockets, {} journal, other {:?}); before stop {} ({} sockets); end {} \
         ({} sockets, {} journal for {segments} segment files, other {:?}, deleted {:?}); {} of {} \
         idle connections opened at the end still open",
        baseline_fds.total,
        baseline_fds.sockets,
        baseline_fds.journal,
        baseline_fds.other,
        before_stop.1.total,
        before_stop.1.sockets,
        end_fds.total,
        end_fds.sockets,
        end_fds.journal,
        end_fds.other,
        end_fds.deleted,
        last_idle_open,
        IDLE_BATCH,
    );

    let problems = shared.problems.lock().unwrap().clone();
    assert!(problems.is_empty(), "unexpected answers: {problems:#?}");
    assert!(
        standard.violations.is_empty(),
        "standard queue: {:#?}",
        standard.violations
    );
    assert!(
        fifo.violations.is_empty(),
        "FIFO queue: {:#?}",
        fifo.violations
    );
    assert!(
        standard.acked_sends > 1_000
            && fifo.acked_sends > 1_000
            && standard.deliveries >= standard.acked_sends
            && fifo.deliveries >= fifo.acked_sends,
        "too little traffic to mean anything: {} standard and {} FIFO sends acknowledged, {} and {} \
         deliveries",
        standard.acked_sends,
        fifo.acked_sends,
        standard.deliveries,
        fifo.deliveries
    );
    assert_eq!(
        last_idle_open, 0,
        "the server left idle connections open past its idle timeout"
    );
    assert!(
        end_fds.deleted.is_empty(),
        "descriptors of deleted files still open: {:?}",
        end_fds.deleted
    );
    assert_eq!(
        (end_fds.sockets, end_fds.other_count()),
        (baseline_fds.sockets, baseline_fds.other_count()),
        "sockets and other descriptors not back to the baseline: {end_fds:?} vs {baseline_fds:?}"
    );
    assert!(
        end_fds.journal <= segments + 1,
        "{} journal descriptors for {segments} segment files",
        end_fds.journal
    );
    assert!(
        end_rss <= baseline_rss + RSS_SLACK_KIB,
        "RSS {end_rss} KiB at the end, baseline {baseline_rss} KiB (+{RSS_SLACK_KIB} KiB allowed)"
    );
}

// ---------------------------------------------------------------------------------------------------------
// The verdict's own checks, on made-up ledgers (these run with every `cargo test`)
// ---------------------------------------------------------------------------------------------------------

/// A receive of `keys` (in that order) started at tick `sent` in `epoch`, answered at the next tick.
fn received(ledger: &mut Ledger, keys: &[Key], sent: u64, epoch: u64, abandoned: bool) {
    for (position, key) in keys.iter().enumerate() {
        ledger.deliveries.push(Delivery {
            key: *key,
            sent,
            answered: sent + 1,
            epoch_sent: epoch,
            epoch_answered: epoch,
            at: Instant::now(),
            visibility: if abandoned {
                ABANDON_VISIBILITY
            } else {
                DELETER_VISIBILITY
            },
            abandoned,
            position,
        });
    }
}

/// A delete of `key` attempted at tick `attempted` and answered at the next tick.
fn deleted(ledger: &mut Ledger, key: Key, attempted: u64, outcome: Outcome, met_kill: bool) {
    ledger.deletions.push(Deletion {
        key,
        attempted,
        answered: attempted + 1,
        outcome,
        met_kill,
        since_receive: Duration::ZERO,
    });
}

fn sent(keys: &[Key]) -> Ledger {
    Ledger {
        attempted: keys.iter().copied().collect(),
        acked: keys.iter().copied().collect(),
        ..Ledger::default()
    }
}

#[test]
fn verdict_accepts_abandoned_and_killed_redeliveries() {
    let mut ledger = sent(&[(0, 1), (0, 2), (0, 3)]);
    received(&mut ledger, &[(0, 1)], 1, 0, false);
    deleted(&mut ledger, (0, 1), 3, Outcome::Ok, false);
    received(&mut ledger, &[(0, 2)], 5, 0, true);
    received(&mut ledger, &[(0, 2)], 7, 0, false);
    deleted(&mut ledger, (0, 2), 9, Outcome::Ok, false);
    // Received, its delete broken by a kill without taking effect, received again after the restart.
    received(&mut ledger, &[(0, 3)], 11, 0, false);
    deleted(&mut ledger, (0, 3), 13, Outcome::Unknown, true);
    received(&mut ledger, &[(0, 3)], 15, 2, false);
    deleted(&mut ledger, (0, 3), 17, Outcome::Ok, false);
    let v = analyse(&ledger, false);
    assert!(v.violations.is_empty(), "{:?}", v.violations);
    assert_eq!(
        (v.redelivered_after_abandon, v.redelivered_across_kill),
        (1, 1)
    );
}

#[test]
fn verdict_finds_a_lost_message() {
    let mut ledger = sent(&[(0, 1), (0, 2)]);
    received(&mut ledger, &[(0, 1)], 1, 0, false);
    deleted(&mut ledger, (0, 1), 3, Outcome::Ok, false);
    let v = analyse(&ledger, false);
    assert_eq!(v.violations.len(), 1, "{:?}", v.violations);
    assert!(v.violations[0].contains("lost"), "{:?}", v.violations);
}

#[test]
fn verdict_finds_a_message_back_after_its_acknowledged_delete() {
    let mut ledger = sent(&[(0, 1)]);
    received(&mut ledger, &[(0, 1)], 1, 0, false);
    deleted(&mut ledger, (0, 1), 3, Outcome::Ok, false);
    received(&mut ledger, &[(0, 1)], 5, 2, false);
    let v = analyse(&ledger, false);
    assert!(
        v.violations
            .iter()
            .any(|x| x.contains("after its delete was acknowledged")),
        "{:?}",
        v.violations
    );
}

#[test]
fn verdict_finds_a_redelivery_with_no_cause() {
    let mut ledger = sent(&[(0, 1)]);
    received(&mut ledger, &[(0, 1)], 1, 0, false);
    received(&mut ledger, &[(0, 1)], 3, 0, false);
    deleted(&mut ledger, (0, 1), 5, Outcome::Ok, false);
    let v = analyse(&ledger, false);
    assert_eq!(v.violations.len(), 1, "{:?}", v.violations);
    assert!(v.violations[0].contains("received again"));
}

#[test]
fn verdict_finds_fifo_messages_out_of_order_or_skipped() {
    let in_order = {
        let mut ledger = sent(&[(7, 1), (7, 2), (7, 3)]);
        received(&mut ledger, &[(7, 1), (7, 2)], 1, 0, false);
        deleted(&mut ledger, (7, 1), 3, Outcome::Ok, false);
        deleted(&mut ledger, (7, 2), 3, Outcome::Unknown, true);
        received(&mut ledger, &[(7, 3)], 5, 2, false);
        deleted(&mut ledger, (7, 3), 7, Outcome::Ok, false);
        analyse(&ledger, true)
    };
    assert!(in_order.violations.is_empty(), "{:?}", in_order.violations);

    let reversed = {
        let mut ledger = sent(&[(7, 1), (7, 2)]);
        received(&mut ledger, &[(7, 2), (7, 1)], 1, 0, false);
        deleted(&mut ledger, (7, 1), 3, Outcome::Ok, false);
        deleted(&mut ledger, (7, 2), 5, Outcome::Ok, false);
        analyse(&ledger, true)
    };
    assert_eq!(reversed.violations.len(), 1, "{:?}", reversed.violations);
    assert!(reversed.violations[0].contains("not consecutive"));

    let skipped = {
        let mut ledger = sent(&[(7, 1), (7, 2)]);
        received(&mut ledger, &[(7, 2)], 1, 0, false);
        deleted(&mut ledger, (7, 2), 3, Outcome::Ok, false);
        received(&mut ledger, &[(7, 1)], 5, 0, false);
        deleted(&mut ledger, (7, 1), 7, Outcome::Ok, false);
        analyse(&ledger, true)
    };
    assert_eq!(skipped.violations.len(), 1, "{:?}", skipped.violations);
    assert!(skipped.violations[0].contains("neither deleted nor being deleted"));
}

#[test]
fn verdict_finds_a_refused_delete_with_no_kill() {
    let mut ledger = sent(&[(7, 1)]);
    received(&mut ledger, &[(7, 1)], 1, 0, false);
    deleted(&mut ledger, (7, 1), 3, Outcome::Refused, false);
    deleted(&mut ledger, (7, 1), 5, Outcome::Ok, false);
    let v = analyse(&ledger, true);
    assert_eq!(v.violations.len(), 1, "{:?}", v.violations);
    assert!(v.violations[0].contains("refused"));
}
