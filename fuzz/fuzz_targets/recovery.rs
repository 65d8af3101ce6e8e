//! Start-up recovery of a data directory with a valid meta file and one journal segment of arbitrary
//! bytes: it returns or stops with an error naming the segment, never panics or hangs, and only ever
//! cuts a torn tail (see `recovery_holds`).
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sluice_store::durable::fuzzing;

/// One directory per process, in the temporary directory (`scripts/test` points it at a memory file
/// system when there is one, and removes it after): every input rewrites it.
fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("sluice-fuzz-recovery-{}", std::process::id()));
        fuzzing::prepare_dir(&dir).expect("make the data directory");
        dir
    })
}

fuzz_target!(|segment: &[u8]| {
    fuzzing::recovery_holds(dir(), segment);
});
