package collector

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/vigil-ids/vigil/flow/netflow"
)

// ErrConfig reports an invalid configuration.
var ErrConfig = errors.New("collector: invalid configuration")

// ListenerConfig is one UDP port to listen on.
type ListenerConfig struct {
	// Name labels the listener's metrics and statistics, such as "ipfix".
	Name string `yaml:"name"`
	// Listen is the host:port to bind, such as ":4739" or "127.0.0.1:0".
	Listen string `yaml:"listen"`
	// Workers is the number of sockets (SO_REUSEPORT) and goroutines that
	// serve the port (default 2).
	Workers int `yaml:"workers"`
}

// Config configures the collector.
type Config struct {
	// Listeners are the ports to serve. Names must be unique.
	Listeners []ListenerConfig `yaml:"listeners"`
	// ReceiveBuffer is the receive buffer asked for each socket in bytes
	// (default 32 MiB). As root SO_RCVBUFFORCE lifts net.core.rmem_max;
	// otherwise the kernel caps the request at rmem_max. The size granted
	// is reported in Stats.
	ReceiveBuffer int `yaml:"receive-buffer"`
	// StatsInterval is how often each worker publishes its decoder's
	// counters (default 1s). Stats and metrics lag by at most this much.
	StatsInterval time.Duration `yaml:"stats-interval"`
	// SilentAfter is how long an exporter may send nothing before Stats
	// reports it silent (default 5m).
	SilentAfter time.Duration `yaml:"silent-after"`
	// Decoder configures every worker's decoder.
	Decoder netflow.Config `yaml:"-"`
}

// DefaultConfig listens for IPFIX on 4739 and NetFlow on 2055, each with two
// workers and 32 MiB receive buffers.
func DefaultConfig() Config {
	return Config{
		Listeners: []ListenerConfig{
			{Name: "ipfix", Listen: ":4739", Workers: 2},
			{Name: "netflow", Listen: ":2055", Workers: 2},
		},
		ReceiveBuffer: 32 << 20,
		StatsInterval: time.Second,
		SilentAfter:   5 * time.Minute,
		Decoder:       netflow.DefaultConfig(),
	}
}

// Validate checks the configuration; zero values take the defaults.
func (c Config) Validate() error {
	if len(c.Listeners) == 0 {
		return fmt.Errorf("%w: no listener", ErrConfig)
	}
	seen := map[string]bool{}
	for i, l := range c.Listeners {
		if l.Name == "" {
			return fmt.Errorf("%w: listener %d has no name", ErrConfig, i)
		}
		if seen[l.Name] {
			return fmt.Errorf("%w: listener name %q used twice", ErrConfig, l.Name)
		}
		seen[l.Name] = true
		if _, err := netip.ParseAddrPort(normaliseListen(l.Listen)); err != nil {
			return fmt.Errorf("%w: listener %q: listen %q: %v", ErrConfig, l.Name, l.Listen, err)
		}
		if l.Workers < 0 || l.Workers > 256 {
			return fmt.Errorf("%w: listener %q: workers %d not in 1..256", ErrConfig, l.Name, l.Workers)
		}
	}
	if c.ReceiveBuffer < 0 {
		return fmt.Errorf("%w: negative receive-buffer", ErrConfig)
	}
	return nil
}

// normaliseListen turns ":4739" into "[::]:4739" for parsing only.
func normaliseListen(s string) string {
	if len(s) > 0 && s[0] == ':' {
		return "[::]" + s
	}
	return s
}

func (c Config) withDefaults() Config {
	def := DefaultConfig()
	if c.ReceiveBuffer == 0 {
		c.ReceiveBuffer = def.ReceiveBuffer
	}
	if c.StatsInterval <= 0 {
		c.StatsInterval = def.StatsInterval
	}
	if c.SilentAfter <= 0 {
		c.SilentAfter = def.SilentAfter
	}
	ls := make([]ListenerConfig, len(c.Listeners))
	copy(ls, c.Listeners)
	for i := range ls {
		if ls[i].Workers == 0 {
			ls[i].Workers = 2
		}
	}
	c.Listeners = ls
	return c
}
