//! The key lifecycle with time moved by hand: scheduled deletion, rotation, and the master key.

use std::sync::Arc;

use serde_json::{json, Value};
use sluice_model::Principal;
use sluice_store::{MemoryStore, Store};

use super::{Kms, MasterKeyError, SecretKey};

const ACCOUNT: &str = "111122223333";
const REGION: &str = "us-east-1";
const DAY: i64 = 86_400;
const T0: i64 = 1_800_000_000;

struct Fixture {
    kms: Kms,
    root: Principal,
}

impl Fixture {
    async fn new() -> Self {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        Fixture {
            kms: Kms::open(store, SecretKey::random()).await.unwrap(),
            root: Principal::root(ACCOUNT),
        }
    }

    async fn call(&self, action: &str, input: Value, now: i64) -> Result<Value, String> {
        self.kms
            .handle(&self.root, REGION, action, &input, now)
            .await
            .map_err(|e| e.code.to_string())
    }

    async fn key(&self, now: i64) -> String {
        let created = self.call("CreateKey", json!({}), now).await.unwrap();
        created["KeyMetadata"]["KeyId"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

fn text(value: &Value, member: &str) -> String {
    value[member].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_key_is_gone_once_its_deletion_date_passes_and_cancelling_disables_it() {
    let f = Fixture::new().await;
    let key = f.key(T0).await;
    let scheduled = f
        .call(
            "ScheduleKeyDeletion",
            json!({"KeyId": key, "PendingWindowInDays": 7}),
            T0,
        )
        .await
        .unwrap();
    assert_eq!(scheduled["DeletionDate"], json!(T0 + 7 * DAY));
    assert_eq!(
        f.call("Encrypt", json!({"KeyId": key, "Plaintext": "aGk="}), T0)
            .await,
        Err("KMSInvalidStateException".into())
    );
    f.call("CancelKeyDeletion", json!({"KeyId": key}), T0 + DAY)
        .await
        .unwrap();
    let described = f
        .call("DescribeKey", json!({"KeyId": key}), T0 + DAY)
        .await
        .unwrap();
    assert_eq!(described["KeyMetadata"]["KeyState"], "Disabled");
    f.call(
        "ScheduleKeyDeletion",
        json!({"KeyId": key, "PendingWindowInDays": 7}),
        T0 + DAY,
    )
    .await
    .unwrap();
    assert!(f
        .call("DescribeKey", json!({"KeyId": key}), T0 + 8 * DAY - 1)
        .await
        .is_ok());
    assert_eq!(
        f.call("DescribeKey", json!({"KeyId": key}), T0 + 8 * DAY)
            .await,
        Err("NotFoundException".into())
    );
    let listed = f.call("ListKeys", json!({}), T0 + 8 * DAY).await.unwrap();
    assert_eq!(listed["Keys"], json!([]));
    for days in [6, 31] {
        let other = f.key(T0).await;
        assert_eq!(
            f.call(
                "ScheduleKeyDeletion",
                json!({"KeyId": other, "PendingWindowInDays": days}),
                T0
            )
            .await,
            Err("ValidationException".into())
        );
    }
}

#[tokio::test]
async fn rotation_keeps_what_older_material_encrypted_readable() {
    let f = Fixture::new().await;
    let key = f.key(T0).await;
    let before = f
        .call("Encrypt", json!({"KeyId": key, "Plaintext": "b2xk"}), T0)
        .await
        .unwrap();
    f.call(
        "EnableKeyRotation",
        json!({"KeyId": key, "RotationPeriodInDays": 90}),
        T0,
    )
    .await
    .unwrap();
    let status = f
        .call("GetKeyRotationStatus", json!({"KeyId": key}), T0)
        .await
        .unwrap();
    assert_eq!(status["KeyRotationEnabled"], true);
    assert_eq!(status["NextRotationDate"], json!(T0 + 90 * DAY));
    // Past the rotation date the next use rotates; on demand rotates at once.
    let later = T0 + 91 * DAY;
    let after = f
        .call("Encrypt", json!({"KeyId": key, "Plaintext": "bmV3"}), later)
        .await
        .unwrap();
    f.call("RotateKeyOnDemand", json!({"KeyId": key}), later)
        .await
        .unwrap();
    let newest = f
        .call(
            "Encrypt",
            json!({"KeyId": key, "Plaintext": "bmV3ZXN0"}),
            later,
        )
        .await
        .unwrap();
    assert_ne!(before["CiphertextBlob"], after["CiphertextBlob"]);
    for (blob, plaintext) in [(&before, "b2xk"), (&after, "bmV3"), (&newest, "bmV3ZXN0")] {
        let opened = f
            .call(
                "Decrypt",
                json!({"CiphertextBlob": text(blob, "CiphertextBlob")}),
                later,
            )
            .await
            .unwrap();
        assert_eq!(opened["Plaintext"], plaintext);
    }
    let status = f
        .call("GetKeyRotationStatus", json!({"KeyId": key}), later)
        .await
        .unwrap();
    assert_eq!(status["NextRotationDate"], json!(later + 90 * DAY));
}

#[tokio::test]
async fn a_wrong_master_key_is_refused() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let master = SecretKey::random();
    Kms::open(store.clone(), master.clone()).await.unwrap();
    assert!(Kms::open(store.clone(), master).await.is_ok());
    assert!(matches!(
        Kms::open(store, SecretKey::random()).await,
        Err(MasterKeyError::Wrong)
    ));
}

#[tokio::test]
async fn the_sqs_managed_key_is_made_once_on_first_use() {
    let f = Fixture::new().await;
    let first = f
        .call("DescribeKey", json!({"KeyId": "alias/aws/sqs"}), T0)
        .await
        .unwrap();
    let again = f
        .call("DescribeKey", json!({"KeyId": "alias/aws/sqs"}), T0)
        .await
        .unwrap();
    assert_eq!(first["KeyMetadata"]["KeyId"], again["KeyMetadata"]["KeyId"]);
    assert_eq!(first["KeyMetadata"]["KeyManager"], "AWS");
    assert_eq!(
        f.call(
            "CreateAlias",
            json!({"AliasName": "alias/aws/mine", "TargetKeyId": f.key(T0).await}),
            T0
        )
        .await,
        Err("InvalidAliasNameException".into())
    );
}
