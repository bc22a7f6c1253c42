// Package inventory maps IP addresses to the resources of the deployment
// over time. An assignment says that a resource held an address from one
// instant until another (or until further notice). The network detections
// use it to name the resource behind an address and to check that the
// resource held the same address for a whole clock hour before an hourly
// alert is raised about it.
//
// Without an inventory, home networks (--home-net) mark the deployment's
// address space, and each address in them is its own resource, held
// forever.
package inventory

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"
)

// Errors returned by this package.
var (
	ErrFormat = errors.New("unrecognised inventory format")
)

// Ref identifies a resource without allocating: ID indexes the inventory's
// resources, or is -1 for a home-net address, which is then its own
// resource named by Addr. The zero Ref with ID 0 and no Addr is the first
// inventory resource; use the ok results to tell found from not found.
type Ref struct {
	ID   int32
	Addr netip.Addr
}

// interval is one assignment of an address, [from, to) in Unix seconds;
// to is math.MaxInt64 when open-ended.
type interval struct {
	from, to int64
	res      int32
}

// Inventory answers which resource held an address at an instant. It is
// read-only after loading and safe for concurrent use.
type Inventory struct {
	byAddr   map[netip.Addr][]interval
	names    []string
	ids      map[string]int32
	homeNets []netip.Prefix
	summary  Summary
}

// Assignment is one input row.
type Assignment struct {
	Resource string  `json:"resource"`
	IP       string  `json:"ip"`
	From     string  `json:"from"`
	To       *string `json:"to"`
}

// LineError is one malformed line.
type LineError struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

const maxLineErrors = 20

// Summary describes what was loaded.
type Summary struct {
	Path        string         `json:"path,omitempty"`
	Format      string         `json:"format,omitempty"`
	Assignments int            `json:"assignments"`
	Resources   int            `json:"resources"`
	Addresses   int            `json:"addresses"`
	Overlaps    int            `json:"overlaps"`
	Malformed   map[string]int `json:"malformed,omitempty"`
	Lines       []LineError    `json:"malformed_lines,omitempty"`
}

func (s *Summary) bad(line int, reason string) {
	if s.Malformed == nil {
		s.Malformed = map[string]int{}
	}
	s.Malformed[reason]++
	if len(s.Lines) < maxLineErrors {
		s.Lines = append(s.Lines, LineError{line, reason})
	}
}

// String renders the summary on one line.
func (s Summary) String() string {
	n := 0
	for _, c := range s.Malformed {
		n += c
	}
	return fmt.Sprintf("inventory %s: %s, %d assignments, %d resources, %d addresses, %d overlapping, %d malformed",
		s.Path, s.Format, s.Assignments, s.Resources, s.Addresses, s.Overlaps, n)
}

// New returns an empty inventory that knows only the given home networks.
func New(homeNets []netip.Prefix) *Inventory {
	inv := &Inventory{byAddr: map[netip.Addr][]interval{}, ids: map[string]int32{}}
	inv.SetHomeNets(homeNets)
	return inv
}

// SetHomeNets sets the fallback address space: an address no assignment
// covers but a home network does is its own resource.
func (inv *Inventory) SetHomeNets(p []netip.Prefix) {
	inv.homeNets = inv.homeNets[:0]
	for _, n := range p {
		inv.homeNets = append(inv.homeNets, n.Masked())
	}
}

// Load reads an inventory file (JSON lines or CSV, detected by content).
func Load(path string, homeNets []netip.Prefix) (*Inventory, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read inventory: %w", err)
	}
	defer f.Close()
	inv, err := Parse(f, homeNets)
	if err != nil {
		return nil, fmt.Errorf("inventory %s: %w", path, err)
	}
	inv.summary.Path = path
	return inv, nil
}

// Parse reads JSON lines {"resource","ip","from","to"} or CSV with a header
// naming resource, ip, from and to (any order). Times are RFC 3339; an
// empty or null "to" means the assignment still holds. Malformed lines are
// counted with their reason and line number.
func Parse(r io.Reader, homeNets []netip.Prefix) (*Inventory, error) {
	inv := New(homeNets)
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(4096)
	head = bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), " \t\r\n")
	var err error
	if len(head) > 0 && head[0] == '{' {
		inv.summary.Format = "jsonl"
		err = inv.parseJSONL(br)
	} else {
		inv.summary.Format = "csv"
		err = inv.parseCSV(br)
	}
	if err != nil {
		return nil, err
	}
	inv.finish()
	return inv, nil
}

func (inv *Inventory) parseJSONL(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var a Assignment
		if err := json.Unmarshal(line, &a); err != nil {
			inv.summary.bad(n, "bad json")
			continue
		}
		to := ""
		if a.To != nil {
			to = *a.To
		}
		inv.add(n, a.Resource, a.IP, a.From, to)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			inv.summary.bad(n+1, "line too long")
			return nil
		}
		return fmt.Errorf("read inventory: %w", err)
	}
	return nil
}

func (inv *Inventory) parseCSV(r io.Reader) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.Comment = '#'
	header, err := cr.Read()
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: csv header: %w", ErrFormat, err)
	}
	col := map[string]int{"resource": -1, "ip": -1, "from": -1, "to": -1}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if c, ok := col[h]; ok && c < 0 {
			col[h] = i
		}
	}
	if col["resource"] < 0 || col["ip"] < 0 || col["from"] < 0 {
		return fmt.Errorf("%w: csv header must name resource, ip, from and to", ErrFormat)
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				inv.summary.bad(pe.Line, "bad csv")
				continue
			}
			return fmt.Errorf("read inventory: %w", err)
		}
		line, _ := cr.FieldPos(0)
		get := func(k string) string {
			if i := col[k]; i >= 0 && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		inv.add(line, get("resource"), get("ip"), get("from"), get("to"))
	}
}

func (inv *Inventory) add(line int, res, ip, from, to string) {
	if res == "" {
		inv.summary.bad(line, "no resource")
		return
	}
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Zone() != "" {
		inv.summary.bad(line, "bad ip")
		return
	}
	a = a.Unmap()
	f, err := time.Parse(time.RFC3339, from)
	if err != nil {
		inv.summary.bad(line, "bad from")
		return
	}
	end := int64(math.MaxInt64)
	if to != "" && to != "null" {
		t, err := time.Parse(time.RFC3339, to)
		if err != nil {
			inv.summary.bad(line, "bad to")
			return
		}
		end = t.Unix()
	}
	if end <= f.Unix() {
		inv.summary.bad(line, "empty interval")
		return
	}
	id, ok := inv.ids[res]
	if !ok {
		id = int32(len(inv.names))
		inv.names = append(inv.names, res)
		inv.ids[res] = id
	}
	inv.byAddr[a] = append(inv.byAddr[a], interval{from: f.Unix(), to: end, res: id})
	inv.summary.Assignments++
}

// Add records one assignment programmatically; to may be the zero time
// for an open-ended one. Call it before the inventory is shared.
func (inv *Inventory) Add(resource string, ip netip.Addr, from, to time.Time) error {
	ts := ""
	if !to.IsZero() {
		ts = to.UTC().Format(time.RFC3339)
	}
	before := inv.summary.Assignments
	inv.add(0, resource, ip.String(), from.UTC().Format(time.RFC3339), ts)
	if inv.summary.Assignments == before {
		return fmt.Errorf("%w: invalid assignment of %s to %q", ErrFormat, ip, resource)
	}
	inv.finish()
	return nil
}

// finish sorts each address's intervals and merges touching intervals of
// the same resource, so that "held for the whole hour" survives an
// inventory that splits one tenure into several rows.
func (inv *Inventory) finish() {
	for a, ivs := range inv.byAddr {
		slices.SortFunc(ivs, func(x, y interval) int {
			if x.from != y.from {
				if x.from < y.from {
					return -1
				}
				return 1
			}
			return int(x.res) - int(y.res)
		})
		out := ivs[:0]
		for _, iv := range ivs {
			if n := len(out); n > 0 {
				last := &out[n-1]
				if last.res == iv.res && iv.from <= last.to {
					last.to = max(last.to, iv.to)
					continue
				}
				if iv.from < last.to {
					inv.summary.Overlaps++
				}
			}
			out = append(out, iv)
		}
		inv.byAddr[a] = slices.Clip(out)
	}
	inv.summary.Resources = len(inv.names)
	inv.summary.Addresses = len(inv.byAddr)
}

// Summary returns what was loaded.
func (inv *Inventory) Summary() Summary { return inv.summary }

// Resolve returns the resource that held ip at t, without allocating. When
// two assignments overlap, the one that started later wins. Home-net
// addresses that no assignment covers resolve to themselves (ID -1).
func (inv *Inventory) Resolve(ip netip.Addr, t time.Time) (Ref, bool) {
	if inv == nil || !ip.IsValid() {
		return Ref{}, false
	}
	ip = ip.Unmap()
	if ivs, ok := inv.byAddr[ip]; ok {
		s := t.Unix()
		for i := len(ivs) - 1; i >= 0; i-- {
			if ivs[i].from <= s && s < ivs[i].to {
				return Ref{ID: ivs[i].res}, true
			}
		}
		return Ref{}, false
	}
	for _, n := range inv.homeNets {
		if n.Contains(ip) {
			return Ref{ID: -1, Addr: ip}, true
		}
	}
	return Ref{}, false
}

// Name returns the resource's name: its inventory id, or the address for a
// home-net resource.
func (inv *Inventory) Name(r Ref) string {
	if r.ID < 0 {
		return r.Addr.String()
	}
	if int(r.ID) < len(inv.names) {
		return inv.names[r.ID]
	}
	return ""
}

// Ours reports whether an assignment or a home network covers ip at t.
func (inv *Inventory) Ours(ip netip.Addr, t time.Time) bool {
	_, ok := inv.Resolve(ip, t)
	return ok
}

// Lookup returns the name of the resource that held ip at t.
func (inv *Inventory) Lookup(ip netip.Addr, t time.Time) (resource string, ok bool) {
	r, ok := inv.Resolve(ip, t)
	if !ok {
		return "", false
	}
	return inv.Name(r), true
}

// HeldWholeHour reports whether resource held ip during all of the clock
// hour starting at hourStart (and no other resource overlapped it). A
// home-net address is always held by itself.
func (inv *Inventory) HeldWholeHour(resource string, ip netip.Addr, hourStart time.Time) bool {
	if inv == nil {
		return false
	}
	ip = ip.Unmap()
	if _, ok := inv.byAddr[ip]; !ok {
		r, ok := inv.Resolve(ip, hourStart)
		return ok && r.ID < 0 && resource == ip.String()
	}
	id, ok := inv.ids[resource]
	if !ok {
		return false
	}
	return inv.HeldWholeHourRef(Ref{ID: id}, ip, hourStart)
}

// HeldWholeHourRef is HeldWholeHour for a Ref; it does not allocate.
func (inv *Inventory) HeldWholeHourRef(r Ref, ip netip.Addr, hourStart time.Time) bool {
	if inv == nil {
		return false
	}
	ip = ip.Unmap()
	ivs, ok := inv.byAddr[ip]
	if !ok {
		if r.ID >= 0 || r.Addr != ip {
			return false
		}
		for _, n := range inv.homeNets {
			if n.Contains(ip) {
				return true
			}
		}
		return false
	}
	if r.ID < 0 {
		return false
	}
	s := hourStart.Truncate(time.Hour).Unix()
	e := s + 3600
	held := false
	for _, iv := range ivs {
		if iv.to <= s || iv.from >= e {
			continue
		}
		if iv.res != r.ID {
			return false // someone else held it for part of the hour
		}
		if iv.from <= s && iv.to >= e {
			held = true
		}
	}
	return held
}

// Subscription extracts S from an Azure resource id
// "/subscriptions/S/...", case-insensitively; it returns "" otherwise.
func Subscription(resource string) string {
	const p = "/subscriptions/"
	if len(resource) <= len(p) || !strings.EqualFold(resource[:len(p)], p) {
		return ""
	}
	rest := resource[len(p):]
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// RefOf returns the Ref of an inventory resource by name.
func (inv *Inventory) RefOf(resource string) (Ref, bool) {
	if inv == nil {
		return Ref{}, false
	}
	id, ok := inv.ids[resource]
	return Ref{ID: id}, ok
}
