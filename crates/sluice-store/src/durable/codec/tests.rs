use super::*;

fn content() -> Arc<MessageContent> {
    Arc::new(MessageContent {
        message_id: "id".into(),
        body: "body ✓".into(),
        attributes: vec![MessageAttribute {
            name: "n".into(),
            data_type: "Binary".into(),
            value: AttributeValue::Binary(vec![0, 255]),
        }],
        system_attributes: vec![MessageAttribute {
            name: "AWSTraceHeader".into(),
            data_type: "String".into(),
            value: AttributeValue::String("Root=1".into()),
        }],
        md5_of_body: "md5".into(),
        md5_of_attributes: Some("md5a".into()),
        sender_id: "AKID".into(),
        sent_at: 42,
        enqueued_at: 43,
        group_id: Some("g1".into()),
        deduplication_id: Some("d1".into()),
        dead_letter_move: None,
    })
}

#[test]
fn every_record_round_trips() {
    let key = QueueKey {
        account_id: "000000000000".into(),
        region: "us-east-1".into(),
        name: "q".into(),
    };
    let state = StateFields {
        visible_at: 5,
        receive_count: 2,
        first_receive_at: i64::MIN,
        received_at: 3,
    };
    let records = vec![
        Record::QueuePut(QueueRecord {
            key: key.clone(),
            attributes: [("VisibilityTimeout".to_string(), "30".to_string())].into(),
            tags: BTreeMap::new(),
            created_timestamp: 1,
            last_modified_timestamp: 2,
            last_purge_millis: None,
            fifo: true,
            incarnation: 7,
            version: 3,
        }),
        Record::QueuePatch(QueuePatch {
            key: key.clone(),
            incarnation: 7,
            version: 4,
            attributes: MapChange {
                set: [("DelaySeconds".to_string(), "5".to_string())].into(),
                removed: ["Policy".to_string()].into(),
            },
            tags: MapChange::default(),
            created_timestamp: 1,
            last_modified_timestamp: 3,
            last_purge_millis: Some(8),
            fifo: true,
        }),
        Record::QueueDelete {
            key,
            incarnation: 7,
            at: 9,
        },
        Record::Message {
            queue: 7,
            seq: 1,
            state,
            content: content(),
            deduplication: Some(("g1".into(), "d1".into(), 300_000)),
        },
        Record::Deduplication {
            queue: 7,
            scope: String::new(),
            id: "d2".into(),
            seq: 4,
            message_id: "m".into(),
            expires_at: 9,
        },
        Record::Retime {
            queue: 7,
            delay: 5000,
        },
        Record::Receive {
            queue: 7,
            at: 4,
            messages: vec![(1, 10), (2, 11)],
        },
        Record::Delete {
            queue: 7,
            seqs: vec![1, 2],
        },
        Record::Visibility {
            queue: 7,
            seq: 1,
            deadline: -1,
        },
        Record::Purge { queue: 7 },
        Record::SeqFloor {
            queue: 7,
            next_seq: 99,
        },
        Record::MoveTask(MoveTaskRecord {
            handle: "h".into(),
            source: QueueKey {
                account_id: "1".into(),
                region: "r".into(),
                name: "dlq".into(),
            },
            destination: None,
            max_per_second: Some(50),
            status: MoveTaskStatus::Cancelling,
            moved: 3,
            to_move: 9,
            started_at: 11,
            failure_reason: None,
        }),
        Record::Move {
            from_queue: 7,
            from_seq: 1,
            queue: 8,
            seq: 0,
            state,
            content: content(),
        },
        Record::Security(vec![
            SecurityChange::Put(SecurityRecord {
                key: SecurityKey::new("user", "alice"),
                version: 3,
                value: vec![0, 1, 255],
            }),
            SecurityChange::Delete(SecurityKey::new("access-key", "AKIA")),
        ]),
        Record::Security(Vec::new()),
    ];
    for record in records {
        let frame = encode(&record);
        let (len, crc) = frame_header(&frame).unwrap();
        assert_eq!(len, frame.len() - FRAME_HEADER);
        assert!(checksum_ok(&frame[FRAME_HEADER..], crc));
        assert_eq!(decode(&frame[FRAME_HEADER..]).unwrap(), record);
    }
}

#[test]
fn a_queue_patch_applies_only_to_the_record_it_was_made_from() {
    let old = QueueRecord {
        key: QueueKey {
            account_id: "1".into(),
            region: "r".into(),
            name: "q".into(),
        },
        attributes: [
            ("Policy".to_string(), "p".repeat(1000)),
            ("VisibilityTimeout".to_string(), "30".to_string()),
        ]
        .into(),
        tags: [("a".to_string(), "1".to_string())].into(),
        created_timestamp: 1,
        last_modified_timestamp: 2,
        last_purge_millis: None,
        fifo: false,
        incarnation: 7,
        version: 3,
    };
    let mut new = old.clone();
    new.attributes
        .insert("VisibilityTimeout".into(), "60".into());
    new.tags.remove("a");
    new.tags.insert("b".into(), "2".into());
    new.last_purge_millis = Some(9);
    new.version = 4;
    let patch = QueuePatch::between(&old, &new).unwrap();
    assert!(encode(&Record::QueuePatch(patch.clone())).len() < 200);
    let mut applied = old.clone();
    assert!(patch.apply(&mut applied));
    assert_eq!(applied, new);
    // Not again, and not to another incarnation.
    assert!(!patch.apply(&mut applied));
    let mut other = old.clone();
    other.incarnation = 8;
    assert!(!patch.apply(&mut other));
    assert_eq!(other.attributes, old.attributes);
    let mut skipped = new.clone();
    skipped.version = 6;
    assert!(QueuePatch::between(&old, &skipped).is_none());
}

#[test]
fn truncated_or_trailing_payloads_are_malformed() {
    let frame = encode(&Record::Purge { queue: 1 });
    let payload = &frame[FRAME_HEADER..];
    assert_eq!(decode(&payload[..payload.len() - 1]), Err(Malformed));
    let mut longer = payload.to_vec();
    longer.push(0);
    assert_eq!(decode(&longer), Err(Malformed));
    assert_eq!(decode(&[99]), Err(Malformed));
}
