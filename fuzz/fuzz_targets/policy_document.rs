//! IAM policy documents as IAM and STS calls bring them: any text must be accepted or refused with
//! `MalformedPolicyDocument`, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    sluice_security::directory::fuzzing::check_policy_document(data);
});
