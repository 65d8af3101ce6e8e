-- Visible, in-flight and delayed unexpired messages of queue $1 at $2, the enqueue time of the
-- oldest (on a standard queue, $4 false, of those received fewer than $5 times), and the message
-- groups with messages in flight.
SELECT count(*) FILTER (WHERE visible_at <= $2),
       count(*) FILTER (WHERE visible_at > $2 AND receive_count > 0),
       count(*) FILTER (WHERE visible_at > $2 AND receive_count = 0),
       min(enqueued_at) FILTER (WHERE $4 OR receive_count < $5),
       count(DISTINCT group_id) FILTER (WHERE visible_at > $2 AND receive_count > 0)
FROM messages
WHERE queue_id = $1 AND enqueued_at >= $3
