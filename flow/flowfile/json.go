package flowfile

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-ids/vigil/flow"
)

// AppendJSON appends r as one JSON object, without a newline, in the form
// `vigil flows` prints: start, end, src, dst, sport, dport, proto,
// tcp_flags, packets, bytes, sampling_rate, exporter, obs_domain,
// direction, biflow_direction, format, action, flow_state, account and
// reverse. Times are RFC 3339 in UTC; a missing address, direction, action
// or state is an empty string. It allocates nothing when b has room.
func AppendJSON(b []byte, r *flow.Record) []byte {
	b = append(b, `{"start":"`...)
	b = appendTime(b, r.Start)
	b = append(b, `","end":"`...)
	b = appendTime(b, r.End)
	b = append(b, `","src":"`...)
	b = appendAddr(b, r.SrcAddr)
	b = append(b, `","dst":"`...)
	b = appendAddr(b, r.DstAddr)
	b = append(b, `","sport":`...)
	b = strconv.AppendUint(b, uint64(r.SrcPort), 10)
	b = append(b, `,"dport":`...)
	b = strconv.AppendUint(b, uint64(r.DstPort), 10)
	b = append(b, `,"proto":`...)
	b = strconv.AppendUint(b, uint64(r.Proto), 10)
	b = append(b, `,"tcp_flags":`...)
	b = strconv.AppendUint(b, uint64(r.TCPFlags), 10)
	b = append(b, `,"packets":`...)
	b = strconv.AppendUint(b, r.Packets, 10)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendUint(b, r.Bytes, 10)
	b = append(b, `,"sampling_rate":`...)
	b = strconv.AppendUint(b, uint64(r.SamplingRate), 10)
	b = append(b, `,"exporter":"`...)
	b = appendAddr(b, r.Exporter)
	b = append(b, `","obs_domain":`...)
	b = strconv.AppendUint(b, uint64(r.ObsDomain), 10)
	b = append(b, `,"direction":"`...)
	b = append(b, r.Direction.String()...)
	b = append(b, `","biflow_direction":"`...)
	b = append(b, biflowName(r.BiflowDirection)...)
	b = append(b, `","format":"`...)
	b = append(b, r.Format.String()...)
	b = append(b, `","action":"`...)
	b = append(b, r.Action.String()...)
	b = append(b, `","flow_state":"`...)
	if s := r.FlowState; s >= 0x20 && s < 0x7f && s != '"' && s != '\\' {
		b = append(b, s)
	}
	b = append(b, `","account":`...)
	b = appendString(b, r.Account)
	b = append(b, `,"reverse":`...)
	b = strconv.AppendBool(b, r.Reverse())
	return append(b, '}')
}

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	return t.UTC().AppendFormat(b, time.RFC3339Nano)
}

func appendAddr(b []byte, a netip.Addr) []byte {
	if !a.IsValid() {
		return b
	}
	return a.AppendTo(b)
}

func biflowName(d flow.BiflowDirection) string {
	switch d {
	case flow.BiflowArbitrary:
		return "arbitrary"
	case flow.BiflowInitiator:
		return "initiator"
	case flow.BiflowReverseInitiator:
		return "reverse-initiator"
	case flow.BiflowPerimeter:
		return "perimeter"
	}
	return ""
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, `\u00`...)
			b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
