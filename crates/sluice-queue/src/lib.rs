//! SQS queue semantics: what each action does to queues, independent of the wire protocol (inputs and
//! outputs are `sluice_model` types) and of the storage engine (state lives behind `sluice_store::Store`).

mod access;
mod activity;
mod attempts;
mod attributes;
mod content;
mod encryption;
mod error;
mod inspect;
mod management;
mod messages;
mod move_tasks;
mod naming;
mod policy;
mod receipt;
mod settings;
mod stats;
mod tags;
mod waiters;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sluice_model::types::{Request, Response};
use sluice_model::{ApiError, BodyCipher, RequestContext};
use sluice_store::Store;

pub use activity::{ActivityPoint, CounterValues, QueueStats, SENT_SIZE_BUCKETS};
pub use error::QueueError;
pub use naming::{queue_arn, region_from_host, QueueUrls};
pub use sluice_model::{Clock, ManualClock, SystemClock};
pub use stats::QueueMetrics;

use crate::activity::Activity;
use crate::move_tasks::Movers;
use crate::receipt::ReceiptSealer;
use crate::waiters::Waiters;

/// How queues are addressed from outside.
#[derive(Clone, Debug)]
pub struct ServiceConfig {
    /// Scheme, host and port written into queue URLs, e.g. `http://127.0.0.1:9324`.
    pub public_url: String,
    /// The region of requests that name none, and the one whose queue URLs carry no region.
    pub default_region: String,
    /// The key receipt handles are sealed with. Handles stay valid as long as the secret does.
    pub receipt_secret: [u8; 32],
}

/// The SQS service: one instance serves every account and region. Several instances, in one process
/// or many, can share a store: whatever decides semantics lives in the store.
pub struct QueueService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    urls: QueueUrls,
    receipts: ReceiptSealer,
    waiters: Arc<Waiters>,
    movers: Arc<Movers>,
    /// The periodic look for message-move tasks nobody runs, once `resume_move_tasks` started it;
    /// stopped when the service goes. A std mutex: only set and taken, never held across an await.
    adopter: Mutex<Option<tokio::task::AbortHandle>>,
    /// What CloudWatch would count of each queue, and its last hour.
    activity: Arc<Activity>,
    /// The sampler of that hour, once `start_history` started it; stopped when the service goes.
    sampler: Mutex<Option<tokio::task::AbortHandle>>,
    /// Seals and opens the bodies of queues with server-side encryption.
    cipher: Arc<dyn BodyCipher>,
}

impl Drop for QueueService {
    fn drop(&mut self) {
        let adopter = self
            .adopter
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(adopter) = adopter.take() {
            adopter.abort();
        }
        let sampler = self
            .sampler
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(sampler) = sampler.take() {
            sampler.abort();
        }
    }
}

impl QueueService {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        config: &ServiceConfig,
        cipher: Arc<dyn BodyCipher>,
    ) -> Self {
        let waiters = Arc::<Waiters>::default();
        // Weak, so that the store's sinks do not keep a dropped service's waiters alive.
        let heard = Arc::downgrade(&waiters);
        store.subscribe(Arc::new(move |notice| {
            if let Some(waiters) = heard.upgrade() {
                waiters.hear(notice);
            }
        }));
        QueueService {
            store,
            clock,
            urls: QueueUrls::new(&config.public_url, &config.default_region),
            receipts: ReceiptSealer::new(config.receipt_secret),
            waiters,
            movers: Arc::new(Movers::new(move_tasks::DEFAULT_LEASE)),
            adopter: Mutex::default(),
            activity: Arc::default(),
            sampler: Mutex::default(),
            cipher,
        }
    }

    /// How long a message-move task stays with the process running it after that process last
    /// renewed its lease (it does at every step); another process sharing the store takes the task
    /// over after that. The default suits production; tests shorten it.
    pub fn with_move_task_lease(mut self, lease: Duration) -> Self {
        self.movers = Arc::new(Movers::new(lease));
        self
    }

    /// Returns once everything acknowledged so far is durable.
    pub async fn flush(&self) -> Result<(), QueueError> {
        Ok(self.store.flush().await?)
    }

    /// Ends every long poll now (with whatever it has, which is nothing) and makes new ones return at once.
    pub fn begin_shutdown(&self) {
        self.waiters.begin_shutdown();
    }

    /// Runs one request. Every error leaves here as an `ApiError`.
    pub async fn handle(
        &self,
        ctx: &RequestContext,
        request: Request,
    ) -> Result<Response, ApiError> {
        self.dispatch(ctx, request)
            .await
            .map_err(|e| e.into_api_error(ctx))
    }

    async fn dispatch(
        &self,
        ctx: &RequestContext,
        request: Request,
    ) -> Result<Response, QueueError> {
        use Request as R;
        let response = match request {
            R::CreateQueue(input) => Response::QueueUrl(self.create_queue(ctx, input).await?),
            R::GetQueueUrl(input) => Response::QueueUrl(self.get_queue_url(ctx, input).await?),
            R::ListQueues(input) => Response::ListQueues(self.list_queues(ctx, input).await?),
            R::DeleteQueue(input) => {
                self.delete_queue(ctx, input).await?;
                Response::Empty
            }
            R::GetQueueAttributes(input) => {
                Response::GetQueueAttributes(self.get_queue_attributes(ctx, input).await?)
            }
            R::SetQueueAttributes(input) => {
                self.set_queue_attributes(ctx, input).await?;
                Response::Empty
            }
            R::PurgeQueue(input) => {
                self.purge_queue(ctx, input).await?;
                Response::Empty
            }
            R::TagQueue(input) => {
                self.tag_queue(ctx, input).await?;
                Response::Empty
            }
            R::UntagQueue(input) => {
                self.untag_queue(ctx, input).await?;
                Response::Empty
            }
            R::ListQueueTags(input) => {
                Response::ListQueueTags(self.list_queue_tags(ctx, input).await?)
            }
            R::AddPermission(input) => {
                self.add_permission(ctx, input).await?;
                Response::Empty
            }
            R::RemovePermission(input) => {
                self.remove_permission(ctx, input).await?;
                Response::Empty
            }
            R::ListDeadLetterSourceQueues(input) => Response::ListDeadLetterSourceQueues(
                self.list_dead_letter_source_queues(ctx, input).await?,
            ),
            R::SendMessage(input) => Response::SendMessage(self.send_message(ctx, input).await?),
            R::SendMessageBatch(input) => {
                Response::SendMessageBatch(self.send_message_batch(ctx, input).await?)
            }
            R::ReceiveMessage(input) => {
                Response::ReceiveMessage(self.receive_message(ctx, input).await?)
            }
            R::DeleteMessage(input) => {
                self.delete_message(ctx, input).await?;
                Response::Empty
            }
            R::DeleteMessageBatch(input) => {
                Response::Batch(self.delete_message_batch(ctx, input).await?)
            }
            R::ChangeMessageVisibility(input) => {
                self.change_message_visibility(ctx, input).await?;
                Response::Empty
            }
            R::ChangeMessageVisibilityBatch(input) => {
                Response::Batch(self.change_message_visibility_batch(ctx, input).await?)
            }
            R::StartMessageMoveTask(input) => {
                Response::StartMessageMoveTask(self.start_message_move_task(input).await?)
            }
            R::CancelMessageMoveTask(input) => {
                Response::CancelMessageMoveTask(self.cancel_message_move_task(input).await?)
            }
            R::ListMessageMoveTasks(input) => {
                Response::ListMessageMoveTasks(self.list_message_move_tasks(input).await?)
            }
        };
        Ok(response)
    }
}
