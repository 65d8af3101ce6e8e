-- Sets when messages of queue $1 become visible: per message $3 seq and $4 visible_at. A standard
-- queue's message stays ready only if it is visible at $2.
UPDATE messages m
SET visible_at = r.visible_at, ready = m.ready AND r.visible_at <= $2
FROM unnest($3::int8[], $4::int8[]) AS r (seq, visible_at)
WHERE m.queue_id = $1 AND m.seq = r.seq
