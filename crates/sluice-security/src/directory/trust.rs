//! Whether a role's trust policy lets a caller assume it: an `Allow` statement for `sts:AssumeRole`
//! whose principal names the caller (by `*`, its account, its user ARN, the role of its session or
//! the session itself) and whose conditions hold, and no such `Deny` statement. Conditions see the
//! keys an `AssumeRole` request carries (`sts:ExternalId`, `sts:RoleSessionName`) besides the
//! caller's. With authorization on, the front has already evaluated the trust policy with the
//! caller's own policies; this check is what remains with authorization off.

use sluice_model::Principal;
use sluice_policy::{resource_policy_admits, Facts, Request};

use super::policy_document::{validate, DocumentKind};

pub struct AssumeRequest<'a> {
    pub caller: &'a Principal,
    pub role_arn: &'a str,
    pub external_id: Option<&'a str>,
    pub session_name: &'a str,
    pub now: i64,
}

/// The condition keys of an `AssumeRole` request.
pub fn context_keys(external_id: Option<&str>, session_name: &str) -> Vec<(&'static str, String)> {
    let mut keys = vec![("sts:rolesessionname", session_name.to_string())];
    if let Some(external_id) = external_id {
        keys.push(("sts:externalid", external_id.to_string()));
    }
    keys
}

pub fn allows(trust_policy: &str, request: &AssumeRequest<'_>) -> bool {
    let Ok(policy) = validate(trust_policy, DocumentKind::Trust) else {
        return false;
    };
    let keys = context_keys(request.external_id, request.session_name);
    let mut facts = Facts::new(request.caller, "", request.now);
    facts.service_keys = &keys;
    let account = super::sts::parse_role_arn(request.role_arn).map_or("", |(account, _)| account);
    resource_policy_admits(
        &Request {
            action: "sts:AssumeRole",
            resource: request.role_arn,
            resource_account: account,
            facts: &facts,
        },
        &policy,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_model::{PrincipalType, RoleSession};

    fn user(account: &str, name: &str) -> Principal {
        Principal {
            account_id: account.into(),
            arn: format!("arn:aws:iam::{account}:user/{name}"),
            kind: PrincipalType::User,
            user_id: "AIDAEXAMPLEEXAMPLE123".into(),
            name: Some(name.into()),
            session: None,
        }
    }

    fn session(account: &str, role: &str, name: &str) -> Principal {
        Principal {
            account_id: account.into(),
            arn: format!("arn:aws:sts::{account}:assumed-role/{role}/{name}"),
            kind: PrincipalType::AssumedRole,
            user_id: format!("AROAEXAMPLEEXAMPLE123:{name}"),
            name: Some(name.into()),
            session: Some(RoleSession {
                role_arn: format!("arn:aws:iam::{account}:role/{role}"),
                role_id: "AROAEXAMPLEEXAMPLE123".into(),
                session_name: name.into(),
                policy: None,
                policy_arns: vec![],
                tags: vec![],
                issued_at: 0,
                expires_at: 3600,
            }),
        }
    }

    fn trust(principal: &str, extra: &str) -> String {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{principal}"}},"Action":"sts:AssumeRole"{extra}}}]}}"#
        )
    }

    fn check(policy: &str, caller: &Principal, external_id: Option<&str>) -> bool {
        allows(
            policy,
            &AssumeRequest {
                caller,
                role_arn: "arn:aws:iam::111122223333:role/target",
                external_id,
                session_name: "s",
                now: 0,
            },
        )
    }

    #[test]
    fn principals_name_callers() {
        let alice = user("111122223333", "alice");
        assert!(check(&trust("111122223333", ""), &alice, None));
        assert!(check(
            &trust("arn:aws:iam::111122223333:root", ""),
            &alice,
            None
        ));
        assert!(check(
            &trust("arn:aws:iam::111122223333:user/alice", ""),
            &alice,
            None
        ));
        assert!(!check(
            &trust("arn:aws:iam::111122223333:user/bob", ""),
            &alice,
            None
        ));
        assert!(!check(&trust("444455556666", ""), &alice, None));
        assert!(check(&trust("*", ""), &alice, None));
        let chained = session("111122223333", "first", "s1");
        assert!(check(
            &trust("arn:aws:iam::111122223333:role/first", ""),
            &chained,
            None
        ));
        assert!(check(
            &trust("arn:aws:sts::111122223333:assumed-role/first/s1", ""),
            &chained,
            None
        ));
        assert!(!check(
            &trust("arn:aws:sts::111122223333:assumed-role/first/s2", ""),
            &chained,
            None
        ));
    }

    #[test]
    fn external_id_conditions() {
        let alice = user("111122223333", "alice");
        let policy = trust(
            "111122223333",
            r#","Condition":{"StringEquals":{"sts:ExternalId":"secret-1"}}"#,
        );
        assert!(check(&policy, &alice, Some("secret-1")));
        assert!(!check(&policy, &alice, Some("secret-2")));
        assert!(!check(&policy, &alice, None));
        let like = trust(
            "111122223333",
            r#","Condition":{"StringLike":{"sts:ExternalId":["team-*"]}}"#,
        );
        assert!(check(&like, &alice, Some("team-blue")));
        let null = trust(
            "111122223333",
            r#","Condition":{"Null":{"sts:ExternalId":"false"}}"#,
        );
        assert!(check(&null, &alice, Some("x")));
        assert!(!check(&null, &alice, None));
    }

    #[test]
    fn deny_wins() {
        let alice = user("111122223333", "alice");
        let policy = r#"{"Statement":[
            {"Effect":"Allow","Principal":"*","Action":"sts:*"},
            {"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"sts:AssumeRole"}]}"#;
        assert!(!check(policy, &alice, None));
        assert!(check(policy, &user("111122223333", "bob"), None));
    }
}
