//! Queue management through the official Rust SDK (`aws-sdk-sqs`, AWS JSON 1.0 with the awsQueryCompatible
//! error header), against an in-process server per test.
//!
//! Expected behaviour comes from the SQS API reference (CreateQueue, GetQueueAttributes,
//! SetQueueAttributes), the service models and the notes on real AWS responses. Where an expectation is
//! only recalled or inferred rather than confirmed, the assertion says so in a comment.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_sqs::operation::add_permission::AddPermissionError;
use aws_sdk_sqs::operation::create_queue::CreateQueueError;
use aws_sdk_sqs::operation::delete_queue::DeleteQueueError;
use aws_sdk_sqs::operation::get_queue_attributes::GetQueueAttributesError;
use aws_sdk_sqs::operation::get_queue_url::GetQueueUrlError;
use aws_sdk_sqs::operation::list_dead_letter_source_queues::ListDeadLetterSourceQueuesError;
use aws_sdk_sqs::operation::list_queue_tags::ListQueueTagsError;
use aws_sdk_sqs::operation::purge_queue::PurgeQueueError;
use aws_sdk_sqs::operation::remove_permission::RemovePermissionError;
use aws_sdk_sqs::operation::set_queue_attributes::SetQueueAttributesError;
use aws_sdk_sqs::operation::tag_queue::TagQueueError;
use aws_sdk_sqs::operation::untag_queue::UntagQueueError;
use aws_sdk_sqs::types::QueueAttributeName as A;
use aws_sdk_sqs::Client;
use common::{
    assert_is, assert_service_error as assert_error, create, create_with, now_seconds, parts, tags,
    try_create, try_set, TestServer, DEFAULT_ACCOUNT,
};
use sluice_server::QueueSpec;

const NON_EXISTENT_CODE: &str = "AWS.SimpleQueueService.NonExistentQueue";
const NON_EXISTENT_MESSAGE: &str = "The specified queue does not exist.";
const BAD_NAME_MESSAGE: &str =
    "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length";
const BAD_FIFO_NAME_MESSAGE: &str = "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.";

async fn attributes(client: &Client, url: &str, names: &[A]) -> BTreeMap<String, String> {
    let mut request = client.get_queue_attributes().queue_url(url);
    for name in names {
        request = request.attribute_names(name.clone());
    }
    let out = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetQueueAttributes {url}: {e:?}"));
    out.attributes()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.as_str().to_string(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

async fn all_attributes(client: &Client, url: &str) -> BTreeMap<String, String> {
    attributes(client, url, &[A::All]).await
}

fn set_of(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

// ---------------------------------------------------------------------------------------------------------
// CreateQueue, GetQueueUrl, DeleteQueue
// ---------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn create_get_url_and_delete_round_trip() {
    let server = TestServer::start().await;
    let client = server.client();

    let url = create(&client, "orders").await;
    assert_eq!(url, server.queue_url("orders"));

    let got = client
        .get_queue_url()
        .queue_name("orders")
        .send()
        .await
        .unwrap();
    assert_eq!(got.queue_url(), Some(url.as_str()));

    // CreateQueue on an existing name with no attributes returns the same URL.
    assert_eq!(create(&client, "orders").await, url);

    let listed = client.list_queues().send().await.unwrap();
    assert_eq!(listed.queue_urls(), std::slice::from_ref(&url));

    client.delete_queue().queue_url(&url).send().await.unwrap();
    let err = client
        .get_queue_url()
        .queue_name("orders")
        .send()
        .await
        .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, GetQueueUrlError::QueueDoesNotExist(_))
    });
    let listed = client.list_queues().send().await.unwrap();
    assert!(listed.queue_urls().is_empty(), "{listed:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn create_queue_with_attributes_and_tags_as_in_the_api_reference() {
    // The CreateQueue API reference's JSON example: MyQueue, VisibilityTimeout 40, tag QueueType=Production.
    let server = TestServer::start().await;
    let client = server.client();
    let out = client
        .create_queue()
        .queue_name("MyQueue")
        .attributes(A::VisibilityTimeout, "40")
        .tags("QueueType", "Production")
        .send()
        .await
        .unwrap();
    let url = out.queue_url().unwrap().to_string();
    assert_eq!(url, server.queue_url("MyQueue"));
    let attrs = attributes(&client, &url, &[A::VisibilityTimeout, A::DelaySeconds]).await;
    assert_eq!(
        attrs,
        BTreeMap::from([
            ("VisibilityTimeout".to_string(), "40".to_string()),
            ("DelaySeconds".to_string(), "0".to_string()),
        ])
    );
    assert_eq!(
        tags(&client, &url).await,
        HashMap::from([("QueueType".to_string(), "Production".to_string())])
    );

    // The same name with exactly the same attributes returns the existing queue's URL.
    let again = try_create(&client, "MyQueue", &[(A::VisibilityTimeout, "40")])
        .await
        .unwrap();
    assert_eq!(again.queue_url(), Some(url.as_str()));
    // So does the same name with an attribute given at its current (default) value.
    let again = try_create(&client, "MyQueue", &[(A::DelaySeconds, "0")])
        .await
        .unwrap();
    assert_eq!(again.queue_url(), Some(url.as_str()));
}

#[tokio::test]
async fn same_name_with_different_attributes_is_queue_name_exists() {
    let server = TestServer::start().await;
    let client = server.client();
    try_create(&client, "dup", &[(A::VisibilityTimeout, "40")])
        .await
        .unwrap();
    let err = try_create(&client, "dup", &[(A::VisibilityTimeout, "60")])
        .await
        .unwrap_err();
    assert_is(&err, |e| matches!(e, CreateQueueError::QueueNameExists(_)));
    // No trailing period in AWS's text.
    assert_error(
        &err,
        400,
        "QueueAlreadyExists",
        Some("A queue already exists with the same name and a different value for attribute VisibilityTimeout"),
    );

    // A queue created with defaults, then "created" again with a non-default value.
    create(&client, "dup2").await;
    let err = try_create(&client, "dup2", &[(A::DelaySeconds, "5")])
        .await
        .unwrap_err();
    assert_is(&err, |e| matches!(e, CreateQueueError::QueueNameExists(_)));
    assert_error(
        &err,
        400,
        "QueueAlreadyExists",
        Some("A queue already exists with the same name and a different value for attribute DelaySeconds"),
    );
}

#[tokio::test]
async fn bad_queue_names_are_invalid_parameter_value() {
    let server = TestServer::start().await;
    let client = server.client();
    let too_long = "a".repeat(81);
    for name in [
        "bad name",
        "bad!",
        "dots.in.name",
        "q.fifo",
        too_long.as_str(),
    ] {
        let err = try_create(&client, name, &[]).await.unwrap_err();
        assert_error(&err, 400, "InvalidParameterValue", Some(BAD_NAME_MESSAGE));
    }
    // FifoQueue=true with a name that does not end in .fifo, or a .fifo name that is too long.
    let long_fifo = format!("{}.fifo", "a".repeat(76));
    for name in ["nofifo", ".fifo", long_fifo.as_str(), "bad name.fifo"] {
        let err = try_create(&client, name, &[(A::FifoQueue, "true")])
            .await
            .unwrap_err();
        assert_error(
            &err,
            400,
            "InvalidParameterValue",
            Some(BAD_FIFO_NAME_MESSAGE),
        );
    }
    // FifoQueue=false is an unknown attribute to SQS, whatever the name.
    let err = try_create(&client, "plain", &[(A::FifoQueue, "false")])
        .await
        .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, CreateQueueError::InvalidAttributeName(_))
    });
    assert_error(
        &err,
        400,
        "InvalidAttributeName",
        Some("Unknown Attribute FifoQueue."),
    );

    // The limits themselves are valid: 80 characters, including the .fifo suffix.
    let eighty = "a".repeat(80);
    assert_eq!(
        create(&client, &eighty).await,
        server.queue_url(&eighty),
        "80 characters is allowed"
    );
    let fifo80 = format!("{}.fifo", "b".repeat(75));
    try_create(&client, &fifo80, &[(A::FifoQueue, "true")])
        .await
        .unwrap();
    create(&client, "Mixed_Case-123").await;
    let listed = client.list_queues().send().await.unwrap();
    assert_eq!(listed.queue_urls().len(), 3, "{listed:?}");
}

// ---------------------------------------------------------------------------------------------------------
// Missing queues
// ---------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_action_on_a_missing_queue_is_queue_does_not_exist() {
    let server = TestServer::start().await;
    let client = server.client();
    let missing = server.queue_url("missing");
    let check = |status, code: &str, message: &str, what: &str| {
        assert_eq!(
            (status, code, message),
            (400, NON_EXISTENT_CODE, NON_EXISTENT_MESSAGE),
            "{what}"
        );
    };

    let err = client
        .get_queue_url()
        .queue_name("missing")
        .send()
        .await
        .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, GetQueueUrlError::QueueDoesNotExist(_))
    });
    let (s, c, m) = parts(&err);
    check(s, &c, &m, "GetQueueUrl");

    let err = client
        .get_queue_attributes()
        .queue_url(&missing)
        .attribute_names(A::All)
        .send()
        .await
        .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, GetQueueAttributesError::QueueDoesNotExist(_))
    });
    let (s, c, m) = parts(&err);
    check(s, &c, &m, "GetQueueAttributes");

    let err = try_set(&client, &missing, &[(A::VisibilityTimeout, "10")])
        .await
        .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, SetQueueAttributesError::QueueDoesNotExist(_))
    });
    let (s, c, m) = parts(&err);
    check(s, &c, &m, "SetQueueAttributes");

    let err = client
        .delete_queue()
        .queue_url(&missing)
        .send()
        .await
        .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, DeleteQueueError::QueueDoesNotExist(_))
    });
    let (s, c, m) = parts(&err);
    check(s, &c, &m, "DeleteQueue");

    let err = client
        .purge_queue()
        .queue_url(&missing)
        .send()
        .await
        .unwrap_err();
    assert_is(&err, |e| matches!(e, PurgeQueueError::QueueDoesNotExist(_)));
    let (s, c, m) = parts(&err);
    check(s, &c, &m, "PurgeQueue");

    let err = client
        .tag_queue()
        .queue_url(&missing)
        .tags("k", "v")
        .send()
        .await
        .unwrap_err();
    assert_is(&err, |e| matches!(e, TagQueueError::QueueDoesNotExist(_)));
    let (s, c, m) = parts(&err);
    check(s, &c, &m, "TagQueue");

    let err = client
        .untag_queue()
        .queue_url(&missing)
        .tag_keys("k")
        .send()
        .await
        .unwrap_err();
    assert_is(&err, |e| matches!(e, UntagQueueError::QueueDoesNotExist(_)));
    let (s, c, m) = parts(&err);
    check(s, &c, &m, "UntagQueue");

    let err = client
        .list_queue_tags()
        .queue_url(&missing)
        .send()
        .await
        .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, ListQueueTagsError::QueueDoesNotExist(_))
    });
    let (s, c, m) = parts(&err);
    check(s, &c, &m, "ListQueueTags");

    let err = client
        .add_permission()
        .queue_url(&missing)
        .label("L")
        .aws_account_ids("111122223333")
        .actions("SendMessage")
        .send()
        .await
        .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, AddPermissionError::QueueDoesNotExist(_))
    });
    let (s, c, m) = parts(&err);
    check(s, &c, &m, "AddPermission");

    let err = client
        .remove_permission()
        .queue_url(&missing)
        .label("L")
        .send()
        .await
        .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, RemovePermissionError::QueueDoesNotExist(_))
    });
    let (s, c, m) = parts(&err);
    check(s, &c, &m, "RemovePermission");

    let err = client
        .list_dead_letter_source_queues()
        .queue_url(&missing)
        .send()
        .await
        .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, ListDeadLetterSourceQueuesError::QueueDoesNotExist(_))
    });
    let (s, c, m) = parts(&err);
    check(s, &c, &m, "ListDeadLetterSourceQueues");
}

/// SQS answers a `QueueUrl` that names no queue as a queue that does not exist, whatever its form:
/// nothing is `InvalidAddress` any more (AWS keeps that code for requests sent to an endpoint that is not
/// its own).
#[tokio::test]
async fn a_queue_url_naming_no_queue_is_queue_does_not_exist() {
    let server = TestServer::start().await;
    let client = server.client();
    create(&client, "present").await;
    for url in [
        "http://whatever-incorrect-queue-address",
        "not-a-queue-url",
        "http://127.0.0.1:1/a/b/c",
        "https://host/",
        // An ARN is not a URL: it is read as a queue name, which cannot hold colons.
        "arn:aws:sqs:us-east-1:000000000000:present",
        "000000000000/present",
    ] {
        let err = client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(A::All)
            .send()
            .await
            .unwrap_err();
        assert_is(&err, |e| {
            matches!(e, GetQueueAttributesError::QueueDoesNotExist(_))
        });
        assert_eq!(
            parts(&err),
            (
                400,
                NON_EXISTENT_CODE.to_string(),
                NON_EXISTENT_MESSAGE.to_string()
            ),
            "{url}"
        );
    }
    server.shutdown().await;
}

/// A bare queue name is a `QueueUrl`, found in the account and region of the request.
#[tokio::test]
async fn a_bare_queue_name_is_a_queue_url_in_the_callers_account_and_region() {
    let server = TestServer::start().await;
    let client = server.client();
    let url = create(&client, "orders").await;
    try_set(&client, "orders", &[(A::DelaySeconds, "3")])
        .await
        .unwrap();
    assert_eq!(
        attributes(&client, "orders", &[A::DelaySeconds]).await["DelaySeconds"],
        "3"
    );
    client
        .tag_queue()
        .queue_url("orders")
        .tags("via", "name")
        .send()
        .await
        .unwrap();
    assert_eq!(tags(&client, &url).await["via"], "name");

    // Another account and another region hold their own `orders`.
    let other = server.client_for("eu-west-1", "123456789012");
    let err = other
        .get_queue_attributes()
        .queue_url("orders")
        .send()
        .await
        .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, GetQueueAttributesError::QueueDoesNotExist(_))
    });
    let other_url = create(&other, "orders").await;
    assert_ne!(other_url, url);
    let arn = attributes(&other, "orders", &[A::QueueArn]).await;
    assert_eq!(arn["QueueArn"], "arn:aws:sqs:eu-west-1:123456789012:orders");

    client
        .delete_queue()
        .queue_url("orders")
        .send()
        .await
        .unwrap();
    assert_eq!(
        client.list_queues().send().await.unwrap().queue_urls(),
        &[] as &[String]
    );
    server.shutdown().await;
}

// ---------------------------------------------------------------------------------------------------------
// Attribute validation
// ---------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn unknown_attribute_names_are_invalid_attribute_name() {
    let server = TestServer::start().await;
    let client = server.client();

    let err = try_create(&client, "q", &[(A::from("Colour"), "blue")])
        .await
        .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, CreateQueueError::InvalidAttributeName(_))
    });
    assert_error(
        &err,
        400,
        "InvalidAttributeName",
        Some("Unknown Attribute Colour."),
    );

    // FIFO-only attributes are unknown on a standard queue (consistent with FifoQueue=false; recalled).
    let err = try_create(&client, "q", &[(A::ContentBasedDeduplication, "true")])
        .await
        .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, CreateQueueError::InvalidAttributeName(_))
    });

    let url = create(&client, "q").await;
    let err = try_set(&client, &url, &[(A::from("Colour"), "blue")])
        .await
        .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, SetQueueAttributesError::InvalidAttributeName(_))
    });
    assert_error(
        &err,
        400,
        "InvalidAttributeName",
        Some("Unknown Attribute Colour."),
    );

    let err = client
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(A::from("Colour"))
        .send()
        .await
        .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, GetQueueAttributesError::InvalidAttributeName(_))
    });
    assert_error(
        &err,
        400,
        "InvalidAttributeName",
        Some("Unknown Attribute Colour."),
    );
}

#[tokio::test]
async fn out_of_range_attribute_values_are_invalid_attribute_value() {
    let server = TestServer::start().await;
    let client = server.client();
    let url = create(&client, "ranges").await;
    // Ranges from the CreateQueue API reference; MaximumMessageSize up to 1 MiB in the current docs.
    let cases: &[(A, &str, &str)] = &[
        (A::DelaySeconds, "-1", "DelaySeconds"),
        (A::DelaySeconds, "901", "DelaySeconds"),
        (A::MaximumMessageSize, "1023", "MaximumMessageSize"),
        (A::MaximumMessageSize, "1048577", "MaximumMessageSize"),
        (A::MessageRetentionPeriod, "59", "MessageRetentionPeriod"),
        (
            A::MessageRetentionPeriod,
            "1209601",
            "MessageRetentionPeriod",
        ),
        (
            A::ReceiveMessageWaitTimeSeconds,
            "21",
            "ReceiveMessageWaitTimeSeconds",
        ),
        (A::VisibilityTimeout, "43201", "VisibilityTimeout"),
        (A::VisibilityTimeout, "abc", "VisibilityTimeout"),
        (
            A::VisibilityTimeout,
            "99999999999999999999",
            "VisibilityTimeout",
        ),
        (
            A::KmsDataKeyReusePeriodSeconds,
            "59",
            "KmsDataKeyReusePeriodSeconds",
        ),
        (A::Policy, "not json", "Policy"),
    ];
    for (name, value, wire) in cases {
        let expected = format!("Invalid value for the parameter {wire}.");
        let err = try_create(&client, "ranges-new", &[(name.clone(), *value)])
            .await
            .unwrap_err();
        assert!(
            matches!(
                err.as_service_error(),
                Some(CreateQueueError::InvalidAttributeValue(_))
            ),
            "CreateQueue {wire}={value}: {err:?}"
        );
        assert_error(&err, 400, "InvalidAttributeValue", Some(&expected));

        let err = try_set(&client, &url, &[(name.clone(), *value)])
            .await
            .unwrap_err();
        assert!(
            matches!(
                err.as_service_error(),
                Some(SetQueueAttributesError::InvalidAttributeValue(_))
            ),
            "SetQueueAttributes {wire}={value}: {err:?}"
        );
        assert_error(&err, 400, "InvalidAttributeValue", Some(&expected));
    }
    // Nothing was created by the failed calls.
    let err = client
        .get_queue_url()
        .queue_name("ranges-new")
        .send()
        .await
        .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, GetQueueUrlError::QueueDoesNotExist(_))
    });

    // Both ends of each range are valid.
    let bounds: &[(A, &str)] = &[
        (A::DelaySeconds, "0"),
        (A::DelaySeconds, "900"),
        (A::MaximumMessageSize, "1024"),
        (A::MaximumMessageSize, "1048576"),
        (A::MessageRetentionPeriod, "60"),
        (A::MessageRetentionPeriod, "1209600"),
        (A::ReceiveMessageWaitTimeSeconds, "0"),
        (A::ReceiveMessageWaitTimeSeconds, "20"),
        (A::VisibilityTimeout, "0"),
        (A::VisibilityTimeout, "43200"),
    ];
    for (name, value) in bounds {
        try_set(&client, &url, &[(name.clone(), *value)])
            .await
            .unwrap_or_else(|e| panic!("{name:?}={value}: {e:?}"));
        let got = attributes(&client, &url, std::slice::from_ref(name)).await;
        assert_eq!(got.get(name.as_str()).map(String::as_str), Some(*value));
    }
}

// ---------------------------------------------------------------------------------------------------------
// Cool-downs
// ---------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn recreating_a_deleted_queue_within_60_seconds_is_queue_deleted_recently() {
    let server = TestServer::start().await;
    let client = server.client();
    let url = create(&client, "phoenix").await;
    client.delete_queue().queue_url(&url).send().await.unwrap();
    let err = try_create(&client, "phoenix", &[]).await.unwrap_err();
    assert_is(&err, |e| {
        matches!(e, CreateQueueError::QueueDeletedRecently(_))
    });
    assert_error(
        &err,
        400,
        "AWS.SimpleQueueService.QueueDeletedRecently",
        Some("You must wait 60 seconds after deleting a queue before you can create another with the same name."),
    );
    // Deleting it again: it is gone.
    let err = client
        .delete_queue()
        .queue_url(&url)
        .send()
        .await
        .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, DeleteQueueError::QueueDoesNotExist(_))
    });
    // Other names are not affected.
    create(&client, "phoenix2").await;
}

#[tokio::test]
async fn a_second_purge_within_60_seconds_is_purge_queue_in_progress() {
    let server = TestServer::start().await;
    let client = server.client();
    let url = create(&client, "purged").await;
    client.purge_queue().queue_url(&url).send().await.unwrap();
    let err = client
        .purge_queue()
        .queue_url(&url)
        .send()
        .await
        .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, PurgeQueueError::PurgeQueueInProgress(_))
    });
    let (_, code, message) = parts(&err);
    assert_eq!(code, "AWS.SimpleQueueService.PurgeQueueInProgress");
    // Recalled text.
    assert_eq!(
        message,
        "Only one PurgeQueue operation on purged is allowed every 60 seconds."
    );
    // A different queue can be purged.
    let other = create(&client, "purged2").await;
    client.purge_queue().queue_url(&other).send().await.unwrap();
}

// ---------------------------------------------------------------------------------------------------------
// ListQueues
// ---------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn list_queues_pages_with_max_results_and_next_token() {
    let server = TestServer::start().await;
    let client = server.client();
    let mut expected = Vec::new();
    // Created out of order; listed by name.
    for i in [4, 0, 6, 2, 1, 5, 3] {
        create(&client, &format!("page-{i:02}")).await;
    }
    for i in 0..7 {
        expected.push(server.queue_url(&format!("page-{i:02}")));
    }
    create(&client, "other").await;

    // No MaxResults: everything, no token.
    let all = client.list_queues().send().await.unwrap();
    assert_eq!(all.queue_urls().len(), 8);
    assert_eq!(all.next_token(), None);

    let prefixed = client
        .list_queues()
        .queue_name_prefix("page-")
        .send()
        .await
        .unwrap();
    assert_eq!(prefixed.queue_urls(), expected.as_slice());
    assert_eq!(prefixed.next_token(), None);

    // By hand: 3 + 3 + 1.
    let first = client
        .list_queues()
        .queue_name_prefix("page-")
        .max_results(3)
        .send()
        .await
        .unwrap();
    assert_eq!(first.queue_urls(), &expected[0..3]);
    let token = first.next_token().expect("more pages").to_string();
    let second = client
        .list_queues()
        .queue_name_prefix("page-")
        .max_results(3)
        .next_token(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(second.queue_urls(), &expected[3..6]);
    let token = second.next_token().expect("more pages").to_string();
    let third = client
        .list_queues()
        .queue_name_prefix("page-")
        .max_results(3)
        .next_token(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(third.queue_urls(), &expected[6..]);
    assert_eq!(third.next_token(), None);

    // A page that ends exactly at the last queue has no token.
    let exact = client
        .list_queues()
        .queue_name_prefix("page-")
        .max_results(7)
        .send()
        .await
        .unwrap();
    assert_eq!(exact.queue_urls().len(), 7);
    assert_eq!(exact.next_token(), None);

    // Through the SDK paginator.
    let paged: Vec<String> = client
        .list_queues()
        .queue_name_prefix("page-")
        .into_paginator()
        .page_size(2)
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(paged, expected);
    let pages: Vec<_> = client
        .list_queues()
        .into_paginator()
        .page_size(3)
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(
        pages
            .iter()
            .map(|p| p.queue_urls().len())
            .collect::<Vec<_>>(),
        [3, 3, 2]
    );

    // No match: no URLs.
    let none = client
        .list_queues()
        .queue_name_prefix("zzz")
        .send()
        .await
        .unwrap();
    assert!(none.queue_urls().is_empty());
    assert_eq!(none.next_token(), None);

    // MaxResults must be 1 to 1000 (the error code is inferred; the range is from the model).
    for bad in [0, 1001, -1] {
        let err = client
            .list_queues()
            .max_results(bad)
            .send()
            .await
            .unwrap_err();
        let (status, code, _) = parts(&err);
        assert_eq!(
            (status, code.as_str()),
            (400, "InvalidParameterValue"),
            "{bad}"
        );
    }
}

// ---------------------------------------------------------------------------------------------------------
// Regions and accounts
// ---------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn regions_hold_separate_queues_with_different_urls_and_arns() {
    let server = TestServer::start().await;
    let east = server.client();
    let eu = server.client_for("eu-west-1", "test");

    let east_url = try_create(&east, "shared", &[(A::VisibilityTimeout, "10")])
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    // Same name, different attributes, other region: a different queue, not QueueNameExists.
    let eu_url = try_create(&eu, "shared", &[(A::VisibilityTimeout, "20")])
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    assert_ne!(east_url, eu_url);
    assert!(eu_url.ends_with("/000000000000/shared"), "{eu_url}");

    let east_attrs = all_attributes(&east, &east_url).await;
    let eu_attrs = all_attributes(&eu, &eu_url).await;
    assert_eq!(
        east_attrs["QueueArn"],
        "arn:aws:sqs:us-east-1:000000000000:shared"
    );
    assert_eq!(
        eu_attrs["QueueArn"],
        "arn:aws:sqs:eu-west-1:000000000000:shared"
    );
    assert_eq!(east_attrs["VisibilityTimeout"], "10");
    assert_eq!(eu_attrs["VisibilityTimeout"], "20");

    // Each region lists only its own queues, and GetQueueUrl gives the region's URL.
    try_create(&eu, "eu-only", &[]).await.unwrap();
    let east_list = east.list_queues().send().await.unwrap();
    assert_eq!(east_list.queue_urls(), std::slice::from_ref(&east_url));
    let eu_list = eu.list_queues().send().await.unwrap();
    assert_eq!(eu_list.queue_urls().len(), 2);
    assert!(eu_list.queue_urls().contains(&eu_url));
    assert_eq!(
        eu.get_queue_url()
            .queue_name("shared")
            .send()
            .await
            .unwrap()
            .queue_url(),
        Some(eu_url.as_str())
    );
    let err = east
        .get_queue_url()
        .queue_name("eu-only")
        .send()
        .await
        .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, GetQueueUrlError::QueueDoesNotExist(_))
    });

    // The region-qualified URL names the eu queue whichever region the request is signed for.
    let via_east = all_attributes(&east, &eu_url).await;
    assert_eq!(
        via_east["QueueArn"],
        "arn:aws:sqs:eu-west-1:000000000000:shared"
    );
}

#[tokio::test]
async fn a_twelve_digit_access_key_is_the_account() {
    let server = TestServer::start().await;
    let default = server.client();
    let alice = server.client_for("us-east-1", "111111111111");
    let bob = server.client_for("us-east-1", "222222222222");

    let alice_url = create(&alice, "acct").await;
    assert_eq!(alice_url, format!("{}/111111111111/acct", server.url()));
    let attrs = all_attributes(&alice, &alice_url).await;
    assert_eq!(attrs["QueueArn"], "arn:aws:sqs:us-east-1:111111111111:acct");

    // Another account does not see it by name or in its list...
    let err = default
        .get_queue_url()
        .queue_name("acct")
        .send()
        .await
        .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, GetQueueUrlError::QueueDoesNotExist(_))
    });
    assert!(default
        .list_queues()
        .send()
        .await
        .unwrap()
        .queue_urls()
        .is_empty());
    // ...but finds it when it names the owner.
    let found = bob
        .get_queue_url()
        .queue_name("acct")
        .queue_owner_aws_account_id("111111111111")
        .send()
        .await
        .unwrap();
    assert_eq!(found.queue_url(), Some(alice_url.as_str()));
    let err = bob
        .get_queue_url()
        .queue_name("acct")
        .queue_owner_aws_account_id("333333333333")
        .send()
        .await
        .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, GetQueueUrlError::QueueDoesNotExist(_))
    });

    // Bob's queue of the same name is his own.
    let bob_url = create(&bob, "acct").await;
    assert_eq!(bob_url, format!("{}/222222222222/acct", server.url()));
    assert_eq!(
        bob.list_queues().send().await.unwrap().queue_urls(),
        [bob_url]
    );
    // A non-numeric access key acts as the default account.
    let default_url = create(&default, "acct").await;
    assert_eq!(default_url, server.queue_url("acct"));
}

#[tokio::test]
async fn an_aws_form_queue_url_resolves() {
    let server = TestServer::start().await;
    let client = server.client();
    create(&client, "awsform").await;
    let aws_url = format!("https://sqs.us-east-1.amazonaws.com/{DEFAULT_ACCOUNT}/awsform");
    try_set(&client, &aws_url, &[(A::DelaySeconds, "7")])
        .await
        .unwrap();
    let attrs = all_attributes(&client, &aws_url).await;
    assert_eq!(
        attrs["QueueArn"],
        "arn:aws:sqs:us-east-1:000000000000:awsform"
    );
    assert_eq!(attrs["DelaySeconds"], "7");
    // The trailing-slash form used in the API reference examples.
    let attrs = all_attributes(&client, &format!("{aws_url}/")).await;
    assert_eq!(attrs["DelaySeconds"], "7");
    client
        .tag_queue()
        .queue_url(&aws_url)
        .tags("via", "aws-url")
        .send()
        .await
        .unwrap();
    assert_eq!(
        tags(&client, &server.queue_url("awsform")).await["via"],
        "aws-url"
    );
    client
        .delete_queue()
        .queue_url(&aws_url)
        .send()
        .await
        .unwrap();
    assert!(client
        .list_queues()
        .send()
        .await
        .unwrap()
        .queue_urls()
        .is_empty());
}

// ---------------------------------------------------------------------------------------------------------
// Attributes
// ---------------------------------------------------------------------------------------------------------

const STANDARD_ALL: &[&str] = &[
    "QueueArn",
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "VisibilityTimeout",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "DelaySeconds",
    "ReceiveMessageWaitTimeSeconds",
    "SqsManagedSseEnabled",
];

#[tokio::test]
async fn get_queue_attributes_all_on_a_standard_queue() {
    let server = TestServer::start().await;
    let client = server.client();
    let before = now_seconds();
    let url = create(&client, "std").await;
    let attrs = all_attributes(&client, &url).await;
    assert_eq!(
        attrs.keys().cloned().collect::<BTreeSet<_>>(),
        set_of(STANDARD_ALL)
    );
    assert_eq!(attrs["QueueArn"], "arn:aws:sqs:us-east-1:000000000000:std");
    for (k, v) in [
        ("ApproximateNumberOfMessages", "0"),
        ("ApproximateNumberOfMessagesNotVisible", "0"),
        ("ApproximateNumberOfMessagesDelayed", "0"),
        ("VisibilityTimeout", "30"),
        ("MaximumMessageSize", "1048576"),
        ("MessageRetentionPeriod", "345600"),
        ("DelaySeconds", "0"),
        ("ReceiveMessageWaitTimeSeconds", "0"),
        ("SqsManagedSseEnabled", "true"),
    ] {
        assert_eq!(attrs[k], v, "{k}");
    }
    let created: i64 = attrs["CreatedTimestamp"].parse().unwrap();
    let modified: i64 = attrs["LastModifiedTimestamp"].parse().unwrap();
    assert!(
        created >= before - 1 && created <= now_seconds() + 1,
        "{created}"
    );
    assert_eq!(created, modified);

    // No names: empty result. Named ones: just those.
    assert!(attributes(&client, &url, &[]).await.is_empty());
    let some = attributes(
        &client,
        &url,
        &[A::VisibilityTimeout, A::QueueArn, A::Policy],
    )
    .await;
    assert_eq!(
        some.keys().cloned().collect::<BTreeSet<_>>(),
        set_of(&["VisibilityTimeout", "QueueArn"])
    );
}

#[tokio::test]
async fn get_queue_attributes_all_on_a_fifo_queue() {
    let server = TestServer::start().await;
    let client = server.client();
    let url = try_create(&client, "jobs.fifo", &[(A::FifoQueue, "true")])
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    assert_eq!(url, server.queue_url("jobs.fifo"));
    let attrs = all_attributes(&client, &url).await;
    let mut expected = set_of(STANDARD_ALL);
    expected.extend(set_of(&[
        "FifoQueue",
        "ContentBasedDeduplication",
        "DeduplicationScope",
        "FifoThroughputLimit",
    ]));
    assert_eq!(attrs.keys().cloned().collect::<BTreeSet<_>>(), expected);
    assert_eq!(attrs["FifoQueue"], "true");
    assert_eq!(attrs["ContentBasedDeduplication"], "false");
    assert_eq!(attrs["DeduplicationScope"], "queue");
    assert_eq!(attrs["FifoThroughputLimit"], "perQueue");
    assert_eq!(
        attrs["QueueArn"],
        "arn:aws:sqs:us-east-1:000000000000:jobs.fifo"
    );

    // FIFO settings can be changed on a FIFO queue.
    try_set(
        &client,
        &url,
        &[
            (A::ContentBasedDeduplication, "true"),
            (A::DeduplicationScope, "messageGroup"),
            (A::FifoThroughputLimit, "perMessageGroupId"),
        ],
    )
    .await
    .unwrap();
    let attrs = all_attributes(&client, &url).await;
    assert_eq!(attrs["ContentBasedDeduplication"], "true");
    assert_eq!(attrs["DeduplicationScope"], "messageGroup");
    assert_eq!(attrs["FifoThroughputLimit"], "perMessageGroupId");
}

#[tokio::test]
async fn set_queue_attributes_changes_what_get_queue_attributes_returns() {
    let server = TestServer::start().await;
    let client = server.client();
    let url = create(&client, "settable").await;
    // The API reference's examples: VisibilityTimeout 35, DelaySeconds 45, ReceiveMessageWaitTimeSeconds 20,
    // and a Policy.
    let policy = r#"{"Version":"2012-10-17","Id":"Policy1677095510157","Statement":[{"Sid":"Stmt1677095506939","Effect":"Allow","Principal":"*","Action":"sqs:ReceiveMessage","Resource":"arn:aws:sqs:us-east-1:000000000000:settable"}]}"#;
    try_set(
        &client,
        &url,
        &[
            (A::VisibilityTimeout, "35"),
            (A::DelaySeconds, "45"),
            (A::ReceiveMessageWaitTimeSeconds, "20"),
            (A::Policy, policy),
        ],
    )
    .await
    .unwrap();
    let got = attributes(
        &client,
        &url,
        &[
            A::VisibilityTimeout,
            A::DelaySeconds,
            A::ReceiveMessageWaitTimeSeconds,
            A::Policy,
        ],
    )
    .await;
    assert_eq!(got["VisibilityTimeout"], "35");
    assert_eq!(got["DelaySeconds"], "45");
    assert_eq!(got["ReceiveMessageWaitTimeSeconds"], "20");
    let got_policy: serde_json::Value = serde_json::from_str(&got["Policy"]).unwrap();
    let sent_policy: serde_json::Value = serde_json::from_str(policy).unwrap();
    assert_eq!(got_policy, sent_policy);
    let all = all_attributes(&client, &url).await;
    assert!(all.contains_key("Policy"));

    // An empty Policy removes it.
    try_set(&client, &url, &[(A::Policy, "")]).await.unwrap();
    let all = all_attributes(&client, &url).await;
    assert!(!all.contains_key("Policy"), "{all:?}");

    // SSE-KMS: a key id shows up with its reuse period.
    try_set(&client, &url, &[(A::KmsMasterKeyId, "alias/aws/sqs")])
        .await
        .unwrap();
    let all = all_attributes(&client, &url).await;
    assert_eq!(all["KmsMasterKeyId"], "alias/aws/sqs");
    assert_eq!(all["KmsDataKeyReusePeriodSeconds"], "300");
}

// ---------------------------------------------------------------------------------------------------------
// Tags
// ---------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn tag_untag_and_list_queue_tags() {
    let server = TestServer::start().await;
    let client = server.client();
    let url = client
        .create_queue()
        .queue_name("tagged")
        .tags("team", "shop")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    assert_eq!(
        tags(&client, &url).await,
        HashMap::from([("team".into(), "shop".into())])
    );

    client
        .tag_queue()
        .queue_url(&url)
        .tags("team", "warehouse")
        .tags("env", "")
        .tags("cost:centre", "a/b=c+d-e@f_g.h 1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        tags(&client, &url).await,
        HashMap::from([
            ("team".into(), "warehouse".into()),
            ("env".into(), "".into()),
            ("cost:centre".into(), "a/b=c+d-e@f_g.h 1".into()),
        ])
    );

    client
        .untag_queue()
        .queue_url(&url)
        .tag_keys("team")
        .tag_keys("not-there")
        .send()
        .await
        .unwrap();
    assert_eq!(
        tags(&client, &url).await,
        HashMap::from([
            ("env".into(), "".into()),
            ("cost:centre".into(), "a/b=c+d-e@f_g.h 1".into()),
        ])
    );
    client
        .untag_queue()
        .queue_url(&url)
        .tag_keys("env")
        .tag_keys("cost:centre")
        .send()
        .await
        .unwrap();
    assert!(tags(&client, &url).await.is_empty());

    // The reserved prefix is refused (error code inferred).
    let err = client
        .tag_queue()
        .queue_url(&url)
        .tags("aws:owner", "me")
        .send()
        .await
        .unwrap_err();
    let (status, code, _) = parts(&err);
    assert_eq!((status, code.as_str()), (400, "InvalidParameterValue"));
    assert!(tags(&client, &url).await.is_empty());
}

// ---------------------------------------------------------------------------------------------------------
// Permissions
// ---------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn add_and_remove_permission_edit_the_policy_attribute() {
    let server = TestServer::start().await;
    let client = server.client();
    let url = create(&client, "shared-q").await;
    let arn = "arn:aws:sqs:us-east-1:000000000000:shared-q";

    client
        .add_permission()
        .queue_url(&url)
        .label("L")
        .aws_account_ids("111122223333")
        .actions("*")
        .send()
        .await
        .unwrap();
    let policy = attributes(&client, &url, &[A::Policy]).await["Policy"].clone();
    // The document real SQS writes for this call, byte for byte.
    assert_eq!(
        policy,
        format!(
            r#"{{"Version":"2008-10-17","Id":"{arn}/SQSDefaultPolicy","Statement":[{{"Sid":"L","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111122223333:root"}},"Action":"SQS:*","Resource":"{arn}"}}]}}"#
        )
    );

    client
        .add_permission()
        .queue_url(&url)
        .label("M")
        .aws_account_ids("111122223333")
        .aws_account_ids("444455556666")
        .actions("SendMessage")
        .actions("ReceiveMessage")
        .send()
        .await
        .unwrap();
    let policy: serde_json::Value =
        serde_json::from_str(&attributes(&client, &url, &[A::Policy]).await["Policy"]).unwrap();
    let statements = policy["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 2);
    assert_eq!(statements[1]["Sid"], "M");
    assert_eq!(
        statements[1]["Principal"]["AWS"],
        serde_json::json!([
            "arn:aws:iam::111122223333:root",
            "arn:aws:iam::444455556666:root"
        ])
    );
    assert_eq!(
        statements[1]["Action"],
        serde_json::json!(["SQS:SendMessage", "SQS:ReceiveMessage"])
    );

    // A label already in use is refused.
    let err = client
        .add_permission()
        .queue_url(&url)
        .label("L")
        .aws_account_ids("111122223333")
        .actions("SendMessage")
        .send()
        .await
        .unwrap_err();
    let (status, code, _) = parts(&err);
    assert_eq!((status, code.as_str()), (400, "InvalidParameterValue"));

    client
        .remove_permission()
        .queue_url(&url)
        .label("L")
        .send()
        .await
        .unwrap();
    let policy: serde_json::Value =
        serde_json::from_str(&attributes(&client, &url, &[A::Policy]).await["Policy"]).unwrap();
    let sids: Vec<_> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["Sid"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(sids, ["M"]);

    client
        .remove_permission()
        .queue_url(&url)
        .label("M")
        .send()
        .await
        .unwrap();
    let after = attributes(&client, &url, &[A::Policy]).await;
    if let Some(p) = after.get("Policy") {
        let p: serde_json::Value = serde_json::from_str(p).unwrap();
        assert!(
            p["Statement"].as_array().is_none_or(|s| s.is_empty()),
            "{p}"
        );
    }

    // Removing a label that is not there is an error, worded as SQS words it.
    let err = client
        .remove_permission()
        .queue_url(&url)
        .label("nope")
        .send()
        .await
        .unwrap_err();
    assert_error(
        &err,
        400,
        "InvalidParameterValue",
        Some("Value nope for parameter Label is invalid. Reason: can't find label."),
    );
}

#[tokio::test]
async fn fifo_only_attributes_and_the_queue_type_on_create_and_set() {
    let server = TestServer::start().await;
    let client = server.client();
    // DeduplicationScope and FifoThroughputLimit at the creation of a standard queue name the rule.
    for (name, wire, value) in [
        (A::DeduplicationScope, "DeduplicationScope", "queue"),
        (A::FifoThroughputLimit, "FifoThroughputLimit", "perQueue"),
    ] {
        let err = try_create(&client, "standard", &[(name, value)])
            .await
            .unwrap_err();
        assert!(
            matches!(
                err.as_service_error(),
                Some(CreateQueueError::InvalidAttributeName(_))
            ),
            "{err:?}"
        );
        assert_error(
            &err,
            400,
            "InvalidAttributeName",
            Some(&format!(
                "You can specify the {wire} only when FifoQueue is set to true."
            )),
        );
    }
    // FifoQueue=true on a FIFO queue changes nothing; false would change the type, which SQS refuses.
    let url = create_with(&client, "typed.fifo", &[(A::FifoQueue, "true")]).await;
    try_set(&client, &url, &[(A::FifoQueue, "true")])
        .await
        .unwrap();
    let err = try_set(&client, &url, &[(A::FifoQueue, "false")])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.as_service_error(),
            Some(SetQueueAttributesError::InvalidAttributeValue(_))
        ),
        "{err:?}"
    );
    assert_error(
        &err,
        400,
        "InvalidAttributeValue",
        Some("Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported."),
    );
    assert_eq!(all_attributes(&client, &url).await["FifoQueue"], "true");
}

#[tokio::test]
async fn the_kms_data_key_reuse_period_is_listed_only_with_a_kms_key() {
    let server = TestServer::start().await;
    let client = server.client();
    let url = create_with(
        &client,
        "sse-sqs",
        &[(A::KmsDataKeyReusePeriodSeconds, "600")],
    )
    .await;
    let all = all_attributes(&client, &url).await;
    assert_eq!(all["SqsManagedSseEnabled"], "true");
    assert!(!all.contains_key("KmsDataKeyReusePeriodSeconds"), "{all:?}");
    try_set(&client, &url, &[(A::KmsMasterKeyId, "alias/aws/sqs")])
        .await
        .unwrap();
    assert_eq!(
        all_attributes(&client, &url).await["KmsDataKeyReusePeriodSeconds"],
        "600"
    );
    try_set(&client, &url, &[(A::KmsMasterKeyId, "")])
        .await
        .unwrap();
    let all = all_attributes(&client, &url).await;
    assert!(!all.contains_key("KmsDataKeyReusePeriodSeconds"), "{all:?}");
}

// ---------------------------------------------------------------------------------------------------------
// Dead-letter queues
// ---------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn list_dead_letter_source_queues_finds_queues_whose_redrive_policy_names_the_dlq() {
    let server = TestServer::start().await;
    let client = server.client();
    let dlq = create(&client, "dlq").await;
    let dlq_arn = all_attributes(&client, &dlq).await["QueueArn"].clone();
    // As in the SetQueueAttributes example: maxReceiveCount as a string, keys in the other order.
    let redrive = format!(r#"{{"maxReceiveCount":"5","deadLetterTargetArn":"{dlq_arn}"}}"#);

    let src_b = try_create(&client, "src-b", &[(A::RedrivePolicy, &redrive)])
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let src_a = create(&client, "src-a").await;
    try_set(&client, &src_a, &[(A::RedrivePolicy, &redrive)])
        .await
        .unwrap();
    create(&client, "unrelated").await;

    let stored = attributes(&client, &src_a, &[A::RedrivePolicy]).await;
    assert_eq!(
        stored["RedrivePolicy"],
        format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":5}}"#)
    );

    let sources = client
        .list_dead_letter_source_queues()
        .queue_url(&dlq)
        .send()
        .await
        .unwrap();
    assert_eq!(sources.queue_urls(), [src_a.clone(), src_b.clone()]);
    assert_eq!(sources.next_token(), None);

    let paged: Vec<String> = client
        .list_dead_letter_source_queues()
        .queue_url(&dlq)
        .into_paginator()
        .page_size(1)
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(paged, [src_a, src_b]);

    // A queue nothing points at has an empty list.
    let none = client
        .list_dead_letter_source_queues()
        .queue_url(server.queue_url("unrelated"))
        .send()
        .await
        .unwrap();
    assert!(none.queue_urls().is_empty());
}

// ---------------------------------------------------------------------------------------------------------
// Configured queues
// ---------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn queues_in_the_config_exist_at_start_up() {
    let server = TestServer::start_with(vec![
        QueueSpec {
            name: "boot".into(),
            attributes: BTreeMap::from([("VisibilityTimeout".into(), "60".into())]),
            tags: BTreeMap::from([("team".into(), "shop".into())]),
            ..QueueSpec::default()
        },
        QueueSpec {
            name: "boot.fifo".into(),
            attributes: BTreeMap::from([
                ("FifoQueue".into(), "true".into()),
                ("ContentBasedDeduplication".into(), "true".into()),
            ]),
            ..QueueSpec::default()
        },
        QueueSpec {
            name: "elsewhere".into(),
            account_id: Some("111111111111".into()),
            region: Some("eu-west-1".into()),
            ..QueueSpec::default()
        },
    ])
    .await;
    let client = server.client();

    let boot = client
        .get_queue_url()
        .queue_name("boot")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    assert_eq!(boot, server.queue_url("boot"));
    assert_eq!(
        all_attributes(&client, &boot).await["VisibilityTimeout"],
        "60"
    );
    assert_eq!(tags(&client, &boot).await["team"], "shop");

    let fifo = server.queue_url("boot.fifo");
    let attrs = all_attributes(&client, &fifo).await;
    assert_eq!(attrs["FifoQueue"], "true");
    assert_eq!(attrs["ContentBasedDeduplication"], "true");

    let listed = client.list_queues().send().await.unwrap();
    assert_eq!(listed.queue_urls(), [boot.clone(), fifo]);

    // The queue configured for another account and region is found there and only there.
    let other = server.client_for("eu-west-1", "111111111111");
    let elsewhere = other
        .get_queue_url()
        .queue_name("elsewhere")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    assert_eq!(
        all_attributes(&other, &elsewhere).await["QueueArn"],
        "arn:aws:sqs:eu-west-1:111111111111:elsewhere"
    );
    let err = client
        .get_queue_url()
        .queue_name("elsewhere")
        .send()
        .await
        .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, GetQueueUrlError::QueueDoesNotExist(_))
    });

    // Creating a configured queue again with the same attributes is harmless.
    let again = try_create(&client, "boot", &[(A::VisibilityTimeout, "60")])
        .await
        .unwrap();
    assert_eq!(again.queue_url(), Some(boot.as_str()));
    server.shutdown().await;
}

#[tokio::test]
async fn an_invalid_configured_queue_stops_start_up() {
    let config = sluice_server::Config {
        queues: vec![QueueSpec {
            name: "bad name".into(),
            ..QueueSpec::default()
        }],
        ..sluice_server::Config::default()
    };
    let err = TestServer::try_start_config(config)
        .await
        .err()
        .expect("start-up fails");
    assert!(err.contains("bad name"), "{err}");

    let config = sluice_server::Config {
        queues: vec![QueueSpec {
            name: "q".into(),
            attributes: BTreeMap::from([("VisibilityTimeout".into(), "99999".into())]),
            ..QueueSpec::default()
        }],
        ..sluice_server::Config::default()
    };
    let err = TestServer::try_start_config(config)
        .await
        .err()
        .expect("start-up fails");
    assert!(err.contains("VisibilityTimeout"), "{err}");
}

#[tokio::test]
async fn add_permission_validates_its_arguments() {
    let server = TestServer::start().await;
    let client = server.client();
    let url = create(&client, "perm").await;

    // An action that cannot be granted (real AWS text, cloudtools/awacs#34).
    let err = client
        .add_permission()
        .queue_url(&url)
        .label("L")
        .aws_account_ids("111122223333")
        .actions("ChangeMessageVisibilityBatch")
        .send()
        .await
        .unwrap_err();
    assert_error(
        &err,
        400,
        "InvalidParameterValue",
        Some("Value SQS:ChangeMessageVisibilityBatch for parameter ActionName is invalid. Reason: Please refer to the appropriate WSDL for a list of valid actions."),
    );

    // More than 7 actions in one statement.
    let mut request = client
        .add_permission()
        .queue_url(&url)
        .label("L")
        .aws_account_ids("111122223333");
    for action in [
        "*",
        "SendMessage",
        "ReceiveMessage",
        "DeleteMessage",
        "ChangeMessageVisibility",
        "GetQueueAttributes",
        "GetQueueUrl",
        "ListDeadLetterSourceQueues",
    ] {
        request = request.actions(action);
    }
    let err = request.send().await.unwrap_err();
    assert_is(&err, |e| matches!(e, AddPermissionError::OverLimit(_)));
    let (_, code, message) = parts(&err);
    assert_eq!(code, "OverLimit");
    assert_eq!(
        message,
        "8 actions were found in a statement from the submitted policy, max allowed is 7"
    );

    // A principal that is not an account id.
    let err = client
        .add_permission()
        .queue_url(&url)
        .label("L")
        .aws_account_ids("not-an-account")
        .actions("SendMessage")
        .send()
        .await
        .unwrap_err();
    let (status, code, message) = parts(&err);
    assert_eq!((status, code.as_str()), (400, "InvalidParameterValue"));
    assert!(
        message.ends_with(
            " for parameter PrincipalId is invalid. Reason: Unable to verify principal."
        ),
        "{message}"
    );

    // None of these wrote a policy.
    assert!(!all_attributes(&client, &url).await.contains_key("Policy"));
}

#[tokio::test]
async fn queue_names_are_case_sensitive() {
    let server = TestServer::start().await;
    let client = server.client();
    let upper = create(&client, "Test-queue").await;
    let lower = create(&client, "test-queue").await;
    assert_ne!(upper, lower);
    assert_eq!(
        client
            .list_queues()
            .send()
            .await
            .unwrap()
            .queue_urls()
            .len(),
        2
    );
    let err = client
        .get_queue_url()
        .queue_name("TEST-QUEUE")
        .send()
        .await
        .unwrap_err();
    assert_is(&err, |e| {
        matches!(e, GetQueueUrlError::QueueDoesNotExist(_))
    });
}

#[tokio::test]
async fn list_queues_without_max_results_returns_at_most_1000() {
    let server = TestServer::start().await;
    let client = server.client();
    for i in 0..1001 {
        create(&client, &format!("q{i:04}")).await;
    }
    let all = client.list_queues().send().await.unwrap();
    assert_eq!(all.queue_urls().len(), 1000);
    assert_eq!(all.next_token(), None);
    assert_eq!(all.queue_urls()[0], server.queue_url("q0000"));
    let paged: Vec<String> = client
        .list_queues()
        .into_paginator()
        .page_size(1000)
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(paged.len(), 1001);
    assert_eq!(paged[1000], server.queue_url("q1000"));
}

#[tokio::test]
async fn a_dead_letter_queue_must_be_of_the_same_type() {
    // "The dead-letter queue of a FIFO queue must also be a FIFO queue. Similarly, the dead-letter queue of
    // a standard queue must also be a standard queue." (CreateQueue API reference). The error code is not
    // documented; it must be a client error and nothing must change.
    let server = TestServer::start().await;
    let client = server.client();
    let fifo_dlq = try_create(&client, "dlq.fifo", &[(A::FifoQueue, "true")])
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let arn = all_attributes(&client, &fifo_dlq).await["QueueArn"].clone();
    let src = create(&client, "standard-src").await;
    let err = client
        .set_queue_attributes()
        .queue_url(&src)
        .attributes(
            A::RedrivePolicy,
            format!(r#"{{"deadLetterTargetArn":"{arn}","maxReceiveCount":3}}"#),
        )
        .send()
        .await
        .unwrap_err();
    let (status, _, _) = parts(&err);
    assert_eq!(status, 400);
    assert!(!all_attributes(&client, &src)
        .await
        .contains_key("RedrivePolicy"));
    assert!(client
        .list_dead_letter_source_queues()
        .queue_url(&fifo_dlq)
        .send()
        .await
        .unwrap()
        .queue_urls()
        .is_empty());
}
