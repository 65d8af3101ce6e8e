//! Inline policies of users, groups and roles: Put/Get/Delete/List {User,Group,Role}Policy. The
//! documents of one entity together stay within IAM's quota for its kind (2048 characters for a
//! user, 5120 for a group, 10240 for a role, whitespace not counted).

use serde_json::{json, Value};

use super::super::error::SecurityError;
use super::super::ids;
use super::super::policy_document::{self, DocumentKind};
use super::super::records::{retry, InlinePolicy};
use super::{Call, Holder};

fn no_such_policy<T: Holder>(name: &str) -> SecurityError {
    SecurityError::no_such_entity(format!(
        "The {} policy with name {name} cannot be found.",
        T::NOUN
    ))
}

impl Call<'_> {
    pub(super) async fn put_inline<T: Holder>(&self) -> Result<Value, SecurityError> {
        let name = self.p.name(T::NAME_MEMBER, T::MAX_NAME)?;
        let policy_name = self.p.name("PolicyName", 128)?;
        let document = self.p.req("PolicyDocument")?;
        policy_document::validate(document, DocumentKind::Identity)?;
        retry(|| async {
            let mut entity = self.load::<T>(name).await?;
            let inline = entity.value.inline();
            inline.retain(|p| !p.name.eq_ignore_ascii_case(policy_name));
            inline.push(InlinePolicy {
                name: policy_name.to_string(),
                document: document.to_string(),
            });
            let total: usize = inline
                .iter()
                .map(|p| policy_document::size(&p.document))
                .sum();
            if total > T::INLINE_QUOTA {
                return Err(SecurityError::limit_exceeded(format!(
                    "Maximum policy size of {} bytes exceeded for {} {name}",
                    T::INLINE_QUOTA,
                    T::NOUN
                )));
            }
            self.write_back(&entity).await
        })
        .await?;
        Ok(Value::Null)
    }

    pub(super) async fn get_inline<T: Holder>(&self) -> Result<Value, SecurityError> {
        let name = self.p.name(T::NAME_MEMBER, T::MAX_NAME)?;
        let policy_name = self.p.name("PolicyName", 128)?;
        let mut entity = self.load::<T>(name).await?;
        let entity_name = entity.value.name().to_string();
        let policy = entity
            .value
            .inline()
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(policy_name))
            .ok_or_else(|| no_such_policy::<T>(policy_name))?;
        Ok(json!({
            T::NAME_MEMBER: entity_name,
            "PolicyName": policy.name,
            "PolicyDocument": ids::url_encode(&policy.document),
        }))
    }

    pub(super) async fn delete_inline<T: Holder>(&self) -> Result<Value, SecurityError> {
        let name = self.p.name(T::NAME_MEMBER, T::MAX_NAME)?;
        let policy_name = self.p.name("PolicyName", 128)?;
        retry(|| async {
            let mut entity = self.load::<T>(name).await?;
            let inline = entity.value.inline();
            let before = inline.len();
            inline.retain(|p| !p.name.eq_ignore_ascii_case(policy_name));
            if inline.len() == before {
                return Err(no_such_policy::<T>(policy_name));
            }
            self.write_back(&entity).await
        })
        .await?;
        Ok(Value::Null)
    }

    pub(super) async fn list_inline<T: Holder>(&self) -> Result<Value, SecurityError> {
        let name = self.p.name(T::NAME_MEMBER, T::MAX_NAME)?;
        let page = self.p.page()?;
        let mut entity = self.load::<T>(name).await?;
        let mut names: Vec<(String, Value)> = entity
            .value
            .inline()
            .iter()
            .map(|p| (p.name.clone(), Value::String(p.name.clone())))
            .collect();
        names.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(page.output("PolicyNames", names))
    }
}
