"""The client under test speaks the protocol this run is meant to exercise, and the server answers in it."""

import json
import urllib.parse

import pytest

from conftest import EXPECTED_PROTOCOL


def test_client_speaks_the_expected_protocol(wire, protocol):
    if EXPECTED_PROTOCOL is None:
        pytest.skip("SLUICE_EXPECT_PROTOCOL is not set")
    client, sent = wire
    assert protocol == EXPECTED_PROTOCOL, f"botocore's SQS model says {protocol}"

    client.list_queues(QueueNamePrefix="protocol-probe")
    assert len(sent) == 1
    headers, body = sent[0]["headers"], sent[0]["body"]
    content_type = headers.get("content-type", "")
    if EXPECTED_PROTOCOL == "json":
        assert content_type.startswith("application/x-amz-json-1.0"), headers
        assert headers.get("x-amz-target") == "AmazonSQS.ListQueues", headers
        assert json.loads(body) == {"QueueNamePrefix": "protocol-probe"}
    else:
        assert content_type.startswith("application/x-www-form-urlencoded"), headers
        assert "x-amz-target" not in headers, headers
        form = urllib.parse.parse_qs(body.decode())
        assert form["Action"] == ["ListQueues"]
        assert form["Version"] == ["2012-11-05"]
        assert form["QueueNamePrefix"] == ["protocol-probe"]


def test_responses_come_back_in_the_request_protocol(make_client, protocol, queue_name):
    """The parsed response proves the server answered in the protocol the client parses (a JSON body
    given to the Query parser, or XML to the JSON parser, would not yield the queue URL)."""
    client = make_client()
    seen = []
    client.meta.events.register(
        "after-call.sqs.CreateQueue",
        lambda http_response, **_: seen.append(http_response.headers.get("content-type", "")),
    )
    url = client.create_queue(QueueName=queue_name)["QueueUrl"]
    assert url.endswith(f"/000000000000/{queue_name}")
    if protocol == "json":
        assert seen[0].startswith("application/x-amz-json-1.0"), seen
    else:
        assert "xml" in seen[0], seen
