package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(good, []byte("data-dir: "+dir+"\nallowed-lateness: 10m\n"), 0o600)
	os.WriteFile(bad, []byte("data-dir: "+dir+"\nlistne: :80\n"), 0o600)
	for _, tc := range []struct {
		name string
		args []string
		out  string
		err  string
	}{
		{"defaults", []string{"run", "--check"}, "config OK", ""},
		{"good file", []string{"run", "--check", "--config", good}, "config OK", ""},
		{"unknown key", []string{"run", "--check", "--config", bad}, "", "listne"},
		{"missing file", []string{"run", "--check", "--config", filepath.Join(dir, "none.yaml")}, "", "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := runVigil(t, tc.args...)
			if tc.err != "" {
				var ue usageError
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.As(err, &ue) {
					t.Fatalf("error %v, want a usage error mentioning %q", err, tc.err)
				}
				return
			}
			if err != nil || !strings.Contains(out, tc.out) {
				t.Fatalf("out %q, err %v", out, err)
			}
		})
	}
}

func TestRunFirstStartHint(t *testing.T) {
	dir := t.TempDir()
	cmd := newRunCmd(&app{})
	var errOut strings.Builder
	cmd.SetErr(&errOut)
	cmd.SetContext(t.Context())
	if err := firstStartHint(cmd, dir); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut.String(), "vigil token create --role admin") {
		t.Errorf("no hint on an empty store: %q", errOut.String())
	}
}
