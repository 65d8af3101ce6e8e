//! The web console's own actions (`X-Amz-Target: SluiceConsole.<Action>`), decoded from their AWS
//! JSON 1.0 bodies. Which listener may send them, and what they do, is the server's business.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use sluice_model::{ApiError, ErrorCode};

/// The `X-Amz-Target` prefix of the console's actions.
pub const CONSOLE_TARGET_PREFIX: &str = "SluiceConsole.";

/// A page of the queues the caller may list, with their depths.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct ConsoleListQueues {
    #[serde(default)]
    pub search: Option<String>,
    #[serde(default)]
    pub offset: Option<usize>,
    #[serde(default)]
    pub limit: Option<usize>,
}

/// The messages a receive would take, without receiving them.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct ConsolePeekMessages {
    pub queue_url: String,
    #[serde(default)]
    pub max_number_of_messages: Option<i64>,
}

/// A queue's last hour.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct ConsoleQueueHistory {
    pub queue_url: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsoleRequest {
    ListQueues(ConsoleListQueues),
    PeekMessages(ConsolePeekMessages),
    GetQueueHistory(ConsoleQueueHistory),
}

/// Decodes the body of console action `action` (the target without its prefix). An empty body
/// is an empty object, as for the SQS actions.
pub fn decode_console(action: &str, body: &[u8]) -> Result<ConsoleRequest, ApiError> {
    match action {
        "ListQueues" => parse(body).map(ConsoleRequest::ListQueues),
        "PeekMessages" => parse(body).map(ConsoleRequest::PeekMessages),
        "GetQueueHistory" => parse(body).map(ConsoleRequest::GetQueueHistory),
        _ => Err(ApiError::new(
            ErrorCode::UnknownOperation,
            format!("Unknown operation {CONSOLE_TARGET_PREFIX}{action}"),
        )),
    }
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            ErrorCode::SerializationException,
            format!("The request body is not a valid console request: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_each_action_and_refuses_what_is_not_one() {
        assert_eq!(
            decode_console("ListQueues", b"").unwrap(),
            ConsoleRequest::ListQueues(ConsoleListQueues::default())
        );
        assert_eq!(
            decode_console(
                "PeekMessages",
                br#"{"QueueUrl":"u","MaxNumberOfMessages":3}"#
            )
            .unwrap(),
            ConsoleRequest::PeekMessages(ConsolePeekMessages {
                queue_url: "u".into(),
                max_number_of_messages: Some(3),
            })
        );
        let missing = decode_console("GetQueueHistory", b"{}").unwrap_err();
        assert_eq!(missing.code, ErrorCode::SerializationException);
        let negative = decode_console("ListQueues", br#"{"Offset":-1}"#).unwrap_err();
        assert_eq!(negative.code, ErrorCode::SerializationException);
        let unknown = decode_console("DropTables", b"{}").unwrap_err();
        assert_eq!(unknown.code, ErrorCode::UnknownOperation);
    }
}
