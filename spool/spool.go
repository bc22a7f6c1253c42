// Package spool makes pushed data durable before it is acknowledged: the
// HTTP ingest endpoint writes each body to a file in the spool folder, and
// fsyncs the file and the folder, before it answers 2xx. The service then
// reads spooled files like any watched file and removes them once a
// checkpoint covers them, so a crash between the answer and the processing
// loses nothing.
package spool

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ErrEmpty is returned for an empty body.
var ErrEmpty = errors.New("spool: empty body")

// Spool is a folder of durable, not yet processed bodies.
type Spool struct {
	dir string
	now func() time.Time
}

// Open creates the folder if needed and removes temporary files left by a
// crash in the middle of a write (their bodies were never acknowledged).
func Open(dir string) (*Spool, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	return &Spool{dir: dir, now: time.Now}, nil
}

// Dir returns the spool folder.
func (s *Spool) Dir() string { return s.dir }

// Write stores body durably and returns its id. gzip bodies keep their
// compression (the readers detect it by content). File names sort in
// arrival order.
func (s *Spool) Write(body []byte) (string, error) {
	if len(body) == 0 {
		return "", ErrEmpty
	}
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", fmt.Errorf("spool: %w", err)
	}
	id := s.now().UTC().Format("20060102T150405.000000000Z") + "-" + hex.EncodeToString(rnd[:])
	tmp := filepath.Join(s.dir, ".tmp-"+id)
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return "", fmt.Errorf("spool: %w", err)
	}
	if _, err := f.Write(body); err != nil {
		f.Close()
		os.Remove(tmp)
		return "", fmt.Errorf("spool: write: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return "", fmt.Errorf("spool: sync: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("spool: close: %w", err)
	}
	final := filepath.Join(s.dir, id+".body")
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("spool: rename: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		return "", err
	}
	return id, nil
}

// Remove deletes a processed body.
func (s *Spool) Remove(path string) error {
	if filepath.Dir(path) != filepath.Clean(s.dir) {
		return fmt.Errorf("spool: %s is not in the spool", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("spool: sync dir: %w", err)
	}
	return nil
}
