//! Properties of `evaluate` over random requests and random sets of policies: a `Deny` statement
//! added anywhere never allows what was denied, and an `Allow` statement removed anywhere never
//! allows what was denied.

mod common;

use common::*;
use proptest::prelude::*;
use sluice_model::Principal;
use sluice_policy::{Decision, Effect, Grammar, Policy};

const ACTIONS: &[&str] = &[
    "sqs:SendMessage",
    "sqs:ReceiveMessage",
    "sqs:DeleteQueue",
    "sns:Publish",
];

const RESOURCES: &[&str] = &[
    "arn:aws:sqs:us-east-1:123456789012:orders",
    "arn:aws:sqs:us-east-1:123456789012:audit",
    "arn:aws:sqs:eu-west-1:444455556666:orders",
];

const ACTION_PATTERNS: &[&str] = &[
    "*",
    "sqs:*",
    "sqs:Send*",
    "SQS:sendmessage",
    "sqs:?eceiveMessage",
    "sqs:DeleteQueue",
    "sns:*",
];

const RESOURCE_PATTERNS: &[&str] = &[
    "*",
    "arn:aws:sqs:us-east-1:123456789012:orders",
    "arn:aws:sqs:*:123456789012:*",
    "arn:aws:sqs:*:*:orders",
    "arn:aws:sqs:eu-west-1:444455556666:*",
    "arn:aws:sqs:*:${aws:PrincipalAccount}:*",
];

const PRINCIPAL_PATTERNS: &[&str] = &[
    r#""*""#,
    r#"{"AWS": "123456789012"}"#,
    r#"{"AWS": "444455556666"}"#,
    r#"{"AWS": "arn:aws:iam::123456789012:user/alice"}"#,
    r#"{"AWS": "arn:aws:iam::123456789012:role/app"}"#,
    r#"{"AWS": "arn:aws:sts::123456789012:assumed-role/app/s1"}"#,
    r#"{"AWS": "arn:aws:iam::444455556666:user/carol"}"#,
    r#"{"Service": "sns.amazonaws.com"}"#,
];

const CONDITIONS: &[&str] = &[
    r#"{"Bool": {"aws:SecureTransport": "true"}}"#,
    r#"{"StringEquals": {"aws:username": "alice"}}"#,
    r#"{"StringNotEquals": {"aws:PrincipalAccount": "444455556666"}}"#,
    r#"{"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}"#,
    r#"{"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}"#,
    r#"{"ForAnyValue:StringEquals": {"aws:TagKeys": "team"}}"#,
    r#"{"ForAllValues:StringEquals": {"aws:TagKeys": "team"}}"#,
    r#"{"StringEqualsIfExists": {"aws:ResourceTag/team": "red"}}"#,
    r#"{"Null": {"aws:SourceIp": "true"}}"#,
];

fn caller(index: usize) -> Principal {
    match index {
        0 => Principal::root(ACCOUNT),
        1 => user(ACCOUNT, "alice"),
        2 => session(ACCOUNT, "app", "s1"),
        3 => anonymous(),
        _ => user(OTHER, "carol"),
    }
}

#[derive(Clone, Debug)]
struct StatementSpec {
    allow: bool,
    action: usize,
    not_action: bool,
    resource: Option<usize>,
    not_resource: bool,
    principal: usize,
    not_principal: bool,
    condition: Option<usize>,
}

impl StatementSpec {
    /// The statement as JSON, shaped for the grammar of the policy it goes in.
    fn render(&self, grammar: Grammar) -> String {
        let mut fields = vec![format!(
            r#""Effect": "{}""#,
            if self.allow { "Allow" } else { "Deny" }
        )];
        fields.push(format!(
            r#""{}": "{}""#,
            if self.not_action {
                "NotAction"
            } else {
                "Action"
            },
            ACTION_PATTERNS[self.action]
        ));
        if matches!(grammar, Grammar::Resource | Grammar::ResourceControl) {
            fields.push(format!(
                r#""{}": {}"#,
                if self.not_principal {
                    "NotPrincipal"
                } else {
                    "Principal"
                },
                PRINCIPAL_PATTERNS[self.principal]
            ));
        }
        let resource = match (self.resource, grammar) {
            (None, Grammar::Resource) => None,
            (None, _) => Some(0),
            (Some(r), _) => Some(r),
        };
        if let Some(resource) = resource {
            fields.push(format!(
                r#""{}": "{}""#,
                if self.not_resource {
                    "NotResource"
                } else {
                    "Resource"
                },
                RESOURCE_PATTERNS[resource]
            ));
        }
        if let Some(condition) = self.condition {
            fields.push(format!(r#""Condition": {}"#, CONDITIONS[condition]));
        }
        format!("{{{}}}", fields.join(", "))
    }
}

/// Mostly `Allow` statements, so that requests are allowed often enough for a change to matter.
fn statement_spec() -> impl Strategy<Value = StatementSpec> {
    (
        prop::bool::weighted(0.9),
        0..ACTION_PATTERNS.len(),
        prop::bool::weighted(0.15),
        prop::option::weighted(0.8, 0..RESOURCE_PATTERNS.len()),
        prop::bool::weighted(0.15),
        0..PRINCIPAL_PATTERNS.len(),
        prop::bool::weighted(0.15),
        prop::option::weighted(0.2, 0..CONDITIONS.len()),
    )
        .prop_map(
            |(
                allow,
                action,
                not_action,
                resource,
                not_resource,
                principal,
                not_principal,
                condition,
            )| StatementSpec {
                allow,
                action,
                not_action,
                resource,
                not_resource,
                principal,
                not_principal,
                condition,
            },
        )
}

type PolicySpec = Vec<StatementSpec>;

/// `Allow` of everything to everyone, as an organization's default full-access policies.
fn full_access() -> PolicySpec {
    vec![StatementSpec {
        allow: true,
        action: 0,
        not_action: false,
        resource: Some(0),
        not_resource: false,
        principal: 0,
        not_principal: false,
        condition: None,
    }]
}

/// One level of an organization's policies: usually its full-access policy, and a few others.
fn level_spec() -> impl Strategy<Value = Vec<PolicySpec>> {
    (
        prop::bool::weighted(0.75),
        prop::collection::vec(policy_spec(), 0..2),
    )
        .prop_map(|(full, mut level)| {
            if full {
                level.insert(0, full_access());
            }
            level
        })
}

fn policy_spec() -> impl Strategy<Value = PolicySpec> {
    prop::collection::vec(statement_spec(), 1..=3)
}

fn build(spec: &PolicySpec, grammar: Grammar) -> Policy {
    let statements: Vec<String> = spec.iter().map(|s| s.render(grammar)).collect();
    parse(&doc(&format!("[{}]", statements.join(", "))), grammar)
}

#[derive(Clone, Debug)]
struct SetSpec {
    identity: Vec<PolicySpec>,
    boundary: Option<PolicySpec>,
    session: Option<Vec<PolicySpec>>,
    resource: Option<PolicySpec>,
    service_control: Vec<Vec<PolicySpec>>,
    resource_control: Vec<Vec<PolicySpec>>,
    resource_required: bool,
}

impl SetSpec {
    fn build(&self) -> Set {
        let many = |list: &[PolicySpec], grammar| -> Vec<Policy> {
            list.iter().map(|p| build(p, grammar)).collect()
        };
        Set {
            identity: many(&self.identity, Grammar::Identity),
            boundary: self.boundary.as_ref().map(|p| build(p, Grammar::Identity)),
            session: self.session.as_deref().map(|l| many(l, Grammar::Identity)),
            resource: self.resource.as_ref().map(|p| build(p, Grammar::Resource)),
            service_control: self
                .service_control
                .iter()
                .map(|l| many(l, Grammar::ServiceControl))
                .collect(),
            resource_control: self
                .resource_control
                .iter()
                .map(|l| many(l, Grammar::ResourceControl))
                .collect(),
            resource_required: self.resource_required,
        }
    }
}

fn set_spec() -> impl Strategy<Value = SetSpec> {
    (
        prop::collection::vec(policy_spec(), 0..3),
        prop::option::weighted(0.4, policy_spec()),
        prop::option::weighted(0.3, prop::collection::vec(policy_spec(), 0..3)),
        prop::option::weighted(0.8, policy_spec()),
        prop::collection::vec(level_spec(), 0..3),
        prop::collection::vec(level_spec(), 0..2),
        prop::bool::weighted(0.2),
    )
        .prop_map(
            |(
                identity,
                boundary,
                session,
                resource,
                service_control,
                resource_control,
                resource_required,
            )| SetSpec {
                identity,
                boundary,
                session,
                resource,
                service_control,
                resource_control,
                resource_required,
            },
        )
}

#[derive(Clone, Debug)]
struct RequestSpec {
    action: usize,
    resource: usize,
    caller: usize,
    secure_transport: bool,
    source_ip: Option<&'static str>,
    tag_keys: Option<Vec<&'static str>>,
    tagged_red: bool,
}

impl RequestSpec {
    fn env(&self) -> Env {
        let mut env = Env::new(caller(self.caller));
        env.secure_transport = self.secure_transport;
        if let Some(ip) = self.source_ip {
            env.ip(ip);
        }
        if let Some(keys) = &self.tag_keys {
            env.tag_keys(keys);
        }
        if self.tagged_red {
            env.resource_tag("team", "red");
        }
        env
    }
}

fn request_spec() -> impl Strategy<Value = RequestSpec> {
    (
        0..ACTIONS.len(),
        0..RESOURCES.len(),
        // Callers in the resources' account more often, where most of the rules are.
        prop::sample::select(vec![0usize, 1, 1, 1, 2, 2, 2, 3, 4]),
        any::<bool>(),
        prop::option::of(prop::sample::select(vec!["10.1.2.3", "203.0.113.5"])),
        prop::option::of(prop::sample::select(vec![
            vec![],
            vec!["team"],
            vec!["team", "env"],
        ])),
        any::<bool>(),
    )
        .prop_map(
            |(action, resource, caller, secure_transport, source_ip, tag_keys, tagged_red)| {
                RequestSpec {
                    action,
                    resource,
                    caller,
                    secure_transport,
                    source_ip,
                    tag_keys,
                    tagged_red,
                }
            },
        )
}

/// Every policy of the set, with the grammar of where it is attached.
fn slots(set: &mut Set) -> Vec<(Grammar, &mut Policy)> {
    let mut slots = Vec::new();
    for policy in set.identity.iter_mut() {
        slots.push((Grammar::Identity, policy));
    }
    if let Some(policy) = set.boundary.as_mut() {
        slots.push((Grammar::Identity, policy));
    }
    for policy in set.session.iter_mut().flatten() {
        slots.push((Grammar::Identity, policy));
    }
    if let Some(policy) = set.resource.as_mut() {
        slots.push((Grammar::Resource, policy));
    }
    for policy in set.service_control.iter_mut().flatten() {
        slots.push((Grammar::ServiceControl, policy));
    }
    for policy in set.resource_control.iter_mut().flatten() {
        slots.push((Grammar::ResourceControl, policy));
    }
    slots
}

fn decide(set: &Set, request: &RequestSpec, env: &Env) -> Decision {
    set.decide(env, ACTIONS[request.action], RESOURCES[request.resource])
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    })]

    #[test]
    fn adding_a_deny_never_allows(
        spec in set_spec(),
        request in request_spec(),
        mut denial in statement_spec(),
    ) {
        denial.allow = false;
        let set = spec.build();
        let env = request.env();
        let before = decide(&set, &request, &env);

        // The deny in a policy of its own, and in each policy of the set in turn.
        let mut variants = Vec::new();
        let mut alone = set.clone();
        alone.identity.push(build(&vec![denial.clone()], Grammar::Identity));
        variants.push(alone);
        let count = slots(&mut set.clone()).len();
        for slot in 0..count {
            let mut denied = set.clone();
            let mut targets = slots(&mut denied);
            let (grammar, policy) = &mut targets[slot];
            let added = build(&vec![denial.clone()], *grammar);
            policy.statements.extend(added.statements);
            drop(targets);
            variants.push(denied);
        }

        for (i, denied) in variants.iter().enumerate() {
            let after = decide(denied, &request, &env);
            if !before.is_allowed() {
                prop_assert!(!after.is_allowed(), "variant {i}: {before:?} became {after:?}");
            }
            if after != before {
                prop_assert!(
                    matches!(after, Decision::ExplicitDeny(_)),
                    "variant {i}: {before:?} became {after:?}"
                );
            }
        }
    }

    #[test]
    fn removing_an_allow_never_allows(spec in set_spec(), request in request_spec()) {
        let set = spec.build();
        let env = request.env();
        let before = decide(&set, &request, &env);

        let mut copy = set.clone();
        let positions: Vec<(usize, usize)> = slots(&mut copy)
            .iter()
            .enumerate()
            .flat_map(|(p, (_, policy))| {
                policy
                    .statements
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.effect == Effect::Allow)
                    .map(move |(i, _)| (p, i))
                    .collect::<Vec<_>>()
            })
            .collect();

        for (p, i) in positions {
            let mut reduced = set.clone();
            slots(&mut reduced)[p].1.statements.remove(i);
            let after = decide(&reduced, &request, &env);
            if !before.is_allowed() {
                prop_assert!(
                    !after.is_allowed(),
                    "removing statement {i} of policy {p}: {before:?} became {after:?}"
                );
            }
            match before {
                Decision::ExplicitDeny(_) => prop_assert_eq!(after, before),
                _ => prop_assert!(
                    !matches!(after, Decision::ExplicitDeny(_)),
                    "removing statement {i} of policy {p}: {before:?} became {after:?}"
                ),
            }
        }
    }

    #[test]
    fn action_case_does_not_matter(spec in set_spec(), request in request_spec()) {
        let set = spec.build();
        let env = request.env();
        let action = ACTIONS[request.action];
        let resource = RESOURCES[request.resource];
        prop_assert_eq!(
            set.decide(&env, action, resource),
            set.decide(&env, &action.to_ascii_uppercase(), resource)
        );
    }
}
