-- Remembers deduplication ids of queue $1: per entry $2 scope, $3 id, $4 seq, $5 message_id,
-- $6 expires_at, replacing entries whose window has closed.
INSERT INTO deduplication (queue_id, scope, id, seq, message_id, expires_at)
SELECT $1, k.*
FROM unnest($2::text[], $3::text[], $4::int8[], $5::text[], $6::int8[]) AS k
ON CONFLICT (queue_id, scope, id) DO UPDATE
    SET seq = EXCLUDED.seq, message_id = EXCLUDED.message_id, expires_at = EXCLUDED.expires_at
