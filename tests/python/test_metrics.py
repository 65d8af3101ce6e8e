"""Prometheus metrics on the admin listener: each queue's CloudWatch metrics after a known sequence of
sends, receives, empty receives and deletes, read back exactly; the exposition parsed by the Prometheus
client library's own parsers (OpenMetrics, strictly, and the classic text format); the CloudWatch
exporters' names; and, with authentication on, scrapes refused or allowed through IAM.

How CloudWatch counts comes from the SQS developer guide's metrics page: NumberOfMessagesSent leaves out
deduplicated sends and messages moved to a dead-letter queue by a redrive; NumberOfMessagesReceived counts
every message a receive returns; NumberOfMessagesDeleted counts every successful delete, repeated ones
included; NumberOfEmptyReceives counts receive calls that returned nothing. Each server here is private
to its test, so every value is known.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.error
import urllib.request

import boto3
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text

from conftest import (
    ACCESS_KEY,
    DEFAULT_ACCOUNT,
    NO_RETRIES,
    POSTGRES,
    REGION,
    SECRET_KEY,
    _accounts_config,
    running_server,
)

pytestmark = pytest.mark.skipif(
    POSTGRES, reason="starts durable servers of its own, whose counters are private to them"
)


def started(config: str = ""):
    """A private server of its own, with `config`, and its admin listener on a free port."""
    return running_server(config or None, admin=True)


def client(srv, service="sqs", key=ACCESS_KEY, secret=SECRET_KEY):
    return boto3.session.Session().client(
        service,
        endpoint_url=srv.endpoint,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=NO_RETRIES,
    )


def scrape(admin: int, credentials: tuple[str, str] | None = None) -> tuple[int, object, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{admin}/metrics")
    if credentials is not None:
        token = base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """Every sample by (name, sorted labels), read with the strict OpenMetrics parser."""
    found = {}
    for family in parse_openmetrics(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def queue_value(found: dict, name: str, queue: str, **extra) -> float:
    labels = {"account": DEFAULT_ACCOUNT, "region": REGION, "queue": queue, **extra}
    return found[(name, tuple(sorted(labels.items())))]


def test_counters_and_gauges_after_a_known_sequence():
    with started() as srv:
        admin = srv.admin_port
        sqs = client(srv)
        url = sqs.create_queue(QueueName="orders")["QueueUrl"]
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[{"Id": "a", "MessageBody": "x" * 100}, {"Id": "b", "MessageBody": "y" * 2000}],
        )
        sqs.send_message(
            QueueUrl=url,
            MessageBody="z" * 10,
            MessageAttributes={"kind": {"DataType": "String", "StringValue": "abc"}},
        )
        first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=60)["Messages"]
        rest = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)["Messages"]
        assert len(first) + len(rest) == 3
        # Two empty receives, one of them a long poll that waits out its second.
        assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)
        assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)
        sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])
        sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])
        sqs.delete_message(QueueUrl=url, ReceiptHandle=first[1]["ReceiptHandle"])
        sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
        # An error is counted by its code.
        with pytest.raises(sqs.exceptions.QueueDoesNotExist):
            sqs.get_queue_url(QueueName="missing")

        status, headers, text = scrape(admin)
        assert status == 200
        assert headers["Content-Type"].startswith("application/openmetrics-text")
        found = samples(text)
        # The classic text format reads it too.
        assert {f.name for f in parse_text(text)} >= {"sluice_sqs_number_of_messages_sent"}

        value = lambda name: queue_value(found, name, "orders")  # noqa: E731
        assert value("sluice_sqs_number_of_messages_sent_total") == 4
        assert value("sluice_sqs_number_of_messages_received_total") == 3
        assert value("sluice_sqs_number_of_empty_receives_total") == 2
        assert value("sluice_sqs_number_of_messages_deleted_total") == 3
        assert value("sluice_sqs_approximate_number_of_messages_visible") == 0
        assert value("sluice_sqs_approximate_number_of_messages_not_visible") == 1
        assert value("sluice_sqs_approximate_number_of_messages_delayed") == 1
        assert 0 <= value("sluice_sqs_approximate_age_of_oldest_message_seconds") <= 60
        # Sizes are of body and attributes: 100, 2000, 10 + "kind" + "String" + "abc", and 5.
        assert value("sluice_sqs_sent_message_size_bytes_sum") == 100 + 2000 + 23 + 5
        assert value("sluice_sqs_sent_message_size_bytes_count") == 4
        assert queue_value(found, "sluice_sqs_sent_message_size_bytes_bucket", "orders", le="1024.0") == 3
        assert queue_value(found, "sluice_sqs_sent_message_size_bytes_bucket", "orders", le="4096.0") == 4
        # FIFO-only metrics are not reported for a standard queue.
        assert not any(
            name == "sluice_sqs_number_of_deduplicated_sent_messages_total" and ("queue", "orders") in labels
            for name, labels in found
        )

        protocol = sqs.meta.service_model.protocol
        requests = lambda action, error="": found[  # noqa: E731
            ("sluice_requests_total", (("action", action), ("error", error), ("protocol", protocol)))
        ]
        assert requests("SendMessage") == 2
        assert requests("SendMessageBatch") == 1
        assert requests("ReceiveMessage") == 4
        assert requests("DeleteMessage") == 3
        assert requests("GetQueueUrl", "AWS.SimpleQueueService.NonExistentQueue") == 1
        assert found[("sluice_request_duration_seconds_count", (("action", "ReceiveMessage"),))] == 4
        assert found[("sluice_journal_commits_total", ())] >= 1
        assert found[("sluice_storage_bytes_on_disk", ())] > 0
        assert found[("sluice_long_polls", ())] == 0


def test_fifo_dead_letter_and_long_poll_readings():
    with started() as srv:
        admin = srv.admin_port
        sqs = client(srv)
        fifo = sqs.create_queue(
            QueueName="jobs.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
        )["QueueUrl"]
        for _ in range(3):
            sqs.send_message(QueueUrl=fifo, MessageBody="same", MessageGroupId="g1")
        sqs.send_message(QueueUrl=fifo, MessageBody="other", MessageGroupId="g2")
        sqs.receive_message(QueueUrl=fifo, MaxNumberOfMessages=1, VisibilityTimeout=60)

        dlq = sqs.create_queue(QueueName="dead")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "1"})
        source = sqs.create_queue(QueueName="source", Attributes={"RedrivePolicy": policy})["QueueUrl"]
        sqs.send_message(QueueUrl=source, MessageBody="poison")
        assert len(sqs.receive_message(QueueUrl=source, VisibilityTimeout=0)["Messages"]) == 1
        assert "Messages" not in sqs.receive_message(QueueUrl=source)

        found = samples(scrape(admin)[2])
        assert queue_value(found, "sluice_sqs_number_of_messages_sent_total", "jobs.fifo") == 2
        assert queue_value(found, "sluice_sqs_number_of_deduplicated_sent_messages_total", "jobs.fifo") == 2
        assert queue_value(found, "sluice_sqs_approximate_number_of_groups_with_inflight_messages", "jobs.fifo") == 1
        # A redrive to the dead-letter queue is not a send to it.
        assert queue_value(found, "sluice_sqs_number_of_messages_sent_total", "dead") == 0
        assert queue_value(found, "sluice_sqs_approximate_number_of_messages_visible", "dead") == 1
        assert queue_value(found, "sluice_sqs_number_of_messages_received_total", "source") == 1
        assert queue_value(found, "sluice_sqs_number_of_empty_receives_total", "source") == 1

        # A receive waiting in a long poll shows while it waits.
        empty = sqs.create_queue(QueueName="empty")["QueueUrl"]
        waiting = threading.Thread(target=lambda: client(srv).receive_message(QueueUrl=empty, WaitTimeSeconds=3))
        waiting.start()
        deadline = time.monotonic() + 2.5
        polls = 0
        while time.monotonic() < deadline and polls == 0:
            polls = samples(scrape(admin)[2])[("sluice_long_polls", ())]
            time.sleep(0.05)
        waiting.join(timeout=10)
        assert polls == 1


def test_cloudwatch_exporter_names():
    with started('metrics-names = "both"\n') as srv:
        admin = srv.admin_port
        sqs = client(srv)
        url = sqs.create_queue(QueueName="legacy")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="hello")
        found = samples(scrape(admin)[2])
        labels = (("account_id", DEFAULT_ACCOUNT), ("queue_name", "legacy"), ("region", REGION))
        assert found[("aws_sqs_approximate_number_of_messages_visible_average", labels)] == 1
        assert ("aws_sqs_number_of_messages_sent_sum", labels) in found
        assert ("aws_sqs_approximate_age_of_oldest_message_maximum", labels) in found
        assert queue_value(found, "sluice_sqs_number_of_messages_sent_total", "legacy") == 1


def test_with_authentication_a_scrape_needs_a_key_allowed_to_read_metrics():
    with started(_accounts_config()) as srv:
        admin = srv.admin_port
        status, headers, _ = scrape(admin)
        assert status == 401
        assert headers["WWW-Authenticate"].startswith("Basic")
        assert scrape(admin, (ACCESS_KEY, "wrong"))[0] == 401
        assert scrape(admin, ("AKIAUNKNOWN000000000", SECRET_KEY))[0] == 401
        assert scrape(admin, (ACCESS_KEY, SECRET_KEY))[0] == 200

        iam = client(srv, "iam")
        iam.create_user(UserName="scraper")
        key = iam.create_access_key(UserName="scraper")["AccessKey"]
        credentials = (key["AccessKeyId"], key["SecretAccessKey"])
        status, _, body = scrape(admin, credentials)
        assert status == 403
        assert "cloudwatch:GetMetricData" in body
        allow = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "cloudwatch:GetMetricData", "Resource": "*"}],
        }
        iam.put_user_policy(UserName="scraper", PolicyName="metrics", PolicyDocument=json.dumps(allow))
        assert scrape(admin, credentials)[0] == 200
