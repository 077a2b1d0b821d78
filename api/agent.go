package api

import "time"

// AgentHealth is the body of an agent's GET /healthz: how current its copy of the
// distributable set is.
type AgentHealth struct {
	// Status is "ok" while the agent syncs, "stale" while the central server
	// cannot be reached, and "stopped" once syncing has stopped for good, as
	// StopReason says. The agent matches on what it has in every status.
	Status string `json:"status"`
	// Cursor is the feed cursor the copy reflects; empty before the first sync.
	Cursor string `json:"cursor"`
	// Entries is the number of items in the copy.
	Entries int `json:"entries"`
	// IndexSize is the number of PDQ hashes the match index holds.
	IndexSize int `json:"index_size"`
	// LastSync is when the central server last answered; absent if never.
	LastSync time.Time `json:"last_sync,omitzero"`
	// StalenessSeconds is the time since LastSync, in seconds; -1 if never.
	StalenessSeconds float64 `json:"staleness_seconds"`
	// LastError is the last failure to sync, while retrying; empty after a success.
	LastError string `json:"last_error,omitempty"`
	// StopReason says why syncing stopped, such as a revoked token.
	StopReason string `json:"stop_reason,omitempty"`
	// QueuedSightings is the number of sighting reports waiting to be sent to
	// the central server.
	QueuedSightings int `json:"queued_sightings"`
	// SightingsError is the last failure to send sighting reports, while
	// retrying, or why sending stopped; empty after a success.
	SightingsError string `json:"sightings_error,omitempty"`
	// Threshold and QualityFloor are as in Health.
	Threshold    int `json:"threshold"`
	QualityFloor int `json:"quality_floor"`
}

// SightingsQueued answers POST /v1/sightings on an agent: the reports of the
// request that are now queued for the central server, and every report queued.
type SightingsQueued struct {
	Queued  int `json:"queued"`
	Pending int `json:"pending"`
}
