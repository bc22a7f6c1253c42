package management

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"time"

	"github.com/vigil-ids/vigil/audit"
)

// ErrState is returned, wrapped, when a saved state cannot be used.
var ErrState = errors.New("invalid management state")

// stateVersion changes when the saved form changes incompatibly.
const stateVersion = 1

type stateFile struct {
	Version    int               `json:"version"`
	Saved      time.Time         `json:"saved"`
	HWM        []hwmEntry        `json:"high_water_marks"`
	SubTenant  map[string]string `json:"subscription_tenants,omitempty"`
	Principals []*principal      `json:"principals"`
	Orgs       []*org            `json:"organisations"`
	Roles      []*roleWrite      `json:"custom_roles,omitempty"`
}

type hwmEntry struct {
	Cloud audit.Cloud `json:"cloud"`
	Kind  audit.Kind  `json:"kind"`
	Scope string      `json:"scope"`
	Time  time.Time   `json:"time"`
}

// SaveState writes the profiles (principals, organisations, recent custom
// role writes) and the high-water mark of every source, as JSON. Call it
// after Close: events still in the reorder buffer are not in the profiles,
// and since the marks only cover processed events they will be read again.
// The state is bounded: at most max-principals principals (the most recently
// seen), organisation shares no older than the country recency.
func (d *Detector) SaveState(w io.Writer) error {
	now := d.done
	st := stateFile{Version: stateVersion, Saved: now.UTC(), SubTenant: d.subTenant}
	for k, t := range d.hwm {
		st.HWM = append(st.HWM, hwmEntry{Cloud: k.Cloud, Kind: k.Kind, Scope: k.Scope, Time: t.UTC()})
	}
	sort.Slice(st.HWM, func(i, j int) bool {
		a, b := st.HWM[i], st.HWM[j]
		if a.Cloud != b.Cloud {
			return a.Cloud < b.Cloud
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Scope < b.Scope
	})
	for _, p := range d.principals {
		st.Principals = append(st.Principals, p)
	}
	sort.Slice(st.Principals, func(i, j int) bool {
		return st.Principals[i].LastSeen.After(st.Principals[j].LastSeen) ||
			st.Principals[i].LastSeen.Equal(st.Principals[j].LastSeen) && st.Principals[i].ID < st.Principals[j].ID
	})
	if len(st.Principals) > d.cfg.MaxPrincipals {
		st.Principals = st.Principals[:d.cfg.MaxPrincipals]
	}
	cutoff := now.Add(-days(d.cfg.Location.CountryRecencyDays))
	for _, k := range sortedKeys(d.orgs) {
		o := d.orgs[k]
		o.prune(cutoff)
		st.Orgs = append(st.Orgs, o)
	}
	for _, k := range sortedKeys(d.roles) {
		st.Roles = append(st.Roles, d.roles[k])
	}
	enc := json.NewEncoder(w)
	if err := enc.Encode(&st); err != nil {
		return fmt.Errorf("save management state: %w", err)
	}
	return nil
}

// LoadState reads a state written by SaveState into a fresh detector,
// before the first Add. Events at or before a source's high-water mark are
// then skipped, so scanning the same data again does not learn it twice.
func (d *Detector) LoadState(r io.Reader) error {
	if d.seq != 0 || len(d.principals) != 0 {
		return fmt.Errorf("%w: load state before adding events", ErrState)
	}
	var st stateFile
	dec := json.NewDecoder(r)
	if err := dec.Decode(&st); err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	if st.Version != stateVersion {
		return fmt.Errorf("%w: version %d, want %d", ErrState, st.Version, stateVersion)
	}
	for _, h := range st.HWM {
		k := sourceKey{Cloud: h.Cloud, Kind: h.Kind, Scope: h.Scope}
		d.hwm[k] = h.Time
		d.loadedHWM[k] = h.Time
	}
	for s, t := range st.SubTenant {
		d.subTenant[s] = t
	}
	for _, p := range st.Principals {
		if p == nil || p.ID == "" {
			continue
		}
		d.principals[p.ID] = p
	}
	for _, o := range st.Orgs {
		if o == nil {
			continue
		}
		if o.Countries == nil {
			o.Countries = map[string]*orgCountry{}
		}
		if o.IPs == nil {
			o.IPs = map[netip.Addr]*share{}
		}
		if o.Prefixes == nil {
			o.Prefixes = map[netip.Prefix]*share{}
		}
		if o.ASNs == nil {
			o.ASNs = map[uint32]*asnShare{}
		}
		d.orgs[o.Key] = o
	}
	for _, rw := range st.Roles {
		if rw == nil {
			continue
		}
		key := rw.ID
		if key == "" {
			key = "caller:" + rw.By
		}
		d.roles[key] = rw
	}
	return nil
}
