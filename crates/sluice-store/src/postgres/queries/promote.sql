-- Standard queue $1: every delayed or hidden message whose time came after $2 and by $3 is ready again,
-- back in its place in queue order; their numbers are returned, since receives then read from the queue's
-- start. Messages another call holds are passed over; it decides their state itself. The chosen
-- numbers are an array, so the update looks each one up instead of joining the queue.
UPDATE messages SET ready = true
WHERE queue_id = $1 AND seq = ANY(ARRAY(
    SELECT seq FROM messages
    WHERE queue_id = $1 AND NOT ready AND visible_at > $2 AND visible_at <= $3
    FOR UPDATE SKIP LOCKED))
RETURNING seq
