//! The KMS actions over keys and aliases. A key record holds its metadata, its key policy, its tags
//! and its material versions (each wrapped under the master key, bound to the key's record name and
//! version); an alias record names its key. Scheduled deletion and scheduled rotation take effect
//! when the key is next read after their time: a key past its deletion date no longer exists.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sluice_model::Principal;
use sluice_policy::{resource_policy_admits, Facts, Grammar, Policy, Request};

use super::crypto::{self, SecretKey};
use super::{base64_decode, base64_encode, kms_error, Kms};
use crate::directory::records::{retry, Batch, Stored};
use crate::directory::SecurityError;

mod aliases;
mod cryptographic;

const KEY: &str = "kms-key";
const ALIAS: &str = "kms-alias";
const DAY: i64 = 86_400;
const MAX_PLAINTEXT: usize = 4096;
const DEFAULT_ROTATION_DAYS: i64 = 365;
/// The alias of the AWS managed key SQS uses, made on first use.
pub const SQS_ALIAS: &str = "alias/aws/sqs";

const ACTIONS: &[(&str, &str)] = &[
    ("CreateKey", "kms:CreateKey"),
    ("DescribeKey", "kms:DescribeKey"),
    ("ListKeys", "kms:ListKeys"),
    ("CreateAlias", "kms:CreateAlias"),
    ("UpdateAlias", "kms:UpdateAlias"),
    ("DeleteAlias", "kms:DeleteAlias"),
    ("ListAliases", "kms:ListAliases"),
    ("EnableKey", "kms:EnableKey"),
    ("DisableKey", "kms:DisableKey"),
    ("ScheduleKeyDeletion", "kms:ScheduleKeyDeletion"),
    ("CancelKeyDeletion", "kms:CancelKeyDeletion"),
    ("Encrypt", "kms:Encrypt"),
    ("Decrypt", "kms:Decrypt"),
    ("ReEncrypt", "kms:ReEncryptFrom"),
    ("GenerateDataKey", "kms:GenerateDataKey"),
    (
        "GenerateDataKeyWithoutPlaintext",
        "kms:GenerateDataKeyWithoutPlaintext",
    ),
    ("GetKeyPolicy", "kms:GetKeyPolicy"),
    ("PutKeyPolicy", "kms:PutKeyPolicy"),
    ("TagResource", "kms:TagResource"),
    ("UntagResource", "kms:UntagResource"),
    ("ListResourceTags", "kms:ListResourceTags"),
    ("EnableKeyRotation", "kms:EnableKeyRotation"),
    ("DisableKeyRotation", "kms:DisableKeyRotation"),
    ("GetKeyRotationStatus", "kms:GetKeyRotationStatus"),
    ("RotateKeyOnDemand", "kms:RotateKeyOnDemand"),
];

pub fn qualified_action(action: &str) -> Option<&'static str> {
    ACTIONS
        .iter()
        .find(|(name, _)| *name == action)
        .map(|(_, qualified)| *qualified)
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyState {
    Enabled,
    Disabled,
    PendingDeletion,
}

impl KeyState {
    fn as_str(self) -> &'static str {
        match self {
            KeyState::Enabled => "Enabled",
            KeyState::Disabled => "Disabled",
            KeyState::PendingDeletion => "PendingDeletion",
        }
    }
}

#[derive(Serialize, Deserialize, Clone)]
pub struct Material {
    pub version: u32,
    /// Base64 of the material sealed under the master key.
    pub wrapped: String,
    pub created: i64,
}

#[derive(Serialize, Deserialize, Clone)]
pub struct KeyRecord {
    pub id: String,
    pub account_id: String,
    pub region: String,
    pub description: String,
    pub created: i64,
    pub state: KeyState,
    pub deletion_date: Option<i64>,
    /// The state to return to when a scheduled deletion is cancelled.
    pub policy: String,
    pub tags: Vec<(String, String)>,
    /// An AWS managed key (`alias/aws/sqs`'s).
    pub aws_managed: bool,
    pub rotation_period_days: Option<i64>,
    pub next_rotation: Option<i64>,
    pub materials: Vec<Material>,
}

impl KeyRecord {
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:kms:{}:{}:key/{}",
            self.region, self.account_id, self.id
        )
    }

    fn record_name(&self) -> String {
        key_record_name(&self.account_id, &self.region, &self.id)
    }
}

#[derive(Serialize, Deserialize, Clone)]
pub struct AliasRecord {
    pub name: String,
    pub key_id: String,
    pub created: i64,
    pub updated: i64,
}

fn key_record_name(account: &str, region: &str, id: &str) -> String {
    format!("{account}/{region}/{id}")
}

fn alias_record_name(account: &str, region: &str, name: &str) -> String {
    format!("{account}/{region}/{name}")
}

fn not_found(what: &str) -> SecurityError {
    kms_error("NotFoundException", format!("{what} is not found."))
}

fn validation(message: impl Into<String>) -> SecurityError {
    kms_error("ValidationException", message)
}

fn default_policy(account: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [{
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
            "Action": "kms:*",
            "Resource": "*"
        }]
    })
    .to_string()
}

/// The AWS managed key's policy: every principal of the account may use it through SQS (seed page
/// 73), and read it.
fn sqs_managed_policy(account: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Id": "auto-sqs-2",
        "Statement": [
            {
                "Sid": "Allow access through Simple Queue Service (SQS) for all principals in the account that are authorized to use SQS",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant", "kms:DescribeKey"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:PrincipalAccount": account}}
            },
            {
                "Sid": "Allow direct access to key metadata to the account",
                "Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
                "Action": ["kms:Describe*", "kms:Get*", "kms:List*"],
                "Resource": "*"
            }
        ]
    })
    .to_string()
}

/// One KMS request.
pub struct Call<'a> {
    pub kms: &'a Kms,
    pub caller: &'a Principal,
    pub region: &'a str,
    pub input: &'a Value,
    pub now: i64,
}

impl Call<'_> {
    fn text(&self, member: &str) -> Option<&str> {
        self.input.get(member).and_then(Value::as_str)
    }

    fn required(&self, member: &str) -> Result<&str, SecurityError> {
        self.text(member).filter(|t| !t.is_empty()).ok_or_else(|| {
            validation(format!(
                "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
                lower_first(member)
            ))
        })
    }

    fn blob(&self, member: &str) -> Result<Vec<u8>, SecurityError> {
        let text = self.required(member)?;
        base64_decode(text).ok_or_else(|| {
            kms_error(
                "SerializationException",
                format!("{member} is not valid base64."),
            )
        })
    }

    pub async fn run(&self, action: &str) -> Result<Value, SecurityError> {
        match action {
            "CreateKey" => self.create_key().await,
            "DescribeKey" => {
                let key = self.existing_key(self.required("KeyId")?).await?;
                Ok(json!({ "KeyMetadata": metadata(&key.value, self.now) }))
            }
            "ListKeys" => self.list_keys().await,
            "CreateAlias" => self.create_alias().await,
            "UpdateAlias" => self.update_alias().await,
            "DeleteAlias" => self.delete_alias().await,
            "ListAliases" => self.list_aliases().await,
            "EnableKey" => self.change_key(|key| set_enabled(key, true)).await,
            "DisableKey" => self.change_key(|key| set_enabled(key, false)).await,
            "ScheduleKeyDeletion" => self.schedule_deletion().await,
            "CancelKeyDeletion" => {
                let key = self
                    .change_key(|key| {
                        if key.state != KeyState::PendingDeletion {
                            return Err(invalid_state(key));
                        }
                        key.state = KeyState::Disabled;
                        key.deletion_date = None;
                        Ok(())
                    })
                    .await?;
                Ok(json!({ "KeyId": key["KeyMetadata"]["Arn"] }))
            }
            "Encrypt" => self.encrypt().await,
            "Decrypt" => self.decrypt().await,
            "ReEncrypt" => self.re_encrypt().await,
            "GenerateDataKey" => self.generate_data_key(true).await,
            "GenerateDataKeyWithoutPlaintext" => self.generate_data_key(false).await,
            "GetKeyPolicy" => {
                self.policy_name()?;
                let key = self.existing_key(self.required("KeyId")?).await?;
                Ok(json!({ "Policy": key.value.policy, "PolicyName": "default" }))
            }
            "PutKeyPolicy" => {
                self.policy_name()?;
                let policy = self.key_policy()?.ok_or_else(|| {
                    validation("1 validation error detected: Value null at 'policy' failed to satisfy constraint: Member must not be null")
                })?;
                self.change_key(move |key| {
                    key.policy = policy.clone();
                    Ok(())
                })
                .await?;
                Ok(json!({}))
            }
            "TagResource" => {
                let tags = self.tags()?;
                self.change_key(move |key| {
                    not_pending_deletion(key)?;
                    for (k, v) in &tags {
                        key.tags.retain(|(existing, _)| existing != k);
                        key.tags.push((k.clone(), v.clone()));
                    }
                    Ok(())
                })
                .await?;
                Ok(json!({}))
            }
            "UntagResource" => {
                let keys: Vec<String> = self
                    .input
                    .get("TagKeys")
                    .and_then(Value::as_array)
                    .map(|list| {
                        list.iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                self.change_key(move |key| {
                    not_pending_deletion(key)?;
                    key.tags.retain(|(k, _)| !keys.contains(k));
                    Ok(())
                })
                .await?;
                Ok(json!({}))
            }
            "ListResourceTags" => {
                let key = self.existing_key(self.required("KeyId")?).await?;
                let tags: Vec<Value> = key
                    .value
                    .tags
                    .iter()
                    .map(|(k, v)| json!({ "TagKey": k, "TagValue": v }))
                    .collect();
                Ok(json!({ "Tags": tags, "Truncated": false }))
            }
            "EnableKeyRotation" => {
                let days = match self.input.get("RotationPeriodInDays") {
                    None | Some(Value::Null) => DEFAULT_ROTATION_DAYS,
                    Some(v) => v
                        .as_i64()
                        .filter(|d| (90..=2560).contains(d))
                        .ok_or_else(|| {
                            validation("The rotation period must be between 90 and 2560 days.")
                        })?,
                };
                let now = self.now;
                self.change_key(move |key| {
                    usable_for_management(key)?;
                    key.rotation_period_days = Some(days);
                    key.next_rotation = Some(now + days * DAY);
                    Ok(())
                })
                .await?;
                Ok(json!({}))
            }
            "DisableKeyRotation" => {
                self.change_key(|key| {
                    usable_for_management(key)?;
                    key.rotation_period_days = None;
                    key.next_rotation = None;
                    Ok(())
                })
                .await?;
                Ok(json!({}))
            }
            "GetKeyRotationStatus" => {
                let key = self.existing_key(self.required("KeyId")?).await?;
                let key = key.value;
                let mut out = json!({
                    "KeyRotationEnabled": key.rotation_period_days.is_some(),
                    "KeyId": key.arn(),
                });
                if let (Some(days), Some(next)) = (key.rotation_period_days, key.next_rotation) {
                    out["RotationPeriodInDays"] = json!(days);
                    out["NextRotationDate"] = json!(next);
                }
                Ok(out)
            }
            "RotateKeyOnDemand" => {
                let master = self.kms.master.clone();
                let now = self.now;
                let key = self
                    .change_key(move |key| {
                        if key.state != KeyState::Enabled {
                            return Err(if key.state == KeyState::Disabled {
                                disabled(key)
                            } else {
                                invalid_state(key)
                            });
                        }
                        add_material(key, &master, now);
                        Ok(())
                    })
                    .await?;
                Ok(json!({ "KeyId": key["KeyMetadata"]["KeyId"] }))
            }
            _ => Err(super::unknown_operation(action)),
        }
    }

    fn policy_name(&self) -> Result<(), SecurityError> {
        match self.text("PolicyName") {
            None | Some("default") => Ok(()),
            Some(_) => Err(not_found("Policy")),
        }
    }

    /// The `Policy` member, checked as a key policy.
    fn key_policy(&self) -> Result<Option<String>, SecurityError> {
        let Some(text) = self.text("Policy") else {
            return Ok(None);
        };
        let policy = Policy::parse(text, Grammar::Resource)
            .map_err(|e| kms_error("MalformedPolicyDocumentException", e.message))?;
        let bypass = self
            .input
            .get("BypassPolicyLockoutSafetyCheck")
            .and_then(Value::as_bool)
            == Some(true);
        if !bypass && !self.policy_lets_caller_manage(&policy) {
            return Err(kms_error(
                "MalformedPolicyDocumentException",
                "The new key policy will not allow you to update the key policy in the future.",
            ));
        }
        Ok(Some(text.to_string()))
    }

    /// The lockout safety check: a key policy must let its author change it again (by naming the
    /// caller, its role or its account for `kms:PutKeyPolicy`).
    fn policy_lets_caller_manage(&self, policy: &Policy) -> bool {
        let facts = Facts::new(self.caller, self.region, self.now);
        let resource = format!(
            "arn:aws:kms:{}:{}:key/*",
            self.region, self.caller.account_id
        );
        resource_policy_admits(
            &Request {
                action: "kms:PutKeyPolicy",
                resource: &resource,
                resource_account: &self.caller.account_id,
                facts: &facts,
            },
            policy,
        )
    }

    fn tags(&self) -> Result<Vec<(String, String)>, SecurityError> {
        let Some(list) = self.input.get("Tags").and_then(Value::as_array) else {
            return Ok(Vec::new());
        };
        list.iter()
            .map(|tag| {
                let key = tag.get("TagKey").and_then(Value::as_str);
                let value = tag.get("TagValue").and_then(Value::as_str);
                match (key, value) {
                    (Some(k), Some(v)) if !k.is_empty() && !k.starts_with("aws:") => {
                        Ok((k.to_string(), v.to_string()))
                    }
                    _ => Err(kms_error("TagException", "Tags must have a TagKey and a TagValue, and a TagKey may not begin with aws:.")),
                }
            })
            .collect()
    }

    async fn create_key(&self) -> Result<Value, SecurityError> {
        if let Some(usage) = self.text("KeyUsage") {
            if usage != "ENCRYPT_DECRYPT" {
                return Err(unsupported(format!(
                    "KeyUsage {usage} is not supported: only ENCRYPT_DECRYPT keys."
                )));
            }
        }
        for member in ["KeySpec", "CustomerMasterKeySpec"] {
            if let Some(spec) = self.text(member) {
                if spec != "SYMMETRIC_DEFAULT" {
                    return Err(unsupported(format!(
                        "{member} {spec} is not supported: only SYMMETRIC_DEFAULT keys."
                    )));
                }
            }
        }
        if let Some(origin) = self.text("Origin") {
            if origin != "AWS_KMS" {
                return Err(unsupported(format!("Origin {origin} is not supported.")));
            }
        }
        if self.input.get("MultiRegion").and_then(Value::as_bool) == Some(true) {
            return Err(unsupported("Multi-Region keys are not supported."));
        }
        let description = self.text("Description").unwrap_or_default().to_string();
        if description.chars().count() > 8192 {
            return Err(validation("Description must be at most 8192 characters."));
        }
        let policy = self
            .key_policy()?
            .unwrap_or_else(|| default_policy(&self.caller.account_id));
        let tags = self.tags()?;
        let key = self.new_key(description, policy, tags, false).await?;
        Ok(json!({ "KeyMetadata": metadata(&key, self.now) }))
    }

    async fn new_key(
        &self,
        description: String,
        policy: String,
        tags: Vec<(String, String)>,
        aws_managed: bool,
    ) -> Result<KeyRecord, SecurityError> {
        let mut key = KeyRecord {
            id: uuid::Uuid::new_v4().to_string(),
            account_id: self.caller.account_id.clone(),
            region: self.region.to_string(),
            description,
            created: self.now,
            state: KeyState::Enabled,
            deletion_date: None,
            policy,
            tags,
            aws_managed,
            rotation_period_days: aws_managed.then_some(DEFAULT_ROTATION_DAYS),
            next_rotation: aws_managed.then_some(self.now + DEFAULT_ROTATION_DAYS * DAY),
            materials: Vec::new(),
        };
        add_material(&mut key, &self.kms.master, self.now);
        let mut batch = Batch::new();
        batch.put(KEY, &key.record_name(), None, &key);
        if !self.kms.records.write(batch).await? {
            return Err(super::kms_error(
                "KMSInternalException",
                "The key could not be created; try again.",
            ));
        }
        Ok(key)
    }

    /// The key a reference names: key id, key ARN, alias name or alias ARN.
    async fn find_key(&self, reference: &str) -> Result<Option<Stored<KeyRecord>>, SecurityError> {
        let (account, region, rest) = match reference.strip_prefix("arn:aws:kms:") {
            Some(arn) => {
                let mut parts = arn.splitn(3, ':');
                match (parts.next(), parts.next(), parts.next()) {
                    (Some(region), Some(account), Some(rest)) => (account, region, rest),
                    _ => {
                        return Err(kms_error(
                            "InvalidArnException",
                            format!("Invalid arn {reference}"),
                        ))
                    }
                }
            }
            None => (self.caller.account_id.as_str(), self.region, reference),
        };
        let id = if rest.starts_with("alias/") {
            if rest == SQS_ALIAS {
                return self.sqs_managed_key(account, region).await.map(Some);
            }
            match self
                .kms
                .records
                .get::<AliasRecord>(ALIAS, &alias_record_name(account, region, rest))
                .await?
            {
                Some(alias) => alias.value.key_id,
                None => return Ok(None),
            }
        } else {
            rest.strip_prefix("key/").unwrap_or(rest).to_string()
        };
        let key = self
            .kms
            .records
            .get::<KeyRecord>(KEY, &key_record_name(account, region, &id))
            .await?;
        Ok(key.filter(|k| !self.is_deleted(&k.value)))
    }

    fn is_deleted(&self, key: &KeyRecord) -> bool {
        key.state == KeyState::PendingDeletion && key.deletion_date.is_some_and(|d| d <= self.now)
    }

    async fn existing_key(&self, reference: &str) -> Result<Stored<KeyRecord>, SecurityError> {
        self.find_key(reference).await?.ok_or_else(|| {
            let what = if reference.contains("alias/") {
                format!("Alias {reference}")
            } else {
                format!("Key '{}'", self.arn_for(reference))
            };
            not_found(&what)
        })
    }

    fn arn_for(&self, reference: &str) -> String {
        if reference.starts_with("arn:") {
            reference.to_string()
        } else {
            format!(
                "arn:aws:kms:{}:{}:key/{reference}",
                self.region, self.caller.account_id
            )
        }
    }

    /// The AWS managed key of `alias/aws/sqs`, made on first use.
    async fn sqs_managed_key(
        &self,
        account: &str,
        region: &str,
    ) -> Result<Stored<KeyRecord>, SecurityError> {
        let name = alias_record_name(account, region, SQS_ALIAS);
        if let Some(alias) = self.kms.records.get::<AliasRecord>(ALIAS, &name).await? {
            if let Some(key) = self
                .kms
                .records
                .get::<KeyRecord>(KEY, &key_record_name(account, region, &alias.value.key_id))
                .await?
            {
                return Ok(key);
            }
        }
        if account != self.caller.account_id || region != self.region {
            return Err(not_found(&format!(
                "Alias arn:aws:kms:{region}:{account}:{SQS_ALIAS}"
            )));
        }
        let key = self
            .new_key(
                "Default key that protects my SQS messages when no other key is defined".into(),
                sqs_managed_policy(account),
                Vec::new(),
                true,
            )
            .await?;
        let alias = AliasRecord {
            name: SQS_ALIAS.into(),
            key_id: key.id.clone(),
            created: self.now,
            updated: self.now,
        };
        let mut batch = Batch::new();
        batch.put(ALIAS, &name, None, &alias);
        if !self.kms.records.write(batch).await? {
            // Another request made it first: use that one.
            return Box::pin(self.sqs_managed_key(account, region)).await;
        }
        let record = self
            .kms
            .records
            .get::<KeyRecord>(KEY, &key.record_name())
            .await?
            .ok_or_else(|| not_found(SQS_ALIAS))?;
        Ok(record)
    }

    /// The key an action names, for authorization (none for the actions on no key).
    pub async fn key_named_by(
        &self,
        action: &str,
    ) -> Result<Option<Stored<KeyRecord>>, SecurityError> {
        let reference = match action {
            "CreateKey" | "ListKeys" | "ListAliases" => return Ok(None),
            "CreateAlias" | "UpdateAlias" => self.text("TargetKeyId"),
            "DeleteAlias" => self.text("AliasName"),
            "Decrypt" if self.text("KeyId").is_none() => {
                return Ok(match self.text("CiphertextBlob").and_then(base64_decode) {
                    Some(blob) => self.blob_key(&blob).await?,
                    None => None,
                });
            }
            "ReEncrypt" => self.text("SourceKeyId").or(self.text("DestinationKeyId")),
            _ => self.text("KeyId"),
        };
        match reference {
            Some(reference) => self.find_key(reference).await,
            None => Ok(None),
        }
    }

    async fn blob_key(&self, blob: &[u8]) -> Result<Option<Stored<KeyRecord>>, SecurityError> {
        let Some((named, _)) = crypto::read_blob(blob) else {
            return Ok(None);
        };
        let key = self
            .kms
            .records
            .get::<KeyRecord>(KEY, &named.record)
            .await?;
        Ok(key.filter(|k| !self.is_deleted(&k.value)))
    }

    /// Reads, changes and writes back the key `KeyId` names; answers its metadata.
    async fn change_key<F>(&self, change: F) -> Result<Value, SecurityError>
    where
        F: Fn(&mut KeyRecord) -> Result<(), SecurityError>,
    {
        let reference = self.required("KeyId")?.to_string();
        retry(|| async {
            let stored = self.existing_key(&reference).await?;
            let mut key = stored.value.clone();
            change(&mut key)?;
            let mut batch = Batch::new();
            batch.put(KEY, &key.record_name(), Some(stored.version), &key);
            Ok(self
                .kms
                .records
                .write(batch)
                .await?
                .then(|| json!({ "KeyMetadata": metadata(&key, self.now) })))
        })
        .await
    }

    async fn list_keys(&self) -> Result<Value, SecurityError> {
        let prefix = format!("{}/{}/", self.caller.account_id, self.region);
        let keys = self.kms.records.list::<KeyRecord>(KEY, &prefix).await?;
        let entries: Vec<Value> = keys
            .iter()
            .filter(|(_, k)| !self.is_deleted(&k.value))
            .map(|(_, k)| json!({ "KeyId": k.value.id, "KeyArn": k.value.arn() }))
            .collect();
        page(entries, "Keys", self.input)
    }

    async fn schedule_deletion(&self) -> Result<Value, SecurityError> {
        let days = match self.input.get("PendingWindowInDays") {
            None | Some(Value::Null) => 30,
            Some(v) => v.as_i64().filter(|d| (7..=30).contains(d)).ok_or_else(|| {
                validation("1 validation error detected: Value at 'pendingWindowInDays' failed to satisfy constraint: Member must have value less than or equal to 30 and greater than or equal to 7")
            })?,
        };
        let now = self.now;
        let key = self
            .change_key(move |key| {
                if key.aws_managed {
                    return Err(kms_error(
                        "UnsupportedOperationException",
                        "An AWS managed key cannot be scheduled for deletion.",
                    ));
                }
                if key.state == KeyState::PendingDeletion {
                    return Err(invalid_state(key));
                }
                key.state = KeyState::PendingDeletion;
                key.deletion_date = Some(now + days * DAY);
                Ok(())
            })
            .await?;
        let metadata = &key["KeyMetadata"];
        Ok(json!({
            "KeyId": metadata["Arn"],
            "DeletionDate": metadata["DeletionDate"],
            "KeyState": "PendingDeletion",
            "PendingWindowInDays": days,
        }))
    }
}

fn material_aad(record: &str, version: u32) -> Vec<u8> {
    let mut aad = record.as_bytes().to_vec();
    aad.extend_from_slice(&version.to_be_bytes());
    aad
}

fn add_material(key: &mut KeyRecord, master: &SecretKey, now: i64) {
    let version = key.materials.last().map_or(1, |m| m.version + 1);
    let material = SecretKey::random();
    let wrapped = master.seal(material.bytes(), &material_aad(&key.record_name(), version));
    key.materials.push(Material {
        version,
        wrapped: base64_encode(&wrapped),
        created: now,
    });
}

fn set_enabled(key: &mut KeyRecord, enabled: bool) -> Result<(), SecurityError> {
    if key.state == KeyState::PendingDeletion {
        return Err(invalid_state(key));
    }
    if key.aws_managed {
        return Err(kms_error(
            "UnsupportedOperationException",
            "An AWS managed key cannot be enabled or disabled.",
        ));
    }
    key.state = if enabled {
        KeyState::Enabled
    } else {
        KeyState::Disabled
    };
    Ok(())
}

fn not_pending_deletion(key: &KeyRecord) -> Result<(), SecurityError> {
    match key.state {
        KeyState::PendingDeletion => Err(invalid_state(key)),
        _ => Ok(()),
    }
}

fn usable_for_management(key: &KeyRecord) -> Result<(), SecurityError> {
    match key.state {
        KeyState::Enabled => Ok(()),
        KeyState::Disabled => Err(disabled(key)),
        KeyState::PendingDeletion => Err(invalid_state(key)),
    }
}

fn disabled(key: &KeyRecord) -> SecurityError {
    kms_error("DisabledException", format!("{} is disabled.", key.arn()))
}

fn invalid_state(key: &KeyRecord) -> SecurityError {
    let state = match key.state {
        KeyState::PendingDeletion => "pending deletion",
        KeyState::Enabled | KeyState::Disabled => "not pending deletion",
    };
    kms_error(
        "KMSInvalidStateException",
        format!("{} is {state}.", key.arn()),
    )
}

fn invalid_ciphertext() -> SecurityError {
    kms_error("InvalidCiphertextException", "")
}

fn unsupported(message: impl Into<String>) -> SecurityError {
    kms_error("UnsupportedOperationException", message)
}

fn lower_first(member: &str) -> String {
    let mut chars = member.chars();
    chars
        .next()
        .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// `KeyMetadata` as DescribeKey and CreateKey return it.
fn metadata(key: &KeyRecord, now: i64) -> Value {
    let state = key.state.as_str();
    let mut out = Map::new();
    out.insert("AWSAccountId".into(), json!(key.account_id));
    out.insert("KeyId".into(), json!(key.id));
    out.insert("Arn".into(), json!(key.arn()));
    out.insert("CreationDate".into(), json!(key.created));
    out.insert("Enabled".into(), json!(key.state == KeyState::Enabled));
    out.insert("Description".into(), json!(key.description));
    out.insert("KeyUsage".into(), json!("ENCRYPT_DECRYPT"));
    out.insert("KeyState".into(), json!(state));
    if let Some(date) = key.deletion_date {
        out.insert("DeletionDate".into(), json!(date));
        out.insert(
            "PendingDeletionWindowInDays".into(),
            json!(((date - now).max(0) + DAY - 1) / DAY),
        );
    }
    out.insert("Origin".into(), json!("AWS_KMS"));
    out.insert(
        "KeyManager".into(),
        json!(if key.aws_managed { "AWS" } else { "CUSTOMER" }),
    );
    out.insert("CustomerMasterKeySpec".into(), json!("SYMMETRIC_DEFAULT"));
    out.insert("KeySpec".into(), json!("SYMMETRIC_DEFAULT"));
    out.insert("EncryptionAlgorithms".into(), json!(["SYMMETRIC_DEFAULT"]));
    out.insert("MultiRegion".into(), json!(false));
    Value::Object(out)
}

/// `Limit` (1 to 1000, default 100) and `Marker` paging over `entries`.
fn page(entries: Vec<Value>, member: &str, input: &Value) -> Result<Value, SecurityError> {
    let limit = match input.get("Limit") {
        None | Some(Value::Null) => 100,
        Some(v) => v
            .as_u64()
            .filter(|l| (1..=1000).contains(l))
            .ok_or_else(|| validation("Limit must be between 1 and 1000."))?
            as usize,
    };
    let start = match input.get("Marker").and_then(Value::as_str) {
        None => 0,
        Some(marker) => marker
            .parse::<usize>()
            .ok()
            .filter(|m| *m <= entries.len())
            .ok_or_else(|| kms_error("InvalidMarkerException", "The marker is not valid."))?,
    };
    let end = (start + limit).min(entries.len());
    let truncated = end < entries.len();
    let mut out = json!({ member: entries[start..end].to_vec(), "Truncated": truncated });
    if truncated {
        out["NextMarker"] = json!(end.to_string());
    }
    Ok(out)
}
