"""Server-side encryption of message bodies (SSE): SSE-SQS (server-owned keys, the default for a new queue)
and SSE-KMS (a KMS key of the account, or the AWS-managed `alias/aws/sqs` key).

The acceptance criterion is that no body of an encrypted queue is ever written to disk in clear: private
durable servers are stopped (killed, or stopped gracefully), and every byte of their data directory is
searched for the bodies that were sent. Plain-queue bodies are searched for too, and must be found, which
proves the search would see a body left in clear. The same data directory then serves every body back
intact. Around that: turning SSE on and off on a live queue, KMS key states (disabled, pending deletion,
missing), and in sigv4 mode who may use a key and why unsigned requests are refused.

Expected behaviour: the SQS Developer Guide ("Encryption at rest", "Key terms", "Configuring server-side
encryption", "Key management": producers need kms:GenerateDataKey and kms:Decrypt, consumers kms:Decrypt; the
AWS-managed key's policy lets every principal of the account use it; "Errors" of SendMessage /
ReceiveMessage: KMS.DisabledException, KMS.InvalidStateException, KMS.NotFoundException,
KMS.AccessDeniedException; "All requests to queues with SSE enabled must use HTTPS and Signature Version 4")
and the CreateQueue reference (KmsMasterKeyId forms, KmsDataKeyReusePeriodSeconds 60..86400, default 300).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import boto3
import botocore
import pytest
from botocore.config import Config

from conftest import (
    ACCESS_KEY,
    DEFAULT_ACCOUNT,
    NO_RETRIES,
    REGION,
    SECRET_KEY,
    SIGV4,
    _accounts_config,
    _start_sluice,
    arn_of,
    counters,
    expect_error,
    new_fifo,
    new_queue,
    receive,
    unique_name,
)
from sqs_digests import md5_of_body

sigv4_only = pytest.mark.skipif(not SIGV4, reason="authorization is only evaluated with SLUICE_AUTH_MODE=sigv4")

AWS_MANAGED_ALIAS = "alias/aws/sqs"
# Two- and three-byte UTF-8 (German, an em dash, Japanese, a check mark, Greek) and a four-byte emoji.
NON_ASCII = "Grüße aus Köln — 東京の注文 ✓ 🚀 Ωμέγα"
LARGE_BODY_BYTES = 200 * 1024


# --- clients ---------------------------------------------------------------------------------------------------


def client(endpoint: str, service: str, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY):
    return boto3.session.Session().client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=NO_RETRIES,
    )


def anonymous_client(endpoint: str):
    """An SQS client that signs nothing."""
    return boto3.session.Session().client(
        "sqs",
        endpoint_url=endpoint,
        region_name=REGION,
        config=NO_RETRIES.merge(Config(signature_version=botocore.UNSIGNED)),
    )


@pytest.fixture(scope="module")
def kms(server):
    return client(server.endpoint, "kms")


def new_key(kms, **kwargs) -> dict:
    """A fresh symmetric customer key; its KeyMetadata."""
    return kms.create_key(Description="sluice SSE test", **kwargs)["KeyMetadata"]


def alias_arn(name: str) -> str:
    return f"arn:aws:kms:{REGION}:{DEFAULT_ACCOUNT}:{name}"


# --- a private durable server ------------------------------------------------------------------------------------


class PrivateServer:
    """A Sluice process of the test's own, on durable storage in a fresh temporary data directory, which the
    test may kill, stop and start again on the same data. It is configured like the session server, so the
    root credentials of conftest work in both authentication modes."""

    def __init__(self, workdir: str):
        self.workdir = workdir
        self.data_dir = os.path.join(workdir, "data")
        self.log_path = os.path.join(workdir, "server.log")
        self.config_path = None
        if SIGV4:
            self.config_path = os.path.join(workdir, "sluice.toml")
            Path(self.config_path).write_text(_accounts_config())
        # The first start takes a free port; a restart keeps it, so clients made before it keep working.
        self.port = 0
        self.endpoint = ""
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        arguments = ["--storage", "durable", "--admin-bind", "none"]
        if self.config_path:
            arguments += ["--config", self.config_path]
        started = _start_sluice(arguments, self.data_dir, self.log_path, self.port)
        self.port, self.endpoint, self.process = started.port, started.endpoint, started.process

    def kill(self) -> None:
        """kill -9: no shutdown code runs, so only what was already on disk is left."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def terminate(self) -> None:
        """A graceful stop: SIGTERM, then the process must exit cleanly by itself."""
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"sluice did not exit within 30 s of SIGTERM:\n{self.log()}")
        assert code == 0, f"sluice exited with {code} after SIGTERM:\n{self.log()}"

    def stop(self, how: str) -> None:
        {"kill": self.kill, "terminate": self.terminate}[how]()

    def restart(self) -> None:
        assert self.process is not None and self.process.poll() is not None, "stop the server first"
        self.start()

    def client(self, service: str):
        return client(self.endpoint, service)

    def log(self) -> str:
        try:
            return Path(self.log_path).read_text(errors="replace")
        except OSError:
            return ""

    def files(self) -> dict[str, bytes]:
        """The raw bytes of every file under the data directory, at any depth."""
        found = {}
        for root, _, names in os.walk(self.data_dir):
            for name in names:
                path = os.path.join(root, name)
                found[os.path.relpath(path, self.data_dir)] = Path(path).read_bytes()
        assert found, f"nothing on disk under {self.data_dir}"
        return found


@pytest.fixture
def private_server():
    workdir = tempfile.mkdtemp(prefix="sluice-pytest-sse-")
    srv = PrivateServer(workdir)
    try:
        srv.start()
        yield srv
    finally:
        if srv.process is not None and srv.process.poll() is None:
            srv.process.kill()
            srv.process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


# --- messages and what is on disk --------------------------------------------------------------------------------


@dataclass
class Sent:
    """One message as sent: where, what, and whether its body must be sealed on disk."""

    queue: str  # a label, for failure messages
    url: str
    body: str
    token: str  # the body's distinctive ASCII prefix
    mark: str  # a distinctive run of 16+ bytes inside the body, after the token
    sealed: bool
    message_id: str
    md5: str

    def clear_traces(self) -> list[bytes]:
        """Byte strings any of which on disk would mean the body is in clear: the whole body, its token and
        its mark."""
        return [self.body.encode("utf-8"), self.token.encode("utf-8"), self.mark.encode("utf-8")]


def make_body(label: str, kind: str) -> tuple[str, str, str]:
    """A distinctive body of one of three shapes; the body, its token and its mark. The text around the mark
    is the same in every body of a shape, so only the token and the mark tell bodies apart."""
    token = f"{label}-{kind}-{uuid.uuid4().hex}"
    if kind == "large":
        # ~200 KB of random hex: every slice of it is distinctive; the mark is one from the middle.
        filler = os.urandom(LARGE_BODY_BYTES // 2).hex()
        middle = len(filler) // 2
        return f"{token} {filler}", token, filler[middle - 24: middle + 24]
    if kind == "unicode":
        # 32 random hiragana (96 bytes of UTF-8) between two copies of the shared non-ASCII text.
        mark = "".join(chr(0x3041 + int(digit, 16)) for digit in uuid.uuid4().hex)
        return f"{token} {NON_ASCII} {mark} {NON_ASCII}", token, mark
    mark = uuid.uuid4().hex
    return f"{token} order {mark} shipped to 221B Baker Street", token, mark


class Outbox:
    """Sends distinctive bodies and remembers them."""

    def __init__(self, sqs):
        self.sqs = sqs
        self.sent: list[Sent] = []

    @staticmethod
    def _fifo_args(url: str) -> dict:
        # One message group, so the FIFO order is checked on the way back; bodies are unique, so content-based
        # deduplication (set on the FIFO queues here) keeps them all.
        return {"MessageGroupId": "orders"} if url.endswith(".fifo") else {}

    def send(self, label: str, url: str, sealed: bool, kind: str = "ascii") -> Sent:
        body, token, mark = make_body(label, kind)
        response = self.sqs.send_message(QueueUrl=url, MessageBody=body, **self._fifo_args(url))
        assert response["MD5OfMessageBody"] == md5_of_body(body), response
        sent = Sent(label, url, body, token, mark, sealed, response["MessageId"], response["MD5OfMessageBody"])
        self.sent.append(sent)
        return sent

    def send_batch(self, label: str, url: str, sealed: bool, count: int = 3) -> list[Sent]:
        bodies = [make_body(label, "batch" if i % 2 == 0 else "unicode") for i in range(count)]
        entries = [
            {"Id": f"e{i}", "MessageBody": body, **self._fifo_args(url)} for i, (body, _, _) in enumerate(bodies)
        ]
        response = self.sqs.send_message_batch(QueueUrl=url, Entries=entries)
        assert not response.get("Failed"), response
        by_id = {entry["Id"]: entry for entry in response["Successful"]}
        batch = []
        for i, (body, token, mark) in enumerate(bodies):
            entry = by_id[f"e{i}"]
            assert entry["MD5OfMessageBody"] == md5_of_body(body), entry
            batch.append(Sent(label, url, body, token, mark, sealed, entry["MessageId"], entry["MD5OfMessageBody"]))
        self.sent += batch
        return batch

    def send_mix(self, label: str, url: str, sealed: bool) -> None:
        """Single sends of every shape, then a batch."""
        for kind in ("ascii", "unicode", "large"):
            self.send(label, url, sealed, kind)
        self.send_batch(label, url, sealed)


def assert_disk(srv: PrivateServer, sent: list[Sent]) -> None:
    """Every plain body is on disk whole (the search works); no trace of any sealed body is."""
    files = srv.files()

    def where(needle: bytes) -> list[str]:
        return [path for path, content in files.items() if needle in content]

    problems = []
    for message in sent:
        if message.sealed:
            for trace in message.clear_traces():
                if where(trace):
                    problems.append(
                        f"{message.queue}: {len(trace)} bytes of sealed body {message.token} in clear in {where(trace)}"
                    )
        elif not where(message.body.encode("utf-8")):
            problems.append(f"{message.queue}: plain body {message.token} not found on disk; the scan proves nothing")
    assert any(not m.sealed for m in sent), "a positive control (a plain body) is needed"
    assert not problems, "\n".join(problems) + f"\nfiles: {sorted(files)}"


def drain(sqs, url: str, count: int, deadline_s: float = 20) -> list[dict]:
    """Receives and deletes until `count` messages came back or the deadline passed; the messages, in the
    order they were received."""
    got: list[dict] = []
    deadline = time.monotonic() + deadline_s
    while len(got) < count and time.monotonic() < deadline:
        batch = receive(sqs, url, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["All"])
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        got += batch
    return got


def assert_read_back(sqs, url: str, expected: list[Sent], ordered: bool = False) -> list[dict]:
    """Everything in `expected` comes back from `url` intact under its MessageId, nothing else, each once."""
    got = drain(sqs, url, len(expected))
    label = expected[0].queue if expected else url
    assert len(got) == len(expected), f"{label}: {len(got)} of {len(expected)} messages came back"
    by_body = {m.body: m for m in expected}
    for message in got:
        assert message["Body"] in by_body, f"{label}: unexpected body {message['Body'][:80]!r}"
        sent = by_body.pop(message["Body"])
        assert message["MD5OfBody"] == md5_of_body(sent.body) == sent.md5, (label, sent.token)
        assert message["MessageId"] == sent.message_id, (label, sent.token)
    if ordered:
        assert [m["Body"] for m in got] == [s.body for s in expected], f"{label}: FIFO order broken"
    assert receive(sqs, url, WaitTimeSeconds=0) == [], f"{label}: more messages than were sent"
    return got


# --- 1. nothing in clear on disk ----------------------------------------------------------------------------------


@pytest.mark.parametrize("stop", ["kill", "terminate"])
def test_no_encrypted_body_reaches_the_disk_in_clear(private_server, stop):
    """The acceptance test. Bodies of a plain queue, an SSE-SQS queue, an SSE-KMS queue on a customer key, one
    on the AWS-managed key and an SSE-KMS FIFO queue (single sends of ASCII, non-ASCII and ~200 KB bodies, and
    a batch), plus a sealed message moved to a plain dead-letter queue. After kill -9 (only what was synced
    is left) or a graceful stop (whatever shutdown writes is there too), the data directory holds every plain
    body and no trace of any encrypted one. Restarted on that directory, the server gives every body back
    intact, the dead-letter copy included; after a final graceful stop still nothing is in clear."""
    srv = private_server
    sqs, kms = srv.client("sqs"), srv.client("kms")
    key = new_key(kms)
    alias = "alias/" + unique_name("sse")
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])

    queues = {
        "plain": (new_queue(sqs, "plain", SqsManagedSseEnabled="false"), False),
        "sse-sqs": (new_queue(sqs, "ssesqs"), True),
        "sse-kms": (new_queue(sqs, "ssekms", KmsMasterKeyId=alias, KmsDataKeyReusePeriodSeconds=60), True),
        "aws-managed": (new_queue(sqs, "awskey", KmsMasterKeyId=AWS_MANAGED_ALIAS), True),
        "kms-fifo": (new_fifo(sqs, "kmsfifo", KmsMasterKeyId=key["Arn"], ContentBasedDeduplication="true"), True),
    }
    attributes = {
        label: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        for label, (url, _) in queues.items()
    }
    assert attributes["plain"]["SqsManagedSseEnabled"] == "false" and "KmsMasterKeyId" not in attributes["plain"]
    assert attributes["sse-sqs"]["SqsManagedSseEnabled"] == "true" and "KmsMasterKeyId" not in attributes["sse-sqs"]
    assert attributes["sse-kms"]["KmsMasterKeyId"] == alias
    assert attributes["sse-kms"]["KmsDataKeyReusePeriodSeconds"] == "60"
    assert attributes["aws-managed"]["KmsMasterKeyId"] == AWS_MANAGED_ALIAS
    assert attributes["aws-managed"]["KmsDataKeyReusePeriodSeconds"] == "300"
    assert attributes["kms-fifo"]["KmsMasterKeyId"] == key["Arn"]

    outbox = Outbox(sqs)
    for label, (url, sealed) in queues.items():
        outbox.send_mix(label, url, sealed)

    # A sealed message of an SSE-KMS source (its key named by alias ARN) moves to a plain dead-letter queue
    # on its second receive.
    dlq = new_queue(sqs, "plaindlq", SqsManagedSseEnabled="false")
    redrive = json.dumps({"deadLetterTargetArn": arn_of(sqs, dlq), "maxReceiveCount": 1})
    source = new_queue(sqs, "dlqsrc", KmsMasterKeyId=alias_arn(alias), RedrivePolicy=redrive)
    dead = outbox.send("dead-letter", source, sealed=True, kind="unicode")
    first = receive(sqs, source, VisibilityTimeout=0, WaitTimeSeconds=1)
    assert [m["Body"] for m in first] == [dead.body]
    for _ in range(10):
        assert receive(sqs, source, VisibilityTimeout=0, WaitTimeSeconds=0) == []
        if counters(sqs, dlq)[0] == 1:
            break
        time.sleep(0.2)
    assert counters(sqs, dlq) == (1, 0, 0), "the message did not move to the dead-letter queue"
    assert counters(sqs, source) == (0, 0, 0)

    srv.stop(stop)
    assert_disk(srv, outbox.sent)

    srv.restart()
    sqs = srv.client("sqs")
    for label, (url, _) in queues.items():
        expected = [m for m in outbox.sent if m.url == url]
        assert_read_back(sqs, url, expected, ordered=url.endswith(".fifo"))
    # A message moved to a dead-letter queue keeps its MessageId.
    assert_read_back(sqs, dlq, [dead])

    srv.terminate()
    assert_disk(srv, outbox.sent)


# --- 2. turning SSE on and off ------------------------------------------------------------------------------------


def test_turning_sse_on_and_off_keeps_each_body_as_it_was_written(private_server):
    """SSE applies to what is sent while it is on. A body sent before SSE was turned on stays plain on disk;
    one sent while it was on stays sealed after it is turned off (SetQueueAttributes KmsMasterKeyId="" for
    SSE-KMS, SqsManagedSseEnabled=false for SSE-SQS), and every one of them reads back."""
    srv = private_server
    sqs, kms = srv.client("sqs"), srv.client("kms")
    key = new_key(kms)
    outbox = Outbox(sqs)

    toggles = {
        "kms-toggle": ({"KmsMasterKeyId": key["KeyId"]}, {"KmsMasterKeyId": ""}),
        "sqs-toggle": ({"SqsManagedSseEnabled": "true"}, {"SqsManagedSseEnabled": "false"}),
    }
    urls = {}
    for label, (turn_on, turn_off) in toggles.items():
        url = urls[label] = new_queue(sqs, label, SqsManagedSseEnabled="false")
        outbox.send(f"{label}-before", url, sealed=False)
        outbox.send(f"{label}-before", url, sealed=False, kind="large")

        sqs.set_queue_attributes(QueueUrl=url, Attributes=turn_on)
        outbox.send(f"{label}-during", url, sealed=True)
        outbox.send(f"{label}-during", url, sealed=True, kind="large")
        outbox.send_batch(f"{label}-during", url, sealed=True)

        sqs.set_queue_attributes(QueueUrl=url, Attributes=turn_off)
        now = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert now["SqsManagedSseEnabled"] == "false" and not now.get("KmsMasterKeyId"), now
        outbox.send(f"{label}-after", url, sealed=False, kind="unicode")

    srv.kill()
    assert_disk(srv, outbox.sent)

    srv.restart()
    sqs = srv.client("sqs")
    for label, url in urls.items():
        assert_read_back(sqs, url, [m for m in outbox.sent if m.url == url])


# --- 3. key states ------------------------------------------------------------------------------------------------


def kms_queue(sqs, key_id: str, prefix: str = "kms") -> str:
    return new_queue(sqs, prefix, KmsMasterKeyId=key_id)


def assert_refused(sqs, url: str, code: str, key_arn: str | None = None) -> None:
    """SendMessage, SendMessageBatch and ReceiveMessage all fail with `code` (HTTP 400, a sender fault)."""
    calls = {
        "SendMessage": lambda: sqs.send_message(QueueUrl=url, MessageBody="refused " + uuid.uuid4().hex),
        "SendMessageBatch": lambda: sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "refused a"}, {"Id": "b", "MessageBody": "refused b"}]
        ),
        "ReceiveMessage": lambda: sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0),
    }
    for name, call in calls.items():
        with expect_error(code, 400) as info:
            call()
        if key_arn is not None:
            message = info.value.response["Error"]["Message"]
            assert key_arn in message, (name, message)


def test_a_disabled_key_refuses_sends_and_receives_until_it_is_enabled(sqs, kms):
    """Disabling the key takes effect at once, even inside the data key reuse period: sends, batch sends and
    receives fail with KMS.DisabledException. The refused receives hide nothing and count as no receive;
    once the key is enabled again every message comes back intact, none lost."""
    key = new_key(kms)
    url = kms_queue(sqs, key["KeyId"], "disabled")
    outbox = Outbox(sqs)
    outbox.send_mix("disabled", url, sealed=True)  # the data key reuse period (300 s) has just begun

    kms.disable_key(KeyId=key["KeyId"])
    assert_refused(sqs, url, "KMS.DisabledException", key["Arn"])
    assert counters(sqs, url) == (len(outbox.sent), 0, 0), "a refused call changed the queue"

    kms.enable_key(KeyId=key["KeyId"])
    got = assert_read_back(sqs, url, outbox.sent)
    assert {m["Attributes"]["ApproximateReceiveCount"] for m in got} == {"1"}, "a refused receive was counted"


def test_a_key_pending_deletion_refuses_until_the_deletion_is_cancelled(sqs, kms):
    """A key scheduled for deletion refuses sends and receives with KMS.InvalidStateException; after
    CancelKeyDeletion (which leaves the key disabled) and EnableKey, the messages read back intact."""
    key = new_key(kms)
    url = kms_queue(sqs, key["Arn"], "pending")
    outbox = Outbox(sqs)
    outbox.send_mix("pending", url, sealed=True)

    kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    assert_refused(sqs, url, "KMS.InvalidStateException", key["Arn"])
    assert counters(sqs, url) == (len(outbox.sent), 0, 0)

    kms.cancel_key_deletion(KeyId=key["KeyId"])
    # Cancelled, the key is disabled: still refused, now as disabled.
    assert_refused(sqs, url, "KMS.DisabledException", key["Arn"])
    kms.enable_key(KeyId=key["KeyId"])
    assert_read_back(sqs, url, outbox.sent)


@pytest.mark.parametrize("form", ["key id", "alias name"])
def test_a_queue_naming_a_missing_key_cannot_take_messages(sqs, form):
    """CreateQueue does not check that the key exists; sends then fail with KMS.NotFoundException and
    nothing is stored."""
    missing = str(uuid.uuid4()) if form == "key id" else "alias/" + unique_name("missing")
    url = kms_queue(sqs, missing, "missing")
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["KmsMasterKeyId"])["Attributes"] == {
        "KmsMasterKeyId": missing
    }
    for call in (
        lambda: sqs.send_message(QueueUrl=url, MessageBody="nowhere to go"),
        lambda: sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "nowhere"}]),
    ):
        with expect_error("KMS.NotFoundException", 400):
            call()
    assert counters(sqs, url) == (0, 0, 0)


# --- 4. who may use the key (sigv4 only) --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def iam(server):
    return client(server.endpoint, "iam")


def user_sqs(server, iam, *statements: dict):
    """An SQS client signed by a new IAM user of the default account whose only permissions are
    `statements`; and the user's ARN."""
    name = unique_name("sse-user")
    user = iam.create_user(UserName=name)["User"]
    if statements:
        policy = {"Version": "2012-10-17", "Statement": list(statements)}
        iam.put_user_policy(UserName=name, PolicyName="sse", PolicyDocument=json.dumps(policy))
    access = iam.create_access_key(UserName=name)["AccessKey"]
    return client(server.endpoint, "sqs", access["AccessKeyId"], access["SecretAccessKey"]), user["Arn"]


def allow(actions, resource: str = "*") -> dict:
    return {"Effect": "Allow", "Action": actions, "Resource": resource}


def assert_kms_denied(call, user_arn: str, action: str, key_arn: str) -> None:
    with expect_error("KMS.AccessDeniedException", 400) as info:
        call()
    message = info.value.response["Error"]["Message"]
    expected = f"User: {user_arn} is not authorized to perform: {action} on resource: {key_arn}"
    assert message.startswith(expected), message


@sigv4_only
def test_producers_need_generate_data_key_and_decrypt_on_the_key(server, iam, sqs, kms):
    """The default key policy names the account, so the producer's IAM policy decides. With sqs:* alone a
    send is refused as KMS.AccessDeniedException naming kms:GenerateDataKey; with GenerateDataKey but no
    Decrypt it is still refused; with both, it goes through. Refused sends store nothing."""
    key = new_key(kms)
    url = kms_queue(sqs, key["KeyId"], "producers")

    sqs_only, sqs_only_arn = user_sqs(server, iam, allow("sqs:*"))
    assert_kms_denied(lambda: sqs_only.send_message(QueueUrl=url, MessageBody="no"), sqs_only_arn,
                      "kms:GenerateDataKey", key["Arn"])
    assert_kms_denied(lambda: sqs_only.send_message_batch(QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "no"}]),
                      sqs_only_arn, "kms:GenerateDataKey", key["Arn"])

    half, half_arn = user_sqs(server, iam, allow("sqs:SendMessage"), allow("kms:GenerateDataKey", key["Arn"]))
    assert_kms_denied(lambda: half.send_message(QueueUrl=url, MessageBody="no"), half_arn, "kms:Decrypt", key["Arn"])
    assert counters(sqs, url) == (0, 0, 0)

    producer, _ = user_sqs(server, iam, allow("sqs:SendMessage"),
                           allow(["kms:GenerateDataKey", "kms:Decrypt"], key["Arn"]))
    single = producer.send_message(QueueUrl=url, MessageBody="from a producer")
    batch = producer.send_message_batch(QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "batched"}])
    assert not batch.get("Failed"), batch
    bodies = sorted(m["Body"] for m in drain(sqs, url, 2))
    assert bodies == ["batched", "from a producer"], bodies
    assert single["MD5OfMessageBody"] == md5_of_body("from a producer")


@sigv4_only
def test_consumers_need_decrypt_on_the_key(server, iam, sqs, kms):
    """A consumer with sqs:ReceiveMessage but no kms:Decrypt is refused (KMS.AccessDeniedException naming
    kms:Decrypt), and the refusal hides nothing; one with kms:Decrypt on the key receives the message."""
    key = new_key(kms)
    url = kms_queue(sqs, key["Arn"], "consumers")
    sqs.send_message(QueueUrl=url, MessageBody="for consumers")

    blind, blind_arn = user_sqs(server, iam, allow(["sqs:ReceiveMessage", "sqs:DeleteMessage"]))
    assert_kms_denied(lambda: blind.receive_message(QueueUrl=url, WaitTimeSeconds=0), blind_arn,
                      "kms:Decrypt", key["Arn"])
    assert counters(sqs, url) == (1, 0, 0)

    consumer, _ = user_sqs(server, iam, allow(["sqs:ReceiveMessage", "sqs:DeleteMessage"]),
                           allow("kms:Decrypt", key["Arn"]))
    got = drain(consumer, url, 1)
    assert [m["Body"] for m in got] == ["for consumers"]
    assert got[0]["Attributes"]["ApproximateReceiveCount"] == "1"


@sigv4_only
def test_the_aws_managed_key_and_sse_sqs_need_no_kms_permissions(server, iam, sqs, kms):
    """The alias/aws/sqs key's policy lets every principal of the account use it through SQS, and SSE-SQS
    uses no KMS key at all: a user with only sqs:* sends and receives on both, while the same user is
    refused on a customer-key queue."""
    user, user_arn = user_sqs(server, iam, allow("sqs:*"))
    for url in (kms_queue(sqs, AWS_MANAGED_ALIAS, "awskey"), new_queue(sqs, "ssesqs")):
        body = f"managed {NON_ASCII} {uuid.uuid4().hex}"
        user.send_message(QueueUrl=url, MessageBody=body)
        assert [m["Body"] for m in drain(user, url, 1)] == [body]

    customer = new_key(kms)
    url = kms_queue(sqs, customer["KeyId"], "customer")
    assert_kms_denied(lambda: user.send_message(QueueUrl=url, MessageBody="no"), user_arn,
                      "kms:GenerateDataKey", customer["Arn"])


def public_queue(sqs, prefix: str, **attributes) -> str:
    """A queue whose policy lets anyone (Principal "*") send and receive."""
    name = unique_name(prefix)
    arn = f"arn:aws:sqs:{REGION}:{DEFAULT_ACCOUNT}:{name}"
    policy = {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": "*",
            "Action": ["sqs:SendMessage", "sqs:ReceiveMessage"],
            "Resource": arn,
        }],
    }
    attributes = {"Policy": json.dumps(policy), **{k: str(v) for k, v in attributes.items()}}
    return sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]


@sigv4_only
def test_unsigned_requests_to_an_encrypted_queue_are_invalid_security(server, sqs, kms):
    """SQS requires every request to a queue with SSE to be signed with Signature Version 4: an anonymous send or
    receive on an SSE-SQS or SSE-KMS queue is refused as InvalidSecurity (HTTP 403) even though the queue
    policy allows "*", and stores nothing; on a plain queue with the same policy both work."""
    anonymous = anonymous_client(server.endpoint)

    plain = public_queue(sqs, "public-plain", SqsManagedSseEnabled="false")
    anonymous.send_message(QueueUrl=plain, MessageBody="anyone may")
    assert [m["Body"] for m in receive(anonymous, plain, WaitTimeSeconds=1)] == ["anyone may"]

    key = new_key(kms)
    for url in (
        public_queue(sqs, "public-ssesqs"),
        public_queue(sqs, "public-ssekms", KmsMasterKeyId=key["KeyId"]),
        public_queue(sqs, "public-awskey", KmsMasterKeyId=AWS_MANAGED_ALIAS),
    ):
        with expect_error("InvalidSecurity", 403):
            anonymous.send_message(QueueUrl=url, MessageBody="anonymous")
        sqs.send_message(QueueUrl=url, MessageBody="signed")
        with expect_error("InvalidSecurity", 403):
            anonymous.receive_message(QueueUrl=url, WaitTimeSeconds=0)
        assert counters(sqs, url) == (1, 0, 0), url
        assert [m["Body"] for m in drain(sqs, url, 1)] == ["signed"]


# --- 5. the AWS CLI -----------------------------------------------------------------------------------------------


def test_cli_round_trip_on_an_sse_kms_queue(aws, kms):
    """The AWS CLI creates an SSE-KMS queue (key named by alias, reuse period 60 s), and sends and receives
    a non-ASCII body through it; what comes back is intact."""
    key = new_key(kms)
    alias = "alias/" + unique_name("cli-sse")
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    name = unique_name("cli-sse")
    body = f"via the CLI: {NON_ASCII} {uuid.uuid4().hex}"

    attributes = json.dumps({"KmsMasterKeyId": alias, "KmsDataKeyReusePeriodSeconds": "60"})
    url = aws("create-queue", "--queue-name", name, "--attributes", attributes).json()["QueueUrl"]
    shown = aws("get-queue-attributes", "--queue-url", url, "--attribute-names", "All").json()["Attributes"]
    assert shown["KmsMasterKeyId"] == alias
    assert shown["KmsDataKeyReusePeriodSeconds"] == "60"

    sent = aws("send-message", "--queue-url", url, "--message-body", body).json()
    assert sent["MD5OfMessageBody"] == md5_of_body(body)

    received = None
    for _ in range(5):
        received = aws("receive-message", "--queue-url", url, "--wait-time-seconds", "1").json()
        if received and received.get("Messages"):
            break
    assert received and len(received["Messages"]) == 1, received
    message = received["Messages"][0]
    assert message["MessageId"] == sent["MessageId"]
    assert message["Body"] == body
    assert message["MD5OfBody"] == md5_of_body(body)
    aws("delete-message", "--queue-url", url, "--receipt-handle", message["ReceiptHandle"])
