-- Removes up to $3 messages of queue $1 enqueued before $2, oldest first, passing over messages
-- another call holds (they are left for a later call; readers filter expired messages anyway).
-- The chosen numbers are an array, so the removal looks each one up instead of joining the queue.
DELETE FROM messages
WHERE queue_id = $1 AND seq = ANY(ARRAY(
    SELECT seq FROM messages
    WHERE queue_id = $1 AND enqueued_at < $2
    ORDER BY enqueued_at
    LIMIT $3
    FOR UPDATE SKIP LOCKED))
RETURNING receive_count, group_id, head
