//! What the service reports to operators, without HTTP: the CloudWatch counters of each queue
//! counted as CloudWatch counts them, and the gauges read from the store, on every backend.

mod common;

use common::Harness;
use sluice_model::types::*;
use sluice_queue::QueueMetrics;
use sluice_store::QueueKey;

fn key(h: &Harness, name: &str) -> QueueKey {
    QueueKey {
        account_id: h.ctx.account_id.clone(),
        region: h.ctx.region.clone(),
        name: name.into(),
    }
}

async fn metrics_of(h: &Harness, name: &str) -> QueueMetrics {
    h.service
        .queue_metrics()
        .await
        .expect("metrics")
        .into_iter()
        .find(|m| m.key.name == name)
        .expect("the queue is reported")
}

#[tokio::test]
async fn counters_count_as_cloudwatch_does() {
    let h = Harness::new().await;
    let url = h.create("counted", &[]).await;
    for body in ["a", "bb", "ccc"] {
        h.send(&url, body, None).await.unwrap();
    }
    let received = h.receive(&url, 2, Some(30)).await.unwrap();
    assert_eq!(received.len(), 2);
    // Then two empty receives: each call counts once, whatever it asked for.
    let first = h.receive(&url, 10, Some(30)).await.unwrap();
    assert_eq!(first.len(), 1);
    assert!(h.receive(&url, 10, Some(30)).await.unwrap().is_empty());
    assert!(h.receive(&url, 10, Some(30)).await.unwrap().is_empty());
    // A repeated delete with the same handle counts again, as in SQS.
    let handle = received[0].receipt_handle.clone();
    h.delete(&url, &handle).await.unwrap();
    h.delete(&url, &handle).await.unwrap();
    // A handle that does not open is an error and counts nothing.
    assert!(h.delete(&url, "not-a-handle").await.is_err());

    let m = metrics_of(&h, "counted").await;
    assert_eq!(m.counters.sent, 3);
    assert_eq!(m.counters.sent_bytes, 6);
    assert_eq!(m.counters.received, 3);
    assert_eq!(m.counters.empty_receives, 2);
    assert_eq!(m.counters.deleted, 2);
    assert_eq!(m.counters.deduplicated, 0);
    assert_eq!(
        (m.stats.visible, m.stats.in_flight, m.stats.delayed),
        (0, 2, 0)
    );
    assert!(!m.fifo);
}

#[tokio::test]
async fn deduplicated_and_dead_lettered_messages_are_not_sent() {
    let h = Harness::new().await;
    let dlq = h.create("dlq", &[]).await;
    let arn = format!("arn:aws:sqs:{}:{}:dlq", h.ctx.region, h.ctx.account_id);
    let policy = format!(r#"{{"deadLetterTargetArn":"{arn}","maxReceiveCount":"1"}}"#);
    let source = h.create("source", &[("RedrivePolicy", &policy)]).await;
    h.send(&source, "poison", None).await.unwrap();
    h.receive(&source, 1, Some(0)).await.unwrap();
    // The second receive moves it to the dead-letter queue and returns nothing.
    assert!(h.receive(&source, 1, Some(0)).await.unwrap().is_empty());
    let moved = metrics_of(&h, "dlq").await;
    assert_eq!(moved.counters.sent, 0);
    assert_eq!(moved.stats.visible, 1);
    // Sent by hand, a message to a dead-letter queue counts.
    h.send(&dlq, "by hand", None).await.unwrap();
    assert_eq!(metrics_of(&h, "dlq").await.counters.sent, 1);

    let fifo = h
        .create(
            "dedup.fifo",
            &[("FifoQueue", "true"), ("ContentBasedDeduplication", "true")],
        )
        .await;
    for _ in 0..3 {
        let input = SendMessageInput {
            queue_url: fifo.clone(),
            message_body: "same".into(),
            message_group_id: Some("g".into()),
            ..Default::default()
        };
        h.call(Request::SendMessage(input)).await.unwrap();
    }
    let m = metrics_of(&h, "dedup.fifo").await;
    assert_eq!((m.counters.sent, m.counters.deduplicated), (1, 2));
    assert!(m.fifo);
}

#[tokio::test]
async fn the_oldest_message_of_a_standard_queue_leaves_out_those_received_three_times() {
    let h = Harness::new().await;
    let url = h.create("aged", &[]).await;
    h.send(&url, "poison", None).await.unwrap();
    h.advance_seconds(100);
    h.send(&url, "younger", None).await.unwrap();
    h.advance_seconds(20);
    let stats = h.service.queue_stats(&key(&h, "aged")).await.unwrap();
    assert_eq!(stats.oldest_age_seconds, 120);
    // Received twice, the poison message still counts; the third receive leaves it out.
    for receives in 1..=3 {
        let got = h.receive(&url, 1, Some(0)).await.unwrap();
        assert_eq!(got[0].body, "poison");
        let stats = h.service.queue_stats(&key(&h, "aged")).await.unwrap();
        let expected = if receives < 3 { 120 } else { 20 };
        assert_eq!(
            stats.oldest_age_seconds, expected,
            "after {receives} receives"
        );
    }
    let empty = h.create("empty", &[]).await;
    assert!(!empty.is_empty());
    let stats = h.service.queue_stats(&key(&h, "empty")).await.unwrap();
    assert_eq!(stats.oldest_age_seconds, 0);
}

/// A dead-letter queue's oldest message counts from its move, not its send, as the seed page on
/// dead-letter metrics says. The three-receive rule counts only receives in the dead-letter queue: a
/// message received five times before it moved still counts, or an alarm on a dead-letter queue's
/// age would never fire with a `maxReceiveCount` of three or more.
#[tokio::test]
async fn a_dead_letter_queue_ages_its_messages_from_their_move() {
    let h = Harness::new().await;
    let dlq = h.create("aged-dlq", &[]).await;
    let arn = format!("arn:aws:sqs:{}:{}:aged-dlq", h.ctx.region, h.ctx.account_id);
    let policy = format!(r#"{{"deadLetterTargetArn":"{arn}","maxReceiveCount":"5"}}"#);
    let source = h.create("aged-source", &[("RedrivePolicy", &policy)]).await;
    h.send(&source, "poison", None).await.unwrap();
    for _ in 0..5 {
        h.advance_seconds(10);
        assert_eq!(h.receive(&source, 1, Some(0)).await.unwrap().len(), 1);
    }
    h.advance_seconds(10);
    // The sixth receive moves it, 60 s after its send.
    assert!(h.receive(&source, 1, Some(0)).await.unwrap().is_empty());
    h.advance_seconds(30);
    for receives in 0..=3 {
        if receives > 0 {
            let got = h.receive(&dlq, 1, Some(0)).await.unwrap();
            assert_eq!(got[0].body, "poison");
        }
        let stats = h.service.queue_stats(&key(&h, "aged-dlq")).await.unwrap();
        let expected = if receives < 3 { 30 } else { 0 };
        assert_eq!(
            (stats.visible, stats.oldest_age_seconds),
            (1, expected),
            "after {receives} receives in the dead-letter queue"
        );
    }
}

#[tokio::test]
async fn a_fifo_queue_reports_its_groups_with_messages_in_flight() {
    let h = Harness::new().await;
    let url = h
        .create(
            "groups.fifo",
            &[("FifoQueue", "true"), ("ContentBasedDeduplication", "true")],
        )
        .await;
    for (body, group) in [("a1", "a"), ("a2", "a"), ("b1", "b"), ("c1", "c")] {
        let input = SendMessageInput {
            queue_url: url.clone(),
            message_body: body.into(),
            message_group_id: Some(group.into()),
            ..Default::default()
        };
        h.call(Request::SendMessage(input)).await.unwrap();
    }
    let got = h.receive(&url, 3, Some(30)).await.unwrap();
    let groups: std::collections::BTreeSet<String> = got
        .iter()
        .map(|m| common::attribute(m, "MessageGroupId").to_string())
        .collect();
    let stats = h
        .service
        .queue_stats(&key(&h, "groups.fifo"))
        .await
        .unwrap();
    assert_eq!(stats.groups_in_flight, groups.len() as u64);
    assert_eq!(stats.in_flight, 3);
    // Letting the group's first message go while its second stays in flight keeps the group counted.
    let a1 = got.iter().find(|m| m.body == "a1");
    if let (Some(a1), true) = (a1, got.iter().any(|m| m.body == "a2")) {
        h.change(&url, &a1.receipt_handle, 0).await.unwrap();
        let stats = h
            .service
            .queue_stats(&key(&h, "groups.fifo"))
            .await
            .unwrap();
        assert_eq!(stats.groups_in_flight, groups.len() as u64);
    }
    // A message let go is no longer in flight; a deleted one is gone.
    for m in got.iter().filter(|m| m.body != "a1") {
        h.delete(&url, &m.receipt_handle).await.unwrap();
    }
    let stats = h
        .service
        .queue_stats(&key(&h, "groups.fifo"))
        .await
        .unwrap();
    assert_eq!(stats.groups_in_flight, 0);
}

#[tokio::test]
async fn a_deleted_queue_is_no_longer_reported() {
    let h = Harness::new().await;
    let url = h.create("gone", &[]).await;
    h.send(&url, "x", None).await.unwrap();
    let input = QueueUrlInput { queue_url: url };
    h.call(Request::DeleteQueue(input)).await.unwrap();
    let reported = h.service.queue_metrics().await.unwrap();
    assert!(reported.iter().all(|m| m.key.name != "gone"));
    assert!(h.service.queue_stats(&key(&h, "gone")).await.is_err());
}
