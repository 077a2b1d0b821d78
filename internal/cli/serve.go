package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"

	"github.com/dnadb/dnadb/ffmpeg"
	"github.com/dnadb/dnadb/imagefile"
	"github.com/dnadb/dnadb/matcher"
	"github.com/dnadb/dnadb/server"
	"github.com/dnadb/dnadb/vpdq"
)

// DefaultStore is the SQLite file the server uses when no store is named.
const DefaultStore = "dnadb.db"

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", "[flags]", stderr)
	addr := fs.String("addr", server.DefaultAddr, "address to listen on")
	open := storeFlags(fs)
	threshold := fs.Int("threshold", matcher.DefaultThreshold,
		"largest PDQ distance that counts as a match")
	floor := fs.Int("quality-floor", server.DefaultQualityFloor,
		"lowest PDQ quality that is stored or matched")
	maxPixels := fs.Int64("max-pixels", imagefile.DefaultMaxPixels,
		"largest uploaded photo, in pixels")
	maxBytes := fs.Int64("max-bytes", imagefile.DefaultMaxBytes,
		"largest uploaded photo, in bytes")
	rateLimit := fs.Float64("rate", server.DefaultRate,
		"requests a second per token; negative turns the limit off")
	burst := fs.Int("burst", server.DefaultBurst, "requests per token above the rate")
	everyMatch := fs.Float64("seconds-per-hash", vpdq.DefaultSecondsPerHash,
		"sampling of a video uploaded to be matched, in seconds per vPDQ hash")
	everyRegister := fs.Float64("register-seconds-per-hash", server.DefaultRegisterSecondsPerHash,
		"sampling of a video uploaded to be registered")
	videoTimeout := fs.Duration("video-timeout", ffmpeg.DefaultTimeout,
		"longest one uploaded video may take to decode")
	maxVideoBytes := fs.Int64("max-video-bytes", server.DefaultMaxVideoBytes,
		"largest uploaded video, in bytes")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("serve takes no arguments, got %q", fs.Args())
	}
	log, err := newLogger(stderr, *logFormat, *logLevel)
	if err != nil {
		return err
	}
	if *threshold < 1 || *threshold > 256 {
		return usagef("--threshold %d is outside 1..256", *threshold)
	}
	if *floor < 0 || *floor > 100 {
		return usagef("--quality-floor %d is outside 0..100", *floor)
	}
	if *everyMatch <= 0 || *everyRegister <= 0 || *videoTimeout <= 0 || *maxVideoBytes <= 0 {
		return usagef("--seconds-per-hash, --register-seconds-per-hash, --video-timeout " +
			"and --max-video-bytes must be positive")
	}
	if *maxPixels <= 0 || *maxBytes <= 0 {
		return usagef("--max-pixels %d and --max-bytes %d must be positive", *maxPixels,
			*maxBytes)
	}

	// Open the store; this applies any pending migration.
	st, err := open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()

	// Build the server, which loads the match index.
	cfg := server.Config{
		Threshold:              *threshold,
		QualityFloor:           *floor,
		Decoder:                imagefile.Decoder{MaxPixels: *maxPixels, MaxBytes: *maxBytes},
		Rate:                   *rateLimit,
		SecondsPerHash:         *everyMatch,
		RegisterSecondsPerHash: *everyRegister,
		VideoTimeout:           *videoTimeout,
		MaxVideoBytes:          *maxVideoBytes,
		Burst:                  *burst,
		Logger:                 log,
	}
	if *floor == 0 {
		cfg.QualityFloor = -1
	}
	log.Info("config", "addr", *addr, "store", redactDSN(fs.Lookup("store").Value.String()),
		"audit_key", fs.Lookup("audit-key").Value.String() != "", "threshold", *threshold,
		"rate", *rateLimit, "burst", *burst,
		"quality_floor", *floor, "max_pixels", *maxPixels, "max_bytes", *maxBytes)
	srv, err := server.New(ctx, st, cfg)
	if err != nil {
		return err
	}

	// Listen and serve until interrupted.
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	fmt.Fprintf(stdout, "dnadb listening on http://%s\n", ln.Addr())
	return srv.Serve(ctx, ln)
}

// newLogger builds the process logger.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("--log-level %q is not debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usagef("--log-format %q is not text or json", format)
}

// redactDSN hides a password in a store DSN, for the log.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
