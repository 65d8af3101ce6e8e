//! Queue semantics without HTTP: a `QueueService` over the memory store, with a manual clock so that
//! visibility, delay and retention are tested by moving time rather than waiting.

mod common;

use common::{attribute, bodies, Harness, START};
use sluice_model::types::*;
use sluice_model::ErrorCode;

#[tokio::test]
async fn a_received_message_is_hidden_until_its_visibility_timeout_ends() {
    let h = Harness::new().await;
    let url = h.create("q", &[("VisibilityTimeout", "30")]).await;
    h.send(&url, "one", None).await.unwrap();
    let first = h.receive(&url, 10, None).await.unwrap();
    assert_eq!(bodies(&first), ["one"]);
    assert_eq!(attribute(&first[0], "ApproximateReceiveCount"), "1");
    assert_eq!(h.counts(&url).await, (0, 1, 0));
    h.advance_seconds(29);
    assert!(h.receive(&url, 10, None).await.unwrap().is_empty());
    h.advance_seconds(1);
    let again = h.receive(&url, 10, None).await.unwrap();
    assert_eq!(attribute(&again[0], "ApproximateReceiveCount"), "2");
    assert_eq!(
        attribute(&again[0], "ApproximateFirstReceiveTimestamp"),
        attribute(&first[0], "ApproximateFirstReceiveTimestamp")
    );
    assert_ne!(
        again[0].receipt_handle, first[0].receipt_handle,
        "each receive gets a fresh handle"
    );
    assert_eq!(attribute(&again[0], "SentTimestamp"), START.to_string());
    // The root of an account sends as the account id, as AWS names it.
    assert_eq!(attribute(&again[0], "SenderId"), "000000000000");
}

#[tokio::test]
async fn receive_override_and_change_to_zero_make_a_message_visible_again() {
    let h = Harness::new().await;
    let url = h.create("q", &[]).await;
    h.send(&url, "m", None).await.unwrap();
    h.receive(&url, 1, Some(5)).await.unwrap();
    h.advance_seconds(4);
    assert!(h.receive(&url, 1, None).await.unwrap().is_empty());
    h.advance_seconds(1);
    let got = h.receive(&url, 1, None).await.unwrap();
    assert_eq!(
        got.len(),
        1,
        "the receive's own timeout, not the queue's 30 s, applied"
    );
    h.change(&url, &got[0].receipt_handle, 0).await.unwrap();
    assert_eq!(h.counts(&url).await, (1, 0, 0));
    assert_eq!(h.receive(&url, 1, None).await.unwrap().len(), 1);
}

#[tokio::test]
async fn delete_works_with_any_issued_handle_and_is_idempotent() {
    let h = Harness::new().await;
    let url = h.create("q", &[]).await;
    h.send(&url, "m", None).await.unwrap();
    let old = h.receive(&url, 1, Some(1)).await.unwrap()[0]
        .receipt_handle
        .clone();
    h.advance_seconds(1);
    let _newer = h.receive(&url, 1, Some(60)).await.unwrap();
    // SQS: "If you use an old ReceiptHandle, the request will succeed"; Sluice chooses to delete the message
    // then too ("Amazon SQS can delete a message ... even if ... locked by another consumer"), so a delete
    // that was acknowledged never lets the message come back.
    h.delete(&url, &old).await.unwrap();
    assert_eq!(h.counts(&url).await, (0, 0, 0));
    h.delete(&url, &old).await.unwrap();
}

#[tokio::test]
async fn bad_receipt_handles_get_receipt_handle_is_invalid() {
    let h = Harness::new().await;
    let url = h.create("q", &[]).await;
    let other = h.create("other", &[]).await;
    h.send(&other, "m", None).await.unwrap();
    let foreign = h.receive(&other, 1, None).await.unwrap()[0]
        .receipt_handle
        .clone();
    let err = h.delete(&url, "garbage").await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ReceiptHandleIsInvalid);
    assert_eq!(
        err.message,
        "The input receipt handle \"garbage\" is not a valid receipt handle."
    );
    let err = h.delete(&url, &foreign).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ReceiptHandleIsInvalid);
    assert!(
        err.message.ends_with("is not valid for this queue."),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn visibility_changes_follow_sqs_rules() {
    let h = Harness::new().await;
    let url = h.create("q", &[]).await;
    h.send(&url, "m", None).await.unwrap();
    let handle = h.receive(&url, 1, None).await.unwrap()[0]
        .receipt_handle
        .clone();
    let err = h.change(&url, &handle, 43_201).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidParameterValue);
    // The 12-hour cap counts from the receive that issued the handle, not from the last change.
    h.advance_seconds(100);
    let err = h.change(&url, &handle, 43_200).await.unwrap_err();
    assert!(err
        .message
        .contains("Total VisibilityTimeout for the message is beyond the limit [43200 seconds]"));
    h.change(&url, &handle, 43_100).await.unwrap();
    // A handle superseded by a newer receive still changes the visibility while the message is in
    // flight, as SQS allows; the 12-hour cap then counts from the newer receive.
    h.change(&url, &handle, 0).await.unwrap();
    let newer = h.receive(&url, 1, None).await.unwrap()[0]
        .receipt_handle
        .clone();
    h.advance_seconds(20);
    let err = h.change(&url, &handle, 43_181).await.unwrap_err();
    assert!(err
        .message
        .contains("Total VisibilityTimeout for the message is beyond the limit [43200 seconds]"));
    h.change(&url, &handle, 43_180).await.unwrap();
    h.change(&url, &handle, 0).await.unwrap();
    assert_eq!(h.counts(&url).await, (1, 0, 0));
    // Once the message is visible again only the latest receive's handle can hide it.
    let err = h.change(&url, &handle, 10).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidParameterValue);
    assert!(err.message.ends_with(
        "Reason: Message does not exist or is not available for visibility timeout change."
    ));
    // Nor can any handle of a deleted message.
    h.delete(&url, &newer).await.unwrap();
    assert!(h.change(&url, &newer, 10).await.is_err());
    assert!(h.change(&url, &handle, 10).await.is_err());
}

#[tokio::test]
async fn message_timers_and_queue_delay_hold_messages_back() {
    let h = Harness::new().await;
    let url = h.create("q", &[("DelaySeconds", "10")]).await;
    h.send(&url, "queue-delay", None).await.unwrap();
    h.send(&url, "timer", Some(20)).await.unwrap();
    h.send(&url, "now", Some(0)).await.unwrap();
    assert_eq!(h.counts(&url).await, (1, 0, 2));
    assert_eq!(bodies(&h.receive(&url, 10, None).await.unwrap()), ["now"]);
    h.advance_seconds(10);
    assert_eq!(
        bodies(&h.receive(&url, 10, None).await.unwrap()),
        ["queue-delay"]
    );
    h.advance_seconds(10);
    assert_eq!(bodies(&h.receive(&url, 10, None).await.unwrap()), ["timer"]);
    let err = h.send(&url, "x", Some(901)).await.unwrap_err();
    assert_eq!(err.message, "Value 901 for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.");
}

#[tokio::test]
async fn queue_delay_is_not_retroactive_on_standard_queues() {
    let h = Harness::new().await;
    let url = h.create("q", &[]).await;
    h.send(&url, "before", None).await.unwrap();
    let set = SetQueueAttributesInput {
        queue_url: url.clone(),
        attributes: [("DelaySeconds".to_string(), "60".to_string())].into(),
    };
    h.call(Request::SetQueueAttributes(set)).await.unwrap();
    h.send(&url, "after", None).await.unwrap();
    assert_eq!(
        bodies(&h.receive(&url, 10, None).await.unwrap()),
        ["before"]
    );
}

#[tokio::test]
async fn lowering_retention_expires_older_messages_from_the_store() {
    let h = Harness::new().await;
    let url = h.create("q", &[("MessageRetentionPeriod", "3600")]).await;
    h.send(&url, "old", None).await.unwrap();
    h.send(&url, "in-flight", None).await.unwrap();
    h.receive(&url, 1, Some(43_200)).await.unwrap();
    h.advance_seconds(600);
    h.send(&url, "new", None).await.unwrap();
    let set = SetQueueAttributesInput {
        queue_url: url.clone(),
        attributes: [("MessageRetentionPeriod".to_string(), "300".to_string())].into(),
    };
    h.call(Request::SetQueueAttributes(set)).await.unwrap();
    assert_eq!(h.counts(&url).await, (1, 0, 0));
    h.advance_seconds(301);
    h.service.sweep_expired().await.unwrap();
    assert_eq!(h.counts(&url).await, (0, 0, 0));
}

#[tokio::test]
async fn purge_and_delete_queue_remove_in_flight_messages() {
    let h = Harness::new().await;
    let url = h.create("q", &[]).await;
    for i in 0..5 {
        h.send(&url, &format!("m{i}"), None).await.unwrap();
    }
    let got = h.receive(&url, 2, None).await.unwrap();
    h.call(Request::PurgeQueue(QueueUrlInput {
        queue_url: url.clone(),
    }))
    .await
    .unwrap();
    assert_eq!(h.counts(&url).await, (0, 0, 0));
    // A late delete with a handle from before the purge is answered as for any message already gone.
    h.delete(&url, &got[0].receipt_handle).await.unwrap();
    h.call(Request::DeleteQueue(QueueUrlInput {
        queue_url: url.clone(),
    }))
    .await
    .unwrap();
    let err = h.delete(&url, &got[1].receipt_handle).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::QueueDoesNotExist);
}

#[tokio::test]
async fn bodies_attributes_and_sizes_are_checked() {
    let h = Harness::new().await;
    let url = h.create("q", &[("MaximumMessageSize", "1024")]).await;
    assert_eq!(
        h.send(&url, "", None).await.unwrap_err().code,
        ErrorCode::MissingParameter
    );
    let err = h.send(&url, "bell\u{7}", None).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidMessageContents);
    h.send(&url, &"x".repeat(1024), None).await.unwrap();
    let err = h.send(&url, &"x".repeat(1025), None).await.unwrap_err();
    assert_eq!(
        err.message,
        "One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes."
    );
    // Attribute names, types and values count towards the size.
    let mut input = SendMessageInput {
        queue_url: url.clone(),
        message_body: "x".repeat(1000),
        ..Default::default()
    };
    input.message_attributes.insert(
        "name".into(),
        MessageAttributeValue {
            data_type: "String".into(),
            string_value: Some("v".repeat(20)),
            ..Default::default()
        },
    );
    let err = h.call(Request::SendMessage(input)).await.unwrap_err();
    assert!(err
        .message
        .contains("Message must be shorter than 1024 bytes"));
    let mut input = SendMessageInput {
        queue_url: url.clone(),
        message_body: "b".into(),
        ..Default::default()
    };
    for i in 0..11 {
        input.message_attributes.insert(
            format!("a{i}"),
            MessageAttributeValue {
                data_type: "Number".into(),
                string_value: Some(i.to_string()),
                ..Default::default()
            },
        );
    }
    let err = h.call(Request::SendMessage(input)).await.unwrap_err();
    assert_eq!(
        err.message,
        "Number of message attributes [11] exceeds the allowed maximum [10]."
    );
}

#[tokio::test]
async fn receive_limits_are_checked() {
    let h = Harness::new().await;
    let url = h.create("q", &[]).await;
    let err = h.receive(&url, 11, None).await.unwrap_err();
    assert_eq!(err.message, "Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.");
    assert_eq!(
        h.receive(&url, 0, None).await.unwrap_err().code,
        ErrorCode::InvalidParameterValue
    );
    assert_eq!(
        h.receive(&url, 1, Some(43_201)).await.unwrap_err().code,
        ErrorCode::InvalidParameterValue
    );
    let input = ReceiveMessageInput {
        queue_url: url.clone(),
        wait_time_seconds: Some(21),
        ..Default::default()
    };
    let err = h.call(Request::ReceiveMessage(input)).await.unwrap_err();
    assert_eq!(err.message, "Value 21 for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.");
}

#[tokio::test]
async fn message_attribute_filters_select_names_and_prefixes_and_the_digest_follows() {
    let h = Harness::new().await;
    let url = h.create("q", &[]).await;
    let mut input = SendMessageInput {
        queue_url: url.clone(),
        message_body: "b".into(),
        ..Default::default()
    };
    for name in ["order.id", "order.total", "trace"] {
        input.message_attributes.insert(
            name.into(),
            MessageAttributeValue {
                data_type: "String".into(),
                string_value: Some(name.into()),
                ..Default::default()
            },
        );
    }
    let Response::SendMessage(sent) = h.call(Request::SendMessage(input)).await.unwrap() else {
        panic!()
    };
    for (filter, expected) in [
        (vec!["All"], vec!["order.id", "order.total", "trace"]),
        (vec![".*"], vec!["order.id", "order.total", "trace"]),
        (vec!["order.*"], vec!["order.id", "order.total"]),
        (vec!["trace"], vec!["trace"]),
        (vec![], vec![]),
    ] {
        let receive = ReceiveMessageInput {
            queue_url: url.clone(),
            message_attribute_names: filter.iter().map(|s| s.to_string()).collect(),
            visibility_timeout: Some(0),
            ..Default::default()
        };
        let Response::ReceiveMessage(o) = h.call(Request::ReceiveMessage(receive)).await.unwrap()
        else {
            panic!()
        };
        let names: Vec<&str> = o.messages[0]
            .message_attributes
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(names, expected, "{filter:?}");
        match expected.len() {
            0 => assert_eq!(o.messages[0].md5_of_message_attributes, None),
            3 => assert_eq!(
                o.messages[0].md5_of_message_attributes,
                sent.md5_of_message_attributes
            ),
            _ => assert_ne!(
                o.messages[0].md5_of_message_attributes,
                sent.md5_of_message_attributes
            ),
        }
    }
}

#[tokio::test]
async fn batches_report_entry_failures_beside_successes() {
    let h = Harness::new().await;
    let url = h.create("q", &[]).await;
    let entry = |id: &str, body: &str, delay: Option<i64>| SendMessageBatchRequestEntry {
        id: id.into(),
        message_body: body.into(),
        delay_seconds: delay,
        ..Default::default()
    };
    let input = SendMessageBatchInput {
        queue_url: url.clone(),
        entries: vec![
            entry("a", "1", None),
            entry("b", "2", Some(901)),
            entry("c", "\u{1}", None),
        ],
    };
    let Response::SendMessageBatch(o) = h.call(Request::SendMessageBatch(input)).await.unwrap()
    else {
        panic!()
    };
    assert_eq!(o.successful.len(), 1);
    let codes: Vec<&str> = o.failed.iter().map(|f| f.code.as_str()).collect();
    assert_eq!(codes, ["InvalidParameterValue", "InvalidMessageContents"]);
    for (entries, code) in [
        (vec![], ErrorCode::EmptyBatchRequest),
        (
            (0..11)
                .map(|i| entry(&format!("e{i}"), "x", None))
                .collect(),
            ErrorCode::TooManyEntriesInBatchRequest,
        ),
        (
            vec![entry("same", "x", None), entry("same", "y", None)],
            ErrorCode::BatchEntryIdsNotDistinct,
        ),
        (
            vec![entry("bad id!", "x", None)],
            ErrorCode::InvalidBatchEntryId,
        ),
        (
            vec![
                entry("a", &"x".repeat(600_000), None),
                entry("b", &"x".repeat(600_000), None),
            ],
            ErrorCode::BatchRequestTooLong,
        ),
    ] {
        let input = SendMessageBatchInput {
            queue_url: url.clone(),
            entries,
        };
        assert_eq!(
            h.call(Request::SendMessageBatch(input))
                .await
                .unwrap_err()
                .code,
            code
        );
    }
    let got = h.receive(&url, 10, None).await.unwrap();
    let input = DeleteMessageBatchInput {
        queue_url: url.clone(),
        entries: vec![
            DeleteMessageBatchRequestEntry {
                id: "ok".into(),
                receipt_handle: got[0].receipt_handle.clone(),
            },
            DeleteMessageBatchRequestEntry {
                id: "bad".into(),
                receipt_handle: "nonsense".into(),
            },
        ],
    };
    let Response::Batch(o) = h.call(Request::DeleteMessageBatch(input)).await.unwrap() else {
        panic!()
    };
    assert_eq!(o.successful.len(), 1);
    assert_eq!(o.failed[0].code, "ReceiptHandleIsInvalid");
    assert_eq!(h.counts(&url).await, (0, 0, 0));
}

#[tokio::test]
async fn counters_stay_exact_through_the_lifecycle() {
    let h = Harness::new().await;
    let url = h.create("q", &[]).await;
    for i in 0..20 {
        h.send(
            &url,
            &i.to_string(),
            if i % 4 == 0 { Some(5) } else { None },
        )
        .await
        .unwrap();
    }
    assert_eq!(h.counts(&url).await, (15, 0, 5));
    let got = h.receive(&url, 10, Some(10)).await.unwrap();
    assert_eq!(h.counts(&url).await, (5, 10, 5));
    for m in &got[..4] {
        h.delete(&url, &m.receipt_handle).await.unwrap();
    }
    assert_eq!(h.counts(&url).await, (5, 6, 5));
    h.advance_seconds(10);
    assert_eq!(h.counts(&url).await, (16, 0, 0));
    while let Ok(batch) = h.receive(&url, 10, None).await {
        if batch.is_empty() {
            break;
        }
        for m in &batch {
            h.delete(&url, &m.receipt_handle).await.unwrap();
        }
    }
    assert_eq!(h.counts(&url).await, (0, 0, 0));
}

#[tokio::test]
async fn short_polls_get_over_limit_at_120000_messages_in_flight() {
    let h = Harness::new().await;
    let url = h.create("q", &[]).await;
    let batch = |n: usize| SendMessageBatchInput {
        queue_url: url.clone(),
        entries: (0..n)
            .map(|i| SendMessageBatchRequestEntry {
                id: format!("e{i}"),
                message_body: "x".into(),
                ..Default::default()
            })
            .collect(),
    };
    for _ in 0..12_001 {
        h.call(Request::SendMessageBatch(batch(10))).await.unwrap();
    }
    for _ in 0..12_000 {
        assert_eq!(h.receive(&url, 10, Some(600)).await.unwrap().len(), 10);
    }
    assert_eq!(h.counts(&url).await, (10, 120_000, 0));
    let err = h.receive(&url, 10, None).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::OverLimit);
    assert_eq!(err.code.http_status(), 403);
}
