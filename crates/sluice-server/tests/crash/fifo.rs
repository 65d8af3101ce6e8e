//! FIFO: order, deduplication and sequence numbers across kills.

use super::*;

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
