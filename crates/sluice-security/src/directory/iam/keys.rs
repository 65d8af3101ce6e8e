//! Access keys: CreateAccessKey, ListAccessKeys, UpdateAccessKey, DeleteAccessKey. A request that
//! names no user acts on the calling user's keys, or on the root's keys when root calls. At most two
//! keys per user (and per root), as IAM's quota allows; the key list is kept on the owner's record
//! and written in the same batch as the key, so that the quota holds under concurrent writers. The
//! secret is returned only by CreateAccessKey.

use serde_json::{json, Value};

use super::super::error::SecurityError;
use super::super::ids;
use super::super::records::{self, retry, AccessKey, Account, Batch, Records, Stored, User};
use super::Call;

const KEYS_PER_USER: usize = 2;

/// Whose keys a request is about.
enum Owner {
    /// The account's record, and the version it was read at (`None`: not stored yet, as for an
    /// account named only by requests while authentication is off).
    Root(Account, Option<u64>),
    User(Stored<User>),
}

impl Owner {
    fn keys(&mut self) -> &mut Vec<String> {
        match self {
            Owner::Root(account, _) => &mut account.root_keys,
            Owner::User(user) => &mut user.value.access_keys,
        }
    }

    fn user_name(&self) -> Option<&str> {
        match self {
            Owner::Root(..) => None,
            Owner::User(user) => Some(&user.value.name),
        }
    }

    /// Adds the owner's updated record to `batch`.
    fn write(&self, batch: &mut Batch, account_id: &str) {
        match self {
            Owner::Root(account, version) => {
                batch.put(records::ACCOUNT, account_id, *version, account);
            }
            Owner::User(user) => {
                let key = records::entity_name(account_id, &user.value.name);
                batch.put(records::USER, &key, Some(user.version), &user.value);
            }
        }
    }
}

async fn load_owner(
    records: &Records,
    account_id: &str,
    user: Option<&str>,
    now: i64,
) -> Result<Owner, SecurityError> {
    match user {
        Some(name) => records
            .get::<User>(records::USER, &records::entity_name(account_id, name))
            .await?
            .map(Owner::User)
            .ok_or_else(|| {
                SecurityError::no_such_entity(format!("The user with name {name} cannot be found."))
            }),
        None => Ok(
            match records.get::<Account>(records::ACCOUNT, account_id).await? {
                Some(stored) => Owner::Root(stored.value, Some(stored.version)),
                None => Owner::Root(Account::new(account_id, now), None),
            },
        ),
    }
}

/// Stores a key with a given id and secret for the root (`user` absent) or a user, as configured
/// keys are; a key id that exists already is left alone.
pub async fn import_access_key(
    records: &Records,
    account_id: &str,
    user: Option<&str>,
    key_id: &str,
    secret: &str,
    now: i64,
) -> Result<(), SecurityError> {
    retry(|| async {
        if let Some(key) = records
            .get::<AccessKey>(records::ACCESS_KEY, key_id)
            .await?
        {
            let key = key.value;
            let same_owner = key.account_id == account_id
                && key.user.as_deref().map(str::to_ascii_lowercase)
                    == user.map(str::to_ascii_lowercase);
            if !same_owner {
                tracing::warn!(
                    account = account_id,
                    user,
                    "a configured access key belongs to another identity; left as it is"
                );
            }
            return Ok(Some(()));
        }
        let mut owner = load_owner(records, account_id, user, now).await?;
        add_key(records, account_id, &mut owner, key_id, secret, now).await
    })
    .await
}

/// Writes a new key and its owner's record; `None` when the batch lost a race.
async fn add_key(
    records: &Records,
    account_id: &str,
    owner: &mut Owner,
    key_id: &str,
    secret: &str,
    now: i64,
) -> Result<Option<()>, SecurityError> {
    if owner.keys().len() >= KEYS_PER_USER {
        return Err(SecurityError::limit_exceeded(format!(
            "Cannot exceed quota for AccessKeysPerUser: {KEYS_PER_USER}"
        )));
    }
    owner.keys().push(key_id.to_string());
    let key = AccessKey {
        account_id: account_id.to_string(),
        user: owner.user_name().map(str::to_string),
        secret: secret.to_string(),
        active: true,
        created: now,
    };
    let mut batch = Batch::new();
    owner.write(&mut batch, account_id);
    batch.put(records::ACCESS_KEY, key_id, None, &key);
    Ok(records.write(batch).await?.then_some(()))
}

impl Call<'_> {
    pub(super) async fn create_access_key(&self) -> Result<Value, SecurityError> {
        let user = self.user_name_or_caller()?;
        let key_id = ids::access_key_id();
        let secret = ids::secret_access_key();
        let owner_name = retry(|| async {
            let mut owner = load_owner(self.records, self.account, user, self.now).await?;
            let written = add_key(
                self.records,
                self.account,
                &mut owner,
                &key_id,
                &secret,
                self.now,
            )
            .await?;
            Ok(written.map(|()| owner.user_name().map(str::to_string)))
        })
        .await?;
        let mut key = json!({
            "AccessKeyId": key_id,
            "Status": "Active",
            "SecretAccessKey": secret,
            "CreateDate": ids::iso8601(self.now),
        });
        if let Some(name) = owner_name {
            key["UserName"] = Value::String(name);
        }
        Ok(json!({ "AccessKey": key }))
    }

    pub(super) async fn list_access_keys(&self) -> Result<Value, SecurityError> {
        let user = self.user_name_or_caller()?;
        let page = self.p.page()?;
        let mut owner = load_owner(self.records, self.account, user, self.now).await?;
        let user_name = owner.user_name().map(str::to_string);
        let mut keys = Vec::new();
        for key_id in owner.keys().clone() {
            let Some(key) = self
                .records
                .get::<AccessKey>(records::ACCESS_KEY, &key_id)
                .await?
            else {
                continue;
            };
            let mut metadata = json!({
                "AccessKeyId": key_id,
                "Status": key.value.status(),
                "CreateDate": ids::iso8601(key.value.created),
            });
            if let Some(name) = &user_name {
                metadata["UserName"] = Value::String(name.clone());
            }
            keys.push((key_id, metadata));
        }
        keys.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(page.output("AccessKeyMetadata", keys))
    }

    /// The key the request names, if it belongs to the owner the request names.
    async fn owned_key(
        &self,
        owner: &mut Owner,
        key_id: &str,
    ) -> Result<Stored<AccessKey>, SecurityError> {
        let missing = || {
            SecurityError::no_such_entity(format!(
                "The Access Key with id {key_id} cannot be found."
            ))
        };
        if !owner.keys().iter().any(|k| k == key_id) {
            return Err(missing());
        }
        self.records
            .get::<AccessKey>(records::ACCESS_KEY, key_id)
            .await?
            .ok_or_else(missing)
    }

    fn key_id(&self) -> Result<&str, SecurityError> {
        let key_id = self.p.req("AccessKeyId")?;
        let len = key_id.len();
        if !(16..=128).contains(&len)
            || !key_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(SecurityError::constraint(
                "AccessKeyId",
                key_id,
                "Member must satisfy regular expression pattern: [\\w]+",
            ));
        }
        Ok(key_id)
    }

    pub(super) async fn update_access_key(&self) -> Result<Value, SecurityError> {
        let user = self.user_name_or_caller()?;
        let key_id = self.key_id()?;
        let status = self.p.req("Status")?;
        let active = match status {
            "Active" => true,
            "Inactive" => false,
            other => {
                return Err(SecurityError::constraint(
                    "Status",
                    other,
                    "Member must satisfy enum value set: [Active, Inactive, Expired]",
                ))
            }
        };
        retry(|| async {
            let mut owner = load_owner(self.records, self.account, user, self.now).await?;
            let mut key = self.owned_key(&mut owner, key_id).await?;
            key.value.active = active;
            let mut batch = Batch::new();
            batch.put(records::ACCESS_KEY, key_id, Some(key.version), &key.value);
            Ok(self.records.write(batch).await?.then_some(()))
        })
        .await?;
        Ok(Value::Null)
    }

    pub(super) async fn delete_access_key(&self) -> Result<Value, SecurityError> {
        let user = self.user_name_or_caller()?;
        let key_id = self.key_id()?;
        retry(|| async {
            let mut owner = load_owner(self.records, self.account, user, self.now).await?;
            let key = self.owned_key(&mut owner, key_id).await?;
            owner.keys().retain(|k| k != key_id);
            let mut batch = Batch::new();
            owner.write(&mut batch, self.account);
            batch.delete(records::ACCESS_KEY, key_id, key.version);
            Ok(self.records.write(batch).await?.then_some(()))
        })
        .await?;
        Ok(Value::Null)
    }
}
