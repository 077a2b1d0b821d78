// Package vpdq is Meta's vPDQ video fingerprint: a PDQ hash of each sampled frame
// of a video, matched as a bag of frames. It hashes videos decoded by ffmpeg,
// reads and writes the reference's text format and python-threatexchange's JSON
// form, matches two videos under either reference's rules, and goes beyond the
// reference by locating the matched segments in both videos.
//
// The reference is ThreatExchange's vpdq (C++ vpdq/cpp and python-threatexchange
// at commit baefb4ed67b6cdc1d4c82dbaef858d50866ac424); where this package follows a
// rule of it, the doc comment says so.
package vpdq

import "github.com/dnadb/dnadb"

// Frame is the fingerprint of one hashed frame.
type Frame struct {
	// Number is the frame's 0-based position in decode output order.
	Number int
	// Quality is the frame's PDQ quality, 0 to 100.
	Quality int
	Hash    dnadb.Hash256
	// Timestamp is Number divided by the stream's average frame rate, in
	// seconds, computed in float32 as the reference does.
	Timestamp float64
}
