//! AWS Signature Version 4 (`AWS4-HMAC-SHA256`), just enough for the benchmark's requests: a canonical
//! request, the string to sign, the derived signing key and the `Authorization` header.
//!
//! The derived key depends only on the secret, the date, the region and the service, so a [`Signer`]
//! keeps the last one and derives a new key only when the UTC date changes.

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

type HmacSha256 = Hmac<Sha256>;

/// Lower-case hexadecimal of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

/// Percent-encodes everything but the SigV4 unreserved characters `A-Z a-z 0-9 - _ . ~`.
fn uri_encode(raw: &str, out: &mut String) {
    for &b in raw.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 0x0f)]));
        }
    }
}

/// The canonical query string of a raw (not yet percent-encoded) `a=b&c=d` query: each name and value
/// encoded, then sorted by name and value.
pub fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (name, value) = p.split_once('=').unwrap_or((p, ""));
            let mut n = String::new();
            let mut v = String::new();
            uri_encode(name, &mut n);
            uri_encode(value, &mut v);
            (n, v)
        })
        .collect();
    pairs.sort();
    let mut out = String::new();
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

/// A header value as SigV4 signs it: trimmed, with runs of spaces folded into one.
fn canonical_value(value: &str, out: &mut String) {
    let mut last_space = false;
    for c in value.trim().chars() {
        if c == ' ' || c == '\t' {
            if !last_space {
                out.push(' ');
            }
            last_space = true;
        } else {
            out.push(c);
            last_space = false;
        }
    }
}

/// The canonical request and the `SignedHeaders` list. `headers` are the headers to sign, any case and
/// any order; `payload_hash` is the hex SHA-256 of the body.
pub fn canonical_request(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
    payload_hash: &str,
) -> (String, String) {
    let mut sorted: Vec<(String, &str)> = headers
        .iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), *value))
        .collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut request = String::with_capacity(256);
    request.push_str(method);
    request.push('\n');
    request.push_str(if path.is_empty() { "/" } else { path });
    request.push('\n');
    request.push_str(&canonical_query(query));
    request.push('\n');
    let mut signed = String::new();
    for (i, (name, value)) in sorted.iter().enumerate() {
        request.push_str(name);
        request.push(':');
        canonical_value(value, &mut request);
        request.push('\n');
        if i > 0 {
            signed.push(';');
        }
        signed.push_str(name);
    }
    request.push('\n');
    request.push_str(&signed);
    request.push('\n');
    request.push_str(payload_hash);
    (request, signed)
}

/// `AWS4-HMAC-SHA256 \n <amz date> \n <scope> \n hex(sha256(canonical request))`.
pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// Credentials and scope, with the signing key of the most recent date.
#[derive(Clone)]
pub struct Signer {
    access_key: String,
    secret_key: String,
    region: String,
    service: String,
    cached: Option<(String, [u8; 32])>,
}

impl Signer {
    pub fn new(access_key: &str, secret_key: &str, region: &str, service: &str) -> Self {
        Signer {
            access_key: access_key.to_string(),
            secret_key: secret_key.to_string(),
            region: region.to_string(),
            service: service.to_string(),
            cached: None,
        }
    }

    fn key_for(&mut self, date: &str) -> [u8; 32] {
        match &self.cached {
            Some((cached_date, key)) if cached_date == date => *key,
            _ => {
                let key = signing_key(&self.secret_key, date, &self.region, &self.service);
                self.cached = Some((date.to_string(), key));
                key
            }
        }
    }

    /// The `Authorization` header value for a request. `amz_date` is `YYYYMMDDTHHMMSSZ` and must also be
    /// among `headers` as `x-amz-date`.
    pub fn authorization(
        &mut self,
        amz_date: &str,
        method: &str,
        path: &str,
        query: &str,
        headers: &[(&str, &str)],
        payload: &[u8],
    ) -> String {
        let date = &amz_date[..8];
        let scope = format!("{date}/{}/{}/aws4_request", self.region, self.service);
        let (canonical, signed_headers) =
            canonical_request(method, path, query, headers, &sha256_hex(payload));
        let to_sign = string_to_sign(amz_date, &scope, &canonical);
        let signature = hex(&hmac(&self.key_for(date), to_sign.as_bytes()));
        format!(
            "{ALGORITHM} Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            self.access_key
        )
    }
}

/// `YYYYMMDDTHHMMSSZ` for seconds since the Unix epoch (UTC, proleptic Gregorian calendar).
pub fn amz_date_from_unix(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (hour, minute, second) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    // Civil date from a day count, counting in 400-year eras that start on 1 March.
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // 0 = March
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}{month:02}{day:02}T{hour:02}{minute:02}{second:02}Z")
}

pub fn amz_date_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    amz_date_from_unix(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The worked example of the AWS Signature Version 4 documentation: IAM ListUsers signed in
    // us-east-1 on 2015-08-30 with the documentation's example secret key.
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const AMZ_DATE: &str = "20150830T123600Z";
    const HEADERS: [(&str, &str); 3] = [
        ("Host", "iam.amazonaws.com"),
        (
            "Content-Type",
            "application/x-www-form-urlencoded; charset=utf-8",
        ),
        ("X-Amz-Date", AMZ_DATE),
    ];
    const QUERY: &str = "Action=ListUsers&Version=2010-05-08";
    const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn canonical_request_matches_the_published_example() {
        let (canonical, signed) = canonical_request("GET", "/", QUERY, &HEADERS, &sha256_hex(b""));
        assert_eq!(
            canonical,
            "GET\n\
             /\n\
             Action=ListUsers&Version=2010-05-08\n\
             content-type:application/x-www-form-urlencoded; charset=utf-8\n\
             host:iam.amazonaws.com\n\
             x-amz-date:20150830T123600Z\n\
             \n\
             content-type;host;x-amz-date\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(signed, "content-type;host;x-amz-date");
        assert_eq!(
            sha256_hex(canonical.as_bytes()),
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
        );
        assert_eq!(sha256_hex(b""), EMPTY_SHA256);
    }

    #[test]
    fn string_to_sign_matches_the_published_example() {
        let (canonical, _) = canonical_request("GET", "/", QUERY, &HEADERS, EMPTY_SHA256);
        assert_eq!(
            string_to_sign(AMZ_DATE, "20150830/us-east-1/iam/aws4_request", &canonical),
            "AWS4-HMAC-SHA256\n\
             20150830T123600Z\n\
             20150830/us-east-1/iam/aws4_request\n\
             f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
        );
    }

    #[test]
    fn signing_key_matches_the_published_example() {
        assert_eq!(
            hex(&signing_key(SECRET, "20150830", "us-east-1", "iam")),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
    }

    #[test]
    fn signature_and_header_match_the_published_example() {
        let mut signer = Signer::new("AKIDEXAMPLE", SECRET, "us-east-1", "iam");
        let authorization = signer.authorization(AMZ_DATE, "GET", "/", QUERY, &HEADERS, b"");
        assert_eq!(
            authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
        // A second request on the same date reuses the cached key and signs the same.
        assert_eq!(
            signer.authorization(AMZ_DATE, "GET", "/", QUERY, &HEADERS, b""),
            authorization
        );
    }

    #[test]
    fn header_values_are_trimmed_and_folded() {
        let (canonical, signed) = canonical_request(
            "POST",
            "",
            "",
            &[
                ("X-Amz-Target", "  AmazonSQS.SendMessage "),
                ("My", "a   b"),
            ],
            EMPTY_SHA256,
        );
        assert!(canonical.starts_with("POST\n/\n\nmy:a b\nx-amz-target:AmazonSQS.SendMessage\n\n"));
        assert_eq!(signed, "my;x-amz-target");
    }

    #[test]
    fn query_is_encoded_and_sorted() {
        assert_eq!(canonical_query("b=2&a=x y&a=1"), "a=1&a=x%20y&b=2");
        assert_eq!(canonical_query(""), "");
    }

    #[test]
    fn amz_dates() {
        assert_eq!(amz_date_from_unix(0), "19700101T000000Z");
        assert_eq!(amz_date_from_unix(1_440_938_160), AMZ_DATE);
        assert_eq!(amz_date_from_unix(1_709_251_199), "20240229T235959Z");
        assert_eq!(amz_date_from_unix(951_868_800), "20000301T000000Z");
    }
}
