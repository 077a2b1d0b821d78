-- +goose Up
-- Leak_secret holds, in its single row, the hex key that leak markers are derived
-- from when the store has no audit key; it is made once, on first use.
CREATE TABLE leak_secret (
	id     INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
	secret TEXT    NOT NULL
);

-- Leak_markers are the marker items of consumer organisations: made-up items that
-- only their own feed and snapshot carry. Item_id is taken from the items' id
-- sequence, so that no item ever has it; seq is the change after which the marker
-- joined the consumer's set; signals is the JSON of its signals.
CREATE TABLE leak_markers (
	item_id  BIGINT  NOT NULL PRIMARY KEY,
	org_id   BIGINT  NOT NULL REFERENCES orgs (id),
	idx      INTEGER NOT NULL,
	seq      BIGINT  NOT NULL,
	category TEXT    NOT NULL,
	signals  TEXT    NOT NULL,
	UNIQUE (org_id, idx)
);
CREATE INDEX leak_markers_org ON leak_markers (org_id, seq);

-- +goose Down
DROP TABLE leak_markers;
DROP TABLE leak_secret;
