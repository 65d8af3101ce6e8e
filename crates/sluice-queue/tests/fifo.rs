//! FIFO semantics without HTTP: order within a message group, the group lock while a message is in
//! flight, deduplication, sequence numbers, receive attempt ids and the retroactive queue delay, with a
//! manual clock.

mod common;

use common::{attribute, bodies, Harness};
use sluice_model::types::*;
use sluice_model::{ApiError, ErrorCode};

async fn fifo(h: &Harness, name: &str, extra: &[(&str, &str)]) -> String {
    let mut attributes = vec![("FifoQueue", "true")];
    attributes.extend_from_slice(extra);
    h.create(name, &attributes).await
}

async fn send(
    h: &Harness,
    url: &str,
    body: &str,
    group: &str,
    dedup: Option<&str>,
) -> Result<SendMessageOutput, ApiError> {
    let input = SendMessageInput {
        queue_url: url.into(),
        message_body: body.into(),
        message_group_id: Some(group.into()),
        message_deduplication_id: dedup.map(str::to_string),
        ..Default::default()
    };
    match h.call(Request::SendMessage(input)).await? {
        Response::SendMessage(o) => Ok(o),
        other => panic!("{other:?}"),
    }
}

async fn receive_with(
    h: &Harness,
    url: &str,
    max: i64,
    visibility: Option<i64>,
    attempt: Option<&str>,
) -> Result<Vec<Message>, ApiError> {
    let input = ReceiveMessageInput {
        queue_url: url.into(),
        max_number_of_messages: Some(max),
        visibility_timeout: visibility,
        message_system_attribute_names: vec!["All".into()],
        receive_request_attempt_id: attempt.map(str::to_string),
        ..Default::default()
    };
    match h.call(Request::ReceiveMessage(input)).await? {
        Response::ReceiveMessage(o) => Ok(o.messages),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_group_is_delivered_in_order_and_locked_while_in_flight() {
    let h = Harness::new();
    let url = fifo(&h, "q.fifo", &[("ContentBasedDeduplication", "true")]).await;
    for body in ["a1", "b1", "a2", "a3", "b2"] {
        send(&h, &url, body, &body[..1], None).await.unwrap();
    }
    // The oldest group gives as many of its messages as fit, then the next group.
    let first = receive_with(&h, &url, 4, Some(30), None).await.unwrap();
    assert_eq!(bodies(&first), ["a1", "a2", "a3", "b1"]);
    assert_eq!(attribute(&first[0], "MessageGroupId"), "a");
    // Both groups have messages in flight: nothing more until they are deleted or visible again.
    assert!(receive_with(&h, &url, 10, None, None)
        .await
        .unwrap()
        .is_empty());
    h.delete(&url, &first[3].receipt_handle).await.unwrap();
    assert_eq!(
        bodies(&receive_with(&h, &url, 10, None, None).await.unwrap()),
        ["b2"]
    );
    // An expired visibility puts the group's messages back at its head, in order.
    h.advance_seconds(30);
    let again = receive_with(&h, &url, 2, None, None).await.unwrap();
    assert_eq!(bodies(&again), ["a1", "a2"]);
    assert_eq!(attribute(&again[0], "ApproximateReceiveCount"), "2");
}

#[tokio::test]
async fn duplicates_within_five_minutes_are_accepted_but_not_delivered_again() {
    let h = Harness::new();
    let url = fifo(&h, "q.fifo", &[]).await;
    let original = send(&h, &url, "body", "g", Some("d1")).await.unwrap();
    let duplicate = send(&h, &url, "another body", "g", Some("d1"))
        .await
        .unwrap();
    assert_eq!(duplicate.message_id, original.message_id);
    assert_eq!(duplicate.sequence_number, original.sequence_number);
    // The digest is that of the request the client sent, which its SDK checks.
    assert_ne!(duplicate.md5_of_message_body, original.md5_of_message_body);
    let got = receive_with(&h, &url, 10, None, None).await.unwrap();
    assert_eq!(bodies(&got), ["body"]);
    assert_eq!(attribute(&got[0], "MessageDeduplicationId"), "d1");
    h.delete(&url, &got[0].receipt_handle).await.unwrap();
    // Still a duplicate after the original was received and deleted...
    send(&h, &url, "body", "g", Some("d1")).await.unwrap();
    assert!(receive_with(&h, &url, 10, None, None)
        .await
        .unwrap()
        .is_empty());
    // ...until the window closes.
    h.advance_seconds(300);
    let fresh = send(&h, &url, "body", "g", Some("d1")).await.unwrap();
    assert_ne!(fresh.message_id, original.message_id);
    assert_eq!(
        receive_with(&h, &url, 10, None, None).await.unwrap().len(),
        1
    );
}

#[tokio::test]
async fn content_based_deduplication_hashes_the_body_only() {
    let h = Harness::new();
    let url = fifo(&h, "q.fifo", &[("ContentBasedDeduplication", "true")]).await;
    let first = send(&h, &url, "same", "g1", None).await.unwrap();
    // Queue-wide scope: another group with the same body is still a duplicate.
    let second = send(&h, &url, "same", "g2", None).await.unwrap();
    assert_eq!(first.message_id, second.message_id);
    let explicit = send(&h, &url, "other", "g1", Some(&sha256_hex("same")))
        .await
        .unwrap();
    assert_eq!(
        explicit.message_id, first.message_id,
        "an explicit id equal to the hash is a duplicate"
    );
    let got = receive_with(&h, &url, 10, None, None).await.unwrap();
    assert_eq!(
        attribute(&got[0], "MessageDeduplicationId"),
        sha256_hex("same")
    );
}

/// Lower-case hex SHA-256, the form SQS gives a content-based deduplication id.
fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn per_group_deduplication_scopes_ids_to_their_group() {
    let h = Harness::new();
    let url = fifo(
        &h,
        "q.fifo",
        &[
            ("DeduplicationScope", "messageGroup"),
            ("FifoThroughputLimit", "perMessageGroupId"),
        ],
    )
    .await;
    let a = send(&h, &url, "x", "a", Some("same")).await.unwrap();
    let b = send(&h, &url, "x", "b", Some("same")).await.unwrap();
    assert_ne!(a.message_id, b.message_id);
    assert_eq!(
        receive_with(&h, &url, 10, None, None).await.unwrap().len(),
        2
    );
}

#[tokio::test]
async fn sequence_numbers_are_twenty_digits_and_grow() {
    let h = Harness::new();
    let url = fifo(&h, "q.fifo", &[("ContentBasedDeduplication", "true")]).await;
    let mut last = 0u128;
    for i in 0..5 {
        let sent = send(
            &h,
            &url,
            &format!("m{i}"),
            if i % 2 == 0 { "a" } else { "b" },
            None,
        )
        .await
        .unwrap();
        let number = sent.sequence_number.unwrap();
        assert_eq!(number.len(), 20);
        let value: u128 = number.parse().unwrap();
        assert!(value > last);
        last = value;
    }
    let got = receive_with(&h, &url, 1, None, None).await.unwrap();
    assert_eq!(attribute(&got[0], "SequenceNumber").len(), 20);
}

#[tokio::test]
async fn fifo_sending_rules() {
    let h = Harness::new();
    let url = fifo(&h, "q.fifo", &[]).await;
    let input = SendMessageInput {
        queue_url: url.clone(),
        message_body: "x".into(),
        ..Default::default()
    };
    let err = h.call(Request::SendMessage(input)).await.unwrap_err();
    assert_eq!(
        (err.code, err.message.as_str()),
        (
            ErrorCode::MissingParameter,
            "The request must contain the parameter MessageGroupId."
        )
    );
    let err = send(&h, &url, "x", "g", None).await.unwrap_err();
    assert_eq!(
        err.message,
        "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly"
    );
    for (group, dedup) in [
        ("bad group", "d"),
        ("g", ""),
        (&*"g".repeat(129), "d"),
        ("g", "ü"),
    ] {
        let err = send(&h, &url, "x", group, Some(dedup)).await.unwrap_err();
        assert_eq!(
            err.code,
            ErrorCode::InvalidParameterValue,
            "{group:?} {dedup:?}"
        );
        assert!(err.message.contains(
            "can only include alphanumeric and punctuation characters. 1 to 128 in length."
        ));
    }
    let delayed = |d| SendMessageInput {
        queue_url: url.clone(),
        message_body: "x".into(),
        message_group_id: Some("g".into()),
        message_deduplication_id: Some("d".into()),
        delay_seconds: Some(d),
        ..Default::default()
    };
    let err = h.call(Request::SendMessage(delayed(5))).await.unwrap_err();
    assert_eq!(
        err.message,
        "Value 5 for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type."
    );
    h.call(Request::SendMessage(delayed(0))).await.unwrap();
}

#[tokio::test]
async fn only_the_receive_in_flight_may_delete_on_a_fifo_queue() {
    let h = Harness::new();
    let url = fifo(&h, "q.fifo", &[("ContentBasedDeduplication", "true")]).await;
    send(&h, &url, "m", "g", None).await.unwrap();
    let old = receive_with(&h, &url, 1, Some(10), None).await.unwrap();
    h.advance_seconds(10);
    let err = h.delete(&url, &old[0].receipt_handle).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidParameterValue);
    assert!(
        err.message
            .ends_with("Reason: The receipt handle has expired."),
        "{}",
        err.message
    );
    let newer = receive_with(&h, &url, 1, None, None).await.unwrap();
    assert!(h.delete(&url, &old[0].receipt_handle).await.is_err());
    h.delete(&url, &newer[0].receipt_handle).await.unwrap();
}

#[tokio::test]
async fn a_retried_receive_attempt_returns_the_same_messages_until_one_changes() {
    let h = Harness::new();
    let url = fifo(&h, "q.fifo", &[("ContentBasedDeduplication", "true")]).await;
    for body in ["m1", "m2", "m3"] {
        send(&h, &url, body, "g", None).await.unwrap();
    }
    let first = receive_with(&h, &url, 2, Some(30), Some("attempt-1"))
        .await
        .unwrap();
    h.advance_seconds(20);
    let retry = receive_with(&h, &url, 2, Some(30), Some("attempt-1"))
        .await
        .unwrap();
    assert_eq!(bodies(&retry), bodies(&first));
    assert_eq!(retry[0].receipt_handle, first[0].receipt_handle);
    // The retry reset the visibility: 20 s later the messages are still hidden.
    h.advance_seconds(20);
    assert!(receive_with(&h, &url, 10, None, None)
        .await
        .unwrap()
        .is_empty());
    h.delete(&url, &first[0].receipt_handle).await.unwrap();
    let err = receive_with(&h, &url, 2, Some(30), Some("attempt-1"))
        .await
        .unwrap_err();
    assert!(err.message.ends_with(
        "The receiveRequestAttemptId is not valid anymore since the receive call is not retryable."
    ));
    let err = receive_with(&h, &url, 1, None, Some("not valid!\u{7f}"))
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidParameterValue);
}

#[tokio::test]
async fn the_queue_delay_is_retroactive_on_fifo_queues() {
    let h = Harness::new();
    let url = fifo(
        &h,
        "q.fifo",
        &[
            ("ContentBasedDeduplication", "true"),
            ("DelaySeconds", "60"),
        ],
    )
    .await;
    send(&h, &url, "waiting", "g", None).await.unwrap();
    assert!(receive_with(&h, &url, 1, None, None)
        .await
        .unwrap()
        .is_empty());
    let set = SetQueueAttributesInput {
        queue_url: url.clone(),
        attributes: [("DelaySeconds".to_string(), "0".to_string())].into(),
    };
    h.call(Request::SetQueueAttributes(set)).await.unwrap();
    assert_eq!(
        bodies(&receive_with(&h, &url, 1, None, None).await.unwrap()),
        ["waiting"]
    );
}

/// Many groups, random receive sizes, visibility expiries, releases and deletes under a moving clock:
/// every receive returns, per group, the oldest messages not yet deleted, never from a group that has a
/// message in flight, and everything sent is eventually deleted exactly once.
#[tokio::test]
async fn random_schedules_keep_group_order_and_exclusivity() {
    let h = Harness::new();
    let url = fifo(&h, "q.fifo", &[]).await;
    let groups = 12usize;
    let per_group = 25usize;
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for i in 0..per_group {
        for g in 0..groups {
            send(
                &h,
                &url,
                &format!("{g}:{i}"),
                &format!("g{g}"),
                Some(&format!("{g}-{i}")),
            )
            .await
            .unwrap();
            // A re-send with the same deduplication id is never delivered twice.
            if next() % 5 == 0 {
                send(
                    &h,
                    &url,
                    &format!("{g}:{i}"),
                    &format!("g{g}"),
                    Some(&format!("{g}-{i}")),
                )
                .await
                .unwrap();
            }
        }
    }
    let mut deleted = vec![0usize; groups];
    // Messages held by a consumer: (group, index, handle, visible again at).
    let mut held: Vec<(usize, usize, String, i64)> = Vec::new();
    let (mut receives, mut expiries) = (0, 0);
    for _ in 0..5000 {
        if deleted.iter().all(|d| *d == per_group) {
            break;
        }
        let now = h.clock_millis();
        held.retain(|(_, _, _, until)| {
            let keep = *until > now;
            expiries += usize::from(!keep);
            keep
        });
        match next() % 4 {
            0 | 1 => {
                let visibility = (next() % 4) as i64;
                let got = receive_with(&h, &url, 1 + (next() % 10) as i64, Some(visibility), None)
                    .await
                    .unwrap();
                receives += got.len();
                let busy: Vec<usize> = held.iter().map(|m| m.0).collect();
                let mut in_this_receive = vec![0usize; groups];
                for m in got {
                    let (g, i) = m
                        .body
                        .split_once(':')
                        .map(|(g, i)| (g.parse::<usize>().unwrap(), i.parse::<usize>().unwrap()))
                        .unwrap();
                    assert!(
                        !busy.contains(&g),
                        "group {g} delivered while a message of it is in flight"
                    );
                    assert_eq!(i, deleted[g] + in_this_receive[g], "group {g} out of order");
                    in_this_receive[g] += 1;
                    held.push((g, i, m.receipt_handle, now + visibility * 1000));
                }
            }
            2 if !held.is_empty() => {
                // The lowest held message of some group is processed and deleted.
                let pick = (next() as usize) % held.len();
                let g = held[pick].0;
                let lowest = held
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| m.0 == g)
                    .min_by_key(|(_, m)| m.1)
                    .map(|(j, _)| j)
                    .unwrap();
                let (g, i, handle, _) = held.remove(lowest);
                h.delete(&url, &handle).await.unwrap();
                assert_eq!(i, deleted[g]);
                deleted[g] += 1;
            }
            _ => h.advance_millis(500),
        }
    }
    assert_eq!(
        deleted,
        vec![per_group; groups],
        "every message deleted exactly once"
    );
    println!(
        "receives {receives}, expiries {expiries}, deleted {}",
        groups * per_group
    );
}
