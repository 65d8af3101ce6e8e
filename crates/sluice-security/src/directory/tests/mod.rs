//! The directory's actions against the memory store.

mod accounts;
mod groups_policies;
mod roles_sts;
mod users_keys;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;
use sluice_model::Principal;
use sluice_store::MemoryStore;

use super::{Directory, SecurityError};

const ACCOUNT: &str = "111122223333";
const OTHER: &str = "444455556666";
const NOW: i64 = 1_796_356_868;

fn directory() -> Directory {
    Directory::new(Arc::new(MemoryStore::new()))
}

fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn root() -> Principal {
    Principal::root(ACCOUNT)
}

async fn iam(
    directory: &Directory,
    caller: &Principal,
    action: &str,
    pairs: &[(&str, &str)],
) -> Result<Value, SecurityError> {
    directory.iam(caller, action, &params(pairs), NOW).await
}

async fn sts(
    directory: &Directory,
    caller: &Principal,
    action: &str,
    pairs: &[(&str, &str)],
    now: i64,
) -> Result<Value, SecurityError> {
    directory.sts(caller, action, &params(pairs), now).await
}

/// The principal of a user's new access key, as the front finds it.
async fn user_caller(directory: &Directory, account: &str, name: &str) -> Principal {
    let caller = Principal::root(account);
    iam(directory, &caller, "CreateUser", &[("UserName", name)])
        .await
        .unwrap();
    let key = iam(directory, &caller, "CreateAccessKey", &[("UserName", name)])
        .await
        .unwrap();
    let key_id = key["AccessKey"]["AccessKeyId"].as_str().unwrap();
    directory
        .credentials(key_id)
        .await
        .unwrap()
        .unwrap()
        .principal
}

fn assert_error(result: Result<Value, SecurityError>, code: &str, message: &str) {
    let error = result.unwrap_err();
    assert_eq!((error.code, error.message.as_str()), (code, message));
}
