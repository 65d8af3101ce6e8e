//! Whether a role's trust policy lets a caller assume it: an `Allow` statement for `sts:AssumeRole`
//! whose principal names the caller and whose conditions hold, and no such `Deny` statement. The
//! principal names the caller by `*`, by its account (id or root ARN: any principal of the account,
//! whose own policies then decide), by its user ARN, by the role ARN of its session, or by its
//! session ARN. Conditions see the keys an `AssumeRole` request carries (`sts:ExternalId`,
//! `sts:RoleSessionName`, the caller's `aws:Principal*` keys).

use std::collections::HashMap;

use serde_json::{Map, Value};
use sluice_model::Principal;

use super::policy_document::{is_account_id, strings, validate, DocumentKind};

pub struct AssumeRequest<'a> {
    pub caller: &'a Principal,
    pub external_id: Option<&'a str>,
    pub session_name: &'a str,
}

pub fn allows(trust_policy: &str, request: &AssumeRequest<'_>) -> bool {
    let Ok(statements) = validate(trust_policy, DocumentKind::Trust) else {
        return false;
    };
    let context = context_keys(request);
    let mut allowed = false;
    for statement in &statements {
        if !applies(statement, request.caller, &context) {
            continue;
        }
        match statement.get("Effect").and_then(Value::as_str) {
            Some("Deny") => return false,
            Some("Allow") => allowed = true,
            _ => {}
        }
    }
    allowed
}

fn context_keys(request: &AssumeRequest<'_>) -> HashMap<&'static str, String> {
    let caller = request.caller;
    let mut keys = HashMap::new();
    if let Some(external_id) = request.external_id {
        keys.insert("sts:externalid", external_id.to_string());
    }
    keys.insert("sts:rolesessionname", request.session_name.to_string());
    let principal_arn = caller
        .session
        .as_ref()
        .map_or(caller.arn.clone(), |s| s.role_arn.clone());
    keys.insert("aws:principalarn", principal_arn);
    keys.insert("aws:principalaccount", caller.account_id.clone());
    keys.insert("aws:principaltype", caller.kind.as_str().to_string());
    keys.insert("aws:userid", caller.user_id.clone());
    if caller.session.is_none() {
        if let Some(name) = &caller.name {
            keys.insert("aws:username", name.clone());
        }
    }
    keys
}

fn applies(
    statement: &Map<String, Value>,
    caller: &Principal,
    context: &HashMap<&'static str, String>,
) -> bool {
    let action = match (statement.get("Action"), statement.get("NotAction")) {
        (Some(actions), _) => names_assume_role(actions),
        (None, Some(actions)) => !names_assume_role(actions),
        (None, None) => false,
    };
    let principal = match (statement.get("Principal"), statement.get("NotPrincipal")) {
        (Some(principal), _) => names_caller(principal, caller),
        (None, Some(principal)) => !names_caller(principal, caller),
        (None, None) => false,
    };
    action
        && principal
        && statement
            .get("Condition")
            .is_none_or(|condition| conditions_hold(condition, context))
}

fn names_assume_role(actions: &Value) -> bool {
    strings(actions).is_ok_and(|actions| {
        actions
            .iter()
            .any(|pattern| glob(&pattern.to_ascii_lowercase(), "sts:assumerole"))
    })
}

fn names_caller(principal: &Value, caller: &Principal) -> bool {
    let values = match principal {
        Value::String(s) if s == "*" => return true,
        Value::Object(entries) => match entries.get("AWS").map(strings) {
            Some(Ok(values)) => values,
            _ => return false,
        },
        _ => return false,
    };
    let role_arn = caller.session.as_ref().map(|s| s.role_arn.as_str());
    values.iter().any(|value| {
        *value == "*"
            || (is_account_id(value) && *value == caller.account_id)
            || *value == format!("arn:aws:iam::{}:root", caller.account_id)
            || *value == caller.arn
            || Some(*value) == role_arn
    })
}

fn conditions_hold(condition: &Value, context: &HashMap<&'static str, String>) -> bool {
    let Value::Object(operators) = condition else {
        return false;
    };
    operators.iter().all(|(operator, keys)| {
        let Value::Object(keys) = keys else {
            return false;
        };
        keys.iter().all(|(key, expected)| {
            let expected: Vec<String> = match expected {
                Value::Array(list) => list.iter().map(scalar_text).collect(),
                other => vec![scalar_text(other)],
            };
            let actual = context.get(key.to_ascii_lowercase().as_str());
            operator_holds(operator, actual.map(String::as_str), &expected)
        })
    })
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One condition operator on a single-valued key; an unknown operator never holds.
fn operator_holds(operator: &str, actual: Option<&str>, expected: &[String]) -> bool {
    let operator = operator
        .strip_prefix("ForAnyValue:")
        .or_else(|| operator.strip_prefix("ForAllValues:"))
        .unwrap_or(operator);
    let (operator, if_exists) = match operator.strip_suffix("IfExists") {
        Some(base) => (base, true),
        None => (operator, false),
    };
    if operator == "Null" {
        return expected.iter().any(|e| (e == "true") == actual.is_none());
    }
    let Some(actual) = actual else {
        // A negated operator holds for a key the request does not carry; a positive one only with
        // `…IfExists`.
        return if_exists || operator.contains("Not");
    };
    let any = |matches: &dyn Fn(&str) -> bool| expected.iter().any(|e| matches(e));
    match operator {
        "StringEquals" | "ArnEquals" => any(&|e| e == actual),
        "StringNotEquals" | "ArnNotEquals" => !any(&|e| e == actual),
        "StringEqualsIgnoreCase" => any(&|e| e.eq_ignore_ascii_case(actual)),
        "StringNotEqualsIgnoreCase" => !any(&|e| e.eq_ignore_ascii_case(actual)),
        "StringLike" | "ArnLike" => any(&|e| glob(e, actual)),
        "StringNotLike" | "ArnNotLike" => !any(&|e| glob(e, actual)),
        "Bool" => any(&|e| e.eq_ignore_ascii_case(actual)),
        _ => false,
    }
}

/// `*` matches any run of characters and `?` any one character.
fn glob(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
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
                external_id,
                session_name: "s",
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

    #[test]
    fn globs() {
        assert!(glob("a*c", "abbbc"));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a?c", "abbc"));
        assert!(glob("*", ""));
    }
}
