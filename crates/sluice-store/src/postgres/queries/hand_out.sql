-- Hands out messages of queue $1: hidden until $2, received at $3; per message $4 seq and $5 stamp.
UPDATE messages m
SET visible_at = $2, stamp = h.stamp, receive_count = m.receive_count + 1,
    first_receive_at = coalesce(m.first_receive_at, $3), received_at = $3, ready = false
FROM unnest($4::int8[], $5::int8[]) AS h (seq, stamp)
WHERE m.queue_id = $1 AND m.seq = h.seq
RETURNING m.seq, m.receive_count, m.first_receive_at, m.content
