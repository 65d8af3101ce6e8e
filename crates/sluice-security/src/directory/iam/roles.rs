//! IAM roles: CreateRole, GetRole, ListRoles, DeleteRole, UpdateAssumeRolePolicy. The trust policy
//! (`AssumeRolePolicyDocument`) follows the trust grammar and is what AssumeRole checks.

use serde_json::{json, Value};

use super::super::error::SecurityError;
use super::super::ids::{self, UniqueId};
use super::super::policy_document::{self, DocumentKind};
use super::super::records::{self, retry, Batch, Role};
use super::{boundary_json, tags_json, with, Call};

pub const DEFAULT_MAX_SESSION: i64 = 3600;
const MAX_SESSION_RANGE: std::ops::RangeInclusive<i64> = 3600..=43200;

fn check_trust_policy(document: &str) -> Result<(), SecurityError> {
    policy_document::validate(document, DocumentKind::Trust)?;
    if policy_document::size(document) > policy_document::TRUST_POLICY_SIZE {
        return Err(SecurityError::limit_exceeded(format!(
            "Cannot exceed quota for ACLSizePerRole: {}",
            policy_document::TRUST_POLICY_SIZE
        )));
    }
    Ok(())
}

impl Call<'_> {
    fn role_json(&self, role: &Role, full: bool) -> Value {
        let mut base = json!({
            "Path": role.path,
            "RoleName": role.name,
            "RoleId": role.id,
            "Arn": self.arn("role", &role.path, &role.name),
            "CreateDate": ids::iso8601(role.created),
            "AssumeRolePolicyDocument": ids::url_encode(&role.assume_role_policy),
        });
        if let Some(description) = &role.description {
            base["Description"] = Value::String(description.clone());
        }
        base["MaxSessionDuration"] = json!(role.max_session_duration);
        if !full {
            return base;
        }
        with(
            base,
            vec![
                ("PermissionsBoundary", boundary_json(&role.boundary)),
                (
                    "Tags",
                    (!role.tags.is_empty()).then(|| tags_json(&role.tags)),
                ),
                ("RoleLastUsed", Some(json!({}))),
            ],
        )
    }

    pub(super) async fn create_role(&self) -> Result<Value, SecurityError> {
        let name = self.p.name("RoleName", 64)?;
        let path = self.p.path()?;
        let document = self.p.req("AssumeRolePolicyDocument")?;
        let description = self.p.opt("Description");
        if let Some(description) = description.filter(|d| d.chars().count() > 1000) {
            return Err(SecurityError::constraint(
                "Description",
                description,
                "Member must have length less than or equal to 1000",
            ));
        }
        let max_session = self
            .p
            .int("MaxSessionDuration")?
            .unwrap_or(DEFAULT_MAX_SESSION);
        if !MAX_SESSION_RANGE.contains(&max_session) {
            let bound = if max_session < *MAX_SESSION_RANGE.start() {
                "greater than or equal to 3600"
            } else {
                "less than or equal to 43200"
            };
            return Err(SecurityError::constraint(
                "MaxSessionDuration",
                &max_session.to_string(),
                &format!("Member must have value {bound}"),
            ));
        }
        let tags = self.p.tags()?;
        let boundary = self.p.opt("PermissionsBoundary");
        check_trust_policy(document)?;
        let role = Role {
            name: name.to_string(),
            path: path.to_string(),
            id: ids::unique_id(UniqueId::Role),
            created: self.now,
            assume_role_policy: document.to_string(),
            description: description.map(str::to_string),
            max_session_duration: max_session,
            inline: vec![],
            attached: vec![],
            boundary: boundary.map(str::to_string),
            tags,
        };
        let key = self.key(name);
        retry(|| async {
            if self
                .records
                .get::<Role>(records::ROLE, &key)
                .await?
                .is_some()
            {
                return Err(SecurityError::entity_already_exists(format!(
                    "Role with name {name} already exists."
                )));
            }
            let mut batch = Batch::new();
            if let Some(arn) = boundary {
                self.count_boundary(&mut batch, arn, 1).await?;
            }
            batch.put(records::ROLE, &key, None, &role);
            Ok(self.records.write(batch).await?.then_some(()))
        })
        .await?;
        let mut output = self.role_json(&role, true);
        if let Some(object) = output.as_object_mut() {
            object.remove("RoleLastUsed");
        }
        Ok(json!({ "Role": output }))
    }

    pub(super) async fn get_role(&self) -> Result<Value, SecurityError> {
        let name = self.p.name("RoleName", 64)?;
        let role = self.load::<Role>(name).await?;
        Ok(json!({ "Role": self.role_json(&role.value, true) }))
    }

    pub(super) async fn list_roles(&self) -> Result<Value, SecurityError> {
        let prefix = self.p.opt("PathPrefix").unwrap_or("/");
        let page = self.p.page()?;
        let roles = self
            .all::<Role>(records::ROLE)
            .await?
            .into_iter()
            .filter(|(_, r)| r.value.path.starts_with(prefix))
            .map(|(key, r)| (key, self.role_json(&r.value, false)))
            .collect();
        Ok(page.output("Roles", roles))
    }

    pub(super) async fn delete_role(&self) -> Result<Value, SecurityError> {
        let name = self.p.name("RoleName", 64)?;
        retry(|| async {
            let role = self.load::<Role>(name).await?;
            if !role.value.inline.is_empty() {
                return Err(SecurityError::delete_conflict(
                    "Cannot delete entity, must delete policies first.",
                ));
            }
            if !role.value.attached.is_empty() {
                return Err(SecurityError::delete_conflict(
                    "Cannot delete entity, must detach all policies first.",
                ));
            }
            let mut batch = Batch::new();
            if let Some(arn) = &role.value.boundary {
                self.release_boundary(&mut batch, arn).await?;
            }
            batch.delete(records::ROLE, &self.key(name), role.version);
            Ok(self.records.write(batch).await?.then_some(()))
        })
        .await?;
        Ok(Value::Null)
    }

    pub(super) async fn update_assume_role_policy(&self) -> Result<Value, SecurityError> {
        let name = self.p.name("RoleName", 64)?;
        let document = self.p.req("PolicyDocument")?;
        check_trust_policy(document)?;
        retry(|| async {
            let mut role = self.load::<Role>(name).await?;
            role.value.assume_role_policy = document.to_string();
            self.write_back(&role).await
        })
        .await?;
        Ok(Value::Null)
    }
}
