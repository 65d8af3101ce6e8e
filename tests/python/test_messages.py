"""The message lifecycle on standard queues, through boto3 (AWS JSON in the current environment, AWS Query in
the 1.34.89 one): SendMessage(Batch), ReceiveMessage (filters, visibility, long polling), DeleteMessage(Batch),
ChangeMessageVisibility(Batch), delays, PurgeQueue, the queue counters, and every documented limit and error.

Expected behaviour comes only from AWS: the SendMessage / SendMessageBatch / ReceiveMessage API references
(shared/spec/seed 83, 84, 85), the developer guide on delay queues (13), visibility timeout (15) and
short/long polling (23), the SQS service models (shared/spec/models), and the research notes
/tmp/research/sqs-messages.md and sqs-errors.md (real AWS responses quoted in public issues; section numbers
below refer to sqs-messages.md). The MD5 digests are recomputed here with an independent implementation of
the algorithm from the developer guide ("Calculating the MD5 message digest for message attributes").
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.config import Config

import conftest
from conftest import (
    NO_RETRIES,
    NON_EXISTENT_QUEUE,
    _start_sluice,
    counters,
    expect_error,
    missing_queue_message,
    now_ms,
    raw_http_once,
    receive,
    unique_name,
)
from sqs_digests import md5_of_attributes, md5_of_body

# --- attribute builders and expected values ------------------------------------------------------------------


def string(value: str, data_type: str = "String") -> dict:
    return {"DataType": data_type, "StringValue": value}


def number(value: str, data_type: str = "Number") -> dict:
    return {"DataType": data_type, "StringValue": value}


def binary(value: bytes, data_type: str = "Binary") -> dict:
    return {"DataType": data_type, "BinaryValue": value}


def normalised(attributes: dict | None) -> dict:
    """Received message attributes without the reserved (unimplemented) empty list members."""
    result = {}
    for name, value in (attributes or {}).items():
        result[name] = {k: v for k, v in value.items() if not (k in ("StringListValues", "BinaryListValues") and not v)}
    return result


DOC_BODY = "This is a test message"
DOC_ATTRIBUTES = {
    "my_attribute_name_1": string("my_attribute_value_1"),
    "my_attribute_name_2": string("my_attribute_value_2"),
}
TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"

INVALID_CHARACTERS = (
    "the set of allowed characters is #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]."
)
SYSTEM_ATTRIBUTES_OF_A_STANDARD_MESSAGE = {
    "SenderId",
    "SentTimestamp",
    "ApproximateReceiveCount",
    "ApproximateFirstReceiveTimestamp",
}


def test_digest_implementation_matches_the_published_values():
    # SendMessage API reference example (seed 83): both digests.
    assert md5_of_body(DOC_BODY) == "fafb00f5732ab283681e124bf8747ed1"
    assert md5_of_attributes(DOC_ATTRIBUTES) == "c48838208d2b4e14e3ca0093a8443f09"
    # Research §1b vectors (the first two are also published by an independent npm package).
    assert md5_of_attributes({"attribName1": string("attribValue 1")}) == "19e27d4e946b072f3f58da80d94fd778"
    assert md5_of_attributes({"binaryAttribute": binary(b"Hello binary world!")}) == "31a92b15d92f8db860eda32aceb656c3"
    assert md5_of_attributes({"n": number("42")}) == "30e7543857de47826ea2a48bbec32fd7"
    assert md5_of_attributes({"b": binary(b"\x00\x01\x02")}) == "0911ac989fa4a4b3440f074ba9941547"
    assert md5_of_attributes({"AWSTraceHeader": string(TRACE_HEADER)}) == "5ae4d5d7636402d80f4eb6d213245a88"
    # SendMessageBatch API reference examples (seed 84): the JSON example's attribute digest, the Query
    # example's body and attribute digests, and the first body of both (also in the ReceiveMessage example).
    assert md5_of_body("test message body 1") == "0e024d309850c78cba5eabbeff7cae71"
    assert md5_of_body("test message body 2") == "7fb8146a82f95e0af155278f406862c2"
    assert md5_of_attributes({"my_attribute_name_1": string("my_attribute_value_1")}) == "8ef4d60dbc8efda9f260e1dfd09d29f3"
    assert md5_of_attributes({"test_attribute_name_1": string("test_attribute_value_1")}) == "ba056227cfd9533dba1f72ad9816d233"


# --- helpers ---------------------------------------------------------------------------------------------------


def new_queue(sqs, prefix="m", **attributes) -> str:
    return conftest.new_queue(sqs, prefix, **attributes)


def receive_one(sqs, url, **kwargs) -> dict:
    """One message, waiting up to 2 s for it (an emulator's short poll may legitimately sample; see seed 85)."""
    kwargs.setdefault("WaitTimeSeconds", 2)
    messages = receive(sqs, url, **kwargs)
    assert len(messages) == 1, messages
    return messages[0]


def receive_all(sqs, url, count, deadline_s=10, **kwargs) -> list:
    got = []
    deadline = time.monotonic() + deadline_s
    while len(got) < count and time.monotonic() < deadline:
        got += receive(sqs, url, MaxNumberOfMessages=10, WaitTimeSeconds=1, **kwargs)
    return got


def assert_empty_receive(sqs, url, **kwargs):
    response = sqs.receive_message(QueueUrl=url, **kwargs)
    # "If no messages are available and the wait time expires, the call does not return a message list." (seed 85)
    assert "Messages" not in response, response


def system_attribute_kwargs(protocol, names) -> dict:
    """MessageSystemAttributeNames where the client has it (JSON era); the deprecated AttributeNames otherwise."""
    if protocol == "json":
        return {"MessageSystemAttributeNames": names}
    return {"AttributeNames": names}


def check_failed_entry(entry: dict, entry_id: str, code: str, message: str | None = None, message_end: str | None = None):
    assert entry["Id"] == entry_id, entry
    assert entry["SenderFault"] is True, entry
    assert entry["Code"] == code, entry
    if message is not None:
        assert entry["Message"] == message, entry
    if message_end is not None:
        assert entry["Message"].endswith(message_end), entry


# --- SendMessage and its digests -------------------------------------------------------------------------------


def test_send_message_of_the_api_reference_example(sqs):
    url = new_queue(sqs)
    sent = sqs.send_message(QueueUrl=url, MessageBody=DOC_BODY, MessageAttributes=DOC_ATTRIBUTES)
    assert sent["MD5OfMessageBody"] == "fafb00f5732ab283681e124bf8747ed1"
    assert sent["MD5OfMessageAttributes"] == "c48838208d2b4e14e3ca0093a8443f09"
    assert "MD5OfMessageSystemAttributes" not in sent
    assert "SequenceNumber" not in sent  # FIFO only
    uuid.UUID(sent["MessageId"])


def test_send_without_attributes_has_no_attribute_digests(sqs):
    url = new_queue(sqs)
    sent = sqs.send_message(QueueUrl=url, MessageBody="plain")
    assert sent["MD5OfMessageBody"] == md5_of_body("plain")
    assert "MD5OfMessageAttributes" not in sent
    assert "MD5OfMessageSystemAttributes" not in sent
    message = receive_one(sqs, url, MessageAttributeNames=["All"])
    assert "MessageAttributes" not in message
    assert "MD5OfMessageAttributes" not in message


EVERY_TYPE = {
    "str": string("hello"),
    "str-unicode": string("żółw 🐢 \u00e9\t\r\n"),
    "str.json": string('{"k": [1, 2]}', "String.json"),
    "num": number("42"),
    "num-neg": number("-3.25"),
    "num.float": number("3.14159", "Number.float"),
    "Num_Upper": number("0"),
    "bin": binary(bytes(range(256))),
    "bin.gif": binary(b"GIF89a\x01\x00\x01\x00\x00\xff\x00", "Binary.gif"),
    "a-b.c_d": string("y"),
}
assert len(EVERY_TYPE) == 10  # the most a message may carry


def test_send_and_receive_every_attribute_type(sqs):
    url = new_queue(sqs)
    body = "every type ✓"
    sent = sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=EVERY_TYPE)
    assert sent["MD5OfMessageBody"] == md5_of_body(body)
    assert sent["MD5OfMessageAttributes"] == md5_of_attributes(EVERY_TYPE)

    message = receive_one(sqs, url, MessageAttributeNames=["All"])
    assert message["Body"] == body
    assert message["MD5OfBody"] == md5_of_body(body)
    assert message["MessageId"] == sent["MessageId"]
    assert normalised(message["MessageAttributes"]) == EVERY_TYPE
    # The received digest covers the attributes as received (research §1b).
    assert message["MD5OfMessageAttributes"] == md5_of_attributes(message["MessageAttributes"])
    assert message["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]


def test_attribute_names_sort_bytewise_in_the_digest(sqs):
    url = new_queue(sqs)
    attributes = {"b": string("1"), "B": string("2"), "a.z": string("3"), "A-1": string("4"), "_": string("5"), "0": number("6")}
    sent = sqs.send_message(QueueUrl=url, MessageBody="order", MessageAttributes=attributes)
    assert sent["MD5OfMessageAttributes"] == md5_of_attributes(attributes)


def test_aws_trace_header_system_attribute(sqs, protocol):
    url = new_queue(sqs)
    system = {"AWSTraceHeader": string(TRACE_HEADER)}
    sent = sqs.send_message(QueueUrl=url, MessageBody="traced", MessageSystemAttributes=system)
    assert sent["MD5OfMessageSystemAttributes"] == "5ae4d5d7636402d80f4eb6d213245a88"
    assert sent["MD5OfMessageSystemAttributes"] == md5_of_attributes(system)
    assert "MD5OfMessageAttributes" not in sent

    message = receive_one(sqs, url, **system_attribute_kwargs(protocol, ["AWSTraceHeader"]))
    assert message["Attributes"] == {"AWSTraceHeader": TRACE_HEADER}
    assert "MD5OfMessageSystemAttributes" not in message  # no such member on Message (model)

    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    message = receive_one(sqs, url, AttributeNames=["All"])
    assert set(message["Attributes"]) == SYSTEM_ATTRIBUTES_OF_A_STANDARD_MESSAGE | {"AWSTraceHeader"}
    assert message["Attributes"]["AWSTraceHeader"] == TRACE_HEADER


def trace_id_header(client, value):
    """Makes `client` send `X-Amzn-Trace-Id: value` with every SendMessage, as X-Ray instrumentation does."""

    def add(request, **kwargs):
        request.headers["X-Amzn-Trace-Id"] = value

    client.meta.events.register("before-sign.sqs.SendMessage", add)
    return client


def test_x_amzn_trace_id_header_is_kept_as_the_aws_trace_header(sqs, make_client, protocol):
    url = new_queue(sqs)
    traced = trace_id_header(make_client(), TRACE_HEADER)
    sent = traced.send_message(QueueUrl=url, MessageBody="traced by its request")
    # The request gave no system attributes, so there is no digest of them to check.
    assert "MD5OfMessageSystemAttributes" not in sent
    message = receive_one(sqs, url, **system_attribute_kwargs(protocol, ["AWSTraceHeader"]))
    assert message["Attributes"] == {"AWSTraceHeader": TRACE_HEADER}
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    message = receive_one(sqs, url, AttributeNames=["All"])
    assert set(message["Attributes"]) == SYSTEM_ATTRIBUTES_OF_A_STANDARD_MESSAGE | {"AWSTraceHeader"}


def test_an_aws_trace_header_attribute_wins_over_the_x_amzn_trace_id_header(sqs, make_client, protocol):
    url = new_queue(sqs)
    traced = trace_id_header(make_client(), "Root=1-00000000-000000000000000000000000")
    system = {"AWSTraceHeader": string(TRACE_HEADER)}
    sent = traced.send_message(QueueUrl=url, MessageBody="traced twice", MessageSystemAttributes=system)
    assert sent["MD5OfMessageSystemAttributes"] == md5_of_attributes(system)
    message = receive_one(sqs, url, **system_attribute_kwargs(protocol, ["AWSTraceHeader"]))
    assert message["Attributes"] == {"AWSTraceHeader": TRACE_HEADER}


def test_send_message_batch_keeps_each_entrys_aws_trace_header(sqs, protocol):
    url = new_queue(sqs)
    entries = [
        {"Id": "one", "MessageBody": "1", "MessageSystemAttributes": {"AWSTraceHeader": string("Root=1-a-1")}},
        {"Id": "two", "MessageBody": "2", "MessageSystemAttributes": {"AWSTraceHeader": string("Root=1-b-2")}},
        {"Id": "none", "MessageBody": "3"},
    ]
    response = sqs.send_message_batch(QueueUrl=url, Entries=entries)
    assert len(response["Successful"]) == 3
    got = receive_all(sqs, url, 3, **system_attribute_kwargs(protocol, ["AWSTraceHeader"]))
    assert {m["Body"]: m.get("Attributes", {}).get("AWSTraceHeader") for m in got} == {
        "1": "Root=1-a-1",
        "2": "Root=1-b-2",
        "3": None,
    }


def test_user_and_system_attributes_together(sqs):
    url = new_queue(sqs)
    system = {"AWSTraceHeader": string("Root=1-abc-def")}
    sent = sqs.send_message(
        QueueUrl=url, MessageBody="both", MessageAttributes=DOC_ATTRIBUTES, MessageSystemAttributes=system
    )
    assert sent["MD5OfMessageAttributes"] == "c48838208d2b4e14e3ca0093a8443f09"
    assert sent["MD5OfMessageSystemAttributes"] == md5_of_attributes(system)


@pytest.mark.parametrize(
    "body",
    [
        " ",
        "tab\tnewline\ncarriage\rreturn\r\n",
        "<xml attr=\"&amp;\">'&<>'</xml>",
        "\ud7ff\ue000\ufffd",
        "\U0001F600 \U00010000 \U0010FFFF",
        "ünïcödé ∑ 日本語",
    ],
    ids=["space", "whitespace-controls", "xml-specials", "bmp-edges", "astral", "unicode"],
)
def test_allowed_characters_round_trip(sqs, body):
    url = new_queue(sqs)
    sent = sqs.send_message(QueueUrl=url, MessageBody=body)
    assert sent["MD5OfMessageBody"] == md5_of_body(body)
    message = receive_one(sqs, url)
    assert message["Body"] == body
    assert message["MD5OfBody"] == md5_of_body(body)


def test_receipt_message_id_and_timestamps(sqs):
    url = new_queue(sqs)
    before = now_ms()
    sent = sqs.send_message(QueueUrl=url, MessageBody="stamps")
    after = now_ms()
    first = receive_one(sqs, url, AttributeNames=["All"])
    received_at = now_ms()
    attrs = first["Attributes"]
    assert set(attrs) == SYSTEM_ATTRIBUTES_OF_A_STANDARD_MESSAGE
    assert first["MessageId"] == sent["MessageId"]
    assert attrs["ApproximateReceiveCount"] == "1"
    assert attrs["SenderId"]
    sent_ts = int(attrs["SentTimestamp"])
    first_receive = int(attrs["ApproximateFirstReceiveTimestamp"])
    assert before - 1000 <= sent_ts <= after + 1000, (before, sent_ts, after)
    assert sent_ts <= first_receive <= received_at + 1000
    assert first["ReceiptHandle"]

    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=0)
    second = receive_one(sqs, url, AttributeNames=["All"])
    assert second["MessageId"] == sent["MessageId"]
    assert second["Attributes"]["ApproximateReceiveCount"] == "2"
    assert second["Attributes"]["ApproximateFirstReceiveTimestamp"] == attrs["ApproximateFirstReceiveTimestamp"]
    assert second["Attributes"]["SentTimestamp"] == attrs["SentTimestamp"]
    # Every receive gets a new receipt handle (developer guide, queue and message identifiers).
    assert second["ReceiptHandle"] != first["ReceiptHandle"]


# --- ReceiveMessage filters ----------------------------------------------------------------------------------

FILTER_ATTRIBUTES = {
    "alpha.one": string("1"),
    "alpha.two": number("2", "Number.int"),
    "beta": binary(b"\x03\x04", "Binary.raw"),
    "Beta2": string("z"),
    "gamma.x": string("{}", "String.json"),
}


@pytest.mark.parametrize(
    "names, expected",
    [
        (["All"], set(FILTER_ATTRIBUTES)),
        ([".*"], set(FILTER_ATTRIBUTES)),
        (["alpha.*"], {"alpha.one", "alpha.two"}),
        (["beta"], {"beta"}),
        (["beta", "gamma.x"], {"beta", "gamma.x"}),
        (["Beta2", "missing"], {"Beta2"}),
        (["BETA"], set()),
        (["missing"], set()),
        (None, set()),
    ],
    ids=["All", "dot-star", "prefix", "exact", "two-exact", "exact-and-missing", "case-sensitive", "missing", "none"],
)
def test_message_attribute_name_filters(sqs, names, expected):
    url = new_queue(sqs)
    sent = sqs.send_message(QueueUrl=url, MessageBody="filtered", MessageAttributes=FILTER_ATTRIBUTES)
    assert sent["MD5OfMessageAttributes"] == md5_of_attributes(FILTER_ATTRIBUTES)
    kwargs = {"MessageAttributeNames": names} if names is not None else {}
    message = receive_one(sqs, url, **kwargs)
    returned = normalised(message.get("MessageAttributes"))
    assert set(returned) == expected, message
    assert returned == {name: FILTER_ATTRIBUTES[name] for name in expected}
    if expected:
        # Research §1b: the digest covers the returned subset, so SDKs that verify it (Java, Kotlin, JS v3) accept it.
        assert message["MD5OfMessageAttributes"] == md5_of_attributes(returned), message
    else:
        # Research §1b (R): no attributes returned, no digest.
        assert "MD5OfMessageAttributes" not in message, message


@pytest.mark.parametrize(
    "names, expected",
    [
        (["All"], SYSTEM_ATTRIBUTES_OF_A_STANDARD_MESSAGE),
        (["SentTimestamp"], {"SentTimestamp"}),
        (["SentTimestamp", "SenderId"], {"SentTimestamp", "SenderId"}),
        (["ApproximateReceiveCount"], {"ApproximateReceiveCount"}),
        (["ApproximateFirstReceiveTimestamp"], {"ApproximateFirstReceiveTimestamp"}),
        (["SenderId", "All"], SYSTEM_ATTRIBUTES_OF_A_STANDARD_MESSAGE),
        # FIFO-only attributes have no value on a standard queue's message.
        (["MessageGroupId", "SequenceNumber", "MessageDeduplicationId"], set()),
        (None, set()),
    ],
    ids=["All", "sent", "sent-sender", "count", "first-receive", "name-and-All", "fifo-only", "none"],
)
@pytest.mark.parametrize("parameter", ["AttributeNames", "MessageSystemAttributeNames"])
def test_system_attribute_name_filters(sqs, protocol, parameter, names, expected):
    if parameter == "MessageSystemAttributeNames" and protocol != "json":
        pytest.skip("boto3 1.34.89 has only AttributeNames")
    url = new_queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="sys")
    kwargs = {parameter: names} if names is not None else {}
    message = receive_one(sqs, url, **kwargs)
    assert set(message.get("Attributes", {})) == expected, message
    if "ApproximateReceiveCount" in expected:
        assert message["Attributes"]["ApproximateReceiveCount"] == "1"


WILDCARD_ATTRIBUTES = {
    "Hello": string("1"),
    "Help.me": string("2"),
    "Hel": string("3"),
    "hello": string("4"),
    "World": string("5"),
}


@pytest.mark.parametrize(
    "names, expected",
    [
        (["*"], set(WILDCARD_ATTRIBUTES)),
        (["Hel.*"], {"Hello", "Help.me", "Hel"}),
        (["Help.*"], {"Help.me"}),
        (["Wor.*", "hello"], {"World", "hello"}),
        (["x.*"], set()),
    ],
    ids=["star", "prefix-without-dot", "prefix-with-dot", "prefix-and-exact", "prefix-of-nothing"],
)
def test_message_attribute_names_take_a_star_and_any_prefix(sqs, names, expected):
    url = new_queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="filtered", MessageAttributes=WILDCARD_ATTRIBUTES)
    message = receive_one(sqs, url, MessageAttributeNames=names)
    returned = normalised(message.get("MessageAttributes"))
    assert returned == {name: WILDCARD_ATTRIBUTES[name] for name in expected}, message
    if expected:
        assert message["MD5OfMessageAttributes"] == md5_of_attributes(returned)
    else:
        assert "MD5OfMessageAttributes" not in message


# --- visibility ------------------------------------------------------------------------------------------------


def test_receive_visibility_timeout_overrides_the_queue(sqs):
    url = new_queue(sqs, VisibilityTimeout=30)
    sqs.send_message(QueueUrl=url, MessageBody="vt")
    first = receive_one(sqs, url, VisibilityTimeout=1)
    assert_empty_receive(sqs, url)
    assert counters(sqs, url) == (0, 1, 0)
    time.sleep(1.2)
    assert counters(sqs, url) == (1, 0, 0)
    again = receive_one(sqs, url, AttributeNames=["ApproximateReceiveCount"])
    assert again["MessageId"] == first["MessageId"]
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"
    # Without an override the queue's 30 s applies: it stays hidden.
    assert_empty_receive(sqs, url)


def test_queue_visibility_timeout_applies(sqs):
    url = new_queue(sqs, VisibilityTimeout=1)
    sqs.send_message(QueueUrl=url, MessageBody="queue vt")
    receive_one(sqs, url)
    assert_empty_receive(sqs, url)
    time.sleep(1.2)
    receive_one(sqs, url, WaitTimeSeconds=0)


def test_receive_with_visibility_timeout_zero_leaves_the_message_visible(sqs):
    url = new_queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="peek")
    first = receive_one(sqs, url, VisibilityTimeout=0)
    second = receive_one(sqs, url, VisibilityTimeout=0, WaitTimeSeconds=0, AttributeNames=["ApproximateReceiveCount"])
    assert second["MessageId"] == first["MessageId"]
    assert second["Attributes"]["ApproximateReceiveCount"] == "2"


def test_max_number_of_messages_defaults_to_one(sqs):
    url = new_queue(sqs)
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": f"i{i}", "MessageBody": f"m{i}"} for i in range(3)])
    # ReceiveMessage API reference: "Valid values: 1 to 10. Default: 1."
    assert len(receive(sqs, url, WaitTimeSeconds=1)) == 1
    assert counters(sqs, url) == (2, 1, 0)


def test_a_queue_url_in_another_form_accepts_the_receipt_handle(sqs, queue_name):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    account = url.rstrip("/").split("/")[-2]
    aws_style = f"https://sqs.us-east-1.amazonaws.com/{account}/{queue_name}"
    sqs.send_message(QueueUrl=aws_style, MessageBody="same queue")
    handle = receive_one(sqs, url)["ReceiptHandle"]
    sqs.change_message_visibility(QueueUrl=aws_style, ReceiptHandle=handle, VisibilityTimeout=0)
    handle = receive_one(sqs, aws_style)["ReceiptHandle"]
    sqs.delete_message(QueueUrl=url + "/", ReceiptHandle=handle)
    assert counters(sqs, url) == (0, 0, 0)


def test_change_visibility_to_zero_makes_the_message_visible(sqs):
    url = new_queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="cmv")
    message = receive_one(sqs, url)
    assert counters(sqs, url) == (0, 1, 0)
    response = sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    assert set(response) == {"ResponseMetadata"}
    assert counters(sqs, url) == (1, 0, 0)
    again = receive_one(sqs, url, WaitTimeSeconds=0)
    assert again["MessageId"] == message["MessageId"]


def test_change_visibility_with_an_older_handle_of_a_message_in_flight(sqs):
    url = new_queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="received twice")
    first = receive_one(sqs, url, VisibilityTimeout=0)
    second = receive_one(sqs, url, VisibilityTimeout=3)
    assert second["MessageId"] == first["MessageId"]
    assert second["ReceiptHandle"] != first["ReceiptHandle"]
    # The first handle still works while the message is in flight under the second receive.
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=0)
    third = receive(sqs, url, WaitTimeSeconds=0, VisibilityTimeout=30, AttributeNames=["ApproximateReceiveCount"])
    assert [m["MessageId"] for m in third] == [first["MessageId"]], third
    assert third[0]["Attributes"]["ApproximateReceiveCount"] == "3"
    # Likewise in a batch, with the second (now older) handle.
    response = sqs.change_message_visibility_batch(
        QueueUrl=url, Entries=[{"Id": "older", "ReceiptHandle": second["ReceiptHandle"], "VisibilityTimeout": 0}]
    )
    assert [e["Id"] for e in response["Successful"]] == ["older"]
    assert response.get("Failed", []) == []
    assert counters(sqs, url) == (1, 0, 0)


def test_change_visibility_extends_the_timeout(sqs):
    url = new_queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="extend")
    message = receive_one(sqs, url, VisibilityTimeout=1)
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=10)
    time.sleep(1.3)
    assert_empty_receive(sqs, url)
    assert counters(sqs, url) == (0, 1, 0)


def test_change_visibility_batch_with_mixed_results(sqs):
    url = new_queue(sqs)
    for i in range(2):
        sqs.send_message(QueueUrl=url, MessageBody=f"b{i}")
    messages = receive_all(sqs, url, 2)
    assert len(messages) == 2
    a, b = messages
    response = sqs.change_message_visibility_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "first", "ReceiptHandle": a["ReceiptHandle"], "VisibilityTimeout": 0},
            {"Id": "bogus", "ReceiptHandle": "garbage", "VisibilityTimeout": 0},
            {"Id": "second", "ReceiptHandle": b["ReceiptHandle"], "VisibilityTimeout": 60},
        ],
    )
    assert sorted(e["Id"] for e in response["Successful"]) == ["first", "second"]
    assert len(response["Failed"]) == 1
    check_failed_entry(
        response["Failed"][0],
        "bogus",
        "ReceiptHandleIsInvalid",
        'The input receipt handle "garbage" is not a valid receipt handle.',
    )
    again = receive_one(sqs, url)
    assert again["MessageId"] == a["MessageId"]
    assert counters(sqs, url) == (0, 2, 0)


def test_change_visibility_of_a_deleted_message(sqs):
    url = new_queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="gone")
    handle = receive_one(sqs, url)["ReceiptHandle"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
    # Research §6 (C: mapbox/ecs-watchbot#135, aws-sdk-net#1927).
    with expect_error(
        "InvalidParameterValue",
        400,
        f"Value {handle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not "
        "available for visibility timeout change.",
    ):
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=10)


def test_change_visibility_batch_of_a_deleted_message(sqs):
    url = new_queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="gone")
    handle = receive_one(sqs, url)["ReceiptHandle"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
    response = sqs.change_message_visibility_batch(
        QueueUrl=url, Entries=[{"Id": "e", "ReceiptHandle": handle, "VisibilityTimeout": 5}]
    )
    assert response.get("Successful", []) == []
    check_failed_entry(response["Failed"][0], "e", "InvalidParameterValue")


def test_change_visibility_beyond_12_hours_from_receipt(sqs):
    url = new_queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="long")
    handle = receive_one(sqs, url)["ReceiptHandle"]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=43000)
    time.sleep(1.1)
    # Research §6 (C: aws-sdk-net#794): the 12 hours count from the receive, not from each call.
    with expect_error(
        "InvalidParameterValue",
        400,
        "Value 43200 for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message "
        "is beyond the limit [43200 seconds].",
    ):
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=43200)


@pytest.mark.parametrize("value", [43201, -1])
def test_change_visibility_timeout_out_of_range(sqs, value):
    url = new_queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="x")
    handle = receive_one(sqs, url)["ReceiptHandle"]
    with expect_error("InvalidParameterValue", 400):
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=value)


# --- delete ----------------------------------------------------------------------------------------------------


def test_delete_message(sqs):
    url = new_queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="bye")
    handle = receive_one(sqs, url)["ReceiptHandle"]
    response = sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
    assert set(response) == {"ResponseMetadata"}
    assert counters(sqs, url) == (0, 0, 0)
    # DeleteMessage API reference: an old receipt handle on a standard queue still succeeds.
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
    assert_empty_receive(sqs, url)


def test_delete_with_a_stale_handle_succeeds(sqs):
    url = new_queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="stale")
    old = receive_one(sqs, url)["ReceiptHandle"]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=old, VisibilityTimeout=0)
    receive_one(sqs, url)
    # "If you use an old ReceiptHandle, the request will succeed, but the message might not be deleted."
    sqs.delete_message(QueueUrl=url, ReceiptHandle=old)


def test_delete_message_batch_with_mixed_results(sqs):
    url = new_queue(sqs)
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"d{i}")
    messages = receive_all(sqs, url, 3)
    assert len(messages) == 3
    entries = [{"Id": f"ok{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
    entries.insert(1, {"Id": "bad", "ReceiptHandle": "garbage"})
    response = sqs.delete_message_batch(QueueUrl=url, Entries=entries)
    assert sorted(e["Id"] for e in response["Successful"]) == ["ok0", "ok1", "ok2"]
    assert len(response["Failed"]) == 1
    check_failed_entry(
        response["Failed"][0],
        "bad",
        "ReceiptHandleIsInvalid",
        'The input receipt handle "garbage" is not a valid receipt handle.',
    )
    assert counters(sqs, url) == (0, 0, 0)


def test_delete_message_batch_with_one_handle_twice(sqs):
    url = new_queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="twice")
    handle = receive_one(sqs, url)["ReceiptHandle"]
    # Research section 6: deleting an already deleted message on a standard queue succeeds (aws-sdk-go#893).
    response = sqs.delete_message_batch(
        QueueUrl=url, Entries=[{"Id": "one", "ReceiptHandle": handle}, {"Id": "two", "ReceiptHandle": handle}]
    )
    assert sorted(e["Id"] for e in response["Successful"]) == ["one", "two"]
    assert response.get("Failed", []) == []
    assert counters(sqs, url) == (0, 0, 0)


@pytest.mark.parametrize("operation", ["DeleteMessage", "ChangeMessageVisibility"])
def test_malformed_receipt_handle(sqs, operation):
    url = new_queue(sqs)
    # Research §6 (C: real CLI output quoted in elasticmq#324).
    with expect_error(
        "ReceiptHandleIsInvalid",
        400,
        'The input receipt handle "x" is not a valid receipt handle.',
        exception=sqs.exceptions.ReceiptHandleIsInvalid,
    ):
        if operation == "DeleteMessage":
            sqs.delete_message(QueueUrl=url, ReceiptHandle="x")
        else:
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle="x", VisibilityTimeout=1)


@pytest.mark.parametrize("operation", ["DeleteMessage", "ChangeMessageVisibility"])
def test_receipt_handle_of_another_queue(sqs, operation):
    source = new_queue(sqs)
    other = new_queue(sqs)
    sqs.send_message(QueueUrl=source, MessageBody="elsewhere")
    handle = receive_one(sqs, source)["ReceiptHandle"]
    # Research §6: batch text C (aws-sdk-java-v2#3101); the single operation uses the same code and text (G).
    with expect_error(
        "ReceiptHandleIsInvalid", 400, exception=sqs.exceptions.ReceiptHandleIsInvalid
    ) as info:
        if operation == "DeleteMessage":
            sqs.delete_message(QueueUrl=other, ReceiptHandle=handle)
        else:
            sqs.change_message_visibility(QueueUrl=other, ReceiptHandle=handle, VisibilityTimeout=1)
    assert info.value.response["Error"]["Message"].endswith("is not valid for this queue."), info.value.response
    # The message is untouched in its own queue.
    assert counters(sqs, source) == (0, 1, 0)


@pytest.mark.parametrize("where", ["another-account", "another-region"])
def test_receipt_handle_of_a_same_named_queue_elsewhere(sqs, make_client, queue_name, where):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    other_client = make_client(access_key="111111111111") if where == "another-account" else make_client(region="eu-west-1")
    other_url = other_client.create_queue(QueueName=queue_name)["QueueUrl"]
    assert other_url != url
    sqs.send_message(QueueUrl=url, MessageBody="mine")
    handle = receive_one(sqs, url)["ReceiptHandle"]
    with expect_error("ReceiptHandleIsInvalid", 400) as info:
        other_client.delete_message(QueueUrl=other_url, ReceiptHandle=handle)
    assert info.value.response["Error"]["Message"].endswith("is not valid for this queue."), info.value.response
    assert counters(sqs, url) == (0, 1, 0)


def test_a_tampered_receipt_handle_is_rejected(sqs):
    url = new_queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="sealed")
    handle = receive_one(sqs, url)["ReceiptHandle"]
    for i in (len(handle) // 2, len(handle) - 2):
        tampered = handle[:i] + ("B" if handle[i] != "B" else "C") + handle[i + 1:]
        with expect_error("ReceiptHandleIsInvalid", 400):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=tampered)
        with expect_error("ReceiptHandleIsInvalid", 400):
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=tampered, VisibilityTimeout=0)
    assert counters(sqs, url) == (0, 1, 0)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
    assert counters(sqs, url) == (0, 0, 0)


@pytest.mark.parametrize("operation", ["DeleteMessageBatch", "ChangeMessageVisibilityBatch"])
def test_receipt_handle_of_another_queue_in_a_batch(sqs, operation):
    source = new_queue(sqs)
    other = new_queue(sqs)
    sqs.send_message(QueueUrl=source, MessageBody="elsewhere")
    handle = receive_one(sqs, source)["ReceiptHandle"]
    entry = {"Id": "foreign", "ReceiptHandle": handle}
    if operation == "DeleteMessageBatch":
        response = sqs.delete_message_batch(QueueUrl=other, Entries=[entry])
    else:
        response = sqs.change_message_visibility_batch(QueueUrl=other, Entries=[{**entry, "VisibilityTimeout": 0}])
    assert response.get("Successful", []) == []
    check_failed_entry(
        response["Failed"][0],
        "foreign",
        "ReceiptHandleIsInvalid",
        f'The receipt handle "{handle}" is not valid for this queue.',
    )
    assert counters(sqs, source) == (0, 1, 0)


# --- SendMessageBatch ------------------------------------------------------------------------------------------


def test_send_message_batch_digests_and_ids(sqs, protocol):
    url = new_queue(sqs)
    entries = [
        {"Id": "plain", "MessageBody": "one"},
        {"Id": "attrs", "MessageBody": "two", "MessageAttributes": EVERY_TYPE},
        {"Id": "doc", "MessageBody": DOC_BODY, "MessageAttributes": DOC_ATTRIBUTES},
        {"Id": "traced", "MessageBody": "four", "MessageSystemAttributes": {"AWSTraceHeader": string(TRACE_HEADER)}},
        {"Id": "A" * 80, "MessageBody": "five"},
        {"Id": "with-dash_and_underscore", "MessageBody": "six", "DelaySeconds": 0},
    ]
    response = sqs.send_message_batch(QueueUrl=url, Entries=entries)
    assert response.get("Failed", []) == []
    by_id = {e["Id"]: e for e in response["Successful"]}
    assert set(by_id) == {e["Id"] for e in entries}
    for entry in entries:
        result = by_id[entry["Id"]]
        uuid.UUID(result["MessageId"])
        assert result["MD5OfMessageBody"] == md5_of_body(entry["MessageBody"])
        assert result.get("MD5OfMessageAttributes") == md5_of_attributes(entry.get("MessageAttributes"))
        assert result.get("MD5OfMessageSystemAttributes") == md5_of_attributes(entry.get("MessageSystemAttributes"))
    assert by_id["doc"]["MD5OfMessageAttributes"] == "c48838208d2b4e14e3ca0093a8443f09"
    assert len({e["MessageId"] for e in response["Successful"]}) == len(entries)

    received = receive_all(sqs, url, len(entries), MessageAttributeNames=["All"], AttributeNames=["All"])
    assert sorted(m["Body"] for m in received) == sorted(e["MessageBody"] for e in entries)
    ids = {by_id[e["Id"]]["MessageId"]: e for e in entries}
    for message in received:
        entry = ids[message["MessageId"]]
        assert normalised(message.get("MessageAttributes")) == (entry.get("MessageAttributes") or {})
        assert message.get("MD5OfMessageAttributes") == md5_of_attributes(entry.get("MessageAttributes"))
        if "MessageSystemAttributes" in entry:
            assert message["Attributes"]["AWSTraceHeader"] == TRACE_HEADER


def test_send_message_batch_with_mixed_results(sqs):
    url = new_queue(sqs)
    response = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "a", "MessageBody": "first"},
            {"Id": "late", "MessageBody": "too late", "DelaySeconds": 901},
            {"Id": "b", "MessageBody": "second", "MessageAttributes": {"k": string("v")}},
        ],
    )
    successful = sorted(response["Successful"], key=lambda e: e["Id"])
    assert [e["Id"] for e in successful] == ["a", "b"]
    assert successful[1]["MD5OfMessageAttributes"] == md5_of_attributes({"k": string("v")})
    assert len(response["Failed"]) == 1
    # Research §7 (C: aws-sdk-ruby#265, moto#5372 reporter's real response).
    check_failed_entry(
        response["Failed"][0],
        "late",
        "InvalidParameterValue",
        "Value 901 for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.",
    )
    assert counters(sqs, url) == (2, 0, 0)


def test_send_message_batch_leaves_out_an_empty_list(sqs):
    url = new_queue(sqs)
    response = sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "fine"}])
    assert [e["Id"] for e in response["Successful"]] == ["a"]
    assert "Failed" not in response, response
    response = sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "b", "MessageBody": "x", "DelaySeconds": 901}])
    assert [e["Id"] for e in response["Failed"]] == ["b"]
    assert "Successful" not in response, response


FIFO_NO_DEDUPLICATION = (
    "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly"
)


@pytest.mark.parametrize(
    "missing, message",
    [
        ("MessageGroupId", "The request must contain the parameter MessageGroupId."),
        ("MessageDeduplicationId", FIFO_NO_DEDUPLICATION),
    ],
    ids=["group", "deduplication"],
)
def test_a_fifo_batch_entry_without_a_group_or_deduplication_id_fails_the_whole_request(sqs, missing, message):
    url = conftest.new_fifo(sqs, "mf")
    entries = [
        {"Id": "ok", "MessageBody": "m", "MessageGroupId": "g", "MessageDeduplicationId": "d0"},
        {"Id": "lacking", "MessageBody": "x", "MessageGroupId": "g", "MessageDeduplicationId": "d1"},
    ]
    del entries[1][missing]
    with expect_error("InvalidParameterValue", 400, message):
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
    assert counters(sqs, url) == (0, 0, 0)


def test_a_fifo_batch_without_deduplication_ids_takes_them_from_the_bodies(sqs):
    url = conftest.new_fifo(sqs, "mf", ContentBasedDeduplication="true")
    entries = [{"Id": f"e{i}", "MessageBody": f"m{i}", "MessageGroupId": "g"} for i in range(3)]
    response = sqs.send_message_batch(QueueUrl=url, Entries=entries)
    assert [e["Id"] for e in response["Successful"]] == ["e0", "e1", "e2"]
    assert counters(sqs, url) == (3, 0, 0)


def test_send_message_batch_entry_with_an_empty_attribute_value_fails_alone(sqs):
    url = new_queue(sqs)
    response = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "good", "MessageBody": "ok"},
            {"Id": "empty", "MessageBody": "bad", "MessageAttributes": {"k": string("")}},
        ],
    )
    assert [e["Id"] for e in response["Successful"]] == ["good"]
    check_failed_entry(response["Failed"][0], "empty", "InvalidParameterValue")
    assert counters(sqs, url) == (1, 0, 0)


BATCH_ENTRY_NAMES = {
    "SendMessageBatch": "SendMessageBatchRequestEntry",
    "DeleteMessageBatch": "DeleteMessageBatchRequestEntry",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibilityBatchRequestEntry",
}


def batch_call(sqs, url, operation, ids):
    if operation == "SendMessageBatch":
        return sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": i, "MessageBody": "b"} for i in ids])
    if operation == "DeleteMessageBatch":
        return sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": i, "ReceiptHandle": "x"} for i in ids])
    return sqs.change_message_visibility_batch(
        QueueUrl=url, Entries=[{"Id": i, "ReceiptHandle": "x", "VisibilityTimeout": 1} for i in ids]
    )


@pytest.mark.parametrize("operation", sorted(BATCH_ENTRY_NAMES))
def test_empty_batch(sqs, operation):
    url = new_queue(sqs)
    # Research §7 (C for Send and Delete: real Query XML in aws-sdk-php#630, moto#1799; the CMV entry name follows).
    with expect_error(
        "AWS.SimpleQueueService.EmptyBatchRequest",
        400,
        f"There should be at least one {BATCH_ENTRY_NAMES[operation]} in the request.",
        exception=sqs.exceptions.EmptyBatchRequest,
    ):
        batch_call(sqs, url, operation, [])


@pytest.mark.parametrize("operation", sorted(BATCH_ENTRY_NAMES))
def test_too_many_entries_in_a_batch(sqs, operation):
    url = new_queue(sqs)
    with expect_error(
        "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
        400,
        "Maximum number of entries per request are 10. You have sent 11.",
        exception=sqs.exceptions.TooManyEntriesInBatchRequest,
    ):
        batch_call(sqs, url, operation, [f"id{i}" for i in range(11)])
    assert counters(sqs, url) == (0, 0, 0)


@pytest.mark.parametrize("operation", sorted(BATCH_ENTRY_NAMES))
def test_batch_entry_ids_not_distinct(sqs, operation):
    url = new_queue(sqs)
    with expect_error(
        "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
        400,
        "Id dup repeated.",
        exception=sqs.exceptions.BatchEntryIdsNotDistinct,
    ):
        batch_call(sqs, url, operation, ["dup", "other", "dup"])
    assert counters(sqs, url) == (0, 0, 0)


@pytest.mark.parametrize("operation", sorted(BATCH_ENTRY_NAMES))
@pytest.mark.parametrize("bad_id", ["has space", "dot.ted", "x" * 81, "ünï"], ids=["space", "dot", "81-chars", "non-ascii"])
def test_invalid_batch_entry_id(sqs, operation, bad_id):
    url = new_queue(sqs)
    with expect_error(
        "AWS.SimpleQueueService.InvalidBatchEntryId",
        400,
        "A batch entry id can only contain alphanumeric characters, hyphens and underscores. "
        "It can be at most 80 letters long.",
        exception=sqs.exceptions.InvalidBatchEntryId,
    ):
        batch_call(sqs, url, operation, ["fine", bad_id])
    assert counters(sqs, url) == (0, 0, 0)


def default_maximum_message_size(sqs) -> int:
    url = new_queue(sqs)
    return int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["MaximumMessageSize"])["Attributes"]["MaximumMessageSize"])


def test_batch_request_too_long(sqs):
    url = new_queue(sqs)
    limit = default_maximum_message_size(sqs)  # 1,048,576 in the current docs; the batch limit is the same
    each = limit // 10 + 1000
    with expect_error(
        "AWS.SimpleQueueService.BatchRequestTooLong",
        400,
        f"Batch requests cannot be longer than {limit} bytes. You have sent {each * 10} bytes.",
        exception=sqs.exceptions.BatchRequestTooLong,
    ):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": f"e{i}", "MessageBody": "b" * each} for i in range(10)])
    assert counters(sqs, url) == (0, 0, 0)


def test_batch_of_exactly_the_limit_is_accepted(sqs):
    url = new_queue(sqs)
    limit = default_maximum_message_size(sqs)
    entries = [{"Id": f"e{i}", "MessageBody": "b" * (limit // 4)} for i in range(4)]
    assert sum(len(e["MessageBody"]) for e in entries) == limit
    response = sqs.send_message_batch(QueueUrl=url, Entries=entries)
    assert len(response["Successful"]) == 4
    assert counters(sqs, url) == (4, 0, 0)


# --- delays ----------------------------------------------------------------------------------------------------


def test_per_message_delay(sqs):
    url = new_queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=1)
    sqs.send_message(QueueUrl=url, MessageBody="now")
    assert counters(sqs, url) == (1, 0, 1)
    assert receive_one(sqs, url, WaitTimeSeconds=0)["Body"] == "now"
    assert_empty_receive(sqs, url)
    time.sleep(1.2)
    assert counters(sqs, url) == (1, 1, 0)
    assert receive_one(sqs, url, WaitTimeSeconds=0)["Body"] == "later"


def test_queue_delay_and_message_timer_override(sqs):
    url = new_queue(sqs, DelaySeconds=1)
    sqs.send_message(QueueUrl=url, MessageBody="queue delay")
    # A message timer (even 0) replaces the queue's delay (seed 13).
    sqs.send_message(QueueUrl=url, MessageBody="timer zero", DelaySeconds=0)
    assert counters(sqs, url) == (1, 0, 1)
    assert receive_one(sqs, url, WaitTimeSeconds=0)["Body"] == "timer zero"
    time.sleep(1.2)
    assert receive_one(sqs, url, WaitTimeSeconds=0)["Body"] == "queue delay"


def test_queue_delay_change_is_not_retroactive_on_standard_queues(sqs):
    url = new_queue(sqs, DelaySeconds=30)
    sqs.send_message(QueueUrl=url, MessageBody="delayed by the old setting")
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "0"})
    sqs.send_message(QueueUrl=url, MessageBody="not delayed")
    assert counters(sqs, url) == (1, 0, 1)
    assert receive_one(sqs, url, WaitTimeSeconds=0)["Body"] == "not delayed"
    assert_empty_receive(sqs, url)


def test_batch_entries_have_their_own_delays(sqs):
    url = new_queue(sqs, DelaySeconds=60)
    response = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "queue", "MessageBody": "queue default"},
            {"Id": "zero", "MessageBody": "zero", "DelaySeconds": 0},
            {"Id": "max", "MessageBody": "max", "DelaySeconds": 900},
        ],
    )
    assert len(response["Successful"]) == 3
    assert counters(sqs, url) == (1, 0, 2)
    assert receive_one(sqs, url, WaitTimeSeconds=0)["Body"] == "zero"


@pytest.mark.parametrize("delay", [901, -1])
def test_delay_seconds_out_of_range(sqs, delay):
    url = new_queue(sqs)
    with expect_error(
        "InvalidParameterValue",
        400,
        f"Value {delay} for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.",
    ):
        sqs.send_message(QueueUrl=url, MessageBody="x", DelaySeconds=delay)
    assert counters(sqs, url) == (0, 0, 0)


# --- long polling ----------------------------------------------------------------------------------------------


def test_long_poll_returns_soon_after_a_send(sqs, make_client):
    url = new_queue(sqs)
    sender = make_client()

    def send_later():
        time.sleep(0.5)
        sender.send_message(QueueUrl=url, MessageBody="wake up")

    thread = threading.Thread(target=send_later)
    start = time.monotonic()
    thread.start()
    messages = receive(sqs, url, WaitTimeSeconds=5)
    elapsed = time.monotonic() - start
    thread.join()
    assert [m["Body"] for m in messages] == ["wake up"]
    assert 0.4 <= elapsed <= 1.5, elapsed


def test_idle_long_poll_returns_empty_after_the_wait(sqs):
    url = new_queue(sqs)
    start = time.monotonic()
    assert_empty_receive(sqs, url, WaitTimeSeconds=1)
    elapsed = time.monotonic() - start
    assert 0.9 <= elapsed <= 2.0, elapsed


def test_short_poll_of_an_empty_queue_returns_at_once(sqs):
    url = new_queue(sqs)
    start = time.monotonic()
    assert_empty_receive(sqs, url)
    assert time.monotonic() - start < 0.5


def test_queue_receive_wait_time_applies_and_zero_overrides_it(sqs):
    url = new_queue(sqs, ReceiveMessageWaitTimeSeconds=1)
    start = time.monotonic()
    assert_empty_receive(sqs, url)
    assert 0.9 <= time.monotonic() - start <= 2.0
    start = time.monotonic()
    assert_empty_receive(sqs, url, WaitTimeSeconds=0)
    assert time.monotonic() - start < 0.5


def test_long_poll_wakes_when_a_delay_ends(sqs):
    url = new_queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="timer", DelaySeconds=1)
    start = time.monotonic()
    messages = receive(sqs, url, WaitTimeSeconds=5)
    elapsed = time.monotonic() - start
    assert [m["Body"] for m in messages] == ["timer"]
    assert 0.8 <= elapsed <= 2.0, elapsed


def test_long_poll_wakes_when_a_visibility_timeout_ends(sqs):
    url = new_queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="again")
    receive_one(sqs, url, VisibilityTimeout=1)
    start = time.monotonic()
    messages = receive(sqs, url, WaitTimeSeconds=5)
    elapsed = time.monotonic() - start
    assert [m["Body"] for m in messages] == ["again"]
    assert elapsed <= 2.0, elapsed


def test_each_waiting_receiver_gets_its_own_message(sqs, make_client):
    url = new_queue(sqs)
    results = []

    def wait(client):
        start = time.monotonic()
        messages = receive(client, url, WaitTimeSeconds=5)
        results.append((time.monotonic() - start, [m["Body"] for m in messages]))

    threads = [threading.Thread(target=wait, args=(make_client(),)) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    for i in range(4):
        sqs.send_message(QueueUrl=url, MessageBody=f"w{i}")
        time.sleep(0.1)
    for thread in threads:
        thread.join()
    assert sorted(b for _, bodies in results for b in bodies) == ["w0", "w1", "w2", "w3"], results
    assert all(len(bodies) == 1 and elapsed < 2.5 for elapsed, bodies in results), results


def test_long_poll_wakes_when_a_message_is_made_visible(sqs, make_client):
    url = new_queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="released")
    handle = receive_one(sqs, url)["ReceiptHandle"]
    other = make_client()
    threading.Timer(0.5, lambda: other.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)).start()
    start = time.monotonic()
    messages = receive(sqs, url, WaitTimeSeconds=5)
    assert [m["Body"] for m in messages] == ["released"]
    assert time.monotonic() - start < 1.5


def test_long_poll_ignores_messages_of_other_queues(sqs, make_client):
    url = new_queue(sqs)
    elsewhere = new_queue(sqs)
    other = make_client()
    threading.Timer(0.3, lambda: other.send_message(QueueUrl=elsewhere, MessageBody="not yours")).start()
    start = time.monotonic()
    assert_empty_receive(sqs, url, WaitTimeSeconds=1)
    assert time.monotonic() - start >= 0.9


def test_long_poll_returns_up_to_max_number_of_messages(sqs):
    url = new_queue(sqs)
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": f"i{i}", "MessageBody": f"m{i}"} for i in range(10)])
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": f"i{i}", "MessageBody": f"n{i}"} for i in range(5)])
    messages = receive(sqs, url, MaxNumberOfMessages=10, WaitTimeSeconds=2)
    assert 1 <= len(messages) <= 10
    rest = receive_all(sqs, url, 15 - len(messages))
    bodies = [m["Body"] for m in messages + rest]
    assert sorted(bodies) == sorted([f"m{i}" for i in range(10)] + [f"n{i}" for i in range(5)])
    assert counters(sqs, url) == (0, 15, 0)


# --- counters and purge ----------------------------------------------------------------------------------------


def test_counters_follow_the_lifecycle(sqs):
    url = new_queue(sqs)
    assert counters(sqs, url) == (0, 0, 0)
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"c{i}")
    sqs.send_message(QueueUrl=url, MessageBody="delayed", DelaySeconds=60)
    assert counters(sqs, url) == (3, 0, 1)
    message = receive_one(sqs, url, WaitTimeSeconds=0)
    assert counters(sqs, url) == (2, 1, 1)
    two = receive_all(sqs, url, 2)
    assert len(two) == 2
    assert counters(sqs, url) == (0, 3, 1)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert counters(sqs, url) == (0, 2, 1)
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=two[0]["ReceiptHandle"], VisibilityTimeout=0)
    assert counters(sqs, url) == (1, 1, 1)
    sqs.delete_message_batch(
        QueueUrl=url, Entries=[{"Id": "x", "ReceiptHandle": two[1]["ReceiptHandle"]}]
    )
    assert counters(sqs, url) == (1, 0, 1)


def test_purge_removes_visible_in_flight_and_delayed_messages(sqs):
    url = new_queue(sqs)
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"p{i}")
    sqs.send_message(QueueUrl=url, MessageBody="delayed", DelaySeconds=60)
    receive_one(sqs, url, WaitTimeSeconds=0)
    assert counters(sqs, url) == (2, 1, 1)
    sqs.purge_queue(QueueUrl=url)
    # "The message deletion process takes up to 60 seconds"; allow a short while.
    deadline = time.monotonic() + 5
    while counters(sqs, url) != (0, 0, 0) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert counters(sqs, url) == (0, 0, 0)
    assert_empty_receive(sqs, url)
    # New messages after the purge are kept.
    time.sleep(0.1)
    sqs.send_message(QueueUrl=url, MessageBody="after")
    assert receive_one(sqs, url)["Body"] == "after"


# --- dead-letter queues ----------------------------------------------------------------------------------------


def test_redrive_moves_a_message_after_max_receive_count(sqs):
    dead = new_queue(sqs, "dlq")
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    source = new_queue(sqs, "src", RedrivePolicy=json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": 1}))
    sent = sqs.send_message(QueueUrl=source, MessageBody="poison")
    first = receive_one(sqs, source, VisibilityTimeout=0)
    assert first["MessageId"] == sent["MessageId"]
    # Developer guide (seed 00): "if the maxReceiveCount is set to a low value such as 1, one failure to receive
    # a message would cause the message to move to the dead-letter queue"; the next receive finds it there.
    assert_empty_receive(sqs, source, WaitTimeSeconds=1)
    moved = receive_one(sqs, dead)
    assert moved["MessageId"] == sent["MessageId"]
    assert moved["Body"] == "poison"
    assert counters(sqs, source) == (0, 0, 0)


# --- SendMessage limits and errors -----------------------------------------------------------------------------


def test_empty_body_is_a_missing_parameter(sqs):
    url = new_queue(sqs)
    # Research §2 (C: real Query XML in php-enqueue#435; CLI captures).
    with expect_error("MissingParameter", 400, "The request must contain the parameter MessageBody."):
        sqs.send_message(QueueUrl=url, MessageBody="")


@pytest.mark.parametrize(
    "character, shown",
    [("\x07", "#x7"), ("\x00", "#x0"), ("\x1f", "#x1F"), ("\x0b", "#xB"), ("\ufffe", "#xFFFE"), ("\uffff", "#xFFFF")],
    ids=["bell", "nul", "unit-separator", "vertical-tab", "fffe", "ffff"],
)
def test_invalid_characters_in_the_body(sqs, character, shown):
    url = new_queue(sqs)
    with expect_error(
        "InvalidMessageContents",
        400,
        f"Invalid binary character '{shown}' was found in the message body, {INVALID_CHARACTERS}",
        exception=sqs.exceptions.InvalidMessageContents,
    ):
        sqs.send_message(QueueUrl=url, MessageBody=f"before{character}after")
    assert counters(sqs, url) == (0, 0, 0)


def test_body_size_limit_is_the_queues_maximum_message_size(sqs):
    url = new_queue(sqs, MaximumMessageSize=1024)
    sqs.send_message(QueueUrl=url, MessageBody="a" * 1024)
    # Bytes, not characters: 512 two-byte characters are 1024 bytes.
    sqs.send_message(QueueUrl=url, MessageBody="é" * 512)
    for body in ("a" * 1025, "é" * 513):
        with expect_error(
            "InvalidParameterValue",
            400,
            "One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes.",
        ):
            sqs.send_message(QueueUrl=url, MessageBody=body)
    assert counters(sqs, url) == (2, 0, 0)


def test_attributes_count_towards_the_message_size(sqs):
    url = new_queue(sqs, MaximumMessageSize=1024)
    too_long = "One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes."
    # Developer guide: name, type and value of every attribute count towards the limit (research §2).
    # 1000 + len("attr") 4 + len("String") 6 + 13 = 1023 bytes; with 15 value bytes it is 1025.
    sqs.send_message(QueueUrl=url, MessageBody="a" * 1000, MessageAttributes={"attr": string("v" * 13)})
    with expect_error("InvalidParameterValue", 400, too_long):
        sqs.send_message(QueueUrl=url, MessageBody="a" * 1000, MessageAttributes={"attr": string("v" * 15)})
    # Values count in UTF-8 bytes: 8 two-byte characters are 16 bytes.
    with expect_error("InvalidParameterValue", 400, too_long):
        sqs.send_message(QueueUrl=url, MessageBody="a" * 1000, MessageAttributes={"attr": string("é" * 8)})
    # Binary values count in raw bytes, not in their base64 text: 1000 + 1 + 6 + 15 = 1022 (base64: 20 chars).
    sqs.send_message(QueueUrl=url, MessageBody="a" * 1000, MessageAttributes={"b": binary(b"\x00" * 15)})
    with expect_error("InvalidParameterValue", 400, too_long):
        sqs.send_message(QueueUrl=url, MessageBody="a" * 1000, MessageAttributes={"b": binary(b"\x00" * 18)})
    # The data type's custom suffix counts too: 1000 + 1 + len("String.abcdefghij") 17 + 7 = 1025.
    with expect_error("InvalidParameterValue", 400, too_long):
        sqs.send_message(QueueUrl=url, MessageBody="a" * 1000, MessageAttributes={"s": string("x" * 7, "String.abcdefghij")})
    # The system attribute does not count (SendMessage API reference).
    sqs.send_message(
        QueueUrl=url, MessageBody="a" * 1024, MessageSystemAttributes={"AWSTraceHeader": string(TRACE_HEADER)}
    )
    assert counters(sqs, url) == (3, 0, 0)


def test_default_maximum_message_size(sqs):
    url = new_queue(sqs)
    limit = default_maximum_message_size(sqs)
    sent = sqs.send_message(QueueUrl=url, MessageBody="x" * limit)
    assert sent["MD5OfMessageBody"] == md5_of_body("x" * limit)
    with expect_error(
        "InvalidParameterValue",
        400,
        f"One or more parameters are invalid. Reason: Message must be shorter than {limit} bytes.",
    ):
        sqs.send_message(QueueUrl=url, MessageBody="x" * (limit + 1))


def test_ten_attributes_are_allowed_eleven_are_not(sqs):
    url = new_queue(sqs)
    ten = {f"a{i}": string(str(i)) for i in range(10)}
    sent = sqs.send_message(QueueUrl=url, MessageBody="ten", MessageAttributes=ten)
    assert sent["MD5OfMessageAttributes"] == md5_of_attributes(ten)
    # Research §3 (C: a real SqsException text in open-telemetry-java-instrumentation#13799).
    with expect_error("InvalidParameterValue", 400, "Number of message attributes [11] exceeds the allowed maximum [10]."):
        sqs.send_message(QueueUrl=url, MessageBody="eleven", MessageAttributes={**ten, "a10": string("10")})


@pytest.mark.parametrize(
    "name",
    ["AWS.thing", "aws.thing", "Amazon.thing", "AMAZON.thing", ".leading", "trailing.", "double..dot", "has space",
     "bang!", "slash/", "n" * 257],
    ids=["AWS-prefix", "aws-prefix", "Amazon-prefix", "AMAZON-prefix", "leading-dot", "trailing-dot", "double-dot",
         "space", "bang", "slash", "257-chars"],
)
def test_invalid_attribute_names(sqs, name):
    url = new_queue(sqs)
    with expect_error("InvalidParameterValue", 400):
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes={name: string("v")})
    assert counters(sqs, url) == (0, 0, 0)


def test_attribute_names_may_hold_letters_of_any_script(sqs, protocol):
    url = new_queue(sqs)
    attributes = {"attr.1øßä": string("v"), "名前": string("w"), "имя-2": number("3"), "Ωmega_x": binary(b"\x01")}
    sent = sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes=attributes)
    assert sent["MD5OfMessageAttributes"] == md5_of_attributes(attributes)
    message = receive_one(sqs, url, MessageAttributeNames=["All"])
    assert normalised(message["MessageAttributes"]) == attributes
    assert message["MD5OfMessageAttributes"] == md5_of_attributes(attributes)


@pytest.mark.parametrize(
    "character, shown",
    [("\x07", "#x7"), ("\x1f", "#x1F"), ("\ufffe", "#xFFFE")],
    ids=["bell", "unit-separator", "fffe"],
)
def test_invalid_characters_in_a_string_attribute_value(sqs, character, shown):
    url = new_queue(sqs)
    with expect_error(
        "InvalidParameterValue",
        400,
        f"Invalid binary character '{shown}' was found in the message attribute 'k', {INVALID_CHARACTERS}",
    ):
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes={"k": string(f"a{character}b")})
    assert counters(sqs, url) == (0, 0, 0)


def test_attribute_name_of_256_characters_is_valid(sqs):
    url = new_queue(sqs)
    attributes = {"n" * 256: string("v"), "AWSish.not-a-prefix": string("w"), "x.AWS.y": string("z")}
    sent = sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes=attributes)
    assert sent["MD5OfMessageAttributes"] == md5_of_attributes(attributes)


def test_empty_attribute_name(sqs):
    url = new_queue(sqs)
    # Research §3 (C: real Query XML in aws-sdk-php#694).
    with expect_error("InvalidParameterValue", 400, "The request must contain non-empty message attribute name."):
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes={"": string("v")})


@pytest.mark.parametrize("data_type", ["string", "Foo", "Strings", "NUMBER", "Binary_x"])
def test_invalid_attribute_data_type(sqs, data_type):
    url = new_queue(sqs)
    # Research §3 (C: grafana/k6-jslib-aws#65).
    with expect_error(
        "InvalidParameterValue",
        400,
        "The type of message (user) attribute 'attr' is invalid. You must use only the following supported "
        "type prefixes: Binary, Number, String.",
    ):
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes={"attr": {"DataType": data_type, "StringValue": "1"}})


@pytest.mark.parametrize("data_type", ["", "String." + "t" * 250], ids=["empty", "257-chars"])
def test_empty_or_overlong_data_type(sqs, data_type):
    url = new_queue(sqs)
    with expect_error("InvalidParameterValue", 400):
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes={"attr": {"DataType": data_type, "StringValue": "1"}})


def test_data_type_of_256_characters_is_valid(sqs):
    url = new_queue(sqs)
    attributes = {"attr": string("1", "String." + "t" * 249)}
    sent = sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes=attributes)
    assert sent["MD5OfMessageAttributes"] == md5_of_attributes(attributes)


def test_empty_string_attribute_value(sqs):
    url = new_queue(sqs)
    # Research §3 (C: real CLI output in elasticmq#373).
    with expect_error(
        "InvalidParameterValue", 400, "Message (user) attribute 'attr' must contain a non-empty value of type 'String'."
    ):
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes={"attr": string("")})


@pytest.mark.parametrize(
    "value",
    [{"DataType": "Number", "StringValue": ""}, {"DataType": "Binary", "BinaryValue": b""}, {"DataType": "String"},
     {"DataType": "Binary", "StringValue": "text"}],
    ids=["empty-number", "empty-binary", "no-value", "binary-given-as-string"],
)
def test_missing_attribute_values(sqs, value):
    url = new_queue(sqs)
    with expect_error("InvalidParameterValue", 400):
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes={"attr": value})


@pytest.mark.parametrize(
    "value", ["abc", "1.2.3", "12abc", "--1", "1" * 39, "NaN"],
    ids=["letters", "two-points", "trailing-letters", "double-minus", "39-digits", "nan"],
)
def test_invalid_number_values(sqs, value):
    url = new_queue(sqs)
    with expect_error("InvalidParameterValue", 400):
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes={"n": number(value)})


@pytest.mark.parametrize("value", ["0.01e-2147483648", "10e2147483647", "-1E-2147483648", "1e2147483648"])
def test_numbers_with_an_extreme_exponent_are_out_of_range(sqs, value, assert_alive):
    # Far outside 10^-128..10^126; the exponent alone is at the edge of a 32-bit integer.
    url = new_queue(sqs)
    with expect_error("InvalidParameterValue", 400, "Can't cast the value of message (user) attribute 'n' to a number."):
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes={"n": number(value)})
    assert_alive()


@pytest.mark.parametrize("value", ["0", "-1", "3.25", "-0.5", "1" * 38])
def test_valid_number_values_keep_their_text(sqs, value):
    url = new_queue(sqs)
    attributes = {"n": number(value)}
    sent = sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes=attributes)
    assert sent["MD5OfMessageAttributes"] == md5_of_attributes(attributes)
    message = receive_one(sqs, url, MessageAttributeNames=["n"])
    assert message["MD5OfMessageAttributes"] == md5_of_attributes(message["MessageAttributes"])
    assert message["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]


@pytest.mark.parametrize(
    "system",
    [{"AWSTraceHeader": number("1")}, {"AWSTraceHeader": binary(b"x")}, {"SomethingElse": string("v")}],
    ids=["number-trace-header", "binary-trace-header", "unknown-name"],
)
def test_invalid_system_attributes(sqs, system):
    url = new_queue(sqs)
    with expect_error("InvalidParameterValue", 400):
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageSystemAttributes=system)
    assert counters(sqs, url) == (0, 0, 0)


def test_message_deduplication_id_on_a_standard_queue(sqs):
    url = new_queue(sqs)
    # Research §4 (pattern of the MessageGroupId error, C; for this parameter G).
    with expect_error("InvalidParameterValue", 400) as info:
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageDeduplicationId="dedup-1")
    message = info.value.response["Error"]["Message"]
    assert "MessageDeduplicationId" in message and "not valid for this queue type" in message, message
    assert counters(sqs, url) == (0, 0, 0)


# --- ReceiveMessage limits -------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, 11])
def test_max_number_of_messages_out_of_range(sqs, value):
    url = new_queue(sqs)
    # Research §5 (C: aws-sdk-java#197).
    with expect_error(
        "InvalidParameterValue",
        400,
        f"Value {value} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.",
    ):
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=value)


@pytest.mark.parametrize("value", [21, -1])
def test_wait_time_seconds_out_of_range(sqs, value):
    url = new_queue(sqs)
    # Research §5 (C: argo-events#260, aws-doc-sdk-examples#645).
    with expect_error(
        "InvalidParameterValue",
        400,
        f"Value {value} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.",
    ):
        sqs.receive_message(QueueUrl=url, WaitTimeSeconds=value)


@pytest.mark.parametrize("value", [43201, -1])
def test_receive_visibility_timeout_out_of_range(sqs, value):
    url = new_queue(sqs)
    with expect_error("InvalidParameterValue", 400):
        sqs.receive_message(QueueUrl=url, VisibilityTimeout=value)


def test_receive_limits_are_inclusive(sqs):
    url = new_queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="edge")
    messages = receive(sqs, url, MaxNumberOfMessages=10, WaitTimeSeconds=20, VisibilityTimeout=43200)
    assert len(messages) == 1
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=messages[0]["ReceiptHandle"], VisibilityTimeout=0)
    receive_one(sqs, url, MaxNumberOfMessages=1, WaitTimeSeconds=0, VisibilityTimeout=0)


# --- a missing queue -------------------------------------------------------------------------------------------

MESSAGE_CALLS = {
    "SendMessage": lambda c, u, h: c.send_message(QueueUrl=u, MessageBody="x"),
    "SendMessageBatch": lambda c, u, h: c.send_message_batch(QueueUrl=u, Entries=[{"Id": "a", "MessageBody": "x"}]),
    "ReceiveMessage": lambda c, u, h: c.receive_message(QueueUrl=u),
    "DeleteMessage": lambda c, u, h: c.delete_message(QueueUrl=u, ReceiptHandle=h),
    "DeleteMessageBatch": lambda c, u, h: c.delete_message_batch(QueueUrl=u, Entries=[{"Id": "a", "ReceiptHandle": h}]),
    "ChangeMessageVisibility": lambda c, u, h: c.change_message_visibility(QueueUrl=u, ReceiptHandle=h, VisibilityTimeout=1),
    "ChangeMessageVisibilityBatch": lambda c, u, h: c.change_message_visibility_batch(
        QueueUrl=u, Entries=[{"Id": "a", "ReceiptHandle": h, "VisibilityTimeout": 1}]
    ),
}


@pytest.fixture(scope="module")
def real_handle(sqs):
    url = new_queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="handle")
    return receive_one(sqs, url)["ReceiptHandle"]


@pytest.mark.parametrize("action", sorted(MESSAGE_CALLS))
def test_message_actions_on_a_missing_queue(sqs, server, protocol, real_handle, action):
    url = new_queue(sqs).rsplit("/", 1)[0] + "/" + unique_name("missing")
    with expect_error(
        NON_EXISTENT_QUEUE, 400, missing_queue_message(protocol), exception=sqs.exceptions.QueueDoesNotExist
    ):
        MESSAGE_CALLS[action](sqs, url, real_handle)


def test_message_actions_after_the_queue_is_deleted(sqs, protocol):
    url = new_queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="doomed")
    handle = receive_one(sqs, url)["ReceiptHandle"]
    sqs.delete_queue(QueueUrl=url)
    for action in sorted(MESSAGE_CALLS):
        with expect_error(NON_EXISTENT_QUEUE, 400, missing_queue_message(protocol)):
            MESSAGE_CALLS[action](sqs, url, handle)


# --- many producers and consumers ------------------------------------------------------------------------------

PRODUCERS = 8
CONSUMERS = 8
TOTAL = 2000


def test_concurrent_producers_and_consumers_lose_nothing(sqs, make_client):
    url = new_queue(sqs, "conc")
    per_producer = TOTAL // PRODUCERS
    config = Config(retries={"mode": "standard", "total_max_attempts": 1}, read_timeout=30, max_pool_connections=4)
    clients = [make_client(config=config) for _ in range(PRODUCERS + CONSUMERS)]
    received: dict[str, int] = {}
    lock = threading.Lock()
    problems: list = []
    stop = threading.Event()

    def produce(index: int):
        client = clients[index]
        for start in range(0, per_producer, 10):
            entries = [
                {"Id": f"e{i}", "MessageBody": f"p{index}-{start + i}", "MessageAttributes": {"n": number(str(start + i))}}
                for i in range(10)
            ]
            response = client.send_message_batch(QueueUrl=url, Entries=entries)
            if response.get("Failed"):
                problems.append(("send", response["Failed"]))
            for entry in response["Successful"]:
                body = entries[int(entry["Id"][1:])]["MessageBody"]
                if entry["MD5OfMessageBody"] != md5_of_body(body):
                    problems.append(("send md5", entry))

    def consume(index: int):
        client = clients[PRODUCERS + index]
        while not stop.is_set():
            messages = client.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                continue
            for m in messages:
                if m["MD5OfBody"] != md5_of_body(m["Body"]) or m["MD5OfMessageAttributes"] != md5_of_attributes(
                    m["MessageAttributes"]
                ):
                    problems.append(("receive md5", m))
            with lock:
                for m in messages:
                    received[m["Body"]] = received.get(m["Body"], 0) + 1
            response = client.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": f"d{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
            if response.get("Failed"):
                problems.append(("delete", response["Failed"]))
            if len(response.get("Successful", [])) != len(messages):
                problems.append(("delete count", response))

    with ThreadPoolExecutor(PRODUCERS + CONSUMERS) as pool:
        consumers = [pool.submit(consume, i) for i in range(CONSUMERS)]
        producers = [pool.submit(produce, i) for i in range(PRODUCERS)]
        for f in producers:
            f.result()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with lock:
                if len(received) >= TOTAL:
                    break
            time.sleep(0.1)
        stop.set()
        for f in consumers:
            f.result()

    assert problems == [], problems[:5]
    expected = {f"p{p}-{i}" for p in range(PRODUCERS) for i in range(per_producer)}
    assert set(received) == expected, f"missing {len(expected - set(received))}, unexpected {set(received) - expected}"
    # At least once; with a 30 s visibility timeout and prompt deletes nothing should repeat here.
    assert sum(received.values()) == TOTAL, sorted((b, n) for b, n in received.items() if n > 1)[:10]
    assert counters(sqs, url) == (0, 0, 0)
    assert_empty_receive(sqs, url)


# --- the API references' Query examples, verbatim (raw HTTP, once) ---------------------------------------------

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
NS = {"sqs": "http://queue.amazonaws.com/doc/2012-11-05/"}


def xml_of(response, root_tag):
    assert response.status == 200, response.body
    root = ET.fromstring(response.body)
    assert root.tag == "{http://queue.amazonaws.com/doc/2012-11-05/}" + root_tag, response.body
    assert root.findtext("sqs:ResponseMetadata/sqs:RequestId", namespaces=NS), response.body
    return root


@raw_http_once
def test_query_send_message_example_of_the_api_reference(raw, sqs, queue_name):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    account = url.rstrip("/").split("/")[-2]
    body = (
        "Action=SendMessage&MessageBody=This+is+a+test+message"
        "&MessageAttribute.1.Name=my_attribute_name_1&MessageAttribute.1.Value.StringValue=my_attribute_value_1"
        "&MessageAttribute.1.Value.DataType=String"
        "&MessageAttribute.2.Name=my_attribute_name_2&MessageAttribute.2.Value.StringValue=my_attribute_value_2"
        "&MessageAttribute.2.Value.DataType=String"
    )
    root = xml_of(raw(body.encode(), FORM, path=f"/{account}/{queue_name}/"), "SendMessageResponse")
    result = root.find("sqs:SendMessageResult", NS)
    assert result.findtext("sqs:MD5OfMessageBody", namespaces=NS) == "fafb00f5732ab283681e124bf8747ed1"
    assert result.findtext("sqs:MD5OfMessageAttributes", namespaces=NS) == "c48838208d2b4e14e3ca0093a8443f09"
    uuid.UUID(result.findtext("sqs:MessageId", namespaces=NS))

    root = xml_of(
        raw(b"Action=SendMessage&MessageBody=This+is+a+test+message&DelaySeconds=45", FORM, path=f"/{account}/{queue_name}/"),
        "SendMessageResponse",
    )
    assert root.find("sqs:SendMessageResult/sqs:MD5OfMessageAttributes", NS) is None
    assert counters(sqs, url) == (1, 0, 1)


@raw_http_once
def test_query_send_message_batch_example_of_the_api_reference(raw, sqs, queue_name):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    account = url.rstrip("/").split("/")[-2]
    body = (
        "Action=SendMessageBatch"
        "&SendMessageBatchRequestEntry.1.Id=test_msg_001"
        "&SendMessageBatchRequestEntry.1.MessageBody=test%20message%20body%201"
        "&SendMessageBatchRequestEntry.2.Id=test_msg_002"
        "&SendMessageBatchRequestEntry.2.MessageBody=test%20message%20body%202"
        "&SendMessageBatchRequestEntry.2.DelaySeconds=60"
        "&SendMessageBatchRequestEntry.2.MessageAttribute.1.Name=test_attribute_name_1"
        "&SendMessageBatchRequestEntry.2.MessageAttribute.1.Value.StringValue=test_attribute_value_1"
        "&SendMessageBatchRequestEntry.2.MessageAttribute.1.Value.DataType=String"
    )
    root = xml_of(raw(body.encode(), FORM, path=f"/{account}/{queue_name}/"), "SendMessageBatchResponse")
    entries = {
        e.findtext("sqs:Id", namespaces=NS): e for e in root.findall("sqs:SendMessageBatchResult/sqs:SendMessageBatchResultEntry", NS)
    }
    assert set(entries) == {"test_msg_001", "test_msg_002"}
    assert entries["test_msg_001"].findtext("sqs:MD5OfMessageBody", namespaces=NS) == "0e024d309850c78cba5eabbeff7cae71"
    assert entries["test_msg_001"].find("sqs:MD5OfMessageAttributes", NS) is None
    assert entries["test_msg_002"].findtext("sqs:MD5OfMessageBody", namespaces=NS) == "7fb8146a82f95e0af155278f406862c2"
    assert entries["test_msg_002"].findtext("sqs:MD5OfMessageAttributes", namespaces=NS) == "ba056227cfd9533dba1f72ad9816d233"
    assert root.find("sqs:SendMessageBatchResult/sqs:BatchResultErrorEntry", NS) is None
    assert counters(sqs, url) == (1, 0, 1)


@raw_http_once
def test_query_receive_message_example_of_the_api_reference(raw, sqs, queue_name):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    account = url.rstrip("/").split("/")[-2]
    sqs.send_message(
        QueueUrl=url,
        MessageBody="test message body 1",
        MessageAttributes={"s": string("v<&>"), "b": binary(b"\x00\xff")},
    )
    # Verbatim, including the unindexed `AttributeName=All`.
    root = xml_of(
        raw(b"Action=ReceiveMessage&MaxNumberOfMessages=5&VisibilityTimeout=15&AttributeName=All", FORM,
            path=f"/{account}/{queue_name}/"),
        "ReceiveMessageResponse",
    )
    messages = root.findall("sqs:ReceiveMessageResult/sqs:Message", NS)
    assert len(messages) == 1, root
    message = messages[0]
    assert message.findtext("sqs:Body", namespaces=NS) == "test message body 1"
    assert message.findtext("sqs:MD5OfBody", namespaces=NS) == "0e024d309850c78cba5eabbeff7cae71"
    assert message.findtext("sqs:ReceiptHandle", namespaces=NS)
    attributes = {a.findtext("sqs:Name", namespaces=NS): a.findtext("sqs:Value", namespaces=NS) for a in message.findall("sqs:Attribute", NS)}
    assert set(attributes) == SYSTEM_ATTRIBUTES_OF_A_STANDARD_MESSAGE
    assert attributes["ApproximateReceiveCount"] == "1"
    # No MessageAttributeName was asked for.
    assert message.find("sqs:MessageAttribute", NS) is None
    assert counters(sqs, url) == (0, 1, 0)

    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message.findtext("sqs:ReceiptHandle", namespaces=NS), VisibilityTimeout=0)
    root = xml_of(
        raw(b"Action=ReceiveMessage&MessageAttributeName.1=All", FORM, path=f"/{account}/{queue_name}/"),
        "ReceiveMessageResponse",
    )
    message = root.find("sqs:ReceiveMessageResult/sqs:Message", NS)
    values = {
        a.findtext("sqs:Name", namespaces=NS): (
            a.findtext("sqs:Value/sqs:DataType", namespaces=NS),
            a.findtext("sqs:Value/sqs:StringValue", namespaces=NS),
            a.findtext("sqs:Value/sqs:BinaryValue", namespaces=NS),
        )
        for a in message.findall("sqs:MessageAttribute", NS)
    }
    assert values == {"s": ("String", "v<&>", None), "b": ("Binary", None, base64.b64encode(b"\x00\xff").decode())}
    assert message.findtext("sqs:MD5OfMessageAttributes", namespaces=NS) == md5_of_attributes(
        {"s": string("v<&>"), "b": binary(b"\x00\xff")}
    )


@raw_http_once
def test_json_receive_message_encodes_binary_values_in_base64(raw, sqs, queue_url):
    sqs.send_message(QueueUrl=queue_url, MessageBody="json", MessageAttributes={"b": binary(b"\x00\xff\x10")})
    response = raw(
        json.dumps({"QueueUrl": queue_url, "MessageAttributeNames": ["All"], "AttributeNames": ["All"]}).encode(),
        {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS.ReceiveMessage"},
    )
    assert response.status == 200, response.body
    (message,) = response.json()["Messages"]
    assert message["MessageAttributes"]["b"]["DataType"] == "Binary"
    assert message["MessageAttributes"]["b"]["BinaryValue"] == base64.b64encode(b"\x00\xff\x10").decode()
    assert "StringValue" not in message["MessageAttributes"]["b"]
    assert message["MD5OfMessageAttributes"] == md5_of_attributes({"b": binary(b"\x00\xff\x10")})
    assert set(message["Attributes"]) == SYSTEM_ATTRIBUTES_OF_A_STANDARD_MESSAGE
    # The JSON protocol's response is a JSON document with string attribute values.
    assert all(isinstance(v, str) for v in message["Attributes"].values())


# --- durability ------------------------------------------------------------------------------------------------


class PrivateServer:
    """A second Sluice process on its own data directory, to be killed and restarted."""

    def __init__(self, data_dir: str, log_path: str):
        # The first start takes a free port; a restart keeps it, so clients made before it keep working.
        self.port = 0
        self.endpoint = ""
        self.data_dir = data_dir
        self.log_path = log_path
        self.process = None

    def start(self):
        started = _start_sluice(["--admin-bind", "none"], self.data_dir, self.log_path, self.port)
        self.port, self.endpoint, self.process = started.port, started.endpoint, started.process

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def private_server():
    workdir = tempfile.mkdtemp(prefix="sluice-pytest-private-")
    srv = PrivateServer(os.path.join(workdir, "data"), os.path.join(workdir, "server.log"))
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def test_acknowledged_messages_survive_a_crash(private_server):
    client = boto3.session.Session().client(
        "sqs",
        endpoint_url=private_server.endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=NO_RETRIES,
    )
    url = client.create_queue(QueueName=unique_name("durable"))["QueueUrl"]
    sent = {}
    for i in range(20):
        attributes = {"i": number(str(i)), "b": binary(bytes([i, 255 - i]))}
        response = client.send_message(QueueUrl=url, MessageBody=f"durable {i}", MessageAttributes=attributes)
        sent[response["MessageId"]] = (f"durable {i}", attributes)
    client.send_message(QueueUrl=url, MessageBody="delayed", DelaySeconds=900)
    in_flight = []
    while len(in_flight) < 5:
        in_flight += receive(
            client, url, MaxNumberOfMessages=5 - len(in_flight), VisibilityTimeout=600, WaitTimeSeconds=1
        )
    client.delete_message(QueueUrl=url, ReceiptHandle=in_flight[0]["ReceiptHandle"])
    deleted_id = in_flight[0]["MessageId"]
    before = counters(client, url)
    assert before == (15, 4, 1)

    private_server.kill()  # no orderly shutdown: everything acknowledged must already be on disk
    private_server.start()

    assert counters(client, url) == before
    # A receipt handle issued before the crash still works.
    client.delete_message(QueueUrl=url, ReceiptHandle=in_flight[1]["ReceiptHandle"])
    deleted = {deleted_id, in_flight[1]["MessageId"]}
    expected_visible = before[0]
    received = receive_all(client, url, expected_visible, MessageAttributeNames=["All"], AttributeNames=["All"])
    assert len(received) == expected_visible
    for message in received:
        assert message["MessageId"] not in deleted
        body, attributes = sent[message["MessageId"]]
        assert message["Body"] == body
        assert message["MD5OfBody"] == md5_of_body(body)
        assert normalised(message["MessageAttributes"]) == attributes
        assert message["MD5OfMessageAttributes"] == md5_of_attributes(attributes)
