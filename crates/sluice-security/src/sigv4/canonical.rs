//! The canonical request of SigV4: the request written in one exact form that signer and verifier both
//! derive, so that equal requests hash equally whatever the client's spelling of them.

use super::{Signature, SignedRequest};
use crate::text::{percent_encode, percent_encode_into};

/// Method, canonical URI, canonical query, canonical headers, signed headers and payload hash, one per
/// line.
pub(super) fn request(
    request: &SignedRequest<'_>,
    signature: &Signature,
    payload_hash: &str,
) -> String {
    let mut out = String::with_capacity(256 + request.query.map_or(0, str::len));
    out.push_str(request.method);
    out.push('\n');
    out.push_str(&uri(request.path));
    out.push('\n');
    out.push_str(&query(
        request.query.unwrap_or_default(),
        signature.presigned,
    ));
    out.push('\n');
    for name in &signature.signed_headers {
        out.push_str(name);
        out.push(':');
        let mut first = true;
        for value in request.headers.get_all(name.as_str()) {
            if !first {
                out.push(',');
            }
            first = false;
            fold_whitespace(&String::from_utf8_lossy(value.as_bytes()), &mut out);
        }
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&signature.signed_headers.join(";"));
    out.push('\n');
    out.push_str(payload_hash);
    out
}

/// The path without `.` and `..` segments or empty ones, keeping a trailing slash, then URI-encoded
/// (every service but S3 encodes the already-encoded path once more).
pub(super) fn uri(path: &str) -> String {
    if path == "/" {
        return path.to_string();
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(path.len() + 8);
    for segment in &segments {
        out.push('/');
        percent_encode_into(segment, &mut out);
    }
    if out.is_empty() || (path.ends_with('/') && !segments.is_empty()) {
        out.push('/');
    }
    out
}

/// The query's parameters decoded (`+` is a space, as forms write it), then each name and value
/// encoded as SigV4 encodes them and sorted; a presigned URL's own signature is left out.
pub(super) fn query(query: &str, presigned: bool) -> String {
    if query.is_empty() {
        return String::new();
    }
    let mut pairs: Vec<(String, String)> = query_pairs(query)
        .into_iter()
        .filter(|(name, _)| !(presigned && name == "X-Amz-Signature"))
        .map(|(name, value)| (percent_encode(&name), percent_encode(&value)))
        .collect();
    pairs.sort();
    let mut out = String::with_capacity(query.len() + 16);
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// A query string's parameters, decoded.
pub(super) fn query_pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect()
}

/// A header value trimmed, with each run of spaces and tabs inside it written as one space.
fn fold_whitespace(value: &str, out: &mut String) {
    let mut pending_space = false;
    for c in value.trim_matches(|c| c == ' ' || c == '\t').chars() {
        if c == ' ' || c == '\t' {
            pending_space = true;
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalised_then_encoded_again() {
        assert_eq!(uri("/"), "/");
        assert_eq!(uri(""), "/");
        assert_eq!(uri("/000000000000/orders"), "/000000000000/orders");
        assert_eq!(uri("/example/.."), "/");
        assert_eq!(uri("/./example/../foo/"), "/foo/");
        assert_eq!(uri("//example//"), "/example/");
        assert_eq!(uri("/example%20space/"), "/example%2520space/");
    }

    #[test]
    fn queries_are_decoded_reencoded_and_sorted() {
        assert_eq!(query("b=2&a=1&a=0", false), "a=0&a=1&b=2");
        assert_eq!(
            query("k=a+b&k2=a%20b&k3=%7e", false),
            "k=a%20b&k2=a%20b&k3=~"
        );
        assert_eq!(query("flag&x=", false), "flag=&x=");
        assert_eq!(query("X-Amz-Signature=abc&A=1", true), "A=1");
        assert_eq!(
            query("X-Amz-Signature=abc&A=1", false),
            "A=1&X-Amz-Signature=abc"
        );
    }

    #[test]
    fn header_values_are_trimmed_and_folded() {
        let mut out = String::new();
        fold_whitespace("  a   b \t c  ", &mut out);
        assert_eq!(out, "a b c");
    }
}
