package output

import (
	"context"
	"fmt"
	"sync"

	"github.com/vigil-ids/vigil/alert"
)

// FileConfig configures a JSON-lines file output.
type FileConfig struct {
	Name string `yaml:"name"`
	// Path is the file that alerts are appended to, one JSON object a line.
	Path string `yaml:"path"`
	// Format is FormatJSON (default) or FormatOCSF.
	Format  string `yaml:"format"`
	Retry   Retry  `yaml:"retry"`
	Version string `yaml:"-"`
}

type file struct {
	cfg FileConfig
	mu  sync.Mutex
}

// NewFile returns an output that appends each alert as one JSON line and
// syncs the file, so that a delivered alert survives a crash. A growing
// incident appears again with the same id; readers keep the last line of
// an id.
func NewFile(cfg FileConfig, deps Deps) (*Output, error) {
	if cfg.Path == "" {
		return nil, fmt.Errorf("%w: file output without a path", ErrConfig)
	}
	if cfg.Format == "" {
		cfg.Format = FormatJSON
	}
	if cfg.Format != FormatJSON && cfg.Format != FormatOCSF {
		return nil, fmt.Errorf("%w: file format %q (json or ocsf)", ErrConfig, cfg.Format)
	}
	return newOutput(cfg.Name, "file", cfg.Retry, &file{cfg: cfg}, deps)
}

func (f *file) deliver(_ context.Context, a *alert.Alert) error {
	line, err := Encode(a, f.cfg.Format, f.cfg.Version)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := appendLine(f.cfg.Path, line); err != nil {
		return fmt.Errorf("file output: %w", err)
	}
	return nil
}

func (f *file) close() error { return nil }
