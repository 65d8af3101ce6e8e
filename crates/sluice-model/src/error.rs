use std::fmt;

macro_rules! error_codes {
    ($($variant:ident => ($json:expr, $query:expr, $status:expr, $sender:expr)),* $(,)?) => {
        /// An SQS error code. The code alone decides the HTTP status, the JSON `__type`, the Query error code
        /// and whether the fault is the sender's or the receiver's.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($variant),*
        }

        impl ErrorCode {
            /// The `__type` of a JSON 1.0 error body.
            pub fn json_type(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $json),*
                }
            }

            /// The code of a Query `ErrorResponse`, also sent as `x-amzn-query-error` over JSON.
            pub fn query_code(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $query),*
                }
            }

            pub fn http_status(self) -> u16 {
                match self {
                    $(ErrorCode::$variant => $status),*
                }
            }

            pub fn sender_fault(self) -> bool {
                match self {
                    $(ErrorCode::$variant => $sender),*
                }
            }
        }
    };
}

// Modelled errors take their `__type` from the shape name in the JSON model and their Query code, status and
// fault from the Query model. The KMS errors of SendMessage and ReceiveMessage are in the JSON model
// only; their Query codes are KMS's own exception names behind `KMS.`, as SQS reports them. Errors the models do not list are the service's common errors: over JSON,
// InvalidParameterValue and MissingParameter come as the service framework's validation exceptions (real
// responses show `com.amazon.coral.service#InvalidParameterValueException` and, for a missing parameter,
// `com.amazon.coral.service#MissingRequiredParameterException`), and so do a refused signature (a
// credential scoped to a region not served), the other refusals of authentication, and ServiceUnavailable (a server at its connection limit); the
// rest come under the service's own namespace. The `x-amzn-query-error` header always carries the Query
// code, so a client sees one code whichever protocol it speaks.
error_codes! {
    BatchEntryIdsNotDistinct => ("com.amazonaws.sqs#BatchEntryIdsNotDistinct", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", 400, true),
    BatchRequestTooLong => ("com.amazonaws.sqs#BatchRequestTooLong", "AWS.SimpleQueueService.BatchRequestTooLong", 400, true),
    EmptyBatchRequest => ("com.amazonaws.sqs#EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest", 400, true),
    InvalidAddress => ("com.amazonaws.sqs#InvalidAddress", "InvalidAddress", 400, true),
    InvalidAttributeName => ("com.amazonaws.sqs#InvalidAttributeName", "InvalidAttributeName", 400, true),
    InvalidAttributeValue => ("com.amazonaws.sqs#InvalidAttributeValue", "InvalidAttributeValue", 400, true),
    InvalidBatchEntryId => ("com.amazonaws.sqs#InvalidBatchEntryId", "AWS.SimpleQueueService.InvalidBatchEntryId", 400, true),
    InvalidMessageContents => ("com.amazonaws.sqs#InvalidMessageContents", "InvalidMessageContents", 400, true),
    InvalidSecurity => ("com.amazonaws.sqs#InvalidSecurity", "InvalidSecurity", 403, true),
    MessageNotInflight => ("com.amazonaws.sqs#MessageNotInflight", "AWS.SimpleQueueService.MessageNotInflight", 400, true),
    OverLimit => ("com.amazonaws.sqs#OverLimit", "OverLimit", 403, true),
    PurgeQueueInProgress => ("com.amazonaws.sqs#PurgeQueueInProgress", "AWS.SimpleQueueService.PurgeQueueInProgress", 403, true),
    QueueDeletedRecently => ("com.amazonaws.sqs#QueueDeletedRecently", "AWS.SimpleQueueService.QueueDeletedRecently", 400, true),
    QueueDoesNotExist => ("com.amazonaws.sqs#QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", 400, true),
    QueueNameExists => ("com.amazonaws.sqs#QueueNameExists", "QueueAlreadyExists", 400, true),
    ReceiptHandleIsInvalid => ("com.amazonaws.sqs#ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", 400, true),
    RequestThrottled => ("com.amazonaws.sqs#RequestThrottled", "RequestThrottled", 400, true),
    ResourceNotFoundException => ("com.amazonaws.sqs#ResourceNotFoundException", "ResourceNotFoundException", 404, true),
    TooManyEntriesInBatchRequest => ("com.amazonaws.sqs#TooManyEntriesInBatchRequest", "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", 400, true),
    UnsupportedOperation => ("com.amazonaws.sqs#UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation", 400, true),
    KmsAccessDenied => ("com.amazonaws.sqs#KmsAccessDenied", "KMS.AccessDeniedException", 400, true),
    KmsDisabled => ("com.amazonaws.sqs#KmsDisabled", "KMS.DisabledException", 400, true),
    KmsInvalidKeyUsage => ("com.amazonaws.sqs#KmsInvalidKeyUsage", "KMS.InvalidKeyUsageException", 400, true),
    KmsInvalidState => ("com.amazonaws.sqs#KmsInvalidState", "KMS.InvalidStateException", 400, true),
    KmsNotFound => ("com.amazonaws.sqs#KmsNotFound", "KMS.NotFoundException", 400, true),
    AccessDenied => ("com.amazonaws.sqs#AccessDenied", "AccessDenied", 403, true),
    InvalidAction => ("com.amazonaws.sqs#InvalidAction", "InvalidAction", 400, true),
    InvalidParameterValue => ("com.amazon.coral.service#InvalidParameterValueException", "InvalidParameterValue", 400, true),
    MissingParameter => ("com.amazon.coral.service#MissingRequiredParameterException", "MissingParameter", 400, true),
    MalformedQueryString => ("com.amazonaws.sqs#MalformedQueryString", "MalformedQueryString", 404, true),
    MissingAction => ("com.amazonaws.sqs#MissingAction", "MissingAction", 400, true),
    UnsupportedMediaType => ("com.amazonaws.sqs#UnsupportedMediaType", "UnsupportedMediaType", 415, true),
    RequestEntityTooLarge => ("com.amazonaws.sqs#RequestEntityTooLarge", "RequestEntityTooLarge", 413, true),
    SerializationException => ("com.amazon.coral.service#SerializationException", "SerializationException", 400, true),
    UnknownOperation => ("com.amazon.coral.service#UnknownOperationException", "InvalidAction", 400, true),
    InternalError => ("com.amazonaws.sqs#InternalError", "InternalError", 500, false),
    SignatureDoesNotMatch => ("com.amazon.coral.service#InvalidSignatureException", "SignatureDoesNotMatch", 403, true),
    IncompleteSignature => ("com.amazon.coral.service#IncompleteSignatureException", "IncompleteSignature", 400, true),
    InvalidClientTokenId => ("com.amazon.coral.service#UnrecognizedClientException", "InvalidClientTokenId", 403, true),
    MissingAuthenticationToken => ("com.amazon.coral.service#MissingAuthenticationTokenException", "MissingAuthenticationToken", 403, true),
    ExpiredToken => ("com.amazon.coral.service#ExpiredTokenException", "ExpiredToken", 403, true),
    RequestExpired => ("com.amazon.coral.service#RequestExpired", "RequestExpired", 400, true),
    ServiceUnavailable => ("com.amazon.coral.service#ServiceUnavailableException", "ServiceUnavailable", 503, false),
}

impl ErrorCode {
    /// Where AWS words an error differently over the Query protocol, the text it uses there.
    pub fn query_message(self) -> Option<&'static str> {
        match self {
            ErrorCode::QueueDoesNotExist => {
                Some("The specified queue does not exist for this wsdl version.")
            }
            _ => None,
        }
    }
}

/// An error as the API reports it: a code and a human message. Every layer's error converts into this once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }

    pub fn queue_does_not_exist() -> Self {
        ApiError::new(
            ErrorCode::QueueDoesNotExist,
            "The specified queue does not exist.",
        )
    }

    pub fn missing_parameter(name: &str) -> Self {
        ApiError::new(
            ErrorCode::MissingParameter,
            format!("The request must contain the parameter {name}."),
        )
    }

    /// A failure the client should retry: AWS SDKs retry a 503 `ServiceUnavailable` on their own.
    pub fn service_unavailable() -> Self {
        ApiError::new(
            ErrorCode::ServiceUnavailable,
            "The request has failed due to a temporary failure of the server.",
        )
    }

    /// A failure inside the service. What went wrong is logged, never sent: it can name files and
    /// carry operating-system error text.
    pub fn internal_error() -> Self {
        ApiError::new(
            ErrorCode::InternalError,
            "We encountered an internal error. Please try again.",
        )
    }

    pub fn invalid_parameter(name: &str, value: &str, reason: &str) -> Self {
        ApiError::new(
            ErrorCode::InvalidParameterValue,
            format!("Value {value} for parameter {name} is invalid. Reason: {reason}"),
        )
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.query_code(), self.message)
    }
}

impl std::error::Error for ApiError {}
