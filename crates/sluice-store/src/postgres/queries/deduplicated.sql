-- The deduplication entries of queue $1 among the (scope, id) pairs $2, $3 whose window is open at $4,
-- each looked up by its key.
SELECT d.scope, d.id, d.seq, d.message_id
FROM unnest($2::text[], $3::text[]) AS k (scope, id)
CROSS JOIN LATERAL (
    SELECT scope, id, seq, message_id
    FROM deduplication
    WHERE queue_id = $1 AND scope = k.scope AND id = k.id AND expires_at > $4) AS d
