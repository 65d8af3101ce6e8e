-- Version 1 of the PostgreSQL schema. Times are epoch milliseconds on the callers' clocks.

CREATE TABLE sluice_meta (
    name  text PRIMARY KEY,
    value bytea NOT NULL
);

CREATE TABLE queues (
    id          bigserial PRIMARY KEY,
    account_id  text    NOT NULL,
    region      text    NOT NULL,
    name        text    NOT NULL,
    fifo        boolean NOT NULL,
    -- The queue record in the journal's encoding.
    record      bytea   NOT NULL,
    version     bigint  NOT NULL,
    -- FIFO queues only (their message operations lock this row): the next message's sequence number,
    -- and the count of visibility instants set, which orders group heads that became visible at the
    -- same instant.
    next_seq    bigint  NOT NULL DEFAULT 1,
    stamps      bigint  NOT NULL DEFAULT 0,
    UNIQUE (account_id, region, name)
);

CREATE TABLE queue_tombstones (
    account_id text   NOT NULL,
    region     text   NOT NULL,
    name       text   NOT NULL,
    deleted_at bigint NOT NULL,
    PRIMARY KEY (account_id, region, name)
);

-- Sequence numbers of messages on standard queues, which never lock their queue row: unique and
-- increasing in the order sends take them, which is all queue order needs.
CREATE SEQUENCE message_seq;

-- Each receive and visibility change moves a message's visible_at, which the indexes below order
-- by, so those updates are not HOT; that is the price of finding visible messages and group heads
-- in O(log n) instead of reading the queue, and each message is updated only a few times in its
-- life. The room left on each page keeps the new row version on the same page, and bottom-up
-- index deletion removes the superseded index entries.
CREATE TABLE messages (
    queue_id         bigint  NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
    seq              bigint  NOT NULL,
    visible_at       bigint  NOT NULL,
    -- FIFO queues: when visible_at was set, in the queue's order of such events. Standard: 0.
    stamp            bigint  NOT NULL,
    receive_count    integer NOT NULL DEFAULT 0,
    first_receive_at bigint,
    received_at      bigint,
    enqueued_at      bigint  NOT NULL,
    -- FIFO queues only: the message group (standard queues keep theirs in content alone).
    group_id         text,
    -- Standard queues: the message was visible when last looked at and waits in sequence order
    -- (messages_ready). Cleared when it is hidden (received, or its visibility changed), and set
    -- again by the first receive that finds its time has come. Always false on FIFO queues.
    ready            boolean NOT NULL DEFAULT false,
    -- FIFO queues: the oldest message of its group, the one that decides when the group is served.
    head             boolean NOT NULL DEFAULT false,
    content          bytea   NOT NULL,
    PRIMARY KEY (queue_id, seq)
) WITH (fillfactor = 70);

-- Standard receives: visible messages in queue order.
CREATE INDEX messages_ready ON messages (queue_id, seq) WHERE ready;
-- Delayed and hidden messages by when they become visible: what a receive makes ready, when the
-- next one does, and how many are in flight.
CREATE INDEX messages_waiting ON messages (queue_id, visible_at) WHERE NOT ready;
-- FIFO receives: groups in the order their oldest message became visible.
CREATE INDEX messages_heads ON messages (queue_id, visible_at, stamp) WHERE head;
CREATE INDEX messages_by_group ON messages (queue_id, group_id, seq) WHERE group_id IS NOT NULL;
CREATE INDEX messages_by_enqueue ON messages (queue_id, enqueued_at);

-- How many messages of a queue have been received at least once and not removed since: a bound on
-- how many are in flight, so that a receive counts them only near the limit. Split over a few rows
-- per queue, each call adding to one picked at random, so that concurrent calls seldom wait on the
-- same row; updates change no indexed column and stay HOT.
CREATE TABLE received_tallies (
    queue_id bigint   NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
    shard    smallint NOT NULL,
    received bigint   NOT NULL,
    PRIMARY KEY (queue_id, shard)
) WITH (fillfactor = 50);

CREATE TABLE deduplication (
    queue_id   bigint NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
    scope      text   NOT NULL,
    id         text   NOT NULL,
    seq        bigint NOT NULL,
    message_id text   NOT NULL,
    expires_at bigint NOT NULL,
    PRIMARY KEY (queue_id, scope, id)
);

CREATE TABLE move_tasks (
    handle text  PRIMARY KEY,
    record bytea NOT NULL
);

CREATE TABLE security_records (
    kind    text   NOT NULL,
    name    text   NOT NULL,
    version bigint NOT NULL,
    value   bytea  NOT NULL,
    PRIMARY KEY (kind, name)
);

-- Which node runs each active message-move task, until when (epoch milliseconds on the node's clock).
-- Taken and renewed by compare-and-set while the task's row is locked.
CREATE TABLE move_task_leases (
    handle      text   PRIMARY KEY REFERENCES move_tasks (handle) ON DELETE CASCADE,
    owner       text   NOT NULL,
    lease_until bigint NOT NULL
);

-- Answers of FIFO receives, kept five minutes for retries with the same ReceiveRequestAttemptId;
-- `seqs` and `receive_counts` are the messages handed out, in order. The answer is opaque here.
CREATE TABLE receive_attempts (
    queue_id       bigint    NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
    attempt_id     text      NOT NULL,
    answer         bytea     NOT NULL,
    seqs           bigint[]  NOT NULL,
    receive_counts integer[] NOT NULL,
    expires_at     bigint    NOT NULL,
    spoiled        boolean   NOT NULL,
    PRIMARY KEY (queue_id, attempt_id)
);

-- A delete or visibility change finds the attempts that handed out its messages.
CREATE INDEX receive_attempts_by_message ON receive_attempts USING gin (seqs);
CREATE INDEX receive_attempts_by_expiry ON receive_attempts (expires_at);
