/// Who is calling, as far as the front end could tell. Authentication replaces `access_key` guessing with
/// verified identities without changing how handlers receive it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The access key id from the request's SigV4 credential, if the request carried one.
    pub access_key_id: Option<String>,
}

/// Everything a handler knows about a request besides its typed input.
#[derive(Clone, Debug)]
pub struct RequestContext {
    /// The id written into `x-amzn-RequestId` and `ResponseMetadata/RequestId`.
    pub request_id: String,
    /// The account the caller acts as; queues named without an explicit owner belong to it.
    pub account_id: String,
    /// The region the request is addressed to (SigV4 credential scope, then the `sqs.<region>.` host).
    pub region: String,
    pub identity: Identity,
    /// The request's `X-Amzn-Trace-Id` header, which SendMessage keeps as the message's `AWSTraceHeader`.
    pub trace_header: Option<String>,
}
