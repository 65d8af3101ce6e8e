-- Visible, in-flight and delayed unexpired messages of queue $1 at $2 ($3: the expiry bound).
SELECT count(*) FILTER (WHERE visible_at <= $2),
       count(*) FILTER (WHERE visible_at > $2 AND receive_count > 0),
       count(*) FILTER (WHERE visible_at > $2 AND receive_count = 0)
FROM messages
WHERE queue_id = $1 AND enqueued_at >= $3
