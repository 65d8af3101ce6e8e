//! The SQS API as Sluice's layers share it: the operations, their typed inputs and outputs, the request
//! context, and the AWS error codes.
//!
//! Nothing here knows a wire format or a storage engine. The protocol layer decodes JSON 1.0 and Query
//! requests into these inputs and renders these outputs; the queue layer consumes and produces them.

mod context;
mod error;
mod operation;
pub mod types;

pub use context::{Identity, RequestContext};
pub use error::{ApiError, ErrorCode};
pub use operation::Operation;

/// Whether the text is an AWS account id: exactly 12 digits.
pub fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// Whether SQS accepts the character in text it stores and returns: the characters XML 1.0 can carry,
/// `#x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF`.
pub fn is_allowed_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}
