-- The mirror's schema, version 1 (SQLite). The contract is described in the crate's README; the
-- PostgreSQL migration of the same version creates the same tables and columns.
-- Times are integer Unix seconds; codes are WeCom's integers.

CREATE TABLE group_chat (
    chat_id        TEXT PRIMARY KEY NOT NULL,
    name           TEXT,
    owner          TEXT,
    create_time    INTEGER,
    notice         TEXT,
    status         INTEGER,
    member_version TEXT,
    member_count   INTEGER NOT NULL DEFAULT 0,
    admin_list     TEXT,
    dismissed      BOOLEAN NOT NULL DEFAULT FALSE,
    synced_at      INTEGER,
    raw            TEXT
);
CREATE INDEX group_chat_owner ON group_chat (owner);

CREATE TABLE group_chat_member (
    chat_id        TEXT NOT NULL REFERENCES group_chat (chat_id),
    userid         TEXT NOT NULL,
    type           INTEGER,
    unionid        TEXT,
    join_time      INTEGER,
    join_scene     INTEGER,
    invitor        TEXT,
    group_nickname TEXT,
    name           TEXT,
    state          TEXT,
    PRIMARY KEY (chat_id, userid)
);
CREATE INDEX group_chat_member_userid ON group_chat_member (userid);

CREATE TABLE sync_queue (
    chat_id     TEXT PRIMARY KEY NOT NULL,
    reason      TEXT NOT NULL,
    run_id      INTEGER,
    list_status INTEGER,
    seq         INTEGER NOT NULL DEFAULT 0,
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_try_at INTEGER NOT NULL,
    queued_at   INTEGER NOT NULL,
    lease_owner TEXT,
    lease_until INTEGER,
    last_error  TEXT
);
CREATE INDEX sync_queue_due ON sync_queue (next_try_at, queued_at);
CREATE INDEX sync_queue_run ON sync_queue (run_id);
CREATE INDEX sync_queue_lease ON sync_queue (lease_owner);

CREATE TABLE sync_event (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    dedupe_key    TEXT NOT NULL UNIQUE,
    event         TEXT NOT NULL,
    chat_id       TEXT,
    change_type   TEXT,
    update_detail TEXT,
    create_time   INTEGER,
    received_at   INTEGER NOT NULL,
    applied_at    INTEGER,
    outcome       TEXT NOT NULL,
    body          TEXT NOT NULL
);
CREATE INDEX sync_event_pending ON sync_event (chat_id) WHERE applied_at IS NULL;

CREATE TABLE sync_run (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    open        INTEGER UNIQUE,
    started_at  INTEGER NOT NULL,
    listed_at   INTEGER,
    finished_at INTEGER,
    list_mode   TEXT,
    list_owners TEXT,
    list_batch  INTEGER NOT NULL DEFAULT 0,
    list_cursor TEXT,
    owner       TEXT,
    lease_until INTEGER,
    listed      INTEGER NOT NULL DEFAULT 0,
    fetched     INTEGER NOT NULL DEFAULT 0,
    dismissed   INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0
);
