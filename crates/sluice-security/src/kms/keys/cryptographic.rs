//! The cryptographic actions: Encrypt, Decrypt, ReEncrypt and the data keys, on a key usable now
//! (enabled, its scheduled rotation applied), with the material of the version a blob names.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{
    add_material, disabled, invalid_ciphertext, invalid_state, material_aad, validation, Call,
    KeyRecord, KeyState, DAY, DEFAULT_ROTATION_DAYS, KEY, MAX_PLAINTEXT,
};
use crate::directory::records::Batch;
use crate::directory::SecurityError;
use crate::kms::crypto::{self, BlobKey, SecretKey};
use crate::kms::{base64_decode, base64_encode, context_of, kms_error};

impl Call<'_> {
    /// The key `KeyId` names, usable for a cryptographic operation now: enabled, with its
    /// scheduled rotation applied.
    pub(in crate::kms) async fn usable_key(
        &self,
        reference: &str,
    ) -> Result<KeyRecord, SecurityError> {
        let stored = self.existing_key(reference).await?;
        let key = &stored.value;
        match key.state {
            KeyState::Enabled => {}
            KeyState::Disabled => return Err(disabled(key)),
            KeyState::PendingDeletion => return Err(invalid_state(key)),
        }
        if key.next_rotation.is_some_and(|at| at <= self.now) {
            let mut rotated = key.clone();
            add_material(&mut rotated, &self.kms.master, self.now);
            let period = rotated
                .rotation_period_days
                .unwrap_or(DEFAULT_ROTATION_DAYS);
            rotated.next_rotation = Some(self.now + period * DAY);
            let mut batch = Batch::new();
            batch.put(KEY, &rotated.record_name(), Some(stored.version), &rotated);
            if self.kms.records.write(batch).await? {
                return Ok(rotated);
            }
            // Rotated by another request meanwhile.
            return Ok(self.existing_key(reference).await?.value);
        }
        Ok(stored.value)
    }

    pub(super) fn material(
        &self,
        key: &KeyRecord,
        version: u32,
    ) -> Result<SecretKey, SecurityError> {
        let material = key
            .materials
            .iter()
            .find(|m| m.version == version)
            .ok_or_else(invalid_ciphertext)?;
        let aad = material_aad(&key.record_name(), version);
        base64_decode(&material.wrapped)
            .and_then(|sealed| self.kms.master.open(&sealed, &aad))
            .and_then(|bytes| SecretKey::from_bytes(&bytes))
            .ok_or_else(|| {
                tracing::error!(key = %key.id, version, "key material does not open under the master key");
                kms_error("KMSInternalException", "The key material could not be read.")
            })
    }

    pub(super) fn seal_with(
        &self,
        key: &KeyRecord,
        plaintext: &[u8],
        context: &BTreeMap<String, String>,
    ) -> Result<Vec<u8>, SecurityError> {
        let version = key.materials.last().map_or(1, |m| m.version);
        let material = self.material(key, version)?;
        Ok(crypto::encrypt_blob(
            &BlobKey {
                record: key.record_name(),
                version,
            },
            &material,
            plaintext,
            context,
        ))
    }

    /// Opens a blob: the key it names (checked against `expected`, a reference the caller gave)
    /// must be usable, and the context the one it was made with.
    pub(super) async fn open_blob(
        &self,
        blob: &[u8],
        context: &BTreeMap<String, String>,
        expected: Option<&str>,
    ) -> Result<(KeyRecord, Vec<u8>), SecurityError> {
        let (named, sealed) = crypto::read_blob(blob).ok_or_else(invalid_ciphertext)?;
        let stored = self
            .kms
            .records
            .get::<KeyRecord>(KEY, &named.record)
            .await?
            .filter(|k| !self.is_deleted(&k.value))
            .ok_or_else(invalid_ciphertext)?;
        let key = stored.value;
        if let Some(expected) = expected {
            let wanted = self.existing_key(expected).await?.value;
            if wanted.id != key.id {
                return Err(kms_error(
                    "IncorrectKeyException",
                    "The key ID in the request does not identify a KMS key that can perform this operation.",
                ));
            }
        }
        let key = self.usable_key(&key.arn()).await?;
        let material = self.material(&key, named.version)?;
        let plaintext = crypto::decrypt_blob(&named, sealed, &material, context)
            .ok_or_else(invalid_ciphertext)?;
        Ok((key, plaintext))
    }

    pub(super) fn check_algorithm(&self, member: &str) -> Result<(), SecurityError> {
        match self.text(member) {
            None | Some("SYMMETRIC_DEFAULT") => Ok(()),
            Some(other @ ("RSAES_OAEP_SHA_1" | "RSAES_OAEP_SHA_256" | "SM2PKE")) => Err(kms_error(
                "InvalidKeyUsageException",
                format!("The encryption algorithm {other} is not valid for a symmetric key."),
            )),
            Some(other) => Err(validation(format!(
                "1 validation error detected: Value '{other}' at 'encryptionAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [SYMMETRIC_DEFAULT, RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256, SM2PKE]"
            ))),
        }
    }

    pub(super) async fn encrypt(&self) -> Result<Value, SecurityError> {
        self.check_algorithm("EncryptionAlgorithm")?;
        let plaintext = self.blob("Plaintext")?;
        if plaintext.is_empty() || plaintext.len() > MAX_PLAINTEXT {
            return Err(validation(
                "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096 and greater than or equal to 1",
            ));
        }
        let context = context_of(self.input.get("EncryptionContext"))?;
        let key = self.usable_key(self.required("KeyId")?).await?;
        let blob = self.seal_with(&key, &plaintext, &context)?;
        Ok(json!({
            "CiphertextBlob": base64_encode(&blob),
            "KeyId": key.arn(),
            "EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
        }))
    }

    pub(super) async fn decrypt(&self) -> Result<Value, SecurityError> {
        self.check_algorithm("EncryptionAlgorithm")?;
        let blob = self.blob("CiphertextBlob")?;
        let context = context_of(self.input.get("EncryptionContext"))?;
        let (key, plaintext) = self.open_blob(&blob, &context, self.text("KeyId")).await?;
        Ok(json!({
            "KeyId": key.arn(),
            "Plaintext": base64_encode(&plaintext),
            "EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
        }))
    }

    pub(super) async fn re_encrypt(&self) -> Result<Value, SecurityError> {
        self.check_algorithm("SourceEncryptionAlgorithm")?;
        self.check_algorithm("DestinationEncryptionAlgorithm")?;
        let blob = self.blob("CiphertextBlob")?;
        let source_context = context_of(self.input.get("SourceEncryptionContext"))?;
        let destination_context = context_of(self.input.get("DestinationEncryptionContext"))?;
        let (source, plaintext) = self
            .open_blob(&blob, &source_context, self.text("SourceKeyId"))
            .await?;
        let destination = self.usable_key(self.required("DestinationKeyId")?).await?;
        let blob = self.seal_with(&destination, &plaintext, &destination_context)?;
        Ok(json!({
            "CiphertextBlob": base64_encode(&blob),
            "SourceKeyId": source.arn(),
            "KeyId": destination.arn(),
            "SourceEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
            "DestinationEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
        }))
    }

    pub(super) async fn generate_data_key(
        &self,
        with_plaintext: bool,
    ) -> Result<Value, SecurityError> {
        let length = match (self.text("KeySpec"), self.input.get("NumberOfBytes")) {
            (Some(_), Some(Value::Number(_))) => {
                return Err(validation("Specify KeySpec or NumberOfBytes, not both."))
            }
            (Some("AES_256"), _) => 32,
            (Some("AES_128"), _) => 16,
            (Some(other), _) => {
                return Err(validation(format!(
                    "1 validation error detected: Value '{other}' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]"
                )))
            }
            (None, Some(Value::Number(n))) => n
                .as_u64()
                .filter(|n| (1..=1024).contains(n))
                .ok_or_else(|| validation("NumberOfBytes must be between 1 and 1024."))?
                as usize,
            (None, _) => {
                return Err(validation(
                    "Please specify either number of bytes or key spec.",
                ))
            }
        };
        let context = context_of(self.input.get("EncryptionContext"))?;
        let key = self.usable_key(self.required("KeyId")?).await?;
        let mut plaintext = vec![0; length];
        rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut plaintext);
        let blob = self.seal_with(&key, &plaintext, &context)?;
        let mut out = json!({
            "CiphertextBlob": base64_encode(&blob),
            "KeyId": key.arn(),
        });
        if with_plaintext {
            out["Plaintext"] = json!(base64_encode(&plaintext));
        }
        zeroize::Zeroize::zeroize(&mut plaintext);
        Ok(out)
    }
}
