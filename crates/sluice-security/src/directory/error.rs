//! The errors of the IAM and STS actions, worded as IAM and STS word them. The front renders `code`,
//! `message`, `status` and the fault as the Query error document.

use sluice_store::StoreError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityError {
    pub code: &'static str,
    pub message: String,
    pub status: u16,
    pub sender_fault: bool,
}

impl std::fmt::Display for SecurityError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for SecurityError {}

impl SecurityError {
    fn sender(code: &'static str, status: u16, message: impl Into<String>) -> Self {
        SecurityError {
            code,
            message: message.into(),
            status,
            sender_fault: true,
        }
    }

    pub fn no_such_entity(message: impl Into<String>) -> Self {
        Self::sender("NoSuchEntity", 404, message)
    }

    pub fn entity_already_exists(message: impl Into<String>) -> Self {
        Self::sender("EntityAlreadyExists", 409, message)
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::sender("ValidationError", 400, message)
    }

    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::sender("InvalidInput", 400, message)
    }

    pub fn malformed_policy(message: impl Into<String>) -> Self {
        Self::sender("MalformedPolicyDocument", 400, message)
    }

    pub fn limit_exceeded(message: impl Into<String>) -> Self {
        Self::sender("LimitExceeded", 409, message)
    }

    pub fn delete_conflict(message: impl Into<String>) -> Self {
        Self::sender("DeleteConflict", 409, message)
    }

    pub fn access_denied(message: impl Into<String>) -> Self {
        Self::sender("AccessDenied", 403, message)
    }

    pub fn packed_policy_too_large(message: impl Into<String>) -> Self {
        Self::sender("PackedPolicyTooLarge", 400, message)
    }

    pub fn invalid_action(action: &str) -> Self {
        Self::sender(
            "InvalidAction",
            400,
            format!("Could not find operation {action} for version"),
        )
    }

    /// The Query API's wording for a required member left out.
    pub fn missing(member: &str) -> Self {
        Self::validation(format!(
            "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
            lower_first(member)
        ))
    }

    /// The Query API's wording for a member that breaks a constraint of the model.
    pub fn constraint(member: &str, value: &str, constraint: &str) -> Self {
        Self::validation(format!(
            "1 validation error detected: Value '{value}' at '{}' failed to satisfy constraint: {constraint}",
            lower_first(member)
        ))
    }

    /// A failure of the backend: the client may retry, and the detail stays in the log.
    pub fn service_failure() -> Self {
        SecurityError {
            code: "ServiceFailure",
            message: "The request processing has failed because of an unknown error, exception or failure.".into(),
            status: 500,
            sender_fault: false,
        }
    }
}

fn lower_first(member: &str) -> String {
    let mut chars = member.chars();
    match chars.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

impl From<StoreError> for SecurityError {
    fn from(error: StoreError) -> Self {
        tracing::error!(%error, "security records unavailable");
        match error {
            // The backend is out of service for now (a lost database): a 503 the SDKs retry.
            StoreError::Unavailable(_) => SecurityError {
                code: "ServiceUnavailable",
                message: "The request has failed due to a temporary failure of the server.".into(),
                status: 503,
                sender_fault: false,
            },
            _ => SecurityError::service_failure(),
        }
    }
}
