-- When the next delayed or hidden, unexpired message of queue $1 becomes visible after $2.
SELECT min(visible_at)
FROM messages
WHERE queue_id = $1 AND NOT ready AND visible_at > $2 AND enqueued_at >= $3
