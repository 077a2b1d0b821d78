-- +goose Up
-- An agent's copy of the distributable set: one row per confirmed item, with its
-- category and its signals as the feed gave them (a JSON array).
CREATE TABLE entries (
    item_id  INTEGER PRIMARY KEY,
    category TEXT NOT NULL,
    signals  TEXT NOT NULL
);

-- The feed position the copy reflects, and when the agent last heard from the
-- central server. One row, written in the same transaction as the entries.
CREATE TABLE feed_state (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    cursor    TEXT NOT NULL,
    synced_at INTEGER NOT NULL
);

-- +goose Down
DROP TABLE feed_state;
DROP TABLE entries;
