// Package flow defines the normalised flow record that every flow source
// (NetFlow v5/v9, IPFIX, packet captures, cloud flow logs) produces, and
// that the network detections consume.
//
// A Record is a plain value with no pointers to per-record heap memory, so
// decoders can fill one record in place and hand out a pointer to it for the
// duration of a callback without allocating.
package flow

import (
	"net/netip"
	"time"
)

// Format names the wire or file format a record was decoded from.
type Format uint8

// The formats Vigil reads.
const (
	FormatUnknown Format = iota
	FormatNetFlowV5
	FormatNetFlowV9
	FormatIPFIX
	FormatPacket   // flows metered from raw packets in a capture
	FormatAzureNSG // Azure NSG flow logs, version 1 or 2
	FormatAzureVNet
	FormatAWSVPC
)

var formatNames = [...]string{"unknown", "netflow-v5", "netflow-v9", "ipfix", "packet", "azure-nsg", "azure-vnet", "aws-vpc"}

// String returns the stable lower-case name used in JSON and summaries.
func (f Format) String() string {
	if int(f) < len(formatNames) {
		return formatNames[f]
	}
	return "unknown"
}

// Direction is the exporter's own view of the flow (IPFIX IE 61,
// flowDirection), when it gives one.
type Direction uint8

// Directions as exported.
const (
	DirectionUnknown Direction = iota
	DirectionIngress
	DirectionEgress
)

// String returns "", "ingress" or "egress".
func (d Direction) String() string {
	switch d {
	case DirectionIngress:
		return "ingress"
	case DirectionEgress:
		return "egress"
	}
	return ""
}

// BiflowDirection is IPFIX IE 239 (RFC 5103 biflowDirection) plus one value
// for "not given". The numeric values 0..3 of the IE are kept shifted by one
// so the zero value means absent.
type BiflowDirection uint8

// Values of BiflowDirection.
const (
	BiflowAbsent           BiflowDirection = iota
	BiflowArbitrary                        // IE 239 = 0
	BiflowInitiator                        // IE 239 = 1: the source is the initiator
	BiflowReverseInitiator                 // IE 239 = 2: the destination is the initiator
	BiflowPerimeter                        // IE 239 = 3
)

// Action is what a firewall or security group did with the flow; cloud flow
// logs carry it, router exports do not.
type Action uint8

// Actions.
const (
	ActionUnknown Action = iota
	ActionAllow
	ActionDeny
)

// String returns "", "allow" or "deny".
func (a Action) String() string {
	switch a {
	case ActionAllow:
		return "allow"
	case ActionDeny:
		return "deny"
	}
	return ""
}

// Flags of Record.Flags.
const (
	// FlagReverse marks the reverse half of an RFC 5103 biflow.
	FlagReverse uint8 = 1 << iota
	// FlagHasTCPFlags is set when the source reported TCP flags at all, so
	// that a zero TCPFlags field can be told apart from "not exported".
	FlagHasTCPFlags
	// FlagDeltaCounters is set when Packets and Bytes are delta counts;
	// otherwise they are totals since the flow started.
	FlagDeltaCounters
)

// Record is one directed, normalised flow. Times are UTC. SamplingRate is
// the packet sampling rate that applies (1 = unsampled); 0 means the rate is
// unknown, which consumers must count rather than guess.
type Record struct {
	Start, End time.Time

	SrcAddr, DstAddr netip.Addr
	Exporter         netip.Addr

	Packets, Bytes uint64

	SamplingRate uint32
	ObsDomain    uint32 // observation domain (IPFIX) or source id (v9)

	SrcPort, DstPort uint16
	Proto            uint8
	TCPFlags         uint8

	Direction       Direction
	BiflowDirection BiflowDirection
	Format          Format
	Action          Action
	// FlowState is the Azure flow state ('B' begin, 'C' continuing, 'E'
	// end), or 0 when the source has no such notion.
	FlowState byte
	Flags     uint8

	// Account is the cloud account the log belongs to: the AWS account id
	// or the Azure subscription id. Empty for router exports.
	Account string
}

// Protocol numbers used across the network layer.
const (
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
)

// TCP flag bits.
const (
	TCPFin = 0x01
	TCPSyn = 0x02
	TCPRst = 0x04
	TCPPsh = 0x08
	TCPAck = 0x10
	TCPUrg = 0x20
)

// Reverse reports whether the record is the reverse half of a biflow.
func (r *Record) Reverse() bool { return r.Flags&FlagReverse != 0 }

// HasTCPFlags reports whether the source exported TCP flags.
func (r *Record) HasTCPFlags() bool { return r.Flags&FlagHasTCPFlags != 0 }

// Handler receives records. The pointer is valid only for the duration of
// the call: a handler that keeps a record must copy it.
type Handler func(*Record)
