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

// Frame is the fingerprint of one hashed frame: its 0-based number in decode
// output order, its PDQ quality and hash, and its timestamp, the frame number
// divided by the stream's average frame rate in float32, as the reference
// computes it. It is the registry's own dnadb.VideoFrame, so that frames pass
// between this package and the registry unconverted.
type Frame = dnadb.VideoFrame
