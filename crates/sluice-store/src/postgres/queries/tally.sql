-- Adds to the received tallies: per entry $1 queue, $2 shard, $3 change. Entries come in
-- (queue, shard) order, so two calls never wait on each other's rows in opposite orders.
INSERT INTO received_tallies (queue_id, shard, received)
SELECT * FROM unnest($1::int8[], $2::int2[], $3::int8[])
ON CONFLICT (queue_id, shard) DO UPDATE
    SET received = received_tallies.received + EXCLUDED.received
