package management

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/audit"
)

var update = flag.Bool("update", false, "rewrite the golden alerts")

func readEvents(t testing.TB, path string) []audit.Event {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []audit.Event
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ev audit.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, ev)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func scenarioEvents(t testing.TB, name string) []audit.Event {
	evs := readEvents(t, filepath.Join("testdata", "background", "events.jsonl"))
	if name != "background" {
		evs = append(evs, readEvents(t, filepath.Join("testdata", name, "events.jsonl"))...)
	}
	return evs
}

// collector keeps the last delivery of every alert id.
type collector struct{ byID map[string]alert.Alert }

func newCollector() *collector { return &collector{byID: map[string]alert.Alert{}} }

func (c *collector) sink(a alert.Alert) { c.byID[a.ID] = a }

func (c *collector) sorted() []alert.Alert {
	out := make([]alert.Alert, 0, len(c.byID))
	for _, a := range c.byID {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.Before(out[j].Start)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// normalise round-trips alerts through JSON, as a sink would store them.
func normalise(t testing.TB, as []alert.Alert) []map[string]any {
	b, err := json.Marshal(as)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func run(t testing.TB, cfg Config, evs []audit.Event) (*Detector, []alert.Alert) {
	t.Helper()
	c := newCollector()
	d, err := New(cfg, testDeps(), c.sink)
	if err != nil {
		t.Fatal(err)
	}
	for i := range evs {
		d.Add(&evs[i])
	}
	d.Close()
	return d, c.sorted()
}

func countTypes(as []alert.Alert) map[string]int {
	m := map[string]int{}
	for _, a := range as {
		m[a.Type]++
	}
	return m
}

func TestScenarios(t *testing.T) {
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			evs := scenarioEvents(t, s.name)
			_, got := run(t, DefaultConfig(), evs)
			if diff := cmp.Diff(s.want, countTypes(got)); diff != "" {
				t.Errorf("alert types (-want +got):\n%s", diff)
			}
			for _, a := range got {
				checkAlert(t, a)
			}
			golden := filepath.Join("testdata", s.name, "alerts.golden.json")
			b, err := json.MarshalIndent(got, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			b = append(b, '\n')
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			var w, g []map[string]any
			if err := json.Unmarshal(want, &w); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &g); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(w, g); diff != "" {
				t.Errorf("alerts differ from %s (-want +got):\n%s", golden, diff)
			}
		})
	}
}

// checkAlert asserts the record contract of issue 5 §5.
func checkAlert(t *testing.T, a alert.Alert) {
	t.Helper()
	d, ok := alert.Lookup(a.Type)
	if !ok {
		t.Errorf("%s: unknown type", a.Type)
		return
	}
	if a.Layer != alert.LayerManagement || a.Severity != d.Severity || a.Title != d.Title || len(a.Mitre) == 0 {
		t.Errorf("%s: catalog fields not filled: %+v", a.Type, a)
	}
	if a.ID != alert.ID(a.Type, a.Principal, a.Start) {
		t.Errorf("%s: id %s is not derived from type, principal and start", a.Type, a.ID)
	}
	if a.Principal == "" || a.End.Before(a.Start) {
		t.Errorf("%s: principal %q, start %v, end %v", a.Type, a.Principal, a.Start, a.End)
	}
	if a.Subscription == "" && a.Tenant == "" {
		t.Errorf("%s: neither subscription nor tenant", a.Type)
	}
	for _, k := range []string{"operations", "ips", "countries", "first_activity", "last_activity"} {
		if _, ok := a.Evidence[k]; !ok {
			t.Errorf("%s: evidence lacks %q", a.Type, k)
		}
	}
	if ops, _ := a.Evidence["operations"].([]map[string]any); len(ops) == 0 {
		t.Errorf("%s: no operations in evidence", a.Type)
	}
}

// Events shuffled within the reorder window give the same alerts.
func TestOutOfOrderWithinWindow(t *testing.T) {
	for _, name := range []string{"impossible-travel", "microburst", "powershell", "custom-role", "inactive"} {
		t.Run(name, func(t *testing.T) {
			evs := scenarioEvents(t, name)
			_, want := run(t, DefaultConfig(), evs)
			shuffled := append([]audit.Event(nil), evs...)
			r := rand.New(rand.NewPCG(1, 2))
			// Permute the events inside each half hour: arrival order then
			// differs from time order by less than the reorder window.
			for lo := 0; lo < len(shuffled); {
				hi := lo
				bucket := shuffled[lo].Time.Truncate(30 * time.Minute)
				for hi < len(shuffled) && shuffled[hi].Time.Truncate(30*time.Minute).Equal(bucket) {
					hi++
				}
				part := shuffled[lo:hi]
				r.Shuffle(len(part), func(i, j int) { part[i], part[j] = part[j], part[i] })
				lo = hi
			}
			_, got := run(t, DefaultConfig(), shuffled)
			if diff := cmp.Diff(normalise(t, want), normalise(t, got)); diff != "" {
				t.Errorf("shuffled input changed the alerts (-ordered +shuffled):\n%s", diff)
			}
		})
	}
}

// Saving the state after the background and scanning the same files again
// with it learns nothing twice and raises what one pass raises.
func TestStateRoundTrip(t *testing.T) {
	bg := scenarioEvents(t, "background")
	d1, _ := run(t, DefaultConfig(), bg)
	var buf bytes.Buffer
	if err := d1.SaveState(&buf); err != nil {
		t.Fatal(err)
	}
	size := buf.Len()

	c := newCollector()
	d2, err := New(DefaultConfig(), testDeps(), c.sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := d2.LoadState(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	all := scenarioEvents(t, "impossible-travel")
	for i := range all {
		d2.Add(&all[i])
	}
	d2.Close()
	s := d2.Summary()
	if s.Skipped[skipLearnt] != len(bg) {
		t.Errorf("skipped %d already-learnt events, want %d (summary %+v)", s.Skipped[skipLearnt], len(bg), s)
	}
	if got := countTypes(c.sorted()); !cmp.Equal(got, map[string]int{"impossible-travel": 1}) {
		t.Errorf("after reload: %v", got)
	}
	var buf2 bytes.Buffer
	if err := d2.SaveState(&buf2); err != nil {
		t.Fatal(err)
	}
	if buf2.Len() > 2*size {
		t.Errorf("state grew from %d to %d bytes on re-reading the same data", size, buf2.Len())
	}
	if err := d2.LoadState(bytes.NewReader(buf.Bytes())); err == nil {
		t.Error("LoadState after Add must fail")
	}
	d3, _ := New(DefaultConfig(), Deps{}, nil)
	if err := d3.LoadState(strings.NewReader(`{"version":99}`)); err == nil {
		t.Error("a state of an unknown version must be refused")
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name, yaml string
		wantErr    bool
		check      func(Config) bool
	}{
		{"empty", "", false, func(c Config) bool { return cmp.Equal(c, DefaultConfig()) }},
		{"override", "toolkit:\n  window: 10m\nlocation:\n  vpn-asns: [64500]\n  max-speed-kmh: 1000\ndisabled: [anonymous-ip]\nseverities:\n  infrequent-country: medium\n", false,
			func(c Config) bool {
				return c.Toolkit.Window == 10*time.Minute && c.Location.VPNASNs[0] == 64500 &&
					c.Location.MaxSpeedKmh == 1000 && c.Disabled[0] == alert.AnonymousIP &&
					c.Severities[alert.InfrequentCountry] == "medium" && c.Inactive.Days == 30
			}},
		{"unknown key", "toolkit:\n  windw: 10m\n", true, nil},
		{"bad type", "disabled: [outgoing-ssh]\n", true, nil},
		{"bad severity", "severities:\n  anonymous-ip: urgent\n", true, nil},
		{"bad threshold", "location:\n  shared-min-users: 99\n", true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig(strings.NewReader(tc.yaml))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if tc.check != nil && !tc.check(c) {
				t.Errorf("config not as expected: %+v", c)
			}
		})
	}
}

// Disabled types are never raised; severities are overridden.
func TestDisabledAndSeverity(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Disabled = []string{alert.ImpossibleTravel}
	_, got := run(t, cfg, scenarioEvents(t, "impossible-travel"))
	if len(got) != 0 {
		t.Errorf("disabled type raised: %v", countTypes(got))
	}
	cfg = DefaultConfig()
	cfg.Severities = map[string]string{alert.ImpossibleTravel: alert.SeverityHigh}
	_, got = run(t, cfg, scenarioEvents(t, "impossible-travel"))
	if len(got) != 1 || got[0].Severity != alert.SeverityHigh {
		t.Errorf("severity override not applied: %+v", got)
	}
}

// Without any enrichment, the sign-in's own location still serves.
func TestNoDeps(t *testing.T) {
	evs := scenarioEvents(t, "infrequent-country")
	c := newCollector()
	d, err := New(DefaultConfig(), Deps{}, c.sink)
	if err != nil {
		t.Fatal(err)
	}
	for i := range evs {
		d.Add(&evs[i])
	}
	d.Close()
	if got := countTypes(c.sorted()); got[alert.InfrequentCountry] != 1 {
		t.Errorf("without GeoIP: %v", got)
	}
	if s := d.Summary(); s.Enriched != 0 || !strings.Contains(s.String(), "infrequent-country") {
		t.Errorf("summary: %+v\n%s", s, s)
	}
}

func TestBuiltinRoles(t *testing.T) {
	if n := len(sharedBuiltins); n < 400 {
		t.Fatalf("only %d built-in roles loaded", n)
	}
	for id, want := range map[string]string{
		"8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
		"/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/ACDD72A7-3385-48EF-BD42-F606FBA81AE7": "Reader",
	} {
		if got, ok := BuiltinRoleName(id); !ok || got != want {
			t.Errorf("BuiltinRoleName(%q) = %q, %v", id, got, ok)
		}
	}
	if _, ok := BuiltinRoleName("9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d"); ok {
		t.Error("a custom role id is reported built in")
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		cloud audit.Cloud
		op    string
		flags opFlags
		kind  string
	}{
		{audit.CloudAzure, "microsoft.storage/storageaccounts/listkeys/action", opToolkit, kindStorage},
		{audit.CloudAzure, "microsoft.web/sites/publishxml/action", opToolkit | opPublishXML, kindWeb},
		{audit.CloudAzure, "microsoft.cognitiveservices/accounts/listkeys/action", opToolkit, "microsoft.cognitiveservices/accounts"},
		{audit.CloudAzure, "microsoft.search/searchservices/listadminkeys/action", opToolkit, "microsoft.search/searchservices"},
		{audit.CloudAzure, "microsoft.compute/virtualmachines/write", 0, ""},
		{audit.CloudAzure, "microsoft.authorization/roleassignments/write", opPersistence | opRoleAssignment, ""},
		{audit.CloudAWS, "createaccesskey", opPersistence, ""},
		{audit.CloudAWS, "runinstances", 0, ""},
		{audit.CloudGCP, "google.iam.admin.v1.createserviceaccountkey", opPersistence, ""},
		{audit.CloudGCP, "setiampolicy", opPersistence, ""},
		{audit.CloudGCP, "v1.compute.instances.insert", 0, ""},
	}
	for _, tc := range tests {
		c := classify(tc.cloud, tc.op)
		if c.flags != tc.flags || c.kind != tc.kind {
			t.Errorf("classify(%s, %s) = %+v, want flags %b kind %q", tc.cloud, tc.op, c, tc.flags, tc.kind)
		}
	}
}

func TestWebApp(t *testing.T) {
	for in, want := range map[string]string{
		"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/App1":               "app1",
		"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/app1/slots/staging": "app1/staging",
		"/SUBSCRIPTIONS/S/PROVIDERS/MICROSOFT.WEB/SITES/APP2/PUBLISHXML":                      "app2",
	} {
		if got := webApp(in); got != want {
			t.Errorf("webApp(%q) = %q, want %q", in, got, want)
		}
	}
}

// One alert per incident: further matches within the incident gap deliver
// the same id again with a later end; a match after the gap opens another.
func TestIncidentExtension(t *testing.T) {
	evs := scenarioEvents(t, "anonymous-ip")
	var deliveries []alert.Alert
	d, err := New(DefaultConfig(), testDeps(), func(a alert.Alert) { deliveries = append(deliveries, a) })
	if err != nil {
		t.Fatal(err)
	}
	var more events
	tor := "185.220.101.5"
	more.op(day(d56, 11, 40), bob, tor, bob.tool, "Microsoft.Compute/virtualMachines/write", vmRes("vm-bob"), "")
	more.op(day(d56, 15, 0), bob, tor, bob.tool, "Microsoft.Compute/virtualMachines/write", vmRes("vm-bob"), "")
	evs = append(evs, more...)
	for i := range evs {
		d.Add(&evs[i])
	}
	d.Close()
	if len(deliveries) != 4 {
		t.Fatalf("got %d deliveries, want 4", len(deliveries))
	}
	first := deliveries[0]
	for _, a := range deliveries[1:3] {
		if a.ID != first.ID || !a.Start.Equal(first.Start) || !a.End.After(first.End) {
			t.Errorf("delivery %s [%v, %v] does not extend %s [%v, %v]", a.ID, a.Start, a.End, first.ID, first.Start, first.End)
		}
	}
	if last := deliveries[3]; last.ID == first.ID {
		t.Errorf("activity 3 h later extended the incident instead of opening one")
	}
	if n := d.Summary().Alerts[alert.AnonymousIP]; n != 2 {
		t.Errorf("summary counts %d anonymous-ip alerts, want 2", n)
	}
	if got := deliveries[2].Evidence["operation_count"]; got != 3 {
		t.Errorf("operation_count = %v, want 3", got)
	}
}

// An event older than what was already processed is processed and counted
// late; a zero time or no principal is skipped with its reason.
func TestLateAndSkipped(t *testing.T) {
	evs := scenarioEvents(t, "impossible-travel")
	d, err := New(DefaultConfig(), testDeps(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range evs {
		d.Add(&evs[i])
	}
	late := evs[0]
	d.Add(&late)
	d.Add(&audit.Event{Cloud: audit.CloudAzure, Kind: audit.KindActivity, PrincipalID: "x"})
	d.Add(&audit.Event{Time: day(d56, 23, 0), Cloud: audit.CloudAzure, Kind: audit.KindActivity})
	d.Close()
	d.Add(&late)
	s := d.Summary()
	if s.Late != 1 || s.Skipped[skipNoTime] != 1 || s.Skipped[skipNoPrincipal] != 1 || s.Skipped[skipAfterClose] != 1 || s.Buffered != 0 {
		t.Errorf("summary: %+v", s)
	}
	if s.Events["azure/activity"] == 0 || s.Events["azure/signin"] == 0 || s.Enriched == 0 {
		t.Errorf("events by kind not counted: %+v", s)
	}
	if !strings.Contains(s.String(), "impossible-travel") {
		t.Errorf("rendering lacks the alert:\n%s", s)
	}
}

// Variations of the scenarios that exercise single rules.
func TestRuleVariations(t *testing.T) {
	tests := []struct {
		name     string
		scenario string
		cfg      func(*Config)
		edit     func(events) events
		want     map[string]int
	}{
		{"one organisation pools the clouds' countries", "aws-impossible-travel",
			func(c *Config) { c.Location.SingleOrganisation = true }, nil,
			map[string]int{"impossible-travel": 1}},
		{"failed persistence secures nothing", "inactive", nil,
			func(e events) events {
				for i := range e {
					e[i].Result = audit.ResultFailure
				}
				return e
			}, map[string]int{}},
		{"persistence after the return window", "inactive", nil,
			func(e events) events {
				for i := range e {
					if e[i].PrincipalID == frank.id && e[i].Time.After(day(d56, 9, 10)) {
						e[i].Time = e[i].Time.Add(13 * time.Hour)
					}
				}
				return e
			}, map[string]int{"inactive-account-session": 2}},
		{"configured VPN ASN", "impossible-travel",
			func(c *Config) { c.Location.VPNASNs = []uint32{1221} }, nil, map[string]int{}},
		{"slower travel threshold", "realistic-travel",
			func(c *Config) { c.Location.MaxSpeedKmh = 500 }, nil, map[string]int{"impossible-travel": 1}},
		{"microburst needs more kinds", "toolkit-both",
			func(c *Config) { c.Toolkit.MicroBurstMinKinds = 4 }, nil, map[string]int{"azurite-toolkit": 1}},
		{"azurite from the portal", "azurite", nil,
			func(e events) events {
				for i := range e {
					e[i].Tool, e[i].AppID = audit.ToolPortal, audit.AppIDPortal
				}
				return e
			}, map[string]int{}},
		{"custom role assigned without a body", "custom-role", nil,
			func(e events) events {
				for i := range e {
					if strings.HasSuffix(e[i].Resource, "44440000-0000-0000-0000-000000000002") {
						e = append(e[:i], e[i+1:]...)
						break
					}
				}
				for i := range e {
					if strings.Contains(e[i].Operation, "roleAssignments") {
						e[i].RequestBody = nil
					}
				}
				return e
			}, map[string]int{"custom-role-persistence": 1}},
		{"custom role assigned after the window", "custom-role", nil,
			func(e events) events {
				for i := range e {
					if strings.Contains(e[i].Operation, "roleAssignments") {
						e[i].Time = e[i].Time.Add(25 * time.Hour)
					}
				}
				return e
			}, map[string]int{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			evs := readEvents(t, filepath.Join("testdata", "background", "events.jsonl"))
			extra := events(readEvents(t, filepath.Join("testdata", tc.scenario, "events.jsonl")))
			if tc.edit != nil {
				extra = tc.edit(extra)
			}
			evs = append(evs, extra...)
			sort.SliceStable(evs, func(i, j int) bool { return evs[i].Time.Before(evs[j].Time) })
			_, got := run(t, cfg, evs)
			if diff := cmp.Diff(tc.want, countTypes(got)); diff != "" {
				t.Errorf("alert types (-want +got):\n%s", diff)
			}
		})
	}
}

// The saved state keeps at most max-principals profiles, the most recently
// seen.
func TestStateBounded(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxPrincipals = 5
	d, _ := run(t, cfg, scenarioEvents(t, "background"))
	var buf bytes.Buffer
	if err := d.SaveState(&buf); err != nil {
		t.Fatal(err)
	}
	var st stateFile
	if err := json.Unmarshal(buf.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Principals) != 5 {
		t.Fatalf("%d principals saved, want 5", len(st.Principals))
	}
	for i := 1; i < len(st.Principals); i++ {
		if st.Principals[i].LastSeen.After(st.Principals[i-1].LastSeen) {
			t.Errorf("principals not most recent first")
		}
	}
	if len(st.HWM) == 0 || len(st.Orgs) == 0 {
		t.Errorf("state lacks marks or organisations: %d, %d", len(st.HWM), len(st.Orgs))
	}
}
