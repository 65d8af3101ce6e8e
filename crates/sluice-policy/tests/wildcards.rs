//! `Action` and `Resource` matching with `*` and `?`, and the negated elements `NotAction`,
//! `NotResource` and `NotPrincipal`.

mod common;

use common::*;
use sluice_policy::{Decision, PolicyType};

#[test]
fn actions_match_case_insensitively_with_wildcards() {
    let alice = Env::new(user(ACCOUNT, "alice"));
    let cases: &[(&str, &str, bool)] = &[
        ("sqs:SendMessage", "sqs:SendMessage", true),
        ("sqs:SendMessage", "SQS:SENDMESSAGE", true),
        ("SQS:sendmessage", "sqs:SendMessage", true),
        ("sqs:Send*", "sqs:SendMessage", true),
        ("sqs:Send*", "sqs:SendMessageBatch", true),
        ("sqs:send*", "sqs:SendMessage", true),
        ("sqs:Send*", "sqs:ReceiveMessage", false),
        ("sqs:?endMessage", "sqs:SendMessage", true),
        ("sqs:?endMessage", "sqs:SSendMessage", false),
        ("sqs:SendMessag?", "sqs:SendMessage", true),
        ("sqs:SendMessag?", "sqs:SendMessageBatch", false),
        ("sqs:*Message*", "sqs:ChangeMessageVisibility", true),
        ("sqs:*", "sqs:DeleteQueue", true),
        ("sqs:*", "sns:Publish", false),
        ("sqs:*Queue", "sqs:DeleteQueue", true),
        ("*", "sns:Publish", true),
        ("sqs:SendMessage", "sqs:SendMessageBatch", false),
        ("sqs:SendMessage", "sns:SendMessage", false),
    ];
    for (pattern, action, expected) in cases {
        let set = Set::new().identity(allow(pattern, "*"));
        let got = set.decide(&alice, action, QUEUE);
        assert_eq!(
            got.is_allowed(),
            *expected,
            "{pattern} against {action}: {got:?}"
        );
    }
}

#[test]
fn resources_match_part_by_part() {
    let alice = Env::new(user(ACCOUNT, "alice"));
    let cases: &[(&str, &str, bool)] = &[
        ("*", QUEUE, true),
        ("arn:aws:sqs:us-east-1:123456789012:orders", QUEUE, true),
        ("arn:aws:sqs:*:123456789012:orders", QUEUE, true),
        (
            "arn:aws:sqs:*:123456789012:orders",
            "arn:aws:sqs:eu-west-1:123456789012:orders",
            true,
        ),
        ("arn:aws:sqs:us-east-1:*:*", QUEUE, true),
        ("arn:aws:sqs:*:*:*", QUEUE, true),
        ("arn:aws:*:*:*:*", QUEUE, true),
        ("arn:aws:s*:us-east-?:1234*:ord*", QUEUE, true),
        ("arn:aws:sqs:us-east-1:12345678901?:orders", QUEUE, true),
        ("arn:aws:sqs:us-east-1:123456789012:ord", QUEUE, false),
        ("arn:aws:sqs:us-east-1:123456789012:ord*", QUEUE, true),
        ("arn:aws:sqs:us-east-1:123456789012:*s", QUEUE, true),
        ("arn:aws:sqs:us-east-1:123456789012:Orders", QUEUE, false),
        ("arn:aws:sqs:us-east-1:123456789012:orders?", QUEUE, false),
        ("arn:aws:sqs:us-east-1:111122223333:orders", QUEUE, false),
        ("arn:aws:sns:us-east-1:123456789012:orders", QUEUE, false),
        // A `*` never spans a colon: the pattern needs all six parts.
        ("arn:aws:sqs:*:orders", QUEUE, false),
        ("arn:aws:sqs:*", QUEUE, false),
        ("arn:aws:*:orders", QUEUE, false),
        ("arn:aws:sqs:us-east-1*:orders", QUEUE, false),
        ("arn:*:123456789012:orders", QUEUE, false),
        // The resource part may hold colons and slashes, and its `*` reaches across them.
        ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b:c", true),
        ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket", false),
        ("arn:aws:s3:::bucket*", "arn:aws:s3:::bucket/key", true),
        (
            "arn:aws:iam::*:user/*",
            "arn:aws:iam::123456789012:user/division/alice",
            true,
        ),
        (
            "arn:aws:iam::*:user/*",
            "arn:aws:iam::123456789012:role/app",
            false,
        ),
    ];
    for (pattern, resource, expected) in cases {
        let set = Set::new().identity(allow("sqs:SendMessage", pattern));
        let got = set.decide_in(&alice, SEND, resource, ACCOUNT);
        assert_eq!(
            got.is_allowed(),
            *expected,
            "{pattern} against {resource}: {got:?}"
        );
    }
}

#[test]
fn not_action() {
    let alice = Env::new(user(ACCOUNT, "alice"));
    let set = Set::new().identity(identity(&doc(
        r#"{"Effect": "Allow", "NotAction": ["sqs:Delete*", "sqs:Purge?ueue"], "Resource": "*"}"#,
    )));
    assert_eq!(set.decide(&alice, SEND, QUEUE), Decision::Allow);
    assert_eq!(set.decide(&alice, "sns:Publish", QUEUE), Decision::Allow);
    for action in ["sqs:DeleteQueue", "SQS:deletemessage", "sqs:PurgeQueue"] {
        assert_eq!(
            set.decide(&alice, action, QUEUE),
            Decision::ImplicitDeny(PolicyType::Identity),
            "{action}"
        );
    }

    // Deny everything but SQS.
    let set = Set::new().identity(allow("*", "*")).identity(identity(&doc(
        r#"{"Effect": "Deny", "NotAction": "sqs:*", "Resource": "*"}"#,
    )));
    assert_eq!(set.decide(&alice, SEND, QUEUE), Decision::Allow);
    assert_eq!(
        set.decide(&alice, "sns:Publish", QUEUE),
        Decision::ExplicitDeny(PolicyType::Identity)
    );
}

#[test]
fn not_resource() {
    let alice = Env::new(user(ACCOUNT, "alice"));
    let secret = "arn:aws:sqs:us-east-1:123456789012:secret";
    let set = Set::new().identity(identity(&doc(
        r#"{"Effect": "Allow", "Action": "sqs:*", "NotResource": ["arn:aws:sqs:*:123456789012:secret", "arn:aws:sqs:*:123456789012:private-*"]}"#,
    )));
    assert_eq!(set.decide(&alice, SEND, QUEUE), Decision::Allow);
    assert_eq!(
        set.decide(&alice, SEND, secret),
        Decision::ImplicitDeny(PolicyType::Identity)
    );
    assert_eq!(
        set.decide(&alice, SEND, "arn:aws:sqs:eu-west-1:123456789012:private-x"),
        Decision::ImplicitDeny(PolicyType::Identity)
    );

    let set = Set::new()
        .identity(allow("sqs:*", "*"))
        .identity(identity(&doc(
            r#"{"Effect": "Deny", "Action": "sqs:*", "NotResource": "arn:aws:sqs:*:123456789012:orders"}"#,
        )));
    assert_eq!(set.decide(&alice, SEND, QUEUE), Decision::Allow);
    assert_eq!(
        set.decide(&alice, SEND, secret),
        Decision::ExplicitDeny(PolicyType::Identity)
    );
}

#[test]
fn not_resource_in_a_resource_policy() {
    let alice = Env::new(user(ACCOUNT, "alice"));
    let policy = resource(&doc(
        r#"{"Effect": "Allow", "Principal": "*", "Action": "sqs:*", "NotResource": "arn:aws:sqs:*:123456789012:secret"}"#,
    ));
    let set = Set::new().resource(policy);
    assert_eq!(set.decide(&alice, SEND, QUEUE), Decision::Allow);
    assert_eq!(
        set.decide(&alice, SEND, "arn:aws:sqs:us-east-1:123456789012:secret"),
        Decision::ImplicitDeny(PolicyType::Identity)
    );
}

#[test]
fn not_principal() {
    let alice = Env::new(user(ACCOUNT, "alice"));
    let bob = Env::new(user(ACCOUNT, "bob"));
    let anon = Env::new(anonymous());
    let outsider = Env::new(user(OTHER, "carol"));
    let deny_all_but_alice = resource(&doc(&format!(
        r#"[{{"Effect": "Allow", "Principal": "*", "Action": "sqs:*"}},
            {{"Effect": "Deny", "NotPrincipal": {{"AWS": "{}"}}, "Action": "sqs:*"}}]"#,
        user_arn(ACCOUNT, "alice")
    )));
    let set = Set::new().resource(deny_all_but_alice);
    assert_eq!(set.decide(&alice, SEND, QUEUE), Decision::Allow);
    for env in [&bob, &anon, &outsider] {
        assert_eq!(
            set.decide(env, SEND, QUEUE),
            Decision::ExplicitDeny(PolicyType::Resource),
            "{:?}",
            env.principal.arn
        );
    }

    // An Allow with NotPrincipal grants to whoever it does not name.
    let allow_all_but_bob = resource(&doc(&format!(
        r#"{{"Effect": "Allow", "NotPrincipal": {{"AWS": "{}"}}, "Action": "sqs:*"}}"#,
        user_arn(ACCOUNT, "bob")
    )));
    let set = Set::new().resource(allow_all_but_bob);
    assert_eq!(set.decide(&alice, SEND, QUEUE), Decision::Allow);
    assert_eq!(
        set.decide(&bob, SEND, QUEUE),
        Decision::ImplicitDeny(PolicyType::Identity)
    );

    // NotPrincipal naming the account spares everyone in it.
    let deny_outside = resource(&doc(&format!(
        r#"{{"Effect": "Deny", "NotPrincipal": {{"AWS": "{ACCOUNT}"}}, "Action": "sqs:*"}}"#
    )));
    let set = Set::new().identity(allow("*", "*")).resource(deny_outside);
    assert_eq!(set.decide(&bob, SEND, QUEUE), Decision::Allow);
    assert_eq!(
        set.decide(&outsider, SEND, QUEUE),
        Decision::ExplicitDeny(PolicyType::Resource)
    );
}

/// The example from the "Principal" page (seed 62): deny everyone but one user with `Principal: *`
/// and `ArnNotEquals` on `aws:PrincipalArn`, in place of `NotPrincipal`.
#[test]
fn principal_arn_instead_of_not_principal() {
    let policy = resource(
        r#"{
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "UsePrincipalArnInsteadOfNotPrincipalWithDeny",
                "Effect": "Deny",
                "Action": "s3:*",
                "Principal": "*",
                "Resource": [
                    "arn:aws:s3:::amzn-s3-demo-bucket/*",
                    "arn:aws:s3:::amzn-s3-demo-bucket"
                ],
                "Condition": {
                    "ArnNotEquals": {
                        "aws:PrincipalArn": "arn:aws:iam::444455556666:user/user-name"
                    }
                }
            }
        ]
    }"#,
    );
    let set = Set::new().identity(allow("s3:*", "*")).resource(policy);
    let object = "arn:aws:s3:::amzn-s3-demo-bucket/key";
    let named = Env::new(user(OTHER, "user-name"));
    let other = Env::new(user(OTHER, "someone"));
    assert_eq!(
        set.decide_in(&other, "s3:GetObject", object, OTHER),
        Decision::ExplicitDeny(PolicyType::Resource)
    );
    assert_eq!(
        set.decide_in(
            &other,
            "s3:GetObject",
            "arn:aws:s3:::other-bucket/key",
            OTHER
        ),
        Decision::Allow
    );
    assert_eq!(
        set.decide_in(&named, "s3:GetObject", object, OTHER),
        Decision::Allow
    );
}
