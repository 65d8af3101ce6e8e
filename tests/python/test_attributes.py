"""GetQueueAttributes and SetQueueAttributes (and attributes given to CreateQueue).

Sources: the CreateQueue, GetQueueAttributes and SetQueueAttributes API references (ranges; the Query
example of GetQueueAttributes lists the attributes of a new queue), the SSE docs (SqsManagedSseEnabled on by
default), and the research notes sections 2, 3 and 11.
"""

import json
import time

import pytest
from botocore.exceptions import ClientError

from conftest import DEFAULT_ACCOUNT, expect_error, unique_name

STANDARD_DEFAULTS = {
    "VisibilityTimeout": "30",
    "MaximumMessageSize": "1048576",
    "MessageRetentionPeriod": "345600",
    "DelaySeconds": "0",
    "ReceiveMessageWaitTimeSeconds": "0",
    "SqsManagedSseEnabled": "true",
    "ApproximateNumberOfMessages": "0",
    "ApproximateNumberOfMessagesNotVisible": "0",
    "ApproximateNumberOfMessagesDelayed": "0",
}
FIFO_DEFAULTS = {
    "FifoQueue": "true",
    "ContentBasedDeduplication": "false",
    "DeduplicationScope": "queue",
    "FifoThroughputLimit": "perQueue",
}


def all_attributes(sqs, url):
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


def assert_recent_timestamp(value: str):
    assert value.isdigit(), value
    assert abs(int(value) - time.time()) < 120, value


def test_all_attributes_of_a_new_standard_queue(sqs, queue_url, queue_name):
    attrs = all_attributes(sqs, queue_url)
    assert set(attrs) == set(STANDARD_DEFAULTS) | {"QueueArn", "CreatedTimestamp", "LastModifiedTimestamp"}
    for name, value in STANDARD_DEFAULTS.items():
        assert attrs[name] == value, name
    assert attrs["QueueArn"] == f"arn:aws:sqs:us-east-1:{DEFAULT_ACCOUNT}:{queue_name}"
    assert_recent_timestamp(attrs["CreatedTimestamp"])
    assert_recent_timestamp(attrs["LastModifiedTimestamp"])
    assert int(attrs["LastModifiedTimestamp"]) >= int(attrs["CreatedTimestamp"])


def test_all_attributes_of_a_new_fifo_queue(sqs):
    name = unique_name("fifo") + ".fifo"
    url = sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true"})["QueueUrl"]
    attrs = all_attributes(sqs, url)
    expected = {**STANDARD_DEFAULTS, **FIFO_DEFAULTS}
    assert set(attrs) == set(expected) | {"QueueArn", "CreatedTimestamp", "LastModifiedTimestamp"}
    for key, value in expected.items():
        assert attrs[key] == value, key
    assert attrs["QueueArn"] == f"arn:aws:sqs:us-east-1:{DEFAULT_ACCOUNT}:{name}"


def test_named_attributes_only(sqs, queue_url):
    attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["VisibilityTimeout", "QueueArn"])
    assert set(attrs["Attributes"]) == {"VisibilityTimeout", "QueueArn"}
    assert attrs["Attributes"]["VisibilityTimeout"] == "30"


def test_no_attribute_names_returns_no_attributes(sqs, queue_url):
    response = sqs.get_queue_attributes(QueueUrl=queue_url)
    assert response.get("Attributes", {}) == {}


def test_all_with_other_names_is_all(sqs, queue_url):
    attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All", "VisibilityTimeout"])["Attributes"]
    assert "QueueArn" in attrs and "SqsManagedSseEnabled" in attrs


def test_create_queue_with_attributes(sqs):
    url = sqs.create_queue(
        QueueName=unique_name("attrs"),
        Attributes={
            "VisibilityTimeout": "120",
            "DelaySeconds": "15",
            "MessageRetentionPeriod": "86400",
            "MaximumMessageSize": "2048",
            "ReceiveMessageWaitTimeSeconds": "20",
        },
    )["QueueUrl"]
    attrs = all_attributes(sqs, url)
    assert attrs["VisibilityTimeout"] == "120"
    assert attrs["DelaySeconds"] == "15"
    assert attrs["MessageRetentionPeriod"] == "86400"
    assert attrs["MaximumMessageSize"] == "2048"
    assert attrs["ReceiveMessageWaitTimeSeconds"] == "20"


def test_create_fifo_queue_with_fifo_attributes(sqs):
    url = sqs.create_queue(
        QueueName=unique_name("ff") + ".fifo",
        Attributes={
            "FifoQueue": "true",
            "ContentBasedDeduplication": "true",
            "DeduplicationScope": "messageGroup",
            "FifoThroughputLimit": "perMessageGroupId",
        },
    )["QueueUrl"]
    attrs = all_attributes(sqs, url)
    assert attrs["ContentBasedDeduplication"] == "true"
    assert attrs["DeduplicationScope"] == "messageGroup"
    assert attrs["FifoThroughputLimit"] == "perMessageGroupId"


def test_set_queue_attributes(sqs, queue_url):
    before = all_attributes(sqs, queue_url)
    time.sleep(1.05)
    sqs.set_queue_attributes(
        QueueUrl=queue_url,
        Attributes={"VisibilityTimeout": "60", "DelaySeconds": "5", "ReceiveMessageWaitTimeSeconds": "10"},
    )
    after = all_attributes(sqs, queue_url)
    assert after["VisibilityTimeout"] == "60"
    assert after["DelaySeconds"] == "5"
    assert after["ReceiveMessageWaitTimeSeconds"] == "10"
    assert after["MessageRetentionPeriod"] == before["MessageRetentionPeriod"]
    assert after["CreatedTimestamp"] == before["CreatedTimestamp"]
    assert int(after["LastModifiedTimestamp"]) > int(before["LastModifiedTimestamp"])


def test_set_and_clear_policy(sqs, queue_url, queue_name):
    arn = f"arn:aws:sqs:us-east-1:{DEFAULT_ACCOUNT}:{queue_name}"
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "sqs:SendMessage", "Resource": arn}
            ],
        }
    )
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": policy})
    got = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["Policy"])["Attributes"]["Policy"]
    assert json.loads(got)["Statement"][0]["Action"] == "sqs:SendMessage"
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": ""})
    assert "Policy" not in all_attributes(sqs, queue_url)


@pytest.mark.parametrize(
    "name,low,high",
    [
        ("VisibilityTimeout", 0, 43200),
        ("DelaySeconds", 0, 900),
        ("MessageRetentionPeriod", 60, 1209600),
        ("MaximumMessageSize", 1024, 1048576),
        ("ReceiveMessageWaitTimeSeconds", 0, 20),
    ],
)
def test_range_boundaries_are_accepted_and_beyond_rejected(sqs, queue_url, name, low, high):
    for ok in (low, high):
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={name: str(ok)})
        assert sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=[name])["Attributes"] == {name: str(ok)}
    for bad in (low - 1, high + 1):
        with expect_error("InvalidAttributeValue", 400, f"Invalid value for the parameter {name}."):
            sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={name: str(bad)})
        with expect_error("InvalidAttributeValue", 400, f"Invalid value for the parameter {name}."):
            sqs.create_queue(QueueName=unique_name("range"), Attributes={name: str(bad)})


@pytest.mark.parametrize("value", ["43201", "-1", "abc", "1.5", "0x10", "99999999999999999999"])
def test_invalid_visibility_timeout(sqs, queue_url, value):
    message = "Invalid value for the parameter VisibilityTimeout."
    with expect_error("InvalidAttributeValue", 400, message):
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"VisibilityTimeout": value})
    with expect_error("InvalidAttributeValue", 400, message):
        sqs.create_queue(QueueName=unique_name("vt"), Attributes={"VisibilityTimeout": value})
    # Nothing changed.
    attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["VisibilityTimeout"])["Attributes"]
    assert attrs == {"VisibilityTimeout": "30"}


def test_invalid_policy_document(sqs, queue_url):
    # hashicorp/terraform-provider-aws#42209 (a real JSON-protocol capture).
    with expect_error("InvalidAttributeValue", 400, "Invalid value for the parameter Policy."):
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": "{not json"})


def test_unknown_attribute_name_on_create(sqs):
    with expect_error("InvalidAttributeName", 400, "Unknown Attribute Foo."):
        sqs.create_queue(QueueName=unique_name("unk"), Attributes={"Foo": "1"})


def test_unknown_attribute_name_on_set(sqs, queue_url):
    with expect_error("InvalidAttributeName", 400, "Unknown Attribute Foo."):
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Foo": "1"})


def test_unknown_attribute_name_on_get(sqs, queue_url):
    with expect_error("InvalidAttributeName", 400, "Unknown Attribute Foo."):
        sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["Foo"])
    with expect_error("InvalidAttributeName", 400, "Unknown Attribute Foo."):
        sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["VisibilityTimeout", "Foo"])


def test_attribute_names_are_case_sensitive(sqs, queue_url):
    with expect_error("InvalidAttributeName", 400, "Unknown Attribute visibilitytimeout."):
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"visibilitytimeout": "10"})


@pytest.mark.parametrize("name", ["QueueArn", "CreatedTimestamp", "ApproximateNumberOfMessages"])
def test_read_only_attributes_cannot_be_set(sqs, queue_url, name):
    with expect_error("InvalidAttributeName", 400, f"Unknown Attribute {name}."):
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={name: "1"})


def test_fifo_only_attributes_on_a_standard_queue(sqs, queue_url):
    with expect_error("InvalidAttributeName", 400, "Unknown Attribute ContentBasedDeduplication."):
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"ContentBasedDeduplication": "true"})
    with expect_error("InvalidAttributeName", 400, "Unknown Attribute ContentBasedDeduplication."):
        sqs.create_queue(QueueName=unique_name("std"), Attributes={"ContentBasedDeduplication": "true"})


def test_fifo_queue_cannot_be_changed_after_creation(sqs, queue_url):
    with expect_error("InvalidAttributeName", 400, "Unknown Attribute FifoQueue."):
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"FifoQueue": "true"})


@pytest.mark.parametrize("name, value", [("DeduplicationScope", "queue"), ("FifoThroughputLimit", "perQueue")])
def test_high_throughput_attributes_at_the_creation_of_a_standard_queue(sqs, name, value):
    with expect_error("InvalidAttributeName", 400, f"You can specify the {name} only when FifoQueue is set to true."):
        sqs.create_queue(QueueName=unique_name("std"), Attributes={name: value})


def test_fifo_queue_true_on_a_fifo_queue_changes_nothing_and_false_is_refused(sqs):
    url = sqs.create_queue(QueueName=unique_name("fq") + ".fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    before = all_attributes(sqs, url)
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"FifoQueue": "true"})
    after = all_attributes(sqs, url)
    assert {k: v for k, v in after.items() if k != "LastModifiedTimestamp"} == {
        k: v for k, v in before.items() if k != "LastModifiedTimestamp"
    }
    with expect_error(
        "InvalidAttributeValue",
        400,
        "Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.",
    ):
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"FifoQueue": "false"})
    assert all_attributes(sqs, url)["FifoQueue"] == "true"


def test_set_queue_attributes_failure_changes_nothing(sqs, queue_url):
    with expect_error("InvalidAttributeValue", 400):
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"DelaySeconds": "7", "VisibilityTimeout": "-5"})
    attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["DelaySeconds", "VisibilityTimeout"])
    assert attrs["Attributes"] == {"DelaySeconds": "0", "VisibilityTimeout": "30"}


@pytest.mark.parametrize("value", ["3\x00", "\x01", "1\x7f", "3\n0"], ids=["nul", "soh", "del", "newline"])
def test_attribute_values_with_control_characters(sqs, queue_url, value, assert_alive):
    with expect_error("InvalidAttributeValue", 400, "Invalid value for the parameter VisibilityTimeout."):
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"VisibilityTimeout": value})
    assert_alive()


@pytest.mark.parametrize("name", ["Foo\x01", "Foo\x00Bar", "Foo\x1b[31m"], ids=["soh", "nul", "escape"])
def test_attribute_names_with_control_characters(sqs, queue_url, name, assert_alive):
    """The error must come back as a well-formed response in either protocol (XML 1.0 cannot carry most
    control characters, even escaped), so the client can read the error code."""
    with expect_error("InvalidAttributeName", 400):
        sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=[name])
    with expect_error("InvalidAttributeName", 400):
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={name: "1"})
    assert_alive()


def test_set_queue_attributes_without_attributes_is_missing_parameter(sqs, queue_url):
    # pulumi/pulumi-aws#5959 (real AWS, 2025, AWS SDK for Go v2 over JSON): the Query parameter name.
    with expect_error("MissingParameter", 400, "The request must contain the parameter Attribute.Name."):
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={})


def test_policy_with_too_many_actions_in_a_statement_is_over_limit(sqs, queue_url, queue_name):
    """ministryofjustice/cloud-platform-environments#9082 (real AWS via SetQueueAttributes):
    `OverLimit: 10 actions were found in a statement from the submitted policy, max allowed is 7`. The
    status is 403 in the Query model and 400 in the current API reference."""
    arn = f"arn:aws:sqs:us-east-1:{DEFAULT_ACCOUNT}:{queue_name}"
    actions = [
        "sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ListDeadLetterSourceQueues", "sqs:PurgeQueue",
        "sqs:SetQueueAttributes", "sqs:ListQueueTags",
    ]
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": actions, "Resource": arn}
            ],
        }
    )
    with pytest.raises(ClientError) as info:
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": policy})
    error = info.value.response
    assert error["Error"]["Code"] == "OverLimit", error
    assert error["ResponseMetadata"]["HTTPStatusCode"] in (400, 403), error
    assert error["Error"]["Message"] == "10 actions were found in a statement from the submitted policy, max allowed is 7"
    assert "Policy" not in all_attributes(sqs, queue_url)


def test_kms_key_replaces_sqs_managed_encryption(sqs):
    # CreateQueue reference: KmsDataKeyReusePeriodSeconds defaults to 300; only one SSE option per queue.
    url = sqs.create_queue(QueueName=unique_name("kms"), Attributes={"KmsMasterKeyId": "alias/aws/sqs"})["QueueUrl"]
    attrs = all_attributes(sqs, url)
    assert attrs["KmsMasterKeyId"] == "alias/aws/sqs"
    assert attrs["KmsDataKeyReusePeriodSeconds"] == "300"
    assert attrs.get("SqsManagedSseEnabled", "false") == "false"
    with expect_error("InvalidAttributeValue", 400, "Invalid value for the parameter KmsDataKeyReusePeriodSeconds."):
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"KmsDataKeyReusePeriodSeconds": "59"})


def test_kms_data_key_reuse_period_is_listed_only_with_a_kms_key(sqs):
    # An SQS-managed (default) or unencrypted queue does not list the reuse period, even once it is set.
    url = sqs.create_queue(QueueName=unique_name("sse"), Attributes={"KmsDataKeyReusePeriodSeconds": "600"})["QueueUrl"]
    attrs = all_attributes(sqs, url)
    assert attrs["SqsManagedSseEnabled"] == "true"
    assert "KmsDataKeyReusePeriodSeconds" not in attrs
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"SqsManagedSseEnabled": "false"})
    assert "KmsDataKeyReusePeriodSeconds" not in all_attributes(sqs, url)
    # With a KMS key it is listed; without one again it is not.
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"KmsMasterKeyId": "alias/aws/sqs"})
    attrs = all_attributes(sqs, url)
    assert attrs["KmsMasterKeyId"] == "alias/aws/sqs"
    assert attrs["KmsDataKeyReusePeriodSeconds"] == "600"
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"KmsMasterKeyId": ""})
    attrs = all_attributes(sqs, url)
    assert "KmsMasterKeyId" not in attrs
    assert "KmsDataKeyReusePeriodSeconds" not in attrs


def test_per_message_group_throughput_requires_message_group_deduplication(sqs):
    """CreateQueue reference: "The perMessageGroupId value is allowed only when the value for
    DeduplicationScope is messageGroup." (The error code is not documented; it must be a 400.)"""
    name = unique_name("hpt") + ".fifo"
    with pytest.raises(ClientError) as info:
        sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true", "FifoThroughputLimit": "perMessageGroupId"})
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400, info.value.response
    with pytest.raises(ClientError) as info:
        sqs.create_queue(
            QueueName=name,
            Attributes={"FifoQueue": "true", "FifoThroughputLimit": "perMessageGroupId", "DeduplicationScope": "queue"},
        )
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400, info.value.response

    url = sqs.create_queue(
        QueueName=name,
        Attributes={"FifoQueue": "true", "FifoThroughputLimit": "perMessageGroupId", "DeduplicationScope": "messageGroup"},
    )["QueueUrl"]
    with pytest.raises(ClientError) as info:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"DeduplicationScope": "queue"})
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400, info.value.response
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["DeduplicationScope", "FifoThroughputLimit"])
    assert attrs["Attributes"] == {"DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"}


def test_only_one_server_side_encryption_option(sqs):
    """CreateQueue reference: "Only one server-side encryption option is supported per queue (for example,
    SSE-KMS or SSE-SQS)." Asking for both must fail, or at least not leave a queue that reports both."""
    try:
        url = sqs.create_queue(
            QueueName=unique_name("sse2"), Attributes={"KmsMasterKeyId": "alias/aws/sqs", "SqsManagedSseEnabled": "true"}
        )["QueueUrl"]
    except ClientError as e:
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 400, e.response
        return
    attrs = all_attributes(sqs, url)
    assert not ("KmsMasterKeyId" in attrs and attrs.get("SqsManagedSseEnabled") == "true"), attrs


# SQS policy quotas (developer guide): 8,192 bytes, 20 statements, 7 actions a statement, 50 principals, 10
# conditions. Real AWS answers a policy beyond them with OverLimit and status 403, through SetQueueAttributes
# too: `OverLimit: Submitted policy is over max allowed size.` (BishopFox/cloudfoxable#29, Particular/
# NServiceBus.AmazonSQS#830) and `21 statements were found in the submitted policy, max allowed is 20`
# (dapr/components-contrib#1780). The principals and conditions wording follows the statements one.


def policy_with(statements):
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, separators=(",", ":"))


def test_policy_over_8192_bytes_is_over_limit(sqs, queue_url):
    huge = policy_with([{"Sid": "x" * (7 * 1024 * 1024), "Effect": "Allow", "Principal": "*", "Action": "sqs:*"}])
    with expect_error("OverLimit", 403, "Submitted policy is over max allowed size."):
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": huge})
    assert "Policy" not in all_attributes(sqs, queue_url)
    name = unique_name("big")
    just_over = policy_with([{"Sid": "", "Effect": "Allow", "Principal": "*", "Action": "sqs:*"}])
    just_over = just_over.replace('"Sid":""', '"Sid":"' + "s" * (8193 - len(just_over)) + '"')
    assert len(just_over) == 8193
    with expect_error("OverLimit", 403, "Submitted policy is over max allowed size."):
        sqs.create_queue(QueueName=name, Attributes={"Policy": just_over})
    with expect_error("AWS.SimpleQueueService.NonExistentQueue", 400):
        sqs.get_queue_url(QueueName=name)
    at_limit = just_over.replace('"Sid":"s', '"Sid":"', 1)
    assert len(at_limit) == 8192
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": at_limit})
    assert all_attributes(sqs, queue_url)["Policy"] == at_limit


def test_policy_with_more_than_fifty_principals_is_over_limit(sqs, queue_url):
    accounts = [f"arn:aws:iam::{100000000000 + i}:root" for i in range(50)]
    statements = [
        {"Effect": "Allow", "Principal": {"AWS": accounts}, "Action": "sqs:SendMessage"},
        {"Effect": "Allow", "Principal": "*", "Action": "sqs:ReceiveMessage"},
    ]
    with expect_error("OverLimit", 403, "51 principals were found in the submitted policy, max allowed is 50"):
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": policy_with(statements)})
    assert "Policy" not in all_attributes(sqs, queue_url)
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": policy_with(statements[:1])})


def test_policy_with_more_than_ten_conditions_is_over_limit(sqs, queue_url):
    keys = {f"aws:SourceArn{i}": "arn:aws:sns:us-east-1:111122223333:t" for i in range(10)}
    statements = [
        {"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Condition": {"ArnEquals": keys}},
        {"Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ]
    with expect_error("OverLimit", 403, "11 conditions were found in the submitted policy, max allowed is 10"):
        sqs.create_queue(QueueName=unique_name("cond"), Attributes={"Policy": policy_with(statements)})
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": policy_with(statements[:1])})


def test_policy_with_more_than_twenty_statements_is_over_limit(sqs, queue_url):
    statements = [
        {"Sid": f"s{i}", "Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage"} for i in range(21)
    ]
    with expect_error("OverLimit", 403, "21 statements were found in the submitted policy, max allowed is 20"):
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": policy_with(statements)})
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": policy_with(statements[:20])})
