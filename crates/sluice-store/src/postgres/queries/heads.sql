-- Up to $5 groups of FIFO queue $1 whose oldest message is visible at $2, in the order those
-- messages became visible (instant, then stamp), after the position ($3, $4).
SELECT group_id, visible_at, stamp
FROM messages
WHERE queue_id = $1 AND head AND visible_at <= $2 AND (visible_at, stamp) > ($3, $4)
ORDER BY visible_at, stamp
LIMIT $5
