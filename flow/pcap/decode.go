// Package pcap reads packet captures (pcap and pcapng) and decodes each
// frame's link, network and transport headers into a Packet: timestamp,
// addresses, ports, protocol, TCP flags and the transport payload.
//
// Headers are parsed directly with encoding/binary rather than through
// gopacket's layer decoders, because a capture can hold millions of packets
// and a flow meter needs only a handful of fields from each. Decoding a frame
// fills a caller-owned Packet in place and allocates nothing, except while
// reassembling IPv4 and IPv6 fragments, which is bounded.
//
// Frames that cannot be decoded are never dropped silently: they are counted
// by reason in the Decoder's statistics, either as malformed (the bytes
// contradict themselves) or as skipped (valid, but not IP: ARP, LLDP, ...).
package pcap

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/vigil-ids/vigil/flow"
)

// LinkType is the capture's link-layer header type, as numbered by
// tcpdump.org's LINKTYPE_ registry.
type LinkType uint16

// The link types the decoder understands.
const (
	LinkNull      LinkType = 0   // BSD loopback, host byte order family
	LinkEthernet  LinkType = 1   // Ethernet II, with 802.1Q/802.1ad tags
	LinkRaw       LinkType = 101 // raw IPv4 or IPv6, version from the first nibble
	LinkLoop      LinkType = 108 // OpenBSD loopback, network byte order family
	LinkLinuxSLL  LinkType = 113 // Linux cooked capture v1
	LinkIPv4      LinkType = 228 // raw IPv4
	LinkIPv6      LinkType = 229 // raw IPv6
	LinkLinuxSLL2 LinkType = 276 // Linux cooked capture v2
	// Some systems write raw IP as DLT_RAW's old numbers 12 and 14.
	linkRawOld1 LinkType = 12
	linkRawOld2 LinkType = 14
)

// Packet is one decoded IP packet. The byte slices point into the frame
// given to Decode (or into the Decoder's reassembly buffer) and are valid
// only until the next call.
type Packet struct {
	Time time.Time

	Src, Dst netip.Addr

	// SrcPort and DstPort are the TCP or UDP ports. For ICMP and ICMPv6 the
	// source port is 0 and the destination port is type<<8 | code, the
	// convention NetFlow exporters use.
	SrcPort, DstPort uint16

	Proto    uint8
	TCPFlags uint8

	// IPLength is the length of the IP packet on the wire (header
	// included), taken from the IP header, so that snaplen truncation does
	// not under-count bytes.
	IPLength int

	// Payload is the transport payload that was captured: after the TCP or
	// UDP header, after the 4-byte ICMP header, or after the IP header for
	// other protocols.
	Payload []byte

	// Truncated is set when the capture holds less of the packet than the
	// IP header announces (snaplen), so Payload is incomplete.
	Truncated bool

	// Reassembled is set when the packet was rebuilt from IP fragments.
	Reassembled bool
}

// Config bounds the decoder's fragment reassembly.
type Config struct {
	// FragmentTimeout is how long, in capture time, the fragments of one
	// datagram wait for the rest before they are counted as incomplete.
	FragmentTimeout time.Duration
	// FragmentMax is the most datagrams under reassembly at once; the
	// oldest is given up (and counted) when a new one would exceed it.
	FragmentMax int
}

// DefaultConfig returns the reassembly bounds Linux uses by default
// (ipfrag_time 30 s), with room for 1024 datagrams in flight.
func DefaultConfig() Config {
	return Config{FragmentTimeout: 30 * time.Second, FragmentMax: 1024}
}

// Reasons for malformed frames, as counted in Stats.Malformed.
const (
	ReasonShortFrame      = "short-frame"
	ReasonShortIPv4       = "short-ipv4-header"
	ReasonShortIPv6       = "short-ipv6-header"
	ReasonIPVersion       = "bad-ip-version"
	ReasonIPv4Length      = "bad-ipv4-length"
	ReasonIPv6Length      = "bad-ipv6-length"
	ReasonIPv6ExtHeader   = "bad-ipv6-extension-header"
	ReasonShortTCP        = "short-tcp-header"
	ReasonShortUDP        = "short-udp-header"
	ReasonUDPLength       = "bad-udp-length"
	ReasonShortICMP       = "short-icmp-header"
	ReasonFragment        = "bad-fragment"
	ReasonFragmentOverlap = "fragment-overlap"
	ReasonFragmentLost    = "fragment-incomplete"
)

// Reasons for frames that are valid but carry no IP packet to decode, as
// counted in Stats.Skipped.
const (
	SkipNonIP        = "non-ip"
	SkipLinkType     = "unsupported-link-type"
	SkipIPv6Jumbo    = "ipv6-jumbogram"
	SkipNoTransport  = "ipv6-no-next-header"
	SkipEncrypted    = "ipv6-esp"
	SkipNonFirstFrag = "fragment-held" // a fragment waiting for the rest of its datagram
)

// Decoder turns frames into Packets. It keeps the fragment reassembly state
// and the counters, so one Decoder serves one capture. It is not safe for
// concurrent use.
type Decoder struct {
	cfg       Config
	frag      reassembler
	malformed flow.Errors
	skipped   flow.Errors
	decoded   uint64
}

// NewDecoder returns a Decoder with the given reassembly bounds; zero
// fields take their defaults.
func NewDecoder(cfg Config) *Decoder {
	def := DefaultConfig()
	if cfg.FragmentTimeout <= 0 {
		cfg.FragmentTimeout = def.FragmentTimeout
	}
	if cfg.FragmentMax <= 0 {
		cfg.FragmentMax = def.FragmentMax
	}
	d := &Decoder{cfg: cfg}
	d.frag.init(cfg, &d.malformed)
	return d
}

// Stats counts what the decoder has seen.
type Stats struct {
	Decoded     uint64            // packets returned by Decode
	Reassembled uint64            // of which rebuilt from fragments
	Malformed   map[string]uint64 // by reason
	Skipped     map[string]uint64 // by reason
}

// Stats returns a snapshot of the counters.
func (d *Decoder) Stats() Stats {
	return Stats{
		Decoded:     d.decoded,
		Reassembled: d.frag.done,
		Malformed:   d.malformed.Snapshot(),
		Skipped:     d.skipped.Snapshot(),
	}
}

// Flush gives up on every datagram still under reassembly and counts its
// fragments as incomplete. Call it at the end of a capture.
func (d *Decoder) Flush() {
	if n := d.frag.dropAll(); n > 0 {
		d.malformed.Add(ReasonFragmentLost, uint64(n))
	}
}

// Decode parses one frame of the given link type into p. wireLen is the
// frame's original length (pcap's orig_len); pass len(frame) when unknown.
// It reports false, having counted the reason, when the frame yields no
// packet: malformed, not IP, or a fragment held for reassembly.
func (d *Decoder) Decode(link LinkType, ts time.Time, frame []byte, wireLen int, p *Packet) bool {
	*p = Packet{Time: ts}
	truncated := wireLen > len(frame)
	var b []byte
	switch link {
	case LinkEthernet:
		if len(frame) < 14 {
			return d.bad(ReasonShortFrame)
		}
		et := binary.BigEndian.Uint16(frame[12:14])
		off := 14
		// 802.1Q, 802.1ad and the pre-standard 0x9100 QinQ tag: 4 bytes
		// each, possibly stacked.
		for et == 0x8100 || et == 0x88a8 || et == 0x9100 {
			if len(frame) < off+4 {
				return d.bad(ReasonShortFrame)
			}
			et = binary.BigEndian.Uint16(frame[off+2 : off+4])
			off += 4
		}
		return d.ether(et, frame[off:], truncated, p)
	case LinkLinuxSLL:
		if len(frame) < 16 {
			return d.bad(ReasonShortFrame)
		}
		return d.ether(binary.BigEndian.Uint16(frame[14:16]), frame[16:], truncated, p)
	case LinkLinuxSLL2:
		if len(frame) < 20 {
			return d.bad(ReasonShortFrame)
		}
		return d.ether(binary.BigEndian.Uint16(frame[0:2]), frame[20:], truncated, p)
	case LinkRaw, linkRawOld1, linkRawOld2:
		b = frame
	case LinkIPv4:
		if len(frame) > 0 && frame[0]>>4 != 4 {
			return d.bad(ReasonIPVersion)
		}
		b = frame
	case LinkIPv6:
		if len(frame) > 0 && frame[0]>>4 != 6 {
			return d.bad(ReasonIPVersion)
		}
		b = frame
	case LinkNull, LinkLoop:
		if len(frame) < 4 {
			return d.bad(ReasonShortFrame)
		}
		// NULL stores the address family in the capturing host's byte
		// order, LOOP in network order; families are small numbers, so the
		// order that gives a small value is the right one.
		fam := binary.LittleEndian.Uint32(frame[:4])
		if fam > 0xffff {
			fam = binary.BigEndian.Uint32(frame[:4])
		}
		switch fam {
		case 2: // AF_INET everywhere
		case 10, 24, 28, 30: // AF_INET6: Linux, NetBSD/OpenBSD, FreeBSD, macOS
		default:
			d.skipped.Add(SkipNonIP, 1)
			return false
		}
		b = frame[4:]
	default:
		d.skipped.Add(SkipLinkType, 1)
		return false
	}
	return d.ip(b, truncated, p)
}

func (d *Decoder) ether(ethertype uint16, b []byte, truncated bool, p *Packet) bool {
	switch ethertype {
	case 0x0800, 0x86dd:
		return d.ip(b, truncated, p)
	}
	d.skipped.Add(SkipNonIP, 1)
	return false
}

func (d *Decoder) bad(reason string) bool {
	d.malformed.Add(reason, 1)
	return false
}

// ip dispatches on the version nibble.
func (d *Decoder) ip(b []byte, truncated bool, p *Packet) bool {
	if len(b) == 0 {
		return d.bad(ReasonShortFrame)
	}
	switch b[0] >> 4 {
	case 4:
		return d.ipv4(b, truncated, p)
	case 6:
		return d.ipv6(b, truncated, p)
	}
	return d.bad(ReasonIPVersion)
}

func (d *Decoder) ipv4(b []byte, truncated bool, p *Packet) bool {
	if len(b) < 20 {
		return d.bad(ReasonShortIPv4)
	}
	ihl := int(b[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(b[2:4]))
	if ihl < 20 || total < ihl {
		return d.bad(ReasonIPv4Length)
	}
	if len(b) < ihl {
		return d.bad(ReasonShortIPv4)
	}
	switch {
	case total <= len(b):
		b = b[:total] // drop Ethernet padding
	case truncated:
		p.Truncated = true
	default:
		// TSO/GRO captures on the sending host may show a total length of
		// 0; anything else that is longer than the frame is a lie.
		return d.bad(ReasonIPv4Length)
	}
	p.Src = netip.AddrFrom4([4]byte(b[12:16]))
	p.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	p.Proto = b[9]
	p.IPLength = total
	if d.frag.pending() > 0 {
		d.frag.expire(p.Time)
	}
	ff := binary.BigEndian.Uint16(b[6:8])
	mf := ff&0x2000 != 0
	off := int(ff&0x1fff) * 8
	payload := b[ihl:]
	if mf || off != 0 {
		if p.Truncated {
			// Part of a fragment is missing from the capture: it can never
			// be reassembled.
			return d.bad(ReasonFragmentLost)
		}
		key := fragKey{src: p.Src, dst: p.Dst, id: uint32(binary.BigEndian.Uint16(b[4:6])), proto: p.Proto}
		data, ok := d.reassemble(key, p, off, mf, payload)
		if !ok {
			return false
		}
		p.IPLength = ihl + len(data)
		payload = data
	}
	return d.transport(payload, p)
}

// reassemble adds one IPv4 or IPv6 fragment. It returns the whole
// datagram's payload once the last piece is in; until then, and for a
// fragment that cannot fit, the packet is counted and yields nothing.
func (d *Decoder) reassemble(k fragKey, p *Packet, off int, more bool, payload []byte) ([]byte, bool) {
	data, status := d.frag.add(k, p.Time, off, more, payload)
	switch status {
	case fragHeld:
		d.skipped.Add(SkipNonFirstFrag, 1)
		return nil, false
	case fragBad:
		return nil, d.bad(ReasonFragment)
	case fragOverlap:
		return nil, d.bad(ReasonFragmentOverlap)
	}
	p.Reassembled = true
	return data, true
}

func (d *Decoder) ipv6(b []byte, truncated bool, p *Packet) bool {
	if len(b) < 40 {
		return d.bad(ReasonShortIPv6)
	}
	plen := int(binary.BigEndian.Uint16(b[4:6]))
	if plen == 0 {
		// A jumbogram (RFC 2675) or a TSO artefact: neither can be trusted
		// for byte counts.
		d.skipped.Add(SkipIPv6Jumbo, 1)
		return false
	}
	total := 40 + plen
	switch {
	case total <= len(b):
		b = b[:total]
	case truncated:
		p.Truncated = true
	default:
		return d.bad(ReasonIPv6Length)
	}
	p.Src = netip.AddrFrom16([16]byte(b[8:24]))
	p.Dst = netip.AddrFrom16([16]byte(b[24:40]))
	p.IPLength = total
	if d.frag.pending() > 0 {
		d.frag.expire(p.Time)
	}
	next := b[6]
	rest := b[40:]
	hdrLen := 40
	// Walk the extension headers to the transport header. Each is at least
	// 8 bytes, so a hostile chain ends within the packet.
	for {
		switch next {
		case 0, 43, 60: // hop-by-hop, routing, destination options
			if len(rest) < 8 {
				if p.Truncated {
					return d.bad(ReasonShortIPv6)
				}
				return d.bad(ReasonIPv6ExtHeader)
			}
			n := (int(rest[1]) + 1) * 8
			if len(rest) < n {
				return d.bad(ReasonIPv6ExtHeader)
			}
			next = rest[0]
			rest = rest[n:]
			hdrLen += n
			continue
		case 51: // AH: length in 4-byte units, minus 2
			if len(rest) < 8 {
				return d.bad(ReasonIPv6ExtHeader)
			}
			n := (int(rest[1]) + 2) * 4
			if len(rest) < n {
				return d.bad(ReasonIPv6ExtHeader)
			}
			next = rest[0]
			rest = rest[n:]
			hdrLen += n
			continue
		case 44: // fragment
			if len(rest) < 8 {
				return d.bad(ReasonIPv6ExtHeader)
			}
			if p.Truncated {
				return d.bad(ReasonFragmentLost)
			}
			fo := binary.BigEndian.Uint16(rest[2:4])
			off := int(fo>>3) * 8
			mf := fo&1 != 0
			id := binary.BigEndian.Uint32(rest[4:8])
			p.Proto = rest[0]
			if !mf && off == 0 {
				// An atomic fragment (RFC 6946): not really fragmented.
				next = rest[0]
				rest = rest[8:]
				hdrLen += 8
				continue
			}
			key := fragKey{src: p.Src, dst: p.Dst, id: id, proto: p.Proto, v6: true}
			data, ok := d.reassemble(key, p, off, mf, rest[8:])
			if !ok {
				return false
			}
			p.IPLength = hdrLen + 8 + len(data)
			p.Proto = rest[0]
			return d.transport(data, p)
		case 50:
			p.Proto = 50
			d.skipped.Add(SkipEncrypted, 1)
			return false
		case 59:
			d.skipped.Add(SkipNoTransport, 1)
			return false
		}
		break
	}
	p.Proto = next
	return d.transport(rest, p)
}

// transport parses the TCP, UDP or ICMP header at the start of b.
func (d *Decoder) transport(b []byte, p *Packet) bool {
	switch p.Proto {
	case flow.ProtoTCP:
		if len(b) < 20 {
			return d.bad(ReasonShortTCP)
		}
		p.SrcPort = binary.BigEndian.Uint16(b[0:2])
		p.DstPort = binary.BigEndian.Uint16(b[2:4])
		p.TCPFlags = b[13]
		hl := int(b[12]>>4) * 4
		if hl < 20 {
			return d.bad(ReasonShortTCP)
		}
		if hl > len(b) {
			if !p.Truncated {
				return d.bad(ReasonShortTCP)
			}
			hl = len(b)
		}
		p.Payload = b[hl:]
	case flow.ProtoUDP, 136: // UDP, UDP-Lite
		if len(b) < 8 {
			return d.bad(ReasonShortUDP)
		}
		p.SrcPort = binary.BigEndian.Uint16(b[0:2])
		p.DstPort = binary.BigEndian.Uint16(b[2:4])
		ul := int(binary.BigEndian.Uint16(b[4:6]))
		switch {
		case p.Proto == 136:
			ul = len(b) // UDP-Lite's field is a checksum coverage
		case ul < 8:
			return d.bad(ReasonUDPLength)
		case ul > len(b):
			if !p.Truncated {
				return d.bad(ReasonUDPLength)
			}
			ul = len(b)
		}
		p.Payload = b[8:ul]
	case flow.ProtoICMP, flow.ProtoICMPv6:
		if len(b) < 4 {
			return d.bad(ReasonShortICMP)
		}
		p.DstPort = uint16(b[0])<<8 | uint16(b[1])
		p.Payload = b[4:]
	default:
		p.Payload = b
	}
	d.decoded++
	return true
}
