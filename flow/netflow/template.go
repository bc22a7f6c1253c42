package netflow

import (
	"bytes"
	"encoding/binary"

	"github.com/vigil-ids/vigil/flow"
)

// opKind names what a compiled field operation does with its bytes. Fields
// the record does not use get no operation at all: they are covered by the
// offsets of the fields that follow them.
type opKind uint8

const (
	opNone opKind = iota
	opVar         // variable-length field: read its length prefix, start a new segment
	opSrc4
	opDst4
	opSrc6
	opDst6
	opSrc4NZ // address of a template carrying both families: set only when not zero
	opDst4NZ
	opSrc6NZ
	opDst6NZ
	opSrcPort
	opDstPort
	opProto
	opTCPFlags
	opPackets
	opBytes
	opRevPackets
	opRevBytes
	opRevTCPFlags
	opDirection
	opBiflowDir
	opICMPTypeCode
	opICMPType
	opICMPCode
	opStart
	opEnd
	opObsTime
	opSysInit
	opSamplerID
	opInterval       // 34 samplingInterval
	opRandomInterval // 50 FLOW_SAMPLER_RANDOM_INTERVAL
	opSelectorAlg    // 304 selectorAlgorithm
	opPktInterval    // 305 samplingPacketInterval
	opPktSpace       // 306 samplingPacketSpace
	opSize           // 309 samplingSize
	opPopulation     // 310 samplingPopulation
	opProbability    // 311 samplingProbability
	opFrame          // 315 dataLinkFrameSection of a fixed length
	opVarFrame       // 315 dataLinkFrameSection of variable length
	opFrameSize      // 312 dataLinkFrameSize
	numOpKinds
)

// timeKind says how a start, end or observation time is encoded.
type timeKind uint8

const (
	timeNone     timeKind = iota
	timeNTPMicro          // dateTimeMicroseconds: NTP 64-bit, microsecond precision (RFC 7011 §6.1.9)
	timeNTPNano           // dateTimeNanoseconds: NTP 64-bit (RFC 7011 §6.1.10)
	timeMillis            // dateTimeMilliseconds since the Unix epoch
	timeSeconds           // dateTimeSeconds
	timeDeltaUs           // microseconds before the export time (158/159)
	timeUptime            // milliseconds of sysUpTime (21/22)
)

// op is one compiled field operation: the field's offset in its segment
// (the bytes since the record start or the last variable-length field) and
// its length.
type op struct {
	off  uint16
	len  uint16
	kind opKind
}

// field is one field specifier of a template record.
type field struct {
	id     uint16
	length uint16
	pen    uint32
}

// template is a compiled data or options template.
type template struct {
	id      uint16
	options bool
	// spec is the template record as received (without the template id), to
	// recognise a refresh without compiling again.
	spec []byte
	seen int64 // clock (ns) of the last definition or refresh, for UDP expiry
	udp  bool  // received over UDP, so it expires

	ops    []op
	minLen int // bytes of the fixed fields plus one per variable-length field
	tail   int // fixed bytes after the last variable-length field
	fixed  bool

	startKind, endKind, obsKind timeKind
	has                         [numOpKinds]bool
	flags                       uint8 // flow.Flag* constant for every record
	perRecordRate               bool  // the data record carries its own sampling parameters
	reverse                     bool  // RFC 5103 reverse counters are present
	icmp                        bool
	frame                       bool // the record key comes from dataLinkFrameSection
	fast                        bool // fixed length and only usual fields: use fastLayout
	fastLayout                  fastLayout
	badLength                   bool // a known field had an unusable length and is skipped
}

// candidate is a field that could feed a record value; among candidates of
// the same kind the lowest prio wins (delta counters before totals, the finest
// time before coarser ones).
type candidate struct {
	kind opKind
	prio uint8
	tk   timeKind
}

// classify maps a field specifier to the operation it feeds, if any.
func classify(f field) (candidate, bool) {
	if f.pen == penReverse {
		switch f.id {
		case iePacketDeltaCount:
			return candidate{kind: opRevPackets}, true
		case iePacketTotalCount:
			return candidate{kind: opRevPackets, prio: 1}, true
		case ieOctetDeltaCount:
			return candidate{kind: opRevBytes}, true
		case ieOctetTotalCount:
			return candidate{kind: opRevBytes, prio: 1}, true
		case ieTCPControlBits:
			return candidate{kind: opRevTCPFlags}, true
		}
		return candidate{}, false
	}
	if f.pen != 0 {
		return candidate{}, false
	}
	switch f.id {
	case ieSourceIPv4Address:
		return candidate{kind: opSrc4}, true
	case ieDestinationIPv4Address:
		return candidate{kind: opDst4}, true
	case ieSourceIPv6Address:
		return candidate{kind: opSrc6}, true
	case ieDestinationIPv6Address:
		return candidate{kind: opDst6}, true
	case ieSourceTransportPort:
		return candidate{kind: opSrcPort}, true
	case ieUDPSourcePort, ieTCPSourcePort:
		return candidate{kind: opSrcPort, prio: 1}, true
	case ieDestinationTransportPort:
		return candidate{kind: opDstPort}, true
	case ieUDPDestinationPort, ieTCPDestinationPort:
		return candidate{kind: opDstPort, prio: 1}, true
	case ieProtocolIdentifier:
		return candidate{kind: opProto}, true
	case ieTCPControlBits:
		return candidate{kind: opTCPFlags}, true
	case iePacketDeltaCount:
		return candidate{kind: opPackets}, true
	case iePacketTotalCount:
		return candidate{kind: opPackets, prio: 1}, true
	case iePostPacketDeltaCount:
		return candidate{kind: opPackets, prio: 2}, true
	case iePostPacketTotalCount:
		return candidate{kind: opPackets, prio: 3}, true
	case ieOctetDeltaCount:
		return candidate{kind: opBytes}, true
	case ieOctetTotalCount:
		return candidate{kind: opBytes, prio: 1}, true
	case iePostOctetDeltaCount:
		return candidate{kind: opBytes, prio: 2}, true
	case iePostOctetTotalCount:
		return candidate{kind: opBytes, prio: 3}, true
	case ieFlowDirection:
		return candidate{kind: opDirection}, true
	case ieBiflowDirection:
		return candidate{kind: opBiflowDir}, true
	case ieICMPTypeCodeIPv4, ieICMPTypeCodeIPv6:
		return candidate{kind: opICMPTypeCode}, true
	case ieICMPTypeIPv4, ieICMPTypeIPv6:
		return candidate{kind: opICMPType}, true
	case ieICMPCodeIPv4, ieICMPCodeIPv6:
		return candidate{kind: opICMPCode}, true
	case ieFlowStartNanoseconds:
		return candidate{kind: opStart, prio: 0, tk: timeNTPNano}, true
	case ieFlowStartMicroseconds:
		return candidate{kind: opStart, prio: 1, tk: timeNTPMicro}, true
	case ieFlowStartMilliseconds:
		return candidate{kind: opStart, prio: 2, tk: timeMillis}, true
	case ieFlowStartSeconds:
		return candidate{kind: opStart, prio: 3, tk: timeSeconds}, true
	case ieFlowStartDeltaMicros:
		return candidate{kind: opStart, prio: 4, tk: timeDeltaUs}, true
	case ieFlowStartSysUpTime:
		return candidate{kind: opStart, prio: 5, tk: timeUptime}, true
	case ieFlowEndNanoseconds:
		return candidate{kind: opEnd, prio: 0, tk: timeNTPNano}, true
	case ieFlowEndMicroseconds:
		return candidate{kind: opEnd, prio: 1, tk: timeNTPMicro}, true
	case ieFlowEndMilliseconds:
		return candidate{kind: opEnd, prio: 2, tk: timeMillis}, true
	case ieFlowEndSeconds:
		return candidate{kind: opEnd, prio: 3, tk: timeSeconds}, true
	case ieFlowEndDeltaMicros:
		return candidate{kind: opEnd, prio: 4, tk: timeDeltaUs}, true
	case ieFlowEndSysUpTime:
		return candidate{kind: opEnd, prio: 5, tk: timeUptime}, true
	case ieObservationTimeNanos:
		return candidate{kind: opObsTime, prio: 0, tk: timeNTPNano}, true
	case ieObservationTimeMicros:
		return candidate{kind: opObsTime, prio: 1, tk: timeNTPMicro}, true
	case ieObservationTimeMillis:
		return candidate{kind: opObsTime, prio: 2, tk: timeMillis}, true
	case ieObservationTimeSeconds:
		return candidate{kind: opObsTime, prio: 3, tk: timeSeconds}, true
	case ieSystemInitTimeMillis:
		return candidate{kind: opSysInit}, true
	case ieSelectorID:
		return candidate{kind: opSamplerID}, true
	case ieSamplerID:
		return candidate{kind: opSamplerID, prio: 1}, true
	case ieSamplingInterval:
		return candidate{kind: opInterval}, true
	case ieSamplerRandomInterval:
		return candidate{kind: opRandomInterval}, true
	case ieSelectorAlgorithm:
		return candidate{kind: opSelectorAlg}, true
	case ieSamplingPacketInterval:
		return candidate{kind: opPktInterval}, true
	case ieSamplingPacketSpace:
		return candidate{kind: opPktSpace}, true
	case ieSamplingSize:
		return candidate{kind: opSize}, true
	case ieSamplingPopulation:
		return candidate{kind: opPopulation}, true
	case ieSamplingProbability:
		return candidate{kind: opProbability}, true
	case ieDataLinkFrameSection:
		return candidate{kind: opFrame}, true
	case ieDataLinkFrameSize:
		return candidate{kind: opFrameSize}, true
	}
	return candidate{}, false
}

// lengthOK tells whether a field length can be decoded for an operation.
// Unsigned integers accept reduced-size encoding (RFC 7011 §6.2); addresses
// and timestamps in NTP format do not.
func lengthOK(k opKind, tk timeKind, n uint16) bool {
	switch k {
	case opSrc4, opDst4:
		return n == 4
	case opSrc6, opDst6:
		return n == 16
	case opProbability:
		return n == 4 || n == 8
	case opFrame:
		return n >= 1
	case opStart, opEnd, opObsTime:
		if tk == timeNTPMicro || tk == timeNTPNano {
			return n == 8
		}
		return n >= 1 && n <= 8
	}
	return n >= 1 && n <= 8
}

// compile turns the field specifiers of a template into operations.
// skipScope is the number of leading NetFlow v9 scope fields, whose types are
// scope types rather than information elements, and which are only skipped.
func compile(id uint16, options bool, fields []field, skipScope int, spec []byte) *template {
	t := &template{id: id, options: options, fixed: true}
	t.spec = append([]byte(nil), spec...)

	// First pass: pick, per kind, the field that feeds it.
	var best [numOpKinds]int
	var bestPrio [numOpKinds]uint8
	var bestTK [numOpKinds]timeKind
	for i := range best {
		best[i] = -1
	}
	for i, f := range fields {
		if i < skipScope {
			continue
		}
		c, ok := classify(f)
		if ok && f.length == variableLength {
			if c.kind == opFrame {
				best[opVarFrame] = i
			}
			continue
		}
		if !ok {
			continue
		}
		if !lengthOK(c.kind, c.tk, f.length) {
			t.badLength = true
			continue
		}
		// An element that occurs more than once describes nested headers in
		// the order the metering process met them (RFC 7011 §8): the last
		// occurrence, the innermost header, is the flow's.
		if best[c.kind] < 0 || c.prio <= bestPrio[c.kind] {
			best[c.kind], bestPrio[c.kind], bestTK[c.kind] = i, c.prio, c.tk
		}
	}
	both := best[opSrc4] >= 0 && best[opSrc6] >= 0 || best[opDst4] >= 0 && best[opDst6] >= 0

	// Second pass: lay out the operations in wire order.
	chosen := make(map[int]opKind, 16)
	for k := opKind(0); k < numOpKinds; k++ {
		if best[k] >= 0 && k != opVarFrame {
			chosen[best[k]] = k
			t.has[k] = true
		}
	}
	off := 0
	for i, f := range fields {
		if f.length == variableLength {
			k := opVar
			if best[opVarFrame] == i {
				k = opVarFrame
				t.has[opVarFrame] = true
			}
			t.ops = append(t.ops, op{off: uint16(off), kind: k})
			t.minLen += off + 1
			off = 0
			t.fixed = false
			continue
		}
		if k, ok := chosen[i]; ok {
			if both {
				switch k {
				case opSrc4:
					k = opSrc4NZ
				case opDst4:
					k = opDst4NZ
				case opSrc6:
					k = opSrc6NZ
				case opDst6:
					k = opDst6NZ
				}
			}
			t.ops = append(t.ops, op{off: uint16(off), len: f.length, kind: k})
		}
		off += int(f.length)
	}
	t.minLen += off
	t.tail = off
	t.startKind, t.endKind, t.obsKind = bestTK[opStart], bestTK[opEnd], bestTK[opObsTime]

	if t.has[opTCPFlags] {
		t.flags |= flow.FlagHasTCPFlags
	}
	if f := best[opPackets]; f >= 0 {
		if bestPrio[opPackets] == 0 || bestPrio[opPackets] == 2 {
			t.flags |= flow.FlagDeltaCounters
		}
	} else if best[opBytes] >= 0 && (bestPrio[opBytes] == 0 || bestPrio[opBytes] == 2) {
		t.flags |= flow.FlagDeltaCounters
	}
	t.perRecordRate = t.has[opInterval] || t.has[opRandomInterval] || t.has[opPktInterval] ||
		t.has[opSize] || t.has[opProbability]
	t.reverse = t.has[opRevPackets] || t.has[opRevBytes]
	t.icmp = t.has[opICMPTypeCode] || t.has[opICMPType] || t.has[opICMPCode]
	// A packet report without flow addresses gets its key from the frame.
	t.frame = (t.has[opFrame] || t.has[opVarFrame]) &&
		!t.has[opSrc4] && !t.has[opDst4] && !t.has[opSrc6] && !t.has[opDst6]
	if t.frame && !t.has[opPackets] && !t.has[opBytes] {
		t.flags |= flow.FlagDeltaCounters // one packet, reported once
	}
	buildFast(t)
	return t
}

// sameSpec reports whether a template record repeats this one exactly.
func (t *template) sameSpec(options bool, spec []byte) bool {
	return t.options == options && bytes.Equal(t.spec, spec)
}

// readUint decodes a big-endian unsigned integer of 1 to 8 bytes, which
// covers reduced-size encoding.
func readUint(b []byte) uint64 {
	switch len(b) {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(binary.BigEndian.Uint16(b))
	case 4:
		return uint64(binary.BigEndian.Uint32(b))
	case 8:
		return binary.BigEndian.Uint64(b)
	}
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}
