//! What the fuzz targets in `fuzz/` and the regression tests that replay their findings call: the
//! record decoder and start-up recovery, each on arbitrary bytes. Not an API for anything else.

use std::path::Path;

use super::codec::{self, Record, FRAME_HEADER};
use super::journal::SEGMENT_HEADER;
use super::{load_or_create_meta, recovery, OpenError, META_FILE, META_HEADER};

/// Decodes `payload` as a record's payload every way the engine does. A payload that decodes must
/// encode back to a frame that decodes to the same record, and its head must agree with it.
///
/// # Panics
/// When the decoder contradicts itself: that is the defect the fuzz target looks for.
pub fn decode_record(payload: &[u8]) {
    let head = codec::message_head(payload);
    let Ok(record) = codec::decode(payload) else {
        return;
    };
    let frame = codec::encode(&record);
    let (len, crc) = codec::frame_header(&frame).expect("an encoded frame has a header");
    let again = &frame[codec::FRAME_HEADER..];
    assert_eq!(len, again.len(), "encoded length");
    assert!(codec::checksum_ok(again, crc), "encoded checksum");
    assert_eq!(
        codec::decode(again).as_ref(),
        Ok(&record),
        "re-decoded record"
    );
    match (&record, head) {
        (
            Record::Message {
                queue,
                seq,
                content,
                ..
            },
            Some(head),
        ) => {
            assert_eq!(
                (head.queue, head.seq, head.moved_from, head.dead_letter_move),
                (*queue, *seq, None, content.dead_letter_move)
            );
        }
        (
            Record::Move {
                from_queue,
                from_seq,
                queue,
                seq,
                content,
                ..
            },
            Some(head),
        ) => {
            assert_eq!(
                (head.queue, head.seq, head.moved_from, head.dead_letter_move),
                (
                    *queue,
                    *seq,
                    Some((*from_queue, *from_seq)),
                    content.dead_letter_move
                )
            );
        }
        (Record::Message { .. } | Record::Move { .. }, None) => {
            panic!("a message record without a head")
        }
        (_, head) => assert!(head.is_none(), "a head for a record that is no message"),
    }
}

/// The segment file `recovery_holds` writes.
const SEGMENT: &str = "journal-0000000001.log";

/// Makes `dir` a data directory with a valid meta file and no journal.
pub fn prepare_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join(META_FILE),
        format!("{META_HEADER}\nsecret {}\n", "ab".repeat(32)),
    )
}

/// Recovers the data directory `dir` (made by `prepare_dir`) with `segment` as its one journal segment,
/// as start-up does (dropping a torn tail included) without starting the engine: once as it is and
/// once with its frames' checksums made right, so that changes to records reach their replay.
///
/// # Panics
/// When recovery breaks a promise: it must return, stop with an error naming the segment and leave it
/// untouched, or cut only a tail, after which a second recovery finds nothing more to drop.
pub fn recovery_holds(dir: &Path, segment: &[u8]) {
    recover_once(dir, segment);
    let mut sealed = segment.to_vec();
    seal_frames(&mut sealed);
    if sealed != segment {
        recover_once(dir, &sealed);
    }
}

fn recover_once(dir: &Path, segment: &[u8]) {
    let path = dir.join(SEGMENT);
    std::fs::write(&path, segment).expect("write the segment");
    let read = || std::fs::read(&path).expect("read the segment back");
    match recover(dir) {
        Ok(()) => {
            let left = read();
            assert!(
                segment.starts_with(&left),
                "recovery only ever cuts the tail"
            );
            assert!(recover(dir).is_ok(), "a recovered directory recovers");
            assert_eq!(read(), left, "nothing more to drop");
        }
        Err(OpenError::Damaged { path: named, .. }) => {
            assert_eq!(named, path, "the error names the segment");
            assert_eq!(read(), segment, "a damaged segment is left untouched");
        }
        Err(e) => panic!("{e}"),
    }
}

fn recover(dir: &Path) -> Result<(), OpenError> {
    load_or_create_meta(dir)?;
    recovery::recover(dir).map(|_| ())
}

/// Writes the right checksum into every frame of a segment that fits in it, walking the frames by their
/// length fields, so that a fuzzer's changes reach the replay of records and not only the checksums.
fn seal_frames(segment: &mut [u8]) {
    let mut offset = SEGMENT_HEADER as usize;
    while let Some((len, _)) = segment.get(offset..).and_then(codec::frame_header) {
        let Some(end) = (offset + FRAME_HEADER)
            .checked_add(len)
            .filter(|end| *end <= segment.len())
        else {
            return;
        };
        let crc = crc32fast::hash(&segment[offset + FRAME_HEADER..end]);
        segment[offset + 4..offset + FRAME_HEADER].copy_from_slice(&crc.to_le_bytes());
        offset = end;
    }
}
