//! IAM users: CreateUser, GetUser, ListUsers, DeleteUser. A user is deleted only when nothing hangs
//! from it (access keys, policies, group memberships), as IAM refuses with `DeleteConflict`.

use serde_json::{json, Value};

use super::super::error::SecurityError;
use super::super::ids::{self, UniqueId};
use super::super::records::{self, retry, Batch, User};
use super::{boundary_json, tags_json, with, Call};

impl Call<'_> {
    pub(super) fn user_json(&self, user: &User, full: bool) -> Value {
        let base = json!({
            "Path": user.path,
            "UserName": user.name,
            "UserId": user.id,
            "Arn": self.arn("user", &user.path, &user.name),
            "CreateDate": ids::iso8601(user.created),
        });
        if !full {
            return base;
        }
        with(
            base,
            vec![
                ("PermissionsBoundary", boundary_json(&user.boundary)),
                (
                    "Tags",
                    (!user.tags.is_empty()).then(|| tags_json(&user.tags)),
                ),
            ],
        )
    }

    pub(super) async fn create_user(&self) -> Result<Value, SecurityError> {
        let name = self.p.name("UserName", 64)?;
        let path = self.p.path()?;
        let tags = self.p.tags()?;
        let boundary = self.p.opt("PermissionsBoundary");
        let id = ids::unique_id(UniqueId::User);
        let key = self.key(name);
        let user = User {
            name: name.to_string(),
            path: path.to_string(),
            id,
            created: self.now,
            access_keys: vec![],
            groups: vec![],
            inline: vec![],
            attached: vec![],
            boundary: boundary.map(str::to_string),
            tags,
        };
        retry(|| async {
            if self
                .records
                .get::<User>(records::USER, &key)
                .await?
                .is_some()
            {
                return Err(SecurityError::entity_already_exists(format!(
                    "User with name {name} already exists."
                )));
            }
            let mut batch = Batch::new();
            if let Some(arn) = boundary {
                self.count_boundary(&mut batch, arn, 1).await?;
            }
            batch.put(records::USER, &key, None, &user);
            Ok(self.records.write(batch).await?.then_some(()))
        })
        .await?;
        Ok(json!({ "User": self.user_json(&user, true) }))
    }

    /// The user the request names, or the calling user when it names none.
    pub(super) fn user_name_or_caller(&self) -> Result<Option<&str>, SecurityError> {
        if let Some(name) = self.p.opt_name("UserName", 64)? {
            return Ok(Some(name));
        }
        match (&self.caller.kind, &self.caller.name) {
            (sluice_model::PrincipalType::User, Some(name)) => Ok(Some(name.as_str())),
            (sluice_model::PrincipalType::Account, _) => Ok(None),
            _ => Err(SecurityError::validation(
                "Must specify userName when calling with non-User credentials",
            )),
        }
    }

    pub(super) async fn get_user(&self) -> Result<Value, SecurityError> {
        let Some(name) = self.user_name_or_caller()? else {
            let account = self
                .records
                .get::<records::Account>(records::ACCOUNT, self.account)
                .await?;
            let created = account.map_or(self.now, |a| a.value.created);
            return Ok(json!({"User": {
                "UserId": self.account,
                "Arn": ids::root_arn(self.account),
                "CreateDate": ids::iso8601(created),
            }}));
        };
        let user = self.load::<User>(name).await?;
        Ok(json!({ "User": self.user_json(&user.value, true) }))
    }

    pub(super) async fn list_users(&self) -> Result<Value, SecurityError> {
        let prefix = self.p.opt("PathPrefix").unwrap_or("/");
        let page = self.p.page()?;
        let users = self
            .all::<User>(records::USER)
            .await?
            .into_iter()
            .filter(|(_, u)| u.value.path.starts_with(prefix))
            .map(|(key, u)| (key, self.user_json(&u.value, false)))
            .collect();
        Ok(page.output("Users", users))
    }

    pub(super) async fn delete_user(&self) -> Result<Value, SecurityError> {
        let name = self.p.name("UserName", 64)?;
        retry(|| async {
            let user = self.load::<User>(name).await?;
            let conflict = if !user.value.access_keys.is_empty() {
                Some("Cannot delete entity, must delete access keys first.")
            } else if !user.value.inline.is_empty() {
                Some("Cannot delete entity, must delete policies first.")
            } else if !user.value.attached.is_empty() {
                Some("Cannot delete entity, must detach all policies first.")
            } else if !user.value.groups.is_empty() {
                Some("Cannot delete entity, must remove user from all groups first.")
            } else {
                None
            };
            if let Some(message) = conflict {
                return Err(SecurityError::delete_conflict(message));
            }
            let mut batch = Batch::new();
            if let Some(arn) = &user.value.boundary {
                self.release_boundary(&mut batch, arn).await?;
            }
            batch.delete(records::USER, &self.key(name), user.version);
            Ok(self.records.write(batch).await?.then_some(()))
        })
        .await?;
        Ok(Value::Null)
    }
}
