package netflow

import (
	"encoding/binary"
	"net/netip"

	"github.com/vigil-ids/vigil/flow"
)

// parseFrame fills the flow key of a record from a sampled frame
// (dataLinkFrameSection, IE 315), for packet reports that carry the frame
// instead of flow fields. It follows Ethernet, 802.1Q/802.1ad tags, MPLS
// label stacks (with an Ethernet pseudowire behind a control word, or IP
// directly), IPv4 and IPv6 with extension headers, and reads TCP, UDP and
// SCTP ports, or the ICMP type and code. A truncated frame fills what it
// holds.
func parseFrame(b []byte, r *flow.Record) {
	if len(b) < 14 {
		return
	}
	et := binary.BigEndian.Uint16(b[12:])
	b = b[14:]
	for {
		switch et {
		case 0x8100, 0x88a8, 0x9100:
			if len(b) < 4 {
				return
			}
			et = binary.BigEndian.Uint16(b[2:])
			b = b[4:]
		case 0x8847, 0x8848:
			for {
				if len(b) < 4 {
					return
				}
				bottom := b[2]&1 == 1
				b = b[4:]
				if bottom {
					break
				}
			}
			if len(b) == 0 {
				return
			}
			switch b[0] >> 4 {
			case 4:
				et = 0x0800
			case 6:
				et = 0x86dd
			case 0: // pseudowire control word (RFC 4385), then an Ethernet frame
				if len(b) < 4+14 {
					return
				}
				et = binary.BigEndian.Uint16(b[4+12:])
				b = b[4+14:]
			default:
				return
			}
		case 0x0800:
			parseIPv4(b, r)
			return
		case 0x86dd:
			parseIPv6(b, r)
			return
		default:
			return
		}
	}
}

func parseIPv4(b []byte, r *flow.Record) {
	if len(b) < 20 || b[0]>>4 != 4 {
		return
	}
	ihl := int(b[0]&0x0f) * 4
	r.SrcAddr = netip.AddrFrom4([4]byte(b[12:16]))
	r.DstAddr = netip.AddrFrom4([4]byte(b[16:20]))
	r.Proto = b[9]
	if binary.BigEndian.Uint16(b[6:])&0x1fff != 0 || ihl < 20 || ihl > len(b) {
		return // a later fragment, or a bad header: no transport header
	}
	parseTransport(r.Proto, b[ihl:], r)
}

func parseIPv6(b []byte, r *flow.Record) {
	if len(b) < 40 || b[0]>>4 != 6 {
		return
	}
	r.SrcAddr = netip.AddrFrom16([16]byte(b[8:24]))
	r.DstAddr = netip.AddrFrom16([16]byte(b[24:40]))
	next := b[6]
	b = b[40:]
	for {
		switch next {
		case 0, 43, 60: // hop-by-hop, routing, destination options
			if len(b) < 8 {
				r.Proto = next
				return
			}
			n := (int(b[1]) + 1) * 8
			next = b[0]
			if n > len(b) {
				r.Proto = next
				return
			}
			b = b[n:]
		case 44: // fragment
			if len(b) < 8 {
				r.Proto = next
				return
			}
			next = b[0]
			if binary.BigEndian.Uint16(b[2:])&0xfff8 != 0 {
				r.Proto = next
				return
			}
			b = b[8:]
		default:
			r.Proto = next
			parseTransport(next, b, r)
			return
		}
	}
}

func parseTransport(proto uint8, b []byte, r *flow.Record) {
	switch proto {
	case flow.ProtoTCP, flow.ProtoUDP, 132: // 132: SCTP
		if len(b) >= 4 {
			r.SrcPort = binary.BigEndian.Uint16(b)
			r.DstPort = binary.BigEndian.Uint16(b[2:])
		}
		if proto == flow.ProtoTCP && len(b) >= 14 {
			r.TCPFlags = b[13]
			r.Flags |= flow.FlagHasTCPFlags
		}
	case flow.ProtoICMP, flow.ProtoICMPv6:
		if len(b) >= 2 {
			r.DstPort = uint16(b[0])<<8 | uint16(b[1])
		}
	}
}
