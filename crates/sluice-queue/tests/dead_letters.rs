//! Dead-letter queues without HTTP: moving messages received too often, what a moved message carries,
//! and the redrive allow policy, with a manual clock.

mod common;

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
    let h = Harness::new();
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
    let h = Harness::new();
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
async fn a_fifo_dead_letter_queue_keeps_group_order_and_restarts_retention() {
    let h = Harness::new();
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
    let h = Harness::new();
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
