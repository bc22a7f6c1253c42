package netflow

import (
	"net/netip"

	"github.com/vigil-ids/vigil/flow"
)

// fastField locates one field in a fixed-length record; n == 0 means the
// template does not carry it.
type fastField struct {
	off uint16
	n   uint16
}

// fastLayout is the layout of a fixed-length template whose operations are
// all among the usual flow fields. Decoding such a record is a series of
// predictable branches and direct loads, without the dispatch of walk.
type fastLayout struct {
	src, dst, sport, dport, proto, flags fastField
	pkts, bytes, start, end, sampler     fastField
	dir, icmp                            fastField
}

// fastKinds are the operations a fast layout covers.
var fastKinds = [numOpKinds]bool{
	opSrc4: true, opDst4: true, opSrc6: true, opDst6: true, opSrcPort: true, opDstPort: true,
	opProto: true, opTCPFlags: true, opPackets: true, opBytes: true, opStart: true, opEnd: true,
	opSamplerID: true, opDirection: true, opICMPTypeCode: true,
}

// buildFast sets t.fast when every operation of a fixed-length template
// is covered by a fastLayout.
func buildFast(t *template) {
	if !t.fixed {
		return
	}
	var l fastLayout
	for _, o := range t.ops {
		if !fastKinds[o.kind] {
			return
		}
		f := fastField{off: o.off, n: o.len}
		switch o.kind {
		case opSrc4, opSrc6:
			l.src = f
		case opDst4, opDst6:
			l.dst = f
		case opSrcPort:
			l.sport = f
		case opDstPort:
			l.dport = f
		case opProto:
			l.proto = f
		case opTCPFlags:
			l.flags = f
		case opPackets:
			l.pkts = f
		case opBytes:
			l.bytes = f
		case opStart:
			l.start = f
		case opEnd:
			l.end = f
		case opSamplerID:
			l.sampler = f
		case opDirection:
			l.dir = f
		case opICMPTypeCode:
			l.icmp = f
		}
	}
	t.fastLayout, t.fast = l, true
}

func (f fastField) uint(rec []byte) uint64 { return readUint(rec[f.off : f.off+f.n]) }

// fastWalk decodes a record of exactly t.minLen bytes with t.fastLayout.
func fastWalk(l *fastLayout, rec []byte, r *flow.Record, s *scratch) {
	switch l.src.n {
	case 4:
		r.SrcAddr = netip.AddrFrom4([4]byte(rec[l.src.off:]))
	case 16:
		r.SrcAddr = netip.AddrFrom16([16]byte(rec[l.src.off:])).Unmap()
	}
	switch l.dst.n {
	case 4:
		r.DstAddr = netip.AddrFrom4([4]byte(rec[l.dst.off:]))
	case 16:
		r.DstAddr = netip.AddrFrom16([16]byte(rec[l.dst.off:])).Unmap()
	}
	if l.sport.n != 0 {
		r.SrcPort = uint16(l.sport.uint(rec))
	}
	if l.dport.n != 0 {
		r.DstPort = uint16(l.dport.uint(rec))
	}
	if l.proto.n != 0 {
		r.Proto = rec[l.proto.off+l.proto.n-1]
	}
	if l.flags.n != 0 {
		r.TCPFlags = rec[l.flags.off+l.flags.n-1]
	}
	if l.pkts.n != 0 {
		r.Packets = l.pkts.uint(rec)
	}
	if l.bytes.n != 0 {
		r.Bytes = l.bytes.uint(rec)
	}
	if l.start.n != 0 {
		s.start = l.start.uint(rec)
	}
	if l.end.n != 0 {
		s.end = l.end.uint(rec)
	}
	if l.sampler.n != 0 {
		s.samplerID = l.sampler.uint(rec)
	}
	if l.dir.n != 0 {
		switch l.dir.uint(rec) {
		case 0:
			r.Direction = flow.DirectionIngress
		case 1:
			r.Direction = flow.DirectionEgress
		}
	}
	if l.icmp.n != 0 {
		s.icmp = uint16(l.icmp.uint(rec))
	}
}
