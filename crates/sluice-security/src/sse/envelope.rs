//! The sealed form of a message body: everything needed to open it, so that a body opens in whatever
//! queue it has moved to.
//!
//! `"SSE1" | wrapping u8 | reuse period u32 | queue ARN (u16 length) | wrapped data key (u32 length) |
//! nonce and AES-256-GCM ciphertext`, the header before the ciphertext being its additional data. The
//! queue ARN is that of the queue the body was sent to: the encryption context its data key was made
//! with. The reuse period is how long an opened data key may be kept for more bodies.

const MAGIC: &[u8; 4] = b"SSE1";

/// How the data key is wrapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wrapping {
    /// A KMS ciphertext blob of the queue's KMS key (SSE-KMS).
    Kms,
    /// Sealed under the server's master key (SSE-SQS).
    Owned,
}

impl Wrapping {
    fn tag(self) -> u8 {
        match self {
            Wrapping::Kms => 1,
            Wrapping::Owned => 2,
        }
    }

    fn from_tag(tag: u8) -> Option<Self> {
        match tag {
            1 => Some(Wrapping::Kms),
            2 => Some(Wrapping::Owned),
            _ => None,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct Envelope<'a> {
    pub wrapping: Wrapping,
    pub reuse_seconds: u32,
    pub queue_arn: &'a str,
    pub wrapped_key: &'a [u8],
    /// The header: the additional data of the ciphertext.
    pub header: &'a [u8],
    pub ciphertext: &'a [u8],
}

/// The header of an envelope, to which the sealed body is appended.
pub fn header(
    wrapping: Wrapping,
    reuse_seconds: u32,
    queue_arn: &str,
    wrapped_key: &[u8],
) -> Option<Vec<u8>> {
    let arn_length = u16::try_from(queue_arn.len()).ok()?;
    let key_length = u32::try_from(wrapped_key.len()).ok()?;
    let mut out = Vec::with_capacity(15 + queue_arn.len() + wrapped_key.len());
    out.extend_from_slice(MAGIC);
    out.push(wrapping.tag());
    out.extend_from_slice(&reuse_seconds.to_be_bytes());
    out.extend_from_slice(&arn_length.to_be_bytes());
    out.extend_from_slice(queue_arn.as_bytes());
    out.extend_from_slice(&key_length.to_be_bytes());
    out.extend_from_slice(wrapped_key);
    Some(out)
}

/// Reads an envelope; `None` for bytes that are not one.
pub fn read(bytes: &[u8]) -> Option<Envelope<'_>> {
    let rest = bytes.strip_prefix(MAGIC)?;
    let (&tag, rest) = rest.split_first()?;
    let wrapping = Wrapping::from_tag(tag)?;
    let (reuse_seconds, rest) = rest.split_first_chunk::<4>()?;
    let (arn_length, rest) = rest.split_first_chunk::<2>()?;
    let arn_length = usize::from(u16::from_be_bytes(*arn_length));
    let (arn, rest) = rest.split_at_checked(arn_length)?;
    let queue_arn = std::str::from_utf8(arn).ok()?;
    let (key_length, rest) = rest.split_first_chunk::<4>()?;
    let key_length = usize::try_from(u32::from_be_bytes(*key_length)).ok()?;
    let (wrapped_key, ciphertext) = rest.split_at_checked(key_length)?;
    let header_length = bytes.len() - ciphertext.len();
    Some(Envelope {
        wrapping,
        reuse_seconds: u32::from_be_bytes(*reuse_seconds),
        queue_arn,
        wrapped_key,
        header: &bytes[..header_length],
        ciphertext,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_envelope_reads_back_what_was_written() {
        let arn = "arn:aws:sqs:us-east-1:111122223333:orders";
        let mut bytes = header(Wrapping::Kms, 300, arn, b"wrapped").unwrap();
        let header_length = bytes.len();
        bytes.extend_from_slice(b"ciphertext");
        let envelope = read(&bytes).unwrap();
        assert_eq!(envelope.wrapping, Wrapping::Kms);
        assert_eq!(envelope.reuse_seconds, 300);
        assert_eq!(envelope.queue_arn, arn);
        assert_eq!(envelope.wrapped_key, b"wrapped");
        assert_eq!(envelope.header.len(), header_length);
        assert_eq!(envelope.ciphertext, b"ciphertext");
    }

    #[test]
    fn what_is_not_an_envelope_is_refused() {
        assert!(read(b"").is_none());
        assert!(read(b"SSE1").is_none());
        assert!(read(b"SSE1\x03\0\0\0\0\0\0\0\0\0\0").is_none());
        assert!(read(b"SSE1\x01\0\0\0\0\xff\xffarn").is_none());
        assert!(read(b"SSE1\x01\0\0\0\0\0\x01a\xff\xff\xff\xff").is_none());
        assert!(read(b"SSE1\x01\0\0\0\0\0\x01\xff\0\0\0\0").is_none());
    }
}
