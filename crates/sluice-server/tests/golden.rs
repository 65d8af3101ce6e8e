//! Wire-level golden tests: raw HTTP/1.1 requests, exact status, headers and body bytes.
//!
//! Request ids are replaced by `{REQUEST_ID}` (taken from the `x-amzn-RequestId` header, which must match
//! the id in a Query body) and epoch-second timestamps by `{TS}`.
//!
//! Sources for the expected bytes: the SQS API reference examples (CreateQueue, GetQueueAttributes,
//! SetQueueAttributes in /work/shared/spec/seed), the service models, and the notes on real AWS responses
//! (/tmp/research/sqs-errors.md). Where the expectation is only a snapshot of Sluice's current bytes
//! (AWS's exact form is unknown), the test says so.

mod common;

use common::{
    authorization, form_encode, http_request, json_post, query_post, raw, RawResponse, TestServer,
};

const XMLNS: &str = "http://queue.amazonaws.com/doc/2012-11-05/";
const JSON_TYPE: &str = "application/x-amz-json-1.0";

/// The account the API reference examples use in their queue URLs.
const DOC_ACCOUNT: &str = "177715257436";

/// Replaces the digits that follow each `marker` with `{TS}`.
fn mask_digits_after(text: &str, marker: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(marker) {
        let (before, after) = rest.split_at(pos + marker.len());
        out.push_str(before);
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 {
            out.push_str("{TS}");
        }
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

fn mask_timestamps(text: &str) -> String {
    let mut t = text.to_string();
    for name in ["CreatedTimestamp", "LastModifiedTimestamp"] {
        t = mask_digits_after(&t, &format!("<Name>{name}</Name><Value>"));
        t = mask_digits_after(&t, &format!("\"{name}\":\""));
    }
    t
}

/// Status, Content-Type, request id present, and `x-amzn-query-error` as given (None: absent).
fn assert_head(r: &RawResponse, status: u16, content_type: &str, query_error: Option<&str>) {
    assert_eq!(r.status, status, "status; body: {}", r.text());
    assert_eq!(r.header("content-type"), Some(content_type), "content-type");
    let id = r.request_id();
    assert!(!id.is_empty());
    assert_eq!(
        r.header("x-amzn-query-error"),
        query_error,
        "x-amzn-query-error"
    );
    assert_eq!(
        r.header("content-length"),
        Some(r.body.len().to_string().as_str()),
        "content-length"
    );
}

fn xml_error(code: &str, message: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"{XMLNS}\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message><Detail/></Error><RequestId>{{REQUEST_ID}}</RequestId></ErrorResponse>"
    )
}

/// A Query response document; `Some("")` is a result with nothing in it, which AWS self-closes.
fn xml_ok(op: &str, result: Option<&str>) -> String {
    let result = match result {
        Some("") => format!("<{op}Result/>"),
        Some(r) => format!("<{op}Result>{r}</{op}Result>"),
        None => String::new(),
    };
    format!(
        "<?xml version=\"1.0\"?><{op}Response xmlns=\"{XMLNS}\">{result}<ResponseMetadata><RequestId>{{REQUEST_ID}}</RequestId></ResponseMetadata></{op}Response>"
    )
}

async fn query(server: &TestServer, body: &str) -> RawResponse {
    raw(server.addr(), query_post(&server.host(), "/", body)).await
}

async fn json(server: &TestServer, operation: &str, body: &str) -> RawResponse {
    raw(server.addr(), json_post(&server.host(), operation, body)).await
}

/// A JSON request with the API reference example's headers (Host `sqs.us-east-1.amazonaws.com`) and a
/// credential for `DOC_ACCOUNT`.
async fn doc_json(server: &TestServer, operation: &str, body: &str) -> RawResponse {
    let auth = authorization(DOC_ACCOUNT, "us-east-1");
    let target = format!("AmazonSQS.{operation}");
    raw(
        server.addr(),
        http_request(
            "POST",
            "/",
            "sqs.us-east-1.amazonaws.com",
            &[
                ("X-Amz-Target", &target),
                ("X-Amz-Date", "20240101T000000Z"),
                ("Content-Type", JSON_TYPE),
                ("Authorization", &auth),
            ],
            body.as_bytes(),
        ),
    )
    .await
}

/// A Query request with the API reference example's headers and a credential for `DOC_ACCOUNT`.
async fn doc_query(server: &TestServer, path: &str, body: &str) -> RawResponse {
    let auth = authorization(DOC_ACCOUNT, "us-east-1");
    raw(
        server.addr(),
        http_request(
            "POST",
            path,
            "sqs.us-east-1.amazonaws.com",
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("X-Amz-Date", "20240101T000000Z"),
                ("Authorization", &auth),
            ],
            body.as_bytes(),
        ),
    )
    .await
}

/// The API reference writes Query bodies one parameter per line; on the wire they are one string.
fn doc_form(lines: &str) -> String {
    lines.lines().map(str::trim).collect::<Vec<_>>().concat()
}

// ---------------------------------------------------------------------------------------------------------
// Successful responses
// ---------------------------------------------------------------------------------------------------------

/// The CreateQueue API reference's JSON request body, byte for byte.
const DOC_CREATE_QUEUE_JSON: &str = "{\n \"QueueName\":\"MyQueue\",\n \"Attributes\": {\n \"VisibilityTimeout\": \"40\"\n },\n \"tags\": {\n \"QueueType\": \"Production\"\n }\n}";

#[tokio::test]
async fn create_queue_json() {
    let server = TestServer::start().await;
    let r = doc_json(&server, "CreateQueue", DOC_CREATE_QUEUE_JSON).await;
    assert_head(&r, 200, JSON_TYPE, None);
    let expected = format!(
        "{{\"QueueUrl\":\"{}/{DOC_ACCOUNT}/MyQueue\"}}",
        server.url()
    );
    assert_eq!(r.text(), expected);
    // The same structure as the reference's sample response.
    let doc: serde_json::Value = serde_json::from_str(
        r#"{"QueueUrl":"https://sqs.us-east-1.amazonaws.com/177715257436/MyQueue"}"#,
    )
    .unwrap();
    let got = r.json();
    assert_eq!(
        got.as_object().unwrap().keys().collect::<Vec<_>>(),
        doc.as_object().unwrap().keys().collect::<Vec<_>>()
    );

    // The attribute and the tag were applied.
    let r = doc_json(
        &server,
        "GetQueueAttributes",
        r#"{"QueueUrl":"https://sqs.us-east-1.amazonaws.com/177715257436/MyQueue/","AttributeNames":["VisibilityTimeout"]}"#,
    )
    .await;
    assert_eq!(r.text(), r#"{"Attributes":{"VisibilityTimeout":"40"}}"#);
    let r = doc_json(
        &server,
        "ListQueueTags",
        r#"{"QueueUrl":"https://sqs.us-east-1.amazonaws.com/177715257436/MyQueue"}"#,
    )
    .await;
    assert_eq!(r.text(), r#"{"Tags":{"QueueType":"Production"}}"#);
}

#[tokio::test]
async fn create_queue_xml() {
    let server = TestServer::start().await;
    let r = query(
        &server,
        "Action=CreateQueue&QueueName=MyQueue&Attribute.1.Name=VisibilityTimeout&Attribute.1.Value=40&Tag.1.Key=QueueType&Tag.1.Value=Production&Version=2012-11-05",
    )
    .await;
    assert_head(&r, 200, "text/xml", None);
    let url = server.queue_url("MyQueue");
    assert_eq!(
        r.normalised(),
        xml_ok("CreateQueue", Some(&format!("<QueueUrl>{url}</QueueUrl>")))
    );

    let r = query(
        &server,
        &format!(
            "Action=ListQueueTags&QueueUrl={}",
            form_encode(&server.queue_url("MyQueue"))
        ),
    )
    .await;
    assert_eq!(
        r.normalised(),
        xml_ok(
            "ListQueueTags",
            Some("<Tag><Key>QueueType</Key><Value>Production</Value></Tag>")
        )
    );
}

/// The attribute elements of a new standard queue in the order of the API reference's Query example.
fn standard_all_xml(arn: &str) -> String {
    [
        ("QueueArn", arn),
        ("ApproximateNumberOfMessages", "0"),
        ("ApproximateNumberOfMessagesNotVisible", "0"),
        ("ApproximateNumberOfMessagesDelayed", "0"),
        ("CreatedTimestamp", "{TS}"),
        ("LastModifiedTimestamp", "{TS}"),
        ("VisibilityTimeout", "30"),
        ("MaximumMessageSize", "1048576"),
        ("MessageRetentionPeriod", "345600"),
        ("DelaySeconds", "0"),
        ("ReceiveMessageWaitTimeSeconds", "0"),
        ("SqsManagedSseEnabled", "true"),
    ]
    .iter()
    .map(|(n, v)| format!("<Attribute><Name>{n}</Name><Value>{v}</Value></Attribute>"))
    .collect()
}

#[tokio::test]
async fn get_queue_attributes_all_xml() {
    let server = TestServer::start().await;
    let r = doc_query(&server, "/", "Action=CreateQueue&QueueName=MyQueue").await;
    assert_eq!(r.status, 200, "{}", r.text());
    // The reference's request: the queue named by the path (with its trailing slash), `All` by index.
    let r = doc_query(
        &server,
        "/177715257436/MyQueue/",
        &doc_form("Action=GetQueueAttributes\n&AttributeName.1=All"),
    )
    .await;
    assert_head(&r, 200, "text/xml", None);
    let arn = format!("arn:aws:sqs:us-east-1:{DOC_ACCOUNT}:MyQueue");
    assert_eq!(
        mask_timestamps(&r.normalised()),
        xml_ok("GetQueueAttributes", Some(&standard_all_xml(&arn)))
    );
}

#[tokio::test]
async fn get_queue_attributes_all_json() {
    let server = TestServer::start().await;
    let r = doc_json(&server, "CreateQueue", r#"{"QueueName":"MyQueue"}"#).await;
    assert_eq!(r.status, 200, "{}", r.text());
    // The reference's request body, byte for byte.
    let r = doc_json(
        &server,
        "GetQueueAttributes",
        "{\n \"QueueUrl\": \"https://sqs.us-east-1.amazonaws.com/177715257436/MyQueue/\",\n \"AttributeNames\": [\"All\"]\n}",
    )
    .await;
    assert_head(&r, 200, JSON_TYPE, None);
    let expected = format!(
        "{{\"Attributes\":{{\"QueueArn\":\"arn:aws:sqs:us-east-1:{DOC_ACCOUNT}:MyQueue\",\"ApproximateNumberOfMessages\":\"0\",\"ApproximateNumberOfMessagesNotVisible\":\"0\",\"ApproximateNumberOfMessagesDelayed\":\"0\",\"CreatedTimestamp\":\"{{TS}}\",\"LastModifiedTimestamp\":\"{{TS}}\",\"VisibilityTimeout\":\"30\",\"MaximumMessageSize\":\"1048576\",\"MessageRetentionPeriod\":\"345600\",\"DelaySeconds\":\"0\",\"ReceiveMessageWaitTimeSeconds\":\"0\",\"SqsManagedSseEnabled\":\"true\"}}}}"
    );
    assert_eq!(mask_timestamps(&r.text()), expected);

    // The reference's second example: three named attributes, in the order asked for.
    let r = doc_json(
        &server,
        "GetQueueAttributes",
        "{\n \"QueueUrl\": \"https://sqs.us-east-1.amazonaws.com/177715257436/MyQueue/\",\n \"AttributeNames\": [\"VisibilityTimeout\", \"DelaySeconds\", \"ReceiveMessageWaitTimeSeconds\"]\n}",
    )
    .await;
    assert_head(&r, 200, JSON_TYPE, None);
    assert_eq!(
        r.text(),
        r#"{"Attributes":{"VisibilityTimeout":"30","DelaySeconds":"0","ReceiveMessageWaitTimeSeconds":"0"}}"#
    );
}

#[tokio::test]
async fn get_queue_attributes_doc_example_structure_with_policy_and_redrive_allow_policy() {
    // The reference's JSON sample response lists Policy and RedriveAllowPolicy when they are set; check the
    // key set against it (the values differ: other account, timestamps, message counts).
    let server = TestServer::start().await;
    let r = doc_json(&server, "CreateQueue", r#"{"QueueName":"MyQueue","Attributes":{"VisibilityTimeout":"60","MaximumMessageSize":"12345","ReceiveMessageWaitTimeSeconds":"2"}}"#).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let policy = r#"{"Version":"2012-10-17","Id":"Policy1677095510157","Statement":[{"Sid":"Stmt1677095506939","Effect":"Allow","Principal":"*","Action":"sqs:ReceiveMessage","Resource":"arn:aws:sqs:us-east-1:555555555555:MyQueue6"}]}"#;
    let body = serde_json::json!({
        "QueueUrl": "https://sqs.us-east-1.amazonaws.com/177715257436/MyQueue/",
        "Attributes": {"Policy": policy, "RedriveAllowPolicy": "{\"redrivePermission\":\"allowAll\"}"}
    });
    let r = doc_json(&server, "SetQueueAttributes", &body.to_string()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = doc_json(
        &server,
        "GetQueueAttributes",
        r#"{"QueueUrl":"https://sqs.us-east-1.amazonaws.com/177715257436/MyQueue/","AttributeNames":["All"]}"#,
    )
    .await;
    assert_head(&r, 200, JSON_TYPE, None);
    let doc_sample = r#"{"Attributes":{"QueueArn":"arn:aws:sqs:us-east-1:555555555555:MyQueue","ApproximateNumberOfMessages":"0","ApproximateNumberOfMessagesNotVisible":"0","ApproximateNumberOfMessagesDelayed":"0","CreatedTimestamp":"1676665337","LastModifiedTimestamp":"1677096375","VisibilityTimeout":"60","MaximumMessageSize":"12345","MessageRetentionPeriod":"345600","DelaySeconds":"0","Policy":"{\"Version\":\"2012-10-17\",\"Id\":\"Policy1677095510157\",\"Statement\":[{\"Sid\":\"Stmt1677095506939\",\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"sqs:ReceiveMessage\",\"Resource\":\"arn:aws:sqs:us-east-1:555555555555:MyQueue6\"}]}","RedriveAllowPolicy":"{\"redrivePermission\":\"allowAll\"}","ReceiveMessageWaitTimeSeconds":"2","SqsManagedSseEnabled":"true"}}"#;
    let doc: serde_json::Value = serde_json::from_str(doc_sample).unwrap();
    let got = r.json();
    let keys = |v: &serde_json::Value| {
        v["Attributes"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
    };
    assert_eq!(keys(&got), keys(&doc));
    for k in [
        "VisibilityTimeout",
        "MaximumMessageSize",
        "ReceiveMessageWaitTimeSeconds",
        "Policy",
        "RedriveAllowPolicy",
        "MessageRetentionPeriod",
        "DelaySeconds",
        "SqsManagedSseEnabled",
    ] {
        assert_eq!(got["Attributes"][k], doc["Attributes"][k], "{k}");
    }
}

#[tokio::test]
async fn list_queues_xml_with_two_queues() {
    let server = TestServer::start().await;
    for name in ["beta", "alpha"] {
        let r = query(&server, &format!("Action=CreateQueue&QueueName={name}")).await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let r = query(&server, "Action=ListQueues").await;
    assert_head(&r, 200, "text/xml", None);
    let expected = xml_ok(
        "ListQueues",
        Some(&format!(
            "<QueueUrl>{}</QueueUrl><QueueUrl>{}</QueueUrl>",
            server.queue_url("alpha"),
            server.queue_url("beta")
        )),
    );
    assert_eq!(r.normalised(), expected);

    // Paged: one URL and a NextToken element after it.
    let r = query(&server, "Action=ListQueues&MaxResults=1").await;
    assert_head(&r, 200, "text/xml", None);
    let text = r.normalised();
    let prefix = format!(
        "<?xml version=\"1.0\"?><ListQueuesResponse xmlns=\"{XMLNS}\"><ListQueuesResult><QueueUrl>{}</QueueUrl><NextToken>",
        server.queue_url("alpha")
    );
    assert!(text.starts_with(&prefix), "{text}");
    assert!(
        text.ends_with("</NextToken></ListQueuesResult><ResponseMetadata><RequestId>{REQUEST_ID}</RequestId></ResponseMetadata></ListQueuesResponse>"),
        "{text}"
    );

    // The same over JSON.
    let r = json(&server, "ListQueues", "{}").await;
    assert_head(&r, 200, JSON_TYPE, None);
    assert_eq!(
        r.text(),
        format!(
            "{{\"QueueUrls\":[\"{}\",\"{}\"]}}",
            server.queue_url("alpha"),
            server.queue_url("beta")
        )
    );
}

#[tokio::test]
async fn list_queue_tags_xml() {
    let server = TestServer::start().await;
    let r = query(
        &server,
        "Action=CreateQueue&QueueName=tagged&Tag.1.Key=team&Tag.1.Value=shop&Tag.2.Key=env&Tag.2.Value=",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let url = form_encode(&server.queue_url("tagged"));
    let r = query(
        &server,
        &format!("Action=TagQueue&QueueUrl={url}&Tag.1.Key=cost&Tag.1.Value=a%2Fb%3Dc%2Bd-e%40f"),
    )
    .await;
    assert_head(&r, 200, "text/xml", None);
    assert_eq!(r.normalised(), xml_ok("TagQueue", None));

    let r = query(&server, &format!("Action=ListQueueTags&QueueUrl={url}")).await;
    assert_head(&r, 200, "text/xml", None);
    assert_eq!(
        r.normalised(),
        xml_ok(
            "ListQueueTags",
            Some("<Tag><Key>cost</Key><Value>a/b=c+d-e@f</Value></Tag><Tag><Key>env</Key><Value></Value></Tag><Tag><Key>team</Key><Value>shop</Value></Tag>")
        )
    );

    let r = query(
        &server,
        &format!("Action=UntagQueue&QueueUrl={url}&TagKey.1=cost&TagKey.2=env"),
    )
    .await;
    assert_eq!(r.normalised(), xml_ok("UntagQueue", None));
    let r = json(
        &server,
        "ListQueueTags",
        &format!(r#"{{"QueueUrl":"{}"}}"#, server.queue_url("tagged")),
    )
    .await;
    assert_eq!(r.text(), r#"{"Tags":{"team":"shop"}}"#);
}

#[tokio::test]
async fn xml_text_is_escaped() {
    // A policy's quotes and an ampersand in the XML of GetQueueAttributes (a snapshot of the escaping).
    let server = TestServer::start().await;
    query(&server, "Action=CreateQueue&QueueName=esc").await;
    let url = form_encode(&server.queue_url("esc"));
    let policy =
        r#"{"Id":"a&b<c>'d'","Statement":{"Effect":"Allow","Principal":"*","Action":"sqs:*"}}"#;
    let r = query(
        &server,
        &format!(
            "Action=SetQueueAttributes&QueueUrl={url}&Attribute.1.Name=Policy&Attribute.1.Value={}",
            form_encode(policy)
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = query(
        &server,
        &format!("Action=GetQueueAttributes&QueueUrl={url}&AttributeName.1=Policy"),
    )
    .await;
    assert_head(&r, 200, "text/xml", None);
    assert_eq!(
        r.normalised(),
        xml_ok(
            "GetQueueAttributes",
            Some("<Attribute><Name>Policy</Name><Value>{&quot;Id&quot;:&quot;a&amp;b&lt;c&gt;&apos;d&apos;&quot;,&quot;Statement&quot;:{&quot;Effect&quot;:&quot;Allow&quot;,&quot;Principal&quot;:&quot;*&quot;,&quot;Action&quot;:&quot;sqs:*&quot;}}</Value></Attribute>")
        )
    );
}

#[tokio::test]
async fn add_permission_xml_and_the_policy_it_writes() {
    let server = TestServer::start().await;
    query(&server, "Action=CreateQueue&QueueName=perm").await;
    let url = form_encode(&server.queue_url("perm"));
    let r = query(
        &server,
        &format!("Action=AddPermission&QueueUrl={url}&Label=L&AWSAccountId.1=111122223333&ActionName.1=*"),
    )
    .await;
    assert_head(&r, 200, "text/xml", None);
    assert_eq!(r.normalised(), xml_ok("AddPermission", None));
    let r = json(
        &server,
        "GetQueueAttributes",
        &format!(
            r#"{{"QueueUrl":"{}","AttributeNames":["Policy"]}}"#,
            server.queue_url("perm")
        ),
    )
    .await;
    // The policy real SQS writes (a captured document), as a JSON string value.
    let arn = "arn:aws:sqs:us-east-1:000000000000:perm";
    let policy = format!(
        r#"{{"Version":"2008-10-17","Id":"{arn}/SQSDefaultPolicy","Statement":[{{"Sid":"L","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111122223333:root"}},"Action":"SQS:*","Resource":"{arn}"}}]}}"#
    );
    assert_eq!(
        r.text(),
        serde_json::json!({"Attributes": {"Policy": policy}}).to_string()
    );
    let r = query(
        &server,
        &format!("Action=RemovePermission&QueueUrl={url}&Label=L"),
    )
    .await;
    assert_head(&r, 200, "text/xml", None);
    assert_eq!(r.normalised(), xml_ok("RemovePermission", None));
}

#[tokio::test]
async fn list_dead_letter_source_queues_xml_and_json() {
    let server = TestServer::start().await;
    query(&server, "Action=CreateQueue&QueueName=dlq").await;
    let redrive = form_encode(
        r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":"3"}"#,
    );
    for name in ["src2", "src1"] {
        let r = query(
            &server,
            &format!("Action=CreateQueue&QueueName={name}&Attribute.1.Name=RedrivePolicy&Attribute.1.Value={redrive}"),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let url = form_encode(&server.queue_url("dlq"));
    let r = query(
        &server,
        &format!("Action=ListDeadLetterSourceQueues&QueueUrl={url}"),
    )
    .await;
    assert_head(&r, 200, "text/xml", None);
    assert_eq!(
        r.normalised(),
        xml_ok(
            "ListDeadLetterSourceQueues",
            Some(&format!(
                "<QueueUrl>{}</QueueUrl><QueueUrl>{}</QueueUrl>",
                server.queue_url("src1"),
                server.queue_url("src2")
            ))
        )
    );
    // JSON: the member is lower-case `queueUrls`.
    let r = json(
        &server,
        "ListDeadLetterSourceQueues",
        &format!(r#"{{"QueueUrl":"{}"}}"#, server.queue_url("dlq")),
    )
    .await;
    assert_head(&r, 200, JSON_TYPE, None);
    assert_eq!(
        r.text(),
        format!(
            r#"{{"queueUrls":["{}","{}"]}}"#,
            server.queue_url("src1"),
            server.queue_url("src2")
        )
    );
}

#[tokio::test]
async fn the_region_comes_from_the_host_when_there_is_no_credential() {
    let server = TestServer::start().await;
    let r = raw(
        server.addr(),
        query_post(
            "sqs.eu-west-1.amazonaws.com",
            "/",
            "Action=CreateQueue&QueueName=eu",
        ),
    )
    .await;
    assert_head(&r, 200, "text/xml", None);
    let port = server.addr().port();
    assert_eq!(
        r.normalised(),
        xml_ok(
            "CreateQueue",
            Some(&format!(
                "<QueueUrl>http://sqs.eu-west-1.localhost:{port}/000000000000/eu</QueueUrl>"
            ))
        )
    );
    let r = json(
        &server,
        "GetQueueAttributes",
        &format!(
            r#"{{"QueueUrl":"http://sqs.eu-west-1.localhost:{port}/000000000000/eu","AttributeNames":["QueueArn"]}}"#
        ),
    )
    .await;
    assert_eq!(
        r.text(),
        r#"{"Attributes":{"QueueArn":"arn:aws:sqs:eu-west-1:000000000000:eu"}}"#
    );
    // Not in the default region.
    let r = query(&server, "Action=ListQueues").await;
    assert_eq!(r.normalised(), xml_ok("ListQueues", Some("")));
}

#[tokio::test]
async fn delete_and_purge_have_empty_results() {
    let server = TestServer::start().await;
    let url = form_encode(&server.queue_url("gone"));
    query(&server, "Action=CreateQueue&QueueName=gone").await;
    let r = query(&server, &format!("Action=PurgeQueue&QueueUrl={url}")).await;
    assert_head(&r, 200, "text/xml", None);
    assert_eq!(r.normalised(), xml_ok("PurgeQueue", None));
    let r = query(&server, &format!("Action=DeleteQueue&QueueUrl={url}")).await;
    assert_head(&r, 200, "text/xml", None);
    assert_eq!(r.normalised(), xml_ok("DeleteQueue", None));
}

#[tokio::test]
async fn a_get_query_string_request_works_like_a_post() {
    let server = TestServer::start().await;
    query(&server, "Action=CreateQueue&QueueName=one").await;
    let get = raw(
        server.addr(),
        http_request("GET", "/?Action=ListQueues", &server.host(), &[], b""),
    )
    .await;
    assert_head(&get, 200, "text/xml", None);
    let post = query(&server, "Action=ListQueues").await;
    assert_eq!(get.normalised(), post.normalised());
    assert_eq!(
        get.normalised(),
        xml_ok(
            "ListQueues",
            Some(&format!("<QueueUrl>{}</QueueUrl>", server.queue_url("one")))
        )
    );
}

/// A queue's URL is the endpoint of the actions about that queue only: any other action sent there,
/// by GET or POST, is `InvalidAction` for that endpoint. (The CreateQueue reference's GET example sends
/// CreateQueue to a queue-URL path; AWS itself refuses it.)
#[tokio::test]
async fn a_queue_url_endpoint_serves_only_queue_actions() {
    let server = TestServer::start().await;
    query(&server, "Action=CreateQueue&QueueName=MyQueue").await;
    let get = |target: &str| {
        raw(
            server.addr(),
            http_request("GET", target, &server.host(), &[], b""),
        )
    };
    let r = get("/000000000000/MyQueue/?Action=CreateQueue&QueueName=MyQueue&Attribute.1.Name=DelaySeconds&Attribute.1.Value=45&Expires=2020-12-20T22%3A52%3A43PST&Version=2012-11-05").await;
    assert_head(&r, 400, "text/xml", None);
    assert_eq!(
        r.normalised(),
        xml_error(
            "InvalidAction",
            "The action CreateQueue is not valid for this endpoint."
        )
    );
    for action in [
        "ListQueues",
        "GetQueueUrl&QueueName=MyQueue",
        "ListMessageMoveTasks&SourceArn=arn:aws:sqs:us-east-1:000000000000:MyQueue",
    ] {
        let r = get(&format!("/000000000000/MyQueue?Action={action}")).await;
        let name = action.split('&').next().unwrap_or(action);
        assert_eq!(
            r.normalised(),
            xml_error(
                "InvalidAction",
                &format!("The action {name} is not valid for this endpoint.")
            ),
            "{action}"
        );
    }
    let r = raw(
        server.addr(),
        query_post(&server.host(), "/000000000000/MyQueue", "Action=ListQueues"),
    )
    .await;
    assert_eq!(
        r.normalised(),
        xml_error(
            "InvalidAction",
            "The action ListQueues is not valid for this endpoint."
        )
    );
    // The queue's own actions are served there, by GET as by POST.
    let r =
        get("/000000000000/MyQueue?Action=GetQueueAttributes&AttributeName.1=DelaySeconds").await;
    assert_head(&r, 200, "text/xml", None);
    assert_eq!(
        r.normalised(),
        xml_ok(
            "GetQueueAttributes",
            Some("<Attribute><Name>DelaySeconds</Name><Value>0</Value></Attribute>")
        )
    );
    // The service endpoint still serves every action.
    let r = get("/?Action=ListQueues").await;
    assert_head(&r, 200, "text/xml", None);
}

/// A GET that names no action gets AWS's bare 404, not an error document.
#[tokio::test]
async fn a_get_without_an_action_is_404_unknown_operation() {
    let server = TestServer::start().await;
    query(&server, "Action=CreateQueue&QueueName=q").await;
    for target in [
        "/000000000000/q",
        "/000000000000/q/",
        "/",
        "/?Version=2012-11-05",
    ] {
        let r = raw(
            server.addr(),
            http_request("GET", target, &server.host(), &[], b""),
        )
        .await;
        assert_head(&r, 404, "text/xml", None);
        assert_eq!(r.text(), "<UnknownOperationException/>", "{target}");
    }
    // A POST without an action stays MissingAction (see missing_action_xml).
    let r = raw(
        server.addr(),
        query_post(&server.host(), "/000000000000/q", "Version=2012-11-05"),
    )
    .await;
    assert_eq!(r.status, 400);
}

/// `Accept: application/json` on a Query request (GET or POST) gets the response as JSON, shaped as the
/// XML document (`<Op>Response`, `<Op>Result`, `ResponseMetadata`); the default stays XML. The outline is
/// AWS's; the result's member names are a snapshot of Sluice's choice, the AWS JSON 1.0 names (AWS's
/// own are its internal ones, such as `queueUrls`, with absent members written as null).
#[tokio::test]
async fn a_query_request_accepting_json_is_answered_in_json() {
    let server = TestServer::start().await;
    let accept_json = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Accept", "application/json"),
    ];
    let post = |body: &'static str, headers: &[(&str, &str)]| {
        raw(
            server.addr(),
            http_request("POST", "/", &server.host(), headers, body.as_bytes()),
        )
    };
    let r = post("Action=ListQueues", &accept_json).await;
    assert_head(&r, 200, "application/json", None);
    assert_eq!(
        r.normalised(),
        r#"{"ListQueuesResponse":{"ListQueuesResult":{},"ResponseMetadata":{"RequestId":"{REQUEST_ID}"}}}"#
    );
    let r = post("Action=CreateQueue&QueueName=one", &accept_json).await;
    assert_eq!(
        r.normalised(),
        format!(
            r#"{{"CreateQueueResponse":{{"CreateQueueResult":{{"QueueUrl":"{}"}},"ResponseMetadata":{{"RequestId":"{{REQUEST_ID}}"}}}}}}"#,
            server.queue_url("one")
        )
    );
    let r = raw(
        server.addr(),
        http_request(
            "GET",
            "/?Action=ListQueues",
            &server.host(),
            &[("Accept", "application/json")],
            b"",
        ),
    )
    .await;
    assert_head(&r, 200, "application/json", None);
    assert_eq!(
        r.normalised(),
        format!(
            r#"{{"ListQueuesResponse":{{"ListQueuesResult":{{"QueueUrls":["{}"]}},"ResponseMetadata":{{"RequestId":"{{REQUEST_ID}}"}}}}}}"#,
            server.queue_url("one")
        )
    );
    // An action without a result has only the metadata.
    let url = form_encode(&server.queue_url("one"));
    let r = raw(
        server.addr(),
        http_request(
            "POST",
            "/",
            &server.host(),
            &accept_json,
            format!("Action=PurgeQueue&QueueUrl={url}").as_bytes(),
        ),
    )
    .await;
    assert_eq!(
        r.normalised(),
        r#"{"PurgeQueueResponse":{"ResponseMetadata":{"RequestId":"{REQUEST_ID}"}}}"#
    );
    // XML when XML comes first, or no Accept is sent.
    for headers in [
        &[("Content-Type", "application/x-www-form-urlencoded")][..],
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Accept", "text/xml, application/json"),
        ][..],
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Accept", "*/*"),
        ][..],
    ] {
        let r = post("Action=ListQueues", headers).await;
        assert_head(&r, 200, "text/xml", None);
    }
}

/// A result with nothing in it is written as an empty-element tag, as AWS writes it.
#[tokio::test]
async fn an_empty_result_is_self_closed() {
    let server = TestServer::start().await;
    let r = query(&server, "Action=ListQueues").await;
    assert_eq!(r.normalised(), xml_ok("ListQueues", Some("")));
    assert!(r.text().contains("<ListQueuesResult/>"), "{}", r.text());
    query(&server, "Action=CreateQueue&QueueName=empty").await;
    let url = form_encode(&server.queue_url("empty"));
    let r = query(
        &server,
        &format!("Action=ReceiveMessage&QueueUrl={url}&WaitTimeSeconds=0"),
    )
    .await;
    assert_head(&r, 200, "text/xml", None);
    assert_eq!(
        r.normalised(),
        format!("<?xml version=\"1.0\"?><ReceiveMessageResponse xmlns=\"{XMLNS}\"><ReceiveMessageResult/><ResponseMetadata><RequestId>{{REQUEST_ID}}</RequestId></ResponseMetadata></ReceiveMessageResponse>")
    );
}

#[tokio::test]
async fn a_post_to_the_queue_path_names_the_queue() {
    let server = TestServer::start().await;
    query(&server, "Action=CreateQueue&QueueName=pathq").await;
    for path in ["/000000000000/pathq", "/000000000000/pathq/"] {
        let r = raw(
            server.addr(),
            query_post(
                &server.host(),
                path,
                "Action=GetQueueAttributes&AttributeName.1=QueueArn&AttributeName.2=VisibilityTimeout",
            ),
        )
        .await;
        assert_head(&r, 200, "text/xml", None);
        assert_eq!(
            r.normalised(),
            xml_ok(
                "GetQueueAttributes",
                Some("<Attribute><Name>QueueArn</Name><Value>arn:aws:sqs:us-east-1:000000000000:pathq</Value></Attribute><Attribute><Name>VisibilityTimeout</Name><Value>30</Value></Attribute>")
            ),
            "{path}"
        );
    }
    // A path naming a queue that does not exist.
    let r = raw(
        server.addr(),
        query_post(
            &server.host(),
            "/000000000000/nope",
            "Action=GetQueueAttributes&AttributeName.1=All",
        ),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(
        r.text()
            .contains("<Code>AWS.SimpleQueueService.NonExistentQueue</Code>"),
        "{}",
        r.text()
    );
}

// ---------------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn non_existent_queue_json() {
    let server = TestServer::start().await;
    let r = json(&server, "GetQueueUrl", r#"{"QueueName":"nope"}"#).await;
    assert_head(
        &r,
        400,
        JSON_TYPE,
        Some("AWS.SimpleQueueService.NonExistentQueue;Sender"),
    );
    assert_eq!(
        r.text(),
        r#"{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."}"#
    );

    let r = json(
        &server,
        "GetQueueAttributes",
        &format!(
            r#"{{"QueueUrl":"{}","AttributeNames":["All"]}}"#,
            server.queue_url("nope")
        ),
    )
    .await;
    assert_head(
        &r,
        400,
        JSON_TYPE,
        Some("AWS.SimpleQueueService.NonExistentQueue;Sender"),
    );
    assert_eq!(
        r.text(),
        r#"{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."}"#
    );
}

/// Over Query, AWS words a missing queue "... does not exist for this wsdl version.".
/// Source: real Query-protocol responses quoted in the research notes (§5, §12), e.g.
/// aws-sdk-php-laravel#129/#204, 2017-2022.
#[tokio::test]
async fn non_existent_queue_xml() {
    let server = TestServer::start().await;
    let r = query(&server, "Action=GetQueueUrl&QueueName=nope").await;
    assert_head(&r, 400, "text/xml", None);
    // Real Query-protocol responses carry the "for this wsdl version" text (research notes §5, §12).
    assert_eq!(
        r.normalised(),
        xml_error(
            "AWS.SimpleQueueService.NonExistentQueue",
            "The specified queue does not exist for this wsdl version."
        )
    );
}

#[tokio::test]
async fn xml_error_response_shape() {
    // The envelope, byte for byte, for an error whose text is known: QueueAlreadyExists.
    let server = TestServer::start().await;
    query(
        &server,
        "Action=CreateQueue&QueueName=dup&Attribute.1.Name=DelaySeconds&Attribute.1.Value=1",
    )
    .await;
    let r = query(
        &server,
        "Action=CreateQueue&QueueName=dup&Attribute.1.Name=DelaySeconds&Attribute.1.Value=2",
    )
    .await;
    assert_head(&r, 400, "text/xml", None);
    assert_eq!(
        r.normalised(),
        xml_error(
            "QueueAlreadyExists",
            "A queue already exists with the same name and a different value for attribute DelaySeconds"
        )
    );
    // The RequestId element holds the header's id.
    assert!(r
        .text()
        .contains(&format!("<RequestId>{}</RequestId>", r.request_id())));

    // Over JSON the same error is QueueNameExists with the Query code in the header.
    let r = json(
        &server,
        "CreateQueue",
        r#"{"QueueName":"dup","Attributes":{"DelaySeconds":"3"}}"#,
    )
    .await;
    assert_head(&r, 400, JSON_TYPE, Some("QueueAlreadyExists;Sender"));
    assert_eq!(
        r.text(),
        r#"{"__type":"com.amazonaws.sqs#QueueNameExists","message":"A queue already exists with the same name and a different value for attribute DelaySeconds"}"#
    );
}

#[tokio::test]
async fn invalid_attribute_errors_on_both_protocols() {
    let server = TestServer::start().await;
    let r = query(
        &server,
        "Action=CreateQueue&QueueName=q&Attribute.1.Name=Colour&Attribute.1.Value=blue",
    )
    .await;
    assert_head(&r, 400, "text/xml", None);
    assert_eq!(
        r.normalised(),
        xml_error("InvalidAttributeName", "Unknown Attribute Colour.")
    );
    let r = json(
        &server,
        "CreateQueue",
        r#"{"QueueName":"q","Attributes":{"Policy":"{"}}"#,
    )
    .await;
    // Matches a real capture (terraform-provider-aws#42209), content-length 104.
    assert_head(&r, 400, JSON_TYPE, Some("InvalidAttributeValue;Sender"));
    assert_eq!(
        r.text(),
        r#"{"__type":"com.amazonaws.sqs#InvalidAttributeValue","message":"Invalid value for the parameter Policy."}"#
    );
    assert_eq!(r.body.len(), 104);
    let r = query(&server, "Action=CreateQueue&QueueName=bad%20name").await;
    assert_head(&r, 400, "text/xml", None);
    assert_eq!(
        r.normalised(),
        xml_error(
            "InvalidParameterValue",
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
        )
    );
}

#[tokio::test]
async fn invalid_action_xml() {
    let server = TestServer::start().await;
    let r = query(&server, "Action=Bogus").await;
    assert_head(&r, 400, "text/xml", None);
    assert_eq!(
        r.normalised(),
        xml_error(
            "InvalidAction",
            "The action Bogus is not valid for this endpoint."
        )
    );
    // Action names are case-sensitive.
    let r = query(&server, "Action=createqueue&QueueName=x").await;
    assert_eq!(
        r.normalised(),
        xml_error(
            "InvalidAction",
            "The action createqueue is not valid for this endpoint."
        )
    );
}

#[tokio::test]
async fn missing_action_xml() {
    // Code and status from the Common Errors page; the message is Sluice's own (AWS's is unknown).
    let server = TestServer::start().await;
    let r = query(&server, "QueueName=x").await;
    assert_head(&r, 400, "text/xml", None);
    assert_eq!(
        r.normalised(),
        xml_error("MissingAction", "No action was supplied with this request.")
    );
}

#[tokio::test]
async fn unknown_operation_json() {
    // 400 and the Coral `UnknownOperationException` type; the message and the header are a snapshot of
    // Sluice's bytes (AWS's exact body is not known).
    let server = TestServer::start().await;
    let r = json(&server, "Bogus", "{}").await;
    assert_head(&r, 400, JSON_TYPE, Some("InvalidAction;Sender"));
    assert_eq!(
        r.text(),
        r#"{"__type":"com.amazon.coral.service#UnknownOperationException","message":"Unknown operation AmazonSQS.Bogus"}"#
    );
    // A target without the service prefix is unknown too.
    let r = raw(
        server.addr(),
        http_request(
            "POST",
            "/",
            &server.host(),
            &[("Content-Type", JSON_TYPE), ("X-Amz-Target", "CreateQueue")],
            br#"{"QueueName":"x"}"#,
        ),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["__type"],
        "com.amazon.coral.service#UnknownOperationException"
    );
}

#[tokio::test]
async fn missing_parameter_on_both_protocols() {
    let server = TestServer::start().await;
    let r = query(&server, "Action=CreateQueue").await;
    assert_head(&r, 400, "text/xml", None);
    assert_eq!(
        r.normalised(),
        xml_error(
            "MissingParameter",
            "The request must contain the parameter QueueName."
        )
    );
    // Over JSON the body names the service framework's exception while the header keeps the Query code,
    // which is what SDKs show, as real SQS answers.
    let r = json(&server, "CreateQueue", "{}").await;
    assert_head(&r, 400, JSON_TYPE, Some("MissingParameter;Sender"));
    assert_eq!(
        r.text(),
        r#"{"__type":"com.amazon.coral.service#MissingRequiredParameterException","message":"The request must contain the parameter QueueName."}"#
    );
    // `null` is absent.
    let r = json(&server, "CreateQueue", r#"{"QueueName":null}"#).await;
    assert_head(&r, 400, JSON_TYPE, Some("MissingParameter;Sender"));
    // QueueUrl on a queue action.
    let r = query(&server, "Action=GetQueueAttributes&AttributeName.1=All").await;
    assert_head(&r, 400, "text/xml", None);
    assert_eq!(
        r.normalised(),
        xml_error(
            "MissingParameter",
            "The request must contain the parameter QueueUrl."
        )
    );
}

/// InvalidParameterValue over JSON: the framework's exception in the body, the Query code in the header.
#[tokio::test]
async fn invalid_parameter_value_json_pairs_the_exception_with_the_query_code() {
    let server = TestServer::start().await;
    let r = json(&server, "CreateQueue", r#"{"QueueName":"bad name"}"#).await;
    assert_head(&r, 400, JSON_TYPE, Some("InvalidParameterValue;Sender"));
    assert_eq!(
        r.text(),
        r#"{"__type":"com.amazon.coral.service#InvalidParameterValueException","message":"Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"}"#
    );
}

/// A JSON SendMessageBatch response carried `"Failed":[]` when every entry succeeded and
/// `"Successful":[]` when every entry failed; SQS leaves the empty list out. Query writes nothing for an
/// empty list either way.
#[tokio::test]
async fn send_message_batch_json_leaves_out_an_empty_list() {
    let server = TestServer::start().await;
    let r = json(&server, "CreateQueue", r#"{"QueueName":"batch"}"#).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let url = format!("{}/000000000000/batch", server.url());

    let r = json(
        &server,
        "SendMessageBatch",
        &format!(r#"{{"QueueUrl":"{url}","Entries":[{{"Id":"a","MessageBody":"x"}}]}}"#),
    )
    .await;
    assert_head(&r, 200, JSON_TYPE, None);
    let body = r.json();
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["Successful"], "{}", r.text());

    let late = r#"[{"Id":"a","MessageBody":"x","DelaySeconds":901}]"#;
    let r = json(
        &server,
        "SendMessageBatch",
        &format!(r#"{{"QueueUrl":"{url}","Entries":{late}}}"#),
    )
    .await;
    assert_head(&r, 200, JSON_TYPE, None);
    assert_eq!(
        r.text(),
        r#"{"Failed":[{"Id":"a","SenderFault":true,"Code":"InvalidParameterValue","Message":"Value 901 for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900."}]}"#
    );

    let r = query(
        &server,
        &format!(
            "Action=SendMessageBatch&QueueUrl={}&SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=x&SendMessageBatchRequestEntry.1.DelaySeconds=901",
            form_encode(&url)
        ),
    )
    .await;
    assert_head(&r, 200, "text/xml", None);
    assert_eq!(
        r.normalised(),
        xml_ok(
            "SendMessageBatch",
            Some("<BatchResultErrorEntry><Id>a</Id><SenderFault>true</SenderFault><Code>InvalidParameterValue</Code><Message>Value 901 for parameter DelaySeconds is invalid. Reason: DelaySeconds must be &gt;= 0 and &lt;= 900.</Message></BatchResultErrorEntry>")
        )
    );
}

#[tokio::test]
async fn malformed_json_body() {
    // 400 SerializationException (the Coral type); the message is a snapshot.
    let server = TestServer::start().await;
    let r = json(&server, "CreateQueue", r#"{"QueueName":"#).await;
    assert_head(&r, 400, JSON_TYPE, Some("SerializationException;Sender"));
    assert_eq!(
        r.text(),
        r#"{"__type":"com.amazon.coral.service#SerializationException","message":"The request body is not valid JSON: EOF while parsing a value at line 1 column 13"}"#
    );
    let r = json(&server, "CreateQueue", "[1,2]").await;
    assert_head(&r, 400, JSON_TYPE, Some("SerializationException;Sender"));
    assert_eq!(
        r.text(),
        r#"{"__type":"com.amazon.coral.service#SerializationException","message":"The request body must be a JSON object"}"#
    );
    let r = json(&server, "CreateQueue", r#"{"QueueName":5}"#).await;
    assert_head(&r, 400, JSON_TYPE, Some("SerializationException;Sender"));
    assert_eq!(
        r.json()["__type"],
        "com.amazon.coral.service#SerializationException"
    );
}

/// A `QueueUrl` that names no queue, whatever its form, is answered as a queue that does not exist.
#[tokio::test]
async fn a_queue_url_naming_no_queue_is_non_existent_queue() {
    let server = TestServer::start().await;
    let r = json(
        &server,
        "GetQueueAttributes",
        r#"{"QueueUrl":"http://whatever-incorrect-queue-address","AttributeNames":["All"]}"#,
    )
    .await;
    assert_head(
        &r,
        400,
        JSON_TYPE,
        Some("AWS.SimpleQueueService.NonExistentQueue;Sender"),
    );
    assert_eq!(
        r.text(),
        r#"{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."}"#
    );
    let r = query(
        &server,
        "Action=GetQueueAttributes&QueueUrl=http%3A%2F%2Fwhatever-incorrect-queue-address&AttributeName.1=All",
    )
    .await;
    assert_head(&r, 400, "text/xml", None);
    assert_eq!(
        r.normalised(),
        xml_error(
            "AWS.SimpleQueueService.NonExistentQueue",
            "The specified queue does not exist for this wsdl version."
        )
    );
}

// ---------------------------------------------------------------------------------------------------------
// The API reference's SetQueueAttributes examples, request parameters byte for byte
// ---------------------------------------------------------------------------------------------------------

async fn doc_queue(server: &TestServer) {
    let r = doc_query(server, "/", "Action=CreateQueue&QueueName=MyQueue").await;
    assert_eq!(r.status, 200, "{}", r.text());
}

async fn doc_attribute(server: &TestServer, name: &str) -> Option<String> {
    let r = doc_json(
        server,
        "GetQueueAttributes",
        &format!(
            r#"{{"QueueUrl":"https://sqs.us-east-1.amazonaws.com/177715257436/MyQueue","AttributeNames":["{name}"]}}"#
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["Attributes"][name].as_str().map(str::to_string)
}

#[tokio::test]
async fn set_queue_attributes_json_examples() {
    let server = TestServer::start().await;
    doc_queue(&server).await;
    let policy_body = "{\n \"QueueUrl\": \"https://sqs.us-east-1.amazonaws.com/177715257436/MyQueue/\",\n \"Attributes\": {\n \"Policy\": \"{\\\"Version\\\":\\\"2012-10-17\\\",\\\"Id\\\":\\\"Policy1677095510157\\\",\\\"Statement\\\":[{\\\"Sid\\\":\\\"Stmt1677095506939\\\",\\\"Effect\\\":\\\"Allow\\\",\\\"Principal\\\":\\\"*\\\",\\\"Action\\\":\\\"sqs:ReceiveMessage\\\",\\\"Resource\\\":\\\"arn:aws:sqs:us-east-1:555555555555:MyQueue6\\\"}]}\"\n }\n}";
    let cases = [
        (policy_body.to_string(), "Policy"),
        ("{\n \"QueueUrl\": \"https://sqs.us-east-1.amazonaws.com/177715257436/MyQueue/\",\n \"Attributes\": {\n \"VisibilityTimeout\": \"35\"\n }\n}".to_string(), "VisibilityTimeout"),
        ("{\n \"QueueUrl\": \"https://sqs.us-east-1.amazonaws.com/177715257436/MyQueue/\",\n \"Attributes\": {\n \"ReceiveMessageWaitTimeSeconds\": \"20\" \n }\n}".to_string(), "ReceiveMessageWaitTimeSeconds"),
        ("{\n \"QueueUrl\": \"https://sqs.us-east-1.amazonaws.com/177715257436/MyQueue/\",\n \"Attributes\": {\n \"DelaySeconds\": \"45\" \n }\n}".to_string(), "DelaySeconds"),
    ];
    for (body, name) in &cases {
        let r = doc_json(&server, "SetQueueAttributes", body).await;
        assert_head(&r, 200, JSON_TYPE, None);
        // The reference shows no body; an empty object is the same to every client.
        assert!(
            r.body.is_empty() || r.text() == "{}",
            "{name}: {}",
            r.text()
        );
    }
    assert_eq!(
        doc_attribute(&server, "VisibilityTimeout").await.as_deref(),
        Some("35")
    );
    assert_eq!(
        doc_attribute(&server, "ReceiveMessageWaitTimeSeconds")
            .await
            .as_deref(),
        Some("20")
    );
    assert_eq!(
        doc_attribute(&server, "DelaySeconds").await.as_deref(),
        Some("45")
    );
    let policy: serde_json::Value =
        serde_json::from_str(&doc_attribute(&server, "Policy").await.unwrap()).unwrap();
    assert_eq!(policy["Id"], "Policy1677095510157");
}

#[tokio::test]
async fn set_queue_attributes_json_redrive_example() {
    // The reference's RedrivePolicy example, with the dead-letter queue in the queue's own account (the
    // reference's sample names account 555555555555 for the DLQ and 177715257436 for the queue).
    let server = TestServer::start().await;
    doc_queue(&server).await;
    let r = doc_query(
        &server,
        "/",
        "Action=CreateQueue&QueueName=MyDeadLetterQueue",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let body = "{\n \"QueueUrl\": \"https://sqs.us-east-1.amazonaws.com/177715257436/MyQueue/\",\n \"Attributes\": {\n \"RedrivePolicy\": \"{\\\"maxReceiveCount\\\":\\\"5\\\",\\\"deadLetterTargetArn\\\":\\\"arn:aws:sqs:us-east-1:177715257436:MyDeadLetterQueue\\\"}\"\n }\n}";
    let r = doc_json(&server, "SetQueueAttributes", body).await;
    assert_head(&r, 200, JSON_TYPE, None);
    assert_eq!(
        doc_attribute(&server, "RedrivePolicy").await.as_deref(),
        Some(
            r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:177715257436:MyDeadLetterQueue","maxReceiveCount":5}"#
        )
    );
    let r = doc_json(
        &server,
        "ListDeadLetterSourceQueues",
        r#"{"QueueUrl":"https://sqs.us-east-1.amazonaws.com/177715257436/MyDeadLetterQueue"}"#,
    )
    .await;
    assert_head(&r, 200, JSON_TYPE, None);
    assert_eq!(
        r.text(),
        format!(
            r#"{{"queueUrls":["{}/{DOC_ACCOUNT}/MyQueue"]}}"#,
            server.url()
        )
    );
}

/// The reference's Query examples send one attribute as `Attribute.Name` / `Attribute.Value`, without an
/// index.
///
/// The API reference writes a single attribute without an index (`Attribute.Name=...`); SetQueueAttributes
/// and CreateQueue both understand it.
#[tokio::test]
async fn set_queue_attributes_query_examples_with_unindexed_attribute() {
    let server = TestServer::start().await;
    doc_queue(&server).await;
    let r = doc_query(
        &server,
        "/",
        "Action=CreateQueue&QueueName=MyDeadLetterQueue",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let examples = [
        (
            "Action=SetQueueAttributes\n&Attribute.Name=VisibilityTimeout\n&Attribute.Value=35",
            "VisibilityTimeout",
            "35",
        ),
        (
            "Action=SetQueueAttributes\n&Attribute.Name=ReceiveMessageWaitTimeSeconds\n&Attribute.Value=20",
            "ReceiveMessageWaitTimeSeconds",
            "20",
        ),
        (
            "Action=SetQueueAttributes\n&Attribute.Name=DelaySeconds\n&Attribute.Value=45",
            "DelaySeconds",
            "45",
        ),
    ];
    let mut failures = Vec::new();
    for (form, name, value) in examples {
        let r = doc_query(&server, "/177715257436/MyQueue/", &doc_form(form)).await;
        if r.status != 200 {
            failures.push(format!("{name}: {} {}", r.status, r.text()));
            continue;
        }
        assert_eq!(r.header("content-type"), Some("text/xml"));
        assert_eq!(r.normalised(), xml_ok("SetQueueAttributes", None));
        assert_eq!(doc_attribute(&server, name).await.as_deref(), Some(value));
    }
    // The Policy example.
    let r = doc_query(
        &server,
        "/177715257436/MyQueue/",
        &doc_form("Action=SetQueueAttributes\n&Attribute.Name=Policy\n&Attribute.Value=%7B%22Version%22%3A%222012-10-17%22%2C%22Id%22%3A%22UseCase1%22%2C%22Statement%22%3A%5B%7B%22Sid%22%3A%22Queue1ReceiveMessage%22%2C%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22AWS%22%3A%22*%22%7D%2C%22Action%22%3A%22SQS%3AReceiveMessage%22%2C%22Resource%22%3A%22arn%3Aaws%3Asqs%3Aus-east-1%3A555555555555%3AMyQueue6%22%7D%5D%7D"),
    )
    .await;
    if r.status != 200 {
        failures.push(format!("Policy: {} {}", r.status, r.text()));
    } else {
        let policy: serde_json::Value =
            serde_json::from_str(&doc_attribute(&server, "Policy").await.unwrap()).unwrap();
        assert_eq!(policy["Id"], "UseCase1");
    }
    // The same single-attribute form on CreateQueue must not be silently dropped: either the attribute is
    // applied or the request is refused.
    let r = doc_query(
        &server,
        "/",
        "Action=CreateQueue&QueueName=Unindexed&Attribute.Name=DelaySeconds&Attribute.Value=5",
    )
    .await;
    if r.status == 200 {
        let r = doc_json(
            &server,
            "GetQueueAttributes",
            r#"{"QueueUrl":"https://sqs.us-east-1.amazonaws.com/177715257436/Unindexed","AttributeNames":["DelaySeconds"]}"#,
        )
        .await;
        if r.json()["Attributes"]["DelaySeconds"] != "5" {
            failures.push(format!(
                "CreateQueue Attribute.Name=DelaySeconds&Attribute.Value=5 answered 200 but the queue has {}",
                r.text()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "the API reference's unindexed Attribute.Name/Attribute.Value requests failed:\n{}",
        failures.join("\n")
    );
}

/// The CreateQueue reference's Query example, byte for byte: one tag as `Tag.Key` / `Tag.Value`.
///
/// The CreateQueue reference writes its tag without an index (`Tag.Key=...`); the tag is kept.
#[tokio::test]
async fn create_queue_query_example_with_unindexed_tag() {
    let server = TestServer::start().await;
    let r = doc_query(
        &server,
        "/",
        &doc_form("Action=CreateQueue\n&QueueName=MyQueue\n&Attribute.1.Name=VisibilityTimeout\n&Attribute.1.Value=40\n&Tag.Key=QueueType\n&Tag.Value=Production"),
    )
    .await;
    assert_head(&r, 200, "text/xml", None);
    assert_eq!(
        r.normalised(),
        xml_ok(
            "CreateQueue",
            Some(&format!(
                "<QueueUrl>{}/{DOC_ACCOUNT}/MyQueue</QueueUrl>",
                server.url()
            ))
        )
    );
    // Compared with the reference's sample response: the same elements.
    let doc_sample = "<?xml version=\"1.0\"?>\n<CreateQueueResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\">\n <CreateQueueResult>\n <QueueUrl>https://sqs.us-east-1.amazonaws.com/177715257436/MyQueue</QueueUrl>\n </CreateQueueResult>\n <ResponseMetadata>\n <RequestId>9b20926c-8b35-5d8e-9559-ce1c22e754dc</RequestId>\n </ResponseMetadata>\n</CreateQueueResponse>";
    let compact: String = doc_sample
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .concat()
        .replace("https://sqs.us-east-1.amazonaws.com", &server.url())
        .replace("9b20926c-8b35-5d8e-9559-ce1c22e754dc", "{REQUEST_ID}");
    assert_eq!(r.normalised(), compact);
    assert_eq!(
        doc_attribute(&server, "VisibilityTimeout").await.as_deref(),
        Some("40")
    );
    // The tag was applied.
    let r = doc_json(
        &server,
        "ListQueueTags",
        r#"{"QueueUrl":"https://sqs.us-east-1.amazonaws.com/177715257436/MyQueue"}"#,
    )
    .await;
    assert_eq!(
        r.text(),
        r#"{"Tags":{"QueueType":"Production"}}"#,
        "the unindexed Tag.Key/Tag.Value of the reference's example was not applied"
    );
}

#[tokio::test]
async fn get_queue_attributes_query_example_with_three_names() {
    let server = TestServer::start().await;
    doc_queue(&server).await;
    for (name, value) in [
        ("VisibilityTimeout", "35"),
        ("DelaySeconds", "45"),
        ("ReceiveMessageWaitTimeSeconds", "20"),
    ] {
        let r = doc_json(
            &server,
            "SetQueueAttributes",
            &format!(r#"{{"QueueUrl":"https://sqs.us-east-1.amazonaws.com/177715257436/MyQueue","Attributes":{{"{name}":"{value}"}}}}"#),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let r = doc_query(
        &server,
        "/177715257436/MyQueue/",
        &doc_form("Action=GetQueueAttributes\n&AttributeName.1=VisibilityTimeout\n&AttributeName.2=DelaySeconds\n&AttributeName.3=ReceiveMessageWaitTimeSeconds"),
    )
    .await;
    assert_head(&r, 200, "text/xml", None);
    // The reference's sample response, whitespace removed and its request id replaced.
    let doc_sample = "<?xml version=\"1.0\"?>\n<GetQueueAttributesResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\">\n <GetQueueAttributesResult>\n <Attribute>\n <Name>VisibilityTimeout</Name>\n <Value>35</Value>\n </Attribute>\n <Attribute>\n <Name>DelaySeconds</Name>\n <Value>45</Value>\n </Attribute>\n <Attribute>\n <Name>ReceiveMessageWaitTimeSeconds</Name>\n <Value>20</Value>\n </Attribute>\n </GetQueueAttributesResult>\n <ResponseMetadata>\n <RequestId>60462930-c7fd-5ef8-b6a0-75a20b5e17b8</RequestId>\n </ResponseMetadata>\n</GetQueueAttributesResponse>";
    let compact = doc_sample
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .concat()
        .replace("60462930-c7fd-5ef8-b6a0-75a20b5e17b8", "{REQUEST_ID}");
    assert_eq!(r.normalised(), compact);
}
