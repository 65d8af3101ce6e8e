-- Which of the groups $2 already hold a message of FIFO queue $1 (a new message of such a group is
-- not its head).
SELECT g.id
FROM unnest($2::text[]) AS g (id)
WHERE EXISTS (SELECT FROM messages m WHERE m.queue_id = $1 AND m.group_id = g.id)
