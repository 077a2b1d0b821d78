// Package server serves the dnadb registry and matcher as JSON over HTTP, versioned
// under /v1. Every error reaches the client as {"error": {"code", "message"}} with a
// status chosen by one function from the error's kind.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/access"
	"github.com/dnadb/dnadb/fingerprint"
	"github.com/dnadb/dnadb/imagefile"
	"github.com/dnadb/dnadb/matcher"
	"github.com/dnadb/dnadb/vpdq"
)

// Defaults for Config fields left zero.
const (
	DefaultAddr         = "127.0.0.1:8080"
	DefaultQualityFloor = 50
	DefaultMaxBatch     = 1000
	// DefaultMaxBodyBytes caps a JSON request body.
	DefaultMaxBodyBytes = 8 << 20
	// DefaultRate and DefaultBurst are each token's request rate limit: a sustained
	// rate per second and the burst above it. A batch request counts once.
	DefaultRate  = 50
	DefaultBurst = 100
	// DefaultStrayRate and DefaultStrayBurst limit, per client address, the
	// requests that come without a valid token, each of which costs a lookup.
	DefaultStrayRate  = 5
	DefaultStrayBurst = 20
	// DefaultReadTimeout is long enough for the largest photo over a slow link.
	DefaultReadTimeout = 2 * time.Minute
	// DefaultMaxVideoBytes caps an uploaded video.
	DefaultMaxVideoBytes = 2 << 30
	// DefaultMaxSpools bounds the disk that uploads in flight take:
	// DefaultMaxSpools times DefaultMaxVideoBytes at most.
	DefaultMaxSpools = 8
	// DefaultRegisterSecondsPerHash is how often a video registered by upload is
	// sampled: twice as often as a query is, so that a query sampled once a
	// second from any starting point lies within a quarter second of an item
	// frame.
	DefaultRegisterSecondsPerHash = 0.5
)

// Config configures a Server. Zero fields take the defaults named beside them.
type Config struct {
	// Threshold is the largest PDQ distance that counts as a match; zero means
	// matcher.DefaultThreshold. A request may ask for less, never for more. The same
	// threshold finds registrations of already known material.
	Threshold int
	// QualityFloor is the lowest PDQ quality stored or matched; zero means
	// DefaultQualityFloor. Use a negative value to accept every quality.
	QualityFloor int
	// MaxBatch caps the queries in one match request and the items in one batch
	// registration; zero means DefaultMaxBatch.
	MaxBatch int
	// Decoder decodes uploaded photos; its zero value has the default limits.
	Decoder imagefile.Decoder
	// SyncInterval is how often the indexes poll the change log for changes made by
	// other processes; zero means matcher.DefaultSyncInterval.
	SyncInterval time.Duration
	// Rate and Burst limit each token's requests; zero means DefaultRate and
	// DefaultBurst, and a negative Rate turns the limit off, together with the
	// limit on requests without a valid token (DefaultStrayRate).
	Rate  float64
	Burst int
	// MaxDecodes caps the uploaded photos decoded at once, since one large photo
	// can take a gigabyte while it is decoded; zero means one per CPU. Further
	// uploads wait their turn.
	MaxDecodes int
	// MaxVideos caps the uploaded videos decoded at once, apart from photos so that
	// videos never hold photos up; zero means half the CPUs, at least one.
	MaxVideos int
	// MaxVideoMatches caps the video queries compared at once, apart from decodes
	// so that a long decode never holds up a filter's match; zero means one per
	// CPU.
	MaxVideoMatches int
	// MaxSpools caps the uploads being written to temporary files at once; zero
	// means DefaultMaxSpools.
	MaxSpools int
	// ReadTimeout bounds the time to read a whole request, body included; zero
	// means DefaultReadTimeout.
	ReadTimeout time.Duration
	// SecondsPerHash is how often a video uploaded to be matched is sampled for
	// vPDQ; zero means vpdq.DefaultSecondsPerHash, one hash a second.
	SecondsPerHash float64
	// RegisterSecondsPerHash is the same for a video uploaded to be registered;
	// zero means DefaultRegisterSecondsPerHash.
	RegisterSecondsPerHash float64
	// MaxVideoBytes caps an uploaded video; zero means DefaultMaxVideoBytes.
	MaxVideoBytes int64
	// VideoTimeout bounds the decoding of one uploaded video; zero means
	// ffmpeg.DefaultTimeout.
	VideoTimeout time.Duration
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Threshold == 0 {
		c.Threshold = matcher.DefaultThreshold
	}
	if c.QualityFloor == 0 {
		c.QualityFloor = DefaultQualityFloor
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = DefaultMaxBatch
	}
	if c.Rate == 0 {
		c.Rate = DefaultRate
	}
	if c.Burst == 0 {
		c.Burst = DefaultBurst
	}
	if c.MaxDecodes == 0 {
		c.MaxDecodes = runtime.GOMAXPROCS(0)
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.SecondsPerHash == 0 {
		c.SecondsPerHash = vpdq.DefaultSecondsPerHash
	}
	if c.RegisterSecondsPerHash == 0 {
		c.RegisterSecondsPerHash = DefaultRegisterSecondsPerHash
	}
	if c.MaxVideos == 0 {
		c.MaxVideos = max(1, runtime.GOMAXPROCS(0)/2)
	}
	if c.MaxVideoMatches == 0 {
		c.MaxVideoMatches = runtime.GOMAXPROCS(0)
	}
	if c.MaxSpools == 0 {
		c.MaxSpools = DefaultMaxSpools
	}
	if c.MaxVideoBytes == 0 {
		c.MaxVideoBytes = DefaultMaxVideoBytes
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Server is the dnadb HTTP server.
type Server struct {
	cfg Config
	// store is the registry as the caller of a request may use it: every handler
	// goes through it, so the permission table is enforced in one place.
	store *access.Store
	// raw is the unguarded registry, for authentication and the indexes only.
	raw dnadb.Store
	// matcher holds confirmed items, which filters match against; known holds
	// pending and confirmed items, which registrations are checked against.
	matcher *matcher.Matcher
	known   *matcher.Matcher
	limits  *limiter[int64]  // per token
	strays  *limiter[string] // per address, for requests without a valid token
	decodes chan struct{}    // a slot per photo decode allowed at once
	videos  chan struct{}    // a slot per video decode allowed at once
	vmatch  chan struct{}    // a slot per video match allowed at once
	spools  chan struct{}    // a slot per upload being spooled
	metrics *metrics
	markers markers // the consumers' leak-tracing markers, for their own matches
	// changed wakes the feed's long polls when the index has applied new changes;
	// stopping is closed when the server shuts down, to end them.
	changed  *broadcast
	stopping chan struct{}
	stopOnce sync.Once
	log      *slog.Logger
	routes   []route
	handler  http.Handler
}

// New builds a server over store, loading the match indexes from it.
func New(ctx context.Context, store dnadb.Store, cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	if cfg.Threshold < 0 || cfg.Threshold > 256 {
		return nil, dnadb.Errorf(dnadb.ErrInvalid, "threshold %d is outside 0..256",
			cfg.Threshold)
	}
	changed := newBroadcast()
	m, err := matcher.New(ctx, store, matcher.Config{
		Logger: cfg.Logger.With("component", "matcher"),
		Notify: func(int64) { changed.notify() },
	})
	if err != nil {
		return nil, err
	}
	known, err := matcher.New(ctx, store, matcher.Config{
		Statuses: []dnadb.Status{dnadb.StatusPending, dnadb.StatusConfirmed},
		Logger:   cfg.Logger.With("component", "known"),
	})
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:      cfg,
		store:    access.New(store),
		raw:      store,
		matcher:  m,
		known:    known,
		limits:   newLimiter[int64](cfg.Rate, cfg.Burst),
		strays:   newLimiter[string](strayRate(cfg.Rate), DefaultStrayBurst),
		decodes:  make(chan struct{}, cfg.MaxDecodes),
		videos:   make(chan struct{}, cfg.MaxVideos),
		vmatch:   make(chan struct{}, cfg.MaxVideoMatches),
		spools:   make(chan struct{}, cfg.MaxSpools),
		changed:  changed,
		stopping: make(chan struct{}),
		log:      cfg.Logger,
	}
	s.metrics = newMetrics(s)
	s.sweepSpools()
	s.routes = s.table()
	s.handler = s.mux()
	return s, nil
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve serves on ln until ctx ends, then shuts down gracefully. It keeps the match
// index in step with the change log while it runs.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go s.matcher.Run(ctx, s.cfg.SyncInterval)
	go s.known.Run(ctx, s.cfg.SyncInterval)

	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       s.cfg.ReadTimeout,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	hs.RegisterOnShutdown(func() { s.stopOnce.Do(func() { close(s.stopping) }) })
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	s.log.Info("serving", "addr", ln.Addr().String(), "index", s.matcher.Len(),
		"threshold", s.cfg.Threshold, "quality_floor", s.cfg.QualityFloor)

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdown, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	if err := hs.Shutdown(shutdown); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	s.log.Info("stopped")
	return nil
}

// hasher returns the photo hasher for a request's profile and dihedral choice.
func (s *Server) hasher(profile dnadb.Profile, dihedral bool) fingerprint.Hasher {
	return fingerprint.Hasher{Decoder: s.cfg.Decoder, Profile: profile, Dihedral: dihedral}
}

// checkQuality refuses a signal under the server's quality floor.
func (s *Server) checkQuality(what string, q int) error {
	return matcher.CheckQuality(what, q, s.cfg.QualityFloor)
}

// strayRate is the rate limit of requests without a valid token: off when the
// per-token limit is off.
func strayRate(tokenRate float64) float64 {
	if tokenRate < 0 {
		return -1
	}
	return DefaultStrayRate
}
