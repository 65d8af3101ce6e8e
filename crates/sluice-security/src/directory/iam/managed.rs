//! Customer managed policies (CreatePolicy, GetPolicy, GetPolicyVersion, DeletePolicy, ListPolicies),
//! their attachment to users, groups and roles, and permissions boundaries. A policy counts its
//! attachments and its uses as a boundary, written in the same batch as the entity that takes or
//! drops it, so that a policy in use is never deleted. AWS managed policies are not kept.

use serde_json::{json, Value};

use super::super::error::SecurityError;
use super::super::ids::{self, UniqueId};
use super::super::policy_document::{self, DocumentKind};
use super::super::records::{self, retry, Batch, ManagedPolicy, PolicyVersion, Stored};
use super::{with, Call, Holder};

/// Managed policies attached to one user, group or role.
const ATTACHED_PER_ENTITY: usize = 10;

fn not_attachable(arn: &str) -> SecurityError {
    SecurityError::no_such_entity(format!("Policy {arn} does not exist or is not attachable."))
}

impl Call<'_> {
    fn policy_json(&self, policy: &ManagedPolicy, full: bool) -> Value {
        let base = json!({
            "PolicyName": policy.name,
            "PolicyId": policy.id,
            "Arn": self.arn("policy", &policy.path, &policy.name),
            "Path": policy.path,
            "DefaultVersionId": policy.default_version,
            "AttachmentCount": policy.attachment_count,
            "PermissionsBoundaryUsageCount": policy.boundary_usage_count,
            "IsAttachable": true,
            "CreateDate": ids::iso8601(policy.created),
            "UpdateDate": ids::iso8601(policy.updated),
        });
        if !full {
            return base;
        }
        with(
            base,
            vec![
                ("Description", policy.description.clone().map(Value::String)),
                (
                    "Tags",
                    (!policy.tags.is_empty()).then(|| super::tags_json(&policy.tags)),
                ),
            ],
        )
    }

    /// The customer managed policy an ARN names in the caller's account.
    pub(super) async fn policy_by_arn(
        &self,
        arn: &str,
    ) -> Result<(String, Stored<ManagedPolicy>), SecurityError> {
        let Some((account, name)) = ids::parse_policy_arn(arn) else {
            return Err(SecurityError::invalid_input(format!(
                "ARN {arn} is not valid."
            )));
        };
        if account != self.account {
            return Err(not_attachable(arn));
        }
        let key = self.key(name);
        let policy = self
            .records
            .get::<ManagedPolicy>(records::POLICY, &key)
            .await?
            .filter(|p| self.arn("policy", &p.value.path, &p.value.name) == arn)
            .ok_or_else(|| not_attachable(arn))?;
        Ok((key, policy))
    }

    /// Adds to `batch` the boundary policy with its use counted.
    pub(super) async fn count_boundary(
        &self,
        batch: &mut Batch,
        arn: &str,
        uses: u64,
    ) -> Result<(), SecurityError> {
        let (key, mut policy) = self.policy_by_arn(arn).await.map_err(|error| {
            if error.code == "NoSuchEntity" {
                SecurityError::no_such_entity(format!(
                    "Scope ARN: {arn} does not exist or is not attachable."
                ))
            } else {
                error
            }
        })?;
        policy.value.boundary_usage_count += uses;
        batch.put(records::POLICY, &key, Some(policy.version), &policy.value);
        Ok(())
    }

    /// Adds to `batch` the boundary policy with one use fewer, if it still exists.
    pub(super) async fn release_boundary(
        &self,
        batch: &mut Batch,
        arn: &str,
    ) -> Result<(), SecurityError> {
        if let Ok((key, mut policy)) = self.policy_by_arn(arn).await {
            policy.value.boundary_usage_count = policy.value.boundary_usage_count.saturating_sub(1);
            batch.put(records::POLICY, &key, Some(policy.version), &policy.value);
        }
        Ok(())
    }

    pub(super) async fn create_policy(&self) -> Result<Value, SecurityError> {
        let name = self.p.name("PolicyName", 128)?;
        let path = self.p.path()?;
        let document = self.p.req("PolicyDocument")?;
        let description = self.p.opt("Description");
        if description.is_some_and(|d| d.chars().count() > 1000) {
            return Err(SecurityError::constraint(
                "Description",
                description.unwrap_or_default(),
                "Member must have length less than or equal to 1000",
            ));
        }
        let tags = self.p.tags()?;
        policy_document::validate(document, DocumentKind::Identity)?;
        if policy_document::size(document) > policy_document::MANAGED_POLICY_SIZE {
            return Err(SecurityError::limit_exceeded(format!(
                "Cannot exceed quota for PolicySize: {}",
                policy_document::MANAGED_POLICY_SIZE
            )));
        }
        let policy = ManagedPolicy {
            name: name.to_string(),
            path: path.to_string(),
            id: ids::unique_id(UniqueId::Policy),
            created: self.now,
            updated: self.now,
            description: description.map(str::to_string),
            versions: vec![PolicyVersion {
                id: "v1".into(),
                document: document.to_string(),
                created: self.now,
            }],
            default_version: "v1".into(),
            attachment_count: 0,
            boundary_usage_count: 0,
            tags,
        };
        let key = self.key(name);
        let mut batch = Batch::new();
        batch.put(records::POLICY, &key, None, &policy);
        if !self.records.write(batch).await? {
            return Err(SecurityError::entity_already_exists(format!(
                "A policy called {name} already exists. Duplicate names are not allowed."
            )));
        }
        Ok(json!({ "Policy": self.policy_json(&policy, true) }))
    }

    pub(super) async fn get_policy(&self) -> Result<Value, SecurityError> {
        let arn = self.p.req("PolicyArn")?;
        let (_, policy) = self.policy_by_arn(arn).await?;
        Ok(json!({ "Policy": self.policy_json(&policy.value, true) }))
    }

    pub(super) async fn get_policy_version(&self) -> Result<Value, SecurityError> {
        let arn = self.p.req("PolicyArn")?;
        let version_id = self.p.req("VersionId")?;
        let (_, policy) = self.policy_by_arn(arn).await?;
        let policy = policy.value;
        let version = policy
            .versions
            .iter()
            .find(|v| v.id == version_id)
            .ok_or_else(|| {
                SecurityError::no_such_entity(format!(
                    "Policy {arn} version {version_id} does not exist or is not attachable."
                ))
            })?;
        Ok(json!({"PolicyVersion": {
            "Document": ids::url_encode(&version.document),
            "VersionId": version.id,
            "IsDefaultVersion": version.id == policy.default_version,
            "CreateDate": ids::iso8601(version.created),
        }}))
    }

    pub(super) async fn delete_policy(&self) -> Result<Value, SecurityError> {
        let arn = self.p.req("PolicyArn")?;
        retry(|| async {
            let (key, policy) = self.policy_by_arn(arn).await?;
            if policy.value.attachment_count > 0 || policy.value.boundary_usage_count > 0 {
                return Err(SecurityError::delete_conflict(
                    "Cannot delete a policy attached to entities.",
                ));
            }
            let mut batch = Batch::new();
            batch.delete(records::POLICY, &key, policy.version);
            Ok(self.records.write(batch).await?.then_some(()))
        })
        .await?;
        Ok(Value::Null)
    }

    pub(super) async fn list_policies(&self) -> Result<Value, SecurityError> {
        let scope = self.p.opt("Scope").unwrap_or("All");
        if !matches!(scope, "All" | "AWS" | "Local") {
            return Err(SecurityError::constraint(
                "Scope",
                scope,
                "Member must satisfy enum value set: [All, AWS, Local]",
            ));
        }
        let only_attached = self.p.bool("OnlyAttached").unwrap_or(false);
        let prefix = self.p.opt("PathPrefix").unwrap_or("/");
        let usage = self.p.opt("PolicyUsageFilter");
        let page = self.p.page()?;
        let policies = if scope == "AWS" {
            Vec::new()
        } else {
            self.all::<ManagedPolicy>(records::POLICY).await?
        };
        let policies = policies
            .into_iter()
            .map(|(key, p)| (key, p.value))
            .filter(|(_, p)| p.path.starts_with(prefix))
            .filter(|(_, p)| match usage {
                Some("PermissionsPolicy") => !only_attached || p.attachment_count > 0,
                Some("PermissionsBoundary") => !only_attached || p.boundary_usage_count > 0,
                _ => !only_attached || p.attachment_count + p.boundary_usage_count > 0,
            })
            .map(|(key, p)| (key, self.policy_json(&p, false)))
            .collect();
        Ok(page.output("Policies", policies))
    }

    pub(super) async fn attach<T: Holder>(&self) -> Result<Value, SecurityError> {
        let name = self.p.name(T::NAME_MEMBER, T::MAX_NAME)?;
        let arn = self.p.req("PolicyArn")?;
        retry(|| async {
            let mut entity = self.load::<T>(name).await?;
            if entity.value.attached().iter().any(|a| a == arn) {
                return Ok(Some(()));
            }
            let (policy_key, mut policy) = self.policy_by_arn(arn).await?;
            if entity.value.attached().len() >= ATTACHED_PER_ENTITY {
                let noun = T::NOUN[..1].to_ascii_uppercase() + &T::NOUN[1..];
                return Err(SecurityError::limit_exceeded(format!(
                    "Cannot exceed quota for PoliciesPer{noun}: {ATTACHED_PER_ENTITY}"
                )));
            }
            entity.value.attached().push(arn.to_string());
            policy.value.attachment_count += 1;
            let mut batch = Batch::new();
            self.put_back(&mut batch, &entity);
            batch.put(
                records::POLICY,
                &policy_key,
                Some(policy.version),
                &policy.value,
            );
            Ok(self.records.write(batch).await?.then_some(()))
        })
        .await?;
        Ok(Value::Null)
    }

    pub(super) async fn detach<T: Holder>(&self) -> Result<Value, SecurityError> {
        let name = self.p.name(T::NAME_MEMBER, T::MAX_NAME)?;
        let arn = self.p.req("PolicyArn")?;
        retry(|| async {
            let mut entity = self.load::<T>(name).await?;
            if !entity.value.attached().iter().any(|a| a == arn) {
                return Err(SecurityError::no_such_entity(format!(
                    "Policy {arn} was not found."
                )));
            }
            entity.value.attached().retain(|a| a != arn);
            let mut batch = Batch::new();
            self.put_back(&mut batch, &entity);
            if let Ok((policy_key, mut policy)) = self.policy_by_arn(arn).await {
                policy.value.attachment_count = policy.value.attachment_count.saturating_sub(1);
                batch.put(
                    records::POLICY,
                    &policy_key,
                    Some(policy.version),
                    &policy.value,
                );
            }
            Ok(self.records.write(batch).await?.then_some(()))
        })
        .await?;
        Ok(Value::Null)
    }

    pub(super) async fn list_attached<T: Holder>(&self) -> Result<Value, SecurityError> {
        let name = self.p.name(T::NAME_MEMBER, T::MAX_NAME)?;
        let prefix = self.p.opt("PathPrefix").unwrap_or("/");
        let page = self.p.page()?;
        let mut entity = self.load::<T>(name).await?;
        let mut attached: Vec<(String, Value)> = entity
            .value
            .attached()
            .iter()
            .filter_map(|arn| {
                let (_, policy_name) = ids::parse_policy_arn(arn)?;
                let path = arn.split_once(":policy")?.1;
                path.starts_with(prefix).then(|| {
                    (
                        arn.clone(),
                        json!({"PolicyName": policy_name, "PolicyArn": arn}),
                    )
                })
            })
            .collect();
        attached.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(page.output("AttachedPolicies", attached))
    }

    pub(super) async fn put_boundary<T: Holder>(&self) -> Result<Value, SecurityError> {
        let name = self.p.name(T::NAME_MEMBER, T::MAX_NAME)?;
        let arn = self.p.req("PermissionsBoundary")?;
        retry(|| async {
            let mut entity = self.load::<T>(name).await?;
            let Some(boundary) = entity.value.boundary() else {
                return Err(SecurityError::invalid_action("PutGroupPermissionsBoundary"));
            };
            let previous = boundary.replace(arn.to_string());
            if previous.as_deref() == Some(arn) {
                return Ok(Some(()));
            }
            let mut batch = Batch::new();
            self.count_boundary(&mut batch, arn, 1).await?;
            if let Some(previous) = &previous {
                self.release_boundary(&mut batch, previous).await?;
            }
            self.put_back(&mut batch, &entity);
            Ok(self.records.write(batch).await?.then_some(()))
        })
        .await?;
        Ok(Value::Null)
    }

    pub(super) async fn delete_boundary<T: Holder>(&self) -> Result<Value, SecurityError> {
        let name = self.p.name(T::NAME_MEMBER, T::MAX_NAME)?;
        retry(|| async {
            let mut entity = self.load::<T>(name).await?;
            let Some(boundary) = entity.value.boundary() else {
                return Err(SecurityError::invalid_action(
                    "DeleteGroupPermissionsBoundary",
                ));
            };
            let Some(previous) = boundary.take() else {
                return Ok(Some(()));
            };
            let mut batch = Batch::new();
            self.release_boundary(&mut batch, &previous).await?;
            self.put_back(&mut batch, &entity);
            Ok(self.records.write(batch).await?.then_some(()))
        })
        .await?;
        Ok(Value::Null)
    }
}
