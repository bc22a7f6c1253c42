package auditfile

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-ids/vigil/audit"
	"github.com/vigil-ids/vigil/audit/azure"
	"github.com/vigil-ids/vigil/sim/mgmt"
)

const (
	ctRec  = `{"eventVersion":"1.09","eventTime":"2026-01-05T09:00:0%dZ","eventSource":"iam.amazonaws.com","eventName":"CreateUser","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/a"}}`
	gcpRec = `{"logName":"projects/p/logs/cloudaudit.googleapis.com%%2Factivity","timestamp":"2026-01-05T09:00:0%dZ","protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","methodName":"SetIamPolicy"}}`
	azRec  = `{"time":"2026-01-05T09:00:0%dZ","resourceId":"/subscriptions/s/r","operationName":"Microsoft.Web/sites/publishxml/action","category":"Administrative","resultType":"Success","correlationId":"c%[1]d"}`
	siRec  = `{"time":"2026-01-05T09:00:0%dZ","category":"NonInteractiveUserSignInLogs","operationName":"Sign-in activity","properties":{"userId":"u","status":{"errorCode":0}}}`
)

func recs(format string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(format, i)
	}
	return out
}

func gz(s string) string {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.String()
}

func TestReadFraming(t *testing.T) {
	az := recs(azRec, 3)
	ct := recs(ctRec, 3)
	pretty := "{\n  \"records\": [\n    " + strings.Join(az, ",\n    ") + "\n  ]\n}\n"
	tests := []struct {
		name string
		in   string
		kind Kind
		want Summary
	}{
		{"json lines", strings.Join(az, "\n") + "\n", KindAzureActivity, Summary{AzureActivity: 3, Events: 3}},
		{"json lines, CRLF, no final newline", strings.Join(az, "\r\n"), KindAzureActivity, Summary{AzureActivity: 3, Events: 3}},
		{"records object, pretty", pretty, KindAzureActivity, Summary{AzureActivity: 3, Events: 3}},
		{"records objects, one per line (event hub)", `{"records":[` + az[0] + `,` + az[1] + "]}\n" + `{"records":[` + az[2] + "]}\n", KindAzureActivity, Summary{AzureActivity: 3, Events: 3}},
		{"records objects concatenated", `{"records":[` + az[0] + `]}{"records":[` + az[1] + `,` + az[2] + `]}`, KindAzureActivity, Summary{AzureActivity: 3, Events: 3}},
		{"byte order mark", "\ufeff" + strings.Join(az, "\n"), KindAzureActivity, Summary{AzureActivity: 3, Events: 3}},
		{"sign-ins and activity in one file", fmt.Sprintf(siRec, 0) + "\n" + az[1] + "\n", KindEntraSignIn, Summary{AzureActivity: 1, EntraSignIn: 1, Events: 2}},
		{"cloudtrail Records", `{"Records":[` + strings.Join(ct, ",") + `]}`, KindCloudTrail, Summary{CloudTrail: 3, Events: 3}},
		{"cloudtrail array, gzipped", gz("[\n" + strings.Join(ct, ",\n") + "\n]"), KindCloudTrail, Summary{CloudTrail: 3, Events: 3}},
		{"gcp json lines", strings.Join(recs(gcpRec, 2), "\n"), KindGCPAudit, Summary{GCPAudit: 2, Events: 2}},
		{"gcp entries list", `{"entries":[` + strings.Join(recs(gcpRec, 2), ",") + `],"nextPageToken":"x"}`, KindGCPAudit, Summary{GCPAudit: 2, Events: 2}},
		{"malformed lines are counted", az[0] + "\nnot json at all\n" + `{"time":"2026-01-05T09:00:00Z","operationName":"x"` + "\n" + `{"operationName":"x","time":"later"}` + "\n" + az[1] + "\n" + `[1,2]` + "\n" + `{"time":"2026-01-05T09:00:09Z","resourceId":"/r","operationName":"o","note":"cut` + "\n" + az[2],
			KindAzureActivity, Summary{AzureActivity: 3, Events: 3, Malformed: map[string]uint64{"not json": 1, "truncated record": 2, "missing or invalid time": 1, "record is not a json object": 2}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var evs []audit.Event
			// A reader that returns one byte at a time exercises every
			// buffer boundary.
			sum, err := Read(iotest.OneByteReader(strings.NewReader(tc.in)), "test", func(e *audit.Event) { evs = append(evs, *e) })
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, sum); d != "" {
				t.Errorf("summary (-want +got):\n%s", d)
			}
			for i := 1; i < len(evs); i++ {
				if evs[i].Time.Before(evs[i-1].Time) {
					t.Errorf("events out of input order")
				}
			}
			head := tc.in
			if strings.HasPrefix(head, "\x1f\x8b") {
				zr, _ := gzip.NewReader(strings.NewReader(head))
				b, _ := io.ReadAll(zr)
				head = string(b)
			}
			if got := Detect([]byte(head)); got != tc.kind {
				t.Errorf("Detect = %v, want %v", got, tc.kind)
			}
		})
	}
}

func TestDetect(t *testing.T) {
	bigClaims := strings.Repeat(`"x":"`+strings.Repeat("y", 1000)+`",`, 80)
	huge := `{"records":[{"time":"2026-01-05T09:00:00Z","resourceId":"/r","operationName":"o","identity":{"claims":{` + bigClaims + `"a":"b"}}}]}`
	for _, tc := range []struct {
		name string
		in   string
		want Kind
	}{
		{"nsg flow log v2", `{"records":[{"time":"2026-01-05T09:00:00Z","systemId":"x","category":"NetworkSecurityGroupFlowEvent","resourceId":"/SUBSCRIPTIONS/S/NSG","operationName":"NetworkSecurityGroupFlowEvents","properties":{"Version":2,"flows":[{"rule":"r","flows":[]}]}}]}`, KindUnknown},
		{"vnet flow log", `{"records":[{"time":"2026-01-05T09:00:00Z","flowLogVersion":4,"flowLogGUID":"g","macAddress":"m","category":"FlowLogFlowEvent","flowLogResourceID":"/r","targetResourceID":"/t","operationName":"FlowLogFlowEvent","flowRecords":{"flows":[]}}]}`, KindUnknown},
		{"cloudtrail digest", `{"awsAccountId":"1","digestStartTime":"2026-01-05T09:00:00Z","logFiles":[]}`, KindUnknown},
		{"gcp request log", `{"protoPayload":{"@type":"type.googleapis.com/google.appengine.logging.v1.RequestLog"},"timestamp":"2026-01-05T09:00:00Z"}`, KindUnknown},
		{"a record larger than the head", huge[:HeadSize], KindAzureActivity},
		{"text", "hello world\n", KindUnknown},
		{"empty", "", KindUnknown},
	} {
		if got := Detect([]byte(tc.in)); got != tc.want {
			t.Errorf("%s: Detect = %v, want %v", tc.name, got, tc.want)
		}
	}
	if _, err := Read(strings.NewReader("hello"), "x", func(*audit.Event) {}); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("Read of text: %v", err)
	}
	if _, err := Read(strings.NewReader("\x1f\x8bnot gzip"), "x", func(*audit.Event) {}); err == nil {
		t.Error("Read of a broken gzip stream succeeded")
	}
}

// TestSimulatedEstate reads every file the management simulator writes
// (Activity Log to storage and Event Hub, sign-ins, CloudTrail, GCP) and
// checks that each of its records is read, and that operations pair into
// the events it generated. Operations whose stages straddle two hourly
// files cannot pair, since each file is read on its own.
func TestSimulatedEstate(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 75 days of logs")
	}
	dir := t.TempDir()
	cfg := mgmt.DefaultConfig(7, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	_, st, err := mgmt.GenerateStats(cfg, dir)
	if err != nil {
		t.Fatal(err)
	}
	var total Summary
	var all []audit.Event
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		sum, err := ReadFile(p, func(e *audit.Event) { all = append(all, *e) })
		if err != nil {
			t.Errorf("%s: %v", p, err)
		}
		total.Merge(sum)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if total.MalformedTotal() != 0 {
		t.Errorf("malformed: %v", total.Malformed)
	}
	if total.Records() != uint64(st.Records) {
		t.Errorf("read %d records, the simulator wrote %d", total.Records(), st.Records)
	}
	if total.Records() != total.Events+total.Paired {
		t.Errorf("records %d != events %d + paired %d", total.Records(), total.Events, total.Paired)
	}
	// Every event the simulator generated is one event, except the
	// operations split across hourly files, which come out twice.
	if total.Events < uint64(st.Events) || total.Events-uint64(st.Events) != total.Unfinished {
		t.Errorf("events %d, generated %d, unfinished %d", total.Events, st.Events, total.Unfinished)
	}
	if float64(total.Unfinished) > 0.01*float64(st.Events) {
		t.Errorf("%d of %d operations unpaired", total.Unfinished, st.Events)
	}
	t.Logf("%+v; generated %d records, %d events", total, st.Records, st.Events)

	// Joined again in time order across files, every operation is one
	// event.
	sort.SliceStable(all, func(i, j int) bool { return all[i].Time.Before(all[j].Time) })
	var joined uint64
	p := azure.NewPairer(azure.DefaultPairConfig(), func(*audit.Event) { joined++ })
	for i := range all {
		p.AddEvent(&all[i])
	}
	p.Flush()
	if joined != uint64(st.Events) || p.Stats().Unfinished != 0 {
		t.Errorf("joined across files: %d events, %+v; generated %d", joined, p.Stats(), st.Events)
	}
}
