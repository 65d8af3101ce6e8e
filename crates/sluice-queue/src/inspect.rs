//! What an operator's console reads besides the SQS actions: every queue of every account and
//! region, and a peek at a queue's messages. Neither changes anything. A peek is not a receive: it
//! hands out no receipt handle, counts no receive and hides nothing, so looking at a queue can never
//! push a message past its redrive policy's `maxReceiveCount` into a dead-letter queue. It sees the
//! messages a receive would take now, in queue order, with their bodies opened as a receive opens
//! them (a sealed body needs a signed caller who may use the queue's key).

use sluice_model::types::Message;
use sluice_model::{ApiError, RequestContext};
use sluice_store::{MessageBody, QueueKey};

use crate::error::QueueError;
use crate::messages::SYSTEM_ATTRIBUTES;
use crate::QueueService;

/// The most messages one peek shows, as for a receive.
const MAX_PEEK: i64 = 10;

impl QueueService {
    /// Every queue of every account and region, in no particular order.
    pub async fn all_queue_keys(&self, ctx: &RequestContext) -> Result<Vec<QueueKey>, ApiError> {
        self.store
            .all_queues()
            .await
            .map_err(|e| QueueError::from(e).into_api_error(ctx))
    }

    /// The queue a `QueueUrl` names for the caller, as every action resolves it.
    pub fn queue_key(&self, ctx: &RequestContext, queue_url: &str) -> Result<QueueKey, ApiError> {
        self.key_for_url(ctx, queue_url)
            .map_err(|e| e.into_api_error(ctx))
    }

    /// The URL of a queue, as CreateQueue and ListQueues write it.
    pub fn queue_url(&self, key: &QueueKey) -> String {
        self.urls.url(key)
    }

    /// Up to `max` (1 to 10) of the messages a receive would take now, as a receive would return
    /// them with every attribute, but without a receipt handle, a receive count or a first-receive
    /// time, and without changing them.
    pub async fn peek_messages(
        &self,
        ctx: &RequestContext,
        queue_url: &str,
        max: i64,
    ) -> Result<Vec<Message>, ApiError> {
        self.peek(ctx, queue_url, max)
            .await
            .map_err(|e| e.into_api_error(ctx))
    }

    async fn peek(
        &self,
        ctx: &RequestContext,
        queue_url: &str,
        max: i64,
    ) -> Result<Vec<Message>, QueueError> {
        if !(1..=MAX_PEEK).contains(&max) {
            return Err(QueueError::InvalidParameterValue {
                name: "MaxNumberOfMessages".to_string(),
                value: max.to_string(),
                reason: "Must be between 1 and 10, if provided.".to_string(),
            });
        }
        let (key, record) = self.message_queue(ctx, queue_url).await?;
        self.check_receive(ctx, &key, &record).await?;
        let now = self.clock.now_millis();
        let found = self.store.peek_visible(&key, max as usize, now).await?;
        let stored: Vec<&MessageBody> = found.iter().map(|(_, c)| &c.body).collect();
        let bodies = self.open_bodies(ctx, &stored).await?;
        let every_attribute = ["All".to_string()];
        Ok(found
            .iter()
            .zip(bodies)
            .map(|((seq, content), body)| {
                self.render(
                    &record,
                    (*seq, content),
                    None,
                    body,
                    SYSTEM_ATTRIBUTES,
                    &every_attribute,
                )
            })
            .collect())
    }
}
