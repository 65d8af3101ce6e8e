"""AWS KMS at Sluice's endpoint, through boto3, the AWS CLI and raw AWS JSON 1.1.

Symmetric encryption keys only: CreateKey and DescribeKey, ListKeys, aliases, key states (enabled, disabled,
pending deletion), Encrypt / Decrypt / ReEncrypt with and without an encryption context, data keys, key
policies, tags and key rotation; with SLUICE_AUTH_MODE=sigv4 also who may use a key (the key policy, IAM
policies it delegates to, another account, the policy lockout safety check).

Expected behaviour: the KMS API reference and developer guide (the key state table, alias rules, the default
key policy, data key sizes, the lockout safety check) and the service model kms-2014-11-01 (error codes,
response shapes, limits). Deleting a key when its waiting period ends needs weeks of clock time, so it is not
exercised here.
"""

from __future__ import annotations

import base64
import json
import os
import re
import uuid
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.exceptions import ClientError

from conftest import (
    ACCESS_KEY,
    DEFAULT_ACCOUNT,
    NO_RETRIES,
    REGION,
    SECRET_KEY,
    SIGV4,
    aws_cli,
    expect_error,
    raw_http_once,
    unique_name,
)

OTHER_REGION = "us-west-2"
# Configured in both authentication modes (see conftest.CONFIGURED_ACCOUNTS); the access key names the account.
OTHER_ACCOUNT = "111111111111"

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def kms_client(server, region: str = REGION, access_key: str = ACCESS_KEY):
    return boto3.session.Session().client(
        "kms",
        endpoint_url=server.endpoint,
        region_name=region,
        aws_access_key_id=access_key,
        aws_secret_access_key=SECRET_KEY,
        config=NO_RETRIES,
    )


@pytest.fixture(scope="module")
def kms(server):
    return kms_client(server)


def key_arn(key_id: str, region: str = REGION, account: str = DEFAULT_ACCOUNT) -> str:
    return f"arn:aws:kms:{region}:{account}:key/{key_id}"


def alias_arn(name: str, region: str = REGION, account: str = DEFAULT_ACCOUNT) -> str:
    return f"arn:aws:kms:{region}:{account}:{name}"


def new_key(kms, **kwargs) -> dict:
    """A fresh symmetric encryption key; returns its KeyMetadata."""
    return kms.create_key(**kwargs)["KeyMetadata"]


def new_alias(kms, key_id: str, prefix: str = "t") -> str:
    name = "alias/" + unique_name(prefix)
    kms.create_alias(AliasName=name, TargetKeyId=key_id)
    return name


def kms_error(code: str, status: int = 400):
    """`with kms_error("NotFoundException"): call()`: the call fails with this KMS error (JSON errors carry
    no Sender/Receiver type, so only the code and the HTTP status are checked)."""
    return expect_error(code, status, sender=False)


def assert_close(moment: datetime, expected: datetime, tolerance: timedelta = timedelta(minutes=5)):
    assert moment.tzinfo is not None, moment
    assert abs(moment - expected) <= tolerance, (moment, expected)


def now() -> datetime:
    return datetime.now(timezone.utc)


def encrypt(kms, key_id: str, plaintext: bytes = b"secret", **kwargs) -> bytes:
    return kms.encrypt(KeyId=key_id, Plaintext=plaintext, **kwargs)["CiphertextBlob"]


def all_aliases(kms, **kwargs) -> list[dict]:
    aliases, marker = [], None
    while True:
        page = kms.list_aliases(**kwargs, **({"Marker": marker} if marker else {}))
        aliases += page["Aliases"]
        if not page.get("Truncated"):
            return aliases
        marker = page["NextMarker"]


def all_keys(kms, limit: int | None = None) -> list[dict]:
    keys, marker = [], None
    while True:
        args = {}
        if limit:
            args["Limit"] = limit
        if marker:
            args["Marker"] = marker
        page = kms.list_keys(**args)
        if limit:
            assert len(page["Keys"]) <= limit, page
        keys += page["Keys"]
        if not page.get("Truncated"):
            assert "NextMarker" not in page, page
            return keys
        assert page.get("NextMarker"), page
        marker = page["NextMarker"]


# --- CreateKey and DescribeKey -------------------------------------------------------------------------------


def test_create_key_returns_the_documented_key_metadata(kms):
    before = now()
    metadata = kms.create_key(
        Description="orders at rest",
        KeyUsage="ENCRYPT_DECRYPT",
        KeySpec="SYMMETRIC_DEFAULT",
        MultiRegion=False,
    )["KeyMetadata"]
    key_id = metadata["KeyId"]
    assert UUID_RE.match(key_id), metadata
    assert metadata["Arn"] == key_arn(key_id)
    assert metadata["AWSAccountId"] == DEFAULT_ACCOUNT
    assert_close(metadata["CreationDate"], before)
    assert metadata["Enabled"] is True
    assert metadata["Description"] == "orders at rest"
    assert metadata["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert metadata["KeyState"] == "Enabled"
    assert metadata["Origin"] == "AWS_KMS"
    assert metadata["KeyManager"] == "CUSTOMER"
    assert metadata["KeySpec"] == "SYMMETRIC_DEFAULT"
    assert metadata["CustomerMasterKeySpec"] == "SYMMETRIC_DEFAULT"
    assert metadata["EncryptionAlgorithms"] == ["SYMMETRIC_DEFAULT"]
    assert metadata["MultiRegion"] is False
    assert "DeletionDate" not in metadata
    assert "SigningAlgorithms" not in metadata


def test_create_key_without_arguments_makes_a_symmetric_encryption_key(kms):
    metadata = kms.create_key()["KeyMetadata"]
    assert metadata["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert metadata["KeySpec"] == "SYMMETRIC_DEFAULT"
    assert metadata["CustomerMasterKeySpec"] == "SYMMETRIC_DEFAULT"
    assert metadata["KeyState"] == "Enabled"
    assert metadata["KeyManager"] == "CUSTOMER"
    assert metadata["MultiRegion"] is False
    # AWS reports an empty description for a key created without one.
    assert metadata["Description"] == ""
    assert kms.create_key()["KeyMetadata"]["KeyId"] != metadata["KeyId"]


def test_describe_key_by_key_id_key_arn_alias_name_and_alias_arn(kms):
    created = new_key(kms, Description="described four ways")
    alias = new_alias(kms, created["KeyId"])
    by_id = kms.describe_key(KeyId=created["KeyId"])["KeyMetadata"]
    assert by_id == created
    for identifier in (created["Arn"], alias, alias_arn(alias)):
        assert kms.describe_key(KeyId=identifier)["KeyMetadata"] == created, identifier


def test_describe_key_of_an_unknown_key_is_not_found(kms):
    missing = str(uuid.uuid4())
    for identifier in (missing, key_arn(missing), "alias/" + unique_name("missing"), alias_arn("alias/" + unique_name("missing"))):
        with kms_error("NotFoundException"):
            kms.describe_key(KeyId=identifier)


def test_keys_belong_to_one_account_and_region(kms, server):
    key = new_key(kms)
    elsewhere = kms_client(server, region=OTHER_REGION)
    with kms_error("NotFoundException"):
        elsewhere.describe_key(KeyId=key["KeyId"])
    assert key["KeyId"] not in {k["KeyId"] for k in all_keys(elsewhere)}

    other_account = kms_client(server, access_key=OTHER_ACCOUNT)
    with kms_error("NotFoundException"):
        other_account.describe_key(KeyId=key["KeyId"])
    with kms_error("NotFoundException"):
        other_account.encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    assert key["KeyId"] not in {k["KeyId"] for k in all_keys(other_account)}

    # A key of another region has that region in its ARN.
    western = new_key(elsewhere)
    assert western["Arn"] == key_arn(western["KeyId"], region=OTHER_REGION)
    with kms_error("NotFoundException"):
        kms.describe_key(KeyId=western["KeyId"])


def test_alias_names_belong_to_one_account_and_region(kms, server):
    name = "alias/" + unique_name("everywhere")
    key = new_key(kms)
    kms.create_alias(AliasName=name, TargetKeyId=key["KeyId"])
    for client in (kms_client(server, region=OTHER_REGION), kms_client(server, access_key=OTHER_ACCOUNT)):
        with kms_error("NotFoundException"):
            client.describe_key(KeyId=name)
        own = new_key(client)
        client.create_alias(AliasName=name, TargetKeyId=own["KeyId"])
        assert client.describe_key(KeyId=name)["KeyMetadata"]["Arn"] == own["Arn"]
        assert client.encrypt(KeyId=name, Plaintext=b"x")["KeyId"] == own["Arn"]
    assert kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == key["KeyId"]


def test_create_key_with_a_reserved_tag_key_is_refused(kms):
    with kms_error("TagException"):
        kms.create_key(Tags=[{"TagKey": "aws:owner", "TagValue": "me"}])


def test_create_key_with_a_malformed_policy_is_refused(kms):
    with kms_error("MalformedPolicyDocumentException"):
        kms.create_key(Policy="{ this is not a policy")


# --- ListKeys ----------------------------------------------------------------------------------------------


def test_list_keys_pages_through_every_key(kms):
    mine = {new_key(kms)["KeyId"] for _ in range(3)}
    everything = all_keys(kms)
    paged = all_keys(kms, limit=2)
    ids = [k["KeyId"] for k in paged]
    assert len(ids) == len(set(ids)), ids
    assert mine <= set(ids)
    assert set(ids) == {k["KeyId"] for k in everything}
    for entry in paged:
        assert entry["KeyArn"] == key_arn(entry["KeyId"]), entry

    first = kms.list_keys(Limit=1)
    assert len(first["Keys"]) == 1
    assert first["Truncated"] is True
    second = kms.list_keys(Limit=1, Marker=first["NextMarker"])
    assert second["Keys"] and second["Keys"][0]["KeyId"] != first["Keys"][0]["KeyId"]


def test_list_keys_with_a_marker_it_never_gave_is_refused(kms):
    new_key(kms)
    with kms_error("InvalidMarkerException"):
        kms.list_keys(Marker="not-a-marker-from-kms")
    with kms_error("InvalidMarkerException"):
        kms.list_aliases(Marker="not-a-marker-from-kms")


def test_list_keys_limit_is_at_most_1000(kms):
    assert len(kms.list_keys(Limit=1000)["Keys"]) >= 1
    with kms_error("ValidationException"):
        kms.list_keys(Limit=1001)


# --- aliases -----------------------------------------------------------------------------------------------


def test_create_alias_and_list_aliases(kms):
    key = new_key(kms)
    before = now()
    first = new_alias(kms, key["KeyId"], "first")
    second = "alias/" + unique_name("second")
    kms.create_alias(AliasName=second, TargetKeyId=key["Arn"])

    listed = {a["AliasName"]: a for a in all_aliases(kms)}
    for name in (first, second):
        entry = listed[name]
        assert entry["AliasArn"] == alias_arn(name)
        assert entry["TargetKeyId"] == key["KeyId"]
        assert_close(entry["CreationDate"], before)

    for identifier in (key["KeyId"], key["Arn"]):
        only_mine = kms.list_aliases(KeyId=identifier)
        assert sorted(a["AliasName"] for a in only_mine["Aliases"]) == sorted([first, second]), identifier
        assert only_mine["Truncated"] is False

    assert kms.list_aliases(KeyId=new_key(kms)["KeyId"])["Aliases"] == []


def test_list_aliases_of_an_unknown_key_is_not_found(kms):
    with kms_error("NotFoundException"):
        kms.list_aliases(KeyId=str(uuid.uuid4()))


def test_list_aliases_pages(kms):
    key = new_key(kms)
    names = {new_alias(kms, key["KeyId"], "page") for _ in range(3)}
    seen, marker = [], None
    while True:
        page = kms.list_aliases(Limit=2, **({"Marker": marker} if marker else {}))
        assert len(page["Aliases"]) <= 2
        seen += [a["AliasName"] for a in page["Aliases"]]
        if not page["Truncated"]:
            break
        marker = page["NextMarker"]
    assert len(seen) == len(set(seen))
    assert names <= set(seen)


def test_update_alias_points_it_at_another_key(kms):
    first, second = new_key(kms), new_key(kms)
    alias = new_alias(kms, first["KeyId"])
    ciphertext = encrypt(kms, alias, b"before the move")
    created = kms.list_aliases(KeyId=first["KeyId"])["Aliases"][0]["CreationDate"]
    assert kms.update_alias(AliasName=alias, TargetKeyId=second["KeyId"])["ResponseMetadata"]["HTTPStatusCode"] == 200
    entry = kms.list_aliases(KeyId=second["KeyId"])["Aliases"][0]
    assert entry["CreationDate"] == created
    assert entry["LastUpdatedDate"] >= created

    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == second["KeyId"]
    assert kms.list_aliases(KeyId=first["KeyId"])["Aliases"] == []
    assert [a["AliasName"] for a in kms.list_aliases(KeyId=second["KeyId"])["Aliases"]] == [alias]
    assert kms.encrypt(KeyId=alias, Plaintext=b"after")["KeyId"] == second["Arn"]
    # What the first key encrypted stays the first key's.
    assert kms.decrypt(CiphertextBlob=ciphertext)["KeyId"] == first["Arn"]
    with kms_error("IncorrectKeyException"):
        kms.decrypt(CiphertextBlob=ciphertext, KeyId=alias)


def test_update_alias_errors(kms):
    key = new_key(kms)
    with kms_error("NotFoundException"):
        kms.update_alias(AliasName="alias/" + unique_name("nobody"), TargetKeyId=key["KeyId"])
    alias = new_alias(kms, key["KeyId"])
    with kms_error("NotFoundException"):
        kms.update_alias(AliasName=alias, TargetKeyId=str(uuid.uuid4()))
    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == key["KeyId"]


def test_delete_alias(kms):
    key = new_key(kms)
    alias = new_alias(kms, key["KeyId"])
    kms.delete_alias(AliasName=alias)
    with kms_error("NotFoundException"):
        kms.describe_key(KeyId=alias)
    with kms_error("NotFoundException"):
        kms.encrypt(KeyId=alias, Plaintext=b"x")
    assert alias not in {a["AliasName"] for a in all_aliases(kms)}
    with kms_error("NotFoundException"):
        kms.delete_alias(AliasName=alias)
    # The key is untouched, and the name is free again.
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == key["KeyId"]


def test_an_alias_name_is_unique(kms):
    key, other = new_key(kms), new_key(kms)
    alias = new_alias(kms, key["KeyId"])
    with kms_error("AlreadyExistsException"):
        kms.create_alias(AliasName=alias, TargetKeyId=other["KeyId"])
    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == key["KeyId"]


def test_alias_names_must_start_with_alias_prefix(kms):
    key = new_key(kms)
    name = unique_name("bare")
    # AWS answers `Alias must start with the prefix "alias/"` as a ValidationException.
    with kms_error("ValidationException"):
        kms.create_alias(AliasName=name, TargetKeyId=key["KeyId"])
    assert kms.list_aliases(KeyId=key["KeyId"])["Aliases"] == []


def test_alias_names_allow_only_documented_characters(kms):
    key = new_key(kms)
    # "It can contain only alphanumeric characters, forward slashes (/), underscores (_), and dashes (-)."
    for name in ("alias/has space", "alias/dot.ted", "alias/", "alias/" + "a" * 251):
        with kms_error("ValidationException"):
            kms.create_alias(AliasName=name, TargetKeyId=key["KeyId"])
    assert kms.list_aliases(KeyId=key["KeyId"])["Aliases"] == []


def test_the_aws_alias_prefix_is_reserved(kms):
    key = new_key(kms)
    name = "alias/aws/" + unique_name("mine")
    # "The alias/aws/ prefix is reserved for AWS managed keys". The API reference does not name the error for
    # such a name: NotAuthorizedException and the model's InvalidAliasNameException both say it.
    with pytest.raises(ClientError) as info:
        kms.create_alias(AliasName=name, TargetKeyId=key["KeyId"])
    assert info.value.response["Error"]["Code"] in ("NotAuthorizedException", "InvalidAliasNameException"), info.value.response
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert kms.list_aliases(KeyId=key["KeyId"])["Aliases"] == []


def test_create_alias_for_an_unknown_key_is_not_found(kms):
    with kms_error("NotFoundException"):
        kms.create_alias(AliasName="alias/" + unique_name("orphan"), TargetKeyId=str(uuid.uuid4()))


def test_the_aws_managed_key_for_sqs(kms):
    # DescribeKey on a predefined AWS alias creates the AWS managed key if it does not exist yet.
    metadata = kms.describe_key(KeyId="alias/aws/sqs")["KeyMetadata"]
    assert metadata["KeyManager"] == "AWS"
    assert metadata["KeyState"] == "Enabled"
    assert metadata["Enabled"] is True
    assert metadata["AWSAccountId"] == DEFAULT_ACCOUNT
    assert metadata["Arn"] == key_arn(metadata["KeyId"])
    assert metadata["KeySpec"] == "SYMMETRIC_DEFAULT"
    assert metadata["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert kms.describe_key(KeyId="alias/aws/sqs")["KeyMetadata"]["KeyId"] == metadata["KeyId"]
    assert kms.describe_key(KeyId=metadata["KeyId"])["KeyMetadata"] == metadata

    entry = {a["AliasName"]: a for a in all_aliases(kms)}["alias/aws/sqs"]
    assert entry["TargetKeyId"] == metadata["KeyId"]
    assert entry["AliasArn"] == alias_arn("alias/aws/sqs")
    assert [a["AliasName"] for a in kms.list_aliases(KeyId=metadata["KeyId"])["Aliases"]] == ["alias/aws/sqs"]
    assert metadata["KeyId"] in {k["KeyId"] for k in all_keys(kms)}


def test_aliases_of_aws_managed_keys_cannot_be_taken_over(kms):
    kms.describe_key(KeyId="alias/aws/sqs")
    key = new_key(kms)
    with pytest.raises(ClientError) as info:
        kms.create_alias(AliasName="alias/aws/sqs", TargetKeyId=key["KeyId"])
    assert info.value.response["Error"]["Code"] in (
        "NotAuthorizedException", "InvalidAliasNameException", "AlreadyExistsException"
    ), info.value.response
    assert kms.describe_key(KeyId="alias/aws/sqs")["KeyMetadata"]["KeyManager"] == "AWS"


# --- key states --------------------------------------------------------------------------------------------


def test_disable_and_enable_key(kms):
    key = new_key(kms)
    ciphertext = encrypt(kms, key["KeyId"], b"made while enabled")
    kms.disable_key(KeyId=key["KeyId"])
    metadata = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert metadata["KeyState"] == "Disabled"
    assert metadata["Enabled"] is False
    # Disabling a disabled key is allowed.
    kms.disable_key(KeyId=key["Arn"])

    with kms_error("DisabledException"):
        kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    with kms_error("DisabledException"):
        kms.decrypt(CiphertextBlob=ciphertext)
    with kms_error("DisabledException"):
        kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256")
    with kms_error("DisabledException"):
        kms.generate_data_key_without_plaintext(KeyId=key["KeyId"], KeySpec="AES_256")
    with kms_error("DisabledException"):
        kms.re_encrypt(CiphertextBlob=ciphertext, DestinationKeyId=new_key(kms)["KeyId"])
    with kms_error("DisabledException"):
        kms.enable_key_rotation(KeyId=key["KeyId"])
    # Managing a disabled key still works.
    kms.tag_resource(KeyId=key["KeyId"], Tags=[{"TagKey": "state", "TagValue": "disabled"}])
    alias = new_alias(kms, key["KeyId"])
    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyState"] == "Disabled"
    json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"])

    kms.enable_key(KeyId=key["KeyId"])
    metadata = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert metadata["KeyState"] == "Enabled"
    assert metadata["Enabled"] is True
    assert kms.decrypt(CiphertextBlob=ciphertext)["Plaintext"] == b"made while enabled"
    kms.enable_key(KeyId=key["KeyId"])


def test_enable_and_disable_unknown_key_is_not_found(kms):
    for call in (kms.enable_key, kms.disable_key):
        with kms_error("NotFoundException"):
            call(KeyId=str(uuid.uuid4()))


def test_schedule_key_deletion_defaults_to_thirty_days(kms):
    key = new_key(kms)
    before = now()
    scheduled = kms.schedule_key_deletion(KeyId=key["KeyId"])
    assert scheduled["KeyId"] == key["Arn"]
    assert scheduled["KeyState"] == "PendingDeletion"
    assert scheduled["PendingWindowInDays"] == 30
    assert_close(scheduled["DeletionDate"], before + timedelta(days=30), timedelta(days=1))
    assert scheduled["DeletionDate"] >= before + timedelta(days=30) - timedelta(minutes=5)

    metadata = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert metadata["KeyState"] == "PendingDeletion"
    assert metadata["Enabled"] is False
    assert metadata["DeletionDate"] == scheduled["DeletionDate"]
    # Keys pending deletion are still listed.
    assert key["KeyId"] in {k["KeyId"] for k in all_keys(kms)}


@pytest.mark.parametrize("days", [7, 19, 30])
def test_schedule_key_deletion_with_a_waiting_period(kms, days):
    key = new_key(kms)
    before = now()
    scheduled = kms.schedule_key_deletion(KeyId=key["Arn"], PendingWindowInDays=days)
    assert scheduled["PendingWindowInDays"] == days
    assert scheduled["KeyId"] == key["Arn"]
    assert_close(scheduled["DeletionDate"], before + timedelta(days=days), timedelta(days=1))
    assert scheduled["DeletionDate"] >= before + timedelta(days=days) - timedelta(minutes=5)
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["DeletionDate"] == scheduled["DeletionDate"]


@pytest.mark.parametrize("days", [6, 31])
def test_schedule_key_deletion_outside_seven_to_thirty_days_is_refused(kms, days):
    key = new_key(kms)
    with kms_error("ValidationException"):
        kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=days)
    metadata = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert metadata["KeyState"] == "Enabled"
    assert "DeletionDate" not in metadata


def test_a_key_pending_deletion_cannot_be_used(kms):
    key = new_key(kms)
    ciphertext = encrypt(kms, key["KeyId"])
    alias = new_alias(kms, key["KeyId"])
    kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)

    with kms_error("KMSInvalidStateException"):
        kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    with kms_error("KMSInvalidStateException"):
        kms.encrypt(KeyId=alias, Plaintext=b"x")
    with kms_error("KMSInvalidStateException"):
        kms.decrypt(CiphertextBlob=ciphertext)
    with kms_error("KMSInvalidStateException"):
        kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256")
    with kms_error("KMSInvalidStateException"):
        kms.generate_data_key_without_plaintext(KeyId=key["KeyId"], NumberOfBytes=32)
    with kms_error("KMSInvalidStateException"):
        kms.re_encrypt(CiphertextBlob=ciphertext, DestinationKeyId=new_key(kms)["KeyId"])
    with kms_error("KMSInvalidStateException"):
        kms.enable_key(KeyId=key["KeyId"])
    with kms_error("KMSInvalidStateException"):
        kms.disable_key(KeyId=key["KeyId"])
    with kms_error("KMSInvalidStateException"):
        kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    with kms_error("KMSInvalidStateException"):
        kms.create_alias(AliasName="alias/" + unique_name("late"), TargetKeyId=key["KeyId"])
    with kms_error("KMSInvalidStateException"):
        kms.tag_resource(KeyId=key["KeyId"], Tags=[{"TagKey": "k", "TagValue": "v"}])
    with kms_error("KMSInvalidStateException"):
        kms.untag_resource(KeyId=key["KeyId"], TagKeys=["k"])
    # An alias may not be pointed at a key pending deletion (moving one away from it is allowed).
    with kms_error("KMSInvalidStateException"):
        kms.update_alias(AliasName=new_alias(kms, new_key(kms)["KeyId"]), TargetKeyId=key["KeyId"])
    with kms_error("KMSInvalidStateException"):
        kms.enable_key_rotation(KeyId=key["KeyId"])
    with kms_error("KMSInvalidStateException"):
        kms.rotate_key_on_demand(KeyId=key["KeyId"])

    # Still described, and the alias still resolves to it; reading its tags and policy still works.
    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    assert kms.list_resource_tags(KeyId=key["KeyId"])["Tags"] == []
    json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"])
    kms.update_alias(AliasName=alias, TargetKeyId=new_key(kms)["KeyId"])


def test_cancel_key_deletion_leaves_the_key_disabled(kms):
    key = new_key(kms)
    ciphertext = encrypt(kms, key["KeyId"], b"kept")
    kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    cancelled = kms.cancel_key_deletion(KeyId=key["KeyId"])
    assert cancelled["KeyId"] == key["Arn"]

    metadata = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert metadata["KeyState"] == "Disabled"
    assert metadata["Enabled"] is False
    assert "DeletionDate" not in metadata
    with kms_error("DisabledException"):
        kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")

    kms.enable_key(KeyId=key["KeyId"])
    assert kms.decrypt(CiphertextBlob=ciphertext)["Plaintext"] == b"kept"
    # It can be scheduled again.
    assert kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=8)["PendingWindowInDays"] == 8
    kms.cancel_key_deletion(KeyId=key["Arn"])


def test_cancel_key_deletion_of_a_key_not_pending_deletion_is_refused(kms):
    key = new_key(kms)
    with kms_error("KMSInvalidStateException"):
        kms.cancel_key_deletion(KeyId=key["KeyId"])
    with kms_error("NotFoundException"):
        kms.cancel_key_deletion(KeyId=str(uuid.uuid4()))
    with kms_error("NotFoundException"):
        kms.schedule_key_deletion(KeyId=str(uuid.uuid4()))


# --- Encrypt and Decrypt -----------------------------------------------------------------------------------


def test_encrypt_and_decrypt_round_trip(kms):
    key = new_key(kms)
    plaintext = bytes(range(256)) * 2
    encrypted = kms.encrypt(KeyId=key["KeyId"], Plaintext=plaintext)
    assert encrypted["KeyId"] == key["Arn"]
    assert encrypted["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    ciphertext = encrypted["CiphertextBlob"]
    assert isinstance(ciphertext, bytes)
    assert plaintext not in ciphertext

    decrypted = kms.decrypt(CiphertextBlob=ciphertext)
    assert decrypted["Plaintext"] == plaintext
    assert decrypted["KeyId"] == key["Arn"]
    assert decrypted["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"

    # Naming the key (any of its identifiers) and the algorithm is allowed too.
    alias = new_alias(kms, key["KeyId"])
    for identifier in (key["KeyId"], key["Arn"], alias, alias_arn(alias)):
        again = kms.decrypt(CiphertextBlob=ciphertext, KeyId=identifier, EncryptionAlgorithm="SYMMETRIC_DEFAULT")
        assert again["Plaintext"] == plaintext, identifier


def test_encrypt_through_every_key_identifier(kms):
    key = new_key(kms)
    alias = new_alias(kms, key["KeyId"])
    for identifier in (key["KeyId"], key["Arn"], alias, alias_arn(alias)):
        encrypted = kms.encrypt(KeyId=identifier, Plaintext=b"hello")
        assert encrypted["KeyId"] == key["Arn"], identifier
        assert kms.decrypt(CiphertextBlob=encrypted["CiphertextBlob"])["Plaintext"] == b"hello"


def test_encrypting_twice_gives_different_ciphertexts(kms):
    key = new_key(kms)
    first = encrypt(kms, key["KeyId"], b"same text")
    second = encrypt(kms, key["KeyId"], b"same text")
    assert first != second
    assert kms.decrypt(CiphertextBlob=first)["Plaintext"] == kms.decrypt(CiphertextBlob=second)["Plaintext"] == b"same text"


def test_encrypt_accepts_up_to_4096_bytes(kms):
    key = new_key(kms)
    largest = os.urandom(4096)
    assert kms.decrypt(CiphertextBlob=encrypt(kms, key["KeyId"], largest))["Plaintext"] == largest
    with kms_error("ValidationException"):
        kms.encrypt(KeyId=key["KeyId"], Plaintext=os.urandom(4097))


def test_asymmetric_algorithms_do_not_apply_to_a_symmetric_key(kms):
    # InvalidKeyUsageException: "The encryption algorithm or signing algorithm specified for the operation is
    # incompatible with the type of key material in the KMS key (KeySpec)."
    key = new_key(kms)
    with kms_error("InvalidKeyUsageException"):
        kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    ciphertext = encrypt(kms, key["KeyId"])
    with kms_error("InvalidKeyUsageException"):
        kms.decrypt(CiphertextBlob=ciphertext, KeyId=key["KeyId"], EncryptionAlgorithm="RSAES_OAEP_SHA_256")


def test_encrypt_with_an_unknown_key_is_not_found(kms):
    with kms_error("NotFoundException"):
        kms.encrypt(KeyId=str(uuid.uuid4()), Plaintext=b"x")
    with kms_error("NotFoundException"):
        kms.encrypt(KeyId="alias/" + unique_name("missing"), Plaintext=b"x")


def test_encryption_context_must_match_exactly(kms):
    key = new_key(kms)
    context = {"order": "1234", "tenant": "blue"}
    ciphertext = encrypt(kms, key["KeyId"], b"bound to a context", EncryptionContext=context)

    same_in_another_order = {"tenant": "blue", "order": "1234"}
    assert kms.decrypt(CiphertextBlob=ciphertext, EncryptionContext=same_in_another_order)["Plaintext"] == b"bound to a context"

    for wrong in ({"order": "1234", "tenant": "red"}, {"order": "1234"}, {**context, "extra": "x"}, {"ORDER": "1234", "tenant": "blue"}):
        with kms_error("InvalidCiphertextException"):
            kms.decrypt(CiphertextBlob=ciphertext, EncryptionContext=wrong)
    with kms_error("InvalidCiphertextException"):
        kms.decrypt(CiphertextBlob=ciphertext)

    plain = encrypt(kms, key["KeyId"], b"no context")
    with kms_error("InvalidCiphertextException"):
        kms.decrypt(CiphertextBlob=plain, EncryptionContext={"order": "1234"})
    assert kms.decrypt(CiphertextBlob=plain)["Plaintext"] == b"no context"


def test_decrypt_naming_another_key_is_incorrect_key(kms):
    key, other = new_key(kms), new_key(kms)
    ciphertext = encrypt(kms, key["KeyId"])
    with kms_error("IncorrectKeyException"):
        kms.decrypt(CiphertextBlob=ciphertext, KeyId=other["KeyId"])
    with kms_error("IncorrectKeyException"):
        kms.decrypt(CiphertextBlob=ciphertext, KeyId=other["Arn"])


def test_decrypt_of_garbage_is_invalid_ciphertext(kms):
    key = new_key(kms)
    for garbage in (b"not a ciphertext at all", os.urandom(200), b"\x01" * 64):
        with kms_error("InvalidCiphertextException"):
            kms.decrypt(CiphertextBlob=garbage)


def test_decrypt_of_a_tampered_ciphertext_is_invalid_ciphertext(kms):
    key = new_key(kms)
    ciphertext = bytearray(encrypt(kms, key["KeyId"], b"integrity matters"))
    for position in (len(ciphertext) - 1, len(ciphertext) // 2):
        tampered = bytearray(ciphertext)
        tampered[position] ^= 0x01
        with kms_error("InvalidCiphertextException"):
            kms.decrypt(CiphertextBlob=bytes(tampered))
    with kms_error("InvalidCiphertextException"):
        kms.decrypt(CiphertextBlob=bytes(ciphertext[:-16]))




# --- ReEncrypt ---------------------------------------------------------------------------------------------


def test_re_encrypt_to_another_key(kms):
    source, destination = new_key(kms), new_key(kms)
    ciphertext = encrypt(kms, source["KeyId"], b"moving house")
    moved = kms.re_encrypt(CiphertextBlob=ciphertext, DestinationKeyId=destination["KeyId"])
    assert moved["SourceKeyId"] == source["Arn"]
    assert moved["KeyId"] == destination["Arn"]
    assert moved["SourceEncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert moved["DestinationEncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert moved["CiphertextBlob"] != ciphertext

    decrypted = kms.decrypt(CiphertextBlob=moved["CiphertextBlob"])
    assert decrypted["Plaintext"] == b"moving house"
    assert decrypted["KeyId"] == destination["Arn"]
    with kms_error("IncorrectKeyException"):
        kms.decrypt(CiphertextBlob=moved["CiphertextBlob"], KeyId=source["KeyId"])
    # The original ciphertext is unaffected.
    assert kms.decrypt(CiphertextBlob=ciphertext)["KeyId"] == source["Arn"]


def test_re_encrypt_changes_the_encryption_context(kms):
    source, destination = new_key(kms), new_key(kms)
    alias = new_alias(kms, destination["KeyId"])
    ciphertext = encrypt(kms, source["KeyId"], b"ctx", EncryptionContext={"stage": "old"})
    with kms_error("InvalidCiphertextException"):
        kms.re_encrypt(CiphertextBlob=ciphertext, DestinationKeyId=alias, SourceEncryptionContext={"stage": "other"})
    moved = kms.re_encrypt(
        CiphertextBlob=ciphertext,
        SourceEncryptionContext={"stage": "old"},
        SourceKeyId=source["KeyId"],
        DestinationKeyId=alias,
        DestinationEncryptionContext={"stage": "new"},
    )
    assert moved["KeyId"] == destination["Arn"]
    assert kms.decrypt(CiphertextBlob=moved["CiphertextBlob"], EncryptionContext={"stage": "new"})["Plaintext"] == b"ctx"
    with kms_error("InvalidCiphertextException"):
        kms.decrypt(CiphertextBlob=moved["CiphertextBlob"], EncryptionContext={"stage": "old"})


def test_re_encrypt_errors(kms):
    source, destination, third = new_key(kms), new_key(kms), new_key(kms)
    ciphertext = encrypt(kms, source["KeyId"])
    with kms_error("IncorrectKeyException"):
        kms.re_encrypt(CiphertextBlob=ciphertext, SourceKeyId=third["KeyId"], DestinationKeyId=destination["KeyId"])
    with kms_error("NotFoundException"):
        kms.re_encrypt(CiphertextBlob=ciphertext, DestinationKeyId=str(uuid.uuid4()))
    with kms_error("InvalidCiphertextException"):
        kms.re_encrypt(CiphertextBlob=os.urandom(150), DestinationKeyId=destination["KeyId"])
    kms.disable_key(KeyId=destination["KeyId"])
    with kms_error("DisabledException"):
        kms.re_encrypt(CiphertextBlob=ciphertext, DestinationKeyId=destination["KeyId"])


# --- data keys ---------------------------------------------------------------------------------------------


def test_generate_data_key(kms):
    key = new_key(kms)
    generated = kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256")
    assert generated["KeyId"] == key["Arn"]
    assert len(generated["Plaintext"]) == 32
    decrypted = kms.decrypt(CiphertextBlob=generated["CiphertextBlob"])
    assert decrypted["Plaintext"] == generated["Plaintext"]
    assert decrypted["KeyId"] == key["Arn"]

    assert kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256")["Plaintext"] != generated["Plaintext"]
    assert len(kms.generate_data_key(KeyId=key["Arn"], KeySpec="AES_128")["Plaintext"]) == 16
    for size in (1, 32, 64, 1024):
        sized = kms.generate_data_key(KeyId=key["KeyId"], NumberOfBytes=size)
        assert len(sized["Plaintext"]) == size
        assert kms.decrypt(CiphertextBlob=sized["CiphertextBlob"])["Plaintext"] == sized["Plaintext"]


def test_generate_data_key_with_an_encryption_context_and_an_alias(kms):
    key = new_key(kms)
    alias = new_alias(kms, key["KeyId"])
    context = {"purpose": "envelope"}
    generated = kms.generate_data_key(KeyId=alias, KeySpec="AES_256", EncryptionContext=context)
    assert generated["KeyId"] == key["Arn"]
    assert kms.decrypt(CiphertextBlob=generated["CiphertextBlob"], EncryptionContext=context)["Plaintext"] == generated["Plaintext"]
    with kms_error("InvalidCiphertextException"):
        kms.decrypt(CiphertextBlob=generated["CiphertextBlob"])


def test_generate_data_key_needs_exactly_one_of_key_spec_and_number_of_bytes(kms):
    key = new_key(kms)
    with kms_error("ValidationException"):
        kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256", NumberOfBytes=32)
    with kms_error("ValidationException"):
        kms.generate_data_key(KeyId=key["KeyId"])
    with kms_error("ValidationException"):
        kms.generate_data_key(KeyId=key["KeyId"], NumberOfBytes=1025)
    with kms_error("ValidationException"):
        kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_512")


def test_generate_data_key_with_an_unknown_key_is_not_found(kms):
    with kms_error("NotFoundException"):
        kms.generate_data_key(KeyId=str(uuid.uuid4()), KeySpec="AES_256")
    with kms_error("NotFoundException"):
        kms.generate_data_key_without_plaintext(KeyId=str(uuid.uuid4()), KeySpec="AES_256")


def test_generate_data_key_without_plaintext(kms):
    key = new_key(kms)
    alias = new_alias(kms, key["KeyId"])
    generated = kms.generate_data_key_without_plaintext(KeyId=alias, KeySpec="AES_256", EncryptionContext={"a": "b"})
    assert "Plaintext" not in generated
    assert generated["KeyId"] == key["Arn"]
    decrypted = kms.decrypt(CiphertextBlob=generated["CiphertextBlob"], EncryptionContext={"a": "b"})
    assert len(decrypted["Plaintext"]) == 32
    assert decrypted["KeyId"] == key["Arn"]

    sized = kms.generate_data_key_without_plaintext(KeyId=key["KeyId"], NumberOfBytes=48)
    assert len(kms.decrypt(CiphertextBlob=sized["CiphertextBlob"])["Plaintext"]) == 48
    assert len(kms.decrypt(CiphertextBlob=kms.generate_data_key_without_plaintext(
        KeyId=key["KeyId"], KeySpec="AES_128")["CiphertextBlob"])["Plaintext"]) == 16
    with kms_error("ValidationException"):
        kms.generate_data_key_without_plaintext(KeyId=key["KeyId"])


# --- key policies ------------------------------------------------------------------------------------------


def root_statement(account: str = DEFAULT_ACCOUNT) -> dict:
    return {
        "Sid": "Enable IAM User Permissions",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }


def test_the_default_key_policy_gives_the_account_full_access(kms):
    key = new_key(kms)
    response = kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")
    assert response.get("PolicyName") == "default"
    policy = json.loads(response["Policy"])
    assert policy["Version"] == "2012-10-17"
    statements = policy["Statement"] if isinstance(policy["Statement"], list) else [policy["Statement"]]
    grants = [
        s for s in statements
        if s.get("Effect") == "Allow"
        and s.get("Principal", {}).get("AWS") in (f"arn:aws:iam::{DEFAULT_ACCOUNT}:root", [f"arn:aws:iam::{DEFAULT_ACCOUNT}:root"])
        and s.get("Action") in ("kms:*", ["kms:*"])
        and s.get("Resource") in ("*", ["*"])
    ]
    assert grants, policy
    # The policy name may be left out; the key ARN works as well.
    assert json.loads(kms.get_key_policy(KeyId=key["Arn"])["Policy"]) == policy


def test_put_key_policy_replaces_the_policy(kms):
    key = new_key(kms)
    policy = {
        "Version": "2012-10-17",
        "Id": "custom",
        "Statement": [
            root_statement(),
            {
                "Sid": "Readers",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{DEFAULT_ACCOUNT}:root"},
                "Action": ["kms:Decrypt", "kms:DescribeKey"],
                "Resource": "*",
            },
        ],
    }
    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=json.dumps(policy))
    assert json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"]) == policy
    # The key is still usable under its new policy.
    assert kms.decrypt(CiphertextBlob=encrypt(kms, key["KeyId"], b"p"))["Plaintext"] == b"p"


def test_create_key_with_a_policy(kms):
    policy = {"Version": "2012-10-17", "Id": "from-create", "Statement": [root_statement()]}
    key = new_key(kms, Policy=json.dumps(policy))
    assert json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"]) == policy


def test_key_policy_errors(kms):
    key = new_key(kms)
    with kms_error("MalformedPolicyDocumentException"):
        kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy="not json")
    with kms_error("NotFoundException"):
        kms.get_key_policy(KeyId=str(uuid.uuid4()), PolicyName="default")
    with kms_error("NotFoundException"):
        kms.put_key_policy(
            KeyId=str(uuid.uuid4()), PolicyName="default",
            Policy=json.dumps({"Version": "2012-10-17", "Statement": [root_statement()]}),
        )
    # "If the KMS key doesn't have an AWS_RAM key policy, the request fails with a NotFoundException."
    with kms_error("NotFoundException"):
        kms.get_key_policy(KeyId=key["KeyId"], PolicyName="AWS_RAM")
    # The refused policy did not replace the default one.
    assert json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"])["Statement"]


# --- tags --------------------------------------------------------------------------------------------------


def tags_of(kms, key_id: str) -> dict:
    response = kms.list_resource_tags(KeyId=key_id)
    assert response["Truncated"] is False
    tags = {t["TagKey"]: t["TagValue"] for t in response["Tags"]}
    assert len(tags) == len(response["Tags"])
    return tags


def test_tags_on_create_tag_and_untag(kms):
    key = new_key(kms, Tags=[{"TagKey": "team", "TagValue": "shop"}, {"TagKey": "env", "TagValue": "dev"}])
    assert tags_of(kms, key["KeyId"]) == {"team": "shop", "env": "dev"}

    kms.tag_resource(KeyId=key["KeyId"], Tags=[{"TagKey": "env", "TagValue": "prod"}, {"TagKey": "cost", "TagValue": ""}])
    assert tags_of(kms, key["Arn"]) == {"team": "shop", "env": "prod", "cost": ""}

    kms.untag_resource(KeyId=key["Arn"], TagKeys=["team", "not-there"])
    assert tags_of(kms, key["KeyId"]) == {"env": "prod", "cost": ""}
    kms.untag_resource(KeyId=key["KeyId"], TagKeys=["env", "cost"])
    assert tags_of(kms, key["KeyId"]) == {}


def test_tag_errors(kms):
    key = new_key(kms)
    with kms_error("TagException"):
        kms.tag_resource(KeyId=key["KeyId"], Tags=[{"TagKey": "aws:reserved", "TagValue": "x"}])
    assert tags_of(kms, key["KeyId"]) == {}
    missing = str(uuid.uuid4())
    with kms_error("NotFoundException"):
        kms.tag_resource(KeyId=missing, Tags=[{"TagKey": "k", "TagValue": "v"}])
    with kms_error("NotFoundException"):
        kms.untag_resource(KeyId=missing, TagKeys=["k"])
    with kms_error("NotFoundException"):
        kms.list_resource_tags(KeyId=missing)


# --- rotation ----------------------------------------------------------------------------------------------


def test_automatic_key_rotation_settings(kms):
    key = new_key(kms)
    status = kms.get_key_rotation_status(KeyId=key["KeyId"])
    assert status["KeyRotationEnabled"] is False
    assert status.get("KeyId") in (None, key["KeyId"], key["Arn"]), status

    before = now()
    kms.enable_key_rotation(KeyId=key["KeyId"])
    status = kms.get_key_rotation_status(KeyId=key["Arn"])
    assert status["KeyRotationEnabled"] is True
    # The default rotation period is 365 days.
    assert status["RotationPeriodInDays"] == 365
    assert_close(status["NextRotationDate"], before + timedelta(days=365), timedelta(days=2))

    kms.enable_key_rotation(KeyId=key["KeyId"], RotationPeriodInDays=90)
    status = kms.get_key_rotation_status(KeyId=key["KeyId"])
    assert status["KeyRotationEnabled"] is True
    assert status["RotationPeriodInDays"] == 90

    kms.disable_key_rotation(KeyId=key["KeyId"])
    assert kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"] is False

    with kms_error("ValidationException"):
        kms.enable_key_rotation(KeyId=key["KeyId"], RotationPeriodInDays=2561)
    assert kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"] is False


def test_rotation_status_survives_disabling_the_key(kms):
    key = new_key(kms)
    kms.enable_key_rotation(KeyId=key["KeyId"])
    kms.disable_key(KeyId=key["KeyId"])
    # Disabling a key leaves its rotation setting alone; changing it needs an enabled key.
    assert kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"] is True
    with kms_error("DisabledException"):
        kms.disable_key_rotation(KeyId=key["KeyId"])
    with kms_error("DisabledException"):
        kms.rotate_key_on_demand(KeyId=key["KeyId"])
    kms.enable_key(KeyId=key["KeyId"])
    assert kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"] is True


def test_rotation_of_an_unknown_key_is_not_found(kms):
    missing = str(uuid.uuid4())
    for call in (kms.enable_key_rotation, kms.disable_key_rotation, kms.get_key_rotation_status, kms.rotate_key_on_demand):
        with kms_error("NotFoundException"):
            call(KeyId=missing)


def test_rotate_key_on_demand_keeps_old_ciphertexts_readable(kms):
    key = new_key(kms)
    other = new_key(kms)
    old = encrypt(kms, key["KeyId"], b"before rotation", EncryptionContext={"v": "1"})
    old_data_key = kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256")

    rotated = kms.rotate_key_on_demand(KeyId=key["KeyId"])
    assert rotated["KeyId"] in (key["KeyId"], key["Arn"]), rotated

    new = encrypt(kms, key["KeyId"], b"after rotation")
    assert kms.decrypt(CiphertextBlob=old, EncryptionContext={"v": "1"})["Plaintext"] == b"before rotation"
    assert kms.decrypt(CiphertextBlob=old, KeyId=key["Arn"], EncryptionContext={"v": "1"})["KeyId"] == key["Arn"]
    assert kms.decrypt(CiphertextBlob=new)["Plaintext"] == b"after rotation"
    assert kms.decrypt(CiphertextBlob=old_data_key["CiphertextBlob"])["Plaintext"] == old_data_key["Plaintext"]
    moved = kms.re_encrypt(CiphertextBlob=old, SourceEncryptionContext={"v": "1"}, DestinationKeyId=other["KeyId"])
    assert kms.decrypt(CiphertextBlob=moved["CiphertextBlob"])["Plaintext"] == b"before rotation"
    with kms_error("IncorrectKeyException"):
        kms.decrypt(CiphertextBlob=new, KeyId=other["KeyId"])

    metadata = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert metadata["KeyState"] == "Enabled"
    assert metadata["KeyId"] == key["KeyId"]
    assert metadata["Arn"] == key["Arn"]


# --- who may use a key (sigv4 only) ------------------------------------------------------------------------

sigv4_only = pytest.mark.skipif(not SIGV4, reason="authorization is only evaluated with SLUICE_AUTH_MODE=sigv4")


def denied(call, **kwargs):
    """The call is refused as AccessDeniedException (the HTTP status is checked once, below)."""
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    assert info.value.response["Error"]["Code"] == "AccessDeniedException", info.value.response
    return info.value.response


@pytest.fixture(scope="module")
def iam(server):
    return boto3.session.Session().client(
        "iam", endpoint_url=server.endpoint, region_name=REGION,
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, config=NO_RETRIES,
    )


def user_client(server, iam, policy: dict | None = None):
    """A KMS client signed by a new IAM user of the default account, with `policy` as its only permissions."""
    name = unique_name("kms-user")
    iam.create_user(UserName=name)
    if policy is not None:
        iam.put_user_policy(UserName=name, PolicyName="kms", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return name, boto3.session.Session().client(
        "kms", endpoint_url=server.endpoint, region_name=REGION,
        aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"], config=NO_RETRIES,
    )


@sigv4_only
def test_access_denied_is_http_400(kms, server):
    # KMS answers AccessDeniedException with HTTP 400, unlike most services (SDK errors from real accounts
    # read "StatusCode: 400, ... api error AccessDeniedException").
    key = new_key(kms)
    response = denied(kms_client(server, access_key=OTHER_ACCOUNT).encrypt, KeyId=key["Arn"], Plaintext=b"x")
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400, response


@sigv4_only
def test_another_account_may_not_use_a_key_its_policy_does_not_name(kms, server):
    key = new_key(kms)
    ciphertext = encrypt(kms, key["KeyId"])
    other = kms_client(server, access_key=OTHER_ACCOUNT)
    # The default key policy trusts only the key's own account.
    denied(other.decrypt, CiphertextBlob=ciphertext)
    denied(other.encrypt, KeyId=key["Arn"], Plaintext=b"x")
    denied(other.describe_key, KeyId=key["Arn"])
    denied(other.generate_data_key, KeyId=key["Arn"], KeySpec="AES_256")


@sigv4_only
def test_a_key_policy_can_let_another_account_use_the_key(kms, server):
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            root_statement(),
            {
                "Sid": "Partner",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"},
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"],
                "Resource": "*",
            },
        ],
    }
    key = new_key(kms, Policy=json.dumps(policy))
    other = kms_client(server, access_key=OTHER_ACCOUNT)
    # Another account names the key by its ARN (a bare key id is looked up in the caller's own account).
    assert other.describe_key(KeyId=key["Arn"])["KeyMetadata"]["KeyId"] == key["KeyId"]
    ciphertext = other.encrypt(KeyId=key["Arn"], Plaintext=b"shared")["CiphertextBlob"]
    assert other.decrypt(CiphertextBlob=ciphertext)["Plaintext"] == b"shared"
    assert kms.decrypt(CiphertextBlob=ciphertext)["Plaintext"] == b"shared"
    denied(other.generate_data_key, KeyId=key["Arn"], KeySpec="AES_256")
    denied(other.disable_key, KeyId=key["Arn"])
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"


@sigv4_only
def test_the_default_key_policy_lets_iam_policies_decide_for_users(kms, server, iam):
    key = new_key(kms)
    ciphertext = encrypt(kms, key["KeyId"], b"for users")

    _, nobody = user_client(server, iam)
    denied(nobody.encrypt, KeyId=key["KeyId"], Plaintext=b"x")
    denied(nobody.decrypt, CiphertextBlob=ciphertext)

    _, encrypter = user_client(server, iam, {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "kms:Encrypt", "Resource": key["Arn"]}],
    })
    fresh = encrypter.encrypt(KeyId=key["KeyId"], Plaintext=b"from a user")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=fresh)["Plaintext"] == b"from a user"
    denied(encrypter.decrypt, CiphertextBlob=ciphertext)
    # Its policy names only this key.
    denied(encrypter.encrypt, KeyId=new_key(kms)["KeyId"], Plaintext=b"x")


@sigv4_only
def test_a_key_policy_without_the_account_shuts_out_iam_policies(kms, server, iam):
    _, admin = user_client(server, iam, {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}],
    })
    # The account (its root principal) is named only for DescribeKey and the key policy: IAM policies can grant
    # users those actions and nothing else, and not even the account's root user may encrypt.
    policy = {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "RootManagesOnly",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{DEFAULT_ACCOUNT}:root"},
            "Action": ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:PutKeyPolicy"],
            "Resource": "*",
        }],
    }
    key = new_key(kms, Policy=json.dumps(policy))
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"
    denied(kms.encrypt, KeyId=key["KeyId"], Plaintext=b"x")
    denied(admin.encrypt, KeyId=key["KeyId"], Plaintext=b"x")
    assert admin.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyId"] == key["KeyId"]

    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default",
                       Policy=json.dumps({"Version": "2012-10-17", "Statement": [root_statement()]}))
    assert admin.decrypt(CiphertextBlob=encrypt(kms, key["KeyId"], b"back"))["Plaintext"] == b"back"


# A policy that would shut the account out of its own key: it may not change the policy afterwards.
LOCKED_OUT = {
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{DEFAULT_ACCOUNT}:root"},
        "Action": "kms:DescribeKey",
        "Resource": "*",
    }],
}


@sigv4_only
def test_the_policy_lockout_safety_check(kms):
    # "The key policy must allow the calling principal to make a subsequent PutKeyPolicy request on the KMS
    # key", unless BypassPolicyLockoutSafetyCheck is set.
    locked = LOCKED_OUT
    with kms_error("MalformedPolicyDocumentException"):
        kms.create_key(Policy=json.dumps(locked))
    key = new_key(kms)
    with kms_error("MalformedPolicyDocumentException"):
        kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=json.dumps(locked))
    assert kms.encrypt(KeyId=key["KeyId"], Plaintext=b"still mine")["KeyId"] == key["Arn"]


@sigv4_only
def test_bypassing_the_lockout_safety_check_locks_the_account_out(kms):
    bypassed = new_key(kms, Policy=json.dumps(LOCKED_OUT), BypassPolicyLockoutSafetyCheck=True)
    assert kms.describe_key(KeyId=bypassed["KeyId"])["KeyMetadata"]["KeyId"] == bypassed["KeyId"]
    denied(kms.put_key_policy, KeyId=bypassed["KeyId"], PolicyName="default",
           Policy=json.dumps({"Version": "2012-10-17", "Statement": [root_statement()]}))
    denied(kms.encrypt, KeyId=bypassed["KeyId"], Plaintext=b"x")


# --- AWS CLI -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kms_cli(server):
    """Runs `aws kms <args>`: the parsed JSON output, or with `check=False` the exit code and output."""
    with aws_cli(server, "kms") as run:

        def kms(*args: str, check: bool = True):
            result = run(*args, check=check)
            return result.json() if check else result

        kms.home = run.home
        yield kms


def test_cli_create_key_encrypt_decrypt_and_aliases(kms_cli, kms):
    metadata = kms_cli("create-key", "--description", "made by the CLI")["KeyMetadata"]
    key_id = metadata["KeyId"]
    assert metadata["Arn"] == key_arn(key_id)
    assert metadata["Description"] == "made by the CLI"
    assert metadata["KeyState"] == "Enabled"

    alias = "alias/" + unique_name("cli")
    assert kms_cli("create-alias", "--alias-name", alias, "--target-key-id", key_id) is None
    listed = kms_cli("list-aliases", "--key-id", key_id)["Aliases"]
    assert [(a["AliasName"], a["TargetKeyId"], a["AliasArn"]) for a in listed] == [(alias, key_id, alias_arn(alias))]
    assert kms_cli("describe-key", "--key-id", alias)["KeyMetadata"]["KeyId"] == key_id

    plaintext = b"\x00binary\xffpayload\n" + os.urandom(64)
    plain_path = os.path.join(kms_cli.home, unique_name("plain"))
    with open(plain_path, "wb") as f:
        f.write(plaintext)
    encrypted = kms_cli("encrypt", "--key-id", alias, "--plaintext", f"fileb://{plain_path}",
                        "--encryption-context", "purpose=cli")
    assert encrypted["KeyId"] == key_arn(key_id)
    # The CLI prints blobs base64-encoded.
    ciphertext = base64.b64decode(encrypted["CiphertextBlob"])
    assert kms.decrypt(CiphertextBlob=ciphertext, EncryptionContext={"purpose": "cli"})["Plaintext"] == plaintext

    cipher_path = os.path.join(kms_cli.home, unique_name("cipher"))
    with open(cipher_path, "wb") as f:
        f.write(ciphertext)
    decrypted = kms_cli("decrypt", "--ciphertext-blob", f"fileb://{cipher_path}", "--encryption-context", "purpose=cli")
    assert base64.b64decode(decrypted["Plaintext"]) == plaintext
    assert decrypted["KeyId"] == key_arn(key_id)

    failed = kms_cli("decrypt", "--ciphertext-blob", f"fileb://{cipher_path}", check=False)
    assert failed.returncode != 0
    assert "InvalidCiphertextException" in failed.stderr, failed.stderr


def test_cli_data_key_and_key_lifecycle(kms_cli):
    key_id = kms_cli("create-key")["KeyMetadata"]["KeyId"]
    data_key = kms_cli("generate-data-key", "--key-id", key_id, "--key-spec", "AES_256")
    assert len(base64.b64decode(data_key["Plaintext"])) == 32
    cipher_path = os.path.join(kms_cli.home, unique_name("datakey"))
    with open(cipher_path, "wb") as f:
        f.write(base64.b64decode(data_key["CiphertextBlob"]))
    assert kms_cli("decrypt", "--ciphertext-blob", f"fileb://{cipher_path}")["Plaintext"] == data_key["Plaintext"]

    assert key_id in {k["KeyId"] for k in kms_cli("list-keys")["Keys"]}
    scheduled = kms_cli("schedule-key-deletion", "--key-id", key_id, "--pending-window-in-days", "7")
    assert scheduled["KeyState"] == "PendingDeletion"
    assert scheduled["PendingWindowInDays"] == 7
    assert kms_cli("describe-key", "--key-id", key_id)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    assert kms_cli("cancel-key-deletion", "--key-id", key_id)["KeyId"] == key_arn(key_id)
    assert kms_cli("describe-key", "--key-id", key_id)["KeyMetadata"]["KeyState"] == "Disabled"

    missing = kms_cli("describe-key", "--key-id", str(uuid.uuid4()), check=False)
    assert missing.returncode != 0
    assert "NotFoundException" in missing.stderr, missing.stderr


# --- the wire ----------------------------------------------------------------------------------------------


def kms_request(raw, operation: str, body: dict):
    return raw(
        json.dumps(body).encode(),
        {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"TrentService.{operation}"},
    )


@raw_http_once
def test_wire_format_is_aws_json_1_1(raw):
    created = kms_request(raw, "CreateKey", {"Description": "raw"})
    assert created.status == 200, created
    assert created.header("Content-Type").startswith("application/x-amz-json-1.1"), created.headers
    metadata = created.json()["KeyMetadata"]
    # Timestamps travel as epoch seconds.
    assert isinstance(metadata["CreationDate"], (int, float)), metadata
    assert abs(metadata["CreationDate"] - now().timestamp()) < 300

    encrypted = kms_request(raw, "Encrypt", {"KeyId": metadata["KeyId"], "Plaintext": base64.b64encode(b"wire").decode()})
    assert encrypted.status == 200, encrypted
    blob = encrypted.json()["CiphertextBlob"]
    decrypted = kms_request(raw, "Decrypt", {"CiphertextBlob": blob})
    assert decrypted.status == 200, decrypted
    assert base64.b64decode(decrypted.json()["Plaintext"]) == b"wire"


@raw_http_once
def test_wire_errors_carry_the_error_type(raw):
    missing = kms_request(raw, "DescribeKey", {"KeyId": str(uuid.uuid4())})
    assert missing.status == 400, missing
    assert missing.header("Content-Type").startswith("application/x-amz-json-1.1"), missing.headers
    body = missing.json()
    assert body["__type"].split("#")[-1] == "NotFoundException", body
    assert body.get("message") or body.get("Message"), body

    no_key = kms_request(raw, "Encrypt", {"Plaintext": base64.b64encode(b"x").decode()})
    assert no_key.status == 400, no_key
    assert no_key.json()["__type"].split("#")[-1] == "ValidationException", no_key.json()

    unknown = kms_request(raw, "NoSuchOperation", {})
    assert unknown.status == 400, unknown
    assert unknown.json()["__type"].split("#")[-1] == "UnknownOperationException", unknown.json()
