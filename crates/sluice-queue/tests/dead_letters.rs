//! Dead-letter queues without HTTP: moving messages received too often, what a moved message carries,
//! and the redrive allow policy, with a manual clock.

mod common;

use base64::Engine;
use common::{Harness, START};
use sluice_model::types::*;
use sluice_model::ErrorCode;

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

fn attribute<'a>(message: &'a Message, name: &str) -> Option<&'a str> {
    message
        .attributes
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn a_message_received_max_receive_count_times_moves_on_the_next_receive() {
    let h = Harness::new().await;
    let dlq = h.create("dlq", &[]).await;
    let dlq_arn = arn_of(&h, &dlq).await;
    let policy = format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":2}}"#);
    let source = h.create("source", &[("RedrivePolicy", &policy)]).await;
    let source_arn = arn_of(&h, &source).await;
    let sent = h.send(&source, "poison", None).await.unwrap();
    h.send(&source, "fine", None).await.unwrap();
    // Delivered exactly maxReceiveCount times...
    for round in 1..=2 {
        let got = h.receive(&source, 1, Some(0)).await.unwrap();
        assert_eq!(got[0].body, "poison", "round {round}");
    }
    // ...then the next receive moves it instead of handing it out, and serves the next message.
    let got = h.receive(&source, 1, Some(30)).await.unwrap();
    assert_eq!(got[0].body, "fine");
    assert_eq!(h.counts(&dlq).await, (1, 0, 0));
    let moved = h.receive(&dlq, 1, None).await.unwrap();
    assert_eq!(moved[0].message_id, sent.message_id);
    assert_eq!(moved[0].body, "poison");
    assert_eq!(
        attribute(&moved[0], "DeadLetterQueueSourceArn"),
        Some(source_arn.as_str())
    );
    assert_eq!(attribute(&moved[0], "ApproximateReceiveCount"), Some("3"));
    assert_eq!(
        attribute(&moved[0], "SentTimestamp"),
        Some(START.to_string().as_str())
    );
}

#[tokio::test]
async fn a_standard_dead_letter_queue_keeps_the_original_enqueue_time_for_retention() {
    let h = Harness::new().await;
    let dlq = h.create("dlq", &[("MessageRetentionPeriod", "120")]).await;
    let dlq_arn = arn_of(&h, &dlq).await;
    let policy = format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":1}}"#);
    let source = h.create("source", &[("RedrivePolicy", &policy)]).await;
    h.send(&source, "old", None).await.unwrap();
    h.advance_seconds(100);
    h.receive(&source, 1, Some(0)).await.unwrap();
    assert!(h.receive(&source, 1, None).await.unwrap().is_empty());
    assert_eq!(h.counts(&dlq).await, (1, 0, 0));
    // 121 s after the original send the message is past the dead-letter queue's retention.
    h.advance_seconds(21);
    assert_eq!(h.counts(&dlq).await, (0, 0, 0));
}

#[tokio::test]
async fn a_dead_letter_sent_before_the_ones_ahead_of_it_still_expires_on_time() {
    let h = Harness::new().await;
    let dlq = h.create("dlq", &[("MessageRetentionPeriod", "120")]).await;
    let dlq_arn = arn_of(&h, &dlq).await;
    let policy = format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":1}}"#);
    let slow = h.create("slow", &[("RedrivePolicy", &policy)]).await;
    let quick = h.create("quick", &[("RedrivePolicy", &policy)]).await;
    h.send(&slow, "old", None).await.unwrap();
    h.advance_seconds(60);
    h.send(&quick, "young", None).await.unwrap();
    // The younger message reaches the dead-letter queue first.
    for source in [&quick, &slow] {
        h.receive(source, 1, Some(0)).await.unwrap();
        assert!(h.receive(source, 1, None).await.unwrap().is_empty());
    }
    assert_eq!(h.counts(&dlq).await, (2, 0, 0));
    // 121 s after its send the older one is past retention, though a younger one is ahead of it.
    h.advance_seconds(61);
    assert_eq!(h.counts(&dlq).await, (1, 0, 0));
    let left = h.receive(&dlq, 10, None).await.unwrap();
    assert_eq!(common::bodies(&left), ["young"]);
}

#[tokio::test]
async fn a_fifo_dead_letter_queue_keeps_group_order_and_restarts_retention() {
    let h = Harness::new().await;
    let dlq = h
        .create(
            "dlq.fifo",
            &[("FifoQueue", "true"), ("MessageRetentionPeriod", "120")],
        )
        .await;
    let dlq_arn = arn_of(&h, &dlq).await;
    let policy = format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":1}}"#);
    let source = h
        .create(
            "source.fifo",
            &[
                ("FifoQueue", "true"),
                ("ContentBasedDeduplication", "true"),
                ("RedrivePolicy", &policy),
            ],
        )
        .await;
    for body in ["m1", "m2"] {
        let input = SendMessageInput {
            queue_url: source.clone(),
            message_body: body.into(),
            message_group_id: Some("g".into()),
            ..Default::default()
        };
        h.call(Request::SendMessage(input)).await.unwrap();
    }
    h.advance_seconds(100);
    assert_eq!(h.receive(&source, 10, Some(0)).await.unwrap().len(), 2);
    assert!(h.receive(&source, 10, None).await.unwrap().is_empty());
    h.advance_seconds(100);
    // 200 s after the send but 100 s after the move: still within the dead-letter queue's retention.
    let moved = h.receive(&dlq, 10, None).await.unwrap();
    let bodies: Vec<&str> = moved.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, ["m1", "m2"]);
    assert_eq!(
        attribute(&moved[0], "MessageDeduplicationId"),
        Some(moved[0].message_id.as_str())
    );
}

#[tokio::test]
async fn the_redrive_allow_policy_decides_which_queues_may_use_a_dead_letter_queue() {
    let h = Harness::new().await;
    let closed = h
        .create(
            "closed",
            &[("RedriveAllowPolicy", r#"{"redrivePermission":"denyAll"}"#)],
        )
        .await;
    let closed_arn = arn_of(&h, &closed).await;
    let policy = format!(r#"{{"deadLetterTargetArn":"{closed_arn}","maxReceiveCount":3}}"#);
    let input = CreateQueueInput {
        queue_name: "source".into(),
        attributes: [("RedrivePolicy".to_string(), policy)].into(),
        ..Default::default()
    };
    let err = h.call(Request::CreateQueue(input)).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidParameterValue);
    let allowed_source = "arn:aws:sqs:us-east-1:000000000000:allowed";
    let by_queue =
        format!(r#"{{"redrivePermission":"byQueue","sourceQueueArns":["{allowed_source}"]}}"#);
    let picky = h
        .create("picky", &[("RedriveAllowPolicy", &by_queue)])
        .await;
    let picky_arn = arn_of(&h, &picky).await;
    let policy = format!(r#"{{"deadLetterTargetArn":"{picky_arn}","maxReceiveCount":3}}"#);
    h.create("allowed", &[("RedrivePolicy", &policy)]).await;
    let input = CreateQueueInput {
        queue_name: "other".into(),
        attributes: [("RedrivePolicy".to_string(), policy)].into(),
        ..Default::default()
    };
    assert_eq!(
        h.call(Request::CreateQueue(input)).await.unwrap_err().code,
        ErrorCode::InvalidParameterValue
    );
}

async fn move_tasks(
    h: &Harness,
    source_arn: &str,
    max: i64,
) -> Vec<ListMessageMoveTasksResultEntry> {
    let input = ListMessageMoveTasksInput {
        source_arn: source_arn.into(),
        max_results: Some(max),
    };
    let Response::ListMessageMoveTasks(o) =
        h.call(Request::ListMessageMoveTasks(input)).await.unwrap()
    else {
        panic!()
    };
    o.results
}

async fn start(
    h: &Harness,
    source_arn: &str,
    destination: Option<&str>,
    rate: Option<i64>,
) -> Result<String, sluice_model::ApiError> {
    let input = StartMessageMoveTaskInput {
        source_arn: source_arn.into(),
        destination_arn: destination.map(str::to_string),
        max_number_of_messages_per_second: rate,
    };
    match h.call(Request::StartMessageMoveTask(input)).await? {
        Response::StartMessageMoveTask(o) => Ok(o.task_handle),
        other => panic!("{other:?}"),
    }
}

/// A source queue whose messages, received once without being deleted, went to its dead-letter queue.
async fn dead_lettered(h: &Harness, count: usize) -> (String, String, String) {
    let dlq = h.create("dlq", &[]).await;
    let dlq_arn = arn_of(h, &dlq).await;
    let policy = format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":1}}"#);
    let source = h.create("source", &[("RedrivePolicy", &policy)]).await;
    for i in 0..count {
        h.send(&source, &format!("m{i}"), None).await.unwrap();
    }
    while !h.receive(&source, 10, Some(0)).await.unwrap().is_empty() {}
    assert_eq!(h.counts(&dlq).await, (count as u64, 0, 0));
    (source, dlq, dlq_arn)
}

#[tokio::test]
async fn a_move_task_sends_messages_back_to_their_source_at_the_requested_rate() {
    let h = Harness::new().await;
    let (source, dlq, dlq_arn) = dead_lettered(&h, 25).await;
    let started = tokio::time::Instant::now();
    start(&h, &dlq_arn, None, Some(10)).await.unwrap();
    let running = move_tasks(&h, &dlq_arn, 10).await;
    assert_eq!(running[0].status, "RUNNING");
    assert!(running[0].task_handle.is_some());
    assert_eq!(running[0].approximate_number_of_messages_to_move, Some(25));
    // Only one task at a time per source.
    assert_eq!(
        start(&h, &dlq_arn, None, None).await.unwrap_err().code,
        ErrorCode::InvalidParameterValue
    );
    while move_tasks(&h, &dlq_arn, 1).await[0].status == "RUNNING" {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // 25 messages at 10 a second take over two seconds.
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let done = &move_tasks(&h, &dlq_arn, 1).await[0];
    assert_eq!(done.status, "COMPLETED");
    assert_eq!(done.approximate_number_of_messages_moved, 25);
    assert!(done.task_handle.is_none());
    assert_eq!(h.counts(&dlq).await, (0, 0, 0));
    assert_eq!(h.counts(&source).await, (25, 0, 0));
    let back = h.receive(&source, 1, None).await.unwrap();
    assert_eq!(attribute(&back[0], "ApproximateReceiveCount"), Some("1"));
    assert_eq!(attribute(&back[0], "DeadLetterQueueSourceArn"), None);
}

#[tokio::test]
async fn a_cancelled_task_stops_and_reports_what_it_moved() {
    let h = Harness::new().await;
    let (_, _, dlq_arn) = dead_lettered(&h, 20).await;
    let handle = start(&h, &dlq_arn, None, Some(1)).await.unwrap();
    // Real time throughout: on the durable engine and on PostgreSQL the store does real I/O, which
    // paused time would run ahead of (and a connection's bounded wait would time out at once).
    for _ in 0..1000 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        if move_tasks(&h, &dlq_arn, 1).await[0].approximate_number_of_messages_moved > 0 {
            break;
        }
    }
    let input = CancelMessageMoveTaskInput {
        task_handle: handle.clone(),
    };
    let Response::CancelMessageMoveTask(o) =
        h.call(Request::CancelMessageMoveTask(input)).await.unwrap()
    else {
        panic!()
    };
    assert!(
        (1..20).contains(&o.approximate_number_of_messages_moved),
        "{}",
        o.approximate_number_of_messages_moved
    );
    // The runner ends the task at its next step.
    for _ in 0..1000 {
        if move_tasks(&h, &dlq_arn, 1).await[0].status != "CANCELLING" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let listed = &move_tasks(&h, &dlq_arn, 1).await[0];
    assert_eq!(listed.status, "CANCELLED");
    let input = CancelMessageMoveTaskInput {
        task_handle: handle,
    };
    assert!(h.call(Request::CancelMessageMoveTask(input)).await.is_err());
    // A handle that is no task handle at all is an invalid value; a task handle whose source queue does
    // not exist names a missing SourceArn; one of an existing queue but no task is an unknown task.
    let cancel = |handle: String| {
        h.call(Request::CancelMessageMoveTask(CancelMessageMoveTaskInput {
            task_handle: handle,
        }))
    };
    let task_handle = |arn: &str| {
        base64::engine::general_purpose::STANDARD.encode(format!(
            r#"{{"taskId":"8a1c5b7e-0000-4000-8000-000000000000","sourceArn":"{arn}"}}"#
        ))
    };
    for malformed in [
        "nope",
        "AQEBunknownTaskHandle==",
        &base64::engine::general_purpose::STANDARD.encode("{}"),
    ] {
        let err = cancel(malformed.to_string()).await.unwrap_err();
        assert_eq!(
            (err.code, err.message.as_str()),
            (
                ErrorCode::InvalidParameterValue,
                "Value for parameter TaskHandle is invalid."
            ),
            "{malformed}"
        );
    }
    let err = cancel(task_handle("arn:aws:sqs:us-east-1:000000000000:gone"))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code, err.message.as_str()),
        (
            ErrorCode::ResourceNotFoundException,
            "The resource that you specified for the SourceArn parameter doesn't exist."
        )
    );
    let err = cancel(task_handle(&dlq_arn)).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ResourceNotFoundException);
}

#[tokio::test]
async fn move_task_rules() {
    let h = Harness::new().await;
    let (source, _, dlq_arn) = dead_lettered(&h, 1).await;
    let source_arn = arn_of(&h, &source).await;
    // The source must be a dead-letter queue of some queue.
    assert_eq!(
        start(&h, &source_arn, None, None).await.unwrap_err().code,
        ErrorCode::InvalidParameterValue
    );
    assert_eq!(
        start(&h, "arn:aws:sqs:us-east-1:000000000000:missing", None, None)
            .await
            .unwrap_err()
            .code,
        ErrorCode::ResourceNotFoundException
    );
    assert_eq!(
        start(
            &h,
            &dlq_arn,
            Some("arn:aws:sqs:us-east-1:000000000000:missing"),
            None
        )
        .await
        .unwrap_err()
        .code,
        ErrorCode::ResourceNotFoundException
    );
    for rate in [0, 501] {
        assert_eq!(
            start(&h, &dlq_arn, None, Some(rate))
                .await
                .unwrap_err()
                .code,
            ErrorCode::InvalidParameterValue
        );
    }
    let input = ListMessageMoveTasksInput {
        source_arn: dlq_arn.clone(),
        max_results: Some(11),
    };
    assert_eq!(
        h.call(Request::ListMessageMoveTasks(input))
            .await
            .unwrap_err()
            .code,
        ErrorCode::InvalidParameterValue
    );
    // An explicit destination takes the messages instead of their source.
    let other = h.create("other", &[]).await;
    let other_arn = arn_of(&h, &other).await;
    start(&h, &dlq_arn, Some(&other_arn), None).await.unwrap();
    while move_tasks(&h, &dlq_arn, 1).await[0].status == "RUNNING" {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(h.counts(&other).await, (1, 0, 0));
    assert_eq!(
        move_tasks(&h, &dlq_arn, 10).await[0]
            .destination_arn
            .as_deref(),
        Some(other_arn.as_str())
    );
}

#[tokio::test]
async fn a_move_task_onto_its_own_source_queue_is_refused() {
    let h = Harness::new().await;
    let (_, dlq, dlq_arn) = dead_lettered(&h, 1).await;
    let err = start(&h, &dlq_arn, Some(&dlq_arn), None).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidParameterValue);
    assert_eq!(
        err.message,
        "The destination queue must be different from the source queue."
    );
    assert!(move_tasks(&h, &dlq_arn, 10).await.is_empty());
    assert_eq!(h.counts(&dlq).await, (1, 0, 0));
}
