-- Deletes messages of queue $1: per deletion $2 seq, $3 receive_count (NULL: any receive may delete)
-- and $4 now; a deletion naming a receive needs that receive in flight. $5 is the received tally
-- shard this call adds to. Returns the deleted messages as they were, then the other messages
-- asked for as they are.
WITH asked AS (
    SELECT * FROM unnest($2::int8[], $3::int8[], $4::int8[]) AS a (seq, receive_count, now)
), removed AS (
    DELETE FROM messages m
    USING asked a
    WHERE m.queue_id = $1 AND m.seq = a.seq
      AND (a.receive_count IS NULL
           OR (m.receive_count = a.receive_count AND m.receive_count > 0
               AND m.visible_at > a.now))
    RETURNING m.seq, m.receive_count, m.visible_at, m.group_id, m.head
), tallied AS (
    INSERT INTO received_tallies (queue_id, shard, received)
    SELECT $1, $5, -count(*) FROM removed WHERE receive_count > 0 HAVING count(*) > 0
    ON CONFLICT (queue_id, shard) DO UPDATE
        SET received = received_tallies.received + EXCLUDED.received
)
SELECT seq, receive_count, visible_at, group_id, head, true FROM removed
UNION ALL
SELECT seq, receive_count, visible_at, NULL, false, false
FROM messages
WHERE queue_id = $1 AND seq = ANY($2::int8[]) AND seq NOT IN (SELECT seq FROM removed)
