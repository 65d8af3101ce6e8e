//! KMS ciphertext blobs as Decrypt and ReEncrypt receive them, and sealed message bodies as the
//! journal returns them: any bytes must be read or refused, never panic, and nothing opens that the
//! key did not seal.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    sluice_security::kms::fuzzing::check_ciphertext_blob(data);
    sluice_security::sse::fuzzing::check_envelope(data);
});
