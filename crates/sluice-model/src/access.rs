use crate::ApiError;

/// What a request does, as authorization sees it: one action on one resource. A request may need
/// several (a batch needs its single action's; StartMessageMoveTask needs some on each queue).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Access {
    /// The IAM action, `sqs:SendMessage`.
    pub action: &'static str,
    /// The resource's ARN.
    pub resource: String,
    /// The account that owns the resource.
    pub resource_account: String,
    /// The resource's own policy (a queue's `Policy` attribute, a role's trust policy).
    pub resource_policy: Option<ResourcePolicy>,
    /// Whether the resource's policy must allow, as a KMS key's policy must: without it, even the
    /// owning account's identity policies (and its root) are not enough.
    pub resource_policy_required: bool,
    /// The resource's tags (`aws:ResourceTag/<key>`).
    pub resource_tags: Vec<(String, String)>,
    /// The tags the request sets (`aws:RequestTag/<key>`).
    pub request_tags: Vec<(String, String)>,
    /// The tag keys the request names (`aws:TagKeys`), when it names any.
    pub tag_keys: Option<Vec<String>>,
    /// Set when the resource does not exist: what the action answers then. A caller that may not
    /// act on it hears the same, as AWS answers a queue URL of another account that names no queue.
    pub absent: Option<ApiError>,
    /// Condition keys the service adds for the action, named in lowercase (`sts:externalid`).
    pub context_keys: Vec<(&'static str, String)>,
}

impl Access {
    pub fn new(action: &'static str, resource: String, resource_account: &str) -> Self {
        Access {
            action,
            resource,
            resource_account: resource_account.to_string(),
            resource_policy: None,
            resource_policy_required: false,
            resource_tags: Vec::new(),
            request_tags: Vec::new(),
            tag_keys: None,
            context_keys: Vec::new(),
            absent: None,
        }
    }
}

/// A resource policy as stored, with a name for this version of it that changes whenever the text
/// may have, so that its parsed form can be kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourcePolicy {
    pub version_id: String,
    pub text: String,
    /// A role's trust policy, whose statements name no resource.
    pub trust: bool,
}
