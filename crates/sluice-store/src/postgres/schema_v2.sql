-- Version 2: a message moved to a dead-letter queue by its source's redrive policy keeps when it moved
-- and its receive count then, which the queue's oldest-message age counts from (NULL for every other
-- message). Nullable columns without a default: adding them rewrites no row.

ALTER TABLE messages
    ADD COLUMN dead_letter_moved_at bigint,
    ADD COLUMN dead_letter_receive_count integer;
