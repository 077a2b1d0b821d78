package cli

import (
	"context"
	"fmt"
	"io"
	"net"

	"github.com/dnadb/dnadb/agent"
	"github.com/dnadb/dnadb/imagefile"
	"github.com/dnadb/dnadb/matcher"
)

// DefaultAgentStore is the SQLite file the agent keeps its copy in.
const DefaultAgentStore = "dnadb-agent.db"

func runAgent(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("agent", "--token T [flags]", stderr)
	connect := remoteFlags(fs)
	addr := fs.String("addr", agent.DefaultAddr, "address the agent's match API listens on")
	path := fs.String("store", DefaultAgentStore, "the agent's own SQLite file")
	apiToken := fs.String("api-token", "",
		"bearer token the agent's match API wants; required off loopback")
	wait := fs.Duration("wait", agent.DefaultWait, "how long one feed request long-polls")
	poll := fs.Duration("poll", 0, "pause after a feed request that brought nothing new")
	maxBackoff := fs.Duration("max-backoff", agent.DefaultMaxBackoff,
		"longest pause between retries while the central server cannot be reached")
	threshold := fs.Int("threshold", matcher.DefaultThreshold,
		"largest PDQ distance that counts as a match")
	floor := fs.Int("quality-floor", agent.DefaultQualityFloor,
		"lowest PDQ quality that is matched")
	maxPixels := fs.Int64("max-pixels", imagefile.DefaultMaxPixels,
		"largest uploaded photo, in pixels")
	maxBytes := fs.Int64("max-bytes", imagefile.DefaultMaxBytes,
		"largest uploaded photo, in bytes")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("agent takes no arguments, got %q", fs.Args())
	}
	log, err := newLogger(stderr, *logFormat, *logLevel)
	if err != nil {
		return err
	}
	c, err := connect()
	if err != nil {
		return err
	}
	switch {
	case *threshold < 1 || *threshold > 256:
		return usagef("--threshold %d is outside 1..256", *threshold)
	case *floor < 0 || *floor > 100:
		return usagef("--quality-floor %d is outside 0..100", *floor)
	case *wait <= 0 || *poll < 0 || *maxBackoff <= 0:
		return usagef("--wait and --max-backoff must be positive, --poll not negative")
	case *maxPixels <= 0 || *maxBytes <= 0:
		return usagef("--max-pixels and --max-bytes must be positive")
	}
	if *apiToken == "" && !isLoopback(*addr) {
		return usagef("--addr %q is not a loopback address; set --api-token "+
			"(or DNADB_API_TOKEN) so that only your own systems can match", *addr)
	}

	// Open the copy and load the index from it.
	st, err := agent.OpenStore(ctx, *path)
	if err != nil {
		return err
	}
	defer st.Close()
	cfg := agent.Config{
		Client:       c,
		Store:        st,
		Wait:         *wait,
		Poll:         *poll,
		MaxBackoff:   *maxBackoff,
		Threshold:    *threshold,
		QualityFloor: *floor,
		Decoder:      imagefile.Decoder{MaxPixels: *maxPixels, MaxBytes: *maxBytes},
		Logger:       log,
	}
	if *floor == 0 {
		cfg.QualityFloor = -1
	}
	log.Info("config", "addr", *addr, "server", fs.Lookup("server").Value.String(),
		"store", *path, "api_token", *apiToken != "", "wait", *wait, "poll", *poll,
		"max_backoff", *maxBackoff, "threshold", *threshold, "quality_floor", *floor)
	a, err := agent.New(ctx, cfg)
	if err != nil {
		return err
	}

	// Listen, then sync and serve until interrupted.
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	fmt.Fprintf(stdout, "dnadb agent listening on http://%s\n", ln.Addr())
	return a.Serve(ctx, ln, *apiToken)
}

// isLoopback reports whether addr, host:port, names only loopback interfaces.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
