package network

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/detect/baseline"
)

// ErrConfig is returned for an unusable configuration.
var ErrConfig = errors.New("invalid network detection config")

// Config holds everything the network detections can be tuned with. The
// YAML keys are kebab-case and decoding is strict. DefaultConfig gives the
// documented defaults; docs/network-detections.md explains each floor.
type Config struct {
	// SSHPorts and RDPPorts are the TCP server ports of the two services.
	SSHPorts []uint16 `yaml:"ssh-ports"`
	RDPPorts []uint16 `yaml:"rdp-ports"`

	// MinAttempts is the floor for incoming-ssh and incoming-rdp: the
	// estimated connection attempts, in the resource-hour, of its three
	// busiest sources ("one or a few"); for a single attacker that is its
	// attempts.
	MinAttempts float64 `yaml:"min-attempts"`
	// MinDistinctSources is the floor for incoming-*-multi: distinct source
	// addresses in the resource-hour.
	MinDistinctSources float64 `yaml:"min-distinct-sources"`
	// MinOutgoingAttempts is the floor for outgoing-ssh and outgoing-rdp:
	// estimated attempts to the three busiest destinations.
	MinOutgoingAttempts float64 `yaml:"min-outgoing-attempts"`
	// MinDistinctDestinations is the floor for outgoing-*-multi.
	MinDistinctDestinations float64 `yaml:"min-distinct-destinations"`
	// OutgoingExternalOnly leaves out destinations that are themselves in
	// the inventory or the home networks from the outgoing features: a jump
	// host reaching the deployment's own servers is not brute-forcing the
	// internet.
	OutgoingExternalOnly bool `yaml:"outgoing-external-only"`

	// Model is the baseline model's parameters (min-days, score-threshold,
	// ...).
	Model baseline.Model `yaml:"model"`

	// DistinctExactCap is how many distinct remotes per resource-hour are
	// counted exactly, with their attempts; beyond it a HyperLogLog sketch
	// counts them.
	DistinctExactCap int `yaml:"distinct-exact-cap"`
	// TopRemotes is how many remotes an alert lists with their counts.
	TopRemotes int `yaml:"top-remotes"`
	// SampleFlows is how many flows an alert carries as samples.
	SampleFlows int `yaml:"sample-flows"`
	// SeriesHours is how many hours before an incident its series shows.
	SeriesHours int `yaml:"series-hours"`
	// ShortPackets is the packet count at or under which an initiator's
	// flow counts as short or failed (SYN-only flows always do).
	ShortPackets uint64 `yaml:"short-packets"`

	// ReorderWindow is how far behind the newest record an hour stays open.
	ReorderWindow time.Duration `yaml:"reorder-window"`
	// ExporterRates gives the sampling rate of exporters that send none,
	// by exporter address.
	ExporterRates map[string]uint32 `yaml:"exporter-rates"`

	// Severities overrides the catalog severity per alert type.
	Severities map[string]string `yaml:"severities"`
	// Disabled lists alert types that are never raised.
	Disabled []string `yaml:"disabled"`
	// Suppressions silence matching alerts; they are counted.
	Suppressions alert.Suppressions `yaml:"suppressions"`
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		SSHPorts:                []uint16{22},
		RDPPorts:                []uint16{3389},
		MinAttempts:             500,
		MinDistinctSources:      100,
		MinOutgoingAttempts:     300,
		MinDistinctDestinations: 50,
		OutgoingExternalOnly:    true,
		Model:                   baseline.DefaultModel(),
		DistinctExactCap:        256,
		TopRemotes:              10,
		SampleFlows:             5,
		SeriesHours:             6,
		ShortPackets:            3,
		ReorderWindow:           2 * time.Hour,
	}
}

// LoadConfig reads a YAML file over the defaults: keys it leaves out keep
// their default, unknown keys are errors.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	return ParseConfig(data)
}

// ParseConfig decodes YAML over DefaultConfig strictly and validates it.
// The YAML may be the whole file or have the keys under a top-level
// "network:" key (the layout of vigil's shared config file).
func ParseConfig(data []byte) (Config, error) {
	cfg := DefaultConfig()
	if len(bytes.TrimSpace(data)) == 0 {
		return cfg, nil
	}
	var probe map[string]yaml.Node
	if err := yaml.Unmarshal(data, &probe); err == nil {
		if n, ok := probe["network"]; ok && len(probe) == 1 {
			out, err := yaml.Marshal(&n)
			if err != nil {
				return Config{}, fmt.Errorf("%w: %w", ErrConfig, err)
			}
			data = out
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && err != io.EOF {
		return Config{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Validate checks the configuration with messages that name the key.
func (c *Config) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, a...)...)
	}
	if len(c.SSHPorts) == 0 && len(c.RDPPorts) == 0 {
		return bad("ssh-ports and rdp-ports are both empty")
	}
	seen := map[uint16]bool{}
	for _, p := range append(append([]uint16(nil), c.SSHPorts...), c.RDPPorts...) {
		if p == 0 {
			return bad("port 0 in ssh-ports or rdp-ports")
		}
		if seen[p] {
			return bad("port %d listed twice in ssh-ports/rdp-ports", p)
		}
		seen[p] = true
	}
	for k, v := range map[string]float64{"min-attempts": c.MinAttempts, "min-distinct-sources": c.MinDistinctSources,
		"min-outgoing-attempts": c.MinOutgoingAttempts, "min-distinct-destinations": c.MinDistinctDestinations} {
		if !(v >= 1) {
			return bad("%s must be at least 1", k)
		}
	}
	if err := c.Model.Validate(); err != nil {
		return bad("model: %w", err)
	}
	if c.DistinctExactCap < 1 || c.DistinctExactCap > 1<<16 {
		return bad("distinct-exact-cap must be within 1..65536")
	}
	if c.TopRemotes < 1 || c.SampleFlows < 0 || c.SeriesHours < 0 || c.SeriesHours > maxSeries {
		return bad("top-remotes must be positive, sample-flows and series-hours (at most %d) not negative", maxSeries)
	}
	if c.ReorderWindow < 0 {
		return bad("reorder-window must not be negative")
	}
	for k, v := range c.ExporterRates {
		if _, err := netip.ParseAddr(k); err != nil {
			return bad("exporter-rates: %q is not an address", k)
		}
		if v == 0 {
			return bad("exporter-rates: rate of %s is 0", k)
		}
	}
	for t, s := range c.Severities {
		if !isNetworkType(t) {
			return bad("severities: %q is not a network alert type", t)
		}
		switch s {
		case alert.SeverityLow, alert.SeverityMedium, alert.SeverityHigh:
		default:
			return bad("severities: %q is not low, medium or high", s)
		}
	}
	for _, t := range c.Disabled {
		if !isNetworkType(t) {
			return bad("disabled: %q is not a network alert type", t)
		}
	}
	if err := c.Suppressions.Validate(); err != nil {
		return bad("%w", err)
	}
	return nil
}

// Types lists the nine network alert types.
var Types = []string{
	alert.OutgoingRDP, alert.OutgoingRDPMulti, alert.OutgoingSSH, alert.OutgoingSSHMulti,
	alert.IncomingSSH, alert.IncomingSSHMulti, alert.IncomingRDP, alert.IncomingRDPMulti,
	alert.MaliciousAddress,
}

func isNetworkType(t string) bool {
	for _, x := range Types {
		if x == t {
			return true
		}
	}
	return false
}
