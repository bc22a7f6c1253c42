package service

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-ids/vigil/collector"
	"github.com/vigil-ids/vigil/config"
	"github.com/vigil-ids/vigil/server"
)

// ErrConfig wraps every configuration error.
var ErrConfig = errors.New("invalid service config")

// Config is the configuration of `vigil run`. Every key left out keeps the
// value of DefaultConfig; unknown keys are errors.
type Config struct {
	// DataDir holds the stores (vigil.db, alerts-<geography>.db), the
	// ingest spool and the webhook dead-letter files.
	DataDir string `yaml:"data-dir"`
	// HTTP is the API, ingest and UI listener.
	HTTP server.Config `yaml:"http"`
	// Collector is the UDP NetFlow/IPFIX listeners; an empty listener
	// list turns UDP collection off.
	Collector collector.Config `yaml:"collector"`
	// Watch lists folders whose flow-log and audit-log files are read as
	// they arrive.
	Watch []string `yaml:"watch"`
	// PollInterval is how often watched folders (and the ingest spool) are
	// looked at; Settle is how long a file must be unchanged before it is
	// read.
	PollInterval time.Duration `yaml:"poll-interval"`
	Settle       time.Duration `yaml:"settle"`
	// Inventory, Intel, GeoIP, ASN and HomeNets are the inputs of `vigil
	// scan` of the same names; they are reloaded on SIGHUP or when the
	// config file changes.
	Inventory string   `yaml:"inventory"`
	Intel     []string `yaml:"intel"`
	GeoIP     string   `yaml:"geoip"`
	ASN       string   `yaml:"asn"`
	HomeNets  []string `yaml:"home-nets"`
	// Detection is the detection configuration shared with `vigil scan`.
	Detection config.Detection `yaml:"detection"`
	// CheckpointInterval is how often learned state, file progress and
	// ingest health are written to the store. A crash loses at most this
	// much processing, which is redone from files on restart.
	CheckpointInterval time.Duration `yaml:"checkpoint-interval"`
	// AllowedLateness is how far behind the newest record an hour (network)
	// or an event (management) is still accepted in order; it sets both
	// detectors' reorder windows. Older records are counted late.
	AllowedLateness time.Duration `yaml:"allowed-lateness"`
	// IdleFlush closes every open window when a detector has received no
	// input for this long, so that the alerts of the last hour appear
	// without further traffic. Zero turns it off.
	IdleFlush time.Duration `yaml:"idle-flush"`
	// SilentAfter is how long a source may send nothing before ingest
	// health flags it silent.
	SilentAfter time.Duration `yaml:"silent-after"`
	// Outputs deliver every stored alert.
	Outputs Outputs `yaml:"outputs"`
	// Geographies maps a subscription id to the geography whose store
	// keeps its alerts (data residency), such as "eu" or "us-east".
	Geographies map[string]string `yaml:"geographies"`
}

// Outputs are the alert destinations.
type Outputs struct {
	Webhooks []WebhookConfig `yaml:"webhooks"`
	// JSONFile, when set, receives every delivered alert as a JSON line.
	JSONFile string `yaml:"json-file"`
}

// WebhookConfig is one HTTP receiver.
type WebhookConfig struct {
	Name string `yaml:"name"`
	URL  string `yaml:"url"`
	// Secret keys the HMAC-SHA256 signature sent in X-Vigil-Signature
	// ("sha256=" and the hex digest of the body); SecretFile reads it
	// from a file instead.
	Secret     string `yaml:"secret"`
	SecretFile string `yaml:"secret-file"`
	// Timeout bounds one request; Retries is how many times a failed
	// delivery is tried again, with exponential backoff from Backoff.
	Timeout time.Duration `yaml:"timeout"`
	Retries int           `yaml:"retries"`
	Backoff time.Duration `yaml:"backoff"`
	// QueueSize bounds the alerts waiting for delivery; beyond it new
	// ones are written to the dead-letter file at once.
	QueueSize int `yaml:"queue-size"`
}

// DefaultConfig returns the defaults: data in ./vigil-data, the API on
// :8080, IPFIX on 4739 and NetFlow on 2055, checkpoints every minute, the
// detectors' own reorder window as lateness, idle flush after 2 minutes.
func DefaultConfig() Config {
	det := config.DefaultDetection()
	return Config{
		DataDir:            "vigil-data",
		HTTP:               server.DefaultConfig(),
		Collector:          collector.DefaultConfig(),
		PollInterval:       5 * time.Second,
		Settle:             2 * time.Second,
		Detection:          det,
		CheckpointInterval: time.Minute,
		AllowedLateness:    det.Network.ReorderWindow,
		IdleFlush:          2 * time.Minute,
		SilentAfter:        5 * time.Minute,
	}
}

// LoadConfig reads a file over the defaults; an empty path gives the
// defaults.
func LoadConfig(path string) (Config, error) {
	if path == "" {
		cfg := DefaultConfig()
		return cfg, cfg.Validate()
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// ParseConfig decodes YAML over DefaultConfig strictly and validates it.
func ParseConfig(data []byte) (Config, error) {
	cfg := DefaultConfig()
	if len(bytes.TrimSpace(data)) > 0 {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
			return Config{}, fmt.Errorf("%w: %w", ErrConfig, err)
		}
	}
	return cfg, cfg.Validate()
}

// Validate checks the configuration with messages that name the key.
func (c *Config) Validate() error {
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrConfig, key, fmt.Sprintf(format, args...))
	}
	if c.DataDir == "" {
		return bad("data-dir", "must be set")
	}
	if c.HTTP.Listen == "" {
		return bad("http.listen", "must be set")
	}
	if (c.HTTP.TLSCert == "") != (c.HTTP.TLSKey == "") {
		return bad("http", "tls-cert and tls-key go together")
	}
	if len(c.Collector.Listeners) > 0 {
		if err := c.Collector.Validate(); err != nil {
			return bad("collector", "%v", err)
		}
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"poll-interval", c.PollInterval}, {"checkpoint-interval", c.CheckpointInterval}, {"silent-after", c.SilentAfter}} {
		if d.v <= 0 {
			return bad(d.key, "must be positive")
		}
	}
	if c.Settle < 0 || c.IdleFlush < 0 || c.AllowedLateness < 0 {
		return bad("settle, idle-flush, allowed-lateness", "must not be negative")
	}
	for _, h := range c.HomeNets {
		if _, err := parsePrefix(h); err != nil {
			return bad("home-nets", "%v", err)
		}
	}
	c.Detection.Network.ReorderWindow = c.AllowedLateness
	c.Detection.Management.ReorderWindow = c.AllowedLateness
	if err := c.Detection.Validate(); err != nil {
		return bad("detection", "%v", err)
	}
	for i, w := range c.Outputs.Webhooks {
		if w.URL == "" {
			return bad(fmt.Sprintf("outputs.webhooks[%d].url", i), "must be set")
		}
		if w.Retries < 0 || w.QueueSize < 0 || w.Timeout < 0 || w.Backoff < 0 {
			return bad(fmt.Sprintf("outputs.webhooks[%d]", i), "retries, queue-size, timeout and backoff must not be negative")
		}
	}
	return nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or CIDR", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
