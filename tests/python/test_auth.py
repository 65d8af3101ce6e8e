"""Identities and authentication through boto3 and the AWS CLI: IAM users, keys and roles made with the IAM
API at Sluice's endpoint, STS sessions, and (with SLUICE_AUTH_MODE=sigv4) requests verified as AWS
verifies them.

Expected behaviour: the IAM and STS API references and service models (error codes and their wording,
id prefixes), and AWS's SigV4 documentation (the errors of a wrong secret, an unknown key, a missing
session token).
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
import urllib.error
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError

from conftest import (
    ACCESS_KEY,
    DEFAULT_ACCOUNT,
    EXPECTED_PROTOCOL,
    NO_RETRIES,
    REGION,
    SECRET_KEY,
    SIGV4,
    _aws_executable,
    receive,
    unique_name,
)

sigv4_only = pytest.mark.skipif(not SIGV4, reason="needs SLUICE_AUTH_MODE=sigv4: with authentication off every key works")


def client(server, service: str, key: str = ACCESS_KEY, secret: str = SECRET_KEY, token: str | None = None):
    return boto3.session.Session().client(
        service,
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=NO_RETRIES,
    )


@pytest.fixture(scope="module")
def iam(server):
    return client(server, "iam")


@pytest.fixture(scope="module")
def sts(server):
    return client(server, "sts")


def error_of(info) -> tuple[int, str, str]:
    response = info.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"]["Message"]


# These tests are about who signs; what each caller may do is test_authorization's subject, so the
# identities made here may do anything.
ALLOW_EVERYTHING = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


def new_user_with_key(iam) -> tuple[dict, dict]:
    user = iam.create_user(UserName=unique_name("user"))["User"]
    iam.put_user_policy(UserName=user["UserName"], PolicyName="everything", PolicyDocument=ALLOW_EVERYTHING)
    key = iam.create_access_key(UserName=user["UserName"])["AccessKey"]
    return user, key


def test_the_iam_api_manages_users_and_keys(iam):
    name = unique_name("user")
    user = iam.create_user(UserName=name, Path="/team/")["User"]
    assert user["UserName"] == name
    assert user["Path"] == "/team/"
    assert user["UserId"].startswith("AIDA") and len(user["UserId"]) == 21
    assert user["Arn"] == f"arn:aws:iam::{DEFAULT_ACCOUNT}:user/team/{name}"
    assert iam.get_user(UserName=name)["User"]["UserId"] == user["UserId"]
    assert name in [u["UserName"] for u in iam.list_users(PathPrefix="/team/")["Users"]]

    key = iam.create_access_key(UserName=name)["AccessKey"]
    assert key["AccessKeyId"].startswith("AKIA") and len(key["AccessKeyId"]) == 20
    assert len(key["SecretAccessKey"]) == 40
    assert key["Status"] == "Active"
    listed = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in listed] == [key["AccessKeyId"]]
    # The secret is returned once, when the key is made.
    assert "SecretAccessKey" not in listed[0]

    iam.create_access_key(UserName=name)
    with pytest.raises(ClientError) as info:
        iam.create_access_key(UserName=name)
    status, code, _ = error_of(info)
    assert (status, code) == (409, "LimitExceeded")

    with pytest.raises(ClientError) as info:
        iam.create_user(UserName=name.upper())
    status, code, message = error_of(info)
    assert (status, code) == (409, "EntityAlreadyExists"), "user names are unique whatever their case"
    with pytest.raises(ClientError) as info:
        iam.get_user(UserName=unique_name("nobody"))
    status, code, message = error_of(info)
    assert (status, code) == (404, "NoSuchEntity")
    assert message.startswith("The user with name ") and message.endswith(" cannot be found.")
    with pytest.raises(ClientError) as info:
        iam.delete_user(UserName=name)
    assert error_of(info)[1] == "DeleteConflict", "a user with keys cannot be deleted"
    for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=name, AccessKeyId=k["AccessKeyId"])
    iam.delete_user(UserName=name)


def test_policies_are_validated_when_written(iam):
    name = unique_name("user")
    iam.create_user(UserName=name)
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}
    iam.put_user_policy(UserName=name, PolicyName="queues", PolicyDocument=json.dumps(document))
    stored = iam.get_user_policy(UserName=name, PolicyName="queues")
    assert stored["PolicyDocument"] == document, "boto3 decodes the URL-encoded document IAM returns"
    assert iam.list_user_policies(UserName=name)["PolicyNames"] == ["queues"]
    with pytest.raises(ClientError) as info:
        iam.put_user_policy(UserName=name, PolicyName="bad", PolicyDocument='{"Statement": "nope"}')
    assert error_of(info)[:2] == (400, "MalformedPolicyDocument")

    policy = iam.create_policy(PolicyName=unique_name("p"), PolicyDocument=json.dumps(document))["Policy"]
    assert policy["Arn"].startswith(f"arn:aws:iam::{DEFAULT_ACCOUNT}:policy/")
    assert policy["PolicyId"].startswith("ANPA")
    iam.attach_user_policy(UserName=name, PolicyArn=policy["Arn"])
    version = iam.get_policy_version(PolicyArn=policy["Arn"], VersionId="v1")["PolicyVersion"]
    assert version["Document"] == document
    group = iam.create_group(GroupName=unique_name("g"))["Group"]
    assert group["GroupId"].startswith("AGPA")
    iam.add_user_to_group(GroupName=group["GroupName"], UserName=name)
    groups = iam.list_groups_for_user(UserName=name)["Groups"]
    assert [g["GroupName"] for g in groups] == [group["GroupName"]]


def test_caller_identity_names_root_and_users(server, sts, iam):
    identity = sts.get_caller_identity()
    assert identity["Account"] == DEFAULT_ACCOUNT
    assert identity["Arn"] == f"arn:aws:iam::{DEFAULT_ACCOUNT}:root"
    user, key = new_user_with_key(iam)
    as_user = client(server, "sts", key["AccessKeyId"], key["SecretAccessKey"]).get_caller_identity()
    assert as_user["UserId"] == user["UserId"]
    assert as_user["Arn"] == user["Arn"]


def test_a_user_made_with_the_cli_sends_and_receives_with_its_new_key(server, make_client):
    env = {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_PAGER": "",
        "PATH": "/usr/bin:/bin",
    }

    def aws(*args):
        command = [_aws_executable(), "--endpoint-url", server.endpoint, "--region", REGION, "--output", "json", *args]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else None

    name = unique_name("cli")
    user = aws("iam", "create-user", "--user-name", name)["User"]
    aws("iam", "put-user-policy", "--user-name", name, "--policy-name", "everything", "--policy-document", ALLOW_EVERYTHING)
    key = aws("iam", "create-access-key", "--user-name", name)["AccessKey"]
    sqs = client(server, "sqs", key["AccessKeyId"], key["SecretAccessKey"])
    url = sqs.create_queue(QueueName=unique_name("cliq"))["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="from a new user")
    messages = receive(sqs, url, AttributeNames=["SenderId"], WaitTimeSeconds=1)
    assert messages[0]["Body"] == "from a new user"
    if SIGV4:
        assert messages[0]["Attributes"]["SenderId"] == user["UserId"]


@sigv4_only
def test_a_wrong_secret_an_unknown_key_and_a_missing_token_are_refused(server, iam):
    _, key = new_user_with_key(iam)
    with pytest.raises(ClientError) as info:
        client(server, "sqs", key["AccessKeyId"], "not-the-secret").list_queues()
    status, code, message = error_of(info)
    assert (status, code) == (403, "SignatureDoesNotMatch")
    assert message.startswith("The request signature we calculated does not match the signature you provided.")
    with pytest.raises(ClientError) as info:
        client(server, "sqs", "AKIA" + "Z" * 16, key["SecretAccessKey"]).list_queues()
    assert error_of(info) == (403, "InvalidClientTokenId", "The security token included in the request is invalid.")
    with pytest.raises(ClientError) as info:
        client(server, "sts", "AKIA" + "Z" * 16, key["SecretAccessKey"]).get_caller_identity()
    assert error_of(info)[:2] == (403, "InvalidClientTokenId")


@sigv4_only
def test_deactivated_and_deleted_keys_are_refused(server, iam):
    user, key = new_user_with_key(iam)
    sqs = client(server, "sqs", key["AccessKeyId"], key["SecretAccessKey"])
    sqs.list_queues()
    iam.update_access_key(UserName=user["UserName"], AccessKeyId=key["AccessKeyId"], Status="Inactive")
    with pytest.raises(ClientError) as info:
        sqs.list_queues()
    assert error_of(info)[:2] == (403, "InvalidClientTokenId")
    iam.update_access_key(UserName=user["UserName"], AccessKeyId=key["AccessKeyId"], Status="Active")
    sqs.list_queues()
    iam.delete_access_key(UserName=user["UserName"], AccessKeyId=key["AccessKeyId"])
    with pytest.raises(ClientError) as info:
        sqs.list_queues()
    assert error_of(info)[:2] == (403, "InvalidClientTokenId")


def trust_policy(principal: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}],
        }
    )


def test_assumed_role_credentials_work_with_their_session_token(server, iam, sts):
    role = iam.create_role(
        RoleName=unique_name("role"), AssumeRolePolicyDocument=trust_policy(f"arn:aws:iam::{DEFAULT_ACCOUNT}:root")
    )["Role"]
    assert role["RoleId"].startswith("AROA")
    iam.put_role_policy(RoleName=role["RoleName"], PolicyName="everything", PolicyDocument=ALLOW_EVERYTHING)
    assert iam.get_role(RoleName=role["RoleName"])["Role"]["AssumeRolePolicyDocument"]["Statement"][0]["Action"] == "sts:AssumeRole"
    user, key = new_user_with_key(iam)
    as_user = client(server, "sts", key["AccessKeyId"], key["SecretAccessKey"])
    assumed = as_user.assume_role(RoleArn=role["Arn"], RoleSessionName="pytest", DurationSeconds=900)
    credentials = assumed["Credentials"]
    assert credentials["AccessKeyId"].startswith("ASIA")
    assert assumed["AssumedRoleUser"]["AssumedRoleId"] == f"{role['RoleId']}:pytest"
    session = client(server, "sqs", credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"])
    url = session.create_queue(QueueName=unique_name("sess"))["QueueUrl"]
    session.send_message(QueueUrl=url, MessageBody="by a role")
    messages = receive(session, url, AttributeNames=["SenderId"], WaitTimeSeconds=1)
    assert messages[0]["Body"] == "by a role"
    identity = client(
        server, "sts", credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"]
    ).get_caller_identity()
    assert identity["Arn"] == f"arn:aws:sts::{DEFAULT_ACCOUNT}:assumed-role/{role['RoleName']}/pytest"
    if SIGV4:
        assert messages[0]["Attributes"]["SenderId"] == f"{role['RoleId']}:pytest"
        with pytest.raises(ClientError) as info:
            client(server, "sqs", credentials["AccessKeyId"], credentials["SecretAccessKey"]).list_queues()
        assert error_of(info)[:2] == (403, "InvalidClientTokenId")


@sigv4_only
def test_cross_account_assume_role_honours_the_trust_policy(server, iam):
    # Account 111111111111 (configured with root key 111111111111) trusts the default account.
    other_iam = client(server, "iam", "111111111111", SECRET_KEY)
    trusting = other_iam.create_role(RoleName=unique_name("trusting"), AssumeRolePolicyDocument=trust_policy(DEFAULT_ACCOUNT))["Role"]
    other_iam.put_role_policy(RoleName=trusting["RoleName"], PolicyName="everything", PolicyDocument=ALLOW_EVERYTHING)
    closed = other_iam.create_role(
        RoleName=unique_name("closed"), AssumeRolePolicyDocument=trust_policy("arn:aws:iam::111111111111:root")
    )["Role"]
    _, key = new_user_with_key(iam)
    as_user = client(server, "sts", key["AccessKeyId"], key["SecretAccessKey"])
    credentials = as_user.assume_role(RoleArn=trusting["Arn"], RoleSessionName="visit")["Credentials"]
    session = client(server, "sqs", credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"])
    url = session.create_queue(QueueName=unique_name("x"))["QueueUrl"]
    assert "/111111111111/" in url
    with pytest.raises(ClientError) as info:
        as_user.assume_role(RoleArn=closed["Arn"], RoleSessionName="visit")
    status, code, message = error_of(info)
    assert (status, code) == (403, "AccessDenied")
    assert "is not authorized to perform: sts:AssumeRole on resource: " + closed["Arn"] in message


@pytest.mark.skipif(
    EXPECTED_PROTOCOL == "json",
    reason="a JSON-protocol client presigns a request whose input travels in a POST body a URL cannot carry",
)
def test_a_presigned_get_query_url_works(server, sqs):
    url = sqs.create_queue(QueueName=unique_name("presign"))["QueueUrl"]
    presigned = sqs.generate_presigned_url(
        "send_message", Params={"QueueUrl": url, "MessageBody": "presigned"}, ExpiresIn=300, HttpMethod="GET"
    )
    assert "X-Amz-Signature=" in presigned
    with urllib.request.urlopen(presigned, timeout=10) as response:
        assert response.status == 200
        assert b"<MD5OfMessageBody>" in response.read()
    assert receive(sqs, url, WaitTimeSeconds=1)[0]["Body"] == "presigned"
    if SIGV4:
        tampered = presigned.replace("MessageBody=presigned", "MessageBody=tampered")
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(tampered, timeout=10)
        assert info.value.code == 403
        assert b"SignatureDoesNotMatch" in info.value.read()
