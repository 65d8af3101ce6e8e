//! Queue management: CreateQueue, GetQueueUrl, ListQueues, DeleteQueue, GetQueueAttributes,
//! SetQueueAttributes, PurgeQueue, TagQueue, UntagQueue, ListQueueTags, AddPermission, RemovePermission
//! and ListDeadLetterSourceQueues, as the SQS API reference describes them.

use std::sync::Arc;

use base64::Engine;
use sluice_model::types::{
    AddPermissionInput, CreateQueueInput, GetQueueAttributesInput, GetQueueAttributesOutput,
    GetQueueUrlInput, ListDeadLetterSourceQueuesInput, ListDeadLetterSourceQueuesOutput,
    ListQueueTagsOutput, ListQueuesInput, ListQueuesOutput, QueueUrlInput, QueueUrlOutput,
    RemovePermissionInput, SetQueueAttributesInput, TagQueueInput, UntagQueueInput,
};
use sluice_model::RequestContext;
use sluice_store::{CreateOutcome, QueueKey, QueueRecord, StoreError};

use crate::attributes::{self, AttributeChanges, ChangeContext};
use crate::error::QueueError;
use crate::naming::{queue_arn, validate_queue_name};
use crate::settings::QueueSettings;
use crate::{policy, tags, QueueService};

/// A deleted queue's name, and a purged queue, are held for this long.
const COOL_DOWN_MILLIS: i64 = 60_000;
const MAX_LIST_RESULTS: usize = 1000;
/// How often a read-modify-write of a queue record is retried when another writer got there first.
const MAX_UPDATE_ATTEMPTS: usize = 32;

impl QueueService {
    pub(crate) fn key_for_url(
        &self,
        ctx: &RequestContext,
        queue_url: &str,
    ) -> Result<QueueKey, QueueError> {
        self.urls.resolve(queue_url, &ctx.account_id, &ctx.region)
    }

    async fn load(&self, key: &QueueKey) -> Result<Arc<QueueRecord>, QueueError> {
        self.store
            .get_queue(key)
            .await?
            .ok_or(QueueError::QueueDoesNotExist)
    }

    /// Applies `change` to the stored record, retrying when a concurrent writer changed it first.
    async fn update_queue<F>(
        &self,
        key: &QueueKey,
        mut change: F,
    ) -> Result<QueueRecord, QueueError>
    where
        F: FnMut(&mut QueueRecord) -> Result<(), QueueError>,
    {
        for _ in 0..MAX_UPDATE_ATTEMPTS {
            let mut record = QueueRecord::clone(&*self.load(key).await?);
            change(&mut record)?;
            match self.store.replace_queue(record).await {
                Err(StoreError::Conflict) => continue,
                other => return Ok(other?),
            }
        }
        Err(
            StoreError::Backend("the queue record kept changing under concurrent updates".into())
                .into(),
        )
    }

    /// A redrive policy names a dead-letter queue that must exist and be of the same type.
    async fn check_redrive_target(
        &self,
        source: &QueueKey,
        given: &std::collections::BTreeMap<String, String>,
        changes: &AttributeChanges,
        fifo: bool,
    ) -> Result<(), QueueError> {
        let Some(Some(policy)) = changes.values.get(attributes::REDRIVE_POLICY) else {
            return Ok(());
        };
        let target = attributes::redrive_parts(policy).map(|(target, _)| target);
        // Errors quote the policy as the caller wrote it.
        let raw = given.get(attributes::REDRIVE_POLICY).unwrap_or(policy);
        let invalid = |reason: &str| QueueError::InvalidParameterValue {
            name: attributes::REDRIVE_POLICY.to_string(),
            value: raw.clone(),
            reason: reason.to_string(),
        };
        let Some(target) = target else {
            return Err(invalid("Dead letter target does not exist."));
        };
        let Some(record) = self.store.get_queue(&target).await? else {
            return Err(invalid("Dead letter target does not exist."));
        };
        if record.fifo != fifo {
            return Err(invalid(
                "Dead-letter queue must be same type of queue as the source..",
            ));
        }
        // The dead-letter queue's redrive allow policy decides which queues may name it.
        let allowed = record
            .attributes
            .get(attributes::REDRIVE_ALLOW_POLICY)
            .is_none_or(|allow| attributes::redrive_allows(allow, &queue_arn(source)));
        if !allowed {
            return Err(invalid(
                "The dead-letter queue's redrive allow policy does not allow this queue as a source.",
            ));
        }
        Ok(())
    }

    pub(crate) async fn create_queue(
        &self,
        ctx: &RequestContext,
        input: CreateQueueInput,
    ) -> Result<QueueUrlOutput, QueueError> {
        let fifo = attributes::requests_fifo(&input.attributes)?;
        validate_queue_name(&input.queue_name, fifo)?;
        let changes = attributes::validate_changes(
            &input.attributes,
            &ChangeContext {
                creating: true,
                fifo,
                account_id: &ctx.account_id,
                region: &ctx.region,
            },
        )?;
        tags::validate_tags(&input.tags)?;
        if input.tags.len() > tags::MAX_TAGS {
            return Err(tags::too_many(&input.queue_name));
        }
        let key = QueueKey {
            account_id: ctx.account_id.clone(),
            region: ctx.region.clone(),
            name: input.queue_name.clone(),
        };
        let now = self.clock.now_millis();
        if let Some(existing) = self.store.get_queue(&key).await? {
            return self.existing_queue(&existing, &changes);
        }
        if let Some(deleted) = self.store.deleted_at(&key).await? {
            if now - deleted < COOL_DOWN_MILLIS {
                return Err(QueueError::QueueDeletedRecently);
            }
        }
        self.check_redrive_target(&key, &input.attributes, &changes, fifo)
            .await?;
        let mut attributes = attributes::defaults(fifo);
        changes.apply_to(&mut attributes);
        attributes::check_consistency(&attributes)?;
        let record = QueueRecord {
            key,
            attributes,
            tags: input.tags,
            created_timestamp: now.div_euclid(1000),
            last_modified_timestamp: now.div_euclid(1000),
            last_purge_millis: None,
            fifo,
            incarnation: rand::random(),
            version: 0,
        };
        match self.store.create_queue(record).await? {
            CreateOutcome::Created(record) => {
                tracing::info!(queue = %record.key.name, account = %record.key.account_id, region = %record.key.region, "queue created");
                Ok(QueueUrlOutput {
                    queue_url: self.urls.url(&record.key),
                })
            }
            CreateOutcome::Existing(existing) => self.existing_queue(&existing, &changes),
        }
    }

    /// CreateQueue on a name in use succeeds, returning the queue's URL, only when every attribute given
    /// matches what the queue has.
    fn existing_queue(
        &self,
        existing: &QueueRecord,
        changes: &AttributeChanges,
    ) -> Result<QueueUrlOutput, QueueError> {
        if let Some(name) = changes.first_difference(&existing.attributes) {
            return Err(QueueError::QueueNameExists(name.to_string()));
        }
        Ok(QueueUrlOutput {
            queue_url: self.urls.url(&existing.key),
        })
    }

    pub(crate) async fn get_queue_url(
        &self,
        ctx: &RequestContext,
        input: GetQueueUrlInput,
    ) -> Result<QueueUrlOutput, QueueError> {
        let key = QueueKey {
            account_id: input
                .queue_owner_aws_account_id
                .unwrap_or_else(|| ctx.account_id.clone()),
            region: ctx.region.clone(),
            name: input.queue_name,
        };
        let record = self.load(&key).await?;
        Ok(QueueUrlOutput {
            queue_url: self.urls.url(&record.key),
        })
    }

    pub(crate) async fn list_queues(
        &self,
        ctx: &RequestContext,
        input: ListQueuesInput,
    ) -> Result<ListQueuesOutput, QueueError> {
        let limit = max_results(input.max_results)?;
        let after = input
            .next_token
            .as_deref()
            .map(decode_next_token)
            .transpose()?;
        let prefix = input.queue_name_prefix.unwrap_or_default();
        let mut page = self
            .store
            .list_queues(
                &ctx.account_id,
                &ctx.region,
                &prefix,
                after.as_deref(),
                limit + 1,
            )
            .await?;
        let more = page.len() > limit;
        page.truncate(limit);
        // SQS pages only when asked to: without MaxResults the first 1,000 queues come with no token.
        let next_token = (more && input.max_results.is_some())
            .then(|| page.last().map(|r| encode_next_token(&r.key.name)))
            .flatten();
        Ok(ListQueuesOutput {
            queue_urls: page.iter().map(|r| self.urls.url(&r.key)).collect(),
            next_token,
        })
    }

    pub(crate) async fn delete_queue(
        &self,
        ctx: &RequestContext,
        input: QueueUrlInput,
    ) -> Result<(), QueueError> {
        let key = self.key_for_url(ctx, &input.queue_url)?;
        if !self
            .store
            .delete_queue(&key, self.clock.now_millis())
            .await?
        {
            return Err(QueueError::QueueDoesNotExist);
        }
        self.waiters.forget(&key);
        self.activity.forget(&key);
        tracing::info!(queue = %key.name, account = %key.account_id, region = %key.region, "queue deleted");
        Ok(())
    }

    /// Removes every message past its queue's retention period, so expired messages leave the store even
    /// from queues nobody reads. Returns how many queues were swept.
    pub async fn sweep_expired(&self) -> Result<usize, QueueError> {
        let keys = self.store.all_queues().await?;
        let now = self.clock.now_millis();
        for key in &keys {
            let Some(record) = self.store.get_queue(key).await? else {
                continue;
            };
            match self
                .store
                .message_counts(key, now, QueueSettings::of(&record).expire_before(now))
                .await
            {
                Ok(_) | Err(StoreError::QueueNotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(keys.len())
    }

    pub(crate) async fn get_queue_attributes(
        &self,
        ctx: &RequestContext,
        input: GetQueueAttributesInput,
    ) -> Result<GetQueueAttributesOutput, QueueError> {
        let key = self.key_for_url(ctx, &input.queue_url)?;
        for name in &input.attribute_names {
            if name != attributes::ALL && !attributes::READABLE.contains(&name.as_str()) {
                return Err(QueueError::InvalidAttributeName(name.clone()));
            }
        }
        let record = self.load(&key).await?;
        let now = self.clock.now_millis();
        let counts = self
            .store
            .message_counts(&key, now, QueueSettings::of(&record).expire_before(now))
            .await?;
        let all = input.attribute_names.iter().any(|n| n == attributes::ALL);
        let wanted = |name: &str| all || input.attribute_names.iter().any(|n| n == name);
        let mut out = Vec::new();
        for name in attributes::READABLE.iter().copied().filter(|n| wanted(n)) {
            let value = match name {
                attributes::QUEUE_ARN => Some(queue_arn(&record.key)),
                attributes::CREATED_TIMESTAMP => Some(record.created_timestamp.to_string()),
                attributes::LAST_MODIFIED_TIMESTAMP => {
                    Some(record.last_modified_timestamp.to_string())
                }
                attributes::APPROXIMATE_NUMBER_OF_MESSAGES => Some(counts.visible.to_string()),
                attributes::APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE => {
                    Some(counts.in_flight.to_string())
                }
                attributes::APPROXIMATE_NUMBER_OF_MESSAGES_DELAYED => {
                    Some(counts.delayed.to_string())
                }
                // The reuse period belongs to a KMS key: SQS lists it only while the queue has one.
                attributes::KMS_DATA_KEY_REUSE_PERIOD_SECONDS
                    if !record
                        .attributes
                        .contains_key(attributes::KMS_MASTER_KEY_ID) =>
                {
                    None
                }
                other => record.attributes.get(other).cloned(),
            };
            if let Some(value) = value {
                out.push((name.to_string(), value));
            }
        }
        Ok(GetQueueAttributesOutput { attributes: out })
    }

    pub(crate) async fn set_queue_attributes(
        &self,
        ctx: &RequestContext,
        input: SetQueueAttributesInput,
    ) -> Result<(), QueueError> {
        let key = self.key_for_url(ctx, &input.queue_url)?;
        if input.attributes.is_empty() {
            return Err(QueueError::MissingParameter("Attribute.Name".to_string()));
        }
        let fifo = self.load(&key).await?.fifo;
        let changes = attributes::validate_changes(
            &input.attributes,
            &ChangeContext {
                creating: false,
                fifo,
                account_id: &key.account_id,
                region: &key.region,
            },
        )?;
        self.check_redrive_target(&key, &input.attributes, &changes, fifo)
            .await?;
        let now = self.clock.now_millis();
        let updated = self
            .update_queue(&key, |record| {
                changes.apply_to(&mut record.attributes);
                attributes::check_consistency(&record.attributes)?;
                record.last_modified_timestamp = now.div_euclid(1000);
                Ok(())
            })
            .await?;
        // On FIFO queues the queue's delay applies to messages already waiting (the delay-queues page).
        if fifo && changes.values.contains_key(attributes::DELAY_SECONDS) {
            let delay = QueueSettings::of(&updated).delay_seconds * 1000;
            self.store.retime_unreceived(&key, delay, now).await?;
            self.waiters.wake(&key);
        }
        Ok(())
    }

    pub(crate) async fn purge_queue(
        &self,
        ctx: &RequestContext,
        input: QueueUrlInput,
    ) -> Result<(), QueueError> {
        let key = self.key_for_url(ctx, &input.queue_url)?;
        let now = self.clock.now_millis();
        self.update_queue(&key, |record| {
            if record
                .last_purge_millis
                .is_some_and(|last| now - last < COOL_DOWN_MILLIS)
            {
                return Err(QueueError::PurgeQueueInProgress(record.key.name.clone()));
            }
            record.last_purge_millis = Some(now);
            Ok(())
        })
        .await?;
        let purged = self.store.purge_messages(&key).await?;
        tracing::info!(queue = %key.name, purged, "queue purged");
        Ok(())
    }

    pub(crate) async fn tag_queue(
        &self,
        ctx: &RequestContext,
        input: TagQueueInput,
    ) -> Result<(), QueueError> {
        let key = self.key_for_url(ctx, &input.queue_url)?;
        if input.tags.is_empty() {
            return Err(QueueError::MissingParameter("Tags".to_string()));
        }
        tags::validate_tags(&input.tags)?;
        self.update_queue(&key, |record| {
            let mut merged = record.tags.clone();
            merged.extend(input.tags.iter().map(|(k, v)| (k.clone(), v.clone())));
            if merged.len() > tags::MAX_TAGS {
                return Err(tags::too_many(&record.key.name));
            }
            record.tags = merged;
            Ok(())
        })
        .await?;
        Ok(())
    }

    pub(crate) async fn untag_queue(
        &self,
        ctx: &RequestContext,
        input: UntagQueueInput,
    ) -> Result<(), QueueError> {
        let key = self.key_for_url(ctx, &input.queue_url)?;
        if input.tag_keys.is_empty() {
            return Err(QueueError::MissingParameter("TagKeys".to_string()));
        }
        for tag_key in &input.tag_keys {
            tags::validate_key(tag_key)?;
        }
        self.update_queue(&key, |record| {
            for tag_key in &input.tag_keys {
                record.tags.remove(tag_key);
            }
            Ok(())
        })
        .await?;
        Ok(())
    }

    pub(crate) async fn list_queue_tags(
        &self,
        ctx: &RequestContext,
        input: QueueUrlInput,
    ) -> Result<ListQueueTagsOutput, QueueError> {
        let key = self.key_for_url(ctx, &input.queue_url)?;
        let record = self.load(&key).await?;
        Ok(ListQueueTagsOutput {
            tags: record.tags.clone(),
        })
    }

    pub(crate) async fn add_permission(
        &self,
        ctx: &RequestContext,
        input: AddPermissionInput,
    ) -> Result<(), QueueError> {
        let key = self.key_for_url(ctx, &input.queue_url)?;
        policy::validate_grant(&input.label, &input.aws_account_ids, &input.actions)?;
        let now = self.clock.now_seconds();
        self.update_queue(&key, |record| {
            let arn = queue_arn(&record.key);
            let existing = record
                .attributes
                .get(attributes::POLICY)
                .map(String::as_str);
            let document = policy::add_permission(
                existing,
                &arn,
                &input.label,
                &input.aws_account_ids,
                &input.actions,
            )?;
            record
                .attributes
                .insert(attributes::POLICY.to_string(), document);
            record.last_modified_timestamp = now;
            Ok(())
        })
        .await?;
        Ok(())
    }

    pub(crate) async fn remove_permission(
        &self,
        ctx: &RequestContext,
        input: RemovePermissionInput,
    ) -> Result<(), QueueError> {
        let key = self.key_for_url(ctx, &input.queue_url)?;
        let now = self.clock.now_seconds();
        self.update_queue(&key, |record| {
            let existing = record
                .attributes
                .get(attributes::POLICY)
                .map(String::as_str);
            match policy::remove_permission(existing, &input.label)? {
                Some(document) => record
                    .attributes
                    .insert(attributes::POLICY.to_string(), document),
                None => record.attributes.remove(attributes::POLICY),
            };
            record.last_modified_timestamp = now;
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// The queues whose redrive policy names `dlq`, in name order after `after`: at most `limit`, and
    /// whether more follow. The account's queues are scanned a page at a time.
    pub(crate) async fn dead_letter_sources(
        &self,
        dlq: &QueueKey,
        mut after: Option<String>,
        limit: usize,
    ) -> Result<(Vec<QueueKey>, bool), QueueError> {
        let mut sources = Vec::new();
        loop {
            let page = self
                .store
                .list_queues(
                    &dlq.account_id,
                    &dlq.region,
                    "",
                    after.as_deref(),
                    MAX_LIST_RESULTS,
                )
                .await?;
            let Some(last) = page.last() else { break };
            after = Some(last.key.name.clone());
            for record in &page {
                let names_dlq = record
                    .attributes
                    .get(attributes::REDRIVE_POLICY)
                    .and_then(|p| attributes::redrive_parts(p))
                    .is_some_and(|(target, _)| target == *dlq);
                if names_dlq {
                    if sources.len() == limit {
                        return Ok((sources, true));
                    }
                    sources.push(record.key.clone());
                }
            }
            if page.len() < MAX_LIST_RESULTS {
                break;
            }
        }
        Ok((sources, false))
    }

    pub(crate) async fn list_dead_letter_source_queues(
        &self,
        ctx: &RequestContext,
        input: ListDeadLetterSourceQueuesInput,
    ) -> Result<ListDeadLetterSourceQueuesOutput, QueueError> {
        let key = self.key_for_url(ctx, &input.queue_url)?;
        let limit = max_results(input.max_results)?;
        let after = input
            .next_token
            .as_deref()
            .map(decode_next_token)
            .transpose()?;
        self.load(&key).await?;
        let (sources, more) = self.dead_letter_sources(&key, after, limit).await?;
        let next_token = (more && input.max_results.is_some())
            .then(|| sources.last().map(|k| encode_next_token(&k.name)))
            .flatten();
        Ok(ListDeadLetterSourceQueuesOutput {
            queue_urls: sources.iter().map(|k| self.urls.url(k)).collect(),
            next_token,
        })
    }
}

fn max_results(given: Option<i64>) -> Result<usize, QueueError> {
    match given {
        None => Ok(MAX_LIST_RESULTS),
        Some(n) if (1..=MAX_LIST_RESULTS as i64).contains(&n) => Ok(n as usize),
        Some(n) => Err(QueueError::InvalidParameterValue {
            name: "MaxResults".to_string(),
            value: n.to_string(),
            reason: "MaxResults must be an integer between 1 and 1000.".to_string(),
        }),
    }
}

/// Page tokens carry the last name of the previous page, opaque to clients.
fn encode_next_token(last_name: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("after:{last_name}"))
}

fn decode_next_token(token: &str) -> Result<String, QueueError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix("after:").map(str::to_string))
        .ok_or_else(|| QueueError::InvalidParameter("Invalid NextToken value.".to_string()))
}
