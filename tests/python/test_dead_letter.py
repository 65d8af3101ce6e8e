"""RedrivePolicy and ListDeadLetterSourceQueues.

Sources: the dead-letter queue guides (seed docs 00, 03), the ListDeadLetterSourceQueues model (output
`queueUrls`, MaxResults 1-1000, NextToken) and its paginator.
"""

import json

from conftest import DEFAULT_ACCOUNT, arn_of, expect_error, unique_name


def redrive(arn, count=5):
    return json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": count})


def test_list_dead_letter_source_queues(sqs):
    dlq = sqs.create_queue(QueueName=unique_name("dlq"))["QueueUrl"]
    dlq_arn = arn_of(sqs, dlq)
    first = sqs.create_queue(QueueName=unique_name("src1"), Attributes={"RedrivePolicy": redrive(dlq_arn)})["QueueUrl"]
    second = sqs.create_queue(QueueName=unique_name("src2"))["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=second, Attributes={"RedrivePolicy": redrive(dlq_arn, 3)})
    sqs.create_queue(QueueName=unique_name("unrelated"))

    sources = sqs.list_dead_letter_source_queues(QueueUrl=dlq)
    assert sorted(sources["queueUrls"]) == sorted([first, second])
    assert "NextToken" not in sources

    policy = json.loads(
        sqs.get_queue_attributes(QueueUrl=first, AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"]
    )
    assert policy["deadLetterTargetArn"] == dlq_arn
    assert int(policy["maxReceiveCount"]) == 5


def test_list_dead_letter_source_queues_pages(sqs):
    dlq = sqs.create_queue(QueueName=unique_name("dlqp"))["QueueUrl"]
    dlq_arn = arn_of(sqs, dlq)
    sources = {
        sqs.create_queue(QueueName=unique_name(f"s{i}"), Attributes={"RedrivePolicy": redrive(dlq_arn)})["QueueUrl"]
        for i in range(3)
    }
    page = sqs.list_dead_letter_source_queues(QueueUrl=dlq, MaxResults=2)
    assert len(page["queueUrls"]) == 2
    assert page.get("NextToken")
    rest = sqs.list_dead_letter_source_queues(QueueUrl=dlq, MaxResults=2, NextToken=page["NextToken"])
    assert len(rest["queueUrls"]) == 1
    assert "NextToken" not in rest
    assert set(page["queueUrls"]) | set(rest["queueUrls"]) == sources


def test_a_queue_without_sources_lists_none(sqs, queue_url):
    assert sqs.list_dead_letter_source_queues(QueueUrl=queue_url).get("queueUrls", []) == []


def test_removing_the_redrive_policy_removes_the_source(sqs):
    dlq = sqs.create_queue(QueueName=unique_name("dlqr"))["QueueUrl"]
    src = sqs.create_queue(QueueName=unique_name("srcr"), Attributes={"RedrivePolicy": redrive(arn_of(sqs, dlq))})["QueueUrl"]
    assert sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [src]
    sqs.set_queue_attributes(QueueUrl=src, Attributes={"RedrivePolicy": ""})
    assert sqs.list_dead_letter_source_queues(QueueUrl=dlq).get("queueUrls", []) == []
    assert "RedrivePolicy" not in sqs.get_queue_attributes(QueueUrl=src, AttributeNames=["All"])["Attributes"]


def test_dead_letter_max_results_out_of_range(sqs, queue_url):
    for bad in (0, 1001):
        with expect_error("InvalidParameterValue", 400):
            sqs.list_dead_letter_source_queues(QueueUrl=queue_url, MaxResults=bad)


def test_redrive_policy_to_a_missing_queue_is_rejected(sqs):
    missing = f"arn:aws:sqs:us-east-1:{DEFAULT_ACCOUNT}:{unique_name('nodlq')}"
    with expect_error("InvalidParameterValue", 400):
        sqs.create_queue(QueueName=unique_name("src"), Attributes={"RedrivePolicy": redrive(missing)})
