//! Whether the authenticated caller may do what a request does. The front names each access
//! (action, resource, the resource's policy and tags) and asks here once per access, before any
//! handler runs; this gathers the policies that apply (the caller's, from the directory; the
//! resource's; the organization's) in their parsed form and asks `sluice_policy::evaluate`.
//!
//! Parsed policies are kept: a principal's until the directory changes (its generation moves), a
//! resource policy under the name of its stored version. A refusal is `AccessDenied` in AWS's
//! words, naming the caller, the action, the resource and which kind of policy refused.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use sluice_model::{Access, ApiError, ErrorCode, Principal, PrincipalType, ResourcePolicy};
use sluice_policy::{evaluate, Decision, Facts, Grammar, Policies, Policy, PolicyType, Request};

use crate::directory::Directory;
use crate::organization::Organization;

/// Entries kept in each cache; past it the cache starts again empty, which costs parsing only.
const MAX_CACHED: usize = 10_000;

/// What the request tells conditions besides the access itself.
#[derive(Clone, Copy, Debug)]
pub struct Environment<'a> {
    pub source_ip: Option<IpAddr>,
    pub secure_transport: bool,
    pub region: &'a str,
    /// Epoch seconds.
    pub now: i64,
}

/// The parsed policies that apply to one principal, as of a directory generation.
struct PrincipalPolicies {
    generation: u64,
    identity: Vec<Arc<Policy>>,
    boundary: Option<Arc<Policy>>,
    session: Option<Vec<Arc<Policy>>>,
}

pub struct Authorizer {
    directory: Arc<Directory>,
    organization: Organization,
    /// By access key (a role session's policies are its own) or principal ARN. Read by every
    /// request, written when a principal is first seen or the directory changed: a read-write lock,
    /// held only to clone an `Arc`.
    principals: RwLock<HashMap<String, Arc<PrincipalPolicies>>>,
    /// Parsed resource policies by stored version; locked as `principals` is.
    resources: RwLock<HashMap<String, Option<Arc<Policy>>>>,
}

impl Authorizer {
    pub fn new(directory: Arc<Directory>, organization: Organization) -> Self {
        Authorizer {
            directory,
            organization,
            principals: RwLock::default(),
            resources: RwLock::default(),
        }
    }

    /// `Ok` when `caller` may make `access`; otherwise the `AccessDenied` AWS answers.
    pub async fn authorize(
        &self,
        caller: &Principal,
        access_key_id: Option<&str>,
        access: &Access,
        environment: &Environment<'_>,
    ) -> Result<(), ApiError> {
        let decision = self
            .decide(caller, access_key_id, access, environment)
            .await?;
        match decision {
            Decision::Allow => Ok(()),
            denied => {
                tracing::debug!(caller = %caller.arn, action = access.action, resource = %access.resource, ?denied, "access denied");
                Err(ApiError::new(
                    ErrorCode::AccessDenied,
                    denial_message(caller, access, denied),
                ))
            }
        }
    }

    pub async fn decide(
        &self,
        caller: &Principal,
        access_key_id: Option<&str>,
        access: &Access,
        environment: &Environment<'_>,
    ) -> Result<Decision, ApiError> {
        let own = self.principal_policies(caller, access_key_id).await?;
        let resource = access
            .resource_policy
            .as_ref()
            .and_then(|p| self.resource_policy(p));
        let mut facts = Facts::new(caller, environment.region, environment.now);
        facts.source_ip = environment.source_ip;
        facts.secure_transport = environment.secure_transport;
        facts.resource_tags = &access.resource_tags;
        facts.request_tags = &access.request_tags;
        facts.tag_keys = access.tag_keys.as_deref();
        facts.service_keys = &access.context_keys;
        let request = Request {
            action: access.action,
            resource: &access.resource,
            resource_account: &access.resource_account,
            facts: &facts,
        };
        let signed = caller.kind != PrincipalType::Anonymous;
        let policies = Policies {
            identity: own.as_ref().map_or(&[], |p| &p.identity),
            boundary: own.as_ref().and_then(|p| p.boundary.as_deref()),
            session: own.as_ref().and_then(|p| p.session.as_deref()),
            resource: resource.as_deref(),
            service_control: if signed {
                self.organization.service_control(&caller.account_id)
            } else {
                &[]
            },
            resource_control: self.organization.resource_control(&access.resource_account),
            resource_required: access.resource_policy_required,
        };
        Ok(evaluate(&request, &policies))
    }

    /// A user's or role session's parsed policies (none for a root or an anonymous caller).
    async fn principal_policies(
        &self,
        caller: &Principal,
        access_key_id: Option<&str>,
    ) -> Result<Option<Arc<PrincipalPolicies>>, ApiError> {
        if matches!(
            caller.kind,
            PrincipalType::Account | PrincipalType::Anonymous
        ) {
            return Ok(None);
        }
        let key = match (caller.kind, access_key_id) {
            (PrincipalType::AssumedRole, Some(key)) => key,
            _ => caller.arn.as_str(),
        };
        let generation = self.directory.generation();
        let cached = read(&self.principals).get(key).cloned();
        if let Some(cached) = cached.filter(|c| c.generation == generation) {
            return Ok(Some(cached));
        }
        let documents = self
            .directory
            .principal_documents(caller)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e.message, "reading a principal's policies failed");
                ApiError::service_unavailable()
            })?;
        let parse = |text: &String| parse_stored(text, Grammar::Identity);
        let policies = Arc::new(PrincipalPolicies {
            generation,
            identity: documents.identity.iter().filter_map(parse).collect(),
            boundary: documents.boundary.as_ref().and_then(parse),
            session: documents
                .session
                .as_ref()
                .map(|list| list.iter().filter_map(parse).collect()),
        });
        let mut map = write(&self.principals);
        if map.len() >= MAX_CACHED {
            map.clear();
        }
        map.insert(key.to_string(), policies.clone());
        Ok(Some(policies))
    }

    fn resource_policy(&self, policy: &ResourcePolicy) -> Option<Arc<Policy>> {
        if let Some(cached) = read(&self.resources).get(&policy.version_id) {
            return cached.clone();
        }
        let grammar = if policy.trust {
            Grammar::Trust
        } else {
            Grammar::Resource
        };
        let parsed = parse_stored(&policy.text, grammar);
        let mut map = write(&self.resources);
        if map.len() >= MAX_CACHED {
            map.clear();
        }
        map.insert(policy.version_id.clone(), parsed.clone());
        parsed
    }
}

/// A stored document was checked when it was written; one that no longer reads (stored by an
/// older version) grants nothing.
fn parse_stored(text: &str, grammar: Grammar) -> Option<Arc<Policy>> {
    match Policy::parse(text, grammar) {
        Ok(policy) => Some(Arc::new(policy)),
        Err(error) => {
            tracing::warn!(reason = %error, "a stored policy does not parse and grants nothing");
            None
        }
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// AWS's wording: `User: <arn> is not authorized to perform: <action> on resource: <arn>` and why.
pub fn denial_message(caller: &Principal, access: &Access, decision: Decision) -> String {
    let action = access.action;
    let reason = match decision {
        Decision::Allow => String::new(),
        Decision::ExplicitDeny(kind) => {
            format!(" with an explicit deny in {}", with_article(kind))
        }
        Decision::ImplicitDeny(kind) => {
            format!(" because no {} allows the {action} action", noun(kind))
        }
    };
    format!(
        "User: {} is not authorized to perform: {action} on resource: {}{reason}",
        caller.arn, access.resource
    )
}

fn noun(kind: PolicyType) -> &'static str {
    match kind {
        PolicyType::Identity => "identity-based policy",
        PolicyType::Resource => "resource-based policy",
        PolicyType::PermissionsBoundary => "permissions boundary",
        PolicyType::Session => "session policy",
        PolicyType::ServiceControl => "service control policy",
        PolicyType::ResourceControl => "resource control policy",
    }
}

fn with_article(kind: PolicyType) -> String {
    let noun = noun(kind);
    if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("an {noun}")
    } else {
        format!("a {noun}")
    }
}
