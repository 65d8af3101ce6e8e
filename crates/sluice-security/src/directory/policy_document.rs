//! Policy documents as IAM stores them: read by the policy language (`sluice_policy`), whose
//! refusals become IAM's `MalformedPolicyDocument`; and policy sizes as IAM's quotas count them.

pub use sluice_policy::Grammar as DocumentKind;
use sluice_policy::Policy;

use super::error::SecurityError;

/// Reads and checks a document as `kind` allows it.
pub fn validate(text: &str, kind: DocumentKind) -> Result<Policy, SecurityError> {
    Policy::parse(text, kind).map_err(|e| SecurityError::malformed_policy(e.message))
}

/// A document's size as IAM's quotas count it: whitespace is not counted.
pub fn size(text: &str) -> usize {
    text.chars().filter(|c| !c.is_whitespace()).count()
}

/// Quotas on policy sizes.
pub const MANAGED_POLICY_SIZE: usize = 6144;
pub const USER_INLINE_SIZE: usize = 2048;
pub const GROUP_INLINE_SIZE: usize = 5120;
pub const ROLE_INLINE_SIZE: usize = 10240;
pub const TRUST_POLICY_SIZE: usize = 2048;

#[cfg(test)]
mod tests {
    use super::*;

    fn message(text: &str, kind: DocumentKind) -> String {
        validate(text, kind).unwrap_err().message
    }

    #[test]
    fn identity_policies_need_actions_and_resources() {
        let ok = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:*","Resource":"*"}]}"#;
        assert!(validate(ok, DocumentKind::Identity).is_ok());
        assert_eq!(
            message(
                r#"{"Statement":{"Effect":"Allow","Action":"sqs:*"}}"#,
                DocumentKind::Identity
            ),
            "Policy statement must contain resources."
        );
        assert_eq!(
            message(
                r#"{"Statement":{"Effect":"Allow","Resource":"*"}}"#,
                DocumentKind::Identity
            ),
            "Policy statement must contain actions."
        );
        assert_eq!(
            message(
                r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}}"#,
                DocumentKind::Identity
            ),
            "Has prohibited field Principal"
        );
        assert_eq!(
            message(
                r#"{"Statement":{"Effect":"Allow","Action":"get","Resource":"*"}}"#,
                DocumentKind::Identity
            ),
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
        );
    }

    #[test]
    fn documents_must_be_json_objects_of_a_known_version() {
        assert_eq!(
            message("{", DocumentKind::Identity),
            "This policy contains invalid Json"
        );
        assert_eq!(
            message("[]", DocumentKind::Identity),
            "Syntax errors in policy."
        );
        assert_eq!(
            message(
                r#"{"Version":"2020-01-01","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
                DocumentKind::Identity
            ),
            "The policy failed legacy parsing"
        );
        assert_eq!(
            message(
                r#"{"Statement":{"Effect":"Maybe","Action":"*","Resource":"*"}}"#,
                DocumentKind::Identity
            ),
            "Invalid effect: Maybe"
        );
    }

    #[test]
    fn trust_policies_need_a_principal_and_no_resource() {
        let ok = r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":["111122223333","arn:aws:iam::111122223333:role/r"]},"Action":"sts:AssumeRole"}}"#;
        assert!(validate(ok, DocumentKind::Trust).is_ok());
        assert_eq!(
            message(
                r#"{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole"}}"#,
                DocumentKind::Trust
            ),
            "Missing required field Principal"
        );
        assert_eq!(
            message(
                r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Resource":"*"}}"#,
                DocumentKind::Trust
            ),
            "Has prohibited field Resource"
        );
        assert!(message(
            r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"bob"},"Action":"sts:AssumeRole"}}"#,
            DocumentKind::Trust
        )
        .starts_with("Invalid principal in policy"));
    }

    #[test]
    fn sids_are_unique_and_whitespace_is_not_counted() {
        let twice = r#"{"Statement":[{"Sid":"a","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"a","Effect":"Deny","Action":"*","Resource":"*"}]}"#;
        assert_eq!(
            message(twice, DocumentKind::Identity),
            "Statement IDs (SID) in a single policy must be unique."
        );
        assert_eq!(size("{ \"a\" :\n 1 }"), 7);
    }
}
