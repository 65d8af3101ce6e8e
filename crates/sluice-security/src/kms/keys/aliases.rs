//! The alias actions: names of the form `alias/…` in an account and region, each naming one of its
//! keys; `alias/aws/` is kept for AWS managed keys.

use serde_json::{json, Value};

use super::{
    alias_record_name, invalid_state, not_found, page, unsupported, validation, AliasRecord, Call,
    KeyRecord, KeyState, ALIAS,
};
use crate::directory::records::{retry, Batch, Stored};
use crate::directory::SecurityError;
use crate::kms::kms_error;

impl Call<'_> {
    pub(super) fn alias_name(&self) -> Result<String, SecurityError> {
        let name = self.required("AliasName")?;
        let valid = name.len() <= 256
            && name.strip_prefix("alias/").is_some_and(|rest| {
                !rest.is_empty()
                    && rest
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-'))
            });
        if !valid {
            return Err(validation(format!(
                "1 validation error detected: Value '{name}' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^alias/[a-zA-Z0-9/_-]+$"
            )));
        }
        if name.starts_with("alias/aws/") {
            return Err(kms_error(
                "InvalidAliasNameException",
                "Alias names that begin with alias/aws/ are reserved for AWS managed keys.",
            ));
        }
        Ok(name.to_string())
    }

    /// The target of an alias: a key of the caller's account and region, by id or ARN.
    pub(super) async fn alias_target(&self) -> Result<KeyRecord, SecurityError> {
        let target = self.required("TargetKeyId")?;
        if target.contains("alias/") {
            return Err(validation(
                "TargetKeyId must be a key id or key ARN, not an alias.",
            ));
        }
        let key = self.existing_key(target).await?.value;
        if key.account_id != self.caller.account_id || key.region != self.region {
            return Err(not_found(&format!("Key '{target}'")));
        }
        if key.aws_managed {
            return Err(unsupported("An alias cannot point at an AWS managed key."));
        }
        if key.state == KeyState::PendingDeletion {
            return Err(invalid_state(&key));
        }
        Ok(key)
    }

    pub(super) async fn create_alias(&self) -> Result<Value, SecurityError> {
        let name = self.alias_name()?;
        let key = self.alias_target().await?;
        let record = alias_record_name(&self.caller.account_id, self.region, &name);
        let alias = AliasRecord {
            name: name.clone(),
            key_id: key.id,
            created: self.now,
            updated: self.now,
        };
        let mut batch = Batch::new();
        batch.put(ALIAS, &record, None, &alias);
        if !self.kms.records.write(batch).await? {
            return Err(kms_error(
                "AlreadyExistsException",
                format!(
                    "An alias with the name arn:aws:kms:{}:{}:{name} already exists",
                    self.region, self.caller.account_id
                ),
            ));
        }
        Ok(json!({}))
    }

    pub(super) async fn existing_alias(
        &self,
        record: &str,
        name: &str,
    ) -> Result<Stored<AliasRecord>, SecurityError> {
        self.kms
            .records
            .get::<AliasRecord>(ALIAS, record)
            .await?
            .ok_or_else(|| {
                not_found(&format!(
                    "Alias arn:aws:kms:{}:{}:{name}",
                    self.region, self.caller.account_id
                ))
            })
    }

    pub(super) async fn update_alias(&self) -> Result<Value, SecurityError> {
        let name = self.alias_name()?;
        let key = self.alias_target().await?;
        let record = alias_record_name(&self.caller.account_id, self.region, &name);
        retry(|| async {
            let stored = self.existing_alias(&record, &name).await?;
            let mut alias = stored.value;
            alias.key_id = key.id.clone();
            alias.updated = self.now;
            let mut batch = Batch::new();
            batch.put(ALIAS, &record, Some(stored.version), &alias);
            Ok(self.kms.records.write(batch).await?.then_some(json!({})))
        })
        .await
    }

    pub(super) async fn delete_alias(&self) -> Result<Value, SecurityError> {
        let name = self.alias_name()?;
        let record = alias_record_name(&self.caller.account_id, self.region, &name);
        retry(|| async {
            let stored = self.existing_alias(&record, &name).await?;
            let mut batch = Batch::new();
            batch.delete(ALIAS, &record, stored.version);
            Ok(self.kms.records.write(batch).await?.then_some(json!({})))
        })
        .await
    }

    pub(super) async fn list_aliases(&self) -> Result<Value, SecurityError> {
        let prefix = format!("{}/{}/", self.caller.account_id, self.region);
        let filter = match self.text("KeyId") {
            Some(reference) => Some(self.existing_key(reference).await?.value.id),
            None => None,
        };
        let aliases = self.kms.records.list::<AliasRecord>(ALIAS, &prefix).await?;
        let entries: Vec<Value> = aliases
            .iter()
            .map(|(_, a)| &a.value)
            .filter(|a| filter.as_ref().is_none_or(|id| *id == a.key_id))
            .map(|a| {
                json!({
                    "AliasName": a.name,
                    "AliasArn": format!("arn:aws:kms:{}:{}:{}", self.region, self.caller.account_id, a.name),
                    "TargetKeyId": a.key_id,
                    "CreationDate": a.created,
                    "LastUpdatedDate": a.updated,
                })
            })
            .collect();
        page(entries, "Aliases", self.input)
    }
}
