package netflow

import (
	"errors"
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vigil-ids/vigil/flow"
)

var (
	exporterA = netip.MustParseAddrPort("192.0.2.1:4739")
	addrA     = netip.MustParseAddr("10.0.0.1")
	addrB     = netip.MustParseAddr("10.0.0.2")
	t0        = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
)

const export0 = uint32(1714979289) // t0 in Unix seconds

// clock is a settable clock for Config.Now.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// run decodes messages in order and returns the records, the errors and
// the decoder.
func run(t *testing.T, cfg Config, tr Transport, msgs ...[]byte) ([]flow.Record, []error, *Decoder) {
	t.Helper()
	d := NewDecoder(cfg)
	var recs []flow.Record
	var errs []error
	for _, m := range msgs {
		errs = append(errs, d.Decode(exporterA, tr, m, func(r *flow.Record) { recs = append(recs, *r) }))
	}
	return recs, errs, d
}

func errCount(d *Decoder, r reason) uint64 { return d.Stats().Totals().Errors[r.String()] }

// basic is a minimal IPFIX data template: addresses, ports, proto, counters.
var basic = []tf{
	{id: ieSourceIPv4Address, length: 4}, {id: ieDestinationIPv4Address, length: 4},
	{id: ieSourceTransportPort, length: 2}, {id: ieDestinationTransportPort, length: 2},
	{id: ieProtocolIdentifier, length: 1},
	{id: iePacketDeltaCount, length: 8}, {id: ieOctetDeltaCount, length: 8},
}

func basicRec(pk, by uint64) []byte {
	return be(addrA, addrB, uint16(1234), uint16(22), uint8(6), pk, by)
}

func TestFieldEncodings(t *testing.T) {
	long := strings.Repeat("x", 300)
	tests := []struct {
		name   string
		fields []tf
		rec    []byte
		want   flow.Record
	}{{
		name: "variable-length fields with 1- and 3-byte prefixes",
		fields: []tf{{id: ieSourceIPv4Address, length: 4}, {id: 82, length: variableLength},
			{id: ieDestinationIPv4Address, length: 4}, {id: 83, length: variableLength},
			{id: ieSourceTransportPort, length: 2}, {id: iePacketDeltaCount, length: 4}},
		rec:  be(addrA, uint8(3), "eth", addrB, uint8(255), uint16(len(long)), long, uint16(80), uint32(7)),
		want: flow.Record{SrcAddr: addrA, DstAddr: addrB, SrcPort: 80, Packets: 7, Flags: flow.FlagDeltaCounters},
	}, {
		name: "enterprise elements are skipped, fixed and variable",
		fields: []tf{{id: 1, length: 4, pen: 9}, {id: ieSourceIPv4Address, length: 4},
			{id: 2, length: variableLength, pen: 2636}, {id: ieDestinationIPv4Address, length: 4},
			{id: ieOctetDeltaCount, length: 8, pen: 9}},
		rec:  be(uint32(99), addrA, uint8(2), "ab", addrB, uint64(1<<40)),
		want: flow.Record{SrcAddr: addrA, DstAddr: addrB},
	}, {
		name: "reduced-size unsigned integers",
		fields: []tf{{id: ieOctetDeltaCount, length: 4}, {id: iePacketDeltaCount, length: 3},
			{id: ieSourceTransportPort, length: 1}, {id: ieTCPControlBits, length: 2}},
		rec:  be(uint32(4_000_000_000), uint8(1), uint16(2), uint8(53), uint16(0x0112)),
		want: flow.Record{Bytes: 4_000_000_000, Packets: 0x10002, SrcPort: 53, TCPFlags: 0x12, Flags: flow.FlagDeltaCounters | flow.FlagHasTCPFlags},
	}, {
		name:   "total counters are not delta",
		fields: []tf{{id: iePacketTotalCount, length: 8}, {id: ieOctetTotalCount, length: 8}},
		rec:    be(uint64(5), uint64(500)),
		want:   flow.Record{Packets: 5, Bytes: 500},
	}, {
		name:   "post (out) counters when there is nothing else",
		fields: []tf{{id: iePostPacketDeltaCount, length: 4}, {id: iePostOctetDeltaCount, length: 4}},
		rec:    be(uint32(3), uint32(300)),
		want:   flow.Record{Packets: 3, Bytes: 300, Flags: flow.FlagDeltaCounters},
	}, {
		name: "IPv6 addresses, direction, biflowDirection",
		fields: []tf{{id: ieSourceIPv6Address, length: 16}, {id: ieDestinationIPv6Address, length: 16},
			{id: ieFlowDirection, length: 1}, {id: ieBiflowDirection, length: 1}},
		rec: be(netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2"), uint8(1), uint8(1)),
		want: flow.Record{SrcAddr: netip.MustParseAddr("2001:db8::1"), DstAddr: netip.MustParseAddr("2001:db8::2"),
			Direction: flow.DirectionEgress, BiflowDirection: flow.BiflowInitiator},
	}, {
		name: "post-NAT addresses are not the flow's",
		fields: []tf{{id: ieSourceIPv4Address, length: 4}, {id: 225, length: 4}, {id: ieDestinationIPv4Address, length: 4},
			{id: 226, length: 4}, {id: 227, length: 2}},
		rec:  be(addrA, netip.MustParseAddr("198.51.100.1"), addrB, netip.MustParseAddr("198.51.100.2"), uint16(999)),
		want: flow.Record{SrcAddr: addrA, DstAddr: addrB},
	}, {
		name:   "ICMP type and code go to the destination port",
		fields: []tf{{id: ieProtocolIdentifier, length: 1}, {id: ieICMPTypeCodeIPv4, length: 2}},
		rec:    be(uint8(1), uint16(0x0800)),
		want:   flow.Record{Proto: 1, DstPort: 0x0800},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := ipfixMsg(export0, 0, 1, set(2, tplRec(true, 300, tc.fields...)), set(300, tc.rec, tc.rec))
			recs, errs, d := run(t, Config{}, TransportUDP, msg)
			if errs[0] != nil {
				t.Fatalf("error %v\n%s", errs[0], d.Stats())
			}
			if len(recs) != 2 {
				t.Fatalf("got %d records, want 2\n%s", len(recs), d.Stats())
			}
			got := recs[0]
			want := tc.want
			want.Start, want.End = t0, t0 // no times: the export time
			want.Exporter, want.ObsDomain, want.Format = exporterA.Addr(), 1, flow.FormatIPFIX
			if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestTimes(t *testing.T) {
	ntp := func(tm time.Time) uint64 {
		sec := uint64(tm.Unix() + ntpEpochOffset)
		frac := uint64(tm.Nanosecond()) << 32 / 1e9
		return sec<<32 | frac
	}
	start := t0.Add(-90 * time.Second).Add(123456 * time.Microsecond)
	end := t0.Add(-2 * time.Second)
	tests := []struct {
		name       string
		v9         bool
		fields     []tf
		rec        []byte
		sysUp      uint32
		start, end time.Time
	}{
		{name: "seconds", fields: []tf{{id: ieFlowStartSeconds, length: 4}, {id: ieFlowEndSeconds, length: 4}},
			rec: be(uint32(start.Unix()), uint32(end.Unix())), start: start.Truncate(time.Second), end: end},
		{name: "milliseconds", fields: []tf{{id: ieFlowStartMilliseconds, length: 8}, {id: ieFlowEndMilliseconds, length: 8}},
			rec: be(uint64(start.UnixMilli()), uint64(end.UnixMilli())), start: start.Truncate(time.Millisecond), end: end},
		{name: "microseconds (NTP)", fields: []tf{{id: ieFlowStartMicroseconds, length: 8}, {id: ieFlowEndMicroseconds, length: 8}},
			rec: be(ntp(start)&^0x7ff, ntp(end)), start: start, end: end},
		{name: "nanoseconds (NTP)", fields: []tf{{id: ieFlowStartNanoseconds, length: 8}, {id: ieFlowEndNanoseconds, length: 8}},
			rec: be(ntp(start.Add(789)), ntp(end)), start: start.Add(789), end: end},
		{name: "delta microseconds", fields: []tf{{id: ieFlowStartDeltaMicros, length: 4}, {id: ieFlowEndDeltaMicros, length: 4}},
			rec: be(uint32(t0.Sub(start)/time.Microsecond), uint32(2_000_000)), start: start, end: end},
		{name: "uptime with systemInitTimeMilliseconds in the record",
			fields: []tf{{id: ieSystemInitTimeMillis, length: 8}, {id: ieFlowStartSysUpTime, length: 4}, {id: ieFlowEndSysUpTime, length: 4}},
			rec:    be(uint64(t0.Add(-time.Hour).UnixMilli()), uint32(time.Hour/time.Millisecond-90_000+123), uint32(time.Hour/time.Millisecond-2000)),
			start:  t0.Add(-90*time.Second + 123*time.Millisecond), end: end},
		{name: "v9 uptime relative to the header", v9: true, sysUp: 5_000_000,
			fields: []tf{{id: ieFlowStartSysUpTime, length: 4}, {id: ieFlowEndSysUpTime, length: 4}},
			rec:    be(uint32(5_000_000-90_000+123), uint32(5_000_000-2000)),
			start:  t0.Add(-90*time.Second + 123*time.Millisecond), end: end},
		{name: "v9 uptime across the 32-bit wrap", v9: true, sysUp: 1000,
			fields: []tf{{id: ieFlowStartSysUpTime, length: 4}, {id: ieFlowEndSysUpTime, length: 4}},
			rec:    be(uint32(math.MaxUint32-88_999+123), uint32(0)),
			start:  t0.Add(-90*time.Second + 123*time.Millisecond), end: t0.Add(-time.Second)},
		{name: "observation time for events", fields: []tf{{id: ieObservationTimeMillis, length: 8}},
			rec: be(uint64(end.UnixMilli())), start: end, end: end},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var msg []byte
			if tc.v9 {
				msg = v9Msg(tc.sysUp, export0, 0, 1, 2, set(0, tplRec(false, 300, tc.fields...)), set(300, tc.rec))
			} else {
				msg = ipfixMsg(export0, 0, 1, set(2, tplRec(true, 300, tc.fields...)), set(300, tc.rec))
			}
			recs, errs, d := run(t, Config{}, TransportUDP, msg)
			if errs[0] != nil || len(recs) != 1 {
				t.Fatalf("%d records, error %v\n%s", len(recs), errs[0], d.Stats())
			}
			if !recs[0].Start.Equal(tc.start) || !recs[0].End.Equal(tc.end) {
				t.Errorf("got %s .. %s, want %s .. %s", recs[0].Start, recs[0].End, tc.start, tc.end)
			}
		})
	}
}

func TestSystemInitFromOptions(t *testing.T) {
	opt := set(3, optTplRec(400, 1, tf{id: 149, length: 4}, tf{id: ieSystemInitTimeMillis, length: 8}))
	optData := set(400, be(uint32(1), uint64(t0.Add(-time.Hour).UnixMilli())))
	tpl := set(2, tplRec(true, 300, tf{id: ieFlowStartSysUpTime, length: 4}, tf{id: ieFlowEndSysUpTime, length: 4}))
	data := set(300, be(uint32(1000), uint32(2000)))
	recs, _, d := run(t, Config{}, TransportUDP, ipfixMsg(export0, 0, 1, opt, optData, tpl, data))
	if len(recs) != 1 || !recs[0].Start.Equal(t0.Add(-time.Hour+time.Second)) {
		t.Fatalf("records %+v\n%s", recs, d.Stats())
	}
}

func TestBiflow(t *testing.T) {
	fields := append(append([]tf{}, basic...),
		tf{id: iePacketDeltaCount, length: 8, pen: penReverse}, tf{id: ieOctetDeltaCount, length: 8, pen: penReverse},
		tf{id: ieTCPControlBits, length: 1}, tf{id: ieTCPControlBits, length: 1, pen: penReverse},
		tf{id: ieBiflowDirection, length: 1})
	withReverse := be(basicRec(3, 300), uint64(2), uint64(200), uint8(0x02), uint8(0x12), uint8(1))
	noReverse := be(basicRec(1, 60), uint64(0), uint64(0), uint8(0x02), uint8(0), uint8(0))
	recs, _, d := run(t, Config{}, TransportUDP,
		ipfixMsg(export0, 0, 1, set(2, tplRec(true, 300, fields...)), set(300, withReverse, noReverse)))
	if len(recs) != 3 {
		t.Fatalf("got %d records, want 3 (forward, reverse, forward)\n%s", len(recs), d.Stats())
	}
	f, r := recs[0], recs[1]
	if f.Reverse() || f.SrcAddr != addrA || f.Packets != 3 || f.TCPFlags != 0x02 || f.BiflowDirection != flow.BiflowInitiator {
		t.Errorf("forward %+v", f)
	}
	if !r.Reverse() || r.SrcAddr != addrB || r.DstAddr != addrA || r.SrcPort != 22 || r.DstPort != 1234 ||
		r.Packets != 2 || r.Bytes != 200 || r.TCPFlags != 0x12 || !r.HasTCPFlags() ||
		r.BiflowDirection != flow.BiflowReverseInitiator {
		t.Errorf("reverse %+v", r)
	}
	if recs[2].Reverse() || recs[2].BiflowDirection != flow.BiflowArbitrary {
		t.Errorf("third %+v", recs[2])
	}
	if s := d.Stats().Totals(); s.DataRecords != 2 || s.ReverseRecords != 1 {
		t.Errorf("stats %+v", s)
	}
}

// TestBiflowHandlerMayWrite checks that a handler changing the record it is
// lent does not change the reverse record.
func TestBiflowHandlerMayWrite(t *testing.T) {
	fields := append(append([]tf{}, basic...), tf{id: iePacketDeltaCount, length: 8, pen: penReverse})
	d := NewDecoder(Config{})
	var got []flow.Record
	_ = d.Decode(exporterA, TransportUDP, ipfixMsg(export0, 0, 1, set(2, tplRec(true, 300, fields...)),
		set(300, be(basicRec(3, 300), uint64(2)))), func(r *flow.Record) {
		got = append(got, *r)
		r.SrcAddr, r.SrcPort = netip.Addr{}, 0
	})
	if len(got) != 2 || got[1].DstAddr != addrA || got[1].DstPort != 1234 || got[1].Packets != 2 {
		t.Errorf("%+v", got)
	}
}

func TestSampling(t *testing.T) {
	selectorOpts := func(fields []tf, rec []byte) [][]byte {
		return [][]byte{set(3, optTplRec(400, 1, append([]tf{{id: ieSelectorID, length: 2}}, fields...)...)), set(400, be(uint16(5), rec))}
	}
	dataSel := func(id uint16) [][]byte {
		return [][]byte{set(2, tplRec(true, 300, append(append([]tf{}, basic...), tf{id: ieSelectorID, length: 2})...)),
			set(300, be(basicRec(1, 1), id))}
	}
	msg := func(sets ...[][]byte) []byte {
		var all [][]byte
		for _, s := range sets {
			all = append(all, s...)
		}
		return ipfixMsg(export0, 0, 1, all...)
	}
	tests := []struct {
		name    string
		msg     []byte
		cfg     Config
		want    uint32
		unknown uint64
	}{
		{name: "305/306 packet interval and space", want: 10,
			msg: msg(selectorOpts([]tf{{id: ieSelectorAlgorithm, length: 1}, {id: ieSamplingPacketInterval, length: 4}, {id: ieSamplingPacketSpace, length: 4}},
				be(uint8(algSystematicCount), uint32(1), uint32(9))), dataSel(5))},
		{name: "309/310 size and population", want: 256,
			msg: msg(selectorOpts([]tf{{id: ieSelectorAlgorithm, length: 1}, {id: ieSamplingPacketInterval, length: 4}, {id: ieSamplingSize, length: 4}, {id: ieSamplingPopulation, length: 4}},
				be(uint8(algRandomNOutOfN), uint32(1), uint32(1), uint32(256))), dataSel(5))},
		{name: "311 probability (float64)", want: 1000,
			msg: msg(selectorOpts([]tf{{id: ieSamplingProbability, length: 8}}, be(math.Float64bits(0.001))), dataSel(5))},
		{name: "311 probability (reduced to float32)", want: 3,
			msg: msg(selectorOpts([]tf{{id: ieSamplingProbability, length: 4}}, be(math.Float32bits(1.0/3))), dataSel(5))},
		{name: "a selector id that was not announced", want: 0, unknown: 1,
			msg: msg(selectorOpts([]tf{{id: ieSamplingInterval, length: 4}}, be(uint32(100))), dataSel(6))},
		{name: "configured default for an exporter that announces none", want: 64,
			cfg: Config{DefaultSamplingRate: map[netip.Addr]uint32{exporterA.Addr(): 64}}, msg: msg(dataSel(6))},
		{name: "domain-wide options without sampler id", want: 100,
			msg: msg([][]byte{set(3, optTplRec(400, 1, tf{id: 149, length: 4}, tf{id: ieSamplingInterval, length: 4})),
				set(400, be(uint32(1), uint32(100)))}, dataSel(6))},
		{name: "per-record samplingInterval", want: 2048,
			msg: msg([][]byte{set(2, tplRec(true, 300, append(append([]tf{}, basic...), tf{id: ieSamplingInterval, length: 4}, tf{id: ieSamplingAlgorithm, length: 1})...)),
				set(300, be(basicRec(1, 1), uint32(2048), uint8(2)))})},
		{name: "unknown", want: 0, unknown: 1, msg: msg(dataSel(1))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs, _, d := run(t, tc.cfg, TransportUDP, tc.msg)
			if len(recs) != 1 {
				t.Fatalf("got %d records\n%s", len(recs), d.Stats())
			}
			if recs[0].SamplingRate != tc.want {
				t.Errorf("rate %d, want %d", recs[0].SamplingRate, tc.want)
			}
			if got := d.Stats().Totals().UnknownSampling; got != tc.unknown {
				t.Errorf("unknown sampling counted %d, want %d", got, tc.unknown)
			}
		})
	}
}

func TestV9SamplerOptions(t *testing.T) {
	// FLOW_SAMPLER_ID, FLOW_SAMPLER_MODE, FLOW_SAMPLER_RANDOM_INTERVAL with a
	// System scope, and data records carrying FLOW_SAMPLER_ID.
	opt := set(1, v9OptTplRec(400, []tf{{id: 1, length: 4}},
		[]tf{{id: ieSamplerID, length: 2}, {id: ieSamplerMode, length: 1}, {id: ieSamplerRandomInterval, length: 4}}))
	optData := set(400, be(uint32(0), uint16(3), uint8(2), uint32(4000)), []byte{0, 0, 0}) // with padding
	tpl := set(0, tplRec(false, 300, append(append([]tf{}, basic...), tf{id: ieSamplerID, length: 1})...))
	data := set(300, be(basicRec(1, 1), uint8(3)))
	recs, errs, d := run(t, Config{}, TransportUDP, v9Msg(1000, export0, 0, 7, 4, opt, optData, tpl, data))
	if errs[0] != nil || len(recs) != 1 || recs[0].SamplingRate != 4000 || recs[0].Format != flow.FormatNetFlowV9 || recs[0].ObsDomain != 7 {
		t.Fatalf("records %+v, error %v\n%s", recs, errs[0], d.Stats())
	}
}

func TestPending(t *testing.T) {
	tpl := ipfixMsg(export0, 0, 1, set(2, tplRec(true, 300, basic...)))
	data := func(n uint64) []byte { return ipfixMsg(export0, 0, 1, set(300, basicRec(n, n))) }

	t.Run("data before its template, same and later message", func(t *testing.T) {
		same := ipfixMsg(export0, 0, 1, set(300, basicRec(1, 1)), set(2, tplRec(true, 300, basic...)), set(300, basicRec(2, 2)))
		recs, _, d := run(t, Config{}, TransportUDP, data(0), same)
		var got []uint64
		for _, r := range recs {
			got = append(got, r.Packets)
		}
		if diff := cmp.Diff([]uint64{0, 1, 2}, got); diff != "" {
			t.Errorf("packets (-want +got):\n%s\n%s", diff, d.Stats())
		}
	})
	t.Run("bounded: the oldest set is evicted and counted", func(t *testing.T) {
		recs, _, d := run(t, Config{PendingMax: 2}, TransportUDP, data(1), data(2), data(3), tpl)
		if len(recs) != 2 || recs[0].Packets != 2 || errCount(d, rPendingEvicted) != 1 {
			t.Errorf("%d records\n%s", len(recs), d.Stats())
		}
	})
	t.Run("bounded by bytes", func(t *testing.T) {
		_, _, d := run(t, Config{PendingMaxBytes: 40}, TransportUDP, data(1), data(2))
		if st := d.Stats(); st.PendingSets != 1 || errCount(d, rPendingEvicted) != 1 {
			t.Errorf("\n%s", st)
		}
	})
	t.Run("expired by age", func(t *testing.T) {
		c := &clock{t0}
		d := NewDecoder(Config{PendingMaxAge: time.Minute, Now: c.now})
		h := func(*flow.Record) {}
		_ = d.Decode(exporterA, TransportUDP, data(1), h)
		c.t = t0.Add(2 * time.Minute)
		_ = d.Decode(exporterA, TransportUDP, data(2), h)
		if errCount(d, rPendingExpired) != 1 || d.Stats().PendingSets != 1 {
			t.Errorf("\n%s", d.Stats())
		}
	})
	t.Run("flush counts what never got a template", func(t *testing.T) {
		_, _, d := run(t, Config{}, TransportUDP, data(1), data(2))
		d.Flush(func(*flow.Record) { t.Error("no record expected") })
		st := d.Stats()
		if st.PendingSets != 0 || st.Totals().UndecodableSets != 2 || errCount(d, rNoTemplate) != 2 {
			t.Errorf("\n%s", st)
		}
	})
	t.Run("disabled", func(t *testing.T) {
		_, _, d := run(t, Config{PendingMax: -1}, TransportUDP, data(1), tpl)
		if errCount(d, rPendingDisabled) != 1 || d.Stats().Totals().DataRecords != 0 {
			t.Errorf("\n%s", d.Stats())
		}
	})
}

func TestTemplateLifetime(t *testing.T) {
	tpl := ipfixMsg(export0, 0, 1, set(2, tplRec(true, 300, basic...)))
	data := ipfixMsg(export0, 0, 1, set(300, basicRec(1, 1)))
	withdraw := ipfixMsg(export0, 0, 1, set(2, be(uint16(300), uint16(0))))
	withdrawAll := ipfixMsg(export0, 0, 1, set(2, be(uint16(2), uint16(0))))

	for _, tr := range []Transport{TransportUDP, TransportTCP, TransportSCTP, TransportFile} {
		for _, w := range []struct {
			name string
			msg  []byte
		}{{"withdraw", withdraw}, {"withdraw-all", withdrawAll}} {
			t.Run(tr.String()+"/"+w.name, func(t *testing.T) {
				recs, _, d := run(t, Config{}, tr, tpl, w.msg, data)
				if tr == TransportUDP {
					// RFC 7011 §8: no withdrawal over UDP; counted and ignored.
					if len(recs) != 1 || errCount(d, rWithdrawalUDP) != 1 {
						t.Errorf("%d records\n%s", len(recs), d.Stats())
					}
					return
				}
				if len(recs) != 0 || d.Stats().PendingSets != 1 || d.Stats().Totals().Withdrawals != 1 {
					t.Errorf("%d records\n%s", len(recs), d.Stats())
				}
			})
		}
	}

	t.Run("udp templates expire, others do not", func(t *testing.T) {
		for _, tr := range []Transport{TransportUDP, TransportTCP} {
			c := &clock{t0}
			d := NewDecoder(Config{TemplateTimeout: time.Minute, Now: c.now})
			n := 0
			count := func(*flow.Record) { n++ }
			_ = d.Decode(exporterA, tr, tpl, count)
			c.t = t0.Add(30 * time.Second)
			_ = d.Decode(exporterA, tr, tpl, count) // refresh
			c.t = t0.Add(80 * time.Second)
			_ = d.Decode(exporterA, tr, data, count)
			c.t = t0.Add(3 * time.Minute)
			_ = d.Decode(exporterA, tr, data, count)
			wantN, wantExpired := 1, uint64(1)
			if tr != TransportUDP {
				wantN, wantExpired = 2, 0
			}
			if n != wantN || errCount(d, rTemplateExpired) != wantExpired {
				t.Errorf("%s: %d records\n%s", tr, n, d.Stats())
			}
		}
	})

	t.Run("templates are per exporter, version and domain", func(t *testing.T) {
		d := NewDecoder(Config{})
		n := 0
		count := func(*flow.Record) { n++ }
		_ = d.Decode(exporterA, TransportUDP, tpl, count)
		other := netip.MustParseAddrPort("192.0.2.99:4739")
		_ = d.Decode(other, TransportUDP, data, count)                                                  // other exporter
		_ = d.Decode(exporterA, TransportUDP, ipfixMsg(export0, 0, 2, set(300, basicRec(1, 1))), count) // other domain
		_ = d.Decode(exporterA, TransportUDP, v9Msg(0, export0, 0, 1, 1, set(300, basicRec(1, 1))), count)
		// the same exporter from another port, and as a v4-mapped address
		_ = d.Decode(netip.MustParseAddrPort("[::ffff:192.0.2.1]:5000"), TransportUDP, data, count)
		if n != 1 || d.Stats().PendingSets != 3 {
			t.Errorf("%d records\n%s", n, d.Stats())
		}
	})

	t.Run("a redefined template replaces the old one", func(t *testing.T) {
		tpl2 := ipfixMsg(export0, 0, 1, set(2, tplRec(true, 300, tf{id: iePacketDeltaCount, length: 4})))
		recs, _, d := run(t, Config{}, TransportUDP, tpl, tpl2, ipfixMsg(export0, 0, 1, set(300, be(uint32(9)))))
		if len(recs) != 1 || recs[0].Packets != 9 || d.Stats().Exporters[0].Domains[0].ActiveTemplates != 1 {
			t.Errorf("%+v\n%s", recs, d.Stats())
		}
	})
}

func TestMalformed(t *testing.T) {
	tpl := set(2, tplRec(true, 300, basic...))
	tests := []struct {
		name string
		msg  []byte
		want reason
		err  error
	}{
		{"empty", nil, rShortHeader, ErrTruncated},
		{"bad version", be(uint16(7), uint16(0), uint32(0)), rBadVersion, ErrVersion},
		{"short ipfix header", be(uint16(10), uint16(16), uint32(0)), rShortHeader, ErrTruncated},
		{"ipfix length beyond datagram", be(uint16(10), uint16(100), uint32(0), uint32(0), uint32(0)), rLengthMismatch, ErrTruncated},
		{"short v9 header", be(uint16(9), uint16(1), uint32(0)), rShortHeader, ErrTruncated},
		{"set length beyond message", ipfixMsg(export0, 0, 1, be(uint16(2), uint16(400))), rBadSetLength, ErrMalformed},
		{"set length below 4", ipfixMsg(export0, 0, 1, be(uint16(2), uint16(2), uint32(0))), rBadSetLength, ErrMalformed},
		{"reserved set id", ipfixMsg(export0, 0, 1, set(5, be(uint32(0)))), rReservedSetID, ErrMalformed},
		{"template with zero-length field", ipfixMsg(export0, 0, 1, set(2, tplRec(true, 300, tf{id: 8, length: 0}))), rZeroLengthField, ErrMalformed},
		{"template id below 256", ipfixMsg(export0, 0, 1, set(2, tplRec(true, 200, basic...))), rBadTemplateID, ErrMalformed},
		{"short template record", ipfixMsg(export0, 0, 1, set(2, be(uint16(300), uint16(5), uint16(8), uint16(4)))), rShortTemplate, ErrMalformed},
		{"options template without scope", ipfixMsg(export0, 0, 1, set(3, optTplRec(300, 0, basic...))), rBadScope, ErrMalformed},
		{"v9 template without fields", v9Msg(0, export0, 0, 1, 1, set(0, be(uint16(300), uint16(0)))), rEmptyTemplate, ErrMalformed},
		{"template longer than a message", ipfixMsg(export0, 0, 1, set(2, tplRec(true, 300, tf{id: 82, length: 40000}, tf{id: 83, length: 40000}))), rTemplateTooLong, ErrMalformed},
		{"address of a bad length", ipfixMsg(export0, 0, 1, set(2, tplRec(true, 300, tf{id: 8, length: 3}))), rBadFieldLength, ErrMalformed},
		{"variable length overrun", ipfixMsg(export0, 0, 1, set(2, tplRec(true, 300, tf{id: 82, length: variableLength})), set(300, be(uint8(50), "abc"))), rBadVarLength, ErrMalformed},
		{"garbage after the records", ipfixMsg(export0, 0, 1, tpl, set(300, basicRec(1, 1), []byte{1, 2, 3})), rRecordTruncated, ErrMalformed},
		{"v5 shorter than its count", be(uint16(5), uint16(3), uint32(0), uint32(0), uint32(0), uint32(0), uint32(0), make([]byte, 48)), rV5Truncated, ErrTruncated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, errs, d := run(t, Config{}, TransportTCP, tc.msg)
			if errCount(d, tc.want) != 1 {
				t.Errorf("reason %q not counted once\n%s", tc.want, d.Stats())
			}
			if !errors.Is(errs[0], tc.err) || !strings.Contains(errs[0].Error(), tc.want.String()) {
				t.Errorf("error %v, want %v with %q", errs[0], tc.err, tc.want)
			}
		})
	}
}

func TestPaddingTolerated(t *testing.T) {
	msg := ipfixMsg(export0, 0, 1,
		set(2, tplRec(true, 300, basic...), []byte{0, 0, 0}),
		set(300, basicRec(1, 1), basicRec(2, 2), make([]byte, 7)))
	recs, errs, d := run(t, Config{}, TransportUDP, msg)
	if errs[0] != nil || len(recs) != 2 {
		t.Errorf("%d records, error %v\n%s", len(recs), errs[0], d.Stats())
	}
}

func TestLimits(t *testing.T) {
	d := NewDecoder(Config{MaxExporters: 1, MaxDomains: 1, MaxTemplates: 1})
	h := func(*flow.Record) {}
	_ = d.Decode(exporterA, TransportUDP, ipfixMsg(export0, 0, 1, set(2, tplRec(true, 300, basic...), tplRec(true, 301, basic...))), h)
	_ = d.Decode(exporterA, TransportUDP, ipfixMsg(export0, 0, 2, set(2, tplRec(true, 300, basic...))), h)
	err := d.Decode(netip.MustParseAddrPort("192.0.2.2:1"), TransportUDP, ipfixMsg(export0, 0, 1), h)
	st := d.Stats()
	if !errors.Is(err, ErrLimit) || st.Errors[rExporterLimit.String()] != 1 || errCount(d, rDomainLimit) != 1 || errCount(d, rTemplateLimit) != 1 {
		t.Errorf("error %v\n%s", err, st)
	}
}

func TestStatsString(t *testing.T) {
	_, _, d := run(t, Config{}, TransportUDP,
		ipfixMsg(export0, 0, 1, set(2, tplRec(true, 300, basic...)), set(300, basicRec(1, 1))),
		be(uint16(7), uint16(0)))
	var fe flow.Errors
	d.Stats().AddErrors(&fe)
	if got := fe.String(); got != "bad version=1" {
		t.Errorf("AddErrors gave %q", got)
	}
	s := d.Stats().String()
	for _, want := range []string{"exporter 192.0.2.1: 2 messages, errors: bad version=1", "ipfix domain 1: 1 messages, 1 data records",
		"1 records with unknown sampling rate", "total: 1 exporters"} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
}

// TestZeroAllocs checks that steady-state decoding does not allocate.
func TestZeroAllocs(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		tmpl, data := benchDatagrams(v6, 4)
		d := NewDecoder(Config{})
		n := 0
		h := func(*flow.Record) { n++ }
		if err := d.Decode(exporterA, TransportUDP, tmpl, h); err != nil {
			t.Fatal(err)
		}
		i := 0
		allocs := testing.AllocsPerRun(200, func() {
			_ = d.Decode(exporterA, TransportUDP, data[i%len(data)], h)
			i++
		})
		if allocs != 0 || n == 0 {
			t.Errorf("v6=%v: %.1f allocations per datagram, %d records", v6, allocs, n)
		}
	}
}

func TestTrailingBytes(t *testing.T) {
	tpl := set(2, tplRec(true, 300, basic...))
	ipfix := append(ipfixMsg(export0, 0, 1, tpl, set(300, basicRec(1, 1))), 0xde, 0xad)
	v9 := append(v9Msg(0, export0, 0, 1, 2, set(0, tplRec(false, 300, basic...)), set(300, basicRec(1, 1))), 0, 0, 0, 0, 0, 0)
	for name, msg := range map[string][]byte{"ipfix past its length": ipfix, "v9 zero padding": v9} {
		recs, errs, d := run(t, Config{}, TransportUDP, msg)
		if errs[0] != nil || len(recs) != 1 {
			t.Errorf("%s: %d records, error %v\n%s", name, len(recs), errs[0], d.Stats())
		}
	}
}

func TestWithdrawOptionsTemplates(t *testing.T) {
	opt := set(3, optTplRec(400, 1, tf{id: ieSelectorID, length: 2}, tf{id: ieSamplingInterval, length: 4}))
	data := set(400, be(uint16(1), uint32(10)))
	recs, _, d := run(t, Config{}, TransportTCP,
		ipfixMsg(export0, 0, 1, opt, data),
		ipfixMsg(export0, 0, 1, set(3, be(uint16(3), uint16(0)))), // all options templates
		ipfixMsg(export0, 0, 1, data))
	st := d.Stats().Totals()
	if len(recs) != 0 || st.OptionsRecords != 1 || st.PendingSets != 1 || st.Withdrawals != 1 {
		t.Errorf("\n%s", d.Stats())
	}
}
