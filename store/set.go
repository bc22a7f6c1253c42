package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/vigil-ids/vigil/alert"
)

// MainFile is the name of the main database in a Set's directory.
const MainFile = "vigil.db"

var geoName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// Set is the service's storage: a main Store that holds tokens, settings,
// suppressions, learned state, ingest progress and health, plus the alerts
// of subscriptions mapped to no geography; and one Store per geography
// (alerts-<geography>.db beside it) for the alerts of the subscriptions
// mapped there. Alert writes go to the subscription's geography; reads cover
// every store, merged, and are narrowed by AlertQuery.Subscriptions to what
// the caller may see. It is safe for concurrent use.
type Set struct {
	dir   string
	main  *Store
	geos  map[string]*Store
	route map[string]string
}

// OpenSet opens the stores in dir. residency maps a subscription id to a
// geography name (lower-case letters, digits and dashes, such as "eu" or
// "us-east"). Geography files left by an earlier mapping are opened too, so
// their alerts stay readable.
func OpenSet(dir string, residency map[string]string, opts ...Option) (*Set, error) {
	s := &Set{dir: dir, geos: map[string]*Store{}, route: map[string]string{}}
	geos := map[string]bool{}
	for sub, g := range residency {
		if !geoName.MatchString(g) {
			return nil, fmt.Errorf("store: %w: geography %q of subscription %q", ErrInvalid, g, sub)
		}
		s.route[sub] = g
		geos[g] = true
	}
	if ents, err := os.ReadDir(dir); err == nil {
		for _, e := range ents {
			if g, ok := strings.CutPrefix(e.Name(), "alerts-"); ok {
				if g, ok := strings.CutSuffix(g, ".db"); ok && geoName.MatchString(g) {
					geos[g] = true
				}
			}
		}
	}
	main, err := Open(filepath.Join(dir, MainFile), opts...)
	if err != nil {
		return nil, err
	}
	s.main = main
	for g := range geos {
		st, err := Open(filepath.Join(dir, "alerts-"+g+".db"), opts...)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.geos[g] = st
	}
	return s, nil
}

// Main returns the main store, for tokens, settings, suppressions, state
// and ingest progress.
func (s *Set) Main() *Store { return s.main }

// Geography returns the geography of a subscription, "" for the main store.
func (s *Set) Geography(sub string) string { return s.route[sub] }

// Geographies lists the geography stores open, sorted.
func (s *Set) Geographies() []string {
	out := make([]string, 0, len(s.geos))
	for g := range s.geos {
		out = append(out, g)
	}
	slices.Sort(out)
	return out
}

// StoreFor returns the store that receives the subscription's alerts.
func (s *Set) StoreFor(sub string) *Store {
	if g, ok := s.route[sub]; ok {
		return s.geos[g]
	}
	return s.main
}

// stores returns the main store, then the geographies in order.
func (s *Set) stores() []*Store {
	out := []*Store{s.main}
	for _, g := range s.Geographies() {
		out = append(out, s.geos[g])
	}
	return out
}

// Close closes every store.
func (s *Set) Close() error {
	var errs []error
	for _, st := range s.stores() {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// find returns the store holding alert id, or nil.
func (s *Set) find(ctx context.Context, id string) (*Store, error) {
	for _, st := range s.stores() {
		ok, err := st.HasAlert(ctx, id)
		if err != nil {
			return nil, err
		}
		if ok {
			return st, nil
		}
	}
	return nil, nil
}

// PutAlert writes the alert to its subscription's geography and reports
// whether it is new. An alert already stored elsewhere (its subscription
// was mapped to another geography since) is updated where it is, so that
// an id is never stored twice.
func (s *Set) PutAlert(ctx context.Context, a alert.Alert) (bool, error) {
	st := s.StoreFor(a.Subscription)
	if len(s.geos) > 0 {
		if ok, err := st.HasAlert(ctx, a.ID); err != nil {
			return false, err
		} else if !ok {
			other, err := s.find(ctx, a.ID)
			if err != nil {
				return false, err
			}
			if other != nil {
				st = other
			}
		}
	}
	return st.PutAlert(ctx, a)
}

// GetAlert returns an alert from whichever store holds it.
func (s *Set) GetAlert(ctx context.Context, id string) (AlertRecord, error) {
	st, err := s.find(ctx, id)
	if err != nil {
		return AlertRecord{}, err
	}
	if st == nil {
		return AlertRecord{}, fmt.Errorf("store: alert %s: %w", id, ErrNotFound)
	}
	return st.GetAlert(ctx, id)
}

// SetAlertStatus changes an alert's status in whichever store holds it.
func (s *Set) SetAlertStatus(ctx context.Context, id, status, comment, actor string) (AlertRecord, error) {
	st, err := s.find(ctx, id)
	if err != nil {
		return AlertRecord{}, err
	}
	if st == nil {
		return AlertRecord{}, fmt.Errorf("store: alert %s: %w", id, ErrNotFound)
	}
	return st.SetAlertStatus(ctx, id, status, comment, actor)
}

// ListAlerts returns one page of the matching alerts of every store,
// merged in the order of Store.ListAlerts. Every store is asked, because a
// store may still hold alerts of a subscription mapped elsewhere since.
func (s *Set) ListAlerts(ctx context.Context, q AlertQuery) (AlertPage, error) {
	limit := pageLimit(q.Limit)
	var recs []AlertRecord
	var keys []cursor
	for _, st := range s.stores() {
		r, k, err := st.listAlerts(ctx, q, limit+1)
		if err != nil {
			return AlertPage{}, err
		}
		recs = append(recs, r...)
		keys = append(keys, k...)
	}
	idx := make([]int, len(recs))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return keys[idx[a]].before(keys[idx[b]]) })
	if len(idx) > limit+1 {
		idx = idx[:limit+1]
	}
	r2 := make([]AlertRecord, len(idx))
	k2 := make([]cursor, len(idx))
	for i, j := range idx {
		r2[i], k2[i] = recs[j], keys[j]
	}
	return page(r2, k2, limit), nil
}

// Subscriptions returns the subscriptions known to any store, sorted.
func (s *Set) Subscriptions(ctx context.Context) ([]string, error) {
	var all []string
	for _, st := range s.stores() {
		subs, err := st.Subscriptions(ctx)
		if err != nil {
			return nil, err
		}
		all = append(all, subs...)
	}
	for sub := range s.route {
		all = append(all, sub)
	}
	slices.Sort(all)
	return slices.Compact(all), nil
}
