//! KMS ciphertext blobs as Decrypt and ReEncrypt receive them: any bytes must be read or refused,
//! never panic, and nothing opens that the key did not seal.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    sluice_security::kms::fuzzing::check_ciphertext_blob(data);
});
