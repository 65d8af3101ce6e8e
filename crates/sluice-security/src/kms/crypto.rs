//! The cryptography of the local KMS, all AES-256-GCM (RustCrypto `aes-gcm`) with random 96-bit
//! nonces: key material wrapped under the server's master key, and ciphertext blobs that name the
//! key and key version that made them, so that Decrypt needs no key id.
//!
//! A blob is `SLK1`, the length (u16, big-endian) and text of the key's record name, the key
//! version (u32), the nonce, and the ciphertext with its tag. The header and the encryption context
//! are the additional authenticated data: each context pair is written as the length-prefixed key
//! and value (u32 lengths), in key order, so that `{"a":"bc"}` and `{"ab":"c"}` differ.

use std::collections::BTreeMap;

use aes_gcm::aead::{Aead, AeadInPlace, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;
use zeroize::Zeroize;

const MAGIC: &[u8; 4] = b"SLK1";
const NONCE_LEN: usize = 12;

/// 32 secret bytes: the server's master key, a key version's material or a data key. Its `Debug`
/// shows nothing and its bytes are overwritten when it is dropped.
#[derive(Clone)]
pub struct SecretKey(pub(crate) [u8; 32]);

impl SecretKey {
    pub fn random() -> Self {
        let mut bytes = [0; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        SecretKey(bytes)
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(SecretKey)
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Encrypts `plaintext` bound to `aad`: nonce followed by ciphertext and tag.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        self.schedule().seal(plaintext, aad)
    }

    /// The key expanded once for many seals and opens (a data key serving a reuse period).
    pub fn schedule(&self) -> KeySchedule {
        KeySchedule(Aes256Gcm::new((&self.0).into()))
    }

    /// The plaintext of what `seal` made with this key and `aad`; `None` for anything else.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
        self.schedule().open(sealed, aad)
    }
}

/// A key's AES-GCM key schedule, made once. Its round keys are zeroed when it is dropped (the `aes`
/// crate's `zeroize` feature).
pub struct KeySchedule(Aes256Gcm);

impl KeySchedule {
    /// Encrypts `plaintext` bound to `aad`: nonce followed by ciphertext and tag.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        let mut nonce = [0; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        let sealed = self
            .0
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .unwrap_or_default();
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Appends to `out` what `SecretKey::seal` makes of `plaintext` with `out`'s content so far as
    /// the additional data, encrypting in place; `None` only for a plaintext beyond AES-GCM's limit.
    pub fn seal_after(&self, out: &mut Vec<u8>, plaintext: &[u8]) -> Option<()> {
        let aad_length = out.len();
        let mut nonce = [0; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        out.reserve(NONCE_LEN + plaintext.len() + 16);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let (head, body) = out.split_at_mut(aad_length + NONCE_LEN);
        let tag = self
            .0
            .encrypt_in_place_detached(Nonce::from_slice(&nonce), &head[..aad_length], body)
            .ok()?;
        out.extend_from_slice(&tag);
        Some(())
    }

    /// The plaintext of what was sealed with this key and `aad`; `None` for anything else.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_LEN + 16 {
            return None;
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        self.0
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .ok()
    }
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

/// The encryption context as additional data.
pub fn context_bytes(context: &BTreeMap<String, String>) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, value) in context {
        for text in [key, value] {
            out.extend_from_slice(&(text.len() as u32).to_be_bytes());
            out.extend_from_slice(text.as_bytes());
        }
    }
    out
}

/// What a blob's header names.
#[derive(Debug, PartialEq, Eq)]
pub struct BlobKey {
    pub record: String,
    pub version: u32,
}

fn header(key: &BlobKey) -> Vec<u8> {
    let mut out = Vec::with_capacity(10 + key.record.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(key.record.len() as u16).to_be_bytes());
    out.extend_from_slice(key.record.as_bytes());
    out.extend_from_slice(&key.version.to_be_bytes());
    out
}

/// A ciphertext blob of `plaintext` under `material`, the version `key` names.
pub fn encrypt_blob(
    key: &BlobKey,
    material: &SecretKey,
    plaintext: &[u8],
    context: &BTreeMap<String, String>,
) -> Vec<u8> {
    let mut blob = header(key);
    let mut aad = blob.clone();
    aad.extend_from_slice(&context_bytes(context));
    blob.extend_from_slice(&material.seal(plaintext, &aad));
    blob
}

/// The key a blob names, and the rest of the blob; `None` for what no blob of this KMS looks like.
pub fn read_blob(blob: &[u8]) -> Option<(BlobKey, &[u8])> {
    let rest = blob.strip_prefix(MAGIC)?;
    let (length, rest) = rest.split_first_chunk::<2>()?;
    let length = usize::from(u16::from_be_bytes(*length));
    if rest.len() < length {
        return None;
    }
    let (record, rest) = rest.split_at(length);
    let (version, sealed) = rest.split_first_chunk::<4>()?;
    Some((
        BlobKey {
            record: String::from_utf8(record.to_vec()).ok()?,
            version: u32::from_be_bytes(*version),
        },
        sealed,
    ))
}

/// The plaintext of a blob, given the material of the version it names.
pub fn decrypt_blob(
    key: &BlobKey,
    sealed: &[u8],
    material: &SecretKey,
    context: &BTreeMap<String, String>,
) -> Option<Vec<u8>> {
    let mut aad = header(key);
    aad.extend_from_slice(&context_bytes(context));
    material.open(sealed, &aad)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn blobs_round_trip_and_bind_their_context() {
        let material = SecretKey::random();
        let key = BlobKey {
            record: "111122223333/us-east-1/1234abcd-12ab-34cd-56ef-1234567890ab".into(),
            version: 3,
        };
        let ctx = context(&[("a", "bc")]);
        let blob = encrypt_blob(&key, &material, b"secret", &ctx);
        let (named, sealed) = read_blob(&blob).unwrap();
        assert_eq!(named, key);
        assert_eq!(
            decrypt_blob(&named, sealed, &material, &ctx).unwrap(),
            b"secret"
        );
        // Length prefixes keep a shifted split from matching.
        assert!(decrypt_blob(&named, sealed, &material, &context(&[("ab", "c")])).is_none());
        assert!(decrypt_blob(&named, sealed, &material, &context(&[])).is_none());
        assert!(decrypt_blob(&named, sealed, &SecretKey::random(), &ctx).is_none());
        // The header is authenticated: naming another version fails.
        let other = BlobKey {
            version: 2,
            ..named
        };
        assert!(decrypt_blob(&other, sealed, &material, &ctx).is_none());
        assert!(read_blob(b"garbage").is_none());
        assert!(read_blob(b"SLK1\xff\xff").is_none());
    }

    #[test]
    fn secret_keys_do_not_show() {
        assert_eq!(format!("{:?}", SecretKey::random()), "SecretKey(***)");
    }
}
