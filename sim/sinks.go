package sim

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/vigil-ids/vigil/flow"
	"github.com/vigil-ids/vigil/flow/export"
)

// sink writes the connections one flow source sees, an hour at a time.
type sink interface {
	add(c *conn)
	// endHour writes out everything that started before end.
	endHour(end time.Time) error
	close() error
	records() uint64
}

// local returns the connection with the addresses of this source's
// resources replaced by their private ones, as a cloud flow log shows
// them, and which side is local: 'O' when the client is ours, 'I' else.
func local(c *conn, idx int) (conn, byte) {
	out := *c
	dir := byte('I')
	if c.sres != nil && slices.Contains(c.sres.sources, idx) {
		out.server = c.sres.private
	}
	if c.cres != nil && slices.Contains(c.cres.sources, idx) {
		out.client = c.cres.private
		dir = 'O'
	}
	return out, dir
}

func localRes(c *conn, idx int) *resource {
	if c.cres != nil && slices.Contains(c.cres.sources, idx) {
		return c.cres
	}
	return c.sres
}

// ipfixSink writes IPFIX files (one per day) or pcaps of IPFIX datagrams.
type ipfixSink struct {
	dir  string
	src  source
	pcap bool
	r    rng
	buf  []flow.Record
	day  string
	f    *os.File
	bw   *bufio.Writer
	w    *export.IPFIXWriter
	n    uint64
}

func newIPFIXSink(dir string, src source, pcap bool, r rng) *ipfixSink {
	return &ipfixSink{dir: dir, src: src, pcap: pcap, r: r}
}

func (s *ipfixSink) records() uint64 { return s.n }

func (s *ipfixSink) add(c *conn) {
	cl := flow.Record{Start: c.start, End: c.start.Add(c.dur), SrcAddr: c.client, DstAddr: c.server, SrcPort: c.cport, DstPort: c.sport,
		Proto: c.proto, TCPFlags: c.cFlags, Packets: uint64(c.cPkts), Bytes: c.cBytes}
	if s.sample(&cl, c.cFlags&flow.TCPSyn) {
		s.buf = append(s.buf, cl)
	}
	if c.sPkts == 0 {
		return
	}
	sv := flow.Record{Start: c.start.Add(time.Millisecond), End: c.start.Add(c.dur), SrcAddr: c.server, DstAddr: c.client, SrcPort: c.sport, DstPort: c.cport,
		Proto: c.proto, TCPFlags: c.sFlags, Packets: uint64(c.sPkts), Bytes: c.sBytes}
	first := c.sFlags & (flow.TCPSyn | flow.TCPRst | flow.TCPAck)
	if s.sample(&sv, first) {
		s.buf = append(s.buf, sv)
	}
}

// sample applies 1-in-rate random packet sampling to a flow whose first
// packet carries firstFlags: the record survives when any packet is
// selected, with the flags and bytes of the selected packets only.
func (s *ipfixSink) sample(rec *flow.Record, firstFlags uint8) bool {
	if s.src.rate <= 1 {
		return true
	}
	p := 1 / float64(s.src.rate)
	first := s.r.Float64() < p
	rest := s.r.binomial(int(rec.Packets)-1, p)
	k := rest
	var flags uint8
	if first {
		k++
		flags |= firstFlags
	}
	if k == 0 {
		return false
	}
	if rest > 0 {
		flags |= rec.TCPFlags &^ flow.TCPSyn
	}
	rec.Bytes = rec.Bytes * uint64(k) / rec.Packets
	rec.Packets = uint64(k)
	rec.TCPFlags = flags
	return true
}

// endHour writes the records that ended before end, in order of their
// end: an exporter exports a flow when it ends, so a long session comes
// out after shorter flows that started later, and the export time (and a
// pcap's frame time) never jumps ahead. Flow starts are then out of order
// by up to the longest session, about 90 minutes.
func (s *ipfixSink) endHour(end time.Time) error {
	slices.SortStableFunc(s.buf, func(a, b flow.Record) int { return a.End.Compare(b.End) })
	cut := 0
	for cut < len(s.buf) && s.buf[cut].End.Before(end) {
		cut++
	}
	if err := s.writeDay(end.Add(-time.Hour), s.buf[:cut]); err != nil {
		return err
	}
	s.buf = append(s.buf[:0], s.buf[cut:]...)
	return nil
}

func (s *ipfixSink) writeDay(hour time.Time, recs []flow.Record) error {
	day := hour.Format("20060102")
	if day != s.day {
		if err := s.closeFile(); err != nil {
			return err
		}
		if err := s.open(day); err != nil {
			return err
		}
	}
	for i := range recs {
		if err := s.w.Write(&recs[i]); err != nil {
			return err
		}
	}
	s.n += uint64(len(recs))
	return nil
}

func (s *ipfixSink) open(day string) error {
	ext := ".ipfix"
	sub := "ipfix"
	if s.pcap {
		ext, sub = ".pcap", "pcap"
	}
	dir := filepath.Join(s.dir, sub, s.src.name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("flows: %w", err)
	}
	f, err := os.Create(filepath.Join(dir, s.src.name+"-"+day+ext))
	if err != nil {
		return fmt.Errorf("flows: %w", err)
	}
	s.f, s.bw, s.day = f, bufio.NewWriterSize(f, 1<<20), day
	if s.pcap {
		collector := netip.AddrFrom4([4]byte{10, 255, 0, 10})
		pw, err := export.NewPcapWriter(s.bw, netip.AddrPortFrom(s.src.exporter, 50000+uint16(s.src.obsDomain%1000)), netip.AddrPortFrom(collector, 4739))
		if err != nil {
			return err
		}
		s.w = export.NewIPFIXWriterOptions(pw, s.src.obsDomain, s.src.rate, export.DatagramOptions())
	} else {
		s.w = export.NewIPFIXWriter(s.bw, s.src.obsDomain, s.src.rate)
	}
	return nil
}

func (s *ipfixSink) closeFile() error {
	if s.f == nil {
		return nil
	}
	err := s.w.Flush()
	if e := s.bw.Flush(); err == nil {
		err = e
	}
	if e := s.f.Close(); err == nil {
		err = e
	}
	s.f = nil
	if err != nil {
		return fmt.Errorf("flows: %w", err)
	}
	return nil
}

// close writes the flows still open at the end of the span, then closes
// the file.
func (s *ipfixSink) close() error {
	if len(s.buf) > 0 && s.f != nil {
		slices.SortStableFunc(s.buf, func(a, b flow.Record) int { return a.End.Compare(b.End) })
		day, _ := time.Parse("20060102", s.day)
		if err := s.writeDay(day, s.buf); err != nil {
			return err
		}
		s.buf = s.buf[:0]
	}
	return s.closeFile()
}

// tupleEntry is one Azure flow tuple or AWS line, waiting for its hour.
type tupleEntry struct {
	t    time.Time
	mac  string
	rule string
	text string
}

// azureSink writes Azure NSG flow logs (version 2) or VNet flow logs
// (flowLogVersion 4): one PT1H.json blob per hour, one record per minute
// and network interface.
type azureSink struct {
	dir     string
	src     source
	idx     int
	vnet    bool
	pending []tupleEntry
	n       uint64
	system  string
	nsgID   string
	guid    string
	buf     bytes.Buffer
}

func newAzureSink(dir string, src source, idx int, vnet bool, r rng) *azureSink {
	s := &azureSink{dir: dir, src: src, idx: idx, vnet: vnet, system: r.guid(), guid: r.guid()}
	if vnet {
		s.nsgID = "/SUBSCRIPTIONS/" + upper(src.account) + "/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_" + upper(src.region) + "/FLOWLOGS/VNETFLOWLOG-PROD"
	} else {
		s.nsgID = "/SUBSCRIPTIONS/" + upper(src.account) + "/RESOURCEGROUPS/RG-NETWORK-PROD/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/NSG-PROD"
	}
	return s
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}

func (s *azureSink) records() uint64 { return s.n }

func ruleFor(dir byte, port uint16, denied bool) string {
	switch {
	case denied:
		return "DefaultRule_DenyAllInBound"
	case dir == 'O':
		return "DefaultRule_AllowInternetOutBound"
	case port == portSSH:
		return "UserRule_AllowSSH"
	case port == portRDP:
		return "UserRule_AllowRDP"
	case port == portHTTPS || port == portHTTP:
		return "UserRule_AllowWeb"
	}
	return "DefaultRule_AllowVnetInBound"
}

func (s *azureSink) add(c *conn) {
	lc, dir := local(c, s.idx)
	res := localRes(c, s.idx)
	rule := ruleFor(dir, c.sport, c.denied)
	tuple := func(t time.Time, state byte, pc, bc, ps, bs uint64) {
		var b []byte
		if s.vnet {
			b = strconv.AppendInt(b, t.UnixMilli(), 10)
		} else {
			b = strconv.AppendInt(b, t.Unix(), 10)
		}
		b = append(b, ',')
		b = lc.client.AppendTo(b)
		b = append(b, ',')
		b = lc.server.AppendTo(b)
		b = append(b, ',')
		b = strconv.AppendUint(b, uint64(lc.cport), 10)
		b = append(b, ',')
		b = strconv.AppendUint(b, uint64(lc.sport), 10)
		b = append(b, ',')
		if s.vnet {
			b = strconv.AppendUint(b, uint64(lc.proto), 10)
			b = append(b, ',', dir, ',', state, ',', 'N', 'X', ',')
			b = strconv.AppendUint(b, pc, 10)
			b = append(b, ',')
			b = strconv.AppendUint(b, bc, 10)
			b = append(b, ',')
			b = strconv.AppendUint(b, ps, 10)
			b = append(b, ',')
			b = strconv.AppendUint(b, bs, 10)
		} else {
			proto := byte('T')
			if lc.proto == flow.ProtoUDP {
				proto = 'U'
			}
			decision := byte('A')
			if c.denied {
				decision = 'D'
			}
			b = append(b, proto, ',', dir, ',', decision, ',', state, ',')
			if state != 'B' {
				b = strconv.AppendUint(b, pc, 10)
				b = append(b, ',')
				b = strconv.AppendUint(b, bc, 10)
				b = append(b, ',')
				b = strconv.AppendUint(b, ps, 10)
				b = append(b, ',')
				b = strconv.AppendUint(b, bs, 10)
			} else {
				b = append(b, ',', ',', ',')
			}
		}
		s.pending = append(s.pending, tupleEntry{t: t, mac: res.mac, rule: rule, text: string(b)})
	}
	if c.denied {
		st := byte('B')
		if s.vnet {
			st = 'D'
		}
		tuple(c.start, st, 0, 0, 0, 0)
		return
	}
	tuple(c.start, 'B', 0, 0, 0, 0)
	end := c.start.Add(c.dur)
	if c.dur > 5*time.Minute {
		tuple(c.start.Add(c.dur/2), 'C', uint64(c.cPkts/2), c.cBytes/2, uint64(c.sPkts/2), c.sBytes/2)
	}
	tuple(end, 'E', uint64(c.cPkts), c.cBytes, uint64(c.sPkts), c.sBytes)
}

func (s *azureSink) endHour(end time.Time) error {
	slices.SortStableFunc(s.pending, func(a, b tupleEntry) int { return a.t.Compare(b.t) })
	cut := 0
	for cut < len(s.pending) && s.pending[cut].t.Before(end) {
		cut++
	}
	hour := s.pending[:cut]
	start := end.Add(-time.Hour)
	if len(hour) > 0 {
		if err := s.write(start, hour); err != nil {
			return err
		}
	}
	s.n += uint64(len(hour))
	s.pending = append(s.pending[:0], s.pending[cut:]...)
	return nil
}

func (s *azureSink) write(start time.Time, entries []tupleEntry) error {
	// Group by minute, then interface, then rule, keeping first-seen order.
	slices.SortStableFunc(entries, func(a, b tupleEntry) int {
		if c := a.t.Truncate(time.Minute).Compare(b.t.Truncate(time.Minute)); c != 0 {
			return c
		}
		if a.mac != b.mac {
			if a.mac < b.mac {
				return -1
			}
			return 1
		}
		if a.rule != b.rule {
			if a.rule < b.rule {
				return -1
			}
			return 1
		}
		return 0
	})
	b := &s.buf
	b.Reset()
	b.WriteString(`{"records":[`)
	for i := 0; i < len(entries); {
		j := i
		minute, mac := entries[i].t.Truncate(time.Minute), entries[i].mac
		for j < len(entries) && entries[j].t.Truncate(time.Minute).Equal(minute) && entries[j].mac == mac {
			j++
		}
		if i > 0 {
			b.WriteByte(',')
		}
		ts := minute.Add(time.Duration(entries[i].t.Second())*time.Second + 1234567*100).UTC().Format("2006-01-02T15:04:05.0000000Z")
		if s.vnet {
			fmt.Fprintf(b, `{"time":"%s","flowLogGUID":"%s","macAddress":"%s","category":"FlowLogFlowEvent","flowLogResourceID":"%s","targetResourceID":"/subscriptions/%s/resourceGroups/rg-network-prod/providers/Microsoft.Network/virtualNetworks/vnet-prod","operationName":"FlowLogFlowEvent","flowRecords":{"flows":[{"aclID":"%s","flowGroups":[`,
				ts, s.guid, mac, s.nsgID, s.src.account, s.system)
		} else {
			fmt.Fprintf(b, `{"time":"%s","systemId":"%s","macAddress":"%s","category":"NetworkSecurityGroupFlowEvent","resourceId":"%s","operationName":"NetworkSecurityGroupFlowEvents","properties":{"Version":2,"flows":[`,
				ts, s.system, mac, s.nsgID)
		}
		for k := i; k < j; {
			l := k
			for l < j && entries[l].rule == entries[k].rule {
				l++
			}
			if k > i {
				b.WriteByte(',')
			}
			if s.vnet {
				fmt.Fprintf(b, `{"rule":"%s","flowTuples":[`, entries[k].rule)
			} else {
				fmt.Fprintf(b, `{"rule":"%s","flows":[{"mac":"%s","flowTuples":[`, entries[k].rule, mac)
			}
			for m := k; m < l; m++ {
				if m > k {
					b.WriteByte(',')
				}
				b.WriteByte('"')
				b.WriteString(entries[m].text)
				b.WriteByte('"')
			}
			if s.vnet {
				b.WriteString(`]}`)
			} else {
				b.WriteString(`]}]}`)
			}
			k = l
		}
		if s.vnet {
			b.WriteString(`]}]}}`) // flowGroups, flow, flows, flowRecords, record
		} else {
			b.WriteString(`]}}`) // flows, properties, record
		}
		i = j
	}
	b.WriteString("]}\n")
	var dir string
	if s.vnet {
		dir = filepath.Join(s.dir, "azure-vnet", "flowLogResourceID="+filepath.ToSlash(s.nsgID))
	} else {
		dir = filepath.Join(s.dir, "azure-nsg", "resourceId="+filepath.ToSlash(s.nsgID))
	}
	dir = filepath.Join(dir, start.Format("y=2006/m=01/d=02/h=15/m=00"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("flows: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "PT1H.json"), b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("flows: %w", err)
	}
	return nil
}

func (s *azureSink) close() error {
	if len(s.pending) == 0 {
		return nil
	}
	last := s.pending[len(s.pending)-1].t.Truncate(time.Hour).Add(time.Hour)
	for len(s.pending) > 0 {
		end := s.pending[0].t.Truncate(time.Hour).Add(time.Hour)
		if err := s.endHour(end); err != nil {
			return err
		}
		if end.After(last) {
			break
		}
	}
	return nil
}

// vpcSink writes AWS VPC Flow Logs, version 2 default format, one gzipped
// object per hour with the header line, as S3 delivery names them.
type vpcSink struct {
	dir   string
	src   source
	idx   int
	flID  string
	lines []tupleEntry
	n     uint64
	buf   bytes.Buffer
}

const vpcHeader = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n"

func newVPCSink(dir string, src source, idx int, r rng) *vpcSink {
	return &vpcSink{dir: dir, src: src, idx: idx, flID: "fl-" + r.hex(17)}
}

func (s *vpcSink) records() uint64 { return s.n }

func (s *vpcSink) add(c *conn) {
	lc, _ := local(c, s.idx)
	res := localRes(c, s.idx)
	eni := "eni-" + lower(res.mac) + "abcde"[:5]
	action := "ACCEPT"
	if c.denied {
		action = "REJECT"
	}
	// The aggregation interval is one minute: a record spans the minute
	// of its first packet to the minute of its last.
	st := c.start.Unix()
	en := c.start.Add(c.dur).Unix()
	en = en - en%60 + 60
	line := func(src, dst netip.Addr, sp, dp uint16, pk uint32, by uint64) {
		var b []byte
		b = append(b, "2 "...)
		b = append(b, s.src.account...)
		b = append(b, ' ')
		b = append(b, eni...)
		b = append(b, ' ')
		b = src.AppendTo(b)
		b = append(b, ' ')
		b = dst.AppendTo(b)
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(sp), 10)
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(dp), 10)
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(lc.proto), 10)
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(pk), 10)
		b = append(b, ' ')
		b = strconv.AppendUint(b, by, 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, st, 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, en, 10)
		b = append(b, ' ')
		b = append(b, action...)
		b = append(b, " OK"...)
		s.lines = append(s.lines, tupleEntry{t: c.start, text: string(b)})
	}
	line(lc.client, lc.server, lc.cport, lc.sport, c.cPkts, c.cBytes)
	if c.sPkts > 0 {
		line(lc.server, lc.client, lc.sport, lc.cport, c.sPkts, c.sBytes)
	}
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

func (s *vpcSink) endHour(end time.Time) error {
	if len(s.lines) == 0 {
		return nil
	}
	start := end.Add(-time.Hour)
	slices.SortStableFunc(s.lines, func(a, b tupleEntry) int { return a.t.Compare(b.t) })
	s.buf.Reset()
	zw, _ := gzip.NewWriterLevel(&s.buf, gzip.BestSpeed)
	_, _ = zw.Write([]byte(vpcHeader))
	for _, l := range s.lines {
		_, _ = zw.Write([]byte(l.text))
		_, _ = zw.Write([]byte{'\n'})
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("flows: %w", err)
	}
	dir := filepath.Join(s.dir, "aws-vpc", "AWSLogs", s.src.account, "vpcflowlogs", s.src.region, start.Format("2006/01/02"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("flows: %w", err)
	}
	name := fmt.Sprintf("%s_vpcflowlogs_%s_%s_%sZ_%08x.log.gz", s.src.account, s.src.region, s.flID, start.Format("20060102T1504"), uint32(start.Unix()))
	if err := os.WriteFile(filepath.Join(dir, name), s.buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("flows: %w", err)
	}
	s.n += uint64(len(s.lines))
	s.lines = s.lines[:0]
	return nil
}

func (s *vpcSink) close() error { return nil }
