//! What a request tells conditions: the global condition keys AWS fills from every request, and the
//! keys a service adds for an action (`sts:ExternalId`, …). Values are computed when a condition asks
//! for them, so a request that meets no condition costs nothing here.

use std::borrow::Cow;
use std::net::IpAddr;

use sluice_model::{Principal, PrincipalType, Utc};

use crate::pattern::Variables;

/// The request context that condition keys read.
#[derive(Clone, Debug)]
pub struct Facts<'a> {
    pub principal: &'a Principal,
    pub source_ip: Option<IpAddr>,
    pub secure_transport: bool,
    /// The region the request is addressed to (`aws:RequestedRegion`).
    pub region: &'a str,
    /// Epoch seconds (`aws:CurrentTime`, `aws:EpochTime`).
    pub now: i64,
    /// The tags of the resource acted on (`aws:ResourceTag/<key>`); seen by identity policies only.
    pub resource_tags: &'a [(String, String)],
    /// The tags the request sets (`aws:RequestTag/<key>`).
    pub request_tags: &'a [(String, String)],
    /// The tag keys the request names (`aws:TagKeys`), when it names any.
    pub tag_keys: Option<&'a [String]>,
    /// Keys the service adds for this action, named in lowercase (`sts:externalid`), and the
    /// `aws:SourceArn`/`aws:SourceAccount` of a request made on a resource's behalf.
    pub service_keys: &'a [(&'a str, String)],
}

impl<'a> Facts<'a> {
    pub fn new(principal: &'a Principal, region: &'a str, now: i64) -> Self {
        Facts {
            principal,
            source_ip: None,
            secure_transport: false,
            region,
            now,
            resource_tags: &[],
            request_tags: &[],
            tag_keys: None,
            service_keys: &[],
        }
    }

    /// The values of a condition key (given in lowercase), `None` when the request lacks it.
    /// `aws:ResourceTag` is seen only when `identity` (AWS evaluates it in identity policies only).
    pub(crate) fn values(&self, key: &str, identity: bool) -> Option<Values<'a>> {
        let one = |value: Cow<'a, str>| Some(Values::One(value));
        let principal = self.principal;
        let signed = principal.kind != PrincipalType::Anonymous;
        let session = principal.session.as_ref();
        if let Some(tag) = key.strip_prefix("aws:resourcetag/") {
            return if identity {
                tag_value(
                    self.resource_tags
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str())),
                    tag,
                )
                .map(|v| Values::One(Cow::Borrowed(v)))
            } else {
                None
            };
        }
        if let Some(tag) = key.strip_prefix("aws:requesttag/") {
            return tag_value(
                self.request_tags
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
                tag,
            )
            .map(|v| Values::One(Cow::Borrowed(v)));
        }
        if let Some(tag) = key.strip_prefix("aws:principaltag/") {
            return tag_value(
                session?.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                tag,
            )
            .map(|v| Values::One(Cow::Borrowed(v)));
        }
        match key {
            "aws:sourceip" => one(Cow::Owned(self.source_ip?.to_string())),
            "aws:securetransport" => one(Cow::Borrowed(bool_text(self.secure_transport))),
            "aws:currenttime" => one(Cow::Owned(iso8601(self.now))),
            "aws:epochtime" => one(Cow::Owned(self.now.to_string())),
            "aws:requestedregion" => one(Cow::Borrowed(self.region)),
            "aws:tagkeys" => Some(Values::Many(
                self.tag_keys?
                    .iter()
                    .map(|k| Cow::Borrowed(k.as_str()))
                    .collect(),
            )),
            "aws:principalarn" if signed => one(Cow::Borrowed(
                session.map_or(principal.arn.as_str(), |s| s.role_arn.as_str()),
            )),
            "aws:principalaccount" if signed => one(Cow::Borrowed(&principal.account_id)),
            "aws:principaltype" if signed => one(Cow::Borrowed(principal.kind.as_str())),
            "aws:userid" if signed => one(Cow::Borrowed(&principal.user_id)),
            "aws:username" if principal.kind == PrincipalType::User => {
                one(Cow::Borrowed(principal.name.as_deref()?))
            }
            "aws:multifactorauthpresent" if signed => one(Cow::Borrowed("false")),
            "aws:tokenissuetime" => one(Cow::Owned(iso8601(session?.issued_at))),
            "aws:viamodifiedservice" | "aws:calledvia" => None,
            _ => self
                .service_keys
                .iter()
                .find(|(name, _)| *name == key)
                .map(|(_, value)| Values::One(Cow::Borrowed(value.as_str()))),
        }
    }

    /// The instant a time key names, as epoch milliseconds, read without going through text:
    /// `None` for a key that is not one of them, `Some(None)` for one the request lacks.
    pub(crate) fn instant(&self, key: &str) -> Option<Option<i64>> {
        match key {
            "aws:currenttime" | "aws:epochtime" => Some(Some(self.now * 1000)),
            "aws:tokenissuetime" => {
                Some(self.principal.session.as_ref().map(|s| s.issued_at * 1000))
            }
            _ => None,
        }
    }
}

/// The values of a key: almost always one, so kept without a list.
pub(crate) enum Values<'a> {
    One(Cow<'a, str>),
    Many(Vec<Cow<'a, str>>),
}

impl<'a> Values<'a> {
    pub(crate) fn as_slice(&self) -> &[Cow<'a, str>] {
        match self {
            Values::One(value) => std::slice::from_ref(value),
            Values::Many(values) => values,
        }
    }
}

/// Policy variables read the same keys, single-valued.
pub(crate) struct VariableScope<'f, 'a> {
    pub facts: &'f Facts<'a>,
    pub identity: bool,
}

impl Variables for VariableScope<'_, '_> {
    fn variable(&self, key: &str) -> Option<String> {
        match self.facts.values(key, self.identity)?.as_slice() {
            [one] => Some(one.to_string()),
            _ => None,
        }
    }
}

/// Tag keys are matched case-insensitively, as condition key names are.
fn tag_value<'v>(tags: impl Iterator<Item = (&'v str, &'v str)>, key: &str) -> Option<&'v str> {
    tags.filter(|(k, _)| k.eq_ignore_ascii_case(key))
        .last()
        .map(|(_, v)| v)
}

fn bool_text(value: bool) -> &'static str {
    if value {
        "true"
    } else {
        "false"
    }
}

/// `2026-12-04T07:30:00Z`.
pub(crate) fn iso8601(epoch: i64) -> String {
    let Utc(year, month, day, hour, minute, second) = Utc::from_epoch(epoch);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
}
