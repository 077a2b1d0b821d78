-- +goose Up
-- Organisations hold tokens and register items. Times are unix microseconds set by
-- the application.
CREATE TABLE orgs (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	name       TEXT    NOT NULL UNIQUE,
	kind       TEXT    NOT NULL,
	created_at BIGINT  NOT NULL
);

-- Tokens are stored only as the SHA-256 of their secret; roles are comma-separated.
CREATE TABLE tokens (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	org_id      BIGINT  NOT NULL REFERENCES orgs (id),
	name        TEXT    NOT NULL,
	roles       TEXT    NOT NULL,
	secret_hash BLOB    NOT NULL UNIQUE,
	created_at  BIGINT  NOT NULL,
	expires_at  BIGINT  NOT NULL DEFAULT 0,
	revoked_at  BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX tokens_org ON tokens (org_id, id);

-- Items are pieces of material.
CREATE TABLE items (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	category   TEXT    NOT NULL,
	status     TEXT    NOT NULL,
	created_at BIGINT  NOT NULL,
	updated_at BIGINT  NOT NULL,
	decided_by TEXT    NOT NULL DEFAULT '',
	decided_at BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX items_status ON items (status, id);

-- Sources are the organisations that registered an item, each with its own case
-- reference; the first registered it, the others sent it again.
CREATE TABLE item_sources (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	item_id      BIGINT  NOT NULL REFERENCES items (id),
	org_id       BIGINT  NOT NULL REFERENCES orgs (id),
	reference    TEXT    NOT NULL DEFAULT '',
	added_at     BIGINT  NOT NULL,
	withdrawn_at BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX item_sources_item ON item_sources (item_id, id);
CREATE INDEX item_sources_org ON item_sources (org_id, item_id);

-- Signals are the fingerprints of an item.
CREATE TABLE signals (
	id      INTEGER PRIMARY KEY AUTOINCREMENT,
	item_id BIGINT  NOT NULL REFERENCES items (id),
	type    TEXT    NOT NULL,
	value   TEXT    NOT NULL,
	quality INTEGER NOT NULL,
	profile TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX signals_item ON signals (item_id);
CREATE INDEX signals_type_value ON signals (type, value);

-- Changes is the ordered change log; seq never goes back.
CREATE TABLE changes (
	seq     INTEGER PRIMARY KEY AUTOINCREMENT,
	item_id BIGINT  NOT NULL REFERENCES items (id),
	kind    TEXT    NOT NULL,
	status  TEXT    NOT NULL,
	actor   TEXT    NOT NULL,
	at      BIGINT  NOT NULL
);
CREATE INDEX changes_item ON changes (item_id, seq);

-- Audit is the hash-chained audit trail. Its seq is assigned by the application,
-- one more than the head's, so that the trail has no gaps.
CREATE TABLE audit (
	seq        BIGINT NOT NULL PRIMARY KEY,
	at         BIGINT NOT NULL,
	org_id     BIGINT NOT NULL,
	token_id   BIGINT NOT NULL,
	action     TEXT   NOT NULL,
	target     TEXT   NOT NULL,
	request_id TEXT   NOT NULL,
	outcome    TEXT   NOT NULL,
	prev_hash  TEXT   NOT NULL,
	hash       TEXT   NOT NULL
);

-- Audit_head holds the last entry's seq and hash in its single row, so that entries
-- removed from the end of the trail are seen.
CREATE TABLE audit_head (
	id   INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
	seq  BIGINT  NOT NULL,
	hash TEXT    NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- +goose Down
DROP TABLE audit_head;
DROP TABLE audit;
DROP TABLE changes;
DROP TABLE signals;
DROP TABLE item_sources;
DROP TABLE items;
DROP TABLE tokens;
DROP TABLE orgs;
