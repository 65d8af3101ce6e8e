//! A `QueueService` over the memory store with a manual clock, and the calls tests make through it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;

use sluice_model::types::*;
use sluice_model::{ApiError, RequestContext};
use sluice_queue::{ManualClock, QueueService, ServiceConfig};
use sluice_store::MemoryStore;

pub struct Harness {
    pub service: QueueService,
    pub clock: Arc<ManualClock>,
    pub ctx: RequestContext,
}

pub const START: i64 = 1_700_000_000_000;

impl Harness {
    pub fn new() -> Self {
        let clock = Arc::new(ManualClock::new(START));
        let service = QueueService::new(
            Arc::new(MemoryStore::new()),
            clock.clone(),
            &ServiceConfig {
                public_url: "http://127.0.0.1:9324".into(),
                default_region: "us-east-1".into(),
                receipt_secret: [3; 32],
            },
        );
        let ctx = RequestContext::root("test", "000000000000", "us-east-1");
        Harness {
            service,
            clock,
            ctx,
        }
    }

    pub async fn call(&self, request: Request) -> Result<Response, ApiError> {
        self.service.handle(&self.ctx, request).await
    }

    pub async fn create(&self, name: &str, attributes: &[(&str, &str)]) -> String {
        let input = CreateQueueInput {
            queue_name: name.into(),
            attributes: attributes
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            tags: BTreeMap::new(),
        };
        match self.call(Request::CreateQueue(input)).await.unwrap() {
            Response::QueueUrl(o) => o.queue_url,
            other => panic!("{other:?}"),
        }
    }

    pub async fn send(
        &self,
        url: &str,
        body: &str,
        delay: Option<i64>,
    ) -> Result<SendMessageOutput, ApiError> {
        let input = SendMessageInput {
            queue_url: url.into(),
            message_body: body.into(),
            delay_seconds: delay,
            ..Default::default()
        };
        match self.call(Request::SendMessage(input)).await? {
            Response::SendMessage(o) => Ok(o),
            other => panic!("{other:?}"),
        }
    }

    pub async fn receive(
        &self,
        url: &str,
        max: i64,
        visibility: Option<i64>,
    ) -> Result<Vec<Message>, ApiError> {
        let input = ReceiveMessageInput {
            queue_url: url.into(),
            max_number_of_messages: Some(max),
            visibility_timeout: visibility,
            message_system_attribute_names: vec!["All".into()],
            message_attribute_names: vec!["All".into()],
            wait_time_seconds: Some(0),
            ..Default::default()
        };
        match self.call(Request::ReceiveMessage(input)).await? {
            Response::ReceiveMessage(o) => Ok(o.messages),
            other => panic!("{other:?}"),
        }
    }

    pub async fn delete(&self, url: &str, handle: &str) -> Result<(), ApiError> {
        let input = DeleteMessageInput {
            queue_url: url.into(),
            receipt_handle: handle.into(),
        };
        self.call(Request::DeleteMessage(input)).await.map(|_| ())
    }

    pub async fn change(&self, url: &str, handle: &str, timeout: i64) -> Result<(), ApiError> {
        let input = ChangeMessageVisibilityInput {
            queue_url: url.into(),
            receipt_handle: handle.into(),
            visibility_timeout: timeout,
        };
        self.call(Request::ChangeMessageVisibility(input))
            .await
            .map(|_| ())
    }

    /// (visible, not visible, delayed)
    pub async fn counts(&self, url: &str) -> (u64, u64, u64) {
        let input = GetQueueAttributesInput {
            queue_url: url.into(),
            attribute_names: vec!["All".into()],
        };
        let Response::GetQueueAttributes(o) =
            self.call(Request::GetQueueAttributes(input)).await.unwrap()
        else {
            panic!()
        };
        let get = |name: &str| {
            o.attributes
                .iter()
                .find(|(k, _)| k == name)
                .unwrap()
                .1
                .parse::<u64>()
                .unwrap()
        };
        (
            get("ApproximateNumberOfMessages"),
            get("ApproximateNumberOfMessagesNotVisible"),
            get("ApproximateNumberOfMessagesDelayed"),
        )
    }

    pub fn advance_millis(&self, millis: i64) {
        self.clock.advance_millis(millis);
    }

    pub fn clock_millis(&self) -> i64 {
        use sluice_queue::Clock;
        self.clock.now_millis()
    }

    pub fn advance_seconds(&self, seconds: i64) {
        self.clock.advance_millis(seconds * 1000);
    }
}

/// The bodies of `messages`, in order.
pub fn bodies(messages: &[Message]) -> Vec<&str> {
    messages.iter().map(|m| m.body.as_str()).collect()
}

/// The system attribute `name` of a received message (which must have it).
pub fn attribute<'a>(message: &'a Message, name: &str) -> &'a str {
    &message
        .attributes
        .iter()
        .find(|(k, _)| k == name)
        .unwrap()
        .1
}
