package pcap

import (
	"net/netip"
	"time"

	"github.com/vigil-ids/vigil/flow"
)

// fragKey identifies one fragmented datagram (RFC 791 §3.2, RFC 8200 §4.5).
type fragKey struct {
	src, dst netip.Addr
	id       uint32
	proto    uint8
	v6       bool
}

// maxDatagram is the largest reassembled payload: the IPv4 total length
// field and the IPv6 fragment offset both top out near 64 KiB.
const maxDatagram = 65535

// fragBuf collects the fragments of one datagram. have marks each 8-byte
// block received, so overlapping fragments (a classic evasion) are detected
// rather than silently merged.
type fragBuf struct {
	first time.Time
	data  []byte
	have  [maxDatagram/8/64 + 1]uint64
	total int // payload length, known once the last fragment arrived; -1 before
	got   int // bytes received
}

type fragStatus int

const (
	fragHeld fragStatus = iota
	fragDone
	fragBad
	fragOverlap
)

type reassembler struct {
	cfg      Config
	bufs     map[fragKey]*fragBuf
	free     []*fragBuf
	scratch  []byte // the last reassembled payload, valid until the next add
	done     uint64
	errs     *flow.Errors // where given-up datagrams are counted
	lastScan time.Time
}

func (r *reassembler) init(cfg Config, errs *flow.Errors) { r.cfg, r.errs = cfg, errs }

func (r *reassembler) pending() int { return len(r.bufs) }

// add stores one fragment. off is its byte offset, more its MF flag. When
// the datagram is complete it returns the reassembled payload, which stays
// valid until the next call.
func (r *reassembler) add(k fragKey, ts time.Time, off int, more bool, payload []byte) ([]byte, fragStatus) {
	end := off + len(payload)
	// Every fragment but the last carries a multiple of 8 bytes.
	if end > maxDatagram || (more && len(payload)%8 != 0) || len(payload) == 0 && more {
		return nil, fragBad
	}
	if r.bufs == nil {
		r.bufs = make(map[fragKey]*fragBuf)
	}
	fb := r.bufs[k]
	if fb == nil {
		if len(r.bufs) >= r.cfg.FragmentMax {
			r.evictOldest()
		}
		fb = r.get()
		fb.first = ts
		r.bufs[k] = fb
	}
	if !more {
		// The last fragment fixes the length: a second last fragment
		// that disagrees, or data already held beyond it, cannot belong
		// to one datagram.
		if fb.total >= 0 && fb.total != end || len(fb.data) > end {
			r.drop(k, fb)
			return nil, fragBad
		}
		fb.total = end
	}
	if fb.total >= 0 && end > fb.total {
		r.drop(k, fb)
		return nil, fragBad
	}
	for blk := off / 8; blk < (end+7)/8; blk++ {
		if fb.have[blk/64]&(1<<(blk%64)) != 0 {
			r.drop(k, fb)
			return nil, fragOverlap
		}
		fb.have[blk/64] |= 1 << (blk % 64)
	}
	if len(fb.data) < end {
		if cap(fb.data) < end {
			nd := make([]byte, end, maxDatagram)
			copy(nd, fb.data)
			fb.data = nd
		}
		fb.data = fb.data[:end]
	}
	copy(fb.data[off:], payload)
	fb.got += len(payload)
	if fb.total < 0 || fb.got != fb.total {
		return nil, fragHeld
	}
	r.scratch = append(r.scratch[:0], fb.data[:fb.total]...)
	r.drop(k, fb)
	r.done++
	return r.scratch, fragDone
}

func (r *reassembler) get() *fragBuf {
	if n := len(r.free); n > 0 {
		fb := r.free[n-1]
		r.free = r.free[:n-1]
		return fb
	}
	return &fragBuf{total: -1}
}

func (r *reassembler) drop(k fragKey, fb *fragBuf) {
	delete(r.bufs, k)
	fb.data = fb.data[:0]
	fb.have = [len(fb.have)]uint64{}
	fb.total, fb.got = -1, 0
	if len(r.free) < 16 {
		r.free = append(r.free, fb)
	}
}

func (r *reassembler) evictOldest() {
	var (
		ok    bool
		oldK  fragKey
		oldFB *fragBuf
	)
	for k, fb := range r.bufs {
		if !ok || fb.first.Before(oldFB.first) {
			ok, oldK, oldFB = true, k, fb
		}
	}
	if ok {
		r.drop(oldK, oldFB)
		r.errs.Add(ReasonFragmentLost, 1)
	}
}

// expire gives up on datagrams older than the timeout at capture time now.
func (r *reassembler) expire(now time.Time) {
	// A scan per packet would be quadratic while fragments linger; once per
	// second of capture time is precise enough.
	if now.Sub(r.lastScan) < time.Second && now.Sub(r.lastScan) > -time.Second {
		return
	}
	r.lastScan = now
	for k, fb := range r.bufs {
		if now.Sub(fb.first) > r.cfg.FragmentTimeout {
			r.drop(k, fb)
			r.errs.Add(ReasonFragmentLost, 1)
		}
	}
}

func (r *reassembler) dropAll() int {
	n := len(r.bufs)
	for k, fb := range r.bufs {
		r.drop(k, fb)
	}
	return n
}
