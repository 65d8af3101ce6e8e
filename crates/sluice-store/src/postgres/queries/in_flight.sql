-- How many unexpired messages of queue $1 are in flight at $2, counting no further than $4.
SELECT count(*)
FROM (SELECT FROM messages
      WHERE queue_id = $1 AND NOT ready AND visible_at > $2 AND receive_count > 0
        AND enqueued_at >= $3
      LIMIT $4) AS in_flight
