// Package export writes flow records in the wire and file formats that
// collectors read: IPFIX messages (RFC 7011), either concatenated into an
// IPFIX file (RFC 5655) or cut into datagrams small enough for UDP, and a
// pcap writer that wraps such datagrams in Ethernet, IPv4 or IPv6, and UDP
// frames, as a capture taken on a collector's link would hold them.
//
// The encoder uses one fixed data template per address family and announces
// the packet sampling that applies in an options template, linked to the
// data records by selectorId (IE 302), the way Cisco and Juniper exporters
// announce their samplers. Templates are sent again periodically so that a
// collector joining a UDP stream late, or reading a file from the middle,
// learns them.
package export

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/vigil-ids/vigil/flow"
)

// Template ids of the writer. Ids below 256 are reserved for set ids.
const (
	TemplateIPv4    uint16 = 256
	TemplateIPv6    uint16 = 257
	TemplateOptions uint16 = 258
)

// IPFIX information element ids that the writer exports.
const (
	ieOctetDeltaCount          = 1
	iePacketDeltaCount         = 2
	ieProtocolIdentifier       = 4
	ieTCPControlBits           = 6
	ieSourceTransportPort      = 7
	ieSourceIPv4Address        = 8
	ieDestinationTransportPort = 11
	ieDestinationIPv4Address   = 12
	ieSourceIPv6Address        = 27
	ieDestinationIPv6Address   = 28
	ieFlowStartMilliseconds    = 152
	ieFlowEndMilliseconds      = 153
	ieSelectorID               = 302
	ieSelectorAlgorithm        = 304
	ieSamplingPacketInterval   = 305
	ieSamplingPacketSpace      = 306
	ieSamplingSize             = 309
	ieSamplingPopulation       = 310
)

// Selector algorithms of the IANA "Packet Selection Methods" registry
// (RFC 5477) that the writer announces.
const (
	AlgorithmSystematicCount = 1 // samplingPacketInterval / samplingPacketSpace
	AlgorithmRandomNOutOfN   = 3 // samplingSize / samplingPopulation
)

const (
	headerLen   = 16
	setHdrLen   = 4
	version     = 10
	setTemplate = 2
	setOptions  = 3

	// selectorID links every data record to the one options record; the
	// writer has a single sampler per observation domain.
	selectorID = 1

	recLenV4  = 4 + 4 + 2 + 2 + 1 + 2 + 8 + 8 + 8 + 8 + 4
	recLenV6  = 16 + 16 + 2 + 2 + 1 + 2 + 8 + 8 + 8 + 8 + 4
	optRecLen = 4 + 2 + 4 + 4

	// MaxFileMessage is the largest message the file mode writes; the
	// header's 16-bit length field caps a message at 65,535 bytes.
	MaxFileMessage = 65535
	// DefaultDatagramSize keeps a message, with IPv4 and UDP headers, under
	// a 1,500-byte Ethernet MTU.
	DefaultDatagramSize = 1400
)

// ErrMessageSize reports a maximum message size too small for the
// templates or one record.
var ErrMessageSize = errors.New("ipfix: maximum message size too small")

// Options tunes an IPFIXWriter. The zero value of a field takes the default
// of the file mode.
type Options struct {
	// MaxMessageSize bounds every message in bytes (default 65,535 for
	// files; DefaultDatagramSize for UDP and pcap).
	MaxMessageSize int
	// RefreshMessages re-sends the templates and the sampling options after
	// this many messages (default 256 for files, 32 for datagrams).
	RefreshMessages int
	// RefreshInterval re-sends them when the export time has advanced this
	// much since they were last sent (default 10 minutes).
	RefreshInterval time.Duration
	// RandomSampling announces sampling as random n-out-of-N with
	// samplingSize and samplingPopulation (IEs 309/310) instead of
	// systematic count-based with samplingPacketInterval and
	// samplingPacketSpace (IEs 305/306).
	RandomSampling bool
}

// DatagramOptions returns the options for messages sent as UDP datagrams
// or written into a pcap.
func DatagramOptions() Options {
	return Options{MaxMessageSize: DefaultDatagramSize, RefreshMessages: 32, RefreshInterval: 10 * time.Minute}
}

// IPFIXWriter encodes flow records as IPFIX messages for one observation
// domain. Every message is handed to the underlying writer in exactly one
// Write call, so the writer can be a file (the RFC 5655 file format is a
// plain concatenation of messages), a connected UDP socket or a PcapWriter.
// It is not safe for concurrent use.
type IPFIXWriter struct {
	w    io.Writer
	opts Options

	obsDomain uint32
	rate      uint32

	buf    []byte // the message being built
	setOff int    // offset of the open data set's header, or -1
	setID  uint16 // template id of the open data set

	seq          uint32 // data records sent before the current message
	recsInMsg    uint32
	maxEnd       int64 // largest flow end (ms) in the current message
	lastExport   uint32
	msgsSinceTpl int
	tplExport    uint32 // export time of the last message with templates
	tplSent      bool
	msgTpl       bool // the current message carries the templates

	records  uint64
	messages uint64
	err      error
}

// NewIPFIXWriter returns a writer of IPFIX messages in the file mode
// (messages up to 65,535 bytes). samplingRate is the packet sampling rate
// announced in the options template: 1 for unsampled, N for 1-in-N; 0 is
// taken as 1.
func NewIPFIXWriter(w io.Writer, obsDomain uint32, samplingRate uint32) *IPFIXWriter {
	return NewIPFIXWriterOptions(w, obsDomain, samplingRate, Options{})
}

// NewIPFIXWriterOptions is NewIPFIXWriter with explicit options, for
// example DatagramOptions().
func NewIPFIXWriterOptions(w io.Writer, obsDomain uint32, samplingRate uint32, opts Options) *IPFIXWriter {
	if opts.MaxMessageSize <= 0 || opts.MaxMessageSize > MaxFileMessage {
		opts.MaxMessageSize = MaxFileMessage
	}
	if opts.RefreshMessages <= 0 {
		opts.RefreshMessages = 256
	}
	if opts.RefreshInterval <= 0 {
		opts.RefreshInterval = 10 * time.Minute
	}
	if samplingRate == 0 {
		samplingRate = 1
	}
	iw := &IPFIXWriter{
		w:         w,
		opts:      opts,
		obsDomain: obsDomain,
		rate:      samplingRate,
		buf:       make([]byte, 0, opts.MaxMessageSize),
		setOff:    -1,
	}
	if opts.MaxMessageSize < headerLen+templatesLen()+setHdrLen+recLenV6 {
		iw.err = fmt.Errorf("%w: %d bytes", ErrMessageSize, opts.MaxMessageSize)
	}
	return iw
}

// Records returns the number of flow records written so far.
func (iw *IPFIXWriter) Records() uint64 { return iw.records }

// Messages returns the number of messages handed to the underlying writer.
func (iw *IPFIXWriter) Messages() uint64 { return iw.messages }

// templatesLen is the size of the template set, the options template set
// and the options data set that start a refreshing message.
func templatesLen() int {
	tpl := setHdrLen + (4 + 11*4) + (4 + 11*4)
	opt := setHdrLen + 6 + 4*4
	optData := setHdrLen + optRecLen
	return tpl + opt + optData
}

// Write appends one record to the current message, sending the message
// first when the record does not fit. Addresses of mixed families are
// written with the IPv6 template, the IPv4 one as IPv4-mapped.
func (iw *IPFIXWriter) Write(r *flow.Record) error {
	if iw.err != nil {
		return iw.err
	}
	src, dst := r.SrcAddr.Unmap(), r.DstAddr.Unmap()
	tid, n := TemplateIPv4, recLenV4
	if !src.Is4() || !dst.Is4() {
		tid, n = TemplateIPv6, recLenV6
	}
	endMs := r.End.UnixMilli()
	if len(iw.buf) > 0 && !iw.msgTpl {
		// A long flow moves the export time forward. Should that take the
		// message past the refresh interval, the record starts a message
		// of its own, with the templates, so that a collector expiring
		// templates by export or capture time never meets data older
		// than its templates' refresh.
		exp := max(exportSeconds(max(iw.maxEnd, endMs)), iw.lastExport)
		if time.Duration(int64(exp)-int64(iw.tplExport))*time.Second >= iw.opts.RefreshInterval {
			if err := iw.Flush(); err != nil {
				return err
			}
		}
	}
	if len(iw.buf) > 0 {
		need := n
		if iw.setOff < 0 || iw.setID != tid {
			need += setHdrLen
		}
		if len(iw.buf)+need > iw.opts.MaxMessageSize {
			if err := iw.Flush(); err != nil {
				return err
			}
		}
	}
	if len(iw.buf) == 0 {
		iw.begin(endMs)
	}
	if iw.setOff < 0 || iw.setID != tid {
		iw.closeSet()
		iw.setOff = len(iw.buf)
		iw.setID = tid
		iw.buf = append(iw.buf, byte(tid>>8), byte(tid), 0, 0)
	}
	b := iw.buf
	if tid == TemplateIPv4 {
		a4, b4 := src.As4(), dst.As4()
		b = append(b, a4[:]...)
		b = append(b, b4[:]...)
	} else {
		a6, b6 := src.As16(), dst.As16()
		b = append(b, a6[:]...)
		b = append(b, b6[:]...)
	}
	b = binary.BigEndian.AppendUint16(b, r.SrcPort)
	b = binary.BigEndian.AppendUint16(b, r.DstPort)
	b = append(b, r.Proto)
	b = binary.BigEndian.AppendUint16(b, uint16(r.TCPFlags))
	b = binary.BigEndian.AppendUint64(b, r.Packets)
	b = binary.BigEndian.AppendUint64(b, r.Bytes)
	b = binary.BigEndian.AppendUint64(b, uint64(r.Start.UnixMilli()))
	b = binary.BigEndian.AppendUint64(b, uint64(endMs))
	b = binary.BigEndian.AppendUint32(b, selectorID)
	iw.buf = b
	iw.recsInMsg++
	if endMs > iw.maxEnd {
		iw.maxEnd = endMs
	}
	iw.records++
	return nil
}

// begin starts a message, with the templates when they are due.
func (iw *IPFIXWriter) begin(endMs int64) {
	iw.buf = iw.buf[:headerLen]
	iw.recsInMsg = 0
	iw.maxEnd = 0
	iw.setOff = -1
	est := exportSeconds(endMs)
	if est < iw.lastExport {
		est = iw.lastExport
	}
	iw.msgTpl = false
	if !iw.tplSent || iw.msgsSinceTpl >= iw.opts.RefreshMessages ||
		time.Duration(int64(est)-int64(iw.tplExport))*time.Second >= iw.opts.RefreshInterval {
		iw.appendTemplates()
		iw.tplSent = true
		iw.msgTpl = true
		iw.msgsSinceTpl = 0
		iw.tplExport = est
	}
}

func (iw *IPFIXWriter) appendTemplates() {
	b := iw.buf
	// Template set: the IPv4 and the IPv6 data templates.
	start := len(b)
	b = append(b, 0, setTemplate, 0, 0)
	for _, tid := range [...]uint16{TemplateIPv4, TemplateIPv6} {
		srcIE, dstIE, alen := uint16(ieSourceIPv4Address), uint16(ieDestinationIPv4Address), uint16(4)
		if tid == TemplateIPv6 {
			srcIE, dstIE, alen = ieSourceIPv6Address, ieDestinationIPv6Address, 16
		}
		b = binary.BigEndian.AppendUint16(b, tid)
		b = binary.BigEndian.AppendUint16(b, 11)
		for _, f := range [...][2]uint16{
			{srcIE, alen}, {dstIE, alen},
			{ieSourceTransportPort, 2}, {ieDestinationTransportPort, 2},
			{ieProtocolIdentifier, 1}, {ieTCPControlBits, 2},
			{iePacketDeltaCount, 8}, {ieOctetDeltaCount, 8},
			{ieFlowStartMilliseconds, 8}, {ieFlowEndMilliseconds, 8},
			// selectorId is unsigned64; reduced-size encoding (RFC 7011
			// §6.2) keeps records four bytes shorter.
			{ieSelectorID, 4},
		} {
			b = binary.BigEndian.AppendUint16(b, f[0])
			b = binary.BigEndian.AppendUint16(b, f[1])
		}
	}
	binary.BigEndian.PutUint16(b[start+2:], uint16(len(b)-start))

	// Options template set: scope selectorId, then the sampler.
	start = len(b)
	b = append(b, 0, setOptions, 0, 0)
	b = binary.BigEndian.AppendUint16(b, TemplateOptions)
	b = binary.BigEndian.AppendUint16(b, 4) // field count
	b = binary.BigEndian.AppendUint16(b, 1) // scope field count
	ie1, ie2 := uint16(ieSamplingPacketInterval), uint16(ieSamplingPacketSpace)
	if iw.opts.RandomSampling {
		ie1, ie2 = ieSamplingSize, ieSamplingPopulation
	}
	for _, f := range [...][2]uint16{{ieSelectorID, 4}, {ieSelectorAlgorithm, 2}, {ie1, 4}, {ie2, 4}} {
		b = binary.BigEndian.AppendUint16(b, f[0])
		b = binary.BigEndian.AppendUint16(b, f[1])
	}
	binary.BigEndian.PutUint16(b[start+2:], uint16(len(b)-start))

	// Options data set: one record, selector 1 samples 1 in rate.
	start = len(b)
	b = binary.BigEndian.AppendUint16(b, TemplateOptions)
	b = append(b, 0, 0)
	b = binary.BigEndian.AppendUint32(b, selectorID)
	if iw.opts.RandomSampling {
		b = binary.BigEndian.AppendUint16(b, AlgorithmRandomNOutOfN)
		b = binary.BigEndian.AppendUint32(b, 1)
		b = binary.BigEndian.AppendUint32(b, iw.rate)
	} else {
		b = binary.BigEndian.AppendUint16(b, AlgorithmSystematicCount)
		b = binary.BigEndian.AppendUint32(b, 1)
		b = binary.BigEndian.AppendUint32(b, iw.rate-1)
	}
	binary.BigEndian.PutUint16(b[start+2:], uint16(len(b)-start))
	iw.buf = b
	iw.recsInMsg++ // the options record is a data record for the sequence number
}

func (iw *IPFIXWriter) closeSet() {
	if iw.setOff >= 0 {
		binary.BigEndian.PutUint16(iw.buf[iw.setOff+2:], uint16(len(iw.buf)-iw.setOff))
		iw.setOff = -1
	}
}

// exportSeconds rounds a millisecond time up to whole seconds, so that the
// export time is never before a flow's end.
func exportSeconds(ms int64) uint32 {
	if ms <= 0 {
		return 0
	}
	return uint32((ms + 999) / 1000)
}

// Flush completes the current message, if any, and hands it to the
// underlying writer.
func (iw *IPFIXWriter) Flush() error {
	if iw.err != nil {
		return iw.err
	}
	if len(iw.buf) == 0 {
		return nil
	}
	iw.closeSet()
	b := iw.buf
	exp := exportSeconds(iw.maxEnd)
	if exp < iw.lastExport {
		exp = iw.lastExport
	}
	iw.lastExport = exp
	if iw.msgTpl {
		iw.tplExport = exp
	}
	binary.BigEndian.PutUint16(b[0:], version)
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	binary.BigEndian.PutUint32(b[4:], exp)
	binary.BigEndian.PutUint32(b[8:], iw.seq)
	binary.BigEndian.PutUint32(b[12:], iw.obsDomain)
	iw.seq += iw.recsInMsg
	iw.msgsSinceTpl++
	iw.messages++
	iw.buf = iw.buf[:0]
	if _, err := iw.w.Write(b); err != nil {
		iw.err = fmt.Errorf("ipfix: write message: %w", err)
		return iw.err
	}
	return nil
}
