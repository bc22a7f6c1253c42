package mgmt

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/audit"
	"github.com/vigil-ids/vigil/eval"
	"github.com/vigil-ids/vigil/sim/world"
)

var testEnd = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

func testConfig(seed int64) Config {
	cfg := DefaultConfig(seed, testEnd)
	cfg.Start = testEnd.Add(-72 * 24 * time.Hour)
	cfg.Users = 30
	return cfg
}

type run struct {
	once  sync.Once
	recs  []record
	dir   string
	truth []eval.Incident
	looks []eval.Incident
	stats Stats
	cfg   Config
	// alerts are what detect/management raised on the run's events.
	alerts map[string]alert.Alert
}

var (
	runsMu sync.Mutex
	runs   = map[string]*run{}
)

// generated runs the simulator once per name and seed for the whole
// test binary: the runs take seconds.
func generated(t *testing.T, name string, seed int64) *run {
	t.Helper()
	runsMu.Lock()
	defer runsMu.Unlock()
	if r := runs[name]; r != nil {
		return r
	}
	dir, err := os.MkdirTemp("", "vigil-mgmt-"+name+"-")
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(seed)
	r := &run{dir: dir, cfg: cfg, alerts: map[string]alert.Alert{}}
	det := newTestDetector(t, seed, &cfg, r.alerts)
	truth, looks, st, err := generate(cfg, dir, func(s *sim, e *event) {
		ev := auditEvent(s, e)
		det.Add(&ev)
	})
	if err != nil {
		t.Fatal(err)
	}
	det.Close()
	r.truth, r.looks, r.stats = truth, looks, st
	runs[name] = r
	return r
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, r := range runs {
		os.RemoveAll(r.dir)
	}
	os.Exit(code)
}

func treeHash(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		out[rel] = sha256.Sum256(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDeterministic(t *testing.T) {
	a := generated(t, "seed1", 1)
	b := generated(t, "seed1-again", 1)
	c := generated(t, "seed2", 2)
	if diff := cmp.Diff(a.truth, b.truth); diff != "" {
		t.Fatalf("same seed, different truth (-a +b):\n%s", diff)
	}
	ha, hb := treeHash(t, a.dir), treeHash(t, b.dir)
	if len(ha) != len(hb) {
		t.Fatalf("same seed, %d vs %d files", len(ha), len(hb))
	}
	for k, v := range ha {
		if hb[k] != v {
			t.Fatalf("same seed, %s differs", k)
		}
	}
	keys := func(in []eval.Incident) []string {
		var k []string
		for _, i := range in {
			k = append(k, i.Key)
		}
		return k
	}
	if slices.Equal(keys(a.truth), keys(c.truth)) {
		t.Fatal("seeds 1 and 2 gave the same principals")
	}
}

func TestConfigValidation(t *testing.T) {
	cfg := DefaultConfig(1, testEnd)
	cfg.Start = testEnd.Add(-30 * 24 * time.Hour)
	if _, err := Generate(cfg, t.TempDir()); err == nil {
		t.Fatal("30 days of history accepted")
	}
	cfg = DefaultConfig(1, testEnd)
	cfg.Users = 3
	if _, err := Generate(cfg, t.TempDir()); err == nil {
		t.Fatal("3 users accepted")
	}
}

// record is the subset of every log's records the tests look at.
type record struct {
	src       string
	t         time.Time
	principal string
	ip        string
	op        string
	resource  string
	stage     string
	corr      string
	app       string
	body      any
	country   string
}

func readJSONLines(t *testing.T, path string, fn func([]byte)) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		if !json.Valid(sc.Bytes()) {
			t.Fatalf("%s: invalid JSON line %.200s", path, sc.Text())
		}
		fn(sc.Bytes())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

type azRec struct {
	Time          string `json:"time"`
	ResourceID    string `json:"resourceId"`
	OperationName string `json:"operationName"`
	Category      string `json:"category"`
	ResultType    string `json:"resultType"`
	CallerIP      string `json:"callerIpAddress"`
	CorrelationID string `json:"correlationId"`
	Identity      struct {
		Claims map[string]string `json:"claims"`
	} `json:"identity"`
	Properties struct {
		RequestBody json.RawMessage `json:"requestbody"`
	} `json:"properties"`
}

var (
	storagePath  = regexp.MustCompile(`^azure/activitylog/insights-activity-logs/resourceId=/SUBSCRIPTIONS/[0-9A-F-]{36}/y=\d{4}/m=\d\d/d=\d\d/h=\d\d/m=00/PT1H\.json$`)
	signinPath   = regexp.MustCompile(`^azure/signinlogs/insights-logs-(signinlogs|noninteractiveusersigninlogs|serviceprincipalsigninlogs)/tenantId=[0-9a-f-]{36}/y=\d{4}/m=\d\d/d=\d\d/h=\d\d/m=00/PT1H\.json$`)
	eventHubPath = regexp.MustCompile(`^azure/eventhub/insights-activity-logs/[0-9a-f-]{36}/\d{4}-\d\d-\d\d/\d\d\.json$`)
	trailPath    = regexp.MustCompile(`^aws/AWSLogs/\d{12}/CloudTrail/[a-z0-9-]+/\d{4}/\d\d/\d\d/\d{12}_CloudTrail_[a-z0-9-]+_\d{8}T\d{4}Z_[A-Z0-9]{16}\.json\.gz$`)
	gcpPath      = regexp.MustCompile(`^gcp/cloudaudit\.googleapis\.com/activity/\d{4}/\d\d/\d\d/\d\d:00:00_\d\d:59:59_S0\.json$`)
)

// readAll parses every file of a run in its format and fails on any file
// that is not where or what it should be.
func readAll(t *testing.T, dir string) []record {
	t.Helper()
	var out []record
	addAz := func(b []byte, src string) {
		var a azRec
		if err := json.Unmarshal(b, &a); err != nil {
			t.Fatalf("activity record: %v", err)
		}
		ts, err := time.Parse(time.RFC3339Nano, a.Time)
		if err != nil || a.Category != "Administrative" || a.CorrelationID == "" || a.OperationName == "" || a.ResourceID == "" {
			t.Fatalf("bad activity record %.300s", b)
		}
		oid := a.Identity.Claims["http://schemas.microsoft.com/identity/claims/objectidentifier"]
		if oid == "" || a.Identity.Claims["appid"] == "" {
			t.Fatalf("activity record without objectidentifier or appid: %.300s", b)
		}
		var body any
		if len(a.Properties.RequestBody) > 0 {
			if err := json.Unmarshal(a.Properties.RequestBody, &body); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, record{src: src, t: ts, principal: oid, ip: a.CallerIP, op: a.OperationName, resource: a.ResourceID,
			stage: a.ResultType, corr: a.CorrelationID, app: a.Identity.Claims["appid"], body: body})
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		rel = filepath.ToSlash(rel)
		switch {
		case storagePath.MatchString(rel):
			readJSONLines(t, path, func(b []byte) {
				if !bytes.HasPrefix(b, []byte(`{"records":[`)) {
					addAz(b, "storage")
					return
				}
				var env struct {
					Records []json.RawMessage `json:"records"`
				}
				if err := json.Unmarshal(b, &env); err != nil || len(env.Records) == 0 {
					t.Fatalf("%s: not a records object", rel)
				}
				for _, r := range env.Records {
					addAz(r, "storage-records")
				}
			})
		case eventHubPath.MatchString(rel):
			readJSONLines(t, path, func(b []byte) {
				var env struct {
					Records []json.RawMessage `json:"records"`
				}
				if err := json.Unmarshal(b, &env); err != nil || len(env.Records) == 0 {
					t.Fatalf("%s: not a records batch", rel)
				}
				for _, r := range env.Records {
					addAz(r, "eventhub")
				}
			})
		case signinPath.MatchString(rel):
			readJSONLines(t, path, func(b []byte) {
				var s struct {
					Time       string `json:"time"`
					Category   string `json:"category"`
					Properties struct {
						UserID    any    `json:"userId"`
						SPID      string `json:"servicePrincipalId"`
						IPAddress string `json:"ipAddress"`
						AppID     string `json:"appId"`
						Status    struct {
							ErrorCode *int `json:"errorCode"`
						} `json:"status"`
						Location struct {
							CountryOrRegion string `json:"countryOrRegion"`
							Geo             *struct {
								Latitude, Longitude float64
							} `json:"geoCoordinates"`
						} `json:"location"`
					} `json:"properties"`
				}
				if err := json.Unmarshal(b, &s); err != nil {
					t.Fatal(err)
				}
				ts, err := time.Parse(time.RFC3339Nano, s.Time)
				p := s.Properties
				if err != nil || p.IPAddress == "" || p.AppID == "" || p.Status.ErrorCode == nil || p.Location.CountryOrRegion == "" || p.Location.Geo == nil {
					t.Fatalf("bad sign-in %.400s", b)
				}
				id, _ := p.UserID.(string)
				if s.Category == "ServicePrincipalSignInLogs" {
					id = p.SPID
				}
				if id == "" {
					t.Fatalf("sign-in without principal: %.300s", b)
				}
				out = append(out, record{src: "signin", t: ts, principal: id, ip: p.IPAddress, app: p.AppID, country: p.Location.CountryOrRegion,
					stage: map[bool]string{true: "ok", false: "failed"}[*p.Status.ErrorCode == 0]})
			})
		case trailPath.MatchString(rel):
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			zr, err := gzip.NewReader(f)
			if err != nil {
				t.Fatalf("%s: %v", rel, err)
			}
			b, err := io.ReadAll(zr)
			if err != nil {
				t.Fatal(err)
			}
			var env struct {
				Records []struct {
					EventTime    string `json:"eventTime"`
					EventName    string `json:"eventName"`
					EventSource  string `json:"eventSource"`
					SourceIP     string `json:"sourceIPAddress"`
					UserIdentity struct {
						Type, Arn, AccountID string
					} `json:"userIdentity"`
				} `json:"Records"`
			}
			if err := json.Unmarshal(b, &env); err != nil || len(env.Records) == 0 {
				t.Fatalf("%s: not a CloudTrail file: %v", rel, err)
			}
			for _, r := range env.Records {
				ts, err := time.Parse(time.RFC3339, r.EventTime)
				if err != nil || r.EventName == "" || r.EventSource == "" || r.UserIdentity.Arn == "" || r.SourceIP == "" {
					t.Fatalf("bad CloudTrail record %+v", r)
				}
				out = append(out, record{src: "cloudtrail", t: ts, principal: r.UserIdentity.Arn, ip: r.SourceIP, op: r.EventName})
			}
		case gcpPath.MatchString(rel):
			readJSONLines(t, path, func(b []byte) {
				var e struct {
					Timestamp    string `json:"timestamp"`
					LogName      string `json:"logName"`
					ProtoPayload struct {
						Type               string            `json:"@type"`
						MethodName         string            `json:"methodName"`
						ServiceName        string            `json:"serviceName"`
						AuthenticationInfo map[string]string `json:"authenticationInfo"`
						RequestMetadata    struct {
							CallerIP string `json:"callerIp"`
						} `json:"requestMetadata"`
					} `json:"protoPayload"`
				}
				if err := json.Unmarshal(b, &e); err != nil {
					t.Fatal(err)
				}
				ts, err := time.Parse(time.RFC3339Nano, e.Timestamp)
				pp := e.ProtoPayload
				if err != nil || pp.Type != "type.googleapis.com/google.cloud.audit.AuditLog" || pp.MethodName == "" || pp.ServiceName == "" ||
					pp.AuthenticationInfo["principalEmail"] == "" || pp.RequestMetadata.CallerIP == "" || !strings.HasSuffix(e.LogName, "cloudaudit.googleapis.com%2Factivity") {
					t.Fatalf("bad GCP entry %.300s", b)
				}
				out = append(out, record{src: "gcp", t: ts, principal: pp.AuthenticationInfo["principalEmail"], ip: pp.RequestMetadata.CallerIP, op: pp.MethodName})
			})
		default:
			t.Errorf("unexpected file %s", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (r *run) records(t *testing.T) []record {
	r.once.Do(func() { r.recs = readAll(t, r.dir) })
	return r.recs
}

func TestFormats(t *testing.T) {
	r := generated(t, "seed1", 1)
	recs := r.records(t)
	count := map[string]int{}
	for _, x := range recs {
		count[x.src]++
		if x.t.Before(r.cfg.Start) || x.t.After(r.cfg.End.Add(time.Minute)) {
			t.Fatalf("record outside the period: %+v", x)
		}
	}
	for _, src := range []string{"storage", "storage-records", "eventhub", "signin", "cloudtrail", "gcp"} {
		if count[src] == 0 {
			t.Errorf("no %s records", src)
		}
	}
	t.Logf("records by source: %v; stats %+v", count, r.stats)

	// Stage records pair by (correlationId, operation, resource) compared
	// case-insensitively: one Start and one Success or Failure each, and
	// the pairing is needed because correlation ids span deployments.
	type opKey struct{ corr, op, res string }
	groups := map[opKey][]string{}
	corrOps := map[string]map[string]bool{}
	var upper, lower, strBody, objBody int
	for _, x := range recs {
		if x.src != "storage" && x.src != "storage-records" && x.src != "eventhub" {
			continue
		}
		k := opKey{x.corr, strings.ToLower(x.op), strings.ToLower(x.resource)}
		groups[k] = append(groups[k], x.stage)
		if corrOps[x.corr] == nil {
			corrOps[x.corr] = map[string]bool{}
		}
		corrOps[x.corr][k.op+k.res] = true
		switch x.op {
		case strings.ToUpper(x.op):
			upper++
		case strings.ToLower(x.op):
			lower++
		}
		switch x.body.(type) {
		case string:
			strBody++
		case map[string]any:
			objBody++
		}
	}
	for k, stages := range groups {
		slices.Sort(stages)
		terminal := 0
		for _, s := range stages {
			if s == "Success" || s == "Failure" {
				terminal++
			}
		}
		if !slices.Contains(stages, "Start") || terminal != 1 {
			t.Fatalf("operation %+v has stages %v", k, stages)
		}
	}
	multi := 0
	for _, ops := range corrOps {
		if len(ops) > 1 {
			multi++
		}
	}
	if multi == 0 || upper == 0 || lower == 0 || strBody == 0 || objBody == 0 {
		t.Fatalf("missing variety: deployments sharing a correlation id %d, upper %d, lower %d, string bodies %d, object bodies %d",
			multi, upper, lower, strBody, objBody)
	}
}

func TestEveryTypeWithLookAlike(t *testing.T) {
	for _, name := range []string{"seed1", "seed2"} {
		seed := map[string]int64{"seed1": 1, "seed2": 2}[name]
		r := generated(t, name, seed)
		byType := map[string][]eval.Incident{}
		labelled := map[string]map[string]bool{}
		for _, in := range r.truth {
			byType[in.Type] = append(byType[in.Type], in)
			if labelled[in.Type] == nil {
				labelled[in.Type] = map[string]bool{}
			}
			labelled[in.Type][in.Key] = true
			if in.End.Before(in.Start) || in.Start.Before(r.cfg.Start) || in.End.After(r.cfg.End) {
				t.Errorf("%s: bad incident times %+v", name, in)
			}
		}
		want := map[string]int{
			alert.MicroBurstToolkit: 3, alert.AzuriteToolkit: 2, alert.InactiveAccountSession: 4, alert.PowerShellSession: 2,
			alert.CustomRolePersistence: 3, alert.InfrequentCountry: 4, alert.AnonymousIP: 3, alert.ImpossibleTravel: 3,
		}
		for typ, n := range want {
			if len(byType[typ]) < n {
				t.Errorf("%s: %d %s incidents, want at least %d", name, len(byType[typ]), typ, n)
			}
		}
		for typ := range byType {
			if _, ok := want[typ]; !ok {
				t.Errorf("%s: unexpected type %s", name, typ)
			}
		}
		// Location incidents in all three clouds' principals.
		clouds := map[string]bool{}
		for _, in := range append(byType[alert.InactiveAccountSession], byType[alert.ImpossibleTravel]...) {
			switch {
			case strings.HasPrefix(in.Key, "arn:aws:"):
				clouds["aws"] = true
			case strings.Contains(in.Key, "@"):
				clouds["gcp"] = true
			default:
				clouds["azure"] = true
			}
		}
		if len(clouds) != 3 {
			t.Errorf("%s: identity incidents only in %v", name, clouds)
		}

		lookTypes := map[string]int{}
		for _, la := range r.looks {
			lookTypes[la.Type]++
			for _, in := range byType[la.Type] {
				if in.Key == la.Key && !in.Start.After(la.End) && !in.End.Before(la.Start) {
					t.Errorf("%s: look-alike %+v overlaps incident %+v", name, la, in)
				}
			}
		}
		for typ := range want {
			if lookTypes[typ] == 0 {
				t.Errorf("%s: no look-alike of %s", name, typ)
			}
		}
		recs := r.records(t)
		w := world.New(seed)
		// Look-alike: the mis-tagged corporate egress is used by many users
		// and never labelled.
		egressUsers := map[string]bool{}
		for _, x := range recs {
			if x.ip == w.MistaggedEgress().String() && x.src == "signin" {
				egressUsers[x.principal] = true
			}
		}
		if len(egressUsers) < 5 {
			t.Errorf("%s: mis-tagged egress used by %d users", name, len(egressUsers))
		}
		for _, in := range byType[alert.AnonymousIP] {
			if strings.Contains(in.Note, w.MistaggedEgress().String()) {
				t.Errorf("%s: mis-tagged egress labelled: %+v", name, in)
			}
		}
		// Look-alike: PowerShell regulars perform persistence actions with
		// PowerShell and are not labelled.
		regulars := map[string]bool{}
		for _, x := range recs {
			if x.app == audit.AppIDPowerShell && x.stage == "Start" && persistenceAzure[strings.ToLower(x.op)] && !labelled[alert.PowerShellSession][x.principal] {
				regulars[x.principal] = true
			}
		}
		if len(regulars) < 2 {
			t.Errorf("%s: %d unlabelled PowerShell principals with persistence actions", name, len(regulars))
		}
		// Look-alike: weekly role administrators grant built-in roles.
		builtin := map[string]bool{}
		for _, b := range builtinRoles {
			builtin[b.id] = true
		}
		admins := map[string]bool{}
		for _, x := range recs {
			if strings.EqualFold(x.op, opRoleAssignWrite) && x.stage == "Start" && !labelled[alert.CustomRolePersistence][x.principal] {
				bs, _ := json.Marshal(x.body)
				for id := range builtin {
					if bytes.Contains(bs, []byte(id)) {
						admins[x.principal] = true
					}
				}
			}
		}
		if len(admins) < 2 {
			t.Errorf("%s: %d role administrators granting built-in roles", name, len(admins))
		}
		// Look-alike: travellers reach colleagues' countries without an
		// impossible-travel label.
		countries := map[string]map[string]bool{}
		for _, x := range recs {
			if x.src == "signin" && x.country != "" {
				if countries[x.principal] == nil {
					countries[x.principal] = map[string]bool{}
				}
				countries[x.principal][x.country] = true
			}
		}
		travellers := 0
		for p, cs := range countries {
			if len(cs) >= 2 && !labelled[alert.ImpossibleTravel][p] && !labelled[alert.InfrequentCountry][p] && !labelled[alert.AnonymousIP][p] {
				travellers++
			}
		}
		if travellers < 5 {
			t.Errorf("%s: %d unlabelled users seen in several countries", name, travellers)
		}
		// Look-alike: new users in their learning week.
		first := map[string]time.Time{}
		for _, x := range recs {
			if f, ok := first[x.principal]; !ok || x.t.Before(f) {
				first[x.principal] = x.t
			}
		}
		newUsers := 0
		for _, f := range first {
			if r.cfg.End.Sub(f) < 7*24*time.Hour {
				newUsers++
			}
		}
		if newUsers < 3 {
			t.Errorf("%s: %d new users", name, newUsers)
		}
	}
}

func BenchmarkGenerate(b *testing.B) {
	cfg := testConfig(1)
	var st Stats
	for b.Loop() {
		dir := b.TempDir()
		var err error
		_, st, err = GenerateStats(cfg, dir)
		if err != nil {
			b.Fatal(err)
		}
		os.RemoveAll(dir)
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(st.Records)/sec, "records/s")
	b.ReportMetric(float64(st.Bytes)/sec/1e6, "MB/s")
	b.ReportMetric(float64(st.Bytes)/float64(st.Records), "B/record")
}
