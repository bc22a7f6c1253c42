package store_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/store"
)

var t0 = time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)

func open(t *testing.T) *store.Store {
	t.Helper()
	s, err := store.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mkAlert(typ, key, sub string, start time.Time) alert.Alert {
	a := alert.New(typ, key, start, start.Add(time.Hour))
	a.Subscription = sub
	if a.Layer == alert.LayerManagement {
		a.Principal = key
	} else {
		a.Resource = key
	}
	a.Evidence["connections"] = 10
	return a
}

func TestMigrations(t *testing.T) {
	ms, err := store.Migrations()
	if err != nil || len(ms) == 0 {
		t.Fatalf("Migrations() = %d, %v", len(ms), err)
	}
	path := filepath.Join(t.TempDir(), "m.db")
	s, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if v, err := s.SchemaVersion(ctx); err != nil || v != len(ms) {
		t.Fatalf("schema version %d, %v; want %d", v, err, len(ms))
	}
	var tables []string
	rows, _ := s.DB().QueryContext(ctx, "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	want := []string{"alert_history", "alerts", "ingest_gaps", "ingest_progress", "ingest_sources", "schema_migrations", "settings", "state", "suppressions", "tokens"}
	if d := cmp.Diff(want, tables); d != "" {
		t.Errorf("tables (-want +got):\n%s", d)
	}
	var mode string
	s.DB().QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode)
	if mode != "wal" {
		t.Errorf("journal mode %q", mode)
	}
	s.Close()

	// Reopening applies nothing twice.
	s, err = store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	s.DB().QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n)
	if n != len(ms) {
		t.Errorf("%d migration rows after reopen, want %d", n, len(ms))
	}
	// A database from a newer binary is refused rather than misread.
	s.DB().ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_ns) VALUES (999, 'future', 0)")
	s.Close()
	if _, err := store.Open(path); !errors.Is(err, store.ErrSchema) {
		t.Errorf("open of a newer schema: %v, want ErrSchema", err)
	}
}

func TestAlertUpsertKeepsStatusAndNeverDuplicates(t *testing.T) {
	ctx := t.Context()
	now := t0
	s, err := store.Open(filepath.Join(t.TempDir(), "a.db"), store.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := mkAlert(alert.IncomingSSH, "/subscriptions/s1/vm1", "s1", t0)
	if created, err := s.PutAlert(ctx, a); err != nil || !created {
		t.Fatalf("first put: %v %v", created, err)
	}
	now = now.Add(time.Minute)
	got, err := s.SetAlertStatus(ctx, a.ID, alert.StatusDismissed, "known scanner", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != alert.StatusDismissed || got.StatusComment != "known scanner" {
		t.Fatalf("status after the change: %q %q", got.Status, got.StatusComment)
	}
	// The incident grows: same id, later end, more evidence.
	a.End = a.End.Add(time.Hour)
	a.Evidence["connections"] = 25
	now = now.Add(time.Minute)
	if created, err := s.PutAlert(ctx, a); err != nil || created {
		t.Fatalf("second put: %v %v", created, err)
	}
	got, err = s.GetAlert(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := store.AlertRecord{
		Alert: a, Status: alert.StatusDismissed, StatusComment: "known scanner",
		Created: t0, Updated: t0.Add(2 * time.Minute),
		History: []store.StatusChange{{Time: t0.Add(time.Minute), Actor: "alice", Status: alert.StatusDismissed, Comment: "known scanner"}},
	}
	want.Evidence = map[string]any{"connections": float64(25)}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("alert (-want +got):\n%s", d)
	}
	p, _ := s.ListAlerts(ctx, store.AlertQuery{})
	if len(p.Alerts) != 1 {
		t.Errorf("%d alerts listed, want 1", len(p.Alerts))
	}
	if _, err := s.SetAlertStatus(ctx, a.ID, "closed", "", "bob"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("bad status: %v", err)
	}
	if _, err := s.SetAlertStatus(ctx, "nope", alert.StatusResolved, "", "bob"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown alert: %v", err)
	}
	if _, err := s.GetAlert(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown alert: %v", err)
	}
}

func ids(p store.AlertPage) []string {
	var out []string
	for _, a := range p.Alerts {
		out = append(out, a.ID)
	}
	return out
}

func TestListAlertsFilters(t *testing.T) {
	ctx := t.Context()
	s := open(t)
	as := []alert.Alert{
		mkAlert(alert.IncomingSSH, "vm1", "s1", t0),
		mkAlert(alert.OutgoingRDP, "vm2", "s1", t0.Add(time.Hour)),
		mkAlert(alert.MicroBurstToolkit, "alice@x", "s2", t0.Add(2*time.Hour)),
		mkAlert(alert.ImpossibleTravel, "bob@x", "", t0.Add(3*time.Hour)),
	}
	for _, a := range as {
		if _, err := s.PutAlert(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	s.SetAlertStatus(ctx, as[1].ID, alert.StatusResolved, "", "x")
	for _, tc := range []struct {
		name string
		q    store.AlertQuery
		want []int
	}{
		{"all, newest first", store.AlertQuery{}, []int{3, 2, 1, 0}},
		{"types", store.AlertQuery{Types: []string{alert.IncomingSSH, alert.ImpossibleTravel}}, []int{3, 0}},
		{"layer", store.AlertQuery{Layer: alert.LayerManagement}, []int{3, 2}},
		{"severity", store.AlertQuery{Severity: alert.SeverityHigh}, []int{2, 1}},
		{"status", store.AlertQuery{Status: alert.StatusResolved}, []int{1}},
		{"resource", store.AlertQuery{Resource: "vm1"}, []int{0}},
		{"principal", store.AlertQuery{Principal: "alice@x"}, []int{2}},
		{"subscription", store.AlertQuery{Subscription: "s1"}, []int{1, 0}},
		{"subscription set", store.AlertQuery{Subscriptions: []string{"s2", "s9"}}, []int{2}},
		{"empty subscription set", store.AlertQuery{Subscriptions: []string{}}, nil},
		{"time range", store.AlertQuery{From: t0.Add(90 * time.Minute), To: t0.Add(3 * time.Hour)}, []int{2, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := s.ListAlerts(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, i := range tc.want {
				want = append(want, as[i].ID)
			}
			if d := cmp.Diff(want, ids(p)); d != "" {
				t.Errorf("ids (-want +got):\n%s", d)
			}
		})
	}
	if _, err := s.ListAlerts(ctx, store.AlertQuery{Cursor: "!!"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("bad cursor: %v", err)
	}
}

// Paging while alerts are inserted and updated returns every alert that
// existed at the start exactly once.
func TestPaginationStableUnderInserts(t *testing.T) {
	ctx := t.Context()
	s := open(t)
	var want []string
	for i := range 50 {
		a := mkAlert(alert.IncomingSSH, fmt.Sprintf("vm%02d", i), "s1", t0.Add(time.Duration(i%10)*time.Hour))
		s.PutAlert(ctx, a)
		want = append(want, a.ID)
	}
	var got []string
	cur := ""
	for page := 0; ; page++ {
		p, err := s.ListAlerts(ctx, store.AlertQuery{Cursor: cur, Limit: 7})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ids(p)...)
		// Between pages: new incidents, older and newer, and growth of
		// existing ones.
		for j := range 3 {
			s.PutAlert(ctx, mkAlert(alert.OutgoingSSH, fmt.Sprintf("new%d-%d", page, j), "s1", t0.Add(time.Duration(j*5-5)*time.Hour)))
		}
		a := mkAlert(alert.IncomingSSH, fmt.Sprintf("vm%02d", page), "s1", t0.Add(time.Duration(page%10)*time.Hour))
		a.End = a.End.Add(5 * time.Hour)
		s.PutAlert(ctx, a)
		if p.NextCursor == "" {
			break
		}
		cur = p.NextCursor
	}
	// Every original alert appears once; new ones may appear too.
	seen := map[string]int{}
	for _, id := range got {
		seen[id]++
	}
	for _, id := range want {
		if seen[id] != 1 {
			t.Errorf("alert %s listed %d times", id, seen[id])
		}
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("alert %s listed %d times", id, n)
		}
	}
}

func TestSetResidency(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	set, err := store.OpenSet(dir, map[string]string{"s-eu": "eu", "s-us": "us"})
	if err != nil {
		t.Fatal(err)
	}
	eu := mkAlert(alert.IncomingSSH, "vm-eu", "s-eu", t0)
	us := mkAlert(alert.IncomingSSH, "vm-us", "s-us", t0.Add(time.Hour))
	other := mkAlert(alert.IncomingSSH, "vm-x", "s-x", t0.Add(2*time.Hour))
	for _, a := range []alert.Alert{eu, us, other} {
		if _, err := set.PutAlert(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	// Each alert is in its geography's file and nowhere else.
	for _, c := range []struct {
		geo string
		st  *store.Store
		id  string
	}{{"eu", set.StoreFor("s-eu"), eu.ID}, {"us", set.StoreFor("s-us"), us.ID}, {"main", set.Main(), other.ID}} {
		p, _ := c.st.ListAlerts(ctx, store.AlertQuery{})
		if d := cmp.Diff([]string{c.id}, ids(p)); d != "" {
			t.Errorf("%s store holds (-want +got):\n%s", c.geo, d)
		}
	}
	if filepath.Base(set.StoreFor("s-eu").Path()) != "alerts-eu.db" {
		t.Errorf("eu path %s", set.StoreFor("s-eu").Path())
	}
	// Reads merge the stores, in order, and honour the caller's set.
	p, err := set.ListAlerts(ctx, store.AlertQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{other.ID, us.ID, eu.ID}, ids(p)); d != "" {
		t.Errorf("merged (-want +got):\n%s", d)
	}
	p, _ = set.ListAlerts(ctx, store.AlertQuery{Subscriptions: []string{"s-eu", "s-x"}})
	if d := cmp.Diff([]string{other.ID, eu.ID}, ids(p)); d != "" {
		t.Errorf("caller's subscriptions (-want +got):\n%s", d)
	}
	// Merged pagination across stores.
	var all []string
	cur := ""
	for {
		p, err := set.ListAlerts(ctx, store.AlertQuery{Limit: 1, Cursor: cur})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, ids(p)...)
		if cur = p.NextCursor; cur == "" {
			break
		}
	}
	if d := cmp.Diff([]string{other.ID, us.ID, eu.ID}, all); d != "" {
		t.Errorf("paged (-want +got):\n%s", d)
	}
	if _, err := set.SetAlertStatus(ctx, eu.ID, alert.StatusResolved, "fixed", "carol"); err != nil {
		t.Fatal(err)
	}
	if r, err := set.GetAlert(ctx, eu.ID); err != nil || r.Status != alert.StatusResolved || len(r.History) != 1 {
		t.Errorf("eu alert after status: %+v %v", r, err)
	}
	set.Close()

	// After the subscription moves, its old alert is updated where it is,
	// never copied, and the old geography file is still read.
	set, err = store.OpenSet(dir, map[string]string{"s-eu": "eu2"})
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	if d := cmp.Diff([]string{"eu", "eu2", "us"}, set.Geographies()); d != "" {
		t.Errorf("geographies (-want +got):\n%s", d)
	}
	eu.End = eu.End.Add(time.Hour)
	if created, err := set.PutAlert(ctx, eu); err != nil || created {
		t.Errorf("re-put after move: created=%v err=%v", created, err)
	}
	p, _ = set.ListAlerts(ctx, store.AlertQuery{})
	if len(p.Alerts) != 3 {
		t.Errorf("%d alerts after move, want 3", len(p.Alerts))
	}
	subs, _ := set.Subscriptions(ctx)
	if d := cmp.Diff([]string{"s-eu", "s-us", "s-x"}, subs); d != "" {
		t.Errorf("subscriptions (-want +got):\n%s", d)
	}
	if _, err := store.OpenSet(t.TempDir(), map[string]string{"s": "../etc"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("bad geography name: %v", err)
	}
}

func TestTokens(t *testing.T) {
	ctx := t.Context()
	s := open(t)
	tok, secret, err := s.CreateToken(ctx, "soc", store.RoleAnalyst, []string{"s2", "s1", "s1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(secret) < 40 || tok.ID == "" {
		t.Errorf("token %+v secret %q", tok, secret)
	}
	if d := cmp.Diff([]string{"s1", "s2"}, tok.Subscriptions); d != "" {
		t.Errorf("subscriptions (-want +got):\n%s", d)
	}
	got, err := s.Authenticate(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(tok, got); d != "" {
		t.Errorf("authenticated (-want +got):\n%s", d)
	}
	// Only the hash is stored.
	var n int
	s.DB().QueryRowContext(ctx, "SELECT count(*) FROM tokens WHERE hash = ? OR CAST(hash AS TEXT) LIKE ?", secret, "%"+secret[10:20]+"%").Scan(&n)
	if n != 0 {
		t.Error("the secret is stored in clear")
	}
	if _, err := s.Authenticate(ctx, secret+"x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("wrong secret: %v", err)
	}
	if _, _, err := s.CreateToken(ctx, "", "root", nil); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("bad role: %v", err)
	}
	_, secret2, _ := s.CreateToken(ctx, "", store.RoleAdmin, nil)
	if _, err := s.RevokeToken(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, secret); !errors.Is(err, store.ErrRevoked) {
		t.Errorf("revoked: %v", err)
	}
	if a, err := s.Authenticate(ctx, secret2); err != nil || a.Role != store.RoleAdmin || len(a.Subscriptions) != 0 {
		t.Errorf("admin: %+v %v", a, err)
	}
	ts, _ := s.Tokens(ctx)
	if len(ts) != 2 || ts[0].Active() || !ts[1].Active() {
		t.Errorf("tokens %+v", ts)
	}
	if _, err := s.RevokeToken(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoke unknown: %v", err)
	}
}

func TestStateSettingsSuppressionsIngest(t *testing.T) {
	ctx := t.Context()
	s := open(t)

	if _, _, err := s.State(ctx, "baseline"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing state: %v", err)
	}
	if err := s.Checkpoint(ctx, t0, map[string][]byte{"baseline": []byte("v1"), "profiles": {1, 2}}); err != nil {
		t.Fatal(err)
	}
	s.Checkpoint(ctx, t0.Add(time.Minute), map[string][]byte{"baseline": []byte("v2")})
	b, at, err := s.State(ctx, "baseline")
	if err != nil || string(b) != "v2" || !at.Equal(t0.Add(time.Minute)) {
		t.Errorf("state = %q %v %v", b, at, err)
	}
	infos, _ := s.States(ctx)
	if d := cmp.Diff([]store.StateInfo{{"baseline", 2, t0.Add(time.Minute)}, {"profiles", 2, t0}}, infos); d != "" {
		t.Errorf("states (-want +got):\n%s", d)
	}

	st, _ := s.Settings(ctx, "s1")
	if !st.IdentityAnalytics || !st.Enabled(alert.ImpossibleTravel) {
		t.Errorf("default settings %+v", st)
	}
	st.IdentityAnalytics = false
	st.Detections[alert.IncomingSSH] = false
	if err := s.PutSettings(ctx, st); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Settings(ctx, "s1")
	if d := cmp.Diff(st, got); d != "" {
		t.Errorf("settings (-want +got):\n%s", d)
	}
	if got.Enabled(alert.IncomingSSH) || got.Enabled(alert.AnonymousIP) || !got.Enabled(alert.OutgoingSSH) {
		t.Errorf("Enabled wrong for %+v", got)
	}
	if err := s.PutSettings(ctx, store.Settings{Subscription: "s1", Detections: map[string]bool{"nope": true}}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("unknown detection: %v", err)
	}

	r, err := s.PutSuppression(ctx, store.Suppression{Type: alert.IncomingSSH, RemoteCIDR: "203.0.113.0/24", CreatedBy: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if r.ID == "" || r.Created.IsZero() {
		t.Errorf("created rule %+v", r)
	}
	r.Comment = "pen test"
	if _, err := s.PutSuppression(ctx, r); err != nil {
		t.Fatal(err)
	}
	rs, _ := s.Suppressions(ctx)
	if len(rs) != 1 || rs[0].Comment != "pen test" || rs[0].CreatedBy != "alice" {
		t.Errorf("rules %+v", rs)
	}
	a := mkAlert(alert.IncomingSSH, "vm1", "s1", t0)
	a.RemoteIPs = []string{"203.0.113.7"}
	if !rs[0].Matches(&a) {
		t.Error("rule does not match")
	}
	if _, err := s.PutSuppression(ctx, store.Suppression{}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("catch-all rule: %v", err)
	}
	if _, err := s.PutSuppression(ctx, store.Suppression{ID: "nope", Type: alert.IncomingSSH}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("update of unknown rule: %v", err)
	}
	if err := s.DeleteSuppression(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSuppression(ctx, r.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}

	p := store.FileProgress{Path: "/in/PT1H.json", Identity: "dev=1,ino=2", Offset: 4096, Record: 17, Updated: t0}
	if err := s.PutProgress(ctx, p); err != nil {
		t.Fatal(err)
	}
	p.Record = 30
	s.PutProgress(ctx, p)
	if got, err := s.Progress(ctx, p.Path); err != nil || got != p {
		t.Errorf("progress %+v %v", got, err)
	}
	if _, err := s.Progress(ctx, "/other"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing progress: %v", err)
	}
	if all, _ := s.AllProgress(ctx); len(all) != 1 {
		t.Errorf("all progress %+v", all)
	}

	s.PutSourceHealth(ctx, store.SourceHealth{Source: "ipfix/10.0.0.1", Kind: "exporter", LastSeen: t0.Add(time.Hour), Records: 5})
	// An older last-seen never moves it back.
	s.PutSourceHealth(ctx, store.SourceHealth{Source: "ipfix/10.0.0.1", Kind: "exporter", LastSeen: t0, Records: 9})
	hs, _ := s.SourceHealth(ctx)
	if d := cmp.Diff([]store.SourceHealth{{Source: "ipfix/10.0.0.1", Kind: "exporter", LastSeen: t0.Add(time.Hour), Records: 9}}, hs); d != "" {
		t.Errorf("health (-want +got):\n%s", d)
	}
	g := store.Gap{Source: "udp", From: t0, To: t0.Add(time.Minute), Reason: "crash since last checkpoint"}
	s.AddGap(ctx, g)
	if gs, _ := s.Gaps(ctx); !slices.Equal(gs, []store.Gap{g}) {
		t.Errorf("gaps %+v", gs)
	}
	if err := s.AddGap(ctx, store.Gap{Source: "x", From: t0, To: t0.Add(-1)}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("bad gap: %v", err)
	}
}

func TestRunMarkers(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "r.db")
	s, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.BeginRun(ctx, t0)
	if err != nil || info != (store.RunInfo{}) {
		t.Fatalf("first run: %+v %v", info, err)
	}
	s.Checkpoint(ctx, t0.Add(time.Minute), map[string][]byte{"b": {1}})
	s.EndRun(ctx)
	s.Close()

	s, _ = store.Open(path)
	info, _ = s.BeginRun(ctx, t0.Add(time.Hour))
	if d := cmp.Diff(store.RunInfo{PreviousStart: t0, LastCheckpoint: t0.Add(time.Minute)}, info); d != "" {
		t.Errorf("after a clean stop (-want +got):\n%s", d)
	}
	s.Checkpoint(ctx, t0.Add(61*time.Minute), map[string][]byte{"b": {2}})
	s.Close() // no EndRun: as after kill -9

	s, _ = store.Open(path)
	defer s.Close()
	info, _ = s.BeginRun(ctx, t0.Add(2*time.Hour))
	if d := cmp.Diff(store.RunInfo{Unclean: true, PreviousStart: t0.Add(time.Hour), LastCheckpoint: t0.Add(61 * time.Minute)}, info); d != "" {
		t.Errorf("after a crash (-want +got):\n%s", d)
	}
	if infos, _ := s.States(ctx); len(infos) != 1 {
		t.Errorf("states %+v", infos)
	}
}

// Concurrent writers of the same and different alerts wait for each other
// (busy timeout, immediate transactions) instead of failing, and an id is
// stored once.
func TestConcurrentWriters(t *testing.T) {
	ctx := t.Context()
	s := open(t)
	errs := make(chan error, 8)
	for w := range 8 {
		go func() {
			var err error
			for i := range 20 {
				a := mkAlert(alert.IncomingSSH, fmt.Sprintf("vm%d", i), "s1", t0)
				a.End = a.End.Add(time.Duration(w) * time.Minute)
				if _, e := s.PutAlert(ctx, a); e != nil && err == nil {
					err = e
				}
				if _, e := s.SetAlertStatus(ctx, a.ID, alert.StatusResolved, "", fmt.Sprint("w", w)); e != nil && err == nil {
					err = e
				}
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	p, _ := s.ListAlerts(ctx, store.AlertQuery{})
	if len(p.Alerts) != 20 {
		t.Errorf("%d alerts, want 20", len(p.Alerts))
	}
	r, _ := s.GetAlert(ctx, p.Alerts[0].ID)
	if len(r.History) != 8 {
		t.Errorf("%d history entries, want 8", len(r.History))
	}
}
