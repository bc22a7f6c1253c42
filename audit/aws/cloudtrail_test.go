package aws

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigil-ids/vigil/audit"
	"github.com/vigil-ids/vigil/internal/testenv"
)

func TestDecode(t *testing.T) {
	const sso = `{"eventVersion":"1.09","eventTime":"2026-01-05T09:00:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateAccessKey","sourceIPAddress":"ec2.amazonaws.com","userAgent":"AWSPowerShell/4.1.0 .NET_Runtime/4.0","errorCode":"AccessDenied","recipientAccountId":"111122223333",
"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0123/alice","sessionContext":{"sessionIssuer":{"type":"Role","userName":"AWSReservedSSO_Admin_0123"}}}}`
	var ev audit.Event
	if err := Decode([]byte(sso), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.PrincipalType != audit.PrincipalUser || ev.Tool != audit.ToolPowerShell || ev.Result != audit.ResultFailure ||
		ev.Status != "AccessDenied" || ev.SourceIP.IsValid() || ev.SourceIPText != "ec2.amazonaws.com" ||
		ev.PrincipalName != "AWSReservedSSO_Admin_0123/alice" || ev.Subscription != "111122223333" {
		t.Errorf("got %+v", ev)
	}
	for _, tc := range []struct {
		in   string
		want error
	}{
		{`{"eventName":"X","eventSource":"s"}`, ErrNoTime},
		{`{"foo":1}`, ErrNotCloudTrail},
		{`{"eventName":`, ErrSyntax},
		{`[]`, ErrNotObject},
	} {
		if err := Decode([]byte(tc.in), &ev); !errors.Is(err, tc.want) {
			t.Errorf("Decode(%s) = %v, want %v", tc.in, err, tc.want)
		}
	}
}

func TestToolForUserAgent(t *testing.T) {
	for ua, want := range map[string]audit.Tool{
		"":                                     audit.ToolUnknown,
		"aws-cli/2.15.0 Python/3.11.6 Linux/6": audit.ToolCLI,
		"Boto3/1.34.0 md/Botocore#1.34.0":      audit.ToolOther,
		"AWSPowerShell.Common/4.1.0.0 .NET":    audit.ToolPowerShell,
		"AWS.Tools.IdentityManagement/4.1":     audit.ToolPowerShell,
		"console.amazonaws.com":                audit.ToolPortal,
		"signin.amazonaws.com":                 audit.ToolPortal,
		"Mozilla/5.0 (X11; Linux x86_64)":      audit.ToolPortal,
		"Terraform/1.6.0 (+https://www.terraform.io) terraform-provider-aws/5.0": audit.ToolOther,
	} {
		if got := ToolForUserAgent(ua); got != want {
			t.Errorf("ToolForUserAgent(%q) = %q, want %q", ua, got, want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"eventVersion":"1.0","eventTime":"2026-01-05T09:00:00Z","eventName":"ConsoleLogin","sourceIPAddress":"075.050.255.67","responseElements":{"ConsoleLogin":"Failure"},"userIdentity":{"type":"Root"}}`))
	f.Add([]byte(`{"eventTime":"x","eventName":1,"userIdentity":"s","resources":[{"ARN":null}]}`))
	dir := testenv.SharedData(f, "audit", "aws")
	paths, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, p := range paths {
		b, _ := os.ReadFile(p)
		for _, line := range bytes.Split(b, []byte("\n")) {
			f.Add(line)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var ev audit.Event
		if Decode(b, &ev) == nil {
			if ev.Time.IsZero() || ev.Cloud != audit.CloudAWS || ev.Operation == "" {
				t.Errorf("accepted an incomplete event %+v", ev)
			}
			if ev.SourceIP.Is4In6() {
				t.Errorf("mapped address kept: %v", ev.SourceIP)
			}
		}
	})
}
