-- The oldest remaining message of each group $2 of FIFO queue $1 becomes its group's head.
UPDATE messages m SET head = true
FROM unnest($2::text[]) AS g (id)
WHERE m.queue_id = $1 AND NOT m.head
  AND m.seq = (SELECT seq FROM messages o
               WHERE o.queue_id = $1 AND o.group_id = g.id
               ORDER BY seq LIMIT 1)
