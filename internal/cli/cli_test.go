package cli

import (
	"bytes"
	"context"
	"database/sql"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dnadb/dnadb/internal/corpus"
	"github.com/dnadb/dnadb/server"
	"github.com/dnadb/dnadb/sqlstore"
)

// run runs the command line and returns stdout, stderr and the exit code.
func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := Run(context.Background(), args, &stdout, &stderr)
	code := ExitCode(err, &stderr)
	return stdout.String(), stderr.String(), code
}

// TestHashDecodedCorpus hashes the reference's own decoded pixels through the CLI
// with the reference CLI's profile: every hash and quality equals the reference's.
func TestHashDecodedCorpus(t *testing.T) {
	dir := corpus.Path(t, "pdq", "decoded")
	_, rows := corpus.TSV(t, "pdq", "decoded.tsv")

	stdout, stderr, code := run(t, "hash", "--profile", "cli512", "--format", "tsv", dir)
	if code != 0 {
		t.Fatalf("hash exit %d, stderr:\n%s", code, stderr)
	}
	got := map[string][2]string{}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if lines[0] != "path\thash\tquality\tprofile\tformat\twidth\theight" {
		t.Errorf("tsv header = %q", lines[0])
	}
	for _, l := range lines[1:] {
		f := strings.Split(l, "\t")
		got[filepath.Base(f[0])] = [2]string{f[1], f[2]}
	}
	if len(got) != len(rows) {
		t.Errorf("hashed %d files, want %d", len(got), len(rows))
	}
	for _, r := range rows {
		name := filepath.Base(r["decoded_file"])
		if g, want := got[name], [2]string{r["hash"], r["quality"]}; g != want {
			t.Errorf("%s = %v, want %v", name, g, want)
		}
	}
	if !strings.Contains(stderr, "quality 0 is under 50") {
		t.Errorf("stderr does not report the quality-0 photo as weak:\n%s", stderr)
	}
}

// TestHashBadFiles checks that a failed file is named, the batch goes on, and the
// exit code says that something failed.
func TestHashBadFiles(t *testing.T) {
	good := corpus.Path(t, "pdq", "decoded", "misc-images_wee.png")
	var want string
	_, rows := corpus.TSV(t, "pdq", "decoded.tsv")
	for _, r := range rows {
		if r["decoded_file"] == "decoded/misc-images_wee.png" {
			want = r["hash"] + "," + r["quality"] + "," + good + "\n"
		}
	}
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	jpeg, err := os.ReadFile(corpus.Path(t, "pdq", "images", "bridge-mods", "aaa-orig.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	bad := []string{
		write("truncated.jpg", jpeg[:len(jpeg)/3]),
		write("notes.jpg", []byte("not an image")),
		write("empty.png", nil),
		filepath.Join(dir, "missing.jpg"),
	}

	stdout, stderr, code := run(t, append([]string{"hash", good}, bad...)...)
	if code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	if stdout != want {
		t.Errorf("stdout = %q, want only the good file's reference hash %q", stdout, want)
	}
	for _, b := range bad {
		if !strings.Contains(stderr, b) {
			t.Errorf("stderr does not name %s:\n%s", b, stderr)
		}
	}
	if !strings.Contains(stderr, "4 of 5 files failed") {
		t.Errorf("stderr lacks the failure count:\n%s", stderr)
	}
}

func TestUsage(t *testing.T) {
	cases := [][]string{
		{},
		{"frobnicate"},
		{"hash"},
		{"hash", "--profile", "half", "x.jpg"},
		{"hash", "--format", "xml", "x.jpg"},
		{"register", "--category", "csam", "x.jpg"},
		{"register", "--category", "spam", "--token", "t", "x.jpg"},
		{"decide", "--token", "t", "7", "approve"},
		{"decide", "--token", "t", "seven", "confirm"},
		{"decide", "7", "confirm"},
		{"admin"},
		{"admin", "frob"},
		{"audit"},
		{"serve", "--threshold", "0"},
		{"serve", "--bogus"},
	}
	for _, args := range cases {
		_, stderr, code := run(t, args...)
		if code != 2 || !strings.Contains(stderr, "dnadb") {
			t.Errorf("dnadb %q: exit %d, stderr %q; want 2 with a hint", args, code, stderr)
		}
	}
}

// TestRemote bootstraps a store with the admin commands, then registers, confirms
// and matches corpus photos through the CLI against a real server, each command
// with the token of the organisation that would run it.
func TestRemote(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "dnadb.db")
	t.Setenv("DNADB_STORE", db)

	// Bootstrap the centre, then an agency and the tokens the commands use.
	secretOf(t, "admin", "bootstrap", "--name", "kcsc")
	for _, args := range [][]string{
		{"admin", "org", "create", "--name", "dsc", "--kind", "support"},
		{"admin", "org", "create", "--name", "filterco", "--kind", "vendor"},
	} {
		if _, stderr, code := run(t, args...); code != 0 {
			t.Fatalf("%q: exit %d, stderr %q", args, code, stderr)
		}
	}
	support := secretOf(t, "admin", "token", "create", "--org", "dsc", "--name", "intake",
		"--roles", "contributor")
	evaluator := secretOf(t, "admin", "token", "create", "--org", "kcsc", "--name",
		"eval-7", "--roles", "evaluator")
	filter := secretOf(t, "admin", "token", "create", "--org", "filterco", "--name",
		"prod", "--roles", "consumer")
	if _, stderr, code := run(t, "admin", "token", "create", "--org", "filterco", "--name",
		"x", "--roles", "evaluator"); code != 1 || !strings.Contains(stderr, "may not hold") {
		t.Errorf("evaluator token for a vendor: exit %d, stderr %q; want 1", code, stderr)
	}

	st, err := sqlstore.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv, err := server.New(ctx, st, server.Config{})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	t.Setenv("DNADB_SERVER", hs.URL)

	orig := corpus.Path(t, "pdq", "images", "dih", "bridge-1-original.jpg")
	t.Setenv("DNADB_TOKEN", support)
	stdout, stderr, code := run(t, "register", "--category", "illegal_filming",
		"--ref", "case-9", orig)
	if code != 0 || !strings.HasPrefix(stdout, "1\tpending\tnew\t") {
		t.Fatalf("register: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	stdout, _, code = run(t, "register", "--category", "illegal_filming", orig)
	if code != 0 || !strings.HasPrefix(stdout, "1\tpending\tknown\t") {
		t.Errorf("register again: exit %d, stdout %q; want item 1 known", code, stdout)
	}

	rotated := corpus.Path(t, "pdq", "images", "dih", "bridge-2-rotate-90.jpg")
	t.Setenv("DNADB_TOKEN", filter)
	stdout, _, _ = run(t, "match", orig)
	if want := orig + ": no match\n"; stdout != want {
		t.Errorf("match before confirm = %q, want %q", stdout, want)
	}

	// A consumer may not decide; the evaluator may, once.
	_, stderr, code = run(t, "decide", "1", "confirm")
	if code != 1 || !strings.Contains(stderr, "may not") {
		t.Errorf("consumer decides: exit %d, stderr %q; want 1, refused", code, stderr)
	}
	t.Setenv("DNADB_TOKEN", evaluator)
	stdout, stderr, code = run(t, "decide", "1", "confirm")
	if code != 0 || stdout != "1\tconfirmed\n" {
		t.Fatalf("decide: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	_, stderr, code = run(t, "decide", "1", "confirm")
	if code != 1 || !strings.Contains(stderr, "conflict") && !strings.Contains(stderr, "cannot") {
		t.Errorf("second confirm: exit %d, stderr %q; want 1 naming the conflict", code, stderr)
	}

	t.Setenv("DNADB_TOKEN", filter)
	stdout, stderr, code = run(t, "match", "--dihedral", orig, rotated)
	if code != 0 {
		t.Fatalf("match: exit %d, stderr %q", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 2 ||
		!strings.HasPrefix(lines[0], orig+": item 1 (illegal_filming) distance ") ||
		!strings.Contains(lines[0], "variant original") ||
		!strings.HasPrefix(lines[1], rotated+": item 1 (illegal_filming)") ||
		!strings.Contains(lines[1], "variant rotate270") {
		t.Errorf("match --dihedral output:\n%s", stdout)
	}

	// Every act above is in an intact audit trail.
	stdout, stderr, code = run(t, "audit", "verify")
	if code != 0 || !strings.HasPrefix(stdout, "ok: ") {
		t.Errorf("audit verify: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// secretOf runs an "admin" command and returns the token secret it printed last.
func secretOf(t *testing.T, args ...string) string {
	t.Helper()
	stdout, stderr, code := run(t, args...)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	secret := lines[len(lines)-1]
	if code != 0 || !strings.HasPrefix(secret, "dnadb_") {
		t.Fatalf("admin: exit %d, stdout %q, stderr %q; want a secret", code, stdout, stderr)
	}
	return secret
}

// TestAuditKey keeps a trail sealed with a key, then rewrites it the way someone
// who can write to the database but lacks the key would: one entry changed and
// every hash after it recomputed, the head moved along. Without the key the
// rewrite passes the chain check, and only the anchor recorded beforehand catches
// it; with the key, verification names the changed entry.
func TestAuditKey(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "dnadb.db")
	keyFile := filepath.Join(dir, "audit.key")
	if err := os.WriteFile(keyFile, []byte("0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DNADB_STORE", db)
	t.Setenv("DNADB_AUDIT_KEY", keyFile)
	secretOf(t, "admin", "bootstrap", "--name", "kcsc")
	for _, name := range []string{"police-a", "police-b", "police-c"} {
		if _, stderr, code := run(t, "admin", "org", "create", "--name", name, "--kind",
			"police"); code != 0 {
			t.Fatalf("org create: %s", stderr)
		}
	}
	stdout, stderr, code := run(t, "audit", "verify")
	if code != 0 || !strings.HasPrefix(stdout, "ok: 5 entries, head 5:") {
		t.Fatalf("audit verify with the key: exit %d, %q %q", code, stdout, stderr)
	}
	anchor := strings.Fields(strings.TrimPrefix(stdout, "ok: 5 entries, head "))[0]

	// A short key is refused before anything is opened.
	short := filepath.Join(dir, "short.key")
	os.WriteFile(short, []byte("too short"), 0o600)
	if _, stderr, code := run(t, "audit", "verify", "--audit-key", short); code != 1 ||
		!strings.Contains(stderr, "at least 32") {
		t.Errorf("short key: exit %d, stderr %q", code, stderr)
	}

	// Rewrite entry 3 and re-chain everything after it without the key.
	st, err := sqlstore.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := st.AuditEntries(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	raw, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	prev := entries[1].Hash
	for _, e := range entries[2:] {
		if e.Seq == 3 {
			e.Target = "org:99"
		}
		e.PrevHash = prev
		e.Hash = e.ComputeHash()
		prev = e.Hash
		if _, err := raw.Exec(`UPDATE audit SET target = $1, prev_hash = $2, hash = $3
			WHERE seq = $4`, e.Target, e.PrevHash, e.Hash, e.Seq); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := raw.Exec(`UPDATE audit_head SET hash = $1`, prev); err != nil {
		t.Fatal(err)
	}

	stdout, _, code = run(t, "audit", "verify")
	if code != 1 || !strings.Contains(stdout, "audit entry 3: altered") {
		t.Errorf("verify with the key after the rewrite: exit %d, %q; want entry 3 altered",
			code, stdout)
	}
	t.Setenv("DNADB_AUDIT_KEY", "")
	if stdout, _, code = run(t, "audit", "verify"); code != 1 {
		t.Errorf("verify without the key of a keyed trail: exit %d, %q; want 1", code, stdout)
	}
	stdout, _, code = run(t, "audit", "verify", "--anchor", anchor)
	if code != 1 || !strings.Contains(stdout, "audit entry") {
		t.Errorf("verify --anchor after the rewrite: exit %d, %q; want a break", code, stdout)
	}
}
