package flowfile

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/vigil-ids/vigil/flow"
	"github.com/vigil-ids/vigil/flow/flowlog"
	"github.com/vigil-ids/vigil/flow/meter"
	"github.com/vigil-ids/vigil/flow/netflow"
	"github.com/vigil-ids/vigil/flow/pcap"
)

// ErrUnknownFormat is returned for input that is none of the kinds
// Detect knows.
var ErrUnknownFormat = errors.New("unknown flow file format")

// ErrCorrupt is returned when a file's framing is broken (an IPFIX file
// whose message header lies, a gzip stream that fails its checksum).
var ErrCorrupt = errors.New("corrupt flow file")

// Options configure reading.
type Options struct {
	// NetFlow configures the decoder of NetFlow/IPFIX in captures and
	// IPFIX files. Its Now clock is replaced by the capture's clock while
	// a capture is read.
	NetFlow netflow.Config
	// Meter configures the flow meter for raw traffic in captures.
	Meter meter.Config
	// Pcap bounds fragment reassembly in captures.
	Pcap pcap.Config
	// Ports, when not empty, limits which UDP destination ports of a
	// capture are tried as NetFlow/IPFIX. Empty means every port: a
	// datagram is recognised by its header (version 5, 9 or 10 and a
	// length that agrees with the datagram), not by its port.
	Ports []uint16
	// DisableMeter leaves the packets of a capture that are not
	// NetFlow/IPFIX unmetered (they are still counted).
	DisableMeter bool
}

// expKey identifies an exporter without building a string per record.
type expKey struct {
	addr    netip.Addr
	account string
	format  flow.Format
}

// Reader reads flow files one after another. NetFlow/IPFIX template state
// is kept from one file to the next, as a collector keeps it between
// datagrams, so a sequence of captures (templates in one, data in the
// next) decodes as it did on the wire. A Reader is not safe for
// concurrent use.
type Reader struct {
	opts    Options
	dec     *netflow.Decoder
	clock   time.Time // the capture clock given to the decoder
	sum     Summary
	exp     map[expKey]*Counts
	formats map[flow.Format]*Counts
	lastKey expKey
	lastExp *Counts
	input   *Counts // the counts of the input being read
}

// NewReader returns a Reader with the given options.
func NewReader(opts Options) *Reader {
	return &Reader{
		opts:    opts,
		exp:     make(map[expKey]*Counts),
		formats: make(map[flow.Format]*Counts),
	}
}

// ReadFile reads one file with a fresh Reader and returns what it saw.
func ReadFile(path string, opts Options, h flow.Handler) (Summary, error) {
	rd := NewReader(opts)
	err := rd.ReadFile(path, h)
	rd.Flush(h)
	return rd.Summary(), err
}

// Read reads one stream with a fresh Reader; name is used in errors.
func Read(r io.Reader, name string, opts Options, h flow.Handler) (Summary, error) {
	rd := NewReader(opts)
	err := rd.Read(r, name, h)
	rd.Flush(h)
	return rd.Summary(), err
}

// ReadFile opens path and reads it.
func (rd *Reader) ReadFile(path string, h flow.Handler) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return rd.Read(f, path, h)
}

// Read detects the format of r (after removing gzip compression, found by
// its magic bytes) and reads it, passing every record to h.
func (rd *Reader) Read(r io.Reader, name string, h flow.Handler) error {
	rd.sum.Files++
	br := bufio.NewReaderSize(r, HeadSize)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("%s: gzip: %w: %w", name, ErrCorrupt, err)
		}
		defer gz.Close()
		br = bufio.NewReaderSize(gz, HeadSize)
	}
	head, err := br.Peek(HeadSize)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: %w", name, err)
	}
	kind := Detect(head)
	if kind != KindUnknown {
		rd.input = rd.sum.Input(kind)
	}
	count := rd.counter(h)
	switch kind {
	case KindPcap:
		err = rd.readCapture(br, count)
	case KindIPFIXFile:
		err = rd.readIPFIXFile(br, count)
	case KindAzureFlowLog:
		var st flowlog.Stats
		st, err = flowlog.ReadAzure(br, count)
		rd.logStats(kind, st)
	case KindAWSVPC:
		var st flowlog.Stats
		st, err = flowlog.ReadVPC(br, count)
		rd.logStats(kind, st)
	default:
		rd.sum.Files--
		return fmt.Errorf("%s: %w", name, ErrUnknownFormat)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func (rd *Reader) logStats(k Kind, st flowlog.Stats) {
	in := rd.sum.Input(k)
	in.Messages += st.Entries
	addMap(&in.Malformed, st.Malformed)
	addMap(&in.Skipped, st.Skipped)
}

// counter wraps h to count each record by format and exporter.
func (rd *Reader) counter(h flow.Handler) flow.Handler {
	return func(r *flow.Record) {
		k := expKey{format: r.Format}
		switch {
		case r.Exporter.IsValid():
			k.addr = r.Exporter
		case r.Account != "":
			k.account = r.Account
		}
		c := rd.lastExp
		if c == nil || k != rd.lastKey {
			c = rd.exporter(k)
			rd.lastKey, rd.lastExp = k, c
		}
		f := rd.formats[r.Format]
		if f == nil {
			f = new(Counts)
			rd.formats[r.Format] = f
		}
		c.Records++
		f.Records++
		if rd.input != nil {
			rd.input.Records++
		}
		if r.SamplingRate == 0 {
			c.UnknownSampling++
			f.UnknownSampling++
		}
		h(r)
	}
}

func (rd *Reader) exporter(k expKey) *Counts {
	c := rd.exp[k]
	if c == nil {
		c = new(Counts)
		rd.exp[k] = c
	}
	return c
}

func (rd *Reader) decoder() *netflow.Decoder {
	if rd.dec == nil {
		cfg := rd.opts.NetFlow
		cfg.Now = func() time.Time {
			if rd.clock.IsZero() {
				return time.Now()
			}
			return rd.clock
		}
		rd.dec = netflow.NewDecoder(cfg)
	}
	return rd.dec
}

// decode hands one NetFlow/IPFIX message to the decoder and counts it
// against its exporter.
func (rd *Reader) decode(exporter netip.AddrPort, tr netflow.Transport, version uint16, msg []byte, h flow.Handler) {
	k := expKey{addr: exporter.Addr().Unmap(), format: versionFormat(version)}
	rd.exporter(k).Messages++
	rd.format(k.format).Messages++
	// A malformed message is also counted by reason in the decoder's
	// Stats, which Summary reports; the error adds nothing here.
	_ = rd.decoder().Decode(exporter, tr, msg, h)
}

func (rd *Reader) format(f flow.Format) *Counts {
	c := rd.formats[f]
	if c == nil {
		c = new(Counts)
		rd.formats[f] = c
	}
	return c
}

func versionFormat(v uint16) flow.Format {
	switch v {
	case 5:
		return flow.FormatNetFlowV5
	case 9:
		return flow.FormatNetFlowV9
	case 10:
		return flow.FormatIPFIX
	}
	return flow.FormatUnknown
}

// Reasons counted for captures and IPFIX files.
const (
	SkipTruncatedDatagram = "truncated-flow-datagram" // a NetFlow datagram cut by the snaplen
	SkipNotMetered        = "not-metered"             // DisableMeter is set
	ReasonTruncatedFile   = "truncated-file"
)

func (rd *Reader) readCapture(r io.Reader, h flow.Handler) error {
	pr, err := pcap.NewReader(r, rd.opts.Pcap)
	if err != nil {
		return err
	}
	m := meter.New(rd.opts.Meter)
	in := rd.sum.Input(KindPcap)
	var metered uint64
	var p pcap.Packet
	for {
		err := pr.Next(&p)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// The flows metered so far are as real as the records
			// already delivered: hand them on before reporting the
			// broken framing, rather than losing them with the meter.
			m.Flush(h)
			rd.captureStats(in, pr, metered)
			return err
		}
		if p.Time.After(rd.clock) {
			rd.clock = p.Time
		}
		if p.Proto == flow.ProtoUDP && rd.portOK(p.DstPort) {
			if v := flowVersion(p.Payload); v != 0 {
				if p.Truncated {
					addOne(&in.Skipped, SkipTruncatedDatagram)
					continue
				}
				rd.decode(netip.AddrPortFrom(p.Src.Unmap(), p.SrcPort), netflow.TransportUDP, v, p.Payload, h)
				continue
			}
		}
		if rd.opts.DisableMeter {
			addOne(&in.Skipped, SkipNotMetered)
			continue
		}
		metered++
		m.Add(&p, h)
	}
	m.Flush(h)
	rd.captureStats(in, pr, metered)
	return nil
}

func (rd *Reader) captureStats(in *Counts, pr *pcap.Reader, metered uint64) {
	st := pr.Stats()
	in.Messages += st.Frames
	addMap(&in.Malformed, st.Malformed)
	addMap(&in.Skipped, st.Skipped)
	if metered > 0 {
		rd.exporter(expKey{format: flow.FormatPacket}).Messages += metered
		rd.format(flow.FormatPacket).Messages += metered
	}
}

func (rd *Reader) portOK(port uint16) bool {
	return len(rd.opts.Ports) == 0 || slices.Contains(rd.opts.Ports, port)
}

// readIPFIXFile reads RFC 5655 framing: IPFIX messages back to back, each
// announcing its own length.
func (rd *Reader) readIPFIXFile(r io.Reader, h flow.Handler) error {
	in := rd.sum.Input(KindIPFIXFile)
	buf := make([]byte, 1<<16)
	for n := 1; ; n++ {
		if _, err := io.ReadFull(r, buf[:16]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			if errors.Is(err, io.ErrUnexpectedEOF) {
				addOne(&in.Malformed, ReasonTruncatedFile)
				return nil
			}
			return err
		}
		v := binary.BigEndian.Uint16(buf[0:2])
		l := int(binary.BigEndian.Uint16(buf[2:4]))
		if v != 10 || l < 16 {
			// Without a trustworthy length the next message cannot be
			// found: the rest of the file is unreadable.
			return fmt.Errorf("message %d: %w: version %d, length %d", n, ErrCorrupt, v, l)
		}
		if _, err := io.ReadFull(r, buf[16:l]); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				addOne(&in.Malformed, ReasonTruncatedFile)
				return nil
			}
			return err
		}
		in.Messages++
		rd.decode(netip.AddrPort{}, netflow.TransportFile, 10, buf[:l], h)
	}
}

// Flush ends the decoder's pending state (data sets still waiting for
// a template are counted) and passes any records it can still produce to
// h. Call it once after the last file.
func (rd *Reader) Flush(h flow.Handler) {
	if rd.dec != nil {
		rd.dec.Flush(rd.counter(h))
	}
}

// Summary returns what has been read so far.
func (rd *Reader) Summary() Summary {
	var s Summary
	s.Files = rd.sum.Files
	for k, c := range rd.sum.Inputs {
		cc := *c
		cc.Malformed, cc.Skipped = nil, nil
		cc.Merge(&Counts{Malformed: c.Malformed, Skipped: c.Skipped})
		s.Inputs = setCounts(s.Inputs, k, cc)
	}
	for f, c := range rd.formats {
		s.Formats = setCounts(s.Formats, f.String(), *c)
	}
	for k, c := range rd.exp {
		s.Exporters = mergeCounts(s.Exporters, exporterName(k), *c)
	}
	rd.netflowStats(&s)
	return s
}

func setCounts(m map[string]*Counts, k string, c Counts) map[string]*Counts {
	if m == nil {
		m = make(map[string]*Counts)
	}
	m[k] = &c
	return m
}

func mergeCounts(m map[string]*Counts, k string, c Counts) map[string]*Counts {
	if m == nil {
		m = make(map[string]*Counts)
	}
	if old := m[k]; old != nil {
		old.Merge(&c)
		return m
	}
	var n Counts
	n.Merge(&c)
	m[k] = &n
	return m
}

func exporterName(k expKey) string {
	switch {
	case k.addr.IsValid():
		return k.addr.String()
	case k.format == flow.FormatPacket:
		return "capture"
	case k.account != "":
		return k.format.String() + ":" + k.account
	}
	return k.format.String()
}
