"""Authorization in sigv4 mode as a permission matrix: who may call which SQS, IAM and STS action on which
queue, with identity policies (user inline and managed, group, role, permissions boundary, session policy),
queue policies (an account, `*`, a condition), and an organization's service and resource control
policies.

Expected behaviour: the IAM User Guide's policy evaluation logic ("Determining whether a request is
allowed or denied within an account" and "Cross-account policy evaluation logic"), the AWS Organizations
User Guide on SCP and RCP evaluation, the SQS Developer Guide's "Amazon SQS API permissions: Actions and
resource reference" (a batch needs its single action's permission; StartMessageMoveTask needs
ReceiveMessage, DeleteMessage and GetQueueAttributes on the dead-letter queue besides itself and
SendMessage on the destination), and the text of AWS's AccessDenied messages ("User: <arn> is not
authorized to perform: <action> on resource: <arn> because no identity-based policy allows the <action>
action", "... with an explicit deny in a service control policy").

Each row of the matrix names a principal and a queue, and declares what it may do from the policies it is
given; each column is an API call. A cell is "allowed" when the call is not refused as AccessDenied (or
MissingAuthenticationToken when unsigned): authorization comes before the action, so a validation error or
a missing resource afterwards still means the call was authorized.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from typing import Callable

import boto3
import botocore
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import NO_RETRIES, REGION, SIGV4, running_server, unique_name

if not SIGV4:
    pytest.skip("authorization is only evaluated with SLUICE_AUTH_MODE=sigv4", allow_module_level=True)


# --- the accounts and the organization ------------------------------------------------------------------

A, B, C, D = "111111111111", "222222222222", "333333333333", "555555555555"
ROOT_KEYS = {
    A: ("AKIAMATRIXROOTA00001", "secret-a"),  # the queue owner
    B: ("AKIAMATRIXROOTB00001", "secret-b"),  # another account, outside the organization
    C: ("AKIAMATRIXROOTC00001", "secret-c"),  # an organization member under an SCP
    D: ("AKIAMATRIXROOTD00001", "secret-d"),  # an organization member whose resources are under an RCP
}
MANAGEMENT_ACCOUNT = "999999999999"

# What the service control policy on C denies, and the resource control policy on D.
SCP_DENIED = "sqs:SendMessage"
SCP = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": SCP_DENIED, "Resource": "*"},
    ],
}
RCP = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sqs:*",
            "Resource": "*",
            "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalAccount": D}},
        }
    ],
}


def _config() -> str:
    lines = ['auth = "sigv4"', ""]
    for account, (key, secret) in ROOT_KEYS.items():
        lines += [
            "[[accounts]]",
            f'id = "{account}"',
            f'access-key-id = "{key}"',
            f'secret-access-key = "{secret}"',
            "",
        ]
    lines += [
        "[organization]",
        f'management-account = "{MANAGEMENT_ACCOUNT}"',
        f'member-accounts = ["{C}", "{D}"]',
        "",
        "[[organization.policies]]",
        'type = "service-control"',
        f'targets = ["{C}"]',
        f"document = '{json.dumps(SCP, separators=(',', ':'))}'",
        "",
        "[[organization.policies]]",
        'type = "resource-control"',
        f'targets = ["{D}"]',
        f"document = '{json.dumps(RCP, separators=(',', ':'))}'",
        "",
    ]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def endpoint():
    """A server of its own, configured with the four accounts and the organization above."""
    with running_server(_config(), prefix="sluice-authz-") as srv:
        yield srv.endpoint


# --- clients and identities ------------------------------------------------------------------------------


@dataclass
class Identity:
    """A caller: its ARN (None when anonymous) and how to build its clients."""

    arn: str | None
    key: str | None = None
    secret: str | None = None
    token: str | None = None

    def client(self, endpoint: str, service: str):
        if self.key is None:
            config = NO_RETRIES.merge(Config(signature_version=botocore.UNSIGNED))
            return boto3.session.Session().client(
                service, endpoint_url=endpoint, region_name=REGION, config=config
            )
        return boto3.session.Session().client(
            service,
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id=self.key,
            aws_secret_access_key=self.secret,
            aws_session_token=self.token,
            config=NO_RETRIES,
        )


ANONYMOUS = Identity(arn=None)


def root(account: str) -> Identity:
    key, secret = ROOT_KEYS[account]
    return Identity(f"arn:aws:iam::{account}:root", key, secret)


def document(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def new_user(endpoint: str, account: str, inline: str | None = None) -> tuple[Identity, dict]:
    """A user of `account` made by its root, with an access key and optionally an inline policy."""
    iam = root(account).client(endpoint, "iam")
    user = iam.create_user(UserName=unique_name("u"))["User"]
    if inline is not None:
        iam.put_user_policy(UserName=user["UserName"], PolicyName="inline", PolicyDocument=inline)
    key = iam.create_access_key(UserName=user["UserName"])["AccessKey"]
    return Identity(user["Arn"], key["AccessKeyId"], key["SecretAccessKey"]), user


def session_of(endpoint: str, assumer: Identity, role_arn: str, **kwargs) -> Identity:
    assumed = assumer.client(endpoint, "sts").assume_role(RoleArn=role_arn, RoleSessionName="matrix", **kwargs)
    credentials = assumed["Credentials"]
    return Identity(
        assumed["AssumedRoleUser"]["Arn"],
        credentials["AccessKeyId"],
        credentials["SecretAccessKey"],
        credentials["SessionToken"],
    )


# --- the columns -----------------------------------------------------------------------------------------

SQS_ACTIONS = [
    "AddPermission",
    "CancelMessageMoveTask",
    "ChangeMessageVisibility",
    "ChangeMessageVisibilityBatch",
    "CreateQueue",
    "DeleteMessage",
    "DeleteMessageBatch",
    "DeleteQueue",
    "GetQueueAttributes",
    "GetQueueUrl",
    "ListDeadLetterSourceQueues",
    "ListMessageMoveTasks",
    "ListQueueTags",
    "ListQueues",
    "PurgeQueue",
    "ReceiveMessage",
    "RemovePermission",
    "SendMessage",
    "SendMessageBatch",
    "SetQueueAttributes",
    "StartMessageMoveTask",
    "TagQueue",
    "UntagQueue",
]
OTHER_ACTIONS = ["iam:CreateUser", "iam:GetUser", "iam:ListUsers", "sts:GetCallerIdentity", "sts:AssumeRole"]

# The permissions each SQS call needs: its own action, except for these.
NEEDS = {action: {f"sqs:{action}"} for action in SQS_ACTIONS}
NEEDS["SendMessageBatch"] = {"sqs:SendMessage"}
NEEDS["DeleteMessageBatch"] = {"sqs:DeleteMessage"}
NEEDS["ChangeMessageVisibilityBatch"] = {"sqs:ChangeMessageVisibility"}
# On the dead-letter queue, plus sqs:SendMessage on the queue its messages go back to (the queue that feeds
# it, of the same owner, where every row's identity policies grant the same as on the queue under test).
NEEDS["StartMessageMoveTask"] = {
    "sqs:StartMessageMoveTask",
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:SendMessage",
}
for _other in OTHER_ACTIONS:
    NEEDS[_other] = {_other}

ALL_SQS = set().union(*(NEEDS[a] for a in SQS_ACTIONS))

# Checked against the caller's own account rather than the queue under test.
IN_CALLERS_ACCOUNT = {"CreateQueue", "ListQueues"}

# Authorization is checked in this order of columns; the four that change or remove the queue come last.
LAST = ["AddPermission", "RemovePermission", "PurgeQueue", "DeleteQueue"]
COLUMNS = [a for a in SQS_ACTIONS if a not in LAST and a != "CancelMessageMoveTask"]
# Cancel right after Start, so a running task's source is the queue under test.
COLUMNS.insert(COLUMNS.index("StartMessageMoveTask") + 1, "CancelMessageMoveTask")
COLUMNS += OTHER_ACTIONS + LAST
assert sorted(COLUMNS) == sorted(SQS_ACTIONS + OTHER_ACTIONS) and COLUMNS[-1] == "DeleteQueue"

DENIALS = {"AccessDenied", "AccessDeniedException", "MissingAuthenticationToken"}
# Refusals of the signature rather than of the action: never what an allowed cell may answer either.
AUTHENTICATION_FAILURES = {"InvalidClientTokenId", "SignatureDoesNotMatch", "IncompleteSignature", "ExpiredToken"}


@dataclass
class Target:
    """The queue under test (a dead-letter queue of `source`) and what a call on it needs."""

    owner: str
    name: str
    url: str
    arn: str
    receipt: str
    assumable: str


def task_handle(source_arn: str) -> str:
    # A move task's handle, as SQS issues it: base64 of a JSON object naming the task and its source.
    body = json.dumps({"taskId": str(uuid.uuid4()), "sourceArn": source_arn})
    return base64.b64encode(body.encode()).decode()


def call(action: str, clients: dict, t: Target):
    sqs, iam, sts = clients["sqs"], clients["iam"], clients["sts"]
    receipt_entry = {"Id": "e1", "ReceiptHandle": t.receipt}
    calls: dict[str, Callable[[], object]] = {
        "AddPermission": lambda: sqs.add_permission(
            QueueUrl=t.url, Label="matrix", AWSAccountIds=[t.owner], Actions=["GetQueueAttributes"]
        ),
        "CancelMessageMoveTask": lambda: sqs.cancel_message_move_task(TaskHandle=task_handle(t.arn)),
        "ChangeMessageVisibility": lambda: sqs.change_message_visibility(
            QueueUrl=t.url, ReceiptHandle=t.receipt, VisibilityTimeout=600
        ),
        "ChangeMessageVisibilityBatch": lambda: sqs.change_message_visibility_batch(
            QueueUrl=t.url, Entries=[{**receipt_entry, "VisibilityTimeout": 600}]
        ),
        "CreateQueue": lambda: sqs.create_queue(QueueName=unique_name("made")),
        "DeleteMessage": lambda: sqs.delete_message(QueueUrl=t.url, ReceiptHandle=t.receipt),
        "DeleteMessageBatch": lambda: sqs.delete_message_batch(QueueUrl=t.url, Entries=[receipt_entry]),
        "DeleteQueue": lambda: sqs.delete_queue(QueueUrl=t.url),
        "GetQueueAttributes": lambda: sqs.get_queue_attributes(QueueUrl=t.url, AttributeNames=["All"]),
        "GetQueueUrl": lambda: sqs.get_queue_url(QueueName=t.name, QueueOwnerAWSAccountId=t.owner),
        "ListDeadLetterSourceQueues": lambda: sqs.list_dead_letter_source_queues(QueueUrl=t.url),
        "ListMessageMoveTasks": lambda: sqs.list_message_move_tasks(SourceArn=t.arn),
        "ListQueueTags": lambda: sqs.list_queue_tags(QueueUrl=t.url),
        "ListQueues": lambda: sqs.list_queues(),
        "PurgeQueue": lambda: sqs.purge_queue(QueueUrl=t.url),
        "ReceiveMessage": lambda: sqs.receive_message(QueueUrl=t.url, MaxNumberOfMessages=1, WaitTimeSeconds=0),
        "RemovePermission": lambda: sqs.remove_permission(QueueUrl=t.url, Label="matrix"),
        "SendMessage": lambda: sqs.send_message(QueueUrl=t.url, MessageBody="matrix"),
        "SendMessageBatch": lambda: sqs.send_message_batch(
            QueueUrl=t.url, Entries=[{"Id": "e1", "MessageBody": "matrix"}]
        ),
        "SetQueueAttributes": lambda: sqs.set_queue_attributes(QueueUrl=t.url, Attributes={"VisibilityTimeout": "45"}),
        "StartMessageMoveTask": lambda: sqs.start_message_move_task(SourceArn=t.arn),
        "TagQueue": lambda: sqs.tag_queue(QueueUrl=t.url, Tags={"extra": "1"}),
        "UntagQueue": lambda: sqs.untag_queue(QueueUrl=t.url, TagKeys=["extra"]),
        "iam:CreateUser": lambda: iam.create_user(UserName=unique_name("made")),
        "iam:GetUser": lambda: iam.get_user(UserName=unique_name("nobody")),
        "iam:ListUsers": lambda: iam.list_users(),
        "sts:GetCallerIdentity": lambda: sts.get_caller_identity(),
        "sts:AssumeRole": lambda: sts.assume_role(RoleArn=t.assumable, RoleSessionName="matrix"),
    }
    return calls[action]()


# --- the rows --------------------------------------------------------------------------------------------


@dataclass
class Row:
    """A principal acting on a fresh queue of `owner`, and what its policies let it do.

    `on_queue`: the `sqs:` permissions it holds on the queue under test; `in_own_account`: those it holds in
    its own account (for CreateQueue and ListQueues); `others`: the IAM and STS columns it may call.
    """

    name: str
    owner: str
    caller: Callable[[dict], Identity]
    on_queue: set
    in_own_account: set
    others: set
    queue_policy: Callable[[str], dict] | None = None
    # Columns whose denial message must end with this text.
    reason: dict = field(default_factory=dict)

    def granted(self, action: str) -> set:
        """The `sqs:` permissions that count for `action`: those where it is checked."""
        return self.in_own_account if action in IN_CALLERS_ACCOUNT else self.on_queue

    def allowed(self) -> set:
        """The columns this row may call: an SQS call when it holds all the permissions the call needs."""
        return {a for a in SQS_ACTIONS if NEEDS[a] <= self.granted(a)} | (self.others & set(OTHER_ACTIONS))


def queue_policy(principal, actions, **extra):
    def make(arn: str) -> dict:
        return {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": principal, "Action": actions, "Resource": arn, **extra}
            ],
        }

    return make


# The actions the rows' policies name, used both to write the policies and to derive the expectations.
GROUP_ACTIONS = ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueUrl", "iam:GetUser"]
BOUNDARY_ACTIONS = ["sqs:SendMessage", "sqs:GetQueueUrl"]
SESSION_ACTIONS = ["sqs:ReceiveMessage", "sqs:DeleteMessage"]
CROSS_ACCOUNT_ACTIONS = [
    "sqs:SendMessage",
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
]
PUBLIC_ACTIONS = ["sqs:SendMessage"]
CALLER_IDENTITY = {"sts:GetCallerIdentity"}
IAM_ACTIONS = {"iam:CreateUser", "iam:GetUser", "iam:ListUsers"}


def sqs_only(actions) -> set:
    return {a for a in actions if a.startswith("sqs:")}


ROWS = [
    Row(
        "1 owner root",
        A,
        lambda p: root(A),
        on_queue=ALL_SQS,
        in_own_account=ALL_SQS,
        # Roles may not be assumed by a root.
        others=IAM_ACTIONS | CALLER_IDENTITY,
    ),
    Row(
        "2 A user, sqs:* on A's queues and AssumeRole",
        A,
        lambda p: p["a_sqs_user"],
        on_queue=ALL_SQS,
        in_own_account=ALL_SQS,
        others=CALLER_IDENTITY | {"sts:AssumeRole"},
    ),
    Row(
        "3 A user without policies",
        A,
        lambda p: p["a_bare_user"],
        on_queue=set(),
        in_own_account=set(),
        others=CALLER_IDENTITY,
        reason={"SendMessage": "because no identity-based policy allows the sqs:SendMessage action"},
    ),
    Row(
        "4 A user in a group with a managed policy",
        A,
        lambda p: p["a_group_user"],
        on_queue=sqs_only(GROUP_ACTIONS),
        in_own_account=sqs_only(GROUP_ACTIONS),
        others=CALLER_IDENTITY | (set(GROUP_ACTIONS) & IAM_ACTIONS),
    ),
    Row(
        "5 A user allowed * within a permissions boundary",
        A,
        lambda p: p["a_bounded_user"],
        on_queue=sqs_only(BOUNDARY_ACTIONS),
        in_own_account=sqs_only(BOUNDARY_ACTIONS),
        others=CALLER_IDENTITY,
    ),
    Row(
        "6 A role session",
        A,
        lambda p: p["a_worker_session"],
        on_queue=ALL_SQS,
        in_own_account=ALL_SQS,
        others=CALLER_IDENTITY | {"iam:GetUser"},
    ),
    Row(
        "7 A role session with a session policy",
        A,
        lambda p: p["a_narrow_session"],
        on_queue=sqs_only(SESSION_ACTIONS),
        in_own_account=sqs_only(SESSION_ACTIONS),
        others=CALLER_IDENTITY,
    ),
    Row(
        "8 B user on A's queue without a queue policy",
        A,
        lambda p: p["b_user"],
        on_queue=set(),
        in_own_account=ALL_SQS,
        others=CALLER_IDENTITY,
    ),
    Row(
        "9 B user on A's queue whose policy names B",
        A,
        lambda p: p["b_user"],
        queue_policy=queue_policy({"AWS": f"arn:aws:iam::{B}:root"}, CROSS_ACCOUNT_ACTIONS),
        on_queue=set(CROSS_ACCOUNT_ACTIONS),
        in_own_account=ALL_SQS,
        others=CALLER_IDENTITY,
    ),
    Row(
        "10 C user allowed * under an SCP, on C's queue",
        C,
        lambda p: p["c_user"],
        on_queue=ALL_SQS - {SCP_DENIED},
        in_own_account=ALL_SQS - {SCP_DENIED},
        others=CALLER_IDENTITY | IAM_ACTIONS,
        reason={"SendMessage": "with an explicit deny in a service control policy"},
    ),
    Row(
        "11 B user on D's queue whose policy names B, under an RCP",
        D,
        lambda p: p["b_user"],
        queue_policy=queue_policy({"AWS": B}, "sqs:*"),
        on_queue=set(),
        in_own_account=ALL_SQS,
        others=CALLER_IDENTITY,
        reason={"SendMessage": "with an explicit deny in a resource control policy"},
    ),
    Row(
        "12 anonymous on A's queue whose policy allows * to send",
        A,
        lambda p: ANONYMOUS,
        queue_policy=queue_policy("*", PUBLIC_ACTIONS),
        on_queue=set(PUBLIC_ACTIONS),
        in_own_account=set(),
        others=set(),
    ),
]


@pytest.fixture(scope="module")
def principals(endpoint) -> dict:
    """The users and role sessions of the rows, made through the IAM API as each account's root."""
    a_iam = root(A).client(endpoint, "iam")
    assumable = a_iam.create_role(
        RoleName="assumable",
        AssumeRolePolicyDocument=document(
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"}, "Action": "sts:AssumeRole"}
        ),
    )["Role"]
    p: dict = {"assumable": assumable["Arn"]}

    p["a_sqs_user"], _ = new_user(
        endpoint,
        A,
        document(allow("sqs:*", f"arn:aws:sqs:*:{A}:*"), allow("sts:AssumeRole", assumable["Arn"])),
    )
    p["a_bare_user"], _ = new_user(endpoint, A)

    p["a_group_user"], user = new_user(endpoint, A)
    group = a_iam.create_group(GroupName=unique_name("g"))["Group"]
    managed = a_iam.create_policy(PolicyName=unique_name("p"), PolicyDocument=document(allow(GROUP_ACTIONS)))
    a_iam.attach_group_policy(GroupName=group["GroupName"], PolicyArn=managed["Policy"]["Arn"])
    a_iam.add_user_to_group(GroupName=group["GroupName"], UserName=user["UserName"])

    p["a_bounded_user"], user = new_user(endpoint, A, document(allow("*")))
    boundary = a_iam.create_policy(PolicyName=unique_name("b"), PolicyDocument=document(allow(BOUNDARY_ACTIONS)))
    a_iam.put_user_permissions_boundary(UserName=user["UserName"], PermissionsBoundary=boundary["Policy"]["Arn"])

    worker_arn = f"arn:aws:iam::{A}:role/worker"
    assumer, user = new_user(endpoint, A, document(allow("sts:AssumeRole", worker_arn)))
    a_iam.create_role(
        RoleName="worker",
        AssumeRolePolicyDocument=document(
            {"Effect": "Allow", "Principal": {"AWS": user["Arn"]}, "Action": "sts:AssumeRole"}
        ),
    )
    a_iam.put_role_policy(RoleName="worker", PolicyName="work", PolicyDocument=document(allow(["sqs:*", "iam:GetUser"])))
    p["a_worker_session"] = session_of(endpoint, assumer, worker_arn)
    p["a_narrow_session"] = session_of(endpoint, assumer, worker_arn, Policy=document(allow(SESSION_ACTIONS)))

    p["b_user"], _ = new_user(endpoint, B, document(allow("sqs:*"), allow("sts:AssumeRole")))
    p["c_user"], _ = new_user(endpoint, C, document(allow("*")))
    return p


def fresh_queue(endpoint: str, owner: str, policy: Callable[[str], dict] | None, assumable: str) -> Target:
    """A queue of `owner`, tagged, with `policy`, the dead-letter queue of another queue of `owner`."""
    sqs = root(owner).client(endpoint, "sqs")
    name = unique_name("dlq")
    arn = f"arn:aws:sqs:{REGION}:{owner}:{name}"
    attributes = {"Policy": json.dumps(policy(arn))} if policy else {}
    url = sqs.create_queue(QueueName=name, Attributes=attributes, tags={"team": "matrix"})["QueueUrl"]
    redrive = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": "5"})
    sqs.create_queue(QueueName=unique_name("src"), Attributes={"RedrivePolicy": redrive})
    receipt = "not-a-receipt-handle"
    if owner != C:  # C's own principals may not send (the SCP), so its queue gets no message.
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(3)])
        message = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=600)["Messages"][0]
        receipt = message["ReceiptHandle"]
    return Target(owner, name, url, arn, receipt, assumable)


def outcome(error: ClientError | None) -> tuple:
    if error is None:
        return ("ok",)
    response = error.response
    return (
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"].get("Code"),
        response["Error"].get("Message", ""),
    )


def check_cell(row: Row, caller: Identity, action: str, allowed: bool, got: tuple) -> str | None:
    """What is wrong with one cell, or None."""
    code = got[1] if len(got) > 1 else None
    if allowed:
        if code in DENIALS or code in AUTHENTICATION_FAILURES:
            return "refused"
        return None
    if caller.arn is None:
        if got[:2] != (403, "MissingAuthenticationToken"):
            return "not 403 MissingAuthenticationToken"
        return None
    if got[:2] != (403, "AccessDenied"):
        return "not 403 AccessDenied"
    message = got[2]
    if action == "sts:AssumeRole" and caller.arn.endswith(":root"):
        # AWS refuses a root's AssumeRole with this message.
        prefixes = [f"User: {caller.arn} is not authorized to perform: sts:AssumeRole", "Roles may not be assumed by root accounts"]
    else:
        missing = (NEEDS[action] - row.granted(action)) or NEEDS[action]
        prefixes = [f"User: {caller.arn} is not authorized to perform: {needed} " for needed in sorted(missing)]
    if not any(message.startswith(prefix) for prefix in prefixes):
        return f"message should start with one of {prefixes}"
    if action in row.reason and not message.endswith(row.reason[action]):
        return f"message should end with {row.reason[action]!r}"
    return None


def test_permission_matrix(endpoint, principals):
    mismatches = []
    for row in ROWS:
        caller = row.caller(principals)
        try:
            target = fresh_queue(endpoint, row.owner, row.queue_policy, principals["assumable"])
        except ClientError as e:
            # The owner's root could not set up its own queue: no cell of this row can be checked.
            mismatches.append(f"[{row.name}] setup by the owner's root failed: {outcome(e)}")
            continue
        clients = {service: caller.client(endpoint, service) for service in ("sqs", "iam", "sts")}
        expected = row.allowed()
        for action in COLUMNS:
            try:
                call(action, clients, target)
                got = outcome(None)
            except ClientError as e:
                got = outcome(e)
            problem = check_cell(row, caller, action, action in expected, got)
            if problem:
                state = "allowed" if action in expected else "denied"
                mismatches.append(f"[{row.name}] {action}: expected {state} ({problem}), got {got}")
    assert not mismatches, f"{len(mismatches)} mismatching cells:\n" + "\n".join(mismatches)


# --- focused tests ---------------------------------------------------------------------------------------


def refusal(call_it) -> tuple:
    try:
        call_it()
    except ClientError as e:
        return outcome(e)[:2]
    return ("ok",)


def test_add_permission_grants_and_remove_permission_takes_back(endpoint, principals):
    owner = root(A).client(endpoint, "sqs")
    url = owner.create_queue(QueueName=unique_name("perm"))["QueueUrl"]
    owner.send_message(QueueUrl=url, MessageBody="for the owner")
    b = principals["b_user"].client(endpoint, "sqs")
    send = lambda: b.send_message(QueueUrl=url, MessageBody="from B")  # noqa: E731
    receive = lambda: b.receive_message(QueueUrl=url, WaitTimeSeconds=0)  # noqa: E731

    assert refusal(send) == (403, "AccessDenied")
    owner.add_permission(QueueUrl=url, Label="partner", AWSAccountIds=[B], Actions=["SendMessage"])
    assert refusal(send) == ("ok",)
    assert refusal(receive) == (403, "AccessDenied"), "only SendMessage was granted"
    owner.remove_permission(QueueUrl=url, Label="partner")
    assert refusal(send) == (403, "AccessDenied")


def test_a_source_ip_condition_in_the_queue_policy(endpoint, principals):
    owner = root(A).client(endpoint, "sqs")
    b = principals["b_user"].client(endpoint, "sqs")
    for network, expected in (("127.0.0.0/8", ("ok",)), ("10.0.0.0/8", (403, "AccessDenied"))):
        name = unique_name("ip")
        arn = f"arn:aws:sqs:{REGION}:{A}:{name}"
        policy = queue_policy(
            {"AWS": B}, "sqs:SendMessage", Condition={"IpAddress": {"aws:SourceIp": network}}
        )(arn)
        url = owner.create_queue(QueueName=name, Attributes={"Policy": json.dumps(policy)})["QueueUrl"]
        assert refusal(lambda: b.send_message(QueueUrl=url, MessageBody="from B")) == expected, network


def test_a_kms_key_policy_decides_as_kms_decides(endpoint):
    """KMS key policies are the gate (KMS Developer Guide, "Key policies"): a key policy naming the
    account hands the decision to the account's IAM policies; one that names only a user lets that
    user in without an IAM policy and keeps everyone else out, the account's root included; another
    account needs both the key policy and its own IAM policy."""
    kms = root(A).client(endpoint, "kms")
    with_iam, _ = new_user(endpoint, A, document(allow("kms:*")))
    without_iam, bob = new_user(endpoint, A)
    outsider, _ = new_user(endpoint, B, document(allow("kms:*")))

    def encrypt(who: Identity, key: str):
        return lambda: who.client(endpoint, "kms").encrypt(KeyId=key, Plaintext=b"p")

    delegating = kms.create_key()["KeyMetadata"]["Arn"]
    assert refusal(encrypt(root(A), delegating)) == ("ok",)
    assert refusal(encrypt(with_iam, delegating)) == ("ok",)
    assert refusal(encrypt(without_iam, delegating)) == (400, "AccessDeniedException")
    assert refusal(encrypt(outsider, delegating)) == (400, "AccessDeniedException")

    only_bob = kms.create_key(
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"AWS": bob["Arn"]}, "Action": "kms:*", "Resource": "*"},
                    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{B}:root"}, "Action": "kms:Encrypt", "Resource": "*"},
                ],
            }
        ),
        BypassPolicyLockoutSafetyCheck=True,
    )["KeyMetadata"]["Arn"]
    assert refusal(encrypt(without_iam, only_bob)) == ("ok",)
    assert refusal(encrypt(with_iam, only_bob)) == (400, "AccessDeniedException")
    assert refusal(encrypt(root(A), only_bob)) == (400, "AccessDeniedException")
    assert refusal(encrypt(outsider, only_bob)) == ("ok",)
    try:
        with_iam.client(endpoint, "kms").encrypt(KeyId=only_bob, Plaintext=b"p")
    except ClientError as e:
        message = e.response["Error"]["Message"]
        assert message.startswith(f"User: {with_iam.arn} is not authorized to perform: kms:Encrypt on resource: {only_bob}"), message
