// Package flowfile opens flow files of any supported kind, finds their
// format from their content (never from the file name), and reads them
// into normalised flow records:
//
//   - packet captures (pcap, pcapng): UDP datagrams that carry NetFlow v5,
//     v9 or IPFIX go to a netflow.Decoder; every other packet goes to a flow
//     meter, so that a capture of raw traffic also becomes flows;
//   - IPFIX files (RFC 5655), a plain sequence of IPFIX messages;
//   - Azure NSG and VNet flow logs;
//   - AWS VPC Flow Logs.
//
// gzip compression is detected by its magic bytes and removed
// transparently. A Summary counts messages, records and malformed input per
// format and per exporter, so nothing is dropped silently.
package flowfile

import (
	"encoding/binary"

	"github.com/vigil-ids/vigil/flow/flowlog"
	"github.com/vigil-ids/vigil/flow/pcap"
)

// Kind is a detected file format.
type Kind int

// The kinds Detect tells apart.
const (
	KindUnknown      Kind = iota
	KindPcap              // pcap or pcapng, holding NetFlow/IPFIX and/or raw traffic
	KindIPFIXFile         // RFC 5655: a sequence of IPFIX messages
	KindAzureFlowLog      // Azure NSG (v1, v2) or VNet (v4) flow log
	KindAWSVPC            // AWS VPC Flow Logs, default or custom format
)

var kindNames = [...]string{"unknown", "pcap", "ipfix-file", "azure-flow-log", "aws-vpc-flow-log"}

// String returns the kind's stable name.
func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// HeadSize is how much of a file Detect should be given.
const HeadSize = 64 << 10

// Detect names the format of a file from its first bytes (up to HeadSize,
// already decompressed). JSON that is not an Azure flow log, such as an
// Azure Activity Log with the same {"records":[...]} envelope, is
// KindUnknown, so that other readers can claim it.
func Detect(head []byte) Kind {
	switch {
	case pcap.IsCapture(head):
		return KindPcap
	case isIPFIXFile(head):
		return KindIPFIXFile
	case flowlog.IsAzureFlowLog(head):
		return KindAzureFlowLog
	case flowlog.IsVPC(head):
		return KindAWSVPC
	}
	return KindUnknown
}

// isIPFIXFile checks the first IPFIX message header (RFC 7011 §3.1) and
// its first set header, and the next message's version when the head
// reaches it: text files cannot pass all of these by chance.
func isIPFIXFile(head []byte) bool {
	off := 0
	for n := range 4 {
		if n > 0 && off >= len(head) {
			return true // the head ends inside or right after a message
		}
		m := head[off:]
		if n > 0 && len(m) < 20 {
			return len(m) < 2 || binary.BigEndian.Uint16(m) == 10
		}
		if len(m) < 20 || binary.BigEndian.Uint16(m[0:2]) != 10 {
			return false
		}
		l := int(binary.BigEndian.Uint16(m[2:4]))
		if l < 20 || !saneSet(m[16:min(l, len(m))], l-16) {
			return false
		}
		off += l
	}
	return true
}

// saneSet checks a set header: template (2), options template (3) or data
// (>= 256), and a length that fits the message.
func saneSet(b []byte, room int) bool {
	if len(b) < 4 {
		return false
	}
	id := binary.BigEndian.Uint16(b[0:2])
	l := int(binary.BigEndian.Uint16(b[2:4]))
	return (id == 2 || id == 3 || id >= 256) && l >= 4 && l <= room
}

// flowVersion reports whether a UDP payload looks like a NetFlow v5, v9 or
// IPFIX message, and which: the version, and a length that agrees with
// the datagram. It returns 0 otherwise. This is what lets a capture carry
// flows on any port.
func flowVersion(b []byte) uint16 {
	if len(b) < 20 {
		return 0
	}
	v := binary.BigEndian.Uint16(b[0:2])
	switch v {
	case 5:
		n := int(binary.BigEndian.Uint16(b[2:4]))
		if n >= 1 && n <= 30 && len(b) == 24+48*n {
			return 5
		}
	case 9:
		// Header 20 bytes, then a flowset: 0 template, 1 options
		// template, >= 256 data.
		if len(b) < 24 {
			return 0
		}
		// Every record, template or data, takes at least 4 bytes.
		if n := int(binary.BigEndian.Uint16(b[2:4])); n > (len(b)-20)/4 {
			return 0
		}
		id := binary.BigEndian.Uint16(b[20:22])
		l := int(binary.BigEndian.Uint16(b[22:24]))
		if (id <= 1 || id >= 256) && l >= 4 && l <= len(b)-20 {
			return 9
		}
	case 10:
		if int(binary.BigEndian.Uint16(b[2:4])) == len(b) && saneSet(b[16:], len(b)-16) {
			return 10
		}
	}
	return 0
}
