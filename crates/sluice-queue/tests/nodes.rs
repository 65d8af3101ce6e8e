//! Two nodes sharing one PostgreSQL database: a long poll on one is answered by a send through the
//! other as soon as the store hears of it, not when the poll would next look by itself. Real time
//! here, since what is measured is how long a notice takes. Run with `SLUICE_TEST_STORE=postgres`;
//! skipped otherwise.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::TestCipher;
use sluice_model::types::*;
use sluice_model::RequestContext;
use sluice_queue::{QueueService, ServiceConfig, SystemClock};
use sluice_store::PostgresStore;

/// How long after a send on one node a long poll on the other may answer.
const CROSSING: Duration = Duration::from_millis(100);

/// Long enough for a poll to have looked, found nothing and parked.
const PARKING: Duration = Duration::from_millis(200);

async fn node(url: &str) -> QueueService {
    let store = PostgresStore::connect(url, 4)
        .await
        .expect("a database of the private PostgreSQL server");
    QueueService::new(
        Arc::new(store),
        Arc::new(SystemClock),
        &ServiceConfig {
            public_url: "http://127.0.0.1:9324".into(),
            default_region: "us-east-1".into(),
            receipt_secret: [3; 32],
        },
        Arc::new(TestCipher::default()),
    )
}

async fn call(node: &QueueService, request: Request) -> Response {
    let ctx = RequestContext::root("test", "000000000000", "us-east-1");
    node.handle(&ctx, request).await.expect("a successful call")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_on_one_node_is_answered_within_100_ms_of_a_send_on_another() {
    if std::env::var("SLUICE_TEST_STORE").as_deref() != Ok("postgres") {
        return;
    }
    let url = sluice_test_postgres::PrivatePostgres::shared().new_database();
    let (a, b) = (node(&url).await, node(&url).await);
    let Response::QueueUrl(created) = call(
        &a,
        Request::CreateQueue(CreateQueueInput {
            queue_name: "shared".into(),
            ..Default::default()
        }),
    )
    .await
    else {
        panic!("a queue url")
    };
    let url = created.queue_url;

    // Several rounds, so that the poll's own periodic look cannot explain them all.
    for round in 0..5 {
        let body = format!("round {round}");
        let poll = async {
            let started = Instant::now();
            let answer = call(
                &b,
                Request::ReceiveMessage(ReceiveMessageInput {
                    queue_url: url.clone(),
                    wait_time_seconds: Some(5),
                    ..Default::default()
                }),
            )
            .await;
            (answer, Instant::now(), started.elapsed())
        };
        let send = async {
            tokio::time::sleep(PARKING).await;
            call(
                &a,
                Request::SendMessage(SendMessageInput {
                    queue_url: url.clone(),
                    message_body: body.clone(),
                    ..Default::default()
                }),
            )
            .await;
            Instant::now()
        };
        let ((answer, answered, waited), sent) = tokio::join!(poll, send);
        let Response::ReceiveMessage(received) = answer else {
            panic!("a receive answer")
        };
        assert_eq!(received.messages.len(), 1, "round {round}");
        assert_eq!(received.messages[0].body, body);
        assert!(
            waited >= PARKING,
            "round {round}: the poll waited for the send"
        );
        let late = answered.saturating_duration_since(sent);
        assert!(
            late < CROSSING,
            "round {round}: answered {late:?} after the send"
        );
        call(
            &b,
            Request::DeleteMessage(DeleteMessageInput {
                queue_url: url.clone(),
                receipt_handle: received.messages[0].receipt_handle.clone(),
            }),
        )
        .await;
    }
}
