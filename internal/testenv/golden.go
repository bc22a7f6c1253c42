package testenv

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// DigestGolden compares output derived from a shared sample file whose
// licence keeps it out of this repository (AGPL, Elastic License) with a
// golden SHA-256 digest of that output, stored at path. Only the digest is
// committed, so the repository holds no copy of the licensed content,
// while any change in what Vigil reads from the file still fails the
// test; the full output goes to the test log to show the difference.
// update rewrites the digest.
func DigestGolden(t testing.TB, path string, got []byte, update bool) {
	t.Helper()
	sum := sha256.Sum256(got)
	digest := hex.EncodeToString(sum[:]) + "\n"
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(digest), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if strings.TrimSpace(string(want)) != strings.TrimSpace(digest) {
		t.Errorf("output differs from the golden digest %s (got %s); the output was:\n%s", path, strings.TrimSpace(digest), got)
	}
}
