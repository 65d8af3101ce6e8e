//! FIFO semantics without HTTP: order within a message group, each group served from its oldest
//! message, groups taking turns in the order they became ready, deduplication (and its scope and
//! purge), sequence numbers, receive attempt ids and the retroactive queue delay, with a manual clock.

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
async fn a_group_is_delivered_in_order_from_its_oldest_message() {
    let h = Harness::new().await;
    let url = fifo(&h, "q.fifo", &[("ContentBasedDeduplication", "true")]).await;
    for body in ["a1", "b1", "a2", "a3", "b2"] {
        send(&h, &url, body, &body[..1], None).await.unwrap();
    }
    // The oldest group gives as many of its messages as fit, then the next group.
    let first = receive_with(&h, &url, 4, Some(30), None).await.unwrap();
    assert_eq!(bodies(&first), ["a1", "a2", "a3", "b1"]);
    assert_eq!(attribute(&first[0], "MessageGroupId"), "a");
    // Both groups' oldest messages are in flight: nothing more until they are deleted or visible again.
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
    let h = Harness::new().await;
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
    let h = Harness::new().await;
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
    let h = Harness::new().await;
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
    let h = Harness::new().await;
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
    let h = Harness::new().await;
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
    let h = Harness::new().await;
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
    let h = Harness::new().await;
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

const NOT_RETRYABLE: &str =
    "The receiveRequestAttemptId is not valid anymore since the receive call is not retryable.";

#[tokio::test]
async fn a_visibility_change_spoils_the_receive_attempt_that_handed_the_message_out() {
    let h = Harness::new().await;
    let url = fifo(&h, "q.fifo", &[("ContentBasedDeduplication", "true")]).await;
    for body in ["m1", "m2"] {
        send(&h, &url, body, "g", None).await.unwrap();
    }
    let first = receive_with(&h, &url, 2, Some(30), Some("attempt-1"))
        .await
        .unwrap();
    h.change(&url, &first[1].receipt_handle, 60).await.unwrap();
    let err = receive_with(&h, &url, 2, Some(30), Some("attempt-1"))
        .await
        .unwrap_err();
    assert!(err.message.ends_with(NOT_RETRYABLE), "{}", err.message);
    // A receive attempt that handed out other messages is untouched.
    send(&h, &url, "m3", "other", None).await.unwrap();
    let other = receive_with(&h, &url, 1, Some(30), Some("attempt-2"))
        .await
        .unwrap();
    assert_eq!(bodies(&other), ["m3"]);
    let again = receive_with(&h, &url, 1, Some(30), Some("attempt-2"))
        .await
        .unwrap();
    assert_eq!(again[0].receipt_handle, other[0].receipt_handle);
}

#[tokio::test]
async fn a_receive_attempt_is_forgotten_after_five_minutes() {
    let h = Harness::new().await;
    let url = fifo(&h, "q.fifo", &[("ContentBasedDeduplication", "true")]).await;
    send(&h, &url, "m1", "g", None).await.unwrap();
    let first = receive_with(&h, &url, 1, Some(30), Some("attempt-1"))
        .await
        .unwrap();
    h.advance_seconds(5 * 60);
    // The id now starts a new receive: the message again, with a new handle.
    let later = receive_with(&h, &url, 1, Some(30), Some("attempt-1"))
        .await
        .unwrap();
    assert_eq!(bodies(&later), ["m1"]);
    assert_ne!(later[0].receipt_handle, first[0].receipt_handle);
    assert_eq!(attribute(&later[0], "ApproximateReceiveCount"), "2");
}

#[tokio::test]
async fn a_retried_receive_opens_its_sealed_bodies_again() {
    let h = Harness::new().await;
    let url = fifo(
        &h,
        "q.fifo",
        &[
            ("ContentBasedDeduplication", "true"),
            ("SqsManagedSseEnabled", "true"),
        ],
    )
    .await;
    send(&h, &url, "secret", "g", None).await.unwrap();
    let first = receive_with(&h, &url, 1, Some(30), Some("attempt-1"))
        .await
        .unwrap();
    let opened = h.cipher.opened.load(std::sync::atomic::Ordering::SeqCst);
    // A retry the caller cannot open is refused and changes nothing.
    h.cipher.refuse(Some(ErrorCode::KmsAccessDenied));
    let refused = receive_with(&h, &url, 1, Some(30), Some("attempt-1"))
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::KmsAccessDenied);
    h.cipher.refuse(None);
    let retry = receive_with(&h, &url, 1, Some(30), Some("attempt-1"))
        .await
        .unwrap();
    assert_eq!(bodies(&retry), ["secret"]);
    assert_eq!(retry[0].receipt_handle, first[0].receipt_handle);
    assert_eq!(
        h.cipher.opened.load(std::sync::atomic::Ordering::SeqCst),
        opened + 1
    );
}

#[tokio::test]
async fn a_deleted_queue_forgets_its_receive_attempts() {
    let h = Harness::new().await;
    let url = fifo(&h, "q.fifo", &[("ContentBasedDeduplication", "true")]).await;
    send(&h, &url, "old", "g", None).await.unwrap();
    receive_with(&h, &url, 1, Some(300), Some("attempt-1"))
        .await
        .unwrap();
    let input = QueueUrlInput {
        queue_url: url.clone(),
    };
    h.call(Request::DeleteQueue(input)).await.unwrap();
    // A name can be used again 60 seconds after its queue was deleted.
    h.advance_seconds(61);
    let url = fifo(&h, "q.fifo", &[("ContentBasedDeduplication", "true")]).await;
    send(&h, &url, "new", "g", None).await.unwrap();
    let got = receive_with(&h, &url, 1, Some(30), Some("attempt-1"))
        .await
        .unwrap();
    assert_eq!(bodies(&got), ["new"]);
}

#[tokio::test]
async fn the_queue_delay_is_retroactive_on_fifo_queues() {
    let h = Harness::new().await;
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
/// every receive returns, per group, the oldest messages not yet deleted, never one still in flight,
/// and everything sent is eventually deleted exactly once.
#[tokio::test]
async fn random_schedules_keep_group_order() {
    let h = Harness::new().await;
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
                let busy: Vec<(usize, usize)> = held.iter().map(|m| (m.0, m.1)).collect();
                let mut in_this_receive = vec![0usize; groups];
                for m in got {
                    let (g, i) = m
                        .body
                        .split_once(':')
                        .map(|(g, i)| (g.parse::<usize>().unwrap(), i.parse::<usize>().unwrap()))
                        .unwrap();
                    assert!(
                        !busy.contains(&(g, i)),
                        "{g}:{i} delivered while it is in flight"
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

async fn set_attributes(
    h: &Harness,
    url: &str,
    attributes: &[(&str, &str)],
) -> Result<(), ApiError> {
    let input = SetQueueAttributesInput {
        queue_url: url.into(),
        attributes: attributes
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    };
    h.call(Request::SetQueueAttributes(input)).await.map(|_| ())
}

#[tokio::test]
async fn a_group_is_served_from_its_oldest_message_while_later_ones_are_in_flight() {
    let h = Harness::new().await;
    let url = fifo(&h, "q.fifo", &[("ContentBasedDeduplication", "true")]).await;
    for body in ["g1-m1", "g1-m2", "g2-m1"] {
        send(&h, &url, body, &body[..2], None).await.unwrap();
    }
    let first = receive_with(&h, &url, 2, Some(30), None).await.unwrap();
    assert_eq!(bodies(&first), ["g1-m1", "g1-m2"]);
    h.change(&url, &first[0].receipt_handle, 0).await.unwrap();
    let next = receive_with(&h, &url, 3, Some(30), None).await.unwrap();
    assert_eq!(bodies(&next), ["g2-m1", "g1-m1"]);
}

#[tokio::test]
async fn the_messages_before_an_extended_one_come_back_when_the_others_time_out() {
    for (extended, expected) in [(0, &[][..]), (1, &["m1"][..]), (2, &["m1", "m2"][..])] {
        let h = Harness::new().await;
        let url = fifo(&h, "q.fifo", &[("ContentBasedDeduplication", "true")]).await;
        for body in ["m1", "m2", "m3"] {
            send(&h, &url, body, "g", None).await.unwrap();
        }
        let got = receive_with(&h, &url, 3, Some(10), None).await.unwrap();
        assert_eq!(bodies(&got), ["m1", "m2", "m3"]);
        h.change(&url, &got[extended].receipt_handle, 60)
            .await
            .unwrap();
        h.advance_seconds(10);
        let again = receive_with(&h, &url, 10, Some(10), None).await.unwrap();
        assert_eq!(
            bodies(&again),
            expected,
            "the message at {extended} extended"
        );
    }
}

#[tokio::test]
async fn groups_take_turns_in_the_order_they_became_ready() {
    let h = Harness::new().await;
    let url = fifo(&h, "q.fifo", &[("ContentBasedDeduplication", "true")]).await;
    for body in ["g1-m1", "g1-m2", "g2-m1", "g2-m2", "g3-m1"] {
        send(&h, &url, body, &body[..2], None).await.unwrap();
    }
    // Served with no visibility timeout, and in the same instant as the sends: g1 and g2 still go
    // behind g3, which was waiting.
    let first = receive_with(&h, &url, 3, Some(0), None).await.unwrap();
    assert_eq!(bodies(&first), ["g1-m1", "g1-m2", "g2-m1"]);
    let next = receive_with(&h, &url, 10, Some(0), None).await.unwrap();
    assert_eq!(bodies(&next), ["g3-m1", "g1-m1", "g1-m2", "g2-m1", "g2-m2"]);
}

#[tokio::test]
async fn a_group_never_received_goes_before_groups_that_timed_out() {
    let h = Harness::new().await;
    let url = fifo(&h, "q.fifo", &[("ContentBasedDeduplication", "true")]).await;
    for body in ["g1-m1", "g2-m1", "g3-m1"] {
        send(&h, &url, body, &body[..2], None).await.unwrap();
    }
    let first = receive_with(&h, &url, 2, Some(1), None).await.unwrap();
    assert_eq!(bodies(&first), ["g1-m1", "g2-m1"]);
    h.advance_seconds(1);
    let next = receive_with(&h, &url, 10, None, None).await.unwrap();
    assert_eq!(bodies(&next), ["g3-m1", "g1-m1", "g2-m1"]);
}

#[tokio::test]
async fn purge_empties_the_deduplication_window() {
    let h = Harness::new().await;
    let url = fifo(&h, "q.fifo", &[]).await;
    let before = send(&h, &url, "body", "g", Some("d1")).await.unwrap();
    h.call(Request::PurgeQueue(QueueUrlInput {
        queue_url: url.clone(),
    }))
    .await
    .unwrap();
    let after = send(&h, &url, "body", "g", Some("d1")).await.unwrap();
    assert_ne!(after.message_id, before.message_id);
    let got = receive_with(&h, &url, 10, None, None).await.unwrap();
    assert_eq!(bodies(&got), ["body"]);
    assert_eq!(got[0].message_id, after.message_id);
}

#[tokio::test]
async fn switching_to_high_throughput_scopes_deduplication_to_groups_for_the_next_sends() {
    let h = Harness::new().await;
    let url = fifo(&h, "q.fifo", &[]).await;
    let a = send(&h, &url, "x", "a", Some("same")).await.unwrap();
    let b = send(&h, &url, "x", "b", Some("same")).await.unwrap();
    assert_eq!(a.message_id, b.message_id);
    set_attributes(
        &h,
        &url,
        &[
            ("DeduplicationScope", "messageGroup"),
            ("FifoThroughputLimit", "perMessageGroupId"),
        ],
    )
    .await
    .unwrap();
    let c = send(&h, &url, "y", "c", Some("again")).await.unwrap();
    let d = send(&h, &url, "y", "d", Some("again")).await.unwrap();
    assert_ne!(c.message_id, d.message_id);
    let got = receive_with(&h, &url, 10, None, None).await.unwrap();
    assert_eq!(bodies(&got), ["x", "y", "y"]);
}
