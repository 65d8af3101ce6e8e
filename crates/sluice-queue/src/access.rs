//! What each request does, as authorization sees it: the `sqs:` actions it needs on which queues,
//! with each queue's policy and tags (Amazon SQS Developer Guide, "Amazon SQS API permissions:
//! Actions and resource reference"). A batch needs its single action's permission; CreateQueue and
//! GetQueueUrl are checked against the queue they name (in the owner's account for GetQueueUrl's
//! `QueueOwnerAWSAccountId`), ListQueues against the account's queues; StartMessageMoveTask needs
//! ReceiveMessage, DeleteMessage and GetQueueAttributes besides itself on the dead-letter queue,
//! and SendMessage on the destination, or on the queues that feed the dead-letter queue when the
//! messages go back where they came from.
//!
//! A queue that does not exist is described with what the action answers then
//! (`QueueDoesNotExist`, or `ResourceNotFound` for a move task's queue), which a caller that may
//! not act on it hears instead of a denial, as SQS answers a URL of another account that names no
//! queue; the action still runs only for a caller that may. Text that names no queue is checked as the resource it is, so what a
//! handler would refuse as invalid is refused to an unauthorized caller as denied.

use sluice_model::types::Request;
use sluice_model::{Access, ApiError, RequestContext, ResourcePolicy};
use sluice_store::QueueKey;

use crate::attributes::POLICY;
use crate::error::QueueError;
use crate::move_tasks::{handle_source, not_found};
use crate::naming::{parse_queue_arn, queue_arn};
use crate::QueueService;

/// The most source queues a move task back to its sources is checked against; a dead-letter
/// queue fed by more is checked against the first ones.
const MAX_CHECKED_SOURCES: usize = 1000;

impl QueueService {
    /// The accesses `request` needs, in the order they are checked.
    pub async fn access(
        &self,
        ctx: &RequestContext,
        request: &Request,
    ) -> Result<Vec<Access>, ApiError> {
        self.accesses(ctx, request)
            .await
            .map_err(|e| e.into_api_error(ctx))
    }

    async fn accesses(
        &self,
        ctx: &RequestContext,
        request: &Request,
    ) -> Result<Vec<Access>, QueueError> {
        use Request as R;
        let by_url = |url: &str| self.key_for_url(ctx, url);
        let key = |account: &str, name: &str| QueueKey {
            account_id: account.to_string(),
            region: ctx.region.clone(),
            name: name.to_string(),
        };
        let accesses = match request {
            R::CreateQueue(input) => {
                let queue = key(&ctx.account_id, &input.queue_name);
                let arn = queue_arn(&queue);
                let tags: Vec<(String, String)> = input
                    .tags
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                let mut create = Access::new("sqs:CreateQueue", arn.clone(), &queue.account_id);
                create.request_tags.clone_from(&tags);
                if tags.is_empty() {
                    vec![create]
                } else {
                    create.tag_keys = Some(tags.iter().map(|(k, _)| k.clone()).collect());
                    let mut tag = create.clone();
                    tag.action = "sqs:TagQueue";
                    vec![create, tag]
                }
            }
            R::GetQueueUrl(input) => {
                let owner = input
                    .queue_owner_aws_account_id
                    .as_deref()
                    .unwrap_or(&ctx.account_id);
                self.on_queue(
                    ctx,
                    &key(owner, &input.queue_name),
                    &["sqs:GetQueueUrl"],
                    QueueError::QueueDoesNotExist,
                )
                .await?
            }
            R::ListQueues(_) => vec![Access::new(
                "sqs:ListQueues",
                format!("arn:aws:sqs:{}:{}:*", ctx.region, ctx.account_id),
                &ctx.account_id,
            )],
            R::DeleteQueue(i) => {
                self.on_url(ctx, by_url(&i.queue_url)?, "sqs:DeleteQueue")
                    .await?
            }
            R::GetQueueAttributes(i) => {
                self.on_url(ctx, by_url(&i.queue_url)?, "sqs:GetQueueAttributes")
                    .await?
            }
            R::SetQueueAttributes(i) => {
                self.on_url(ctx, by_url(&i.queue_url)?, "sqs:SetQueueAttributes")
                    .await?
            }
            R::PurgeQueue(i) => {
                self.on_url(ctx, by_url(&i.queue_url)?, "sqs:PurgeQueue")
                    .await?
            }
            R::TagQueue(input) => {
                let mut accesses = self
                    .on_url(ctx, by_url(&input.queue_url)?, "sqs:TagQueue")
                    .await?;
                for access in &mut accesses {
                    access.request_tags = input
                        .tags
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    access.tag_keys = Some(input.tags.keys().cloned().collect());
                }
                accesses
            }
            R::UntagQueue(input) => {
                let mut accesses = self
                    .on_url(ctx, by_url(&input.queue_url)?, "sqs:UntagQueue")
                    .await?;
                for access in &mut accesses {
                    access.tag_keys = Some(input.tag_keys.clone());
                }
                accesses
            }
            R::ListQueueTags(i) => {
                self.on_url(ctx, by_url(&i.queue_url)?, "sqs:ListQueueTags")
                    .await?
            }
            R::AddPermission(i) => {
                self.on_url(ctx, by_url(&i.queue_url)?, "sqs:AddPermission")
                    .await?
            }
            R::RemovePermission(i) => {
                self.on_url(ctx, by_url(&i.queue_url)?, "sqs:RemovePermission")
                    .await?
            }
            R::ListDeadLetterSourceQueues(i) => {
                self.on_url(ctx, by_url(&i.queue_url)?, "sqs:ListDeadLetterSourceQueues")
                    .await?
            }
            R::SendMessage(i) => {
                self.on_url(ctx, by_url(&i.queue_url)?, "sqs:SendMessage")
                    .await?
            }
            R::SendMessageBatch(i) => {
                self.on_url(ctx, by_url(&i.queue_url)?, "sqs:SendMessage")
                    .await?
            }
            R::ReceiveMessage(i) => {
                self.on_url(ctx, by_url(&i.queue_url)?, "sqs:ReceiveMessage")
                    .await?
            }
            R::DeleteMessage(i) => {
                self.on_url(ctx, by_url(&i.queue_url)?, "sqs:DeleteMessage")
                    .await?
            }
            R::DeleteMessageBatch(i) => {
                self.on_url(ctx, by_url(&i.queue_url)?, "sqs:DeleteMessage")
                    .await?
            }
            R::ChangeMessageVisibility(i) => {
                self.on_url(ctx, by_url(&i.queue_url)?, "sqs:ChangeMessageVisibility")
                    .await?
            }
            R::ChangeMessageVisibilityBatch(i) => {
                self.on_url(ctx, by_url(&i.queue_url)?, "sqs:ChangeMessageVisibility")
                    .await?
            }
            R::StartMessageMoveTask(input) => {
                let Some(source) = parse_queue_arn(&input.source_arn) else {
                    return Ok(vec![unnamed(
                        "sqs:StartMessageMoveTask",
                        &input.source_arn,
                        ctx,
                    )]);
                };
                let mut accesses = self
                    .on_queue(
                        ctx,
                        &source,
                        &[
                            "sqs:StartMessageMoveTask",
                            "sqs:ReceiveMessage",
                            "sqs:DeleteMessage",
                            "sqs:GetQueueAttributes",
                        ],
                        not_found("SourceArn"),
                    )
                    .await?;
                match &input.destination_arn {
                    Some(arn) => match parse_queue_arn(arn) {
                        Some(destination) => accesses.extend(
                            self.on_queue(
                                ctx,
                                &destination,
                                &["sqs:SendMessage"],
                                not_found("DestinationArn"),
                            )
                            .await?,
                        ),
                        None => accesses.push(unnamed("sqs:SendMessage", arn, ctx)),
                    },
                    None => {
                        let (sources, _) = self
                            .dead_letter_sources(&source, None, MAX_CHECKED_SOURCES)
                            .await?;
                        for origin in sources {
                            accesses.extend(
                                self.on_queue(
                                    ctx,
                                    &origin,
                                    &["sqs:SendMessage"],
                                    QueueError::QueueDoesNotExist,
                                )
                                .await?,
                            );
                        }
                    }
                }
                accesses
            }
            R::CancelMessageMoveTask(input) => {
                let source = handle_source(&input.task_handle);
                match source.as_deref().and_then(parse_queue_arn) {
                    Some(source) => {
                        self.on_queue(
                            ctx,
                            &source,
                            &["sqs:CancelMessageMoveTask"],
                            not_found("SourceArn"),
                        )
                        .await?
                    }
                    None => vec![unnamed(
                        "sqs:CancelMessageMoveTask",
                        source.as_deref().unwrap_or(&input.task_handle),
                        ctx,
                    )],
                }
            }
            R::ListMessageMoveTasks(input) => match parse_queue_arn(&input.source_arn) {
                Some(source) => {
                    self.on_queue(
                        ctx,
                        &source,
                        &["sqs:ListMessageMoveTasks"],
                        not_found("SourceArn"),
                    )
                    .await?
                }
                None => vec![unnamed("sqs:ListMessageMoveTasks", &input.source_arn, ctx)],
            },
        };
        Ok(accesses)
    }

    async fn on_url(
        &self,
        ctx: &RequestContext,
        queue: QueueKey,
        action: &'static str,
    ) -> Result<Vec<Access>, QueueError> {
        self.on_queue(ctx, &queue, &[action], QueueError::QueueDoesNotExist)
            .await
    }

    /// `actions` on one queue, with its policy and tags if it exists, else with `missing`, what
    /// the action answers then.
    async fn on_queue(
        &self,
        ctx: &RequestContext,
        queue: &QueueKey,
        actions: &[&'static str],
        missing: QueueError,
    ) -> Result<Vec<Access>, QueueError> {
        let record = self.store.get_queue(queue).await?;
        let arn = queue_arn(queue);
        let mut template = Access::new(actions[0], arn, &queue.account_id);
        if record.is_none() {
            template.absent = Some(missing.into_api_error(ctx));
        }
        if let Some(record) = record {
            template.resource_policy = record.attributes.get(POLICY).map(|text| ResourcePolicy {
                version_id: format!(
                    "{}#{}.{}",
                    template.resource, record.incarnation, record.version
                ),
                text: text.clone(),
                trust: false,
            });
            template.resource_tags = record
                .tags
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
        }
        Ok(actions
            .iter()
            .map(|action| Access {
                action,
                ..template.clone()
            })
            .collect())
    }
}

/// Text in place of a queue ARN, checked as a resource of the caller's account.
fn unnamed(action: &'static str, text: &str, ctx: &RequestContext) -> Access {
    Access::new(action, text.to_string(), &ctx.account_id)
}
