-- Moves visibility deadlines of queue $1 ($2: a FIFO queue): per change $3 seq, $4 receive_count,
-- $5 now, $6 deadline, $7 max_span_from_receive, $8 stamp. A change applies when the handle's
-- receive is the latest (on a standard queue, or an earlier one while the message is in flight)
-- and the deadline is within the span from that receive. Returns every message asked for as it
-- was, and whether it changed.
WITH asked AS (
    SELECT * FROM unnest($3::int8[], $4::int8[], $5::int8[], $6::int8[], $7::int8[], $8::int8[])
        AS a (seq, receive_count, now, deadline, span, stamp)
), changed AS (
    UPDATE messages m
    SET visible_at = a.deadline, stamp = a.stamp, ready = m.ready AND a.deadline <= a.now
    FROM asked a
    WHERE m.queue_id = $1 AND m.seq = a.seq AND m.receive_count > 0
      AND (m.receive_count = a.receive_count
           OR (NOT $2 AND a.receive_count < m.receive_count AND m.visible_at > a.now))
      AND a.deadline::numeric <= coalesce(m.received_at, 0)::numeric + a.span
    RETURNING m.seq
)
SELECT seq, receive_count, visible_at, received_at, seq IN (SELECT seq FROM changed)
FROM messages
WHERE queue_id = $1 AND seq = ANY($3::int8[])
