//! Reading AWS Signature Version 4 as clients send it: the `Authorization` header
//! (`AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/<service>/aws4_request, SignedHeaders=...,
//! Signature=...`) and the `X-Amz-Credential` of a presigned query string. Pure functions of their text,
//! so they can be tested against AWS's published examples and fuzzed.

pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const TERMINATOR: &str = "aws4_request";

/// The credential and its scope: who signed, on which day, for which region and service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    pub access_key_id: String,
    /// `YYYYMMDD`.
    pub date: String,
    pub region: String,
    pub service: String,
}

/// The parts of a SigV4 `Authorization` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authorization {
    pub credential: Credential,
    /// Lower-case header names, in the order signed.
    pub signed_headers: Vec<String>,
    /// Lower-case hex.
    pub signature: String,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the authorization is not {ALGORITHM}")]
    NotSigV4,
    #[error("the authorization header has no {0} component")]
    Missing(&'static str),
    #[error("the credential is not <key>/<date>/<region>/<service>/{TERMINATOR}")]
    Credential,
    #[error("the signed headers are not a list of lower-case header names")]
    SignedHeaders,
    #[error("the signature is not 64 hexadecimal digits")]
    Signature,
}

/// Reads an `Authorization` header. Components may come in any order, separated by commas with or
/// without spaces, as AWS accepts them.
pub fn parse_authorization(header: &str) -> Result<Authorization, ParseError> {
    let components = components(header)?;
    let credential = parse_credential(
        components
            .credential
            .ok_or(ParseError::Missing("Credential"))?,
    )?;
    let signed_headers = parse_signed_headers(
        components
            .signed_headers
            .ok_or(ParseError::Missing("SignedHeaders"))?,
    )?;
    let signature = components
        .signature
        .ok_or(ParseError::Missing("Signature"))?;
    if signature.len() != 64 || !signature.bytes().all(is_lower_hex) {
        return Err(ParseError::Signature);
    }
    Ok(Authorization {
        credential,
        signed_headers,
        signature: signature.to_string(),
    })
}

/// Only the credential of an `Authorization` header: what names the account and region of a request
/// while signatures are not verified, so a header with a signature of another form still names them.
pub fn authorization_credential(header: &str) -> Result<Credential, ParseError> {
    parse_credential(
        components(header)?
            .credential
            .ok_or(ParseError::Missing("Credential"))?,
    )
}

struct Components<'a> {
    credential: Option<&'a str>,
    signed_headers: Option<&'a str>,
    signature: Option<&'a str>,
}

fn components(header: &str) -> Result<Components<'_>, ParseError> {
    let rest = header
        .trim_start()
        .strip_prefix(ALGORITHM)
        .filter(|rest| rest.starts_with(' '))
        .ok_or(ParseError::NotSigV4)?;
    let mut found = Components {
        credential: None,
        signed_headers: None,
        signature: None,
    };
    for component in rest.split(',').map(str::trim) {
        if let Some(value) = component.strip_prefix("Credential=") {
            found.credential = Some(value);
        } else if let Some(value) = component.strip_prefix("SignedHeaders=") {
            found.signed_headers = Some(value);
        } else if let Some(value) = component.strip_prefix("Signature=") {
            found.signature = Some(value);
        }
    }
    Ok(found)
}

/// Reads `<key>/<date>/<region>/<service>/aws4_request`. The region is returned as written: whether it
/// names a region the server serves is the caller's question.
pub fn parse_credential(text: &str) -> Result<Credential, ParseError> {
    let parts: Vec<&str> = text.split('/').collect();
    let [key, date, region, service, terminator] = parts.as_slice() else {
        return Err(ParseError::Credential);
    };
    let date_ok = date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit());
    if key.is_empty()
        || !date_ok
        || region.is_empty()
        || service.is_empty()
        || *terminator != TERMINATOR
    {
        return Err(ParseError::Credential);
    }
    Ok(Credential {
        access_key_id: key.to_string(),
        date: date.to_string(),
        region: region.to_string(),
        service: service.to_string(),
    })
}

/// The `X-Amz-Credential` of a presigned URL's query string, if it has one.
pub fn presigned_credential(query: &str) -> Option<Result<Credential, ParseError>> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "X-Amz-Credential")
        .map(|(_, value)| parse_credential(&value))
}

pub(super) fn parse_signed_headers(text: &str) -> Result<Vec<String>, ParseError> {
    let names: Vec<&str> = text.split(';').collect();
    let valid = |name: &&str| {
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    };
    if !names.iter().all(valid) {
        return Err(ParseError::SignedHeaders);
    }
    Ok(names.into_iter().map(str::to_string).collect())
}

pub(super) fn is_lower_hex(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header of AWS's published SigV4 example (IAM `ListUsers`, 2015-08-30), byte for byte.
    const PUBLISHED: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";

    #[test]
    fn the_published_example_header_parses() {
        let parsed = parse_authorization(PUBLISHED).unwrap();
        assert_eq!(
            parsed,
            Authorization {
                credential: Credential {
                    access_key_id: "AKIDEXAMPLE".into(),
                    date: "20150830".into(),
                    region: "us-east-1".into(),
                    service: "iam".into(),
                },
                signed_headers: vec!["content-type".into(), "host".into(), "x-amz-date".into()],
                signature: "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
                    .into(),
            }
        );
        let unspaced = PUBLISHED.replace(", ", ",");
        assert_eq!(parse_authorization(&unspaced), Ok(parsed.clone()));
        let reordered = "AWS4-HMAC-SHA256 Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7, SignedHeaders=content-type;host;x-amz-date, Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request";
        assert_eq!(parse_authorization(reordered), Ok(parsed));
    }

    #[test]
    fn malformed_headers_are_named() {
        assert_eq!(parse_authorization("Basic abc"), Err(ParseError::NotSigV4));
        assert_eq!(
            parse_authorization("AWS4-HMAC-SHA256X Credential=a/20150830/r/s/aws4_request"),
            Err(ParseError::NotSigV4)
        );
        assert_eq!(
            parse_authorization(&PUBLISHED.replace("Credential=", "Cred=")),
            Err(ParseError::Missing("Credential"))
        );
        assert_eq!(
            parse_authorization(&PUBLISHED.replace("/iam/aws4_request", "/iam")),
            Err(ParseError::Credential)
        );
        assert_eq!(
            parse_authorization(&PUBLISHED.replace("20150830", "2015083")),
            Err(ParseError::Credential)
        );
        assert_eq!(
            parse_authorization(&PUBLISHED.replace("content-type;host", "Content-Type;;host")),
            Err(ParseError::SignedHeaders)
        );
        assert_eq!(
            parse_authorization(&PUBLISHED.replace("5d672d79", "5D672D79")),
            Err(ParseError::Signature)
        );
    }

    #[test]
    fn the_credential_alone_is_read_whatever_the_signature() {
        let header = "AWS4-HMAC-SHA256 Credential=123456789012/20240101/eu-west-1/sqs/aws4_request, Signature=abc";
        assert_eq!(
            parse_authorization(header),
            Err(ParseError::Missing("SignedHeaders"))
        );
        let credential = authorization_credential(header).unwrap();
        assert_eq!(credential.access_key_id, "123456789012");
        assert_eq!(credential.region, "eu-west-1");
        assert_eq!(
            authorization_credential("AWS4-HMAC-SHA256 Signature=abc"),
            Err(ParseError::Missing("Credential"))
        );
    }

    #[test]
    fn presigned_query_credential_is_decoded() {
        let query = "Action=ListQueues&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fap-south-1%2Fsqs%2Faws4_request";
        let credential = presigned_credential(query).unwrap().unwrap();
        assert_eq!(credential.access_key_id, "AKIDEXAMPLE");
        assert_eq!(credential.region, "ap-south-1");
        assert_eq!(presigned_credential("Action=ListQueues"), None);
        assert_eq!(
            presigned_credential("X-Amz-Credential=AKID"),
            Some(Err(ParseError::Credential))
        );
    }
}
