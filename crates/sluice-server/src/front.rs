//! The HTTP front end: turns one HTTP request into a typed SQS request with its context, runs it, and
//! writes the response in the protocol the request came in. Nothing here decides queue semantics.

use std::sync::Arc;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use sluice_model::{ApiError, ErrorCode, Identity, Operation, RequestContext};
use sluice_protocol::{Params, Protocol, WireResponse};
use sluice_queue::{region_from_host, QueueService};
use tracing::Instrument;

/// The largest request body read. A 1 MiB message written as a percent-encoded form can take three times
/// its size; anything larger than this cannot be a valid request.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

pub struct Front {
    pub service: QueueService,
    pub default_region: String,
    pub default_account_id: String,
}

/// What the HTTP request says before its parameters are read.
struct Envelope {
    protocol: Protocol,
    context: RequestContext,
}

impl Front {
    pub async fn serve(
        self: Arc<Self>,
        request: Request<Incoming>,
    ) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
        let request_id = uuid::Uuid::new_v4().to_string();
        let (parts, body) = request.into_parts();
        let protocol = if parts.headers.contains_key("x-amz-target") {
            Protocol::Json
        } else {
            Protocol::Query
        };
        let envelope = Envelope {
            protocol,
            context: self.context(&parts.headers, parts.uri.query(), request_id),
        };
        let wire = match Limited::new(body, MAX_BODY_BYTES).collect().await {
            Ok(collected) => {
                self.run(
                    &envelope,
                    &parts.method,
                    &parts.uri,
                    &parts.headers,
                    collected.to_bytes(),
                )
                .await
            }
            Err(e) => {
                let error = if e.is::<http_body_util::LengthLimitError>() {
                    ApiError::new(
                        ErrorCode::RequestEntityTooLarge,
                        format!("The request body is larger than {MAX_BODY_BYTES} bytes."),
                    )
                } else {
                    ApiError::new(
                        ErrorCode::MalformedQueryString,
                        "The request body could not be read.",
                    )
                };
                sluice_protocol::encode_error(protocol, &error, &envelope.context.request_id)
            }
        };
        Ok(http_response(wire, &envelope.context.request_id))
    }

    async fn run(
        &self,
        envelope: &Envelope,
        method: &Method,
        uri: &http::Uri,
        headers: &HeaderMap,
        body: Bytes,
    ) -> WireResponse {
        let ctx = &envelope.context;
        let decoded = match envelope.protocol {
            Protocol::Json => decode_json(headers, &body),
            Protocol::Query => decode_query(method, uri, headers, &body),
        };
        let result = match decoded {
            Ok(request) => {
                let operation = request.operation();
                // Attached to the handling future, not entered: a long poll must not lend its span to
                // whatever else runs on the thread while it waits.
                let span =
                    tracing::debug_span!("request", op = operation.name(), id = %ctx.request_id);
                self.service
                    .handle(ctx, request)
                    .instrument(span)
                    .await
                    .map(|response| (operation, response))
            }
            Err(e) => Err(e),
        };
        match result {
            Ok((operation, response)) => sluice_protocol::encode_response(
                envelope.protocol,
                operation,
                &response,
                &ctx.request_id,
            ),
            Err(error) => {
                if error.code.sender_fault() {
                    tracing::debug!(code = error.code.query_code(), message = %error.message, "request rejected");
                } else {
                    tracing::warn!(code = error.code.query_code(), message = %error.message, "request failed");
                }
                sluice_protocol::encode_error(envelope.protocol, &error, &ctx.request_id)
            }
        }
    }

    /// Region and account from the SigV4 credential (header or presigned query), else the `sqs.<region>.`
    /// host, else the configured defaults. A 12-digit access key names the account, the convention of
    /// local AWS emulators, until authentication verifies identities.
    fn context(
        &self,
        headers: &HeaderMap,
        query: Option<&str>,
        request_id: String,
    ) -> RequestContext {
        let credential = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(credential_from_authorization)
            .or_else(|| query.and_then(credential_from_query));
        let (access_key_id, scope_region) = match credential {
            Some((key, region)) => (Some(key), region),
            None => (None, None),
        };
        let host_region = headers
            .get(HOST)
            .and_then(|v| v.to_str().ok())
            .and_then(|h| region_from_host(h.split(':').next().unwrap_or(h)).map(str::to_string));
        let region = scope_region
            .or(host_region)
            .unwrap_or_else(|| self.default_region.clone());
        let account_id = access_key_id
            .as_deref()
            .filter(|k| sluice_model::is_account_id(k))
            .map_or_else(|| self.default_account_id.clone(), str::to_string);
        RequestContext {
            request_id,
            account_id,
            region,
            identity: Identity { access_key_id },
            trace_header: headers
                .get("x-amzn-trace-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        }
    }
}

type Decoded = Result<sluice_model::types::Request, ApiError>;

fn decode_json(headers: &HeaderMap, body: &[u8]) -> Decoded {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let operation = sluice_protocol::operation_from_target(target)?;
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let media = content_type.split(';').next().unwrap_or_default().trim();
    if !media.eq_ignore_ascii_case(sluice_protocol::JSON_CONTENT_TYPE)
        && !media.eq_ignore_ascii_case("application/json")
    {
        let error = ApiError::new(
            ErrorCode::UnsupportedMediaType,
            format!(
                "Content-Type {content_type:?} is not supported; AWS JSON requests use {}.",
                sluice_protocol::JSON_CONTENT_TYPE
            ),
        );
        return Err(error);
    }
    sluice_protocol::decode_json(operation, body)
}

fn decode_query(method: &Method, uri: &http::Uri, headers: &HeaderMap, body: &[u8]) -> Decoded {
    let mut params = Params::new();
    if let Some(query) = uri.query() {
        sluice_protocol::parse_form(query.as_bytes(), &mut params);
    }
    if !body.is_empty() {
        let content_type = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let media = content_type.split(';').next().unwrap_or_default().trim();
        if method != Method::POST
            || !(media.is_empty()
                || media.eq_ignore_ascii_case("application/x-www-form-urlencoded"))
        {
            let error = ApiError::new(
                ErrorCode::UnsupportedMediaType,
                format!("Content-Type {content_type:?} is not supported; Query requests use application/x-www-form-urlencoded."),
            );
            return Err(error);
        }
        sluice_protocol::parse_form(body, &mut params);
    }
    let Some(action) = params.get("Action").cloned() else {
        return Err(ApiError::new(
            ErrorCode::MissingAction,
            "No action was supplied with this request.",
        ));
    };
    let operation =
        Operation::from_name(&action).ok_or_else(|| sluice_protocol::unknown_action(&action))?;
    // `POST /<account>/<queue>` names the queue in the path, as clients that use the queue URL as their
    // endpoint send it.
    if !params.contains_key("QueueUrl") {
        let segments: Vec<&str> = uri.path().split('/').filter(|s| !s.is_empty()).collect();
        if let [account, queue] = segments.as_slice() {
            let host = headers
                .get(HOST)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("localhost");
            params.insert(
                "QueueUrl".to_string(),
                format!("http://{host}/{account}/{queue}"),
            );
        }
    }
    let value = sluice_protocol::params_to_value(operation, &params)?;
    sluice_protocol::decode(Protocol::Query, operation, value)
}

/// `Credential=<key>/<date>/<region>/<service>/aws4_request` from a SigV4 `Authorization` header.
fn credential_from_authorization(header: &str) -> Option<(String, Option<String>)> {
    let rest = header.strip_prefix("AWS4-HMAC-SHA256")?;
    let credential = rest
        .split(',')
        .map(str::trim)
        .find_map(|part| part.strip_prefix("Credential="))?;
    Some(split_credential(credential))
}

/// `X-Amz-Credential` from a presigned URL.
fn credential_from_query(query: &str) -> Option<(String, Option<String>)> {
    let mut params = Params::new();
    sluice_protocol::parse_form(query.as_bytes(), &mut params);
    params.get("X-Amz-Credential").map(|c| split_credential(c))
}

fn split_credential(credential: &str) -> (String, Option<String>) {
    let mut parts = credential.split('/');
    let key = parts.next().unwrap_or_default().to_string();
    let region = parts.nth(1).filter(|r| !r.is_empty()).map(str::to_string);
    (key, region)
}

fn http_response(wire: WireResponse, request_id: &str) -> Response<Full<Bytes>> {
    let status = StatusCode::from_u16(wire.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let length = wire.body.len();
    let mut response = Response::new(Full::new(Bytes::from(wire.body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(wire.content_type));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(length));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", id);
    }
    if let Some(query_error) = wire
        .query_error
        .and_then(|q| HeaderValue::from_str(&q).ok())
    {
        headers.insert("x-amzn-query-error", query_error);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_scope_gives_key_and_region() {
        let header = "AWS4-HMAC-SHA256 Credential=123456789012/20240101/eu-west-1/sqs/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc";
        assert_eq!(
            credential_from_authorization(header),
            Some(("123456789012".to_string(), Some("eu-west-1".to_string())))
        );
        assert_eq!(credential_from_authorization("Basic abc"), None);
        let query =
            "Action=ListQueues&X-Amz-Credential=AKID%2F20240101%2Fap-south-1%2Fsqs%2Faws4_request";
        assert_eq!(
            credential_from_query(query),
            Some(("AKID".to_string(), Some("ap-south-1".to_string())))
        );
    }
}
