package vpdq

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/dnadb/dnadb"
)

// Digests returns the MD5 and SHA-256 digests of the file at path, in lowercase
// hex, read once: the file signals (dnadb.SignalMD5 and dnadb.SignalSHA256) that
// exchanges such as NCMEC's and StopNCII's use to find exact copies of a video. A
// missing file fails with dnadb.ErrNotFound.
func Digests(path string) (md5hex, sha256hex string, err error) {
	name := filepath.Base(path)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", "", dnadb.Errorf(dnadb.ErrNotFound, "vpdq: digest %q: no such file", name)
	}
	if err != nil {
		return "", "", fmt.Errorf("vpdq: digest %q: %w", name, err)
	}
	defer f.Close()

	m, s := md5.New(), sha256.New()
	if _, err := io.Copy(io.MultiWriter(m, s), f); err != nil {
		return "", "", fmt.Errorf("vpdq: digest %q: %w", name, err)
	}
	return hex.EncodeToString(m.Sum(nil)), hex.EncodeToString(s.Sum(nil)), nil
}
