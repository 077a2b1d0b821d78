// Package cli implements the dnadb command line: one file per subcommand, each
// parsing its own flags and calling the library packages.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// UsageError is a mistake in how a command was called. It exits with status 2.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// errReported means the command has already told the user what failed, such as
// some files of a batch; it exits with status 1 and prints nothing more.
var errReported = errors.New("failures reported above")

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run the registry and matcher server", runServe},
		{"agent", "follow a server's feed and match against a local copy", runAgent},
		{"hash", "print the PDQ hashes of photos", runHash},
		{"register", "hash photos locally and register them on a server", runRegister},
		{"match", "hash photos locally and match them on a server", runMatch},
		{"decide", "confirm, reject or withdraw an item on a server", runDecide},
		{"admin", "manage organisations and tokens in the store directly", runAdmin},
		{"audit", "verify the audit trail's hash chain", runAudit},
		{"leak-check", "name the consumer whose copy a file of hashes came from", runLeakCheck},
	}
}

// Run runs the command line args (without the program name).
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printUsage(stdout)
		if len(args) == 0 {
			return usagef("no command given")
		}
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	return usagef("unknown command %q; run \"dnadb help\"", args[0])
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "dnadb: the public DNA database for digital sexual crime material")
	fmt.Fprintln(w, "\nUsage: dnadb COMMAND [flags] [args]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun \"dnadb COMMAND -h\" for a command's flags. Every flag can also be")
	fmt.Fprintln(w, "set from the environment as DNADB_NAME, e.g. DNADB_SERVER for --server.")
}

// ExitCode maps Run's error to a process exit code, printing it to stderr: 0 for
// success, 2 for a usage error, 1 for anything else.
func ExitCode(err error, stderr io.Writer) int {
	var ue *UsageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "dnadb: %s\n", ue.Msg)
		return 2
	case errors.Is(err, errReported):
		return 1
	}
	fmt.Fprintf(stderr, "dnadb: %v\n", err)
	return 1
}

// newFlags returns a flag set for a subcommand that reports errors as usage errors.
func newFlags(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: dnadb %s %s\n\nFlags:\n", name, usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, then fills every flag not given on the command line from
// the environment variable DNADB_<NAME> (dashes become underscores).
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usagef("%s: %v", fs.Name(), err)
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })

	var err error
	fs.VisitAll(func(f *flag.Flag) {
		env := "DNADB_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		v, ok := os.LookupEnv(env)
		if given[f.Name] || !ok || err != nil {
			return
		}
		if e := fs.Set(f.Name, v); e != nil {
			err = usagef("%s=%q: %v", env, v, e)
		}
	})
	return err
}
