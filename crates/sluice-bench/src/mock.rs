//! A small in-process SQS stand-in for the tests: one queue, standard or FIFO, with faults that can be
//! switched on (dropping, redelivering or reordering messages) to show the run's checks catch them.

use std::collections::{HashMap, HashSet, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;

#[derive(Clone, Copy, Default)]
pub struct Faults {
    /// Acknowledge but drop every n-th message sent.
    pub drop_every: Option<u64>,
    /// Put every n-th deleted message back on the queue, as if its delete had been lost.
    pub redeliver_every: Option<u64>,
    /// Put every n-th message sent at the head of the queue instead of the tail.
    pub jump_every: Option<u64>,
    /// Answer this operation with UnsupportedOperation.
    pub refuse: Option<&'static str>,
    /// Never answer sends.
    pub stall_sends: bool,
}

struct Message {
    body: String,
    group: Option<String>,
}

#[derive(Default)]
struct State {
    fifo: bool,
    faults: Faults,
    visible: VecDeque<Message>,
    in_flight: HashMap<String, Message>,
    next_handle: u64,
    sent: u64,
    deleted: u64,
}

impl State {
    fn enqueue(&mut self, message: Message) -> bool {
        self.sent += 1;
        if self
            .faults
            .drop_every
            .is_some_and(|n| self.sent.is_multiple_of(n))
        {
            return true;
        }
        if self
            .faults
            .jump_every
            .is_some_and(|n| self.sent.is_multiple_of(n))
        {
            self.visible.push_front(message);
        } else {
            self.visible.push_back(message);
        }
        true
    }

    fn receive(&mut self, max: usize) -> Vec<Value> {
        // A FIFO group with messages in flight delivers nothing more until they are deleted.
        let locked: HashSet<String> = self
            .in_flight
            .values()
            .filter_map(|m| m.group.clone())
            .collect();
        let mut out = Vec::new();
        let mut index = 0;
        while out.len() < max && index < self.visible.len() {
            let blocked = self.fifo
                && self.visible[index]
                    .group
                    .as_ref()
                    .is_some_and(|g| locked.contains(g));
            if blocked {
                index += 1;
                continue;
            }
            let Some(message) = self.visible.remove(index) else {
                break;
            };
            self.next_handle += 1;
            let handle = format!("h/{}+=", self.next_handle);
            out.push(json!({
                "MessageId": format!("id-{}", self.next_handle),
                "ReceiptHandle": handle,
                "Body": message.body,
            }));
            self.in_flight.insert(handle, message);
        }
        out
    }

    fn delete(&mut self, handle: &str) -> bool {
        let Some(message) = self.in_flight.remove(handle) else {
            return false;
        };
        self.deleted += 1;
        if self
            .faults
            .redeliver_every
            .is_some_and(|n| self.deleted.is_multiple_of(n))
        {
            self.visible.push_front(message);
        }
        true
    }
}

fn answer(status: u16, body: Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or_default();
    response
}

async fn handle(
    state: Arc<Mutex<State>>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let target = request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .trim_start_matches("AmazonSQS.")
        .to_string();
    let signed = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| {
            a.starts_with("AWS4-HMAC-SHA256 Credential=") && a.contains("/sqs/aws4_request")
        });
    let body = match request.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Ok(answer(400, json!({}))),
    };
    if !signed {
        return Ok(answer(
            403,
            json!({"__type": "com.amazonaws.sqs#MissingAuthenticationToken", "message": "unsigned"}),
        ));
    }
    let faults = state.lock().unwrap_or_else(|e| e.into_inner()).faults;
    if faults.refuse == Some(target.as_str()) {
        return Ok(answer(
            400,
            json!({"__type": "com.amazonaws.sqs#UnsupportedOperation", "message": format!("{target} refused")}),
        ));
    }
    if faults.stall_sends && target.starts_with("SendMessage") {
        std::future::pending::<()>().await;
    }
    let input: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut wait = false;
    let response = {
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        match target.as_str() {
            "CreateQueue" => {
                let name = input["QueueName"].as_str().unwrap_or_default();
                s.fifo = name.ends_with(".fifo");
                answer(
                    200,
                    json!({ "QueueUrl": format!("http://mock/000000000000/{name}") }),
                )
            }
            "SendMessage" => {
                let body = input["MessageBody"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                s.enqueue(Message { body, group: None });
                answer(200, json!({ "MessageId": "m" }))
            }
            "SendMessageBatch" => {
                let mut successful = Vec::new();
                for entry in input["Entries"].as_array().into_iter().flatten() {
                    let group = entry["MessageGroupId"].as_str().map(str::to_string);
                    if s.fifo && (group.is_none() || entry["MessageDeduplicationId"].is_null()) {
                        return Ok(answer(
                            400,
                            json!({"__type": "com.amazonaws.sqs#MissingParameter", "message": "fifo fields"}),
                        ));
                    }
                    let body = entry["MessageBody"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    s.enqueue(Message { body, group });
                    successful.push(json!({ "Id": entry["Id"], "MessageId": "m" }));
                }
                answer(200, json!({ "Successful": successful, "Failed": [] }))
            }
            "ReceiveMessage" => {
                let max = input["MaxNumberOfMessages"].as_u64().unwrap_or(1) as usize;
                let messages = s.receive(max);
                wait = messages.is_empty();
                if messages.is_empty() {
                    answer(200, json!({}))
                } else {
                    answer(200, json!({ "Messages": messages }))
                }
            }
            "DeleteMessageBatch" => {
                let mut successful = Vec::new();
                let mut failed = Vec::new();
                for entry in input["Entries"].as_array().into_iter().flatten() {
                    if s.delete(entry["ReceiptHandle"].as_str().unwrap_or_default()) {
                        successful.push(json!({ "Id": entry["Id"] }));
                    } else {
                        failed.push(json!({ "Id": entry["Id"], "SenderFault": true, "Code": "ReceiptHandleIsInvalid" }));
                    }
                }
                answer(200, json!({ "Successful": successful, "Failed": failed }))
            }
            "GetQueueAttributes" => answer(
                200,
                json!({ "Attributes": {
                    "ApproximateNumberOfMessages": s.visible.len().to_string(),
                    "ApproximateNumberOfMessagesNotVisible": s.in_flight.len().to_string(),
                }}),
            ),
            "DeleteQueue" => answer(200, json!({})),
            other => answer(
                400,
                json!({"__type": "com.amazonaws.sqs#UnsupportedOperation", "message": format!("{other} is not in the mock")}),
            ),
        }
    };
    if wait {
        // A short stand-in for long polling.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(response)
}

/// Starts the mock on a free local port and returns its endpoint URL.
pub async fn start(faults: Faults) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let state = Arc::new(Mutex::new(State {
        faults,
        ..State::default()
    }));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let state = state.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request| handle(state.clone(), request));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    format!("http://{address}")
}
