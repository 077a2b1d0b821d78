package server

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/api"
	"github.com/dnadb/dnadb/fingerprint"
	"github.com/dnadb/dnadb/matcher"
)

// createItem registers an item with signals the source computed itself, the normal
// path: the media never leaves the source.
func (s *Server) createItem(w http.ResponseWriter, r *http.Request) error {
	var n dnadb.NewItem
	if err := readJSON(w, r, DefaultMaxBodyBytes, &n); err != nil {
		return err
	}
	regs, err := s.register(r.Context(), []dnadb.NewItem{n})
	if err != nil {
		return err
	}
	writeJSON(w, registrationStatus(regs[0]), regs[0])
	return nil
}

// createBatch registers many items in one request and one transaction: all of
// them, or if one is refused, none. Items of known material, or repeating an
// earlier item of the batch, are linked as further sources.
func (s *Server) createBatch(w http.ResponseWriter, r *http.Request) error {
	var req api.BatchRequest
	if err := readJSON(w, r, 8*DefaultMaxBodyBytes, &req); err != nil {
		return err
	}
	switch {
	case len(req.Items) == 0:
		return dnadb.Errorf(dnadb.ErrInvalid, "items: empty; send at least one")
	case len(req.Items) > s.cfg.MaxBatch:
		return dnadb.Errorf(dnadb.ErrTooLarge, "items: %d in one request, limit %d",
			len(req.Items), s.cfg.MaxBatch)
	}
	regs, err := s.register(r.Context(), req.Items)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.BatchResponse{Results: regs})
	return nil
}

// uploadItem registers an item from a photo or a video in the request body. The
// server fingerprints it and deletes it; only the signals are stored. The item's
// description is in the query: category, reference and, for a photo, profile.
func (s *Server) uploadItem(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	n := dnadb.NewItem{
		Category:  dnadb.Category(q.Get("category")),
		Reference: q.Get("reference"),
	}
	// Check the description before reading the upload, so a bad request costs
	// nothing.
	n.Signals = []dnadb.Signal{{Type: dnadb.SignalPDQ, Value: zeroHash, Quality: 100}}
	if err := s.checkNew(n); err != nil {
		return err
	}
	profile := dnadb.Profile(q.Get("profile"))
	if profile != "" && !profile.Valid() {
		return dnadb.Errorf(dnadb.ErrInvalid, "profile %q is not %q or %q", profile,
			dnadb.ProfileFull, dnadb.ProfileCLI512)
	}

	// Keep the upload in a private file only while it is fingerprinted.
	path, err := s.spool(r.Context(), r.Body)
	if err != nil {
		return err
	}
	defer os.Remove(path)
	h := s.hasher(profile, false)
	switch h.Kind(r.Context(), path) {
	case fingerprint.MediaVideo:
		v, err := s.hashVideoFile(r.Context(), path, s.cfg.RegisterSecondsPerHash)
		if err != nil {
			return err
		}
		n.Signals = v.Signals()
	default:
		photo, err := s.hashPhotoFile(r.Context(), h, path)
		if err != nil {
			return err
		}
		if err := s.checkQuality("uploaded photo", photo.Quality); err != nil {
			return err
		}
		n.Signals = []dnadb.Signal{photo.Signal()}
	}

	regs, err := s.register(r.Context(), []dnadb.NewItem{n})
	if err != nil {
		return err
	}
	writeJSON(w, registrationStatus(regs[0]), regs[0])
	return nil
}

// hashPhotoFile fingerprints a spooled photo in a decode slot.
func (s *Server) hashPhotoFile(ctx context.Context, h fingerprint.Hasher,
	path string) (fingerprint.Photo, error) {
	release, err := slot(ctx, s.decodes, "uploaded photo")
	if err != nil {
		return fingerprint.Photo{}, err
	}
	defer release()
	f, err := os.Open(path)
	if err != nil {
		return fingerprint.Photo{}, fmt.Errorf("open spooled photo: %w", err)
	}
	defer f.Close()
	return h.Hash("uploaded photo", f)
}

// checkNew checks a registration without storing it.
func (s *Server) checkNew(n dnadb.NewItem) error {
	n.Source = "-"
	if _, err := n.Normalize(); err != nil {
		return err
	}
	for i, sg := range n.Signals {
		switch sg.Type {
		case dnadb.SignalPDQ:
			if err := s.checkQuality(signalName(i), sg.Quality); err != nil {
				return err
			}
		case dnadb.SignalVPDQ:
			frames, err := dnadb.ParseVPDQ(sg.Value)
			if err != nil {
				return dnadb.Errorf(dnadb.KindOf(err), "%s: %w", signalName(i), err)
			}
			v := fingerprint.Video{}
			v.Frames = frames
			if err := v.Usable(signalName(i), s.cfg.QualityFloor); err != nil {
				return err
			}
		}
	}
	return nil
}

// register stores registrations, linking each that is of known material to the
// item it matches, so that filters never see the same material twice. Known items
// are those pending or confirmed (rejected and withdrawn ones may be registered
// anew) and the items the same call creates. The check runs inside the store's
// write transaction, so two agencies registering one photo at the same moment,
// through one server or two, still make one item.
func (s *Server) register(ctx context.Context, ns []dnadb.NewItem) ([]api.Registration, error) {
	for i, n := range ns {
		if err := s.checkNew(n); err != nil {
			if len(ns) > 1 {
				err = dnadb.Errorf(dnadb.KindOf(err), "items[%d]: %w", i, err)
			}
			return nil, err
		}
	}

	synced := false
	known := func(ctx context.Context, n dnadb.NewItem, created []dnadb.Item) (int64, bool,
		error) {
		// Under the write lock every earlier registration has committed: bring the
		// index of known items up to date once, then look.
		if !synced {
			if err := s.known.Sync(ctx); err != nil {
				return 0, false, err
			}
			synced = true
		}
		if id, ok := s.knownMatch(n); ok {
			return id, true, nil
		}
		for _, it := range created {
			if signalsMatch(n.Signals, it.Signals, s.cfg.Threshold) {
				return it.ID, true, nil
			}
		}
		return 0, false, nil
	}
	regs, err := s.store.Register(ctx, ns, known)
	if err != nil {
		return nil, err
	}
	if err := s.known.Sync(ctx); err != nil {
		s.log.Error("index sync after registration", "items", len(regs), "err", err)
	}

	out := make([]api.Registration, len(regs))
	for i, r := range regs {
		out[i] = api.Registration{Item: r.Item, Duplicate: r.Duplicate}
	}
	return out, nil
}

// knownMatch returns a known item that a signal of n matches: a PDQ hash within
// the threshold, or a video file with the same digest.
func (s *Server) knownMatch(n dnadb.NewItem) (int64, bool) {
	var best dnadb.Match
	found := false
	var vq matcher.VideoQuery
	for _, sg := range n.Signals {
		switch sg.Type {
		case dnadb.SignalPDQ:
			h, err := dnadb.ParseHash256(sg.Value)
			if err != nil {
				continue
			}
			for _, m := range s.known.Match(matcher.Query{Hash: h}, s.cfg.Threshold) {
				if !found || m.Distance < best.Distance {
					best, found = m, true
				}
			}
		case dnadb.SignalVPDQ:
			vq.Frames, _ = dnadb.ParseVPDQ(sg.Value)
		case dnadb.SignalMD5:
			vq.MD5 = strings.ToLower(sg.Value)
		case dnadb.SignalSHA256:
			vq.SHA256 = strings.ToLower(sg.Value)
		}
	}
	if found {
		return best.ItemID, true
	}

	// A video is known if it is the same file, or the same video: most of its
	// frames match the item's and most of the item's match its own. A clip of a
	// longer video, or a compilation, is material of its own.
	if vq.Frames != nil || vq.MD5 != "" || vq.SHA256 != "" {
		opts := matcher.VideoOptions{Distance: s.cfg.Threshold,
			QualityFloor: max(s.cfg.QualityFloor, -1)}
		for _, m := range s.known.MatchVideo(vq, opts) {
			if m.Exact || m.QueryPercent >= sameVideo && m.ComparedPercent >= sameVideo {
				return m.ItemID, true
			}
		}
	}
	return 0, false
}

// sameVideo is the share of frames, each way, at which two videos are the same
// material for duplicate detection: python-threatexchange's match threshold.
const sameVideo = 80

// signalsMatch reports whether a PDQ signal of a lies within threshold of one of
// b, or a digest of a equals one of b.
func signalsMatch(a, b []dnadb.Signal, threshold int) bool {
	for _, sa := range a {
		for _, sb := range b {
			if sa.Type != sb.Type {
				continue
			}
			switch sa.Type {
			case dnadb.SignalPDQ:
				ha, err1 := dnadb.ParseHash256(sa.Value)
				hb, err2 := dnadb.ParseHash256(sb.Value)
				if err1 == nil && err2 == nil && ha.Distance(hb) <= threshold {
					return true
				}
			case dnadb.SignalMD5, dnadb.SignalSHA256:
				if sa.Value == sb.Value {
					return true
				}
			}
		}
	}
	return false
}

// registrationStatus is 201 for a new item and 200 for a known one.
func registrationStatus(reg api.Registration) int {
	if reg.Duplicate {
		return http.StatusOK
	}
	return http.StatusCreated
}
