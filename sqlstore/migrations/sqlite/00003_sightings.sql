-- +goose Up
-- Sightings are filters' reports of confirmed material seen on a service. A report
-- is identified by its reporter and the reporter's own report id, so that a report
-- sent again is stored once. Platform is the service the material was seen on: the
-- reporter's name when the report named none. Location is the report's "where".
CREATE TABLE sightings (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	org_id      BIGINT  NOT NULL REFERENCES orgs (id),
	report_id   TEXT    NOT NULL,
	item_id     BIGINT  NOT NULL REFERENCES items (id),
	platform    TEXT    NOT NULL,
	location    TEXT    NOT NULL,
	seen_at     BIGINT  NOT NULL,
	action      TEXT    NOT NULL,
	reported_at BIGINT  NOT NULL,
	UNIQUE (org_id, report_id)
);
CREATE INDEX sightings_item ON sightings (item_id, platform);

-- +goose Down
DROP TABLE sightings;
