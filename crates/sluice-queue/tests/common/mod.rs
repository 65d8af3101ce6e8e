//! A `QueueService` with a manual clock, and the calls tests make through it. The store is the memory
//! store, or with `SLUICE_TEST_STORE=durable` the durable engine in a temporary directory, or with
//! `SLUICE_TEST_STORE=postgres` a database of a private PostgreSQL server, so the same queue semantics
//! are checked on every backend.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use sluice_model::types::*;
use sluice_model::{ApiError, BodyCipher, ErrorCode, RequestContext, SealingQueue};
use sluice_queue::{ManualClock, QueueService, ServiceConfig};
use std::path::PathBuf;

use sluice_store::{DurableStore, MemoryStore, PostgresStore, Store};

pub struct Harness {
    pub service: QueueService,
    pub clock: Arc<ManualClock>,
    pub ctx: RequestContext,
    pub cipher: Arc<TestCipher>,
    /// The durable engine's directory, removed when the harness is dropped.
    dir: Option<PathBuf>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The backend `SLUICE_TEST_STORE` names (`memory`, the default, or `durable`), and its directory.
pub async fn test_store() -> (Arc<dyn Store>, Option<PathBuf>) {
    static N: AtomicUsize = AtomicUsize::new(0);
    match std::env::var("SLUICE_TEST_STORE").as_deref() {
        Ok("durable") => {
            let dir = std::env::temp_dir().join(format!(
                "sluice-queue-test-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::SeqCst)
            ));
            let _ = std::fs::remove_dir_all(&dir);
            let store = DurableStore::open(&dir).expect("a durable store in a temporary directory");
            (Arc::new(store), Some(dir))
        }
        Ok("postgres") => {
            let url = sluice_test_postgres::PrivatePostgres::shared().new_database();
            (postgres_store(&url).await, None)
        }
        Ok("memory") | Err(_) => (Arc::new(MemoryStore::new()), None),
        Ok(other) => panic!("SLUICE_TEST_STORE={other}: expected memory, durable or postgres"),
    }
}

/// With `SLUICE_TEST_STORE=postgres`, a new database that several stores can connect to, as the
/// processes of one deployment do; otherwise `None`.
pub fn shared_database() -> Option<String> {
    match std::env::var("SLUICE_TEST_STORE").as_deref() {
        Ok("postgres") => Some(sluice_test_postgres::PrivatePostgres::shared().new_database()),
        _ => None,
    }
}

/// A store of its own on the PostgreSQL database at `url`.
pub async fn postgres_store(url: &str) -> Arc<dyn Store> {
    let store = PostgresStore::connect(url, 4)
        .await
        .expect("a database of the private PostgreSQL server");
    Arc::new(store)
}

/// A stand-in for the security layer's cipher: it "seals" by reversing the bytes behind a marker,
/// counts what it is asked, and refuses with a given error when told to.
#[derive(Default)]
pub struct TestCipher {
    pub sealed: AtomicUsize,
    pub opened: AtomicUsize,
    pub refusal: Mutex<Option<ErrorCode>>,
}

impl TestCipher {
    pub fn refuse(&self, code: Option<ErrorCode>) {
        *self.refusal.lock().unwrap() = code;
    }

    fn check(&self) -> Result<(), ApiError> {
        match *self.refusal.lock().unwrap() {
            Some(code) => Err(ApiError::new(code, "refused by the test cipher")),
            None => Ok(()),
        }
    }
}

const SEAL_MARK: &[u8] = b"sealed:";

#[async_trait]
impl BodyCipher for TestCipher {
    async fn seal(
        &self,
        _ctx: &RequestContext,
        _queue: &SealingQueue<'_>,
        bodies: &[&str],
    ) -> Result<Vec<Vec<u8>>, ApiError> {
        self.check()?;
        self.sealed.fetch_add(bodies.len(), Ordering::SeqCst);
        Ok(bodies
            .iter()
            .map(|body| {
                let mut sealed = SEAL_MARK.to_vec();
                sealed.extend(body.bytes().rev());
                sealed
            })
            .collect())
    }

    async fn open(&self, _ctx: &RequestContext, sealed: &[&[u8]]) -> Result<Vec<String>, ApiError> {
        self.check()?;
        self.opened.fetch_add(sealed.len(), Ordering::SeqCst);
        Ok(sealed
            .iter()
            .map(|bytes| {
                let mut bytes = bytes.strip_prefix(SEAL_MARK).expect("sealed here").to_vec();
                bytes.reverse();
                String::from_utf8(bytes).expect("a body")
            })
            .collect())
    }

    async fn check_open(
        &self,
        _ctx: &RequestContext,
        _queue: &SealingQueue<'_>,
    ) -> Result<(), ApiError> {
        Ok(())
    }
}

pub const START: i64 = 1_700_000_000_000;

impl Harness {
    pub async fn new() -> Self {
        let (store, dir) = test_store().await;
        let mut harness = Self::sharing(store, Arc::new(ManualClock::new(START)), None);
        harness.dir = dir;
        harness
    }

    /// A harness on the given store and clock, as another process sharing them would be, with the
    /// move-task lease given (or the default).
    pub fn sharing(
        store: Arc<dyn Store>,
        clock: Arc<ManualClock>,
        move_task_lease: Option<Duration>,
    ) -> Self {
        let cipher = Arc::new(TestCipher::default());
        let service = QueueService::new(
            store,
            clock.clone(),
            &ServiceConfig {
                public_url: "http://127.0.0.1:9324".into(),
                default_region: "us-east-1".into(),
                receipt_secret: [3; 32],
            },
            cipher.clone(),
        );
        let service = match move_task_lease {
            Some(lease) => service.with_move_task_lease(lease),
            None => service,
        };
        let ctx = RequestContext::root("test", "000000000000", "us-east-1");
        Harness {
            service,
            clock,
            ctx,
            cipher,
            dir: None,
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
