package netflow

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// This file is a small IPFIX and NetFlow v9 encoder for tests and
// benchmarks: it writes exactly the bytes a test needs, including the
// malformed ones.

// tf is a field specifier; pen != 0 makes it an enterprise element.
type tf struct {
	id     uint16
	length uint16
	pen    uint32
}

// be appends values in network byte order: uint8/16/32/64, float32/64,
// []byte, string (raw) and netip.Addr (4 or 16 bytes).
func be(vals ...any) []byte {
	var b []byte
	for _, v := range vals {
		switch x := v.(type) {
		case uint8:
			b = append(b, x)
		case uint16:
			b = binary.BigEndian.AppendUint16(b, x)
		case uint32:
			b = binary.BigEndian.AppendUint32(b, x)
		case uint64:
			b = binary.BigEndian.AppendUint64(b, x)
		case int:
			panic("be: untyped int")
		case []byte:
			b = append(b, x...)
		case string:
			b = append(b, x...)
		case netip.Addr:
			b = append(b, x.AsSlice()...)
		default:
			panic(fmt.Sprintf("be: %T", v))
		}
	}
	return b
}

// specs encodes field specifiers (IPFIX form when ipfix, else v9).
func specs(ipfix bool, fields []tf) []byte {
	var b []byte
	for _, f := range fields {
		id := f.id
		if ipfix && f.pen != 0 {
			id |= 0x8000
		}
		b = be(b, id, f.length)
		if ipfix && f.pen != 0 {
			b = be(b, f.pen)
		}
	}
	return b
}

// tplRec is a template record.
func tplRec(ipfix bool, id uint16, fields ...tf) []byte {
	return be(id, uint16(len(fields)), specs(ipfix, fields))
}

// optTplRec is an IPFIX options template record whose first scope fields
// are scopes.
func optTplRec(id uint16, scope int, fields ...tf) []byte {
	return be(id, uint16(len(fields)), uint16(scope), specs(true, fields))
}

// v9OptTplRec is a NetFlow v9 options template record.
func v9OptTplRec(id uint16, scope []tf, opts []tf) []byte {
	return be(id, uint16(4*len(scope)), uint16(4*len(opts)), specs(false, scope), specs(false, opts))
}

// set wraps records in a set header.
func set(id uint16, recs ...[]byte) []byte {
	var body []byte
	for _, r := range recs {
		body = append(body, r...)
	}
	return be(id, uint16(4+len(body)), body)
}

// ipfixMsg is an IPFIX message.
func ipfixMsg(exportSec, seq, domain uint32, sets ...[]byte) []byte {
	var body []byte
	for _, s := range sets {
		body = append(body, s...)
	}
	return be(uint16(10), uint16(16+len(body)), exportSec, seq, domain, body)
}

// v9Msg is a NetFlow v9 message; count is the number of records it claims.
func v9Msg(sysUp, unixSecs, seq, sourceID uint32, count uint16, sets ...[]byte) []byte {
	var body []byte
	for _, s := range sets {
		body = append(body, s...)
	}
	return be(uint16(9), count, sysUp, unixSecs, seq, sourceID, body)
}
