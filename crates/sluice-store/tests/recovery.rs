//! What recovery does with a damaged record, for every kind of damage in every place: only a record that
//! is the last thing in the newest segment may be dropped as a torn write; anything else stops start-up
//! with an error naming the file and the record's offset, and leaves every file as it was.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use sluice_store::{
    DurableOptions, DurableStore, MessageContent, NewMessage, QueueKey, QueueRecord, Store,
};

const MESSAGES: usize = 19;
const FRAME_HEADER: usize = 8;
const SEGMENT_HEADER: usize = 16;

fn temp_dir(label: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "sluice-recovery-{label}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn key() -> QueueKey {
    QueueKey {
        account_id: "000000000000".into(),
        region: "us-east-1".into(),
        name: "q".into(),
    }
}

fn message(i: usize) -> NewMessage {
    let body = format!("m{i}:{}", "x".repeat(600));
    NewMessage {
        content: Arc::new(MessageContent {
            message_id: format!("id-{i}"),
            body: body.into(),
            attributes: Vec::new(),
            system_attributes: Vec::new(),
            md5_of_body: "md5".into(),
            md5_of_attributes: None,
            sender_id: "sender".into(),
            sent_at: 0,
            enqueued_at: 0,
            group_id: None,
            deduplication_id: None,
            dead_letter_move: None,
        }),
        visible_at: 0,
        deduplication: None,
    }
}

fn options() -> DurableOptions {
    DurableOptions {
        segment_bytes: 4096,
    }
}

/// A data directory holding a queue and `MESSAGES` messages, one record each, over several segments.
async fn pristine() -> PathBuf {
    let dir = temp_dir("pristine");
    let store = DurableStore::open_with(&dir, options()).unwrap();
    store
        .create_queue(QueueRecord {
            key: key(),
            attributes: BTreeMap::new(),
            tags: BTreeMap::new(),
            created_timestamp: 1,
            last_modified_timestamp: 1,
            last_purge_millis: None,
            fifo: false,
            incarnation: 7,
            version: 0,
        })
        .await
        .unwrap();
    for i in 0..MESSAGES {
        store
            .send_messages(&key(), vec![message(i)], 0)
            .await
            .unwrap();
    }
    store.close();
    dir
}

/// Every file of a data directory with its contents.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

/// The segment files, oldest first, that hold records.
fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".log"))
        .filter(|p| std::fs::metadata(p).unwrap().len() > SEGMENT_HEADER as u64)
        .collect();
    files.sort();
    files
}

/// The offset and payload length of each record in a segment file.
fn frames(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut offset = SEGMENT_HEADER;
    while offset < bytes.len() {
        let len = u32::from_le_bytes(bytes[offset..offset + 4].try_into().unwrap()) as usize;
        out.push((offset, len));
        offset += FRAME_HEADER + len;
    }
    assert_eq!(offset, bytes.len());
    out
}

#[derive(Clone, Copy, Debug)]
enum Segment {
    Older,
    Newest,
}

#[derive(Clone, Copy, Debug)]
enum Place {
    First,
    Middle,
    Last,
}

#[derive(Clone, Copy, Debug)]
enum Field {
    Length,
    Checksum,
    Type,
    Payload,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Outcome {
    /// Start-up stops with an error naming the file and the record's offset; no file changes.
    Refused,
    /// The record is dropped as a torn write: everything before it is recovered, the file is cut there.
    TornTail,
}

/// Bits flipped in each field (byte within the frame, mask): low and high bits of the length (a
/// length that stays inside the file and one that points far past its end), of the checksum, of the
/// type, and payload bytes at the start, middle and end.
fn flips(field: Field, len: usize) -> Vec<(usize, u8)> {
    match field {
        Field::Length => vec![(0, 0x01), (0, 0x80), (1, 0x04), (2, 0x10), (3, 0x80)],
        Field::Checksum => vec![(4, 0x01), (6, 0x20), (7, 0x80)],
        Field::Type => vec![(8, 0x01), (8, 0x80)],
        Field::Payload => vec![
            (9, 0x01),
            (FRAME_HEADER + len / 2, 0x40),
            (FRAME_HEADER + len - 1, 0x80),
        ],
    }
}

const TABLE: [(Segment, Place, Field, Outcome); 24] = {
    use Field::*;
    use Outcome::*;
    use Place::*;
    use Segment::*;
    [
        (Older, First, Length, Refused),
        (Older, First, Checksum, Refused),
        (Older, First, Type, Refused),
        (Older, First, Payload, Refused),
        (Older, Middle, Length, Refused),
        (Older, Middle, Checksum, Refused),
        (Older, Middle, Type, Refused),
        (Older, Middle, Payload, Refused),
        (Older, Last, Length, Refused),
        (Older, Last, Checksum, Refused),
        (Older, Last, Type, Refused),
        (Older, Last, Payload, Refused),
        (Newest, First, Length, Refused),
        (Newest, First, Checksum, Refused),
        (Newest, First, Type, Refused),
        (Newest, First, Payload, Refused),
        (Newest, Middle, Length, Refused),
        (Newest, Middle, Checksum, Refused),
        (Newest, Middle, Type, Refused),
        (Newest, Middle, Payload, Refused),
        (Newest, Last, Length, TornTail),
        (Newest, Last, Checksum, TornTail),
        (Newest, Last, Type, TornTail),
        (Newest, Last, Payload, TornTail),
    ]
};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for (name, bytes) in snapshot(from) {
        std::fs::write(to.join(name), bytes).unwrap();
    }
}

/// The bodies' message numbers of the queue, in order.
async fn recovered_messages(store: &DurableStore) -> Vec<usize> {
    store
        .peek_visible(&key(), MESSAGES + 1, 0)
        .await
        .unwrap()
        .iter()
        .map(|(_, content)| {
            text(&content.body).split(':').next().unwrap()[1..]
                .parse()
                .unwrap()
        })
        .collect()
}

#[tokio::test]
async fn damaged_records_are_refused_unless_they_are_the_torn_end_of_the_newest_segment() {
    let pristine = pristine().await;
    let files = segments(&pristine);
    assert!(files.len() >= 3, "{files:?}");
    let (older, newest) = (&files[0], &files[files.len() - 1]);
    // Which message each record of the newest segment holds: it starts after every earlier one.
    let earlier_records: usize = files[..files.len() - 1]
        .iter()
        .map(|f| frames(&std::fs::read(f).unwrap()).len())
        .sum();
    let newest_frames = frames(&std::fs::read(newest).unwrap());
    assert!(newest_frames.len() >= 3, "{newest_frames:?}");
    assert_eq!(earlier_records + newest_frames.len(), MESSAGES + 1);

    for (segment, place, field, expected) in TABLE {
        let path = match segment {
            Segment::Older => older,
            Segment::Newest => newest,
        };
        let bytes = std::fs::read(path).unwrap();
        let records = frames(&bytes);
        let index = match place {
            Place::First => 0,
            Place::Middle => records.len() / 2,
            Place::Last => records.len() - 1,
        };
        let (offset, len) = records[index];
        for (at, mask) in flips(field, len) {
            let case = format!("{segment:?} {place:?} {field:?} byte {at} ^ {mask:#x}");
            let dir = temp_dir("case");
            copy_dir(&pristine, &dir);
            let file = dir.join(path.file_name().unwrap());
            let mut damaged = bytes.clone();
            damaged[offset + at] ^= mask;
            std::fs::write(&file, &damaged).unwrap();
            let before = snapshot(&dir);
            let opened = DurableStore::open_with(&dir, options());
            match expected {
                Outcome::Refused => {
                    let err = opened.err().unwrap_or_else(|| panic!("{case}: opened"));
                    let err = err.to_string();
                    let name = file.file_name().unwrap().to_string_lossy().into_owned();
                    assert!(err.contains(&name), "{case}: {err}");
                    assert!(
                        err.contains(&format!("record at offset {offset} ")),
                        "{case}: {err}"
                    );
                    assert!(snapshot(&dir) == before, "{case}: files changed");
                }
                Outcome::TornTail => {
                    let store = opened.unwrap_or_else(|e| panic!("{case}: {e}"));
                    let kept = earlier_records - 1 + index;
                    assert_eq!(
                        recovered_messages(&store).await,
                        (0..kept).collect::<Vec<_>>(),
                        "{case}"
                    );
                    store.close();
                    assert_eq!(
                        std::fs::metadata(&file).unwrap().len(),
                        offset as u64,
                        "{case}: the torn record is cut off"
                    );
                }
            }
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    let _ = std::fs::remove_dir_all(&pristine);
}

/// Zeroed space after the last record (allocated for a write that never landed) is a torn tail: it
/// is dropped, not taken for a record or for damage.
#[tokio::test]
async fn zeroed_space_after_the_last_record_is_a_torn_tail() {
    let pristine = pristine().await;
    let files = segments(&pristine);
    let newest = files.last().unwrap();
    let len = std::fs::metadata(newest).unwrap().len();
    for zeros in [1, 8, 9, 4096] {
        let dir = temp_dir("zeros");
        copy_dir(&pristine, &dir);
        let file = dir.join(newest.file_name().unwrap());
        let mut bytes = std::fs::read(&file).unwrap();
        bytes.extend(std::iter::repeat_n(0u8, zeros));
        std::fs::write(&file, bytes).unwrap();
        let store = DurableStore::open_with(&dir, options()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            recovered_messages(&store).await,
            (0..MESSAGES).collect::<Vec<_>>()
        );
        store.close();
        assert_eq!(std::fs::metadata(&file).unwrap().len(), len);
        let _ = std::fs::remove_dir_all(&dir);
    }
    let _ = std::fs::remove_dir_all(&pristine);
}

/// The defect as first seen: one bit of a middle record's length flipped in the newest segment made
/// everything after it look like a torn tail, and it was cut off for good.
#[tokio::test]
async fn a_flipped_length_bit_in_the_middle_of_the_newest_segment_loses_nothing() {
    let dir = pristine().await;
    let newest = segments(&dir).pop().unwrap();
    let mut bytes = std::fs::read(&newest).unwrap();
    let (offset, _) = frames(&bytes)[1];
    bytes[offset + 2] ^= 0x01;
    std::fs::write(&newest, &bytes).unwrap();
    let err = DurableStore::open_with(&dir, options()).err().unwrap();
    assert!(err.to_string().contains("a valid record follows"), "{err}");
    assert_eq!(std::fs::read(&newest).unwrap(), bytes);
    bytes[offset + 2] ^= 0x01;
    std::fs::write(&newest, &bytes).unwrap();
    let store = DurableStore::open_with(&dir, options()).unwrap();
    assert_eq!(
        recovered_messages(&store).await,
        (0..MESSAGES).collect::<Vec<_>>()
    );
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A record cut short and followed by whatever the disk held there (here, pseudo-random bytes) is a
/// torn tail as long as no whole record is among those bytes.
#[tokio::test]
async fn garbage_after_a_record_cut_short_is_a_torn_tail() {
    let pristine = pristine().await;
    let newest = segments(&pristine).pop().unwrap();
    let bytes = std::fs::read(&newest).unwrap();
    let (offset, len) = *frames(&bytes).last().unwrap();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let garbage: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let dir = temp_dir("garbage");
    copy_dir(&pristine, &dir);
    let file = dir.join(newest.file_name().unwrap());
    let mut torn = bytes[..offset + FRAME_HEADER + len / 2].to_vec();
    torn.extend(&garbage);
    std::fs::write(&file, torn).unwrap();
    let store = DurableStore::open_with(&dir, options()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        recovered_messages(&store).await,
        (0..MESSAGES - 1).collect::<Vec<_>>()
    );
    drop(store);
    assert_eq!(std::fs::metadata(&file).unwrap().len(), offset as u64);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&pristine);
}

fn text(body: &sluice_store::MessageBody) -> String {
    body.plain().expect("a plain body").to_string()
}
