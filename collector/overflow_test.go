//go:build linux

package collector

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

func cmsg(level, typ int32, data []byte) []byte {
	b := make([]byte, unix.CmsgSpace(len(data)))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = level, typ
	h.SetLen(unix.CmsgLen(len(data)))
	copy(b[unix.CmsgLen(0):], data)
	return b
}

func TestParseOverflow(t *testing.T) {
	drops := binary.NativeEndian.AppendUint32(nil, 4242)
	for _, tc := range []struct {
		name string
		oob  []byte
		want uint32
		ok   bool
	}{
		{"ovfl", cmsg(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, drops), 4242, true},
		{"after another message", append(cmsg(unix.SOL_IP, unix.IP_TTL, []byte{64, 0, 0, 0}), cmsg(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, drops)...), 4242, true},
		{"other only", cmsg(unix.SOL_IP, unix.IP_TTL, []byte{64, 0, 0, 0}), 0, false},
		{"empty", nil, 0, false},
		{"truncated", cmsg(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, drops)[:unix.CmsgLen(0)+2], 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseOverflow(tc.oob)
			if got != tc.want || ok != tc.ok {
				t.Errorf("parseOverflow = %d, %v; want %d, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

// FuzzParseOverflow checks that no control-message buffer makes the parser
// read out of bounds or loop forever.
func FuzzParseOverflow(f *testing.F) {
	f.Add(cmsg(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, []byte{1, 0, 0, 0}))
	f.Add(append(cmsg(unix.SOL_IP, unix.IP_TTL, []byte{64, 0, 0, 0}), cmsg(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, []byte{1, 2, 3, 4})...))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		// The parser reads a Cmsghdr in place, which needs alignment, as
		// the kernel's buffers have.
		buf := make([]uint64, (len(b)+7)/8)
		al := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(buf))), len(buf)*8)[:len(b)]
		copy(al, b)
		parseOverflow(al)
	})
}
