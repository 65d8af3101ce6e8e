//! The web console: its files, built into the binary, and the actions only it sends.
//!
//! The page (`console/` in this crate: plain HTML, CSS and JavaScript, no build step) is served at `/`
//! of the admin listener, under a Content-Security-Policy that lets it load nothing but itself. It
//! acts through `POST /api` of the same listener, which runs every request through `Front::serve`,
//! so the console has exactly the caller's permissions. Besides the SQS actions it sends three of
//! its own in AWS JSON 1.0 with `X-Amz-Target: SluiceConsole.<Action>`, accepted only from the admin
//! listener, authenticated like any request and each authorized as the SQS action it resembles:
//! `ListQueues` (every queue the caller may list, with depths, paged), `PeekMessages` (as a
//! ReceiveMessage of the queue) and `GetQueueHistory` (as a GetQueueAttributes of the queue).

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Response, StatusCode};
use http_body_util::Full;
use serde_json::{json, Value};
use sluice_model::types::{GetQueueAttributesInput, ListQueuesInput, ReceiveMessageInput, Request};
use sluice_model::{ApiError, RequestContext};
use sluice_protocol::{
    ConsoleListQueues, ConsolePeekMessages, ConsoleQueueHistory, ConsoleRequest, Protocol,
    WireResponse,
};
use sluice_queue::{queue_arn, QueueError};
use sluice_security::Environment;
use sluice_store::QueueKey;

use crate::front::Front;
use crate::Config;

/// The most queues one page of the list holds.
const MAX_PAGE: usize = 100;

/// The page loads only its own script and style sheet and talks only to its own origin; no inline
/// script or style can run, so text from queues and messages can never become code.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const INDEX_HTML: &str = include_str!("../console/index.html");
const APP_JS: &str = include_str!("../console/app.js");
const STYLE_CSS: &str = include_str!("../console/style.css");
const SIGV4_JS: &str = include_str!("../console/sigv4.js");

/// The console file at `path` (`/` or `/console/<name>`), if there is one.
pub fn asset(path: &str) -> Option<Response<Full<Bytes>>> {
    let (body, content_type) = match path {
        "/" | "/console/" | "/console/index.html" => (INDEX_HTML, "text/html; charset=utf-8"),
        "/console/app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        "/console/sigv4.js" => (SIGV4_JS, "text/javascript; charset=utf-8"),
        "/console/style.css" => (STYLE_CSS, "text/css; charset=utf-8"),
        _ => return None,
    };
    Some(page_response(
        StatusCode::OK,
        content_type,
        Bytes::from_static(body.as_bytes()),
    ))
}

/// What the page needs to know before its first request: whether to ask for keys, and which regions
/// to offer. Nothing secret.
pub fn config(config: &Config) -> Response<Full<Bytes>> {
    let regions = if config.regions.is_empty() {
        vec![config.region.clone()]
    } else {
        config.regions.clone()
    };
    let body = json!({
        "auth": config.auth == sluice_security::AuthMode::Sigv4,
        "defaultRegion": config.region,
        "regions": regions,
    });
    page_response(
        StatusCode::OK,
        "application/json",
        Bytes::from(body.to_string()),
    )
}

/// A response of the admin listener's own, with the headers every console answer carries.
pub fn page_response(
    status: StatusCode,
    content_type: &'static str,
    body: Bytes,
) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    // The files change only with the binary; a page kept across an upgrade would talk to a server
    // it was not written for.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// Runs one console action for an authenticated caller and writes its answer (or error) as AWS
/// JSON 1.0. `anonymous_refusal` is set when authentication is on and the request was not signed:
/// the console's actions are for signed callers only then.
pub async fn run(
    front: &Front,
    ctx: &RequestContext,
    environment: &Environment<'_>,
    anonymous_refusal: Option<ApiError>,
    action: &str,
    body: &[u8],
) -> WireResponse {
    tracing::Span::current().record("action", format!("console:{action}"));
    let result = match anonymous_refusal {
        Some(refusal) => Err(refusal),
        None => match sluice_protocol::decode_console(action, body) {
            Ok(ConsoleRequest::ListQueues(input)) => {
                list_queues(front, ctx, environment, input).await
            }
            Ok(ConsoleRequest::PeekMessages(input)) => {
                peek_messages(front, ctx, environment, input).await
            }
            Ok(ConsoleRequest::GetQueueHistory(input)) => {
                queue_history(front, ctx, environment, input).await
            }
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(value) => WireResponse {
            status: 200,
            content_type: sluice_protocol::JSON_CONTENT_TYPE,
            query_error: None,
            body: value.to_string().into_bytes(),
        },
        Err(error) => {
            tracing::debug!(code = error.code.query_code(), message = %error.message, "console request refused");
            sluice_protocol::encode_error(Protocol::Json, &error, &ctx.request_id)
        }
    }
}

/// The queues the caller may list: with authentication off every queue of every account and region;
/// with it on the caller's account's, in the regions where it may call `sqs:ListQueues`. Sorted by
/// account, region and name; only the page asked for is counted.
async fn list_queues(
    front: &Front,
    ctx: &RequestContext,
    environment: &Environment<'_>,
    input: ConsoleListQueues,
) -> Result<Value, ApiError> {
    let search = input.search.unwrap_or_default().to_lowercase();
    let limit = input.limit.unwrap_or(MAX_PAGE).clamp(1, MAX_PAGE);
    let offset = input.offset.unwrap_or(0);
    let mut keys: Vec<QueueKey> = front
        .service
        .all_queue_keys(ctx)
        .await?
        .into_iter()
        .filter(|k| search.is_empty() || k.name.to_lowercase().contains(&search))
        .collect();
    if front.authorizer.is_some() {
        keys.retain(|k| k.account_id == ctx.account_id);
        let mut regions: Vec<String> = keys.iter().map(|k| k.region.clone()).collect();
        regions.sort();
        regions.dedup();
        let mut allowed = Vec::new();
        for region in regions {
            let mut regional = ctx.clone();
            regional.region.clone_from(&region);
            let environment = Environment {
                region: &region,
                ..*environment
            };
            let request = Request::ListQueues(ListQueuesInput::default());
            if front
                .authorize_sqs(&regional, &environment, &request, None)
                .await
                .is_ok()
            {
                allowed.push(region);
            }
        }
        keys.retain(|k| allowed.contains(&k.region));
    }
    keys.sort_by(|a, b| {
        (&a.account_id, &a.region, &a.name).cmp(&(&b.account_id, &b.region, &b.name))
    });
    let total = keys.len();
    let mut queues = Vec::new();
    for key in keys.iter().skip(offset).take(limit) {
        // A queue deleted since the listing is left out of the page rather than failing it.
        let stats = match front.service.queue_stats(key).await {
            Ok(stats) => stats,
            Err(QueueError::QueueDoesNotExist) => continue,
            Err(e) => return Err(e.into_api_error(ctx)),
        };
        queues.push(json!({
            "QueueUrl": front.service.queue_url(key),
            "QueueArn": queue_arn(key),
            "Account": key.account_id,
            "Region": key.region,
            "Name": key.name,
            "Fifo": key.name.ends_with(".fifo"),
            "Visible": stats.visible,
            "InFlight": stats.in_flight,
            "Delayed": stats.delayed,
            "OldestAgeSeconds": stats.oldest_age_seconds,
        }));
    }
    Ok(json!({ "Queues": queues, "Total": total }))
}

/// Messages a receive would take, authorized as that receive.
async fn peek_messages(
    front: &Front,
    ctx: &RequestContext,
    environment: &Environment<'_>,
    input: ConsolePeekMessages,
) -> Result<Value, ApiError> {
    let as_receive = Request::ReceiveMessage(ReceiveMessageInput {
        queue_url: input.queue_url.clone(),
        ..Default::default()
    });
    front
        .authorize_sqs(ctx, environment, &as_receive, None)
        .await?;
    let messages = front
        .service
        .peek_messages(
            ctx,
            &input.queue_url,
            input.max_number_of_messages.unwrap_or(10),
        )
        .await?;
    let messages: Vec<Value> = messages
        .iter()
        .map(|m| {
            let mut value = serde_json::to_value(m).unwrap_or(Value::Null);
            // A peek hands out no receipt: what it shows cannot be deleted or hidden through it.
            if let Value::Object(fields) = &mut value {
                fields.remove("ReceiptHandle");
            }
            value
        })
        .collect();
    Ok(json!({ "Messages": messages }))
}

/// The queue's last hour at 10-second resolution, authorized as reading its attributes.
async fn queue_history(
    front: &Front,
    ctx: &RequestContext,
    environment: &Environment<'_>,
    input: ConsoleQueueHistory,
) -> Result<Value, ApiError> {
    let as_read = Request::GetQueueAttributes(GetQueueAttributesInput {
        queue_url: input.queue_url.clone(),
        ..Default::default()
    });
    front
        .authorize_sqs(ctx, environment, &as_read, None)
        .await?;
    let key = front.service.queue_key(ctx, &input.queue_url)?;
    // Asked first so that a queue that does not exist is answered as every action answers it.
    front
        .service
        .queue_stats(&key)
        .await
        .map_err(|e| e.into_api_error(ctx))?;
    let points: Vec<Value> = front
        .service
        .activity_history(&key)
        .iter()
        .map(|p| {
            json!({
                "At": p.at_millis,
                "Sent": p.sent,
                "Received": p.received,
                "Deleted": p.deleted,
                "Visible": p.visible,
                "InFlight": p.in_flight,
                "Delayed": p.delayed,
            })
        })
        .collect();
    Ok(json!({ "Points": points }))
}
