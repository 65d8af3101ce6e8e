//! The queue layer's errors and their one mapping to AWS error codes.

use sluice_model::{ApiError, ErrorCode, RequestContext};
use sluice_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("queue does not exist")]
    QueueDoesNotExist,
    #[error("invalid queue name {0}")]
    InvalidQueueName(String),
    #[error("invalid fifo queue name {0}")]
    InvalidFifoQueueName(String),
    #[error("queue exists with another value for {0}")]
    QueueNameExists(String),
    #[error("queue deleted recently")]
    QueueDeletedRecently,
    #[error("unknown attribute {0}")]
    InvalidAttributeName(String),
    #[error("attribute {0} needs a fifo queue")]
    FifoOnlyAttribute(String),
    #[error("invalid value for attribute {0}")]
    InvalidAttributeValue(String),
    #[error("invalid value for attribute {name}: {reason}")]
    InvalidAttributeValueBecause { name: String, reason: String },
    /// An attribute value that is rejected with a reason, written as InvalidParameterValue.
    #[error("invalid value {value} for {name}: {reason}")]
    InvalidParameterValue {
        name: String,
        value: String,
        reason: String,
    },
    #[error("{0}")]
    InvalidParameter(String),
    #[error("missing parameter {0}")]
    MissingParameter(String),
    #[error("purge of {0} in progress")]
    PurgeQueueInProgress(String),
    #[error("over limit: {0}")]
    OverLimit(String),
    #[error("invalid message contents: {0}")]
    InvalidMessageContents(String),
    #[error("receipt handle {0} is invalid")]
    ReceiptHandleIsInvalid(String),
    #[error("receipt handle {0} belongs to another queue")]
    ReceiptHandleForAnotherQueue(String),
    #[error("empty batch of {0}")]
    EmptyBatchRequest(&'static str),
    #[error("{0} entries in a batch")]
    TooManyEntriesInBatchRequest(usize),
    #[error("batch entry id {0} repeated")]
    BatchEntryIdsNotDistinct(String),
    #[error("batch entry id {0} is invalid")]
    InvalidBatchEntryId(String),
    #[error("batch of {0} bytes is too long")]
    BatchRequestTooLong(usize),
    #[error("not found: {0}")]
    ResourceNotFound(String),
    /// Sealing or opening a body failed; the security layer has worded it as SQS does.
    #[error("server-side encryption: {}", .0.message)]
    Encryption(ApiError),
    /// An unsigned request to a queue with server-side encryption.
    #[error("unsigned request to an encrypted queue")]
    UnsignedToEncryptedQueue,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl QueueError {
    /// The error the client of request `ctx` is sent. What a storage failure was is logged here, with
    /// the request id, and never sent: it can name files and carry operating-system error text.
    pub fn into_api_error(self, ctx: &RequestContext) -> ApiError {
        match &self {
            // The failure that took the store out of service is logged once where it happened; every
            // request refused until it is back is only worth a debug line.
            QueueError::Store(StoreError::Unavailable(detail)) => {
                tracing::debug!(request_id = %ctx.request_id, error = %detail, "request refused: storage out of service");
            }
            QueueError::Store(e @ (StoreError::Conflict | StoreError::Backend(_))) => {
                tracing::error!(request_id = %ctx.request_id, error = %e, "request failed in storage");
            }
            _ => {}
        }
        ApiError::from(self)
    }
}

impl From<QueueError> for ApiError {
    fn from(error: QueueError) -> ApiError {
        use QueueError as E;
        match error {
            E::QueueDoesNotExist => ApiError::queue_does_not_exist(),
            E::InvalidQueueName(_) => ApiError::new(
                ErrorCode::InvalidParameterValue,
                "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
            ),
            E::InvalidFifoQueueName(_) => ApiError::new(
                ErrorCode::InvalidParameterValue,
                "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, \
                 must end with .fifo suffix and be 1 to 80 in length.",
            ),
            E::QueueNameExists(attribute) => ApiError::new(
                ErrorCode::QueueNameExists,
                format!("A queue already exists with the same name and a different value for attribute {attribute}"),
            ),
            E::QueueDeletedRecently => ApiError::new(
                ErrorCode::QueueDeletedRecently,
                "You must wait 60 seconds after deleting a queue before you can create another with the same name.",
            ),
            E::InvalidAttributeName(name) => {
                ApiError::new(ErrorCode::InvalidAttributeName, format!("Unknown Attribute {name}."))
            }
            E::FifoOnlyAttribute(name) => ApiError::new(
                ErrorCode::InvalidAttributeName,
                format!("You can specify the {name} only when FifoQueue is set to true."),
            ),
            E::InvalidAttributeValue(name) => ApiError::new(
                ErrorCode::InvalidAttributeValue,
                format!("Invalid value for the parameter {name}."),
            ),
            E::InvalidAttributeValueBecause { name, reason } => ApiError::new(
                ErrorCode::InvalidAttributeValue,
                format!("Invalid value for the parameter {name}. Reason: {reason}"),
            ),
            E::InvalidParameterValue { name, value, reason } => ApiError::invalid_parameter(&name, &value, &reason),
            E::InvalidParameter(message) => ApiError::new(ErrorCode::InvalidParameterValue, message),
            E::MissingParameter(name) => ApiError::missing_parameter(&name),
            E::PurgeQueueInProgress(name) => ApiError::new(
                ErrorCode::PurgeQueueInProgress,
                format!("Only one PurgeQueue operation on {name} is allowed every 60 seconds."),
            ),
            E::InvalidMessageContents(message) => ApiError::new(ErrorCode::InvalidMessageContents, message),
            E::ReceiptHandleIsInvalid(handle) => ApiError::new(
                ErrorCode::ReceiptHandleIsInvalid,
                format!("The input receipt handle \"{handle}\" is not a valid receipt handle."),
            ),
            E::ReceiptHandleForAnotherQueue(handle) => ApiError::new(
                ErrorCode::ReceiptHandleIsInvalid,
                format!("The receipt handle \"{handle}\" is not valid for this queue."),
            ),
            E::EmptyBatchRequest(entry) => ApiError::new(
                ErrorCode::EmptyBatchRequest,
                format!("There should be at least one {entry} in the request."),
            ),
            E::TooManyEntriesInBatchRequest(n) => ApiError::new(
                ErrorCode::TooManyEntriesInBatchRequest,
                format!("Maximum number of entries per request are 10. You have sent {n}."),
            ),
            E::BatchEntryIdsNotDistinct(id) => {
                ApiError::new(ErrorCode::BatchEntryIdsNotDistinct, format!("Id {id} repeated."))
            }
            E::InvalidBatchEntryId(_) => ApiError::new(
                ErrorCode::InvalidBatchEntryId,
                "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.",
            ),
            E::BatchRequestTooLong(n) => ApiError::new(
                ErrorCode::BatchRequestTooLong,
                format!("Batch requests cannot be longer than 1048576 bytes. You have sent {n} bytes."),
            ),
            E::ResourceNotFound(message) => ApiError::new(ErrorCode::ResourceNotFoundException, message),
            E::OverLimit(message) => ApiError::new(ErrorCode::OverLimit, message),
            E::Encryption(error) => error,
            E::UnsignedToEncryptedQueue => ApiError::new(
                ErrorCode::InvalidSecurity,
                "All requests to this queue must use HTTPS and SigV4.",
            ),
            E::Store(StoreError::QueueNotFound) => ApiError::queue_does_not_exist(),
            E::Store(StoreError::Unavailable(_)) => ApiError::service_unavailable(),
            E::Store(StoreError::Conflict | StoreError::Backend(_)) => ApiError::internal_error(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> RequestContext {
        RequestContext::root("r-1", "000000000000", "us-east-1")
    }

    /// A storage failure's text, file paths and OS error included, was sent to clients as it was.
    #[test]
    fn a_storage_failure_is_sent_without_paths_or_os_errors() {
        let failure = StoreError::Backend(
            "record at offset 4096 of /var/lib/sluice/journal-0000000003.log fails its checksum: \
             Input/output error (os error 5)"
                .into(),
        );
        let error = QueueError::Store(failure).into_api_error(&context());
        assert_eq!(error.code, ErrorCode::InternalError);
        assert_eq!(
            error.message,
            "We encountered an internal error. Please try again."
        );
    }

    #[test]
    fn a_store_out_of_service_answers_service_unavailable() {
        let failure = StoreError::Unavailable(
            "journal write failed: No space left on device (os error 28)".into(),
        );
        let error = QueueError::Store(failure).into_api_error(&context());
        assert_eq!(error.code, ErrorCode::ServiceUnavailable);
        assert_eq!(error.code.http_status(), 503);
        assert!(!error.message.contains("os error"));
    }
}
