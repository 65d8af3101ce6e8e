//! The SQS API as Sluice's layers share it: the operations, their typed inputs and outputs, the request
//! context, and the AWS error codes.
//!
//! Nothing here knows a wire format or a storage engine. The protocol layer decodes JSON 1.0 and Query
//! requests into these inputs and renders these outputs; the queue layer consumes and produces them.

mod access;
mod calendar;
mod clock;
mod context;
mod encryption;
mod error;
mod operation;
pub mod types;

pub use access::{Access, ResourcePolicy};
pub use calendar::Utc;
pub use clock::{Clock, ManualClock, SystemClock};
pub use context::{Principal, PrincipalType, RequestContext, RoleSession};
pub use encryption::{BodyCipher, BodyKey, SealingQueue};
pub use error::{ApiError, ErrorCode};
pub use operation::Operation;

/// Whether the text is an AWS account id: exactly 12 digits.
pub fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// Whether the text has the shape of an AWS region name: two to four letters, one to three words of
/// letters, and a number of one or two digits, dash-separated (`us-east-1`, `us-gov-west-1`,
/// `eusc-de-east-1`). No region name is longer than a few dozen characters; the bound keeps a name made
/// up by a client out of URLs, ARNs and the journal.
pub fn is_region_name(text: &str) -> bool {
    const MAX_LEN: usize = 32;
    let parts: Vec<&str> = text.split('-').collect();
    let letters = |p: &&str, max: usize| {
        (1..=max).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_lowercase())
    };
    let [first, words @ .., number] = parts.as_slice() else {
        return false;
    };
    text.len() <= MAX_LEN
        && (2..=4).contains(&first.len())
        && letters(first, 4)
        && (1..=3).contains(&words.len())
        && words.iter().all(|w| letters(w, 12))
        && (1..=2).contains(&number.len())
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// Whether SQS accepts the character in text it stores and returns: the characters XML 1.0 can carry,
/// `#x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF`.
pub fn is_allowed_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_names_of_aws_shape_only() {
        for name in [
            "us-east-1",
            "eu-central-2",
            "us-gov-west-1",
            "cn-north-1",
            "ap-southeast-5",
            "il-central-1",
            "us-isob-east-1",
            "eusc-de-east-1",
        ] {
            assert!(is_region_name(name), "{name}");
        }
        let long = format!("us-{}-1", "a".repeat(10_000));
        for name in [
            "",
            "x@evil.example",
            "..",
            "a b",
            "us-east",
            "us-east-1a",
            "US-EAST-1",
            "us--east-1",
            "useast1",
            "u-east-1",
            "us-east-123",
            "us-a-b-c-d-1",
            long.as_str(),
        ] {
            assert!(!is_region_name(name), "{name:?}");
        }
    }
}
