package matcher

import (
	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/api"
	"github.com/dnadb/dnadb/vpdq"
)

// ParseVideoRequest checks a video match request's signals and returns the query
// they make. It fails with ErrInvalid when the request holds none, or one is
// malformed, and with ErrTooLarge over dnadb.MaxVPDQFrames frames.
func ParseVideoRequest(req api.VideoMatchRequest) (VideoQuery, error) {
	var q VideoQuery
	if req.VPDQ != "" {
		frames, err := dnadb.ParseVPDQ(req.VPDQ)
		if err != nil {
			return q, err
		}
		q.Frames = frames
	}
	for _, d := range []struct {
		t   dnadb.SignalType
		v   string
		dst *string
	}{{dnadb.SignalMD5, req.MD5, &q.MD5}, {dnadb.SignalSHA256, req.SHA256, &q.SHA256}} {
		if d.v == "" {
			continue
		}
		sg, err := dnadb.Signal{Type: d.t, Value: d.v}.Normalize()
		if err != nil {
			return q, err
		}
		*d.dst = sg.Value
	}
	if q.Frames == nil && q.MD5 == "" && q.SHA256 == "" {
		return q, dnadb.Errorf(dnadb.ErrInvalid, "request body: send vpdq, md5 or sha256")
	}
	return q, nil
}

// ParseSemantics reads the name of a video matching semantics: "pytx" (or empty)
// or "cpp". It returns the canonical name too.
func ParseSemantics(name string) (vpdq.Semantics, string, error) {
	switch name {
	case "", "pytx":
		return vpdq.PyTX, "pytx", nil
	case "cpp":
		return vpdq.CPP, "cpp", nil
	}
	return 0, "", dnadb.Errorf(dnadb.ErrInvalid, "semantics %q is not pytx or cpp", name)
}

// MaxMatchFrames caps the frames of a query video that are compared: matching
// costs grow with the square of the frames, and an hour at one hash a second
// locates any clip. A longer query is thinned evenly, which keeps its time line.
const MaxMatchFrames = 3600

// VideoAnswer matches q, thinned to MaxMatchFrames, and writes the answer as the
// API gives it: percentages and distances to two decimals, as the reference
// prints them, and segments as query and item times.
func (m *Matcher) VideoAnswer(q VideoQuery, ref, semantics string,
	o VideoOptions) api.VideoMatchResponse {
	resp := api.VideoMatchResponse{Ref: ref, Threshold: o.Distance, Semantics: semantics,
		Matches: []api.VideoMatch{}}
	for _, f := range q.Frames {
		if f.Quality >= o.QualityFloor {
			resp.Frames++
		}
	}
	q.Frames = thin(q.Frames, MaxMatchFrames)
	for _, vm := range m.MatchVideo(q, o) {
		am := api.VideoMatch{ItemID: vm.ItemID, Category: vm.Category,
			QueryPercent: round2(vm.QueryPercent), ComparedPercent: round2(vm.ComparedPercent),
			Exact: vm.Exact, Segments: []api.Segment{}}
		for _, sg := range vm.Segments {
			am.Segments = append(am.Segments, api.Segment{
				QueryStart: sg.QueryStart, QueryEnd: sg.QueryEnd,
				ItemStart: sg.ComparedStart, ItemEnd: sg.ComparedEnd,
				Frames: sg.Frames, MeanDistance: round2(sg.MeanDistance),
			})
		}
		resp.Matches = append(resp.Matches, am)
	}
	return resp
}

// round2 rounds a percentage or distance to two decimals.
func round2(x float64) float64 { return float64(int64(x*100+0.5)) / 100 }

// thin keeps at most max frames of frames, evenly spread.
func thin(frames []dnadb.VideoFrame, max int) []dnadb.VideoFrame {
	if len(frames) <= max {
		return frames
	}
	out := make([]dnadb.VideoFrame, 0, max)
	for i := range max {
		out = append(out, frames[i*len(frames)/max])
	}
	return out
}
