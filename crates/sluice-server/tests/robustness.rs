//! Garbage in, well-formed AWS errors out: a bounded, seeded stream of malformed requests, each of which
//! must be answered with a 4xx AWS error in the request's protocol (never a 5xx, never a dropped
//! connection), followed by a normal request that must still work.

mod common;

use std::time::{Duration, Instant};

use common::{http_request, try_raw, RawResponse, TestServer};

const XML_ERROR_PREFIX: &str = "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\"><Error><Type>Sender</Type><Code>";
const JSON_TYPE: &str = "application/x-amz-json-1.0";
const REQUESTS: usize = 300;
const MAX_BODY: usize = 8 * 1024 * 1024;

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }

    /// A word of 1 to `max` characters.
    fn word_upto(&mut self, max: usize) -> String {
        let len = 1 + self.below(max);
        self.word(len)
    }

    fn word(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] =
            b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-~!*$";
        (0..len)
            .map(|_| ALPHABET[self.below(ALPHABET.len())] as char)
            .collect()
    }
}

/// What kind of member a JSON input has, to give it a value of another kind.
#[derive(Clone, Copy)]
enum Kind {
    Str,
    Int,
    List,
    Map,
}

/// Members of each operation's input (the JSON model), used to send well-named members of the wrong type.
const MEMBERS: &[(&str, &[(&str, Kind)])] = &[
    (
        "CreateQueue",
        &[
            ("QueueName", Kind::Str),
            ("Attributes", Kind::Map),
            ("tags", Kind::Map),
        ],
    ),
    (
        "GetQueueUrl",
        &[
            ("QueueName", Kind::Str),
            ("QueueOwnerAWSAccountId", Kind::Str),
        ],
    ),
    (
        "ListQueues",
        &[
            ("QueueNamePrefix", Kind::Str),
            ("NextToken", Kind::Str),
            ("MaxResults", Kind::Int),
        ],
    ),
    ("DeleteQueue", &[("QueueUrl", Kind::Str)]),
    ("PurgeQueue", &[("QueueUrl", Kind::Str)]),
    ("ListQueueTags", &[("QueueUrl", Kind::Str)]),
    (
        "GetQueueAttributes",
        &[("QueueUrl", Kind::Str), ("AttributeNames", Kind::List)],
    ),
    (
        "SetQueueAttributes",
        &[("QueueUrl", Kind::Str), ("Attributes", Kind::Map)],
    ),
    ("TagQueue", &[("QueueUrl", Kind::Str), ("Tags", Kind::Map)]),
    (
        "UntagQueue",
        &[("QueueUrl", Kind::Str), ("TagKeys", Kind::List)],
    ),
    (
        "AddPermission",
        &[
            ("QueueUrl", Kind::Str),
            ("Label", Kind::Str),
            ("AWSAccountIds", Kind::List),
            ("Actions", Kind::List),
        ],
    ),
    (
        "RemovePermission",
        &[("QueueUrl", Kind::Str), ("Label", Kind::Str)],
    ),
    (
        "ListDeadLetterSourceQueues",
        &[
            ("QueueUrl", Kind::Str),
            ("NextToken", Kind::Str),
            ("MaxResults", Kind::Int),
        ],
    ),
    (
        "SendMessage",
        &[
            ("QueueUrl", Kind::Str),
            ("MessageBody", Kind::Str),
            ("DelaySeconds", Kind::Int),
            ("MessageAttributes", Kind::Map),
        ],
    ),
    (
        "ReceiveMessage",
        &[
            ("QueueUrl", Kind::Str),
            ("MaxNumberOfMessages", Kind::Int),
            ("AttributeNames", Kind::List),
        ],
    ),
    (
        "SendMessageBatch",
        &[("QueueUrl", Kind::Str), ("Entries", Kind::List)],
    ),
    (
        "ChangeMessageVisibility",
        &[
            ("QueueUrl", Kind::Str),
            ("ReceiptHandle", Kind::Str),
            ("VisibilityTimeout", Kind::Int),
        ],
    ),
    ("StartMessageMoveTask", &[("SourceArn", Kind::Str)]),
];

fn wrong_value(rng: &mut Rng, kind: Kind) -> String {
    let choices: &[&str] = match kind {
        Kind::Str => &[
            "5",
            "true",
            "[\"a\"]",
            "{\"a\":\"b\"}",
            "1e400",
            "-0.5",
            "[[[[]]]]",
        ],
        Kind::Int => &[
            "\"5\"",
            "3.5",
            "true",
            "[1]",
            "{}",
            "1e400",
            "18446744073709551616",
            "-99999999999999999999999",
        ],
        Kind::List => &[
            "\"All\"",
            "5",
            "{\"a\":1}",
            "true",
            "[1,2]",
            "[{}]",
            "[null]",
        ],
        Kind::Map => &[
            "\"x\"",
            "5",
            "[\"a\"]",
            "true",
            "{\"a\":5}",
            "{\"a\":{}}",
            "{\"a\":[1]}",
            "{\"a\":null}",
        ],
    };
    rng.pick(choices).to_string()
}

fn right_but_garbage(rng: &mut Rng, kind: Kind) -> String {
    match kind {
        Kind::Str => serde_json::Value::String(rng.word_upto(40)).to_string(),
        Kind::Int => (rng.next() as i64).to_string(),
        Kind::List => format!("[\"{}\"]", rng.word(5)),
        Kind::Map => format!("{{\"{}\":\"{}\"}}", rng.word(5), rng.word(5)),
    }
}

/// One garbage request and its protocol (`true`: JSON, because it carries X-Amz-Target).
struct Garbage {
    label: String,
    bytes: Vec<u8>,
    json: bool,
}

const FORM: &str = "application/x-www-form-urlencoded";

fn form(host: &str, label: &str, body: &[u8]) -> Garbage {
    Garbage {
        label: label.to_string(),
        bytes: http_request("POST", "/", host, &[("Content-Type", FORM)], body),
        json: false,
    }
}

fn json_req(host: &str, label: &str, target: &str, body: &[u8]) -> Garbage {
    Garbage {
        label: label.to_string(),
        bytes: http_request(
            "POST",
            "/",
            host,
            &[("Content-Type", JSON_TYPE), ("X-Amz-Target", target)],
            body,
        ),
        json: true,
    }
}

const MISSING_URL: &str = "http://localhost:9324/000000000000/no-such-queue";

fn generate(rng: &mut Rng, host: &str) -> Garbage {
    match rng.below(14) {
        // Random bytes as a form body (no Action can come out of them).
        0 => {
            let mut body = b"\xff".to_vec();
            let len = rng.below(2048);
            body.extend(rng.bytes(len));
            form(host, "random form bytes", &body)
        }
        // Random bytes as a JSON body for a real operation.
        1 => {
            let op = rng.pick(MEMBERS).0;
            let mut body = vec![b"\xff\x00{["[rng.below(4)]];
            let len = rng.below(2048);
            body.extend(rng.bytes(len));
            json_req(
                host,
                &format!("random JSON bytes to {op}"),
                &format!("AmazonSQS.{op}"),
                &body,
            )
        }
        // Random X-Amz-Target values.
        2 => {
            let targets = [
                format!("AmazonSQS.{}", rng.word_upto(30).to_lowercase()),
                rng.word_upto(60),
                format!("AmazonSQS.{}", "A".repeat(5000)),
                "AmazonSQS.".to_string(),
                "AmazonSQS".to_string(),
                "amazonsqs.CreateQueue".to_string(),
                "AmazonSQS.createQueue".to_string(),
                "AmazonSQS.CreateQueue.Extra".to_string(),
                "AmazonSQS.CreateQueue\tx".to_string(),
                "AmazonSNS.Publish".to_string(),
            ];
            let target = rng.pick(&targets).clone();
            json_req(
                host,
                &format!("target {target:.60}"),
                &target,
                br#"{"QueueName":"q"}"#,
            )
        }
        // Non-UTF-8 bytes in the X-Amz-Target header.
        3 => {
            let mut bytes = format!(
                "POST / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Type: {JSON_TYPE}\r\nX-Amz-Target: AmazonSQS."
            )
            .into_bytes();
            bytes.extend([0xC3, 0x28, 0xFF, 0x80]);
            let body = br#"{"QueueName":"q"}"#;
            bytes.extend(format!("\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes());
            bytes.extend_from_slice(body);
            Garbage {
                label: "non-UTF-8 target".into(),
                bytes,
                json: true,
            }
        }
        // Odd form keys: huge, zero, negative and missing indices, entries without their other half.
        4 => {
            let keys = [
                "Attribute.999999999999.Name=VisibilityTimeout&Attribute.999999999999.Value=5",
                "Attribute.4294967295.Name=VisibilityTimeout&Attribute.4294967295.Value=5",
                "Attribute.4294967296.Name=VisibilityTimeout",
                "Attribute.0.Name=VisibilityTimeout&Attribute.0.Value=5",
                "Attribute.-1.Name=VisibilityTimeout&Attribute.-1.Value=5",
                "Attribute..Name=VisibilityTimeout&Attribute..Value=5",
                "Attribute.1.Name=VisibilityTimeout",
                "Attribute.1.Value=5",
                "Attribute.1=5",
                "Attribute=5",
                "Tag.1.Value=orphan",
                "Tag.1.Key=&Tag.1.Value=x",
                "Tag.99999999999999999999.Key=k",
                "Attribute.1.Name.Extra=x&Attribute.1.Name=DelaySeconds&Attribute.1.Value=1",
            ];
            let extra = rng.pick(&keys);
            // The queue name is always invalid, so the request must fail whatever the keys do.
            let body = format!(
                "Action=CreateQueue&QueueName=bad%20name{}&{extra}",
                rng.below(1000)
            );
            form(host, &format!("form keys {extra}"), body.as_bytes())
        }
        // Odd indices on list members of queue actions, on a queue that does not exist.
        5 => {
            let keys = [
                "AttributeName.999999999999=All",
                "AttributeName.4294967295=All",
                "AttributeName.0=All",
                "AttributeName=All",
                "AttributeName.1.Extra=All",
                "AttributeName.1=%FF%FE",
            ];
            let extra = rng.pick(&keys);
            let body = format!(
                "Action=GetQueueAttributes&QueueUrl={}&{extra}",
                common::form_encode(MISSING_URL)
            );
            form(host, &format!("list keys {extra}"), body.as_bytes())
        }
        // Huge and malformed numbers.
        6 => {
            let values = [
                "99999999999999999999999",
                "9223372036854775808",
                "-9223372036854775809",
                "9223372036854775807",
                "-9223372036854775808",
                "1e10",
                "0x10",
                "",
                "1001",
                "0",
                "-1",
                "%00",
            ];
            let v = rng.pick(&values);
            if rng.below(2) == 0 {
                form(
                    host,
                    &format!("MaxResults={v}"),
                    format!("Action=ListQueues&MaxResults={v}").as_bytes(),
                )
            } else {
                let json_values = [
                    "1e400",
                    "18446744073709551616",
                    "-99999999999999999999",
                    "9223372036854775808",
                    "1001",
                    "0",
                    "-1",
                    "2.5",
                    "\"10\"",
                ];
                let v = rng.pick(&json_values);
                let op = rng.pick(&["ListQueues", "ListDeadLetterSourceQueues"]);
                let body = if *op == "ListQueues" {
                    format!("{{\"MaxResults\":{v}}}")
                } else {
                    format!("{{\"QueueUrl\":\"{MISSING_URL}\",\"MaxResults\":{v}}}")
                };
                json_req(
                    host,
                    &format!("{op} MaxResults {v}"),
                    &format!("AmazonSQS.{op}"),
                    body.as_bytes(),
                )
            }
        }
        // Invalid UTF-8 and broken percent-escapes.
        7 => {
            let bodies = [
                "Action=CreateQueue&QueueName=%FF%FE%FD",
                "Action=CreateQueue&QueueName=%C3%28",
                "Action=%C3%28",
                "Action=Create%",
                "Action=CreateQueue%ZZ&QueueName=q",
                "Action=CreateQueue&QueueName=%",
                "Action=CreateQueue&QueueName=q%2",
                "Action=CreateQueue&Queue%FFName=q",
                "Action=CreateQueue&QueueName=%00",
                "Action=CreateQueue&QueueName=%E2%80%AE",
                "Action=GetQueueUrl&QueueName=%F0%9F%92%A9",
                "Action=ListQueues&QueueNamePrefix=%FF&MaxResults=%FF",
                "%FF=%FF&Action=%FF",
                "Action=DeleteQueue&QueueUrl=%FF%FE",
                "Action=DeleteQueue&QueueUrl=http%3A%2F%2F%FF%2F1%2F2",
            ];
            let b = rng.pick(&bodies);
            form(host, &format!("escapes {b}"), b.as_bytes())
        }
        // Fixed JSON inputs of the wrong shape.
        8 => {
            let cases: &[(&str, &str)] = &[
                ("CreateQueue", r#"{"QueueName": 5}"#),
                ("CreateQueue", r#"{"Attributes": "x"}"#),
                ("CreateQueue", r#"{"QueueName": null}"#),
                ("CreateQueue", r#"{"QueueName":"q","Attributes":"x"}"#),
                (
                    "CreateQueue",
                    r#"{"QueueName":"q","Attributes":{"VisibilityTimeout":5}}"#,
                ),
                ("CreateQueue", r#"{"QueueName":"q","tags":[1]}"#),
                ("CreateQueue", r#"{"QueueName":["q"]}"#),
                ("CreateQueue", r#"{"QueueName":"\ud800"}"#),
                ("CreateQueue", r#"{"QueueName":"q","QueueName":5}"#),
                ("CreateQueue", "null"),
                ("CreateQueue", "\"CreateQueue\""),
                ("CreateQueue", "5"),
                ("CreateQueue", "[]"),
                ("CreateQueue", "{"),
                ("CreateQueue", "{}}"),
                ("CreateQueue", "{\"QueueName\":\"q\"} trailing"),
                ("GetQueueAttributes", r#"{"QueueUrl":{"a":1}}"#),
                (
                    "GetQueueAttributes",
                    r#"{"QueueUrl":"x","AttributeNames":"All"}"#,
                ),
                ("TagQueue", r#"{"QueueUrl":"x","Tags":[["a","b"]]}"#),
                (
                    "SendMessageBatch",
                    r#"{"QueueUrl":"x","Entries":[{"Id":5}]}"#,
                ),
            ];
            let (op, body) = rng.pick(cases);
            json_req(
                host,
                &format!("{op} {body}"),
                &format!("AmazonSQS.{op}"),
                body.as_bytes(),
            )
        }
        // Deeply nested JSON.
        9 => {
            let depth = 200 + rng.below(20_000);
            let body = format!(
                "{{\"QueueName\":{}{}}}",
                "[".repeat(depth),
                "]".repeat(depth)
            );
            json_req(
                host,
                &format!("nesting {depth}"),
                "AmazonSQS.CreateQueue",
                body.as_bytes(),
            )
        }
        // A real member of the wrong type, maybe next to well-typed garbage.
        10 => {
            let (op, members) = rng.pick(MEMBERS);
            let bad = rng.below(members.len());
            let mut parts = Vec::new();
            for (i, (name, kind)) in members.iter().enumerate() {
                if i == bad {
                    parts.push(format!("\"{name}\":{}", wrong_value(rng, *kind)));
                } else if rng.below(2) == 0 {
                    parts.push(format!("\"{name}\":{}", right_but_garbage(rng, *kind)));
                }
            }
            let body = format!("{{{}}}", parts.join(","));
            json_req(
                host,
                &format!("{op} {body:.120}"),
                &format!("AmazonSQS.{op}"),
                body.as_bytes(),
            )
        }
        // Wrong content types, methods and paths.
        11 => {
            let choice = rng.below(7);
            let (label, bytes, json) = match choice {
                0 => (
                    "text/plain form",
                    http_request(
                        "POST",
                        "/",
                        host,
                        &[("Content-Type", "text/plain")],
                        b"Action=ListQueues&MaxResults=0",
                    ),
                    false,
                ),
                1 => (
                    "JSON with text/plain",
                    http_request(
                        "POST",
                        "/",
                        host,
                        &[
                            ("Content-Type", "text/plain"),
                            ("X-Amz-Target", "AmazonSQS.ListQueues"),
                        ],
                        b"{}",
                    ),
                    true,
                ),
                2 => (
                    "JSON without content type",
                    http_request(
                        "POST",
                        "/",
                        host,
                        &[("X-Amz-Target", "AmazonSQS.ListQueues")],
                        b"{}",
                    ),
                    true,
                ),
                3 => (
                    "PUT with bogus action",
                    http_request("PUT", "/?Action=Bogus", host, &[], b""),
                    false,
                ),
                4 => (
                    "DELETE on a deep path",
                    http_request("DELETE", "/a/b/c/d/e?Action=DeleteQueue", host, &[], b""),
                    false,
                ),
                5 => (
                    "GET with a body",
                    http_request(
                        "GET",
                        "/",
                        host,
                        &[("Content-Type", FORM)],
                        b"Action=ListQueues",
                    ),
                    false,
                ),
                _ => (
                    "long path",
                    http_request(
                        "POST",
                        &format!("/{}/{}", "a".repeat(4000), "%FF%00"),
                        host,
                        &[("Content-Type", FORM)],
                        b"Action=GetQueueAttributes&AttributeName.1=All",
                    ),
                    false,
                ),
            };
            Garbage {
                label: label.to_string(),
                bytes,
                json,
            }
        }
        // Garbage credentials and hosts on an otherwise failing request.
        12 => {
            let auths = [
                "AWS4-HMAC-SHA256 Credential=////, SignedHeaders=, Signature=",
                "AWS4-HMAC-SHA256 Credential=",
                "AWS4-HMAC-SHA256",
                "AWS4-HMAC-SHA256 Credential=123456789012/x/%FF/sqs/aws4_request",
                "AWS4-HMAC-SHA256 Credential=12345678901234567890/20240101/us-east-1/sqs/aws4_request",
                "Basic Zm9vOmJhcg==",
                "",
            ];
            let hosts = [
                "sqs..amazonaws.com",
                "sqs.us-east-1.",
                "sqs.",
                "[::1",
                "a:b:c",
                "sqs.eu-west-1.localhost:1",
                "",
            ];
            let auth = *rng.pick(&auths);
            let h = *rng.pick(&hosts);
            let mut headers = vec![("Content-Type", FORM)];
            if !auth.is_empty() {
                headers.push(("Authorization", auth));
            }
            Garbage {
                label: format!("auth {auth:.40} host {h}"),
                bytes: http_request(
                    "POST",
                    "/",
                    h,
                    &headers,
                    b"Action=GetQueueUrl&QueueName=nope",
                ),
                json: false,
            }
        }
        // Real actions with every parameter garbage: a missing queue or an invalid URL.
        _ => {
            let actions = [
                "DeleteQueue",
                "PurgeQueue",
                "ListQueueTags",
                "GetQueueAttributes",
                "SetQueueAttributes",
                "TagQueue",
                "UntagQueue",
                "AddPermission",
                "RemovePermission",
                "ListDeadLetterSourceQueues",
                "SendMessage",
                "ReceiveMessage",
                "DeleteMessage",
                "ChangeMessageVisibility",
            ];
            let action = rng.pick(&actions);
            let url = if rng.below(2) == 0 {
                common::form_encode(MISSING_URL)
            } else {
                common::form_encode(&rng.word_upto(50))
            };
            let body = format!(
                "Action={action}&QueueUrl={url}&Attribute.1.Name={}&Attribute.1.Value={}&Tag.1.Key={}&Tag.1.Value=v&TagKey.1=k&Label=L&AWSAccountId.1=111122223333&ActionName.1=SendMessage&MessageBody=b&ReceiptHandle=r&VisibilityTimeout=1&AttributeName.1=All",
                rng.word(6),
                rng.word(6),
                rng.word(6)
            );
            form(host, &format!("{action} on {url:.60}"), body.as_bytes())
        }
    }
}

/// Checks that `r` is a complete, well-formed 4xx AWS error in the request's protocol.
fn check_error(r: &RawResponse, json: bool) -> Result<(), String> {
    if !(400..500).contains(&r.status) {
        return Err(format!("status {} (body {:?})", r.status, r.text()));
    }
    let id = r
        .header("x-amzn-requestid")
        .filter(|id| !id.is_empty())
        .ok_or("no x-amzn-RequestId")?
        .to_string();
    let body = String::from_utf8(r.body.clone()).map_err(|_| "body is not UTF-8".to_string())?;
    if json {
        if r.header("content-type") != Some(JSON_TYPE) {
            return Err(format!("content-type {:?}", r.header("content-type")));
        }
        let value: serde_json::Value =
            serde_json::from_str(&body).map_err(|e| format!("body not JSON ({e}): {body}"))?;
        let object = value.as_object().ok_or("body not an object")?;
        let keys: Vec<&str> = object.keys().map(String::as_str).collect();
        if keys != ["__type", "message"] {
            return Err(format!("keys {keys:?}"));
        }
        let kind = object["__type"].as_str().ok_or("__type not a string")?;
        if !kind.contains('#') || kind.ends_with('#') {
            return Err(format!("__type {kind}"));
        }
        if !object["message"].is_string() {
            return Err("message not a string".into());
        }
        let header = r
            .header("x-amzn-query-error")
            .ok_or("no x-amzn-query-error")?;
        let (code, fault) = header
            .split_once(';')
            .ok_or_else(|| format!("x-amzn-query-error {header}"))?;
        if code.is_empty()
            || !code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.')
            || fault != "Sender"
        {
            return Err(format!("x-amzn-query-error {header}"));
        }
    } else {
        if r.header("content-type") != Some("text/xml") {
            return Err(format!("content-type {:?}", r.header("content-type")));
        }
        let rest = body
            .strip_prefix(XML_ERROR_PREFIX)
            .ok_or_else(|| format!("not an ErrorResponse: {body}"))?;
        let suffix =
            format!("</Message><Detail/></Error><RequestId>{id}</RequestId></ErrorResponse>");
        let middle = rest
            .strip_suffix(&suffix)
            .ok_or_else(|| format!("bad ErrorResponse tail: {body}"))?;
        let (code, message) = middle
            .split_once("</Code><Message>")
            .ok_or_else(|| format!("no Code/Message: {body}"))?;
        if code.is_empty() || !code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.') {
            return Err(format!("code {code:?}"));
        }
        if message.contains('<') || message.contains('>') {
            return Err(format!("unescaped message {message:?}"));
        }
        if r.header("x-amzn-query-error").is_some() {
            return Err("x-amzn-query-error on a Query response".into());
        }
    }
    Ok(())
}

async fn create_works(server: &TestServer, name: &str) {
    let r = common::raw(
        server.addr(),
        common::query_post(
            &server.host(),
            "/",
            &format!("Action=CreateQueue&QueueName={name}"),
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r
        .text()
        .contains(&format!("<QueueUrl>{}</QueueUrl>", server.queue_url(name))));
    let r = common::raw(
        server.addr(),
        common::json_post(
            &server.host(),
            "CreateQueue",
            &format!("{{\"QueueName\":\"{name}-json\"}}"),
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let url = server.queue_url(&format!("{name}-json"));
    assert_eq!(r.text(), format!("{{\"QueueUrl\":\"{url}\"}}"));
    let out = server
        .client()
        .create_queue()
        .queue_name(format!("{name}-sdk"))
        .send()
        .await
        .expect("the SDK still works");
    assert_eq!(
        out.queue_url(),
        Some(server.queue_url(&format!("{name}-sdk")).as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_requests_get_well_formed_4xx_errors() {
    let server = TestServer::start().await;
    let host = server.host();
    // A fixed seed; `SLUICE_GARBAGE_SEED=<n>` explores other streams.
    let seed = std::env::var("SLUICE_GARBAGE_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(0x5EED_5105_CAFE_F00D)
        | 1;
    let mut rng = Rng(seed);
    let mut failures = Vec::new();
    let started = Instant::now();
    for i in 0..REQUESTS {
        let garbage = generate(&mut rng, &host);
        match try_raw(server.addr(), garbage.bytes).await {
            Ok(r) => {
                if let Err(problem) = check_error(&r, garbage.json) {
                    failures.push(format!("#{i} {}: {problem}", garbage.label));
                }
            }
            Err(e) => failures.push(format!("#{i} {}: connection: {e}", garbage.label)),
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "garbage took {:?}",
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} of {REQUESTS} garbage requests were not answered with a well-formed 4xx AWS error:\n{}",
        failures.len(),
        failures.join("\n")
    );
    create_works(&server, "after-garbage").await;
}

/// Bodies over the 8 MiB limit get 413 without the server waiting for (or reading) the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_get_413_without_hanging() {
    let server = TestServer::start().await;
    let host = server.host();
    let big = vec![b'a'; MAX_BODY + 1024];
    let mut form_body =
        b"Action=CreateQueue&QueueName=big&Attribute.1.Name=Policy&Attribute.1.Value=".to_vec();
    form_body.extend_from_slice(&big);
    let mut json_body = b"{\"QueueName\":\"big\",\"Attributes\":{\"Policy\":\"".to_vec();
    json_body.extend_from_slice(&big);
    json_body.extend_from_slice(b"\"}}");

    let mut cases: Vec<(&str, Vec<u8>, bool)> = vec![
        (
            "form",
            http_request("POST", "/", &host, &[("Content-Type", FORM)], &form_body),
            false,
        ),
        (
            "json",
            http_request(
                "POST",
                "/",
                &host,
                &[
                    ("Content-Type", JSON_TYPE),
                    ("X-Amz-Target", "AmazonSQS.CreateQueue"),
                ],
                &json_body,
            ),
            true,
        ),
    ];
    // A Content-Length of 100 MiB of which only a little over 8 MiB is ever sent: the answer must come
    // without the rest.
    let mut lying = format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Type: {FORM}\r\nContent-Length: {}\r\n\r\n",
        100 * 1024 * 1024
    )
    .into_bytes();
    lying.extend_from_slice(&form_body);
    cases.push(("content-length larger than sent", lying, false));
    // Chunked.
    let mut chunked = format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Type: {JSON_TYPE}\r\nX-Amz-Target: AmazonSQS.CreateQueue\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    for piece in json_body.chunks(1024 * 1024) {
        chunked.extend(format!("{:x}\r\n", piece.len()).into_bytes());
        chunked.extend_from_slice(piece);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    cases.push(("chunked", chunked, true));

    for (label, bytes, json) in cases {
        let started = Instant::now();
        let r = tokio::time::timeout(Duration::from_secs(30), try_raw(server.addr(), bytes))
            .await
            .unwrap_or_else(|_| panic!("{label}: no answer within 30 s"))
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        assert_eq!(r.status, 413, "{label}: {}", r.text());
        check_413(&r, json, label);
        assert!(started.elapsed() < Duration::from_secs(20), "{label}");
    }
    // Exactly at the limit is read (and then refused for what it says, not its size).
    let mut at_limit = b"Action=CreateQueue&QueueName=bad%20name&Junk=".to_vec();
    at_limit.resize(MAX_BODY, b'x');
    let r = common::raw(
        server.addr(),
        http_request("POST", "/", &host, &[("Content-Type", FORM)], &at_limit),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    check_error(&r, false).unwrap();
    create_works(&server, "after-big").await;
}

fn check_413(r: &RawResponse, json: bool, label: &str) {
    if let Err(problem) = check_error(r, json) {
        panic!("{label}: {problem}");
    }
    if json {
        assert_eq!(
            r.header("x-amzn-query-error"),
            Some("RequestEntityTooLarge;Sender"),
            "{label}"
        );
    } else {
        assert!(
            r.text().contains("<Code>RequestEntityTooLarge</Code>"),
            "{label}: {}",
            r.text()
        );
    }
}

/// A request signed for a region that is not of AWS's shape, or not one the server is configured
/// for, is answered as AWS answers a credential scoped to a region it does not serve: 403
/// `SignatureDoesNotMatch` ("Credential should be scoped to a valid region"), a Sender fault; over
/// JSON the `__type` is the service framework's `InvalidSignatureException` and `x-amzn-query-error`
/// carries the Query code. Nothing of the region reaches a queue URL, an ARN or the journal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regions_not_of_aws_shape_get_signature_does_not_match() {
    let server = TestServer::start().await;
    let host = server.host();
    let long = format!("us-{}-1", "a".repeat(10_000));
    for region in ["x@evil.example", "..", "a b", "US-EAST-1", long.as_str()] {
        let auth = common::authorization("test", region);
        let label = &region[..region.len().min(20)];
        let r = common::raw(
            server.addr(),
            http_request(
                "POST",
                "/",
                &host,
                &[
                    ("Content-Type", JSON_TYPE),
                    ("X-Amz-Target", "AmazonSQS.CreateQueue"),
                    ("Authorization", &auth),
                ],
                b"{\"QueueName\":\"regional\"}",
            ),
        )
        .await;
        assert_eq!(r.status, 403, "{label}: {}", r.text());
        check_error(&r, true).unwrap();
        assert_eq!(
            r.header("x-amzn-query-error"),
            Some("SignatureDoesNotMatch;Sender")
        );
        let body = r.json();
        assert_eq!(
            body["__type"],
            "com.amazon.coral.service#InvalidSignatureException"
        );
        let message = body["message"].as_str().unwrap();
        assert!(
            message.starts_with("Credential should be scoped to a valid region"),
            "{message}"
        );
        assert!(message.len() < 200, "the long name is not echoed");

        let r = common::raw(
            server.addr(),
            http_request(
                "POST",
                "/",
                &host,
                &[("Content-Type", FORM), ("Authorization", &auth)],
                b"Action=CreateQueue&QueueName=regional",
            ),
        )
        .await;
        assert_eq!(r.status, 403, "{label}: {}", r.text());
        assert!(
            r.text().contains("<Code>SignatureDoesNotMatch</Code>"),
            "{}",
            r.text()
        );

        let presigned = format!(
            "/?Action=CreateQueue&QueueName=regional&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=test%2F20240101%2F{}%2Fsqs%2Faws4_request",
            common::form_encode(region)
        );
        let r = common::raw(
            server.addr(),
            http_request("GET", &presigned, &host, &[], b""),
        )
        .await;
        assert_eq!(r.status, 403, "{label}: {}", r.text());
    }
    let listed = common::raw(
        server.addr(),
        http_request("GET", "/?Action=ListQueues", &host, &[], b""),
    )
    .await;
    assert!(!listed.text().contains("regional"), "{}", listed.text());
    create_works(&server, "after-regions").await;
    server.shutdown().await;
}

/// With `regions` configured, only those are served, whether named by the credential or the host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_configured_regions_are_served() {
    let config = sluice_server::Config {
        regions: vec!["us-east-1".into(), "eu-west-1".into()],
        ..sluice_server::Config::default()
    };
    let server = TestServer::try_start_config(config).await.unwrap();
    let host = server.host();
    let create = |auth: String, host: String| {
        http_request(
            "POST",
            "/",
            &host.clone(),
            &[
                ("Content-Type", JSON_TYPE),
                ("X-Amz-Target", "AmazonSQS.CreateQueue"),
                ("Authorization", &auth),
            ],
            b"{\"QueueName\":\"listed\"}",
        )
    };
    let r = common::raw(
        server.addr(),
        create(common::authorization("test", "eu-west-1"), host.clone()),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = common::raw(
        server.addr(),
        create(common::authorization("test", "eu-west-2"), host.clone()),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(
        r.header("x-amzn-query-error"),
        Some("SignatureDoesNotMatch;Sender")
    );
    let port = server.addr().port();
    let r = common::raw(
        server.addr(),
        http_request(
            "GET",
            "/?Action=ListQueues",
            &format!("sqs.ap-south-1.localhost:{port}"),
            &[],
            b"",
        ),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text());
    server.shutdown().await;

    // The default region is one of those served.
    let config = sluice_server::Config {
        regions: vec!["eu-west-1".into()],
        ..sluice_server::Config::default()
    };
    let refused = TestServer::try_start_config(config).await.err().unwrap();
    assert!(
        refused.contains("not one of the configured regions"),
        "{refused}"
    );
}

/// A form body on a method other than POST is refused with a message that names the method (it once
/// said the form's own media type was unsupported).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_body_on_put_or_delete_names_the_method() {
    let server = TestServer::start().await;
    for method in ["PUT", "DELETE"] {
        let r = common::raw(
            server.addr(),
            http_request(
                method,
                "/",
                &server.host(),
                &[("Content-Type", FORM)],
                b"Action=ListQueues",
            ),
        )
        .await;
        assert_eq!(r.status, 415, "{method}: {}", r.text());
        check_error(&r, false).unwrap();
        let text = r.text();
        assert!(
            text.contains(&format!("A {method} request cannot carry")),
            "{text}"
        );
        assert!(!text.contains("is not supported"), "{text}");
    }
    server.shutdown().await;
}

/// A JSON request whose chunked body cannot be read gets the JSON error for an unreadable body, not
/// the Query protocol's `MalformedQueryString`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_chunked_json_body_gets_a_serialization_error() {
    let server = TestServer::start().await;
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: {JSON_TYPE}\r\nX-Amz-Target: AmazonSQS.ListQueues\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{{}}\r\nzz\r\n\r\n",
        server.host()
    );
    let r = common::raw(server.addr(), request.into_bytes()).await;
    assert_eq!(r.status, 400, "{}", r.text());
    check_error(&r, true).unwrap();
    assert_eq!(
        r.header("x-amzn-query-error"),
        Some("SerializationException;Sender")
    );
    create_works(&server, "after-chunks").await;
    server.shutdown().await;
}

/// A client that declares a body over the limit and waits for `100 Continue` hears 413 at once,
/// without sending (or being asked for) a byte of the body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expect_continue_over_the_limit_gets_an_early_413() {
    use std::io::{Read, Write};
    let server = TestServer::start().await;
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: {FORM}\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        server.host(),
        MAX_BODY + 1
    );
    let addr = server.addr();
    let answer = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream.write_all(head.as_bytes()).unwrap();
        let mut answer = Vec::new();
        let mut chunk = [0u8; 4096];
        while !String::from_utf8_lossy(&answer).contains("</ErrorResponse>") {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&chunk[..n]),
            }
        }
        String::from_utf8_lossy(&answer).to_string()
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
    assert!(!answer.contains("100 Continue"), "{answer}");
    assert!(
        answer.contains("<Code>RequestEntityTooLarge</Code>"),
        "{answer}"
    );
    server.shutdown().await;
}

/// Query list and map entries are numbered from 1. `Attribute.0` was silently dropped, so a
/// SetQueueAttributes succeeded without setting anything; it is now refused as SQS refuses a bad
/// parameter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_entries_numbered_zero_are_refused() {
    let server = TestServer::start().await;
    create_works(&server, "numbered").await;
    let url = common::form_encode(&server.queue_url("numbered"));
    let r = common::raw(
        server.addr(),
        common::query_post(
            &server.host(),
            "/",
            &format!("Action=SetQueueAttributes&QueueUrl={url}&Attribute.0.Name=DelaySeconds&Attribute.0.Value=5"),
        ),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    check_error(&r, false).unwrap();
    assert!(
        r.text().contains("<Code>InvalidParameterValue</Code>"),
        "{}",
        r.text()
    );
    server.shutdown().await;
}

/// A form value whose percent-decoded bytes are not UTF-8 is refused (`MalformedQueryString`, AWS's
/// error for a query string it cannot read) instead of being stored with U+FFFD in place of the bytes,
/// which made the MD5 in the answer differ from the one of the bytes sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_in_a_form_value_is_refused() {
    let server = TestServer::start().await;
    create_works(&server, "bytes").await;
    let url = common::form_encode(&server.queue_url("bytes"));
    for body in [
        format!("Action=SendMessage&QueueUrl={url}&MessageBody=caf%E9"),
        format!("Action=SendMessage&QueueUrl={url}&MessageBody=%FF%FE"),
    ] {
        let r = common::raw(
            server.addr(),
            common::query_post(&server.host(), "/", &body),
        )
        .await;
        assert_eq!(r.status, 404, "{}", r.text());
        check_error(&r, false).unwrap();
        assert!(
            r.text().contains("<Code>MalformedQueryString</Code>"),
            "{}",
            r.text()
        );
    }
    let r = common::raw(
        server.addr(),
        http_request(
            "GET",
            &format!("/?Action=SendMessage&QueueUrl={url}&MessageBody=%C3"),
            &server.host(),
            &[],
            b"",
        ),
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.text());
    let received = common::raw(
        server.addr(),
        common::query_post(
            &server.host(),
            "/",
            &format!("Action=ReceiveMessage&QueueUrl={url}"),
        ),
    )
    .await;
    assert!(
        !received.text().contains("<Message>"),
        "{}",
        received.text()
    );
    server.shutdown().await;
}
