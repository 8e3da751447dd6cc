-- The mirror's schema, version 1 (PostgreSQL). The contract is described in the crate's README; the
-- SQLite migration of the same version creates the same tables and columns.
-- Times are integer Unix seconds; codes are WeCom's integers.

CREATE TABLE group_chat (
    chat_id        TEXT PRIMARY KEY,
    name           TEXT,
    owner          TEXT,
    create_time    BIGINT,
    notice         TEXT,
    status         BIGINT,
    member_version TEXT,
    member_count   BIGINT NOT NULL DEFAULT 0,
    admin_list     JSONB,
    dismissed      BOOLEAN NOT NULL DEFAULT FALSE,
    synced_at      BIGINT,
    raw            JSONB
);
CREATE INDEX group_chat_owner ON group_chat (owner);

CREATE TABLE group_chat_member (
    chat_id        TEXT NOT NULL REFERENCES group_chat (chat_id),
    userid         TEXT NOT NULL,
    type           BIGINT,
    unionid        TEXT,
    join_time      BIGINT,
    join_scene     BIGINT,
    invitor        TEXT,
    group_nickname TEXT,
    name           TEXT,
    state          TEXT,
    PRIMARY KEY (chat_id, userid)
);
CREATE INDEX group_chat_member_userid ON group_chat_member (userid);

CREATE TABLE sync_queue (
    chat_id     TEXT PRIMARY KEY,
    reason      TEXT NOT NULL,
    run_id      BIGINT,
    list_status BIGINT,
    seq         BIGINT NOT NULL DEFAULT 0,
    attempts    BIGINT NOT NULL DEFAULT 0,
    next_try_at BIGINT NOT NULL,
    queued_at   BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    last_error  TEXT
);
CREATE INDEX sync_queue_due ON sync_queue (next_try_at, queued_at);
CREATE INDEX sync_queue_run ON sync_queue (run_id);
CREATE INDEX sync_queue_lease ON sync_queue (lease_owner);

CREATE TABLE sync_event (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dedupe_key    TEXT NOT NULL UNIQUE,
    event         TEXT NOT NULL,
    chat_id       TEXT,
    change_type   TEXT,
    update_detail TEXT,
    create_time   BIGINT,
    received_at   BIGINT NOT NULL,
    applied_at    BIGINT,
    outcome       TEXT NOT NULL,
    body          JSONB NOT NULL
);
CREATE INDEX sync_event_pending ON sync_event (chat_id) WHERE applied_at IS NULL;

CREATE TABLE sync_run (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    open        BIGINT UNIQUE,
    started_at  BIGINT NOT NULL,
    listed_at   BIGINT,
    finished_at BIGINT,
    list_mode   TEXT,
    list_owners TEXT,
    list_batch  BIGINT NOT NULL DEFAULT 0,
    list_cursor TEXT,
    owner       TEXT,
    lease_until BIGINT,
    listed      BIGINT NOT NULL DEFAULT 0,
    fetched     BIGINT NOT NULL DEFAULT 0,
    dismissed   BIGINT NOT NULL DEFAULT 0,
    failed      BIGINT NOT NULL DEFAULT 0
);
