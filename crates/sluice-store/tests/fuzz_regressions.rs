//! Inputs the fuzz targets in `fuzz/` once found a defect with, replayed through the same checks. A new
//! finding goes in `tests/fuzz-regressions/<target>/` under a name that says what broke.

use std::path::{Path, PathBuf};

use sluice_store::durable::fuzzing;
use sluice_store::{DurableStore, QueueKey, ReceiveRequest, Store};

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

/// A message recovered at the largest receive count is received again at that count, not past it.
#[tokio::test]
async fn a_message_at_the_largest_receive_count_is_received_again() {
    let input = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-regressions/recovery/receive-of-a-message-received-the-most-times");
    let dir = std::env::temp_dir().join(format!(
        "sluice-fuzz-regression-{}-receive-count",
        std::process::id()
    ));
    fuzzing::prepare_dir(&dir).unwrap();
    std::fs::copy(&input, dir.join("journal-0000000001.log")).unwrap();
    let store = DurableStore::open(&dir).unwrap();
    let key = QueueKey {
        account_id: "000000000000".into(),
        region: "us-east-1".into(),
        name: "q".into(),
    };
    let request = ReceiveRequest {
        now: 200,
        max_messages: 1,
        visibility_deadline: 300,
        expire_before: i64::MIN,
        max_in_flight: 10,
    };
    let got = store.receive_messages(&key, request, None).await.unwrap();
    assert_eq!(got.messages.len(), 1);
    assert_eq!(got.messages[0].receive_count, u32::MAX);
    drop(store);
    std::fs::remove_dir_all(&dir).unwrap();
}
