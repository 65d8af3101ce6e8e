"""TagQueue, UntagQueue, ListQueueTags and tags given to CreateQueue.

Sources: the tagging API references and the cost-allocation tags / quotas pages (seed docs 06, 35, 37):
keys 1-128 characters, values 0-256, case-sensitive, a new value overwrites the old one.
"""

from conftest import expect_error, unique_name


def tags_of(sqs, url):
    return sqs.list_queue_tags(QueueUrl=url).get("Tags", {})


def test_new_queue_has_no_tags(sqs, queue_url):
    assert tags_of(sqs, queue_url) == {}


def test_tag_list_overwrite_and_untag(sqs, queue_url):
    sqs.tag_queue(QueueUrl=queue_url, Tags={"team": "shop", "env": "dev"})
    assert tags_of(sqs, queue_url) == {"team": "shop", "env": "dev"}

    sqs.tag_queue(QueueUrl=queue_url, Tags={"env": "prod", "cost": "42"})
    assert tags_of(sqs, queue_url) == {"team": "shop", "env": "prod", "cost": "42"}

    sqs.untag_queue(QueueUrl=queue_url, TagKeys=["env", "not-there"])
    assert tags_of(sqs, queue_url) == {"team": "shop", "cost": "42"}

    sqs.untag_queue(QueueUrl=queue_url, TagKeys=["team", "cost"])
    assert tags_of(sqs, queue_url) == {}


def test_tag_keys_are_case_sensitive(sqs, queue_url):
    sqs.tag_queue(QueueUrl=queue_url, Tags={"Env": "a", "env": "b"})
    assert tags_of(sqs, queue_url) == {"Env": "a", "env": "b"}
    sqs.untag_queue(QueueUrl=queue_url, TagKeys=["ENV"])
    assert tags_of(sqs, queue_url) == {"Env": "a", "env": "b"}


def test_tags_on_create(sqs):
    url = sqs.create_queue(QueueName=unique_name("tagged"), tags={"owner": "ops", "tier": "1"})["QueueUrl"]
    assert tags_of(sqs, url) == {"owner": "ops", "tier": "1"}


def test_tags_with_allowed_characters_and_empty_value(sqs, queue_url):
    tags = {
        "Équipe 1": "vålue",
        "a:b/c=d+e-f@g_h.i": "x y:z/=+-@_.",
        "empty": "",
        "k" * 128: "v" * 256,
    }
    sqs.tag_queue(QueueUrl=queue_url, Tags=tags)
    assert tags_of(sqs, queue_url) == tags


def test_tags_are_per_queue(sqs):
    a = sqs.create_queue(QueueName=unique_name("ta"))["QueueUrl"]
    b = sqs.create_queue(QueueName=unique_name("tb"))["QueueUrl"]
    sqs.tag_queue(QueueUrl=a, Tags={"only": "a"})
    assert tags_of(sqs, b) == {}


def test_invalid_tag_key_is_rejected(sqs, queue_url, assert_alive):
    # Keys are 1 to 128 characters (quotas page); the error code is not documented, 400 InvalidParameterValue
    # is the service's code for a bad parameter value.
    with expect_error("InvalidParameterValue", 400):
        sqs.tag_queue(QueueUrl=queue_url, Tags={"k" * 129: "v"})
    with expect_error("InvalidParameterValue", 400):
        sqs.tag_queue(QueueUrl=queue_url, Tags={"k": "v" * 257})
    assert tags_of(sqs, queue_url) == {}
    assert_alive()


def test_tag_values_with_control_characters(sqs, queue_url, assert_alive):
    """Control characters are outside the allowed set; whatever the code, the error must reach the client
    as a parseable response in either protocol."""
    with expect_error("InvalidParameterValue", 400):
        sqs.tag_queue(QueueUrl=queue_url, Tags={"k": "bad\x01value"})
    with expect_error("InvalidParameterValue", 400):
        sqs.tag_queue(QueueUrl=queue_url, Tags={"bad\x02key": "v"})
    assert tags_of(sqs, queue_url) == {}
    assert_alive()
