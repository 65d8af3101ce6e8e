//! Callers, request facts and policy sets shared by the integration tests.
#![allow(dead_code)]

pub mod cases;

use std::net::IpAddr;
use std::sync::Arc;

use sluice_model::{Principal, PrincipalType, RoleSession};
use sluice_policy::{evaluate, Decision, Facts, Grammar, Policies, Policy, Request};

/// The account that owns the resources the tests act on.
pub const ACCOUNT: &str = "123456789012";
/// Another account, for cross-account requests.
pub const OTHER: &str = "444455556666";
pub const REGION: &str = "us-east-1";
/// 2026-01-01T00:00:00Z.
pub const NOW: i64 = 1_767_225_600;
pub const QUEUE: &str = "arn:aws:sqs:us-east-1:123456789012:orders";
pub const SEND: &str = "sqs:SendMessage";

pub fn user(account: &str, name: &str) -> Principal {
    Principal {
        account_id: account.to_string(),
        arn: format!("arn:aws:iam::{account}:user/{name}"),
        kind: PrincipalType::User,
        user_id: format!("AIDA{}", name.to_ascii_uppercase()),
        name: Some(name.to_string()),
        session: None,
    }
}

pub fn session(account: &str, role: &str, session_name: &str) -> Principal {
    let role_id = format!("AROA{}", role.to_ascii_uppercase());
    Principal {
        account_id: account.to_string(),
        arn: format!("arn:aws:sts::{account}:assumed-role/{role}/{session_name}"),
        kind: PrincipalType::AssumedRole,
        user_id: format!("{role_id}:{session_name}"),
        name: Some(session_name.to_string()),
        session: Some(RoleSession {
            role_arn: role_arn(account, role),
            role_id,
            session_name: session_name.to_string(),
            policy: None,
            policy_arns: Vec::new(),
            tags: Vec::new(),
            issued_at: NOW - 600,
            expires_at: NOW + 3000,
        }),
    }
}

pub fn anonymous() -> Principal {
    Principal::anonymous()
}

pub fn user_arn(account: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:user/{name}")
}

pub fn role_arn(account: &str, role: &str) -> String {
    format!("arn:aws:iam::{account}:role/{role}")
}

pub fn session_arn(account: &str, role: &str, session_name: &str) -> String {
    format!("arn:aws:sts::{account}:assumed-role/{role}/{session_name}")
}

/// The account an ARN's resource belongs to (its fifth part).
pub fn account_of(arn: &str) -> &str {
    arn.split(':').nth(4).unwrap_or("")
}

/// A request's caller and the facts it carries, owned so that `Facts` can borrow them.
#[derive(Clone, Debug)]
pub struct Env {
    pub principal: Principal,
    pub source_ip: Option<IpAddr>,
    pub secure_transport: bool,
    pub now: i64,
    pub resource_tags: Vec<(String, String)>,
    pub request_tags: Vec<(String, String)>,
    pub tag_keys: Option<Vec<String>>,
    pub service_keys: Vec<(&'static str, String)>,
}

impl Env {
    pub fn new(principal: Principal) -> Self {
        Env {
            principal,
            source_ip: None,
            secure_transport: false,
            now: NOW,
            resource_tags: Vec::new(),
            request_tags: Vec::new(),
            tag_keys: None,
            service_keys: Vec::new(),
        }
    }

    pub fn facts(&self) -> Facts<'_> {
        let mut facts = Facts::new(&self.principal, REGION, self.now);
        facts.source_ip = self.source_ip;
        facts.secure_transport = self.secure_transport;
        facts.resource_tags = &self.resource_tags;
        facts.request_tags = &self.request_tags;
        facts.tag_keys = self.tag_keys.as_deref();
        facts.service_keys = &self.service_keys;
        facts
    }

    pub fn ip(&mut self, ip: &str) -> &mut Self {
        self.source_ip = Some(ip.parse().unwrap());
        self
    }

    pub fn resource_tag(&mut self, key: &str, value: &str) -> &mut Self {
        self.resource_tags
            .push((key.to_string(), value.to_string()));
        self
    }

    pub fn request_tag(&mut self, key: &str, value: &str) -> &mut Self {
        self.request_tags.push((key.to_string(), value.to_string()));
        self
    }

    pub fn tag_keys(&mut self, keys: &[&str]) -> &mut Self {
        self.tag_keys = Some(keys.iter().map(|k| k.to_string()).collect());
        self
    }

    pub fn service_key(&mut self, key: &'static str, value: &str) -> &mut Self {
        self.service_keys.push((key, value.to_string()));
        self
    }
}

pub fn parse(text: &str, grammar: Grammar) -> Policy {
    Policy::parse(text, grammar).unwrap_or_else(|e| panic!("{e}: {text}"))
}

pub fn identity(text: &str) -> Policy {
    parse(text, Grammar::Identity)
}

pub fn resource(text: &str) -> Policy {
    parse(text, Grammar::Resource)
}

/// A 2012-10-17 document with the given statements (a JSON array or object).
pub fn doc(statements: &str) -> String {
    format!(r#"{{"Version": "2012-10-17", "Statement": {statements}}}"#)
}

/// `Allow` of `action` on `resource` (an identity statement).
pub fn allow(action: &str, resource: &str) -> Policy {
    identity(&doc(&format!(
        r#"{{"Effect": "Allow", "Action": "{action}", "Resource": "{resource}"}}"#
    )))
}

/// `Deny` of `action` on `resource` (an identity statement).
pub fn deny(action: &str, resource: &str) -> Policy {
    identity(&doc(&format!(
        r#"{{"Effect": "Deny", "Action": "{action}", "Resource": "{resource}"}}"#
    )))
}

/// A resource policy allowing `action` to the principals (a JSON value) on the resource it is on.
pub fn grant(principal: &str, action: &str) -> Policy {
    resource(&doc(&format!(
        r#"{{"Effect": "Allow", "Principal": {principal}, "Action": "{action}"}}"#
    )))
}

/// A resource policy allowing `action` to one AWS principal.
pub fn grant_aws(principal: &str, action: &str) -> Policy {
    grant(&format!(r#"{{"AWS": "{principal}"}}"#), action)
}

/// The policies that apply to a request, owned.
#[derive(Clone, Debug, Default)]
pub struct Set {
    pub identity: Vec<Policy>,
    pub boundary: Option<Policy>,
    pub session: Option<Vec<Policy>>,
    pub resource: Option<Policy>,
    pub service_control: Vec<Vec<Policy>>,
    pub resource_control: Vec<Vec<Policy>>,
    pub resource_required: bool,
}

impl Set {
    /// The resource policy must allow, as a KMS key policy must.
    pub fn resource_required(mut self) -> Self {
        self.resource_required = true;
        self
    }

    pub fn new() -> Self {
        Set::default()
    }

    pub fn identity(mut self, policy: Policy) -> Self {
        self.identity.push(policy);
        self
    }

    pub fn boundary(mut self, policy: Policy) -> Self {
        self.boundary = Some(policy);
        self
    }

    pub fn session(mut self, policy: Policy) -> Self {
        self.session.get_or_insert_with(Vec::new).push(policy);
        self
    }

    pub fn resource(mut self, policy: Policy) -> Self {
        self.resource = Some(policy);
        self
    }

    pub fn scp_level(mut self, level: Vec<Policy>) -> Self {
        self.service_control.push(level);
        self
    }

    pub fn rcp_level(mut self, level: Vec<Policy>) -> Self {
        self.resource_control.push(level);
        self
    }

    pub fn decide(&self, env: &Env, action: &str, resource: &str) -> Decision {
        self.decide_in(env, action, resource, account_of(resource))
    }

    pub fn decide_in(
        &self,
        env: &Env,
        action: &str,
        resource: &str,
        resource_account: &str,
    ) -> Decision {
        let arcs = |list: &[Policy]| list.iter().cloned().map(Arc::new).collect::<Vec<_>>();
        let identity = arcs(&self.identity);
        let session = self.session.as_deref().map(arcs);
        let service_control: Vec<_> = self.service_control.iter().map(|l| arcs(l)).collect();
        let resource_control: Vec<_> = self.resource_control.iter().map(|l| arcs(l)).collect();
        let policies = Policies {
            identity: &identity,
            boundary: self.boundary.as_ref(),
            session: session.as_deref(),
            resource: self.resource.as_ref(),
            service_control: &service_control,
            resource_control: &resource_control,
            resource_required: self.resource_required,
        };
        let facts = env.facts();
        let request = Request {
            action,
            resource,
            resource_account,
            facts: &facts,
        };
        evaluate(&request, &policies)
    }
}
