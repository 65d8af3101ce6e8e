//! Authentication in `sigv4` mode through AWS's own signers: the `aws-sdk-sqs` client for SQS, and the
//! `aws-sigv4` crate the SDKs sign with for IAM and STS requests (header and presigned forms). Server and
//! clients share one clock that the tests move, so expiry is tested without sleeping.

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials as SigningCredentials;
use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sqs::types::MessageSystemAttributeName;
use aws_sigv4::http_request::{
    sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
};
use aws_sigv4::sign::v4;
use aws_smithy_async::time::TimeSource;
use common::*;
use sluice_queue::{Clock, ManualClock};
use sluice_server::config::{Cli, Config};

const ACCOUNT_A: &str = "111111111111";
const ACCOUNT_B: &str = "222222222222";
const ROOT_A: (&str, &str) = (
    "AKIAROOTAAAAAAAAAAAA",
    "root-a-secret-0123456789012345678901234",
);
const ROOT_B: (&str, &str) = (
    "AKIAROOTBBBBBBBBBBBB",
    "root-b-secret-0123456789012345678901234",
);

/// The clock both the server and the clients read.
#[derive(Debug, Clone)]
struct SharedClock(Arc<ManualClock>);

impl TimeSource for SharedClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.0.now_millis() as u64)
    }
}

struct Fixture {
    server: TestServer,
    clock: SharedClock,
}

impl Fixture {
    async fn start() -> Fixture {
        let dir = TempDir::new("auth-config");
        let path = dir.path().join("sluice.toml");
        std::fs::write(
            &path,
            format!(
                r#"
auth = "sigv4"

[[accounts]]
id = "{ACCOUNT_A}"
access-key-id = "{}"
secret-access-key = "{}"

[[accounts]]
id = "{ACCOUNT_B}"
access-key-id = "{}"
secret-access-key = "{}"
"#,
                ROOT_A.0, ROOT_A.1, ROOT_B.0, ROOT_B.1
            ),
        )
        .unwrap();
        let cli =
            <Cli as clap::Parser>::try_parse_from(["sluice", "--config", path.to_str().unwrap()])
                .unwrap();
        let config = Config::resolve(&cli.serve).unwrap();
        let clock = SharedClock(Arc::new(ManualClock::new(now_millis())));
        let server = TestServer::try_start_config_with_clock(config, clock.0.clone())
            .await
            .unwrap();
        Fixture { server, clock }
    }

    fn advance(&self, seconds: i64) {
        self.clock.0.advance_millis(seconds * 1000);
    }

    /// An SQS client signing with these credentials at the shared clock's time.
    fn sqs(&self, key: &str, secret: &str, token: Option<&str>) -> aws_sdk_sqs::Client {
        self.sqs_at(key, secret, token, self.clock.clone())
    }

    fn sqs_at(
        &self,
        key: &str,
        secret: &str,
        token: Option<&str>,
        time: impl TimeSource + 'static,
    ) -> aws_sdk_sqs::Client {
        let config = aws_sdk_sqs::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(self.server.url())
            .credentials_provider(Credentials::new(
                key,
                secret,
                token.map(str::to_string),
                None,
                "test",
            ))
            .time_source(time)
            .retry_config(aws_sdk_sqs::config::retry::RetryConfig::disabled())
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .build();
        aws_sdk_sqs::Client::from_conf(config)
    }

    /// A Query request signed in the `Authorization` header as the SDKs sign it.
    async fn call(
        &self,
        service: &str,
        key: SigningKey<'_>,
        params: &[(&str, &str)],
    ) -> RawResponse {
        let body = query_body(service, params);
        let request = signed_query_post(&self.server.host(), service, key, &body, self.clock.now());
        raw(self.server.addr(), request).await
    }

    /// The text of the first `<name>` element of a successful response.
    async fn value(
        &self,
        service: &str,
        key: SigningKey<'_>,
        params: &[(&str, &str)],
        name: &str,
    ) -> String {
        let response = self.call(service, key, params).await;
        assert_eq!(response.status, 200, "{}", response.text());
        element(&response.text(), name)
            .unwrap_or_else(|| panic!("no <{name}> in {}", response.text()))
    }
}

fn element(xml: &str, name: &str) -> Option<String> {
    xml_element(xml, name)
}

fn error_code(response: &RawResponse) -> String {
    element(&response.text(), "Code").unwrap_or_default()
}

fn root(pair: (&'static str, &'static str)) -> SigningKey<'static> {
    (pair.0, pair.1, None)
}

/// Creates a user with an access key in the account of `as_root`; returns (user id, key id, secret).
async fn user_with_key(
    f: &Fixture,
    as_root: SigningKey<'_>,
    name: &str,
) -> (String, String, String) {
    let user_id = f
        .value(
            "iam",
            as_root,
            &[("Action", "CreateUser"), ("UserName", name)],
            "UserId",
        )
        .await;
    allow_everything(f, as_root, "User", name).await;
    let response = f
        .call(
            "iam",
            as_root,
            &[("Action", "CreateAccessKey"), ("UserName", name)],
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.text());
    let text = response.text();
    (
        user_id,
        element(&text, "AccessKeyId").unwrap(),
        element(&text, "SecretAccessKey").unwrap(),
    )
}

/// Gives a user or role (`kind`) an inline policy allowing every action: these tests are about who
/// signs, and leave what each may do to the authorization tests.
async fn allow_everything(f: &Fixture, as_root: SigningKey<'_>, kind: &str, name: &str) {
    let action = format!("Put{kind}Policy");
    let member = format!("{kind}Name");
    let response = f
        .call(
            "iam",
            as_root,
            &[
                ("Action", &action),
                (&member, name),
                ("PolicyName", "everything"),
                (
                    "PolicyDocument",
                    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
                ),
            ],
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.text());
}

fn sqs_error<E: aws_sdk_sqs::error::ProvideErrorMetadata + std::fmt::Debug>(
    result: Result<
        impl std::fmt::Debug,
        aws_sdk_sqs::error::SdkError<E, aws_sdk_sqs::config::http::HttpResponse>,
    >,
) -> (u16, String, String) {
    parts(&result.expect_err("the request is refused"))
}

#[tokio::test]
async fn a_user_made_through_iam_sends_and_receives_with_its_own_key_until_it_is_deactivated() {
    let f = Fixture::start().await;
    let (user_id, key, secret) = user_with_key(&f, root(ROOT_A), "alice").await;
    assert!(
        user_id.starts_with("AIDA") && user_id.len() == 21,
        "{user_id}"
    );
    assert!(key.starts_with("AKIA") && key.len() == 20, "{key}");
    assert_eq!(secret.len(), 40);

    let alice = f.sqs(&key, &secret, None);
    let url = create(&alice, "orders").await;
    assert!(url.contains(&format!("/{ACCOUNT_A}/orders")), "{url}");
    alice
        .send_message()
        .queue_url(&url)
        .message_body("hi")
        .send()
        .await
        .unwrap();
    let received = alice
        .receive_message()
        .queue_url(&url)
        .message_system_attribute_names(MessageSystemAttributeName::SenderId)
        .send()
        .await
        .unwrap();
    let message = &received.messages()[0];
    assert_eq!(message.body(), Some("hi"));
    assert_eq!(
        system_attribute(message, MessageSystemAttributeName::SenderId).as_deref(),
        Some(user_id.as_str()),
        "SenderId is the user's unique id"
    );

    // The account's root sends as the account id.
    let root_client = f.sqs(ROOT_A.0, ROOT_A.1, None);
    root_client
        .send_message()
        .queue_url(&url)
        .message_body("r")
        .send()
        .await
        .unwrap();

    // A wrong secret, an unknown key.
    let (status, code, message) =
        sqs_error(f.sqs(&key, "wrong-secret", None).list_queues().send().await);
    assert_eq!((status, code.as_str()), (403, "SignatureDoesNotMatch"));
    assert!(
        message.starts_with("The request signature we calculated does not match"),
        "{message}"
    );
    let (status, code, message) = sqs_error(
        f.sqs("AKIANOTAKEY000000000", &secret, None)
            .list_queues()
            .send()
            .await,
    );
    assert_eq!((status, code.as_str()), (403, "InvalidClientTokenId"));
    assert_eq!(
        message,
        "The security token included in the request is invalid."
    );

    // Deactivated, then deleted: refused like an unknown key.
    let set_status = |status: &'static str| {
        let (f, key) = (&f, key.clone());
        async move {
            let params = [
                ("Action", "UpdateAccessKey"),
                ("UserName", "alice"),
                ("AccessKeyId", key.as_str()),
                ("Status", status),
            ];
            let response = f.call("iam", root(ROOT_A), &params).await;
            assert_eq!(response.status, 200, "{}", response.text());
        }
    };
    set_status("Inactive").await;
    let (status, code, _) = sqs_error(alice.list_queues().send().await);
    assert_eq!((status, code.as_str()), (403, "InvalidClientTokenId"));
    set_status("Active").await;
    alice.list_queues().send().await.unwrap();
    let response = f
        .call(
            "iam",
            root(ROOT_A),
            &[
                ("Action", "DeleteAccessKey"),
                ("UserName", "alice"),
                ("AccessKeyId", &key),
            ],
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.text());
    let (status, code, _) = sqs_error(alice.list_queues().send().await);
    assert_eq!((status, code.as_str()), (403, "InvalidClientTokenId"));
}

#[tokio::test]
async fn requests_outside_the_clock_window_are_refused_both_ways() {
    let f = Fixture::start().await;
    let client = f.sqs(ROOT_A.0, ROOT_A.1, None);
    client.list_queues().send().await.unwrap();

    // Signed 16 minutes ago (a replay), or 16 minutes ahead.
    for skew in [-16 * 60, 16 * 60] {
        let clock = SharedClock(Arc::new(ManualClock::new(
            f.clock.0.now_millis() + skew * 1000,
        )));
        let skewed = f.sqs_at(ROOT_A.0, ROOT_A.1, None, clock);
        let (status, code, message) = sqs_error(skewed.list_queues().send().await);
        assert_eq!(status, 403, "{code}: {message}");
        assert_eq!(code, "SignatureDoesNotMatch", "{message}");
        assert!(
            message.starts_with("Signature expired")
                || message.starts_with("Signature not yet current"),
            "{message}"
        );
    }
    // Within the window on either side is accepted.
    for skew in [-14 * 60, 14 * 60] {
        let clock = SharedClock(Arc::new(ManualClock::new(
            f.clock.0.now_millis() + skew * 1000,
        )));
        f.sqs_at(ROOT_A.0, ROOT_A.1, None, clock)
            .list_queues()
            .send()
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_tampered_body_does_not_match_its_signature() {
    let f = Fixture::start().await;
    let client = f.sqs(ROOT_A.0, ROOT_A.1, None);
    let url = create(&client, "q").await;
    // Sign a SendMessage, then change the body it carries.
    let response = f
        .call(
            "sqs",
            root(ROOT_A),
            &[
                ("Action", "SendMessage"),
                ("QueueUrl", &url),
                ("MessageBody", "pay 10"),
            ],
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.text());
    let mut tampered = f.signed_query_request(
        root(ROOT_A),
        &[
            ("Action", "SendMessage"),
            ("QueueUrl", &url),
            ("MessageBody", "pay 10"),
        ],
    );
    let at = tampered.windows(8).position(|w| w == b"pay%2010").unwrap();
    tampered[at + 6] = b'9';
    let response = raw(f.server.addr(), tampered).await;
    assert_eq!(response.status, 403, "{}", response.text());
    assert_eq!(error_code(&response), "SignatureDoesNotMatch");
    let (visible, _, _) = counts(&client, &url).await;
    assert_eq!(visible, 1, "only the untampered message was sent");
}

#[tokio::test]
async fn unsigned_requests_and_malformed_signatures_are_refused() {
    let f = Fixture::start().await;
    let response = raw(
        f.server.addr(),
        query_post(&f.server.host(), "/", "Action=ListQueues"),
    )
    .await;
    assert_eq!(response.status, 403, "{}", response.text());
    assert_eq!(error_code(&response), "MissingAuthenticationToken");
    let request = http_request(
        "POST",
        "/",
        &f.server.host(),
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("X-Amz-Date", "20240101T000000Z"),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAROOTAAAAAAAAAAAA/20240101/us-east-1/sqs/aws4_request"),
        ],
        b"Action=ListQueues",
    );
    let response = raw(f.server.addr(), request).await;
    assert_eq!(response.status, 400, "{}", response.text());
    assert_eq!(error_code(&response), "IncompleteSignature");
}

#[tokio::test]
async fn role_sessions_work_with_their_token_and_stop_at_expiry() {
    let f = Fixture::start().await;
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT_A}:root"}},"Action":"sts:AssumeRole"}}]}}"#
    );
    let role_id = f
        .value(
            "iam",
            root(ROOT_A),
            &[
                ("Action", "CreateRole"),
                ("RoleName", "worker"),
                ("AssumeRolePolicyDocument", &trust),
            ],
            "RoleId",
        )
        .await;
    assert!(role_id.starts_with("AROA"), "{role_id}");
    allow_everything(&f, root(ROOT_A), "Role", "worker").await;
    let (_, key, secret) = user_with_key(&f, root(ROOT_A), "bob").await;
    let response = f
        .call(
            "sts",
            (&key, &secret, None),
            &[
                ("Action", "AssumeRole"),
                ("RoleArn", &format!("arn:aws:iam::{ACCOUNT_A}:role/worker")),
                ("RoleSessionName", "job-1"),
                ("DurationSeconds", "900"),
            ],
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.text());
    let text = response.text();
    let session_key = element(&text, "AccessKeyId").unwrap();
    let session_secret = element(&text, "SecretAccessKey").unwrap();
    let token = element(&text, "SessionToken").unwrap();
    assert!(session_key.starts_with("ASIA"), "{session_key}");
    assert_eq!(
        element(&text, "AssumedRoleId").unwrap(),
        format!("{role_id}:job-1")
    );
    assert_eq!(
        element(&text, "Arn").unwrap(),
        format!("arn:aws:sts::{ACCOUNT_A}:assumed-role/worker/job-1")
    );

    let session = f.sqs(&session_key, &session_secret, Some(&token));
    let url = create(&session, "jobs").await;
    session
        .send_message()
        .queue_url(&url)
        .message_body("j")
        .send()
        .await
        .unwrap();
    let received = session
        .receive_message()
        .queue_url(&url)
        .message_system_attribute_names(MessageSystemAttributeName::SenderId)
        .send()
        .await
        .unwrap();
    assert_eq!(
        system_attribute(
            &received.messages()[0],
            MessageSystemAttributeName::SenderId
        ),
        Some(format!("{role_id}:job-1"))
    );
    let caller = f
        .value(
            "sts",
            (&session_key, &session_secret, Some(&token)),
            &[("Action", "GetCallerIdentity")],
            "Arn",
        )
        .await;
    assert_eq!(
        caller,
        format!("arn:aws:sts::{ACCOUNT_A}:assumed-role/worker/job-1")
    );

    // Without its token the key is unknown.
    let (status, code, _) = sqs_error(
        f.sqs(&session_key, &session_secret, None)
            .list_queues()
            .send()
            .await,
    );
    assert_eq!((status, code.as_str()), (403, "InvalidClientTokenId"));

    // Just before expiry it works; at expiry it is refused as expired.
    f.advance(899);
    session.list_queues().send().await.unwrap();
    f.advance(1);
    let (status, code, message) = sqs_error(session.list_queues().send().await);
    assert_eq!((status, code.as_str()), (403, "ExpiredToken"), "{message}");
}

#[tokio::test]
async fn cross_account_assume_role_follows_the_trust_policy() {
    let f = Fixture::start().await;
    let trusts_b = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{ACCOUNT_B}"}},"Action":"sts:AssumeRole","Condition":{{"StringEquals":{{"sts:ExternalId":"shared-secret"}}}}}}]}}"#
    );
    let trusts_a_only = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT_A}:root"}},"Action":"sts:AssumeRole"}}]}}"#
    );
    for (name, trust) in [("partner", &trusts_b), ("internal", &trusts_a_only)] {
        let response = f
            .call(
                "iam",
                root(ROOT_A),
                &[
                    ("Action", "CreateRole"),
                    ("RoleName", name),
                    ("AssumeRolePolicyDocument", trust),
                ],
            )
            .await;
        assert_eq!(response.status, 200, "{}", response.text());
        allow_everything(&f, root(ROOT_A), "Role", name).await;
    }
    let (_, key, secret) = user_with_key(&f, root(ROOT_B), "carol").await;
    let carol = (key.as_str(), secret.as_str(), None);
    let assume = |role: &'static str, external_id: Option<&'static str>| {
        let mut params = vec![
            ("Action", "AssumeRole".to_string()),
            ("RoleArn", format!("arn:aws:iam::{ACCOUNT_A}:role/{role}")),
            ("RoleSessionName", "visit".to_string()),
        ];
        if let Some(id) = external_id {
            params.push(("ExternalId", id.to_string()));
        }
        params
    };
    let call = |params: Vec<(&'static str, String)>| {
        let f = &f;
        async move {
            let params: Vec<(&str, &str)> = params.iter().map(|(n, v)| (*n, v.as_str())).collect();
            f.call("sts", carol, &params).await
        }
    };
    let response = call(assume("partner", Some("shared-secret"))).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let text = response.text();
    let session = f.sqs(
        &element(&text, "AccessKeyId").unwrap(),
        &element(&text, "SecretAccessKey").unwrap(),
        Some(&element(&text, "SessionToken").unwrap()),
    );
    let url = create(&session, "in-a").await;
    assert!(
        url.contains(&format!("/{ACCOUNT_A}/in-a")),
        "the session acts in the role's account: {url}"
    );

    for params in [
        assume("partner", Some("wrong")),
        assume("partner", None),
        assume("internal", None),
    ] {
        let response = call(params).await;
        assert_eq!(response.status, 403, "{}", response.text());
        assert_eq!(error_code(&response), "AccessDenied");
        let message = element(&response.text(), "Message").unwrap();
        assert!(
            message.contains("is not authorized to perform: sts:AssumeRole"),
            "{message}"
        );
    }
}

#[tokio::test]
async fn presigned_get_urls_work_until_they_expire() {
    let f = Fixture::start().await;
    let client = f.sqs(ROOT_A.0, ROOT_A.1, None);
    let url = create(&client, "presigned").await;
    let target = f.presign(
        &format!(
            "/?Action=SendMessage&QueueUrl={}&MessageBody=hello&Version=2012-11-05",
            form_encode(&url)
        ),
        60,
    );
    let response = raw(
        f.server.addr(),
        http_request("GET", &target, &f.server.host(), &[], b""),
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert!(
        response.text().contains("<MD5OfMessageBody>"),
        "{}",
        response.text()
    );
    assert_eq!(counts(&client, &url).await.0, 1);

    // Past X-Amz-Date + X-Amz-Expires: the common error SQS lists for it, RequestExpired (400).
    f.advance(61);
    let response = raw(
        f.server.addr(),
        http_request("GET", &target, &f.server.host(), &[], b""),
    )
    .await;
    assert_eq!(response.status, 400, "{}", response.text());
    assert_eq!(
        error_code(&response),
        "RequestExpired",
        "{}",
        response.text()
    );
    assert_eq!(
        xml_element(&response.text(), "Message").as_deref(),
        Some("Request has expired.")
    );
}

impl Fixture {
    /// A complete SQS Query POST signed in the `Authorization` header.
    fn signed_query_request(&self, key: SigningKey<'_>, params: &[(&str, &str)]) -> Vec<u8> {
        let body = query_body("sqs", params);
        signed_query_post(&self.server.host(), "sqs", key, &body, self.clock.now())
    }

    /// `path_and_query` as a presigned GET URL's path and query, valid for `expires` seconds.
    fn presign(&self, path_and_query: &str, expires: u64) -> String {
        let url = format!("{}{path_and_query}", self.server.url());
        let identity = SigningCredentials::new(ROOT_A.0, ROOT_A.1, None, None, "test").into();
        let mut settings = SigningSettings::default();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(expires));
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("sqs")
            .time(self.clock.now())
            .settings(settings)
            .build()
            .unwrap()
            .into();
        let host = self.server.host();
        let signable = SignableRequest::new(
            "GET",
            &url,
            [("host", host.as_str())].into_iter(),
            SignableBody::Bytes(b""),
        )
        .unwrap();
        let (instructions, _) = sign(signable, &params).unwrap().into_parts();
        let mut request = http::Request::builder()
            .method("GET")
            .uri(&url)
            .body(())
            .unwrap();
        instructions.apply_to_request_http1x(&mut request);
        request.uri().path_and_query().unwrap().to_string()
    }
}

/// The key and secret of a shared-credentials file's `[default]` profile.
fn read_credentials_file(path: &std::path::Path) -> (String, String) {
    let text = std::fs::read_to_string(path).unwrap();
    let value = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} = ")))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
            .to_string()
    };
    (value("aws_access_key_id"), value("aws_secret_access_key"))
}

#[tokio::test]
async fn a_first_start_without_accounts_writes_a_root_key_only_its_owner_can_read() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("first-start");
    let config = Config {
        bind: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_path_buf(),
        auth: sluice_server::AuthMode::Sigv4,
        auth_explicit: true,
        ..Config::default()
    };
    let server = sluice_server::start(config.clone()).await.unwrap();
    let path = dir.path().join(sluice_server::ROOT_CREDENTIALS_FILE);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let (key, secret) = read_credentials_file(&path);
    assert!(key.starts_with("AKIA"), "{key}");
    let client = |key: &str, secret: &str| {
        let config = aws_sdk_sqs::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(server.public_url())
            .credentials_provider(Credentials::new(key, secret, None, None, "test"))
            .retry_config(aws_sdk_sqs::config::retry::RetryConfig::disabled())
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .build();
        aws_sdk_sqs::Client::from_conf(config)
    };
    let url = create(&client(&key, &secret), "first").await;
    assert!(url.contains(&format!("/{DEFAULT_ACCOUNT}/first")), "{url}");
    let (status, code, _) = sqs_error(client("test", "test").list_queues().send().await);
    assert_eq!((status, code.as_str()), (403, "InvalidClientTokenId"));
    server.shutdown().await;

    // A restart keeps the key it made; it does not make another.
    let server = sluice_server::start(config).await.unwrap();
    assert_eq!(read_credentials_file(&path), (key, secret));
    server.shutdown().await;
}
