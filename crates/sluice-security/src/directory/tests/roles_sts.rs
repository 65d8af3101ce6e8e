use serde_json::json;
use sluice_model::PrincipalType;

use super::*;

fn trust(principal: &str, condition: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{principal}"}},"Action":"sts:AssumeRole"{condition}}}]}}"#
    )
}

async fn create_role(directory: &Directory, account: &str, name: &str, policy: &str) {
    iam(
        directory,
        &Principal::root(account),
        "CreateRole",
        &[
            ("RoleName", name),
            ("AssumeRolePolicyDocument", policy),
            ("MaxSessionDuration", "7200"),
        ],
    )
    .await
    .unwrap();
}

fn role_arn(account: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:role/{name}")
}

async fn assume(
    directory: &Directory,
    caller: &Principal,
    arn: &str,
    extra: &[(&str, &str)],
) -> Result<Value, SecurityError> {
    let mut pairs = vec![("RoleArn", arn), ("RoleSessionName", "s1")];
    pairs.extend_from_slice(extra);
    sts(directory, caller, "AssumeRole", &pairs, NOW).await
}

/// The principal of the session an AssumeRole output names.
async fn session_caller(directory: &Directory, output: &Value) -> Principal {
    let key_id = output["Credentials"]["AccessKeyId"].as_str().unwrap();
    directory
        .credentials(key_id)
        .await
        .unwrap()
        .unwrap()
        .principal
}

fn denied(caller: &Principal, arn: &str) -> String {
    format!(
        "User: {} is not authorized to perform: sts:AssumeRole on resource: {arn}",
        caller.arn
    )
}

#[tokio::test]
async fn roles_are_created_read_updated_and_deleted() {
    let directory = directory();
    let policy = trust(ACCOUNT, "");
    let created = iam(
        &directory,
        &root(),
        "CreateRole",
        &[
            ("RoleName", "worker"),
            ("Path", "/app/"),
            ("AssumeRolePolicyDocument", &policy),
            ("Description", "runs jobs"),
        ],
    )
    .await
    .unwrap();
    let role = &created["Role"];
    assert_eq!(role["Arn"], "arn:aws:iam::111122223333:role/app/worker");
    assert!(role["RoleId"].as_str().unwrap().starts_with("AROA"));
    assert_eq!(role["MaxSessionDuration"], 3600);
    assert_eq!(role["Description"], "runs jobs");
    assert_eq!(
        role["AssumeRolePolicyDocument"],
        super::super::ids::url_encode(&policy)
    );
    assert_error(
        iam(
            &directory,
            &root(),
            "CreateRole",
            &[
                ("RoleName", "WORKER"),
                ("AssumeRolePolicyDocument", &policy),
            ],
        )
        .await,
        "EntityAlreadyExists",
        "Role with name WORKER already exists.",
    );
    for duration in ["3599", "43201"] {
        assert_eq!(
            iam(
                &directory,
                &root(),
                "CreateRole",
                &[
                    ("RoleName", "other"),
                    ("AssumeRolePolicyDocument", &policy),
                    ("MaxSessionDuration", duration),
                ],
            )
            .await
            .unwrap_err()
            .code,
            "ValidationError"
        );
    }
    assert_error(
        iam(
            &directory,
            &root(),
            "CreateRole",
            &[
                ("RoleName", "other"),
                (
                    "AssumeRolePolicyDocument",
                    r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Resource":"*"}}"#,
                ),
            ],
        )
        .await,
        "MalformedPolicyDocument",
        "Has prohibited field Resource",
    );

    let updated = trust(OTHER, "");
    iam(
        &directory,
        &root(),
        "UpdateAssumeRolePolicy",
        &[("RoleName", "worker"), ("PolicyDocument", &updated)],
    )
    .await
    .unwrap();
    let got = iam(&directory, &root(), "GetRole", &[("RoleName", "worker")])
        .await
        .unwrap();
    assert_eq!(
        got["Role"]["AssumeRolePolicyDocument"],
        super::super::ids::url_encode(&updated)
    );
    let listed = iam(&directory, &root(), "ListRoles", &[]).await.unwrap();
    assert_eq!(listed["Roles"][0]["RoleName"], "worker");

    iam(
        &directory,
        &root(),
        "PutRolePolicy",
        &[
            ("RoleName", "worker"),
            ("PolicyName", "all"),
            (
                "PolicyDocument",
                r#"{"Statement":{"Effect":"Allow","Action":"sqs:*","Resource":"*"}}"#,
            ),
        ],
    )
    .await
    .unwrap();
    assert_error(
        iam(&directory, &root(), "DeleteRole", &[("RoleName", "worker")]).await,
        "DeleteConflict",
        "Cannot delete entity, must delete policies first.",
    );
    iam(
        &directory,
        &root(),
        "DeleteRolePolicy",
        &[("RoleName", "worker"), ("PolicyName", "all")],
    )
    .await
    .unwrap();
    iam(&directory, &root(), "DeleteRole", &[("RoleName", "worker")])
        .await
        .unwrap();
    assert_error(
        iam(&directory, &root(), "GetRole", &[("RoleName", "worker")]).await,
        "NoSuchEntity",
        "The role with name worker cannot be found.",
    );
}

#[tokio::test]
async fn a_user_of_the_account_assumes_a_role_and_uses_its_session() {
    let directory = directory();
    create_role(&directory, ACCOUNT, "worker", &trust(ACCOUNT, "")).await;
    let alice = user_caller(&directory, ACCOUNT, "alice").await;
    let arn = role_arn(ACCOUNT, "worker");
    let output = assume(
        &directory,
        &alice,
        &arn,
        &[
            ("DurationSeconds", "1800"),
            ("Tags.member.1.Key", "k"),
            ("Tags.member.1.Value", "v"),
        ],
    )
    .await
    .unwrap();
    let credentials = &output["Credentials"];
    let key_id = credentials["AccessKeyId"].as_str().unwrap();
    assert!(key_id.starts_with("ASIA") && key_id.len() == 20);
    assert_eq!(
        credentials["Expiration"],
        super::super::ids::iso8601(NOW + 1800)
    );
    let assumed = &output["AssumedRoleUser"];
    assert_eq!(
        assumed["Arn"],
        "arn:aws:sts::111122223333:assumed-role/worker/s1"
    );
    let role_id = iam(&directory, &root(), "GetRole", &[("RoleName", "worker")])
        .await
        .unwrap()["Role"]["RoleId"]
        .clone();
    assert_eq!(
        assumed["AssumedRoleId"],
        format!("{}:s1", role_id.as_str().unwrap())
    );
    assert!(output["PackedPolicySize"].as_u64().is_some());

    let found = directory.credentials(key_id).await.unwrap().unwrap();
    assert_eq!(found.expires_at, Some(NOW + 1800));
    assert_eq!(found.secret_access_key, credentials["SecretAccessKey"]);
    assert_eq!(
        found.session_token.as_deref(),
        credentials["SessionToken"].as_str()
    );
    let principal = found.principal;
    assert_eq!(principal.kind, PrincipalType::AssumedRole);
    assert_eq!(
        principal.arn,
        "arn:aws:sts::111122223333:assumed-role/worker/s1"
    );
    let session = principal.session.clone().unwrap();
    assert_eq!(session.role_arn, arn);
    assert_eq!(session.tags, vec![("k".to_string(), "v".to_string())]);
    assert_eq!((session.issued_at, session.expires_at), (NOW, NOW + 1800));

    let identity = sts(&directory, &principal, "GetCallerIdentity", &[], NOW)
        .await
        .unwrap();
    assert_eq!(
        identity,
        json!({"UserId": principal.user_id, "Account": ACCOUNT, "Arn": principal.arn})
    );
    let default = assume(&directory, &alice, &arn, &[]).await.unwrap();
    let found = session_caller(&directory, &default).await;
    assert_eq!(found.session.unwrap().expires_at, NOW + 3600);
    assert!(default.get("PackedPolicySize").is_none());
}

#[tokio::test]
async fn trust_policies_decide_who_assumes() {
    let directory = directory();
    let alice = user_caller(&directory, ACCOUNT, "alice").await;
    let bob = user_caller(&directory, ACCOUNT, "bob").await;
    let stranger = user_caller(&directory, OTHER, "stranger").await;

    create_role(&directory, ACCOUNT, "alice-only", &trust(&alice.arn, "")).await;
    let arn = role_arn(ACCOUNT, "alice-only");
    assert!(assume(&directory, &alice, &arn, &[]).await.is_ok());
    assert_error(
        assume(&directory, &bob, &arn, &[]).await,
        "AccessDenied",
        &denied(&bob, &arn),
    );

    // Cross account, by account id.
    create_role(&directory, ACCOUNT, "partner", &trust(OTHER, "")).await;
    let partner = role_arn(ACCOUNT, "partner");
    assert!(assume(&directory, &stranger, &partner, &[]).await.is_ok());
    assert!(assume(&directory, &alice, &partner, &[]).await.is_err());

    // Cross account, by the ARN of the caller's role.
    create_role(&directory, OTHER, "bridge", &trust(OTHER, "")).await;
    let bridge = assume(&directory, &stranger, &role_arn(OTHER, "bridge"), &[])
        .await
        .unwrap();
    let bridge_session = session_caller(&directory, &bridge).await;
    create_role(
        &directory,
        ACCOUNT,
        "from-bridge",
        &trust(&role_arn(OTHER, "bridge"), ""),
    )
    .await;
    let from_bridge = role_arn(ACCOUNT, "from-bridge");
    assert!(assume(&directory, &bridge_session, &from_bridge, &[])
        .await
        .is_ok());
    assert!(assume(&directory, &stranger, &from_bridge, &[])
        .await
        .is_err());

    // A role that does not exist is denied as STS words it, not reported missing.
    let missing = role_arn(ACCOUNT, "missing");
    assert_error(
        assume(&directory, &alice, &missing, &[]).await,
        "AccessDenied",
        &denied(&alice, &missing),
    );
}

#[tokio::test]
async fn external_ids_and_deny_statements() {
    let directory = directory();
    let alice = user_caller(&directory, ACCOUNT, "alice").await;
    create_role(
        &directory,
        ACCOUNT,
        "vendor",
        &trust(
            ACCOUNT,
            r#","Condition":{"StringEquals":{"sts:ExternalId":"ext-123"}}"#,
        ),
    )
    .await;
    let arn = role_arn(ACCOUNT, "vendor");
    assert!(
        assume(&directory, &alice, &arn, &[("ExternalId", "ext-123")])
            .await
            .is_ok()
    );
    assert_eq!(
        assume(&directory, &alice, &arn, &[("ExternalId", "ext-999")])
            .await
            .unwrap_err()
            .code,
        "AccessDenied"
    );
    assert!(assume(&directory, &alice, &arn, &[]).await.is_err());

    let deny = format!(
        r#"{{"Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{ACCOUNT}"}},"Action":"sts:AssumeRole"}},
            {{"Effect":"Deny","Principal":{{"AWS":"{}"}},"Action":"sts:*"}}]}}"#,
        alice.arn
    );
    create_role(&directory, ACCOUNT, "guarded", &deny).await;
    let guarded = role_arn(ACCOUNT, "guarded");
    assert_eq!(
        assume(&directory, &alice, &guarded, &[])
            .await
            .unwrap_err()
            .code,
        "AccessDenied"
    );
    let bob = user_caller(&directory, ACCOUNT, "bob").await;
    assert!(assume(&directory, &bob, &guarded, &[]).await.is_ok());
}

#[tokio::test]
async fn durations_are_bounded_by_the_role_and_by_chaining() {
    let directory = directory();
    let alice = user_caller(&directory, ACCOUNT, "alice").await;
    create_role(&directory, ACCOUNT, "worker", &trust(ACCOUNT, "")).await;
    let arn = role_arn(ACCOUNT, "worker");
    let long = assume(&directory, &alice, &arn, &[("DurationSeconds", "7200")])
        .await
        .unwrap();
    assert_error(
        assume(&directory, &alice, &arn, &[("DurationSeconds", "7201")]).await,
        "ValidationError",
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
    );
    assert_error(
        assume(&directory, &alice, &arn, &[("DurationSeconds", "899")]).await,
        "ValidationError",
        "1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900",
    );

    let session = session_caller(&directory, &long).await;
    assert_error(
        assume(&directory, &session, &arn, &[("DurationSeconds", "3601")]).await,
        "ValidationError",
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
    );
    let chained = assume(&directory, &session, &arn, &[("DurationSeconds", "3600")])
        .await
        .unwrap();
    assert_eq!(
        session_caller(&directory, &chained).await.arn,
        "arn:aws:sts::111122223333:assumed-role/worker/s1"
    );
}

#[tokio::test]
async fn assume_role_checks_its_parameters() {
    let directory = directory();
    let alice = user_caller(&directory, ACCOUNT, "alice").await;
    create_role(&directory, ACCOUNT, "worker", &trust("*", "")).await;
    let arn = role_arn(ACCOUNT, "worker");

    assert_error(
        assume(&directory, &root(), &arn, &[]).await,
        "AccessDenied",
        "Roles may not be assumed by root accounts.",
    );
    let bad_name = sts(
        &directory,
        &alice,
        "AssumeRole",
        &[("RoleArn", &arn), ("RoleSessionName", "a")],
        NOW,
    )
    .await;
    assert_eq!(bad_name.unwrap_err().code, "ValidationError");
    let bad_chars = sts(
        &directory,
        &alice,
        "AssumeRole",
        &[("RoleArn", &arn), ("RoleSessionName", "a b")],
        NOW,
    )
    .await;
    assert_eq!(bad_chars.unwrap_err().code, "ValidationError");
    assert_eq!(
        sts(&directory, &alice, "AssumeRole", &[("RoleArn", &arn)], NOW)
            .await
            .unwrap_err()
            .message,
        "1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null"
    );

    let statement = r#"{"Effect":"Allow","Action":"sqs:ReceiveMessage","Resource":"*"}"#;
    let big = format!(r#"{{"Statement":[{}]}}"#, [statement; 40].join(","));
    assert_eq!(
        assume(&directory, &alice, &arn, &[("Policy", &big)])
            .await
            .unwrap_err()
            .code,
        "PackedPolicyTooLarge"
    );
    assert_eq!(
        assume(
            &directory,
            &alice,
            &arn,
            &[("Policy", "{\"Statement\":[]}")]
        )
        .await
        .unwrap_err()
        .code,
        "MalformedPolicyDocument"
    );
    let small = r#"{"Statement":{"Effect":"Allow","Action":"sqs:*","Resource":"*"}}"#;
    let with_policy = assume(&directory, &alice, &arn, &[("Policy", small)])
        .await
        .unwrap();
    let session = session_caller(&directory, &with_policy)
        .await
        .session
        .unwrap();
    assert_eq!(session.policy.as_deref(), Some(small));

    let arns: Vec<(String, String)> = (1..=11)
        .map(|i| {
            (
                format!("PolicyArns.member.{i}.arn"),
                format!("arn:aws:iam::{ACCOUNT}:policy/p{i}"),
            )
        })
        .collect();
    let pairs: Vec<(&str, &str)> = arns.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        assume(&directory, &alice, &arn, &pairs)
            .await
            .unwrap_err()
            .code,
        "ValidationError"
    );
    let ten = assume(&directory, &alice, &arn, &pairs[..10])
        .await
        .unwrap();
    let session = session_caller(&directory, &ten).await.session.unwrap();
    assert_eq!(session.policy_arns.len(), 10);
    assert_eq!(
        session.policy_arns[9],
        format!("arn:aws:iam::{ACCOUNT}:policy/p10")
    );
}

#[tokio::test]
async fn expired_sessions_are_swept_after_a_while() {
    let directory = directory();
    let alice = user_caller(&directory, ACCOUNT, "alice").await;
    create_role(&directory, ACCOUNT, "worker", &trust(ACCOUNT, "")).await;
    let arn = role_arn(ACCOUNT, "worker");
    let first = assume(&directory, &alice, &arn, &[("DurationSeconds", "900")])
        .await
        .unwrap();
    let key_id = first["Credentials"]["AccessKeyId"].as_str().unwrap();

    // Just expired: still found, so the front can say the token expired.
    let pairs = [("RoleArn", arn.as_str()), ("RoleSessionName", "later")];
    sts(&directory, &alice, "AssumeRole", &pairs, NOW + 1000)
        .await
        .unwrap();
    let expired = directory.credentials(key_id).await.unwrap().unwrap();
    assert_eq!(expired.expires_at, Some(NOW + 900));

    sts(&directory, &alice, "AssumeRole", &pairs, NOW + 900 + 3601)
        .await
        .unwrap();
    assert!(directory.credentials(key_id).await.unwrap().is_none());
}
