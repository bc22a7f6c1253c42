package export

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// ErrAddressFamily reports an exporter and a collector address of
// different families.
var ErrAddressFamily = errors.New("pcap: exporter and collector addresses differ in family")

// ErrDatagramSize reports a payload that does not fit one UDP datagram.
var ErrDatagramSize = errors.New("pcap: payload larger than a UDP datagram")

// PcapWriter writes UDP datagrams from an exporter to a collector as
// Ethernet frames in a classic pcap file (microsecond timestamps), with the
// IP and UDP lengths and checksums filled in. It implements io.Writer so
// that an IPFIXWriter in the datagram mode can write into it directly.
type PcapWriter struct {
	pw       *pcapgo.Writer
	src, dst netip.AddrPort
	eth      layers.Ethernet
	ip4      layers.IPv4
	ip6      layers.IPv6
	udp      layers.UDP
	sb       gopacket.SerializeBuffer
	ipID     uint16
	lastTime time.Time
	frames   uint64
}

// NewPcapWriter writes the pcap file header to w and returns a writer of
// datagrams sent from src to dst (for example the collector port 4739).
func NewPcapWriter(w io.Writer, src, dst netip.AddrPort) (*PcapWriter, error) {
	s, d := src.Addr().Unmap(), dst.Addr().Unmap()
	if s.Is4() != d.Is4() {
		return nil, fmt.Errorf("%w: %s, %s", ErrAddressFamily, s, d)
	}
	pw := pcapgo.NewWriter(w)
	if err := pw.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return nil, fmt.Errorf("pcap: write header: %w", err)
	}
	p := &PcapWriter{
		pw:  pw,
		src: netip.AddrPortFrom(s, src.Port()),
		dst: netip.AddrPortFrom(d, dst.Port()),
		sb:  gopacket.NewSerializeBuffer(),
	}
	// Locally administered MAC addresses derived from the IP addresses, so
	// that the frames are stable for a given exporter and collector.
	p.eth = layers.Ethernet{SrcMAC: macFor(s), DstMAC: macFor(d), EthernetType: layers.EthernetTypeIPv4}
	p.udp = layers.UDP{SrcPort: layers.UDPPort(src.Port()), DstPort: layers.UDPPort(dst.Port())}
	if s.Is4() {
		p.ip4 = layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP, Flags: layers.IPv4DontFragment,
			SrcIP: net.IP(s.AsSlice()), DstIP: net.IP(d.AsSlice())}
		_ = p.udp.SetNetworkLayerForChecksum(&p.ip4)
	} else {
		p.eth.EthernetType = layers.EthernetTypeIPv6
		p.ip6 = layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolUDP,
			SrcIP: net.IP(s.AsSlice()), DstIP: net.IP(d.AsSlice())}
		_ = p.udp.SetNetworkLayerForChecksum(&p.ip6)
	}
	return p, nil
}

func macFor(a netip.Addr) net.HardwareAddr {
	b := a.As16()
	return net.HardwareAddr{0x02, 0x00, b[12], b[13], b[14], b[15]}
}

// Frames returns the number of frames written.
func (p *PcapWriter) Frames() uint64 { return p.frames }

// WriteDatagram writes one UDP datagram carrying payload, captured at ts.
func (p *PcapWriter) WriteDatagram(ts time.Time, payload []byte) error {
	if len(payload) > 65535-8-40 {
		return fmt.Errorf("%w: %d bytes", ErrDatagramSize, len(payload))
	}
	var ipLayer gopacket.SerializableLayer = &p.ip6
	if p.src.Addr().Is4() {
		p.ipID++
		p.ip4.Id = p.ipID
		ipLayer = &p.ip4
	}
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(p.sb, opts, &p.eth, ipLayer, &p.udp, gopacket.Payload(payload)); err != nil {
		return fmt.Errorf("pcap: build frame: %w", err)
	}
	data := p.sb.Bytes()
	ci := gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(data), Length: len(data)}
	if err := p.pw.WritePacket(ci, data); err != nil {
		return fmt.Errorf("pcap: write frame: %w", err)
	}
	p.lastTime = ts
	p.frames++
	return nil
}

// Write writes p as one datagram. An IPFIX message is stamped with its
// export time (header bytes 4 to 7), the moment an exporter sends it; any
// other payload gets the time of the previous frame.
func (p *PcapWriter) Write(b []byte) (int, error) {
	ts := p.lastTime
	if len(b) >= headerLen && binary.BigEndian.Uint16(b) == version {
		ts = time.Unix(int64(binary.BigEndian.Uint32(b[4:])), 0).UTC()
		if ts.Before(p.lastTime) {
			ts = p.lastTime
		}
	}
	if err := p.WriteDatagram(ts, b); err != nil {
		return 0, err
	}
	return len(b), nil
}
