package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dnadb/dnadb/client"
)

// Limits on the child processes the tests run.
const (
	// commandTimeout bounds one run of a short command, such as "admin org create".
	commandTimeout = 60 * time.Second
	// startTimeout bounds how long a server may take to answer /healthz.
	startTimeout = 20 * time.Second
	// stopTimeout is how long a server may take to shut down after an interrupt
	// before it is killed.
	stopTimeout = 10 * time.Second
	// startAttempts is how many free ports a server is tried on, in case another
	// process takes the port between picking it and listening on it.
	startAttempts = 3
)

// bin is the path of the dnadb binary that TestMain builds.
var bin string

// TestMain builds the dnadb binary once, from the module root, for every test.
func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "dnadb-e2e-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)

	bin = filepath.Join(dir, "dnadb")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/dnadb")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build ./cmd/dnadb: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// childEnv is the environment of every child process: the test's own, without
// any DNADB_ variable that would set a flag the test did not choose, plus extra.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DNADB_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// result is how one run of the binary ended.
type result struct {
	stdout, stderr string
	code           int
}

// runBin runs the binary with args and the extra environment variables env, and
// returns what it printed and its exit code.
func runBin(tb testing.TB, env []string, args ...string) result {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = childEnv(env...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		tb.Fatalf("dnadb %s: %v", strings.Join(args, " "), err)
	}
	return result{stdout: stdout.String(), stderr: stderr.String(),
		code: cmd.ProcessState.ExitCode()}
}

// mustRun runs the binary and returns its stdout, failing the test unless it
// exits 0.
func mustRun(tb testing.TB, env []string, args ...string) string {
	tb.Helper()
	r := runBin(tb, env, args...)
	if r.code != 0 {
		tb.Fatalf("dnadb %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "),
			r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// principals holds the secrets of the tokens bootstrap creates.
type principals struct {
	admin     string // kcsc, the centre: admin
	evaluator string // kcsc: evaluator
	police    string // police-x: contributor
	support   string // support-y: contributor, a second registering organisation
	consumer  string // filterco, a filtering vendor: consumer
}

// bootstrap sets a fresh store up as an operator would, with the binary's admin
// commands: the centre and its admin token, two contributing agencies and a
// filtering vendor, each with a token. The store is given as DNADB_STORE, so the
// environment path of flags is exercised too.
func bootstrap(tb testing.TB, store string) principals {
	tb.Helper()
	env := []string{"DNADB_STORE=" + store}
	var p principals
	p.admin = secret(tb, mustRun(tb, env, "admin", "bootstrap", "--name", "kcsc"))
	for _, o := range [][2]string{
		{"police-x", "police"}, {"support-y", "support"}, {"filterco", "vendor"},
	} {
		mustRun(tb, env, "admin", "org", "create", "--name", o[0], "--kind", o[1])
	}
	token := func(org, name, roles string) string {
		return secret(tb, mustRun(tb, env, "admin", "token", "create", "--org", org,
			"--name", name, "--roles", roles))
	}
	p.evaluator = token("kcsc", "evaluator-7", "evaluator")
	p.police = token("police-x", "tracker", "contributor")
	p.support = token("support-y", "deletions", "contributor")
	p.consumer = token("filterco", "upload-filter", "consumer")
	return p
}

// secret returns the token secret that "admin token create" and "admin bootstrap"
// print on their last line.
func secret(tb testing.TB, stdout string) string {
	tb.Helper()
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	s := strings.TrimSpace(lines[len(lines)-1])
	if s == "" || strings.ContainsAny(s, " \t") {
		tb.Fatalf("no token secret on the last line of:\n%s", stdout)
	}
	return s
}

// syncBuffer is a buffer that a child process writes while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// server is a "dnadb serve" child process.
type server struct {
	name string
	// URL is the server's base URL, such as "http://127.0.0.1:41234".
	URL string
	cmd *exec.Cmd
	// output collects the process's stdout and stderr, shown if the test fails.
	output *syncBuffer
	// exited is closed when the process has ended; waitErr is then how.
	exited   chan struct{}
	waitErr  error
	stopOnce sync.Once
	// addr and args are what the process was started with, for a restart.
	addr string
	args []string
}

// errPortTaken means a server could not listen on the port it was given.
var errPortTaken = errors.New("port taken")

// startServer starts "dnadb serve" on a free loopback port over store, with the
// per-token rate limit off (the tests poll faster than a client would) and any
// extra flags, and waits until it answers /healthz. The server is stopped when tb
// ends, and its log is shown if tb failed.
func startServer(tb testing.TB, name, store string, extra ...string) *server {
	tb.Helper()
	for attempt := 1; ; attempt++ {
		s, err := tryStart(name, store, extra)
		if err == nil {
			tb.Cleanup(func() {
				s.stop(tb)
				if tb.Failed() {
					tb.Logf("server %s output:\n%s", s.name, s.output)
				}
			})
			return s
		}
		if attempt < startAttempts && errors.Is(err, errPortTaken) {
			continue
		}
		tb.Fatalf("start server %s: %v", name, err)
	}
}

// tryStart starts one server and waits for it to answer. On failure the process
// is gone.
func tryStart(name, store string, extra []string) (*server, error) {
	// Pick a free port; another process may take it before the server listens,
	// which the caller retries.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	args := append([]string{"serve", "--addr", addr, "--store", store, "--rate", "-1"},
		extra...)
	return startProc(name, addr, args)
}

// startProc starts the binary with args, which make it listen on addr, and waits
// for it to answer /healthz. On failure the process is gone.
func startProc(name, addr string, args []string) (*server, error) {
	s := &server{name: name, URL: "http://" + addr, output: &syncBuffer{},
		exited: make(chan struct{}), addr: addr, args: args}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Env = childEnv()
	s.cmd.Stdout, s.cmd.Stderr = s.output, s.output
	setParentDeath(s.cmd)
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()

	// Wait for /healthz, or for the process to give up.
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			out := s.output.String()
			if strings.Contains(out, "address already in use") {
				return nil, fmt.Errorf("%w: %s", errPortTaken, addr)
			}
			return nil, fmt.Errorf("exited before answering (%v):\n%s", s.waitErr, out)
		default:
		}
		resp, err := hc.Get(s.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.cmd.Process.Kill()
	<-s.exited
	return nil, fmt.Errorf("no answer on %s/healthz within %s:\n%s", s.URL, startTimeout,
		s.output)
}

// stop interrupts the server, as an operator's Ctrl-C would, and waits for it to
// end, killing it if it takes too long. A server that died on its own, or that
// does not exit 0 after the interrupt, fails tb. Stop may be called more than once.
func (s *server) stop(tb testing.TB) {
	tb.Helper()
	s.stopOnce.Do(func() {
		select {
		case <-s.exited:
			tb.Errorf("server %s exited on its own: %v", s.name, s.waitErr)
			return
		default:
		}
		s.cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.exited:
			if s.waitErr != nil {
				tb.Errorf("server %s after interrupt: %v", s.name, s.waitErr)
			}
		case <-time.After(stopTimeout):
			s.cmd.Process.Kill()
			<-s.exited
			tb.Errorf("server %s did not stop within %s of an interrupt; killed", s.name,
				stopTimeout)
		}
	})
}

// client returns an API client for the server that sends secret as its token.
func (s *server) client(tb testing.TB, secret string) *client.Client {
	tb.Helper()
	c, err := client.New(s.URL, &http.Client{Timeout: 10 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	return c.WithToken(secret)
}
