//! The identity directory: AWS accounts, their root keys, IAM users, access keys, groups, roles,
//! managed policies and STS role sessions, and the IAM and STS actions over them. The front
//! authenticates a request with `credentials`, then passes IAM and STS Query actions to `iam` and
//! `sts`, which answer with the action's output shape as JSON (members named as in the service
//! models) for the front to render.
//!
//! Everything is kept as security records through the storage boundary (`records.rs`); a change
//! that touches several records (a user and its key, a user and its group) writes them in one
//! atomic batch conditional on the versions read, and is read and tried again when it loses a race.

mod error;
#[doc(hidden)]
pub mod fuzzing;
mod iam;
mod ids;
mod params;
mod policies;
mod policy_document;
pub(crate) mod records;
mod seed;
mod sts;
pub(crate) mod trust;

use std::collections::BTreeMap;
use std::sync::atomic::AtomicI64;
use std::sync::Arc;

use sluice_model::{Principal, PrincipalType, RoleSession};
use sluice_store::Store;

pub use error::SecurityError;
pub use iam::is_iam_action;
pub use policies::PrincipalDocuments;
pub use seed::{AccessKeySeed, AccountSeed, GroupSeed, PolicySeed, RoleSeed, UserSeed};
pub use sts::is_sts_action;

use records::{retry, AccessKey, Account, Batch, Records, Session, User};

/// What an access key id stands for: the secret the request must be signed with and who signs.
pub struct Credentials {
    pub secret_access_key: String,
    pub principal: Principal,
    /// False for a long-term key made inactive by `UpdateAccessKey`.
    pub active: bool,
    /// Temporary credentials only: the token the request must carry.
    pub session_token: Option<String>,
    /// Temporary credentials only: epoch seconds after which they no longer work.
    pub expires_at: Option<i64>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("secret_access_key", &"***")
            .field("principal", &self.principal)
            .field("active", &self.active)
            .field("session_token", &self.session_token.as_ref().map(|_| "***"))
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

pub struct Directory {
    records: Records,
    /// When expired role sessions were last swept (epoch seconds); an atomic because any request
    /// may find the sweep due, and only the one that moves it runs the sweep.
    last_sweep: AtomicI64,
}

impl Directory {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Directory {
            records: Records::new(store),
            last_sweep: AtomicI64::new(i64::MIN),
        }
    }

    /// The access key's secret and principal whatever its status or expiry (the caller picks the
    /// error).
    pub async fn credentials(
        &self,
        access_key_id: &str,
    ) -> Result<Option<Credentials>, SecurityError> {
        // Temporary keys are `ASIA…`; a configured long-term key may look like one, so the
        // long-term keys are asked too.
        if access_key_id.starts_with("ASIA") {
            if let Some(session) = self
                .records
                .get::<Session>(records::SESSION, access_key_id)
                .await?
            {
                let session = session.value;
                return Ok(Some(Credentials {
                    principal: session_principal(&session),
                    secret_access_key: session.secret,
                    active: true,
                    session_token: Some(session.token),
                    expires_at: Some(session.expires_at),
                }));
            }
        }
        let Some(key) = self
            .records
            .get::<AccessKey>(records::ACCESS_KEY, access_key_id)
            .await?
        else {
            return Ok(None);
        };
        let key = key.value;
        let principal = match &key.user {
            None => Principal::root(&key.account_id),
            Some(name) => {
                let user = self
                    .records
                    .get::<User>(records::USER, &records::entity_name(&key.account_id, name))
                    .await?;
                match user {
                    Some(user) => user_principal(&key.account_id, &user.value),
                    None => return Ok(None),
                }
            }
        };
        Ok(Some(Credentials {
            secret_access_key: key.secret,
            principal,
            active: key.active,
            session_token: None,
            expires_at: None,
        }))
    }

    /// Whether any account is stored (decides first-start behaviour).
    pub async fn has_accounts(&self) -> Result<bool, SecurityError> {
        self.records.exists(records::ACCOUNT, "").await
    }

    /// First start with no account configured: creates `account_id` with a new root key; returns
    /// (key id, secret).
    pub async fn create_root_key(
        &self,
        account_id: &str,
        now: i64,
    ) -> Result<(String, String), SecurityError> {
        let key_id = ids::access_key_id();
        let secret = ids::secret_access_key();
        retry(|| async {
            let stored = self
                .records
                .get::<Account>(records::ACCOUNT, account_id)
                .await?;
            let (mut account, version) = match stored {
                Some(stored) => (stored.value, Some(stored.version)),
                None => (Account::new(account_id, now), None),
            };
            account.root_keys.push(key_id.clone());
            let key = AccessKey {
                account_id: account_id.to_string(),
                user: None,
                secret: secret.clone(),
                active: true,
                created: now,
            };
            let mut batch = Batch::new();
            batch
                .put(records::ACCOUNT, account_id, version, &account)
                .put(records::ACCESS_KEY, &key_id, None, &key);
            Ok(self.records.write(batch).await?.then_some(()))
        })
        .await?;
        Ok((key_id, secret))
    }

    pub async fn iam(
        &self,
        caller: &Principal,
        action: &str,
        params: &BTreeMap<String, String>,
        now: i64,
    ) -> Result<serde_json::Value, SecurityError> {
        iam::handle(self, caller, action, params, now).await
    }

    pub async fn sts(
        &self,
        caller: &Principal,
        action: &str,
        params: &BTreeMap<String, String>,
        now: i64,
    ) -> Result<serde_json::Value, SecurityError> {
        sts::handle(self, caller, action, params, now).await
    }
}

fn user_principal(account_id: &str, user: &User) -> Principal {
    Principal {
        account_id: account_id.to_string(),
        arn: ids::iam_arn(account_id, "user", &user.path, &user.name),
        kind: PrincipalType::User,
        user_id: user.id.clone(),
        name: Some(user.name.clone()),
        session: None,
    }
}

fn session_principal(session: &Session) -> Principal {
    Principal {
        account_id: session.account_id.clone(),
        arn: ids::assumed_role_arn(
            &session.account_id,
            &session.role_name,
            &session.session_name,
        ),
        kind: PrincipalType::AssumedRole,
        user_id: format!("{}:{}", session.role_id, session.session_name),
        name: Some(session.session_name.clone()),
        session: Some(RoleSession {
            role_arn: session.role_arn.clone(),
            role_id: session.role_id.clone(),
            session_name: session.session_name.clone(),
            policy: session.policy.clone(),
            policy_arns: session.policy_arns.clone(),
            tags: session.tags.clone(),
            issued_at: session.issued_at,
            expires_at: session.expires_at,
        }),
    }
}

#[cfg(test)]
mod tests;
