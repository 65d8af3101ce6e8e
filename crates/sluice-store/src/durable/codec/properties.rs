use proptest::collection::{btree_map, btree_set, vec};
use proptest::option;
use proptest::prelude::*;

use super::*;

fn text() -> impl Strategy<Value = String> {
    "\\PC{0,6}"
}

/// A string the format reads back as present: empty stands for absent in optional fields.
fn some_text() -> impl Strategy<Value = String> {
    "\\PC{1,6}"
}

fn key() -> impl Strategy<Value = QueueKey> {
    (text(), text(), text()).prop_map(|(account_id, region, name)| QueueKey {
        account_id,
        region,
        name,
    })
}

fn map() -> impl Strategy<Value = BTreeMap<String, String>> {
    btree_map(text(), text(), 0..4)
}

/// Epoch milliseconds of an optional instant: `i64::MIN` stands for none.
fn instant() -> impl Strategy<Value = Option<i64>> {
    option::of((i64::MIN + 1)..=i64::MAX)
}

fn change() -> impl Strategy<Value = MapChange> {
    (map(), btree_set(text(), 0..3)).prop_map(|(set, removed)| MapChange { set, removed })
}

fn state() -> impl Strategy<Value = StateFields> {
    (any::<i64>(), any::<u32>(), any::<i64>(), any::<i64>()).prop_map(
        |(visible_at, receive_count, first_receive_at, received_at)| StateFields {
            visible_at,
            receive_count,
            first_receive_at,
            received_at,
        },
    )
}

fn attribute() -> impl Strategy<Value = MessageAttribute> {
    let value = prop_oneof![
        text().prop_map(AttributeValue::String),
        vec(any::<u8>(), 0..8).prop_map(AttributeValue::Binary),
    ];
    (text(), text(), value).prop_map(|(name, data_type, value)| MessageAttribute {
        name,
        data_type,
        value,
    })
}

fn content() -> impl Strategy<Value = Arc<MessageContent>> {
    let ids = (text(), option::of(some_text()), option::of(some_text()));
    let digests = (text(), option::of(some_text()), text());
    let attributes = (vec(attribute(), 0..3), vec(attribute(), 0..2));
    // A plain body never starts with NUL: the queue layer refuses the character in a body.
    let body = prop_oneof![
        text()
            .prop_filter("no SQS body contains NUL", |t| !t.starts_with('\0'))
            .prop_map(MessageBody::Plain),
        vec(any::<u8>(), 0..64).prop_map(MessageBody::Sealed),
    ];
    let dead_letter_move = option::of(
        (any::<i64>(), any::<u32>())
            .prop_map(|(at, receive_count)| DeadLetterMove { at, receive_count }),
    );
    let times = (any::<i64>(), any::<i64>(), dead_letter_move);
    (ids, digests, attributes, body, times).prop_map(
        |(
            (message_id, group, deduplication_id),
            (md5_of_body, md5_of_attributes, sender_id),
            (attributes, system_attributes),
            body,
            (sent_at, enqueued_at, dead_letter_move),
        )| {
            Arc::new(MessageContent {
                message_id,
                body,
                attributes,
                system_attributes,
                md5_of_body,
                md5_of_attributes,
                sender_id,
                sent_at,
                enqueued_at,
                group_id: group.map(Arc::from),
                deduplication_id,
                dead_letter_move,
            })
        },
    )
}

fn seq() -> impl Strategy<Value = u64> {
    0..u64::MAX
}

fn queue_record() -> impl Strategy<Value = QueueRecord> {
    let times = (any::<i64>(), any::<i64>(), instant());
    (
        key(),
        map(),
        map(),
        times,
        any::<bool>(),
        any::<u64>(),
        any::<u64>(),
    )
        .prop_map(
            |(key, attributes, tags, (created, modified, purge), fifo, incarnation, version)| {
                QueueRecord {
                    key,
                    attributes,
                    tags,
                    created_timestamp: created,
                    last_modified_timestamp: modified,
                    last_purge_millis: purge,
                    fifo,
                    incarnation,
                    version,
                }
            },
        )
}

fn queue_patch() -> impl Strategy<Value = QueuePatch> {
    let times = (any::<i64>(), any::<i64>(), instant());
    (
        key(),
        any::<u64>(),
        any::<u64>(),
        change(),
        change(),
        times,
        any::<bool>(),
    )
        .prop_map(
            |(key, incarnation, version, attributes, tags, (created, modified, purge), fifo)| {
                QueuePatch {
                    key,
                    incarnation,
                    version,
                    attributes,
                    tags,
                    created_timestamp: created,
                    last_modified_timestamp: modified,
                    last_purge_millis: purge,
                    fifo,
                }
            },
        )
}

fn security_key() -> impl Strategy<Value = SecurityKey> {
    (text(), text()).prop_map(|(kind, name)| SecurityKey { kind, name })
}

fn security_change() -> impl Strategy<Value = SecurityChange> {
    prop_oneof![
        (security_key(), any::<u64>(), vec(any::<u8>(), 0..8)).prop_map(|(key, version, value)| {
            SecurityChange::Put(SecurityRecord {
                key,
                version,
                value,
            })
        }),
        security_key().prop_map(SecurityChange::Delete),
    ]
}

fn move_task() -> impl Strategy<Value = MoveTaskRecord> {
    let status = prop_oneof![
        Just(MoveTaskStatus::Running),
        Just(MoveTaskStatus::Completed),
        Just(MoveTaskStatus::Cancelling),
        Just(MoveTaskStatus::Cancelled),
        Just(MoveTaskStatus::Failed),
    ];
    let counts = (any::<u64>(), any::<u64>(), any::<i64>());
    (
        text(),
        key(),
        option::of(key()),
        option::of(1..=u32::MAX),
        status,
        counts,
        option::of(some_text()),
    )
        .prop_map(
            |(handle, source, destination, max_per_second, status, counts, failure_reason)| {
                MoveTaskRecord {
                    handle,
                    source,
                    destination,
                    max_per_second,
                    status,
                    moved: counts.0,
                    to_move: counts.1,
                    started_at: counts.2,
                    failure_reason,
                }
            },
        )
}

/// Every kind of record, with any values the format can carry.
fn record() -> impl Strategy<Value = Record> {
    let deduplication = option::of((text(), some_text(), any::<i64>()));
    prop_oneof![
        queue_record().prop_map(Record::QueuePut),
        queue_patch().prop_map(Record::QueuePatch),
        (key(), any::<u64>(), any::<i64>()).prop_map(|(key, incarnation, at)| {
            Record::QueueDelete {
                key,
                incarnation,
                at,
            }
        }),
        (any::<u64>(), seq(), state(), content(), deduplication).prop_map(
            |(queue, seq, state, content, deduplication)| Record::Message {
                queue,
                seq,
                state,
                content,
                deduplication,
            }
        ),
        (
            any::<u64>(),
            text(),
            text(),
            any::<u64>(),
            text(),
            any::<i64>()
        )
            .prop_map(|(queue, scope, id, seq, message_id, expires_at)| {
                Record::Deduplication {
                    queue,
                    scope,
                    id,
                    seq,
                    message_id,
                    expires_at,
                }
            }),
        (any::<u64>(), any::<i64>()).prop_map(|(queue, delay)| Record::Retime { queue, delay }),
        move_task().prop_map(Record::MoveTask),
        (any::<u64>(), any::<u64>())
            .prop_map(|(queue, next_seq)| Record::SeqFloor { queue, next_seq }),
        (any::<(u64, u64, u64)>(), seq(), state(), content()).prop_map(
            |((from_queue, from_seq, queue), seq, state, content)| Record::Move {
                from_queue,
                from_seq,
                queue,
                seq,
                state,
                content,
            }
        ),
        (any::<u64>(), any::<i64>(), vec(any::<(u64, i64)>(), 0..4)).prop_map(
            |(queue, at, messages)| Record::Receive {
                queue,
                at,
                messages,
            }
        ),
        (any::<u64>(), vec(any::<u64>(), 0..4))
            .prop_map(|(queue, seqs)| Record::Delete { queue, seqs }),
        (any::<u64>(), any::<u64>(), any::<i64>()).prop_map(|(queue, seq, deadline)| {
            Record::Visibility {
                queue,
                seq,
                deadline,
            }
        }),
        any::<u64>().prop_map(|queue| Record::Purge { queue }),
        vec(security_change(), 0..4).prop_map(Record::Security),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_record_decodes_to_what_was_encoded(record in record()) {
        let frame = encode(&record);
        let (len, crc) = frame_header(&frame).unwrap();
        prop_assert_eq!(len, frame.len() - FRAME_HEADER);
        let payload = &frame[FRAME_HEADER..];
        prop_assert!(checksum_ok(payload, crc));
        prop_assert_eq!(decode(payload), Ok(record));
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_decoder(bytes in vec(any::<u8>(), 0..256)) {
        crate::durable::fuzzing::decode_record(&bytes);
    }

    #[test]
    fn records_with_a_changed_byte_never_panic_the_decoder(
        record in record(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut payload = encode(&record)[FRAME_HEADER..].to_vec();
        let i = at.index(payload.len());
        payload[i] = byte;
        crate::durable::fuzzing::decode_record(&payload);
    }
}
