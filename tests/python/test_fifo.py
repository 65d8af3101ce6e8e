"""FIFO queues through boto3 (AWS JSON in the current environment, AWS Query in the 1.34.89 one) and the AWS CLI:
message groups and their order, the group lock, deduplication (explicit, content-based, per queue and per
group), sequence numbers, ReceiveRequestAttemptId, expired receipt handles, the retroactive queue delay, the
FIFO system attributes, batches, and every FIFO-specific error.

Expected behaviour comes only from AWS: the developer guide pages on FIFO queues (shared/spec/seed 19),
exactly-once processing (10), high throughput (11) and delay queues (13), the SendMessage / SendMessageBatch /
ReceiveMessage API references (83, 84, 85), the SQS service models, and the research notes
/tmp/research/sqs-fifo-dlq.md (sections cited as "fifo §n"), sqs-messages.md ("messages §n") and
sqs-errors.md, which quote real AWS responses from public issues. Labels C / R / G are the notes' own:
confirmed, recalled, guessed.
"""

from __future__ import annotations

import hashlib
import re
import string as string_module
import threading
import time

import pytest

from conftest import counters, expect_error, unique_name
from conftest import new_fifo as fifo_queue
from sqs_digests import md5_of_attributes, md5_of_body

# --- helpers -------------------------------------------------------------------------------------------------

NOT_FOR_THIS_QUEUE_TYPE = "The request include parameter that is not valid for this queue type."
NO_DEDUPLICATION = (
    "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly"
)
NOT_RETRYABLE = "The receiveRequestAttemptId is not valid anymore since the receive call is not retryable."
HANDLE_EXPIRED = "The receipt handle has expired."
# Seeds 83/85: "alphanumeric characters (a-z, A-Z, 0-9) and punctuation (!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~)".
PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
assert PUNCTUATION == string_module.punctuation


def token_reason(name: str) -> str:
    # fifo §3 (C: serverless-next.js#1616 for MessageGroupId, opennextjs-aws#138 for MessageDeduplicationId).
    return f"{name} can only include alphanumeric and punctuation characters. 1 to 128 in length."


def invalid_value(value, name: str, reason: str) -> str:
    return f"Value {value} for parameter {name} is invalid. Reason: {reason}"


def send(sqs, url, body, group="g", dedup=None, **kwargs) -> dict:
    """SendMessage with a group and (unless the caller passes dedup=False) an explicit deduplication id."""
    if dedup is None:
        dedup = "d-" + hashlib.sha1(body.encode()).hexdigest()
    if dedup is not False:
        kwargs["MessageDeduplicationId"] = dedup
    if group is not None:
        kwargs["MessageGroupId"] = group
    return sqs.send_message(QueueUrl=url, MessageBody=body, **kwargs)


def receive(sqs, url, **kwargs) -> list:
    kwargs.setdefault("WaitTimeSeconds", 0)
    return sqs.receive_message(QueueUrl=url, **kwargs).get("Messages", [])


def bodies(messages) -> list:
    return [m["Body"] for m in messages]


def receive_bodies(sqs, url, **kwargs) -> list:
    return bodies(receive(sqs, url, **kwargs))


def delete(sqs, url, message):
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def drain(sqs, url, deadline_s=5.0) -> list:
    """Receives and deletes until a receive comes back empty; returns the bodies in delivery order."""
    got = []
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        messages = receive(sqs, url, MaxNumberOfMessages=10)
        if not messages:
            return got
        for message in messages:
            got.append(message["Body"])
            delete(sqs, url, message)
    raise AssertionError(f"queue not drained in {deadline_s} s: {got}")


def system_attribute_kwargs(protocol, names) -> dict:
    """MessageSystemAttributeNames where the client has it (JSON era); the deprecated AttributeNames otherwise."""
    if protocol == "json":
        return {"MessageSystemAttributeNames": names}
    return {"AttributeNames": names}


def check_failed_entry(entry: dict, entry_id: str, code: str, message: str | None = None):
    assert entry["Id"] == entry_id, entry
    assert entry["SenderFault"] is True, entry
    assert entry["Code"] == code, entry
    if message is not None:
        assert entry["Message"] == message, entry


SEQUENCE_NUMBER = re.compile(r"^[0-9]{20}$")


def sequence(value: str) -> int:
    # fifo §2 (C): every real SequenceNumber is a 20-digit decimal string; "the length of SequenceNumber is
    # 128 bits" (seed 83).
    assert SEQUENCE_NUMBER.match(value), value
    assert int(value) < 2**128
    return int(value)


# --- SendMessage: the response ------------------------------------------------------------------------------


def test_send_returns_a_sequence_number_and_the_digests(sqs):
    url = fifo_queue(sqs)
    attributes = {"kind": {"DataType": "String", "StringValue": "order"}}
    sent = send(sqs, url, "first", group="orders", dedup="order-1", MessageAttributes=attributes)
    assert sent["MD5OfMessageBody"] == md5_of_body("first")
    assert sent["MD5OfMessageAttributes"] == md5_of_attributes(attributes)
    sequence(sent["SequenceNumber"])
    assert re.match(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", sent["MessageId"])


def test_sequence_numbers_grow_in_send_order_within_each_group(sqs):
    url = fifo_queue(sqs)
    seqs: dict[str, list[int]] = {"a": [], "b": []}
    for i in range(12):
        group = "ab"[i % 3 == 0]
        sent = send(sqs, url, f"m{i}", group=group)
        seqs[group].append(sequence(sent["SequenceNumber"]))
    for group, numbers in seqs.items():
        # Seed 83: "SequenceNumber continues to increase for a particular MessageGroupId."
        assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers), (group, numbers)


def test_received_messages_carry_the_fifo_system_attributes(sqs, protocol):
    url = fifo_queue(sqs)
    sent = send(sqs, url, "attrs", group="grp-1", dedup="dedup-1")
    message = receive(sqs, url, AttributeNames=["All"])[0]
    attrs = message["Attributes"]
    # Seed 85: MessageDeduplicationId, MessageGroupId and SequenceNumber are returned for FIFO messages.
    assert {"SenderId", "SentTimestamp", "ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp"} <= set(attrs)
    assert attrs["MessageGroupId"] == "grp-1"
    assert attrs["MessageDeduplicationId"] == "dedup-1"
    assert attrs["SequenceNumber"] == sent["SequenceNumber"]
    assert attrs["ApproximateReceiveCount"] == "1"
    assert message["MessageId"] == sent["MessageId"]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)

    names = ["MessageGroupId", "SequenceNumber", "MessageDeduplicationId"]
    again = receive(sqs, url, **system_attribute_kwargs(protocol, names))[0]
    assert again["Attributes"] == {
        "MessageGroupId": "grp-1",
        "SequenceNumber": sent["SequenceNumber"],
        "MessageDeduplicationId": "dedup-1",
    }
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=again["ReceiptHandle"], VisibilityTimeout=0)
    plain = receive(sqs, url)[0]
    assert "Attributes" not in plain, plain


# --- SendMessage: FIFO errors -------------------------------------------------------------------------------


def test_message_group_id_is_required(sqs):
    url = fifo_queue(sqs)
    # fifo §3 (C: full real Query XML in php-enqueue/sqs#2); seed 83: "If you don't provide a MessageGroupId,
    # the action fails."
    with expect_error("MissingParameter", 400, "The request must contain the parameter MessageGroupId."):
        send(sqs, url, "no group", group=None)
    assert counters(sqs, url) == (0, 0, 0)


@pytest.mark.parametrize(
    "value",
    ["has space", "x" * 129, "caf\u00e9", "tab\there", "new\nline"],
    ids=["space", "129-chars", "non-ascii", "tab", "newline"],
)
@pytest.mark.parametrize("name", ["MessageGroupId", "MessageDeduplicationId"])
def test_invalid_group_and_deduplication_ids(sqs, name, value):
    url = fifo_queue(sqs)
    kwargs = {"MessageGroupId": "g", "MessageDeduplicationId": "d", name: value}
    with expect_error("InvalidParameterValue", 400, invalid_value(value, name, token_reason(name))):
        sqs.send_message(QueueUrl=url, MessageBody="bad id", **kwargs)
    assert counters(sqs, url) == (0, 0, 0)


@pytest.mark.parametrize("name", ["MessageGroupId", "MessageDeduplicationId"])
def test_ids_of_128_letters_digits_and_punctuation_are_valid(sqs, name):
    url = fifo_queue(sqs)
    value = (string_module.ascii_letters + string_module.digits + PUNCTUATION) * 2
    value = value[:128]
    assert len(value) == 128 and PUNCTUATION[:20] in value
    kwargs = {"MessageGroupId": "g", "MessageDeduplicationId": "d", name: value}
    sqs.send_message(QueueUrl=url, MessageBody="long id", **kwargs)
    message = receive(sqs, url, AttributeNames=["All"])[0]
    assert message["Attributes"][name] == value


def test_per_message_delay_is_rejected(sqs):
    url = fifo_queue(sqs)
    # fifo §3 (C: ruby-shoryuken#731); seed 83: "When you set FifoQueue, you can't set DelaySeconds per message."
    with expect_error("InvalidParameterValue", 400, invalid_value(3, "DelaySeconds", NOT_FOR_THIS_QUEUE_TYPE)):
        send(sqs, url, "late", DelaySeconds=3)
    assert counters(sqs, url) == (0, 0, 0)


def test_per_message_delay_of_zero_is_accepted(sqs):
    url = fifo_queue(sqs)
    # fifo §3 (R: two users report DelaySeconds=0 "works in AWS").
    send(sqs, url, "now", DelaySeconds=0)
    assert receive_bodies(sqs, url) == ["now"]


def test_deduplication_id_is_required_without_content_based_deduplication(sqs):
    url = fifo_queue(sqs)
    # fifo §3 (C: the real JSON body in http4k#1336, amazon-sqs-java-messaging-lib#97); no trailing period.
    with expect_error("InvalidParameterValue", 400, NO_DEDUPLICATION):
        send(sqs, url, "no dedup", dedup=False)
    assert counters(sqs, url) == (0, 0, 0)


# --- deduplication -------------------------------------------------------------------------------------------


def test_a_duplicate_is_accepted_with_the_original_ids_and_not_enqueued(sqs):
    url = fifo_queue(sqs)
    first = send(sqs, url, "original", dedup="same")
    # Seed 83: duplicates "are accepted successfully but aren't delivered during the 5-minute deduplication
    # interval"; fifo §1 (R): the original MessageId and SequenceNumber come back.
    again = send(sqs, url, "original", dedup="same")
    assert again["MessageId"] == first["MessageId"]
    assert again["SequenceNumber"] == first["SequenceNumber"]
    # With an explicit id the body may differ; the digest is of this request's body, which SDKs check
    # against what they sent (fifo §1, messages §1).
    other = send(sqs, url, "different body", dedup="same")
    assert other["MessageId"] == first["MessageId"]
    assert other["SequenceNumber"] == first["SequenceNumber"]
    assert other["MD5OfMessageBody"] == md5_of_body("different body")
    assert counters(sqs, url) == (1, 0, 0)
    assert drain(sqs, url) == ["original"]


def test_a_duplicate_of_a_deleted_message_is_still_a_duplicate(sqs):
    url = fifo_queue(sqs)
    first = send(sqs, url, "once", dedup="once")
    message = receive(sqs, url)[0]
    delete(sqs, url, message)
    # Seed 83: "Amazon SQS continues to keep track of the message deduplication ID even after the message
    # is received and deleted."
    again = send(sqs, url, "once", dedup="once")
    assert again["MessageId"] == first["MessageId"]
    assert again["SequenceNumber"] == first["SequenceNumber"]
    assert counters(sqs, url) == (0, 0, 0)
    assert receive(sqs, url, WaitTimeSeconds=1) == []


def test_a_duplicate_of_a_message_in_flight_is_not_enqueued(sqs):
    url = fifo_queue(sqs)
    first = send(sqs, url, "busy", dedup="busy")
    receive(sqs, url, VisibilityTimeout=60)
    again = send(sqs, url, "busy", dedup="busy")
    assert again["MessageId"] == first["MessageId"]
    assert counters(sqs, url) == (0, 1, 0)


def test_deduplication_is_queue_wide_by_default(sqs):
    url = fifo_queue(sqs)
    # fifo §1 (C: old DG): "Message deduplication applies to an entire queue, not to individual message groups."
    first = send(sqs, url, "in a", group="a", dedup="shared")
    again = send(sqs, url, "in b", group="b", dedup="shared")
    assert again["MessageId"] == first["MessageId"]
    assert again["SequenceNumber"] == first["SequenceNumber"]
    assert drain(sqs, url) == ["in a"]


def test_distinct_deduplication_ids_are_distinct_messages(sqs):
    url = fifo_queue(sqs)
    one = send(sqs, url, "same body", dedup="one")
    two = send(sqs, url, "same body", dedup="two")
    assert one["MessageId"] != two["MessageId"]
    assert sequence(two["SequenceNumber"]) > sequence(one["SequenceNumber"])
    assert drain(sqs, url) == ["same body", "same body"]


def test_content_based_deduplication_uses_the_sha256_of_the_body_only(sqs):
    url = fifo_queue(sqs, ContentBasedDeduplication="true")
    body = "content based"
    first = send(sqs, url, body, dedup=False, MessageAttributes={"a": {"DataType": "String", "StringValue": "1"}})
    # Seed 10: the SHA-256 of "the body of the message—but not the attributes of the message".
    again = send(sqs, url, body, dedup=False, MessageAttributes={"a": {"DataType": "String", "StringValue": "2"}})
    assert again["MessageId"] == first["MessageId"]
    assert again["MD5OfMessageAttributes"] == md5_of_attributes({"a": {"DataType": "String", "StringValue": "2"}})
    plain = send(sqs, url, body, dedup=False)
    assert plain["MessageId"] == first["MessageId"]
    other = send(sqs, url, body + ".", dedup=False)
    assert other["MessageId"] != first["MessageId"]
    messages = receive(sqs, url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"])
    assert bodies(messages) == [body, body + "."]
    # The generated id is shown to consumers (fifo §1, R: 64 lower-case hex characters).
    assert messages[0]["Attributes"]["MessageDeduplicationId"] == hashlib.sha256(body.encode()).hexdigest()
    assert messages[0]["MessageAttributes"]["a"]["StringValue"] == "1"


def test_an_explicit_id_equal_to_the_generated_one_is_a_duplicate(sqs):
    url = fifo_queue(sqs, ContentBasedDeduplication="true")
    body = "hash me"
    first = send(sqs, url, body, dedup=False)
    # Seed 83: a message sent with an explicit id that equals the generated hash is a duplicate.
    again = send(sqs, url, "another body", dedup=hashlib.sha256(body.encode()).hexdigest())
    assert again["MessageId"] == first["MessageId"]
    assert drain(sqs, url) == [body]


def test_an_explicit_id_overrides_content_based_deduplication(sqs):
    url = fifo_queue(sqs, ContentBasedDeduplication="true")
    one = send(sqs, url, "same", dedup="explicit-1")
    two = send(sqs, url, "same", dedup="explicit-2")
    assert one["MessageId"] != two["MessageId"]
    message = receive(sqs, url, AttributeNames=["MessageDeduplicationId"])[0]
    assert message["Attributes"]["MessageDeduplicationId"] == "explicit-1"
    delete(sqs, url, message)
    assert drain(sqs, url) == ["same"]


def test_content_based_deduplication_can_be_turned_on_later(sqs):
    url = fifo_queue(sqs)
    with expect_error("InvalidParameterValue", 400, NO_DEDUPLICATION):
        send(sqs, url, "early", dedup=False)
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"ContentBasedDeduplication": "true"})
    first = send(sqs, url, "later", dedup=False)
    assert send(sqs, url, "later", dedup=False)["MessageId"] == first["MessageId"]
    assert drain(sqs, url) == ["later"]


def test_high_throughput_mode_deduplicates_per_message_group(sqs):
    url = fifo_queue(sqs, DeduplicationScope="messageGroup", FifoThroughputLimit="perMessageGroupId")
    # CreateQueue (seed 70) / fifo §6: with DeduplicationScope=messageGroup the key is (group, dedup id).
    a = send(sqs, url, "in a", group="a", dedup="shared")
    b = send(sqs, url, "in b", group="b", dedup="shared")
    assert a["MessageId"] != b["MessageId"]
    assert send(sqs, url, "again in a", group="a", dedup="shared")["MessageId"] == a["MessageId"]
    assert send(sqs, url, "again in b", group="b", dedup="shared")["MessageId"] == b["MessageId"]
    assert sorted(drain(sqs, url)) == ["in a", "in b"]


def test_high_throughput_mode_with_content_based_deduplication(sqs):
    url = fifo_queue(
        sqs, DeduplicationScope="messageGroup", FifoThroughputLimit="perMessageGroupId", ContentBasedDeduplication="true"
    )
    a = send(sqs, url, "same body", group="a", dedup=False)
    b = send(sqs, url, "same body", group="b", dedup=False)
    assert a["MessageId"] != b["MessageId"]
    assert send(sqs, url, "same body", group="a", dedup=False)["MessageId"] == a["MessageId"]
    assert drain(sqs, url) == ["same body", "same body"]


def test_message_group_scope_with_per_queue_throughput_still_deduplicates_per_group(sqs):
    url = fifo_queue(sqs, DeduplicationScope="messageGroup", FifoThroughputLimit="perQueue")
    # fifo §6 (C): any other combination is normal throughput, "and deduplication occurs as specified".
    a = send(sqs, url, "in a", group="a", dedup="shared")
    b = send(sqs, url, "in b", group="b", dedup="shared")
    assert a["MessageId"] != b["MessageId"]
    assert sorted(drain(sqs, url)) == ["in a", "in b"]


def test_changing_the_deduplication_scope_later(sqs):
    url = fifo_queue(sqs)
    send(sqs, url, "in a", group="a", dedup="shared")
    # SetQueueAttributes (seed 16) accepts DeduplicationScope and FifoThroughputLimit (fifo §6).
    sqs.set_queue_attributes(
        QueueUrl=url, Attributes={"DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"}
    )
    send(sqs, url, "in b", group="b", dedup="shared")
    assert sorted(drain(sqs, url)) == ["in a", "in b"]


def test_switching_to_high_throughput_applies_to_the_next_sends(sqs):
    url = fifo_queue(sqs)
    first = send(sqs, url, "before in a", group="a", dedup="before")
    assert send(sqs, url, "before in b", group="b", dedup="before")["MessageId"] == first["MessageId"]
    sqs.set_queue_attributes(
        QueueUrl=url, Attributes={"DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"}
    )
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["DeduplicationScope"] == "messageGroup"
    assert attributes["FifoThroughputLimit"] == "perMessageGroupId"
    # The same deduplication id in two groups is now two messages.
    a = send(sqs, url, "after in a", group="a", dedup="after")
    b = send(sqs, url, "after in b", group="b", dedup="after")
    assert a["MessageId"] != b["MessageId"]
    assert sorted(drain(sqs, url)) == ["after in a", "after in b", "before in a"]


def test_purge_empties_the_deduplication_window(sqs):
    url = fifo_queue(sqs)
    before = send(sqs, url, "body", dedup="kept-id")
    sqs.purge_queue(QueueUrl=url)
    # A message with an id seen before the purge is accepted and delivered.
    after = send(sqs, url, "body", dedup="kept-id")
    assert after["MessageId"] != before["MessageId"]
    got = receive(sqs, url, MaxNumberOfMessages=10)
    assert [m["MessageId"] for m in got] == [after["MessageId"]]


# --- ordering and the group lock ------------------------------------------------------------------------------


def test_one_group_is_delivered_in_send_order(sqs):
    url = fifo_queue(sqs)
    expected = [f"m{i:02d}" for i in range(25)]
    for body in expected:
        send(sqs, url, body)
    assert drain(sqs, url) == expected


def test_a_receive_returns_a_group_in_order_then_other_groups(sqs):
    url = fifo_queue(sqs)
    for body, group in [("a1", "a"), ("b1", "b"), ("a2", "a"), ("b2", "b"), ("a3", "a"), ("c1", "c")]:
        send(sqs, url, body, group=group)
    # Seed 85 / fifo §4: SQS "first attempts to return as many messages with the same message group ID as
    # possible", then may add other groups "in the same batch of 10 messages, but still in FIFO order".
    got = receive_bodies(sqs, url, MaxNumberOfMessages=10)
    assert sorted(got) == ["a1", "a2", "a3", "b1", "b2", "c1"]
    for group in "abc":
        assert [b for b in got if b[0] == group] == sorted(b for b in got if b[0] == group), got
    assert got == ["a1", "a2", "a3", "b1", "b2", "c1"]


def test_max_number_of_messages_cuts_a_group_at_its_head(sqs):
    url = fifo_queue(sqs)
    for i in range(5):
        send(sqs, url, f"a{i}", group="a")
    first = receive(sqs, url, MaxNumberOfMessages=2)
    assert bodies(first) == ["a0", "a1"]
    # The group's oldest message is in flight: nothing more from it (seed 85).
    assert receive(sqs, url, MaxNumberOfMessages=10) == []
    for message in first:
        delete(sqs, url, message)
    assert receive_bodies(sqs, url, MaxNumberOfMessages=10) == ["a2", "a3", "a4"]


def test_a_group_whose_oldest_message_is_in_flight_gives_nothing_more(sqs):
    url = fifo_queue(sqs)
    for body, group in [("a1", "a"), ("a2", "a"), ("b1", "b"), ("b2", "b")]:
        send(sqs, url, body, group=group)
    a1 = receive(sqs, url)[0]
    assert a1["Body"] == "a1"
    # "When you receive a message with a message group ID, no more messages for the same message group ID are
    # returned unless you delete the message or it becomes visible." (seed 85, fifo §4)
    b = receive(sqs, url, MaxNumberOfMessages=10)
    assert bodies(b) == ["b1", "b2"]
    assert receive(sqs, url, MaxNumberOfMessages=10) == []
    delete(sqs, url, a1)
    a2 = receive(sqs, url, MaxNumberOfMessages=10)
    assert bodies(a2) == ["a2"]
    # Releasing a later message of a group whose oldest is still in flight releases nothing.
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=b[1]["ReceiptHandle"], VisibilityTimeout=0)
    assert receive(sqs, url, MaxNumberOfMessages=10) == []
    delete(sqs, url, b[0])
    again = receive(sqs, url, MaxNumberOfMessages=10, AttributeNames=["ApproximateReceiveCount"])
    assert bodies(again) == ["b2"]
    assert again[0]["Attributes"]["ApproximateReceiveCount"] == "2"


def test_an_expired_message_returns_to_the_head_of_its_group(sqs):
    url = fifo_queue(sqs)
    for i in range(4):
        send(sqs, url, f"m{i}")
    first = receive(sqs, url, VisibilityTimeout=1, AttributeNames=["ApproximateReceiveCount"])
    assert bodies(first) == ["m0"]
    assert receive(sqs, url) == []
    time.sleep(1.5)
    again = receive(sqs, url, MaxNumberOfMessages=10, AttributeNames=["ApproximateReceiveCount"])
    assert bodies(again) == ["m0", "m1", "m2", "m3"]
    assert [m["Attributes"]["ApproximateReceiveCount"] for m in again] == ["2", "1", "1", "1"]
    assert again[0]["MessageId"] == first[0]["MessageId"]


def test_releasing_a_whole_receive_redelivers_it_in_order(sqs):
    url = fifo_queue(sqs)
    for i in range(3):
        send(sqs, url, f"m{i}")
    first = receive(sqs, url, MaxNumberOfMessages=10)
    assert bodies(first) == ["m0", "m1", "m2"]
    # Release in reverse order; the group's order is the send order regardless.
    response = sqs.change_message_visibility_batch(
        QueueUrl=url,
        Entries=[{"Id": f"e{i}", "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                 for i, m in reversed(list(enumerate(first)))],
    )
    assert response.get("Failed", []) == []
    assert receive_bodies(sqs, url, MaxNumberOfMessages=10) == ["m0", "m1", "m2"]


def test_a_long_poll_returns_when_the_blocking_message_is_deleted(sqs, make_client):
    url = fifo_queue(sqs)
    send(sqs, url, "head")
    send(sqs, url, "next")
    head = receive(sqs, url)[0]
    other = make_client()
    timer = threading.Timer(1.0, lambda: other.delete_message(QueueUrl=url, ReceiptHandle=head["ReceiptHandle"]))
    timer.start()
    try:
        started = time.monotonic()
        # Seed 85: a long poll returns as soon as a message is available; deleting the head of a group makes
        # the next one available.
        got = receive(sqs, url, WaitTimeSeconds=8)
        waited = time.monotonic() - started
    finally:
        timer.join()
    assert bodies(got) == ["next"]
    assert waited < 4, f"the long poll returned {waited:.1f} s after it started, not soon after the delete at 1 s"


def test_a_long_poll_returns_when_the_blocking_message_is_released(sqs, make_client):
    url = fifo_queue(sqs)
    send(sqs, url, "head")
    head = receive(sqs, url)[0]
    other = make_client()
    timer = threading.Timer(
        1.0,
        lambda: other.change_message_visibility(QueueUrl=url, ReceiptHandle=head["ReceiptHandle"], VisibilityTimeout=0),
    )
    timer.start()
    try:
        started = time.monotonic()
        got = receive(sqs, url, WaitTimeSeconds=8)
        waited = time.monotonic() - started
    finally:
        timer.join()
    assert bodies(got) == ["head"]
    assert waited < 4, waited


def test_a_long_poll_returns_when_the_queue_delay_is_lowered(sqs, make_client):
    url = fifo_queue(sqs, DelaySeconds=600)
    send(sqs, url, "held back")
    other = make_client()
    timer = threading.Timer(
        1.0, lambda: other.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "0"})
    )
    timer.start()
    try:
        started = time.monotonic()
        # Seed 13: the change applies to the waiting message at once, and a long poll returns as soon as a
        # message is available (seed 85).
        got = receive(sqs, url, WaitTimeSeconds=8)
        waited = time.monotonic() - started
    finally:
        timer.join()
    assert bodies(got) == ["held back"]
    assert waited < 4, waited


def test_a_group_is_served_from_its_oldest_message_while_later_ones_are_in_flight(sqs):
    url = fifo_queue(sqs)
    for body, group in [("g1-m1", "g1"), ("g1-m2", "g1"), ("g2-m1", "g2")]:
        send(sqs, url, body, group=group)
    first = receive(sqs, url, MaxNumberOfMessages=2)
    assert bodies(first) == ["g1-m1", "g1-m2"]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"], VisibilityTimeout=0)
    # The group is available again from its oldest message, up to g1-m2, still in flight; g2 was waiting
    # longer, so it comes first.
    assert receive_bodies(sqs, url, MaxNumberOfMessages=3) == ["g2-m1", "g1-m1"]


@pytest.mark.parametrize("extended,expected", [(0, []), (1, ["m1"]), (2, ["m1", "m2"])])
def test_the_messages_before_an_extended_one_come_back_when_the_others_time_out(sqs, extended, expected):
    url = fifo_queue(sqs)
    for body in ["m1", "m2", "m3"]:
        send(sqs, url, body)
    got = receive(sqs, url, MaxNumberOfMessages=3, VisibilityTimeout=1)
    assert bodies(got) == ["m1", "m2", "m3"]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=got[extended]["ReceiptHandle"], VisibilityTimeout=60)
    time.sleep(1.5)
    assert receive_bodies(sqs, url, MaxNumberOfMessages=10) == expected


def test_groups_take_turns_in_the_order_they_became_ready(sqs):
    url = fifo_queue(sqs)
    for body in ["g1-m1", "g1-m2", "g2-m1", "g2-m2", "g3-m1"]:
        send(sqs, url, body, group=body[:2])
    # Served even with no visibility timeout, g1 and g2 go behind g3, which was waiting.
    assert receive_bodies(sqs, url, MaxNumberOfMessages=3, VisibilityTimeout=0) == ["g1-m1", "g1-m2", "g2-m1"]
    assert receive_bodies(sqs, url, MaxNumberOfMessages=10, VisibilityTimeout=0) == [
        "g3-m1", "g1-m1", "g1-m2", "g2-m1", "g2-m2",
    ]


def test_a_group_never_received_goes_before_groups_that_timed_out(sqs):
    url = fifo_queue(sqs)
    for body in ["g1-m1", "g2-m1", "g3-m1"]:
        send(sqs, url, body, group=body[:2])
    assert receive_bodies(sqs, url, MaxNumberOfMessages=2, VisibilityTimeout=1) == ["g1-m1", "g2-m1"]
    time.sleep(1.5)
    assert receive_bodies(sqs, url, MaxNumberOfMessages=10) == ["g3-m1", "g1-m1", "g2-m1"]


def test_a_receive_with_visibility_timeout_zero_holds_nothing(sqs):
    url = fifo_queue(sqs)
    send(sqs, url, "m0")
    send(sqs, url, "m1")
    first = receive(sqs, url, VisibilityTimeout=0, AttributeNames=["ApproximateReceiveCount"])
    assert bodies(first) == ["m0"]
    # Hidden for zero seconds: the message, and with it its group, is available again at once.
    again = receive(sqs, url, MaxNumberOfMessages=10, AttributeNames=["ApproximateReceiveCount"])
    assert bodies(again) == ["m0", "m1"]
    assert [m["Attributes"]["ApproximateReceiveCount"] for m in again] == ["2", "1"]


def test_purge_releases_the_groups_of_purged_messages(sqs):
    url = fifo_queue(sqs)
    send(sqs, url, "old head", dedup="old-head")
    send(sqs, url, "old tail", dedup="old-tail")
    held = receive(sqs, url)
    assert bodies(held) == ["old head"]
    # PurgeQueue deletes available and in-flight messages (model doc; messages §8).
    sqs.purge_queue(QueueUrl=url)
    assert counters(sqs, url) == (0, 0, 0)
    send(sqs, url, "new", dedup="new")
    assert receive_bodies(sqs, url) == ["new"]


def test_counters_of_a_fifo_queue(sqs):
    url = fifo_queue(sqs)
    for i in range(3):
        send(sqs, url, f"m{i}")
    assert counters(sqs, url) == (3, 0, 0)
    receive(sqs, url)
    assert counters(sqs, url) == (2, 1, 0)


# --- receipt handles ------------------------------------------------------------------------------------------


def test_delete_after_the_visibility_timeout_expired_fails(sqs):
    url = fifo_queue(sqs)
    send(sqs, url, "slow")
    message = receive(sqs, url, VisibilityTimeout=1)[0]
    time.sleep(1.5)
    # messages §6 (C: bbc/sqs-consumer#83, aws-sdk-js#1750: "FIFO queues will reject DeleteMessage requests
    # when the receipt handle is expired"); seed 85: such a delete "fails with an error".
    handle = message["ReceiptHandle"]
    with expect_error("InvalidParameterValue", 400, invalid_value(handle, "ReceiptHandle", HANDLE_EXPIRED)):
        sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
    assert counters(sqs, url) == (1, 0, 0)
    assert receive_bodies(sqs, url) == ["slow"]


def test_delete_with_the_handle_of_an_earlier_receive_fails(sqs):
    url = fifo_queue(sqs)
    send(sqs, url, "twice")
    old = receive(sqs, url)[0]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=old["ReceiptHandle"], VisibilityTimeout=0)
    new = receive(sqs, url)[0]
    assert new["MessageId"] == old["MessageId"]
    with expect_error("InvalidParameterValue", 400, invalid_value(old["ReceiptHandle"], "ReceiptHandle", HANDLE_EXPIRED)):
        sqs.delete_message(QueueUrl=url, ReceiptHandle=old["ReceiptHandle"])
    assert counters(sqs, url) == (0, 1, 0)
    delete(sqs, url, new)
    assert counters(sqs, url) == (0, 0, 0)


def test_delete_message_batch_with_an_expired_handle(sqs):
    url = fifo_queue(sqs)
    send(sqs, url, "a", group="a")
    send(sqs, url, "b", group="b")
    expired = receive(sqs, url, VisibilityTimeout=1)[0]
    time.sleep(1.5)
    fresh = receive(sqs, url, MaxNumberOfMessages=10, VisibilityTimeout=30)
    assert sorted(bodies(fresh)) == ["a", "b"]
    current = next(m for m in fresh if m["Body"] != expired["Body"])
    response = sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "old", "ReceiptHandle": expired["ReceiptHandle"]},
            {"Id": "ok", "ReceiptHandle": current["ReceiptHandle"]},
        ],
    )
    assert [e["Id"] for e in response["Successful"]] == ["ok"]
    assert len(response["Failed"]) == 1
    # fifo §5 (G): the same condition is a Failed entry with the single call's code.
    check_failed_entry(response["Failed"][0], "old", "InvalidParameterValue")
    assert HANDLE_EXPIRED in response["Failed"][0]["Message"]
    assert counters(sqs, url) == (0, 1, 0)


def test_change_visibility_with_a_superseded_handle_fails(sqs):
    url = fifo_queue(sqs)
    send(sqs, url, "cmv")
    old = receive(sqs, url)[0]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=old["ReceiptHandle"], VisibilityTimeout=0)
    receive(sqs, url)
    # messages §6 (C for standard queues; fifo §5 R: the same on FIFO).
    reason = "Message does not exist or is not available for visibility timeout change."
    with expect_error("InvalidParameterValue", 400, invalid_value(old["ReceiptHandle"], "ReceiptHandle", reason)):
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=old["ReceiptHandle"], VisibilityTimeout=0)


# --- ReceiveRequestAttemptId ----------------------------------------------------------------------------------


def test_a_retried_receive_returns_the_same_messages_and_handles(sqs):
    url = fifo_queue(sqs)
    for i in range(3):
        send(sqs, url, f"m{i}")
    first = receive(sqs, url, MaxNumberOfMessages=2, ReceiveRequestAttemptId="attempt-1", VisibilityTimeout=2)
    assert bodies(first) == ["m0", "m1"]
    time.sleep(1.2)
    # Seed 85: "During a visibility timeout, subsequent calls with the same ReceiveRequestAttemptId return the
    # same messages and receipt handles. If a retry occurs within the deduplication interval, it resets the
    # visibility timeout."
    retry = receive(sqs, url, MaxNumberOfMessages=2, ReceiveRequestAttemptId="attempt-1", VisibilityTimeout=2)
    assert [(m["MessageId"], m["ReceiptHandle"], m["Body"]) for m in retry] == [
        (m["MessageId"], m["ReceiptHandle"], m["Body"]) for m in first
    ]
    # 2.2 s after the first receive, 1 s after the retry: hidden still, because the retry reset the timeout.
    time.sleep(1.0)
    assert receive(sqs, url, MaxNumberOfMessages=10) == []
    assert counters(sqs, url) == (1, 2, 0)
    for message in retry:
        delete(sqs, url, message)
    assert receive_bodies(sqs, url) == ["m2"]


def test_a_different_attempt_id_is_a_new_receive(sqs):
    url = fifo_queue(sqs)
    send(sqs, url, "a1", group="a")
    send(sqs, url, "b1", group="b")
    assert receive_bodies(sqs, url, ReceiveRequestAttemptId="one") == ["a1"]
    assert receive_bodies(sqs, url, ReceiveRequestAttemptId="two") == ["b1"]
    assert receive_bodies(sqs, url, ReceiveRequestAttemptId="three") == []
    assert receive_bodies(sqs, url, ReceiveRequestAttemptId="one") == ["a1"]


def test_an_attempt_cannot_be_retried_after_a_delete(sqs):
    url = fifo_queue(sqs)
    send(sqs, url, "m0")
    send(sqs, url, "m1")
    first = receive(sqs, url, MaxNumberOfMessages=10, ReceiveRequestAttemptId="del-attempt")
    assert bodies(first) == ["m0", "m1"]
    delete(sqs, url, first[0])
    # fifo §4 (C: amazon-sqs-java-messaging-lib#101 / aws-sdk-java#2613): retrying after a delete fails.
    with expect_error("InvalidParameterValue", 400, invalid_value("del-attempt", "ReceiveRequestAttemptId", NOT_RETRYABLE)):
        receive(sqs, url, MaxNumberOfMessages=10, ReceiveRequestAttemptId="del-attempt")
    # The other message is untouched and still in flight.
    assert counters(sqs, url) == (0, 1, 0)
    delete(sqs, url, first[1])


def test_an_attempt_cannot_be_retried_after_a_visibility_change(sqs):
    url = fifo_queue(sqs)
    send(sqs, url, "m0")
    first = receive(sqs, url, ReceiveRequestAttemptId="cmv-attempt", VisibilityTimeout=30)
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"], VisibilityTimeout=60)
    with expect_error("InvalidParameterValue", 400, invalid_value("cmv-attempt", "ReceiveRequestAttemptId", NOT_RETRYABLE)):
        receive(sqs, url, ReceiveRequestAttemptId="cmv-attempt")
    # The visibility change itself stands: the message is still hidden and its handle still deletes it.
    assert receive(sqs, url) == []
    delete(sqs, url, first[0])


def test_attempt_ids_belong_to_their_queue(sqs):
    one = fifo_queue(sqs)
    two = fifo_queue(sqs)
    send(sqs, one, "from one")
    send(sqs, two, "from two")
    assert receive_bodies(sqs, one, ReceiveRequestAttemptId="shared-attempt") == ["from one"]
    assert receive_bodies(sqs, two, ReceiveRequestAttemptId="shared-attempt") == ["from two"]


@pytest.mark.parametrize("value", ["has space", "y" * 129, "caf\u00e9"], ids=["space", "129-chars", "non-ascii"])
def test_invalid_receive_request_attempt_id(sqs, value):
    url = fifo_queue(sqs)
    # Seed 85: at most 128 characters, letters, digits and punctuation. The text is fifo §4 (G, by analogy).
    reason = token_reason("ReceiveRequestAttemptId")
    with expect_error("InvalidParameterValue", 400, invalid_value(value, "ReceiveRequestAttemptId", reason)):
        receive(sqs, url, ReceiveRequestAttemptId=value)


def test_receive_request_attempt_id_is_ignored_on_standard_queues(sqs):
    url = sqs.create_queue(QueueName=unique_name("std"))["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="s1")
    sqs.send_message(QueueUrl=url, MessageBody="s2")
    # fifo §4 (R: spring-cloud-aws#529, "AWS ... do not complain"): accepted and ignored.
    got = bodies(receive(sqs, url, ReceiveRequestAttemptId="std-attempt", WaitTimeSeconds=1))
    got += bodies(receive(sqs, url, ReceiveRequestAttemptId="std-attempt", WaitTimeSeconds=1))
    assert sorted(got) == ["s1", "s2"]


# --- the queue's delay ------------------------------------------------------------------------------------------


def test_the_queue_delay_applies_to_fifo_messages(sqs):
    url = fifo_queue(sqs, DelaySeconds=1)
    send(sqs, url, "delayed")
    assert counters(sqs, url) == (0, 0, 1)
    assert receive(sqs, url) == []
    assert bodies(receive(sqs, url, WaitTimeSeconds=3)) == ["delayed"]


def test_the_queue_delay_is_retroactive_on_fifo_queues(sqs):
    url = fifo_queue(sqs, DelaySeconds=600)
    send(sqs, url, "waiting")
    assert counters(sqs, url) == (0, 0, 1)
    # Seed 13: "For FIFO queues, the per-queue delay setting is retroactive—changing the setting affects the
    # delay of messages already in the queue."
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "0"})
    assert counters(sqs, url) == (1, 0, 0)
    assert receive_bodies(sqs, url) == ["waiting"]


def test_raising_the_queue_delay_hides_waiting_fifo_messages(sqs):
    url = fifo_queue(sqs)
    send(sqs, url, "ready")
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "600"})
    assert counters(sqs, url) == (0, 0, 1)
    assert receive(sqs, url) == []
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "0"})
    assert receive_bodies(sqs, url) == ["ready"]


def test_delayed_messages_wait_without_blocking_what_is_ready(sqs):
    url = fifo_queue(sqs, DelaySeconds=1)
    send(sqs, url, "a1", group="a")
    time.sleep(1.2)
    send(sqs, url, "a2", group="a")
    send(sqs, url, "b1", group="b")
    # a1's delay is over; a2 and b1 are still delayed and do not come with it.
    a1 = receive(sqs, url, MaxNumberOfMessages=10)
    assert bodies(a1) == ["a1"]
    time.sleep(1.2)
    # Now a2 is ready too, but a1 is in flight, so group a gives nothing (seed 85); b1 comes.
    assert receive_bodies(sqs, url, MaxNumberOfMessages=10) == ["b1"]
    delete(sqs, url, a1[0])
    assert receive_bodies(sqs, url, MaxNumberOfMessages=10) == ["a2"]


# --- SendMessageBatch -------------------------------------------------------------------------------------------


def test_a_batch_keeps_its_order_within_each_group(sqs):
    url = fifo_queue(sqs)
    entries = [
        {"Id": f"e{i}", "MessageBody": f"{'ab'[i % 2]}{i}", "MessageGroupId": "ab"[i % 2], "MessageDeduplicationId": f"d{i}"}
        for i in range(10)
    ]
    response = sqs.send_message_batch(QueueUrl=url, Entries=entries)
    assert response.get("Failed", []) == []
    by_id = {e["Id"]: e for e in response["Successful"]}
    assert set(by_id) == {e["Id"] for e in entries}
    numbers = [sequence(by_id[e["Id"]]["SequenceNumber"]) for e in entries]
    # fifo §2 (C: a real batch of three got consecutive numbers): the batch's order is its send order.
    assert numbers == sorted(numbers) and len(set(numbers)) == 10, numbers
    for entry in entries:
        assert by_id[entry["Id"]]["MD5OfMessageBody"] == md5_of_body(entry["MessageBody"])
    got = receive(sqs, url, MaxNumberOfMessages=10, AttributeNames=["SequenceNumber"])
    assert bodies(got) == ["a0", "a2", "a4", "a6", "a8", "b1", "b3", "b5", "b7", "b9"]
    for message in got:
        entry_id = "e" + message["Body"][1:]
        assert message["Attributes"]["SequenceNumber"] == by_id[entry_id]["SequenceNumber"]


def test_a_batch_with_failing_entries_keeps_the_order_of_the_rest(sqs):
    url = fifo_queue(sqs)
    entries = [
        {"Id": "ok0", "MessageBody": "m0", "MessageGroupId": "g", "MessageDeduplicationId": "d0"},
        {"Id": "ok1", "MessageBody": "m1", "MessageGroupId": "g", "MessageDeduplicationId": "d1"},
        {"Id": "delay", "MessageBody": "x", "MessageGroupId": "g", "MessageDeduplicationId": "dy", "DelaySeconds": 5},
        {"Id": "ok2", "MessageBody": "m2", "MessageGroupId": "g", "MessageDeduplicationId": "d2"},
        {"Id": "bad-group", "MessageBody": "x", "MessageGroupId": "a b", "MessageDeduplicationId": "dz"},
        {"Id": "bad-dedup", "MessageBody": "x", "MessageGroupId": "g", "MessageDeduplicationId": "d d"},
        {"Id": "ok3", "MessageBody": "m3", "MessageGroupId": "g", "MessageDeduplicationId": "d3"},
    ]
    response = sqs.send_message_batch(QueueUrl=url, Entries=entries)
    # messages §7 (R): Successful and Failed in request order; each failure has the single call's code.
    # (An entry without a group or deduplication id fails the whole request instead: test_messages.py.)
    assert [e["Id"] for e in response["Successful"]] == ["ok0", "ok1", "ok2", "ok3"]
    failed = {e["Id"]: e for e in response["Failed"]}
    assert [e["Id"] for e in response["Failed"]] == ["delay", "bad-group", "bad-dedup"]
    check_failed_entry(failed["delay"], "delay", "InvalidParameterValue")
    assert "The request include parameter that is not valid for this queue type" in failed["delay"]["Message"]
    check_failed_entry(failed["bad-group"], "bad-group", "InvalidParameterValue")
    assert token_reason("MessageGroupId") in failed["bad-group"]["Message"]
    check_failed_entry(failed["bad-dedup"], "bad-dedup", "InvalidParameterValue")
    assert token_reason("MessageDeduplicationId") in failed["bad-dedup"]["Message"]
    numbers = [sequence(e["SequenceNumber"]) for e in response["Successful"]]
    assert numbers == sorted(numbers) and len(set(numbers)) == 4
    assert drain(sqs, url) == ["m0", "m1", "m2", "m3"]


def test_a_batch_deduplicates_against_the_queue_and_within_itself(sqs):
    url = fifo_queue(sqs)
    earlier = send(sqs, url, "earlier", dedup="seen")
    entries = [
        {"Id": "dup-of-earlier", "MessageBody": "x", "MessageGroupId": "g", "MessageDeduplicationId": "seen"},
        {"Id": "new", "MessageBody": "new", "MessageGroupId": "g", "MessageDeduplicationId": "fresh"},
        {"Id": "dup-in-batch", "MessageBody": "y", "MessageGroupId": "g", "MessageDeduplicationId": "fresh"},
    ]
    response = sqs.send_message_batch(QueueUrl=url, Entries=entries)
    assert response.get("Failed", []) == []
    by_id = {e["Id"]: e for e in response["Successful"]}
    assert [e["Id"] for e in response["Successful"]] == ["dup-of-earlier", "new", "dup-in-batch"]
    assert by_id["dup-of-earlier"]["MessageId"] == earlier["MessageId"]
    assert by_id["dup-of-earlier"]["SequenceNumber"] == earlier["SequenceNumber"]
    # fifo §1 (G): a repeat inside the batch is a duplicate of the batch's first entry with that id.
    assert by_id["dup-in-batch"]["MessageId"] == by_id["new"]["MessageId"]
    assert by_id["dup-in-batch"]["SequenceNumber"] == by_id["new"]["SequenceNumber"]
    assert by_id["dup-in-batch"]["MD5OfMessageBody"] == md5_of_body("y")
    assert drain(sqs, url) == ["earlier", "new"]


def test_a_batch_with_content_based_deduplication(sqs):
    url = fifo_queue(sqs, ContentBasedDeduplication="true")
    entries = [{"Id": f"e{i}", "MessageBody": body, "MessageGroupId": "g"} for i, body in enumerate(["x", "y", "x"])]
    response = sqs.send_message_batch(QueueUrl=url, Entries=entries)
    by_id = {e["Id"]: e for e in response["Successful"]}
    assert len(by_id) == 3
    assert by_id["e2"]["MessageId"] == by_id["e0"]["MessageId"]
    assert drain(sqs, url) == ["x", "y"]


def test_delete_message_batch_releases_the_group(sqs):
    url = fifo_queue(sqs)
    for i in range(6):
        send(sqs, url, f"m{i}")
    first = receive(sqs, url, MaxNumberOfMessages=3)
    response = sqs.delete_message_batch(
        QueueUrl=url, Entries=[{"Id": f"d{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(first)]
    )
    assert response.get("Failed", []) == []
    assert receive_bodies(sqs, url, MaxNumberOfMessages=10) == ["m3", "m4", "m5"]


# --- the AWS CLI ------------------------------------------------------------------------------------------------


def test_cli_send_and_receive_on_a_fifo_queue(aws):
    name = unique_name("cli-fifo") + ".fifo"
    url = aws("create-queue", "--queue-name", name, "--attributes", "FifoQueue=true").json()["QueueUrl"]
    sent = []
    for i, group in enumerate(["a", "b", "a"]):
        sent.append(
            aws(
                "send-message", "--queue-url", url, "--message-body", f"cli {i}",
                "--message-group-id", group, "--message-deduplication-id", f"cli-dedup-{i}",
            ).json()
        )
    for response in sent:
        sequence(response["SequenceNumber"])
    assert int(sent[2]["SequenceNumber"]) > int(sent[0]["SequenceNumber"])
    duplicate = aws(
        "send-message", "--queue-url", url, "--message-body", "cli 0 again",
        "--message-group-id", "a", "--message-deduplication-id", "cli-dedup-0",
    ).json()
    assert duplicate["MessageId"] == sent[0]["MessageId"]
    assert duplicate["SequenceNumber"] == sent[0]["SequenceNumber"]

    received = (aws(
        "receive-message", "--queue-url", url, "--max-number-of-messages", "10", "--attribute-names", "All",
        "--receive-request-attempt-id", "cli-attempt",
    ).json() or {}).get("Messages", [])
    assert [m["Body"] for m in received] == ["cli 0", "cli 2", "cli 1"]
    for message, index in zip(received, [0, 2, 1]):
        assert message["MessageId"] == sent[index]["MessageId"]
        assert message["Attributes"]["SequenceNumber"] == sent[index]["SequenceNumber"]
        assert message["Attributes"]["MessageDeduplicationId"] == f"cli-dedup-{index}"
        assert message["Attributes"]["MessageGroupId"] == "ab"[index == 1]
    retried = (aws(
        "receive-message", "--queue-url", url, "--max-number-of-messages", "10",
        "--receive-request-attempt-id", "cli-attempt",
    ).json() or {}).get("Messages", [])
    assert [m["ReceiptHandle"] for m in retried] == [m["ReceiptHandle"] for m in received]
    for message in received:
        aws("delete-message", "--queue-url", url, "--receipt-handle", message["ReceiptHandle"])
    result = aws(
        "receive-message", "--queue-url", url, "--receive-request-attempt-id", "cli-attempt", check=False
    )
    assert result.returncode != 0
    assert "InvalidParameterValue" in result.stderr, result.stderr
    assert NOT_RETRYABLE in result.stderr, result.stderr


def test_cli_fifo_errors(aws):
    name = unique_name("cli-fifo-err") + ".fifo"
    url = aws("create-queue", "--queue-name", name, "--attributes", "FifoQueue=true").json()["QueueUrl"]
    result = aws("send-message", "--queue-url", url, "--message-body", "x", "--message-deduplication-id", "d",
                 check=False)
    assert result.returncode != 0
    assert "MissingParameter" in result.stderr, result.stderr
    assert "The request must contain the parameter MessageGroupId." in result.stderr, result.stderr
    result = aws("send-message", "--queue-url", url, "--message-body", "x", "--message-group-id", "g", check=False)
    assert result.returncode != 0
    assert NO_DEDUPLICATION in result.stderr, result.stderr
    result = aws("send-message", "--queue-url", url, "--message-body", "x", "--message-group-id", "g",
                 "--message-deduplication-id", "d", "--delay-seconds", "5", check=False)
    assert result.returncode != 0
    assert invalid_value(5, "DelaySeconds", NOT_FOR_THIS_QUEUE_TYPE) in result.stderr, result.stderr
