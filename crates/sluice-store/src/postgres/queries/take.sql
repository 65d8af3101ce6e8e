-- Removes messages $2 of queue $1, returning what a move elsewhere needs.
DELETE FROM messages
WHERE queue_id = $1 AND seq = ANY($2::int8[])
RETURNING seq, receive_count, first_receive_at, received_at, group_id, head, content
