//! How AWS escapes text, shared by SigV4 and the IAM and STS answers.

/// RFC 3986 percent-encoding of everything but unreserved characters, hex digits in upper case: how
/// SigV4 canonicalizes paths and queries, and how IAM returns policy documents.
pub(crate) fn percent_encode_into(text: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
}

pub(crate) fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3 / 2);
    percent_encode_into(text, &mut out);
    out
}
