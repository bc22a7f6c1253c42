package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-ids/vigil/store"
)

func TestTokenCreateListRevoke(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	out, stderr, err := runVigil(t, "token", "create", "--data", dir, "--role", "analyst", "--subscription", "s2", "--subscription", "s1", "--name", "soc")
	if err != nil {
		t.Fatalf("create: %v\n%s", err, stderr)
	}
	secret := strings.TrimSpace(out)
	if !strings.HasPrefix(secret, store.TokenPrefix) || strings.Contains(secret, "\n") {
		t.Fatalf("create printed %q", out)
	}
	if !strings.Contains(stderr, "shown only this once") || !strings.Contains(stderr, "subscriptions s1, s2") {
		t.Errorf("create stderr %q", stderr)
	}

	// The secret authenticates against the store the service opens.
	s, err := store.Open(filepath.Join(dir, store.MainFile))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.Authenticate(t.Context(), secret)
	s.Close()
	if err != nil || tok.Role != "analyst" || tok.Name != "soc" {
		t.Fatalf("authenticate: %+v %v", tok, err)
	}

	out, _, err = runVigil(t, "token", "list", "--data", dir)
	if err != nil || !strings.Contains(out, tok.ID) || !strings.Contains(out, "s1,s2") || strings.Contains(out, secret) {
		t.Errorf("list: %v\n%s", err, out)
	}
	if out, _, err = runVigil(t, "token", "revoke", "--data", dir, tok.ID); err != nil || !strings.Contains(out, "revoked token "+tok.ID) {
		t.Errorf("revoke: %v %q", err, out)
	}
	out, _, err = runVigil(t, "token", "list", "--json", "--data", dir)
	var ts []store.Token
	if err != nil || json.Unmarshal([]byte(out), &ts) != nil || len(ts) != 1 || ts[0].Active() {
		t.Errorf("list --json after revoke: %v %q", err, out)
	}

	if _, _, err := runVigil(t, "token", "create", "--data", dir); err == nil {
		t.Error("create without --role succeeded")
	}
	if _, _, err := runVigil(t, "token", "create", "--data", dir, "--role", "root"); err == nil {
		t.Error("create with an unknown role succeeded")
	}
	if _, _, err := runVigil(t, "token", "revoke", "--data", dir, "nope"); err == nil {
		t.Error("revoke of an unknown id succeeded")
	}
}
