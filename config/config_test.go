package config

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-ids/vigil/internal/testenv"
)

// Every YAML example in docs/configuration.md must load, so the
// documentation cannot drift from the code.
func TestDocumentedExamplesLoad(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(doc, -1)
	if len(blocks) < 2 {
		t.Fatalf("found %d YAML examples, want at least 2", len(blocks))
	}
	for i, b := range blocks {
		cfg, err := ParseDetection(b[1])
		if err != nil {
			t.Errorf("example %d: %v", i+1, err)
			continue
		}
		if i == 0 && (cfg.Network.MinAttempts != 500 || len(cfg.Suppressions) != 2 || cfg.Management.Inactive.Days != 30) {
			t.Errorf("example 1 decoded to %+v", cfg)
		}
	}
}

func TestDefaultsAndStrictness(t *testing.T) {
	def := DefaultDetection()
	cfg, err := ParseDetection([]byte("network:\n  min-attempts: 50\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Network.MinAttempts != 50 {
		t.Errorf("min-attempts = %v, want 50", cfg.Network.MinAttempts)
	}
	// Keys left out keep their defaults, also inside a section that is set.
	if cfg.Network.MinDistinctSources != def.Network.MinDistinctSources || cfg.Management.Inactive.Days != def.Management.Inactive.Days {
		t.Errorf("defaults lost: %+v", cfg)
	}
	for _, bad := range []string{
		"network:\n  min-atempts: 50\n",
		"netwrok: {}\n",
		"network:\n  min-attempts: -1\n",
		"suppressions:\n  - reason: nothing set\n",
		"management: [1, 2]\n",
		"network:\n  min-attempts: 50\n---\nnetwork:\n  min-attempts: 60\n",
	} {
		_, err := ParseDetection([]byte(bad))
		if err == nil || !errors.Is(err, ErrConfig) {
			t.Errorf("%q: got %v, want an ErrConfig", bad, err)
		}
	}
	if _, err := ParseDetection([]byte("network: {}\n---\nmanagement: {}\n")); !errors.Is(err, ErrMultipleDocuments) {
		t.Errorf("two documents: got %v, want ErrMultipleDocuments", err)
	}
	for _, ok := range []string{"  \n", "---\nnetwork: {}\n", "network: {}\n...\n"} {
		if _, err := ParseDetection([]byte(ok)); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	if _, err := ParseDetection([]byte("  \n")); err != nil {
		t.Errorf("empty file: %v", err)
	}
	if _, err := LoadDetection(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file: %v", err)
	}
}
