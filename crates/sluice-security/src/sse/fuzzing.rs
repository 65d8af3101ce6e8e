//! Arbitrary bytes as a sealed message body, and the promises kept on them: reading never panics,
//! what reads splits the bytes exactly, and an envelope made of any parts reads back as made.
//! Shared by the `kms_ciphertext` fuzz target and the test that replays its corpus.

use super::envelope::{header, read, Wrapping};

pub fn check_envelope(data: &[u8]) {
    if let Some(envelope) = read(data) {
        assert_eq!(
            envelope.header.len() + envelope.ciphertext.len(),
            data.len()
        );
        assert!(envelope.header.ends_with(envelope.wrapped_key));
    }
    let split = data.len() / 2;
    let arn = String::from_utf8_lossy(&data[..split]);
    let wrapped = &data[split..];
    if let Some(mut made) = header(Wrapping::Kms, 300, &arn, wrapped) {
        let header_length = made.len();
        made.extend_from_slice(data);
        let envelope = read(&made).expect("an envelope just made reads");
        assert_eq!(envelope.queue_arn, arn);
        assert_eq!(envelope.wrapped_key, wrapped);
        assert_eq!(envelope.reuse_seconds, 300);
        assert_eq!(envelope.header.len(), header_length);
        assert_eq!(envelope.ciphertext, data);
    }
}
