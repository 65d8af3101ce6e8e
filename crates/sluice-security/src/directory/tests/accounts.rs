use sluice_model::PrincipalType;

use super::super::seed::AccountSeed;
use super::*;

#[tokio::test]
async fn a_root_key_names_the_account_root() {
    let directory = directory();
    assert!(!directory.has_accounts().await.unwrap());
    let (key_id, secret) = directory.create_root_key(ACCOUNT, NOW).await.unwrap();
    assert!(key_id.starts_with("AKIA") && key_id.len() == 20);
    assert_eq!(secret.len(), 40);
    assert!(directory.has_accounts().await.unwrap());
    let credentials = directory.credentials(&key_id).await.unwrap().unwrap();
    assert_eq!(credentials.secret_access_key, secret);
    assert_eq!(credentials.principal, Principal::root(ACCOUNT));
    assert!(credentials.active);
    assert_eq!(credentials.session_token, None);
    assert!(directory
        .credentials("AKIANOSUCHKEY0000000")
        .await
        .unwrap()
        .is_none());
    assert!(!format!("{credentials:?}").contains(&secret));
}

const SEED: &str = r#"{
    "id": "111122223333",
    "access-key-id": "AKIAROOTROOTROOTROOT",
    "secret-access-key": "rootsecretrootsecretrootsecretrootsecret",
    "policies": [{"name": "ReadQueues", "path": "/team/",
        "document": "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"sqs:Receive*\",\"Resource\":\"*\"}}"}],
    "groups": [{"name": "readers", "managed-policies": ["ReadQueues"]}],
    "users": [{"name": "alice", "groups": ["readers"],
        "policies": {"send": "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"sqs:SendMessage\",\"Resource\":\"*\"}}"},
        "managed-policies": ["arn:aws:iam::111122223333:policy/team/ReadQueues"],
        "access-keys": [{"access-key-id": "AKIAALICEALICEALICE1", "secret-access-key": "alicesecretalicesecretalicesecretalice12"}]}],
    "roles": [{"name": "worker", "max-session-duration": 7200,
        "assume-role-policy": "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"111122223333\"},\"Action\":\"sts:AssumeRole\"}}",
        "policies": {"all": "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"sqs:*\",\"Resource\":\"*\"}}"}}]
}"#;

#[tokio::test]
async fn seeding_creates_what_the_config_lists_once() {
    let directory = directory();
    let seed: AccountSeed = serde_json::from_str(SEED).unwrap();
    directory.seed(&seed, NOW).await.unwrap();
    directory.seed(&seed, NOW + 10).await.unwrap();

    let root_key = directory
        .credentials("AKIAROOTROOTROOTROOT")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(root_key.principal, Principal::root(ACCOUNT));
    let alice = directory
        .credentials("AKIAALICEALICEALICE1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        alice.secret_access_key,
        "alicesecretalicesecretalicesecretalice12"
    );
    assert_eq!(alice.principal.kind, PrincipalType::User);
    assert_eq!(alice.principal.arn, "arn:aws:iam::111122223333:user/alice");
    assert!(alice.principal.user_id.starts_with("AIDA"));

    let groups = iam(
        &directory,
        &root(),
        "ListGroupsForUser",
        &[("UserName", "alice")],
    )
    .await
    .unwrap();
    assert_eq!(groups["Groups"][0]["GroupName"], "readers");
    let policy = iam(
        &directory,
        &root(),
        "GetPolicy",
        &[(
            "PolicyArn",
            "arn:aws:iam::111122223333:policy/team/ReadQueues",
        )],
    )
    .await
    .unwrap();
    assert_eq!(policy["Policy"]["AttachmentCount"], 2);
    let role = iam(&directory, &root(), "GetRole", &[("RoleName", "worker")])
        .await
        .unwrap();
    assert_eq!(role["Role"]["MaxSessionDuration"], 7200);
    let inline = iam(
        &directory,
        &root(),
        "ListRolePolicies",
        &[("RoleName", "worker")],
    )
    .await
    .unwrap();
    assert_eq!(inline["PolicyNames"], serde_json::json!(["all"]));
    let keys = iam(&directory, &root(), "ListAccessKeys", &[])
        .await
        .unwrap();
    assert_eq!(keys["AccessKeyMetadata"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn seeding_reports_the_entry_at_fault() {
    let directory = directory();
    let seed: AccountSeed = serde_json::from_str(
        r#"{"id": "111122223333", "access-key-id": "AKIAROOTROOTROOTROOT",
            "secret-access-key": "rootsecretrootsecretrootsecretrootsecret",
            "roles": [{"name": "bad", "assume-role-policy": "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"sts:AssumeRole\"}}"}]}"#,
    )
    .unwrap();
    let error = directory.seed(&seed, NOW).await.unwrap_err();
    assert_eq!(error.code, "MalformedPolicyDocument");
    assert_eq!(error.message, "role bad: Missing required field Principal");
    assert!(serde_json::from_str::<AccountSeed>(
        r#"{"id": "1", "access-key-id": "a", "secret-access-key": "b", "extra": 1}"#
    )
    .is_err());
    assert!(!format!("{seed:?}").contains("rootsecret"));
}

#[tokio::test]
async fn a_configured_key_may_look_temporary() {
    let directory = directory();
    let seed: AccountSeed = serde_json::from_str(
        r#"{"id": "111122223333", "access-key-id": "ASIAROOTROOTROOTROOT",
            "secret-access-key": "rootsecretrootsecretrootsecretrootsecret"}"#,
    )
    .unwrap();
    directory.seed(&seed, NOW).await.unwrap();
    let credentials = directory
        .credentials("ASIAROOTROOTROOTROOT")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(credentials.principal, root());
    assert_eq!(credentials.expires_at, None);
}
