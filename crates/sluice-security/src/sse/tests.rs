//! Sealing and opening bodies with time moved by hand: how often KMS is called, what a key's state
//! does to producers and consumers, and what the sealed bytes hold.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde_json::{json, Value};
use sluice_model::{
    ApiError, BodyCipher, BodyKey, ErrorCode, ManualClock, Principal, PrincipalType,
    RequestContext, SealingQueue,
};
use sluice_store::{MemoryStore, Store};

use super::SqsEncryption;
use crate::kms::{Kms, SecretKey};

const ACCOUNT: &str = "111122223333";
const REGION: &str = "us-east-1";
const QUEUE_ARN: &str = "arn:aws:sqs:us-east-1:111122223333:orders";
const T0: i64 = 1_800_000_000_000;

struct Fixture {
    kms: Arc<Kms>,
    clock: Arc<ManualClock>,
    cipher: SqsEncryption,
}

impl Fixture {
    async fn new() -> Self {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let kms = Arc::new(Kms::open(store, SecretKey::random()).await.unwrap());
        let clock = Arc::new(ManualClock::new(T0));
        let cipher = SqsEncryption::new(kms.clone(), None, clock.clone());
        Fixture { kms, clock, cipher }
    }

    async fn kms(&self, action: &str, input: Value) -> Value {
        self.kms
            .handle(&Principal::root(ACCOUNT), REGION, action, &input, T0 / 1000)
            .await
            .unwrap()
    }

    async fn key(&self) -> String {
        let created = self.kms("CreateKey", json!({})).await;
        created["KeyMetadata"]["KeyId"]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn calls(&self) -> (u64, u64) {
        let calls = self.cipher.kms_calls();
        (
            calls.generate_data_key.load(Ordering::Relaxed),
            calls.decrypt.load(Ordering::Relaxed),
        )
    }
}

fn user(name: &str) -> RequestContext {
    let mut ctx = RequestContext::root("r", ACCOUNT, REGION);
    ctx.principal = Principal {
        account_id: ACCOUNT.into(),
        arn: format!("arn:aws:iam::{ACCOUNT}:user/{name}"),
        kind: PrincipalType::User,
        user_id: format!("AIDA{}", name.to_uppercase()),
        name: Some(name.into()),
        session: None,
    };
    ctx
}

fn kms_key(key_id: &str, reuse_period_seconds: i64) -> BodyKey {
    BodyKey::Kms {
        key_id: key_id.into(),
        reuse_period_seconds,
    }
}

async fn seal(
    f: &Fixture,
    ctx: &RequestContext,
    key: &BodyKey,
    body: &str,
) -> Result<Vec<u8>, ApiError> {
    let mut sealed = f.cipher.seal(ctx, &queue(key), &[body]).await?;
    Ok(sealed.remove(0))
}

async fn open(f: &Fixture, ctx: &RequestContext, sealed: &[u8]) -> Result<String, ApiError> {
    let mut opened = f.cipher.open(ctx, &[sealed]).await?;
    Ok(opened.remove(0))
}

fn queue(key: &BodyKey) -> SealingQueue<'_> {
    SealingQueue {
        queue_arn: QUEUE_ARN,
        account_id: ACCOUNT,
        region: REGION,
        key,
    }
}

/// The formula of SQS's key management page, R = B/D × (2P + C), counted over three reuse periods:
/// each producer calls GenerateDataKey and Decrypt once a period, each consumer Decrypt once for
/// each data key it meets. With one producer that is the formula exactly; with two, each consumer
/// meets two data keys a period.
#[tokio::test]
async fn kms_is_called_once_per_data_key_per_principal_per_reuse_period() {
    for producers in [1, 2] {
        let f = Fixture::new().await;
        let key = kms_key(&f.key().await, 60);
        let consumers = 3;
        let periods = 3;
        for _ in 0..periods {
            for p in 0..producers {
                let producer = user(&format!("producer{p}"));
                let mut sealed = Vec::new();
                for i in 0..20 {
                    let body = format!("message {i}");
                    sealed.push(seal(&f, &producer, &key, &body).await.unwrap());
                }
                for c in 0..consumers {
                    let consumer = user(&format!("consumer{c}"));
                    for (i, envelope) in sealed.iter().enumerate() {
                        let body = open(&f, &consumer, envelope).await.unwrap();
                        assert_eq!(body, format!("message {i}"));
                    }
                }
                f.clock.advance_millis(1_000);
            }
            f.clock.advance_millis(60_000);
        }
        let (generated, decrypted) = f.calls();
        assert_eq!(generated, periods * producers);
        assert_eq!(decrypted, periods * (producers + consumers * producers));
        if producers == 1 {
            assert_eq!(generated + decrypted, periods * (2 * producers + consumers));
        }
    }
}

#[tokio::test]
async fn a_data_key_serves_many_bodies_within_its_period_and_a_new_one_is_made_after() {
    let f = Fixture::new().await;
    let key = kms_key(&f.key().await, 300);
    let producer = user("producer");
    let first = seal(&f, &producer, &key, "a").await.unwrap();
    for _ in 0..99 {
        f.clock.advance_millis(2_000);
        seal(&f, &producer, &key, "b").await.unwrap();
    }
    assert_eq!(f.calls(), (1, 1), "100 bodies in 200 s, one data key");
    f.clock.advance_millis(102_001);
    let later = seal(&f, &producer, &key, "c").await.unwrap();
    assert_eq!(f.calls(), (2, 2), "a new data key after 300 s");
    let wrapped = |sealed: &[u8]| super::envelope::read(sealed).unwrap().wrapped_key.to_vec();
    assert_ne!(wrapped(&first), wrapped(&later));
    // Both stay readable: each envelope carries its own wrapped data key.
    let consumer = user("consumer");
    assert_eq!(open(&f, &consumer, &first).await.unwrap(), "a");
    assert_eq!(open(&f, &consumer, &later).await.unwrap(), "c");
}

#[tokio::test]
async fn sealed_bytes_hold_no_plaintext_and_a_changed_byte_is_refused() {
    let f = Fixture::new().await;
    let body = "a body that must not be readable at rest";
    for key in [BodyKey::SqsManaged, kms_key(&f.key().await, 60)] {
        let sealed = seal(&f, &user("p"), &key, body).await.unwrap();
        assert!(!sealed.windows(body.len()).any(|w| w == body.as_bytes()));
        assert!(!sealed.windows(8).any(|w| w == b"readable"));
        assert_eq!(open(&f, &user("c"), &sealed).await.unwrap(), body);
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        let refused = open(&f, &user("c"), &tampered).await.unwrap_err();
        assert_eq!(refused.code, ErrorCode::InternalError);
    }
    assert_eq!(
        f.calls(),
        (1, 2),
        "SSE-SQS calls no KMS; the KMS key once for the producer and once for the consumer"
    );
}

/// Disabling a key stops producers and consumers at once, whatever is cached, and enabling it
/// makes everything sealed before readable again.
#[tokio::test]
async fn a_disabled_key_refuses_sealing_and_opening_until_it_is_enabled() {
    let f = Fixture::new().await;
    let key_id = f.key().await;
    let key = kms_key(&key_id, 300);
    let sealed = seal(&f, &user("p"), &key, "kept").await.unwrap();
    f.kms("DisableKey", json!({"KeyId": key_id})).await;
    let by_kms = seal(&f, &user("p"), &key, "x").await.unwrap_err();
    assert_eq!(by_kms.code, ErrorCode::KmsDisabled);
    assert!(
        by_kms.message.ends_with(" is disabled."),
        "{}",
        by_kms.message
    );
    let refused = open(&f, &user("p"), &sealed).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::KmsDisabled);
    let refused = f
        .cipher
        .check_open(&user("c"), &queue(&key))
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::KmsDisabled);
    // The check before a receive asks KMS itself, so it words the refusal exactly as KMS does.
    assert_eq!(refused.message, by_kms.message);
    f.kms("EnableKey", json!({"KeyId": key_id})).await;
    f.cipher.check_open(&user("c"), &queue(&key)).await.unwrap();
    assert_eq!(open(&f, &user("c"), &sealed).await.unwrap(), "kept");
}

#[tokio::test]
async fn a_key_pending_deletion_or_missing_is_refused_as_sqs_words_it() {
    let f = Fixture::new().await;
    let key_id = f.key().await;
    let key = kms_key(&key_id, 300);
    let sealed = seal(&f, &user("p"), &key, "kept").await.unwrap();
    f.kms(
        "ScheduleKeyDeletion",
        json!({"KeyId": key_id, "PendingWindowInDays": 7}),
    )
    .await;
    let refused = open(&f, &user("c"), &sealed).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::KmsInvalidState);
    let by_kms = seal(&f, &user("p"), &key, "x").await.unwrap_err();
    assert_eq!(by_kms.code, ErrorCode::KmsInvalidState);
    assert!(
        by_kms.message.ends_with(" is pending deletion."),
        "{}",
        by_kms.message
    );
    let refused = f
        .cipher
        .check_open(&user("c"), &queue(&key))
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::KmsInvalidState);
    assert_eq!(refused.message, by_kms.message);

    let missing = kms_key("1234abcd-12ab-34cd-56ef-1234567890ab", 300);
    let refused = seal(&f, &user("p"), &missing, "x").await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::KmsNotFound);
    let missing_alias = kms_key("alias/nothing-here", 300);
    let refused = f
        .cipher
        .check_open(&user("c"), &queue(&missing_alias))
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::KmsNotFound);
}

/// A queue names its key in the forms SQS accepts, read in the queue's account and region.
#[tokio::test]
async fn a_key_is_named_by_id_arn_alias_alias_arn_or_the_sqs_managed_alias() {
    let f = Fixture::new().await;
    let key_id = f.key().await;
    f.kms(
        "CreateAlias",
        json!({"AliasName": "alias/orders", "TargetKeyId": key_id}),
    )
    .await;
    let names = [
        key_id.clone(),
        format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}"),
        "alias/orders".into(),
        format!("arn:aws:kms:{REGION}:{ACCOUNT}:alias/orders"),
        "alias/aws/sqs".into(),
    ];
    for name in names {
        let key = kms_key(&name, 60);
        let sealed = seal(&f, &user("p"), &key, &name).await.unwrap();
        assert_eq!(open(&f, &user("c"), &sealed).await.unwrap(), name);
    }
}

/// Rotation adds key material; data keys made before it still open.
#[tokio::test]
async fn bodies_sealed_before_a_rotation_still_open() {
    let f = Fixture::new().await;
    let key_id = f.key().await;
    let key = kms_key(&key_id, 60);
    let before = seal(&f, &user("p"), &key, "before").await.unwrap();
    f.kms("RotateKeyOnDemand", json!({"KeyId": key_id})).await;
    f.clock.advance_millis(61_000);
    let after = seal(&f, &user("p"), &key, "after").await.unwrap();
    assert_eq!(open(&f, &user("c"), &before).await.unwrap(), "before");
    assert_eq!(open(&f, &user("c"), &after).await.unwrap(), "after");
}
