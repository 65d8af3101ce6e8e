//! The order in which policy types decide a request: explicit denies, organization policies, the
//! same-account and cross-account rules for identity and resource policies, boundaries and session
//! policies; with the examples of the IAM and SQS guides.

mod common;

use common::*;
use sluice_policy::{Decision, Grammar, PolicyType};

const ALL_TYPES: [PolicyType; 6] = [
    PolicyType::Identity,
    PolicyType::Resource,
    PolicyType::PermissionsBoundary,
    PolicyType::Session,
    PolicyType::ServiceControl,
    PolicyType::ResourceControl,
];

fn scp(statements: &str) -> sluice_policy::Policy {
    parse(&doc(statements), Grammar::ServiceControl)
}

fn rcp(statements: &str) -> sluice_policy::Policy {
    parse(&doc(statements), Grammar::ResourceControl)
}

fn scp_allow_all() -> sluice_policy::Policy {
    scp(r#"{"Effect": "Allow", "Action": "*", "Resource": "*"}"#)
}

fn rcp_allow_all() -> sluice_policy::Policy {
    rcp(r#"{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}"#)
}

/// Every kind of policy allowing `sqs:*`, for a role session of `app` in the queue's account.
fn everything_allows() -> Set {
    Set::new()
        .identity(allow("sqs:*", "*"))
        .boundary(allow("sqs:*", "*"))
        .session(allow("sqs:*", "*"))
        .resource(grant_aws(&role_arn(ACCOUNT, "app"), "sqs:*"))
        .scp_level(vec![scp_allow_all()])
        .scp_level(vec![scp_allow_all()])
        .rcp_level(vec![rcp_allow_all()])
}

fn with_deny_in(mut set: Set, kind: PolicyType) -> Set {
    let statement = r#"{"Effect": "Deny", "Action": "sqs:SendMessage", "Resource": "*"}"#;
    let denying = identity(&doc(statement));
    match kind {
        PolicyType::Identity => set.identity.push(denying),
        PolicyType::PermissionsBoundary => set
            .boundary
            .as_mut()
            .unwrap()
            .statements
            .extend(denying.statements),
        PolicyType::Session => set.session.as_mut().unwrap().push(denying),
        PolicyType::Resource => {
            let policy = resource(&doc(
                r#"{"Effect": "Deny", "Principal": "*", "Action": "sqs:SendMessage"}"#,
            ));
            set.resource
                .as_mut()
                .unwrap()
                .statements
                .extend(policy.statements)
        }
        PolicyType::ServiceControl => set.service_control[1].push(scp(statement)),
        PolicyType::ResourceControl => set.resource_control[0].push(rcp(
            r#"{"Effect": "Deny", "Principal": "*", "Action": "sqs:SendMessage", "Resource": "*"}"#,
        )),
    }
    set
}

#[test]
fn an_explicit_deny_in_any_policy_type_wins() {
    let env = Env::new(session(ACCOUNT, "app", "s1"));
    assert_eq!(
        everything_allows().decide(&env, SEND, QUEUE),
        Decision::Allow
    );
    for kind in ALL_TYPES {
        let set = with_deny_in(everything_allows(), kind);
        assert_eq!(
            set.decide(&env, SEND, QUEUE),
            Decision::ExplicitDeny(kind),
            "{kind:?}"
        );
        // The deny is about one action only.
        assert_eq!(
            set.decide(&env, "sqs:ReceiveMessage", QUEUE),
            Decision::Allow,
            "{kind:?}"
        );
    }
}

#[test]
fn an_explicit_deny_overrides_a_direct_grant() {
    let env = Env::new(session(ACCOUNT, "app", "s1"));
    for kind in ALL_TYPES {
        let mut set = with_deny_in(everything_allows(), kind);
        if kind != PolicyType::Resource {
            set.resource = Some(grant_aws(&session_arn(ACCOUNT, "app", "s1"), "sqs:*"));
        }
        assert_eq!(
            set.decide(&env, SEND, QUEUE),
            Decision::ExplicitDeny(kind),
            "{kind:?}"
        );
    }
}

#[test]
fn root_is_allowed_within_its_account_unless_denied() {
    let root = Env::new(sluice_model::Principal::root(ACCOUNT));
    assert_eq!(Set::new().decide(&root, SEND, QUEUE), Decision::Allow);
    assert_eq!(
        Set::new().decide(&root, "iam:DeleteUser", &user_arn(ACCOUNT, "bob")),
        Decision::Allow
    );
    let denied = Set::new().resource(resource(&doc(&format!(
        r#"{{"Effect": "Deny", "Principal": {{"AWS": "{ACCOUNT}"}}, "Action": "sqs:*"}}"#
    ))));
    assert_eq!(
        denied.decide(&root, SEND, QUEUE),
        Decision::ExplicitDeny(PolicyType::Resource)
    );
    // Organization policies bind the root user too.
    let scp_deny = Set::new().scp_level(vec![scp_allow_all(), deny("sqs:*", "*")]);
    assert_eq!(
        scp_deny.decide(&root, SEND, QUEUE),
        Decision::ExplicitDeny(PolicyType::ServiceControl)
    );
    let scp_silent = Set::new().scp_level(vec![scp(
        r#"{"Effect": "Allow", "Action": "sns:*", "Resource": "*"}"#,
    )]);
    assert_eq!(
        scp_silent.decide(&root, SEND, QUEUE),
        Decision::ImplicitDeny(PolicyType::ServiceControl)
    );
    let rcp_silent = Set::new().rcp_level(vec![]);
    assert_eq!(
        rcp_silent.decide(&root, SEND, QUEUE),
        Decision::ImplicitDeny(PolicyType::ResourceControl)
    );
}

#[test]
fn same_account_user() {
    let alice = Env::new(user(ACCOUNT, "alice"));
    assert_eq!(
        Set::new().decide(&alice, SEND, QUEUE),
        Decision::ImplicitDeny(PolicyType::Identity)
    );
    assert_eq!(
        Set::new()
            .identity(allow(SEND, QUEUE))
            .decide(&alice, SEND, QUEUE),
        Decision::Allow
    );
    // A boundary limits what identity policies allow.
    assert_eq!(
        Set::new()
            .identity(allow(SEND, QUEUE))
            .boundary(allow("sns:*", "*"))
            .decide(&alice, SEND, QUEUE),
        Decision::ImplicitDeny(PolicyType::PermissionsBoundary)
    );
    // A boundary grants nothing on its own.
    assert_eq!(
        Set::new()
            .boundary(allow("*", "*"))
            .decide(&alice, SEND, QUEUE),
        Decision::ImplicitDeny(PolicyType::Identity)
    );
}

#[test]
fn resource_policy_naming_a_user_allows_without_identity_policy_and_despite_a_boundary() {
    let alice = Env::new(user(ACCOUNT, "alice"));
    let named = grant_aws(&user_arn(ACCOUNT, "alice"), SEND);
    assert_eq!(
        Set::new()
            .resource(named.clone())
            .decide(&alice, SEND, QUEUE),
        Decision::Allow
    );
    assert_eq!(
        Set::new()
            .resource(named.clone())
            .boundary(allow("sns:*", "*"))
            .decide(&alice, SEND, QUEUE),
        Decision::Allow
    );
    // Another user is not named.
    let bob = Env::new(user(ACCOUNT, "bob"));
    assert_eq!(
        Set::new().resource(named.clone()).decide(&bob, SEND, QUEUE),
        Decision::ImplicitDeny(PolicyType::Identity)
    );
    // The grant is for the action it names.
    assert_eq!(
        Set::new()
            .resource(named.clone())
            .decide(&alice, "sqs:DeleteQueue", QUEUE),
        Decision::ImplicitDeny(PolicyType::Identity)
    );
    // An explicit deny in the boundary still applies.
    assert_eq!(
        Set::new()
            .resource(named)
            .boundary(deny("sqs:*", "*"))
            .decide(&alice, SEND, QUEUE),
        Decision::ExplicitDeny(PolicyType::PermissionsBoundary)
    );
}

#[test]
fn resource_policy_naming_everyone_allows_within_the_account() {
    let alice = Env::new(user(ACCOUNT, "alice"));
    for principal in [r#""*""#, r#"{"AWS": "*"}"#] {
        assert_eq!(
            Set::new()
                .resource(grant(principal, SEND))
                .boundary(allow("sns:*", "*"))
                .decide(&alice, SEND, QUEUE),
            Decision::Allow,
            "{principal}"
        );
    }
}

#[test]
fn resource_policy_naming_the_role_stands_in_for_identity_policy_but_is_limited() {
    let env = Env::new(session(ACCOUNT, "app", "s1"));
    let named = grant_aws(&role_arn(ACCOUNT, "app"), SEND);
    assert_eq!(
        Set::new().resource(named.clone()).decide(&env, SEND, QUEUE),
        Decision::Allow
    );
    assert_eq!(
        Set::new()
            .resource(named.clone())
            .boundary(allow("sns:*", "*"))
            .decide(&env, SEND, QUEUE),
        Decision::ImplicitDeny(PolicyType::PermissionsBoundary)
    );
    assert_eq!(
        Set::new()
            .resource(named.clone())
            .session(allow("sns:*", "*"))
            .decide(&env, SEND, QUEUE),
        Decision::ImplicitDeny(PolicyType::Session)
    );
    assert_eq!(
        Set::new()
            .resource(named.clone())
            .boundary(allow("sqs:*", "*"))
            .session(allow(SEND, QUEUE))
            .decide(&env, SEND, QUEUE),
        Decision::Allow
    );
    // A session of another role is not named.
    let other = Env::new(session(ACCOUNT, "other", "s1"));
    assert_eq!(
        Set::new().resource(named).decide(&other, SEND, QUEUE),
        Decision::ImplicitDeny(PolicyType::Identity)
    );
}

#[test]
fn resource_policy_naming_the_session_allows_directly() {
    let env = Env::new(session(ACCOUNT, "app", "s1"));
    let named = grant_aws(&session_arn(ACCOUNT, "app", "s1"), SEND);
    assert_eq!(
        Set::new()
            .resource(named.clone())
            .boundary(allow("sns:*", "*"))
            .session(allow("sns:*", "*"))
            .decide(&env, SEND, QUEUE),
        Decision::Allow
    );
    // Another session of the same role is not named.
    let other = Env::new(session(ACCOUNT, "app", "s2"));
    assert_eq!(
        Set::new().resource(named).decide(&other, SEND, QUEUE),
        Decision::ImplicitDeny(PolicyType::Identity)
    );
}

#[test]
fn session_identity_needs_boundary_and_session_policies() {
    let env = Env::new(session(ACCOUNT, "app", "s1"));
    let base = || Set::new().identity(allow("sqs:*", "*"));
    assert_eq!(base().decide(&env, SEND, QUEUE), Decision::Allow);
    assert_eq!(
        base()
            .session(allow("sns:*", "*"))
            .decide(&env, SEND, QUEUE),
        Decision::ImplicitDeny(PolicyType::Session)
    );
    assert_eq!(
        base()
            .session(allow("sns:*", "*"))
            .session(allow(SEND, "*"))
            .decide(&env, SEND, QUEUE),
        Decision::Allow
    );
    // A session given an empty list of session policies is allowed nothing.
    let mut empty = base();
    empty.session = Some(Vec::new());
    assert_eq!(
        empty.decide(&env, SEND, QUEUE),
        Decision::ImplicitDeny(PolicyType::Session)
    );
    // A session policy grants nothing on its own.
    assert_eq!(
        Set::new()
            .session(allow("*", "*"))
            .decide(&env, SEND, QUEUE),
        Decision::ImplicitDeny(PolicyType::Identity)
    );
    // A boundary is checked before session policies.
    assert_eq!(
        base()
            .boundary(allow("sns:*", "*"))
            .session(allow("sns:*", "*"))
            .decide(&env, SEND, QUEUE),
        Decision::ImplicitDeny(PolicyType::PermissionsBoundary)
    );
}

#[test]
fn resource_policy_naming_the_account_does_not_allow_on_its_own() {
    let alice = Env::new(user(ACCOUNT, "alice"));
    for principal in [ACCOUNT.to_string(), format!("arn:aws:iam::{ACCOUNT}:root")] {
        let named = grant_aws(&principal, SEND);
        assert_eq!(
            Set::new()
                .resource(named.clone())
                .decide(&alice, SEND, QUEUE),
            Decision::ImplicitDeny(PolicyType::Identity),
            "{principal}"
        );
        assert_eq!(
            Set::new()
                .resource(named)
                .identity(allow(SEND, "*"))
                .decide(&alice, SEND, QUEUE),
            Decision::Allow,
            "{principal}"
        );
    }
    // Naming the root ARN does allow the root user itself.
    let root = Env::new(sluice_model::Principal::root(ACCOUNT));
    assert_eq!(
        Set::new()
            .resource(grant_aws(ACCOUNT, SEND))
            .decide(&root, SEND, QUEUE),
        Decision::Allow
    );
}

#[test]
fn cross_account_needs_both_sides() {
    let carol = Env::new(user(OTHER, "carol"));
    let identity_side = || Set::new().identity(allow(SEND, QUEUE));

    // Neither side, or only the resource side: the caller's own account says no.
    assert_eq!(
        Set::new().decide(&carol, SEND, QUEUE),
        Decision::ImplicitDeny(PolicyType::Identity)
    );
    for principal in [
        OTHER.to_string(),
        format!("arn:aws:iam::{OTHER}:root"),
        user_arn(OTHER, "carol"),
    ] {
        assert_eq!(
            Set::new()
                .resource(grant_aws(&principal, SEND))
                .decide(&carol, SEND, QUEUE),
            Decision::ImplicitDeny(PolicyType::Identity),
            "{principal}"
        );
        assert_eq!(
            identity_side()
                .resource(grant_aws(&principal, SEND))
                .decide(&carol, SEND, QUEUE),
            Decision::Allow,
            "{principal}"
        );
    }
    // Only the identity side.
    assert_eq!(
        identity_side().decide(&carol, SEND, QUEUE),
        Decision::ImplicitDeny(PolicyType::Resource)
    );
    // A resource policy naming someone else.
    for principal in [ACCOUNT.to_string(), user_arn(OTHER, "dave")] {
        assert_eq!(
            identity_side()
                .resource(grant_aws(&principal, SEND))
                .decide(&carol, SEND, QUEUE),
            Decision::ImplicitDeny(PolicyType::Resource),
            "{principal}"
        );
    }
    // The caller's boundary still limits a cross-account grant, even one naming the user.
    assert_eq!(
        identity_side()
            .boundary(allow("sns:*", "*"))
            .resource(grant_aws(&user_arn(OTHER, "carol"), SEND))
            .decide(&carol, SEND, QUEUE),
        Decision::ImplicitDeny(PolicyType::PermissionsBoundary)
    );
    // Everyone includes other accounts, whose identity side must still allow.
    assert_eq!(
        Set::new()
            .resource(grant(r#""*""#, SEND))
            .decide(&carol, SEND, QUEUE),
        Decision::ImplicitDeny(PolicyType::Identity)
    );
    assert_eq!(
        identity_side()
            .resource(grant(r#""*""#, SEND))
            .decide(&carol, SEND, QUEUE),
        Decision::Allow
    );
}

#[test]
fn cross_account_role_sessions() {
    let env = Env::new(session(OTHER, "app", "s1"));
    let role_grant = grant_aws(&role_arn(OTHER, "app"), SEND);
    assert_eq!(
        Set::new()
            .resource(role_grant.clone())
            .decide(&env, SEND, QUEUE),
        Decision::ImplicitDeny(PolicyType::Identity)
    );
    assert_eq!(
        Set::new()
            .identity(allow(SEND, "*"))
            .resource(role_grant.clone())
            .decide(&env, SEND, QUEUE),
        Decision::Allow
    );
    assert_eq!(
        Set::new()
            .identity(allow(SEND, "*"))
            .session(allow("sns:*", "*"))
            .resource(grant_aws(&session_arn(OTHER, "app", "s1"), SEND))
            .decide(&env, SEND, QUEUE),
        Decision::ImplicitDeny(PolicyType::Session)
    );
}

#[test]
fn cross_account_root_needs_only_the_resource_policy() {
    let root = Env::new(sluice_model::Principal::root(OTHER));
    assert_eq!(
        Set::new().decide(&root, SEND, QUEUE),
        Decision::ImplicitDeny(PolicyType::Resource)
    );
    assert_eq!(
        Set::new()
            .resource(grant_aws(OTHER, SEND))
            .decide(&root, SEND, QUEUE),
        Decision::Allow
    );
    assert_eq!(
        Set::new()
            .resource(grant_aws(ACCOUNT, SEND))
            .decide(&root, SEND, QUEUE),
        Decision::ImplicitDeny(PolicyType::Resource)
    );
}

#[test]
fn anonymous_callers_are_allowed_only_by_everyone() {
    let anon = Env::new(anonymous());
    assert_eq!(
        Set::new().decide(&anon, SEND, QUEUE),
        Decision::ImplicitDeny(PolicyType::Resource)
    );
    for principal in [r#""*""#, r#"{"AWS": "*"}"#, r#"{"AWS": ["*"]}"#] {
        assert_eq!(
            Set::new()
                .resource(grant(principal, SEND))
                .decide(&anon, SEND, QUEUE),
            Decision::Allow,
            "{principal}"
        );
    }
    for principal in [
        ACCOUNT.to_string(),
        format!("arn:aws:iam::{ACCOUNT}:root"),
        user_arn(ACCOUNT, "alice"),
        role_arn(ACCOUNT, "app"),
    ] {
        assert_eq!(
            Set::new()
                .resource(grant_aws(&principal, SEND))
                .decide(&anon, SEND, QUEUE),
            Decision::ImplicitDeny(PolicyType::Resource),
            "{principal}"
        );
    }
    // Service principals name no caller.
    assert_eq!(
        Set::new()
            .resource(grant(r#"{"Service": "sns.amazonaws.com"}"#, SEND))
            .decide(&anon, SEND, QUEUE),
        Decision::ImplicitDeny(PolicyType::Resource)
    );
    // Identity policies do nothing for an anonymous caller.
    assert_eq!(
        Set::new()
            .identity(allow("*", "*"))
            .decide(&anon, SEND, QUEUE),
        Decision::ImplicitDeny(PolicyType::Resource)
    );
    // Conditions about the caller do not hold for an anonymous one.
    let conditioned = resource(&doc(
        r#"{"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage",
            "Condition": {"StringEquals": {"aws:PrincipalAccount": "123456789012"}}}"#,
    ));
    assert_eq!(
        Set::new().resource(conditioned).decide(&anon, SEND, QUEUE),
        Decision::ImplicitDeny(PolicyType::Resource)
    );
}

#[test]
fn every_scp_level_must_allow() {
    let alice = Env::new(user(ACCOUNT, "alice"));
    let sqs_only = || scp(r#"{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}"#);
    let sns_only = || scp(r#"{"Effect": "Allow", "Action": "sns:*", "Resource": "*"}"#);
    let base = || Set::new().identity(allow("*", "*"));
    let cases: Vec<(Vec<Vec<sluice_policy::Policy>>, Decision)> = vec![
        (vec![], Decision::Allow),
        (vec![vec![scp_allow_all()]], Decision::Allow),
        (
            vec![
                vec![scp_allow_all()],
                vec![sqs_only()],
                vec![sns_only(), sqs_only()],
            ],
            Decision::Allow,
        ),
        (
            vec![vec![scp_allow_all()], vec![]],
            Decision::ImplicitDeny(PolicyType::ServiceControl),
        ),
        (
            vec![vec![scp_allow_all()], vec![sns_only()]],
            Decision::ImplicitDeny(PolicyType::ServiceControl),
        ),
        (
            vec![vec![sns_only()], vec![scp_allow_all()]],
            Decision::ImplicitDeny(PolicyType::ServiceControl),
        ),
        (
            vec![
                vec![scp_allow_all(), deny("sqs:Send*", "*")],
                vec![scp_allow_all()],
            ],
            Decision::ExplicitDeny(PolicyType::ServiceControl),
        ),
    ];
    for (i, (levels, expected)) in cases.into_iter().enumerate() {
        let mut set = base();
        set.service_control = levels;
        assert_eq!(set.decide(&alice, SEND, QUEUE), expected, "case {i}");
    }
    // An SCP limits a direct grant by a resource policy too.
    let mut set = Set::new().resource(grant_aws(&user_arn(ACCOUNT, "alice"), SEND));
    set.service_control = vec![vec![sns_only()]];
    assert_eq!(
        set.decide(&alice, SEND, QUEUE),
        Decision::ImplicitDeny(PolicyType::ServiceControl)
    );
    // An SCP grants nothing on its own.
    let set = Set::new().scp_level(vec![scp_allow_all()]);
    assert_eq!(
        set.decide(&alice, SEND, QUEUE),
        Decision::ImplicitDeny(PolicyType::Identity)
    );
}

#[test]
fn every_rcp_level_must_allow() {
    let alice = Env::new(user(ACCOUNT, "alice"));
    let anon = Env::new(anonymous());
    let sqs_only =
        || rcp(r#"{"Effect": "Allow", "Principal": "*", "Action": "sqs:*", "Resource": "*"}"#);
    let sns_only =
        || rcp(r#"{"Effect": "Allow", "Principal": "*", "Action": "sns:*", "Resource": "*"}"#);
    let base = || {
        Set::new()
            .identity(allow("*", "*"))
            .resource(grant(r#""*""#, "sqs:*"))
    };
    let cases: Vec<(Vec<Vec<sluice_policy::Policy>>, Decision)> = vec![
        (vec![vec![rcp_allow_all()]], Decision::Allow),
        (
            vec![vec![rcp_allow_all()], vec![sns_only(), sqs_only()]],
            Decision::Allow,
        ),
        (
            vec![vec![rcp_allow_all()], vec![]],
            Decision::ImplicitDeny(PolicyType::ResourceControl),
        ),
        (
            vec![vec![rcp_allow_all()], vec![sns_only()]],
            Decision::ImplicitDeny(PolicyType::ResourceControl),
        ),
        (
            vec![
                vec![
                    rcp_allow_all(),
                    rcp(
                        r#"{"Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": "*",
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}"#,
                    ),
                ],
                vec![rcp_allow_all()],
            ],
            Decision::ExplicitDeny(PolicyType::ResourceControl),
        ),
    ];
    for (i, (levels, expected)) in cases.into_iter().enumerate() {
        let mut set = base();
        set.resource_control = levels;
        assert_eq!(set.decide(&alice, SEND, QUEUE), expected, "case {i}");
        assert_eq!(set.decide(&anon, SEND, QUEUE), expected, "case {i}");
    }
    // An RCP naming principals limits only them.
    let mut set = base();
    set.resource_control = vec![vec![rcp(&format!(
        r#"{{"Effect": "Allow", "Principal": {{"AWS": "{ACCOUNT}"}}, "Action": "*", "Resource": "*"}}"#
    ))]];
    assert_eq!(set.decide(&alice, SEND, QUEUE), Decision::Allow);
    assert_eq!(
        set.decide(&anon, SEND, QUEUE),
        Decision::ImplicitDeny(PolicyType::ResourceControl)
    );
}

#[test]
fn get_caller_identity_is_always_allowed() {
    let deny_all = || deny("*", "*");
    let set = Set::new()
        .identity(deny_all())
        .boundary(deny_all())
        .session(deny_all())
        .resource(resource(&doc(
            r#"{"Effect": "Deny", "Principal": "*", "Action": "*"}"#,
        )))
        .scp_level(vec![deny_all()])
        .rcp_level(vec![]);
    for env in [
        Env::new(user(ACCOUNT, "alice")),
        Env::new(session(ACCOUNT, "app", "s1")),
        Env::new(sluice_model::Principal::root(ACCOUNT)),
        Env::new(user(OTHER, "carol")),
    ] {
        for action in ["sts:GetCallerIdentity", "STS:getcalleridentity"] {
            assert_eq!(
                set.decide_in(&env, action, "*", ACCOUNT),
                Decision::Allow,
                "{action} by {}",
                env.principal.arn
            );
        }
        assert_eq!(
            set.decide_in(&env, "sts:GetSessionToken", "*", ACCOUNT),
            Decision::ExplicitDeny(PolicyType::ServiceControl)
        );
    }
}

/// Seed 64: ShirleyRodriguez's boundary allows S3, CloudWatch and EC2; an identity policy allowing
/// `iam:CreateUser` gives her nothing.
#[test]
fn boundary_example_shirley() {
    let boundary = identity(
        r#"{
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:*", "cloudwatch:*", "ec2:*"],
                "Resource": "*"
            }
        ]
    }"#,
    );
    let create_user = identity(
        r#"{
        "Version": "2012-10-17",
        "Statement": {
            "Effect": "Allow",
            "Action": "iam:CreateUser",
            "Resource": "*"
        }
    }"#,
    );
    let shirley = Env::new(user(ACCOUNT, "ShirleyRodriguez"));
    let set = Set::new().boundary(boundary).identity(create_user);
    let new_user = user_arn(ACCOUNT, "new");
    assert_eq!(
        set.decide(&shirley, "iam:CreateUser", &new_user),
        Decision::ImplicitDeny(PolicyType::PermissionsBoundary)
    );
    assert_eq!(
        set.decide_in(&shirley, "s3:ListBucket", "arn:aws:s3:::bucket", ACCOUNT),
        Decision::ImplicitDeny(PolicyType::Identity)
    );
    let set = set.identity(allow("s3:*", "*"));
    assert_eq!(
        set.decide_in(&shirley, "s3:ListBucket", "arn:aws:s3:::bucket", ACCOUNT),
        Decision::Allow
    );
}

const X_COMPANY_BOUNDARIES: &str = r#"{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "ServiceBoundaries",
            "Effect": "Allow",
            "Action": ["s3:*", "cloudwatch:*", "ec2:*", "dynamodb:*"],
            "Resource": "*"
        },
        {
            "Sid": "AllowIAMConsoleForCredentials",
            "Effect": "Allow",
            "Action": ["iam:ListUsers", "iam:GetAccountPasswordPolicy"],
            "Resource": "*"
        },
        {
            "Sid": "AllowManageOwnPasswordAndAccessKeys",
            "Effect": "Allow",
            "Action": [
                "iam:*AccessKey*",
                "iam:ChangePassword",
                "iam:GetUser",
                "iam:*ServiceSpecificCredential*",
                "iam:*SigningCertificate*"
            ],
            "Resource": ["arn:aws:iam::*:user/${aws:username}"]
        },
        {
            "Sid": "DenyS3Logs",
            "Effect": "Deny",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::logs", "arn:aws:s3:::logs/*"]
        },
        {
            "Sid": "DenyEC2Production",
            "Effect": "Deny",
            "Action": "ec2:*",
            "Resource": "arn:aws:ec2:*:*:instance/i-1234567890abcdef0"
        }
    ]
}"#;

/// Seed 64: Nikhil, with IAM full access and S3 read-only access inside the XCompanyBoundaries
/// boundary.
#[test]
fn boundary_example_nikhil() {
    let nikhil = Env::new(user(ACCOUNT, "Nikhil"));
    let set = || {
        Set::new()
            .boundary(identity(X_COMPANY_BOUNDARIES))
            .identity(allow("iam:*", "*"))
            .identity(identity(&doc(
                r#"{"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}"#,
            )))
    };
    let own = user_arn(ACCOUNT, "Nikhil");
    let other = user_arn(ACCOUNT, "Zhang");
    let s3 = |action: &str, resource: &str| set().decide_in(&nikhil, action, resource, ACCOUNT);

    assert_eq!(
        set().decide(&nikhil, "iam:ChangePassword", &own),
        Decision::Allow
    );
    assert_eq!(
        set().decide(&nikhil, "iam:CreateAccessKey", &own),
        Decision::Allow
    );
    assert_eq!(
        set().decide(&nikhil, "iam:ListUsers", &other),
        Decision::Allow
    );
    assert_eq!(
        set().decide(&nikhil, "iam:ChangePassword", &other),
        Decision::ImplicitDeny(PolicyType::PermissionsBoundary)
    );
    assert_eq!(
        set().decide(&nikhil, "iam:CreateUser", &user_arn(ACCOUNT, "new")),
        Decision::ImplicitDeny(PolicyType::PermissionsBoundary)
    );
    assert_eq!(
        set().decide(&nikhil, "iam:PutUserPolicy", &own),
        Decision::ImplicitDeny(PolicyType::PermissionsBoundary)
    );
    assert_eq!(
        s3("s3:GetObject", "arn:aws:s3:::reports/q1"),
        Decision::Allow
    );
    assert_eq!(
        s3("s3:PutObject", "arn:aws:s3:::reports/q1"),
        Decision::ImplicitDeny(PolicyType::Identity)
    );
    assert_eq!(
        s3("s3:GetObject", "arn:aws:s3:::logs/today"),
        Decision::ExplicitDeny(PolicyType::PermissionsBoundary)
    );
    assert_eq!(
        set().decide_in(
            &nikhil,
            "ec2:StopInstances",
            "arn:aws:ec2:us-east-1:123456789012:instance/i-1234567890abcdef0",
            ACCOUNT
        ),
        Decision::ExplicitDeny(PolicyType::PermissionsBoundary)
    );

    // A resource policy on the logs bucket naming Nikhil does not overcome the boundary's deny.
    let logs_policy = resource(&doc(&format!(
        r#"{{"Effect": "Allow", "Principal": {{"AWS": "{own}"}}, "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::logs/*"}}"#
    )));
    assert_eq!(
        set().resource(logs_policy).decide_in(
            &nikhil,
            "s3:PutObject",
            "arn:aws:s3:::logs/today",
            ACCOUNT
        ),
        Decision::ExplicitDeny(PolicyType::PermissionsBoundary)
    );
    // A secret's resource policy naming Nikhil does: the boundary's implicit deny does not limit
    // it.
    let secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf";
    let secret_policy = grant_aws(&own, "secretsmanager:GetSecretValue");
    assert_eq!(
        set().decide(&nikhil, "secretsmanager:GetSecretValue", secret),
        Decision::ImplicitDeny(PolicyType::Identity)
    );
    assert_eq!(
        set()
            .resource(secret_policy)
            .decide(&nikhil, "secretsmanager:GetSecretValue", secret),
        Decision::Allow
    );
}

/// Seed 64: Zhang, who may create users only with the XCompanyBoundaries boundary.
#[test]
fn boundary_example_zhang() {
    let delegated_user_boundary = identity(
        r#"{
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "CreateOrChangeOnlyWithBoundary",
                "Effect": "Allow",
                "Action": [
                    "iam:AttachUserPolicy",
                    "iam:CreateUser",
                    "iam:DeleteUserPolicy",
                    "iam:DetachUserPolicy",
                    "iam:PutUserPermissionsBoundary",
                    "iam:PutUserPolicy"
                ],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "iam:PermissionsBoundary": "arn:aws:iam::123456789012:policy/XCompanyBoundaries"
                    }
                }
            },
            {
                "Sid": "CloudWatchAndOtherIAMTasks",
                "Effect": "Allow",
                "Action": [
                    "cloudwatch:*",
                    "iam:CreateAccessKey",
                    "iam:CreateGroup",
                    "iam:CreateLoginProfile",
                    "iam:CreatePolicy",
                    "iam:DeleteGroup",
                    "iam:DeletePolicy",
                    "iam:DeletePolicyVersion",
                    "iam:DeleteUser",
                    "iam:GetAccountPasswordPolicy",
                    "iam:GetGroup",
                    "iam:GetLoginProfile",
                    "iam:GetPolicy",
                    "iam:GetPolicyVersion",
                    "iam:GetRolePolicy",
                    "iam:GetUser",
                    "iam:GetUserPolicy",
                    "iam:ListAccessKeys",
                    "iam:ListAttachedRolePolicies",
                    "iam:ListAttachedUserPolicies",
                    "iam:ListEntitiesForPolicy",
                    "iam:ListGroups",
                    "iam:ListGroupsForUser",
                    "iam:ListMFADevices",
                    "iam:ListPolicies",
                    "iam:ListPolicyVersions",
                    "iam:ListRolePolicies",
                    "iam:ListSSHPublicKeys",
                    "iam:ListServiceSpecificCredentials",
                    "iam:ListSigningCertificates",
                    "iam:ListUserPolicies",
                    "iam:ListUsers",
                    "iam:SetDefaultPolicyVersion",
                    "iam:SimulateCustomPolicy",
                    "iam:SimulatePrincipalPolicy",
                    "iam:UpdateGroup",
                    "iam:UpdateLoginProfile",
                    "iam:UpdateUser"
                ],
                "NotResource": "arn:aws:iam::123456789012:user/Maria"
            },
            {
                "Sid": "NoBoundaryPolicyEdit",
                "Effect": "Deny",
                "Action": [
                    "iam:CreatePolicyVersion",
                    "iam:DeletePolicy",
                    "iam:DeletePolicyVersion",
                    "iam:SetDefaultPolicyVersion"
                ],
                "Resource": [
                    "arn:aws:iam::123456789012:policy/XCompanyBoundaries",
                    "arn:aws:iam::123456789012:policy/DelegatedUserBoundary"
                ]
            },
            {
                "Sid": "NoBoundaryUserDelete",
                "Effect": "Deny",
                "Action": "iam:DeleteUserPermissionsBoundary",
                "Resource": "*"
            }
        ]
    }"#,
    );
    let delegated_user_permissions = identity(
        r#"{
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "IAM",
                "Effect": "Allow",
                "Action": "iam:*",
                "Resource": "*"
            },
            {
                "Sid": "CloudWatchLimited",
                "Effect": "Allow",
                "Action": [
                    "cloudwatch:GetDashboard",
                    "cloudwatch:GetMetricData",
                    "cloudwatch:ListDashboards",
                    "cloudwatch:GetMetricStatistics",
                    "cloudwatch:ListMetrics"
                ],
                "Resource": "*"
            },
            {
                "Sid": "S3BucketContents",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": "arn:aws:s3:::ZhangBucket"
            }
        ]
    }"#,
    );
    let set = Set::new()
        .boundary(delegated_user_boundary)
        .identity(delegated_user_permissions);
    let zhang = Env::new(user(ACCOUNT, "Zhang"));
    let nikhil = user_arn(ACCOUNT, "Nikhil");
    let maria = user_arn(ACCOUNT, "Maria");
    let x_company = "arn:aws:iam::123456789012:policy/XCompanyBoundaries";

    // Creating a user needs the XCompanyBoundaries boundary.
    assert_eq!(
        set.decide(&zhang, "iam:CreateUser", &nikhil),
        Decision::ImplicitDeny(PolicyType::PermissionsBoundary)
    );
    let mut with_boundary = Env::new(user(ACCOUNT, "Zhang"));
    with_boundary.service_key("iam:permissionsboundary", x_company);
    assert_eq!(
        set.decide(&with_boundary, "iam:CreateUser", &nikhil),
        Decision::Allow
    );
    let mut other_boundary = Env::new(user(ACCOUNT, "Zhang"));
    other_boundary.service_key(
        "iam:permissionsboundary",
        "arn:aws:iam::123456789012:policy/AdministratorAccess",
    );
    assert_eq!(
        set.decide(&other_boundary, "iam:CreateUser", &nikhil),
        Decision::ImplicitDeny(PolicyType::PermissionsBoundary)
    );

    // Other IAM tasks, except on Maria.
    assert_eq!(
        set.decide(&zhang, "iam:UpdateLoginProfile", &nikhil),
        Decision::Allow
    );
    assert_eq!(
        set.decide(&zhang, "iam:UpdateLoginProfile", &maria),
        Decision::ImplicitDeny(PolicyType::PermissionsBoundary)
    );
    assert_eq!(
        set.decide(&zhang, "iam:CreateRole", &role_arn(ACCOUNT, "x")),
        Decision::ImplicitDeny(PolicyType::PermissionsBoundary)
    );
    // The boundary policies themselves are out of reach.
    assert_eq!(
        set.decide(&zhang, "iam:DeletePolicy", x_company),
        Decision::ExplicitDeny(PolicyType::PermissionsBoundary)
    );
    assert_eq!(
        set.decide(
            &zhang,
            "iam:DeletePolicy",
            "arn:aws:iam::123456789012:policy/Other"
        ),
        Decision::Allow
    );
    assert_eq!(
        set.decide(&zhang, "iam:DeleteUserPermissionsBoundary", &nikhil),
        Decision::ExplicitDeny(PolicyType::PermissionsBoundary)
    );
    // CloudWatch: the five actions of his permissions policy.
    let dashboard = "arn:aws:cloudwatch::123456789012:dashboard/main";
    assert_eq!(
        set.decide(&zhang, "cloudwatch:GetDashboard", dashboard),
        Decision::Allow
    );
    assert_eq!(
        set.decide(&zhang, "cloudwatch:PutDashboard", dashboard),
        Decision::ImplicitDeny(PolicyType::Identity)
    );
    // S3: allowed by his permissions, not by his boundary.
    assert_eq!(
        set.decide_in(&zhang, "s3:ListBucket", "arn:aws:s3:::ZhangBucket", ACCOUNT),
        Decision::ImplicitDeny(PolicyType::PermissionsBoundary)
    );
}

/// Seed 59: three statements, the third conditioned on MFA, which a user signing with access keys
/// does not have; and a bucket policy trusting an account.
#[test]
fn multiple_statements_example() {
    let policy = identity(
        r#"{
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "FirstStatement",
                "Effect": "Allow",
                "Action": ["iam:ChangePassword"],
                "Resource": "*"
            },
            {
                "Sid": "SecondStatement",
                "Effect": "Allow",
                "Action": "s3:ListAllMyBuckets",
                "Resource": "*"
            },
            {
                "Sid": "ThirdStatement",
                "Effect": "Allow",
                "Action": ["s3:List*", "s3:Get*"],
                "Resource": [
                    "arn:aws:s3:::amzn-s3-demo-bucket-confidential-data",
                    "arn:aws:s3:::amzn-s3-demo-bucket-confidential-data/*"
                ],
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
            }
        ]
    }"#,
    );
    let set = Set::new().identity(policy);
    let alice = Env::new(user(ACCOUNT, "alice"));
    assert_eq!(
        set.decide(&alice, "iam:ChangePassword", &user_arn(ACCOUNT, "alice")),
        Decision::Allow
    );
    assert_eq!(
        set.decide_in(&alice, "s3:ListAllMyBuckets", "*", ACCOUNT),
        Decision::Allow
    );
    assert_eq!(
        set.decide_in(
            &alice,
            "s3:GetObject",
            "arn:aws:s3:::amzn-s3-demo-bucket-confidential-data/x",
            ACCOUNT
        ),
        Decision::ImplicitDeny(PolicyType::Identity)
    );

    let bucket_policy = resource(
        r#"{
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "1",
            "Effect": "Allow",
            "Principal": {"AWS": ["arn:aws:iam::444455556666:root"]},
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::amzn-s3-demo-bucket", "arn:aws:s3:::amzn-s3-demo-bucket/*"]
        }]
    }"#,
    );
    let carol = Env::new(user(OTHER, "carol"));
    let object = "arn:aws:s3:::amzn-s3-demo-bucket/k";
    let trusted = Set::new().resource(bucket_policy);
    assert_eq!(
        trusted.decide_in(&carol, "s3:GetObject", object, ACCOUNT),
        Decision::ImplicitDeny(PolicyType::Identity)
    );
    let trusted = trusted.identity(allow("s3:GetObject", "*"));
    assert_eq!(
        trusted.decide_in(&carol, "s3:GetObject", object, ACCOUNT),
        Decision::Allow
    );
    assert_eq!(
        trusted.decide_in(&carol, "s3:GetObject", "arn:aws:s3:::elsewhere/k", ACCOUNT),
        Decision::ImplicitDeny(PolicyType::Resource)
    );
}

/// Seed 62: a principal list of two accounts is a logical OR.
#[test]
fn principal_lists_are_alternatives() {
    let policy = resource(
        r#"{"Version": "2012-10-17", "Statement": {
            "Effect": "Allow",
            "Principal": {
                "AWS": ["arn:aws:iam::123456789012:root", "555555555555"],
                "CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
            },
            "Action": "sqs:*"
        }}"#,
    );
    let set = Set::new().identity(allow("sqs:*", "*")).resource(policy);
    for account in [ACCOUNT, "555555555555"] {
        assert_eq!(
            set.decide(&Env::new(user(account, "u")), SEND, QUEUE),
            Decision::Allow,
            "{account}"
        );
    }
    assert_eq!(
        set.decide(&Env::new(user(OTHER, "u")), SEND, QUEUE),
        Decision::ImplicitDeny(PolicyType::Resource)
    );
}

/// Seed 40: the SQS identity policy examples.
#[test]
fn sqs_identity_policy_examples() {
    let bob = Env::new(user(ACCOUNT, "bob"));
    let alice_queues = Set::new().identity(identity(
        r#"{"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Action": "sqs:*",
            "Resource": "arn:aws:sqs:*:123456789012:alice_queue_*"
        }]}"#,
    ));
    for (action, queue, allowed) in [
        (
            "sqs:CreateQueue",
            "arn:aws:sqs:us-east-1:123456789012:alice_queue_1",
            true,
        ),
        (
            "sqs:SendMessage",
            "arn:aws:sqs:eu-west-1:123456789012:alice_queue_x",
            true,
        ),
        (
            "sqs:CreateQueue",
            "arn:aws:sqs:us-east-1:123456789012:bob_queue_1",
            false,
        ),
        (
            "sqs:CreateQueue",
            "arn:aws:sqs:us-east-1:123456789012:alice_queue",
            false,
        ),
    ] {
        assert_eq!(
            alice_queues.decide(&bob, action, queue).is_allowed(),
            allowed,
            "{action} {queue}"
        );
    }

    let shared = Set::new().identity(identity(
        r#"{"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": "arn:aws:sqs:*:123456789012:MyCompanyQueue"
        }]}"#,
    ));
    let company = "arn:aws:sqs:us-west-2:123456789012:MyCompanyQueue";
    assert_eq!(shared.decide(&bob, SEND, company), Decision::Allow);
    assert_eq!(
        shared.decide(&bob, "sqs:ReceiveMessage", company),
        Decision::ImplicitDeny(PolicyType::Identity)
    );
    assert_eq!(
        shared.decide(
            &bob,
            SEND,
            "arn:aws:sqs:us-west-2:123456789012:mycompanyqueue"
        ),
        Decision::ImplicitDeny(PolicyType::Identity)
    );

    let managers = Set::new().identity(identity(
        r#"{"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Action": "sqs:GetQueueAttributes",
            "Resource": "*"
        }]}"#,
    ));
    assert_eq!(
        managers.decide(&bob, "sqs:GetQueueAttributes", QUEUE),
        Decision::Allow
    );

    // A partner's user is granted by its own account's policy, and the queue's account must still
    // trust it.
    let partner = Env::new(user(OTHER, "widget-app"));
    let partner_queue = "arn:aws:sqs:us-east-1:123456789012:WidgetPartnerQueue";
    let widget_co = Set::new().identity(identity(
        r#"{"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": "arn:aws:sqs:*:123456789012:WidgetPartnerQueue"
        }]}"#,
    ));
    assert_eq!(
        widget_co.decide(&partner, SEND, partner_queue),
        Decision::ImplicitDeny(PolicyType::Resource)
    );
    let trusted = widget_co.resource(grant_aws(OTHER, SEND));
    assert_eq!(
        trusted.decide(&partner, SEND, partner_queue),
        Decision::Allow
    );
}

/// Seed 39: a queue policy naming a principal in the same account needs no identity policy; one
/// naming an account elsewhere is half of the trust.
#[test]
fn sqs_queue_policy_examples() {
    let queue_policy = resource(&format!(
        r#"{{"Version": "2012-10-17", "Id": "Queue1_Policy_UUID", "Statement": [
            {{
                "Sid": "Queue1_SendMessage",
                "Effect": "Allow",
                "Principal": {{"AWS": ["{alice}", "{OTHER}"]}},
                "Action": ["sqs:SendMessage", "sqs:ReceiveMessage"],
                "Resource": "{QUEUE}"
            }}
        ]}}"#,
        alice = user_arn(ACCOUNT, "alice"),
    ));
    let set = Set::new().resource(queue_policy);
    let alice = Env::new(user(ACCOUNT, "alice"));
    let carol = Env::new(user(OTHER, "carol"));
    assert_eq!(set.decide(&alice, SEND, QUEUE), Decision::Allow);
    assert_eq!(
        set.decide(&alice, "sqs:ReceiveMessage", QUEUE),
        Decision::Allow
    );
    assert_eq!(
        set.decide(&alice, "sqs:DeleteQueue", QUEUE),
        Decision::ImplicitDeny(PolicyType::Identity)
    );
    assert_eq!(
        set.decide(&carol, SEND, QUEUE),
        Decision::ImplicitDeny(PolicyType::Identity)
    );
    let set = set.identity(allow("sqs:*", "*"));
    assert_eq!(set.decide(&carol, SEND, QUEUE), Decision::Allow);
    assert_eq!(
        set.decide(&carol, "sqs:DeleteQueue", QUEUE),
        Decision::ImplicitDeny(PolicyType::Resource)
    );
}

#[test]
fn a_required_resource_policy_must_grant_even_to_the_root() {
    // KMS: the key policy is the gate. Without a statement for the account, neither the root nor
    // an IAM policy of the account's users is enough; naming the account hands the decision to
    // the identity policies; naming a user grants it directly.
    let key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let root = Env::new(sluice_model::Principal::root("111122223333"));
    let alice = Env::new(user("111122223333", "alice"));
    let locked = Set::new()
        .identity(allow("kms:*", "*"))
        .resource(grant_aws(&user_arn("111122223333", "bob"), "kms:Encrypt"))
        .resource_required();
    assert_eq!(
        locked.decide(&root, "kms:Encrypt", key),
        Decision::ImplicitDeny(PolicyType::Resource)
    );
    assert_eq!(
        locked.decide(&alice, "kms:Encrypt", key),
        Decision::ImplicitDeny(PolicyType::Resource)
    );
    let delegated = Set::new()
        .resource(grant_aws("arn:aws:iam::111122223333:root", "kms:*"))
        .resource_required();
    assert_eq!(delegated.decide(&root, "kms:Encrypt", key), Decision::Allow);
    assert_eq!(
        delegated.decide(&alice, "kms:Encrypt", key),
        Decision::ImplicitDeny(PolicyType::Identity)
    );
    assert_eq!(
        delegated
            .clone()
            .identity(allow("kms:Encrypt", "*"))
            .decide(&alice, "kms:Encrypt", key),
        Decision::Allow
    );
    let direct = Set::new()
        .resource(grant_aws(&user_arn("111122223333", "alice"), "kms:Encrypt"))
        .resource_required();
    assert_eq!(direct.decide(&alice, "kms:Encrypt", key), Decision::Allow);
}
