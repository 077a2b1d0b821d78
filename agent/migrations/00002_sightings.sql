-- +goose Up
-- Sighting reports from the company's own filter, queued until the central server
-- has accepted them. seq orders them; a report id queued twice is kept once. A
-- report leaves the queue only after the centre accepted it, or counted it as a
-- duplicate of one it had, so the queue survives restarts and crashes.
CREATE TABLE sightings_queue (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id TEXT NOT NULL UNIQUE,
    report    TEXT NOT NULL
);

-- +goose Down
DROP TABLE sightings_queue;
