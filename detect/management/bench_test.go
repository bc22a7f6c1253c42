package management

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/vigil-ids/vigil/audit"
)

// benchStream is a day-long estate of 500 principals: mostly ordinary
// writes and sign-ins from home addresses, with the occasional listKeys,
// role assignment and PowerShell session, as the Activity Log shows them.
func benchStream(n int) []audit.Event {
	ops := []string{
		"Microsoft.Compute/virtualMachines/write",
		"Microsoft.Network/networkSecurityGroups/write",
		"Microsoft.Compute/virtualMachines/start/action",
		"Microsoft.Storage/storageAccounts/write",
		"Microsoft.Resources/deployments/write",
		"Microsoft.Insights/diagnosticSettings/write",
		"Microsoft.Web/sites/restart/action",
		"Microsoft.Storage/storageAccounts/listKeys/action",
		"Microsoft.Authorization/roleAssignments/write",
	}
	homes := []string{"81.56", "90.0", "24.0", "1.120", "91.64", "86.0"}
	tools := []audit.Tool{audit.ToolPortal, audit.ToolCLI, audit.ToolPowerShell, audit.ToolOther}
	out := make([]audit.Event, n)
	step := 24 * time.Hour / time.Duration(n)
	for i := range out {
		u := (i * 7919) % 500
		ip := netip.MustParseAddr(fmt.Sprintf("%s.%d.%d", homes[u%len(homes)], u/250, u%250+1))
		if i%11 == 0 {
			ip = netip.MustParseAddr("198.51.100.10")
		}
		kind := audit.KindActivity
		op := ops[(i/3)%len(ops)]
		if i%5 == 0 {
			kind, op = audit.KindSignIn, "Sign-in activity"
		}
		tool := tools[u%3]
		if u%50 == 0 {
			tool = audit.ToolPowerShell
		}
		typ := audit.PrincipalUser
		if u%10 == 9 {
			typ = audit.PrincipalService
		}
		out[i] = audit.Event{
			Time: base.Add(time.Duration(i) * step), Cloud: audit.CloudAzure, Kind: kind,
			Tenant: tenant, Subscription: sub,
			PrincipalID: fmt.Sprintf("oid-%04d", u), PrincipalName: fmt.Sprintf("user%04d@contoso.example", u), PrincipalType: typ,
			Tool: tool, AppID: appIDs[tool], SourceIP: ip, Operation: op,
			Resource:      fmt.Sprintf("/subscriptions/%s/resourceGroups/rg-%d/providers/x/y/r%d", sub, u%20, i%100),
			Result:        audit.ResultSuccess,
			CorrelationID: fmt.Sprintf("c-%d", i/4),
		}
		out[i].OperationKey = lowerASCII(op)
	}
	return out
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// BenchmarkDetect measures events per second through the detections, with
// in-memory stand-ins for GeoIP and the feeds. The stream repeats day after
// day; the caller's struct is reused, as a reader reuses its record.
func BenchmarkDetect(b *testing.B) {
	for _, tc := range []struct {
		name string
		deps Deps
	}{{"enriched", testDeps()}, {"log-only", Deps{}}} {
		b.Run(tc.name, func(b *testing.B) {
			stream := benchStream(200000)
			d, err := New(DefaultConfig(), tc.deps, nil)
			if err != nil {
				b.Fatal(err)
			}
			var ev audit.Event
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				j := i % len(stream)
				ev = stream[j]
				ev.Time = ev.Time.AddDate(0, 0, i/len(stream))
				d.Add(&ev)
			}
			d.Close()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
