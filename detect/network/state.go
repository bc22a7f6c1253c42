package network

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sort"

	"github.com/vigil-ids/vigil/detect/baseline"
	"github.com/vigil-ids/vigil/enrich/inventory"
)

// ErrState is returned when saved state cannot be read.
var ErrState = errors.New("invalid network detection state")

// stateMagic starts a saved state; the byte after it is the version.
const (
	stateMagic   = "VIGILNET"
	stateVersion = 1
	maxStateName = 4096
)

// SaveState writes the learned state: the peer levels, each resource's
// profiles by resource name, and the high-water mark of every record
// source (exporter or cloud account), so that a later run that reads the
// same records again does not learn them twice. Call it after Close.
//
// Layout (little endian): "VIGILNET", version byte; for each of the 4
// groups a peer histogram; u32 count of marks, each (u16 name length, name,
// i64 Unix ns); u32 count of resources, each (u16 name length, name, u8
// mask of present profiles, the profiles).
func (d *Detector) SaveState(w io.Writer) error {
	bw := bufio.NewWriter(w)
	buf := []byte(stateMagic)
	buf = append(buf, stateVersion)
	for g := range nGroups {
		p, _ := d.peers[g].MarshalBinary()
		buf = append(buf, p...)
	}
	marks := map[string]int64{}
	for k, v := range d.hwm {
		marks[k] = v
	}
	for k, v := range d.seen {
		n := k.String()
		if m, ok := marks[n]; !ok || *v > m {
			marks[n] = *v
		}
	}
	names := make([]string, 0, len(marks))
	for k := range marks {
		if len(k) <= maxStateName {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(names)))
	for _, n := range names {
		buf = appendName(buf, n)
		buf = binary.LittleEndian.AppendUint64(buf, uint64(marks[n]))
	}
	if _, err := bw.Write(buf); err != nil {
		return fmt.Errorf("save network state: %w", err)
	}
	// Resources, sorted by name so the file is deterministic.
	type entry struct {
		name string
		blob []byte
	}
	entries := make([]entry, 0, len(d.resources)+len(d.dormant))
	for ref, r := range d.resources {
		var blob []byte
		var mask byte
		for g := range nGroups {
			if r.prof[g] != nil {
				mask |= 1 << g
			}
		}
		if mask == 0 {
			continue
		}
		blob = append(blob, mask)
		for g := range nGroups {
			if r.prof[g] != nil {
				blob, _ = r.prof[g].AppendBinary(blob)
			}
		}
		entries = append(entries, entry{d.inv.Name(ref), blob})
	}
	for n, blob := range d.dormant {
		entries = append(entries, entry{n, blob})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	buf = binary.LittleEndian.AppendUint32(buf[:0], uint32(len(entries)))
	if _, err := bw.Write(buf); err != nil {
		return fmt.Errorf("save network state: %w", err)
	}
	for _, e := range entries {
		buf = appendName(buf[:0], e.name)
		buf = append(buf, e.blob...)
		if _, err := bw.Write(buf); err != nil {
			return fmt.Errorf("save network state: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("save network state: %w", err)
	}
	return nil
}

func appendName(b []byte, s string) []byte {
	if len(s) > maxStateName {
		s = s[:maxStateName]
	}
	b = binary.LittleEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// LoadState reads state written by SaveState. Call it before the first
// Add. Resources the inventory no longer knows are kept as they are and
// written back by the next SaveState.
func (d *Detector) LoadState(r io.Reader) error {
	br := bufio.NewReader(r)
	head := make([]byte, len(stateMagic)+1)
	if _, err := io.ReadFull(br, head); err != nil {
		return fmt.Errorf("%w: header: %w", ErrState, err)
	}
	if string(head[:len(stateMagic)]) != stateMagic {
		return fmt.Errorf("%w: not a state file", ErrState)
	}
	if head[len(stateMagic)] != stateVersion {
		return fmt.Errorf("%w: version %d, want %d", ErrState, head[len(stateMagic)], stateVersion)
	}
	var peers [nGroups]baseline.Peer
	pb := make([]byte, baseline.PeerSize)
	for g := range nGroups {
		if _, err := io.ReadFull(br, pb); err != nil {
			return fmt.Errorf("%w: peers: %w", ErrState, err)
		}
		if err := peers[g].UnmarshalBinary(pb); err != nil {
			return fmt.Errorf("%w: %w", ErrState, err)
		}
	}
	n, err := readU32(br)
	if err != nil {
		return err
	}
	hwm := map[string]int64{}
	for range n {
		name, err := readName(br)
		if err != nil {
			return err
		}
		var b [8]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return fmt.Errorf("%w: mark: %w", ErrState, err)
		}
		hwm[name] = int64(binary.LittleEndian.Uint64(b[:]))
	}
	if n, err = readU32(br); err != nil {
		return err
	}
	resources := map[inventory.Ref]*resource{}
	dormant := map[string][]byte{}
	pbuf := make([]byte, baseline.ProfileSize)
	for range n {
		name, err := readName(br)
		if err != nil {
			return err
		}
		mask, err := br.ReadByte()
		if err != nil {
			return fmt.Errorf("%w: resource: %w", ErrState, err)
		}
		if mask == 0 || mask >= 1<<nGroups {
			return fmt.Errorf("%w: resource %q: bad profile mask", ErrState, name)
		}
		r := &resource{}
		blob := []byte{mask}
		for g := range nGroups {
			if mask&(1<<g) == 0 {
				continue
			}
			if _, err := io.ReadFull(br, pbuf); err != nil {
				return fmt.Errorf("%w: profile: %w", ErrState, err)
			}
			p := new(baseline.Profile)
			if err := p.UnmarshalBinary(pbuf); err != nil {
				return fmt.Errorf("%w: resource %q: %w", ErrState, name, err)
			}
			r.prof[g] = p
			blob = append(blob, pbuf...)
		}
		if ref, ok := d.refByName(name); ok {
			resources[ref] = r
		} else {
			dormant[name] = blob
		}
	}
	d.peers = peers
	d.hwm = hwm
	d.resources = resources
	d.dormant = dormant
	return nil
}

// refByName finds a resource by the name SaveState wrote: an inventory
// resource id, or the address of a home-net resource.
func (d *Detector) refByName(name string) (inventory.Ref, bool) {
	if ref, ok := d.inv.RefOf(name); ok {
		return ref, true
	}
	if a, err := netip.ParseAddr(name); err == nil {
		return inventory.Ref{ID: -1, Addr: a}, true
	}
	return inventory.Ref{}, false
}

func readU32(br *bufio.Reader) (uint32, error) {
	var b [4]byte
	if _, err := io.ReadFull(br, b[:]); err != nil {
		return 0, fmt.Errorf("%w: count: %w", ErrState, err)
	}
	return binary.LittleEndian.Uint32(b[:]), nil
}

func readName(br *bufio.Reader) (string, error) {
	var b [2]byte
	if _, err := io.ReadFull(br, b[:]); err != nil {
		return "", fmt.Errorf("%w: name: %w", ErrState, err)
	}
	n := int(binary.LittleEndian.Uint16(b[:]))
	if n > maxStateName {
		return "", fmt.Errorf("%w: name too long", ErrState)
	}
	s := make([]byte, n)
	if _, err := io.ReadFull(br, s); err != nil {
		return "", fmt.Errorf("%w: name: %w", ErrState, err)
	}
	return string(s), nil
}
