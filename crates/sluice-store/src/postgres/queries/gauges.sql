-- Visible, in-flight and delayed unexpired messages of queue $1 at $2, when the oldest joined the
-- queue (sent, or moved to it as a dead letter; on a standard queue, $4 false, of those received
-- fewer than $5 times since), and the message groups with messages in flight.
SELECT count(*) FILTER (WHERE visible_at <= $2),
       count(*) FILTER (WHERE visible_at > $2 AND receive_count > 0),
       count(*) FILTER (WHERE visible_at > $2 AND receive_count = 0),
       min(COALESCE(dead_letter_moved_at, enqueued_at))
           FILTER (WHERE $4 OR receive_count - COALESCE(dead_letter_receive_count, 0) < $5),
       count(DISTINCT group_id) FILTER (WHERE visible_at > $2 AND receive_count > 0)
FROM messages
WHERE queue_id = $1 AND enqueued_at >= $3
