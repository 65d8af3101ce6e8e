"""The AWS CLI v1 of this environment (JSON protocol in the current one, Query with awscli 1.32.89)."""

import pytest

from conftest import DEFAULT_ACCOUNT, EXPECTED_PROTOCOL, unique_name


def test_cli_speaks_the_expected_protocol(aws):
    if EXPECTED_PROTOCOL is None:
        pytest.skip("SLUICE_EXPECT_PROTOCOL is not set")
    result = aws("list-queues", "--queue-name-prefix", "cli-probe", global_args=("--debug",))
    if EXPECTED_PROTOCOL == "json":
        assert "'X-Amz-Target': 'AmazonSQS.ListQueues'" in result.stderr
        assert "application/x-amz-json-1.0" in result.stderr
    else:
        assert "'Action': 'ListQueues'" in result.stderr
        assert "X-Amz-Target" not in result.stderr


def test_cli_queue_lifecycle(aws):
    name = unique_name("cli")
    created = aws("create-queue", "--queue-name", name, "--attributes", "DelaySeconds=2").json()
    url = created["QueueUrl"]
    assert url.endswith(f"/{DEFAULT_ACCOUNT}/{name}")

    listed = aws("list-queues", "--queue-name-prefix", name).json()
    assert listed["QueueUrls"] == [url]

    attrs = aws("get-queue-attributes", "--queue-url", url, "--attribute-names", "All").json()["Attributes"]
    assert attrs["VisibilityTimeout"] == "30"
    assert attrs["DelaySeconds"] == "2"
    assert attrs["QueueArn"] == f"arn:aws:sqs:us-east-1:{DEFAULT_ACCOUNT}:{name}"
    assert attrs["SqsManagedSseEnabled"] == "true"

    assert aws("set-queue-attributes", "--queue-url", url, "--attributes", "VisibilityTimeout=45").stdout.strip() == ""
    attrs = aws("get-queue-attributes", "--queue-url", url, "--attribute-names", "VisibilityTimeout").json()
    assert attrs == {"Attributes": {"VisibilityTimeout": "45"}}

    aws("tag-queue", "--queue-url", url, "--tags", "team=shop,env=dev")
    assert aws("list-queue-tags", "--queue-url", url).json() == {"Tags": {"team": "shop", "env": "dev"}}

    assert aws("get-queue-url", "--queue-name", name).json() == {"QueueUrl": url}

    aws("delete-queue", "--queue-url", url)
    listed = aws("list-queues", "--queue-name-prefix", name).json()
    assert (listed or {}).get("QueueUrls", []) == []


def test_cli_get_queue_url_of_a_missing_queue(aws):
    result = aws("get-queue-url", "--queue-name", unique_name("cli-missing"), check=False)
    assert result.returncode != 0
    assert "NonExistentQueue" in result.stderr, result.stderr
    assert "GetQueueUrl" in result.stderr, result.stderr
