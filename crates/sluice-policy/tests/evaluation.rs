//! The order in which policy types decide a request: explicit denies, organization policies, the
//! same-account and cross-account rules for identity and resource policies, boundaries and session
//! policies; the guides' own examples are in `seed_examples.rs`.

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
