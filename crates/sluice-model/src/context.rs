/// What kind of identity signed a request, as `aws:PrincipalType` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PrincipalType {
    /// An account's root identity.
    Account,
    /// An IAM user.
    User,
    /// A role session made by `AssumeRole`.
    AssumedRole,
    /// An unsigned request.
    Anonymous,
}

impl PrincipalType {
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalType::Account => "Account",
            PrincipalType::User => "User",
            PrincipalType::AssumedRole => "AssumedRole",
            PrincipalType::Anonymous => "Anonymous",
        }
    }
}

/// What a role session carries besides its identity: the role it was made from and the limits the caller
/// put on it, which policy evaluation applies on top of the role's own policies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleSession {
    pub role_arn: String,
    /// The role's unique id (`AROA…`).
    pub role_id: String,
    pub session_name: String,
    /// The inline session policy passed to `AssumeRole`, as JSON text.
    pub policy: Option<String>,
    /// Managed policies passed to `AssumeRole` as session policies.
    pub policy_arns: Vec<String>,
    pub tags: Vec<(String, String)>,
    /// Epoch seconds.
    pub issued_at: i64,
    /// Epoch seconds.
    pub expires_at: i64,
}

/// The authenticated caller of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub account_id: String,
    /// `arn:aws:iam::<account>:root`, `…:user/<path><name>` or `arn:aws:sts::<account>:assumed-role/<role>/<session>`.
    pub arn: String,
    pub kind: PrincipalType,
    /// The unique id AWS gives the caller (`aws:userid`): the account id for root, `AIDA…` for a user,
    /// `AROA…:<session>` for a role session. Received messages name it as their `SenderId`.
    pub user_id: String,
    /// The user's name for a user (`aws:username`); the session name for a role session.
    pub name: Option<String>,
    pub session: Option<RoleSession>,
}

impl Principal {
    /// An account's root identity.
    pub fn root(account_id: &str) -> Self {
        Principal {
            account_id: account_id.to_string(),
            arn: format!("arn:aws:iam::{account_id}:root"),
            kind: PrincipalType::Account,
            user_id: account_id.to_string(),
            name: None,
            session: None,
        }
    }

    /// An unsigned request's caller, named in AWS's denials as `anonymous`.
    pub fn anonymous() -> Self {
        Principal {
            account_id: String::new(),
            arn: "anonymous".to_string(),
            kind: PrincipalType::Anonymous,
            user_id: "anonymous".to_string(),
            name: None,
            session: None,
        }
    }
}

/// Everything a handler knows about a request besides its typed input.
#[derive(Clone, Debug)]
pub struct RequestContext {
    /// The id written into `x-amzn-RequestId` and `ResponseMetadata/RequestId`.
    pub request_id: String,
    /// The account the caller acts as; queues named without an explicit owner belong to it.
    pub account_id: String,
    /// The region the request is addressed to (SigV4 credential scope, then the `sqs.<region>.` host).
    pub region: String,
    /// Who signed the request; with authentication off, the root of the account the access key names.
    pub principal: Principal,
    /// The access key the request was signed with, if it was signed.
    pub access_key_id: Option<String>,
    /// The client's address, for `aws:SourceIp`.
    pub source_ip: Option<std::net::IpAddr>,
    /// Whether the request came over TLS, for `aws:SecureTransport`.
    pub secure_transport: bool,
    /// The request's `X-Amzn-Trace-Id` header, which SendMessage keeps as the message's `AWSTraceHeader`.
    pub trace_header: Option<String>,
}

impl RequestContext {
    /// A request made by an account's root identity, as the server makes its own (start-up queues) and
    /// tests make theirs.
    pub fn root(request_id: &str, account_id: &str, region: &str) -> Self {
        RequestContext {
            request_id: request_id.to_string(),
            account_id: account_id.to_string(),
            region: region.to_string(),
            principal: Principal::root(account_id),
            access_key_id: None,
            source_ip: None,
            secure_transport: false,
            trace_header: None,
        }
    }
}
