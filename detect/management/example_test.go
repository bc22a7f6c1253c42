package management_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/audit"
	"github.com/vigil-ids/vigil/detect/management"
)

// A caller lists storage keys, fetches a web app's settings and a container
// registry's credentials within minutes: the MicroBurst footprint.
func ExampleNew() {
	d, err := management.New(management.DefaultConfig(), management.Deps{}, func(a alert.Alert) {
		fmt.Println(a.Type, a.Principal, a.Start.Format(time.TimeOnly), a.End.Format(time.TimeOnly), a.Evidence["resource_kinds"])
	})
	if err != nil {
		panic(err)
	}
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for i, op := range []string{
		"Microsoft.Storage/storageAccounts/listKeys/action",
		"Microsoft.Web/sites/config/list/action",
		"Microsoft.ContainerRegistry/registries/listCredentials/action",
	} {
		d.Add(&audit.Event{
			Time: t0.Add(time.Duration(i) * time.Minute), Cloud: audit.CloudAzure, Kind: audit.KindActivity,
			Subscription: "sub-1", PrincipalID: "oid-1", PrincipalType: audit.PrincipalUser,
			Tool: audit.ToolPowerShell, SourceIP: netip.MustParseAddr("81.56.1.10"),
			Operation: op, Resource: fmt.Sprintf("/subscriptions/sub-1/resourceGroups/rg/providers/x/y/r%d", i),
			Result: audit.ResultSuccess,
		})
	}
	d.Close()
	fmt.Print(d.Summary())
	// Output:
	// microburst-toolkit oid-1 10:00:00 10:02:00 [container-registry storage web-app]
	// management: 3 events (azure/activity 3); 0 located by GeoIP; 0 late
	// 1 principals, 1 organisations profiled
	// 1 alerts
	//   microburst-toolkit         1
}
