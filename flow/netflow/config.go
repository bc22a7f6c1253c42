package netflow

import (
	"net/netip"
	"time"
)

// Transport is how a message reached the decoder. It decides template
// lifetime and whether withdrawals are honoured: RFC 7011 §8 forbids template
// withdrawal over UDP and asks collectors to expire UDP templates instead,
// while over TCP, SCTP and files a template lives until it is withdrawn.
type Transport uint8

// Transports.
const (
	TransportUDP Transport = iota
	TransportTCP
	TransportSCTP
	TransportFile
)

var transportNames = [...]string{"udp", "tcp", "sctp", "file"}

// String returns "udp", "tcp", "sctp" or "file".
func (t Transport) String() string {
	if int(t) < len(transportNames) {
		return transportNames[t]
	}
	return "unknown"
}

// Config tunes a Decoder. A zero field takes its default from DefaultConfig;
// a negative PendingMax disables the buffering of data sets that precede
// their template.
type Config struct {
	// TemplateTimeout is how long a template received over UDP stays valid
	// without being refreshed (default 30m). Templates received over TCP,
	// SCTP or from a file never expire.
	TemplateTimeout time.Duration

	// PendingMax bounds the number of data sets held while they wait for
	// their template (default 1024); PendingMaxBytes bounds their total size
	// (default 4 MiB) and PendingMaxAge their age (default 2m). The oldest set
	// is evicted first and counted as undecodable.
	PendingMax      int
	PendingMaxBytes int
	PendingMaxAge   time.Duration

	// DefaultSamplingRate gives the sampling rate of exporters that announce
	// none. Records of other exporters without a rate get SamplingRate 0
	// (unknown), which is counted. For NetFlow v5 it overrides a header that
	// says "not sampled".
	DefaultSamplingRate map[netip.Addr]uint32

	// MaxExporters, MaxDomains (per exporter) and MaxTemplates (per
	// observation domain) bound the state that hostile or broken exporters
	// can make the decoder keep (defaults 65536, 1024, 4096). Whatever is
	// refused is counted.
	MaxExporters int
	MaxDomains   int
	MaxTemplates int

	// Now is the clock used for template expiry and pending age; nil means
	// time.Now. A replay of a capture can pass the capture's clock.
	Now func() time.Time
}

// DefaultConfig returns the defaults described on Config.
func DefaultConfig() Config {
	return Config{
		TemplateTimeout: 30 * time.Minute,
		PendingMax:      1024,
		PendingMaxBytes: 4 << 20,
		PendingMaxAge:   2 * time.Minute,
		MaxExporters:    65536,
		MaxDomains:      1024,
		MaxTemplates:    4096,
	}
}

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	def := DefaultConfig()
	if c.TemplateTimeout <= 0 {
		c.TemplateTimeout = def.TemplateTimeout
	}
	switch {
	case c.PendingMax == 0:
		c.PendingMax = def.PendingMax
	case c.PendingMax < 0:
		c.PendingMax = 0
	}
	if c.PendingMaxBytes <= 0 {
		c.PendingMaxBytes = def.PendingMaxBytes
	}
	if c.PendingMaxAge <= 0 {
		c.PendingMaxAge = def.PendingMaxAge
	}
	if c.MaxExporters <= 0 {
		c.MaxExporters = def.MaxExporters
	}
	if c.MaxDomains <= 0 {
		c.MaxDomains = def.MaxDomains
	}
	if c.MaxTemplates <= 0 {
		c.MaxTemplates = def.MaxTemplates
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}
