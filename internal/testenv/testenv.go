// Package testenv lets tests find the shared sample data and the external
// tools (tshark, softflowd, chromium) they use as real peers. A test that
// needs one skips with a message when it is missing, and fails instead when
// CI=true, because CI installs everything.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// InCI reports whether the tests run under CI (CI=true).
func InCI() bool { return os.Getenv("CI") == "true" }

// RepoRoot returns the directory holding go.mod, searching upwards from the
// working directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// SharedData returns the absolute path of ../shared/data beside the
// repository, joined with elem. It skips the test when the folder is
// missing, or fails it under CI.
func SharedData(t testing.TB, elem ...string) string {
	t.Helper()
	base := filepath.Join(filepath.Dir(RepoRoot(t)), "shared", "data")
	if _, err := os.Stat(base); err != nil {
		missing(t, "shared sample data not found at "+base)
	}
	return filepath.Join(append([]string{base}, elem...)...)
}

// Tool returns the path of an external program, skipping the test when it
// is not installed, or failing it under CI.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		missing(t, name+" is not installed (.ci/run installs it)")
	}
	return p
}

func missing(t testing.TB, msg string) {
	t.Helper()
	if InCI() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}
