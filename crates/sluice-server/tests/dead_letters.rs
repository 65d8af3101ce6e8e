//! Dead-letter queues and message-move tasks through the official Rust SDK (`aws-sdk-sqs`, AWS JSON 1.0):
//! the redrive flow, ten thousand dead letters moved back while consumers drain the source, a task that
//! survives a restart, cancel races, and retention in the dead-letter queue.
//!
//! Expected behaviour comes from the AWS documentation (the dead-letter-queue guides, seeds 00, 01, 03; the
//! CreateQueue and SetQueueAttributes references, 70 and 16), the SQS service models (the move-task shapes
//! and their documentation) and the research notes on real AWS responses (sqs-fifo-dlq.md §8-11). Where an
//! expectation is only recalled or guessed rather than confirmed, the assertion says so in a comment.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_sqs::operation::cancel_message_move_task::CancelMessageMoveTaskError;
use aws_sdk_sqs::operation::start_message_move_task::StartMessageMoveTaskError;
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, ListMessageMoveTasksResultEntry, Message,
    MessageAttributeValue, MessageSystemAttributeName as S, QueueAttributeName as A,
    SendMessageBatchRequestEntry,
};
use aws_sdk_sqs::Client;
use common::{
    create_with as create, parts, system_attribute as system, IsolatedServer, TempDir, TestServer,
    DEFAULT_ACCOUNT,
};

/// The heavy tests (ten thousand messages, many cancel rounds) and the timing-sensitive restart test take
/// this lock so they do not load the machine at the same time.
static EXCLUSIVE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const TERMINAL: [&str; 3] = ["COMPLETED", "CANCELLED", "FAILED"];

// ---------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------

async fn arn(client: &Client, url: &str) -> String {
    client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::QueueArn)
        .send()
        .await
        .expect("GetQueueAttributes")
        .attributes()
        .and_then(|a| a.get(&A::QueueArn).cloned())
        .expect("QueueArn")
}

fn redrive(target_arn: &str, max_receive_count: u32) -> String {
    format!(r#"{{"deadLetterTargetArn":"{target_arn}","maxReceiveCount":{max_receive_count}}}"#)
}

/// A dead-letter queue and a source queue whose redrive policy targets it: (source url, dlq url, source
/// arn, dlq arn).
async fn pair(
    client: &Client,
    prefix: &str,
    max_receive_count: u32,
) -> (String, String, String, String) {
    let dlq = create(client, &format!("{prefix}-dlq"), &[]).await;
    let dlq_arn = arn(client, &dlq).await;
    let policy = redrive(&dlq_arn, max_receive_count);
    let source = create(
        client,
        &format!("{prefix}-src"),
        &[(A::RedrivePolicy, &policy)],
    )
    .await;
    let source_arn = arn(client, &source).await;
    (source, dlq, source_arn, dlq_arn)
}

/// (ApproximateNumberOfMessages, ...NotVisible, ...Delayed), signed like the SDK's move-task counters.
async fn counts(client: &Client, url: &str) -> (i64, i64, i64) {
    let (visible, not_visible, delayed) = common::counts(client, url).await;
    (visible as i64, not_visible as i64, delayed as i64)
}

fn body(m: &Message) -> String {
    m.body().unwrap_or_default().to_string()
}

async fn send_batch(client: &Client, url: &str, bodies: &[String]) -> Vec<String> {
    let entries: Vec<SendMessageBatchRequestEntry> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| {
            SendMessageBatchRequestEntry::builder()
                .id(format!("e{i}"))
                .message_body(b)
                .message_attributes(
                    "origin",
                    MessageAttributeValue::builder()
                        .data_type("String")
                        .string_value("test")
                        .build()
                        .unwrap(),
                )
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
        .unwrap_or_else(|e| panic!("SendMessageBatch: {e:?}"));
    assert!(out.failed().is_empty(), "{:?}", out.failed());
    let mut ids = vec![String::new(); bodies.len()];
    for s in out.successful() {
        ids[s.id()[1..].parse::<usize>().unwrap()] = s.message_id().to_string();
    }
    ids
}

/// Receives from `source` with visibility 0 and never deletes, with `workers` concurrent receivers, until
/// the source is empty and `expected` messages sit in `dlq`.
async fn dead_letter(client: &Client, source: &str, dlq: &str, expected: i64, workers: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let mut receivers = Vec::new();
        for _ in 0..workers {
            let client = client.clone();
            let source = source.to_string();
            receivers.push(tokio::spawn(async move {
                loop {
                    let out = client
                        .receive_message()
                        .queue_url(&source)
                        .max_number_of_messages(10)
                        .visibility_timeout(0)
                        .send()
                        .await
                        .unwrap_or_else(|e| {
                            panic!(
                                "ReceiveMessage while dead-lettering (is the server stuck?): {e:?}"
                            )
                        });
                    if out.messages().is_empty() {
                        return;
                    }
                }
            }));
        }
        for r in receivers {
            r.await.expect("receiver");
        }
        let (source_counts, dlq_counts) = (counts(client, source).await, counts(client, dlq).await);
        if source_counts == (0, 0, 0) && dlq_counts.0 == expected {
            assert_eq!(dlq_counts, (expected, 0, 0));
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not dead-lettered in time: source {source_counts:?}, dlq {dlq_counts:?}"
        );
    }
}

async fn tasks(
    client: &Client,
    source_arn: &str,
    max: i32,
) -> Vec<ListMessageMoveTasksResultEntry> {
    client
        .list_message_move_tasks()
        .source_arn(source_arn)
        .max_results(max)
        .send()
        .await
        .unwrap_or_else(|e| panic!("ListMessageMoveTasks: {e:?}"))
        .results()
        .to_vec()
}

async fn latest(client: &Client, source_arn: &str) -> ListMessageMoveTasksResultEntry {
    tasks(client, source_arn, 1)
        .await
        .into_iter()
        .next()
        .expect("a task is listed")
}

async fn wait_terminal(
    client: &Client,
    source_arn: &str,
    within: Duration,
) -> ListMessageMoveTasksResultEntry {
    let deadline = Instant::now() + within;
    loop {
        let task = latest(client, source_arn).await;
        if TERMINAL.contains(&task.status().unwrap_or_default()) {
            return task;
        }
        assert!(
            Instant::now() < deadline,
            "task not finished within {within:?}: {task:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn start(client: &Client, source_arn: &str, rate: Option<i32>) -> String {
    client
        .start_message_move_task()
        .source_arn(source_arn)
        .set_max_number_of_messages_per_second(rate)
        .send()
        .await
        .unwrap_or_else(|e| panic!("StartMessageMoveTask: {e:?}"))
        .task_handle()
        .expect("TaskHandle")
        .to_string()
}

/// Receives and deletes until nothing more comes; returns each body with how often it came.
async fn drain(client: &Client, url: &str) -> HashMap<String, u32> {
    let mut seen: HashMap<String, u32> = HashMap::new();
    loop {
        let out = client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("ReceiveMessage");
        if out.messages().is_empty() {
            return seen;
        }
        for m in out.messages() {
            *seen.entry(body(m)).or_default() += 1;
            client
                .delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .expect("DeleteMessage");
        }
    }
}

/// Aborts the whole test process if a test outlives its deadline by far. The stores use blocking mutexes, so
/// a lock-order deadlock would stall the runtime's worker threads, and no `tokio::time::timeout` would ever
/// fire; a plain thread still can. It reports the last progress the test noted.
struct Watchdog {
    done: Arc<AtomicBool>,
    progress: Arc<Mutex<String>>,
}

impl Watchdog {
    fn arm(name: &'static str, after: Duration) -> Watchdog {
        let done = Arc::new(AtomicBool::new(false));
        let progress = Arc::new(Mutex::new(String::from("(nothing noted)")));
        let (flag, noted) = (done.clone(), progress.clone());
        std::thread::spawn(move || {
            let deadline = Instant::now() + after;
            while Instant::now() < deadline {
                if flag.load(Ordering::SeqCst) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let noted = noted.lock().map(|p| p.clone()).unwrap_or_default();
            eprintln!(
                "WATCHDOG: {name} still running after {after:?}; the server is stuck (a deadlock?). \
                 Last progress: {noted}. Aborting."
            );
            std::process::abort();
        });
        Watchdog { done, progress }
    }

    fn note(&self, progress: impl Into<String>) {
        *self.progress.lock().unwrap() = progress.into();
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.done.store(true, Ordering::SeqCst);
    }
}

// ---------------------------------------------------------------------------------------------------------
// The redrive flow
// ---------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_redrive_flow_through_the_sdk() {
    let server = TestServer::start().await;
    let client = server.client();
    let (source, dlq, source_arn, dlq_arn) = pair(&client, "flow", 2).await;
    let bodies: Vec<String> = (0..3).map(|i| format!("flow-{i}")).collect();
    let ids = send_batch(&client, &source, &bodies).await;

    // Delivered exactly maxReceiveCount times (seed 00; §10 R), then moved by the next receive.
    let mut deliveries: HashMap<String, u32> = HashMap::new();
    let mut first_receive: HashMap<String, String> = HashMap::new();
    for round in 1..=2 {
        let out = client
            .receive_message()
            .queue_url(&source)
            .max_number_of_messages(10)
            .visibility_timeout(0)
            .message_system_attribute_names(S::All)
            .send()
            .await
            .unwrap();
        assert_eq!(out.messages().len(), 3, "round {round}");
        for m in out.messages() {
            *deliveries
                .entry(m.message_id().unwrap().to_string())
                .or_default() += 1;
            assert_eq!(
                system(m, S::ApproximateReceiveCount),
                Some(round.to_string())
            );
            assert_eq!(system(m, S::DeadLetterQueueSourceArn), None);
            first_receive
                .entry(m.message_id().unwrap().to_string())
                .or_insert_with(|| system(m, S::ApproximateFirstReceiveTimestamp).unwrap());
        }
    }
    let out = client
        .receive_message()
        .queue_url(&source)
        .max_number_of_messages(10)
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    assert!(out.messages().is_empty(), "{:?}", out.messages());
    assert_eq!(
        deliveries.values().copied().collect::<Vec<_>>(),
        vec![2, 2, 2]
    );
    assert_eq!(counts(&client, &source).await, (0, 0, 0));
    assert_eq!(counts(&client, &dlq).await, (3, 0, 0));
    let sources = client
        .list_dead_letter_source_queues()
        .queue_url(&dlq)
        .send()
        .await
        .unwrap();
    assert_eq!(sources.queue_urls(), std::slice::from_ref(&source));

    // In the dead-letter queue: same ids, bodies, attributes and first-receive times, the count continued,
    // and the source's ARN (§10).
    let out = client
        .receive_message()
        .queue_url(&dlq)
        .max_number_of_messages(10)
        .visibility_timeout(0)
        .message_system_attribute_names(S::All)
        .message_attribute_names("All")
        .send()
        .await
        .unwrap();
    assert_eq!(out.messages().len(), 3);
    for m in out.messages() {
        let id = m.message_id().unwrap();
        let i = ids
            .iter()
            .position(|x| x == id)
            .expect("an original MessageId");
        assert_eq!(body(m), bodies[i]);
        assert_eq!(
            system(m, S::DeadLetterQueueSourceArn).as_deref(),
            Some(source_arn.as_str())
        );
        assert_eq!(system(m, S::ApproximateReceiveCount).as_deref(), Some("3"));
        assert_eq!(
            system(m, S::ApproximateFirstReceiveTimestamp),
            first_receive.get(id).cloned()
        );
        let origin = m
            .message_attributes()
            .and_then(|a| a.get("origin"))
            .expect("attribute kept");
        assert_eq!(origin.string_value(), Some("test"));
    }

    // Move them back (rate 100): TaskHandle while running, none after; the counts at the end.
    let started_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let handle = start(&client, &dlq_arn, Some(100)).await;
    let first = latest(&client, &dlq_arn).await;
    if first.status() == Some("RUNNING") {
        assert_eq!(first.task_handle(), Some(handle.as_str()));
    }
    let done = wait_terminal(&client, &dlq_arn, Duration::from_secs(10)).await;
    assert_eq!(done.status(), Some("COMPLETED"), "{done:?}");
    assert_eq!(done.task_handle(), None);
    assert_eq!(done.source_arn(), Some(dlq_arn.as_str()));
    assert_eq!(done.destination_arn(), None);
    assert_eq!(done.max_number_of_messages_per_second(), Some(100));
    assert_eq!(done.approximate_number_of_messages_moved(), 3);
    assert_eq!(done.approximate_number_of_messages_to_move(), Some(3));
    assert_eq!(done.failure_reason(), None);
    assert!(
        (started_at - 1000..started_at + 5000).contains(&done.started_timestamp()),
        "{done:?}"
    );
    assert_eq!(counts(&client, &dlq).await, (0, 0, 0));

    let out = client
        .receive_message()
        .queue_url(&source)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .message_system_attribute_names(S::All)
        .send()
        .await
        .unwrap();
    assert_eq!(out.messages().len(), 3);
    for m in out.messages() {
        // §11 (C): a new MessageId; back in the source as a new message, not yet received.
        assert!(!ids.contains(&m.message_id().unwrap().to_string()));
        assert_eq!(system(m, S::ApproximateReceiveCount).as_deref(), Some("1"));
        assert_eq!(system(m, S::DeadLetterQueueSourceArn), None);
    }
    let mut back: Vec<String> = out.messages().iter().map(body).collect();
    back.sort();
    assert_eq!(back, bodies);

    // Errors: a finished task cannot be cancelled (G code), an unknown handle is not found, a missing source
    // queue is not found (404 in the Query model), a queue that is no dead-letter queue is refused.
    let err = client
        .cancel_message_move_task()
        .task_handle(&handle)
        .send()
        .await
        .unwrap_err();
    let (status, code, _) = parts(&err);
    assert_eq!(status, 400, "{err:?}");
    assert!(
        [
            "InvalidParameterValue",
            "AWS.SimpleQueueService.UnsupportedOperation"
        ]
        .contains(&code.as_str()),
        "{err:?}"
    );
    // A handle that is no task handle is an invalid value (real SQS's answer); a task handle of a source
    // queue that does not exist names the missing SourceArn.
    let err = client
        .cancel_message_move_task()
        .task_handle("AQEBnotAHandle==")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        parts(&err),
        (
            400,
            "InvalidParameterValue".to_string(),
            "Value for parameter TaskHandle is invalid.".to_string()
        )
    );
    // Base64 of {"taskId":"8a1c5b7e-0000-4000-8000-000000000000","sourceArn":"arn:aws:sqs:us-east-1:000000000000:no-such-queue"}.
    let err = client
        .cancel_message_move_task()
        .task_handle("eyJ0YXNrSWQiOiI4YTFjNWI3ZS0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDAiLCJzb3VyY2VBcm4iOiJhcm46YXdzOnNxczp1cy1lYXN0LTE6MDAwMDAwMDAwMDAwOm5vLXN1Y2gtcXVldWUifQ==")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.as_service_error(),
            Some(CancelMessageMoveTaskError::ResourceNotFoundException(_))
        ),
        "{err:?}"
    );
    assert_eq!(
        parts(&err),
        (
            404,
            "ResourceNotFoundException".to_string(),
            "The resource that you specified for the SourceArn parameter doesn't exist."
                .to_string()
        )
    );
    let err = client
        .start_message_move_task()
        .source_arn(format!(
            "arn:aws:sqs:us-east-1:{DEFAULT_ACCOUNT}:no-such-queue"
        ))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.as_service_error(),
            Some(StartMessageMoveTaskError::ResourceNotFoundException(_))
        ),
        "{err:?}"
    );
    assert_eq!(parts(&err).0, 404);
    let err = client
        .start_message_move_task()
        .source_arn(&source_arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        parts(&err),
        (
            400,
            "InvalidParameterValue".to_string(),
            "Source queue must be configured as a Dead Letter Queue.".to_string()
        )
    );
    for rate in [0, 501] {
        let err = client
            .start_message_move_task()
            .source_arn(&dlq_arn)
            .max_number_of_messages_per_second(rate)
            .send()
            .await
            .unwrap_err();
        assert_eq!(parts(&err).1, "InvalidParameterValue", "{err:?}");
    }
    server.shutdown().await;
}

// ---------------------------------------------------------------------------------------------------------
// Ten thousand dead letters moved back while consumers drain the source (durable storage)
// ---------------------------------------------------------------------------------------------------------

const MANY: usize = 10_000;
const PRODUCERS: usize = 8;
const DEAD_LETTERERS: usize = 8;
const CONSUMERS: usize = 4;
const MANY_DEADLINE: Duration = Duration::from_secs(90);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_dead_letters_move_back_exactly_once_to_concurrent_consumers() {
    let _exclusive = EXCLUSIVE.lock().await;
    let watchdog = Watchdog::arm(
        "the ten-thousand-message test",
        MANY_DEADLINE + Duration::from_secs(60),
    );
    // On its own runtime: a server that deadlocks cannot stall this test's deadline.
    let server = IsolatedServer::start(4).await;
    let admin = server.client();
    let (source, dlq, _, dlq_arn) = pair(&admin, "many", 1).await;
    let started = Instant::now();

    let seen: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let deleted = Arc::new(AtomicUsize::new(0));
    let statuses: Arc<Mutex<Vec<(Duration, String, i64)>>> = Arc::default();
    let timings: Arc<Mutex<Vec<(&'static str, Duration)>>> = Arc::default();

    let work = async {
        // 1. Send, in batches from several producers.
        let mut producers = Vec::new();
        for p in 0..PRODUCERS {
            let client = server.client();
            let source = source.clone();
            producers.push(tokio::spawn(async move {
                let mut n = p;
                while n * 10 < MANY {
                    let bodies: Vec<String> = (n * 10..(n * 10 + 10).min(MANY))
                        .map(|i| format!("m{i}"))
                        .collect();
                    send_batch(&client, &source, &bodies).await;
                    n += PRODUCERS;
                }
            }));
        }
        for p in producers {
            p.await.expect("producer");
        }
        timings.lock().unwrap().push(("sent", started.elapsed()));
        watchdog.note(format!(
            "sent {MANY} at {:?}; dead-lettering",
            started.elapsed()
        ));

        // 2. Dead-letter them all: maxReceiveCount 1, so each is received once and moved by a later receive.
        dead_letter(&admin, &source, &dlq, MANY as i64, DEAD_LETTERERS).await;
        timings
            .lock()
            .unwrap()
            .push(("dead-lettered", started.elapsed()));
        watchdog.note(format!(
            "dead-lettered at {:?}; starting the task",
            started.elapsed()
        ));

        // 3. Move them back (no rate) while consumers receive and delete from the source.
        let move_started = Instant::now();
        let handle = start(&admin, &dlq_arn, None).await;
        let task_done = Arc::new(AtomicBool::new(false));
        let mut consumers = Vec::new();
        for c in 0..CONSUMERS {
            let client = server.client();
            let source = source.clone();
            let seen = seen.clone();
            let deleted = deleted.clone();
            let task_done = task_done.clone();
            consumers.push(tokio::spawn(async move {
                loop {
                    let out = client
                        .receive_message()
                        .queue_url(&source)
                        .max_number_of_messages(10)
                        .wait_time_seconds(1)
                        // Long enough that nothing comes twice unless something is wrong.
                        .visibility_timeout(120)
                        .send()
                        .await
                        .unwrap_or_else(|e| panic!("consumer {c} receive: {e:?}"));
                    let messages = out.messages();
                    if messages.is_empty() {
                        if task_done.load(Ordering::SeqCst)
                            || deleted.load(Ordering::SeqCst) >= MANY
                        {
                            return;
                        }
                        continue;
                    }
                    {
                        let mut seen = seen.lock().unwrap();
                        for m in messages {
                            *seen.entry(body(m)).or_default() += 1;
                        }
                    }
                    let entries: Vec<_> = messages
                        .iter()
                        .enumerate()
                        .map(|(i, m)| {
                            DeleteMessageBatchRequestEntry::builder()
                                .id(format!("d{i}"))
                                .receipt_handle(m.receipt_handle().unwrap())
                                .build()
                                .unwrap()
                        })
                        .collect();
                    let out = client
                        .delete_message_batch()
                        .queue_url(&source)
                        .set_entries(Some(entries))
                        .send()
                        .await
                        .unwrap_or_else(|e| panic!("consumer {c} delete: {e:?}"));
                    assert!(out.failed().is_empty(), "{:?}", out.failed());
                    deleted.fetch_add(messages.len(), Ordering::SeqCst);
                }
            }));
        }
        // Follow the task: its moved count never goes down, and it ends COMPLETED.
        let mut last_moved = 0;
        let finished = loop {
            let listed = admin
                .list_message_move_tasks()
                .source_arn(&dlq_arn)
                .send()
                .await
                .unwrap_or_else(|e| {
                    panic!(
                        "ListMessageMoveTasks failed at {:?} (is the server stuck?): {e:?}; {} deleted by the \
                         consumers; the task so far {:?}",
                        started.elapsed(),
                        deleted.load(Ordering::SeqCst),
                        statuses.lock().unwrap()
                    )
                });
            let task = listed
                .results()
                .first()
                .cloned()
                .expect("the task is listed");
            let status = task.status().unwrap_or_default().to_string();
            let moved = task.approximate_number_of_messages_moved();
            assert!(
                moved >= last_moved,
                "moved went from {last_moved} to {moved}"
            );
            last_moved = moved;
            watchdog.note(format!(
                "at {:?}: task {status} with {moved} moved; {} deleted by the consumers",
                started.elapsed(),
                deleted.load(Ordering::SeqCst)
            ));
            {
                let mut statuses = statuses.lock().unwrap();
                if statuses
                    .last()
                    .map(|(_, s, _)| s != &status)
                    .unwrap_or(true)
                {
                    statuses.push((move_started.elapsed(), status.clone(), moved));
                }
            }
            if status == "RUNNING" {
                assert_eq!(task.task_handle(), Some(handle.as_str()));
            }
            if TERMINAL.contains(&status.as_str()) {
                break task;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        task_done.store(true, Ordering::SeqCst);
        timings
            .lock()
            .unwrap()
            .push(("task finished", started.elapsed()));
        for c in consumers {
            c.await.expect("consumer");
        }
        timings
            .lock()
            .unwrap()
            .push(("consumers done", started.elapsed()));
        finished
    };
    let finished = match tokio::time::timeout(MANY_DEADLINE, work).await {
        Ok(task) => task,
        Err(_) => panic!(
            "not done within {MANY_DEADLINE:?}: {} distinct bodies seen, {} deleted; steps {:?}; task {:?}",
            seen.lock().unwrap().len(),
            deleted.load(Ordering::SeqCst),
            timings.lock().unwrap(),
            statuses.lock().unwrap(),
        ),
    };

    let seen = seen.lock().unwrap().clone();
    let expected: BTreeSet<String> = (0..MANY).map(|i| format!("m{i}")).collect();
    let got: BTreeSet<String> = seen.keys().cloned().collect();
    let lost: Vec<_> = expected.difference(&got).take(10).collect();
    let unexpected: Vec<_> = got.difference(&expected).take(10).collect();
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).take(10).collect();
    let final_source = counts(&admin, &source).await;
    let final_dlq = counts(&admin, &dlq).await;
    println!(
        "dead letters: {MANY} messages; steps {:?}; task {:?}; {} distinct bodies received, {} deliveries, {} deleted; \
         final counts source {final_source:?}, dlq {final_dlq:?}",
        timings.lock().unwrap(),
        statuses.lock().unwrap(),
        got.len(),
        seen.values().sum::<u32>(),
        deleted.load(Ordering::SeqCst),
    );
    assert!(lost.is_empty(), "lost (first 10): {lost:?}");
    assert!(unexpected.is_empty(), "unexpected bodies: {unexpected:?}");
    assert!(
        twice.is_empty(),
        "delivered more than once (first 10): {twice:?}"
    );
    assert_eq!(finished.status(), Some("COMPLETED"), "{finished:?}");
    assert_eq!(finished.approximate_number_of_messages_moved(), MANY as i64);
    assert_eq!(
        finished.approximate_number_of_messages_to_move(),
        Some(MANY as i64)
    );
    assert_eq!(final_source, (0, 0, 0));
    assert_eq!(final_dlq, (0, 0, 0));
    server.shutdown(Duration::from_secs(30)).await;
}

// ---------------------------------------------------------------------------------------------------------
// A task survives a restart
// ---------------------------------------------------------------------------------------------------------

const RESTART_MESSAGES: usize = 40;
const RESTART_RATE: i32 = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_task_resumes_after_a_restart_and_moves_every_message_once() {
    let _exclusive = EXCLUSIVE.lock().await;
    let _watchdog = Watchdog::arm("the restart test", Duration::from_secs(120));
    let dir = TempDir::new("restart");
    let first = TestServer::start_in(dir.path()).await;
    let client = first.client();
    let (source, dlq, _, dlq_arn) = pair(&client, "restart", 1).await;
    let bodies: Vec<String> = (0..RESTART_MESSAGES).map(|i| format!("r{i}")).collect();
    for chunk in bodies.chunks(10) {
        send_batch(&client, &source, chunk).await;
    }
    dead_letter(&client, &source, &dlq, RESTART_MESSAGES as i64, 2).await;

    let handle = start(&client, &dlq_arn, Some(RESTART_RATE)).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while latest(&client, &dlq_arn)
        .await
        .approximate_number_of_messages_moved()
        < 5
    {
        assert!(Instant::now() < deadline, "the task did not start moving");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = latest(&client, &dlq_arn).await;
    let back_before = counts(&client, &source).await.0;
    assert_eq!(before.status(), Some("RUNNING"), "{before:?}");
    assert!(
        back_before < RESTART_MESSAGES as i64,
        "finished before the restart: {before:?}"
    );
    first.shutdown().await;
    let shut_down_at = Instant::now();

    // Nothing is running now: a shut-down server must not go on moving messages. Wait long enough that a
    // task still running at rate 5 would move many more.
    tokio::time::sleep(Duration::from_millis(4000)).await;
    let second = TestServer::try_start_in(dir.path())
        .await
        .unwrap_or_else(|e| {
            panic!(
                "a new server cannot open the data directory {:?} after the old one was shut down: {e} \
                 (the old server's store is still held open, e.g. by its move task)",
                shut_down_at.elapsed()
            )
        });
    let client = second.client();
    // The resumed task runs while we look, so the two queues are read source, dead-letter queue, source:
    // source-then-dlq can only undercount the total and dlq-then-source only overcount it.
    let resumed = latest(&client, &dlq_arn).await;
    let source_first = counts(&client, &source).await;
    let dlq_then = counts(&client, &dlq).await;
    let source_last = counts(&client, &source).await;
    println!(
        "restart: before shutdown {before:?} with {back_before} back; after {:?}: {resumed:?}; counts \
         (visible, not visible, delayed): source {source_first:?}, dlq {dlq_then:?}, source {source_last:?}",
        shut_down_at.elapsed()
    );
    for c in [source_first, dlq_then, source_last] {
        assert_eq!(
            (c.1, c.2),
            (0, 0),
            "nothing in flight or delayed after the restart"
        );
    }
    let total = RESTART_MESSAGES as i64;
    assert!(
        source_first.0 + dlq_then.0 <= total,
        "more messages than were sent: {source_first:?} + {dlq_then:?}"
    );
    assert!(
        dlq_then.0 + source_last.0 >= total,
        "messages lost across the restart: {dlq_then:?} + {source_last:?}"
    );
    // At most one step of the task (`rate` messages) under way at the shutdown, plus the resumed task's first
    // step, since the shutdown.
    assert!(
        source_first.0 <= back_before + 2 * i64::from(RESTART_RATE),
        "{} messages moved after the server was shut down ({back_before} back before, {} after the restart)",
        source_first.0 - back_before,
        source_first.0
    );
    if resumed.status() == Some("RUNNING") {
        assert_eq!(resumed.task_handle(), Some(handle.as_str()));
    }
    let done = wait_terminal(&client, &dlq_arn, Duration::from_secs(20)).await;
    assert_eq!(done.status(), Some("COMPLETED"), "{done:?}");
    assert_eq!(
        done.approximate_number_of_messages_moved(),
        RESTART_MESSAGES as i64,
        "{done:?}"
    );
    assert_eq!(
        done.approximate_number_of_messages_to_move(),
        Some(RESTART_MESSAGES as i64)
    );
    assert_eq!(done.started_timestamp(), before.started_timestamp());
    assert_eq!(tasks(&client, &dlq_arn, 10).await.len(), 1);
    assert_eq!(counts(&client, &dlq).await, (0, 0, 0));
    let seen = drain(&client, &source).await;
    let mut got: Vec<_> = seen.keys().cloned().collect();
    got.sort();
    let mut want = bodies.clone();
    want.sort();
    assert_eq!(got, want, "every message back");
    assert!(seen.values().all(|n| *n == 1), "each once: {seen:?}");
    second.shutdown().await;

    // A second recovery finds the same, consistent state: nothing left anywhere, the task completed.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let third = TestServer::start_in(dir.path()).await;
    let client = third.client();
    assert_eq!(counts(&client, &source).await, (0, 0, 0));
    assert_eq!(counts(&client, &dlq).await, (0, 0, 0));
    let again = latest(&client, &dlq_arn).await;
    assert_eq!(again.status(), Some("COMPLETED"), "{again:?}");
    assert_eq!(
        again.approximate_number_of_messages_moved(),
        RESTART_MESSAGES as i64
    );
    assert!(drain(&client, &source).await.is_empty());
    third.shutdown().await;
}

// ---------------------------------------------------------------------------------------------------------
// Cancelling
// ---------------------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cancelled_busy_task_never_shows_as_running_again() {
    let _exclusive = EXCLUSIVE.lock().await;
    let _watchdog = Watchdog::arm("the busy-cancel test", Duration::from_secs(120));
    let server = IsolatedServer::start(4).await;
    let client = server.client();
    let total = 3000;
    let (source, dlq, _, dlq_arn) = pair(&client, "busy", 1).await;
    let bodies: Vec<String> = (0..total).map(|i| format!("b{i}")).collect();
    for chunk in bodies.chunks(10) {
        send_batch(&client, &source, chunk).await;
    }
    dead_letter(&client, &source, &dlq, total as i64, 8).await;

    // Several rounds on the same dead letters: start without a rate, let it move some, cancel, and watch
    // closely. §11 (C): after a cancel the task is CANCELLING, then CANCELLED; TaskHandle only while RUNNING.
    // The status must never go back to RUNNING.
    let mut moved_total = 0;
    let mut rounds = Vec::new();
    for round in 0..8 {
        let handle = start(&client, &dlq_arn, None).await;
        let deadline = Instant::now() + Duration::from_secs(10);
        while latest(&client, &dlq_arn)
            .await
            .approximate_number_of_messages_moved()
            < 20
        {
            assert!(
                Instant::now() < deadline,
                "round {round}: the task does not move"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let moved_at_cancel = client
            .cancel_message_move_task()
            .task_handle(&handle)
            .send()
            .await
            .unwrap_or_else(|e| panic!("the task finished before the cancel; raise `total`: {e:?}"))
            .approximate_number_of_messages_moved();
        let mut seen = Vec::new();
        let done = loop {
            let task = latest(&client, &dlq_arn).await;
            let status = task.status().unwrap_or_default().to_string();
            if seen.last() != Some(&status) {
                seen.push(status.clone());
            }
            assert!(
                status == "CANCELLING" || status == "CANCELLED",
                "round {round}: statuses after the cancel {seen:?}; {task:?}"
            );
            assert_eq!(task.task_handle(), None, "round {round}: {task:?}");
            if status == "CANCELLED" {
                break task;
            }
            assert!(Instant::now() < deadline, "round {round}: {seen:?}");
        };
        let moved = done.approximate_number_of_messages_moved();
        assert!(moved >= moved_at_cancel, "round {round}: {done:?}");
        moved_total += moved;
        assert_eq!(
            counts(&client, &source).await,
            (moved_total, 0, 0),
            "round {round}"
        );
        assert_eq!(
            counts(&client, &dlq).await,
            (total as i64 - moved_total, 0, 0),
            "round {round}"
        );
        rounds.push((moved_at_cancel, moved, seen));
    }
    // Nothing moves once the cancel has taken effect.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(counts(&client, &source).await, (moved_total, 0, 0));
    assert_eq!(tasks(&client, &dlq_arn, 10).await.len(), 8);
    println!(
        "busy cancel: (moved at the cancel, moved in the end, statuses seen) per round: {rounds:?}"
    );
    server.shutdown(Duration::from_secs(30)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancels_racing_the_end_of_a_task_still_end_in_a_final_state() {
    let _exclusive = EXCLUSIVE.lock().await;
    let _watchdog = Watchdog::arm("the cancel-race test", Duration::from_secs(120));
    let server = TestServer::start().await;
    let client = server.client();
    let (source, dlq, _, dlq_arn) = pair(&client, "race", 1).await;
    let mut outcomes: HashMap<String, usize> = HashMap::new();
    for round in 0..60u64 {
        let bodies: Vec<String> = (0..(1 + round % 4))
            .map(|i| format!("x{round}-{i}"))
            .collect();
        send_batch(&client, &source, &bodies).await;
        dead_letter(&client, &source, &dlq, bodies.len() as i64, 1).await;
        let handle = start(&client, &dlq_arn, None).await;
        // Cancels at different points around the task's end.
        tokio::time::sleep(Duration::from_micros((round % 5) * 400)).await;
        let cancelled = client
            .cancel_message_move_task()
            .task_handle(&handle)
            .send()
            .await;
        // Either the cancel came in time (CANCELLING, then CANCELLED) or the task had already completed and
        // the cancel is refused; either way the task reaches a final state.
        let done = wait_terminal(&client, &dlq_arn, Duration::from_secs(3)).await;
        let status = done.status().unwrap_or_default().to_string();
        match &cancelled {
            // Cancelled, or (G) completed when the last message moved while the cancel came in.
            Ok(_) => assert!(
                status == "CANCELLED" || status == "COMPLETED",
                "round {round}: {done:?}"
            ),
            Err(e) => {
                assert_eq!(status, "COMPLETED", "round {round}: {done:?}");
                assert_eq!(parts(e).0, 400, "{e:?}");
            }
        }
        *outcomes.entry(status).or_default() += 1;
        // Whatever is still dead goes back before the next round.
        let moved = done.approximate_number_of_messages_moved();
        let (back, dead) = (
            counts(&client, &source).await.0,
            counts(&client, &dlq).await.0,
        );
        assert_eq!(
            (back, back + dead),
            (moved, bodies.len() as i64),
            "round {round}: {done:?}"
        );
        drain(&client, &source).await;
        if dead > 0 {
            start(&client, &dlq_arn, None).await;
            let rest = wait_terminal(&client, &dlq_arn, Duration::from_secs(3)).await;
            assert_eq!(rest.status(), Some("COMPLETED"), "{rest:?}");
            drain(&client, &source).await;
        }
    }
    println!("cancel races: {outcomes:?}");
    server.shutdown().await;
}

// ---------------------------------------------------------------------------------------------------------
// Retention in the dead-letter queue
// ---------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn retention_in_the_dead_letter_queue_counts_from_the_send_for_standard_and_from_the_move_for_fifo(
) {
    // Seed 00 (C, exact): "For standard queues, the expiration of a message is always based on its original
    // enqueue timestamp. When a message is moved to a dead-letter queue, the enqueue timestamp is unchanged."
    // "For FIFO queues, the enqueue timestamp resets when the message is moved to a dead-letter queue."
    // Both dead-letter queues keep messages 60 s (the minimum); the messages are sent at t0 and moved at
    // about t0 + 40 s. At t0 + 63 s the standard one is gone and the FIFO one is not.
    let server = TestServer::start().await;
    let client = server.client();
    let std_dlq = create(&client, "ret-dlq", &[(A::MessageRetentionPeriod, "60")]).await;
    let fifo_dlq = create(
        &client,
        "ret-dlq.fifo",
        &[(A::FifoQueue, "true"), (A::MessageRetentionPeriod, "60")],
    )
    .await;
    let std_policy = redrive(&arn(&client, &std_dlq).await, 1);
    let fifo_policy = redrive(&arn(&client, &fifo_dlq).await, 1);
    let std_src = create(&client, "ret-src", &[(A::RedrivePolicy, &std_policy)]).await;
    let fifo_src = create(
        &client,
        "ret-src.fifo",
        &[(A::FifoQueue, "true"), (A::RedrivePolicy, &fifo_policy)],
    )
    .await;
    let t0 = Instant::now();
    client
        .send_message()
        .queue_url(&std_src)
        .message_body("std")
        .send()
        .await
        .unwrap();
    client
        .send_message()
        .queue_url(&fifo_src)
        .message_body("fifo")
        .message_group_id("g")
        .message_deduplication_id("fifo")
        .send()
        .await
        .unwrap();
    for url in [&std_src, &fifo_src] {
        let out = client
            .receive_message()
            .queue_url(url)
            .visibility_timeout(0)
            .send()
            .await
            .unwrap();
        assert_eq!(out.messages().len(), 1);
    }
    tokio::time::sleep_until((t0 + Duration::from_secs(40)).into()).await;
    for url in [&std_src, &fifo_src] {
        let out = client
            .receive_message()
            .queue_url(url)
            .visibility_timeout(0)
            .send()
            .await
            .unwrap();
        assert!(out.messages().is_empty());
    }
    assert_eq!(counts(&client, &std_dlq).await.0, 1);
    assert_eq!(counts(&client, &fifo_dlq).await.0, 1);
    tokio::time::sleep_until((t0 + Duration::from_secs(63)).into()).await;
    let std_out = client
        .receive_message()
        .queue_url(&std_dlq)
        .send()
        .await
        .unwrap();
    let fifo_out = client
        .receive_message()
        .queue_url(&fifo_dlq)
        .send()
        .await
        .unwrap();
    assert!(
        std_out.messages().is_empty(),
        "the standard dead letter outlived its original enqueue time + 60 s"
    );
    assert_eq!(
        fifo_out.messages().iter().map(body).collect::<Vec<_>>(),
        ["fifo"]
    );
    server.shutdown().await;
}
