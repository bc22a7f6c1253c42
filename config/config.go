// Package config reads Vigil's YAML configuration file: the detection
// settings shared by `vigil scan` and `vigil run`. Keys are kebab-case,
// unknown keys are errors, and every key left out keeps its documented
// default.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/detect/management"
	"github.com/vigil-ids/vigil/detect/network"
)

// ErrConfig wraps every configuration error.
var ErrConfig = errors.New("invalid config")

// ErrMultipleDocuments is returned, wrapped in ErrConfig, for a file that
// holds more than one YAML document.
var ErrMultipleDocuments = errors.New("more than one YAML document")

// Detection is the detection part of the configuration file.
type Detection struct {
	Network    network.Config    `yaml:"network"`
	Management management.Config `yaml:"management"`
	// Suppressions silence matching alerts of either layer; they are
	// counted in the summary.
	Suppressions alert.Suppressions `yaml:"suppressions"`
}

// DefaultDetection returns the documented defaults.
func DefaultDetection() Detection {
	return Detection{Network: network.DefaultConfig(), Management: management.DefaultConfig()}
}

// LoadDetection reads a detection configuration file over the defaults.
func LoadDetection(path string) (Detection, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Detection{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	cfg, err := ParseDetection(data)
	if err != nil {
		return Detection{}, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// ParseDetection decodes YAML over the defaults, strictly, and validates.
func ParseDetection(data []byte) (Detection, error) {
	cfg := DefaultDetection()
	if err := decodeStrict(data, &cfg); err != nil {
		return Detection{}, err
	}
	if err := cfg.Validate(); err != nil {
		return Detection{}, err
	}
	return cfg, nil
}

// Validate checks each part.
func (d *Detection) Validate() error {
	if err := d.Network.Validate(); err != nil {
		return fmt.Errorf("%w: network: %w", ErrConfig, err)
	}
	if err := d.Management.Validate(); err != nil {
		return fmt.Errorf("%w: management: %w", ErrConfig, err)
	}
	if err := d.Suppressions.Validate(); err != nil {
		return fmt.Errorf("%w: suppressions: %w", ErrConfig, err)
	}
	return nil
}

func decodeStrict(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	// A second document (after "---") would otherwise be ignored without
	// a word, and the settings in it silently not applied.
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return fmt.Errorf("%w: %w", ErrConfig, err)
		}
		return fmt.Errorf("%w: line %d: %w", ErrConfig, extra.Line, ErrMultipleDocuments)
	}
	return nil
}
