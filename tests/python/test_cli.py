"""The AWS CLI v1 of this environment (JSON protocol in the current one, Query with awscli 1.32.89)."""

import json

import pytest

from conftest import DEFAULT_ACCOUNT, EXPECTED_PROTOCOL, unique_name
from sqs_digests import md5_of_attributes, md5_of_body


def test_cli_speaks_the_expected_protocol(aws):
    if EXPECTED_PROTOCOL is None:
        pytest.skip("SLUICE_EXPECT_PROTOCOL is not set")
    result = aws("list-queues", "--queue-name-prefix", "cli-probe", global_args=("--debug",))
    if EXPECTED_PROTOCOL == "json":
        assert "'X-Amz-Target': 'AmazonSQS.ListQueues'" in result.stderr
        assert "application/x-amz-json-1.0" in result.stderr
    else:
        assert "'Action': 'ListQueues'" in result.stderr
        assert "X-Amz-Target" not in result.stderr


def test_cli_queue_lifecycle(aws):
    name = unique_name("cli")
    created = aws("create-queue", "--queue-name", name, "--attributes", "DelaySeconds=2").json()
    url = created["QueueUrl"]
    assert url.endswith(f"/{DEFAULT_ACCOUNT}/{name}")

    listed = aws("list-queues", "--queue-name-prefix", name).json()
    assert listed["QueueUrls"] == [url]

    attrs = aws("get-queue-attributes", "--queue-url", url, "--attribute-names", "All").json()["Attributes"]
    assert attrs["VisibilityTimeout"] == "30"
    assert attrs["DelaySeconds"] == "2"
    assert attrs["QueueArn"] == f"arn:aws:sqs:us-east-1:{DEFAULT_ACCOUNT}:{name}"
    assert attrs["SqsManagedSseEnabled"] == "true"

    assert aws("set-queue-attributes", "--queue-url", url, "--attributes", "VisibilityTimeout=45").stdout.strip() == ""
    attrs = aws("get-queue-attributes", "--queue-url", url, "--attribute-names", "VisibilityTimeout").json()
    assert attrs == {"Attributes": {"VisibilityTimeout": "45"}}

    aws("tag-queue", "--queue-url", url, "--tags", "team=shop,env=dev")
    assert aws("list-queue-tags", "--queue-url", url).json() == {"Tags": {"team": "shop", "env": "dev"}}

    assert aws("get-queue-url", "--queue-name", name).json() == {"QueueUrl": url}

    aws("delete-queue", "--queue-url", url)
    listed = aws("list-queues", "--queue-name-prefix", name).json()
    assert (listed or {}).get("QueueUrls", []) == []


def test_cli_get_queue_url_of_a_missing_queue(aws):
    result = aws("get-queue-url", "--queue-name", unique_name("cli-missing"), check=False)
    assert result.returncode != 0
    assert "NonExistentQueue" in result.stderr, result.stderr
    assert "GetQueueUrl" in result.stderr, result.stderr


# --- messages ----------------------------------------------------------------------------------------------


def cli_counters(aws, url):
    attrs = aws(
        "get-queue-attributes", "--queue-url", url, "--attribute-names",
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed",
    ).json()["Attributes"]
    return (
        int(attrs["ApproximateNumberOfMessages"]),
        int(attrs["ApproximateNumberOfMessagesNotVisible"]),
        int(attrs["ApproximateNumberOfMessagesDelayed"]),
    )


def cli_receive(aws, url, *args):
    return (aws("receive-message", "--queue-url", url, "--wait-time-seconds", "2", *args).json() or {}).get("Messages", [])


def test_cli_message_lifecycle(aws):
    url = aws("create-queue", "--queue-name", unique_name("cli-msg")).json()["QueueUrl"]
    attributes = {
        "kind": {"DataType": "String", "StringValue": "greeting"},
        "count": {"DataType": "Number", "StringValue": "7"},
        "shape": {"DataType": "String.json", "StringValue": '{"a": 1}'},
    }
    sent = aws(
        "send-message", "--queue-url", url, "--message-body", "hello from the CLI",
        "--message-attributes", json.dumps(attributes),
    ).json()
    assert sent["MD5OfMessageBody"] == md5_of_body("hello from the CLI")
    assert sent["MD5OfMessageAttributes"] == md5_of_attributes(attributes)
    # Shorthand syntax for the attributes.
    shorthand = aws(
        "send-message", "--queue-url", url, "--message-body", "second",
        "--message-attributes", "kind={DataType=String,StringValue=short}",
    ).json()
    assert shorthand["MD5OfMessageAttributes"] == md5_of_attributes({"kind": {"DataType": "String", "StringValue": "short"}})
    assert cli_counters(aws, url) == (2, 0, 0)

    messages = cli_receive(
        aws, url, "--attribute-names", "All", "--message-attribute-names", "All", "--max-number-of-messages", "10"
    )
    if len(messages) < 2:
        messages += cli_receive(aws, url, "--attribute-names", "All", "--message-attribute-names", "All")
    by_id = {m["MessageId"]: m for m in messages}
    assert set(by_id) == {sent["MessageId"], shorthand["MessageId"]}
    first = by_id[sent["MessageId"]]
    assert first["Body"] == "hello from the CLI"
    assert first["MD5OfBody"] == sent["MD5OfMessageBody"]
    assert first["MessageAttributes"] == attributes
    assert first["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert set(first["Attributes"]) == {"SenderId", "SentTimestamp", "ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp"}
    assert first["Attributes"]["ApproximateReceiveCount"] == "1"
    assert cli_counters(aws, url) == (0, 2, 0)

    result = aws("change-message-visibility", "--queue-url", url, "--receipt-handle", first["ReceiptHandle"],
                 "--visibility-timeout", "0")
    assert result.stdout.strip() == ""
    assert cli_counters(aws, url) == (1, 1, 0)
    again = cli_receive(aws, url, "--attribute-names", "ApproximateReceiveCount")
    assert [m["MessageId"] for m in again] == [sent["MessageId"]]
    assert again[0]["Attributes"] == {"ApproximateReceiveCount": "2"}

    for handle in (again[0]["ReceiptHandle"], by_id[shorthand["MessageId"]]["ReceiptHandle"]):
        assert aws("delete-message", "--queue-url", url, "--receipt-handle", handle).stdout.strip() == ""
    assert cli_counters(aws, url) == (0, 0, 0)


def test_cli_send_message_batch_and_purge(aws):
    url = aws("create-queue", "--queue-name", unique_name("cli-batch")).json()["QueueUrl"]
    entries = [
        {"Id": "plain", "MessageBody": "one"},
        {"Id": "with-attrs", "MessageBody": "two", "MessageAttributes": {"n": {"DataType": "Number", "StringValue": "2"}}},
        {"Id": "delayed", "MessageBody": "three", "DelaySeconds": 600},
    ]
    result = aws("send-message-batch", "--queue-url", url, "--entries", json.dumps(entries)).json()
    assert result.get("Failed", []) == []
    by_id = {e["Id"]: e for e in result["Successful"]}
    assert set(by_id) == {"plain", "with-attrs", "delayed"}
    for entry in entries:
        assert by_id[entry["Id"]]["MD5OfMessageBody"] == md5_of_body(entry["MessageBody"])
        assert by_id[entry["Id"]].get("MD5OfMessageAttributes") == md5_of_attributes(entry.get("MessageAttributes"))
    assert cli_counters(aws, url) == (2, 0, 1)

    cli_receive(aws, url)  # one in flight as well
    assert sum(cli_counters(aws, url)) == 3
    assert aws("purge-queue", "--queue-url", url).stdout.strip() == ""
    assert cli_counters(aws, url) == (0, 0, 0)
    assert cli_receive(aws, url, "--wait-time-seconds", "0") == []


def test_cli_send_message_with_an_empty_body(aws):
    url = aws("create-queue", "--queue-name", unique_name("cli-empty")).json()["QueueUrl"]
    result = aws("send-message", "--queue-url", url, "--message-body", "", check=False)
    assert result.returncode != 0
    assert "MissingParameter" in result.stderr, result.stderr
    assert "The request must contain the parameter MessageBody." in result.stderr, result.stderr


def test_cli_delete_message_with_a_malformed_handle(aws):
    url = aws("create-queue", "--queue-name", unique_name("cli-handle")).json()["QueueUrl"]
    result = aws("delete-message", "--queue-url", url, "--receipt-handle", "x", check=False)
    assert result.returncode != 0
    assert "ReceiptHandleIsInvalid" in result.stderr, result.stderr
    assert 'The input receipt handle "x" is not a valid receipt handle.' in result.stderr, result.stderr
