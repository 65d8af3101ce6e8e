//! The STS actions: GetCallerIdentity, and AssumeRole, which checks the role's trust policy and
//! stores a role session whose temporary credentials `Directory::credentials` finds until they are
//! swept some time after they expire.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use serde_json::{json, Value};
use sluice_model::{Principal, PrincipalType};

use super::error::SecurityError;
use super::ids;
use super::params::{check_name, Params};
use super::policy_document::{self, DocumentKind};
use super::records::{self, Batch, Role, Session};
use super::trust::{self, AssumeRequest};
use super::Directory;

const ACTIONS: &[&str] = &["GetCallerIdentity", "AssumeRole"];

pub fn is_sts_action(action: &str) -> bool {
    ACTIONS.contains(&action)
}

const DEFAULT_DURATION: i64 = 3600;
const MIN_DURATION: i64 = 900;
const MAX_DURATION: i64 = 43_200;
/// A session made by a role session (role chaining) lasts at most an hour.
const CHAINED_MAX_DURATION: i64 = 3600;
const MAX_SESSION_POLICY: usize = 2048;
const MAX_POLICY_ARNS: usize = 10;
/// How often expired sessions are looked for, and how long an expired session is kept so that its
/// use is still told `ExpiredToken` rather than that the key does not exist.
const SWEEP_INTERVAL: i64 = 300;
const EXPIRED_KEPT: i64 = 3600;

pub(super) async fn handle(
    directory: &Directory,
    caller: &Principal,
    action: &str,
    params: &BTreeMap<String, String>,
    now: i64,
) -> Result<Value, SecurityError> {
    match action {
        "GetCallerIdentity" => Ok(json!({
            "UserId": caller.user_id,
            "Account": caller.account_id,
            "Arn": caller.arn,
        })),
        "AssumeRole" => {
            let output = assume_role(directory, caller, &Params(params), now).await?;
            directory.sweep_sessions(now).await;
            Ok(output)
        }
        _ => Err(SecurityError::invalid_action(action)),
    }
}

fn denied(caller: &Principal, role_arn: &str) -> SecurityError {
    SecurityError::access_denied(format!(
        "User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
        caller.arn
    ))
}

/// The account and name of a role's ARN (`arn:aws:iam::<account>:role<path><name>`).
pub(super) fn parse_role_arn(arn: &str) -> Option<(&str, &str)> {
    let (account, resource) = arn.strip_prefix("arn:aws:iam::")?.split_once(':')?;
    let name = resource.strip_prefix("role/")?.rsplit('/').next()?;
    (sluice_model::is_account_id(account) && !name.is_empty()).then_some((account, name))
}

fn packed_too_large(percent: usize) -> SecurityError {
    SecurityError::packed_policy_too_large(format!(
        "Packed policy consumes {percent}% of allotted space, please use smaller policy."
    ))
}

async fn assume_role(
    directory: &Directory,
    caller: &Principal,
    p: &Params<'_>,
    now: i64,
) -> Result<Value, SecurityError> {
    let role_arn = p.req("RoleArn")?;
    let session_name = p.req("RoleSessionName")?;
    if role_arn.len() < 20 || role_arn.len() > 2048 {
        return Err(SecurityError::constraint(
            "RoleArn",
            role_arn,
            "Member must have length greater than or equal to 20",
        ));
    }
    check_name("RoleSessionName", session_name, 2, 64)?;
    let duration = p.int("DurationSeconds")?.unwrap_or(DEFAULT_DURATION);
    if duration < MIN_DURATION {
        return Err(SecurityError::constraint(
            "DurationSeconds",
            &duration.to_string(),
            "Member must have value greater than or equal to 900",
        ));
    }
    if duration > MAX_DURATION {
        return Err(SecurityError::constraint(
            "DurationSeconds",
            &duration.to_string(),
            "Member must have value less than or equal to 43200",
        ));
    }
    let external_id = p.opt("ExternalId");
    if let Some(external_id) = external_id {
        let valid = (2..=1224).contains(&external_id.len())
            && external_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(c));
        if !valid {
            return Err(SecurityError::constraint(
                "ExternalId",
                external_id,
                "Member must satisfy regular expression pattern: [\\w+=,.@:\\/-]*",
            ));
        }
    }
    let policy_arns: Vec<String> = p
        .list("PolicyArns", Some("arn"))
        .into_iter()
        .map(str::to_string)
        .collect();
    if policy_arns.len() > MAX_POLICY_ARNS {
        return Err(SecurityError::constraint(
            "PolicyArns",
            "[...]",
            "Member must have length less than or equal to 10",
        ));
    }
    if let Some(arn) = policy_arns
        .iter()
        .find(|a| ids::parse_policy_arn(a).is_none())
    {
        return Err(SecurityError::validation(format!("{arn} is invalid")));
    }
    let tags = p.tags()?;
    let policy = p.opt("Policy");
    let mut packed = 0;
    if let Some(policy) = policy {
        let length = policy.chars().count();
        if length > MAX_SESSION_POLICY {
            return Err(packed_too_large(length * 100 / MAX_SESSION_POLICY));
        }
        policy_document::validate(policy, DocumentKind::Identity)?;
        packed += policy_document::size(policy);
    }
    packed += policy_arns.iter().map(String::len).sum::<usize>();
    packed += tags.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
    let packed_percent = packed.div_ceil(MAX_SESSION_POLICY / 100);
    if packed_percent > 100 {
        return Err(packed_too_large(packed_percent));
    }

    if caller.kind == PrincipalType::Account {
        return Err(SecurityError::access_denied(
            "Roles may not be assumed by root accounts.",
        ));
    }
    let (account, role_name) = parse_role_arn(role_arn).ok_or_else(|| denied(caller, role_arn))?;
    let role = directory
        .records
        .get::<Role>(records::ROLE, &records::entity_name(account, role_name))
        .await?
        .map(|r| r.value)
        .filter(|r| ids::iam_arn(account, "role", &r.path, &r.name) == role_arn)
        .ok_or_else(|| denied(caller, role_arn))?;
    let request = AssumeRequest {
        caller,
        role_arn,
        external_id,
        session_name,
        now,
    };
    if !trust::allows(&role.assume_role_policy, &request) {
        return Err(denied(caller, role_arn));
    }
    if caller.session.is_some() && duration > CHAINED_MAX_DURATION {
        return Err(SecurityError::validation(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
        ));
    }
    if duration > role.max_session_duration {
        return Err(SecurityError::validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ));
    }

    let key_id = ids::session_key_id();
    let session = Session {
        account_id: account.to_string(),
        secret: ids::secret_access_key(),
        token: ids::session_token(),
        role_name: role.name.clone(),
        role_id: role.id.clone(),
        role_arn: role_arn.to_string(),
        session_name: session_name.to_string(),
        policy: policy.map(str::to_string),
        policy_arns,
        tags,
        issued_at: now,
        expires_at: now + duration,
    };
    let mut batch = Batch::new();
    batch.put(records::SESSION, &key_id, None, &session);
    if !directory.records.write(batch).await? {
        // A fresh random key id cannot already be stored unless the generator repeats itself.
        return Err(SecurityError::service_failure());
    }
    let mut output = json!({
        "Credentials": {
            "AccessKeyId": key_id,
            "SecretAccessKey": session.secret,
            "SessionToken": session.token,
            "Expiration": ids::iso8601(session.expires_at),
        },
        "AssumedRoleUser": {
            "AssumedRoleId": format!("{}:{}", role.id, session_name),
            "Arn": ids::assumed_role_arn(account, &role.name, session_name),
        },
    });
    if policy.is_some() || !session.policy_arns.is_empty() || !session.tags.is_empty() {
        output["PackedPolicySize"] = json!(packed_percent);
    }
    Ok(output)
}

impl Directory {
    /// Deletes sessions expired for a while, at most once per interval; a failure is logged and left
    /// for the next sweep.
    pub(super) async fn sweep_sessions(&self, now: i64) {
        let last = self.last_sweep.load(Ordering::Relaxed);
        if now.saturating_sub(last) < SWEEP_INTERVAL
            || self
                .last_sweep
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let sessions = match self.records.list::<Session>(records::SESSION, "").await {
            Ok(sessions) => sessions,
            Err(error) => {
                tracing::warn!(code = error.code, "role sessions not swept");
                return;
            }
        };
        for (key_id, session) in sessions {
            if session.value.expires_at + EXPIRED_KEPT >= now {
                continue;
            }
            let mut batch = Batch::new();
            batch.delete(records::SESSION, &key_id, session.version);
            if let Err(error) = self.records.write(batch).await {
                tracing::warn!(code = error.code, "expired role session not swept");
            }
        }
    }
}
