-- The deduplication entries of queue $1 among the (scope, id) pairs $2, $3 whose window is open at $4.
SELECT d.scope, d.id, d.seq, d.message_id
FROM deduplication d
JOIN unnest($2::text[], $3::text[]) AS k (scope, id) ON d.scope = k.scope AND d.id = k.id
WHERE d.queue_id = $1 AND d.expires_at > $4
