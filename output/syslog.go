package output

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigil-ids/vigil/alert"
)

// SyslogConfig configures a syslog output.
type SyslogConfig struct {
	Name string `yaml:"name"`
	// Network is "udp" (RFC 5426), "tcp" (RFC 6587 octet counting) or
	// "tls" (RFC 5425).
	Network string `yaml:"network"`
	// Address is the collector's host:port.
	Address string `yaml:"address"`
	// Format is the message payload: FormatJSON (default), FormatCEF or
	// FormatOCSF.
	Format string `yaml:"format"`
	// Facility is the syslog facility (default 10, security/authorization).
	Facility int `yaml:"facility"`
	// Hostname and AppName fill the RFC 5424 header (defaults: the host's
	// name and "vigil").
	Hostname string `yaml:"hostname"`
	AppName  string `yaml:"app-name"`
	// CAFile verifies the TLS server (default: the system roots);
	// CertFile and KeyFile give a client certificate; ServerName
	// overrides the name checked.
	CAFile     string `yaml:"ca-file"`
	CertFile   string `yaml:"cert-file"`
	KeyFile    string `yaml:"key-file"`
	ServerName string `yaml:"server-name"`
	// Timeout bounds connecting and writing one message (default 10s).
	Timeout time.Duration `yaml:"timeout"`
	Retry   Retry         `yaml:"retry"`
	Version string        `yaml:"-"`
	// TLSConfig, when set, is used instead of the file settings.
	TLSConfig *tls.Config `yaml:"-"`
}

// sdID is the structured-data id of Vigil's parameters. 32473 is the
// private enterprise number that RFC 5612 reserves for documentation; an
// operator's SIEM matches on the "vigil" name.
const sdID = "vigil@32473"

type syslog struct {
	cfg  SyslogConfig
	tls  *tls.Config
	pid  int
	now  func() time.Time
	mu   sync.Mutex
	conn net.Conn
}

// NewSyslog returns an output that sends each alert as one RFC 5424
// message. Over TCP and TLS the connection is kept and re-established after
// a failure.
func NewSyslog(cfg SyslogConfig, deps Deps) (*Output, error) {
	switch cfg.Network {
	case "udp", "tcp", "tls":
	default:
		return nil, fmt.Errorf("%w: syslog network %q (udp, tcp or tls)", ErrConfig, cfg.Network)
	}
	if _, _, err := net.SplitHostPort(cfg.Address); err != nil {
		return nil, fmt.Errorf("%w: syslog address %q: %v", ErrConfig, cfg.Address, err)
	}
	if cfg.Format == "" {
		cfg.Format = FormatJSON
	}
	if cfg.Format != FormatJSON && cfg.Format != FormatCEF && cfg.Format != FormatOCSF {
		return nil, fmt.Errorf("%w: syslog format %q (json, cef or ocsf)", ErrConfig, cfg.Format)
	}
	if cfg.Facility == 0 {
		cfg.Facility = 10
	}
	if cfg.Facility < 0 || cfg.Facility > 23 {
		return nil, fmt.Errorf("%w: syslog facility %d not in 0..23", ErrConfig, cfg.Facility)
	}
	if cfg.Hostname == "" {
		cfg.Hostname, _ = os.Hostname()
	}
	cfg.Hostname = headerField(cfg.Hostname, 255)
	if cfg.AppName == "" {
		cfg.AppName = "vigil"
	}
	cfg.AppName = headerField(cfg.AppName, 48)
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	s := &syslog{cfg: cfg, pid: os.Getpid(), now: deps.Now}
	if s.now == nil {
		s.now = time.Now
	}
	if cfg.Network == "tls" {
		tc, err := tlsConfig(cfg)
		if err != nil {
			return nil, err
		}
		s.tls = tc
	}
	return newOutput(cfg.Name, "syslog", cfg.Retry, s, deps)
}

func tlsConfig(cfg SyslogConfig) (*tls.Config, error) {
	if cfg.TLSConfig != nil {
		return cfg.TLSConfig.Clone(), nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.ServerName}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: syslog ca-file: %v", ErrConfig, err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: syslog ca-file %s holds no certificate", ErrConfig, cfg.CAFile)
		}
	}
	if cfg.CertFile != "" || cfg.KeyFile != "" {
		c, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("%w: syslog client certificate: %v", ErrConfig, err)
		}
		tc.Certificates = []tls.Certificate{c}
	}
	return tc, nil
}

// headerField makes s a valid RFC 5424 header field: printable US-ASCII
// without spaces, at most n characters, "-" when empty.
func headerField(s string, n int) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s) && len(b) < n; i++ {
		if c := s[i]; c > 32 && c < 127 {
			b = append(b, c)
		}
	}
	if len(b) == 0 {
		return "-"
	}
	return string(b)
}

// syslogSeverity maps alert severities to syslog severities: high 2
// (critical), medium 4 (warning), low 5 (notice).
func syslogSeverity(s string) int {
	switch s {
	case alert.SeverityHigh:
		return 2
	case alert.SeverityMedium:
		return 4
	}
	return 5
}

// sdValue escapes a structured-data parameter value (RFC 5424 §6.3.3).
var sdValue = strings.NewReplacer(`\`, `\\`, `"`, `\"`, `]`, `\]`)

// Message renders the RFC 5424 message of an alert, without transport
// framing.
func (s *syslog) message(a *alert.Alert) ([]byte, error) {
	payload, err := Encode(a, s.cfg.Format, s.cfg.Version)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<%d>1 %s %s %s %d %s [%s", s.cfg.Facility*8+syslogSeverity(a.Severity),
		s.now().UTC().Format("2006-01-02T15:04:05.000000Z07:00"), s.cfg.Hostname, s.cfg.AppName, s.pid,
		headerField(a.Type, 32), sdID)
	for _, p := range [][2]string{{"id", a.ID}, {"type", a.Type}, {"severity", a.Severity}, {"subscription", a.Subscription},
		{"resource", a.Resource}, {"principal", a.Principal}} {
		if p[1] != "" {
			fmt.Fprintf(&b, ` %s="%s"`, p[0], sdValue.Replace(p[1]))
		}
	}
	b.WriteString("] ")
	b.Write(payload)
	return []byte(b.String()), nil
}

func (s *syslog) dial(ctx context.Context) (net.Conn, error) {
	d := net.Dialer{Timeout: s.cfg.Timeout}
	switch s.cfg.Network {
	case "tls":
		td := tls.Dialer{NetDialer: &d, Config: s.tls}
		return td.DialContext(ctx, "tcp", s.cfg.Address)
	default:
		return d.DialContext(ctx, s.cfg.Network, s.cfg.Address)
	}
}

func (s *syslog) deliver(ctx context.Context, a *alert.Alert) error {
	msg, err := s.message(a)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	if s.cfg.Network != "udp" {
		// Octet counting (RFC 6587 §3.4.1, RFC 5425 §4.3): the length in
		// decimal, a space, the message; messages may then hold newlines.
		msg = append([]byte(strconv.Itoa(len(msg))+" "), msg...)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		c, err := s.dial(ctx)
		if err != nil {
			return fmt.Errorf("syslog: %w", err)
		}
		s.conn = c
	}
	s.conn.SetWriteDeadline(time.Now().Add(s.cfg.Timeout))
	if _, err := s.conn.Write(msg); err != nil {
		s.conn.Close()
		s.conn = nil
		return fmt.Errorf("syslog: %w", err)
	}
	return nil
}

func (s *syslog) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		err := s.conn.Close()
		s.conn = nil
		return err
	}
	return nil
}
