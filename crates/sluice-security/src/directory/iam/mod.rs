//! The IAM actions. Each acts on the caller's account; whether the caller may call it is decided
//! before, by policy evaluation. Outputs are the model's output shapes as JSON.

mod groups;
mod inline;
mod keys;
mod managed;
mod roles;
mod users;

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use sluice_model::Principal;

use super::error::SecurityError;
use super::ids;
use super::params::Params;
use super::records::{self, Group, InlinePolicy, Records, Role, Stored, User};
use super::Directory;

pub use keys::import_access_key;

/// Each action with its IAM action name.
pub(super) const ACTIONS: &[(&str, &str)] = &[
    ("CreateUser", "iam:CreateUser"),
    ("GetUser", "iam:GetUser"),
    ("ListUsers", "iam:ListUsers"),
    ("DeleteUser", "iam:DeleteUser"),
    ("CreateAccessKey", "iam:CreateAccessKey"),
    ("ListAccessKeys", "iam:ListAccessKeys"),
    ("UpdateAccessKey", "iam:UpdateAccessKey"),
    ("DeleteAccessKey", "iam:DeleteAccessKey"),
    ("CreateRole", "iam:CreateRole"),
    ("GetRole", "iam:GetRole"),
    ("ListRoles", "iam:ListRoles"),
    ("DeleteRole", "iam:DeleteRole"),
    ("UpdateAssumeRolePolicy", "iam:UpdateAssumeRolePolicy"),
    ("CreateGroup", "iam:CreateGroup"),
    ("GetGroup", "iam:GetGroup"),
    ("ListGroups", "iam:ListGroups"),
    ("DeleteGroup", "iam:DeleteGroup"),
    ("AddUserToGroup", "iam:AddUserToGroup"),
    ("RemoveUserFromGroup", "iam:RemoveUserFromGroup"),
    ("ListGroupsForUser", "iam:ListGroupsForUser"),
    ("PutUserPolicy", "iam:PutUserPolicy"),
    ("GetUserPolicy", "iam:GetUserPolicy"),
    ("DeleteUserPolicy", "iam:DeleteUserPolicy"),
    ("ListUserPolicies", "iam:ListUserPolicies"),
    ("PutGroupPolicy", "iam:PutGroupPolicy"),
    ("GetGroupPolicy", "iam:GetGroupPolicy"),
    ("DeleteGroupPolicy", "iam:DeleteGroupPolicy"),
    ("ListGroupPolicies", "iam:ListGroupPolicies"),
    ("PutRolePolicy", "iam:PutRolePolicy"),
    ("GetRolePolicy", "iam:GetRolePolicy"),
    ("DeleteRolePolicy", "iam:DeleteRolePolicy"),
    ("ListRolePolicies", "iam:ListRolePolicies"),
    ("CreatePolicy", "iam:CreatePolicy"),
    ("GetPolicy", "iam:GetPolicy"),
    ("GetPolicyVersion", "iam:GetPolicyVersion"),
    ("DeletePolicy", "iam:DeletePolicy"),
    ("ListPolicies", "iam:ListPolicies"),
    ("AttachUserPolicy", "iam:AttachUserPolicy"),
    ("DetachUserPolicy", "iam:DetachUserPolicy"),
    ("ListAttachedUserPolicies", "iam:ListAttachedUserPolicies"),
    ("AttachGroupPolicy", "iam:AttachGroupPolicy"),
    ("DetachGroupPolicy", "iam:DetachGroupPolicy"),
    ("ListAttachedGroupPolicies", "iam:ListAttachedGroupPolicies"),
    ("AttachRolePolicy", "iam:AttachRolePolicy"),
    ("DetachRolePolicy", "iam:DetachRolePolicy"),
    ("ListAttachedRolePolicies", "iam:ListAttachedRolePolicies"),
    (
        "PutUserPermissionsBoundary",
        "iam:PutUserPermissionsBoundary",
    ),
    (
        "DeleteUserPermissionsBoundary",
        "iam:DeleteUserPermissionsBoundary",
    ),
    (
        "PutRolePermissionsBoundary",
        "iam:PutRolePermissionsBoundary",
    ),
    (
        "DeleteRolePermissionsBoundary",
        "iam:DeleteRolePermissionsBoundary",
    ),
];

pub fn is_iam_action(action: &str) -> bool {
    ACTIONS.iter().any(|(name, _)| *name == action)
}

/// One IAM request.
pub(super) struct Call<'a> {
    pub records: &'a Records,
    pub caller: &'a Principal,
    pub account: &'a str,
    pub p: Params<'a>,
    pub now: i64,
}

pub(super) async fn handle(
    directory: &Directory,
    caller: &Principal,
    action: &str,
    params: &BTreeMap<String, String>,
    now: i64,
) -> Result<Value, SecurityError> {
    let call = Call {
        records: &directory.records,
        caller,
        account: &caller.account_id,
        p: Params(params),
        now,
    };
    match action {
        "CreateUser" => call.create_user().await,
        "GetUser" => call.get_user().await,
        "ListUsers" => call.list_users().await,
        "DeleteUser" => call.delete_user().await,
        "CreateAccessKey" => call.create_access_key().await,
        "ListAccessKeys" => call.list_access_keys().await,
        "UpdateAccessKey" => call.update_access_key().await,
        "DeleteAccessKey" => call.delete_access_key().await,
        "CreateRole" => call.create_role().await,
        "GetRole" => call.get_role().await,
        "ListRoles" => call.list_roles().await,
        "DeleteRole" => call.delete_role().await,
        "UpdateAssumeRolePolicy" => call.update_assume_role_policy().await,
        "CreateGroup" => call.create_group().await,
        "GetGroup" => call.get_group().await,
        "ListGroups" => call.list_groups().await,
        "DeleteGroup" => call.delete_group().await,
        "AddUserToGroup" => call.add_user_to_group().await,
        "RemoveUserFromGroup" => call.remove_user_from_group().await,
        "ListGroupsForUser" => call.list_groups_for_user().await,
        "PutUserPolicy" => call.put_inline::<User>().await,
        "GetUserPolicy" => call.get_inline::<User>().await,
        "DeleteUserPolicy" => call.delete_inline::<User>().await,
        "ListUserPolicies" => call.list_inline::<User>().await,
        "PutGroupPolicy" => call.put_inline::<Group>().await,
        "GetGroupPolicy" => call.get_inline::<Group>().await,
        "DeleteGroupPolicy" => call.delete_inline::<Group>().await,
        "ListGroupPolicies" => call.list_inline::<Group>().await,
        "PutRolePolicy" => call.put_inline::<Role>().await,
        "GetRolePolicy" => call.get_inline::<Role>().await,
        "DeleteRolePolicy" => call.delete_inline::<Role>().await,
        "ListRolePolicies" => call.list_inline::<Role>().await,
        "CreatePolicy" => call.create_policy().await,
        "GetPolicy" => call.get_policy().await,
        "GetPolicyVersion" => call.get_policy_version().await,
        "DeletePolicy" => call.delete_policy().await,
        "ListPolicies" => call.list_policies().await,
        "AttachUserPolicy" => call.attach::<User>().await,
        "DetachUserPolicy" => call.detach::<User>().await,
        "ListAttachedUserPolicies" => call.list_attached::<User>().await,
        "AttachGroupPolicy" => call.attach::<Group>().await,
        "DetachGroupPolicy" => call.detach::<Group>().await,
        "ListAttachedGroupPolicies" => call.list_attached::<Group>().await,
        "AttachRolePolicy" => call.attach::<Role>().await,
        "DetachRolePolicy" => call.detach::<Role>().await,
        "ListAttachedRolePolicies" => call.list_attached::<Role>().await,
        "PutUserPermissionsBoundary" => call.put_boundary::<User>().await,
        "DeleteUserPermissionsBoundary" => call.delete_boundary::<User>().await,
        "PutRolePermissionsBoundary" => call.put_boundary::<Role>().await,
        "DeleteRolePermissionsBoundary" => call.delete_boundary::<Role>().await,
        _ => Err(SecurityError::invalid_action(action)),
    }
}

/// What users, groups and roles share: a name, inline policies and attached managed policies.
pub(super) trait Holder: Serialize + DeserializeOwned + Send + Sync {
    /// The record kind.
    const KIND: &'static str;
    /// How IAM names the entity in messages (`user`, `group`, `role`).
    const NOUN: &'static str;
    /// The Query member that names it (`UserName`, …).
    const NAME_MEMBER: &'static str;
    const MAX_NAME: usize;
    /// The quota on the total size of its inline policies.
    const INLINE_QUOTA: usize;
    fn name(&self) -> &str;
    fn inline(&mut self) -> &mut Vec<InlinePolicy>;
    fn attached(&mut self) -> &mut Vec<String>;
    /// Users and roles have a permissions boundary; groups do not.
    fn boundary(&mut self) -> Option<&mut Option<String>>;
}

impl Holder for User {
    const KIND: &'static str = records::USER;
    const NOUN: &'static str = "user";
    const NAME_MEMBER: &'static str = "UserName";
    const MAX_NAME: usize = 64;
    const INLINE_QUOTA: usize = super::policy_document::USER_INLINE_SIZE;
    fn name(&self) -> &str {
        &self.name
    }
    fn inline(&mut self) -> &mut Vec<InlinePolicy> {
        &mut self.inline
    }
    fn attached(&mut self) -> &mut Vec<String> {
        &mut self.attached
    }
    fn boundary(&mut self) -> Option<&mut Option<String>> {
        Some(&mut self.boundary)
    }
}

impl Holder for Group {
    const KIND: &'static str = records::GROUP;
    const NOUN: &'static str = "group";
    const NAME_MEMBER: &'static str = "GroupName";
    const MAX_NAME: usize = 128;
    const INLINE_QUOTA: usize = super::policy_document::GROUP_INLINE_SIZE;
    fn name(&self) -> &str {
        &self.name
    }
    fn inline(&mut self) -> &mut Vec<InlinePolicy> {
        &mut self.inline
    }
    fn attached(&mut self) -> &mut Vec<String> {
        &mut self.attached
    }
    fn boundary(&mut self) -> Option<&mut Option<String>> {
        None
    }
}

impl Holder for Role {
    const KIND: &'static str = records::ROLE;
    const NOUN: &'static str = "role";
    const NAME_MEMBER: &'static str = "RoleName";
    const MAX_NAME: usize = 64;
    const INLINE_QUOTA: usize = super::policy_document::ROLE_INLINE_SIZE;
    fn name(&self) -> &str {
        &self.name
    }
    fn inline(&mut self) -> &mut Vec<InlinePolicy> {
        &mut self.inline
    }
    fn attached(&mut self) -> &mut Vec<String> {
        &mut self.attached
    }
    fn boundary(&mut self) -> Option<&mut Option<String>> {
        Some(&mut self.boundary)
    }
}

impl Call<'_> {
    /// The record name of an entity of the caller's account.
    fn key(&self, name: &str) -> String {
        records::entity_name(self.account, name)
    }

    /// Stages `entity` to be written back, on the condition that it is still at the version read.
    fn put_back<T: Holder>(&self, batch: &mut records::Batch, entity: &Stored<T>) {
        batch.put(
            T::KIND,
            &self.key(entity.value.name()),
            Some(entity.version),
            &entity.value,
        );
    }

    /// Writes `entity` back alone; `None` when it changed since it was read (the caller retries).
    async fn write_back<T: Holder>(&self, entity: &Stored<T>) -> Result<Option<()>, SecurityError> {
        let mut batch = records::Batch::new();
        self.put_back(&mut batch, entity);
        Ok(self.records.write(batch).await?.then_some(()))
    }

    /// The stored entity `name`, or IAM's `NoSuchEntity`.
    async fn load<T: Holder>(&self, name: &str) -> Result<Stored<T>, SecurityError> {
        self.records
            .get::<T>(T::KIND, &self.key(name))
            .await?
            .ok_or_else(|| {
                SecurityError::no_such_entity(format!(
                    "The {} with name {name} cannot be found.",
                    T::NOUN
                ))
            })
    }

    /// Every entity of a kind in the caller's account, keyed by lowercased name for pagination.
    async fn all<T: DeserializeOwned>(
        &self,
        kind: &str,
    ) -> Result<Vec<(String, Stored<T>)>, SecurityError> {
        let prefix = records::account_prefix(self.account);
        let mut list = self.records.list::<T>(kind, &prefix).await?;
        for (key, _) in &mut list {
            key.drain(..prefix.len());
        }
        Ok(list)
    }

    fn arn(&self, kind: &str, path: &str, name: &str) -> String {
        ids::iam_arn(self.account, kind, path, name)
    }
}

/// `PermissionsBoundary` as IAM shows it on a user or role.
fn boundary_json(boundary: &Option<String>) -> Option<Value> {
    boundary.as_ref().map(|arn| {
        json!({"PermissionsBoundaryType": "PermissionsPolicy", "PermissionsBoundaryArn": arn})
    })
}

fn tags_json(tags: &[(String, String)]) -> Value {
    Value::Array(
        tags.iter()
            .map(|(k, v)| json!({"Key": k, "Value": v}))
            .collect(),
    )
}

/// Adds optional members to an output object.
fn with(mut object: Value, members: Vec<(&str, Option<Value>)>) -> Value {
    for (member, value) in members {
        if let Some(value) = value {
            object[member] = value;
        }
    }
    object
}
