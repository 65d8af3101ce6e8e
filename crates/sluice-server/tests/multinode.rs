//! Several `sluice` processes on one PostgreSQL database behave as one server. Each test starts its own
//! nodes (the real binary with `--storage postgres`, each on a free port) on a new database of this test
//! binary's private PostgreSQL server (crates/sluice-test-postgres), and spreads its clients across them:
//!
//! - standard queue: a producer and a long-polling consumer on every node; every acknowledged send is
//!   received and deleted, nothing arrives that nobody sent, and no message is handed out again while an
//!   earlier receipt of it is within its visibility timeout and not deleted;
//! - FIFO queue: each group sent through alternating nodes; sends repeated through another node are
//!   deduplicated (answered with the original MessageId and SequenceNumber, never delivered); each group
//!   arrives in order although consumers on different nodes take turns with it; a receive retried with its
//!   ReceiveRequestAttemptId through another node gets the same messages and receipt handles;
//! - `kill -9` of a node holding received messages: they come back after their visibility timeout and
//!   the other nodes deliver them, and nothing acknowledged is lost;
//! - a message move task started through a node that is then killed is finished by another;
//! - a long poll on one node returns promptly for a send through another (p50 and p99 are printed).
//!
//! Clients never retry, so each call is one request. The tests run one at a time (the latency test needs
//! a quiet machine) and every loop is bounded in count and time. Opt-in, because the file takes a few
//! minutes and needs PostgreSQL's server programs: it runs when `SLUICE_MULTINODE=1` (as `scripts/test`
//! does) and otherwise passes with a note.

mod common;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, ListMessageMoveTasksResultEntry, Message,
    MessageSystemAttributeName, QueueAttributeName as A, SendMessageBatchRequestEntry,
};
use aws_sdk_sqs::Client;
use common::{counts, create_with, free_port, single_shot_client, system_attribute, TempDir};
use sluice_test_postgres::PrivatePostgres;

/// Bound on a node answering after its start.
const READY_DEADLINE: Duration = Duration::from_secs(20);
/// Bound on one request: above the longest long poll here (10 s).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// The queues' visibility timeout: consumers delete long before it ends, so no message is due again.
const QUEUE_VISIBILITY: Duration = Duration::from_secs(30);
/// Consumers' long polls.
const CONSUMER_WAIT_SECONDS: i32 = 2;
/// Violations kept word for word; more are only counted.
const VIOLATIONS_KEPT: usize = 40;

/// Each test holds this while it runs: several three-node clusters at once would share two cores and
/// make the latency test measure the machine. A tokio mutex, since it is held across awaits, and each
/// test has a runtime of its own.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn enabled(test: &str) -> bool {
    if std::env::var("SLUICE_MULTINODE").as_deref() == Ok("1") {
        return true;
    }
    eprintln!(
        "{test}: skipped; set SLUICE_MULTINODE=1 to run the multi-node tests (they need PostgreSQL's \
         server programs; scripts/test runs them)"
    );
    false
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What the tasks sharing `shared` left in it, once they have all ended.
fn finished<T>(shared: Arc<Mutex<T>>) -> T {
    Arc::into_inner(shared)
        .expect("every task sharing it has ended")
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

// ---------------------------------------------------------------------------------------------------------
// The nodes
// ---------------------------------------------------------------------------------------------------------

/// A running `sluice` process; killed (SIGKILL) when dropped.
struct Node {
    index: usize,
    endpoint: String,
    log: PathBuf,
    child: Child,
}

impl Node {
    fn client(&self) -> Client {
        single_shot_client(&self.endpoint, REQUEST_TIMEOUT)
    }

    /// `kill -9`: no shutdown code runs; the node's database connections just break.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// Nodes sharing one new database and one master key; their logs, data directories and key in a
/// scratch directory removed at the end.
struct Cluster {
    database_url: String,
    master_key: PathBuf,
    nodes: Vec<Node>,
    // Declared last: removed after the nodes are killed.
    dir: TempDir,
}

impl Cluster {
    /// `count` nodes on a new database, all started at once, as behind a load balancer: they meet on an
    /// empty database, and each must prepare it or wait for the one that does.
    async fn start(label: &str, count: usize) -> Cluster {
        let database_url = PrivatePostgres::shared().new_database();
        let dir = TempDir::new(label);
        let master_key = dir.path().join("master-key");
        std::fs::write(&master_key, rand::random::<[u8; 32]>()).expect("write the master key");
        let mut cluster = Cluster {
            database_url,
            master_key,
            nodes: Vec::new(),
            dir,
        };
        let starting: Vec<Node> = (0..count).map(|index| cluster.spawn(index, 1)).collect();
        for node in starting {
            let node = cluster.ready(node).await;
            cluster.nodes.push(node);
        }
        cluster
    }

    /// `sluice --storage postgres` on a free port, its output in a log file, configured by its flags only.
    fn spawn(&self, index: usize, attempt: usize) -> Node {
        let port = free_port();
        let log = self
            .dir
            .path()
            .join(format!("node-{index}-start-{attempt}.log"));
        let log_file = std::fs::File::create(&log).expect("create a log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_sluice"));
        command
            .arg("--bind")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(self.dir.path().join(format!("node-{index}")))
            .args(["--storage", "postgres", "--database-url"])
            .arg(&self.database_url)
            .arg("--master-key-file")
            .arg(&self.master_key)
            .args(["--admin-bind", "none"]);
        for (name, _) in std::env::vars_os() {
            if name
                .to_str()
                .is_some_and(|name| name.starts_with("SLUICE_"))
            {
                command.env_remove(name);
            }
        }
        let child = command
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log file"))
            .stderr(log_file)
            .spawn()
            .expect("spawn sluice");
        Node {
            index,
            endpoint: format!("http://127.0.0.1:{port}"),
            log,
            child,
        }
    }

    /// Waits (bounded) until the node answers; a node that exits first is started again on another port
    /// a few times (the port it was given may have been taken in between).
    async fn ready(&self, mut node: Node) -> Node {
        let started = Instant::now();
        let mut attempt = 1;
        loop {
            let client = single_shot_client(&node.endpoint, Duration::from_secs(2));
            loop {
                if let Ok(Some(status)) = node.child.try_wait() {
                    assert!(
                        attempt < 3,
                        "node {} exited with {status} before it was ready:\n{}",
                        node.index,
                        log_tail(&node.log)
                    );
                    break;
                }
                assert!(
                    started.elapsed() < READY_DEADLINE,
                    "node {} not ready after {READY_DEADLINE:?}:\n{}",
                    node.index,
                    log_tail(&node.log)
                );
                if client.list_queues().send().await.is_ok() {
                    return node;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            attempt += 1;
            node = self.spawn(node.index, attempt);
        }
    }

    fn client(&self, node: usize) -> Client {
        self.nodes[node].client()
    }

    fn clients(&self) -> Vec<Client> {
        self.nodes.iter().map(Node::client).collect()
    }

    fn kill(&mut self, node: usize) {
        self.nodes[node].kill();
    }

    /// The end of every node's log, for failure messages.
    fn logs(&self) -> String {
        self.nodes
            .iter()
            .map(|node| format!("--- node {} ---\n{}", node.index, log_tail(&node.log)))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

// ---------------------------------------------------------------------------------------------------------
// Standard queues: what the clients were told
// ---------------------------------------------------------------------------------------------------------

/// One receipt of a message: on which node, when the receive that returned it began and ended, and the
/// visibility timeout it gave the message.
#[derive(Clone, Copy, Debug)]
struct Receipt {
    node: usize,
    began: Instant,
    ended: Instant,
    visibility: Duration,
}

/// What the clients of a standard queue were told. Bodies are unique, so they name messages.
#[derive(Default)]
struct Ledger {
    /// Bodies whose send was attempted (a send whose answer was lost may still have been stored).
    attempted: HashSet<String>,
    /// Acknowledged sends: MessageId → body.
    acknowledged: HashMap<String, String>,
    receipts: HashMap<String, Vec<Receipt>>,
    /// MessageIds whose delete was acknowledged.
    deleted: HashSet<String>,
    /// What must never happen, as it happened.
    violations: Vec<String>,
    more_violations: usize,
}

impl Ledger {
    fn violation(&mut self, text: String) {
        if self.violations.len() < VIOLATIONS_KEPT {
            self.violations.push(text);
        } else {
            self.more_violations += 1;
        }
    }

    /// Checks and records one received message.
    fn received(&mut self, message: &Message, receipt: Receipt) {
        let id = message.message_id().unwrap_or_default().to_string();
        let body = message.body().unwrap_or_default();
        if !self.attempted.contains(body) {
            self.violation(format!(
                "node {} delivered {id} with a body nobody sent: {body:?}",
                receipt.node
            ));
        }
        if let Some(sent) = self.acknowledged.get(&id) {
            if sent != body {
                self.violation(format!(
                    "node {} delivered {id} with body {body:?}; it was sent as {sent:?}",
                    receipt.node
                ));
            }
        }
        if self.deleted.contains(&id) {
            self.violation(format!(
                "node {} delivered {id} ({body}) after its delete was acknowledged",
                receipt.node
            ));
        }
        let earlier: Vec<Receipt> = self.receipts.get(&id).cloned().unwrap_or_default();
        for before in earlier {
            // The earlier receive made the message invisible at some moment after it began; this one
            // found it visible at some moment before it ended. Only if even these bounds overlap the
            // visibility timeout was the message surely handed out twice within it.
            if receipt.ended < before.began + before.visibility {
                self.violation(format!(
                    "{id} ({body}) delivered by node {} {:?} after node {} had delivered it with a \
                     visibility timeout of {:?}",
                    receipt.node,
                    receipt.ended - before.began,
                    before.node,
                    before.visibility
                ));
            }
        }
        self.receipts.entry(id).or_default().push(receipt);
    }

    fn all_acknowledged_deleted(&self) -> bool {
        self.acknowledged.keys().all(|id| self.deleted.contains(id))
    }

    /// Acknowledged sends never deleted: lost, or still in the queue when the consumers gave up.
    fn lost(&self) -> Vec<String> {
        let mut lost: Vec<String> = self
            .acknowledged
            .iter()
            .filter(|(id, _)| !self.deleted.contains(*id))
            .map(|(id, body)| format!("{id} ({body})"))
            .collect();
        lost.sort();
        lost
    }

    /// Panics with everything that went wrong, if anything did.
    fn check(&self, what: &str, cluster: &Cluster) {
        let lost = self.lost();
        let undeleted: Vec<&String> = self
            .receipts
            .keys()
            .filter(|id| !self.deleted.contains(*id))
            .collect();
        assert!(
            self.violations.is_empty() && lost.is_empty() && undeleted.is_empty(),
            "{what}: {} violations (+{} more): {:#?}\n{} acknowledged sends never deleted (first 20): \
             {:?}\n{} received messages never deleted (first 20): {:?}\n{}",
            self.violations.len(),
            self.more_violations,
            self.violations,
            lost.len(),
            &lost[..lost.len().min(20)],
            undeleted.len(),
            &undeleted[..undeleted.len().min(20)],
            cluster.logs()
        );
    }
}

type SharedLedger = Arc<Mutex<Ledger>>;

/// Sends `count` bodies `{prefix}-{i}` in batches of ten through one node. Stops at the first failed
/// request: recorded as a violation unless `may_fail` (the node is to be killed).
async fn produce(
    client: Client,
    url: String,
    node: usize,
    prefix: String,
    count: usize,
    ledger: SharedLedger,
    may_fail: bool,
) {
    for start in (0..count).step_by(10) {
        let bodies: Vec<String> = (start..(start + 10).min(count))
            .map(|i| format!("{prefix}-{i:05}"))
            .collect();
        lock(&ledger).attempted.extend(bodies.iter().cloned());
        let entries = bodies
            .iter()
            .enumerate()
            .map(|(i, body)| {
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(body)
                    .build()
                    .expect("batch entry")
            })
            .collect();
        let sent = client
            .send_message_batch()
            .queue_url(&url)
            .set_entries(Some(entries))
            .send()
            .await;
        let mut ledger = lock(&ledger);
        match sent {
            Ok(out) => {
                for entry in out.successful() {
                    let body = entry.id().parse::<usize>().ok().and_then(|i| bodies.get(i));
                    match body {
                        Some(body) => {
                            ledger
                                .acknowledged
                                .insert(entry.message_id().to_string(), body.clone());
                        }
                        None => ledger.violation(format!(
                            "node {node} answered a batch entry id it was not sent: {entry:?}"
                        )),
                    }
                }
                for failed in out.failed() {
                    ledger.violation(format!("node {node} refused a batch entry: {failed:?}"));
                }
            }
            Err(error) => {
                if !may_fail {
                    ledger.violation(format!("SendMessageBatch through node {node}: {error:?}"));
                }
                return;
            }
        }
    }
}

/// A consumer long-polling one node until the producers are done, every acknowledged send is deleted
/// and a receive comes back empty, or until `deadline`.
struct Consumer {
    client: Client,
    url: String,
    node: usize,
    ledger: SharedLedger,
    producers_done: Arc<AtomicBool>,
    deadline: Instant,
}

impl Consumer {
    async fn run(self) {
        while Instant::now() < self.deadline {
            let began = Instant::now();
            let out = self
                .client
                .receive_message()
                .queue_url(&self.url)
                .max_number_of_messages(10)
                .wait_time_seconds(CONSUMER_WAIT_SECONDS)
                .send()
                .await;
            let ended = Instant::now();
            let out = match out {
                Ok(out) => out,
                Err(error) => {
                    lock(&self.ledger).violation(format!(
                        "ReceiveMessage through node {}: {error:?}",
                        self.node
                    ));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let receipt = Receipt {
                node: self.node,
                began,
                ended,
                visibility: QUEUE_VISIBILITY,
            };
            {
                let mut ledger = lock(&self.ledger);
                for message in out.messages() {
                    ledger.received(message, receipt);
                }
            }
            self.delete(out.messages()).await;
            if out.messages().is_empty()
                && self.producers_done.load(Ordering::SeqCst)
                && lock(&self.ledger).all_acknowledged_deleted()
            {
                return;
            }
        }
    }

    async fn delete(&self, messages: &[Message]) {
        if messages.is_empty() {
            return;
        }
        let entries = messages
            .iter()
            .enumerate()
            .map(|(i, m)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .build()
                    .expect("batch entry")
            })
            .collect();
        let out = self
            .client
            .delete_message_batch()
            .queue_url(&self.url)
            .set_entries(Some(entries))
            .send()
            .await;
        let mut ledger = lock(&self.ledger);
        match out {
            Ok(out) => {
                for entry in out.successful() {
                    let message = entry
                        .id()
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| messages.get(i));
                    if let Some(id) = message.and_then(Message::message_id) {
                        ledger.deleted.insert(id.to_string());
                    }
                }
                for failed in out.failed() {
                    ledger.violation(format!(
                        "node {} refused to delete a message it had just delivered: {failed:?}",
                        self.node
                    ));
                }
            }
            Err(error) => ledger.violation(format!(
                "DeleteMessageBatch through node {}: {error:?}",
                self.node
            )),
        }
    }
}

/// Asserts that the queue is empty, as each node sees it.
async fn assert_empty(cluster: &Cluster, nodes: &[usize], url: &str) {
    for &node in nodes {
        let seen = counts(&cluster.client(node), url).await;
        assert_eq!(
            seen,
            (0, 0, 0),
            "the queue is not empty as node {node} counts it\n{}",
            cluster.logs()
        );
    }
}

fn visibility_attribute() -> String {
    QUEUE_VISIBILITY.as_secs().to_string()
}

// ---------------------------------------------------------------------------------------------------------
// Standard pipeline
// ---------------------------------------------------------------------------------------------------------

const PIPELINE_MESSAGES: usize = 3000;
const PIPELINE_DEADLINE: Duration = Duration::from_secs(90);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_deliver_every_acknowledged_send_once_within_its_visibility_timeout() {
    if !enabled("standard pipeline") {
        return;
    }
    let _alone = ONE_AT_A_TIME.lock().await;
    let cluster = Cluster::start("multinode-standard", 3).await;
    let clients = cluster.clients();
    let url = create_with(
        &clients[0],
        "pipeline",
        &[(A::VisibilityTimeout, &visibility_attribute())],
    )
    .await;
    let ledger = SharedLedger::default();
    let producers_done = Arc::new(AtomicBool::new(false));
    let deadline = Instant::now() + PIPELINE_DEADLINE;
    let started = Instant::now();
    let consumers: Vec<_> = (0..3)
        .map(|node| {
            tokio::spawn(
                Consumer {
                    client: clients[node].clone(),
                    url: url.clone(),
                    node,
                    ledger: ledger.clone(),
                    producers_done: producers_done.clone(),
                    deadline,
                }
                .run(),
            )
        })
        .collect();
    let producers: Vec<_> = (0..3)
        .map(|node| {
            tokio::spawn(produce(
                clients[node].clone(),
                url.clone(),
                node,
                format!("standard-n{node}"),
                PIPELINE_MESSAGES / 3,
                ledger.clone(),
                false,
            ))
        })
        .collect();
    for producer in producers {
        producer.await.expect("producer task");
    }
    producers_done.store(true, Ordering::SeqCst);
    for consumer in consumers {
        consumer.await.expect("consumer task");
    }
    let elapsed = started.elapsed();
    let ledger = finished(ledger);
    let mut by_node = [0usize; 3];
    for receipt in ledger.receipts.values().flatten() {
        by_node[receipt.node] += 1;
    }
    println!(
        "standard pipeline: {} acknowledged sends, {} deleted in {elapsed:?}; receipts by node {by_node:?}",
        ledger.acknowledged.len(),
        ledger.deleted.len()
    );
    ledger.check("standard pipeline", &cluster);
    assert_eq!(ledger.acknowledged.len(), PIPELINE_MESSAGES);
    assert_empty(&cluster, &[0, 1, 2], &url).await;
}

// ---------------------------------------------------------------------------------------------------------
// FIFO pipeline
// ---------------------------------------------------------------------------------------------------------

const FIFO_GROUPS: usize = 6;
const FIFO_PER_GROUP: usize = 50;
const FIFO_DEADLINE: Duration = Duration::from_secs(60);

/// What the clients of the FIFO queue were told.
#[derive(Default)]
struct FifoLedger {
    /// (group, index) → (MessageId, SequenceNumber) of the acknowledged send.
    sent: HashMap<(usize, usize), (String, String)>,
    resent: usize,
    /// Per group: the index the next delivery must carry.
    next: Vec<usize>,
    /// Per group: the nodes whose consumers delivered some of it.
    delivered_by: Vec<BTreeSet<usize>>,
    /// MessageId → (group, index) of each delivery.
    delivered: HashMap<String, (usize, usize)>,
    deleted: usize,
    violations: Vec<String>,
    more_violations: usize,
}

impl FifoLedger {
    fn violation(&mut self, text: String) {
        if self.violations.len() < VIOLATIONS_KEPT {
            self.violations.push(text);
        } else {
            self.more_violations += 1;
        }
    }
}

/// One FIFO send: (MessageId, SequenceNumber), or the error.
async fn send_fifo(
    client: &Client,
    url: &str,
    group: usize,
    body: &str,
    deduplication_id: Option<&str>,
) -> Result<(String, String), String> {
    let out = client
        .send_message()
        .queue_url(url)
        .message_group_id(format!("group-{group}"))
        .message_body(body)
        .set_message_deduplication_id(deduplication_id.map(str::to_string))
        .send()
        .await
        .map_err(|error| format!("{error:?}"))?;
    Ok((
        out.message_id().unwrap_or_default().to_string(),
        out.sequence_number().unwrap_or_default().to_string(),
    ))
}

/// Sends a group's messages in order, each through the next node; every third with an explicit
/// deduplication id (the others deduplicated by content), and every fifth sent again at once through
/// another node: by content with the same body, by id with another body.
async fn produce_group(
    clients: Vec<Client>,
    url: String,
    group: usize,
    ledger: Arc<Mutex<FifoLedger>>,
) {
    let mut previous: Option<u128> = None;
    for index in 0..FIFO_PER_GROUP {
        let node = (group + index) % clients.len();
        let body = format!("g{group}-{index:04}");
        let deduplication_id = (index % 3 == 0).then(|| format!("dedup-{group}-{index}"));
        let sent = match send_fifo(
            &clients[node],
            &url,
            group,
            &body,
            deduplication_id.as_deref(),
        )
        .await
        {
            Ok(sent) => sent,
            Err(error) => {
                lock(&ledger).violation(format!("send of {body} through node {node}: {error}"));
                return;
            }
        };
        let sequence = sent.1.parse::<u128>().ok();
        {
            let mut ledger = lock(&ledger);
            match (previous, sequence) {
                (_, None) => ledger.violation(format!(
                    "{body} through node {node}: SequenceNumber {:?} is not a number",
                    sent.1
                )),
                (Some(before), Some(now)) if now <= before => ledger.violation(format!(
                    "{body} through node {node}: SequenceNumber {now} after {before} in the same group"
                )),
                _ => {}
            }
            ledger.sent.insert((group, index), sent.clone());
        }
        previous = sequence.or(previous);
        if index % 5 == 4 {
            let other = (node + 1) % clients.len();
            let again = match deduplication_id {
                Some(_) => format!("{body}-again"),
                None => body.clone(),
            };
            let answer = send_fifo(
                &clients[other],
                &url,
                group,
                &again,
                deduplication_id.as_deref(),
            )
            .await;
            let mut ledger = lock(&ledger);
            ledger.resent += 1;
            match answer {
                Ok(answer) if answer == sent => {}
                Ok(answer) => ledger.violation(format!(
                    "{body} sent again through node {other} (deduplication id {deduplication_id:?}) was \
                     answered with {answer:?}; node {node} had answered {sent:?}"
                )),
                Err(error) => ledger.violation(format!(
                    "{body} sent again through node {other}: {error}"
                )),
            }
        }
    }
}

/// A FIFO consumer on one node: checks each group's order as it receives, then deletes, until every
/// message is deleted and a receive comes back empty, or until `deadline`.
async fn consume_fifo(
    client: Client,
    url: String,
    node: usize,
    ledger: Arc<Mutex<FifoLedger>>,
    producers_done: Arc<AtomicBool>,
    deadline: Instant,
) {
    let total = FIFO_GROUPS * FIFO_PER_GROUP;
    while Instant::now() < deadline {
        let out = match client
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .wait_time_seconds(CONSUMER_WAIT_SECONDS)
            .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
            .send()
            .await
        {
            Ok(out) => out,
            Err(error) => {
                lock(&ledger).violation(format!("ReceiveMessage through node {node}: {error:?}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        {
            // Checked before the delete: until then the group is this consumer's alone.
            let mut ledger = lock(&ledger);
            for message in out.messages() {
                fifo_delivery(&mut ledger, node, message);
            }
        }
        let mut deleted = 0;
        for message in out.messages() {
            match client
                .delete_message()
                .queue_url(&url)
                .receipt_handle(message.receipt_handle().unwrap_or_default())
                .send()
                .await
            {
                Ok(_) => deleted += 1,
                Err(error) => lock(&ledger).violation(format!(
                    "DeleteMessage through node {node} of {:?}: {error:?}",
                    message.body()
                )),
            }
        }
        let mut ledger = lock(&ledger);
        ledger.deleted += deleted;
        if out.messages().is_empty()
            && producers_done.load(Ordering::SeqCst)
            && ledger.deleted >= total
        {
            return;
        }
    }
}

/// Checks one FIFO delivery: a body that was sent (never a deduplicated resend), in its group's order,
/// never twice.
fn fifo_delivery(ledger: &mut FifoLedger, node: usize, message: &Message) {
    let id = message.message_id().unwrap_or_default().to_string();
    let body = message.body().unwrap_or_default();
    let parsed = body
        .strip_prefix('g')
        .and_then(|rest| rest.split_once('-'))
        .and_then(|(group, index)| {
            Some((group.parse::<usize>().ok()?, index.parse::<usize>().ok()?))
        });
    let Some((group, index)) = parsed.filter(|(group, _)| *group < FIFO_GROUPS) else {
        ledger.violation(format!(
            "node {node} delivered {id} with a body that was never sent (or only as a deduplicated \
             resend): {body:?}"
        ));
        return;
    };
    let group_attribute = system_attribute(message, MessageSystemAttributeName::MessageGroupId);
    if group_attribute.as_deref() != Some(format!("group-{group}").as_str()) {
        ledger.violation(format!(
            "node {node} delivered {body} with MessageGroupId {group_attribute:?}"
        ));
    }
    if let Some(before) = ledger.delivered.insert(id.clone(), (group, index)) {
        ledger.violation(format!(
            "node {node} delivered {id} ({body}) again; it had been delivered as {before:?}"
        ));
    }
    let expected = ledger.next[group];
    if index != expected {
        ledger.violation(format!(
            "group {group}: node {node} delivered index {index} where {expected} was due"
        ));
    }
    ledger.next[group] = index + 1;
    ledger.delivered_by[group].insert(node);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_order_and_deduplication_hold_across_nodes() {
    if !enabled("FIFO pipeline") {
        return;
    }
    let _alone = ONE_AT_A_TIME.lock().await;
    let cluster = Cluster::start("multinode-fifo", 3).await;
    let clients = cluster.clients();
    let url = create_with(
        &clients[1],
        "pipeline.fifo",
        &[
            (A::FifoQueue, "true"),
            (A::ContentBasedDeduplication, "true"),
            (A::VisibilityTimeout, &visibility_attribute()),
        ],
    )
    .await;
    let ledger = Arc::new(Mutex::new(FifoLedger {
        next: vec![0; FIFO_GROUPS],
        delivered_by: vec![BTreeSet::new(); FIFO_GROUPS],
        ..FifoLedger::default()
    }));
    let producers_done = Arc::new(AtomicBool::new(false));
    let deadline = Instant::now() + FIFO_DEADLINE;
    let started = Instant::now();
    let consumers: Vec<_> = (0..3)
        .map(|node| {
            tokio::spawn(consume_fifo(
                clients[node].clone(),
                url.clone(),
                node,
                ledger.clone(),
                producers_done.clone(),
                deadline,
            ))
        })
        .collect();
    let producers: Vec<_> = (0..FIFO_GROUPS)
        .map(|group| {
            tokio::spawn(produce_group(
                clients.clone(),
                url.clone(),
                group,
                ledger.clone(),
            ))
        })
        .collect();
    for producer in producers {
        producer.await.expect("producer task");
    }
    producers_done.store(true, Ordering::SeqCst);
    for consumer in consumers {
        consumer.await.expect("consumer task");
    }
    let ledger = finished(ledger);
    println!(
        "FIFO pipeline: {} sends ({} sent again through another node), {} deliveries in {:?}; nodes \
         delivering each group {:?}",
        ledger.sent.len(),
        ledger.resent,
        ledger.delivered.len(),
        started.elapsed(),
        ledger.delivered_by
    );
    let mut missing: Vec<String> = ledger
        .sent
        .iter()
        .filter(|(key, (id, _))| ledger.delivered.get(id) != Some(*key))
        .map(|((group, index), (id, _))| format!("g{group}-{index:04} ({id})"))
        .collect();
    missing.sort();
    assert!(
        ledger.violations.is_empty() && missing.is_empty(),
        "FIFO pipeline: {} violations (+{} more): {:#?}\n{} acknowledged sends not delivered under their \
         MessageId (first 20): {:?}\n{}",
        ledger.violations.len(),
        ledger.more_violations,
        ledger.violations,
        missing.len(),
        &missing[..missing.len().min(20)],
        cluster.logs()
    );
    assert_eq!(ledger.sent.len(), FIFO_GROUPS * FIFO_PER_GROUP);
    assert_eq!(ledger.delivered.len(), FIFO_GROUPS * FIFO_PER_GROUP);
    assert_empty(&cluster, &[0, 1, 2], &url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifo_receive_retried_through_another_node_gets_the_same_messages() {
    if !enabled("FIFO receive attempt") {
        return;
    }
    let _alone = ONE_AT_A_TIME.lock().await;
    let cluster = Cluster::start("multinode-attempt", 3).await;
    let clients = cluster.clients();
    let url = create_with(
        &clients[0],
        "attempt.fifo",
        &[
            (A::FifoQueue, "true"),
            (A::ContentBasedDeduplication, "true"),
        ],
    )
    .await;
    for i in 0..5 {
        send_fifo(&clients[0], &url, 0, &format!("attempt-{i}"), None)
            .await
            .unwrap_or_else(|error| panic!("send {i}: {error}"));
    }
    let receive = |node: usize, attempt: Option<&str>| {
        clients[node]
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .visibility_timeout(30)
            .set_receive_request_attempt_id(attempt.map(str::to_string))
            .send()
    };
    let ids_and_handles = |messages: &[Message]| -> Vec<(String, String)> {
        messages
            .iter()
            .map(|m| {
                (
                    m.message_id().unwrap_or_default().to_string(),
                    m.receipt_handle().unwrap_or_default().to_string(),
                )
            })
            .collect()
    };
    let first = receive(1, Some("attempt-1"))
        .await
        .unwrap_or_else(|e| panic!("receive through node 1: {e:?}"));
    let first = ids_and_handles(first.messages());
    assert_eq!(first.len(), 5, "the first receive gets the whole group");
    // The answer was lost, say, and the client retries through whichever node it reaches next.
    let retried = receive(2, Some("attempt-1"))
        .await
        .unwrap_or_else(|e| panic!("retried receive through node 2: {e:?}"));
    assert_eq!(
        ids_and_handles(retried.messages()),
        first,
        "a receive retried through node 2 with the attempt id of one through node 1 gets the same \
         messages and receipt handles\n{}",
        cluster.logs()
    );
    let other = receive(0, None)
        .await
        .unwrap_or_else(|e| panic!("receive through node 0: {e:?}"));
    assert!(
        other.messages().is_empty(),
        "the group is in flight, yet node 0 delivered {:?}",
        other.messages()
    );
    for (id, handle) in &first {
        clients[2]
            .delete_message()
            .queue_url(&url)
            .receipt_handle(handle)
            .send()
            .await
            .unwrap_or_else(|e| panic!("delete {id} through node 2: {e:?}"));
    }
    assert_empty(&cluster, &[0, 1, 2], &url).await;
}

// ---------------------------------------------------------------------------------------------------------
// kill -9 of a node holding received messages
// ---------------------------------------------------------------------------------------------------------

/// The visibility timeout of the messages the doomed node holds when it is killed.
const HELD_VISIBILITY: Duration = Duration::from_secs(2);
const HELD_MESSAGES: usize = 30;
const KILL_PRELOAD: usize = 300;
const KILL_PIPELINE: usize = 1500;
const KILL_DEADLINE: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_held_by_a_killed_node_come_back_through_the_others() {
    if !enabled("kill -9 of a node") {
        return;
    }
    let _alone = ONE_AT_A_TIME.lock().await;
    let mut cluster = Cluster::start("multinode-kill", 3).await;
    let clients = cluster.clients();
    let doomed = 2;
    let url = create_with(
        &clients[0],
        "held",
        &[(A::VisibilityTimeout, &visibility_attribute())],
    )
    .await;
    let ledger = SharedLedger::default();
    produce(
        clients[doomed].clone(),
        url.clone(),
        doomed,
        "preload".to_string(),
        KILL_PRELOAD,
        ledger.clone(),
        false,
    )
    .await;

    // Producers on every node, consumers on the two that live.
    let producers_done = Arc::new(AtomicBool::new(false));
    let deadline = Instant::now() + KILL_DEADLINE;
    let consumers: Vec<_> = (0..2)
        .map(|node| {
            tokio::spawn(
                Consumer {
                    client: clients[node].clone(),
                    url: url.clone(),
                    node,
                    ledger: ledger.clone(),
                    producers_done: producers_done.clone(),
                    deadline,
                }
                .run(),
            )
        })
        .collect();
    let producers: Vec<_> = (0..3)
        .map(|node| {
            tokio::spawn(produce(
                clients[node].clone(),
                url.clone(),
                node,
                format!("held-n{node}"),
                KILL_PIPELINE / 3,
                ledger.clone(),
                node == doomed,
            ))
        })
        .collect();

    // Mid-way, the doomed node hands out messages that nobody deletes, and dies holding them.
    let mid = Instant::now() + Duration::from_secs(10);
    while lock(&ledger).acknowledged.len() < KILL_PRELOAD + KILL_PIPELINE / 3
        && Instant::now() < mid
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut held: Vec<String> = Vec::new();
    let holding = Instant::now() + Duration::from_secs(5);
    while held.len() < HELD_MESSAGES && Instant::now() < holding {
        let began = Instant::now();
        let out = clients[doomed]
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages((HELD_MESSAGES - held.len()).min(10) as i32)
            .wait_time_seconds(1)
            .visibility_timeout(HELD_VISIBILITY.as_secs() as i32)
            .send()
            .await
            .unwrap_or_else(|e| panic!("receive through the doomed node: {e:?}"));
        let receipt = Receipt {
            node: doomed,
            began,
            ended: Instant::now(),
            visibility: HELD_VISIBILITY,
        };
        let mut ledger = lock(&ledger);
        for message in out.messages() {
            ledger.received(message, receipt);
            held.push(message.message_id().unwrap_or_default().to_string());
        }
    }
    assert_eq!(
        held.len(),
        HELD_MESSAGES,
        "the doomed node delivered too few messages"
    );
    cluster.kill(doomed);
    let killed_at = Instant::now();

    for producer in producers {
        producer.await.expect("producer task");
    }
    producers_done.store(true, Ordering::SeqCst);
    for consumer in consumers {
        consumer.await.expect("consumer task");
    }
    let ledger = finished(ledger);
    let mut not_redelivered = Vec::new();
    for id in &held {
        let receipts = ledger.receipts.get(id).cloned().unwrap_or_default();
        let again = receipts.iter().find(|r| r.node != doomed);
        // How soon it came again was checked as it came, against the doomed node's receipt.
        if again.is_none() || !ledger.deleted.contains(id) {
            not_redelivered.push(format!("{id}: receipts {receipts:?}"));
        }
    }
    let doomed_sends = ledger
        .acknowledged
        .values()
        .filter(|body| body.starts_with(&format!("held-n{doomed}-")))
        .count();
    println!(
        "kill -9: node {doomed} killed holding {} messages, {doomed_sends} sends through it acknowledged; \
         {} acknowledged sends in all, {} deleted, the last {:?} after the kill",
        held.len(),
        ledger.acknowledged.len(),
        ledger.deleted.len(),
        killed_at.elapsed()
    );
    ledger.check("kill -9 of a node", &cluster);
    assert!(
        not_redelivered.is_empty(),
        "messages held by the killed node were not delivered again by the others: {not_redelivered:#?}\n{}",
        cluster.logs()
    );
    assert_empty(&cluster, &[0, 1], &url).await;
}

// ---------------------------------------------------------------------------------------------------------
// A move task outlives the node that started it
// ---------------------------------------------------------------------------------------------------------

const MOVE_MESSAGES: usize = 40;
/// MaxNumberOfMessagesPerSecond: the move takes about ten seconds.
const MOVE_RATE: i32 = 4;
/// How long another node may take to finish the task once its node is dead: the time a dead node's
/// task is left alone before another takes it over, the remaining moves, and a wide margin.
const MOVE_TAKEOVER: Duration = Duration::from_secs(60);

async fn queue_arn(client: &Client, url: &str) -> String {
    client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::QueueArn)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetQueueAttributes {url}: {e:?}"))
        .attributes()
        .and_then(|a| a.get(&A::QueueArn).cloned())
        .expect("QueueArn")
}

async fn latest_task(client: &Client, source_arn: &str) -> Option<ListMessageMoveTasksResultEntry> {
    client
        .list_message_move_tasks()
        .source_arn(source_arn)
        .max_results(1)
        .send()
        .await
        .unwrap_or_else(|e| panic!("ListMessageMoveTasks: {e:?}"))
        .results()
        .first()
        .cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_task_whose_node_is_killed_is_finished_by_another() {
    if !enabled("move task takeover") {
        return;
    }
    let _alone = ONE_AT_A_TIME.lock().await;
    let mut cluster = Cluster::start("multinode-move", 3).await;
    let clients = cluster.clients();
    let dlq = create_with(&clients[1], "move-dlq", &[]).await;
    let dlq_arn = queue_arn(&clients[1], &dlq).await;
    let policy = format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":1}}"#);
    let source = create_with(&clients[1], "move-src", &[(A::RedrivePolicy, &policy)]).await;

    let bodies: HashSet<String> = (0..MOVE_MESSAGES).map(|i| format!("move-{i:03}")).collect();
    for body in &bodies {
        clients[1]
            .send_message()
            .queue_url(&source)
            .message_body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("send {body}: {e:?}"));
    }
    // Each message is delivered once, then moved to the dead-letter queue by the next receive.
    let dead_lettering = Instant::now() + Duration::from_secs(30);
    loop {
        let out = clients[1]
            .receive_message()
            .queue_url(&source)
            .max_number_of_messages(10)
            .visibility_timeout(0)
            .send()
            .await
            .unwrap_or_else(|e| panic!("receive while dead-lettering: {e:?}"));
        if out.messages().is_empty() && counts(&clients[1], &dlq).await.0 == MOVE_MESSAGES as u64 {
            break;
        }
        assert!(
            Instant::now() < dead_lettering,
            "not dead-lettered within 30 s: source {:?}, dead-letter queue {:?}",
            counts(&clients[1], &source).await,
            counts(&clients[1], &dlq).await
        );
    }

    // Started through node 0, slowly; node 0 dies once the move is under way.
    let starter = 0;
    clients[starter]
        .start_message_move_task()
        .source_arn(&dlq_arn)
        .max_number_of_messages_per_second(MOVE_RATE)
        .send()
        .await
        .unwrap_or_else(|e| panic!("StartMessageMoveTask through node {starter}: {e:?}"));
    let under_way = Instant::now() + Duration::from_secs(10);
    while counts(&clients[1], &source).await.0 < 4 {
        assert!(
            Instant::now() < under_way,
            "the move task did not start moving within 10 s: {:?}",
            latest_task(&clients[1], &dlq_arn).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cluster.kill(starter);
    let killed_at = Instant::now();
    let left_at_kill = counts(&clients[1], &dlq).await;
    assert!(
        left_at_kill.0 > 0,
        "the task had moved everything before its node was killed; lower MOVE_RATE"
    );

    let mut last = None;
    while killed_at.elapsed() < MOVE_TAKEOVER {
        let task = latest_task(&clients[1], &dlq_arn).await;
        let status = task
            .as_ref()
            .and_then(|t| t.status())
            .unwrap_or_default()
            .to_string();
        last = task;
        if status != "RUNNING" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let task = last.expect("the task is listed");
    assert_eq!(
        task.status(),
        Some("COMPLETED"),
        "{:?} after node {starter} was killed with {} messages left to move: the task was not finished \
         by another node: {task:?}\nsource {:?}, dead-letter queue {:?}\n{}",
        killed_at.elapsed(),
        left_at_kill.0,
        counts(&clients[1], &source).await,
        counts(&clients[1], &dlq).await,
        cluster.logs()
    );
    println!(
        "move task: node {starter} killed with {} of {MOVE_MESSAGES} messages left to move; COMPLETED \
         {:?} later, {} moved as listed",
        left_at_kill.0,
        killed_at.elapsed(),
        task.approximate_number_of_messages_moved()
    );

    // Every message back in the source queue, once.
    assert_empty(&cluster, &[1, 2], &dlq).await;
    let mut back: HashMap<String, usize> = HashMap::new();
    let draining = Instant::now() + Duration::from_secs(30);
    while Instant::now() < draining {
        let out = clients[2]
            .receive_message()
            .queue_url(&source)
            .max_number_of_messages(10)
            .visibility_timeout(30)
            .send()
            .await
            .unwrap_or_else(|e| panic!("receive from the source: {e:?}"));
        if out.messages().is_empty() {
            break;
        }
        for message in out.messages() {
            *back
                .entry(message.body().unwrap_or_default().to_string())
                .or_default() += 1;
            clients[2]
                .delete_message()
                .queue_url(&source)
                .receipt_handle(message.receipt_handle().unwrap_or_default())
                .send()
                .await
                .unwrap_or_else(|e| panic!("delete from the source: {e:?}"));
        }
    }
    let twice: Vec<_> = back.iter().filter(|(_, n)| **n > 1).collect();
    let returned: HashSet<String> = back.keys().cloned().collect();
    assert!(twice.is_empty(), "moved twice: {twice:?}");
    assert_eq!(
        returned, bodies,
        "the source queue holds exactly the messages that were dead-lettered"
    );
    assert_empty(&cluster, &[1, 2], &source).await;
}

// ---------------------------------------------------------------------------------------------------------
// Long polls across nodes
// ---------------------------------------------------------------------------------------------------------

const LATENCY_ROUNDS: usize = 100;
const LATENCY_BOUND: Duration = Duration::from_millis(100);
const LATENCY_DEADLINE: Duration = Duration::from_secs(60);
const LATENCY_WAIT_SECONDS: i32 = 10;
/// How long a round waits after starting the receive before sending, so that the receive is parked.
const PARK: Duration = Duration::from_millis(50);

/// The `q`-quantile of sorted `values` (nearest rank).
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_on_one_node_returns_promptly_for_a_send_through_another() {
    if !enabled("cross-node long poll") {
        return;
    }
    let _alone = ONE_AT_A_TIME.lock().await;
    let cluster = Cluster::start("multinode-latency", 2).await;
    let (sender, receiver) = (cluster.client(0), cluster.client(1));
    let url = create_with(&sender, "latency", &[]).await;
    // More slow rounds than this make the p99 bound unreachable: the test stops there.
    let slow_allowed = LATENCY_ROUNDS - (0.99 * LATENCY_ROUNDS as f64).ceil() as usize;
    let mut latencies: Vec<Duration> = Vec::new();
    let mut slow = 0;
    let deadline = Instant::now() + LATENCY_DEADLINE;
    // Round 0 warms up both connections and is not counted.
    for round in 0..=LATENCY_ROUNDS {
        if Instant::now() >= deadline || slow > slow_allowed {
            break;
        }
        let poll = {
            let receiver = receiver.clone();
            let url = url.clone();
            tokio::spawn(async move {
                let out = receiver
                    .receive_message()
                    .queue_url(&url)
                    .max_number_of_messages(1)
                    .wait_time_seconds(LATENCY_WAIT_SECONDS)
                    .send()
                    .await;
                (out, Instant::now())
            })
        };
        tokio::time::sleep(PARK).await;
        let body = format!("round-{round}");
        sender
            .send_message()
            .queue_url(&url)
            .message_body(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("send through node 0: {e:?}"));
        let sent = Instant::now();
        let (out, returned) = poll.await.expect("receive task");
        let out = out.unwrap_or_else(|e| panic!("long poll through node 1: {e:?}"));
        let latency = returned.saturating_duration_since(sent);
        match out.messages().first() {
            Some(message) => {
                assert_eq!(message.body(), Some(body.as_str()));
                receiver
                    .delete_message()
                    .queue_url(&url)
                    .receipt_handle(message.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("delete through node 1: {e:?}"));
            }
            None => {
                // The long poll ended empty: the message is still there; take it out of the next round.
                let out = receiver
                    .receive_message()
                    .queue_url(&url)
                    .wait_time_seconds(1)
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("receive through node 1: {e:?}"));
                for message in out.messages() {
                    receiver
                        .delete_message()
                        .queue_url(&url)
                        .receipt_handle(message.receipt_handle().unwrap_or_default())
                        .send()
                        .await
                        .unwrap_or_else(|e| panic!("delete through node 1: {e:?}"));
                }
            }
        }
        if round == 0 {
            continue;
        }
        let latency = if out.messages().is_empty() {
            // Never woken: the whole wait, at least.
            latency.max(Duration::from_secs(LATENCY_WAIT_SECONDS as u64))
        } else {
            latency
        };
        if latency >= LATENCY_BOUND {
            slow += 1;
        }
        latencies.push(latency);
    }
    latencies.sort();
    let (p50, p99) = match latencies.is_empty() {
        true => (Duration::ZERO, Duration::ZERO),
        false => (quantile(&latencies, 0.50), quantile(&latencies, 0.99)),
    };
    println!(
        "cross-node long poll: {} rounds, send returned -> receive returned p50 {p50:?}, p99 {p99:?}, \
         max {:?}, {slow} at or above {LATENCY_BOUND:?}",
        latencies.len(),
        latencies.last().copied().unwrap_or_default()
    );
    assert!(
        latencies.len() == LATENCY_ROUNDS && p99 < LATENCY_BOUND,
        "a long poll on node 1 for a send through node 0: {} of {LATENCY_ROUNDS} rounds done ({slow} at or \
         above {LATENCY_BOUND:?}, the test stops after {slow_allowed}), p50 {p50:?}, p99 {p99:?}; wanted \
         all rounds with p99 below {LATENCY_BOUND:?}",
        latencies.len()
    );
}
