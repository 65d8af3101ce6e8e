//! A standard queue's pipeline across nodes: producers and long-polling consumers, and the ledger of
//! what the clients were told, against which delivery is checked.

use super::*;

// ---------------------------------------------------------------------------------------------------------
// Standard queues: what the clients were told
// ---------------------------------------------------------------------------------------------------------

/// One receipt of a message: on which node, when the receive that returned it began and ended, and the
/// visibility timeout it gave the message.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Receipt {
    pub(crate) node: usize,
    pub(crate) began: Instant,
    pub(crate) ended: Instant,
    pub(crate) visibility: Duration,
}

/// What the clients of a standard queue were told. Bodies are unique, so they name messages.
#[derive(Default)]
pub(crate) struct Ledger {
    /// Bodies whose send was attempted (a send whose answer was lost may still have been stored).
    pub(crate) attempted: HashSet<String>,
    /// Acknowledged sends: MessageId → body.
    pub(crate) acknowledged: HashMap<String, String>,
    pub(crate) receipts: HashMap<String, Vec<Receipt>>,
    /// MessageIds whose delete was acknowledged.
    pub(crate) deleted: HashSet<String>,
    /// What must never happen, as it happened.
    pub(crate) violations: Vec<String>,
    pub(crate) more_violations: usize,
}

impl Ledger {
    pub(crate) fn violation(&mut self, text: String) {
        if self.violations.len() < VIOLATIONS_KEPT {
            self.violations.push(text);
        } else {
            self.more_violations += 1;
        }
    }

    /// Checks and records one received message.
    pub(crate) fn received(&mut self, message: &Message, receipt: Receipt) {
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

    pub(crate) fn all_acknowledged_deleted(&self) -> bool {
        self.acknowledged.keys().all(|id| self.deleted.contains(id))
    }

    /// Acknowledged sends never deleted: lost, or still in the queue when the consumers gave up.
    pub(crate) fn lost(&self) -> Vec<String> {
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
    pub(crate) fn check(&self, what: &str, cluster: &Cluster) {
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

pub(crate) type SharedLedger = Arc<Mutex<Ledger>>;

/// Sends `count` bodies `{prefix}-{i}` in batches of ten through one node. Stops at the first failed
/// request: recorded as a violation unless `may_fail` (the node is to be killed).
pub(crate) async fn produce(
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
pub(crate) struct Consumer {
    pub(crate) client: Client,
    pub(crate) url: String,
    pub(crate) node: usize,
    pub(crate) ledger: SharedLedger,
    pub(crate) producers_done: Arc<AtomicBool>,
    pub(crate) deadline: Instant,
}

impl Consumer {
    pub(crate) async fn run(self) {
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

    pub(crate) async fn delete(&self, messages: &[Message]) {
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
