//! Receipt handles: opaque, unforgeable names for one receive of one message.
//!
//! A handle carries the queue's incarnation, the message's sequence number in the queue and the receive
//! it came from, sealed with an HMAC under the server's secret. Anyone can hold a handle; nobody can make
//! one the server did not issue, and a handle of a deleted queue does not work on a new queue of the
//! same name.

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

const VERSION: u8 = 1;
const MAC_BYTES: usize = 16;
const PAYLOAD_BYTES: usize = 1 + 8 + 8 + 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReceiptHandle {
    pub incarnation: u64,
    pub seq: u64,
    pub receive_count: u32,
}

/// Seals and opens receipt handles with one server secret.
#[derive(Clone)]
pub struct ReceiptSealer {
    /// The HMAC keyed with the secret once; each handle starts from a copy of it.
    keyed: Hmac<Sha256>,
}

impl ReceiptSealer {
    pub fn new(secret: [u8; 32]) -> Self {
        ReceiptSealer {
            keyed: <Hmac<Sha256> as KeyInit>::new_from_slice(&secret)
                .expect("HMAC accepts keys of any length"),
        }
    }

    fn mac(&self, payload: &[u8]) -> [u8; MAC_BYTES] {
        let mut mac = self.keyed.clone();
        mac.update(payload);
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; MAC_BYTES];
        out.copy_from_slice(&full[..MAC_BYTES]);
        out
    }

    pub fn seal(&self, handle: ReceiptHandle) -> String {
        let mut bytes = Vec::with_capacity(PAYLOAD_BYTES + MAC_BYTES);
        bytes.push(VERSION);
        bytes.extend(handle.incarnation.to_be_bytes());
        bytes.extend(handle.seq.to_be_bytes());
        bytes.extend(handle.receive_count.to_be_bytes());
        let mac = self.mac(&bytes);
        bytes.extend(mac);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The handle, if the text is one this server issued.
    pub fn open(&self, text: &str) -> Option<ReceiptHandle> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .ok()?;
        if bytes.len() != PAYLOAD_BYTES + MAC_BYTES || bytes[0] != VERSION {
            return None;
        }
        let (payload, mac) = bytes.split_at(PAYLOAD_BYTES);
        let mut verifier = self.keyed.clone();
        verifier.update(payload);
        verifier.verify_truncated_left(mac).ok()?;
        let word = |range: std::ops::Range<usize>| -> [u8; 8] {
            payload[range].try_into().unwrap_or([0; 8])
        };
        Some(ReceiptHandle {
            incarnation: u64::from_be_bytes(word(1..9)),
            seq: u64::from_be_bytes(word(9..17)),
            receive_count: u32::from_be_bytes(payload[17..21].try_into().unwrap_or([0; 4])),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_round_trip_and_resist_forgery() {
        let sealer = ReceiptSealer::new([7; 32]);
        let handle = ReceiptHandle {
            incarnation: 42,
            seq: 9,
            receive_count: 3,
        };
        let text = sealer.seal(handle);
        assert_eq!(sealer.open(&text), Some(handle));
        assert_ne!(
            text,
            sealer.seal(ReceiptHandle {
                receive_count: 4,
                ..handle
            })
        );
        assert_eq!(ReceiptSealer::new([8; 32]).open(&text), None);
        let mut tampered = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&text)
            .unwrap();
        tampered[10] ^= 1;
        assert_eq!(
            sealer.open(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tampered)),
            None
        );
        for junk in ["", "abc", "!!!", &"A".repeat(55)] {
            assert_eq!(sealer.open(junk), None);
        }
    }
}
