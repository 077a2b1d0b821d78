package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/api"
	"github.com/dnadb/dnadb/ffmpeg"
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
	q, err := matcher.ParseVideoRequest(req)
	if err != nil {
		return err
	}
	resp, err := s.videoMatches(r.Context(), q, req.Ref, req.Semantics, req.Threshold)
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
	resp, err := s.videoMatches(r.Context(), matcher.VideoQuery{Frames: v.Frames,
		MD5: v.MD5, SHA256: v.SHA256}, q.Get("ref"), q.Get("semantics"), int(min(t, 1<<20)))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// videoMatches matches one video against the confirmed video items.
func (s *Server) videoMatches(ctx context.Context, q matcher.VideoQuery, ref,
	semantics string, threshold int) (api.VideoMatchResponse, error) {
	threshold, err := s.threshold(threshold)
	if err != nil {
		return api.VideoMatchResponse{}, err
	}
	sem, semantics, err := matcher.ParseSemantics(semantics)
	if err != nil {
		return api.VideoMatchResponse{}, err
	}
	opts := matcher.VideoOptions{Distance: threshold, QualityFloor: max(s.cfg.QualityFloor, -1),
		Semantics: sem}

	release, err := slot(ctx, s.vmatch, "video match")
	if err != nil {
		return api.VideoMatchResponse{}, err
	}
	defer release()
	return s.matcher.VideoAnswer(q, ref, semantics, opts), nil
}

// hashVideoBody fingerprints the video in the request body: it is written to a
// private temporary file, since ffmpeg needs to seek, hashed, and deleted.
func (s *Server) hashVideoBody(r *http.Request) (fingerprint.Video, error) {
	path, err := s.spool(r.Context(), r.Body)
	if err != nil {
		return fingerprint.Video{}, err
	}
	defer os.Remove(path)
	return s.hashVideoFile(r.Context(), path, s.cfg.SecondsPerHash)
}

// hashVideoFile fingerprints a spooled video under the server's options, in a
// video slot, sampling every secondsPerHash.
func (s *Server) hashVideoFile(ctx context.Context, path string,
	secondsPerHash float64) (fingerprint.Video, error) {
	release, err := slot(ctx, s.videos, "uploaded video")
	if err != nil {
		return fingerprint.Video{}, err
	}
	defer release()
	v, err := fingerprint.HashVideo(ctx, path, vpdq.HashOptions{
		SecondsPerHash: secondsPerHash,
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

// slot waits for a place in slots, or for ctx to end; what names the waiting
// upload in the error. The returned function gives the place back.
func slot(ctx context.Context, slots chan struct{}, what string) (func(), error) {
	select {
	case slots <- struct{}{}:
		return func() { <-slots }, nil
	case <-ctx.Done():
		return nil, dnadb.Errorf(dnadb.ErrInvalid, "%s: request ended while waiting its turn: %w",
			what, ctx.Err())
	}
}

// spoolPattern names the temporary files of uploads.
const spoolPattern = "dnadb-upload-*"

// spool copies an upload to a private temporary file, up to MaxVideoBytes, and
// returns its path; the caller removes it. At most MaxSpools uploads are spooled at
// once, so that uploads in flight cannot fill the disk.
func (s *Server) spool(ctx context.Context, body io.Reader) (string, error) {
	release, err := slot(ctx, s.spools, "upload")
	if err != nil {
		return "", err
	}
	defer release()
	f, err := os.CreateTemp("", spoolPattern)
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

// sweepSpools deletes the temporary files that uploads left behind when a server
// died during them: any old enough that no request still running can own it.
func (s *Server) sweepSpools() {
	paths, _ := filepath.Glob(filepath.Join(os.TempDir(), spoolPattern))
	cutoff := time.Now().Add(-(s.cfg.ReadTimeout + s.videoTimeout() + time.Minute))
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil || st.ModTime().After(cutoff) {
			continue
		}
		if err := os.Remove(p); err == nil {
			s.log.Info("removed a stale upload", "path", p, "modified", st.ModTime())
		}
	}
}

// videoTimeout is the effective bound on one video decode.
func (s *Server) videoTimeout() time.Duration {
	if s.cfg.VideoTimeout > 0 {
		return s.cfg.VideoTimeout
	}
	return ffmpeg.DefaultTimeout
}
