//! AWS Signature Version 4, verified as AWS verifies it: the signature a request presents (in its
//! `Authorization` header or its presigned query string) is computed again from the request and the
//! signer's secret, and the two are compared in constant time. Every refusal is the `ApiError` AWS
//! answers with; which key is unknown, inactive or expired is the caller's question.

mod canonical;
#[doc(hidden)]
pub mod fuzzing;
mod parse;

use std::collections::HashMap;
use std::sync::Mutex;

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use sluice_model::{ApiError, ErrorCode};
use subtle::ConstantTimeEq;

use sluice_model::Utc;

pub use parse::{
    authorization_credential, parse_authorization, parse_credential, presigned_credential,
    Authorization, Credential, ParseError, ALGORITHM,
};

/// The clock skew AWS tolerates between a signature's time and its own, either way.
pub const CLOCK_WINDOW_SECONDS: i64 = 15 * 60;
/// The longest a presigned URL may be valid for.
pub const MAX_PRESIGNED_EXPIRES: i64 = 7 * 24 * 60 * 60;

/// The parts of an HTTP request a signature covers, as they came off the wire.
#[derive(Clone, Copy, Debug)]
pub struct SignedRequest<'a> {
    pub method: &'a str,
    /// The path as received, still percent-encoded.
    pub path: &'a str,
    /// The query string as received.
    pub query: Option<&'a str>,
    pub headers: &'a http::HeaderMap,
    pub body: &'a [u8],
}

/// The signature a request presents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    pub credential: Credential,
    /// Lower-case header names, as listed.
    pub signed_headers: Vec<String>,
    /// Lower-case hex.
    pub signature: String,
    /// `X-Amz-Date` (or the `Date` header) in ISO 8601 basic form, as the string to sign has it.
    pub amz_date: String,
    /// The same instant in epoch seconds.
    pub request_time: i64,
    /// A presigned URL's `X-Amz-Expires`, in seconds.
    pub expires: Option<i64>,
    pub security_token: Option<String>,
    pub presigned: bool,
}

/// The signature of `request`, or `None` for a request that carries none (no `Authorization` header and
/// no `X-Amz-*` signing parameters in its query string).
pub fn read_signature(request: &SignedRequest<'_>) -> Result<Option<Signature>, ApiError> {
    if let Some(header) = request.headers.get(http::header::AUTHORIZATION) {
        let header = header
            .to_str()
            .map_err(|_| incomplete("The Authorization header is not text."))?;
        return header_signature(request, header).map(Some);
    }
    let params = canonical::query_pairs(request.query.unwrap_or_default());
    let signs = |name: &str| params.iter().any(|(n, _)| n == name);
    if signs("X-Amz-Algorithm") || signs("X-Amz-Credential") || signs("X-Amz-Signature") {
        return presigned_signature(&params).map(Some);
    }
    Ok(None)
}

/// The credential scope a request names, read leniently (whatever the rest of its signature): what
/// decides the service and region of a request, and the caller with authentication off.
pub fn scope_of(request: &SignedRequest<'_>) -> Option<Credential> {
    if let Some(header) = request.headers.get(http::header::AUTHORIZATION) {
        return header
            .to_str()
            .ok()
            .and_then(|h| authorization_credential(h).ok());
    }
    request
        .query
        .and_then(presigned_credential)
        .and_then(Result::ok)
}

fn header_signature(request: &SignedRequest<'_>, header: &str) -> Result<Signature, ApiError> {
    let authorization = parse_authorization(header).map_err(|e| {
        incomplete(format!(
            "{}. Authorization={}",
            incomplete_reason(&e),
            printable(header)
        ))
    })?;
    let (amz_date, request_time) = match request.headers.get("x-amz-date") {
        Some(value) => {
            let text = value.to_str().unwrap_or_default().trim();
            let time = parse_amz_date(text).ok_or_else(|| {
                incomplete(format!(
                    "Date must be in ISO-8601 'basic format'. Got '{}'. See http://en.wikipedia.org/wiki/ISO_8601",
                    printable(text)
                ))
            })?;
            (text.to_string(), time)
        }
        None => {
            let date = request
                .headers
                .get(http::header::DATE)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| {
                    incomplete(format!(
                        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization={}",
                        printable(header)
                    ))
                })?;
            let time = httpdate::parse_http_date(date)
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .and_then(|d| i64::try_from(d.as_secs()).ok())
                .ok_or_else(|| {
                    incomplete(format!(
                        "Date header '{}' is not an HTTP date.",
                        printable(date)
                    ))
                })?;
            (format_amz_date(time), time)
        }
    };
    let security_token = request
        .headers
        .get("x-amz-security-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    Ok(Signature {
        credential: authorization.credential,
        signed_headers: authorization.signed_headers,
        signature: authorization.signature,
        amz_date,
        request_time,
        expires: None,
        security_token,
        presigned: false,
    })
}

fn presigned_signature(params: &[(String, String)]) -> Result<Signature, ApiError> {
    let get = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let required = [
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Signature",
        "X-Amz-Date",
        "X-Amz-SignedHeaders",
    ];
    if required.iter().any(|name| get(name).is_none()) {
        return Err(incomplete(
            "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', \
             'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders'. Re-examine the query-string parameters.",
        ));
    }
    let algorithm = get("X-Amz-Algorithm").unwrap_or_default();
    if algorithm != ALGORITHM {
        return Err(incomplete(format!(
            "X-Amz-Algorithm only supports \"{ALGORITHM}\", not \"{}\".",
            printable(algorithm)
        )));
    }
    let credential = parse_credential(get("X-Amz-Credential").unwrap_or_default())
        .map_err(|e| incomplete(incomplete_reason(&e)))?;
    let signed_headers =
        parse::parse_signed_headers(get("X-Amz-SignedHeaders").unwrap_or_default())
            .map_err(|e| incomplete(incomplete_reason(&e)))?;
    let signature = get("X-Amz-Signature").unwrap_or_default().to_string();
    if signature.len() != 64 || !signature.bytes().all(parse::is_lower_hex) {
        return Err(incomplete(incomplete_reason(&ParseError::Signature)));
    }
    let amz_date = get("X-Amz-Date").unwrap_or_default();
    let request_time = parse_amz_date(amz_date).ok_or_else(|| {
        incomplete(format!(
            "X-Amz-Date must be in ISO-8601 'basic format'. Got '{}'.",
            printable(amz_date)
        ))
    })?;
    let expires = match get("X-Amz-Expires") {
        None => None,
        Some(text) => {
            let seconds = text
                .parse::<i64>()
                .ok()
                .filter(|s| *s >= 0)
                .ok_or_else(|| incomplete("X-Amz-Expires should be a number of seconds."))?;
            if seconds > MAX_PRESIGNED_EXPIRES {
                return Err(incomplete(format!(
                    "X-Amz-Expires must be less than a week (in seconds) that is {MAX_PRESIGNED_EXPIRES}"
                )));
            }
            Some(seconds)
        }
    };
    Ok(Signature {
        credential,
        signed_headers,
        signature,
        amz_date: amz_date.to_string(),
        request_time,
        expires,
        security_token: get("X-Amz-Security-Token").map(str::to_string),
        presigned: true,
    })
}

/// Whether the signature's time is acceptable at `now`: within 15 minutes either way, and for a
/// presigned URL, not past its expiry.
pub fn check_time(signature: &Signature, now: i64) -> Result<(), ApiError> {
    let time = signature.request_time;
    if let Some(expires) = signature.expires.filter(|_| signature.presigned) {
        if now > time.saturating_add(expires) {
            return Err(ApiError::new(
                ErrorCode::RequestExpired,
                "Request has expired.",
            ));
        }
        if time > now + CLOCK_WINDOW_SECONDS {
            return Err(not_yet_current(time, now));
        }
        return Ok(());
    }
    if time < now - CLOCK_WINDOW_SECONDS {
        return Err(ApiError::new(
            ErrorCode::SignatureDoesNotMatch,
            format!(
                "Signature expired: {} is now earlier than {} ({} - 15 min.)",
                format_amz_date(time),
                format_amz_date(now - CLOCK_WINDOW_SECONDS),
                format_amz_date(now)
            ),
        ));
    }
    if time > now + CLOCK_WINDOW_SECONDS {
        return Err(not_yet_current(time, now));
    }
    Ok(())
}

fn not_yet_current(time: i64, now: i64) -> ApiError {
    ApiError::new(
        ErrorCode::SignatureDoesNotMatch,
        format!(
            "Signature not yet current: {} is still later than {} ({} + 15 min.)",
            format_amz_date(time),
            format_amz_date(now + CLOCK_WINDOW_SECONDS),
            format_amz_date(now)
        ),
    )
}

/// Derived signing keys by access key, day, region and service: deriving one is four HMACs, and a
/// client signs every request of a day with the same one. The secret is kept with its key so that a
/// different secret under the same access key id never meets a key derived from another.
#[derive(Default)]
pub struct SigningKeys {
    keys: Mutex<HashMap<String, DerivedKey>>,
}

/// The secret a key was derived from, and the key.
type DerivedKey = (Vec<u8>, [u8; 32]);

/// Entries kept before the cache starts over; far more than the keys in use in one day.
const SIGNING_KEYS_KEPT: usize = 4096;

impl SigningKeys {
    fn key(&self, secret: &str, credential: &Credential) -> [u8; 32] {
        // No part of a parsed credential contains `/`, so the joined scope names it exactly.
        let id = [
            credential.access_key_id.as_str(),
            &credential.date,
            &credential.region,
            &credential.service,
        ]
        .join("/");
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((cached_secret, key)) = keys.get(&id) {
            if bool::from(cached_secret.as_slice().ct_eq(secret.as_bytes())) {
                return *key;
            }
        }
        let key = signing_key(secret, credential);
        if keys.len() >= SIGNING_KEYS_KEPT {
            keys.clear();
        }
        keys.insert(id, (secret.as_bytes().to_vec(), key));
        key
    }
}

/// The SigV4 signing key: the secret, then the day, region, service and terminator, each by HMAC.
fn signing_key(secret: &str, credential: &Credential) -> [u8; 32] {
    let mut key = hmac(
        format!("AWS4{secret}").as_bytes(),
        credential.date.as_bytes(),
    );
    for part in [
        credential.region.as_str(),
        credential.service.as_str(),
        "aws4_request",
    ] {
        key = hmac(&key, part.as_bytes());
    }
    key
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Checks `signature` against the one computed from `request` with `secret`.
pub fn verify(
    signature: &Signature,
    request: &SignedRequest<'_>,
    secret: &str,
    keys: &SigningKeys,
) -> Result<(), ApiError> {
    if !signature.signed_headers.iter().any(|h| h == "host") {
        return Err(incomplete(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }
    // The parsers accept only 64 lower-case hex digits, so this decodes whatever a `Signature` holds.
    let Some(presented) = decode_signature(&signature.signature) else {
        return Err(mismatch());
    };
    let body_hash = hex(&Sha256::digest(request.body));
    let key = keys.key(secret, &signature.credential);
    let matches = |payload_hash: &str| {
        let canonical = canonical::request(request, signature, payload_hash);
        let mut string_to_sign = String::with_capacity(160);
        for part in [
            ALGORITHM,
            "\n",
            &signature.amz_date,
            "\n",
            &signature.credential.date,
            "/",
            &signature.credential.region,
            "/",
            &signature.credential.service,
            "/aws4_request\n",
        ] {
            string_to_sign.push_str(part);
        }
        string_to_sign.push_str(&hex(&Sha256::digest(canonical.as_bytes())));
        let expected = hmac(&key, string_to_sign.as_bytes());
        bool::from(expected.ct_eq(&presented))
    };
    // A presigned URL says nothing of a body; signers hash the empty body or write UNSIGNED-PAYLOAD,
    // which is the same promise when there is no body.
    let unsigned_allowed = signature.presigned && request.body.is_empty();
    if matches(&body_hash) || (unsigned_allowed && matches("UNSIGNED-PAYLOAD")) {
        Ok(())
    } else {
        Err(mismatch())
    }
}

fn mismatch() -> ApiError {
    ApiError::new(
        ErrorCode::SignatureDoesNotMatch,
        "The request signature we calculated does not match the signature you provided. Check your \
         AWS Secret Access Key and signing method. Consult the service documentation for details.",
    )
}

/// 64 hex digits as the 32 bytes they write.
fn decode_signature(text: &str) -> Option<[u8; 32]> {
    let digits = text.as_bytes();
    if digits.len() != 64 {
        return None;
    }
    let value = |d: u8| {
        char::from(d)
            .to_digit(16)
            .and_then(|v| u8::try_from(v).ok())
    };
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = value(pair[0])? << 4 | value(pair[1])?;
    }
    Some(out)
}

/// The answer to an access key AWS does not know (or one that is inactive, or a session key without
/// its token).
pub fn invalid_client_token_id() -> ApiError {
    ApiError::new(
        ErrorCode::InvalidClientTokenId,
        "The security token included in the request is invalid.",
    )
}

/// The answer to a role session's key used after the session ended.
pub fn expired_token() -> ApiError {
    ApiError::new(
        ErrorCode::ExpiredToken,
        "The security token included in the request is expired",
    )
}

/// The answer to a request with no signature where one is required.
pub fn missing_authentication_token() -> ApiError {
    ApiError::new(
        ErrorCode::MissingAuthenticationToken,
        "Request is missing Authentication Token",
    )
}

fn incomplete(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::IncompleteSignature, message)
}

fn incomplete_reason(error: &ParseError) -> String {
    match error {
        ParseError::NotSigV4 => format!("Authorization header must use the {ALGORITHM} algorithm"),
        ParseError::Missing(part) => format!("Authorization header requires '{part}' parameter"),
        ParseError::Credential => {
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term"
                .to_string()
        }
        ParseError::SignedHeaders => "SignedHeaders must be lower-case header names separated by ';'".to_string(),
        ParseError::Signature => "Signature must be 64 lower-case hexadecimal digits".to_string(),
    }
}

/// Client text echoed in a message: at most 256 characters, control characters dropped.
fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(256).collect()
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let digits: Vec<u8> = bytes
        .iter()
        .flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]])
        .collect();
    String::from_utf8(digits).unwrap_or_default()
}

/// `YYYYMMDD'T'HHMMSS'Z'` to epoch seconds.
pub fn parse_amz_date(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let (year, month, day) = (digits(0..4)?, digits(4..6)?, digits(6..8)?);
    let (hour, minute, second) = (digits(9..11)?, digits(11..13)?, digits(13..15)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    Some(Utc(year, month, day, hour, minute, second).to_epoch())
}

/// Epoch seconds to `YYYYMMDD'T'HHMMSS'Z'`.
fn format_amz_date(epoch: i64) -> String {
    let Utc(year, month, day, hour, minute, second) = Utc::from_epoch(epoch);
    format!("{year:04}{month:02}{day:02}T{hour:02}{minute:02}{second:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        for text in [
            "20150830T123600Z",
            "19700101T000000Z",
            "20240229T235959Z",
            "21001231T000000Z",
        ] {
            let epoch = parse_amz_date(text).unwrap();
            assert_eq!(format_amz_date(epoch), text);
        }
        assert_eq!(parse_amz_date("20150830T123600Z"), Some(1_440_938_160));
        for bad in [
            "20150830T123600",
            "2015083OT123600Z",
            "20151330T123600Z",
            "+0150830T123600Z",
        ] {
            assert_eq!(parse_amz_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_clock_window_is_fifteen_minutes_both_ways() {
        let at = |time: i64| Signature {
            credential: parse_credential("AKID/20150830/us-east-1/sqs/aws4_request").unwrap(),
            signed_headers: vec!["host".into()],
            signature: "0".repeat(64),
            amz_date: format_amz_date(time),
            request_time: time,
            expires: None,
            security_token: None,
            presigned: false,
        };
        let now = 1_440_938_160;
        assert!(check_time(&at(now - 900), now).is_ok());
        assert!(check_time(&at(now + 900), now).is_ok());
        let late = check_time(&at(now - 901), now).unwrap_err();
        assert_eq!(late.code, ErrorCode::SignatureDoesNotMatch);
        assert_eq!(
            late.message,
            "Signature expired: 20150830T122059Z is now earlier than 20150830T122100Z (20150830T123600Z - 15 min.)"
        );
        let early = check_time(&at(now + 901), now).unwrap_err();
        assert!(early
            .message
            .starts_with("Signature not yet current: 20150830T125101Z is still later than"));

        let mut presigned = at(now - 3600);
        presigned.presigned = true;
        presigned.expires = Some(3600);
        assert!(
            check_time(&presigned, now).is_ok(),
            "valid to its last second"
        );
        let expired = check_time(&presigned, now + 1).unwrap_err();
        assert_eq!(
            (expired.code, expired.message.as_str()),
            (ErrorCode::RequestExpired, "Request has expired.")
        );
    }
}
