-- Appends messages to a FIFO queue whose row the caller has locked, with the numbers, stamps and
-- group heads it chose. $1 queue; per message $2 seq, $3 visible_at, $4 stamp, $5 receive_count,
-- $6 first_receive_at, $7 received_at, $8 enqueued_at, $9 group_id, $10 head, $11 content,
-- $12 dead_letter_moved_at, $13 dead_letter_receive_count.
INSERT INTO messages (queue_id, seq, visible_at, stamp, receive_count, first_receive_at,
                      received_at, enqueued_at, group_id, head, content, dead_letter_moved_at,
                      dead_letter_receive_count)
SELECT $1, m.*
FROM unnest($2::int8[], $3::int8[], $4::int8[], $5::int4[], $6::int8[], $7::int8[], $8::int8[],
            $9::text[], $10::bool[], $11::bytea[], $12::int8[], $13::int4[]) AS m
