-- Up to $5 visible, unexpired messages of standard queue $1 after sequence number $4, in queue
-- order, locked for this receive; messages another receive holds are passed over.
SELECT seq, visible_at, receive_count, first_receive_at
FROM messages
WHERE queue_id = $1 AND ready AND visible_at <= $2 AND enqueued_at >= $3 AND seq > $4
ORDER BY seq
LIMIT $5
FOR UPDATE SKIP LOCKED
