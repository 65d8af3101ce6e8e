-- Appends messages to a standard queue in array order, numbered from message_seq in that order.
-- $1 queue, $2 now; per message $3 visible_at, $4 enqueued_at, $5 receive_count,
-- $6 first_receive_at, $7 received_at, $8 content, $9 dead_letter_moved_at, $10 dead_letter_receive_count.
-- Returns each message's array position and number.
WITH taken AS (
    SELECT nextval('message_seq') AS seq FROM generate_series(1, cardinality($3::int8[]))
), numbered AS (
    SELECT seq, row_number() OVER (ORDER BY seq) AS ord FROM taken
), inserted AS (
    INSERT INTO messages (queue_id, seq, visible_at, stamp, receive_count, first_receive_at,
                          received_at, enqueued_at, ready, content, dead_letter_moved_at,
                          dead_letter_receive_count)
    SELECT $1, n.seq, m.visible_at, 0, m.receive_count, m.first_receive_at, m.received_at,
           m.enqueued_at, m.visible_at <= $2, m.content, m.dead_letter_moved_at,
           m.dead_letter_receive_count
    FROM unnest($3::int8[], $4::int8[], $5::int4[], $6::int8[], $7::int8[], $8::bytea[],
                $9::int8[], $10::int4[])
             WITH ORDINALITY AS m (visible_at, enqueued_at, receive_count, first_receive_at,
                                   received_at, content, dead_letter_moved_at,
                                   dead_letter_receive_count, ord)
    JOIN numbered n ON n.ord = m.ord
)
SELECT ord, seq FROM numbered
