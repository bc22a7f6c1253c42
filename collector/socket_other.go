//go:build !linux

package collector

import (
	"context"
	"errors"
	"net"
)

// Off Linux the collector has one plain socket per listener: no
// SO_REUSEPORT workers and no kernel drop counters.

func listenUDP(ctx context.Context, addr string) (*net.UDPConn, error) {
	pc, err := (&net.ListenConfig{}).ListenPacket(ctx, "udp", addr)
	if err != nil {
		return nil, err
	}
	return pc.(*net.UDPConn), nil
}

func setReceiveBuffer(conn *net.UDPConn, size int) (int, error) {
	return size, conn.SetReadBuffer(size)
}

func socketInode(*net.UDPConn) uint64 { return 0 }

var oobSize = 64

func parseOverflow([]byte) (uint32, bool) { return 0, false }

func socketDrops() map[uint64]uint64 { return nil }

// ReadKernelUDPCounters is only available on Linux.
func ReadKernelUDPCounters() (KernelUDPCounters, error) {
	return KernelUDPCounters{}, errors.New("kernel udp counters: not available on this system")
}
