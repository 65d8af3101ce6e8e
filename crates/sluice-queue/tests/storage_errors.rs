//! What a client is told when storage fails: a write the disk refuses answers `ServiceUnavailable`
//! (HTTP 503, so SDKs retry) and nothing about files or the operating system, and requests succeed
//! again by themselves once the disk works.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_model::types::*;
use sluice_model::{ApiError, ErrorCode, RequestContext};
use sluice_queue::{ManualClock, QueueService, ServiceConfig};
use sluice_store::{DiskFaults, DurableOptions, DurableStore, Fault};

mod common;

fn context() -> RequestContext {
    RequestContext::root("storage-errors", "000000000000", "us-east-1")
}

async fn send(service: &QueueService, url: &str, body: &str) -> Result<Response, ApiError> {
    let input = SendMessageInput {
        queue_url: url.into(),
        message_body: body.into(),
        ..Default::default()
    };
    service
        .handle(&context(), Request::SendMessage(input))
        .await
}

async fn visible_count(service: &QueueService, url: &str) -> String {
    let input = GetQueueAttributesInput {
        queue_url: url.into(),
        attribute_names: vec!["ApproximateNumberOfMessages".into()],
    };
    match service
        .handle(&context(), Request::GetQueueAttributes(input))
        .await
    {
        Ok(Response::GetQueueAttributes(output)) => output.attributes[0].1.clone(),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_write_the_disk_refuses_answers_service_unavailable_until_it_works_again() {
    let dir = std::env::temp_dir().join(format!("sluice-queue-faults-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let faults = DiskFaults::new();
    let store = DurableStore::open_with_faults(&dir, DurableOptions::default(), faults.clone())
        .expect("open");
    let service = QueueService::new(
        Arc::new(store),
        Arc::new(ManualClock::new(1_700_000_000_000)),
        &ServiceConfig {
            public_url: "http://127.0.0.1:9324".into(),
            default_region: "us-east-1".into(),
            receipt_secret: [3; 32],
        },
        Arc::new(common::TestCipher::default()),
    );
    let create = CreateQueueInput {
        queue_name: "q".into(),
        attributes: BTreeMap::new(),
        tags: BTreeMap::new(),
    };
    let url = match service
        .handle(&context(), Request::CreateQueue(create))
        .await
    {
        Ok(Response::QueueUrl(output)) => output.queue_url,
        other => panic!("{other:?}"),
    };
    send(&service, &url, "kept").await.expect("send");

    faults.fail_writes(Fault::NoSpace);
    let error = send(&service, &url, "refused").await.expect_err("refused");
    assert_eq!(error.code, ErrorCode::ServiceUnavailable);
    assert_eq!(error.code.http_status(), 503);
    assert!(!error.code.sender_fault());
    assert_eq!(
        error.message,
        "The request has failed due to a temporary failure of the server."
    );
    let url_lookup = GetQueueUrlInput {
        queue_name: "q".into(),
        queue_owner_aws_account_id: None,
    };
    let error = service
        .handle(&context(), Request::GetQueueUrl(url_lookup))
        .await
        .expect_err("out of service");
    assert_eq!(error.code, ErrorCode::ServiceUnavailable);

    faults.clear();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match send(&service, &url, "after").await {
            Ok(_) => break,
            Err(e) if e.code == ErrorCode::ServiceUnavailable && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("still failing: {e}"),
        }
    }
    assert_eq!(visible_count(&service, &url).await, "2");
    drop(service);
    let _ = std::fs::remove_dir_all(&dir);
}
