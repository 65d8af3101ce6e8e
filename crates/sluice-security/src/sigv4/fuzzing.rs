//! Arbitrary bytes as a request for the signature reader and verifier, and the promises they keep on it
//! (no panic; a refusal is one of the errors of authentication), shared by the `sigv4_request` fuzz
//! target and the test that replays its corpus.

use http::{HeaderMap, HeaderName, HeaderValue};
use sluice_model::ErrorCode;

use super::{check_time, read_signature, verify, SignedRequest, SigningKeys};

pub struct FuzzRequest {
    method: String,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl FuzzRequest {
    /// The first line is `METHOD target`, the lines after it headers (`name:value`) up to an empty line,
    /// and the rest the body; what cannot be a header is left out.
    pub fn new(data: &[u8]) -> Self {
        let text = String::from_utf8_lossy(data);
        let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
        let mut lines = head.split('\n');
        let first = lines.next().unwrap_or_default();
        let (method, target) = first.split_once(' ').unwrap_or(("GET", first));
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p.to_string(), Some(q.to_string())),
            None => (target.to_string(), None),
        };
        let mut headers = HeaderMap::new();
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.trim().as_bytes()),
                HeaderValue::from_str(value),
            ) {
                headers.append(name, value);
            }
        }
        FuzzRequest {
            method: method.to_string(),
            path,
            query,
            headers,
            body: body.as_bytes().to_vec(),
        }
    }

    pub fn check(&self, keys: &SigningKeys) {
        let request = SignedRequest {
            method: &self.method,
            path: &self.path,
            query: self.query.as_deref(),
            headers: &self.headers,
            body: &self.body,
        };
        let refusals = [
            ErrorCode::IncompleteSignature,
            ErrorCode::SignatureDoesNotMatch,
            ErrorCode::RequestExpired,
        ];
        match read_signature(&request) {
            Ok(Some(signature)) => {
                assert_eq!(signature.signature.len(), 64);
                for now in [0, signature.request_time, i64::MAX / 2] {
                    if let Err(e) = check_time(&signature, now) {
                        assert!(refusals.contains(&e.code), "{e}");
                    }
                }
                if let Err(e) = verify(&signature, &request, "secret", keys) {
                    assert!(refusals.contains(&e.code), "{e}");
                }
            }
            Ok(None) => {}
            Err(e) => assert!(refusals.contains(&e.code), "{e}"),
        }
    }
}
