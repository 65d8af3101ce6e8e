//! A FIFO queue's pipeline across nodes: each group sent through alternating nodes with resends
//! through others, consumers on every node, and the ledger that checks order and deduplication.

use super::*;

/// What the clients of the FIFO queue were told.
#[derive(Default)]
pub(crate) struct FifoLedger {
    /// (group, index) → (MessageId, SequenceNumber) of the acknowledged send.
    pub(crate) sent: HashMap<(usize, usize), (String, String)>,
    pub(crate) resent: usize,
    /// Per group: the index the next delivery must carry.
    pub(crate) next: Vec<usize>,
    /// Per group: the nodes whose consumers delivered some of it.
    pub(crate) delivered_by: Vec<BTreeSet<usize>>,
    /// MessageId → (group, index) of each delivery.
    pub(crate) delivered: HashMap<String, (usize, usize)>,
    pub(crate) deleted: usize,
    pub(crate) violations: Vec<String>,
    pub(crate) more_violations: usize,
}

impl FifoLedger {
    pub(crate) fn violation(&mut self, text: String) {
        if self.violations.len() < VIOLATIONS_KEPT {
            self.violations.push(text);
        } else {
            self.more_violations += 1;
        }
    }
}

/// One FIFO send: (MessageId, SequenceNumber), or the error.
pub(crate) async fn send_fifo(
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
pub(crate) async fn produce_group(
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
pub(crate) async fn consume_fifo(
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
pub(crate) fn fifo_delivery(ledger: &mut FifoLedger, node: usize, message: &Message) {
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
