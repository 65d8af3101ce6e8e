//! What authorization reads from the directory: the documents of the policies that apply to a
//! principal (a user's own and its groups', inline and managed, and its boundary; a role session's
//! role's, its boundary, and the session policies it was given), and what an IAM or STS request
//! acts on (IAM Service Authorization Reference: each IAM action on the user, group, role or
//! policy it names; `sts:AssumeRole` on the role, whose trust policy is its resource policy).

use std::collections::BTreeMap;

use sluice_model::{Access, Principal, PrincipalType, ResourcePolicy};

use super::error::SecurityError;
use super::records::{self, Group, InlinePolicy, ManagedPolicy, Role, User};
use super::{ids, sts, trust, Directory};

/// The documents of the policies that apply to a principal, as stored.
#[derive(Debug, Default)]
pub struct PrincipalDocuments {
    pub identity: Vec<String>,
    pub boundary: Option<String>,
    /// A role session's session policies, when it was given any.
    pub session: Option<Vec<String>>,
}

impl Directory {
    /// Moves with every change written through this directory, or heard of from another process
    /// sharing the store.
    pub fn generation(&self) -> u64 {
        self.records.generation()
    }

    /// The documents of the policies that apply to `principal`. A managed policy that is gone (or
    /// an AWS managed one, which Sluice does not have) contributes nothing.
    pub async fn principal_documents(
        &self,
        principal: &Principal,
    ) -> Result<PrincipalDocuments, SecurityError> {
        let account = &principal.account_id;
        let mut documents = PrincipalDocuments::default();
        match (principal.kind, &principal.session, &principal.name) {
            (PrincipalType::User, _, Some(name)) => {
                let Some(user) = self
                    .records
                    .get::<User>(records::USER, &records::entity_name(account, name))
                    .await?
                else {
                    return Ok(documents);
                };
                let user = user.value;
                self.holder_documents(user.inline, &user.attached, &mut documents.identity)
                    .await?;
                for group in &user.groups {
                    let group = self
                        .records
                        .get::<Group>(records::GROUP, &records::entity_name(account, group))
                        .await?;
                    if let Some(group) = group {
                        let group = group.value;
                        self.holder_documents(
                            group.inline,
                            &group.attached,
                            &mut documents.identity,
                        )
                        .await?;
                    }
                }
                documents.boundary = self.managed_document(user.boundary.as_deref()).await?;
            }
            (PrincipalType::AssumedRole, Some(session), _) => {
                let role_name = session.role_arn.rsplit('/').next().unwrap_or_default();
                let role = self
                    .records
                    .get::<Role>(records::ROLE, &records::entity_name(account, role_name))
                    .await?
                    .filter(|r| r.value.id == session.role_id);
                if let Some(role) = role {
                    let role = role.value;
                    self.holder_documents(role.inline, &role.attached, &mut documents.identity)
                        .await?;
                    documents.boundary = self.managed_document(role.boundary.as_deref()).await?;
                }
                if session.policy.is_some() || !session.policy_arns.is_empty() {
                    let mut policies: Vec<String> = session.policy.iter().cloned().collect();
                    self.managed_into(&session.policy_arns, &mut policies)
                        .await?;
                    documents.session = Some(policies);
                }
            }
            _ => {}
        }
        Ok(documents)
    }

    /// A user's, group's or role's inline and attached policies.
    async fn holder_documents(
        &self,
        inline: Vec<InlinePolicy>,
        attached: &[String],
        into: &mut Vec<String>,
    ) -> Result<(), SecurityError> {
        into.extend(inline.into_iter().map(|p| p.document));
        self.managed_into(attached, into).await
    }

    async fn managed_into(
        &self,
        arns: &[String],
        into: &mut Vec<String>,
    ) -> Result<(), SecurityError> {
        for arn in arns {
            into.extend(self.managed_document(Some(arn)).await?);
        }
        Ok(())
    }

    /// The default version's document of the customer managed policy `arn` names.
    async fn managed_document(&self, arn: Option<&str>) -> Result<Option<String>, SecurityError> {
        let Some((account, name)) = arn.and_then(ids::parse_policy_arn) else {
            return Ok(None);
        };
        let policy = self
            .records
            .get::<ManagedPolicy>(records::POLICY, &records::entity_name(account, name))
            .await?;
        Ok(policy.and_then(|p| {
            let p = p.value;
            p.versions
                .into_iter()
                .find(|v| v.id == p.default_version)
                .map(|v| v.document)
        }))
    }

    /// What an IAM action acts on, in the caller's account: the entity its parameters name (a
    /// group before a user, as `AddUserToGroup` acts on the group), the caller itself for the
    /// actions on one's own user that name none, else every resource of its kind.
    pub async fn iam_access(
        &self,
        caller: &Principal,
        action: &str,
        params: &BTreeMap<String, String>,
    ) -> Result<Access, SecurityError> {
        let account = &caller.account_id;
        let param = |name: &str| params.get(name).map(String::as_str);
        let path = param("Path").unwrap_or("/");
        let resource = if let Some(group) = param("GroupName").filter(|_| action.contains("Group"))
        {
            self.entity_arn::<Group>(account, records::GROUP, "group", group, path, |g| &g.path)
                .await?
        } else if let Some(user) = param("UserName") {
            self.entity_arn::<User>(account, records::USER, "user", user, path, |u| &u.path)
                .await?
        } else if let Some(role) = param("RoleName") {
            self.entity_arn::<Role>(account, records::ROLE, "role", role, path, |r| &r.path)
                .await?
        } else if let Some(group) = param("GroupName") {
            self.entity_arn::<Group>(account, records::GROUP, "group", group, path, |g| &g.path)
                .await?
        } else if let Some(arn) = param("PolicyArn") {
            arn.to_string()
        } else if let (Some(name), "CreatePolicy") = (param("PolicyName"), action) {
            ids::iam_arn(account, "policy", path, name)
        } else if caller.kind == PrincipalType::User && OWN_USER_ACTIONS.contains(&action) {
            caller.arn.clone()
        } else {
            let kind = LISTED_KIND
                .iter()
                .find(|(a, _)| *a == action)
                .map_or("*", |(_, kind)| kind);
            format!("arn:aws:iam::{account}:{kind}")
        };
        let mut access = Access::new(iam_action(action), resource, account);
        if let Some(tags) = request_tags(params) {
            access.tag_keys = Some(tags.iter().map(|(k, _)| k.clone()).collect());
            access.request_tags = tags;
        }
        Ok(access)
    }

    /// What an STS action acts on: `AssumeRole` the role, with its trust policy as the resource
    /// policy; `GetCallerIdentity` nothing, as every caller may call it.
    pub async fn sts_access(
        &self,
        action: &str,
        params: &BTreeMap<String, String>,
    ) -> Result<Option<Access>, SecurityError> {
        if action != "AssumeRole" {
            return Ok(None);
        }
        let Some(role_arn) = params.get("RoleArn") else {
            return Ok(None);
        };
        let (account, role_name) = sts::parse_role_arn(role_arn).unwrap_or_default();
        let mut access = Access::new("sts:AssumeRole", role_arn.clone(), account);
        let role = self
            .records
            .get::<Role>(records::ROLE, &records::entity_name(account, role_name))
            .await?;
        if let Some(role) = role
            .filter(|r| ids::iam_arn(account, "role", &r.value.path, &r.value.name) == *role_arn)
        {
            access.resource_policy = Some(ResourcePolicy {
                version_id: format!("{role_arn}#{}.{}", role.value.id, role.version),
                text: role.value.assume_role_policy,
                trust: true,
            });
            access.resource_tags = role.value.tags;
        }
        access.context_keys = trust::context_keys(
            params.get("ExternalId").map(String::as_str),
            params
                .get("RoleSessionName")
                .map(String::as_str)
                .unwrap_or_default(),
        );
        Ok(Some(access))
    }

    /// The stored ARN of an entity (its path included), or the one it would have.
    async fn entity_arn<T: serde::de::DeserializeOwned>(
        &self,
        account: &str,
        record_kind: &str,
        noun: &str,
        name: &str,
        path: &str,
        stored_path: impl Fn(&T) -> &String,
    ) -> Result<String, SecurityError> {
        let stored = self
            .records
            .get::<T>(record_kind, &records::entity_name(account, name))
            .await?;
        let path = stored
            .as_ref()
            .map_or(path, |s| stored_path(&s.value).as_str());
        Ok(ids::iam_arn(account, noun, path, name))
    }
}

/// Actions a user may call on its own user without naming it.
const OWN_USER_ACTIONS: &[&str] = &[
    "GetUser",
    "CreateAccessKey",
    "ListAccessKeys",
    "UpdateAccessKey",
    "DeleteAccessKey",
    "ListGroupsForUser",
];

/// The resource kind of the listing actions.
const LISTED_KIND: &[(&str, &str)] = &[
    ("ListUsers", "user/*"),
    ("ListRoles", "role/*"),
    ("ListGroups", "group/*"),
    ("ListPolicies", "policy/*"),
];

fn iam_action(action: &str) -> &'static str {
    super::iam::ACTIONS
        .iter()
        .find(|(name, _)| *name == action)
        .map_or("iam:*", |(_, qualified)| qualified)
}

/// `Tags.member.N.Key`/`Value` of a request that tags what it creates.
fn request_tags(params: &BTreeMap<String, String>) -> Option<Vec<(String, String)>> {
    let mut tags = Vec::new();
    for n in 1.. {
        let Some(key) = params.get(&format!("Tags.member.{n}.Key")) else {
            break;
        };
        let value = params
            .get(&format!("Tags.member.{n}.Value"))
            .cloned()
            .unwrap_or_default();
        tags.push((key.clone(), value));
    }
    (!tags.is_empty()).then_some(tags)
}
