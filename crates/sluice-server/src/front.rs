//! The HTTP front end: turns one HTTP request into a typed SQS request with its context, runs it, and
//! writes the response in the protocol the request came in. Nothing here decides queue semantics.

use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, HOST};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use sluice_model::{ApiError, ErrorCode, Operation, Principal, RequestContext};
use sluice_protocol::{Params, Protocol, Service, ServiceError, WireResponse};
use sluice_queue::{region_from_host, Clock, QueueService};
use sluice_security::directory::{self, Directory};
use sluice_security::kms::Kms;
use sluice_security::sigv4::{self, SignedRequest};
use sluice_security::{Authenticator, Authorizer, Caller, Environment};
use tracing::Instrument;

use crate::connection::Activity;
use crate::console;
use crate::metrics::{Served, ServerMetrics};
use crate::Config;

/// The largest request body read. A 1 MiB message written as a percent-encoded form can take three times
/// its size; anything larger than this cannot be a valid request.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// The `X-Amz-Target` prefix of KMS actions.
const KMS_TARGET_PREFIX: &str = "TrentService";

/// The listener a request came in on. The console's own actions are served only on the admin one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listener {
    Api,
    Admin,
}

/// Where a request came from: the client's address and the listener it reached.
#[derive(Clone, Copy, Debug)]
struct Origin {
    peer: Option<IpAddr>,
    listener: Listener,
}

pub struct Front {
    pub service: QueueService,
    pub directory: Arc<Directory>,
    pub authenticator: Authenticator,
    /// With authentication on, what callers may do; `None` with it off.
    pub authorizer: Option<Arc<Authorizer>>,
    pub kms: Arc<Kms>,
    pub clock: Arc<dyn Clock>,
    pub config: Config,
    pub metrics: Arc<ServerMetrics>,
}

impl Front {
    pub async fn serve(
        self: Arc<Self>,
        request: Request<Incoming>,
        activity: &Activity,
        peer: Option<IpAddr>,
        listener: Listener,
    ) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
        let request_id = uuid::Uuid::new_v4().to_string();
        // Attached to the handling future, not entered: a long poll must not lend its span to
        // whatever else runs on the thread while it waits. The action and queue are recorded
        // into it once the request is read.
        let span = tracing::debug_span!(
            "request",
            id = %request_id,
            action = tracing::field::Empty,
            queue = tracing::field::Empty,
        );
        let started = std::time::Instant::now();
        let (parts, body) = request.into_parts();
        let protocol = protocol_of(&parts.headers);
        let mut served = Served::default();
        let wire = async {
            let body = read_body(protocol, &parts.headers, body).await;
            activity.handling();
            match body {
                Ok(body) => {
                    self.handle(
                        protocol,
                        &parts,
                        body,
                        &request_id,
                        Origin { peer, listener },
                        &mut served,
                    )
                        .await
                }
                Err(error) => {
                    tracing::debug!(code = error.code.query_code(), message = %error.message, "request rejected");
                    served.error = Some(error.code.query_code());
                    sluice_protocol::encode_error(protocol, &error, &request_id)
                }
            }
        }
        .instrument(span.clone())
        .await;
        self.metrics.served(protocol, &served, started.elapsed());
        span.in_scope(|| {
            tracing::debug!(
                status = wire.status,
                latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
                "request served"
            );
        });
        Ok(http_response(wire, &request_id))
    }

    /// Authenticates the request, then hands it to the service it is for.
    async fn handle(
        &self,
        protocol: Protocol,
        parts: &http::request::Parts,
        body: Bytes,
        request_id: &str,
        origin: Origin,
        served: &mut Served,
    ) -> WireResponse {
        let signed = SignedRequest {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query(),
            headers: &parts.headers,
            body: &body,
        };
        let authenticated = self
            .authenticator
            .authenticate(&signed, self.clock.now_seconds())
            .await;
        // The credential scope names the service; an unsigned Query request, its action. IAM and STS
        // speak only Query, and their parameters are read before a refusal is written, so that it
        // comes in the format of the service asked.
        let unauthenticated_scope;
        let scope = match &authenticated {
            Ok(caller) => caller.scope.as_ref(),
            Err(_) => {
                unauthenticated_scope = sigv4::scope_of(&signed);
                unauthenticated_scope.as_ref()
            }
        };
        // KMS speaks AWS JSON 1.1 with targets of its own.
        let kms_action = parts
            .headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .and_then(|t| sluice_protocol::json11_action(t, KMS_TARGET_PREFIX))
            .map(str::to_string);
        if kms_action.is_some() || scope.is_some_and(|c| c.service == "kms") {
            served.service = Some("kms");
            let wire = self
                .serve_kms(
                    &parts.headers,
                    &body,
                    authenticated,
                    kms_action,
                    origin.peer,
                )
                .await;
            served.error = (wire.status >= 400).then_some("KmsError");
            return wire;
        }
        let scoped = scope.and_then(|c| Service::from_scope(&c.service));
        let form = match protocol {
            Protocol::Json => None,
            Protocol::Query => Some(query_form(&parts.method, &parts.uri, &parts.headers, &body)),
        };
        let service = match (&form, scoped) {
            (None, _) => Service::Sqs,
            (Some(_), Some(service)) => service,
            (Some(form), None) => service_of_action(form),
        };
        // An unsigned SQS request is anonymous: a queue policy may let everyone in. If none does,
        // it hears what an unsigned request hears.
        let mut anonymous_refusal = None;
        let authenticated = match authenticated {
            Err(error)
                if error.code == ErrorCode::MissingAuthenticationToken
                    && service == Service::Sqs
                    && self.authorizer.is_some() =>
            {
                anonymous_refusal = Some(error);
                let mut principal = Principal::anonymous();
                if let Some(peer) = origin.peer {
                    principal.user_id = peer.to_string();
                }
                Ok(Caller {
                    principal,
                    access_key_id: None,
                    scope: None,
                })
            }
            other => other,
        };
        let (caller, region) = match authenticated
            .and_then(|c| self.served_region(&parts.headers, c))
        {
            Ok(served) => served,
            Err(error) => {
                tracing::debug!(code = error.code.query_code(), message = %error.message, "request not authenticated");
                served.error = Some(error.code.query_code());
                return self.encode_error(service, protocol, &error, request_id);
            }
        };
        served.service = match service {
            Service::Iam => Some("iam"),
            Service::Sts => Some("sts"),
            Service::Sqs => None,
        };
        match (service, form) {
            (Service::Iam | Service::Sts, Some(Ok(params))) => {
                let environment = self.environment(&region, origin.peer);
                if let Err(error) = self
                    .authorize_security(service, &caller, &params, &environment)
                    .await
                {
                    served.error = Some(error.code.query_code());
                    return self.encode_error(service, protocol, &error, request_id);
                }
                let wire = self
                    .run_security(service, &caller.principal, &params, request_id)
                    .await;
                served.error = (wire.status >= 400).then_some("ServiceError");
                wire
            }
            (Service::Iam | Service::Sts, Some(Err(error))) => {
                served.error = Some(error.code.query_code());
                self.encode_error(service, protocol, &error, request_id)
            }
            (_, form) => {
                let mut ctx =
                    RequestContext::root(request_id, &caller.principal.account_id, &region);
                ctx.principal = caller.principal;
                ctx.access_key_id = caller.access_key_id;
                ctx.source_ip = origin.peer;
                ctx.trace_header = parts
                    .headers
                    .get("x-amzn-trace-id")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let environment = self.environment(&region, origin.peer);
                let console_action = parts
                    .headers
                    .get("x-amz-target")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|t| t.strip_prefix(sluice_protocol::CONSOLE_TARGET_PREFIX))
                    .filter(|_| origin.listener == Listener::Admin && form.is_none());
                if let Some(action) = console_action {
                    return console::run(
                        self,
                        &ctx,
                        &environment,
                        anonymous_refusal,
                        action,
                        &body,
                    )
                    .await;
                }
                let (wire, recorded) = self
                    .run(
                        &ctx,
                        &environment,
                        anonymous_refusal,
                        (&parts.method, &parts.uri, &parts.headers),
                        body,
                        form,
                    )
                    .await;
                *served = recorded;
                wire
            }
        }
    }

    /// The caller and the request's region: its credential scope's, else its `sqs.<region>.` host's,
    /// else the configured default. A region the server does not serve gets what AWS answers a
    /// credential scoped to one, `SignatureDoesNotMatch`.
    fn served_region(
        &self,
        headers: &HeaderMap,
        caller: Caller,
    ) -> Result<(Caller, String), ApiError> {
        let host_region = || {
            headers
                .get(HOST)
                .and_then(|v| v.to_str().ok())
                .and_then(|h| region_from_host(h.split(':').next().unwrap_or(h)))
        };
        let region = caller
            .scope
            .as_ref()
            .map(|c| c.region.as_str())
            .or_else(host_region);
        match region {
            Some(region) if !self.config.allows_region(region) => Err(invalid_region(region)),
            Some(region) => {
                let region = region.to_string();
                Ok((caller, region))
            }
            None => Ok((caller, self.config.region.clone())),
        }
    }

    /// Runs a KMS request: authenticated, authorized against the key it names, answered in AWS
    /// JSON 1.1.
    async fn serve_kms(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        authenticated: Result<Caller, ApiError>,
        action: Option<String>,
        peer: Option<IpAddr>,
    ) -> WireResponse {
        // KMS answers a denial with 400, not SQS's 403.
        let refused = |error: &ApiError| {
            let (code, status) = match error.code {
                ErrorCode::AccessDenied => ("AccessDeniedException", 400),
                ErrorCode::InvalidClientTokenId => {
                    ("UnrecognizedClientException", error.code.http_status())
                }
                other => (other.query_code(), other.http_status()),
            };
            tracing::debug!(code, message = %error.message, "kms request refused");
            sluice_protocol::encode_json11_error(code, &error.message, status)
        };
        let failed = |error: directory::SecurityError| {
            tracing::debug!(code = error.code, message = %error.message, "kms request failed");
            sluice_protocol::encode_json11_error(error.code, &error.message, error.status)
        };
        let (caller, region) = match authenticated.and_then(|c| self.served_region(headers, c)) {
            Ok(served) => served,
            Err(error) => return refused(&error),
        };
        let Some(action) = action.filter(|a| Kms::serves(a)) else {
            return sluice_protocol::encode_json11_error("UnknownOperationException", "", 400);
        };
        let Some(input) = sluice_protocol::read_json11_input(body) else {
            return sluice_protocol::encode_json11_error(
                "SerializationException",
                "The request body is not a JSON object.",
                400,
            );
        };
        let now = self.clock.now_seconds();
        if let Some(authorizer) = &self.authorizer {
            let access = match self
                .kms
                .access(&caller.principal, &region, &action, &input, now)
                .await
            {
                Ok(access) => access,
                Err(error) => return failed(error),
            };
            let environment = self.environment(&region, peer);
            if let Err(denied) = authorizer
                .authorize(
                    &caller.principal,
                    caller.access_key_id.as_deref(),
                    &access,
                    &environment,
                )
                .await
            {
                return refused(&denied);
            }
        }
        tracing::Span::current().record("action", format!("kms:{action}"));
        match self
            .kms
            .handle(&caller.principal, &region, &action, &input, now)
            .await
        {
            Ok(output) => sluice_protocol::encode_json11_response(&output),
            Err(error) => failed(error),
        }
    }

    pub fn environment<'a>(&self, region: &'a str, peer: Option<IpAddr>) -> Environment<'a> {
        Environment {
            source_ip: peer,
            secure_transport: false,
            region,
            now: self.clock.now_seconds(),
        }
    }

    /// Whether the caller may make an IAM or STS request (with authentication on).
    async fn authorize_security(
        &self,
        service: Service,
        caller: &Caller,
        params: &Params,
        environment: &Environment<'_>,
    ) -> Result<(), ApiError> {
        let Some(authorizer) = &self.authorizer else {
            return Ok(());
        };
        let action = params.get("Action").map(String::as_str).unwrap_or_default();
        let unavailable = |e: directory::SecurityError| {
            tracing::warn!(error = %e.message, "reading what a request acts on failed");
            ApiError::service_unavailable()
        };
        let access = match service {
            Service::Iam if directory::is_iam_action(action) => Some(
                self.directory
                    .iam_access(&caller.principal, action, params)
                    .await
                    .map_err(unavailable)?,
            ),
            Service::Sts => self
                .directory
                .sts_access(action, params)
                .await
                .map_err(unavailable)?,
            _ => None,
        };
        match access {
            Some(access) => {
                authorizer
                    .authorize(
                        &caller.principal,
                        caller.access_key_id.as_deref(),
                        &access,
                        environment,
                    )
                    .await
            }
            None => Ok(()),
        }
    }

    /// Whether the caller may make an SQS request (with authentication on): every access it
    /// needs is allowed. An anonymous caller that is refused hears `refusal`.
    pub(crate) async fn authorize_sqs(
        &self,
        ctx: &RequestContext,
        environment: &Environment<'_>,
        request: &sluice_model::types::Request,
        anonymous_refusal: Option<ApiError>,
    ) -> Result<(), ApiError> {
        let Some(authorizer) = &self.authorizer else {
            return Ok(());
        };
        for access in self.service.access(ctx, request).await? {
            let allowed = authorizer
                .authorize(
                    &ctx.principal,
                    ctx.access_key_id.as_deref(),
                    &access,
                    environment,
                )
                .await;
            if let Err(denied) = allowed {
                return Err(access.absent.or(anonymous_refusal).unwrap_or(denied));
            }
        }
        Ok(())
    }

    async fn run_security(
        &self,
        service: Service,
        caller: &Principal,
        params: &Params,
        request_id: &str,
    ) -> WireResponse {
        let action = params.get("Action").map(String::as_str).unwrap_or_default();
        let now = self.clock.now_seconds();
        let service_prefix = match service {
            Service::Iam => "iam",
            _ => "sts",
        };
        tracing::Span::current().record("action", format!("{service_prefix}:{action}"));
        let result = match service {
            Service::Iam => self.directory.iam(caller, action, params, now).await,
            _ => self.directory.sts(caller, action, params, now).await,
        };
        match result {
            Ok(value) => {
                sluice_protocol::encode_service_response(service, action, &value, request_id)
            }
            Err(error) => {
                tracing::debug!(code = error.code, message = %error.message, "request refused");
                let error = ServiceError {
                    code: error.code,
                    message: &error.message,
                    status: error.status,
                    sender_fault: error.sender_fault,
                };
                sluice_protocol::encode_service_error(service, &error, request_id)
            }
        }
    }

    /// An error in the format of the service the request was for.
    fn encode_error(
        &self,
        service: Service,
        protocol: Protocol,
        error: &ApiError,
        request_id: &str,
    ) -> WireResponse {
        match service {
            Service::Sqs => sluice_protocol::encode_error(protocol, error, request_id),
            Service::Iam | Service::Sts => {
                let error = ServiceError {
                    code: error.code.query_code(),
                    message: &error.message,
                    status: error.code.http_status(),
                    sender_fault: error.code.sender_fault(),
                };
                sluice_protocol::encode_service_error(service, &error, request_id)
            }
        }
    }

    /// Runs an SQS request: a JSON body, or (`form`) the parameters of a Query request.
    async fn run(
        &self,
        ctx: &RequestContext,
        environment: &Environment<'_>,
        anonymous_refusal: Option<ApiError>,
        (method, uri, headers): (&Method, &http::Uri, &HeaderMap),
        body: Bytes,
        form: Option<Result<Params, ApiError>>,
    ) -> (WireResponse, Served) {
        let mut served = Served::default();
        let protocol = if form.is_some() {
            Protocol::Query
        } else {
            Protocol::Json
        };
        let decoded = match form {
            None => decode_json(headers, &body).map(Some),
            Some(form) => form.and_then(|params| decode_query(method, uri, headers, params)),
        };
        if let Ok(Some(request)) = &decoded {
            served.operation = Some(request.operation());
            let span = tracing::Span::current();
            span.record("action", request.operation().name());
            if let Some(queue) = request.queue() {
                span.record("queue", queue_name(queue));
            }
        }
        let decoded = match decoded {
            Ok(Some(request)) => self
                .authorize_sqs(ctx, environment, &request, anonymous_refusal)
                .await
                .map(|()| Some(request)),
            other => other,
        };
        let result = match decoded {
            Ok(None) => {
                served.error = Some("UnknownOperation");
                return (sluice_protocol::unknown_operation_response(), served);
            }
            Ok(Some(request)) => {
                let operation = request.operation();
                self.service
                    .handle(ctx, request)
                    .await
                    .map(|response| (operation, response))
            }
            Err(e) => Err(e),
        };
        let wire = match result {
            Ok((operation, response)) if protocol == Protocol::Query && accepts_json(headers) => {
                sluice_protocol::encode_query_response_json(operation, &response, &ctx.request_id)
            }
            Ok((operation, response)) => {
                sluice_protocol::encode_response(protocol, operation, &response, &ctx.request_id)
            }
            Err(error) => {
                served.error = Some(error.code.query_code());
                if error.code.sender_fault() {
                    tracing::debug!(code = error.code.query_code(), message = %error.message, "request rejected");
                } else {
                    tracing::warn!(code = error.code.query_code(), message = %error.message, "request failed");
                }
                sluice_protocol::encode_error(protocol, &error, &ctx.request_id)
            }
        };
        (wire, served)
    }
}

/// AWS's answer to a credential scoped to a region it does not serve. The region is named only when it
/// is short and printable, as a client-made name is echoed back otherwise.
fn invalid_region(region: &str) -> ApiError {
    let printable = region.len() <= 64 && region.bytes().all(|b| b.is_ascii_graphic() || b == b' ');
    let message = if printable {
        format!("Credential should be scoped to a valid region, not '{region}'. ")
    } else {
        "Credential should be scoped to a valid region. ".to_string()
    };
    ApiError::new(ErrorCode::SignatureDoesNotMatch, message)
}

/// An `X-Amz-Target` header means AWS JSON 1.0; anything else is AWS Query.
fn protocol_of(headers: &HeaderMap) -> Protocol {
    if headers.contains_key("x-amz-target") {
        Protocol::Json
    } else {
        Protocol::Query
    }
}

/// Whether a Query client asked for its response in JSON: the first of the JSON and XML media types its
/// `Accept` header lists is `application/json`. Without one, Query responses are XML.
fn accepts_json(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|range| range.split(';').next().unwrap_or_default().trim())
        .find_map(|media| {
            if media.eq_ignore_ascii_case("application/json") {
                Some(true)
            } else if media.eq_ignore_ascii_case("text/xml")
                || media.eq_ignore_ascii_case("application/xml")
            {
                Some(false)
            } else {
                None
            }
        })
        .unwrap_or(false)
}

/// The answer to a request that is refused before it is read, in its protocol.
pub fn error_response(headers: &HeaderMap, error: &ApiError) -> Response<Full<Bytes>> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let wire = sluice_protocol::encode_error(protocol_of(headers), error, &request_id);
    http_response(wire, &request_id)
}

/// Reads the body, at most `MAX_BODY_BYTES` of it. A client waiting on `Expect: 100-continue` with a
/// declared length over the limit hears 413 before a byte is read instead of sending megabytes first.
/// One that sends its body straight away is read up to the limit before the answer: refused at once, it
/// would still be writing when the connection closes and would never see the 413.
async fn read_body(
    protocol: Protocol,
    headers: &HeaderMap,
    body: Incoming,
) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            ErrorCode::RequestEntityTooLarge,
            format!("The request body is larger than {MAX_BODY_BYTES} bytes."),
        )
    };
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let expects_continue = headers
        .get(http::header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    if expects_continue && declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        // A broken chunked encoding or a connection cut mid-body: the error each protocol gives a
        // body it cannot read.
        Err(_) => Err(match protocol {
            Protocol::Json => ApiError::new(
                ErrorCode::SerializationException,
                "The request body could not be read.",
            ),
            Protocol::Query => ApiError::new(
                ErrorCode::MalformedQueryString,
                "The request body could not be read.",
            ),
        }),
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

/// The service an unsigned Query request is for, by its action.
fn service_of_action(params: &Result<Params, ApiError>) -> Service {
    match params.as_ref().ok().and_then(|p| p.get("Action")) {
        Some(action) if directory::is_iam_action(action) => Service::Iam,
        Some(action) if directory::is_sts_action(action) => Service::Sts,
        _ => Service::Sqs,
    }
}

/// Every parameter of a Query request, from its query string and (for a form `POST`) its body.
fn query_form(
    method: &Method,
    uri: &http::Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Params, ApiError> {
    let mut params = Params::new();
    if let Some(query) = uri.query() {
        sluice_protocol::parse_form(query.as_bytes(), &mut params)?;
    }
    if !body.is_empty() {
        let content_type = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let media = content_type.split(';').next().unwrap_or_default().trim();
        if method != Method::POST {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                format!("A {method} request cannot carry Query parameters in its body; Query requests send them with POST or in the query string of a GET."),
            ));
        }
        if !(media.is_empty() || media.eq_ignore_ascii_case("application/x-www-form-urlencoded")) {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                format!("Content-Type {content_type:?} is not supported; Query requests use application/x-www-form-urlencoded."),
            ));
        }
        sluice_protocol::parse_form(body, &mut params)?;
    }
    Ok(params)
}

/// A Query request's typed request, or `None` for a `GET` that names no action (which AWS answers
/// with a bare 404 rather than an error document).
fn decode_query(
    method: &Method,
    uri: &http::Uri,
    headers: &HeaderMap,
    mut params: Params,
) -> Result<Option<sluice_model::types::Request>, ApiError> {
    let Some(action) = params.get("Action").cloned() else {
        if method == Method::GET {
            return Ok(None);
        }
        return Err(ApiError::new(
            ErrorCode::MissingAction,
            "No action was supplied with this request.",
        ));
    };
    let operation =
        Operation::from_name(&action).ok_or_else(|| sluice_protocol::unknown_action(&action))?;
    // A `/<account>/<queue>` path makes the queue's URL the endpoint, as clients that use it as their
    // endpoint send it: it names the queue, and serves only the actions about one queue.
    let segments: Vec<&str> = uri.path().split('/').filter(|s| !s.is_empty()).collect();
    if let [account, queue] = segments.as_slice() {
        if !sluice_protocol::names_a_queue(operation) {
            return Err(sluice_protocol::unknown_action(&action));
        }
        if !params.contains_key("QueueUrl") {
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
    sluice_protocol::decode(Protocol::Query, operation, value).map(Some)
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

/// A queue as the log names it: the last part of its URL or ARN, or the name given.
fn queue_name(named: &str) -> &str {
    named.rsplit(['/', ':']).next().unwrap_or(named)
}
