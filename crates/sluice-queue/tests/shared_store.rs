//! Two services sharing one PostgreSQL database, as two Sluice processes of one deployment do: a
//! receive attempt is retried through either, and a message-move task started on one is cancelled
//! from the other, or finished by the other once the first is gone. Run with
//! `SLUICE_TEST_STORE=postgres`; with another backend there is nothing to share, and they pass at
//! once.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{bodies, postgres_store, shared_database, Harness, START};
use sluice_model::types::*;
use sluice_queue::ManualClock;

/// The lease of the tests' move tasks: short, so that a takeover is seen within a test.
const LEASE: Duration = Duration::from_secs(1);
/// How long a test waits for what another service does, at most.
const PATIENCE: Duration = Duration::from_secs(60);

/// Two services on two stores of one new database, with one clock.
async fn pair() -> Option<(Harness, Harness)> {
    let url = shared_database()?;
    let clock = Arc::new(ManualClock::new(START));
    let a = Harness::sharing(postgres_store(&url).await, clock.clone(), Some(LEASE));
    let b = Harness::sharing(postgres_store(&url).await, clock, Some(LEASE));
    Some((a, b))
}

async fn receive(
    h: &Harness,
    url: &str,
    attempt: &str,
) -> Result<Vec<Message>, sluice_model::ApiError> {
    let input = ReceiveMessageInput {
        queue_url: url.into(),
        max_number_of_messages: Some(2),
        visibility_timeout: Some(30),
        receive_request_attempt_id: Some(attempt.into()),
        ..Default::default()
    };
    match h.call(Request::ReceiveMessage(input)).await? {
        Response::ReceiveMessage(o) => Ok(o.messages),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_receive_attempt_made_on_one_service_is_retried_on_another() {
    let Some((a, b)) = pair().await else { return };
    let url = a
        .create(
            "q.fifo",
            &[("FifoQueue", "true"), ("ContentBasedDeduplication", "true")],
        )
        .await;
    for body in ["m1", "m2", "m3"] {
        let input = SendMessageInput {
            queue_url: url.clone(),
            message_body: body.into(),
            message_group_id: Some("g".into()),
            ..Default::default()
        };
        a.call(Request::SendMessage(input)).await.unwrap();
    }
    let first = receive(&a, &url, "attempt-1").await.unwrap();
    assert_eq!(bodies(&first), ["m1", "m2"]);
    let retry = receive(&b, &url, "attempt-1").await.unwrap();
    assert_eq!(bodies(&retry), bodies(&first));
    let handles = |m: &[Message]| {
        m.iter()
            .map(|m| m.receipt_handle.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(handles(&retry), handles(&first));
    // A delete through B spoils the attempt for A as well.
    b.delete(&url, &first[0].receipt_handle).await.unwrap();
    let err = receive(&a, &url, "attempt-1").await.unwrap_err();
    assert!(
        err.message.ends_with("the receive call is not retryable."),
        "{}",
        err.message
    );
}

async fn arn_of(h: &Harness, url: &str) -> String {
    let input = GetQueueAttributesInput {
        queue_url: url.into(),
        attribute_names: vec!["QueueArn".into()],
    };
    let Response::GetQueueAttributes(o) = h.call(Request::GetQueueAttributes(input)).await.unwrap()
    else {
        panic!()
    };
    o.attributes[0].1.clone()
}

/// A dead-letter queue holding `count` messages of a source queue; returns the two URLs and the
/// dead-letter queue's ARN.
async fn dead_lettered(h: &Harness, count: usize) -> (String, String, String) {
    let dlq = h.create("dlq", &[]).await;
    let dlq_arn = arn_of(h, &dlq).await;
    let policy = format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":1}}"#);
    let source = h.create("source", &[("RedrivePolicy", &policy)]).await;
    for i in 0..count {
        h.send(&source, &format!("m{i}"), None).await.unwrap();
    }
    while !h.receive(&source, 10, Some(0)).await.unwrap().is_empty() {}
    (source, dlq, dlq_arn)
}

async fn start(h: &Harness, source_arn: &str, rate: i64) -> String {
    let input = StartMessageMoveTaskInput {
        source_arn: source_arn.into(),
        destination_arn: None,
        max_number_of_messages_per_second: Some(rate),
    };
    match h.call(Request::StartMessageMoveTask(input)).await.unwrap() {
        Response::StartMessageMoveTask(o) => o.task_handle,
        other => panic!("{other:?}"),
    }
}

async fn latest(h: &Harness, source_arn: &str) -> ListMessageMoveTasksResultEntry {
    let input = ListMessageMoveTasksInput {
        source_arn: source_arn.into(),
        max_results: Some(1),
    };
    match h.call(Request::ListMessageMoveTasks(input)).await.unwrap() {
        Response::ListMessageMoveTasks(mut o) => o.results.remove(0),
        other => panic!("{other:?}"),
    }
}

/// Waits, a bounded time, until the latest task of the source satisfies `done`, and returns it.
async fn until(
    h: &Harness,
    source_arn: &str,
    done: impl Fn(&ListMessageMoveTasksResultEntry) -> bool,
) -> ListMessageMoveTasksResultEntry {
    let began = Instant::now();
    loop {
        let task = latest(h, source_arn).await;
        if done(&task) {
            return task;
        }
        assert!(began.elapsed() < PATIENCE, "still {task:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn a_move_task_whose_service_died_is_finished_by_another() {
    let Some(url) = shared_database() else { return };
    let clock = Arc::new(ManualClock::new(START));
    // A runs on a runtime of its own, so that dropping that runtime stops A at once, in the middle of
    // its task, as a process that dies does.
    let a_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (a, source, dlq_arn) = a_runtime.block_on(async {
        let a = Harness::sharing(postgres_store(&url).await, clock.clone(), Some(LEASE));
        let (source, _, dlq_arn) = dead_lettered(&a, 20).await;
        start(&a, &dlq_arn, 5).await;
        until(&a, &dlq_arn, |t| t.approximate_number_of_messages_moved > 0).await;
        (a, source, dlq_arn)
    });
    drop(a_runtime);
    let b_runtime = tokio::runtime::Runtime::new().unwrap();
    b_runtime.block_on(async {
        let b = Harness::sharing(postgres_store(&url).await, clock.clone(), Some(LEASE));
        // A's lease lasts: B leaves the task alone.
        assert_eq!(b.service.resume_move_tasks().await.unwrap(), 0);
        let stalled = latest(&b, &dlq_arn).await;
        assert_eq!(stalled.status, "RUNNING");
        assert!(stalled.approximate_number_of_messages_moved < 20);
        clock.advance_millis(LEASE.as_millis() as i64);
        let done = until(&b, &dlq_arn, |t| t.status != "RUNNING").await;
        assert_eq!(done.status, "COMPLETED");
        // Every message moved once: a step A had begun may be missing from the count, never from
        // the queues.
        assert!(done.approximate_number_of_messages_moved <= 20);
        assert_eq!(b.counts(&source).await, (20, 0, 0));
    });
    drop(a);
}

#[tokio::test]
async fn a_cancel_on_one_service_stops_the_task_another_runs() {
    let Some((a, b)) = pair().await else { return };
    let (source, dlq, dlq_arn) = dead_lettered(&a, 20).await;
    let handle = start(&a, &dlq_arn, 2).await;
    until(&b, &dlq_arn, |t| t.approximate_number_of_messages_moved > 0).await;
    let input = CancelMessageMoveTaskInput {
        task_handle: handle,
    };
    let Response::CancelMessageMoveTask(cancelled) =
        b.call(Request::CancelMessageMoveTask(input)).await.unwrap()
    else {
        panic!()
    };
    assert!(cancelled.approximate_number_of_messages_moved < 20);
    // A's lease lasts, so B leaves the ending to A, which sees the cancel at its next step.
    let ended = until(&b, &dlq_arn, |t| t.status != "CANCELLING").await;
    assert_eq!(ended.status, "CANCELLED");
    let (moved, _, _) = a.counts(&source).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(a.counts(&source).await.0, moved);
    assert_eq!(a.counts(&dlq).await.0 + moved, 20);
    assert!(moved < 20);
}
