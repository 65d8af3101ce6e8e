//! An organization of accounts, as the configuration file describes it, with its service control
//! policies (what principals of a member account may do at most) and resource control policies
//! (what may be done at most to a member account's resources); AWS Organizations User Guide, "SCP
//! evaluation" and "RCP evaluation". A policy is attached to the organization's root (every member
//! account) or to accounts. Each level (root, account) must allow; a level with nothing attached
//! allows everything, as AWS's `FullAWSAccess` does until it is detached. `RCPFullAWSAccess` cannot
//! be detached on AWS, so every level of resource control policies also allows everything and
//! those policies only ever deny. The management account is bound by neither, as on AWS.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;
use sluice_policy::{Grammar, Policy};

/// The resource control policy AWS attaches everywhere and never detaches.
const RCP_FULL_AWS_ACCESS: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#;

/// `[organization]` in the configuration file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct OrganizationSeed {
    pub management_account: String,
    #[serde(default)]
    pub member_accounts: Vec<String>,
    #[serde(default)]
    pub policies: Vec<OrganizationPolicySeed>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OrganizationPolicyType {
    ServiceControl,
    ResourceControl,
}

/// `[[organization.policies]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct OrganizationPolicySeed {
    #[serde(rename = "type")]
    pub kind: OrganizationPolicyType,
    /// `root` or account ids.
    pub targets: Vec<String>,
    pub document: String,
}

/// The policy levels over each member account, parsed.
#[derive(Debug, Default)]
pub struct Organization {
    service_control: HashMap<String, Vec<Vec<Arc<Policy>>>>,
    resource_control: HashMap<String, Vec<Vec<Arc<Policy>>>>,
}

impl Organization {
    /// Checks and parses the configured organization; the error names what is wrong.
    pub fn new(seed: Option<&OrganizationSeed>) -> Result<Self, String> {
        let Some(seed) = seed else {
            return Ok(Organization::default());
        };
        let mut accounts: Vec<&String> = seed.member_accounts.iter().collect();
        accounts.push(&seed.management_account);
        if let Some(bad) = accounts.iter().find(|a| !sluice_model::is_account_id(a)) {
            return Err(format!(
                "organization account {bad:?} is not a 12-digit account id"
            ));
        }
        let mut organization = Organization::default();
        for kind in [
            OrganizationPolicyType::ServiceControl,
            OrganizationPolicyType::ResourceControl,
        ] {
            let grammar = match kind {
                OrganizationPolicyType::ServiceControl => Grammar::ServiceControl,
                OrganizationPolicyType::ResourceControl => Grammar::ResourceControl,
            };
            let always = match kind {
                OrganizationPolicyType::ServiceControl => None,
                OrganizationPolicyType::ResourceControl => Some(Arc::new(
                    Policy::parse(RCP_FULL_AWS_ACCESS, Grammar::ResourceControl)
                        .map_err(|e| format!("RCPFullAWSAccess: {e}"))?,
                )),
            };
            let mut root: Vec<Arc<Policy>> = always.iter().cloned().collect();
            let mut by_account: HashMap<&str, Vec<Arc<Policy>>> = HashMap::new();
            for (n, policy) in seed
                .policies
                .iter()
                .enumerate()
                .filter(|(_, p)| p.kind == kind)
            {
                let parsed = Policy::parse(&policy.document, grammar)
                    .map_err(|e| format!("organization policy {}: {e}", n + 1))?;
                let parsed = Arc::new(parsed);
                for target in &policy.targets {
                    if target == "root" {
                        root.push(parsed.clone());
                    } else if seed.member_accounts.contains(target) {
                        by_account
                            .entry(target.as_str())
                            .or_insert_with(|| always.iter().cloned().collect())
                            .push(parsed.clone());
                    } else {
                        return Err(format!(
                            "organization policy {} targets {target:?}, which is neither `root` nor a member account",
                            n + 1
                        ));
                    }
                }
            }
            let levels = seed
                .member_accounts
                .iter()
                .filter(|a| **a != seed.management_account)
                .map(|account| {
                    let own = by_account
                        .get(account.as_str())
                        .cloned()
                        .unwrap_or_default();
                    let levels: Vec<Vec<Arc<Policy>>> = [root.clone(), own]
                        .into_iter()
                        .filter(|level| !level.is_empty())
                        .collect();
                    (account.clone(), levels)
                })
                .collect();
            match kind {
                OrganizationPolicyType::ServiceControl => organization.service_control = levels,
                OrganizationPolicyType::ResourceControl => organization.resource_control = levels,
            }
        }
        Ok(organization)
    }

    /// The service control policy levels over principals of `account`.
    pub fn service_control(&self, account: &str) -> &[Vec<Arc<Policy>>] {
        self.service_control.get(account).map_or(&[], Vec::as_slice)
    }

    /// The resource control policy levels over resources of `account`.
    pub fn resource_control(&self, account: &str) -> &[Vec<Arc<Policy>>] {
        self.resource_control
            .get(account)
            .map_or(&[], Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALLOW_ALL: &str =
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#;
    const DENY_DELETE: &str = r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","Action":"sqs:DeleteQueue","Resource":"*"}}"#;

    fn seed(policies: Vec<(OrganizationPolicyType, &[&str], &str)>) -> OrganizationSeed {
        OrganizationSeed {
            management_account: "111111111111".into(),
            member_accounts: vec!["222222222222".into(), "333333333333".into()],
            policies: policies
                .into_iter()
                .map(|(kind, targets, document)| OrganizationPolicySeed {
                    kind,
                    targets: targets.iter().map(|t| t.to_string()).collect(),
                    document: document.into(),
                })
                .collect(),
        }
    }

    #[test]
    fn levels_per_member_account_and_none_for_the_management_account() {
        let organization = Organization::new(Some(&seed(vec![
            (OrganizationPolicyType::ServiceControl, &["root"], ALLOW_ALL),
            (
                OrganizationPolicyType::ServiceControl,
                &["333333333333"],
                ALLOW_ALL,
            ),
            (
                OrganizationPolicyType::ResourceControl,
                &["222222222222"],
                DENY_DELETE,
            ),
        ])))
        .unwrap();
        assert_eq!(organization.service_control("222222222222").len(), 1);
        assert_eq!(organization.service_control("333333333333").len(), 2);
        assert!(organization.service_control("111111111111").is_empty());
        assert!(organization.service_control("444444444444").is_empty());
        // RCPFullAWSAccess is at every level: the root level of every member, and beside the deny.
        let rcps = organization.resource_control("222222222222");
        assert_eq!(rcps.len(), 2);
        assert_eq!(rcps[1].len(), 2);
        assert_eq!(organization.resource_control("333333333333").len(), 1);
        assert!(organization.resource_control("111111111111").is_empty());
    }

    #[test]
    fn bad_organizations_are_refused() {
        let bad_target = seed(vec![(
            OrganizationPolicyType::ServiceControl,
            &["999999999999"],
            ALLOW_ALL,
        )]);
        assert!(Organization::new(Some(&bad_target))
            .unwrap_err()
            .contains("neither `root` nor a member account"));
        let malformed = seed(vec![(
            OrganizationPolicyType::ServiceControl,
            &["root"],
            "{",
        )]);
        assert!(Organization::new(Some(&malformed))
            .unwrap_err()
            .contains("invalid Json"));
        // An RCP must name its principal.
        let no_principal = seed(vec![(
            OrganizationPolicyType::ResourceControl,
            &["root"],
            ALLOW_ALL,
        )]);
        assert!(Organization::new(Some(&no_principal)).is_err());
        let mut bad_account = seed(vec![]);
        bad_account.member_accounts.push("12".into());
        assert!(Organization::new(Some(&bad_account)).is_err());
    }
}
