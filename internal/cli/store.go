package cli

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/sqlstore"
)

// storeFlags adds the --store and --audit-key flags of the commands that open the
// store themselves, and returns a function that opens it once the flags are
// parsed.
func storeFlags(fs *flag.FlagSet) func(ctx context.Context) (*sqlstore.Store, error) {
	dsn := fs.String("store", DefaultStore,
		"registry store: a SQLite file path or a postgres:// DSN")
	keyFile := fs.String("audit-key", "",
		"file holding the key that seals the audit trail (at least 32 bytes); "+
			"every process on one store must use the same")
	return func(ctx context.Context) (*sqlstore.Store, error) {
		key, err := readAuditKey(*keyFile)
		if err != nil {
			return nil, err
		}
		st, err := sqlstore.Open(ctx, *dsn)
		if err != nil {
			return nil, err
		}
		if err := st.SetAuditKey(key); err != nil {
			st.Close()
			return nil, err
		}
		return st, nil
	}
}

// readAuditKey reads an audit key file; an empty path means no key.
func readAuditKey(path string) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	key, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	key = bytes.TrimSpace(key)
	if err := dnadb.CheckAuditKey(key); err != nil {
		return nil, fmt.Errorf("audit key %s: %w", path, err)
	}
	return key, nil
}
