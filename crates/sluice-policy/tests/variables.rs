//! Policy variables: replaced by the request's value of their key in documents of version
//! 2012-10-17, taken as literal text in 2008-10-17 (and in a document without a version).

mod common;

use common::*;
use sluice_policy::{Decision, PolicyType};

const V2012: &str = r#""Version": "2012-10-17","#;
const V2008: &str = r#""Version": "2008-10-17","#;
const UNVERSIONED: &str = "";

fn identity_with(version: &str, statement: &str) -> Set {
    Set::new().identity(identity(&format!(
        r#"{{{version} "Statement": {statement}}}"#
    )))
}

fn queue(name: &str) -> String {
    format!("arn:aws:sqs:us-east-1:123456789012:{name}")
}

fn allowed(set: &Set, env: &Env, resource: &str) -> bool {
    match set.decide(env, SEND, resource) {
        Decision::Allow => true,
        Decision::ImplicitDeny(PolicyType::Identity) => false,
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn username_in_a_resource() {
    let statement = r#"{"Effect": "Allow", "Action": "sqs:*",
        "Resource": "arn:aws:sqs:*:123456789012:${aws:username}-*"}"#;
    let alice = Env::new(user(ACCOUNT, "alice"));
    let bob = Env::new(user(ACCOUNT, "bob"));

    let set = identity_with(V2012, statement);
    assert!(allowed(&set, &alice, &queue("alice-orders")));
    assert!(!allowed(&set, &alice, &queue("bob-orders")));
    assert!(allowed(&set, &bob, &queue("bob-orders")));
    assert!(!allowed(&set, &alice, &queue("${aws:username}-orders")));

    for version in [V2008, UNVERSIONED] {
        let set = identity_with(version, statement);
        assert!(!allowed(&set, &alice, &queue("alice-orders")), "{version}");
        assert!(
            allowed(&set, &alice, &queue("${aws:username}-orders")),
            "{version}"
        );
    }
}

#[test]
fn variable_keys_are_case_insensitive() {
    let set = identity_with(
        V2012,
        r#"{"Effect": "Allow", "Action": "sqs:*",
            "Resource": "arn:aws:sqs:*:123456789012:${AWS:UserName}"}"#,
    );
    let alice = Env::new(user(ACCOUNT, "alice"));
    assert!(allowed(&set, &alice, &queue("alice")));
}

#[test]
fn principal_account_in_resource_and_condition() {
    let statement = r#"{"Effect": "Allow", "Action": "sqs:SendMessage",
        "Resource": "arn:aws:sqs:*:${aws:PrincipalAccount}:*",
        "Condition": {"StringEquals": {"aws:ResourceTag/account": "${aws:PrincipalAccount}"}}}"#;
    let mut env = Env::new(user(ACCOUNT, "alice"));
    env.resource_tag("account", ACCOUNT);
    let set = identity_with(V2012, statement);
    assert!(allowed(&set, &env, QUEUE));

    env.resource_tag("account", OTHER);
    assert!(!allowed(&set, &env, QUEUE));

    // The 2008 language reads both as text.
    env.resource_tag("account", ACCOUNT);
    assert!(!allowed(&identity_with(V2008, statement), &env, QUEUE));
    env.resource_tag("account", "${aws:PrincipalAccount}");
    assert_eq!(
        identity_with(V2008, statement).decide_in(
            &env,
            SEND,
            "arn:aws:sqs:us-east-1:${aws:PrincipalAccount}:orders",
            ACCOUNT
        ),
        Decision::Allow
    );
}

#[test]
fn defaults_stand_in_for_missing_keys() {
    let statement = r#"{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*",
        "Condition": {"StringEquals": {"aws:RequestTag/owner": "${aws:username, 'nobody'}"}}}"#;
    let set = identity_with(V2012, statement);

    let mut alice = Env::new(user(ACCOUNT, "alice"));
    alice.request_tag("owner", "alice");
    assert!(allowed(&set, &alice, QUEUE));
    let mut alice_nobody = Env::new(user(ACCOUNT, "alice"));
    alice_nobody.request_tag("owner", "nobody");
    assert!(!allowed(&set, &alice_nobody, QUEUE));

    // A role session has no aws:username.
    let mut role = Env::new(session(ACCOUNT, "app", "s1"));
    role.request_tag("owner", "nobody");
    assert!(allowed(&set, &role, QUEUE));
    let mut role_s1 = Env::new(session(ACCOUNT, "app", "s1"));
    role_s1.request_tag("owner", "s1");
    assert!(!allowed(&set, &role_s1, QUEUE));

    // In 2008-10-17, the whole text is the expected value.
    let old = identity_with(V2008, statement);
    assert!(!allowed(&old, &alice, QUEUE));
    let mut literal = Env::new(user(ACCOUNT, "alice"));
    literal.request_tag("owner", "${aws:username, 'nobody'}");
    assert!(allowed(&old, &literal, QUEUE));
}

#[test]
fn userid_default_for_anonymous_callers() {
    let policy = resource(&doc(
        r#"{"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage",
            "Condition": {"StringEquals": {"aws:RequestTag/id": "${aws:userid, 'x'}"}}}"#,
    ));
    let set = Set::new().resource(policy);

    let mut anon = Env::new(anonymous());
    anon.request_tag("id", "x");
    assert_eq!(set.decide(&anon, SEND, QUEUE), Decision::Allow);

    let mut alice = Env::new(user(ACCOUNT, "alice"));
    alice.request_tag("id", "AIDAALICE");
    assert_eq!(set.decide(&alice, SEND, QUEUE), Decision::Allow);
    let mut alice_x = Env::new(user(ACCOUNT, "alice"));
    alice_x.request_tag("id", "x");
    assert_eq!(
        set.decide(&alice_x, SEND, QUEUE),
        Decision::ImplicitDeny(PolicyType::Identity)
    );
}

#[test]
fn a_missing_variable_without_default_matches_nothing() {
    let set = identity_with(
        V2012,
        r#"{"Effect": "Allow", "Action": "sqs:*",
            "Resource": ["arn:aws:sqs:*:123456789012:${aws:username}", "arn:aws:sqs:*:123456789012:${aws:username}*"]}"#,
    );
    let role = Env::new(session(ACCOUNT, "app", "s1"));
    assert!(!allowed(&set, &role, &queue("s1")));
    assert!(!allowed(&set, &role, &queue("")));
    assert!(!allowed(&set, &role, &queue("${aws:username}")));

    let like = identity_with(
        V2012,
        r#"{"Effect": "Allow", "Action": "sqs:*", "Resource": "*",
            "Condition": {"StringLike": {"aws:RequestTag/owner": "${aws:username}*"}}}"#,
    );
    let mut tagged = Env::new(session(ACCOUNT, "app", "s1"));
    tagged.request_tag("owner", "s1");
    assert!(!allowed(&like, &tagged, QUEUE));
}

#[test]
fn escaped_wildcards_in_conditions() {
    let like = |pattern: &str, version: &str, value: &str| {
        let set = identity_with(
            version,
            &format!(
                r#"{{"Effect": "Allow", "Action": "sqs:*", "Resource": "*",
                    "Condition": {{"StringLike": {{"aws:RequestTag/name": "{pattern}"}}}}}}"#
            ),
        );
        let mut env = Env::new(user(ACCOUNT, "alice"));
        env.request_tag("name", value);
        allowed(&set, &env, QUEUE)
    };
    assert!(like("a${*}b", V2012, "a*b"));
    assert!(!like("a${*}b", V2012, "axb"));
    assert!(like("a${?}b", V2012, "a?b"));
    assert!(!like("a${?}b", V2012, "axb"));
    assert!(like("a${$}b", V2012, "a$b"));
    assert!(like("a${*}*", V2012, "a*anything"));
    assert!(!like("a${*}*", V2012, "ab"));
    // In 2008-10-17 `${*}` is three characters, its `*` a wildcard.
    assert!(like("a${*}b", V2008, "a${xyz}b"));
    assert!(!like("a${*}b", V2008, "a*b"));

    let equals = identity_with(
        V2012,
        r#"{"Effect": "Allow", "Action": "sqs:*", "Resource": "*",
            "Condition": {"StringEquals": {"aws:RequestTag/name": "${*}"}}}"#,
    );
    let mut env = Env::new(user(ACCOUNT, "alice"));
    env.request_tag("name", "*");
    assert!(allowed(&equals, &env, QUEUE));
}

/// `${*}` and `${?}` stand for the characters themselves, in a resource ARN as anywhere.
#[test]
fn escaped_wildcards_in_resources() {
    let set = identity_with(
        V2012,
        r#"{"Effect": "Allow", "Action": "sqs:*",
            "Resource": ["arn:aws:sqs:*:123456789012:star${*}", "arn:aws:sqs:*:123456789012:mark${?}"]}"#,
    );
    let alice = Env::new(user(ACCOUNT, "alice"));
    assert!(allowed(&set, &alice, &queue("star*")));
    assert!(!allowed(&set, &alice, &queue("starlight")));
    assert!(allowed(&set, &alice, &queue("mark?")));
    assert!(!allowed(&set, &alice, &queue("marks")));
}

#[test]
fn escaped_wildcards_in_arn_conditions() {
    let set = identity_with(
        V2012,
        r#"{"Effect": "Allow", "Action": "sqs:*", "Resource": "*",
            "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:123456789012:t${*}"}}}"#,
    );
    let with_source = |arn: &str| {
        let mut env = Env::new(user(ACCOUNT, "alice"));
        env.service_key("aws:sourcearn", arn);
        allowed(&set, &env, QUEUE)
    };
    assert!(with_source("arn:aws:sns:us-east-1:123456789012:t*"));
    assert!(!with_source("arn:aws:sns:us-east-1:123456789012:topic"));
}

/// The AWS examples that scope a user to their own IAM user (seed pages 40 and 64).
#[test]
fn own_user_examples() {
    let view_own = identity(
        r#"{
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ViewOwnUserInfo",
                "Effect": "Allow",
                "Action": [
                    "iam:GetUserPolicy",
                    "iam:ListGroupsForUser",
                    "iam:ListAttachedUserPolicies",
                    "iam:ListUserPolicies",
                    "iam:GetUser"
                ],
                "Resource": ["arn:aws:iam::*:user/${aws:username}"]
            },
            {
                "Sid": "NavigateInConsole",
                "Effect": "Allow",
                "Action": [
                    "iam:GetGroupPolicy",
                    "iam:GetPolicyVersion",
                    "iam:GetPolicy",
                    "iam:ListAttachedGroupPolicies",
                    "iam:ListGroupPolicies",
                    "iam:ListPolicyVersions",
                    "iam:ListPolicies",
                    "iam:ListUsers"
                ],
                "Resource": "*"
            }
        ]
    }"#,
    );
    let set = Set::new().identity(view_own);
    let alice = Env::new(user(ACCOUNT, "alice"));
    let own = user_arn(ACCOUNT, "alice");
    let bobs = user_arn(ACCOUNT, "bob");
    assert_eq!(set.decide(&alice, "iam:GetUser", &own), Decision::Allow);
    assert_eq!(
        set.decide(&alice, "iam:ListUserPolicies", &own),
        Decision::Allow
    );
    assert_eq!(
        set.decide(&alice, "iam:GetUser", &bobs),
        Decision::ImplicitDeny(PolicyType::Identity)
    );
    assert_eq!(set.decide(&alice, "iam:ListUsers", &bobs), Decision::Allow);
    assert_eq!(
        set.decide(&alice, "iam:DeleteUser", &own),
        Decision::ImplicitDeny(PolicyType::Identity)
    );
    // A role session has no user name, so the statement scoped by it never applies.
    let role = Env::new(session(ACCOUNT, "alice", "alice"));
    assert_eq!(
        set.decide(&role, "iam:GetUser", &own),
        Decision::ImplicitDeny(PolicyType::Identity)
    );
}
