package netflow

import (
	"encoding/binary"
	"math"
	"net/netip"
	"time"

	"github.com/vigil-ids/vigil/flow"
)

// dataSet decodes a data set, or holds it until its template arrives.
func (d *Decoder) dataSet(dom *domain, tr Transport, hdr *msgHeader, id uint16, b []byte, h flow.Handler) {
	t := dom.templates[id]
	if t != nil && t.udp && d.now-t.seen > int64(d.cfg.TemplateTimeout) {
		delete(dom.templates, id)
		d.fail(nil, dom, rTemplateExpired)
		t = nil
	}
	if t == nil {
		d.hold(dom, hdr, id, b)
		return
	}
	if t.options {
		d.optionsRecords(dom, t, hdr, b)
		return
	}
	d.dataRecords(dom, t, hdr, b, h)
}

// walk applies the operations of t to the record at b[pos:] and returns the
// position after it, or false when a variable-length field overruns b.
func walk(t *template, b []byte, pos int, r *flow.Record, s *scratch) (int, bool) {
	base := pos
	for _, o := range t.ops {
		at := base + int(o.off)
		if o.kind == opVar || o.kind == opVarFrame {
			if at >= len(b) {
				return 0, false
			}
			n := int(b[at])
			at++
			if n == 255 {
				if at+2 > len(b) {
					return 0, false
				}
				n = int(binary.BigEndian.Uint16(b[at:]))
				at += 2
			}
			base = at + n
			if base > len(b) {
				return 0, false
			}
			if o.kind == opVarFrame {
				s.frame = b[at:base]
			}
			continue
		}
		end := at + int(o.len)
		if end > len(b) {
			return 0, false
		}
		v := b[at:end]
		switch o.kind {
		case opSrc4:
			r.SrcAddr = netip.AddrFrom4([4]byte(v))
		case opDst4:
			r.DstAddr = netip.AddrFrom4([4]byte(v))
		case opSrc6:
			r.SrcAddr = netip.AddrFrom16([16]byte(v)).Unmap()
		case opDst6:
			r.DstAddr = netip.AddrFrom16([16]byte(v)).Unmap()
		case opSrc4NZ:
			if binary.BigEndian.Uint32(v) != 0 || !r.SrcAddr.IsValid() {
				r.SrcAddr = netip.AddrFrom4([4]byte(v))
			}
		case opDst4NZ:
			if binary.BigEndian.Uint32(v) != 0 || !r.DstAddr.IsValid() {
				r.DstAddr = netip.AddrFrom4([4]byte(v))
			}
		case opSrc6NZ:
			if !allZero(v) || !r.SrcAddr.IsValid() {
				r.SrcAddr = netip.AddrFrom16([16]byte(v)).Unmap()
			}
		case opDst6NZ:
			if !allZero(v) || !r.DstAddr.IsValid() {
				r.DstAddr = netip.AddrFrom16([16]byte(v)).Unmap()
			}
		case opSrcPort:
			r.SrcPort = uint16(readUint(v))
		case opDstPort:
			r.DstPort = uint16(readUint(v))
		case opProto:
			r.Proto = v[len(v)-1]
		case opTCPFlags:
			r.TCPFlags = v[len(v)-1]
		case opPackets:
			r.Packets = readUint(v)
		case opBytes:
			r.Bytes = readUint(v)
		case opRevPackets:
			s.revPkts = readUint(v)
		case opRevBytes:
			s.revBytes = readUint(v)
		case opRevTCPFlags:
			s.revFlags = v[len(v)-1]
		case opDirection:
			switch readUint(v) {
			case 0:
				r.Direction = flow.DirectionIngress
			case 1:
				r.Direction = flow.DirectionEgress
			}
		case opBiflowDir:
			if x := readUint(v); x <= 3 {
				r.BiflowDirection = flow.BiflowDirection(x + 1)
			}
		case opICMPTypeCode:
			s.icmp = uint16(readUint(v))
		case opICMPType:
			s.icmp = s.icmp&0x00ff | uint16(v[len(v)-1])<<8
		case opICMPCode:
			s.icmp = s.icmp&0xff00 | uint16(v[len(v)-1])
		case opStart:
			s.start = readUint(v)
		case opEnd:
			s.end = readUint(v)
		case opObsTime:
			s.obs = readUint(v)
		case opSysInit:
			s.sysInit = readUint(v)
		case opSamplerID:
			s.samplerID = readUint(v)
		case opInterval:
			s.interval = readUint(v)
		case opRandomInterval:
			s.random = readUint(v)
		case opSelectorAlg:
			s.alg = readUint(v)
		case opPktInterval:
			s.pktInterval = readUint(v)
		case opPktSpace:
			s.pktSpace = readUint(v)
		case opSize:
			s.size = readUint(v)
		case opPopulation:
			s.population = readUint(v)
		case opFrame:
			s.frame = v
		case opFrameSize:
			s.frameSize = readUint(v)
		case opProbability:
			if len(v) == 4 {
				s.probability = float64(math.Float32frombits(binary.BigEndian.Uint32(v)))
			} else {
				s.probability = math.Float64frombits(binary.BigEndian.Uint64(v))
			}
		}
	}
	end := base + t.tail
	if end > len(b) {
		return 0, false
	}
	return end, true
}

// dataRecords decodes the records of a data set and hands them to h.
func (d *Decoder) dataRecords(dom *domain, t *template, hdr *msgHeader, b []byte, h flow.Handler) {
	exp := dom.exp
	r, s := &d.rec, &d.s
	base := flow.Record{Exporter: exp.addr, ObsDomain: hdr.domain, Format: hdr.format(), Flags: t.flags}
	setRate := dom.rate
	if setRate == 0 {
		setRate = exp.defaultRate
	}
	var sysInit int64 = -1
	if dom.hasSysInit {
		sysInit = dom.sysInit
	}
	lastID, lastRate, haveLast := uint64(0), uint32(0), false
	pos := 0
	for len(b)-pos >= t.minLen {
		*r = base
		if t.fast {
			fastWalk(&t.fastLayout, b[pos:pos+t.minLen], r, s)
			pos += t.minLen
		} else {
			next, ok := walk(t, b, pos, r, s)
			if !ok {
				d.fail(nil, dom, rBadVarLength)
				return
			}
			pos = next
		}

		// Times.
		si := sysInit
		if t.has[opSysInit] {
			si = int64(s.sysInit)
		}
		start, okS := timeOf(t.startKind, s.start, hdr, si)
		end, okE := timeOf(t.endKind, s.end, hdr, si)
		switch {
		case okS && okE:
		case okS:
			end = start
		case okE:
			start = end
		default:
			obs, ok := timeOf(t.obsKind, s.obs, hdr, si)
			if !ok {
				obs = hdr.exportTime()
				if t.startKind == timeUptime || t.endKind == timeUptime {
					// IPFIX uptime-relative times need the system init time
					// (IE 160), which this exporter has not sent yet.
					d.fail(nil, dom, rNoSysInit)
				}
			}
			start, end = obs, obs
		}
		r.Start = time.Unix(0, start).UTC()
		r.End = time.Unix(0, end).UTC()

		// Sampling: the record's own parameters, then its sampler's, then the
		// domain's, then the configured default.
		var rate uint32
		if t.perRecordRate {
			rate = rateOf(&t.has, s)
		}
		if rate == 0 && t.has[opSamplerID] {
			if !haveLast || s.samplerID != lastID {
				lastID, lastRate, haveLast = s.samplerID, dom.samplers[s.samplerID], true
			}
			rate = lastRate
		}
		if rate == 0 {
			rate = setRate
		}
		if rate == 0 {
			dom.c.unknownSampling++
		}
		r.SamplingRate = rate

		if t.frame {
			// A packet report: one sampled packet of dataLinkFrameSize
			// bytes (or of the section's length when the size is absent).
			parseFrame(s.frame, r)
			if !t.has[opPackets] {
				r.Packets = 1
			}
			if !t.has[opBytes] {
				r.Bytes = uint64(len(s.frame))
				if t.has[opFrameSize] {
					r.Bytes = s.frameSize
				}
			}
		}
		if t.icmp && (r.Proto == flow.ProtoICMP || r.Proto == flow.ProtoICMPv6) && r.SrcPort == 0 && r.DstPort == 0 {
			r.DstPort = s.icmp
		}
		dom.c.dataRecords++
		if !t.reverse || (s.revPkts == 0 && s.revBytes == 0) {
			h(r)
			continue
		}
		// The handler may change the record it is lent; the reverse record
		// is built from the forward one as decoded.
		fwd := *r
		h(r)
		*r = fwd
		reverse(t, r, s)
		if rate == 0 {
			dom.c.unknownSampling++
		}
		dom.c.reverseRecords++
		h(r)
	}
	s.frame = nil // do not keep the caller's buffer alive
	if pos < len(b) && !allZero(b[pos:]) {
		d.fail(nil, dom, rRecordTruncated)
	}
}

// reverse turns the forward record of an RFC 5103 biflow into its reverse
// record. BiflowDirection keeps describing the record's own endpoints: the
// initiator values swap, arbitrary and perimeter stay as exported (with
// FlagReverse telling that the exported source is now the destination).
func reverse(t *template, r *flow.Record, s *scratch) {
	r.SrcAddr, r.DstAddr = r.DstAddr, r.SrcAddr
	r.SrcPort, r.DstPort = r.DstPort, r.SrcPort
	r.Packets, r.Bytes = s.revPkts, s.revBytes
	if t.has[opRevTCPFlags] {
		r.TCPFlags = s.revFlags
		r.Flags |= flow.FlagHasTCPFlags
	} else {
		r.TCPFlags = 0
		r.Flags &^= flow.FlagHasTCPFlags
	}
	r.Flags |= flow.FlagReverse
	switch r.BiflowDirection {
	case flow.BiflowInitiator:
		r.BiflowDirection = flow.BiflowReverseInitiator
	case flow.BiflowReverseInitiator:
		r.BiflowDirection = flow.BiflowInitiator
	}
}

// timeOf converts a time field to Unix nanoseconds. sysInitMs is the
// exporter's boot time in Unix milliseconds, or -1 when unknown.
func timeOf(k timeKind, v uint64, hdr *msgHeader, sysInitMs int64) (int64, bool) {
	switch k {
	case timeNTPMicro:
		// The fraction is rounded to the microsecond the exporter meant:
		// truncating it would turn .492060 into .492059999.
		sec := int64(v>>32) - ntpEpochOffset
		frac := v & 0xffffffff
		return sec*1e9 + int64((frac*1e6+1<<31)>>32)*1e3, true
	case timeNTPNano:
		sec := int64(v>>32) - ntpEpochOffset
		frac := v & 0xffffffff
		return sec*1e9 + int64((frac*1e9+1<<31)>>32), true
	case timeMillis:
		return int64(v) * 1e6, true
	case timeSeconds:
		return int64(v) * 1e9, true
	case timeDeltaUs:
		return hdr.exportTime() - int64(v)*1e3, true
	case timeUptime:
		if sysInitMs >= 0 {
			return (sysInitMs + int64(v)) * 1e6, true
		}
		if hdr.version != 10 {
			// The signed difference handles sysUpTime wrapping after 49.7
			// days, and records stamped slightly after the header.
			return hdr.exportTime() - int64(int32(hdr.sysUpTime-uint32(v)))*1e6, true
		}
	}
	return 0, false
}

// rateOf computes a sampling rate from the sampling parameters of a record:
// the selector algorithm picks the parameters when it is given; otherwise
// the most specific parameters present win. It returns 0 when none apply.
func rateOf(has *[numOpKinds]bool, s *scratch) uint32 {
	nOfN := has[opSize] && has[opPopulation] && s.size > 0 && s.population > 0
	count := has[opPktInterval] && has[opPktSpace] && s.pktInterval > 0
	prob := has[opProbability] && s.probability > 0 && s.probability <= 1
	alg := uint64(0)
	if has[opSelectorAlg] {
		alg = s.alg
	}
	nOfNRate := func() uint32 { return clampRate(math.Round(float64(s.population) / float64(s.size))) }
	countRate := func() uint32 {
		return clampRate(math.Round(float64(s.pktInterval+s.pktSpace) / float64(s.pktInterval)))
	}
	probRate := func() uint32 { return clampRate(math.Round(1 / s.probability)) }
	switch {
	case alg == algRandomNOutOfN && nOfN:
		return nOfNRate()
	case alg == algSystematicCount && count:
		return countRate()
	case alg == algUniformProb && prob:
		return probRate()
	case nOfN:
		return nOfNRate()
	case count:
		return countRate()
	case prob:
		return probRate()
	case has[opRandomInterval] && s.random > 0:
		return clampRate(float64(s.random))
	case has[opInterval] && s.interval > 0:
		return clampRate(float64(s.interval))
	}
	return 0
}

func clampRate(f float64) uint32 {
	if f < 1 || math.IsNaN(f) {
		return 0
	}
	if f > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(f)
}

// optionsRecords decodes options data: sampler rates per sampler or
// selector id, a domain-wide rate, and the exporter's system init time.
func (d *Decoder) optionsRecords(dom *domain, t *template, hdr *msgHeader, b []byte) {
	r, s := &d.tmp, &d.s
	pos := 0
	for len(b)-pos >= t.minLen {
		next, ok := walk(t, b, pos, r, s)
		if !ok {
			d.fail(nil, dom, rBadVarLength)
			return
		}
		pos = next
		dom.c.optionsRecords++
		if t.has[opSysInit] {
			dom.sysInit, dom.hasSysInit = int64(s.sysInit), true
		}
		rate := rateOf(&t.has, s)
		if rate == 0 {
			continue
		}
		if !t.has[opSamplerID] {
			dom.rate = rate
			continue
		}
		if dom.samplers == nil {
			dom.samplers = make(map[uint64]uint32)
		}
		if _, ok := dom.samplers[s.samplerID]; !ok && len(dom.samplers) >= d.cfg.MaxTemplates {
			d.fail(nil, dom, rSamplerLimit)
			continue
		}
		dom.samplers[s.samplerID] = rate
	}
	if pos < len(b) && !allZero(b[pos:]) {
		d.fail(nil, dom, rRecordTruncated)
	}
}
