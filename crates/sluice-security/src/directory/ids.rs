//! Identifiers as AWS forms them: unique ids (`AIDA…`), access key ids (`AKIA…`, `ASIA…`), secrets,
//! session tokens and ARNs; and the two text forms IAM answers with (ISO-8601 times, RFC 3986
//! encoded policy documents).

use rand::rngs::OsRng;
use rand::Rng;

use crate::text::percent_encode;
use sluice_model::Utc;

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
    let Utc(year, month, day, hour, minute, second) = Utc::from_epoch(epoch_seconds);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
}

/// A policy document as IAM returns it: percent-encoded except RFC 3986's unreserved characters.
pub fn url_encode(text: &str) -> String {
    percent_encode(text)
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
