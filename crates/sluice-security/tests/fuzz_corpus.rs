//! Replays the SigV4 fuzz targets' corpora (`fuzz/corpus/sigv4_*/`) through what the targets drive, so
//! an input that once broke the reader or the verifier, kept there, is checked by every `cargo test`.

use std::path::PathBuf;

use sluice_security::sigv4::{self, SigningKeys};

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut inputs: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            (path.display().to_string(), bytes)
        })
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "{} is empty", dir.display());
    inputs
}

#[test]
fn sigv4_header_corpus_parses_or_is_refused() {
    for (name, data) in corpus("sigv4_header") {
        let Ok(text) = std::str::from_utf8(&data) else {
            continue;
        };
        let credentials = [
            sigv4::parse_authorization(text).map(|a| a.credential).ok(),
            sigv4::authorization_credential(text).ok(),
            sigv4::presigned_credential(text).and_then(Result::ok),
            sigv4::parse_credential(text).ok(),
        ];
        for credential in credentials.into_iter().flatten() {
            assert!(
                !credential.region.is_empty() && !credential.region.contains('/'),
                "{name}"
            );
        }
    }
}

#[test]
fn sigv4_request_corpus_is_verified_or_refused() {
    let keys = SigningKeys::default();
    for (_, data) in corpus("sigv4_request") {
        let input = sigv4::fuzzing::FuzzRequest::new(&data);
        input.check(&keys);
    }
}

#[test]
fn policy_document_corpus_is_accepted_or_refused() {
    for (_, data) in corpus("policy_document") {
        sluice_security::directory::fuzzing::check_policy_document(&data);
    }
}

#[test]
fn kms_ciphertext_corpus_is_read_or_refused() {
    for (_, data) in corpus("kms_ciphertext") {
        sluice_security::kms::fuzzing::check_ciphertext_blob(&data);
        sluice_security::sse::fuzzing::check_envelope(&data);
    }
}

#[test]
fn admin_request_corpus_reads_basic_credentials_or_nothing() {
    for (name, data) in corpus("admin_request") {
        let Ok(text) = std::str::from_utf8(&data) else {
            continue;
        };
        if let Some((access_key_id, secret)) = sluice_security::basic_credentials(text) {
            assert!(!access_key_id.contains(':'), "{name}");
            if name.ends_with("basic") {
                assert_eq!(
                    (access_key_id.as_str(), secret.as_str()),
                    ("AKIAEXAMPLE", "secret:with:colons")
                );
            }
        }
    }
}
