package server_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"testing"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/api"
	"github.com/dnadb/dnadb/ffmpeg/ffmpegtest"
	"github.com/dnadb/dnadb/internal/corpus"
)

// uploadVideo registers a video file through the upload route, as police.
func (e *env) uploadVideo(t *testing.T, path string) dnadb.Item {
	t.Helper()
	var reg api.Registration
	code, eb := e.post(t, "/v1/items/upload?category=illegal_filming&reference=v1",
		readFile(t, path), &reg)
	if code != http.StatusCreated {
		t.Fatalf("upload %s: %d %+v", path, code, eb)
	}
	return reg.Item
}

// matchVideo uploads a video to the matcher as the consumer.
func (e *env) matchVideo(t *testing.T, path string) api.VideoMatchResponse {
	t.Helper()
	var resp api.VideoMatchResponse
	code, eb := e.postAs(t, "consumer", "/v1/match/video/upload", readFile(t, path), &resp)
	if code != http.StatusOK {
		t.Fatalf("match %s: %d %+v", path, code, eb)
	}
	return resp
}

// want is a segment a match must have: query and item times, in seconds.
type want struct{ q0, q1, i0, i1 float64 }

// TestVideoEndToEnd registers two corpus videos and confirms them, then makes, with
// ffmpeg, copies that a filter would meet: re-encoded, rescaled, at another frame
// rate and trimmed, and a compilation of pieces of both. Each must match the right
// item, with segments within a second of where the pieces truly came from; an
// unrelated corpus video matches neither.
func TestVideoEndToEnd(t *testing.T) {
	ffmpegtest.Require(t)
	e := newEnv(t)
	chair := corpus.Path(t, "videos", "chair-orig-22-sd-bar.mp4")
	pattern := corpus.Path(t, "videos", "pattern-longer-no-bar.mp4")
	doorknob := corpus.Path(t, "videos", "doorknob-hd-no-bar.mp4")

	a, b := e.uploadVideo(t, chair), e.uploadVideo(t, pattern)
	for _, it := range []dnadb.Item{a, b} {
		kinds := map[dnadb.SignalType]bool{}
		for _, sg := range it.Signals {
			kinds[sg.Type] = true
		}
		if !kinds[dnadb.SignalVPDQ] || !kinds[dnadb.SignalMD5] || !kinds[dnadb.SignalSHA256] {
			t.Fatalf("video item %d signals = %v, want vpdq, md5 and sha256", it.ID, kinds)
		}
	}
	if got := e.matchVideo(t, chair); len(got.Matches) != 0 {
		t.Fatalf("pending video matched: %+v", got.Matches)
	}
	e.confirm(t, a.ID)
	e.confirm(t, b.ID)

	// Edited copies: x264 at a low quality, a smaller picture, another frame rate,
	// and only part of the original.
	edit := func(name, src string, from, length float64, vf string) string {
		return ffmpegtest.Make(t, name, "-ss", fmt.Sprint(from), "-i", src,
			"-t", fmt.Sprint(length), "-vf", vf, "-an", "-c:v", "libx264", "-crf", "30",
			"-pix_fmt", "yuv420p")
	}
	chairCut := edit("chair-cut.mp4", chair, 5, 12, "scale=320:-2,fps=24")
	patternCut := edit("pattern-cut.mp4", pattern, 2, 5, "scale=360:-2,fps=15")
	// Cut between the item's samples: the query's frames fall half way between
	// those the registry sampled at 1 s, but it samples twice as often.
	chairOdd := edit("chair-odd.mp4", chair, 8.5, 7, "scale=480:-2")

	// A compilation: 7 s of chair from 3 s, then 5 s of pattern from 1 s, made the
	// same size and rate so that they can be joined.
	pieceA := edit("piece-a.mp4", chair, 3, 7, "scale=360:640,setsar=1,fps=25")
	pieceB := edit("piece-b.mp4", pattern, 1, 5, "scale=360:640,setsar=1,fps=25")
	list := []byte(fmt.Sprintf("file '%s'\nfile '%s'\n", pieceA, pieceB))
	listPath := pieceA + ".txt"
	if err := os.WriteFile(listPath, list, 0o600); err != nil {
		t.Fatal(err)
	}
	both := ffmpegtest.Make(t, "both.mp4", "-f", "concat", "-safe", "0", "-i", listPath,
		"-c", "copy")

	cases := []struct {
		name  string
		path  string
		wants map[int64][]want
	}{
		{"chair trimmed, rescaled, 24 fps", chairCut, map[int64][]want{a.ID: {{0, 11, 5, 16}}}},
		{"chair cut at 8.5 s", chairOdd, map[int64][]want{a.ID: {{0, 6, 8.5, 14.5}}}},
		{"pattern trimmed, rescaled, 15 fps", patternCut,
			map[int64][]want{b.ID: {{0, 4, 2, 6}}}},
		{"compilation of both", both, map[int64][]want{
			a.ID: {{0, 6, 3, 9}},
			b.ID: {{7, 11, 1, 5}},
		}},
		{"unrelated", doorknob, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := e.matchVideo(t, c.path)
			t.Logf("%d frames; matches %+v", got.Frames, got.Matches)
			if len(got.Matches) != len(c.wants) {
				t.Fatalf("%d matches, want %d: %+v", len(got.Matches), len(c.wants), got.Matches)
			}
			for _, m := range got.Matches {
				ws, ok := c.wants[m.ItemID]
				if !ok {
					t.Errorf("matched item %d, which it does not hold", m.ItemID)
					continue
				}
				if m.Category != dnadb.CategoryIllegalFilming {
					t.Errorf("item %d category %q, want illegal_filming", m.ItemID, m.Category)
				}
				for _, w := range ws {
					if !hasSegment(m.Segments, w) {
						t.Errorf("item %d segments %+v lack query %g-%g = item %g-%g (within 1 s)",
							m.ItemID, m.Segments, w.q0, w.q1, w.i0, w.i1)
					}
				}
			}
		})
	}

	// The very file, registered again by another agency, is known material.
	var reg api.Registration
	code, eb := e.postAs(t, "support", "/v1/items/upload?category=other", readFile(t, chair),
		&reg)
	if code != http.StatusOK || !reg.Duplicate || reg.Item.ID != a.ID {
		t.Errorf("re-registering the chair video: %d %+v %+v, want duplicate of %d", code, eb,
			reg, a.ID)
	}
}

// hasSegment reports whether one of segs lies within a second of w at both ends in
// both videos.
func hasSegment(segs []api.Segment, w want) bool {
	near := func(x, y float64) bool { return math.Abs(x-y) <= 1 }
	for _, s := range segs {
		if near(s.QueryStart, w.q0) && near(s.QueryEnd, w.q1) && near(s.ItemStart, w.i0) &&
			near(s.ItemEnd, w.i1) {
			return true
		}
	}
	return false
}

// TestVideoMatchByHashes matches through POST /v1/match/video with the reference's
// own sample hashes of a corpus video (every frame) against the same video
// registered from its file (one hash a second), under both semantics, and by the
// file's digest alone.
func TestVideoMatchByHashes(t *testing.T) {
	ffmpegtest.Require(t)
	ctx := context.Background()
	e := newEnv(t)
	path := corpus.Path(t, "videos", "pattern-hd-no-bar.mp4")
	it := e.uploadVideo(t, path)
	e.confirm(t, it.ID)

	ref, err := os.ReadFile(corpus.Path(t, "vpdq", "sample-hashes", "pattern-hd-no-bar.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var sha string
	for _, sg := range it.Signals {
		if sg.Type == dnadb.SignalSHA256 {
			sha = sg.Value
		}
	}
	c := e.as("consumer")
	for _, req := range []api.VideoMatchRequest{
		{VPDQ: string(ref)},
		{VPDQ: string(ref), Semantics: "cpp"},
		{SHA256: sha},
	} {
		resp, err := c.MatchVideo(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Matches) != 1 || resp.Matches[0].ItemID != it.ID {
			t.Fatalf("match %.20q...: %+v, want item %d", req.VPDQ+req.SHA256, resp, it.ID)
		}
		m := resp.Matches[0]
		if req.SHA256 != "" {
			if !m.Exact {
				t.Errorf("digest match not marked exact: %+v", m)
			}
			continue
		}
		// The item holds one hash a second, the reference every frame: every item
		// frame is among the reference's, and one segment spans the video.
		if m.ComparedPercent < 95 || len(m.Segments) != 1 || m.Segments[0].QueryEnd < 5 {
			t.Errorf("reference hashes of the registered file (%s): item %.2f%%, segments %+v;"+
				" want >= 95%% and one segment over the 6.9 s", resp.Semantics,
				m.ComparedPercent, m.Segments)
		}
	}

	for _, bad := range []api.VideoMatchRequest{
		{},
		{VPDQ: "0,100,zz,0.000"},
		{VPDQ: string(ref), Semantics: "java"},
		{MD5: "123"},
	} {
		if _, err := c.MatchVideo(ctx, bad); err == nil {
			t.Errorf("MatchVideo(%+.40v) succeeded, want an error", bad)
		}
	}
}
