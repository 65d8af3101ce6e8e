//! Arbitrary text as a policy document, and the promises kept on it: the checker never panics and
//! refuses with `MalformedPolicyDocument`; a document it accepts evaluates without panicking, for any
//! caller, as any kind of policy. Shared by the `policy_document` fuzz target and the test that
//! replays its corpus.

use std::sync::Arc;

use sluice_model::{Principal, PrincipalType, RoleSession};
use sluice_policy::{evaluate, Facts, Policies, Policy, Request};

use super::policy_document::{validate, DocumentKind};

pub fn check_policy_document(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for kind in [
        DocumentKind::Identity,
        DocumentKind::Trust,
        DocumentKind::Resource,
        DocumentKind::ServiceControl,
        DocumentKind::ResourceControl,
    ] {
        match validate(text, kind) {
            Ok(policy) => {
                assert!(!policy.statements.is_empty(), "{text}");
                exercise(Arc::new(policy));
            }
            Err(e) => assert_eq!(e.code, "MalformedPolicyDocument", "{text}"),
        }
    }
}

fn exercise(policy: Arc<Policy>) {
    let user = Principal {
        account_id: "111122223333".into(),
        arn: "arn:aws:iam::111122223333:user/alice".into(),
        kind: PrincipalType::User,
        user_id: "AIDAEXAMPLEEXAMPLE1".into(),
        name: Some("alice".into()),
        session: None,
    };
    let session = Principal {
        arn: "arn:aws:sts::111122223333:assumed-role/r/s".into(),
        kind: PrincipalType::AssumedRole,
        session: Some(RoleSession {
            role_arn: "arn:aws:iam::111122223333:role/r".into(),
            role_id: "AROAEXAMPLEEXAMPLE1".into(),
            session_name: "s".into(),
            policy: None,
            policy_arns: vec![],
            tags: vec![("team".into(), "blue".into())],
            issued_at: 0,
            expires_at: 3600,
        }),
        ..user.clone()
    };
    let tags = vec![("team".to_string(), "blue".to_string())];
    let keys = vec!["team".to_string()];
    for principal in [
        user,
        session,
        Principal::anonymous(),
        Principal::root("444455556666"),
    ] {
        let mut facts = Facts::new(&principal, "us-east-1", 1_700_000_000);
        facts.source_ip = Some(std::net::IpAddr::from([192, 0, 2, 1]));
        facts.resource_tags = &tags;
        facts.request_tags = &tags;
        facts.tag_keys = Some(&keys);
        let request = Request {
            action: "sqs:SendMessage",
            resource: "arn:aws:sqs:us-east-1:111122223333:orders",
            resource_account: "111122223333",
            facts: &facts,
        };
        let list = [policy.clone()];
        let levels = [list.to_vec()];
        for policies in [
            Policies {
                identity: &list,
                boundary: Some(&policy),
                session: Some(&list),
                ..Policies::default()
            },
            Policies {
                resource: Some(&policy),
                service_control: &levels,
                resource_control: &levels,
                ..Policies::default()
            },
        ] {
            evaluate(&request, &policies);
        }
    }
}
