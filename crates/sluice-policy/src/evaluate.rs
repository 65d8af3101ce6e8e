//! AWS's policy evaluation logic (IAM User Guide, "Policy evaluation logic", and "Evaluating
//! effective permissions with boundaries"), as a pure function of the request and the policies
//! that apply to it:
//!
//! 1. an explicit `Deny` in any applicable policy denies;
//! 2. every level of resource control policies over the resource's account, and of service control
//!    policies over the caller's account, must allow (the caller leaves out the organization's
//!    management account, which neither binds);
//! 3. within one account, the account's root is allowed; a resource policy naming the caller itself
//!    (a user's ARN, a role session's ARN, or `*`) allows; otherwise an identity policy must allow
//!    (or the resource policy, naming the session's *role*, stands in for one), and the permissions
//!    boundary and session policies, where there are any, must allow too;
//! 4. across accounts, both sides must allow: the resource policy must name the caller, its role or
//!    its account, and the caller's own side must allow as in 3 (its root needing nothing more);
//!    an anonymous caller needs only a resource policy naming everyone.
//!
//! `sts:GetCallerIdentity` is allowed whatever the policies say, as on AWS. Where the resource
//! policy is required (a KMS key policy), nothing is allowed that it does not grant to the caller,
//! its role or its account.

use std::sync::Arc;

use sluice_model::PrincipalType;

use crate::document::{Effect, Policy, Principals, Statement};
use crate::facts::{Facts, VariableScope};
use crate::pattern::Arn;

/// The kinds of policy, as AWS's denial messages name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PolicyType {
    Identity,
    Resource,
    PermissionsBoundary,
    Session,
    ServiceControl,
    ResourceControl,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// A `Deny` statement of this kind of policy applies.
    ExplicitDeny(PolicyType),
    /// No policy of this kind allows, and one had to.
    ImplicitDeny(PolicyType),
}

impl Decision {
    pub fn is_allowed(self) -> bool {
        self == Decision::Allow
    }
}

/// What is asked: an action (`sqs:SendMessage`, any case) on a resource owned by an account, with
/// the request's facts for conditions and the caller's identity.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    pub action: &'a str,
    pub resource: &'a str,
    pub resource_account: &'a str,
    pub facts: &'a Facts<'a>,
}

/// The policies that apply to a request.
#[derive(Clone, Copy, Debug, Default)]
pub struct Policies<'a> {
    /// The caller's identity policies: a user's own and its groups', or a session's role's.
    pub identity: &'a [Arc<Policy>],
    pub boundary: Option<&'a Policy>,
    /// A role session's session policies, when it was given any.
    pub session: Option<&'a [Arc<Policy>]>,
    /// The policy of the resource acted on.
    pub resource: Option<&'a Policy>,
    /// Service control policies over the caller's account, one list per level of the
    /// organization (each level must allow).
    pub service_control: &'a [Vec<Arc<Policy>>],
    /// Resource control policies over the resource's account, one list per level.
    pub resource_control: &'a [Vec<Arc<Policy>>],
    /// Whether the resource policy must allow (a KMS key's policy): without it, neither the
    /// account's root nor its identity policies are enough, and a policy naming the account hands
    /// the decision to its identity policies.
    pub resource_required: bool,
}

/// How directly a resource policy's statement names the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Grant {
    /// The caller's account: within the account, its identity policies decide.
    Account,
    /// The role of the caller's session: the session's boundary and session policies still apply.
    Role,
    /// The caller itself, or everyone.
    Direct,
}

struct Query<'a> {
    action: &'a str,
    resource: Arn<'a>,
    facts: &'a Facts<'a>,
}

pub fn evaluate(request: &Request<'_>, policies: &Policies<'_>) -> Decision {
    let action = request.action.to_ascii_lowercase();
    if action == "sts:getcalleridentity" {
        return Decision::Allow;
    }
    let query = Query {
        action: &action,
        resource: Arn::split(request.resource),
        facts: request.facts,
    };
    let allows = |policy: &Policy, tags: bool| find(policy, Effect::Allow, &query, tags).is_some();
    let all_levels = |levels: &[Vec<Arc<Policy>>]| {
        levels
            .iter()
            .all(|level| level.iter().any(|p| allows(p, true)))
    };

    if let Some(kind) = first_deny(policies, &query) {
        return Decision::ExplicitDeny(kind);
    }
    if !all_levels(policies.resource_control) {
        return Decision::ImplicitDeny(PolicyType::ResourceControl);
    }
    if !all_levels(policies.service_control) {
        return Decision::ImplicitDeny(PolicyType::ServiceControl);
    }

    let caller = request.facts.principal;
    let anonymous = caller.kind == PrincipalType::Anonymous;
    let root = caller.kind == PrincipalType::Account;
    let same_account = !anonymous && caller.account_id == request.resource_account;
    let grant = policies
        .resource
        .and_then(|p| find(p, Effect::Allow, &query, false));
    let identity_allows = || policies.identity.iter().any(|p| allows(p, true));
    if policies.resource_required && grant.is_none() {
        return Decision::ImplicitDeny(PolicyType::Resource);
    }
    if same_account {
        if root || grant == Some(Grant::Direct) {
            return Decision::Allow;
        }
        if grant != Some(Grant::Role) && !identity_allows() {
            return Decision::ImplicitDeny(PolicyType::Identity);
        }
    } else {
        if !anonymous && !root && !identity_allows() {
            return Decision::ImplicitDeny(PolicyType::Identity);
        }
        if grant.is_none() {
            return Decision::ImplicitDeny(PolicyType::Resource);
        }
        if anonymous || root {
            return Decision::Allow;
        }
    }
    if policies.boundary.is_some_and(|b| !allows(b, true)) {
        return Decision::ImplicitDeny(PolicyType::PermissionsBoundary);
    }
    if policies
        .session
        .is_some_and(|session| !session.iter().any(|p| allows(p, true)))
    {
        return Decision::ImplicitDeny(PolicyType::Session);
    }
    Decision::Allow
}

/// Whether a resource policy alone lets the caller in: an `Allow` statement names the caller (itself,
/// its role or its account) and no `Deny` statement applies. A role's trust policy is asked so
/// when the caller's own policies are not evaluated.
pub fn resource_policy_admits(request: &Request<'_>, policy: &Policy) -> bool {
    let action = request.action.to_ascii_lowercase();
    let query = Query {
        action: &action,
        resource: Arn::split(request.resource),
        facts: request.facts,
    };
    find(policy, Effect::Deny, &query, false).is_none()
        && find(policy, Effect::Allow, &query, false).is_some()
}

/// The kind of the first policy with a `Deny` statement that applies.
fn first_deny(policies: &Policies<'_>, query: &Query<'_>) -> Option<PolicyType> {
    let denies = |policy: &Arc<Policy>| find(policy, Effect::Deny, query, true).is_some();
    if policies.service_control.iter().flatten().any(denies) {
        return Some(PolicyType::ServiceControl);
    }
    if policies.resource_control.iter().flatten().any(denies) {
        return Some(PolicyType::ResourceControl);
    }
    if policies.identity.iter().any(denies) {
        return Some(PolicyType::Identity);
    }
    if policies
        .boundary
        .is_some_and(|b| find(b, Effect::Deny, query, true).is_some())
    {
        return Some(PolicyType::PermissionsBoundary);
    }
    if policies.session.unwrap_or_default().iter().any(denies) {
        return Some(PolicyType::Session);
    }
    // A resource policy does not see `aws:ResourceTag`.
    if policies
        .resource
        .is_some_and(|r| find(r, Effect::Deny, query, false).is_some())
    {
        return Some(PolicyType::Resource);
    }
    None
}

/// The most direct grant among the statements of `effect` that apply; a statement without a
/// principal (an identity policy's) names the caller directly, which no other grant betters, so
/// the search stops there.
fn find(policy: &Policy, effect: Effect, query: &Query<'_>, tags: bool) -> Option<Grant> {
    let scope = VariableScope {
        facts: query.facts,
        identity: tags,
    };
    let mut best = None;
    for statement in policy.statements.iter().filter(|s| s.effect == effect) {
        let grant = match &statement.principals {
            None => Grant::Direct,
            Some(principals) => match names(principals, query.facts) {
                Some(grant) => grant,
                None => continue,
            },
        };
        if best.is_some_and(|b| b >= grant) || !applies(statement, query, &scope, tags) {
            continue;
        }
        if grant == Grant::Direct {
            return Some(grant);
        }
        best = Some(grant);
    }
    best
}

fn applies(
    statement: &Statement,
    query: &Query<'_>,
    scope: &VariableScope<'_, '_>,
    tags: bool,
) -> bool {
    let action = statement
        .actions
        .iter()
        .any(|p| p.like(query.action, false, scope));
    if action == statement.not_action {
        return false;
    }
    if let Some(resources) = &statement.resources {
        let resource = resources.iter().any(|p| p.arn_like(&query.resource, scope));
        if resource == statement.not_resource {
            return false;
        }
    }
    statement
        .conditions
        .iter()
        .all(|condition| condition.holds(query.facts, tags))
}

/// How a `Principal` names the caller, if it does; a `NotPrincipal` applies to whoever it does not
/// name.
fn names(principals: &Principals, facts: &Facts<'_>) -> Option<Grant> {
    let caller = facts.principal;
    let named = if principals.everyone {
        Some(Grant::Direct)
    } else if caller.kind == PrincipalType::Anonymous {
        None
    } else {
        let role_arn = caller.session.as_ref().map(|s| s.role_arn.as_str());
        principals
            .aws
            .iter()
            .filter_map(|arn| {
                if *arn == caller.arn {
                    Some(Grant::Direct)
                } else if Some(arn.as_str()) == role_arn {
                    Some(Grant::Role)
                } else if root_of(arn) == Some(caller.account_id.as_str()) {
                    Some(Grant::Account)
                } else {
                    None
                }
            })
            .max()
    };
    match (principals.negated, named) {
        (false, named) => named,
        (true, None) => Some(Grant::Direct),
        (true, Some(_)) => None,
    }
}

fn root_of(arn: &str) -> Option<&str> {
    arn.strip_prefix("arn:aws:iam::")?.strip_suffix(":root")
}
