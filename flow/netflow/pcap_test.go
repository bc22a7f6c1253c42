package netflow

import (
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// datagram is one UDP payload read from a capture.
type datagram struct {
	ts      time.Time
	src     netip.AddrPort
	dstPort uint16
	payload []byte
}

// readDatagrams returns the UDP payloads of a classic pcap file with
// Ethernet framing (optionally 802.1Q tagged), over IPv4 or IPv6. Other
// frames (the BMP TCP segments of one capture) are skipped.
func readDatagrams(t testing.TB, path string) []datagram {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if r.LinkType() != layers.LinkTypeEthernet {
		t.Fatalf("%s: link type %v, want Ethernet", path, r.LinkType())
	}
	var out []datagram
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if d, ok := parseUDP(data); ok {
			d.ts = ci.Timestamp
			out = append(out, d)
		}
	}
	return out
}

func parseUDP(b []byte) (datagram, bool) {
	if len(b) < 14 {
		return datagram{}, false
	}
	et := binary.BigEndian.Uint16(b[12:])
	b = b[14:]
	for et == 0x8100 || et == 0x88a8 {
		if len(b) < 4 {
			return datagram{}, false
		}
		et = binary.BigEndian.Uint16(b[2:])
		b = b[4:]
	}
	var src netip.Addr
	var proto uint8
	switch et {
	case 0x0800:
		if len(b) < 20 {
			return datagram{}, false
		}
		ihl := int(b[0]&0x0f) * 4
		total := int(binary.BigEndian.Uint16(b[2:]))
		if ihl < 20 || total < ihl || total > len(b) {
			return datagram{}, false
		}
		src = netip.AddrFrom4([4]byte(b[12:16]))
		proto = b[9]
		b = b[ihl:total]
	case 0x86dd:
		if len(b) < 40 {
			return datagram{}, false
		}
		plen := int(binary.BigEndian.Uint16(b[4:]))
		if 40+plen > len(b) {
			return datagram{}, false
		}
		src = netip.AddrFrom16([16]byte(b[8:24]))
		proto = b[6]
		b = b[40 : 40+plen]
	default:
		return datagram{}, false
	}
	if proto != 17 || len(b) < 8 {
		return datagram{}, false
	}
	ulen := int(binary.BigEndian.Uint16(b[4:]))
	if ulen < 8 || ulen > len(b) {
		return datagram{}, false
	}
	return datagram{
		src:     netip.AddrPortFrom(src, binary.BigEndian.Uint16(b)),
		dstPort: binary.BigEndian.Uint16(b[2:]),
		payload: b[8:ulen],
	}, true
}
