-- +goose Up
-- Items are pieces of material; times are unix microseconds set by the application.
CREATE TABLE items (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	category   TEXT    NOT NULL,
	source     TEXT    NOT NULL,
	reference  TEXT    NOT NULL DEFAULT '',
	status     TEXT    NOT NULL,
	created_at BIGINT  NOT NULL,
	updated_at BIGINT  NOT NULL,
	decided_by TEXT    NOT NULL DEFAULT '',
	decided_at BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX items_status ON items (status, id);
CREATE INDEX items_source ON items (source, id);

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

-- +goose Down
DROP TABLE changes;
DROP TABLE signals;
DROP TABLE items;
