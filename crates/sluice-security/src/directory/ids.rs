//! Identifiers as AWS forms them: unique ids (`AIDA…`), access key ids (`AKIA…`, `ASIA…`), secrets,
//! session tokens and ARNs; and the two text forms IAM answers with (ISO-8601 times, RFC 3986
//! encoded policy documents).

use rand::rngs::OsRng;
use rand::Rng;

/// The alphabet of AWS unique ids and access key ids (base 32).
const ID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const SECRET_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn random_text(alphabet: &[u8], len: usize) -> String {
    (0..len)
        .map(|_| char::from(alphabet[OsRng.gen_range(0..alphabet.len())]))
        .collect()
}

/// The prefix of a unique id names what it identifies.
#[derive(Clone, Copy)]
pub enum UniqueId {
    User,
    Role,
    Group,
    Policy,
}

pub fn unique_id(kind: UniqueId) -> String {
    let prefix = match kind {
        UniqueId::User => "AIDA",
        UniqueId::Role => "AROA",
        UniqueId::Group => "AGPA",
        UniqueId::Policy => "ANPA",
    };
    prefix.to_string() + &random_text(ID_ALPHABET, 17)
}

/// A long-term access key id.
pub fn access_key_id() -> String {
    "AKIA".to_string() + &random_text(ID_ALPHABET, 16)
}

/// The access key id of temporary credentials.
pub fn session_key_id() -> String {
    "ASIA".to_string() + &random_text(ID_ALPHABET, 16)
}

pub fn secret_access_key() -> String {
    random_text(SECRET_ALPHABET, 40)
}

/// Opaque to clients; only its equality with the stored token matters.
pub fn session_token() -> String {
    random_text(SECRET_ALPHABET, 256)
}

pub fn root_arn(account_id: &str) -> String {
    format!("arn:aws:iam::{account_id}:root")
}

/// The ARN of an IAM entity: `kind` is `user`, `role`, `group` or `policy`; `path` starts and ends with `/`.
pub fn iam_arn(account_id: &str, kind: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account_id}:{kind}{path}{name}")
}

pub fn assumed_role_arn(account_id: &str, role_name: &str, session_name: &str) -> String {
    format!("arn:aws:sts::{account_id}:assumed-role/{role_name}/{session_name}")
}

/// The account and name of a managed policy's ARN (`arn:aws:iam::<account>:policy<path><name>`).
pub fn parse_policy_arn(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (account, resource) = rest.split_once(':')?;
    let path_and_name = resource.strip_prefix("policy/")?;
    let name = path_and_name.rsplit('/').next()?;
    (!name.is_empty()).then_some((account, name))
}

/// Epoch seconds as IAM writes times: `2026-12-04T04:01:08Z`.
pub fn iso8601(epoch_seconds: i64) -> String {
    let days = epoch_seconds.div_euclid(86_400);
    let secs = epoch_seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A policy document as IAM returns it: percent-encoded except RFC 3986's unreserved characters.
pub fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_aws_shapes() {
        let user = unique_id(UniqueId::User);
        assert_eq!(user.len(), 21);
        assert!(user.starts_with("AIDA"));
        assert!(user.bytes().all(|b| ID_ALPHABET.contains(&b)));
        assert_eq!(access_key_id().len(), 20);
        assert!(session_key_id().starts_with("ASIA"));
        assert_eq!(secret_access_key().len(), 40);
    }

    #[test]
    fn times_are_iso8601_utc() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_796_356_868), "2026-12-04T04:01:08Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn documents_are_percent_encoded() {
        assert_eq!(
            url_encode("{\"a\": \"b~c\"}"),
            "%7B%22a%22%3A%20%22b~c%22%7D"
        );
    }

    #[test]
    fn policy_arns_name_account_and_policy() {
        assert_eq!(
            parse_policy_arn("arn:aws:iam::123456789012:policy/team/Read"),
            Some(("123456789012", "Read"))
        );
        assert_eq!(parse_policy_arn("arn:aws:iam::123456789012:user/x"), None);
    }
}
