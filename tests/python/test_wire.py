"""Malformed and unusual requests, sent both through the SDK and as raw HTTP.

The raw-HTTP tests do not depend on the SDK, so they run once (in the current-boto3 environment). After
every malformed request the server must still answer a normal one.

Sources: the research notes sections 6 and 12 (error shapes of both protocols; the JSON error body and the
x-amzn-query-error header from the SQS developer guide's JSON API responses page), CommonErrors
(InvalidAction, MissingAction 400), and the ListQueues model (MaxResults 1-1000).
"""

import json
import os
import urllib.parse
import xml.etree.ElementTree as ET

import pytest

from botocore.exceptions import ClientError

from conftest import (
    DEFAULT_ACCOUNT,
    NAME_MESSAGE,
    NON_EXISTENT_QUEUE,
    expect_error,
    missing_queue_message,
    raw_http_once,
    raw_request,
    unique_name,
)

JSON = "application/x-amz-json-1.0"
FORM = "application/x-www-form-urlencoded"
NS = {"sqs": "http://queue.amazonaws.com/doc/2012-11-05/"}


def json_call(raw, target, body, content_type=JSON, extra=None):
    headers = {"Content-Type": content_type, "X-Amz-Target": target}
    headers.update(extra or {})
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return raw(data, headers)


def query_call(raw, params, content_type=FORM):
    data = params if isinstance(params, bytes) else urllib.parse.urlencode(params).encode()
    return raw(data, {"Content-Type": content_type})


def query_error(response):
    """The (Type, Code, Message) of a Query ErrorResponse, checking its documented layout."""
    root = ET.fromstring(response.body)
    assert root.tag == "{http://queue.amazonaws.com/doc/2012-11-05/}ErrorResponse", response.body
    error = root.find("sqs:Error", NS)
    assert error is not None, response.body
    assert root.find("sqs:RequestId", NS) is not None, response.body
    return (
        error.findtext("sqs:Type", namespaces=NS),
        error.findtext("sqs:Code", namespaces=NS),
        error.findtext("sqs:Message", namespaces=NS),
    )


# --- through the SDK (both protocols) ----------------------------------------------------------------------


@pytest.mark.parametrize("max_results", [0, 1001])
def test_list_queues_max_results_out_of_range_leaves_the_server_up(sqs, max_results, assert_alive):
    with expect_error("InvalidParameterValue", 400):
        sqs.list_queues(MaxResults=max_results)
    assert_alive()


@pytest.mark.parametrize(
    "url",
    [
        "not-a-url",
        "http://whatever-incorrect-queue-address",
        "http://127.0.0.1:1/a/b/c/d",
        "http://127.0.0.1:1/" + DEFAULT_ACCOUNT + "/" + "q" * 20000,
        "http://127.0.0.1:1/" + "9" * 5000 + "/q",
        "arn:aws:sqs:us-east-1:" + DEFAULT_ACCOUNT + ":q",
    ],
    ids=["not-a-url", "no-path", "too-many-segments", "huge-name", "huge-account", "arn"],
)
def test_queue_urls_naming_no_queue_are_non_existent_queue(sqs, protocol, url, assert_alive):
    """AWS answers a QueueUrl that names no queue, whatever its form, as a queue that does not exist
    (AWS.SimpleQueueService.NonExistentQueue), not InvalidAddress: a bare name is a queue name, and an
    ARN is not a URL."""
    with expect_error(NON_EXISTENT_QUEUE, 400, missing_queue_message(protocol)):
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
    assert_alive()


def test_unicode_and_control_characters_in_queue_names(sqs, assert_alive):
    for name in ["q\x00", "q\x01x", "q\nx", "q\u2028x", "日本語"]:
        with expect_error("InvalidParameterValue", 400, NAME_MESSAGE):
            sqs.create_queue(QueueName=name)
    assert_alive()


def test_policy_with_control_characters(sqs, queue_url, assert_alive):
    with expect_error("InvalidAttributeValue", 400, "Invalid value for the parameter Policy."):
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": "{\x01}"})
    assert_alive()


def test_large_attribute_value(sqs, queue_url, assert_alive):
    with expect_error("InvalidAttributeValue", 400, "Invalid value for the parameter DelaySeconds."):
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"DelaySeconds": "9" * 100000})
    assert_alive()


# --- raw HTTP: Query ---------------------------------------------------------------------------------------


@raw_http_once
def test_query_unknown_action(raw, assert_alive):
    response = query_call(raw, {"Action": "Bogus", "Version": "2012-11-05"})
    assert response.status == 400, response
    assert query_error(response) == ("Sender", "InvalidAction", "The action Bogus is not valid for this endpoint.")
    assert_alive()


@raw_http_once
def test_query_missing_action(raw, assert_alive):
    response = query_call(raw, {"Version": "2012-11-05", "QueueName": "x"})
    assert response.status == 400, response
    kind, code, _ = query_error(response)
    assert (kind, code) == ("Sender", "MissingAction")
    assert_alive()


@raw_http_once
def test_query_missing_required_parameter(raw, assert_alive):
    response = query_call(raw, {"Action": "GetQueueUrl", "Version": "2012-11-05"})
    assert response.status == 400, response
    assert query_error(response) == ("Sender", "MissingParameter", "The request must contain the parameter QueueName.")
    assert_alive()


@raw_http_once
def test_query_missing_queue_error_document(raw):
    response = query_call(raw, {"Action": "GetQueueUrl", "Version": "2012-11-05", "QueueName": unique_name("nope")})
    assert response.status == 400, response
    assert query_error(response) == (
        "Sender",
        NON_EXISTENT_QUEUE,
        "The specified queue does not exist for this wsdl version.",
    )
    assert b"<Detail/>" in response.body


@raw_http_once
def test_query_get_request(raw, server):
    name = unique_name("get")
    created = query_call(raw, {"Action": "CreateQueue", "Version": "2012-11-05", "QueueName": name})
    assert created.status == 200, created
    response = raw(b"", {}, path=f"/?Action=GetQueueUrl&Version=2012-11-05&QueueName={name}", method="GET")
    assert response.status == 200, response
    root = ET.fromstring(response.body)
    assert root.tag == "{http://queue.amazonaws.com/doc/2012-11-05/}GetQueueUrlResponse"
    url = root.findtext("sqs:GetQueueUrlResult/sqs:QueueUrl", namespaces=NS)
    assert url.endswith(f"/{DEFAULT_ACCOUNT}/{name}")
    assert root.findtext("sqs:ResponseMetadata/sqs:RequestId", namespaces=NS)


@raw_http_once
@pytest.mark.parametrize("size", [64, 4096])
def test_query_random_bytes_body(raw, size, assert_alive):
    response = raw(os.urandom(size), {"Content-Type": FORM})
    assert 400 <= response.status < 500, response
    assert_alive()


@raw_http_once
def test_query_with_wrong_content_type(raw, assert_alive):
    response = query_call(raw, {"Action": "ListQueues", "Version": "2012-11-05"}, content_type="application/json")
    assert 400 <= response.status < 500, response
    assert_alive()


@raw_http_once
def test_query_integer_parameter_not_a_number(raw, assert_alive):
    response = query_call(raw, {"Action": "ListQueues", "Version": "2012-11-05", "MaxResults": "lots"})
    assert response.status == 400, response
    kind, code, _ = query_error(response)
    assert kind == "Sender"
    assert code in ("InvalidParameterValue", "MalformedInput", "InvalidQueryParameter"), code
    assert_alive()


@raw_http_once
def test_query_oversized_body(raw, assert_alive):
    body = b"Action=ListQueues&Version=2012-11-05&QueueNamePrefix=" + b"a" * (9 * 1024 * 1024)
    response = raw(body, {"Content-Type": FORM})
    assert 400 <= response.status < 500, response.status
    assert_alive()


# --- raw HTTP: JSON ----------------------------------------------------------------------------------------


@raw_http_once
def test_json_unknown_operation(raw, assert_alive):
    response = json_call(raw, "AmazonSQS.Bogus", {})
    assert response.status == 400, response
    assert response.json()["__type"].endswith("UnknownOperationException"), response.body
    assert_alive()


@raw_http_once
def test_json_target_without_service_prefix(raw, assert_alive):
    response = json_call(raw, "ListQueues", {})
    assert response.status == 400, response
    assert response.json()["__type"].endswith("UnknownOperationException"), response.body
    assert_alive()


@raw_http_once
def test_json_missing_queue_error_document(raw):
    # Exactly the example of the SQS developer guide's "JSON API responses" page.
    response = json_call(raw, "AmazonSQS.GetQueueUrl", {"QueueName": unique_name("nope")})
    assert response.status == 400, response
    assert response.header("Content-Type").startswith(JSON), response.headers
    assert response.json() == {
        "__type": "com.amazonaws.sqs#QueueDoesNotExist",
        "message": "The specified queue does not exist.",
    }
    assert response.header("x-amzn-query-error") == "AWS.SimpleQueueService.NonExistentQueue;Sender"
    assert response.header("x-amzn-RequestId")


@raw_http_once
def test_json_queue_name_exists_error(raw):
    name = unique_name("dup")
    assert json_call(raw, "AmazonSQS.CreateQueue", {"QueueName": name}).status == 200
    response = json_call(raw, "AmazonSQS.CreateQueue", {"QueueName": name, "Attributes": {"DelaySeconds": "5"}})
    assert response.status == 400
    assert response.json()["__type"] == "com.amazonaws.sqs#QueueNameExists"
    assert response.header("x-amzn-query-error") == "QueueAlreadyExists;Sender"


@raw_http_once
def test_json_missing_required_parameter(raw, assert_alive):
    response = json_call(raw, "AmazonSQS.GetQueueUrl", {})
    assert response.status == 400, response
    # The body names the service framework's exception; clients show the header's code.
    assert response.json()["__type"] == "com.amazon.coral.service#MissingRequiredParameterException"
    assert response.header("x-amzn-query-error") == "MissingParameter;Sender"
    assert response.json()["message"] == "The request must contain the parameter QueueName."
    assert_alive()


@raw_http_once
def test_json_invalid_parameter_value_pairs_the_exception_with_the_query_code(raw):
    response = json_call(raw, "AmazonSQS.CreateQueue", {"QueueName": "bad name"})
    assert response.status == 400, response
    assert response.json() == {"__type": "com.amazon.coral.service#InvalidParameterValueException", "message": NAME_MESSAGE}
    assert response.header("x-amzn-query-error") == "InvalidParameterValue;Sender"


@raw_http_once
@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[]", b"\"text\"", b"\xff\xfe\x00garbage", b'{"QueueNamePrefix": ', b"null"],
    ids=["broken", "array", "string", "binary", "truncated", "null"],
)
def test_json_malformed_body(raw, body, assert_alive):
    response = json_call(raw, "AmazonSQS.ListQueues", body)
    assert response.status == 400, response
    assert_alive()


@raw_http_once
def test_json_wrong_member_type(raw, assert_alive):
    response = json_call(raw, "AmazonSQS.CreateQueue", {"QueueName": 12345})
    assert response.status == 400, response
    response = json_call(raw, "AmazonSQS.ListQueues", {"MaxResults": "ten"})
    assert response.status == 400, response
    response = json_call(raw, "AmazonSQS.CreateQueue", {"QueueName": unique_name("t"), "Attributes": {"DelaySeconds": 5}})
    assert response.status == 400, response
    assert_alive()


@raw_http_once
def test_json_with_wrong_content_type(raw, assert_alive):
    response = json_call(raw, "AmazonSQS.ListQueues", {}, content_type="text/plain")
    assert 400 <= response.status < 500, response
    response = json_call(raw, "AmazonSQS.ListQueues", {}, content_type=FORM)
    assert 400 <= response.status < 500, response
    assert_alive()


@raw_http_once
def test_json_accepts_the_query_mode_header(raw):
    # Newer SDKs send `x-amzn-query-mode: true` (boto/botocore#3295); the server must accept it.
    response = json_call(raw, "AmazonSQS.ListQueues", {}, extra={"x-amzn-query-mode": "true"})
    assert response.status == 200, response
    assert response.header("Content-Type").startswith(JSON)


@raw_http_once
def test_json_empty_body_is_answered(raw, assert_alive):
    # Not documented either way; the server must answer (not drop the connection) and stay up.
    response = json_call(raw, "AmazonSQS.ListQueues", b"")
    assert response.status in (200, 400), response
    assert_alive()


@raw_http_once
def test_json_oversized_body(raw, assert_alive):
    body = b'{"QueueNamePrefix":"' + b"a" * (9 * 1024 * 1024) + b'"}'
    response = json_call(raw, "AmazonSQS.ListQueues", body)
    assert 400 <= response.status < 500, response.status
    assert_alive()


@raw_http_once
def test_json_control_characters_in_fields(raw, assert_alive):
    response = json_call(raw, "AmazonSQS.CreateQueue", {"QueueName": "bad\u0000name"})
    assert response.status == 400
    assert response.header("x-amzn-query-error") == "InvalidParameterValue;Sender"
    response = json_call(raw, "AmazonSQS.ListQueues", {"QueueNamePrefix": "\u0001\u0002"})
    assert response.status == 200
    assert_alive()


@raw_http_once
@pytest.mark.parametrize("slash", ["", "/"], ids=["plain", "trailing-slash"])
def test_query_posted_to_the_queue_url_path(raw, sqs, slash):
    """SDKs that use the queue URL as the endpoint post to /<account>/<name> without a QueueUrl parameter;
    the GetQueueAttributes reference's Query example does exactly this (`POST /177715257436/MyQueue/`)."""
    name = unique_name("path")
    sqs.create_queue(QueueName=name, Attributes={"DelaySeconds": "3"})
    response = raw(
        urllib.parse.urlencode(
            {"Action": "GetQueueAttributes", "Version": "2012-11-05", "AttributeName.1": "DelaySeconds"}
        ).encode(),
        {"Content-Type": FORM},
        path=f"/{DEFAULT_ACCOUNT}/{name}{slash}",
    )
    assert response.status == 200, response
    root = ET.fromstring(response.body)
    attribute = root.find("sqs:GetQueueAttributesResult/sqs:Attribute", NS)
    assert attribute.findtext("sqs:Name", namespaces=NS) == "DelaySeconds"
    assert attribute.findtext("sqs:Value", namespaces=NS) == "3"


@raw_http_once
def test_json_modelled_error_types(raw, sqs):
    """__type is `com.amazonaws.sqs#<shape>`; x-amzn-query-error is `<Query code>;Sender` (Query model codes)."""
    name = unique_name("types")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]

    response = json_call(raw, "AmazonSQS.GetQueueAttributes", {"QueueUrl": url, "AttributeNames": ["Foo"]})
    assert response.status == 400
    assert response.json() == {"__type": "com.amazonaws.sqs#InvalidAttributeName", "message": "Unknown Attribute Foo."}
    assert response.header("x-amzn-query-error") == "InvalidAttributeName;Sender"

    response = json_call(raw, "AmazonSQS.SetQueueAttributes", {"QueueUrl": url, "Attributes": {"Policy": "{"}})
    assert response.status == 400
    # hashicorp/terraform-provider-aws#42209: a real capture of exactly this body.
    assert response.json() == {
        "__type": "com.amazonaws.sqs#InvalidAttributeValue",
        "message": "Invalid value for the parameter Policy.",
    }

    assert json_call(raw, "AmazonSQS.PurgeQueue", {"QueueUrl": url}).status == 200
    response = json_call(raw, "AmazonSQS.PurgeQueue", {"QueueUrl": url})
    assert response.json()["__type"] == "com.amazonaws.sqs#PurgeQueueInProgress"
    assert response.header("x-amzn-query-error") == "AWS.SimpleQueueService.PurgeQueueInProgress;Sender"

    assert json_call(raw, "AmazonSQS.DeleteQueue", {"QueueUrl": url}).status == 200
    response = json_call(raw, "AmazonSQS.CreateQueue", {"QueueName": name})
    assert response.status == 400
    assert response.json()["__type"] == "com.amazonaws.sqs#QueueDeletedRecently"
    assert response.header("x-amzn-query-error") == "AWS.SimpleQueueService.QueueDeletedRecently;Sender"


@raw_http_once
def test_json_list_queues_without_matches_is_an_empty_object(raw):
    response = json_call(raw, "AmazonSQS.ListQueues", {"QueueNamePrefix": unique_name("none")})
    assert response.status == 200
    assert response.json() == {}


def query_read(server, params):
    """A Query request whose response must be well-formed XML (XML 1.0 has no way to carry U+0000-U+0008,
    U+000B, U+000C, U+000E-U+001F, U+FFFE or U+FFFF, not even as character references)."""
    response = raw_request(server, urllib.parse.urlencode({**params, "Version": "2012-11-05"}).encode(), {"Content-Type": FORM})
    try:
        root = ET.fromstring(response.body)
    except ET.ParseError as e:
        raise AssertionError(f"ill-formed XML from {params['Action']}: {e}: {response.body!r}") from None
    return response, root


@pytest.mark.parametrize("value", ["a\x0bb", "a\x0cb"], ids=["vertical-tab", "form-feed"])
def test_stored_tag_values_stay_readable_over_query(sqs, server, queue_url, value):
    """Vertical tab and form feed are white space to some definitions, so a server may accept them in a tag
    value; if it does, a Query client must still be able to read the tags back."""
    try:
        sqs.tag_queue(QueueUrl=queue_url, Tags={"k": value})
    except ClientError as e:
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        return
    response, root = query_read(server, {"Action": "ListQueueTags", "QueueUrl": queue_url})
    assert response.status == 200
    assert root.findtext("sqs:ListQueueTagsResult/sqs:Tag/sqs:Value", namespaces=NS) == value


def test_stored_policy_stays_readable_over_query(sqs, server, queue_url):
    """U+FFFE is valid in a JSON string but not in XML; a policy holding it must be either rejected or
    readable by Query clients."""
    policy = json.dumps({"Version": "2012-10-17", "Id": "a\ufffeb", "Statement": []}, ensure_ascii=False)
    try:
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": policy})
    except ClientError as e:
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        return
    response, _ = query_read(server, {"Action": "GetQueueAttributes", "QueueUrl": queue_url, "AttributeName.1": "Policy"})
    assert response.status == 200


@raw_http_once
def test_query_errors_echoing_control_characters_are_well_formed(server, queue_url):
    response, root = query_read(
        server, {"Action": "GetQueueAttributes", "QueueUrl": queue_url, "AttributeName.1": "Foo\x01"}
    )
    assert response.status == 400
    assert root.findtext("sqs:Error/sqs:Code", namespaces=NS) == "InvalidAttributeName"


@raw_http_once
def test_query_create_queue_example_of_the_api_reference(raw, sqs):
    """The CreateQueue reference's Query example, verbatim but for the name: indexed attributes and an
    unindexed `Tag.Key` / `Tag.Value` pair."""
    name = unique_name("refcq")
    body = f"Action=CreateQueue&QueueName={name}&Attribute.1.Name=VisibilityTimeout&Attribute.1.Value=40&Tag.Key=QueueType&Tag.Value=Production"
    response = raw(body.encode(), {"Content-Type": FORM})
    assert response.status == 200, response.body
    url = ET.fromstring(response.body).findtext("sqs:CreateQueueResult/sqs:QueueUrl", namespaces=NS)
    assert url.endswith(f"/{DEFAULT_ACCOUNT}/{name}")
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"] == {"VisibilityTimeout": "40"}
    assert sqs.list_queue_tags(QueueUrl=url).get("Tags", {}) == {"QueueType": "Production"}


@raw_http_once
@pytest.mark.parametrize(
    "name,value",
    [("VisibilityTimeout", "35"), ("ReceiveMessageWaitTimeSeconds", "20"), ("DelaySeconds", "45")],
)
def test_query_set_queue_attributes_examples_of_the_api_reference(raw, sqs, name, value):
    """The SetQueueAttributes reference's Query examples: posted to `/<account>/<queue>/` with an unindexed
    `Attribute.Name` / `Attribute.Value` pair and no QueueUrl or Version."""
    queue = unique_name("refsqa")
    url = sqs.create_queue(QueueName=queue)["QueueUrl"]
    body = f"Action=SetQueueAttributes&Attribute.Name={name}&Attribute.Value={value}"
    response = raw(body.encode(), {"Content-Type": FORM}, path=f"/{DEFAULT_ACCOUNT}/{queue}/")
    assert response.status == 200, response.body
    assert ET.fromstring(response.body).tag == "{http://queue.amazonaws.com/doc/2012-11-05/}SetQueueAttributesResponse"
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[name])["Attributes"] == {name: value}


@raw_http_once
def test_query_get_create_queue_on_a_queue_url_is_invalid_action(raw, sqs):
    """The CreateQueue reference's GET example sends CreateQueue to a queue's own URL; AWS answers any
    action that is not about that queue there with 400 InvalidAction, by GET or POST."""
    name = unique_name("refget")
    sqs.create_queue(QueueName=name)
    path = (
        f"/{DEFAULT_ACCOUNT}/{name}/?Action=CreateQueue&QueueName={name}&Attribute.1.Name=DelaySeconds"
        "&Attribute.1.Value=45&Expires=2020-12-20T22%3A52%3A43PST&Version=2012-11-05"
    )
    response = raw(b"", {}, path=path, method="GET")
    assert response.status == 400, response.body
    assert query_error(response) == ("Sender", "InvalidAction", "The action CreateQueue is not valid for this endpoint.")
    response = raw(b"", {}, path=f"/{DEFAULT_ACCOUNT}/{name}?Action=ListQueues", method="GET")
    assert query_error(response) == ("Sender", "InvalidAction", "The action ListQueues is not valid for this endpoint.")
    response = raw(b"Action=ListQueues", {"Content-Type": FORM}, path=f"/{DEFAULT_ACCOUNT}/{name}")
    assert query_error(response) == ("Sender", "InvalidAction", "The action ListQueues is not valid for this endpoint.")
    # The queue's own actions are served at its URL.
    response = raw(b"", {}, path=f"/{DEFAULT_ACCOUNT}/{name}?Action=GetQueueAttributes&AttributeName.1=DelaySeconds", method="GET")
    assert response.status == 200, response.body
    assert sqs.get_queue_attributes(QueueUrl=name, AttributeNames=["DelaySeconds"])["Attributes"] == {"DelaySeconds": "0"}


@raw_http_once
@pytest.mark.parametrize("path", ["/", "/{account}/{name}", "/{account}/{name}/"])
def test_query_get_without_an_action_is_404_unknown_operation(raw, sqs, path):
    name = unique_name("noaction")
    sqs.create_queue(QueueName=name)
    response = raw(b"", {}, path=path.format(account=DEFAULT_ACCOUNT, name=name), method="GET")
    assert response.status == 404, response
    assert response.body == b"<UnknownOperationException/>", response.body


@raw_http_once
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_query_request_accepting_json_is_answered_in_json(raw, sqs, method):
    """A Query request with `Accept: application/json` gets its response as JSON, under
    `<Action>Response`; without that header it stays XML."""
    prefix = unique_name("acceptjson")
    url = sqs.create_queue(QueueName=prefix)["QueueUrl"]
    params = urllib.parse.urlencode({"Action": "ListQueues", "QueueNamePrefix": prefix})
    if method == "GET":
        response = raw(b"", {"Accept": "application/json"}, path=f"/?{params}", method="GET")
    else:
        response = raw(params.encode(), {"Content-Type": FORM, "Accept": "application/json"})
    assert response.status == 200, response.body
    assert response.header("Content-Type").startswith("application/json"), response.headers
    document = response.json()
    assert list(document) == ["ListQueuesResponse"], document
    assert document["ListQueuesResponse"]["ListQueuesResult"]["QueueUrls"] == [url]
    assert document["ListQueuesResponse"]["ResponseMetadata"]["RequestId"] == response.header("x-amzn-RequestId")
    plain = raw(params.encode(), {"Content-Type": FORM})
    assert ET.fromstring(plain.body).tag == "{http://queue.amazonaws.com/doc/2012-11-05/}ListQueuesResponse"


@raw_http_once
def test_query_empty_result_is_self_closed(raw, sqs):
    url = sqs.create_queue(QueueName=unique_name("emptyresult"))["QueueUrl"]
    response = query_call(raw, {"Action": "ReceiveMessage", "QueueUrl": url, "WaitTimeSeconds": "0"})
    assert response.status == 200, response.body
    assert b"<ReceiveMessageResult/>" in response.body, response.body
    response = query_call(raw, {"Action": "ListQueues", "QueueNamePrefix": unique_name("none")})
    assert b"<ListQueuesResult/>" in response.body, response.body
