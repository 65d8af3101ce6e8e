//! Arbitrary bytes as a KMS ciphertext blob, and the promises kept on them: reading never panics;
//! nothing opens under a key that did not seal it; whatever is sealed opens again, and only with
//! the context it was sealed with. Shared by the `kms_ciphertext` fuzz target and the test that
//! replays its corpus.

use std::collections::BTreeMap;

use super::crypto::{decrypt_blob, encrypt_blob, read_blob, BlobKey, SecretKey};

pub fn check_ciphertext_blob(data: &[u8]) {
    let material = SecretKey([7; 32]);
    let none = BTreeMap::new();
    if let Some((named, sealed)) = read_blob(data) {
        assert!(decrypt_blob(&named, sealed, &material, &none).is_none());
    }
    let key = BlobKey {
        record: "111122223333/us-east-1/key".into(),
        version: 1,
    };
    let context: BTreeMap<String, String> = [(
        "purpose".to_string(),
        String::from_utf8_lossy(data).into_owned(),
    )]
    .into();
    let blob = encrypt_blob(&key, &material, data, &context);
    let (named, sealed) = read_blob(&blob).expect("a blob just made reads");
    assert_eq!(named, key);
    assert_eq!(
        decrypt_blob(&named, sealed, &material, &context).as_deref(),
        Some(data)
    );
    assert!(decrypt_blob(&named, sealed, &material, &none).is_none());
}
