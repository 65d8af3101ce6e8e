"""CreateQueue, GetQueueUrl, ListQueues, DeleteQueue and PurgeQueue, with their errors; accounts and regions.

Sources: the CreateQueue / GetQueueUrl / ListQueues / DeleteQueue / PurgeQueue API references and the SQS
service models (shared/spec), and /tmp/research/sqs-errors.md (real AWS responses quoted in public issues).
"""

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import (
    DEFAULT_ACCOUNT,
    FIFO_NAME_MESSAGE,
    NAME_MESSAGE,
    NON_EXISTENT_QUEUE,
    arn_of,
    expect_error,
    missing_queue_message,
    unique_name,
)


# --- CreateQueue -------------------------------------------------------------------------------------------


def test_create_queue_returns_a_url_in_the_default_account(sqs, server, queue_name):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    assert url.endswith(f"/{DEFAULT_ACCOUNT}/{queue_name}")
    assert url.startswith("http://")
    assert sqs.get_queue_url(QueueName=queue_name)["QueueUrl"] == url
    assert arn_of(sqs, url) == f"arn:aws:sqs:us-east-1:{DEFAULT_ACCOUNT}:{queue_name}"


def test_queue_names_of_1_and_80_characters_are_valid(sqs):
    long_name = ("n" + uuid.uuid4().hex * 3)[:80]
    assert len(long_name) == 80
    assert sqs.create_queue(QueueName=long_name)["QueueUrl"].endswith("/" + long_name)
    one = uuid.uuid4().hex[0]
    # A single-character name may already exist from an earlier test; either way the call succeeds.
    assert sqs.create_queue(QueueName=one)["QueueUrl"].endswith("/" + one)


def test_fifo_queue_name_of_80_characters_including_suffix_is_valid(sqs):
    name = ("f" + uuid.uuid4().hex * 3)[:75] + ".fifo"
    assert len(name) == 80
    url = sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true"})["QueueUrl"]
    assert url.endswith("/" + name)


@pytest.mark.parametrize(
    "name",
    [
        "bad name",
        "bad!name",
        "bad/name",
        "bad.name",
        "naïve-queue",
        "a" * 81,
        "x.fifo",
    ],
    ids=["space", "bang", "slash", "dot", "non-ascii", "81-chars", "fifo-suffix-without-FifoQueue"],
)
def test_invalid_queue_names_are_rejected(sqs, name):
    if name == "x.fifo":
        name = f"x{uuid.uuid4().hex[:8]}.fifo"
    with expect_error("InvalidParameterValue", 400, NAME_MESSAGE):
        sqs.create_queue(QueueName=name)


@pytest.mark.parametrize(
    "name", ["plain-name", "bad name.fifo", "a" * 76 + ".fifo", ".fifo"], ids=["no-suffix", "bad-chars", "81-chars", "only-suffix"]
)
def test_invalid_fifo_queue_names_are_rejected(sqs, name):
    with expect_error("InvalidParameterValue", 400, FIFO_NAME_MESSAGE):
        sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true"})


def test_fifo_queue_false_is_an_unknown_attribute(sqs):
    # aws/aws-cdk#8550, aws/aws-cli#2549: FifoQueue=false is answered as an unknown attribute.
    with expect_error("InvalidAttributeName", 400, "Unknown Attribute FifoQueue."):
        sqs.create_queue(QueueName=unique_name(), Attributes={"FifoQueue": "false"})


def test_create_queue_is_idempotent_for_identical_attributes(sqs, queue_name):
    attributes = {"VisibilityTimeout": "45", "DelaySeconds": "3"}
    first = sqs.create_queue(QueueName=queue_name, Attributes=attributes)["QueueUrl"]
    assert sqs.create_queue(QueueName=queue_name, Attributes=attributes)["QueueUrl"] == first
    # No attributes at all: the existing queue's URL.
    assert sqs.create_queue(QueueName=queue_name)["QueueUrl"] == first
    # A subset with the same values, and a default given explicitly that the queue has.
    assert sqs.create_queue(QueueName=queue_name, Attributes={"DelaySeconds": "3"})["QueueUrl"] == first
    assert sqs.create_queue(QueueName=queue_name, Attributes={"MessageRetentionPeriod": "345600"})["QueueUrl"] == first


def test_create_queue_with_a_different_attribute_value_is_queue_already_exists(sqs, queue_name):
    sqs.create_queue(QueueName=queue_name, Attributes={"VisibilityTimeout": "45"})
    with expect_error(
        "QueueAlreadyExists",
        400,
        "A queue already exists with the same name and a different value for attribute VisibilityTimeout",
        exception=sqs.exceptions.QueueNameExists,
    ):
        sqs.create_queue(QueueName=queue_name, Attributes={"VisibilityTimeout": "46"})


def test_create_queue_differing_from_a_default_is_queue_already_exists(sqs, queue_url, queue_name):
    with expect_error(
        "QueueAlreadyExists",
        400,
        "A queue already exists with the same name and a different value for attribute VisibilityTimeout",
    ):
        sqs.create_queue(QueueName=queue_name, Attributes={"VisibilityTimeout": "31"})


def test_queue_names_are_case_sensitive(sqs):
    base = unique_name("Case")
    upper = sqs.create_queue(QueueName=base)["QueueUrl"]
    lower = sqs.create_queue(QueueName=base.lower())["QueueUrl"]
    assert upper != lower
    with expect_error(NON_EXISTENT_QUEUE):
        sqs.get_queue_url(QueueName=base.upper())


# --- GetQueueUrl -------------------------------------------------------------------------------------------


def test_get_queue_url_of_a_missing_queue(sqs, protocol):
    with expect_error(
        NON_EXISTENT_QUEUE, 400, missing_queue_message(protocol), exception=sqs.exceptions.QueueDoesNotExist
    ):
        sqs.get_queue_url(QueueName=unique_name("missing"))


def test_get_queue_url_with_queue_owner_account(make_client, sqs):
    other = make_client(access_key="111111111111")
    name = unique_name("owned")
    url = other.create_queue(QueueName=name)["QueueUrl"]
    assert url.endswith(f"/111111111111/{name}")
    # Another account's queue is found once its policy lets the caller's account in (with
    # authentication on; with it off, whoever is named may do anything).
    other.add_permission(QueueUrl=url, Label="lookup", AWSAccountIds=[DEFAULT_ACCOUNT], Actions=["GetQueueUrl"])
    assert sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId="111111111111")["QueueUrl"] == url
    # Without the owner, the caller's own account is searched.
    with expect_error(NON_EXISTENT_QUEUE):
        sqs.get_queue_url(QueueName=name)
    # The owner given explicitly as the caller's own account.
    assert other.get_queue_url(QueueName=name, QueueOwnerAWSAccountId="111111111111")["QueueUrl"] == url


# --- ListQueues --------------------------------------------------------------------------------------------


def test_list_queues_filters_by_prefix(sqs):
    prefix = unique_name("lp")
    mine = {sqs.create_queue(QueueName=f"{prefix}-{i}")["QueueUrl"] for i in range(3)}
    other = sqs.create_queue(QueueName=f"x{prefix}")["QueueUrl"]
    listed = sqs.list_queues(QueueNamePrefix=prefix)
    assert set(listed["QueueUrls"]) == mine
    assert "NextToken" not in listed
    assert other not in listed["QueueUrls"]
    assert set(sqs.list_queues(QueueNamePrefix=f"{prefix}-1")["QueueUrls"]) == {u for u in mine if u.endswith("-1")}


def test_list_queues_prefix_is_case_sensitive(sqs):
    prefix = unique_name("CaseP")
    url = sqs.create_queue(QueueName=prefix)["QueueUrl"]
    assert sqs.list_queues(QueueNamePrefix=prefix)["QueueUrls"] == [url]
    assert sqs.list_queues(QueueNamePrefix=prefix.lower()).get("QueueUrls", []) == []


def test_list_queues_without_matches_has_no_urls(sqs):
    response = sqs.list_queues(QueueNamePrefix=unique_name("nothing"))
    assert response.get("QueueUrls", []) == []
    assert "NextToken" not in response


def test_list_queues_pages_with_max_results_and_next_token(sqs):
    prefix = unique_name("page")
    created = {sqs.create_queue(QueueName=f"{prefix}-{i}")["QueueUrl"] for i in range(7)}
    seen = []
    sizes = []
    token = None
    for _ in range(5):
        kwargs = {"QueueNamePrefix": prefix, "MaxResults": 3}
        if token:
            kwargs["NextToken"] = token
        page = sqs.list_queues(**kwargs)
        sizes.append(len(page.get("QueueUrls", [])))
        seen.extend(page.get("QueueUrls", []))
        token = page.get("NextToken")
        if not token:
            break
    assert sizes == [3, 3, 1]
    assert len(seen) == len(set(seen)) == 7
    assert set(seen) == created


def test_list_queues_with_max_results_covering_everything_has_no_token(sqs):
    prefix = unique_name("exact")
    for i in range(3):
        sqs.create_queue(QueueName=f"{prefix}-{i}")
    page = sqs.list_queues(QueueNamePrefix=prefix, MaxResults=3)
    assert len(page["QueueUrls"]) == 3
    assert "NextToken" not in page
    page = sqs.list_queues(QueueNamePrefix=prefix, MaxResults=1000)
    assert len(page["QueueUrls"]) == 3
    assert "NextToken" not in page


def test_list_queues_paginator(sqs):
    prefix = unique_name("pgn")
    created = {sqs.create_queue(QueueName=f"{prefix}-{i}")["QueueUrl"] for i in range(5)}
    paginator = sqs.get_paginator("list_queues")
    pages = list(paginator.paginate(QueueNamePrefix=prefix, PaginationConfig={"PageSize": 2}))
    assert [len(p["QueueUrls"]) for p in pages] == [2, 2, 1]
    assert {u for p in pages for u in p["QueueUrls"]} == created


@pytest.mark.parametrize("max_results", [0, 1001, -1])
def test_list_queues_max_results_out_of_range(sqs, max_results):
    with expect_error("InvalidParameterValue", 400) as info:
        sqs.list_queues(MaxResults=max_results)
    assert "MaxResults" in info.value.response["Error"]["Message"]


# --- DeleteQueue -------------------------------------------------------------------------------------------


def test_delete_queue_removes_it(sqs, queue_url, queue_name, protocol):
    sqs.delete_queue(QueueUrl=queue_url)
    with expect_error(NON_EXISTENT_QUEUE, 400, missing_queue_message(protocol)):
        sqs.get_queue_url(QueueName=queue_name)
    assert queue_url not in sqs.list_queues(QueueNamePrefix=queue_name).get("QueueUrls", [])
    with expect_error(NON_EXISTENT_QUEUE, 400, missing_queue_message(protocol)):
        sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])
    with expect_error(NON_EXISTENT_QUEUE, 400, missing_queue_message(protocol)):
        sqs.delete_queue(QueueUrl=queue_url)


def test_recreating_a_just_deleted_queue_is_queue_deleted_recently(sqs, queue_url, queue_name):
    sqs.delete_queue(QueueUrl=queue_url)
    with expect_error(
        "AWS.SimpleQueueService.QueueDeletedRecently",
        400,
        "You must wait 60 seconds after deleting a queue before you can create another with the same name.",
        exception=sqs.exceptions.QueueDeletedRecently,
    ):
        sqs.create_queue(QueueName=queue_name)


# --- PurgeQueue --------------------------------------------------------------------------------------------


def test_purge_queue_then_again_within_60_seconds(sqs, queue_url, queue_name):
    sqs.purge_queue(QueueUrl=queue_url)
    # Status per the Query service model (PurgeQueueInProgress: httpStatusCode 403); message per
    # research note section 7.
    with expect_error(
        "AWS.SimpleQueueService.PurgeQueueInProgress",
        403,
        f"Only one PurgeQueue operation on {queue_name} is allowed every 60 seconds.",
        exception=sqs.exceptions.PurgeQueueInProgress,
    ):
        sqs.purge_queue(QueueUrl=queue_url)


def test_purge_is_per_queue(sqs):
    a = sqs.create_queue(QueueName=unique_name("pa"))["QueueUrl"]
    b = sqs.create_queue(QueueName=unique_name("pb"))["QueueUrl"]
    sqs.purge_queue(QueueUrl=a)
    sqs.purge_queue(QueueUrl=b)


# --- every queue-addressed action on a missing queue -------------------------------------------------------

MISSING_CALLS = {
    "DeleteQueue": lambda c, u: c.delete_queue(QueueUrl=u),
    "GetQueueAttributes": lambda c, u: c.get_queue_attributes(QueueUrl=u, AttributeNames=["All"]),
    "SetQueueAttributes": lambda c, u: c.set_queue_attributes(QueueUrl=u, Attributes={"DelaySeconds": "1"}),
    "PurgeQueue": lambda c, u: c.purge_queue(QueueUrl=u),
    "TagQueue": lambda c, u: c.tag_queue(QueueUrl=u, Tags={"k": "v"}),
    "UntagQueue": lambda c, u: c.untag_queue(QueueUrl=u, TagKeys=["k"]),
    "ListQueueTags": lambda c, u: c.list_queue_tags(QueueUrl=u),
    "AddPermission": lambda c, u: c.add_permission(
        QueueUrl=u, Label="L", AWSAccountIds=["111122223333"], Actions=["SendMessage"]
    ),
    "RemovePermission": lambda c, u: c.remove_permission(QueueUrl=u, Label="L"),
    "ListDeadLetterSourceQueues": lambda c, u: c.list_dead_letter_source_queues(QueueUrl=u),
}


@pytest.mark.parametrize("action", sorted(MISSING_CALLS))
def test_actions_on_a_missing_queue(sqs, server, protocol, action):
    url = f"{server.endpoint}/{DEFAULT_ACCOUNT}/{unique_name('missing')}"
    with expect_error(
        NON_EXISTENT_QUEUE, 400, missing_queue_message(protocol), exception=sqs.exceptions.QueueDoesNotExist
    ):
        MISSING_CALLS[action](sqs, url)


# --- accounts ----------------------------------------------------------------------------------------------


def test_a_12_digit_access_key_is_the_account(make_client, sqs):
    other = make_client(access_key="111111111111")
    name = unique_name("acct")
    url = other.create_queue(QueueName=name)["QueueUrl"]
    assert f"/111111111111/{name}" in url
    assert arn_of(other, url) == f"arn:aws:sqs:us-east-1:111111111111:{name}"
    assert url in other.list_queues(QueueNamePrefix=name)["QueueUrls"]
    # The default account does not list it and has no queue of that name.
    assert sqs.list_queues(QueueNamePrefix=name).get("QueueUrls", []) == []
    with expect_error(NON_EXISTENT_QUEUE):
        sqs.get_queue_url(QueueName=name)
    # The same name in the default account is a separate queue.
    mine = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "7"})["QueueUrl"]
    assert mine != url
    assert f"/{DEFAULT_ACCOUNT}/{name}" in mine
    attrs = other.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"]
    assert attrs == {"VisibilityTimeout": "30"}


def test_a_fresh_account_has_no_queues(make_client):
    fresh = make_client(access_key=f"2{uuid.uuid4().int % 10**11:011d}")
    assert fresh.list_queues().get("QueueUrls", []) == []


# --- regions -----------------------------------------------------------------------------------------------


def test_the_same_name_in_two_regions_is_two_queues(make_client):
    east = make_client(region="us-east-1")
    west = make_client(region="eu-west-1")
    name = unique_name("reg")
    east_url = east.create_queue(QueueName=name)["QueueUrl"]
    west_url = west.create_queue(QueueName=name, Attributes={"DelaySeconds": "9"})["QueueUrl"]
    assert east_url != west_url
    assert east_url.endswith(f"/{DEFAULT_ACCOUNT}/{name}")
    assert west_url.endswith(f"/{DEFAULT_ACCOUNT}/{name}")
    assert arn_of(east, east_url) == f"arn:aws:sqs:us-east-1:{DEFAULT_ACCOUNT}:{name}"
    assert arn_of(west, west_url) == f"arn:aws:sqs:eu-west-1:{DEFAULT_ACCOUNT}:{name}"
    assert east.get_queue_url(QueueName=name)["QueueUrl"] == east_url
    assert west.get_queue_url(QueueName=name)["QueueUrl"] == west_url
    assert east.list_queues(QueueNamePrefix=name)["QueueUrls"] == [east_url]
    assert west.list_queues(QueueNamePrefix=name)["QueueUrls"] == [west_url]
    east_delay = east.get_queue_attributes(QueueUrl=east_url, AttributeNames=["DelaySeconds"])["Attributes"]
    west_delay = west.get_queue_attributes(QueueUrl=west_url, AttributeNames=["DelaySeconds"])["Attributes"]
    assert east_delay == {"DelaySeconds": "0"}
    assert west_delay == {"DelaySeconds": "9"}
    # Deleting one leaves the other.
    west.delete_queue(QueueUrl=west_url)
    assert east.get_queue_url(QueueName=name)["QueueUrl"] == east_url


def test_a_queue_only_in_another_region_is_missing(make_client):
    west = make_client(region="eu-west-1")
    east = make_client(region="us-east-1")
    name = unique_name("only-west")
    west.create_queue(QueueName=name)
    with expect_error(NON_EXISTENT_QUEUE):
        east.get_queue_url(QueueName=name)


def test_aws_style_queue_urls_resolve(make_client, sqs, queue_url, queue_name):
    aws_url = f"https://sqs.us-east-1.amazonaws.com/{DEFAULT_ACCOUNT}/{queue_name}"
    attrs = sqs.get_queue_attributes(QueueUrl=aws_url, AttributeNames=["QueueArn"])["Attributes"]
    assert attrs["QueueArn"] == f"arn:aws:sqs:us-east-1:{DEFAULT_ACCOUNT}:{queue_name}"
    sqs.set_queue_attributes(QueueUrl=aws_url, Attributes={"DelaySeconds": "4"})
    attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["DelaySeconds"])["Attributes"]
    assert attrs == {"DelaySeconds": "4"}

    west = make_client(region="eu-west-1")
    west_url = west.create_queue(QueueName=queue_name)["QueueUrl"]
    aws_west = f"https://sqs.eu-west-1.amazonaws.com/{DEFAULT_ACCOUNT}/{queue_name}"
    attrs = west.get_queue_attributes(QueueUrl=aws_west, AttributeNames=["QueueArn"])["Attributes"]
    assert attrs["QueueArn"] == f"arn:aws:sqs:eu-west-1:{DEFAULT_ACCOUNT}:{queue_name}"
    west.delete_queue(QueueUrl=aws_west)
    with expect_error(NON_EXISTENT_QUEUE):
        west.get_queue_attributes(QueueUrl=west_url, AttributeNames=["All"])


def test_a_bare_queue_name_is_a_queue_url(make_client, sqs, protocol):
    """AWS takes a queue's name wherever a QueueUrl goes, resolved in the caller's account and region."""
    name = unique_name("bare")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sent = sqs.send_message(QueueUrl=name, MessageBody="by name")
    sqs.send_message_batch(QueueUrl=name, Entries=[{"Id": "a", "MessageBody": "batch"}])
    messages = sqs.receive_message(QueueUrl=name, MaxNumberOfMessages=10, WaitTimeSeconds=0)["Messages"]
    assert {m["Body"] for m in messages} == {"by name", "batch"}
    assert sent["MessageId"] in {m["MessageId"] for m in messages}
    sqs.change_message_visibility(QueueUrl=name, ReceiptHandle=messages[0]["ReceiptHandle"], VisibilityTimeout=60)
    sqs.delete_message(QueueUrl=name, ReceiptHandle=messages[0]["ReceiptHandle"])
    sqs.delete_message_batch(QueueUrl=name, Entries=[{"Id": "b", "ReceiptHandle": messages[1]["ReceiptHandle"]}])
    sqs.set_queue_attributes(QueueUrl=name, Attributes={"DelaySeconds": "2"})
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["DelaySeconds"])["Attributes"] == {"DelaySeconds": "2"}
    sqs.tag_queue(QueueUrl=name, Tags={"via": "name"})
    assert sqs.list_queue_tags(QueueUrl=name)["Tags"] == {"via": "name"}

    # Another account, or another region, has no queue of that name.
    other_account = make_client(access_key="123456789012")
    with expect_error(NON_EXISTENT_QUEUE, 400, missing_queue_message(protocol)):
        other_account.get_queue_attributes(QueueUrl=name, AttributeNames=["All"])
    west = make_client(region="eu-west-1")
    with expect_error(NON_EXISTENT_QUEUE, 400, missing_queue_message(protocol)):
        west.get_queue_attributes(QueueUrl=name, AttributeNames=["All"])
    west.create_queue(QueueName=name)
    arn = west.get_queue_attributes(QueueUrl=name, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert arn == f"arn:aws:sqs:eu-west-1:{DEFAULT_ACCOUNT}:{name}"
    west.delete_queue(QueueUrl=name)
    sqs.delete_queue(QueueUrl=name)
    with expect_error(NON_EXISTENT_QUEUE, 400, missing_queue_message(protocol)):
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])


def test_list_queues_returns_at_most_1000_and_pages_only_with_max_results(make_client):
    """ListQueues reference: without MaxResults at most 1,000 URLs come back and no NextToken; a
    NextToken is returned only when MaxResults is set and more results remain."""
    account = f"3{uuid.uuid4().int % 10**11:011d}"
    client = make_client(access_key=account)
    for i in range(1001):
        client.create_queue(QueueName=f"bulk-{i:04d}")
    everything = client.list_queues()
    assert len(everything["QueueUrls"]) == 1000
    assert "NextToken" not in everything
    first = client.list_queues(MaxResults=1000)
    assert len(first["QueueUrls"]) == 1000
    second = client.list_queues(MaxResults=1000, NextToken=first["NextToken"])
    assert len(second["QueueUrls"]) == 1
    assert "NextToken" not in second
    assert len(set(first["QueueUrls"]) | set(second["QueueUrls"])) == 1001


def test_concurrent_creates_of_one_name_agree(make_client):
    name = unique_name("race")
    clients = [make_client() for _ in range(8)]

    def create(i):
        return clients[i % len(clients)].create_queue(QueueName=name, Attributes={"DelaySeconds": "2"})["QueueUrl"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        urls = list(pool.map(create, range(32)))
    assert len(set(urls)) == 1
    assert clients[0].list_queues(QueueNamePrefix=name)["QueueUrls"] == urls[:1]


def test_concurrent_tagging_keeps_every_tag(make_client, queue_url):
    clients = [make_client() for _ in range(8)]

    def tag(i):
        clients[i % len(clients)].tag_queue(QueueUrl=queue_url, Tags={f"k{i}": str(i)})

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(tag, range(40)))
    assert clients[0].list_queue_tags(QueueUrl=queue_url)["Tags"] == {f"k{i}": str(i) for i in range(40)}


def test_queue_url_with_a_trailing_slash_resolves(sqs, queue_url, queue_name):
    # The GetQueueAttributes reference's own JSON example sends ".../177715257436/MyQueue/".
    attrs = sqs.get_queue_attributes(QueueUrl=queue_url + "/", AttributeNames=["QueueArn"])["Attributes"]
    assert attrs["QueueArn"].endswith(f":{queue_name}")
    aws_url = f"https://sqs.us-east-1.amazonaws.com/{DEFAULT_ACCOUNT}/{queue_name}/"
    attrs = sqs.get_queue_attributes(QueueUrl=aws_url, AttributeNames=["QueueArn"])["Attributes"]
    assert attrs["QueueArn"].endswith(f":{queue_name}")
