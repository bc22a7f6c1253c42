package flowlog

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/vigil-ids/vigil/flow"
)

// vpcField names the VPC Flow Logs fields the reader uses; the others are
// accepted in a custom format and ignored.
type vpcField uint8

const (
	vpcIgnored vpcField = iota
	vpcVersion
	vpcAccount
	vpcSrcAddr
	vpcDstAddr
	vpcSrcPort
	vpcDstPort
	vpcProtocol
	vpcPackets
	vpcBytes
	vpcStart
	vpcEnd
	vpcAction
	vpcLogStatus
	vpcTCPFlags
	vpcFlowDirection
	vpcPktSrcAddr
	vpcPktDstAddr
)

// vpcFields lists every field AWS documents for VPC Flow Logs (versions 2
// to 5), so a header line can be told from a record.
var vpcFields = map[string]vpcField{
	"version": vpcVersion, "account-id": vpcAccount, "interface-id": vpcIgnored,
	"srcaddr": vpcSrcAddr, "dstaddr": vpcDstAddr, "srcport": vpcSrcPort, "dstport": vpcDstPort,
	"protocol": vpcProtocol, "packets": vpcPackets, "bytes": vpcBytes, "start": vpcStart, "end": vpcEnd,
	"action": vpcAction, "log-status": vpcLogStatus,
	"vpc-id": vpcIgnored, "subnet-id": vpcIgnored, "instance-id": vpcIgnored, "tcp-flags": vpcTCPFlags,
	"type": vpcIgnored, "pkt-srcaddr": vpcPktSrcAddr, "pkt-dstaddr": vpcPktDstAddr,
	"region": vpcIgnored, "az-id": vpcIgnored, "sublocation-type": vpcIgnored, "sublocation-id": vpcIgnored,
	"pkt-src-aws-service": vpcIgnored, "pkt-dst-aws-service": vpcIgnored, "flow-direction": vpcFlowDirection,
	"traffic-path": vpcIgnored, "ecs-cluster-arn": vpcIgnored, "ecs-cluster-name": vpcIgnored,
	"ecs-container-instance-arn": vpcIgnored, "ecs-container-instance-id": vpcIgnored,
	"ecs-container-id": vpcIgnored, "ecs-second-container-id": vpcIgnored, "ecs-service-name": vpcIgnored,
	"ecs-task-definition-arn": vpcIgnored, "ecs-task-arn": vpcIgnored, "ecs-task-id": vpcIgnored,
	"reject-reason": vpcIgnored,
}

// defaultVPCFormat is the version 2 default format, used when a file has
// no header line (CloudWatch Logs exports).
var defaultVPCFormat = []vpcField{vpcVersion, vpcAccount, vpcIgnored, vpcSrcAddr, vpcDstAddr,
	vpcSrcPort, vpcDstPort, vpcProtocol, vpcPackets, vpcBytes, vpcStart, vpcEnd, vpcAction, vpcLogStatus}

// maxVPCFields bounds a line's fields: the documented fields number 41.
const maxVPCFields = 64

// maxVPCLine bounds a line: even with every field and the longest ECS
// ARNs a record stays under a few KiB, so a longer line is counted as
// malformed instead of being buffered.
const maxVPCLine = 64 << 10

// parseVPCHeader returns the format a header line describes, or nil when
// the line is not a header.
func parseVPCHeader(line []byte) []vpcField {
	var out []vpcField
	for f := range bytes.FieldsSeq(line) {
		v, ok := vpcFields[string(f)]
		if !ok || len(out) == maxVPCFields {
			return nil
		}
		out = append(out, v)
	}
	return out
}

// ReadVPC reads AWS VPC Flow Logs: space-separated lines, the format given
// by a header line (which may appear again, as in concatenated files) or
// else the default version 2 format. Records whose log-status is NODATA or
// SKIPDATA are counted in Stats.Skipped and not emitted.
func ReadVPC(r io.Reader, h flow.Handler) (Stats, error) {
	var st Stats
	br := bufio.NewReaderSize(r, maxVPCLine)
	format := defaultVPCFormat
	headerSeen := false
	var fields [maxVPCFields][]byte
	var rec flow.Record
	var account []byte // the last account id, kept as a string in rec
	line := 0
	for eof := false; !eof; {
		raw, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// No record is this long: count the line and resynchronise
			// at the next one rather than give up on the file.
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			line++
			st.Entries++
			st.bad(ReasonLineLength)
			raw = nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return st, fmt.Errorf("vpc flow log line %d: %w", line+1, err)
		}
		eof = err != nil
		if len(raw) > 0 {
			line++
		}
		b := bytes.TrimSpace(raw)
		if len(b) == 0 {
			continue
		}
		if b[0] < '0' || b[0] > '9' {
			if f := parseVPCHeader(b); f != nil {
				format, headerSeen = f, true
				// A format without account-id must not inherit the
				// account of the records before it.
				account, rec.Account = account[:0], ""
				continue
			}
			if b[0] != '-' && !headerSeen && line == 1 {
				return st, fmt.Errorf("vpc flow log line 1: %w: not a header or a record", ErrSyntax)
			}
		}
		st.Entries++
		n := 0
		for f := range bytes.FieldsSeq(b) {
			if n == maxVPCFields {
				n++
				break
			}
			fields[n] = f
			n++
		}
		if n != len(format) {
			st.bad(ReasonFieldCount)
			continue
		}
		vpcRecord(format, fields[:n], &rec, &account, &st, h)
	}
	return st, nil
}

func vpcRecord(format []vpcField, fields [][]byte, r *flow.Record, account *[]byte, st *Stats, h flow.Handler) {
	var src, dst, pktSrc, pktDst netip.Addr
	var start, end int64
	hasFlags := false
	r.Packets, r.Bytes, r.SrcPort, r.DstPort, r.Proto, r.TCPFlags = 0, 0, 0, 0, 0, 0
	r.Action, r.Direction = flow.ActionUnknown, flow.DirectionUnknown
	// log-status decides first: NODATA and SKIPDATA lines hold "-" in
	// most fields.
	for i, kind := range format {
		if kind != vpcLogStatus {
			continue
		}
		switch f := fields[i]; string(f) {
		case "OK":
		case "NODATA", "SKIPDATA":
			st.skip(string(f))
			return
		default:
			st.bad(ReasonLogStatus)
			return
		}
	}
	for i, kind := range format {
		f := fields[i]
		if kind == vpcAccount {
			// Interned: a file holds one or a few accounts, so the string
			// is made once, not per record.
			if !bytes.Equal(f, *account) {
				*account = append((*account)[:0], f...)
				r.Account = string(f)
				if string(f) == "-" {
					r.Account = ""
				}
			}
			continue
		}
		if len(f) == 1 && f[0] == '-' {
			continue
		}
		switch kind {
		case vpcSrcAddr, vpcDstAddr, vpcPktSrcAddr, vpcPktDstAddr:
			a, ok := parseAddr(f)
			if !ok {
				st.bad(ReasonAddress)
				return
			}
			switch kind {
			case vpcSrcAddr:
				src = a
			case vpcDstAddr:
				dst = a
			case vpcPktSrcAddr:
				pktSrc = a
			default:
				pktDst = a
			}
		case vpcSrcPort, vpcDstPort:
			p, ok := parseUint(f, 0xffff)
			if !ok {
				st.bad(ReasonPort)
				return
			}
			if kind == vpcSrcPort {
				r.SrcPort = uint16(p)
			} else {
				r.DstPort = uint16(p)
			}
		case vpcProtocol:
			p, ok := parseUint(f, 0xff)
			if !ok {
				st.bad(ReasonProtocol)
				return
			}
			r.Proto = uint8(p)
		case vpcPackets, vpcBytes:
			c, ok := parseUint(f, 1<<63)
			if !ok {
				st.bad(ReasonCounter)
				return
			}
			if kind == vpcPackets {
				r.Packets = c
			} else {
				r.Bytes = c
			}
		case vpcStart, vpcEnd:
			u, ok := parseUint(f, 1<<40)
			t := int64(u)
			if !ok {
				st.bad(ReasonTime)
				return
			}
			if kind == vpcStart {
				start = t
			} else {
				end = t
			}
		case vpcAction:
			switch string(f) {
			case "ACCEPT":
				r.Action = flow.ActionAllow
			case "REJECT":
				r.Action = flow.ActionDeny
			default:
				st.bad(ReasonAction)
				return
			}
		case vpcTCPFlags:
			fl, ok := parseUint(f, 0xff)
			if !ok {
				st.bad(ReasonTCPFlags)
				return
			}
			r.TCPFlags, hasFlags = uint8(fl), true
		case vpcFlowDirection:
			switch string(f) {
			case "ingress":
				r.Direction = flow.DirectionIngress
			case "egress":
				r.Direction = flow.DirectionEgress
			default:
				st.bad(ReasonDirection)
				return
			}
		}
	}
	// pkt-srcaddr and pkt-dstaddr name the real endpoints behind a NAT
	// gateway, a load balancer or an EKS pod's secondary address; srcaddr
	// and dstaddr are only the interface's view.
	if pktSrc.IsValid() {
		src = pktSrc
	}
	if pktDst.IsValid() {
		dst = pktDst
	}
	if !src.IsValid() || !dst.IsValid() {
		st.bad(ReasonAddress)
		return
	}
	if end < start {
		st.bad(ReasonTime)
		return
	}
	r.SrcAddr, r.DstAddr = src.Unmap(), dst.Unmap()
	r.Start, r.End = time.Unix(start, 0).UTC(), time.Unix(end, 0).UTC()
	r.SamplingRate = 1
	r.Format = flow.FormatAWSVPC
	r.Flags = flow.FlagDeltaCounters
	if hasFlags {
		r.Flags |= flow.FlagHasTCPFlags
	}
	st.Records++
	h(r)
}

// parseUint parses a decimal number no greater than limit, without the
// string conversion strconv would need.
func parseUint(b []byte, limit uint64) (uint64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (limit-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// parseAddr parses an IPv4 or IPv6 address in place. netip.ParseAddr
// would need a string, and the conversion escapes (a zone is interned), so
// every IPv6 record of a dual-stack VPC would allocate twice. Zones are
// refused: a log names no interface. FuzzParseNumbers holds both parsers
// to netip's answers.
func parseAddr(b []byte) (netip.Addr, bool) {
	if bytes.IndexByte(b, ':') >= 0 {
		return parseIPv6(b)
	}
	a, ok := parseIPv4(b)
	if !ok {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(a), true
}

// parseIPv4 parses a dotted quad; like netip it refuses leading zeros,
// which some parsers read as octal.
func parseIPv4(b []byte) ([4]byte, bool) {
	var a [4]byte
	i, part, digits := 0, 0, 0
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			if digits > 0 && part == 0 {
				return a, false // leading zero
			}
			part = part*10 + int(c-'0')
			digits++
			if part > 255 {
				return a, false
			}
		case c == '.' && digits > 0 && i < 3:
			a[i] = byte(part)
			i, part, digits = i+1, 0, 0
		default:
			return a, false
		}
	}
	if i != 3 || digits == 0 {
		return a, false
	}
	a[3] = byte(part)
	return a, true
}

// parseIPv6 parses RFC 4291 text: up to eight groups of one to four hex
// digits, at most one "::" standing for one or more zero groups, and an
// optional dotted quad in the last 32 bits.
func parseIPv6(s []byte) (netip.Addr, bool) {
	var ip [16]byte
	ellipsis := -1 // byte index where "::" stands
	if len(s) >= 2 && s[0] == ':' && s[1] == ':' {
		ellipsis, s = 0, s[2:]
		if len(s) == 0 {
			return netip.IPv6Unspecified(), true
		}
	}
	i := 0
	for i < 16 {
		n, acc := 0, 0
		for ; n < len(s); n++ {
			d := hexDigit(s[n])
			if d < 0 {
				break
			}
			acc = acc<<4 | d
			if n == 4 {
				return netip.Addr{}, false // five digits
			}
		}
		if n == 0 {
			return netip.Addr{}, false
		}
		if n < len(s) && s[n] == '.' {
			if ellipsis < 0 && i != 12 || i > 12 {
				return netip.Addr{}, false
			}
			a, ok := parseIPv4(s)
			if !ok {
				return netip.Addr{}, false
			}
			copy(ip[i:], a[:])
			i, s = i+4, nil
			break
		}
		ip[i], ip[i+1] = byte(acc>>8), byte(acc)
		i, s = i+2, s[n:]
		if len(s) == 0 {
			break
		}
		if s[0] != ':' || len(s) == 1 {
			return netip.Addr{}, false
		}
		s = s[1:]
		if s[0] == ':' {
			if ellipsis >= 0 {
				return netip.Addr{}, false // a second "::"
			}
			ellipsis, s = i, s[1:]
			if len(s) == 0 {
				break
			}
		}
	}
	if len(s) != 0 {
		return netip.Addr{}, false
	}
	if i < 16 {
		if ellipsis < 0 {
			return netip.Addr{}, false
		}
		n := 16 - i
		copy(ip[ellipsis+n:], ip[ellipsis:i])
		clear(ip[ellipsis : ellipsis+n])
	} else if ellipsis >= 0 {
		return netip.Addr{}, false // "::" must stand for at least one group
	}
	return netip.AddrFrom16(ip), true
}

func hexDigit(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// IsVPC reports whether head looks like a VPC Flow Logs file: a header
// line of known field names that includes srcaddr and dstaddr, or a first
// line in the default version 2 format.
func IsVPC(head []byte) bool {
	line, _, _ := bytes.Cut(head, []byte("\n"))
	line = bytes.TrimSpace(line)
	// JSON (audit logs, Azure flow logs) is the common other case: its
	// first line can be the whole 64 KiB head, not worth splitting.
	if len(line) == 0 || line[0] == '{' || line[0] == '[' {
		return false
	}
	if f := parseVPCHeader(line); f != nil {
		var s, d bool
		for _, k := range f {
			s = s || k == vpcSrcAddr || k == vpcPktSrcAddr
			d = d || k == vpcDstAddr || k == vpcPktDstAddr
		}
		return s && d
	}
	fs := bytes.Fields(line)
	if len(fs) != len(defaultVPCFormat) || string(fs[0]) != "2" {
		return false
	}
	last := string(fs[len(fs)-1])
	return last == "OK" || last == "NODATA" || last == "SKIPDATA"
}
