package gcp

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/vigil-ids/vigil/audit"
	"github.com/vigil-ids/vigil/internal/testenv"
)

func TestDecode(t *testing.T) {
	const in = `{"logName":"organizations/1/logs/cloudaudit.googleapis.com%2Factivity","timestamp":"2026-01-05T09:00:00.123456789Z","resource":{"labels":{"project_id":"p1"}},
"protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","methodName":"SetIamPolicy","resourceName":"projects/p1","status":{"code":"7"},
"authenticationInfo":{"principalEmail":"deploy@p1.iam.gserviceaccount.com"},"requestMetadata":{"callerIp":"gce-internal-ip","callerSuppliedUserAgent":"google-cloud-sdk gcloud/460.0.0"}}}`
	var ev audit.Event
	if err := Decode([]byte(in), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Subscription != "p1" || ev.Category != "activity" || ev.Result != audit.ResultFailure || ev.Status != "7" ||
		ev.PrincipalType != audit.PrincipalService || ev.Tool != audit.ToolCLI || ev.SourceIP.IsValid() ||
		ev.Time.Nanosecond() != 123456789 {
		t.Errorf("got %+v", ev)
	}
	for _, tc := range []struct {
		in   string
		want error
	}{
		{`{"protoPayload":{"methodName":"m"}}`, ErrNoTime},
		{`{"jsonPayload":{}}`, ErrNotAuditLog},
		{`{"protoPayload":{"@type":"type.googleapis.com/google.appengine.logging.v1.RequestLog"},"timestamp":"2026-01-05T09:00:00Z"}`, ErrNotAuditLog},
		{`{"protoPayload":`, ErrSyntax},
	} {
		if err := Decode([]byte(tc.in), &ev); !errors.Is(err, tc.want) {
			t.Errorf("Decode(%s) = %v, want %v", tc.in, err, tc.want)
		}
	}
}

func TestPrincipalAndTool(t *testing.T) {
	for email, want := range map[string]audit.PrincipalType{
		"alice@example.com": audit.PrincipalUser, "sa@p.iam.gserviceaccount.com": audit.PrincipalService,
		"system:anonymous": audit.PrincipalService, "": audit.PrincipalUnknown,
	} {
		if got := principalType(email); got != want {
			t.Errorf("principalType(%q) = %q, want %q", email, got, want)
		}
	}
	for ua, want := range map[string]audit.Tool{
		"": audit.ToolUnknown, "Mozilla/5.0 (Macintosh),gzip(gfe)": audit.ToolPortal,
		"google-cloud-sdk gcloud/290.0.1 command/gcloud.compute": audit.ToolCLI,
		"GoogleCloudPowerShell/1.0":                              audit.ToolPowerShell, "kubectl/v1.20.2": audit.ToolOther,
	} {
		if got := ToolForUserAgent(ua); got != want {
			t.Errorf("ToolForUserAgent(%q) = %q, want %q", ua, got, want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"logName":"projects/p/logs/x","timestamp":"2026-01-05T09:00:00Z","protoPayload":{"methodName":"m","status":{}}}`))
	f.Add([]byte(`{"protoPayload":{"@type":"AuditLog","status":{"code":7,"message":"PERMISSION_DENIED"}},"receiveTimestamp":"2026-01-05T09:00:00.1Z","logName":"projects/%zz/logs/%"}`))
	b, _ := os.ReadFile(testenv.SharedData(f, "audit", "gcp", "integrations-test-audit.log"))
	for _, line := range bytes.Split(b, []byte("\n")) {
		f.Add(line)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var ev audit.Event
		if Decode(b, &ev) == nil && (ev.Time.IsZero() || ev.Cloud != audit.CloudGCP) {
			t.Errorf("accepted an incomplete event %+v", ev)
		}
	})
}
