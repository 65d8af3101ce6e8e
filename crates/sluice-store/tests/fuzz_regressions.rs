//! Inputs the fuzz targets in `fuzz/` once found a defect with, replayed through the same checks. A new
//! finding goes in `tests/fuzz-regressions/<target>/` under a name that says what broke.

use std::path::{Path, PathBuf};

use sluice_store::durable::fuzzing;

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-regressions")
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut inputs: Vec<(PathBuf, Vec<u8>)> = entries
        .map(|e| e.unwrap().path())
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    inputs.sort();
    inputs
}

#[test]
fn journal_record_findings_stay_fixed() {
    for (path, input) in inputs("journal_record") {
        eprintln!("{}", path.display());
        fuzzing::decode_record(&input);
    }
}

#[test]
fn recovery_findings_stay_fixed() {
    for (path, input) in inputs("recovery") {
        eprintln!("{}", path.display());
        let dir = std::env::temp_dir().join(format!(
            "sluice-fuzz-regression-{}-{}",
            std::process::id(),
            path.file_name().unwrap().to_string_lossy()
        ));
        fuzzing::prepare_dir(&dir).unwrap();
        fuzzing::recovery_holds(&dir, &input);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
