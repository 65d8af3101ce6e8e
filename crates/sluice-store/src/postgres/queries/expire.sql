-- Removes up to $3 messages of queue $1 enqueued before $2, oldest first, passing over messages
-- another call holds (they are left for a later call; readers filter expired messages anyway).
DELETE FROM messages
WHERE queue_id = $1 AND seq IN (
    SELECT seq FROM messages
    WHERE queue_id = $1 AND enqueued_at < $2
    ORDER BY enqueued_at
    LIMIT $3
    FOR UPDATE SKIP LOCKED)
RETURNING receive_count, group_id, head
