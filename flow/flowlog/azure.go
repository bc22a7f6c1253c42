package flowlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-ids/vigil/flow"
)

// azureRecord is one element of an Azure flow log blob's "records" array.
// NSG flow logs keep their flows under properties.flows; VNet flow logs
// keep them under flowRecords (Microsoft's documented layout) and some
// exports under properties.flowRecords, so both are accepted.
type azureRecord struct {
	Time              string          `json:"time"`
	Category          string          `json:"category"`
	ResourceID        string          `json:"resourceId"`
	FlowLogVersion    int             `json:"flowLogVersion"`
	FlowLogResourceID string          `json:"flowLogResourceID"`
	TargetResourceID  string          `json:"targetResourceID"`
	FlowRecords       *azureVNetFlows `json:"flowRecords"`
	Properties        struct {
		Version     int             `json:"Version"`
		Flows       []azureNSGRule  `json:"flows"`
		FlowRecords *azureVNetFlows `json:"flowRecords"`
	} `json:"properties"`
}

type azureNSGRule struct {
	Rule  string `json:"rule"`
	Flows []struct {
		MAC        string   `json:"mac"`
		FlowTuples []string `json:"flowTuples"`
	} `json:"flows"`
}

type azureVNetFlows struct {
	Flows []struct {
		ACLID      string `json:"aclID"`
		FlowGroups []struct {
			Rule       string   `json:"rule"`
			FlowTuples []string `json:"flowTuples"`
		} `json:"flowGroups"`
	} `json:"flows"`
}

// ReadAzure reads Azure NSG (v1, v2) and VNet (v4) flow logs: one or more
// JSON objects {"records":[...]}, as written to blob storage or delivered
// through Event Hubs. Records are streamed, so a large blob is not held in
// memory at once.
func ReadAzure(r io.Reader, h flow.Handler) (Stats, error) {
	var st Stats
	dec := json.NewDecoder(r)
	var rec azureRecord
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return st, nil
		}
		if err != nil {
			return st, fmt.Errorf("azure flow log: %w: %w", ErrSyntax, err)
		}
		if d, ok := tok.(json.Delim); !ok || d != '{' {
			return st, fmt.Errorf("azure flow log: %w: want an object, got %v", ErrSyntax, tok)
		}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return st, fmt.Errorf("azure flow log: %w: %w", ErrSyntax, err)
			}
			if tok != "records" {
				var skip json.RawMessage
				if err := dec.Decode(&skip); err != nil {
					return st, fmt.Errorf("azure flow log: %w: %w", ErrSyntax, err)
				}
				continue
			}
			if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
				return st, fmt.Errorf("azure flow log: %w: records is not an array", ErrSyntax)
			}
			for dec.More() {
				rec = azureRecord{}
				if err := dec.Decode(&rec); err != nil {
					var te *json.UnmarshalTypeError
					if errors.As(err, &te) {
						// A record of the wrong shape: the decoder has
						// consumed it, so the stream goes on.
						st.bad(ReasonRecord)
						continue
					}
					return st, fmt.Errorf("azure flow log: %w: %w", ErrSyntax, err)
				}
				azureEmit(&rec, &st, h)
			}
			if _, err := dec.Token(); err != nil { // ']'
				return st, fmt.Errorf("azure flow log: %w: %w", ErrSyntax, err)
			}
		}
		if _, err := dec.Token(); err != nil { // '}'
			return st, fmt.Errorf("azure flow log: %w: %w", ErrSyntax, err)
		}
	}
}

func azureEmit(rec *azureRecord, st *Stats, h flow.Handler) {
	var r flow.Record
	r.SamplingRate = 1
	r.Flags = flow.FlagDeltaCounters
	vnet := rec.FlowRecords
	if vnet == nil {
		vnet = rec.Properties.FlowRecords
	}
	switch {
	case vnet != nil:
		r.Format = flow.FormatAzureVNet
		res := rec.TargetResourceID
		if res == "" {
			res = rec.FlowLogResourceID
		}
		r.Account = subscription(res)
		if rec.FlowLogVersion != 0 && rec.FlowLogVersion < 4 {
			// flowLogVersion 4 is the only VNet schema; future versions
			// are read as 4 as long as their tuples parse.
			st.bad(ReasonVersion)
			return
		}
		for _, f := range vnet.Flows {
			for _, g := range f.FlowGroups {
				for _, t := range g.FlowTuples {
					st.Entries++
					vnetTuple(t, &r, st, h)
				}
			}
		}
	case rec.Properties.Flows != nil:
		r.Format = flow.FormatAzureNSG
		r.Account = subscription(rec.ResourceID)
		v := rec.Properties.Version
		if v != 0 && v != 1 && v != 2 {
			st.bad(ReasonVersion)
			return
		}
		for _, rule := range rec.Properties.Flows {
			for _, f := range rule.Flows {
				for _, t := range f.FlowTuples {
					st.Entries++
					nsgTuple(t, v, &r, st, h)
				}
			}
		}
	default:
		st.bad(ReasonRecord)
	}
}

// subscription extracts <id> from "/subscriptions/<id>/...", any case.
func subscription(resourceID string) string {
	const p = "/subscriptions/"
	if len(resourceID) < len(p) || !strings.EqualFold(resourceID[:len(p)], p) {
		return ""
	}
	id, _ := nextField(resourceID[len(p):], '/')
	return strings.ToLower(id)
}

// nsgTuple parses "ts,src,dst,sport,dport,T|U,I|O,A|D" (version 1) plus
// ",B|C|E,pktsSrc,bytesSrc,pktsDst,bytesDst" (version 2). version 0 means
// unknown: the field count decides.
func nsgTuple(t string, version int, r *flow.Record, st *Stats, h flow.Handler) {
	var f [13]string
	n := split(t, ',', f[:])
	switch {
	case n == 8 && version != 2:
	case n == 13 && version != 1:
	default:
		st.bad(ReasonFieldCount)
		return
	}
	sec, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil || sec < 0 {
		st.bad(ReasonTime)
		return
	}
	r.Start = time.Unix(sec, 0).UTC()
	r.End = r.Start
	if !addrs(f[1], f[2], r, st) || !ports(f[3], f[4], r, st) {
		return
	}
	switch f[5] {
	case "T":
		r.Proto = flow.ProtoTCP
	case "U":
		r.Proto = flow.ProtoUDP
	default:
		st.bad(ReasonProtocol)
		return
	}
	if !direction(f[6], r, st) {
		return
	}
	switch f[7] {
	case "A":
		r.Action = flow.ActionAllow
	case "D":
		r.Action = flow.ActionDeny
	default:
		st.bad(ReasonAction)
		return
	}
	r.FlowState = 0
	if n == 8 {
		r.Packets, r.Bytes = 0, 0
		r.BiflowDirection = flow.BiflowInitiator
		r.Flags &^= flow.FlagReverse
		st.Records++
		h(r)
		return
	}
	switch f[8] {
	case "B", "C", "E":
		r.FlowState = f[8][0]
	default:
		st.bad(ReasonState)
		return
	}
	emitPair(f[9:13], r, st, h)
}

// vnetTuple parses a flowLogVersion 4 tuple: "ts_ms,src,dst,sport,dport,
// proto,I|O,B|C|E|D,encryption,pktsSrc,bytesSrc,pktsDst,bytesDst".
func vnetTuple(t string, r *flow.Record, st *Stats, h flow.Handler) {
	var f [13]string
	if split(t, ',', f[:]) != 13 {
		st.bad(ReasonFieldCount)
		return
	}
	ms, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil || ms < 0 {
		st.bad(ReasonTime)
		return
	}
	r.Start = time.UnixMilli(ms).UTC()
	r.End = r.Start
	if !addrs(f[1], f[2], r, st) || !ports(f[3], f[4], r, st) {
		return
	}
	p, err := strconv.ParseUint(f[5], 10, 8)
	if err != nil {
		st.bad(ReasonProtocol)
		return
	}
	r.Proto = uint8(p)
	if !direction(f[6], r, st) {
		return
	}
	switch f[7] {
	case "B", "C", "E":
		r.Action = flow.ActionAllow
	case "D":
		r.Action = flow.ActionDeny
	default:
		st.bad(ReasonState)
		return
	}
	r.FlowState = f[7][0]
	emitPair(f[9:13], r, st, h)
}

// emitPair emits the initiator's record, then the reply record when the
// tuple counts reply packets. Empty counters (a 'B' tuple) are zero.
func emitPair(c []string, r *flow.Record, st *Stats, h flow.Handler) {
	var v [4]uint64
	for i, s := range c {
		if s == "" {
			continue
		}
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			st.bad(ReasonCounter)
			return
		}
		v[i] = n
	}
	r.Packets, r.Bytes = v[0], v[1]
	r.BiflowDirection = flow.BiflowInitiator
	r.Flags &^= flow.FlagReverse
	st.Records++
	h(r)
	if v[2] == 0 && v[3] == 0 {
		return
	}
	r.SrcAddr, r.DstAddr = r.DstAddr, r.SrcAddr
	r.SrcPort, r.DstPort = r.DstPort, r.SrcPort
	r.Packets, r.Bytes = v[2], v[3]
	r.BiflowDirection = flow.BiflowReverseInitiator
	r.Flags |= flow.FlagReverse
	st.Records++
	h(r)
}

func addrs(src, dst string, r *flow.Record, st *Stats) bool {
	s, err1 := netip.ParseAddr(src)
	d, err2 := netip.ParseAddr(dst)
	if err1 != nil || err2 != nil || s.Zone() != "" || d.Zone() != "" {
		st.bad(ReasonAddress)
		return false
	}
	r.SrcAddr, r.DstAddr = s.Unmap(), d.Unmap()
	return true
}

func ports(src, dst string, r *flow.Record, st *Stats) bool {
	s, err1 := strconv.ParseUint(src, 10, 16)
	d, err2 := strconv.ParseUint(dst, 10, 16)
	if err1 != nil || err2 != nil {
		st.bad(ReasonPort)
		return false
	}
	r.SrcPort, r.DstPort = uint16(s), uint16(d)
	return true
}

func direction(s string, r *flow.Record, st *Stats) bool {
	switch s {
	case "I":
		r.Direction = flow.DirectionIngress
	case "O":
		r.Direction = flow.DirectionEgress
	default:
		st.bad(ReasonDirection)
		return false
	}
	return true
}

// split cuts s at sep into out and returns the number of fields, or
// len(out)+1 when there are more fields than out holds.
func split(s string, sep byte, out []string) int {
	n := 0
	for {
		if n == len(out) {
			return n + 1
		}
		i := strings.IndexByte(s, sep)
		if i < 0 {
			out[n] = s
			return n + 1
		}
		out[n] = s[:i]
		s = s[i+1:]
		n++
	}
}

// IsAzureFlowLog reports whether head, the start of a JSON document, looks
// like an Azure NSG or VNet flow log rather than another Azure log that
// shares the {"records":[...]} envelope (Activity Log, sign-in logs).
func IsAzureFlowLog(head []byte) bool {
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
	head = bytes.TrimLeft(head, " \t\r\n")
	if len(head) == 0 || head[0] != '{' || !bytes.Contains(head, []byte(`"records"`)) {
		return false
	}
	for _, marker := range [][]byte{
		[]byte(`"NetworkSecurityGroupFlowEvent"`),
		[]byte(`"FlowLogFlowEvent"`),
		[]byte(`"flowTuples"`),
		[]byte(`"flowLogVersion"`),
	} {
		if bytes.Contains(head, marker) {
			return true
		}
	}
	return false
}
