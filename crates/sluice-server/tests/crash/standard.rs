//! The standard queue: every acknowledged send survives the kills until an acknowledged delete,
//! and nothing comes back or appears twice.

use super::*;

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
