"""Dead-letter queues end to end: messages a consumer never deletes move to the dead-letter queue, and
message-move tasks (StartMessageMoveTask, ListMessageMoveTasks, CancelMessageMoveTask) send them back.

Runs under both boto3 generations (AWS JSON 1.0 with current botocore, AWS Query with 1.34.89) and once
through the AWS CLI of the environment.

Expected behaviour comes only from AWS: the dead-letter-queue guides (shared/spec/seed 00, 01, 03), the
CreateQueue / SetQueueAttributes references for RedrivePolicy and RedriveAllowPolicy (70, 16), the SQS service
models (shared/spec/models: the move-task shapes and their documentation), and the research notes
/tmp/research/sqs-fifo-dlq.md §8-11 and sqs-errors.md (real AWS responses quoted in public issues). Each
assertion's confidence follows the notes: C = confirmed, R = recalled / second-hand, G = guessed. Where the
notes only guess an error code, the assertion accepts each code they consider.
"""

from __future__ import annotations

import base64
import json
import time

import pytest
from botocore.exceptions import ClientError

import conftest
from conftest import DEFAULT_ACCOUNT, arn_of, counters, expect_error, new_fifo, now_ms, receive, unique_name

# Codes for the cases the notes only guess at (§11): a second task on a busy source, a cancel of a task that is
# not running. InvalidParameterValue or UnsupportedOperation (Query code with its AWS.SimpleQueueService. prefix).
BUSY_CODES = ("InvalidParameterValue", "AWS.SimpleQueueService.UnsupportedOperation")
TERMINAL = ("COMPLETED", "CANCELLED", "FAILED")


# --- helpers ---------------------------------------------------------------------------------------------------


def new_queue(sqs, prefix="d", **attributes) -> str:
    return conftest.new_queue(sqs, prefix, **attributes)


def redrive(arn, count) -> str:
    # Compact, as the captured errors show it (§8), so an echo of the value does not depend on spacing.
    return json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": count}, separators=(",", ":"))


def pair(sqs, max_receive_count=1, fifo=False):
    """A dead-letter queue and a source queue whose redrive policy targets it: (source, dlq, source arn, dlq arn)."""
    make = new_fifo if fifo else new_queue
    dlq = make(sqs, "dlq")
    dlq_arn = arn_of(sqs, dlq)
    source = make(sqs, "src", RedrivePolicy=redrive(dlq_arn, max_receive_count))
    return source, dlq, arn_of(sqs, source), dlq_arn


def send_bodies(sqs, url, bodies, **extra):
    """SendMessageBatch in tens; returns {body: MessageId}."""
    ids = {}
    for start in range(0, len(bodies), 10):
        chunk = bodies[start : start + 10]
        entries = [{"Id": f"e{i}", "MessageBody": body, **extra} for i, body in enumerate(chunk)]
        out = sqs.send_message_batch(QueueUrl=url, Entries=entries)
        assert not out.get("Failed"), out
        for entry in out["Successful"]:
            ids[chunk[int(entry["Id"][1:])]] = entry["MessageId"]
    return ids


def dead_letter_all(sqs, source, dlq, count, deadline_s=15):
    """Receives from `source` (visibility 0, never deleting) until `count` messages sit in `dlq`."""
    deadline = time.monotonic() + deadline_s
    while counters(sqs, dlq)[0] < count:
        assert time.monotonic() < deadline, (counters(sqs, source), counters(sqs, dlq))
        receive(sqs, source, MaxNumberOfMessages=10, VisibilityTimeout=0)
    assert counters(sqs, source) == (0, 0, 0)
    assert counters(sqs, dlq) == (count, 0, 0)


def drain(sqs, url, count, deadline_s=15, **kwargs) -> list:
    """Receives (and deletes) until `count` messages came, then checks nothing more is there."""
    got = []
    deadline = time.monotonic() + deadline_s
    while len(got) < count:
        assert time.monotonic() < deadline, f"{len(got)} of {count} received"
        messages = receive(sqs, url, MaxNumberOfMessages=10, WaitTimeSeconds=1, **kwargs)
        for m in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        got += messages
    assert receive(sqs, url, MaxNumberOfMessages=10) == []
    return got


def tasks(sqs, source_arn, max_results=None) -> list:
    kwargs = {} if max_results is None else {"MaxResults": max_results}
    return sqs.list_message_move_tasks(SourceArn=source_arn, **kwargs).get("Results", [])


def wait_for_status(sqs, source_arn, statuses, deadline_s=15) -> dict:
    deadline = time.monotonic() + deadline_s
    while True:
        latest = tasks(sqs, source_arn)[0]
        if latest["Status"] in statuses:
            return latest
        assert time.monotonic() < deadline, latest
        time.sleep(0.05)


# --- moving to the dead-letter queue ---------------------------------------------------------------------------


def test_a_consumer_that_never_deletes_drives_messages_to_the_dlq_after_max_receive_count(sqs):
    source, dlq, source_arn, _ = pair(sqs, max_receive_count=3)
    attributes = {
        "colour": {"DataType": "String", "StringValue": "red"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xff"},
    }
    sent = sqs.send_message(QueueUrl=source, MessageBody="poison", MessageAttributes=attributes)

    # seed 00: maxReceiveCount is "the number of times a consumer can receive a message from a source queue
    # before it is moved"; research §10 (R): delivered exactly maxReceiveCount times.
    first = None
    for n in (1, 2, 3):
        got = receive(sqs, source, VisibilityTimeout=0, AttributeNames=["All"], MessageAttributeNames=["All"])
        assert [m["MessageId"] for m in got] == [sent["MessageId"]], (n, got)
        assert got[0]["Attributes"]["ApproximateReceiveCount"] == str(n)
        # Messages still in their source queue carry no dead-letter source.
        assert "DeadLetterQueueSourceArn" not in got[0]["Attributes"]
        first = first or got[0]
    assert counters(sqs, dlq) == (0, 0, 0)

    # §10 (R): the move happens on the receive that would have delivered it a fourth time; it returns nothing.
    assert receive(sqs, source, VisibilityTimeout=0, WaitTimeSeconds=1) == []
    assert counters(sqs, source) == (0, 0, 0)
    assert counters(sqs, dlq) == (1, 0, 0)

    moved = receive(sqs, dlq, AttributeNames=["All"], MessageAttributeNames=["All"])
    assert len(moved) == 1, moved
    moved = moved[0]
    # §10: MessageId kept (R), body and attributes kept (C/R), SentTimestamp and first-receive time kept (C),
    # receive count kept and still counting (C "kept, not reset"; G that the first DLQ receive shows max + 1),
    # DeadLetterQueueSourceArn = the source queue's ARN (C).
    assert moved["MessageId"] == sent["MessageId"]
    assert moved["Body"] == "poison"
    assert moved["MD5OfBody"] == sent["MD5OfMessageBody"]
    assert moved["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert moved["MessageAttributes"] == attributes
    assert moved["Attributes"]["SentTimestamp"] == first["Attributes"]["SentTimestamp"]
    assert moved["Attributes"]["ApproximateFirstReceiveTimestamp"] == first["Attributes"]["ApproximateFirstReceiveTimestamp"]
    assert moved["Attributes"]["ApproximateReceiveCount"] == "4"
    assert moved["Attributes"]["DeadLetterQueueSourceArn"] == source_arn

    # Asked for by name, it is the only system attribute returned (the model's MessageSystemAttributeName enum).
    sqs.change_message_visibility(QueueUrl=dlq, ReceiptHandle=moved["ReceiptHandle"], VisibilityTimeout=0)
    by_name = receive(sqs, dlq, AttributeNames=["DeadLetterQueueSourceArn"])
    assert by_name[0]["Attributes"] == {"DeadLetterQueueSourceArn": source_arn}


def test_the_receive_that_moves_some_messages_still_returns_the_others(sqs):
    source, dlq, _, _ = pair(sqs, max_receive_count=1)
    old = sqs.send_message(QueueUrl=source, MessageBody="old")["MessageId"]
    assert [m["MessageId"] for m in receive(sqs, source, VisibilityTimeout=0)] == [old]
    new = sqs.send_message(QueueUrl=source, MessageBody="new")["MessageId"]
    got = receive(sqs, source, MaxNumberOfMessages=10, VisibilityTimeout=0, AttributeNames=["All"])
    assert [m["MessageId"] for m in got] == [new]
    assert got[0]["Attributes"]["ApproximateReceiveCount"] == "1"
    assert [m["MessageId"] for m in receive(sqs, dlq, MaxNumberOfMessages=10)] == [old]


def test_many_messages_each_delivered_exactly_max_receive_count_times(sqs):
    source, dlq, source_arn, _ = pair(sqs, max_receive_count=2)
    ids = send_bodies(sqs, source, [f"m{i}" for i in range(25)])
    deliveries: dict[str, int] = {}
    deadline = time.monotonic() + 15
    while counters(sqs, dlq)[0] < 25:
        assert time.monotonic() < deadline, deliveries
        for m in receive(sqs, source, MaxNumberOfMessages=10, VisibilityTimeout=0):
            deliveries[m["MessageId"]] = deliveries.get(m["MessageId"], 0) + 1
    assert deliveries == {mid: 2 for mid in ids.values()}
    assert counters(sqs, source) == (0, 0, 0)
    moved = drain(sqs, dlq, 25, AttributeNames=["All"])
    assert sorted(m["MessageId"] for m in moved) == sorted(ids.values())
    assert {m["Body"]: m["MessageId"] for m in moved} == ids
    assert {m["Attributes"]["DeadLetterQueueSourceArn"] for m in moved} == {source_arn}
    assert {m["Attributes"]["ApproximateReceiveCount"] for m in moved} == {"3"}


def test_fifo_messages_move_to_a_fifo_dlq_in_order(sqs):
    source, dlq, source_arn, _ = pair(sqs, max_receive_count=2, fifo=True)
    sent = []
    for i in range(4):
        out = sqs.send_message(QueueUrl=source, MessageBody=f"f{i}", MessageGroupId="g", MessageDeduplicationId=f"d{i}")
        sent.append(out)
    originals = None
    for n in (1, 2):
        got = receive(sqs, source, MaxNumberOfMessages=10, VisibilityTimeout=0, AttributeNames=["All"])
        assert [m["Body"] for m in got] == ["f0", "f1", "f2", "f3"], n
        originals = got
    assert receive(sqs, source, MaxNumberOfMessages=10, VisibilityTimeout=0) == []
    assert counters(sqs, dlq) == (4, 0, 0)

    moved = receive(sqs, dlq, MaxNumberOfMessages=10, AttributeNames=["All"])
    # The order is kept, and so are MessageId and MessageGroupId (§10, C/R).
    assert [m["Body"] for m in moved] == ["f0", "f1", "f2", "f3"]
    assert [m["MessageId"] for m in moved] == [s["MessageId"] for s in sent]
    for before, after in zip(originals, moved):
        attrs = after["Attributes"]
        assert attrs["MessageGroupId"] == "g"
        # DG redrive page (C): "the original message's deduplication ID will be replaced with the original
        # message's ID".
        assert attrs["MessageDeduplicationId"] == after["MessageId"]
        assert attrs["DeadLetterQueueSourceArn"] == source_arn
        assert attrs["SentTimestamp"] == before["Attributes"]["SentTimestamp"]
        assert attrs["ApproximateReceiveCount"] == "3"
    # In the dead-letter queue the sequence numbers grow in the kept order (seed 83: "SequenceNumber continues
    # to increase for a particular MessageGroupId").
    numbers = [int(m["Attributes"]["SequenceNumber"]) for m in moved]
    assert numbers == sorted(set(numbers)), numbers


def test_redrive_policy_is_returned_with_a_numeric_count_and_removed_with_an_empty_value(sqs):
    dlq = new_queue(sqs, "dlq")
    dlq_arn = arn_of(sqs, dlq)
    source = new_queue(sqs, "src")
    # seed 16's example sends the count as a string; §8 (C): "will always return an integer".
    raw = '{"maxReceiveCount": "5", "deadLetterTargetArn": "%s"}' % dlq_arn
    sqs.set_queue_attributes(QueueUrl=source, Attributes={"RedrivePolicy": raw})
    stored = sqs.get_queue_attributes(QueueUrl=source, AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"]
    assert json.loads(stored) == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}
    # §8 (R): key order and compact form.
    assert stored == '{"deadLetterTargetArn":"%s","maxReceiveCount":5}' % dlq_arn
    for count in (1, 1000):
        sqs.set_queue_attributes(QueueUrl=source, Attributes={"RedrivePolicy": redrive(dlq_arn, count)})
    sqs.set_queue_attributes(QueueUrl=source, Attributes={"RedrivePolicy": ""})
    assert "RedrivePolicy" not in sqs.get_queue_attributes(QueueUrl=source, AttributeNames=["All"])["Attributes"]


def invalid_redrive_message(raw, reason):
    return f"Value {raw} for parameter RedrivePolicy is invalid. Reason: {reason}"


@pytest.mark.parametrize("count", [0, 1001, -1])
def test_max_receive_count_out_of_range(sqs, count):
    dlq_arn = arn_of(sqs, new_queue(sqs, "dlq"))
    raw = redrive(dlq_arn, count)
    # §8: the code is C; the text is R (quoted by a third-party checker).
    reason = f"Invalid value for maxReceiveCount: {count}, valid values are from 1 to 1000 both inclusive."
    with expect_error("InvalidParameterValue", 400, invalid_redrive_message(raw, reason)):
        sqs.create_queue(QueueName=unique_name("src"), Attributes={"RedrivePolicy": raw})
    source = new_queue(sqs, "src")
    with expect_error("InvalidParameterValue", 400, invalid_redrive_message(raw, reason)):
        sqs.set_queue_attributes(QueueUrl=source, Attributes={"RedrivePolicy": raw})


def test_redrive_policy_without_max_receive_count_is_rejected(sqs):
    # §8 (C by capture): both keys are mandatory despite the documented "Default: 10".
    dlq_arn = arn_of(sqs, new_queue(sqs, "dlq"))
    raw = json.dumps({"deadLetterTargetArn": dlq_arn})
    reason = "Redrive policy does not contain mandatory attribute: maxReceiveCount."
    source = new_queue(sqs, "src")
    with expect_error("InvalidParameterValue", 400, invalid_redrive_message(raw, reason)):
        sqs.set_queue_attributes(QueueUrl=source, Attributes={"RedrivePolicy": raw})


def test_empty_redrive_policy_names_max_receive_count_first(sqs):
    # §8 (C: ansible community.aws#2321): `{}` is reported as missing maxReceiveCount.
    source = new_queue(sqs, "src")
    reason = "Redrive policy does not contain mandatory attribute: maxReceiveCount."
    with expect_error("InvalidParameterValue", 400, invalid_redrive_message("{}", reason)):
        sqs.set_queue_attributes(QueueUrl=source, Attributes={"RedrivePolicy": "{}"})


def test_redrive_policy_without_a_target_is_rejected(sqs):
    # §8 (C: crossplane provider-aws#443).
    raw = '{"maxReceiveCount":3}'
    reason = "Redrive policy does not contain mandatory attribute: deadLetterTargetArn."
    with expect_error("InvalidParameterValue", 400, invalid_redrive_message(raw, reason)):
        sqs.create_queue(QueueName=unique_name("src"), Attributes={"RedrivePolicy": raw})


def test_redrive_policy_to_a_missing_queue(sqs):
    # §8 (C: real Terraform CreateQueue output): the compact policy as the caller sent it.
    raw = '{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:%s:%s","maxReceiveCount":3}' % (
        DEFAULT_ACCOUNT,
        unique_name("nodlq"),
    )
    with expect_error("InvalidParameterValue", 400, invalid_redrive_message(raw, "Dead letter target does not exist.")):
        sqs.create_queue(QueueName=unique_name("src"), Attributes={"RedrivePolicy": raw})


def test_redrive_policy_errors_echo_the_value_as_sent(sqs):
    # §8 (R): "<raw> echoes the attribute string exactly as sent", whitespace and a string count included.
    raw = '{"deadLetterTargetArn": "arn:aws:sqs:us-east-1:%s:%s", "maxReceiveCount": "3"}' % (
        DEFAULT_ACCOUNT,
        unique_name("nodlq"),
    )
    source = new_queue(sqs, "src")
    with expect_error("InvalidParameterValue", 400, invalid_redrive_message(raw, "Dead letter target does not exist.")):
        sqs.set_queue_attributes(QueueUrl=source, Attributes={"RedrivePolicy": raw})


@pytest.mark.parametrize("source_fifo", [True, False], ids=["fifo-source", "standard-source"])
def test_dead_letter_queue_must_be_the_same_type(sqs, source_fifo):
    # §3 (C, both directions), seed 03: "a FIFO queue can only use a FIFO DLQ, and a standard queue can only use
    # a standard DLQ". The reason ends in a double period.
    dlq = new_queue(sqs, "dlq") if source_fifo else new_fifo(sqs, "dlq")
    raw = redrive(arn_of(sqs, dlq), 3)
    reason = "Dead-letter queue must be same type of queue as the source.."
    name = unique_name("src") + (".fifo" if source_fifo else "")
    attributes = {"RedrivePolicy": raw, **({"FifoQueue": "true"} if source_fifo else {})}
    with expect_error("InvalidParameterValue", 400, invalid_redrive_message(raw, reason)):
        sqs.create_queue(QueueName=name, Attributes=attributes)


@pytest.mark.parametrize("where", ["another-region", "another-account"])
def test_dead_letter_queue_must_be_in_the_same_account_and_region(sqs, make_client, where):
    # §8 (C: old DG) same account and region only; the code follows every other RedrivePolicy error (C), the
    # text is unknown.
    other = make_client(region="us-west-2") if where == "another-region" else make_client(access_key="111111111111")
    dlq = other.create_queue(QueueName=unique_name("dlq"))["QueueUrl"]
    raw = redrive(arn_of(other, dlq), 3)
    with expect_error("InvalidParameterValue", 400):
        sqs.create_queue(QueueName=unique_name("src"), Attributes={"RedrivePolicy": raw})


def test_redrive_allow_policy_decides_which_sources_may_use_the_dlq(sqs):
    # Seeds 00/16/70: allowAll (default), denyAll ("the queue cannot be used as a dead-letter queue"), byQueue
    # (only the listed sources). §8 (R): a denied source fails when its RedrivePolicy is set, InvalidParameterValue.
    dlq = new_queue(sqs, "dlq")
    dlq_arn = arn_of(sqs, dlq)
    allowed = new_queue(sqs, "ok")
    denied = new_queue(sqs, "no")
    allowed_arn = arn_of(sqs, allowed)

    sqs.set_queue_attributes(QueueUrl=dlq, Attributes={"RedriveAllowPolicy": json.dumps({"redrivePermission": "denyAll"})})
    for url in (allowed, denied):
        with expect_error("InvalidParameterValue", 400):
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": redrive(dlq_arn, 2)})
    with expect_error("InvalidParameterValue", 400):
        sqs.create_queue(QueueName=unique_name("src"), Attributes={"RedrivePolicy": redrive(dlq_arn, 2)})

    by_queue = {"redrivePermission": "byQueue", "sourceQueueArns": [allowed_arn]}
    sqs.set_queue_attributes(QueueUrl=dlq, Attributes={"RedriveAllowPolicy": json.dumps(by_queue)})
    stored = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["RedriveAllowPolicy"])["Attributes"]
    assert json.loads(stored["RedriveAllowPolicy"]) == by_queue
    sqs.set_queue_attributes(QueueUrl=allowed, Attributes={"RedrivePolicy": redrive(dlq_arn, 2)})
    with expect_error("InvalidParameterValue", 400):
        sqs.set_queue_attributes(QueueUrl=denied, Attributes={"RedrivePolicy": redrive(dlq_arn, 2)})

    sqs.set_queue_attributes(QueueUrl=dlq, Attributes={"RedriveAllowPolicy": json.dumps({"redrivePermission": "allowAll"})})
    sqs.set_queue_attributes(QueueUrl=denied, Attributes={"RedrivePolicy": redrive(dlq_arn, 2)})
    assert sorted(sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"]) == sorted([allowed, denied])


def test_redrive_allow_policy_accepts_up_to_ten_source_arns(sqs):
    dlq = new_queue(sqs, "dlq")
    arns = [f"arn:aws:sqs:us-east-1:{DEFAULT_ACCOUNT}:{unique_name('s')}" for _ in range(11)]
    # Seeds 16/70: "You can specify up to 10 source queue ARNs."
    sqs.set_queue_attributes(
        QueueUrl=dlq,
        Attributes={"RedriveAllowPolicy": json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": arns[:10]})},
    )
    with pytest.raises(ClientError) as info:
        sqs.set_queue_attributes(
            QueueUrl=dlq,
            Attributes={"RedriveAllowPolicy": json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": arns})},
        )
    assert_allow_policy_rejected(info.value)


def assert_allow_policy_rejected(error):
    # §9: the prefix "Invalid value for the parameter RedriveAllowPolicy." is C for one case; the code is only
    # "probably InvalidAttributeValue" (R), so both codes the notes consider are accepted here.
    response = error.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400, response
    assert response["Error"]["Code"] in ("InvalidAttributeValue", "InvalidParameterValue"), response


@pytest.mark.parametrize(
    "policy",
    [
        {"redrivePermission": "byQueue"},
        {"redrivePermission": "byQueue", "sourceQueueArns": []},
        {"redrivePermission": "allowAll", "sourceQueueArns": [f"arn:aws:sqs:us-east-1:{DEFAULT_ACCOUNT}:x"]},
        {"redrivePermission": "denyAll", "sourceQueueArns": [f"arn:aws:sqs:us-east-1:{DEFAULT_ACCOUNT}:x"]},
        {"redrivePermission": "everyone"},
        {"sourceQueueArns": [f"arn:aws:sqs:us-east-1:{DEFAULT_ACCOUNT}:x"]},
    ],
    ids=["byQueue-without-arns", "byQueue-empty-arns", "allowAll-with-arns", "denyAll-with-arns", "unknown", "no-permission"],
)
def test_invalid_redrive_allow_policies(sqs, policy):
    # Seeds 16/70 and §9 (C rules): byQueue needs sourceQueueArns; allowAll and denyAll cannot have them.
    dlq = new_queue(sqs, "dlq")
    with pytest.raises(ClientError) as info:
        sqs.set_queue_attributes(QueueUrl=dlq, Attributes={"RedriveAllowPolicy": json.dumps(policy)})
    assert_allow_policy_rejected(info.value)
    assert "RedriveAllowPolicy" not in sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["All"])["Attributes"]


def test_redrive_allow_policy_in_an_unsupported_format(sqs):
    # §9 (C: a real CloudFormation passthrough): sourceQueueArns given as a string instead of a list. The
    # apostrophe in "it’s" is U+2019.
    dlq = new_queue(sqs, "dlq")
    policy = json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": f"arn:aws:sqs:us-east-1:{DEFAULT_ACCOUNT}:x"})
    with pytest.raises(ClientError) as info:
        sqs.set_queue_attributes(QueueUrl=dlq, Attributes={"RedriveAllowPolicy": policy})
    assert_allow_policy_rejected(info.value)
    assert info.value.response["Error"]["Message"] == (
        "Invalid value for the parameter RedriveAllowPolicy. Reason: Amazon SQS can't create the redrive allow "
        "policy, as it\u2019s in an unsupported format."
    )


# --- message-move tasks ----------------------------------------------------------------------------------------


def test_a_move_task_sends_messages_back_at_the_requested_rate(sqs):
    source, dlq, source_arn, dlq_arn = pair(sqs, max_receive_count=1)
    attributes = {"k": {"DataType": "String", "StringValue": "v"}}
    bodies = [f"r{i}" for i in range(30)]
    original_ids = send_bodies(sqs, source, bodies, MessageAttributes=attributes)
    dead_letter_all(sqs, source, dlq, 30)
    assert tasks(sqs, dlq_arn) == []

    started = time.monotonic()
    before = now_ms()
    handle = sqs.start_message_move_task(SourceArn=dlq_arn, MaxNumberOfMessagesPerSecond=10)["TaskHandle"]
    assert handle
    running = tasks(sqs, dlq_arn)
    assert len(running) == 1
    task = running[0]
    # §11 (C, model): TaskHandle while RUNNING; DestinationArn only when given; the rate as given; StartedTimestamp
    # in epoch milliseconds; the number to move taken at the start.
    assert task["Status"] == "RUNNING", task
    assert task["TaskHandle"] == handle
    assert task["SourceArn"] == dlq_arn
    assert "DestinationArn" not in task
    assert "FailureReason" not in task
    assert task["MaxNumberOfMessagesPerSecond"] == 10
    assert task["ApproximateNumberOfMessagesToMove"] == 30
    assert 0 <= task["ApproximateNumberOfMessagesMoved"] <= 30
    assert before - 1000 <= task["StartedTimestamp"] <= now_ms() + 1000

    # The rate holds throughout: by t seconds at most 10 * (t + 1) messages are back (one second's burst allowed).
    arrived_all = None
    while True:
        elapsed = time.monotonic() - started
        back = counters(sqs, source)[0]
        assert back <= 10 * (elapsed + 1) + 1, (elapsed, back)
        if back == 30 and arrived_all is None:
            arrived_all = elapsed
        latest = tasks(sqs, dlq_arn)[0]
        if latest["Status"] != "RUNNING":
            break
        assert latest["ApproximateNumberOfMessagesMoved"] <= 10 * (time.monotonic() - started + 1) + 1
        assert elapsed < 15, latest
        time.sleep(0.1)
    if arrived_all is None:
        arrived_all = time.monotonic() - started
    # 30 messages at 10 per second: the last cannot be back before 2 s (even with the first 10 at once).
    assert arrived_all >= 1.9, arrived_all
    assert latest["Status"] == "COMPLETED", latest
    assert "TaskHandle" not in latest
    assert latest["ApproximateNumberOfMessagesMoved"] == 30
    assert latest["ApproximateNumberOfMessagesToMove"] == 30
    assert latest["StartedTimestamp"] == task["StartedTimestamp"]
    assert counters(sqs, dlq) == (0, 0, 0)

    # §11 (C): "A new messageID and enqueueTime are assigned to redriven messages"; moved back they are new
    # messages of the source queue, so not dead-lettered, and received for the first time.
    back = drain(sqs, source, 30, AttributeNames=["All"], MessageAttributeNames=["All"])
    assert sorted(m["Body"] for m in back) == sorted(bodies)
    assert not {m["MessageId"] for m in back} & set(original_ids.values())
    for m in back:
        assert m["Attributes"]["ApproximateReceiveCount"] == "1"
        assert "DeadLetterQueueSourceArn" not in m["Attributes"]
        assert m["MessageAttributes"] == attributes
    print(f"30 messages at 10/s: all back after {arrived_all:.2f} s")


def test_cancelling_a_task_stops_it(sqs):
    source, dlq, _, dlq_arn = pair(sqs, max_receive_count=1)
    send_bodies(sqs, source, [f"c{i}" for i in range(20)])
    dead_letter_all(sqs, source, dlq, 20)
    handle = sqs.start_message_move_task(SourceArn=dlq_arn, MaxNumberOfMessagesPerSecond=2)["TaskHandle"]
    deadline = time.monotonic() + 5
    while tasks(sqs, dlq_arn)[0]["ApproximateNumberOfMessagesMoved"] < 1:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.6)

    moved = sqs.cancel_message_move_task(TaskHandle=handle)["ApproximateNumberOfMessagesMoved"]
    assert 1 <= moved < 20
    after = tasks(sqs, dlq_arn)[0]
    # §11 (C): CANCELLING while it winds down, then CANCELLED; TaskHandle only while RUNNING.
    assert after["Status"] in ("CANCELLING", "CANCELLED"), after
    assert "TaskHandle" not in after
    with expect_error_in(BUSY_CODES):
        sqs.cancel_message_move_task(TaskHandle=handle)
    done = wait_for_status(sqs, dlq_arn, ("CANCELLED",), deadline_s=5)
    assert "TaskHandle" not in done

    # Nothing moves after the cancel has taken effect, and what moved stays moved (§11 C: not reverted).
    final = done["ApproximateNumberOfMessagesMoved"]
    assert moved <= final < 20
    time.sleep(1.2)
    assert tasks(sqs, dlq_arn)[0]["ApproximateNumberOfMessagesMoved"] == final
    assert counters(sqs, source) == (final, 0, 0)
    assert counters(sqs, dlq) == (20 - final, 0, 0)

    # The source is free again: a new task (no rate) moves the rest; the listing is most recent first.
    second = sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
    assert second != handle
    completed = wait_for_status(sqs, dlq_arn, TERMINAL)
    assert completed["Status"] == "COMPLETED"
    assert completed["ApproximateNumberOfMessagesMoved"] == 20 - final
    assert completed["ApproximateNumberOfMessagesToMove"] == 20 - final
    assert "MaxNumberOfMessagesPerSecond" not in completed
    listed = tasks(sqs, dlq_arn, max_results=10)
    assert [t["Status"] for t in listed] == ["COMPLETED", "CANCELLED"]
    assert listed[0]["StartedTimestamp"] >= listed[1]["StartedTimestamp"]
    assert [t["Status"] for t in tasks(sqs, dlq_arn)] == ["COMPLETED"]
    assert counters(sqs, source) == (20, 0, 0)
    assert counters(sqs, dlq) == (0, 0, 0)
    with expect_error_in(BUSY_CODES):
        sqs.cancel_message_move_task(TaskHandle=second)


def test_a_move_task_to_an_explicit_destination(sqs):
    source, dlq, _, dlq_arn = pair(sqs, max_receive_count=1)
    elsewhere = new_queue(sqs, "dest")
    elsewhere_arn = arn_of(sqs, elsewhere)
    send_bodies(sqs, source, [f"x{i}" for i in range(12)])
    dead_letter_all(sqs, source, dlq, 12)
    sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=elsewhere_arn)
    done = wait_for_status(sqs, dlq_arn, TERMINAL)
    assert done["Status"] == "COMPLETED", done
    assert done["DestinationArn"] == elsewhere_arn
    assert done["ApproximateNumberOfMessagesMoved"] == 12
    assert counters(sqs, elsewhere) == (12, 0, 0)
    assert counters(sqs, source) == (0, 0, 0)
    assert counters(sqs, dlq) == (0, 0, 0)


def test_messages_go_back_to_their_own_source_queues(sqs):
    # Model doc (C): without a DestinationArn the messages return to "their respective original source queues".
    dlq = new_queue(sqs, "dlq")
    dlq_arn = arn_of(sqs, dlq)
    first = new_queue(sqs, "one", RedrivePolicy=redrive(dlq_arn, 1))
    second = new_queue(sqs, "two", RedrivePolicy=redrive(dlq_arn, 1))
    send_bodies(sqs, first, ["a0", "a1", "a2"])
    send_bodies(sqs, second, ["b0", "b1"])
    dead_letter_all(sqs, first, dlq, 3)
    dead_letter_all(sqs, second, dlq, 5)
    sqs.start_message_move_task(SourceArn=dlq_arn)
    assert wait_for_status(sqs, dlq_arn, TERMINAL)["Status"] == "COMPLETED"
    assert sorted(m["Body"] for m in drain(sqs, first, 3)) == ["a0", "a1", "a2"]
    assert sorted(m["Body"] for m in drain(sqs, second, 2)) == ["b0", "b1"]


def test_a_fifo_move_task_keeps_the_order(sqs):
    source, dlq, _, dlq_arn = pair(sqs, max_receive_count=1, fifo=True)
    ids = []
    for i in range(6):
        out = sqs.send_message(QueueUrl=source, MessageBody=f"o{i}", MessageGroupId="g", MessageDeduplicationId=f"o{i}")
        ids.append(out["MessageId"])
    dead_letter_all(sqs, source, dlq, 6)
    sqs.start_message_move_task(SourceArn=dlq_arn)
    done = wait_for_status(sqs, dlq_arn, TERMINAL)
    assert done["Status"] == "COMPLETED", done
    assert done["ApproximateNumberOfMessagesMoved"] == 6
    # DG (C): messages are redriven "in the order they are received, starting with the oldest".
    back = receive(sqs, source, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["All"])
    assert [m["Body"] for m in back] == [f"o{i}" for i in range(6)]
    assert not {m["MessageId"] for m in back} & set(ids)
    assert {m["Attributes"]["MessageGroupId"] for m in back} == {"g"}
    assert {m["Attributes"]["ApproximateReceiveCount"] for m in back} == {"1"}
    assert all("DeadLetterQueueSourceArn" not in m["Attributes"] for m in back)


def test_a_task_whose_original_source_is_gone_fails(sqs):
    # G: the message has nowhere to go back to; FAILED with a FailureReason (§11 C: present only when FAILED).
    source, dlq, _, dlq_arn = pair(sqs, max_receive_count=1)
    other = new_queue(sqs, "keep", RedrivePolicy=redrive(dlq_arn, 5))
    assert other
    sqs.send_message(QueueUrl=source, MessageBody="orphan")
    dead_letter_all(sqs, source, dlq, 1)
    sqs.delete_queue(QueueUrl=source)
    sqs.start_message_move_task(SourceArn=dlq_arn)
    done = wait_for_status(sqs, dlq_arn, TERMINAL)
    assert done["Status"] == "FAILED", done
    assert done.get("FailureReason")
    assert "TaskHandle" not in done
    assert counters(sqs, dlq) == (1, 0, 0)


# --- move-task errors ------------------------------------------------------------------------------------------


class expect_error_in:
    """Like expect_error, for cases where the notes leave the code open between a few."""

    def __init__(self, codes, status=400):
        self.codes, self.status = codes, status

    def __enter__(self):
        return self

    def __exit__(self, kind, error, tb):
        assert error is not None, f"expected one of {self.codes}, the call succeeded"
        response = getattr(error, "response", None)
        assert response is not None, error
        assert response["Error"]["Code"] in self.codes, response
        assert response["ResponseMetadata"]["HTTPStatusCode"] == self.status, response
        return True


def test_the_source_must_be_a_dead_letter_queue(sqs):
    plain = new_queue(sqs, "plain")
    # G text (§11); the code is InvalidParameterValue.
    with expect_error("InvalidParameterValue", 400, "Source queue must be configured as a Dead Letter Queue."):
        sqs.start_message_move_task(SourceArn=arn_of(sqs, plain))


def test_missing_source_or_destination(sqs):
    # Model (C): ResourceNotFoundException, HTTP 404 in the Query model.
    missing = f"arn:aws:sqs:us-east-1:{DEFAULT_ACCOUNT}:{unique_name('gone')}"
    with expect_error("ResourceNotFoundException", 404):
        sqs.start_message_move_task(SourceArn=missing)
    _, _, _, dlq_arn = pair(sqs)
    with expect_error("ResourceNotFoundException", 404):
        sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=missing)
    with expect_error("ResourceNotFoundException", 404):
        sqs.list_message_move_tasks(SourceArn=missing)
    assert tasks(sqs, dlq_arn, max_results=10) == []


def test_a_task_moving_a_queue_onto_itself_is_refused(sqs):
    # SQS refuses such a task; its wording is not documented, so this one names the rule.
    source, dlq, _, dlq_arn = pair(sqs)
    send_bodies(sqs, source, ["m"])
    dead_letter_all(sqs, source, dlq, 1)
    with expect_error(
        "InvalidParameterValue", 400, "The destination queue must be different from the source queue."
    ):
        sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=dlq_arn)
    assert tasks(sqs, dlq_arn) == []
    assert counters(sqs, dlq) == (1, 0, 0)


@pytest.mark.parametrize("rate", [0, 501, -5])
def test_rate_out_of_range(sqs, rate):
    # Model (C): at most 500; G: at least 1.
    _, _, _, dlq_arn = pair(sqs)
    with expect_error("InvalidParameterValue", 400):
        sqs.start_message_move_task(SourceArn=dlq_arn, MaxNumberOfMessagesPerSecond=rate)
    assert tasks(sqs, dlq_arn) == []


@pytest.mark.parametrize("rate", [1, 500])
def test_rate_limits_are_accepted(sqs, rate):
    _, _, _, dlq_arn = pair(sqs)
    sqs.start_message_move_task(SourceArn=dlq_arn, MaxNumberOfMessagesPerSecond=rate)
    done = wait_for_status(sqs, dlq_arn, TERMINAL)
    assert done["Status"] == "COMPLETED"
    assert done["MaxNumberOfMessagesPerSecond"] == rate
    assert done["ApproximateNumberOfMessagesMoved"] == 0


def test_only_one_running_task_per_source(sqs):
    # DG (C): "Only one active message movement task is supported per queue at any given time."
    source, dlq, _, dlq_arn = pair(sqs)
    send_bodies(sqs, source, [f"s{i}" for i in range(5)])
    dead_letter_all(sqs, source, dlq, 5)
    handle = sqs.start_message_move_task(SourceArn=dlq_arn, MaxNumberOfMessagesPerSecond=1)["TaskHandle"]
    with expect_error_in(BUSY_CODES):
        sqs.start_message_move_task(SourceArn=dlq_arn)
    assert [t["Status"] for t in tasks(sqs, dlq_arn, max_results=10)] == ["RUNNING"]
    sqs.cancel_message_move_task(TaskHandle=handle)
    wait_for_status(sqs, dlq_arn, ("CANCELLED",))


def test_destination_must_be_the_same_queue_type(sqs):
    # DG (C): the destination must be the same queue type as the dead-letter queue; code G.
    source, dlq, _, dlq_arn = pair(sqs)
    sqs.send_message(QueueUrl=source, MessageBody="typed")
    dead_letter_all(sqs, source, dlq, 1)
    fifo = new_fifo(sqs, "dest")
    with expect_error("InvalidParameterValue", 400):
        sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=arn_of(sqs, fifo))
    time.sleep(0.3)
    assert counters(sqs, fifo) == (0, 0, 0)
    assert counters(sqs, dlq) == (1, 0, 0)


@pytest.mark.parametrize(
    "handle",
    ["AQEBunknownTaskHandle==", "not a handle", base64.b64encode(b'{"taskId":"t"}').decode()],
    ids=["not-base64", "text", "no-source"],
)
def test_cancel_with_a_malformed_task_handle(sqs, handle):
    with expect_error("InvalidParameterValue", 400, "Value for parameter TaskHandle is invalid."):
        sqs.cancel_message_move_task(TaskHandle=handle)


def task_handle(source_arn: str) -> str:
    """A task handle of the form StartMessageMoveTask returns, for a task that never ran."""
    body = json.dumps({"taskId": "8a1c5b7e-0000-4000-8000-000000000000", "sourceArn": source_arn})
    return base64.b64encode(body.encode()).decode()


def test_cancel_a_task_of_a_source_queue_that_does_not_exist(sqs):
    with expect_error(
        "ResourceNotFoundException",
        404,
        "The resource that you specified for the SourceArn parameter doesn't exist.",
    ):
        sqs.cancel_message_move_task(TaskHandle=task_handle(f"arn:aws:sqs:us-east-1:{DEFAULT_ACCOUNT}:{unique_name('gone')}"))


def test_cancel_an_unknown_task_of_an_existing_queue(sqs):
    # G: ResourceNotFoundException (the model lists it for CancelMessageMoveTask).
    url = conftest.new_queue(sqs, "dlq")
    with expect_error("ResourceNotFoundException", 404):
        sqs.cancel_message_move_task(TaskHandle=task_handle(arn_of(sqs, url)))


@pytest.mark.parametrize("max_results", [0, 11])
def test_list_max_results_out_of_range(sqs, max_results):
    # Model (C): the upper limit is 10; G: InvalidParameterValue.
    _, _, _, dlq_arn = pair(sqs)
    with expect_error("InvalidParameterValue", 400):
        sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=max_results)


# --- the AWS CLI -----------------------------------------------------------------------------------------------


def test_cli_start_and_list_message_move_tasks(sqs, aws):
    source, dlq, _, dlq_arn = pair(sqs)
    send_bodies(sqs, source, [f"cli{i}" for i in range(4)])
    dead_letter_all(sqs, source, dlq, 4)
    started = aws(
        "start-message-move-task", "--source-arn", dlq_arn, "--max-number-of-messages-per-second", "50"
    ).json()
    assert set(started) == {"TaskHandle"} and started["TaskHandle"]
    deadline = time.monotonic() + 15
    while True:
        listed = aws("list-message-move-tasks", "--source-arn", dlq_arn, "--max-results", "10").json()
        entry = listed["Results"][0]
        if entry["Status"] != "RUNNING":
            break
        assert time.monotonic() < deadline, listed
        time.sleep(0.2)
    assert len(listed["Results"]) == 1
    assert entry["Status"] == "COMPLETED"
    assert entry["SourceArn"] == dlq_arn
    assert entry["MaxNumberOfMessagesPerSecond"] == 50
    assert entry["ApproximateNumberOfMessagesMoved"] == 4
    assert entry["ApproximateNumberOfMessagesToMove"] == 4
    assert "TaskHandle" not in entry
    assert counters(sqs, source) == (4, 0, 0)
