//! SigV4 credential parsing: the `Authorization` header and a presigned query string's
//! `X-Amz-Credential`. Any text must parse or be refused, never panic, and what parses must hold
//! together: a credential scope's parts are non-empty and contain no `/`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_security::sigv4::{self, Credential};

fn check(credential: &Credential) {
    for part in [
        &credential.access_key_id,
        &credential.date,
        &credential.region,
        &credential.service,
    ] {
        assert!(!part.is_empty() && !part.contains('/'), "{credential:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(authorization) = sigv4::parse_authorization(text) {
        check(&authorization.credential);
        assert_eq!(authorization.signature.len(), 64);
        assert!(!authorization.signed_headers.is_empty());
    }
    if let Ok(credential) = sigv4::authorization_credential(text) {
        check(&credential);
    }
    if let Some(Ok(credential)) = sigv4::presigned_credential(text) {
        check(&credential);
    }
    if let Ok(credential) = sigv4::parse_credential(text) {
        check(&credential);
    }
});
