"""AddPermission and RemovePermission, and the Policy attribute they edit.

Source for the document's exact form: a real AddPermission result quoted in the research notes section 9
(`{"Version":"2008-10-17","Id":"<arn>/SQSDefaultPolicy","Statement":[{"Sid":...,"Effect":"Allow",
"Principal":{"AWS":"arn:aws:iam::<acct>:root"},"Action":"SQS:<action>","Resource":"<arn>"}]}`, compact, in
that key order).
"""

import json

import pytest
from botocore.exceptions import ClientError

from conftest import DEFAULT_ACCOUNT, check_error, expect_error


def policy_of(sqs, url):
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get("Attributes", {}).get("Policy")


def test_add_permission_writes_the_default_policy(sqs, queue_url, queue_name):
    arn = f"arn:aws:sqs:us-east-1:{DEFAULT_ACCOUNT}:{queue_name}"
    sqs.add_permission(QueueUrl=queue_url, Label="SendFromPartner", AWSAccountIds=["111122223333"], Actions=["SendMessage"])
    expected = (
        '{"Version":"2008-10-17","Id":"' + arn + '/SQSDefaultPolicy","Statement":[{"Sid":"SendFromPartner",'
        '"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"SQS:SendMessage",'
        '"Resource":"' + arn + '"}]}'
    )
    assert policy_of(sqs, queue_url) == expected
    # It is also part of All.
    assert sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]["Policy"] == expected


def test_add_permission_star_action(sqs, queue_url, queue_name):
    arn = f"arn:aws:sqs:us-east-1:{DEFAULT_ACCOUNT}:{queue_name}"
    sqs.add_permission(QueueUrl=queue_url, Label="L", AWSAccountIds=["512686554592"], Actions=["*"])
    assert json.loads(policy_of(sqs, queue_url)) == {
        "Version": "2008-10-17",
        "Id": f"{arn}/SQSDefaultPolicy",
        "Statement": [
            {
                "Sid": "L",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::512686554592:root"},
                "Action": "SQS:*",
                "Resource": arn,
            }
        ],
    }


def test_several_labels_principals_and_actions(sqs, queue_url, queue_name):
    arn = f"arn:aws:sqs:us-east-1:{DEFAULT_ACCOUNT}:{queue_name}"
    sqs.add_permission(QueueUrl=queue_url, Label="first", AWSAccountIds=["111122223333"], Actions=["SendMessage"])
    sqs.add_permission(
        QueueUrl=queue_url,
        Label="second",
        AWSAccountIds=["111122223333", "444455556666"],
        Actions=["ReceiveMessage", "DeleteMessage"],
    )
    policy = json.loads(policy_of(sqs, queue_url))
    assert [s["Sid"] for s in policy["Statement"]] == ["first", "second"]
    second = policy["Statement"][1]
    assert second["Principal"] == {"AWS": ["arn:aws:iam::111122223333:root", "arn:aws:iam::444455556666:root"]}
    assert second["Action"] == ["SQS:ReceiveMessage", "SQS:DeleteMessage"]
    assert second["Resource"] == arn

    sqs.remove_permission(QueueUrl=queue_url, Label="first")
    policy = json.loads(policy_of(sqs, queue_url))
    assert [s["Sid"] for s in policy["Statement"]] == ["second"]
    assert policy["Id"] == f"{arn}/SQSDefaultPolicy"


def test_remove_the_last_permission(sqs, queue_url):
    sqs.add_permission(QueueUrl=queue_url, Label="only", AWSAccountIds=["111122223333"], Actions=["SendMessage"])
    sqs.remove_permission(QueueUrl=queue_url, Label="only")
    policy = policy_of(sqs, queue_url)
    # Either the Policy attribute goes, or it stays without the statement.
    if policy is not None:
        assert all(s.get("Sid") != "only" for s in json.loads(policy).get("Statement", []))


def test_duplicate_label_is_rejected(sqs, queue_url):
    sqs.add_permission(QueueUrl=queue_url, Label="dup", AWSAccountIds=["111122223333"], Actions=["SendMessage"])
    with expect_error("InvalidParameterValue", 400):
        sqs.add_permission(QueueUrl=queue_url, Label="dup", AWSAccountIds=["111122223333"], Actions=["ReceiveMessage"])
    assert len(json.loads(policy_of(sqs, queue_url))["Statement"]) == 1


def test_remove_unknown_label_is_rejected(sqs, queue_url):
    message = "Value never-added for parameter Label is invalid. Reason: can't find label."
    with expect_error("InvalidParameterValue", 400, message):
        sqs.remove_permission(QueueUrl=queue_url, Label="never-added")
    # Also when the queue has a policy with other labels.
    sqs.add_permission(QueueUrl=queue_url, Label="other", AWSAccountIds=["111122223333"], Actions=["SendMessage"])
    with expect_error("InvalidParameterValue", 400, message):
        sqs.remove_permission(QueueUrl=queue_url, Label="never-added")
    assert len(json.loads(policy_of(sqs, queue_url))["Statement"]) == 1


def test_invalid_action_is_rejected(sqs, queue_url):
    # cloudtools/awacs#34 (real AWS): a batch action name is not grantable.
    with expect_error(
        "InvalidParameterValue",
        400,
        "Value SQS:ChangeMessageVisibilityBatch for parameter ActionName is invalid. "
        "Reason: Please refer to the appropriate WSDL for a list of valid actions.",
    ):
        sqs.add_permission(
            QueueUrl=queue_url, Label="bad", AWSAccountIds=["111122223333"], Actions=["ChangeMessageVisibilityBatch"]
        )
    assert policy_of(sqs, queue_url) is None


def test_invalid_principal_is_rejected(sqs, queue_url):
    # aws/aws-cli#7416 (real AWS): `Value [Arn] for parameter PrincipalId is invalid. Reason: Unable to
    # verify principal.`
    with expect_error(
        "InvalidParameterValue",
        400,
        "Value not-an-account for parameter PrincipalId is invalid. Reason: Unable to verify principal.",
    ):
        sqs.add_permission(QueueUrl=queue_url, Label="bad", AWSAccountIds=["not-an-account"], Actions=["SendMessage"])


def test_more_than_seven_actions_is_over_limit(sqs, queue_url):
    # AddPermission reference: at most 7 actions; OverLimit (403 in the Query model, 400 in the reference).
    actions = ["SendMessage", "ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility", "GetQueueAttributes",
               "GetQueueUrl", "SendMessage", "ReceiveMessage"]
    with pytest.raises(ClientError) as info:
        sqs.add_permission(QueueUrl=queue_url, Label="many", AWSAccountIds=["111122223333"], Actions=actions)
    error = info.value.response
    assert error["Error"]["Code"] == "OverLimit", error
    assert error["ResponseMetadata"]["HTTPStatusCode"] in (400, 403), error
    assert policy_of(sqs, queue_url) is None


def test_add_permission_keeps_the_policy_within_its_quotas(sqs, queue_url):
    # SQS policy quotas: 20 statements, 50 principals, 8,192 bytes; what AddPermission would produce is held
    # to them as a submitted policy is (OverLimit, 403).
    with expect_error("OverLimit", 403, "51 principals were found in the submitted policy, max allowed is 50"):
        sqs.add_permission(
            QueueUrl=queue_url, Label="crowd", AWSAccountIds=[f"{100000000000 + i}" for i in range(51)],
            Actions=["SendMessage"],
        )
    assert policy_of(sqs, queue_url) is None
    for i in range(20):
        sqs.add_permission(QueueUrl=queue_url, Label=f"L{i}", AWSAccountIds=["111122223333"], Actions=["SendMessage"])
    with expect_error("OverLimit", 403, "21 statements were found in the submitted policy, max allowed is 20"):
        sqs.add_permission(QueueUrl=queue_url, Label="L20", AWSAccountIds=["111122223333"], Actions=["SendMessage"])
    assert len(json.loads(policy_of(sqs, queue_url))["Statement"]) == 20


def test_add_permission_refuses_to_grow_the_policy_over_8192_bytes(sqs, queue_url):
    actions = ["SendMessage", "ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility", "GetQueueAttributes",
               "GetQueueUrl", "ListDeadLetterSourceQueues"]
    accounts = ["111122223333", "444455556666"]
    for i in range(20):
        try:
            sqs.add_permission(QueueUrl=queue_url, Label=f"{i:0>80}", AWSAccountIds=accounts, Actions=actions)
        except ClientError as error:
            check_error(error, "OverLimit", 403, "Submitted policy is over max allowed size.")
            break
    else:
        pytest.fail("twenty long statements fit in 8,192 bytes")
    assert 0 < len(policy_of(sqs, queue_url).encode()) <= 8192
