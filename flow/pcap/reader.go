package pcap

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"
)

// ErrNotCapture is returned when the input is neither pcap nor pcapng.
var ErrNotCapture = errors.New("not a pcap or pcapng capture")

// ErrCorrupt is returned when the capture file's own framing is broken
// (as opposed to a malformed packet inside it, which is only counted).
var ErrCorrupt = errors.New("corrupt capture file")

// ReasonTruncatedFile counts a capture that ends in the middle of a
// record, as captures cut short by a killed tcpdump do.
const ReasonTruncatedFile = "truncated-capture-file"

// IsCapture reports whether head starts with a pcap or pcapng magic number.
func IsCapture(head []byte) bool {
	if len(head) < 4 {
		return false
	}
	switch binary.LittleEndian.Uint32(head) {
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1, // pcap, µs and ns, both orders
		0x0a0d0d0a: // pcapng section header block (palindromic)
		return true
	}
	return false
}

type source interface {
	ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

// Reader reads a capture file packet by packet.
type Reader struct {
	src       source
	ng        *pcapgo.NgReader // nil for classic pcap
	link      LinkType
	dec       *Decoder
	frames    uint64
	backwards uint64
	last      int64
	truncated bool
}

// NewReader reads the file header from r (pcap or pcapng, chosen by the
// magic number) and returns a Reader that decodes packets with a Decoder
// configured by cfg.
func NewReader(r io.Reader, cfg Config) (*Reader, error) {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	head, err := br.Peek(4)
	if err != nil && !errors.Is(err, io.EOF) {
		// A failing read says nothing about the format; report it.
		return nil, fmt.Errorf("capture header: %w", err)
	}
	if !IsCapture(head) {
		return nil, ErrNotCapture
	}
	rd := &Reader{dec: NewDecoder(cfg)}
	if binary.LittleEndian.Uint32(head) == 0x0a0d0d0a {
		ng, err := pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			return nil, fmt.Errorf("pcapng header: %w: %w", ErrCorrupt, err)
		}
		rd.src, rd.ng = ng, ng
	} else {
		pr, err := pcapgo.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("pcap header: %w: %w", ErrCorrupt, err)
		}
		rd.src, rd.link = pr, LinkType(pr.LinkType())
	}
	return rd, nil
}

// Next decodes the next IP packet into p, skipping (and counting) frames
// that yield none. It returns io.EOF at the end of the capture; a capture
// cut off mid-record also ends with io.EOF, counted as
// ReasonTruncatedFile. Other framing errors wrap ErrCorrupt.
func (r *Reader) Next(p *Packet) error {
	for {
		data, ci, err := r.src.ZeroCopyReadPacketData()
		if err != nil {
			if errors.Is(err, io.EOF) {
				r.dec.Flush()
				return io.EOF
			}
			if errors.Is(err, io.ErrUnexpectedEOF) {
				if !r.truncated {
					r.truncated = true
					r.dec.malformed.Add(ReasonTruncatedFile, 1)
				}
				r.dec.Flush()
				return io.EOF
			}
			return fmt.Errorf("frame %d: %w: %w", r.frames+1, ErrCorrupt, err)
		}
		r.frames++
		link := r.link
		if r.ng != nil {
			// Each pcapng interface has its own link type. Reading it from
			// the interface table rather than ci.AncillaryData avoids
			// boxing it into an interface value per packet.
			iface, err := r.ng.Interface(ci.InterfaceIndex)
			if err != nil {
				return fmt.Errorf("frame %d: %w: %w", r.frames, ErrCorrupt, err)
			}
			link = LinkType(iface.LinkType)
		}
		ns := ci.Timestamp.UnixNano()
		if ns < r.last {
			r.backwards++
		}
		r.last = ns
		if r.dec.Decode(link, ci.Timestamp, data, ci.Length, p) {
			return nil
		}
	}
}

// ReaderStats adds the file-level counts to the decoder's.
type ReaderStats struct {
	Stats
	Frames uint64 // frames read from the file
	// TimeBackwards counts frames whose timestamp is earlier than the
	// previous frame's, which real captures do show (multi-queue NICs,
	// merged files).
	TimeBackwards uint64
}

// Stats returns a snapshot of the counters.
func (r *Reader) Stats() ReaderStats {
	return ReaderStats{Stats: r.dec.Stats(), Frames: r.frames, TimeBackwards: r.backwards}
}
