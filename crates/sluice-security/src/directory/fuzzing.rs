//! Arbitrary text as a policy document, and the promise the checker keeps on it (no panic; a refusal is
//! `MalformedPolicyDocument`), shared by the `policy_document` fuzz target and the test that replays
//! its corpus.

use super::policy_document::{validate, DocumentKind};

pub fn check_policy_document(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for kind in [DocumentKind::Identity, DocumentKind::Trust] {
        match validate(text, kind) {
            Ok(statements) => assert!(!statements.is_empty(), "{text}"),
            Err(e) => assert_eq!(e.code, "MalformedPolicyDocument", "{text}"),
        }
    }
}
