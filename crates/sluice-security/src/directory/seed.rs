//! Accounts and identities listed in the configuration file, created at start-up. Each entry is
//! made by the IAM action that makes it, called as the account's root, so that a configured entity
//! is checked exactly as one made over the API; an entry that exists already is left alone, which
//! makes seeding idempotent (a key listed again is left as it is, even if its secret changed).

use std::collections::BTreeMap;

use serde::Deserialize;
use sluice_model::Principal;

use super::error::SecurityError;
use super::iam::{self, import_access_key};
use super::ids;
use super::records::{self, retry, Account, Batch, ManagedPolicy};
use super::Directory;

#[derive(Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AccountSeed {
    pub id: String,
    /// The root's access key.
    pub access_key_id: String,
    pub secret_access_key: String,
    #[serde(default)]
    pub users: Vec<UserSeed>,
    #[serde(default)]
    pub groups: Vec<GroupSeed>,
    #[serde(default)]
    pub roles: Vec<RoleSeed>,
    #[serde(default)]
    pub policies: Vec<PolicySeed>,
}

#[derive(Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct UserSeed {
    pub name: String,
    #[serde(default)]
    pub path: Option<String>,
    /// Names of groups of the account.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Inline policies: name to JSON document.
    #[serde(default)]
    pub policies: BTreeMap<String, String>,
    /// Names or ARNs of the account's managed policies.
    #[serde(default)]
    pub managed_policies: Vec<String>,
    #[serde(default)]
    pub access_keys: Vec<AccessKeySeed>,
    /// Name or ARN of a managed policy.
    #[serde(default)]
    pub permissions_boundary: Option<String>,
}

#[derive(Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AccessKeySeed {
    pub access_key_id: String,
    pub secret_access_key: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct GroupSeed {
    pub name: String,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub policies: BTreeMap<String, String>,
    #[serde(default)]
    pub managed_policies: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RoleSeed {
    pub name: String,
    #[serde(default)]
    pub path: Option<String>,
    /// The trust policy, as JSON text.
    pub assume_role_policy: String,
    #[serde(default)]
    pub max_session_duration: Option<i64>,
    #[serde(default)]
    pub policies: BTreeMap<String, String>,
    #[serde(default)]
    pub managed_policies: Vec<String>,
    #[serde(default)]
    pub permissions_boundary: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PolicySeed {
    pub name: String,
    #[serde(default)]
    pub path: Option<String>,
    pub document: String,
}

impl std::fmt::Debug for AccountSeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountSeed")
            .field("id", &self.id)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"***")
            .field("users", &self.users)
            .field("groups", &self.groups)
            .field("roles", &self.roles)
            .field("policies", &self.policies)
            .finish()
    }
}

impl std::fmt::Debug for UserSeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserSeed")
            .field("name", &self.name)
            .field("path", &self.path)
            .field("groups", &self.groups)
            .field("policies", &self.policies)
            .field("managed_policies", &self.managed_policies)
            .field("access_keys", &self.access_keys)
            .field("permissions_boundary", &self.permissions_boundary)
            .finish()
    }
}

impl std::fmt::Debug for AccessKeySeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKeySeed")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"***")
            .finish()
    }
}

/// Seeding one account: IAM actions called as its root.
struct Seeder<'a> {
    directory: &'a Directory,
    root: Principal,
    now: i64,
}

/// Names the entry a configuration error comes from.
fn context(entry: &str) -> impl Fn(SecurityError) -> SecurityError + '_ {
    move |mut error| {
        error.message = format!("{entry}: {}", error.message);
        error
    }
}

impl Seeder<'_> {
    fn account(&self) -> &str {
        &self.root.account_id
    }

    async fn call(&self, action: &str, params: &[(&str, &str)]) -> Result<(), SecurityError> {
        let params: BTreeMap<String, String> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        iam::handle(self.directory, &self.root, action, &params, self.now).await?;
        Ok(())
    }

    /// Runs a Create* action; `false` when the entity exists already.
    async fn create(&self, action: &str, params: &[(&str, &str)]) -> Result<bool, SecurityError> {
        match self.call(action, params).await {
            Ok(()) => Ok(true),
            Err(error) if error.code == "EntityAlreadyExists" => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// The ARN of a managed policy named by name or ARN.
    async fn policy_arn(&self, policy: &str) -> Result<String, SecurityError> {
        if policy.starts_with("arn:") {
            return Ok(policy.to_string());
        }
        let stored = self
            .directory
            .records
            .get::<ManagedPolicy>(
                records::POLICY,
                &records::entity_name(self.account(), policy),
            )
            .await?;
        let path = stored.map_or("/".to_string(), |p| p.value.path);
        Ok(ids::iam_arn(self.account(), "policy", &path, policy))
    }

    /// Inline and attached policies of a user, group or role just created.
    async fn policies(
        &self,
        kind: &str,
        name: &str,
        inline: &BTreeMap<String, String>,
        managed: &[String],
    ) -> Result<(), SecurityError> {
        let member = format!("{kind}Name");
        for (policy_name, document) in inline {
            self.call(
                &format!("Put{kind}Policy"),
                &[
                    (member.as_str(), name),
                    ("PolicyName", policy_name),
                    ("PolicyDocument", document),
                ],
            )
            .await?;
        }
        for policy in managed {
            let arn = self.policy_arn(policy).await?;
            self.call(
                &format!("Attach{kind}Policy"),
                &[(member.as_str(), name), ("PolicyArn", &arn)],
            )
            .await?;
        }
        Ok(())
    }

    async fn user(&self, seed: &UserSeed) -> Result<(), SecurityError> {
        let path = seed.path.as_deref().unwrap_or("/");
        let boundary = match &seed.permissions_boundary {
            Some(policy) => Some(self.policy_arn(policy).await?),
            None => None,
        };
        let mut params = vec![("UserName", seed.name.as_str()), ("Path", path)];
        if let Some(boundary) = &boundary {
            params.push(("PermissionsBoundary", boundary));
        }
        if self.create("CreateUser", &params).await? {
            self.policies("User", &seed.name, &seed.policies, &seed.managed_policies)
                .await?;
            for group in &seed.groups {
                self.call(
                    "AddUserToGroup",
                    &[("GroupName", group), ("UserName", &seed.name)],
                )
                .await?;
            }
        }
        for key in &seed.access_keys {
            import_access_key(
                &self.directory.records,
                self.account(),
                Some(&seed.name),
                &key.access_key_id,
                &key.secret_access_key,
                self.now,
            )
            .await?;
        }
        Ok(())
    }

    async fn role(&self, seed: &RoleSeed) -> Result<(), SecurityError> {
        let path = seed.path.as_deref().unwrap_or("/");
        let duration = seed.max_session_duration.map(|d| d.to_string());
        let boundary = match &seed.permissions_boundary {
            Some(policy) => Some(self.policy_arn(policy).await?),
            None => None,
        };
        let mut params = vec![
            ("RoleName", seed.name.as_str()),
            ("Path", path),
            ("AssumeRolePolicyDocument", seed.assume_role_policy.as_str()),
        ];
        if let Some(duration) = &duration {
            params.push(("MaxSessionDuration", duration));
        }
        if let Some(boundary) = &boundary {
            params.push(("PermissionsBoundary", boundary));
        }
        if self.create("CreateRole", &params).await? {
            self.policies("Role", &seed.name, &seed.policies, &seed.managed_policies)
                .await?;
        }
        Ok(())
    }
}

impl Directory {
    /// Creates what the config file lists; an entry that exists already is left alone. Idempotent.
    pub async fn seed(&self, seed: &AccountSeed, now: i64) -> Result<(), SecurityError> {
        let account_id = seed.id.as_str();
        if !sluice_model::is_account_id(account_id) {
            return Err(SecurityError::validation(format!(
                "account {account_id}: an account id is 12 digits"
            )));
        }
        retry(|| async {
            if self
                .records
                .get::<Account>(records::ACCOUNT, account_id)
                .await?
                .is_some()
            {
                return Ok(Some(()));
            }
            let mut batch = Batch::new();
            batch.put(
                records::ACCOUNT,
                account_id,
                None,
                &Account::new(account_id, now),
            );
            Ok(self.records.write(batch).await?.then_some(()))
        })
        .await?;
        import_access_key(
            &self.records,
            account_id,
            None,
            &seed.access_key_id,
            &seed.secret_access_key,
            now,
        )
        .await
        .map_err(context(&format!("account {account_id}")))?;
        let seeder = Seeder {
            directory: self,
            root: Principal::root(account_id),
            now,
        };
        for policy in &seed.policies {
            let path = policy.path.as_deref().unwrap_or("/");
            seeder
                .create(
                    "CreatePolicy",
                    &[
                        ("PolicyName", &policy.name),
                        ("Path", path),
                        ("PolicyDocument", &policy.document),
                    ],
                )
                .await
                .map_err(context(&format!("policy {}", policy.name)))?;
        }
        for group in &seed.groups {
            let path = group.path.as_deref().unwrap_or("/");
            let created = seeder
                .create("CreateGroup", &[("GroupName", &group.name), ("Path", path)])
                .await;
            if created.map_err(context(&format!("group {}", group.name)))? {
                seeder
                    .policies(
                        "Group",
                        &group.name,
                        &group.policies,
                        &group.managed_policies,
                    )
                    .await
                    .map_err(context(&format!("group {}", group.name)))?;
            }
        }
        for user in &seed.users {
            seeder
                .user(user)
                .await
                .map_err(context(&format!("user {}", user.name)))?;
        }
        for role in &seed.roles {
            seeder
                .role(role)
                .await
                .map_err(context(&format!("role {}", role.name)))?;
        }
        Ok(())
    }
}
