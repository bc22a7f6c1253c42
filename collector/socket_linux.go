//go:build linux

package collector

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// listenUDP binds a UDP socket with SO_REUSEPORT set before bind, so that
// several workers can share one port, and with SO_RXQ_OVFL, so that every
// datagram carries the socket's cumulative drop count.
func listenUDP(ctx context.Context, addr string) (*net.UDPConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); serr != nil {
				serr = fmt.Errorf("SO_REUSEPORT: %w", serr)
				return
			}
			// Drop counts are a bonus: a kernel without SO_RXQ_OVFL still
			// has /proc/net/udp.
			_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 1)
		})
		return errors.Join(err, serr)
	}}
	pc, err := lc.ListenPacket(ctx, "udp", addr)
	if err != nil {
		return nil, err
	}
	return pc.(*net.UDPConn), nil
}

// setReceiveBuffer asks for size bytes of receive buffer, first with
// SO_RCVBUFFORCE (which only root or CAP_NET_ADMIN may use and which ignores
// net.core.rmem_max), then with SO_RCVBUF, and returns what getsockopt
// reports: the kernel doubles the request for its bookkeeping, so the figure
// is the real memory the socket may hold.
func setReceiveBuffer(conn *net.UDPConn, size int) (granted int, err error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return 0, err
	}
	var serr error
	cerr := rc.Control(func(fd uintptr) {
		if size > 0 {
			if e := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, size); e != nil {
				if e := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, size); e != nil {
					serr = fmt.Errorf("SO_RCVBUF: %w", e)
				}
			}
		}
		granted, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
	})
	return granted, errors.Join(cerr, serr)
}

// socketInode returns the inode that names the socket in /proc/net/udp.
func socketInode(conn *net.UDPConn) uint64 {
	rc, err := conn.SyscallConn()
	if err != nil {
		return 0
	}
	var st unix.Stat_t
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.Fstat(int(fd), &st) }); err != nil || serr != nil {
		return 0
	}
	return st.Ino
}

// oobSize is room for one SO_RXQ_OVFL control message.
var oobSize = unix.CmsgSpace(4)

// parseOverflow returns the cumulative drop count carried by an
// SO_RXQ_OVFL control message in oob, without allocating.
func parseOverflow(oob []byte) (uint32, bool) {
	const hdr = int(unsafe.Sizeof(unix.Cmsghdr{}))
	for len(oob) >= hdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < hdr || l > len(oob) {
			return 0, false
		}
		if h.Level == unix.SOL_SOCKET && h.Type == unix.SO_RXQ_OVFL && l >= hdr+4 {
			return binary.NativeEndian.Uint32(oob[hdr:]), true
		}
		next := unix.CmsgSpace(l - hdr)
		if next > len(oob) {
			return 0, false
		}
		oob = oob[next:]
	}
	return 0, false
}

// socketDrops reads the drops column of /proc/net/udp and /proc/net/udp6,
// keyed by socket inode.
func socketDrops() map[uint64]uint64 {
	out := map[uint64]uint64{}
	for _, p := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) < 13 {
				continue
			}
			ino, err1 := strconv.ParseUint(fs[9], 10, 64)
			drops, err2 := strconv.ParseUint(fs[len(fs)-1], 10, 64)
			if err1 == nil && err2 == nil {
				out[ino] = drops
			}
		}
		f.Close()
	}
	return out
}

// ReadKernelUDPCounters reads the host's UDP counters from /proc/net/snmp
// and /proc/net/snmp6 (IPv4 and IPv6 summed). They count every UDP socket
// of the network namespace, not only the collector's.
func ReadKernelUDPCounters() (KernelUDPCounters, error) {
	var k KernelUDPCounters
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return k, fmt.Errorf("kernel udp counters: %w", err)
	}
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, "Udp: ")
		if !ok {
			continue
		}
		fs := strings.Fields(rest)
		if names == nil {
			names = fs
			continue
		}
		for i, n := range names {
			if i < len(fs) {
				v, _ := strconv.ParseUint(fs[i], 10, 64)
				k.add(n, v)
			}
		}
	}
	if b, err := os.ReadFile("/proc/net/snmp6"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			fs := strings.Fields(line)
			if len(fs) == 2 {
				if n, ok := strings.CutPrefix(fs[0], "Udp6"); ok {
					v, _ := strconv.ParseUint(fs[1], 10, 64)
					k.add(n, v)
				}
			}
		}
	}
	return k, nil
}

func (k *KernelUDPCounters) add(name string, v uint64) {
	switch name {
	case "InDatagrams":
		k.InDatagrams += v
	case "InErrors":
		k.InErrors += v
	case "RcvbufErrors":
		k.RcvbufErrors += v
	case "NoPorts":
		k.NoPorts += v
	}
}
