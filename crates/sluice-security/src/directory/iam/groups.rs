//! IAM groups: CreateGroup, GetGroup, ListGroups, DeleteGroup, AddUserToGroup,
//! RemoveUserFromGroup, ListGroupsForUser. Membership is kept on both sides (the user lists its
//! groups, the group its members) and both records are written in one batch.

use serde_json::{json, Value};

use super::super::error::SecurityError;
use super::super::ids::{self, UniqueId};
use super::super::records::{self, retry, Batch, Group, User};
use super::Call;

const GROUPS_PER_USER: usize = 10;

impl Call<'_> {
    fn group_json(&self, group: &Group) -> Value {
        json!({
            "Path": group.path,
            "GroupName": group.name,
            "GroupId": group.id,
            "Arn": self.arn("group", &group.path, &group.name),
            "CreateDate": ids::iso8601(group.created),
        })
    }

    pub(super) async fn create_group(&self) -> Result<Value, SecurityError> {
        let name = self.p.name("GroupName", 128)?;
        let path = self.p.path()?;
        let group = Group {
            name: name.to_string(),
            path: path.to_string(),
            id: ids::unique_id(UniqueId::Group),
            created: self.now,
            members: vec![],
            inline: vec![],
            attached: vec![],
        };
        let mut batch = Batch::new();
        batch.put(records::GROUP, &self.key(name), None, &group);
        if !self.records.write(batch).await? {
            return Err(SecurityError::entity_already_exists(format!(
                "Group with name {name} already exists."
            )));
        }
        Ok(json!({ "Group": self.group_json(&group) }))
    }

    pub(super) async fn get_group(&self) -> Result<Value, SecurityError> {
        let name = self.p.name("GroupName", 128)?;
        let page = self.p.page()?;
        let group = self.load::<Group>(name).await?.value;
        let mut users = Vec::new();
        for member in &group.members {
            if let Some(user) = self
                .records
                .get::<User>(records::USER, &self.key(member))
                .await?
            {
                users.push((
                    member.to_ascii_lowercase(),
                    self.user_json(&user.value, false),
                ));
            }
        }
        users.sort_by(|a, b| a.0.cmp(&b.0));
        let mut output = json!({ "Group": self.group_json(&group) });
        if let (Value::Object(output), Value::Object(page)) =
            (&mut output, page.output("Users", users))
        {
            output.extend(page);
        }
        Ok(output)
    }

    pub(super) async fn list_groups(&self) -> Result<Value, SecurityError> {
        let prefix = self.p.opt("PathPrefix").unwrap_or("/");
        let page = self.p.page()?;
        let groups = self
            .all::<Group>(records::GROUP)
            .await?
            .into_iter()
            .filter(|(_, g)| g.value.path.starts_with(prefix))
            .map(|(key, g)| (key, self.group_json(&g.value)))
            .collect();
        Ok(page.output("Groups", groups))
    }

    pub(super) async fn delete_group(&self) -> Result<Value, SecurityError> {
        let name = self.p.name("GroupName", 128)?;
        retry(|| async {
            let group = self.load::<Group>(name).await?;
            let conflict = if !group.value.members.is_empty() {
                Some("Cannot delete entity, must remove users from group first.")
            } else if !group.value.inline.is_empty() {
                Some("Cannot delete entity, must delete policies first.")
            } else if !group.value.attached.is_empty() {
                Some("Cannot delete entity, must detach all policies first.")
            } else {
                None
            };
            if let Some(message) = conflict {
                return Err(SecurityError::delete_conflict(message));
            }
            let mut batch = Batch::new();
            batch.delete(records::GROUP, &self.key(name), group.version);
            Ok(self.records.write(batch).await?.then_some(()))
        })
        .await?;
        Ok(Value::Null)
    }

    pub(super) async fn add_user_to_group(&self) -> Result<Value, SecurityError> {
        let group_name = self.p.name("GroupName", 128)?;
        let user_name = self.p.name("UserName", 64)?;
        retry(|| async {
            let mut group = self.load::<Group>(group_name).await?;
            let mut user = self.load::<User>(user_name).await?;
            let group_name = group.value.name.clone();
            if user.value.groups.iter().any(|g| g == &group_name) {
                return Ok(Some(()));
            }
            if user.value.groups.len() >= GROUPS_PER_USER {
                return Err(SecurityError::limit_exceeded(format!(
                    "Cannot exceed quota for GroupsPerUser: {GROUPS_PER_USER}"
                )));
            }
            user.value.groups.push(group_name.clone());
            group.value.members.push(user.value.name.clone());
            let mut batch = Batch::new();
            self.put_back(&mut batch, &group);
            self.put_back(&mut batch, &user);
            Ok(self.records.write(batch).await?.then_some(()))
        })
        .await?;
        Ok(Value::Null)
    }

    pub(super) async fn remove_user_from_group(&self) -> Result<Value, SecurityError> {
        let group_name = self.p.name("GroupName", 128)?;
        let user_name = self.p.name("UserName", 64)?;
        retry(|| async {
            let mut group = self.load::<Group>(group_name).await?;
            let mut user = self.load::<User>(user_name).await?;
            let group_name = group.value.name.clone();
            if !user.value.groups.iter().any(|g| g == &group_name) {
                return Err(SecurityError::no_such_entity(format!(
                    "The user with name {user_name} cannot be found."
                )));
            }
            user.value.groups.retain(|g| g != &group_name);
            let member = user.value.name.clone();
            group.value.members.retain(|m| m != &member);
            let mut batch = Batch::new();
            self.put_back(&mut batch, &group);
            self.put_back(&mut batch, &user);
            Ok(self.records.write(batch).await?.then_some(()))
        })
        .await?;
        Ok(Value::Null)
    }

    pub(super) async fn list_groups_for_user(&self) -> Result<Value, SecurityError> {
        let user_name = self.p.name("UserName", 64)?;
        let page = self.p.page()?;
        let user = self.load::<User>(user_name).await?.value;
        let mut groups = Vec::new();
        for name in &user.groups {
            if let Some(group) = self
                .records
                .get::<Group>(records::GROUP, &self.key(name))
                .await?
            {
                groups.push((name.to_ascii_lowercase(), self.group_json(&group.value)));
            }
        }
        groups.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(page.output("Groups", groups))
    }
}
