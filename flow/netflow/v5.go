package netflow

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/vigil-ids/vigil/flow"
)

func (d *Decoder) decodeV5(exp *exporter, msg []byte, h flow.Handler) {
	const hdrLen, recLen = 24, 48
	if len(msg) < hdrLen {
		d.fail(exp, nil, rShortHeader)
		return
	}
	hdr := msgHeader{
		version:   5,
		sysUpTime: binary.BigEndian.Uint32(msg[4:]),
		exportSec: binary.BigEndian.Uint32(msg[8:]),
		exportNs:  binary.BigEndian.Uint32(msg[12:]),
		domain:    uint32(msg[20])<<8 | uint32(msg[21]),
	}
	dom := d.domain(exp, 5, hdr.domain)
	if dom == nil {
		return
	}
	dom.c.messages++
	count := int(binary.BigEndian.Uint16(msg[2:]))
	avail := (len(msg) - hdrLen) / recLen
	switch {
	case count == 0:
		d.fail(nil, dom, rV5BadCount)
		return
	case count > avail:
		d.fail(nil, dom, rV5Truncated)
		count = avail
	case count < avail || (len(msg)-hdrLen)%recLen != 0:
		d.fail(nil, dom, rTrailingBytes)
	}
	// The low 14 bits are the interval; 0 says the exporter does not sample,
	// unless the configuration knows better.
	rate := uint32(binary.BigEndian.Uint16(msg[22:]) & 0x3fff)
	if rate == 0 {
		rate = exp.defaultRate
		if rate == 0 {
			rate = 1
		}
	}
	r := &d.rec
	for i := range count {
		b := msg[hdrLen+i*recLen : hdrLen+(i+1)*recLen]
		*r = flow.Record{
			SrcAddr:      netip.AddrFrom4([4]byte(b[0:4])),
			DstAddr:      netip.AddrFrom4([4]byte(b[4:8])),
			Exporter:     exp.addr,
			Packets:      uint64(binary.BigEndian.Uint32(b[16:])),
			Bytes:        uint64(binary.BigEndian.Uint32(b[20:])),
			SamplingRate: rate,
			ObsDomain:    hdr.domain,
			SrcPort:      binary.BigEndian.Uint16(b[32:]),
			DstPort:      binary.BigEndian.Uint16(b[34:]),
			TCPFlags:     b[37],
			Proto:        b[38],
			Format:       flow.FormatNetFlowV5,
			Flags:        flow.FlagHasTCPFlags | flow.FlagDeltaCounters,
		}
		start, _ := timeOf(timeUptime, uint64(binary.BigEndian.Uint32(b[24:])), &hdr, -1)
		end, _ := timeOf(timeUptime, uint64(binary.BigEndian.Uint32(b[28:])), &hdr, -1)
		r.Start = time.Unix(0, start).UTC()
		r.End = time.Unix(0, end).UTC()
		dom.c.dataRecords++
		h(r)
	}
}
