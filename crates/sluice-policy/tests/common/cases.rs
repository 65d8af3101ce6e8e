//! The conditions tests' cases: a condition in an identity policy's `Allow` (the request is allowed
//! exactly when it holds) and in a `Deny` beside an `Allow` of everything (denied exactly when it
//! holds), both of which must agree.

use sluice_policy::{Decision, PolicyType};

use super::*;

pub struct Case {
    pub condition: &'static str,
    pub setup: fn(&mut Env),
    pub holds: bool,
}

pub const fn case(condition: &'static str, setup: fn(&mut Env), holds: bool) -> Case {
    Case {
        condition,
        setup,
        holds,
    }
}

pub fn none(_: &mut Env) {}

pub fn as_session(env: &mut Env) {
    env.principal = session(ACCOUNT, "app", "s1");
}

pub fn condition_statement(effect: &str, condition: &str) -> String {
    format!(
        r#"{{"Effect": "{effect}", "Action": "sqs:SendMessage", "Resource": "*", "Condition": {condition}}}"#
    )
}

/// Whether the condition holds, asked both through an `Allow` and through a `Deny`.
pub fn holds(condition: &str, env: &Env) -> bool {
    let account = env.principal.account_id.clone();
    let allowing = Set::new().identity(identity(&doc(&condition_statement("Allow", condition))));
    let allowed = allowing.decide_in(env, SEND, QUEUE, &account);
    let denying = Set::new()
        .identity(allow("*", "*"))
        .identity(identity(&doc(&condition_statement("Deny", condition))));
    let denied = denying.decide_in(env, SEND, QUEUE, &account);
    match (allowed, denied) {
        (Decision::Allow, Decision::ExplicitDeny(PolicyType::Identity)) => true,
        (Decision::ImplicitDeny(PolicyType::Identity), Decision::Allow) => false,
        other => panic!("{condition}: inconsistent decisions {other:?}"),
    }
}

pub fn run(cases: &[Case]) {
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let mut env = Env::new(user(ACCOUNT, "alice"));
        (case.setup)(&mut env);
        let got = holds(case.condition, &env);
        if got != case.holds {
            failures.push(format!(
                "case {i}: {} expected {} got {got}",
                case.condition, case.holds
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
