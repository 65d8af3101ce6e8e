//! The AWS Query decoder: a query string and a form body, split at the first NUL byte. Parameters from
//! both are read as the server reads them, the action picks the operation (or, when it names none, the
//! first byte does), and the parameters are decoded into its typed request. Any input must decode or
//! fail with an error that renders as XML, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_model::{ApiError, Operation};
use sluice_protocol::{Params, Protocol};

fn decode(data: &[u8]) -> Result<(), ApiError> {
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
        None => Operation::ALL[usize::from(data.first().copied().unwrap_or(0)) % Operation::ALL.len()],
    };
    let value = sluice_protocol::params_to_value(operation, &params)?;
    sluice_protocol::decode(Protocol::Query, operation, value).map(|_| ())
}

fuzz_target!(|data: &[u8]| {
    if let Err(error) = decode(data) {
        let _ = sluice_protocol::encode_error(Protocol::Query, &error, "fuzz");
    }
});
