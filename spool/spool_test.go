package spool

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

func TestWriteIsDurableAndOrdered(t *testing.T) {
	dir := t.TempDir()
	// A temporary file left by a crash mid-write is cleaned up on open.
	os.WriteFile(filepath.Join(dir, ".tmp-stale"), []byte("half"), 0o600)
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".tmp-stale")); !os.IsNotExist(err) {
		t.Errorf("stale temporary file kept: %v", err)
	}
	bodies := [][]byte{[]byte(`{"records":[1]}`), []byte(`{"records":[2]}`), {0x1f, 0x8b, 1, 2}}
	var ids []string
	for _, b := range bodies {
		id, err := s.Write(b)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if _, err := s.Write(nil); err != ErrEmpty {
		t.Errorf("empty body: got %v, want ErrEmpty", err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !sort.StringsAreSorted(names) || len(names) != 3 {
		t.Fatalf("spool files %v: want 3 in arrival order", names)
	}
	for i, n := range names {
		got, _ := os.ReadFile(filepath.Join(dir, n))
		if !bytes.Equal(got, bodies[i]) || n != ids[i]+".body" {
			t.Errorf("file %s holds %q, want %q under id %s", n, got, bodies[i], ids[i])
		}
	}
	if err := s.Remove(filepath.Join(dir, names[0])); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove("/etc/passwd"); err == nil {
		t.Error("removed a file outside the spool")
	}
}
