//! Replays the fuzz targets' corpora (`fuzz/corpus/<target>/`) through the same parsers the targets
//! drive, so an input that once crashed a parser, kept there as a fixture, is checked by every
//! `cargo test` and not only by a fuzzing run.

use std::path::PathBuf;

use sluice_model::{ApiError, Operation};
use sluice_protocol::{Params, Protocol};

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut inputs: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            (path.display().to_string(), bytes)
        })
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "{} is empty", dir.display());
    inputs
}

fn pick(byte: u8) -> Operation {
    Operation::ALL[usize::from(byte) % Operation::ALL.len()]
}

#[test]
fn json_request_corpus_decodes_or_fails_cleanly() {
    for (name, data) in corpus("json_request") {
        let Some((&first, body)) = data.split_first() else {
            continue;
        };
        if let Err(error) = sluice_protocol::decode_json(pick(first), body) {
            let wire = sluice_protocol::encode_error(Protocol::Json, &error, "replay");
            assert!((400..600).contains(&wire.status), "{name}");
        }
    }
}

fn decode_query(data: &[u8]) -> Result<(), ApiError> {
    let (query, body) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &data[data.len()..]),
    };
    let mut params = Params::new();
    sluice_protocol::parse_form(query, &mut params)?;
    sluice_protocol::parse_form(body, &mut params)?;
    let operation = match params.get("Action") {
        Some(action) => {
            Operation::from_name(action).ok_or_else(|| sluice_protocol::unknown_action(action))?
        }
        None => pick(data.first().copied().unwrap_or(0)),
    };
    let value = sluice_protocol::params_to_value(operation, &params)?;
    sluice_protocol::decode(Protocol::Query, operation, value).map(|_| ())
}

#[test]
fn query_request_corpus_decodes_or_fails_cleanly() {
    let mut decoded = 0;
    for (name, data) in corpus("query_request") {
        match decode_query(&data) {
            Ok(()) => decoded += 1,
            Err(error) => {
                let wire = sluice_protocol::encode_error(Protocol::Query, &error, "replay");
                assert!((400..600).contains(&wire.status), "{name}");
            }
        }
    }
    assert!(decoded > 0, "the seeds include valid requests");
}

#[test]
fn admin_request_corpus_decodes_or_fails_cleanly() {
    const ACTIONS: [&str; 4] = ["ListQueues", "PeekMessages", "GetQueueHistory", "Unknown"];
    for (name, data) in corpus("admin_request") {
        let Some((&first, body)) = data.split_first() else {
            continue;
        };
        let action = ACTIONS[usize::from(first) % ACTIONS.len()];
        if let Err(error) = sluice_protocol::decode_console(action, body) {
            let wire = sluice_protocol::encode_error(Protocol::Json, &error, "replay");
            assert!((400..600).contains(&wire.status), "{name}");
        }
    }
}
