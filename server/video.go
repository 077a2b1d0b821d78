package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/api"
	"github.com/dnadb/dnadb/fingerprint"
	"github.com/dnadb/dnadb/matcher"
	"github.com/dnadb/dnadb/vpdq"
)

// matchVideo matches a video the caller fingerprinted itself.
func (s *Server) matchVideo(w http.ResponseWriter, r *http.Request) error {
	var req api.VideoMatchRequest
	if err := readJSON(w, r, DefaultMaxBodyBytes, &req); err != nil {
		return err
	}
	q := matcher.VideoQuery{}
	if req.VPDQ != "" {
		frames, err := dnadb.ParseVPDQ(req.VPDQ)
		if err != nil {
			return err
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
			return err
		}
		*d.dst = sg.Value
	}
	if q.Frames == nil && q.MD5 == "" && q.SHA256 == "" {
		return dnadb.Errorf(dnadb.ErrInvalid, "request body: send vpdq, md5 or sha256")
	}
	resp, err := s.videoMatches(q, req.Ref, req.Semantics, req.Threshold)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// matchVideoUpload matches a video file in the request body, which the server
// fingerprints and deletes. Query parameters: semantics, threshold and ref.
func (s *Server) matchVideoUpload(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	t, err := queryInt(r, "threshold", 0)
	if err != nil {
		return err
	}
	v, err := s.hashVideoBody(r)
	if err != nil {
		return err
	}
	resp, err := s.videoMatches(matcher.VideoQuery{Frames: v.Frames, MD5: v.MD5,
		SHA256: v.SHA256}, q.Get("ref"), q.Get("semantics"), int(min(t, 1<<20)))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// videoMatches matches one video against the confirmed video items.
func (s *Server) videoMatches(q matcher.VideoQuery, ref, semantics string,
	threshold int) (api.VideoMatchResponse, error) {
	threshold, err := s.threshold(threshold)
	if err != nil {
		return api.VideoMatchResponse{}, err
	}
	opts := matcher.VideoOptions{Distance: threshold, QualityFloor: max(s.cfg.QualityFloor, -1)}
	switch semantics {
	case "", "pytx":
		semantics = "pytx"
	case "cpp":
		opts.Semantics = vpdq.CPP
	default:
		return api.VideoMatchResponse{}, dnadb.Errorf(dnadb.ErrInvalid,
			"semantics %q is not pytx or cpp", semantics)
	}

	resp := api.VideoMatchResponse{Ref: ref, Threshold: threshold, Semantics: semantics,
		Matches: []api.VideoMatch{}}
	for _, f := range q.Frames {
		if f.Quality >= s.cfg.QualityFloor {
			resp.Frames++
		}
	}
	for _, m := range s.matcher.MatchVideo(q, opts) {
		vm := api.VideoMatch{ItemID: m.ItemID, Category: m.Category,
			QueryPercent: round2(m.QueryPercent), ComparedPercent: round2(m.ComparedPercent),
			Exact: m.Exact, Segments: []api.Segment{}}
		for _, sg := range m.Segments {
			vm.Segments = append(vm.Segments, api.Segment{
				QueryStart: sg.QueryStart, QueryEnd: sg.QueryEnd,
				ItemStart: sg.ComparedStart, ItemEnd: sg.ComparedEnd,
				Frames: sg.Frames, MeanDistance: round2(sg.MeanDistance),
			})
		}
		resp.Matches = append(resp.Matches, vm)
	}
	return resp, nil
}

// round2 rounds a percentage or distance to two decimals, as the reference prints.
func round2(x float64) float64 {
	return float64(int64(x*100+0.5)) / 100
}

// hashVideoBody fingerprints the video in the request body: it is written to a
// private temporary file, since ffmpeg needs to seek, hashed, and deleted.
func (s *Server) hashVideoBody(r *http.Request) (fingerprint.Video, error) {
	path, err := s.spool(r.Body)
	if err != nil {
		return fingerprint.Video{}, err
	}
	defer os.Remove(path)
	return s.hashVideoFile(r.Context(), path)
}

// hashVideoFile fingerprints a spooled video under the server's options, in a
// decode slot.
func (s *Server) hashVideoFile(ctx context.Context, path string) (fingerprint.Video, error) {
	select {
	case s.decodes <- struct{}{}:
		defer func() { <-s.decodes }()
	case <-ctx.Done():
		return fingerprint.Video{}, dnadb.Errorf(dnadb.ErrInvalid,
			"uploaded video: request ended while waiting for a decode slot: %w", ctx.Err())
	}
	v, err := fingerprint.HashVideo(ctx, path, vpdq.HashOptions{
		SecondsPerHash: s.cfg.SecondsPerHash,
		MaxPixels:      s.cfg.Decoder.MaxPixels,
		Timeout:        s.cfg.VideoTimeout,
	})
	if err != nil {
		// The message names the temporary file; name the upload instead.
		msg := strings.ReplaceAll(err.Error(), path, "uploaded video")
		return fingerprint.Video{}, dnadb.Errorf(dnadb.KindOf(err), "uploaded video: %s", msg)
	}
	if err := v.Usable("uploaded video", s.cfg.QualityFloor); err != nil {
		return fingerprint.Video{}, err
	}
	return v, nil
}

// spool copies an upload to a private temporary file, up to MaxVideoBytes, and
// returns its path; the caller removes it.
func (s *Server) spool(body io.Reader) (string, error) {
	f, err := os.CreateTemp("", "dnadb-upload-*")
	if err != nil {
		return "", fmt.Errorf("spool upload: %w", err)
	}
	n, err := io.Copy(f, io.LimitReader(body, s.cfg.MaxVideoBytes+1))
	cerr := f.Close()
	switch {
	case err != nil:
		os.Remove(f.Name())
		return "", dnadb.Errorf(dnadb.ErrInvalid, "read upload: %w", err)
	case cerr != nil:
		os.Remove(f.Name())
		return "", fmt.Errorf("spool upload: %w", cerr)
	case n > s.cfg.MaxVideoBytes:
		os.Remove(f.Name())
		return "", dnadb.Errorf(dnadb.ErrTooLarge, "upload is over %d bytes",
			s.cfg.MaxVideoBytes)
	case n == 0:
		os.Remove(f.Name())
		return "", dnadb.Errorf(dnadb.ErrInvalid, "upload is empty")
	}
	return f.Name(), nil
}
