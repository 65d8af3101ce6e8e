-- Version 1 of the PostgreSQL schema. Times are epoch milliseconds on the database's clock.

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
    -- The next message's sequence number, and the count of visibility instants set (FIFO turns).
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

-- Rows are updated in place by every receive and visibility change; room on each page keeps those
-- updates HOT (no index touched when only non-indexed columns change).
CREATE TABLE messages (
    queue_id         bigint  NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
    seq              bigint  NOT NULL,
    visible_at       bigint  NOT NULL,
    stamp            bigint  NOT NULL,
    receive_count    integer NOT NULL DEFAULT 0,
    first_receive_at bigint,
    received_at      bigint,
    enqueued_at      bigint  NOT NULL,
    group_id         text,
    content          bytea   NOT NULL,
    PRIMARY KEY (queue_id, seq)
) WITH (fillfactor = 70);

CREATE INDEX messages_by_visibility ON messages (queue_id, visible_at, seq);
CREATE INDEX messages_by_group ON messages (queue_id, group_id, seq) WHERE group_id IS NOT NULL;
CREATE INDEX messages_by_enqueue ON messages (queue_id, enqueued_at, seq);

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
