//! The server's master key, which wraps every KMS key's material: from a file or an environment
//! variable the operator names (for keys kept in a secret manager), else `master-key` in the data
//! directory, made on first start and readable by the owner only. Whoever loses it loses every
//! SSE-encrypted message and every KMS ciphertext; the KMS refuses to start with a key other than
//! the one its data was written with.

use sluice_security::kms::SecretKey;

use crate::config::{Config, MasterKeySource, StorageKind};
use crate::ServerError;

/// The master key's file in the data directory.
pub const MASTER_KEY_FILE: &str = "master-key";

pub fn load(config: &Config) -> Result<SecretKey, ServerError> {
    let bad = |from: &str, why: &str| ServerError::MasterKey(format!("{from}: {why}"));
    match &config.master_key {
        MasterKeySource::File(path) => {
            let bytes = std::fs::read(path)
                .map_err(|e| bad(&path.display().to_string(), &e.to_string()))?;
            parse(&bytes).ok_or_else(|| bad(&path.display().to_string(), SHAPE))
        }
        MasterKeySource::Env(name) => {
            let value = std::env::var(name).map_err(|_| bad(name, "the variable is not set"))?;
            parse(value.as_bytes()).ok_or_else(|| bad(name, SHAPE))
        }
        MasterKeySource::DataDir if config.storage == StorageKind::Memory => {
            Ok(SecretKey::random())
        }
        MasterKeySource::DataDir => {
            let path = config.data_dir.join(MASTER_KEY_FILE);
            match std::fs::read(&path) {
                Ok(bytes) => parse(&bytes).ok_or_else(|| bad(&path.display().to_string(), SHAPE)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    let key = SecretKey::random();
                    let text = format!("{}\n", base64_text(key.bytes()));
                    crate::write_private_file(&path, &text)
                        .map_err(|e| bad(&path.display().to_string(), &e.to_string()))?;
                    tracing::info!(path = %path.display(), "master key made; keep a copy: without it encrypted data cannot be read");
                    Ok(key)
                }
                Err(e) => Err(bad(&path.display().to_string(), &e.to_string())),
            }
        }
    }
}

const SHAPE: &str = "a master key is 32 bytes, raw or in base64";

/// 32 raw bytes, or their base64 (surrounding whitespace ignored).
fn parse(bytes: &[u8]) -> Option<SecretKey> {
    if bytes.len() == 32 {
        return SecretKey::from_bytes(bytes);
    }
    use base64::Engine;
    let text = std::str::from_utf8(bytes).ok()?.trim();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(text)
        .ok()?;
    SecretKey::from_bytes(&decoded)
}

fn base64_text(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_raw_or_base64() {
        assert!(parse(&[7; 32]).is_some());
        let text = format!("  {}\n", base64_text(&[9; 32]));
        assert_eq!(parse(text.as_bytes()).unwrap().bytes(), &[9; 32]);
        assert!(parse(b"too short").is_none());
        assert!(parse(base64_text(&[1; 16]).as_bytes()).is_none());
    }
}
