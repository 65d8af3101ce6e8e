//! Who is calling, and what they may do. The front asks this layer, before any queue semantics run, to verify a request's
//! AWS Signature Version 4 and to name the principal that signed it; it also serves the IAM and STS
//! actions that create those principals. Identities are kept as security records through the storage
//! boundary, so every backend stores them the same way.

mod authenticate;
mod authorize;
pub mod directory;
pub mod kms;
mod organization;
pub mod sigv4;
pub mod sse;
mod text;

pub use authenticate::{basic_credentials, AuthMode, Authenticator, Caller};
pub use authorize::{denial_message, Authorizer, Environment};
pub use directory::{
    is_iam_action, is_sts_action, AccountSeed, Credentials, Directory, SecurityError,
};
pub use organization::{
    Organization, OrganizationPolicySeed, OrganizationPolicyType, OrganizationSeed,
};
pub use sse::SqsEncryption;
