//! Which bodies server-side encryption seals and opens, without HTTP: the queue layer decides from the
//! queue's attributes, and a stand-in cipher counts what it is asked and can refuse.

mod common;

use std::sync::atomic::Ordering;

use common::{bodies, Harness};
use sluice_model::types::*;
use sluice_model::{ErrorCode, Principal};

fn sealed(h: &Harness) -> usize {
    h.cipher.sealed.load(Ordering::SeqCst)
}

fn opened(h: &Harness) -> usize {
    h.cipher.opened.load(Ordering::SeqCst)
}

async fn set(h: &Harness, url: &str, name: &str, value: &str) {
    let input = SetQueueAttributesInput {
        queue_url: url.into(),
        attributes: [(name.to_string(), value.to_string())].into(),
    };
    h.call(Request::SetQueueAttributes(input)).await.unwrap();
}

/// New queues have SSE-SQS on, as on AWS; a queue created with it off keeps bodies as sent.
#[tokio::test]
async fn bodies_are_sealed_on_queues_with_encryption_and_only_there() {
    let h = Harness::new().await;
    let encrypted = h.create("encrypted", &[]).await;
    let kms = h
        .create("kms", &[("KmsMasterKeyId", "alias/aws/sqs")])
        .await;
    let plain = h
        .create("plain", &[("SqsManagedSseEnabled", "false")])
        .await;
    h.send(&encrypted, "one", None).await.unwrap();
    h.send(&kms, "two", None).await.unwrap();
    h.send(&plain, "three", None).await.unwrap();
    assert_eq!(sealed(&h), 2);
    assert_eq!(
        bodies(&h.receive(&encrypted, 1, None).await.unwrap()),
        ["one"]
    );
    assert_eq!(bodies(&h.receive(&kms, 1, None).await.unwrap()), ["two"]);
    assert_eq!(
        bodies(&h.receive(&plain, 1, None).await.unwrap()),
        ["three"]
    );
    assert_eq!(opened(&h), 2);
}

/// SQS's encryption page: messages sent before encryption was turned on stay as they were, and
/// sealed messages stay sealed (and readable) after it is turned off.
#[tokio::test]
async fn turning_encryption_on_or_off_applies_to_new_messages_only() {
    let h = Harness::new().await;
    let url = h.create("q", &[("SqsManagedSseEnabled", "false")]).await;
    h.send(&url, "before", None).await.unwrap();
    set(&h, &url, "SqsManagedSseEnabled", "true").await;
    h.send(&url, "during", None).await.unwrap();
    set(&h, &url, "SqsManagedSseEnabled", "false").await;
    h.send(&url, "after", None).await.unwrap();
    assert_eq!(sealed(&h), 1);
    let got = h.receive(&url, 10, None).await.unwrap();
    assert_eq!(bodies(&got), ["before", "during", "after"]);
    assert_eq!(opened(&h), 1);
}

/// A body that cannot be sealed is not sent: the request fails with the cipher's error and the
/// queue is as it was.
#[tokio::test]
async fn a_send_that_cannot_be_sealed_stores_nothing() {
    let h = Harness::new().await;
    let url = h.create("q", &[("KmsMasterKeyId", "alias/disabled")]).await;
    h.cipher.refuse(Some(ErrorCode::KmsDisabled));
    let refused = h.send(&url, "lost?", None).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::KmsDisabled);
    let batch = SendMessageBatchInput {
        queue_url: url.clone(),
        entries: vec![SendMessageBatchRequestEntry {
            id: "a".into(),
            message_body: "x".into(),
            ..Default::default()
        }],
    };
    let refused = h.call(Request::SendMessageBatch(batch)).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::KmsDisabled);
    assert_eq!(h.counts(&url).await, (0, 0, 0));
}

/// A receive whose bodies the caller cannot open hands out nothing and hides nothing: the
/// messages are visible again at once and are received intact once the key works again.
#[tokio::test]
async fn a_receive_that_cannot_open_its_bodies_leaves_them_visible() {
    let h = Harness::new().await;
    let url = h.create("q", &[]).await;
    h.send(&url, "kept", None).await.unwrap();
    h.cipher.refuse(Some(ErrorCode::KmsAccessDenied));
    let refused = h.receive(&url, 10, None).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::KmsAccessDenied);
    assert_eq!(h.counts(&url).await, (1, 0, 0));
    h.cipher.refuse(None);
    let got = h.receive(&url, 10, None).await.unwrap();
    assert_eq!(bodies(&got), ["kept"]);
}

/// A sealed body stays sealed when it moves to a dead-letter queue without encryption, and opens
/// there (SQS: moving a message to a dead-letter queue doesn't affect its encryption).
#[tokio::test]
async fn a_sealed_body_moved_to_a_plain_dead_letter_queue_still_opens() {
    let h = Harness::new().await;
    let dlq = h.create("dlq", &[("SqsManagedSseEnabled", "false")]).await;
    let dlq_arn = "arn:aws:sqs:us-east-1:000000000000:dlq";
    let policy = format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":1}}"#);
    let source = h.create("source", &[("RedrivePolicy", &policy)]).await;
    h.send(&source, "poison", None).await.unwrap();
    assert_eq!(h.receive(&source, 1, Some(0)).await.unwrap().len(), 1);
    assert!(h.receive(&source, 1, None).await.unwrap().is_empty());
    let opened_before = opened(&h);
    let moved = h.receive(&dlq, 1, None).await.unwrap();
    assert_eq!(bodies(&moved), ["poison"]);
    assert_eq!(
        opened(&h),
        opened_before + 1,
        "the moved body was still sealed"
    );
}

/// SQS: all requests to queues with SSE enabled must use Signature Version 4, so an unsigned send
/// or receive is refused with `InvalidSecurity` (a queue policy allowing anyone notwithstanding).
#[tokio::test]
async fn an_anonymous_caller_is_refused_by_an_encrypted_queue() {
    let h = Harness::new().await;
    let encrypted = h.create("encrypted", &[]).await;
    let plain = h
        .create("plain", &[("SqsManagedSseEnabled", "false")])
        .await;
    let mut anonymous = h.ctx.clone();
    anonymous.principal = Principal::anonymous();
    for url in [&encrypted, &plain] {
        let send = SendMessageInput {
            queue_url: url.to_string(),
            message_body: "hi".into(),
            ..Default::default()
        };
        let receive = ReceiveMessageInput {
            queue_url: url.to_string(),
            ..Default::default()
        };
        let sent = h
            .service
            .handle(&anonymous, Request::SendMessage(send))
            .await;
        let received = h
            .service
            .handle(&anonymous, Request::ReceiveMessage(receive))
            .await;
        if url == &encrypted {
            assert_eq!(sent.unwrap_err().code, ErrorCode::InvalidSecurity);
            assert_eq!(received.unwrap_err().code, ErrorCode::InvalidSecurity);
        } else {
            sent.unwrap();
            received.unwrap();
        }
    }
    assert_eq!(sealed(&h), 0);
}
