//! The message lifecycle on standard queues through the official Rust SDK (`aws-sdk-sqs`, AWS JSON 1.0
//! with the awsQueryCompatible error header), against an in-process server with durable storage (the
//! default).
//!
//! Expected behaviour comes from the SQS API reference (SendMessage, SendMessageBatch, ReceiveMessage),
//! the developer guide (message attributes and their MD5 digest, visibility timeout, delay queues, short
//! and long polling), the service models and the notes on real AWS responses. Expectations the notes
//! only recall (R) or infer (G) rather than confirm (C) are marked in comments; for those the tests
//! check the error code but not the wording.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_sqs::config::http::HttpResponse;
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::operation::change_message_visibility::ChangeMessageVisibilityError;
use aws_sdk_sqs::operation::change_message_visibility_batch::{
    ChangeMessageVisibilityBatchError, ChangeMessageVisibilityBatchOutput,
};
use aws_sdk_sqs::operation::create_queue::CreateQueueError;
use aws_sdk_sqs::operation::delete_message::DeleteMessageError;
use aws_sdk_sqs::operation::delete_message_batch::{
    DeleteMessageBatchError, DeleteMessageBatchOutput,
};
use aws_sdk_sqs::operation::get_queue_url::GetQueueUrlError;
use aws_sdk_sqs::operation::receive_message::ReceiveMessageError;
use aws_sdk_sqs::operation::send_message::SendMessageError;
use aws_sdk_sqs::operation::send_message_batch::{SendMessageBatchError, SendMessageBatchOutput};
use aws_sdk_sqs::primitives::Blob;
use aws_sdk_sqs::types::{
    BatchResultErrorEntry, ChangeMessageVisibilityBatchRequestEntry,
    DeleteMessageBatchRequestEntry, Message, MessageAttributeValue,
    MessageSystemAttributeName as S, MessageSystemAttributeNameForSends,
    MessageSystemAttributeValue, QueueAttributeName as A, SendMessageBatchRequestEntry,
};
use aws_sdk_sqs::Client;
use common::{
    assert_is, counts, create, create_with, md5_hex, md5_of_attribute_parts, md5_of_attributes,
    now_millis, parts, tags, try_create, try_set, DigestValue, TempDir, TestServer,
};

/// A trace header in the X-Ray format, from the research notes' worked example (§1c), whose
/// `MD5OfMessageSystemAttributes` is `5ae4d5d7636402d80f4eb6d213245a88`.
const TRACE_HEADER: &str =
    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
const TRACE_HEADER_MD5: &str = "5ae4d5d7636402d80f4eb6d213245a88";
const INVALID_HANDLE_CODE: &str = "ReceiptHandleIsInvalid";
const NOT_IN_FLIGHT_REASON: &str =
    "Reason: Message does not exist or is not available for visibility timeout change.";

/// Tests with tight timing assertions, and the tests that load the machine (the stress test, megabyte
/// bodies), take this lock so they do not run at the same time.
static EXCLUSIVE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

// ---------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------

/// Asserts a 400 with `code`, and `message` when given.
fn assert_error<E: ProvideErrorMetadata + std::fmt::Debug>(
    err: &SdkError<E, HttpResponse>,
    code: &str,
    message: Option<&str>,
) {
    common::assert_service_error(err, 400, code, message);
}

async fn all_queue_attributes(client: &Client, url: &str) -> BTreeMap<String, String> {
    client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::All)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetQueueAttributes {url}: {e:?}"))
        .attributes()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.as_str().to_string(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

async fn send(client: &Client, url: &str, body: &str) -> String {
    client
        .send_message()
        .queue_url(url)
        .message_body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("send {body}: {e:?}"))
        .message_id()
        .expect("SendMessage returns MessageId")
        .to_string()
}

/// One ReceiveMessage with every system attribute and every message attribute.
async fn receive(client: &Client, url: &str, max: i32, visibility: i32, wait: i32) -> Vec<Message> {
    client
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(max)
        .visibility_timeout(visibility)
        .wait_time_seconds(wait)
        .message_system_attribute_names(S::All)
        .message_attribute_names("All")
        .send()
        .await
        .unwrap_or_else(|e| panic!("receive from {url}: {e:?}"))
        .messages()
        .to_vec()
}

/// Receives until `n` messages have arrived (each once), with a bound on the time taken.
async fn receive_n(client: &Client, url: &str, n: usize, visibility: i32) -> Vec<Message> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut out: Vec<Message> = Vec::new();
    while out.len() < n {
        assert!(
            Instant::now() < deadline,
            "only {} of {n} messages arrived",
            out.len()
        );
        let max = (n - out.len()).min(10) as i32;
        out.extend(receive(client, url, max, visibility, 1).await);
    }
    assert_eq!(out.len(), n, "more messages than expected");
    out
}

fn string_value(data_type: &str, value: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type(data_type)
        .string_value(value)
        .build()
        .unwrap()
}

fn binary_value(data_type: &str, value: &[u8]) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type(data_type)
        .binary_value(Blob::new(value.to_vec()))
        .build()
        .unwrap()
}

fn trace_header(value: &str) -> MessageSystemAttributeValue {
    MessageSystemAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .unwrap()
}

/// The digest of a message's system attributes when it carries only an `AWSTraceHeader`.
fn trace_header_md5(value: &str) -> String {
    md5_of_attribute_parts(vec![(
        "AWSTraceHeader",
        "String",
        DigestValue::String(value),
    )])
    .unwrap()
}

/// One attribute of every type, with custom type suffixes, Unicode text and binary bytes of every kind.
fn every_kind_of_attribute() -> HashMap<String, MessageAttributeValue> {
    let all_bytes: Vec<u8> = (0..=255u8).collect();
    HashMap::from([
        ("s.plain".to_string(), string_value("String", "plain text")),
        (
            "s.custom".to_string(),
            string_value("String.json", r#"{"k":"v","n":[1,2]}"#),
        ),
        (
            "unicode".to_string(),
            string_value("String", "h\u{e9}llo w\u{f6}rld \u{2713} \u{1F600} \t\n"),
        ),
        ("n.int".to_string(), string_value("Number", "42")),
        ("n.float".to_string(), string_value("Number.float", "-3.25")),
        ("b.raw".to_string(), binary_value("Binary", &all_bytes)),
        (
            "b.custom".to_string(),
            binary_value("Binary.gif", b"GIF89a\x00\x01\x02"),
        ),
    ])
}

fn assert_same_attributes(
    got: Option<&HashMap<String, MessageAttributeValue>>,
    expected: &HashMap<String, MessageAttributeValue>,
) {
    let got = got.cloned().unwrap_or_default();
    let names: BTreeSet<&String> = got.keys().collect();
    let wanted: BTreeSet<&String> = expected.keys().collect();
    assert_eq!(names, wanted, "attribute names");
    for (name, value) in expected {
        let g = &got[name];
        assert_eq!(g.data_type(), value.data_type(), "type of {name}");
        assert_eq!(g.string_value(), value.string_value(), "string of {name}");
        assert_eq!(
            g.binary_value().map(|b| b.as_ref().to_vec()),
            value.binary_value().map(|b| b.as_ref().to_vec()),
            "bytes of {name}"
        );
    }
}

fn system_attribute<'a>(message: &'a Message, name: &S) -> Option<&'a str> {
    message
        .attributes()
        .and_then(|a| a.get(name))
        .map(String::as_str)
}

fn receive_count(message: &Message) -> u32 {
    system_attribute(message, &S::ApproximateReceiveCount)
        .expect("ApproximateReceiveCount was asked for")
        .parse()
        .unwrap()
}

fn handle(message: &Message) -> String {
    message.receipt_handle().expect("ReceiptHandle").to_string()
}

fn body(message: &Message) -> String {
    message.body().expect("Body").to_string()
}

async fn try_send_batch(
    client: &Client,
    url: &str,
    entries: Vec<SendMessageBatchRequestEntry>,
) -> Result<SendMessageBatchOutput, SdkError<SendMessageBatchError, HttpResponse>> {
    client
        .send_message_batch()
        .queue_url(url)
        .set_entries(Some(entries))
        .send()
        .await
}

async fn try_delete_batch(
    client: &Client,
    url: &str,
    entries: Vec<DeleteMessageBatchRequestEntry>,
) -> Result<DeleteMessageBatchOutput, SdkError<DeleteMessageBatchError, HttpResponse>> {
    client
        .delete_message_batch()
        .queue_url(url)
        .set_entries(Some(entries))
        .send()
        .await
}

async fn try_visibility_batch(
    client: &Client,
    url: &str,
    entries: Vec<ChangeMessageVisibilityBatchRequestEntry>,
) -> Result<
    ChangeMessageVisibilityBatchOutput,
    SdkError<ChangeMessageVisibilityBatchError, HttpResponse>,
> {
    client
        .change_message_visibility_batch()
        .queue_url(url)
        .set_entries(Some(entries))
        .send()
        .await
}

fn delete_entry(id: &str, receipt_handle: &str) -> DeleteMessageBatchRequestEntry {
    DeleteMessageBatchRequestEntry::builder()
        .id(id)
        .receipt_handle(receipt_handle)
        .build()
        .unwrap()
}

fn visibility_entry(
    id: &str,
    receipt_handle: &str,
    timeout: i32,
) -> ChangeMessageVisibilityBatchRequestEntry {
    ChangeMessageVisibilityBatchRequestEntry::builder()
        .id(id)
        .receipt_handle(receipt_handle)
        .visibility_timeout(timeout)
        .build()
        .unwrap()
}

fn send_entry(id: &str, body: &str) -> SendMessageBatchRequestEntry {
    SendMessageBatchRequestEntry::builder()
        .id(id)
        .message_body(body)
        .build()
        .unwrap()
}

/// Failed batch entries by id.
fn failures(failed: &[BatchResultErrorEntry]) -> BTreeMap<String, BatchResultErrorEntry> {
    failed
        .iter()
        .map(|f| (f.id().to_string(), f.clone()))
        .collect()
}

fn ids<'a>(items: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    items.into_iter().map(str::to_string).collect()
}

// ---------------------------------------------------------------------------------------------------------
// MD5 digests
// ---------------------------------------------------------------------------------------------------------

#[test]
fn the_test_md5_matches_published_vectors() {
    // RFC 1321, appendix A.5.
    assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
    assert_eq!(md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
    assert_eq!(
        md5_hex(b"message digest"),
        "f96b697d7cb7938d525a2f31aaf161d0"
    );
    assert_eq!(
        md5_hex(
            b"12345678901234567890123456789012345678901234567890123456789012345678901234567890"
        ),
        "57edf4a22be3c955ac49da2e2107b67a"
    );
    // SendMessage API reference example.
    assert_eq!(
        md5_hex(b"This is a test message"),
        "fafb00f5732ab283681e124bf8747ed1"
    );
    let two = HashMap::from([
        (
            "my_attribute_name_1".to_string(),
            string_value("String", "my_attribute_value_1"),
        ),
        (
            "my_attribute_name_2".to_string(),
            string_value("String", "my_attribute_value_2"),
        ),
    ]);
    assert_eq!(
        md5_of_attributes(&two).as_deref(),
        Some("c48838208d2b4e14e3ca0093a8443f09")
    );
    // Research notes §1b (the first two also published by an independent npm package) and §1c.
    let one = HashMap::from([(
        "attribName1".to_string(),
        string_value("String", "attribValue 1"),
    )]);
    assert_eq!(
        md5_of_attributes(&one).as_deref(),
        Some("19e27d4e946b072f3f58da80d94fd778")
    );
    let binary = HashMap::from([(
        "binaryAttribute".to_string(),
        binary_value("Binary", b"Hello binary world!"),
    )]);
    assert_eq!(
        md5_of_attributes(&binary).as_deref(),
        Some("31a92b15d92f8db860eda32aceb656c3")
    );
    assert_eq!(trace_header_md5(TRACE_HEADER), TRACE_HEADER_MD5);
    assert_eq!(md5_of_attributes(&HashMap::new()), None);
}

#[tokio::test]
async fn the_api_reference_example_gets_the_documented_digests() {
    let server = TestServer::start().await;
    let client = server.client();
    let url = create(&client, "doc-example").await;
    let out = client
        .send_message()
        .queue_url(&url)
        .message_body("This is a test message")
        .message_attributes(
            "my_attribute_name_1",
            string_value("String", "my_attribute_value_1"),
        )
        .message_attributes(
            "my_attribute_name_2",
            string_value("String", "my_attribute_value_2"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.md5_of_message_body(),
        Some("fafb00f5732ab283681e124bf8747ed1")
    );
    assert_eq!(
        out.md5_of_message_attributes(),
        Some("c48838208d2b4e14e3ca0093a8443f09")
    );
    // No system attributes were sent, so there is no digest of them (C: model, SendMessage example).
    assert_eq!(out.md5_of_message_system_attributes(), None);
    let got = receive(&client, &url, 1, 30, 0).await;
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].md5_of_body(),
        Some("fafb00f5732ab283681e124bf8747ed1")
    );
    assert_eq!(
        got[0].md5_of_message_attributes(),
        Some("c48838208d2b4e14e3ca0093a8443f09")
    );
    server.shutdown().await;
}

#[tokio::test]
async fn every_attribute_type_and_the_trace_header_round_trip_with_matching_digests() {
    let server = TestServer::start().await;
    let client = server.client();
    let url = create(&client, "attributes").await;
    let attributes = every_kind_of_attribute();
    let text = "Body with Unicode: \u{e9}\u{4e2d}\u{1F680} and XML-ish <a>&amp;</a> \r\n\t end";
    let before = now_millis();
    let sent = client
        .send_message()
        .queue_url(&url)
        .message_body(text)
        .set_message_attributes(Some(attributes.clone()))
        .message_system_attributes(
            MessageSystemAttributeNameForSends::AwsTraceHeader,
            trace_header(TRACE_HEADER),
        )
        .send()
        .await
        .unwrap();
    let after = now_millis();
    let message_id = sent.message_id().expect("MessageId").to_string();
    assert!(!message_id.is_empty());
    let body_md5 = md5_hex(text.as_bytes());
    let attributes_md5 = md5_of_attributes(&attributes).unwrap();
    assert_eq!(sent.md5_of_message_body(), Some(body_md5.as_str()));
    assert_eq!(
        sent.md5_of_message_attributes(),
        Some(attributes_md5.as_str())
    );
    assert_eq!(
        sent.md5_of_message_system_attributes(),
        Some(TRACE_HEADER_MD5)
    );
    assert_eq!(sent.sequence_number(), None, "standard queues have none");

    let got = receive(&client, &url, 10, 30, 0).await;
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m.message_id(), Some(message_id.as_str()));
    assert_eq!(m.body(), Some(text));
    assert_eq!(m.md5_of_body(), Some(body_md5.as_str()));
    assert_same_attributes(m.message_attributes(), &attributes);
    assert_eq!(m.md5_of_message_attributes(), Some(attributes_md5.as_str()));
    // The digest the server returns is the one a client computes over what it received.
    assert_eq!(
        md5_of_attributes(m.message_attributes().unwrap()).as_deref(),
        Some(attributes_md5.as_str())
    );
    assert_eq!(system_attribute(m, &S::AwsTraceHeader), Some(TRACE_HEADER));
    assert_eq!(receive_count(m), 1);
    let sent_at: i64 = system_attribute(m, &S::SentTimestamp)
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (before..=after).contains(&sent_at),
        "SentTimestamp {sent_at} in epoch ms between {before} and {after}"
    );
    let first: i64 = system_attribute(m, &S::ApproximateFirstReceiveTimestamp)
        .unwrap()
        .parse()
        .unwrap();
    assert!(first >= sent_at && first <= now_millis(), "{first}");
    assert!(!system_attribute(m, &S::SenderId).unwrap_or("").is_empty());
    // `All` on a standard queue: the four every message has, plus the trace header it was sent with;
    // no FIFO-only or dead-letter attributes (C: ReceiveMessage reference, per attribute).
    assert_eq!(
        m.attributes()
            .unwrap()
            .keys()
            .cloned()
            .collect::<BTreeSet<_>>(),
        BTreeSet::from([
            S::SenderId,
            S::SentTimestamp,
            S::ApproximateReceiveCount,
            S::ApproximateFirstReceiveTimestamp,
            S::AwsTraceHeader,
        ])
    );
    assert!(!handle(m).is_empty());

    // A message without attributes has no attribute digests.
    let plain = client
        .send_message()
        .queue_url(&url)
        .message_body("plain")
        .send()
        .await
        .unwrap();
    assert_eq!(
        plain.md5_of_message_body(),
        Some(md5_hex(b"plain").as_str())
    );
    assert_eq!(plain.md5_of_message_attributes(), None);
    assert_eq!(plain.md5_of_message_system_attributes(), None);
    let got = receive(&client, &url, 1, 30, 0).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body(), Some("plain"));
    assert_eq!(got[0].md5_of_message_attributes(), None);
    assert!(got[0].message_attributes().is_none_or(HashMap::is_empty));
    server.shutdown().await;
}

#[tokio::test]
async fn receive_filters_select_attributes_and_the_digest_covers_what_is_returned() {
    let server = TestServer::start().await;
    let client = server.client();
    let url = create(&client, "filters").await;
    let attributes = every_kind_of_attribute();
    client
        .send_message()
        .queue_url(&url)
        .message_body("filtered")
        .set_message_attributes(Some(attributes.clone()))
        .message_system_attributes(
            MessageSystemAttributeNameForSends::AwsTraceHeader,
            trace_header("Root=1-abc-def"),
        )
        .send()
        .await
        .unwrap();

    // Receives once with the given filters, then makes the message visible again.
    async fn look(
        client: &Client,
        url: &str,
        attribute_names: &[&str],
        system_names: &[S],
    ) -> Message {
        let mut request = client
            .receive_message()
            .queue_url(url)
            .visibility_timeout(30)
            .wait_time_seconds(1);
        for name in attribute_names {
            request = request.message_attribute_names(*name);
        }
        for name in system_names {
            request = request.message_system_attribute_names(name.clone());
        }
        let out = request.send().await.unwrap();
        assert_eq!(out.messages().len(), 1, "{out:?}");
        let m = out.messages()[0].clone();
        client
            .change_message_visibility()
            .queue_url(url)
            .receipt_handle(handle(&m))
            .visibility_timeout(0)
            .send()
            .await
            .unwrap();
        m
    }
    let subset = |names: &[&str]| -> HashMap<String, MessageAttributeValue> {
        attributes
            .iter()
            .filter(|(k, _)| names.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };

    // No names: neither kind of attribute, and no attribute digest (R: the key is omitted).
    let m = look(&client, &url, &[], &[]).await;
    assert!(
        m.message_attributes().is_none_or(HashMap::is_empty),
        "{m:?}"
    );
    assert!(m.attributes().is_none_or(HashMap::is_empty), "{m:?}");
    assert_eq!(m.md5_of_message_attributes(), None);
    assert_eq!(m.md5_of_body(), Some(md5_hex(b"filtered").as_str()));

    // A prefix and an exact name; two system attributes by name.
    let m = look(
        &client,
        &url,
        &["s.*", "unicode"],
        &[S::ApproximateReceiveCount, S::SentTimestamp],
    )
    .await;
    let expected = subset(&["s.plain", "s.custom", "unicode"]);
    assert_same_attributes(m.message_attributes(), &expected);
    let subset_md5 = md5_of_attributes(&expected).unwrap();
    assert_eq!(m.md5_of_message_attributes(), Some(subset_md5.as_str()));
    assert_ne!(Some(subset_md5), md5_of_attributes(&attributes));
    let system: BTreeSet<S> = m.attributes().unwrap().keys().cloned().collect();
    assert_eq!(
        system,
        BTreeSet::from([S::ApproximateReceiveCount, S::SentTimestamp])
    );
    assert_eq!(receive_count(&m), 2);

    // `.*` means all; a single exact name; a name that matches nothing.
    let m = look(&client, &url, &[".*"], &[S::AwsTraceHeader]).await;
    assert_same_attributes(m.message_attributes(), &attributes);
    assert_eq!(
        m.md5_of_message_attributes(),
        md5_of_attributes(&attributes).as_deref()
    );
    // The trace header is returned as sent, even though it is not a full X-Ray header (R).
    assert_eq!(
        system_attribute(&m, &S::AwsTraceHeader),
        Some("Root=1-abc-def")
    );
    let m = look(&client, &url, &["b.raw"], &[]).await;
    let expected = subset(&["b.raw"]);
    assert_same_attributes(m.message_attributes(), &expected);
    assert_eq!(
        m.md5_of_message_attributes(),
        md5_of_attributes(&expected).as_deref()
    );
    let m = look(&client, &url, &["nothing-like-this"], &[S::All]).await;
    assert!(m.message_attributes().is_none_or(HashMap::is_empty));
    assert_eq!(m.md5_of_message_attributes(), None);
    assert_eq!(receive_count(&m), 5);
    assert_eq!(
        system_attribute(&m, &S::AwsTraceHeader),
        Some("Root=1-abc-def")
    );

    // The deprecated AttributeNames list still selects system attributes (C: aws/aws-sdk#56).
    #[allow(deprecated)]
    let out = client
        .receive_message()
        .queue_url(&url)
        .attribute_names(A::All)
        .send()
        .await
        .unwrap();
    assert_eq!(out.messages().len(), 1);
    assert_eq!(receive_count(&out.messages()[0]), 6);
    assert!(system_attribute(&out.messages()[0], &S::SentTimestamp).is_some());
    server.shutdown().await;
}

// ---------------------------------------------------------------------------------------------------------
// Long polling
// ---------------------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_returns_within_50ms_of_a_send_on_another_connection() {
    let _exclusive = EXCLUSIVE.lock().await;
    let server = TestServer::start().await;
    let receiver = server.client();
    let sender = server.client();
    let url = create(&receiver, "long-poll").await;
    // Both connections are open before anything is timed.
    counts(&receiver, &url).await;
    counts(&sender, &url).await;
    let mut latencies = Vec::new();
    for round in 0..5 {
        let poll_client = receiver.clone();
        let poll_url = url.clone();
        let started = Instant::now();
        let poll = tokio::spawn(async move {
            let out = poll_client
                .receive_message()
                .queue_url(&poll_url)
                .wait_time_seconds(10)
                .send()
                .await;
            (out, Instant::now())
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            !poll.is_finished(),
            "the long poll returned before any send"
        );
        let text = format!("wake up {round}");
        send(&sender, &url, &text).await;
        let sent = Instant::now();
        let (out, received) = tokio::time::timeout(Duration::from_secs(15), poll)
            .await
            .expect("the long poll ends")
            .unwrap();
        let out = out.unwrap();
        assert_eq!(out.messages().len(), 1, "{out:?}");
        assert_eq!(out.messages()[0].body(), Some(text.as_str()));
        assert!(received.duration_since(started) >= Duration::from_millis(300));
        let latency = received.saturating_duration_since(sent);
        latencies.push(latency);
        receiver
            .delete_message()
            .queue_url(&url)
            .receipt_handle(handle(&out.messages()[0]))
            .send()
            .await
            .unwrap();
    }
    println!("send-complete -> receive-complete latencies: {latencies:?}");
    for latency in &latencies {
        assert!(
            *latency < Duration::from_millis(50),
            "a long poll returned {latency:?} after the send completed ({latencies:?})"
        );
    }
    server.shutdown().await;
}

#[tokio::test]
async fn an_idle_long_poll_returns_empty_after_its_wait() {
    let _exclusive = EXCLUSIVE.lock().await;
    let server = TestServer::start().await;
    let client = server.client();
    let url = create(&client, "idle").await;
    let started = Instant::now();
    let out = client
        .receive_message()
        .queue_url(&url)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    let took = started.elapsed();
    assert!(out.messages().is_empty(), "{out:?}");
    println!("idle long poll with WaitTimeSeconds=1 took {took:?}");
    assert!(
        took >= Duration::from_millis(900) && took <= Duration::from_secs(3),
        "{took:?}"
    );

    // The queue's ReceiveMessageWaitTimeSeconds applies when the request does not say.
    let url = create_with(
        &client,
        "idle-default",
        &[(A::ReceiveMessageWaitTimeSeconds, "1")],
    )
    .await;
    let started = Instant::now();
    let out = client
        .receive_message()
        .queue_url(&url)
        .send()
        .await
        .unwrap();
    let took = started.elapsed();
    assert!(out.messages().is_empty());
    assert!(
        took >= Duration::from_millis(900) && took <= Duration::from_secs(3),
        "{took:?}"
    );
    // WaitTimeSeconds=0 overrides it: a short poll answers at once.
    let started = Instant::now();
    let out = client
        .receive_message()
        .queue_url(&url)
        .wait_time_seconds(0)
        .send()
        .await
        .unwrap();
    assert!(out.messages().is_empty());
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    server.shutdown().await;
}

/// How a message becomes available to a waiting long poll.
#[derive(Clone, Copy, Debug)]
enum Wake {
    SendBatch,
    ChangeVisibility,
    ChangeVisibilityBatch,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_wakes_for_batch_sends_and_visibility_changes_to_zero() {
    let _exclusive = EXCLUSIVE.lock().await;
    let server = TestServer::start().await;
    let receiver = server.client();
    let actor = server.client();
    let url = create(&receiver, "long-poll-wakes").await;
    counts(&receiver, &url).await;
    counts(&actor, &url).await;
    let mut latencies = Vec::new();
    for wake in [
        Wake::SendBatch,
        Wake::ChangeVisibility,
        Wake::ChangeVisibilityBatch,
    ] {
        // For the visibility changes: a message in flight for the next 10 minutes.
        let held = match wake {
            Wake::SendBatch => None,
            _ => {
                send(&actor, &url, &format!("held for {wake:?}")).await;
                Some(receive(&actor, &url, 1, 600, 0).await.remove(0))
            }
        };
        let poll_client = receiver.clone();
        let poll_url = url.clone();
        let poll = tokio::spawn(async move {
            let out = poll_client
                .receive_message()
                .queue_url(&poll_url)
                .wait_time_seconds(10)
                .send()
                .await;
            (out, Instant::now())
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            !poll.is_finished(),
            "{wake:?}: the long poll returned early"
        );
        let expected = match (&held, wake) {
            (None, _) => {
                let out = actor
                    .send_message_batch()
                    .queue_url(&url)
                    .entries(send_entry("only", "batched wake-up"))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(out.successful().len(), 1);
                "batched wake-up".to_string()
            }
            (Some(m), Wake::ChangeVisibility) => {
                actor
                    .change_message_visibility()
                    .queue_url(&url)
                    .receipt_handle(handle(m))
                    .visibility_timeout(0)
                    .send()
                    .await
                    .unwrap();
                body(m)
            }
            (Some(m), _) => {
                let out = actor
                    .change_message_visibility_batch()
                    .queue_url(&url)
                    .entries(visibility_entry("only", &handle(m), 0))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(out.successful().len(), 1, "{out:?}");
                body(m)
            }
        };
        let acted = Instant::now();
        let (out, received) = tokio::time::timeout(Duration::from_secs(15), poll)
            .await
            .expect("the long poll ends")
            .unwrap();
        let out = out.unwrap();
        let latency = received.saturating_duration_since(acted);
        assert_eq!(
            out.messages().len(),
            1,
            "{wake:?}: the long poll ended after {latency:?} without the message: {out:?}"
        );
        assert_eq!(body(&out.messages()[0]), expected);
        latencies.push((wake, latency));
        receiver
            .delete_message()
            .queue_url(&url)
            .receipt_handle(handle(&out.messages()[0]))
            .send()
            .await
            .unwrap();
    }
    println!("action-complete -> receive-complete latencies: {latencies:?}");
    for (wake, latency) in &latencies {
        assert!(
            *latency < Duration::from_millis(50),
            "{wake:?}: the long poll returned {latency:?} after the message became available"
        );
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_graceful_shutdown_ends_waiting_long_polls_promptly() {
    let server = TestServer::start().await;
    let client = server.client();
    let url = create(&client, "shutdown-poll").await;
    let poll_client = client.clone();
    let poll_url = url.clone();
    let poll = tokio::spawn(async move {
        poll_client
            .receive_message()
            .queue_url(&poll_url)
            .wait_time_seconds(20)
            .send()
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!poll.is_finished());
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(10), server.shutdown())
        .await
        .expect("shutdown ends");
    let took = started.elapsed();
    let out = tokio::time::timeout(Duration::from_secs(5), poll)
        .await
        .expect("the long poll ends with the server")
        .unwrap();
    println!("shutdown with a waiting long poll took {took:?}; the poll got {out:?}");
    assert!(took < Duration::from_secs(2), "shutdown took {took:?}");
    // The poll is answered (empty) rather than cut off.
    let out = out.expect("the waiting long poll gets an answer");
    assert!(out.messages().is_empty());
}

// ---------------------------------------------------------------------------------------------------------
// Delays
// ---------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn delayed_messages_are_counted_and_appear_after_their_delay() {
    let server = TestServer::start().await;
    let client = server.client();
    let url = create_with(&client, "delays", &[(A::DelaySeconds, "2")]).await;
    let sent = Instant::now();
    send(&client, &url, "queue delay").await;
    client
        .send_message()
        .queue_url(&url)
        .message_body("no delay")
        .delay_seconds(0)
        .send()
        .await
        .unwrap();
    assert_eq!(counts(&client, &url).await, (1, 0, 1));
    let got = receive(&client, &url, 10, 30, 0).await;
    assert_eq!(got.len(), 1);
    assert_eq!(body(&got[0]), "no delay");
    let got = receive(&client, &url, 10, 30, 5).await;
    assert_eq!(got.len(), 1);
    assert_eq!(body(&got[0]), "queue delay");
    let waited = sent.elapsed();
    assert!(
        waited >= Duration::from_millis(1800) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    assert_eq!(counts(&client, &url).await, (0, 2, 0));
    server.shutdown().await;
}

// ---------------------------------------------------------------------------------------------------------
// ChangeMessageVisibility
// ---------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn change_message_visibility_hides_reveals_and_rejects() {
    let server = TestServer::start().await;
    let client = server.client();
    let url = create(&client, "visibility").await;
    let other_url = create(&client, "visibility-other").await;
    send(&client, &url, "watched").await;
    send(&client, &other_url, "elsewhere").await;
    let other_handle = handle(&receive(&client, &other_url, 1, 600, 0).await[0]);

    let first = receive(&client, &url, 1, 30, 0).await;
    assert_eq!(receive_count(&first[0]), 1);
    let h1 = handle(&first[0]);
    assert_eq!(counts(&client, &url).await, (0, 1, 0));
    assert!(receive(&client, &url, 1, 30, 0).await.is_empty());

    // Timeout 0 makes it available at once (C: developer guide).
    client
        .change_message_visibility()
        .queue_url(&url)
        .receipt_handle(&h1)
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    assert_eq!(counts(&client, &url).await, (1, 0, 0));
    let second = receive(&client, &url, 1, 30, 0).await;
    assert_eq!(second.len(), 1);
    assert_eq!(receive_count(&second[0]), 2);
    let h2 = handle(&second[0]);

    // A handle superseded by a newer receive still works while the message is in flight, as real SQS
    // answers (recorded responses); it moves the deadline the newer receive set.
    client
        .change_message_visibility()
        .queue_url(&url)
        .receipt_handle(&h1)
        .visibility_timeout(10)
        .send()
        .await
        .unwrap();
    assert_eq!(counts(&client, &url).await, (0, 1, 0));

    // A short timeout: hidden now, back about two seconds later.
    let changed = Instant::now();
    client
        .change_message_visibility()
        .queue_url(&url)
        .receipt_handle(&h2)
        .visibility_timeout(2)
        .send()
        .await
        .unwrap();
    assert!(receive(&client, &url, 1, 30, 0).await.is_empty());
    let third = receive(&client, &url, 1, 30, 5).await;
    assert_eq!(third.len(), 1);
    let back_after = changed.elapsed();
    assert!(
        back_after >= Duration::from_millis(1800) && back_after < Duration::from_secs(5),
        "{back_after:?}"
    );
    assert_eq!(receive_count(&third[0]), 3);
    let h3 = handle(&third[0]);

    // Out of range (G wording: the code is checked).
    for bad in [-1, 43_201] {
        let err = client
            .change_message_visibility()
            .queue_url(&url)
            .receipt_handle(&h3)
            .visibility_timeout(bad)
            .send()
            .await
            .unwrap_err();
        assert_error(&err, "InvalidParameterValue", None);
        assert!(parts(&err).2.contains("VisibilityTimeout"), "{err:?}");
    }
    // Twelve hours counted from the receive, not from now (C: aws-sdk-net#794).
    tokio::time::sleep(Duration::from_millis(20)).await;
    let err = client
        .change_message_visibility()
        .queue_url(&url)
        .receipt_handle(&h3)
        .visibility_timeout(43_200)
        .send()
        .await
        .unwrap_err();
    assert_error(
        &err,
        "InvalidParameterValue",
        Some("Value 43200 for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is beyond the limit [43200 seconds]."),
    );
    client
        .change_message_visibility()
        .queue_url(&url)
        .receipt_handle(&h3)
        .visibility_timeout(43_000)
        .send()
        .await
        .unwrap();

    // A handle that is not one (C: elasticmq#324 quoting AWS), and one of another queue (G wording).
    let err = client
        .change_message_visibility()
        .queue_url(&url)
        .receipt_handle("garbage")
        .visibility_timeout(5)
        .send()
        .await
        .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, ChangeMessageVisibilityError::ReceiptHandleIsInvalid(_))
    });
    assert_error(
        &err,
        INVALID_HANDLE_CODE,
        Some("The input receipt handle \"garbage\" is not a valid receipt handle."),
    );
    let err = client
        .change_message_visibility()
        .queue_url(&url)
        .receipt_handle(&other_handle)
        .visibility_timeout(5)
        .send()
        .await
        .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, ChangeMessageVisibilityError::ReceiptHandleIsInvalid(_))
    });
    assert_error(&err, INVALID_HANDLE_CODE, None);

    // A deleted message (C: aws-sdk-net#1927).
    client
        .delete_message()
        .queue_url(&url)
        .receipt_handle(&h3)
        .send()
        .await
        .unwrap();
    let err = client
        .change_message_visibility()
        .queue_url(&url)
        .receipt_handle(&h3)
        .visibility_timeout(5)
        .send()
        .await
        .unwrap_err();
    assert_error(
        &err,
        "InvalidParameterValue",
        Some(&format!(
            "Value {h3} for parameter ReceiptHandle is invalid. {NOT_IN_FLIGHT_REASON}"
        )),
    );
    assert_eq!(counts(&client, &url).await, (0, 0, 0));
    server.shutdown().await;
}

#[tokio::test]
async fn visibility_edge_cases() {
    let server = TestServer::start().await;
    let client = server.client();
    let url = create(&client, "visibility-edges").await;
    send(&client, &url, "edge").await;

    // A receive with VisibilityTimeout=0 leaves the message visible (C: a zero timeout makes the
    // message available at once); each receive counts.
    let first = receive(&client, &url, 1, 0, 0).await;
    assert_eq!(first.len(), 1);
    assert_eq!(counts(&client, &url).await, (1, 0, 0));
    let second = receive(&client, &url, 1, 1, 0).await;
    assert_eq!(second.len(), 1);
    assert_eq!(receive_count(&second[0]), 2);

    // Once its timeout has lapsed, and before anyone receives it again, the latest handle can still
    // hide the message (R: a second-hand "validated on AWS" claim).
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(counts(&client, &url).await, (1, 0, 0));
    client
        .change_message_visibility()
        .queue_url(&url)
        .receipt_handle(handle(&second[0]))
        .visibility_timeout(30)
        .send()
        .await
        .unwrap();
    assert_eq!(counts(&client, &url).await, (0, 1, 0));
    // The handle of the receive before still changes it while it is in flight (recorded responses of
    // real SQS): the message is visible again.
    client
        .change_message_visibility()
        .queue_url(&url)
        .receipt_handle(handle(&first[0]))
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    assert_eq!(counts(&client, &url).await, (1, 0, 0));
    // Once it is visible, that older handle cannot hide it again: only the latest receive's can.
    let err = client
        .change_message_visibility()
        .queue_url(&url)
        .receipt_handle(handle(&first[0]))
        .visibility_timeout(30)
        .send()
        .await
        .unwrap_err();
    assert_error(&err, "InvalidParameterValue", None);
    assert!(parts(&err).2.ends_with(NOT_IN_FLIGHT_REASON), "{err:?}");
    // Any handle the message was received with deletes it on a standard queue (C: DeleteMessage
    // reference: an old handle succeeds; the message may or may not be deleted).
    client
        .delete_message()
        .queue_url(&url)
        .receipt_handle(handle(&first[0]))
        .send()
        .await
        .unwrap();
    server.shutdown().await;
}

#[tokio::test]
async fn attribute_names_of_any_script_and_star_and_prefix_filters() {
    let server = TestServer::start().await;
    let client = server.client();
    let url = create(&client, "any-script").await;
    let attributes = HashMap::from([
        (
            "attr.1\u{f8}\u{df}\u{e4}".to_string(),
            string_value("String", "v"),
        ),
        ("Hello".to_string(), string_value("String", "1")),
        ("Help.me".to_string(), string_value("Number", "2")),
        ("World".to_string(), binary_value("Binary", b"\x01")),
    ]);
    let sent = client
        .send_message()
        .queue_url(&url)
        .message_body("named")
        .set_message_attributes(Some(attributes.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        sent.md5_of_message_attributes(),
        md5_of_attributes(&attributes).as_deref()
    );
    for (filter, names) in [
        (
            "*",
            &["attr.1\u{f8}\u{df}\u{e4}", "Hello", "Help.me", "World"][..],
        ),
        ("Hel.*", &["Hello", "Help.me"][..]),
        ("attr.*", &["attr.1\u{f8}\u{df}\u{e4}"][..]),
    ] {
        let out = client
            .receive_message()
            .queue_url(&url)
            .message_attribute_names(filter)
            .visibility_timeout(0)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        let m = &out.messages()[0];
        let expected: HashMap<String, MessageAttributeValue> = attributes
            .iter()
            .filter(|(k, _)| names.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        assert_same_attributes(m.message_attributes(), &expected);
        assert_eq!(
            m.md5_of_message_attributes(),
            md5_of_attributes(&expected).as_deref(),
            "{filter}"
        );
    }

    // A character outside the allowed set in a string value is an invalid parameter value.
    let err = client
        .send_message()
        .queue_url(&url)
        .message_body("x")
        .message_attributes("k", string_value("String", "a\u{1}b"))
        .send()
        .await
        .unwrap_err();
    assert_error(
        &err,
        "InvalidParameterValue",
        Some("Invalid binary character '#x1' was found in the message attribute 'k', the set of allowed characters is #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]."),
    );
}

#[tokio::test]
async fn the_x_amzn_trace_id_header_of_a_send_is_the_aws_trace_header() {
    let server = TestServer::start().await;
    let client = server.client();
    let url = create(&client, "traced-by-header").await;
    let sent = client
        .send_message()
        .queue_url(&url)
        .message_body("traced")
        .customize()
        .mutate_request(|request| {
            request
                .headers_mut()
                .insert("X-Amzn-Trace-Id", TRACE_HEADER);
        })
        .send()
        .await
        .unwrap();
    assert_eq!(sent.md5_of_message_system_attributes(), None);
    let got = receive(&client, &url, 1, 30, 1).await;
    assert_eq!(
        system_attribute(&got[0], &S::AwsTraceHeader),
        Some(TRACE_HEADER)
    );
}

#[tokio::test]
async fn fifo_sends_without_a_group_or_deduplication_id_or_with_a_delay_are_refused() {
    let server = TestServer::start().await;
    let client = server.client();
    let url = create_with(&client, "whole.fifo", &[(A::FifoQueue, "true")]).await;
    let entry = |id: &str, group: Option<&str>, deduplication: Option<&str>| {
        SendMessageBatchRequestEntry::builder()
            .id(id)
            .message_body(id)
            .set_message_group_id(group.map(str::to_string))
            .set_message_deduplication_id(deduplication.map(str::to_string))
            .build()
            .unwrap()
    };
    for (lacking, message) in [
        (
            entry("lacking", None, Some("d1")),
            "The request must contain the parameter MessageGroupId.",
        ),
        (
            entry("lacking", Some("g"), None),
            "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
        ),
    ] {
        let entries = vec![entry("ok", Some("g"), Some("d0")), lacking];
        let err = try_send_batch(&client, &url, entries).await.unwrap_err();
        assert_error(&err, "InvalidParameterValue", Some(message));
    }
    // SendMessage on a FIFO queue takes no per-message delay but 0.
    let delayed = |delay: i32| {
        client
            .send_message()
            .queue_url(&url)
            .message_body("late")
            .message_group_id("g")
            .message_deduplication_id(format!("late-{delay}"))
            .delay_seconds(delay)
            .send()
    };
    let err = delayed(5).await.unwrap_err();
    assert_error(
        &err,
        "InvalidParameterValue",
        Some("Value 5 for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type."),
    );
    assert_eq!(counts(&client, &url).await, (0, 0, 0));
    delayed(0).await.unwrap();
    assert_eq!(counts(&client, &url).await, (1, 0, 0));
}

#[tokio::test]
async fn change_message_visibility_batch_reports_each_entry() {
    let server = TestServer::start().await;
    let client = server.client();
    let url = create(&client, "visibility-batch").await;
    for i in 0..4 {
        send(&client, &url, &format!("m{i}")).await;
    }
    let got = receive_n(&client, &url, 4, 30).await;
    let handles: BTreeMap<String, String> = got.iter().map(|m| (body(m), handle(m))).collect();
    client
        .delete_message()
        .queue_url(&url)
        .receipt_handle(&handles["m2"])
        .send()
        .await
        .unwrap();
    let out = try_visibility_batch(
        &client,
        &url,
        vec![
            visibility_entry("reveal", &handles["m0"], 0),
            visibility_entry("extend", &handles["m1"], 600),
            visibility_entry("garbage", "not-a-handle", 5),
            visibility_entry("deleted", &handles["m2"], 5),
            visibility_entry("too-long", &handles["m3"], 43_201),
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        ids(out.successful().iter().map(|s| s.id())),
        ids(["reveal", "extend"])
    );
    let failed = failures(out.failed());
    assert_eq!(
        failed.keys().cloned().collect::<BTreeSet<_>>(),
        ids(["garbage", "deleted", "too-long"])
    );
    assert!(failed.values().all(|f| f.sender_fault()), "{failed:?}");
    assert_eq!(failed["garbage"].code(), INVALID_HANDLE_CODE);
    assert_eq!(
        failed["garbage"].message(),
        Some("The input receipt handle \"not-a-handle\" is not a valid receipt handle.")
    );
    assert_eq!(failed["deleted"].code(), "InvalidParameterValue");
    assert_eq!(
        failed["deleted"].message(),
        Some(
            format!(
                "Value {} for parameter ReceiptHandle is invalid. {NOT_IN_FLIGHT_REASON}",
                handles["m2"]
            )
            .as_str()
        )
    );
    assert_eq!(failed["too-long"].code(), "InvalidParameterValue");

    // m0 is visible again; m1 and m3 are still hidden.
    assert_eq!(counts(&client, &url).await, (1, 2, 0));
    let again = receive(&client, &url, 10, 30, 0).await;
    assert_eq!(again.len(), 1);
    assert_eq!(body(&again[0]), "m0");
    assert_eq!(receive_count(&again[0]), 2);
    server.shutdown().await;
}

// ---------------------------------------------------------------------------------------------------------
// DeleteMessage
// ---------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn delete_message_single_and_batch() {
    let server = TestServer::start().await;
    let client = server.client();
    let url = create(&client, "deletes").await;
    let other_url = create(&client, "deletes-other").await;
    send(&client, &other_url, "elsewhere").await;
    let other_handle = handle(&receive(&client, &other_url, 1, 600, 0).await[0]);
    for i in 0..5 {
        send(&client, &url, &format!("m{i}")).await;
    }
    let got = receive_n(&client, &url, 5, 600).await;
    let handles: BTreeMap<String, String> = got.iter().map(|m| (body(m), handle(m))).collect();
    assert_eq!(counts(&client, &url).await, (0, 5, 0));

    client
        .delete_message()
        .queue_url(&url)
        .receipt_handle(&handles["m0"])
        .send()
        .await
        .unwrap();
    assert_eq!(counts(&client, &url).await, (0, 4, 0));
    // Deleting again succeeds on a standard queue (C: DeleteMessage reference).
    client
        .delete_message()
        .queue_url(&url)
        .receipt_handle(&handles["m0"])
        .send()
        .await
        .unwrap();

    let err = client
        .delete_message()
        .queue_url(&url)
        .receipt_handle("fake")
        .send()
        .await
        .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, DeleteMessageError::ReceiptHandleIsInvalid(_))
    });
    assert_error(
        &err,
        INVALID_HANDLE_CODE,
        Some("The input receipt handle \"fake\" is not a valid receipt handle."),
    );
    // A real handle with one character changed is no handle at all.
    let original = &handles["m1"];
    let mut tampered: Vec<char> = original.chars().collect();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == 'A' { 'B' } else { 'A' };
    let tampered: String = tampered.into_iter().collect();
    let err = client
        .delete_message()
        .queue_url(&url)
        .receipt_handle(&tampered)
        .send()
        .await
        .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, DeleteMessageError::ReceiptHandleIsInvalid(_))
    });
    assert_eq!(counts(&client, &url).await, (0, 4, 0));
    // A handle of another queue (C for the batch wording, aws-sdk-java-v2#3101; G for the single op).
    let err = client
        .delete_message()
        .queue_url(&url)
        .receipt_handle(&other_handle)
        .send()
        .await
        .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, DeleteMessageError::ReceiptHandleIsInvalid(_))
    });
    assert_error(
        &err,
        INVALID_HANDLE_CODE,
        Some(&format!(
            "The receipt handle \"{other_handle}\" is not valid for this queue."
        )),
    );

    let out = try_delete_batch(
        &client,
        &url,
        vec![
            delete_entry("one", &handles["m1"]),
            delete_entry("two", &handles["m2"]),
            delete_entry("again", &handles["m0"]),
            delete_entry("garbage", "invalid"),
            delete_entry("other-queue", &other_handle),
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        ids(out.successful().iter().map(|s| s.id())),
        ids(["one", "two", "again"])
    );
    let failed = failures(out.failed());
    assert_eq!(
        failed.keys().cloned().collect::<BTreeSet<_>>(),
        ids(["garbage", "other-queue"])
    );
    assert!(failed.values().all(|f| f.sender_fault()));
    assert_eq!(failed["garbage"].code(), INVALID_HANDLE_CODE);
    assert_eq!(
        failed["garbage"].message(),
        Some("The input receipt handle \"invalid\" is not a valid receipt handle.")
    );
    assert_eq!(failed["other-queue"].code(), INVALID_HANDLE_CODE);
    assert_eq!(
        failed["other-queue"].message(),
        Some(
            format!("The receipt handle \"{other_handle}\" is not valid for this queue.").as_str()
        )
    );
    assert_eq!(counts(&client, &url).await, (0, 2, 0));

    // The rest with a batch that names one handle twice: both entries succeed, as deleting a deleted
    // message does on a standard queue (C-ish: aws-sdk-go#893).
    let out = try_delete_batch(
        &client,
        &url,
        vec![
            delete_entry("m3", &handles["m3"]),
            delete_entry("m4", &handles["m4"]),
            delete_entry("m4-again", &handles["m4"]),
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        ids(out.successful().iter().map(|s| s.id())),
        ids(["m3", "m4", "m4-again"]),
        "{out:?}"
    );
    assert!(out.failed().is_empty());
    assert_eq!(counts(&client, &url).await, (0, 0, 0));
    // The other queue is untouched by the failed attempts.
    assert_eq!(counts(&client, &other_url).await, (0, 1, 0));
    server.shutdown().await;
}

// ---------------------------------------------------------------------------------------------------------
// SendMessage(Batch)
// ---------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn send_message_batch_with_mixed_success_and_failure() {
    let server = TestServer::start().await;
    let client = server.client();
    let url = create(&client, "send-batch").await;
    let attributes = HashMap::from([
        ("colour".to_string(), string_value("String", "blue")),
        ("blob".to_string(), binary_value("Binary", &[0, 1, 2])),
    ]);
    let entries = vec![
        send_entry("plain", "plain body"),
        SendMessageBatchRequestEntry::builder()
            .id("with-attributes")
            .message_body("attributed body")
            .set_message_attributes(Some(attributes.clone()))
            .build()
            .unwrap(),
        SendMessageBatchRequestEntry::builder()
            .id("traced")
            .message_body("traced body")
            .message_system_attributes(
                MessageSystemAttributeNameForSends::AwsTraceHeader,
                trace_header(TRACE_HEADER),
            )
            .build()
            .unwrap(),
        SendMessageBatchRequestEntry::builder()
            .id("delayed")
            .message_body("delayed body")
            .delay_seconds(60)
            .build()
            .unwrap(),
        SendMessageBatchRequestEntry::builder()
            .id("bad-delay")
            .message_body("x")
            .delay_seconds(901)
            .build()
            .unwrap(),
        send_entry("bad-chars", "a\u{1}b"),
        SendMessageBatchRequestEntry::builder()
            .id("bad-type")
            .message_body("x")
            .message_attributes("attr", string_value("string", "v"))
            .build()
            .unwrap(),
        SendMessageBatchRequestEntry::builder()
            .id("empty-value")
            .message_body("x")
            .message_attributes("attr", string_value("String", ""))
            .build()
            .unwrap(),
    ];
    let out = client
        .send_message_batch()
        .queue_url(&url)
        .set_entries(Some(entries))
        .send()
        .await
        .unwrap();
    let successful: BTreeMap<&str, _> = out.successful().iter().map(|s| (s.id(), s)).collect();
    assert_eq!(
        successful.keys().copied().collect::<BTreeSet<_>>(),
        BTreeSet::from(["plain", "with-attributes", "traced", "delayed"])
    );
    for (id, text) in [
        ("plain", "plain body"),
        ("with-attributes", "attributed body"),
        ("traced", "traced body"),
        ("delayed", "delayed body"),
    ] {
        assert_eq!(
            successful[id].md5_of_message_body(),
            md5_hex(text.as_bytes())
        );
        assert!(!successful[id].message_id().is_empty());
    }
    assert_eq!(
        successful["with-attributes"].md5_of_message_attributes(),
        md5_of_attributes(&attributes).as_deref()
    );
    assert_eq!(successful["plain"].md5_of_message_attributes(), None);
    assert_eq!(successful["plain"].md5_of_message_system_attributes(), None);
    assert_eq!(
        successful["traced"].md5_of_message_system_attributes(),
        Some(TRACE_HEADER_MD5)
    );
    assert_eq!(successful["traced"].md5_of_message_attributes(), None);

    let failed = failures(out.failed());
    assert_eq!(
        failed.keys().cloned().collect::<BTreeSet<_>>(),
        ids(["bad-delay", "bad-chars", "bad-type", "empty-value"])
    );
    assert!(failed.values().all(|f| f.sender_fault()));
    // C: aws-sdk-ruby#265.
    assert_eq!(failed["bad-delay"].code(), "InvalidParameterValue");
    assert_eq!(
        failed["bad-delay"].message(),
        Some("Value 901 for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.")
    );
    assert_eq!(failed["bad-chars"].code(), "InvalidMessageContents");
    assert!(
        failed["bad-chars"]
            .message()
            .unwrap_or_default()
            .starts_with("Invalid binary character '#x1' was found in the message body"),
        "{:?}",
        failed["bad-chars"]
    );
    // C: grafana/k6-jslib-aws#65.
    assert_eq!(failed["bad-type"].code(), "InvalidParameterValue");
    assert_eq!(
        failed["bad-type"].message(),
        Some("The type of message (user) attribute 'attr' is invalid. You must use only the following supported type prefixes: Binary, Number, String.")
    );
    // C: elasticmq#373 quoting AWS.
    assert_eq!(failed["empty-value"].code(), "InvalidParameterValue");
    assert_eq!(
        failed["empty-value"].message(),
        Some("Message (user) attribute 'attr' must contain a non-empty value of type 'String'.")
    );

    // Three are visible now and one is delayed; what arrives is what was sent.
    assert_eq!(counts(&client, &url).await, (3, 0, 1));
    let got = receive_n(&client, &url, 3, 30).await;
    for m in &got {
        let id = match body(m).as_str() {
            "plain body" => "plain",
            "attributed body" => "with-attributes",
            "traced body" => "traced",
            other => panic!("unexpected message {other}"),
        };
        assert_eq!(m.message_id(), Some(successful[id].message_id()));
        assert_eq!(m.md5_of_body(), Some(successful[id].md5_of_message_body()));
        assert_eq!(
            m.md5_of_message_attributes(),
            successful[id].md5_of_message_attributes()
        );
        if id == "with-attributes" {
            assert_same_attributes(m.message_attributes(), &attributes);
        }
        if id == "traced" {
            assert_eq!(system_attribute(m, &S::AwsTraceHeader), Some(TRACE_HEADER));
        }
    }
    server.shutdown().await;
}

#[tokio::test]
async fn send_message_rejects_bad_bodies_attributes_and_delays() {
    // Megabyte bodies are slow to sign and check in a debug build: not next to the timing tests.
    let _exclusive = EXCLUSIVE.lock().await;
    let server = TestServer::start().await;
    let client = server.client();
    let url = create_with(&client, "send-errors", &[(A::MaximumMessageSize, "1024")]).await;

    // C: nitro-plugins#437 and NServiceBus.AmazonSQS#2630 quoting AWS.
    for (text, shown) in [
        ("bad \u{7} char", "#x7"),
        ("\u{FFFE}", "#xFFFE"),
        ("x\u{1F}", "#x1F"),
    ] {
        let err = client
            .send_message()
            .queue_url(&url)
            .message_body(text)
            .send()
            .await
            .unwrap_err();
        assert_is(&err, |e| {
            matches!(e, SendMessageError::InvalidMessageContents(_))
        });
        assert_error(
            &err,
            "InvalidMessageContents",
            Some(&format!("Invalid binary character '{shown}' was found in the message body, the set of allowed characters is #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].")),
        );
    }
    // C: php-enqueue#435, goaws#190 quoting AWS.
    let err = client
        .send_message()
        .queue_url(&url)
        .message_body("")
        .send()
        .await
        .unwrap_err();
    assert_error(
        &err,
        "MissingParameter",
        Some("The request must contain the parameter MessageBody."),
    );

    // Size: the body plus each attribute's name, type and value, against the queue's limit; exactly the
    // limit is allowed (R), the trace header does not count (C).
    let too_big =
        "One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes.";
    client
        .send_message()
        .queue_url(&url)
        .message_body("x".repeat(1024))
        .message_system_attributes(
            MessageSystemAttributeNameForSends::AwsTraceHeader,
            trace_header(TRACE_HEADER),
        )
        .send()
        .await
        .unwrap();
    let err = client
        .send_message()
        .queue_url(&url)
        .message_body("x".repeat(1025))
        .send()
        .await
        .unwrap_err();
    assert_error(&err, "InvalidParameterValue", Some(too_big));
    // 1000 + len("a") + len("String") + 17 = 1024.
    client
        .send_message()
        .queue_url(&url)
        .message_body("x".repeat(1000))
        .message_attributes("a", string_value("String", &"v".repeat(17)))
        .send()
        .await
        .unwrap();
    let err = client
        .send_message()
        .queue_url(&url)
        .message_body("x".repeat(1000))
        .message_attributes("a", string_value("String", &"v".repeat(18)))
        .send()
        .await
        .unwrap_err();
    assert_error(&err, "InvalidParameterValue", Some(too_big));
    // Binary values count by their bytes, not their base64 text.
    client
        .send_message()
        .queue_url(&url)
        .message_body("x".repeat(1000))
        .message_attributes("b", binary_value("Binary", &[7u8; 17]))
        .send()
        .await
        .unwrap();

    // The default limit is 1 MiB (C: current CreateQueue reference); characters JSON must escape do not
    // count twice.
    let default_url = create(&client, "send-errors-default-size").await;
    client
        .send_message()
        .queue_url(&default_url)
        .message_body("\"".repeat(1_048_576))
        .send()
        .await
        .unwrap();
    let err = client
        .send_message()
        .queue_url(&default_url)
        .message_body("\"".repeat(1_048_577))
        .send()
        .await
        .unwrap_err();
    assert_error(
        &err,
        "InvalidParameterValue",
        Some("One or more parameters are invalid. Reason: Message must be shorter than 1048576 bytes."),
    );
    let got = receive(&client, &default_url, 1, 30, 0).await;
    assert_eq!(got[0].body().map(str::len), Some(1_048_576));
    assert_eq!(
        got[0].md5_of_body(),
        Some(md5_hex("\"".repeat(1_048_576).as_bytes()).as_str())
    );

    // C: opentelemetry-java-instrumentation#13799.
    let mut request = client.send_message().queue_url(&url).message_body("many");
    for i in 0..11 {
        request = request.message_attributes(format!("a{i}"), string_value("String", "v"));
    }
    let err = request.send().await.unwrap_err();
    assert_error(
        &err,
        "InvalidParameterValue",
        Some("Number of message attributes [11] exceeds the allowed maximum [10]."),
    );

    // C: aws-sdk-php#694 quoting AWS.
    let err = client
        .send_message()
        .queue_url(&url)
        .message_body("x")
        .message_attributes("", string_value("String", "v"))
        .send()
        .await
        .unwrap_err();
    assert_error(
        &err,
        "InvalidParameterValue",
        Some("The request must contain non-empty message attribute name."),
    );
    // C: grafana/k6-jslib-aws#65.
    for bad_type in ["string", "Foo", "Number."] {
        let err = client
            .send_message()
            .queue_url(&url)
            .message_body("x")
            .message_attributes("attr", string_value(bad_type, "1"))
            .send()
            .await
            .unwrap_err();
        assert_error(
            &err,
            "InvalidParameterValue",
            Some("The type of message (user) attribute 'attr' is invalid. You must use only the following supported type prefixes: Binary, Number, String."),
        );
    }
    // Rules from the developer guide; the wording is not known (G), so only the code is checked.
    let bad_values = [
        ("AWS.reserved", string_value("String", "v")),
        ("amazon.reserved", string_value("String", "v")),
        ("trailing.", string_value("String", "v")),
        ("two..dots", string_value("String", "v")),
        ("sp ace", string_value("String", "v")),
        ("number", string_value("Number", "not a number")),
        ("number", string_value("Number", "1e200")),
        (
            "binary",
            MessageAttributeValue::builder()
                .data_type("Binary")
                .build()
                .unwrap(),
        ),
    ];
    for (name, value) in bad_values {
        let err = client
            .send_message()
            .queue_url(&url)
            .message_body("x")
            .message_attributes(name, value.clone())
            .send()
            .await
            .unwrap_err();
        assert_error(&err, "InvalidParameterValue", None);
        assert!(
            !parts(&err).2.is_empty(),
            "{name} {value:?} needs a message: {err:?}"
        );
    }

    // C: amazon-sqs-dlq-replay-backoff#8.
    for delay in [-1, 901] {
        let err = client
            .send_message()
            .queue_url(&url)
            .message_body("x")
            .delay_seconds(delay)
            .send()
            .await
            .unwrap_err();
        assert_error(
            &err,
            "InvalidParameterValue",
            Some(&format!("Value {delay} for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.")),
        );
    }
    // Only the three good sends above are in the queue.
    assert_eq!(counts(&client, &url).await, (3, 0, 0));
    server.shutdown().await;
}

#[tokio::test]
async fn batch_requests_are_checked_as_a_whole() {
    // Megabyte bodies are slow to sign and check in a debug build: not next to the timing tests.
    let _exclusive = EXCLUSIVE.lock().await;
    let server = TestServer::start().await;
    let client = server.client();
    let url = create(&client, "batch-errors").await;
    let eleven = |make: &dyn Fn(usize) -> String| (0..11).map(make).collect::<Vec<_>>();

    // SendMessageBatch. C: moto#1799, vinyldns#347, broadway_sqs#49, NServiceBus.AmazonSQS#303,
    // aws-sdk-java-v2#5888 quoting AWS.
    let err = try_send_batch(&client, &url, vec![]).await.unwrap_err();
    assert_is(&err, |e| {
        matches!(e, SendMessageBatchError::EmptyBatchRequest(_))
    });
    assert_error(
        &err,
        "AWS.SimpleQueueService.EmptyBatchRequest",
        Some("There should be at least one SendMessageBatchRequestEntry in the request."),
    );
    let err = client
        .send_message_batch()
        .queue_url(&url)
        .set_entries(Some(
            eleven(&|i| format!("e{i}"))
                .iter()
                .map(|id| send_entry(id, "x"))
                .collect(),
        ))
        .send()
        .await
        .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, SendMessageBatchError::TooManyEntriesInBatchRequest(_))
    });
    assert_error(
        &err,
        "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
        Some("Maximum number of entries per request are 10. You have sent 11."),
    );
    let err = try_send_batch(
        &client,
        &url,
        vec![
            send_entry("same", "a"),
            send_entry("other", "b"),
            send_entry("same", "c"),
        ],
    )
    .await
    .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, SendMessageBatchError::BatchEntryIdsNotDistinct(_))
    });
    assert_error(
        &err,
        "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
        Some("Id same repeated."),
    );
    let bad_id_message = "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.";
    for bad_id in ["has space", "dot.ted", &"x".repeat(81), ""] {
        let err = try_send_batch(&client, &url, vec![send_entry(bad_id, "x")])
            .await
            .unwrap_err();
        assert!(
            matches!(
                err.as_service_error(),
                Some(SendMessageBatchError::InvalidBatchEntryId(_))
            ),
            "{bad_id:?}: {err:?}"
        );
        assert_error(
            &err,
            "AWS.SimpleQueueService.InvalidBatchEntryId",
            Some(bad_id_message),
        );
    }
    // An 80-character id of every allowed kind of character is fine.
    let long_id = format!("{}-_aZ9", "y".repeat(75));
    let out = try_send_batch(&client, &url, vec![send_entry(&long_id, "long id")])
        .await
        .unwrap();
    assert_eq!(out.successful()[0].id(), long_id);
    // Two bodies of 600,000 bytes, each allowed alone, are too much together.
    let big = "b".repeat(600_000);
    let err = try_send_batch(
        &client,
        &url,
        vec![send_entry("one", &big), send_entry("two", &big)],
    )
    .await
    .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, SendMessageBatchError::BatchRequestTooLong(_))
    });
    assert_error(
        &err,
        "AWS.SimpleQueueService.BatchRequestTooLong",
        Some("Batch requests cannot be longer than 1048576 bytes. You have sent 1200000 bytes."),
    );
    // Ten bodies of 100,000 bytes (1,000,000 in all) fit.
    let out = client
        .send_message_batch()
        .queue_url(&url)
        .set_entries(Some(
            (0..10)
                .map(|i| send_entry(&format!("e{i}"), &"c".repeat(100_000)))
                .collect(),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(out.successful().len(), 10);
    assert!(out.failed().is_empty());

    // DeleteMessageBatch. C: aws-sdk-php#630 for the empty text.
    let err = try_delete_batch(&client, &url, vec![]).await.unwrap_err();
    assert_is(&err, |e| {
        matches!(e, DeleteMessageBatchError::EmptyBatchRequest(_))
    });
    assert_error(
        &err,
        "AWS.SimpleQueueService.EmptyBatchRequest",
        Some("There should be at least one DeleteMessageBatchRequestEntry in the request."),
    );
    let err = client
        .delete_message_batch()
        .queue_url(&url)
        .set_entries(Some(
            eleven(&|i| format!("e{i}"))
                .iter()
                .map(|id| delete_entry(id, "h"))
                .collect(),
        ))
        .send()
        .await
        .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, DeleteMessageBatchError::TooManyEntriesInBatchRequest(_))
    });
    assert_error(
        &err,
        "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
        Some("Maximum number of entries per request are 10. You have sent 11."),
    );
    let err = try_delete_batch(
        &client,
        &url,
        vec![delete_entry("dup", "h1"), delete_entry("dup", "h2")],
    )
    .await
    .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, DeleteMessageBatchError::BatchEntryIdsNotDistinct(_))
    });
    assert_error(
        &err,
        "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
        Some("Id dup repeated."),
    );
    let err = try_delete_batch(&client, &url, vec![delete_entry("bad/id", "h")])
        .await
        .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, DeleteMessageBatchError::InvalidBatchEntryId(_))
    });
    assert_error(
        &err,
        "AWS.SimpleQueueService.InvalidBatchEntryId",
        Some(bad_id_message),
    );

    // ChangeMessageVisibilityBatch (the empty text by analogy, G).
    let err = try_visibility_batch(&client, &url, vec![])
        .await
        .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, ChangeMessageVisibilityBatchError::EmptyBatchRequest(_))
    });
    assert_error(
        &err,
        "AWS.SimpleQueueService.EmptyBatchRequest",
        Some(
            "There should be at least one ChangeMessageVisibilityBatchRequestEntry in the request.",
        ),
    );
    let err = client
        .change_message_visibility_batch()
        .queue_url(&url)
        .set_entries(Some(
            eleven(&|i| format!("e{i}"))
                .iter()
                .map(|id| visibility_entry(id, "h", 1))
                .collect(),
        ))
        .send()
        .await
        .unwrap_err();
    assert_is(&err, |e| {
        matches!(
            e,
            ChangeMessageVisibilityBatchError::TooManyEntriesInBatchRequest(_)
        )
    });
    assert_error(
        &err,
        "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
        Some("Maximum number of entries per request are 10. You have sent 11."),
    );
    let err = try_visibility_batch(
        &client,
        &url,
        vec![
            visibility_entry("dup", "h1", 1),
            visibility_entry("dup", "h2", 1),
        ],
    )
    .await
    .unwrap_err();
    assert_is(&err, |e| {
        matches!(
            e,
            ChangeMessageVisibilityBatchError::BatchEntryIdsNotDistinct(_)
        )
    });
    assert_error(
        &err,
        "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
        Some("Id dup repeated."),
    );
    let err = try_visibility_batch(
        &client,
        &url,
        vec![visibility_entry(&"z".repeat(81), "h", 1)],
    )
    .await
    .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, ChangeMessageVisibilityBatchError::InvalidBatchEntryId(_))
    });
    assert_error(
        &err,
        "AWS.SimpleQueueService.InvalidBatchEntryId",
        Some(bad_id_message),
    );
    // None of the rejected batches sent anything: 1 + 10 messages are in the queue.
    assert_eq!(counts(&client, &url).await, (11, 0, 0));
    server.shutdown().await;
}

#[tokio::test]
async fn receive_message_rejects_out_of_range_parameters() {
    let server = TestServer::start().await;
    let client = server.client();
    let url = create(&client, "receive-errors").await;
    // C: aws-sdk-java#197.
    for max in [0, 11] {
        let err = client
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(max)
            .send()
            .await
            .unwrap_err();
        assert_error(
            &err,
            "InvalidParameterValue",
            Some(&format!("Value {max} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.")),
        );
    }
    // C: argo-events#260.
    for wait in [-1, 21] {
        let err = client
            .receive_message()
            .queue_url(&url)
            .wait_time_seconds(wait)
            .send()
            .await
            .unwrap_err();
        assert_error(
            &err,
            "InvalidParameterValue",
            Some(&format!("Value {wait} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.")),
        );
    }
    // G wording.
    for visibility in [-1, 43_201] {
        let err = client
            .receive_message()
            .queue_url(&url)
            .visibility_timeout(visibility)
            .send()
            .await
            .unwrap_err();
        assert_error(&err, "InvalidParameterValue", None);
        assert!(parts(&err).2.contains("VisibilityTimeout"), "{err:?}");
    }
    // The edges are allowed.
    send(&client, &url, "edge").await;
    let out = client
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .wait_time_seconds(0)
        .visibility_timeout(43_200)
        .send()
        .await
        .unwrap();
    assert_eq!(out.messages().len(), 1);
    server.shutdown().await;
}

/// Runs each message action on `url`, asserts that each fails with the `QueueDoesNotExist` variant of
/// its operation's error, and returns each operation's name with the error's status, code and message.
async fn message_action_errors(
    client: &Client,
    url: &str,
) -> Vec<(&'static str, (u16, String, String))> {
    let mut out = Vec::new();
    let err = client
        .send_message()
        .queue_url(url)
        .message_body("x")
        .send()
        .await
        .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, SendMessageError::QueueDoesNotExist(_))
    });
    out.push(("SendMessage", parts(&err)));
    let err = try_send_batch(client, url, vec![send_entry("a", "x")])
        .await
        .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, SendMessageBatchError::QueueDoesNotExist(_))
    });
    out.push(("SendMessageBatch", parts(&err)));
    let err = client
        .receive_message()
        .queue_url(url)
        .send()
        .await
        .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, ReceiveMessageError::QueueDoesNotExist(_))
    });
    out.push(("ReceiveMessage", parts(&err)));
    let err = client
        .delete_message()
        .queue_url(url)
        .receipt_handle("h")
        .send()
        .await
        .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, DeleteMessageError::QueueDoesNotExist(_))
    });
    out.push(("DeleteMessage", parts(&err)));
    let err = try_delete_batch(client, url, vec![delete_entry("a", "h")])
        .await
        .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, DeleteMessageBatchError::QueueDoesNotExist(_))
    });
    out.push(("DeleteMessageBatch", parts(&err)));
    let err = client
        .change_message_visibility()
        .queue_url(url)
        .receipt_handle("h")
        .visibility_timeout(1)
        .send()
        .await
        .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, ChangeMessageVisibilityError::QueueDoesNotExist(_))
    });
    out.push(("ChangeMessageVisibility", parts(&err)));
    let err = try_visibility_batch(client, url, vec![visibility_entry("a", "h", 1)])
        .await
        .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, ChangeMessageVisibilityBatchError::QueueDoesNotExist(_))
    });
    out.push(("ChangeMessageVisibilityBatch", parts(&err)));
    out
}

#[tokio::test]
async fn message_actions_on_a_missing_queue_are_queue_does_not_exist() {
    let server = TestServer::start().await;
    let client = server.client();
    let url = server.queue_url("never-created");
    let code = "AWS.SimpleQueueService.NonExistentQueue";
    let message = "The specified queue does not exist.";
    for (operation, (s, c, m)) in message_action_errors(&client, &url).await {
        assert_eq!((s, c.as_str()), (400, code), "{operation}");
        assert_eq!(m, message, "{operation}");
    }
    server.shutdown().await;
}

/// A `QueueUrl` that is no queue's URL names a queue that does not exist, as SQS answers it.
#[tokio::test]
async fn message_actions_on_a_queue_url_that_is_not_one_are_queue_does_not_exist() {
    let server = TestServer::start().await;
    let client = server.client();
    for url in ["http://whatever-incorrect-queue-address", "not a queue url"] {
        for (operation, (s, c, m)) in message_action_errors(&client, url).await {
            assert_eq!(
                (s, c.as_str(), m.as_str()),
                (
                    400,
                    "AWS.SimpleQueueService.NonExistentQueue",
                    "The specified queue does not exist."
                ),
                "{operation} {url}"
            );
        }
    }
    server.shutdown().await;
}

/// Every message action takes a bare queue name for its `QueueUrl`.
#[tokio::test]
async fn message_actions_take_a_bare_queue_name() {
    let server = TestServer::start().await;
    let client = server.client();
    create(&client, "orders").await;
    let id = send(&client, "orders", "first").await;
    let batch = try_send_batch(&client, "orders", vec![send_entry("a", "second")])
        .await
        .unwrap();
    assert_eq!(batch.successful().len(), 1);
    let out = client
        .receive_message()
        .queue_url("orders")
        .max_number_of_messages(10)
        .wait_time_seconds(0)
        .send()
        .await
        .unwrap();
    let messages = out.messages();
    assert_eq!(messages.len(), 2);
    assert!(messages.iter().any(|m| m.message_id() == Some(id.as_str())));
    let handle = |i: usize| messages[i].receipt_handle().unwrap_or_default().to_string();
    client
        .change_message_visibility()
        .queue_url("orders")
        .receipt_handle(handle(0))
        .visibility_timeout(60)
        .send()
        .await
        .unwrap();
    let changed = try_visibility_batch(
        &client,
        "orders",
        vec![visibility_entry("a", &handle(1), 60)],
    )
    .await
    .unwrap();
    assert_eq!(changed.successful().len(), 1);
    client
        .delete_message()
        .queue_url("orders")
        .receipt_handle(handle(0))
        .send()
        .await
        .unwrap();
    let deleted = try_delete_batch(&client, "orders", vec![delete_entry("a", &handle(1))])
        .await
        .unwrap();
    assert_eq!(deleted.successful().len(), 1);
    client
        .purge_queue()
        .queue_url("orders")
        .send()
        .await
        .unwrap();
    server.shutdown().await;
}

// ---------------------------------------------------------------------------------------------------------
// Concurrency (durable storage)
// ---------------------------------------------------------------------------------------------------------

const PRODUCERS: usize = 8;
const CONSUMERS: usize = 8;
const TOTAL: usize = 20_000;
const STRESS_DEADLINE: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_producers_and_consumers_lose_nothing() {
    let _exclusive = EXCLUSIVE.lock().await;
    let dir = TempDir::new("stress");
    let server = TestServer::start_in(dir.path()).await;
    let admin = server.client();
    // Long enough that nothing is delivered twice unless something is wrong.
    let url = create_with(&admin, "stress", &[(A::VisibilityTimeout, "120")]).await;
    let per_producer = TOTAL / PRODUCERS;
    let received: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let deleted: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let deleted_count = Arc::new(AtomicUsize::new(0));
    let receive_calls = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();

    let work = async {
        let mut producers = Vec::new();
        for p in 0..PRODUCERS {
            let client = server.client();
            let url = url.clone();
            producers.push(tokio::spawn(async move {
                for batch in 0..per_producer / 10 {
                    let entries: Vec<_> = (0..10)
                        .map(|i| {
                            let n = batch * 10 + i;
                            send_entry(&format!("e{i}"), &format!("p{p}-m{n}"))
                        })
                        .collect();
                    let bodies: HashMap<String, String> = entries
                        .iter()
                        .map(|e| (e.id().to_string(), e.message_body().to_string()))
                        .collect();
                    let out = client
                        .send_message_batch()
                        .queue_url(&url)
                        .set_entries(Some(entries))
                        .send()
                        .await
                        .unwrap_or_else(|e| panic!("producer {p} batch {batch}: {e:?}"));
                    assert!(out.failed().is_empty(), "{:?}", out.failed());
                    assert_eq!(out.successful().len(), 10);
                    for s in out.successful() {
                        assert_eq!(s.md5_of_message_body(), md5_hex(bodies[s.id()].as_bytes()));
                    }
                }
            }));
        }
        let mut consumers = Vec::new();
        for c in 0..CONSUMERS {
            let client = server.client();
            let url = url.clone();
            let received = received.clone();
            let deleted = deleted.clone();
            let deleted_count = deleted_count.clone();
            let receive_calls = receive_calls.clone();
            consumers.push(tokio::spawn(async move {
                while deleted_count.load(Ordering::SeqCst) < TOTAL {
                    receive_calls.fetch_add(1, Ordering::Relaxed);
                    let out = client
                        .receive_message()
                        .queue_url(&url)
                        .max_number_of_messages(10)
                        .wait_time_seconds(1)
                        .send()
                        .await
                        .unwrap_or_else(|e| panic!("consumer {c} receive: {e:?}"));
                    let messages = out.messages();
                    if messages.is_empty() {
                        continue;
                    }
                    {
                        let mut received = received.lock().unwrap();
                        for m in messages {
                            assert_eq!(m.md5_of_body(), Some(md5_hex(body(m).as_bytes()).as_str()));
                            *received.entry(body(m)).or_default() += 1;
                        }
                    }
                    let entries: Vec<_> = messages
                        .iter()
                        .enumerate()
                        .map(|(i, m)| delete_entry(&format!("d{i}"), &handle(m)))
                        .collect();
                    let out = client
                        .delete_message_batch()
                        .queue_url(&url)
                        .set_entries(Some(entries))
                        .send()
                        .await
                        .unwrap_or_else(|e| panic!("consumer {c} delete: {e:?}"));
                    assert!(out.failed().is_empty(), "{:?}", out.failed());
                    assert_eq!(out.successful().len(), messages.len());
                    let mut deleted = deleted.lock().unwrap();
                    for m in messages {
                        if deleted.insert(body(m)) {
                            deleted_count.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                }
            }));
        }
        for p in producers {
            p.await.expect("producer");
        }
        let produced_in = started.elapsed();
        for c in consumers {
            c.await.expect("consumer");
        }
        produced_in
    };
    let produced_in = match tokio::time::timeout(STRESS_DEADLINE, work).await {
        Ok(t) => t,
        Err(_) => panic!(
            "not done within {STRESS_DEADLINE:?}: {} received, {} deleted",
            received.lock().unwrap().len(),
            deleted_count.load(Ordering::SeqCst)
        ),
    };
    let elapsed = started.elapsed();

    let received = received.lock().unwrap().clone();
    let deleted = deleted.lock().unwrap().clone();
    let expected: BTreeSet<String> = (0..PRODUCERS)
        .flat_map(|p| (0..per_producer).map(move |n| format!("p{p}-m{n}")))
        .collect();
    let received_set: BTreeSet<String> = received.keys().cloned().collect();
    let lost: Vec<_> = expected.difference(&received_set).take(10).collect();
    let unexpected: Vec<_> = received_set.difference(&expected).take(10).collect();
    let redelivered = received.values().filter(|n| **n > 1).count();
    let deliveries: u32 = received.values().sum();
    let final_counts = counts(&admin, &url).await;
    println!(
        "stress: {PRODUCERS} producers, {CONSUMERS} consumers, {} sent, {} received ({deliveries} deliveries, \
         {redelivered} redelivered), {} deleted, {} receive calls; sends done in {produced_in:?}, all done in \
         {elapsed:?} ({:.0} msg/s); final counts (visible, not visible, delayed) = {final_counts:?}",
        expected.len(),
        received_set.len(),
        deleted.len(),
        receive_calls.load(Ordering::Relaxed),
        TOTAL as f64 / elapsed.as_secs_f64()
    );
    assert_eq!(expected.len(), TOTAL);
    assert!(lost.is_empty(), "never received: {lost:?}");
    assert!(
        unexpected.is_empty(),
        "received but never sent: {unexpected:?}"
    );
    assert_eq!(deleted, expected, "every message deleted");
    assert_eq!(final_counts, (0, 0, 0));
    // Nothing is left to receive.
    assert!(receive(&admin, &url, 10, 30, 0).await.is_empty());
    server.shutdown().await;

    // Every one of the 20,000 deletes was made durable: nothing comes back after a restart.
    let restarted_at = Instant::now();
    let server = TestServer::start_in(dir.path()).await;
    let recovered_in = restarted_at.elapsed();
    let admin = server.client();
    let url = queue_url(&admin, "stress").await;
    assert_eq!(counts(&admin, &url).await, (0, 0, 0));
    assert!(receive(&admin, &url, 10, 30, 0).await.is_empty());
    println!("stress: restart on the same data directory took {recovered_in:?}");
    server.shutdown().await;
}

// ---------------------------------------------------------------------------------------------------------
// Restart
// ---------------------------------------------------------------------------------------------------------

async fn queue_url(client: &Client, name: &str) -> String {
    client
        .get_queue_url()
        .queue_name(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetQueueUrl {name}: {e:?}"))
        .queue_url()
        .unwrap()
        .to_string()
}

async fn queue_names(client: &Client) -> BTreeSet<String> {
    client
        .list_queues()
        .send()
        .await
        .unwrap()
        .queue_urls()
        .iter()
        .map(|u| u.rsplit('/').next().unwrap().to_string())
        .collect()
}

/// Queue attributes without the message counters, which move with time.
fn settled(mut attributes: BTreeMap<String, String>) -> BTreeMap<String, String> {
    attributes.retain(|k, _| !k.starts_with("ApproximateNumberOfMessages"));
    attributes
}

#[tokio::test]
async fn state_survives_a_graceful_restart() {
    // Its timing windows (visibility and delay deadlines) want a quiet machine.
    let _exclusive = EXCLUSIVE.lock().await;
    let dir = TempDir::new("restart");
    let attributes = every_kind_of_attribute();

    // ---- First run: queues, tags, attributes and messages in every state.
    let first = TestServer::start_in(dir.path()).await;
    let client = first.client();
    let url = create_with(
        &client,
        "kept",
        &[
            (A::VisibilityTimeout, "40"),
            (A::MaximumMessageSize, "4096"),
        ],
    )
    .await;
    try_set(
        &client,
        &url,
        &[
            (A::VisibilityTimeout, "45"),
            (A::MessageRetentionPeriod, "86400"),
        ],
    )
    .await
    .unwrap();
    client
        .tag_queue()
        .queue_url(&url)
        .tags("team", "core")
        .tags("env", "test")
        .tags("drop", "me")
        .send()
        .await
        .unwrap();
    client
        .untag_queue()
        .queue_url(&url)
        .tag_keys("drop")
        .send()
        .await
        .unwrap();
    let other_url = create(&client, "other").await;
    let fifo_url = create_with(
        &client,
        "ordered.fifo",
        &[
            (A::FifoQueue, "true"),
            (A::ContentBasedDeduplication, "true"),
        ],
    )
    .await;
    let gone_url = create(&client, "gone").await;
    client
        .delete_queue()
        .queue_url(&gone_url)
        .send()
        .await
        .unwrap();

    let mut sent_ids = HashMap::new();
    for i in 0..8 {
        let text = format!("m{i}");
        let out = client
            .send_message()
            .queue_url(&url)
            .message_body(&text)
            .set_message_attributes(Some(attributes.clone()))
            .message_system_attributes(
                MessageSystemAttributeNameForSends::AwsTraceHeader,
                trace_header(TRACE_HEADER),
            )
            .send()
            .await
            .unwrap();
        sent_ids.insert(text, out.message_id().unwrap().to_string());
    }
    let delayed_sent = Instant::now();
    client
        .send_message()
        .queue_url(&url)
        .message_body("delayed")
        .delay_seconds(6)
        .send()
        .await
        .unwrap();
    // Receive six, one at a time: a short visibility (4 s), two long ones, one of 3 s extended to 10
    // minutes by a batch, and two deleted (one by a batch).
    let short = receive(&client, &url, 1, 4, 0).await.remove(0);
    let short_received = Instant::now();
    let long = receive(&client, &url, 1, 600, 0).await.remove(0);
    let revealed = receive(&client, &url, 1, 600, 0).await.remove(0);
    let extended = receive(&client, &url, 1, 3, 0).await.remove(0);
    let out = try_visibility_batch(
        &client,
        &url,
        vec![visibility_entry("extend", &handle(&extended), 600)],
    )
    .await
    .unwrap();
    assert_eq!(out.successful().len(), 1, "{out:?}");
    let deleted = receive(&client, &url, 1, 600, 0).await.remove(0);
    client
        .delete_message()
        .queue_url(&url)
        .receipt_handle(handle(&deleted))
        .send()
        .await
        .unwrap();
    let batch_deleted = receive(&client, &url, 1, 600, 0).await.remove(0);
    let out = try_delete_batch(
        &client,
        &url,
        vec![delete_entry("gone", &handle(&batch_deleted))],
    )
    .await
    .unwrap();
    assert_eq!(out.successful().len(), 1, "{out:?}");
    let in_flight: BTreeSet<String> = [
        &short,
        &long,
        &revealed,
        &extended,
        &deleted,
        &batch_deleted,
    ]
    .into_iter()
    .map(body)
    .collect();
    assert_eq!(in_flight.len(), 6);
    let untouched: BTreeSet<String> = (0..8)
        .map(|i| format!("m{i}"))
        .filter(|b| !in_flight.contains(b))
        .collect();
    assert_eq!(untouched.len(), 2);
    assert_eq!(counts(&client, &url).await, (2, 4, 1));
    let kept_before = settled(all_queue_attributes(&client, &url).await);
    let other_before = settled(all_queue_attributes(&client, &other_url).await);
    let fifo_before = settled(all_queue_attributes(&client, &fifo_url).await);
    let tags_before = tags(&client, &url).await;
    assert_eq!(
        tags_before,
        HashMap::from([
            ("team".to_string(), "core".to_string()),
            ("env".to_string(), "test".to_string())
        ])
    );
    first.shutdown().await;

    // ---- Second run on the same directory.
    let second = TestServer::start_in(dir.path()).await;
    let client = second.client();
    assert_eq!(
        queue_names(&client).await,
        BTreeSet::from([
            "kept".to_string(),
            "other".to_string(),
            "ordered.fifo".to_string()
        ])
    );
    let url = queue_url(&client, "kept").await;
    let other_url = queue_url(&client, "other").await;
    let fifo_url = queue_url(&client, "ordered.fifo").await;
    let err = client
        .get_queue_url()
        .queue_name("gone")
        .send()
        .await
        .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, GetQueueUrlError::QueueDoesNotExist(_))
    });
    // The deletion's 60-second rule is remembered too.
    let err = try_create(&client, "gone", &[]).await.unwrap_err();
    assert_is(&err, |e| {
        matches!(e, CreateQueueError::QueueDeletedRecently(_))
    });
    assert_eq!(
        settled(all_queue_attributes(&client, &url).await),
        kept_before
    );
    assert_eq!(
        settled(all_queue_attributes(&client, &other_url).await),
        other_before
    );
    assert_eq!(
        settled(all_queue_attributes(&client, &fifo_url).await),
        fifo_before
    );
    assert_eq!(tags(&client, &url).await, tags_before);

    // Counters as before (the short visibility and the delay have not run out yet).
    assert!(
        short_received.elapsed() < Duration::from_millis(2500),
        "restart took too long"
    );
    assert_eq!(counts(&client, &url).await, (2, 4, 1));
    // Only the untouched messages can be received, received for the first time, intact.
    let got = receive(&client, &url, 10, 600, 0).await;
    assert_eq!(got.iter().map(body).collect::<BTreeSet<_>>(), untouched);
    for m in &got {
        assert_eq!(m.message_id(), Some(sent_ids[&body(m)].as_str()));
        assert_eq!(receive_count(m), 1);
        assert_eq!(m.md5_of_body(), Some(md5_hex(body(m).as_bytes()).as_str()));
        assert_same_attributes(m.message_attributes(), &attributes);
        assert_eq!(
            m.md5_of_message_attributes(),
            md5_of_attributes(&attributes).as_deref()
        );
        assert_eq!(system_attribute(m, &S::AwsTraceHeader), Some(TRACE_HEADER));
    }
    // Handles issued before the restart still work: one deletes, one changes visibility.
    client
        .delete_message()
        .queue_url(&url)
        .receipt_handle(handle(&long))
        .send()
        .await
        .unwrap();
    client
        .change_message_visibility()
        .queue_url(&url)
        .receipt_handle(handle(&revealed))
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    let again = receive(&client, &url, 10, 600, 0).await;
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(body(&again[0]), body(&revealed));
    assert_eq!(receive_count(&again[0]), 2, "receive counts continue");
    assert_eq!(
        system_attribute(&again[0], &S::ApproximateFirstReceiveTimestamp),
        system_attribute(&revealed, &S::ApproximateFirstReceiveTimestamp)
    );
    assert_eq!(
        system_attribute(&again[0], &S::SentTimestamp),
        system_attribute(&revealed, &S::SentTimestamp)
    );
    for m in got.iter().chain(&again) {
        client
            .delete_message()
            .queue_url(&url)
            .receipt_handle(handle(m))
            .send()
            .await
            .unwrap();
    }
    // Left: the short and the extended in-flight messages (hidden) and the delayed one.
    assert_eq!(counts(&client, &url).await, (0, 2, 1));
    // The short in-flight message comes back at its deadline, not before, with its count continued.
    // (Had the extension been lost, the extended message would come back first, after 3 s.)
    let back = receive(&client, &url, 1, 600, 10).await;
    let back_after = short_received.elapsed();
    assert_eq!(back.len(), 1);
    assert_eq!(
        body(&back[0]),
        body(&short),
        "after {back_after:?}, expected the message whose 4 s visibility ran out"
    );
    assert_eq!(receive_count(&back[0]), 2);
    assert!(
        back_after >= Duration::from_millis(3800) && back_after < Duration::from_secs(8),
        "visible again after {back_after:?}, its timeout was 4 s"
    );
    // The delayed message appears after its delay, received for the first time.
    let delayed = receive(&client, &url, 1, 600, 10).await;
    let delayed_after = delayed_sent.elapsed();
    assert_eq!(delayed.len(), 1);
    assert_eq!(body(&delayed[0]), "delayed");
    assert_eq!(receive_count(&delayed[0]), 1);
    assert!(
        delayed_after >= Duration::from_millis(5800) && delayed_after < Duration::from_secs(10),
        "delayed message after {delayed_after:?}, its delay was 6 s"
    );
    client
        .delete_message()
        .queue_url(&url)
        .receipt_handle(handle(&back[0]))
        .send()
        .await
        .unwrap();
    // The deleted message never returns; a message for the third run stays behind.
    assert!(receive(&client, &url, 10, 600, 0).await.is_empty());
    send(&client, &url, "for the third run").await;
    assert_eq!(counts(&client, &url).await, (1, 2, 0));
    second.shutdown().await;

    // ---- Third run: what the second run wrote after its recovery is kept as well.
    let third = TestServer::start_in(dir.path()).await;
    let client = third.client();
    let url = queue_url(&client, "kept").await;
    assert_eq!(counts(&client, &url).await, (1, 2, 0));
    let last = receive(&client, &url, 10, 30, 0).await;
    assert_eq!(last.len(), 1);
    assert_eq!(body(&last[0]), "for the third run");
    client
        .delete_message()
        .queue_url(&url)
        .receipt_handle(handle(&delayed[0]))
        .send()
        .await
        .unwrap();
    client
        .delete_message()
        .queue_url(&url)
        .receipt_handle(handle(&last[0]))
        .send()
        .await
        .unwrap();
    // A handle from the first run, two restarts ago.
    client
        .delete_message()
        .queue_url(&url)
        .receipt_handle(handle(&extended))
        .send()
        .await
        .unwrap();
    assert_eq!(counts(&client, &url).await, (0, 0, 0));
    assert_eq!(
        settled(all_queue_attributes(&client, &url).await),
        kept_before
    );
    third.shutdown().await;
}
