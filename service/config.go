package service

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-ids/vigil/collector"
	"github.com/vigil-ids/vigil/config"
	"github.com/vigil-ids/vigil/output"
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

// Outputs are the alert destinations. Each output has its own bounded
// queue and delivery goroutine (see the output package), so that a slow
// receiver never holds up detection or the other outputs.
type Outputs struct {
	Webhooks []WebhookConfig `yaml:"webhooks"`
	Syslog   []SyslogConfig  `yaml:"syslog"`
	// JSONFile, when set, receives every delivered alert as a JSON line,
	// in JSONFileFormat: "json" (the alert, the default) or "ocsf" (an
	// OCSF Detection Finding).
	JSONFile       string `yaml:"json-file"`
	JSONFileFormat string `yaml:"json-file-format"`
	// DrainTimeout bounds how long a shutdown waits for the outputs to
	// deliver what is queued; what is left then goes to the dead-letter
	// files.
	DrainTimeout time.Duration `yaml:"drain-timeout"`
}

// WebhookConfig is one HTTP receiver.
type WebhookConfig struct {
	Name string `yaml:"name"`
	URL  string `yaml:"url"`
	// Secret keys the HMAC-SHA256 signature sent in X-Vigil-Signature
	// ("sha256=" and the hex digest of the body); SecretFile reads it
	// from a file instead. One of them is required.
	Secret     string `yaml:"secret"`
	SecretFile string `yaml:"secret-file"`
	// Format is the body: "json" (the alert, the default) or "ocsf".
	Format string `yaml:"format"`
	// Timeout bounds one request; Retries is how many times a failed
	// delivery is tried again, with exponential backoff from Backoff.
	Timeout time.Duration `yaml:"timeout"`
	Retries int           `yaml:"retries"`
	Backoff time.Duration `yaml:"backoff"`
	// QueueSize bounds the alerts waiting for delivery; beyond it new
	// ones are dropped and counted.
	QueueSize int `yaml:"queue-size"`
}

// SyslogConfig is one syslog collector, spoken to in RFC 5424.
type SyslogConfig struct {
	Name string `yaml:"name"`
	// Network is "udp", "tcp" (octet counting) or "tls"; Address is the
	// collector's host:port.
	Network string `yaml:"network"`
	Address string `yaml:"address"`
	// Format is the message payload: "json" (the default), "cef" or
	// "ocsf".
	Format string `yaml:"format"`
	// Facility is the syslog facility (default 10, security/authorization);
	// Hostname and AppName fill the header (defaults: the host's name and
	// "vigil").
	Facility *int   `yaml:"facility"`
	Hostname string `yaml:"hostname"`
	AppName  string `yaml:"app-name"`
	// CAFile verifies the TLS server (default: the system roots);
	// CertFile and KeyFile give a client certificate; ServerName
	// overrides the name checked. TLS only.
	CAFile     string `yaml:"ca-file"`
	CertFile   string `yaml:"cert-file"`
	KeyFile    string `yaml:"key-file"`
	ServerName string `yaml:"server-name"`
	// Timeout, Retries, Backoff and QueueSize are as for webhooks.
	Timeout   time.Duration `yaml:"timeout"`
	Retries   int           `yaml:"retries"`
	Backoff   time.Duration `yaml:"backoff"`
	QueueSize int           `yaml:"queue-size"`
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
		Outputs:            Outputs{DrainTimeout: 10 * time.Second},
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
	return c.Outputs.validate()
}

// validate checks the outputs; names must be unique because they label
// the metrics and name the dead-letter files.
func (o *Outputs) validate() error {
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("%w: outputs.%s: %s", ErrConfig, key, fmt.Sprintf(format, args...))
	}
	names := map[string]string{}
	unique := func(key, name string) error {
		if strings.ContainsAny(name, "/\\") || name == "." || name == ".." {
			return bad(key+".name", "%q must not contain a path separator", name)
		}
		if prev, ok := names[name]; ok {
			return bad(key+".name", "%q is already the name of %s", name, prev)
		}
		names[name] = key
		return nil
	}
	for i, w := range o.Webhooks {
		key := fmt.Sprintf("webhooks[%d]", i)
		if w.URL == "" {
			return bad(key+".url", "must be set")
		}
		if u, err := url.Parse(w.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad(key+".url", "%q is not an http or https URL", w.URL)
		}
		if w.Secret == "" && w.SecretFile == "" {
			return bad(key, "secret or secret-file must be set")
		}
		if w.Secret != "" && w.SecretFile != "" {
			return bad(key, "secret and secret-file exclude each other")
		}
		if !oneOf(w.Format, output.FormatJSON, output.FormatOCSF) {
			return bad(key+".format", "%q is not json or ocsf", w.Format)
		}
		if w.Retries < 0 || w.QueueSize < 0 || w.Timeout < 0 || w.Backoff < 0 {
			return bad(key, "retries, queue-size, timeout and backoff must not be negative")
		}
		if err := unique(key, outputName(w.Name, "webhook", i)); err != nil {
			return err
		}
	}
	for i, sc := range o.Syslog {
		key := fmt.Sprintf("syslog[%d]", i)
		if !oneOf(sc.Network, "udp", "tcp", "tls") || sc.Network == "" {
			return bad(key+".network", "%q is not udp, tcp or tls", sc.Network)
		}
		if _, _, err := net.SplitHostPort(sc.Address); err != nil || sc.Address == "" {
			return bad(key+".address", "%q is not host:port", sc.Address)
		}
		if !oneOf(sc.Format, output.FormatJSON, output.FormatCEF, output.FormatOCSF) {
			return bad(key+".format", "%q is not json, cef or ocsf", sc.Format)
		}
		if sc.Facility != nil && (*sc.Facility < 0 || *sc.Facility > 23) {
			return bad(key+".facility", "%d is not in 0..23", *sc.Facility)
		}
		if sc.Network != "tls" && (sc.CAFile != "" || sc.CertFile != "" || sc.KeyFile != "" || sc.ServerName != "") {
			return bad(key, "ca-file, cert-file, key-file and server-name need network tls")
		}
		if (sc.CertFile == "") != (sc.KeyFile == "") {
			return bad(key, "cert-file and key-file go together")
		}
		if sc.Retries < 0 || sc.QueueSize < 0 || sc.Timeout < 0 || sc.Backoff < 0 {
			return bad(key, "retries, queue-size, timeout and backoff must not be negative")
		}
		if err := unique(key, outputName(sc.Name, "syslog", i)); err != nil {
			return err
		}
	}
	if !oneOf(o.JSONFileFormat, output.FormatJSON, output.FormatOCSF) {
		return bad("json-file-format", "%q is not json or ocsf", o.JSONFileFormat)
	}
	if o.JSONFileFormat != "" && o.JSONFile == "" {
		return bad("json-file-format", "needs json-file")
	}
	if o.JSONFile != "" {
		if err := unique("json-file", jsonFileName); err != nil {
			return err
		}
	}
	if o.DrainTimeout <= 0 {
		return bad("drain-timeout", "must be positive")
	}
	return nil
}

// jsonFileName names the JSON-lines file output.
const jsonFileName = "json-file"

// outputName is an output's name: its configured one, or its kind and
// index in the list.
func outputName(name, kind string, i int) string {
	if name != "" {
		return name
	}
	return fmt.Sprintf("%s-%d", kind, i)
}

// oneOf reports whether v is empty (the default) or one of the choices.
func oneOf(v string, choices ...string) bool {
	return v == "" || slices.Contains(choices, v)
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
