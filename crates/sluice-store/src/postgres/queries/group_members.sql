-- For each group $2 of FIFO queue $1 (in array order), up to $4 of its messages after sequence
-- number $3, in queue order.
SELECT g.ord, m.seq, m.visible_at, m.receive_count, m.first_receive_at
FROM unnest($2::text[], $3::int8[]) WITH ORDINALITY AS g (id, after, ord)
CROSS JOIN LATERAL (
    SELECT seq, visible_at, receive_count, first_receive_at
    FROM messages
    WHERE queue_id = $1 AND group_id = g.id AND seq > g.after
    ORDER BY seq
    LIMIT $4) AS m
ORDER BY g.ord, m.seq
