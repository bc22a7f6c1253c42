package management

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/audit"
)

var fuzzOps = []string{
	"Microsoft.Storage/storageAccounts/listKeys/action",
	"MICROSOFT.WEB/SITES/PUBLISHXML/ACTION",
	"Microsoft.Web/sites/config/list/action",
	"Microsoft.ContainerRegistry/registries/listCredentials/action",
	"Microsoft.Authorization/roleDefinitions/write",
	"Microsoft.Authorization/roleAssignments/write",
	"Microsoft.Resources/deployments/write",
	"Microsoft.Compute/virtualMachines/runCommand/action",
	"Microsoft.Compute/virtualMachines/write",
	"microsoft.foo/bars/listsecrets/action",
	"CreateAccessKey",
	"SetIamPolicy",
	"Sign-in activity",
	"",
}

var fuzzIPs = []string{"81.56.1.10", "1.120.9.9", "198.51.100.10", "185.220.101.5", "10.0.0.1", "::1", "2001:db8::1", "95.24.1.1", "81.240.1.1", ""}

var fuzzBodies = []string{
	"",
	`{"properties":{"roleDefinitionId":"/x/roleDefinitions/9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d","principalId":"p"}}`,
	`"{\"properties\":{\"roleName\":\"r\",\"permissions\":[{\"actions\":[\"*\"]}]}}"`,
	`{"properties":null}`,
	`[1,2,3]`,
	`"not json`,
}

// FuzzAdd feeds random event sequences (times jumping back and forth,
// missing fields, odd bodies) and checks the detector never panics and that
// its state survives a save and a load.
func FuzzAdd(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	f.Add(bytes.Repeat([]byte{1, 0, 0, 0, 3, 1, 0, 1}, 20))
	f.Add([]byte{255, 255, 255, 255, 255, 255, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add(bytes.Repeat([]byte{9, 1, 5, 1, 1, 0, 0, 1, 9, 1, 4, 1, 1, 0, 0, 2}, 8))
	f.Fuzz(func(t *testing.T, data []byte) {
		deps := testDeps()
		if len(data) > 0 && data[0]&1 == 1 {
			deps = Deps{}
		}
		cfg := DefaultConfig()
		cfg.Location.OrgLearningDays = 0
		cfg.Location.UserLearningDays = 0
		cfg.PowerShell.MinHistoryDays = 0
		cfg.PowerShell.MinActiveDays = 0
		cfg.Inactive.Days = 1
		d, err := New(cfg, deps, func(a alert.Alert) {
			if a.ID == "" || a.End.Before(a.Start) {
				t.Errorf("bad alert %+v", a)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		now := base
		var ev audit.Event
		for len(data) >= 8 {
			b := data[:8]
			data = data[8:]
			// Time moves mostly forward, sometimes far back or far ahead.
			step := time.Duration(int8(b[0])) * 7 * time.Minute
			if b[0] == 0x80 {
				step = -90 * 24 * time.Hour
			}
			if b[0] == 0x7f {
				step = 40 * 24 * time.Hour
			}
			now = now.Add(step)
			ev = audit.Event{Time: now}
			if b[1] == 0xff {
				ev.Time = time.Time{}
			}
			clouds := []audit.Cloud{audit.CloudAzure, audit.CloudAzure, audit.CloudAWS, audit.CloudGCP}
			kinds := []audit.Kind{audit.KindActivity, audit.KindSignIn, audit.KindCloudTrail, audit.KindGCPAudit}
			ev.Cloud = clouds[b[5]%4]
			ev.Kind = kinds[b[5]/4%4]
			ev.PrincipalID = []string{"", "oid-a", "oid-b", "arn:aws:iam::1:user/x", "x@example.org"}[b[1]%5]
			ev.PrincipalType = []audit.PrincipalType{audit.PrincipalUser, audit.PrincipalUnknown, audit.PrincipalService}[b[6]%3]
			ev.Operation = fuzzOps[int(b[2])%len(fuzzOps)]
			if ip, err := netip.ParseAddr(fuzzIPs[int(b[3])%len(fuzzIPs)]); err == nil {
				ev.SourceIP = ip
			}
			ev.Tool = []audit.Tool{audit.ToolUnknown, audit.ToolPowerShell, audit.ToolPortal, audit.ToolCLI}[b[4]%4]
			ev.Tenant = []string{"", "t1", "t2"}[b[6]/3%3]
			ev.Subscription = []string{"", "s1", "s2"}[b[6]/9%3]
			ev.Result = []audit.Result{audit.ResultSuccess, audit.ResultFailure, audit.ResultStarted, audit.ResultUnknown}[b[7]%4]
			ev.Resource = []string{"", "/subscriptions/s1/providers/Microsoft.Web/sites/app" + string(rune('a'+b[7]%5)), "/x/roleDefinitions/9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d"}[b[7]/4%3]
			if body := fuzzBodies[int(b[7]/12)%len(fuzzBodies)]; body != "" {
				ev.RequestBody = json.RawMessage(body)
			}
			if b[4]&8 != 0 {
				ev.Location = audit.Location{Country: "FR", CountryOnly: b[4]&16 != 0, Latitude: float64(int8(b[0])), Longitude: float64(int8(b[2]))}
			}
			ev.CorrelationID = []string{"", "c1", "c2"}[b[2]%3]
			d.Add(&ev)
		}
		d.Close()
		_ = d.Summary().String()
		var buf bytes.Buffer
		if err := d.SaveState(&buf); err != nil {
			t.Fatal(err)
		}
		d2, _ := New(cfg, deps, nil)
		if err := d2.LoadState(&buf); err != nil {
			t.Fatalf("state does not load back: %v", err)
		}
	})
}
