//! Condition keys: those a service adds, tags of the request, the resource and the principal,
//! the `ForAllValues:`/`ForAnyValue:` qualifiers on a multivalued key, how conditions combine, and
//! `aws:ResourceTag` seen by identity policies only.

mod common;

use common::cases::*;
use common::*;
use sluice_policy::{Decision, PolicyType};

#[test]
fn service_and_tag_keys() {
    run(&[
        // Keys a service adds for an action.
        case(
            r#"{"StringEquals": {"sts:ExternalId": "x"}}"#,
            |e| {
                e.service_key("sts:externalid", "x");
            },
            true,
        ),
        case(
            r#"{"StringEquals": {"sts:ExternalId": "y"}}"#,
            |e| {
                e.service_key("sts:externalid", "x");
            },
            false,
        ),
        case(r#"{"StringEquals": {"sts:ExternalId": "x"}}"#, none, false),
        case(
            r#"{"StringEqualsIfExists": {"sts:ExternalId": "x"}}"#,
            none,
            true,
        ),
        case(
            r#"{"StringNotEquals": {"sts:ExternalId": "x"}}"#,
            none,
            true,
        ),
        case(
            r#"{"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:123456789012:topic"}}"#,
            |e| {
                e.service_key("aws:sourcearn", "arn:aws:sns:us-east-1:123456789012:topic");
            },
            true,
        ),
        // Resource tags, which an identity policy sees; tag keys are case-insensitive.
        case(
            r#"{"StringEquals": {"aws:ResourceTag/team": "red"}}"#,
            |e| {
                e.resource_tag("team", "red");
            },
            true,
        ),
        case(
            r#"{"StringEquals": {"aws:ResourceTag/TEAM": "red"}}"#,
            |e| {
                e.resource_tag("team", "red");
            },
            true,
        ),
        case(
            r#"{"StringEquals": {"aws:ResourceTag/team": "red"}}"#,
            |e| {
                e.resource_tag("team", "blue");
            },
            false,
        ),
        case(
            r#"{"StringEquals": {"aws:ResourceTag/team": "red"}}"#,
            |e| {
                e.resource_tag("owner", "alice");
            },
            false,
        ),
        case(
            r#"{"StringNotEquals": {"aws:ResourceTag/team": "red"}}"#,
            none,
            true,
        ),
        case(
            r#"{"StringEquals": {"aws:ResourceTag/owner": "${aws:username}"}}"#,
            |e| {
                e.resource_tag("owner", "alice");
            },
            true,
        ),
        // Request tags.
        case(
            r#"{"StringLike": {"aws:RequestTag/env": "prod-*"}}"#,
            |e| {
                e.request_tag("env", "prod-eu");
            },
            true,
        ),
        case(
            r#"{"StringLike": {"aws:RequestTag/env": "prod-*"}}"#,
            |e| {
                e.request_tag("env", "dev");
            },
            false,
        ),
        // Principal tags, from the session.
        case(
            r#"{"StringEquals": {"aws:PrincipalTag/dept": "ops"}}"#,
            |e| {
                let mut p = session(ACCOUNT, "app", "s1");
                p.session
                    .as_mut()
                    .unwrap()
                    .tags
                    .push(("dept".into(), "ops".into()));
                e.principal = p;
            },
            true,
        ),
        case(
            r#"{"StringEquals": {"aws:PrincipalTag/dept": "ops"}}"#,
            as_session,
            false,
        ),
        // Global keys about the caller and the request.
        case(
            r#"{"StringEquals": {"aws:PrincipalType": "User"}}"#,
            none,
            true,
        ),
        case(
            r#"{"StringEquals": {"aws:PrincipalType": "AssumedRole"}}"#,
            as_session,
            true,
        ),
        case(
            r#"{"StringEquals": {"aws:userid": "AIDAALICE"}}"#,
            none,
            true,
        ),
        case(
            r#"{"StringEquals": {"aws:RequestedRegion": "us-east-1"}}"#,
            none,
            true,
        ),
        case(
            r#"{"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}"#,
            none,
            false,
        ),
    ]);
}

#[test]
fn qualifiers_on_tag_keys() {
    fn two(env: &mut Env) {
        env.tag_keys(&["team", "env"]);
    }
    fn empty(env: &mut Env) {
        env.tag_keys(&[]);
    }
    fn numbers(env: &mut Env) {
        env.tag_keys(&["1", "2"]);
    }
    run(&[
        // ForAllValues: every value satisfies the operator.
        case(
            r#"{"ForAllValues:StringEquals": {"aws:TagKeys": ["team", "env", "owner"]}}"#,
            two,
            true,
        ),
        case(
            r#"{"ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}}"#,
            two,
            false,
        ),
        case(
            r#"{"ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}}"#,
            none,
            true,
        ),
        case(
            r#"{"ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}}"#,
            empty,
            true,
        ),
        case(
            r#"{"ForAllValues:StringLike": {"aws:TagKeys": ["t*", "e?v"]}}"#,
            two,
            true,
        ),
        case(
            r#"{"ForAllValues:StringLike": {"aws:TagKeys": "t*"}}"#,
            two,
            false,
        ),
        case(
            r#"{"ForAllValues:StringEqualsIgnoreCase": {"aws:TagKeys": ["TEAM", "ENV"]}}"#,
            two,
            true,
        ),
        case(
            r#"{"ForAllValues:StringNotEquals": {"aws:TagKeys": "secret"}}"#,
            two,
            true,
        ),
        case(
            r#"{"ForAllValues:StringNotEquals": {"aws:TagKeys": "team"}}"#,
            two,
            false,
        ),
        case(
            r#"{"ForAllValues:StringNotLike": {"aws:TagKeys": "*"}}"#,
            none,
            true,
        ),
        case(
            r#"{"ForAllValues:NumericLessThan": {"aws:TagKeys": "3"}}"#,
            numbers,
            true,
        ),
        case(
            r#"{"ForAllValues:NumericLessThan": {"aws:TagKeys": "2"}}"#,
            numbers,
            false,
        ),
        // ForAnyValue: some value satisfies the operator.
        case(
            r#"{"ForAnyValue:StringEquals": {"aws:TagKeys": ["team"]}}"#,
            two,
            true,
        ),
        case(
            r#"{"ForAnyValue:StringEquals": {"aws:TagKeys": ["owner", "cost"]}}"#,
            two,
            false,
        ),
        case(
            r#"{"ForAnyValue:StringEquals": {"aws:TagKeys": ["team"]}}"#,
            none,
            false,
        ),
        case(
            r#"{"ForAnyValue:StringEquals": {"aws:TagKeys": ["team"]}}"#,
            empty,
            false,
        ),
        case(
            r#"{"ForAnyValue:StringLike": {"aws:TagKeys": "e*"}}"#,
            two,
            true,
        ),
        case(
            r#"{"ForAnyValue:StringLike": {"aws:TagKeys": "x*"}}"#,
            two,
            false,
        ),
        case(
            r#"{"ForAnyValue:StringNotEquals": {"aws:TagKeys": "team"}}"#,
            two,
            true,
        ),
        case(
            r#"{"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["team", "env"]}}"#,
            two,
            false,
        ),
        case(
            r#"{"ForAnyValue:StringNotEquals": {"aws:TagKeys": "team"}}"#,
            none,
            false,
        ),
        case(
            r#"{"ForAnyValue:StringEqualsIfExists": {"aws:TagKeys": "team"}}"#,
            none,
            true,
        ),
        case(
            r#"{"ForAnyValue:NumericGreaterThan": {"aws:TagKeys": "1"}}"#,
            numbers,
            true,
        ),
        case(
            r#"{"ForAnyValue:NumericGreaterThan": {"aws:TagKeys": "2"}}"#,
            numbers,
            false,
        ),
        // Unqualified, over several values: a positive operator wants some value to match, a
        // negated one none.
        case(r#"{"StringEquals": {"aws:TagKeys": "env"}}"#, two, true),
        case(r#"{"StringEquals": {"aws:TagKeys": "owner"}}"#, two, false),
        case(r#"{"StringNotEquals": {"aws:TagKeys": "env"}}"#, two, false),
        case(
            r#"{"StringNotEquals": {"aws:TagKeys": "owner"}}"#,
            two,
            true,
        ),
        case(r#"{"StringEquals": {"aws:TagKeys": "env"}}"#, empty, false),
    ]);
}

#[test]
fn conditions_combine_with_and_and_values_with_or() {
    let condition = r#"{
        "StringEquals": {"aws:username": ["bob", "alice"], "aws:PrincipalAccount": "123456789012"},
        "Bool": {"aws:SecureTransport": "true"}
    }"#;
    let mut env = Env::new(user(ACCOUNT, "alice"));
    assert!(!holds(condition, &env));
    env.secure_transport = true;
    assert!(holds(condition, &env));
    env.principal = user(ACCOUNT, "carol");
    assert!(!holds(condition, &env));
}

/// A resource policy does not see aws:ResourceTag: the key is absent there, whatever the resource's
/// tags, while an identity policy sees it.
#[test]
fn resource_tags_are_seen_only_by_identity_policies() {
    let mut env = Env::new(user(ACCOUNT, "alice"));
    env.resource_tag("team", "red");
    let in_resource = |condition: &str, effect: &str| {
        resource(&doc(&format!(
            r#"{{"Effect": "{effect}", "Principal": "*", "Action": "sqs:SendMessage", "Condition": {condition}}}"#
        )))
    };
    let equals = r#"{"StringEquals": {"aws:ResourceTag/team": "red"}}"#;
    let not_equals = r#"{"StringNotEquals": {"aws:ResourceTag/team": "red"}}"#;
    let null = r#"{"Null": {"aws:ResourceTag/team": "true"}}"#;

    assert!(holds(equals, &env));
    assert!(!holds(not_equals, &env));

    let decide = |policy| Set::new().resource(policy).decide(&env, SEND, QUEUE);
    assert_eq!(
        decide(in_resource(equals, "Allow")),
        Decision::ImplicitDeny(PolicyType::Identity)
    );
    assert_eq!(decide(in_resource(not_equals, "Allow")), Decision::Allow);
    assert_eq!(decide(in_resource(null, "Allow")), Decision::Allow);

    // A resource policy's Deny on the tag does not apply; the same Deny in an identity policy does.
    let with_identity = |policy| {
        Set::new()
            .identity(allow("*", "*"))
            .resource(policy)
            .decide(&env, SEND, QUEUE)
    };
    assert_eq!(with_identity(in_resource(equals, "Deny")), Decision::Allow);
    assert_eq!(
        with_identity(in_resource(not_equals, "Deny")),
        Decision::ExplicitDeny(PolicyType::Resource)
    );

    // A policy variable reading the tag is unresolved in a resource policy.
    let variable = r#"{"StringEquals": {"aws:RequestTag/team": "${aws:ResourceTag/team}"}}"#;
    env.request_tag("team", "red");
    assert!(holds(variable, &env));
    let decide = |policy| Set::new().resource(policy).decide(&env, SEND, QUEUE);
    assert_eq!(
        decide(in_resource(variable, "Allow")),
        Decision::ImplicitDeny(PolicyType::Identity)
    );
}
