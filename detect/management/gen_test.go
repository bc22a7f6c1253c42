package management

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/vigil-ids/vigil/audit"
)

// The scenarios under testdata/ are written by TestGenerateScenarios with
// -gen, from the estate described here, and then read like any audit file.
var gen = flag.Bool("gen", false, "rewrite testdata/*/events.jsonl from the scenario descriptions")

const (
	tenant = "11111111-2222-3333-4444-555555555555"
	sub    = "aaaaaaaa-bbbb-cccc-dddd-000000000001"
	awsAcc = "111122223333"
	gcpPrj = "proj-1"
)

// base is a Monday; the background covers days 0-55 and the cases day 56 on.
var base = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

func day(n int, hh, mm int) time.Time {
	return base.AddDate(0, 0, n).Add(time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute)
}

type actor struct {
	id, name string
	typ      audit.PrincipalType
	cloud    audit.Cloud
	ip       string
	tool     audit.Tool
}

func azUser(name, ip string, tool audit.Tool) actor {
	return actor{id: "oid-" + name, name: name + "@contoso.example", typ: audit.PrincipalUser, cloud: audit.CloudAzure, ip: ip, tool: tool}
}

var (
	alice = azUser("alice", "81.56.1.10", audit.ToolPortal)
	bob   = azUser("bob", "90.0.2.20", audit.ToolCLI)
	carol = azUser("carol", "81.56.3.30", audit.ToolPortal)
	dave  = azUser("dave", "86.0.4.40", audit.ToolPortal)
	erin  = azUser("erin", "91.64.5.50", audit.ToolPortal)
	frank = azUser("frank", "81.56.6.60", audit.ToolPortal)
	kate  = azUser("kate", "1.120.7.70", audit.ToolCLI)
	liam  = azUser("liam", "24.0.8.80", audit.ToolPortal)
	omar  = azUser("omar", "81.240.9.90", audit.ToolPortal)
	nina  = azUser("nina", "81.56.10.100", audit.ToolPortal)
	spDep = actor{id: "sp-deploy", name: "deploy-pipeline", typ: audit.PrincipalService, cloud: audit.CloudAzure, ip: "20.50.1.1", tool: audit.ToolOther}
	gina  = actor{id: "arn:aws:iam::111122223333:user/gina", name: "gina", typ: audit.PrincipalUser, cloud: audit.CloudAWS, ip: "24.0.11.11", tool: audit.ToolCLI}
	henry = actor{id: "arn:aws:iam::111122223333:user/henry", name: "henry", typ: audit.PrincipalUser, cloud: audit.CloudAWS, ip: "24.0.12.12", tool: audit.ToolCLI}
	ivan  = actor{id: "ivan@example.org", name: "ivan@example.org", typ: audit.PrincipalUser, cloud: audit.CloudGCP, ip: "1.120.13.13", tool: audit.ToolCLI}
	judy  = actor{id: "judy@example.org", name: "judy@example.org", typ: audit.PrincipalUser, cloud: audit.CloudGCP, ip: "1.120.14.14", tool: audit.ToolCLI}
	vpnIP = "198.51.100.10"
)

var appIDs = map[audit.Tool]string{
	audit.ToolPortal: audit.AppIDPortal, audit.ToolCLI: audit.AppIDCLI, audit.ToolPowerShell: audit.AppIDPowerShell,
	audit.ToolOther: "7f59a773-2eaf-429c-a059-50fc5bb28b44",
}

type events []audit.Event

// op adds a control-plane event of a in its cloud.
func (e *events) op(t time.Time, a actor, ip string, tool audit.Tool, op, res string, body string) *audit.Event {
	ev := audit.Event{
		Time: t, Cloud: a.cloud, PrincipalID: a.id, PrincipalName: a.name, PrincipalType: a.typ,
		Tool: tool, Operation: op, Resource: res, Result: audit.ResultSuccess,
	}
	switch a.cloud {
	case audit.CloudAzure:
		ev.Kind, ev.Tenant, ev.Subscription, ev.AppID = audit.KindActivity, tenant, sub, appIDs[tool]
	case audit.CloudAWS:
		ev.Kind, ev.Subscription, ev.UserAgent = audit.KindCloudTrail, awsAcc, "aws-cli/2.15.0"
	case audit.CloudGCP:
		ev.Kind, ev.Subscription, ev.UserAgent = audit.KindGCPAudit, gcpPrj, "google-cloud-sdk gcloud/470.0.0"
	}
	ev.SourceIP = netip.MustParseAddr(ip)
	ev.SourceIPText = ip
	ev.CorrelationID = fmt.Sprintf("corr-%s-%d", a.id, t.Unix())
	if body != "" {
		ev.RequestBody = json.RawMessage(body)
	}
	*e = append(*e, ev)
	return &(*e)[len(*e)-1]
}

// signIn adds an Entra ID sign-in with the location the log carries.
func (e *events) signIn(t time.Time, a actor, ip string, tool audit.Tool) {
	loc, _, _, _ := fakeLocator{}.Locate(netip.MustParseAddr(ip))
	*e = append(*e, audit.Event{
		Time: t, Cloud: audit.CloudAzure, Kind: audit.KindSignIn, Tenant: tenant,
		PrincipalID: a.id, PrincipalName: a.name, PrincipalType: a.typ,
		Tool: tool, AppID: appIDs[tool], SourceIP: netip.MustParseAddr(ip), SourceIPText: ip,
		Operation: "Sign-in activity", Result: audit.ResultSuccess, Location: loc,
	})
}

func vmRes(name string) string {
	return "/subscriptions/" + sub + "/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/" + name
}

func res(rp, name string) string {
	return "/subscriptions/" + sub + "/resourceGroups/rg-app/providers/" + rp + "/" + name
}

// workday is a user's ordinary day: a sign-in and two writes.
func (e *events) workday(d int, a actor, ip string, tool audit.Tool, minute int) {
	switch a.cloud {
	case audit.CloudAzure:
		e.signIn(day(d, 8, minute), a, ip, tool)
		e.op(day(d, 9, minute), a, ip, tool, "Microsoft.Compute/virtualMachines/write", vmRes("vm-"+a.name[:3]), "")
		e.op(day(d, 14, minute), a, ip, tool, "Microsoft.Network/networkSecurityGroups/write", res("Microsoft.Network/networkSecurityGroups", "nsg-"+a.name[:3]), "")
	case audit.CloudAWS:
		e.op(day(d, 9, minute), a, ip, tool, "RunInstances", "", "")
		e.op(day(d, 14, minute), a, ip, tool, "CreateBucket", "", "")
	case audit.CloudGCP:
		e.op(day(d, 9, minute), a, ip, tool, "v1.compute.instances.insert", "projects/proj-1/zones/europe-west1-b/instances/i1", "")
		e.op(day(d, 14, minute), a, ip, tool, "storage.buckets.create", "projects/_/buckets/b1", "")
	}
}

func background() events {
	var e events
	for d := 0; d < 56; d++ {
		wd := base.AddDate(0, 0, d).Weekday()
		weekday := wd != time.Saturday && wd != time.Sunday
		if !weekday {
			continue
		}
		for i, a := range []actor{alice, bob, erin, liam} {
			ip := a.ip
			if wd == time.Wednesday {
				ip = vpnIP
			}
			e.workday(d, a, ip, a.tool, i*7)
		}
		carolIP := carol.ip
		if wd == time.Tuesday || wd == time.Thursday {
			carolIP = vpnIP
		}
		e.workday(d, carol, carolIP, carol.tool, 5)
		// dave is a PowerShell regular: Mondays from PowerShell.
		daveTool := dave.tool
		if wd == time.Monday {
			daveTool = audit.ToolPowerShell
		}
		e.workday(d, dave, dave.ip, daveTool, 11)
		e.workday(d, kate, kate.ip, kate.tool, 13)
		e.workday(d, omar, omar.ip, omar.tool, 17)
		if d < 14 {
			e.workday(d, frank, frank.ip, frank.tool, 19)
		}
		// erin administers roles every Monday with built-in roles.
		if wd == time.Monday {
			e.op(day(d, 10, 0), erin, erin.ip, erin.tool, "Microsoft.Authorization/roleAssignments/write",
				"/subscriptions/"+sub+"/providers/Microsoft.Authorization/roleAssignments/"+fmt.Sprintf("0000%04d-0000-0000-0000-000000000000", d),
				`{"properties":{"roleDefinitionId":"/subscriptions/`+sub+`/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7","principalId":"oid-newhire","principalType":"User"}}`)
		}
		// The deployment pipeline lists keys of three kinds of resource
		// inside its ARM deployments.
		corr := fmt.Sprintf("deploy-%d", d)
		dep := e.op(day(d, 3, 0), spDep, spDep.ip, spDep.tool, "Microsoft.Resources/deployments/write", res("Microsoft.Resources/deployments", "release"), "")
		dep.CorrelationID = corr
		for i, o := range []string{
			"Microsoft.Storage/storageAccounts/listKeys/action",
			"Microsoft.DocumentDB/databaseAccounts/listKeys/action",
			"Microsoft.ServiceBus/namespaces/authorizationRules/listKeys/action",
		} {
			x := e.op(day(d, 3, 1+i), spDep, spDep.ip, spDep.tool, o, res("Microsoft.Storage/storageAccounts", "stapp"), "")
			x.CorrelationID = corr
		}
		e.workday(d, gina, gina.ip, gina.tool, 3)
		e.workday(d, ivan, ivan.ip, ivan.tool, 9)
		if d < 10 {
			e.workday(d, henry, henry.ip, henry.tool, 21)
			e.workday(d, judy, judy.ip, judy.tool, 23)
		}
	}
	// nina joins on day 54 (a Saturday) and works the weekend.
	e.workday(54, nina, nina.ip, nina.tool, 2)
	e.workday(55, nina, nina.ip, nina.tool, 2)
	return e
}

// scenario is one test case: the events it adds after the background, and
// the alert types it must raise (by type, how many).
type scenario struct {
	name   string
	events func() events
	want   map[string]int
}

const d56 = 56 // Monday 2026-03-02

var scenarios = []scenario{
	{"background", func() events { return nil }, map[string]int{}},
	{"microburst", func() events {
		var e events
		ps := audit.ToolPowerShell
		ip := dave.ip
		e.signIn(day(d56, 10, 0), dave, ip, ps)
		ops := []struct{ op, res string }{
			{"MICROSOFT.STORAGE/STORAGEACCOUNTS/LISTKEYS/ACTION", res("Microsoft.Storage/storageAccounts", "stprod1")},
			{"Microsoft.Storage/storageAccounts/listKeys/action", res("Microsoft.Storage/storageAccounts", "stprod2")},
			{"Microsoft.KeyVault/vaults/accessPolicies/write", res("Microsoft.KeyVault/vaults", "kv-prod/accessPolicies/add")},
			{"Microsoft.Web/sites/config/list/action", res("Microsoft.Web/sites", "app-shop/config/appsettings")},
			{"Microsoft.Web/sites/host/listkeys/action", res("Microsoft.Web/sites", "func-orders/host/default")},
			{"Microsoft.ContainerRegistry/registries/listCredentials/action", res("Microsoft.ContainerRegistry/registries", "acrprod")},
			{"Microsoft.Automation/automationAccounts/runbooks/draft/testJob/write", res("Microsoft.Automation/automationAccounts", "aa-ops/runbooks/AzureAutomationTutorial/draft/testJob")},
			{"Microsoft.DocumentDB/databaseAccounts/listKeys/action", res("Microsoft.DocumentDB/databaseAccounts", "cosmos-prod")},
		}
		for i, o := range ops {
			e.op(day(d56, 10, 2+i), dave, ip, ps, o.op, o.res, "")
		}
		return e
	}, map[string]int{"microburst-toolkit": 1}},
	{"azurite", func() events {
		var e events
		ps := audit.ToolPowerShell
		for i, app := range []string{"app-shop", "app-blog", "app-api", "app-admin", "app-cms"} {
			for f := 0; f < 3; f++ {
				e.op(day(d56, 11, 2+i).Add(time.Duration(f)*10*time.Second), dave, dave.ip, ps,
					"Microsoft.Web/sites/publishxml/action", res("Microsoft.Web/sites", app), "")
			}
		}
		return e
	}, map[string]int{"azurite-toolkit": 1}},
	{"toolkit-both", func() events {
		var e events
		ps := audit.ToolPowerShell
		for i, app := range []string{"app-shop", "app-blog", "app-api"} {
			for f := 0; f < 3; f++ {
				e.op(day(d56, 12, i).Add(time.Duration(f)*10*time.Second), dave, dave.ip, ps,
					"Microsoft.Web/sites/publishxml/action", res("Microsoft.Web/sites", app), "")
			}
		}
		e.op(day(d56, 12, 5), dave, dave.ip, ps, "Microsoft.Storage/storageAccounts/listKeys/action", res("Microsoft.Storage/storageAccounts", "stprod1"), "")
		e.op(day(d56, 12, 6), dave, dave.ip, ps, "Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action", res("Microsoft.ContainerService/managedClusters", "aks-prod"), "")
		return e
	}, map[string]int{"microburst-toolkit": 1}},
	{"single-listkeys", func() events {
		var e events
		e.op(day(d56, 10, 0), bob, bob.ip, bob.tool, "Microsoft.Storage/storageAccounts/listKeys/action", res("Microsoft.Storage/storageAccounts", "stdev"), "")
		e.op(day(d56, 10, 3), bob, bob.ip, bob.tool, "Microsoft.Web/sites/config/list/action", res("Microsoft.Web/sites", "app-dev/config/appsettings"), "")
		return e
	}, map[string]int{}},
	{"inactive", func() events {
		var e events
		e.signIn(day(d56, 9, 0), frank, frank.ip, frank.tool)
		e.op(day(d56, 9, 5), frank, frank.ip, frank.tool, "Microsoft.Compute/virtualMachines/write", vmRes("vm-fra"), "")
		e.op(day(d56, 9, 20), frank, frank.ip, frank.tool, "Microsoft.Authorization/roleAssignments/write",
			"/subscriptions/"+sub+"/providers/Microsoft.Authorization/roleAssignments/11110000-0000-0000-0000-000000000001",
			`{"properties":{"roleDefinitionId":"/subscriptions/`+sub+`/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635","principalId":"oid-frank-alt"}}`)
		e.op(day(d56, 9, 25), frank, frank.ip, frank.tool, "Microsoft.Automation/automationAccounts/webhooks/write", res("Microsoft.Automation/automationAccounts", "aa-ops/webhooks/wh1"), "")
		e.op(day(d56, 10, 0), henry, henry.ip, henry.tool, "CreateAccessKey", "", `{"userName":"henry"}`)
		e.op(day(d56, 10, 30), judy, judy.ip, judy.tool, "SetIamPolicy", "projects/proj-1", "")
		return e
	}, map[string]int{"inactive-account-session": 3}},
	{"weekly-role-admin", func() events {
		var e events
		e.workday(d56, erin, erin.ip, erin.tool, 0)
		e.op(day(d56, 10, 0), erin, erin.ip, erin.tool, "Microsoft.Authorization/roleAssignments/write",
			"/subscriptions/"+sub+"/providers/Microsoft.Authorization/roleAssignments/22220000-0000-0000-0000-000000000001",
			`{"properties":{"roleDefinitionId":"/subscriptions/`+sub+`/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c","principalId":"oid-contractor"}}`)
		return e
	}, map[string]int{}},
	{"powershell", func() events {
		var e events
		ps := audit.ToolPowerShell
		e.signIn(day(d56, 15, 0), alice, alice.ip, ps)
		e.op(day(d56, 15, 4), alice, alice.ip, ps, "Microsoft.Authorization/roleAssignments/write",
			"/subscriptions/"+sub+"/providers/Microsoft.Authorization/roleAssignments/33330000-0000-0000-0000-000000000001",
			`{"properties":{"roleDefinitionId":"/subscriptions/`+sub+`/providers/Microsoft.Authorization/roleDefinitions/18d7d88d-d35e-4fb5-a5c3-7773c20a72d9","principalId":"oid-alice-backdoor"}}`)
		e.op(day(d56, 15, 9), alice, alice.ip, ps, "Microsoft.Compute/virtualMachines/extensions/write", vmRes("vm-ali")+"/extensions/CustomScriptExtension", "")
		return e
	}, map[string]int{"powershell-session": 1}},
	{"powershell-regular", func() events {
		var e events
		ps := audit.ToolPowerShell
		e.signIn(day(d56, 15, 0), dave, dave.ip, ps)
		e.op(day(d56, 15, 4), dave, dave.ip, ps, "Microsoft.Compute/virtualMachines/extensions/write", vmRes("vm-dav")+"/extensions/MicrosoftMonitoringAgent", "")
		return e
	}, map[string]int{}},
	{"custom-role", func() events {
		var e events
		roleID := "9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d"
		e.op(day(d56, 13, 0), bob, bob.ip, bob.tool, "Microsoft.Authorization/roleDefinitions/write",
			"/subscriptions/"+sub+"/providers/Microsoft.Authorization/roleDefinitions/"+roleID,
			`"{\"properties\":{\"roleName\":\"Ops Helper\",\"permissions\":[{\"actions\":[\"Microsoft.Authorization/*/write\",\"Microsoft.Compute/virtualMachines/runCommand/action\"]}],\"assignableScopes\":[\"/subscriptions/`+sub+`\"]}}"`)
		e.op(day(d56, 13, 3), bob, bob.ip, bob.tool, "Microsoft.Authorization/roleAssignments/write",
			"/subscriptions/"+sub+"/resourceGroups/rg-app/providers/Microsoft.Authorization/roleAssignments/44440000-0000-0000-0000-000000000001",
			`{"properties":{"roleDefinitionId":"/subscriptions/`+sub+`/providers/Microsoft.Authorization/roleDefinitions/`+roleID+`","principalId":"oid-sp-backdoor","principalType":"ServicePrincipal"}}`)
		// A built-in assignment right after is not the technique.
		e.op(day(d56, 13, 4), bob, bob.ip, bob.tool, "Microsoft.Authorization/roleAssignments/write",
			"/subscriptions/"+sub+"/providers/Microsoft.Authorization/roleAssignments/44440000-0000-0000-0000-000000000002",
			`{"properties":{"roleDefinitionId":"/subscriptions/`+sub+`/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7","principalId":"oid-auditor"}}`)
		return e
	}, map[string]int{"custom-role-persistence": 1}},
	{"infrequent-country", func() events {
		var e events
		e.workday(d56-1, carol, carol.ip, carol.tool, 0)
		lagos := "105.112.4.4"
		e.signIn(day(d56, 20, 0), carol, lagos, carol.tool)
		e.op(day(d56, 20, 5), carol, lagos, carol.tool, "Microsoft.Compute/virtualMachines/write", vmRes("vm-car"), "")
		return e
	}, map[string]int{"infrequent-country": 1}},
	{"anonymous-ip", func() events {
		var e events
		tor := "185.220.101.5"
		e.op(day(d56, 11, 0), bob, tor, bob.tool, "Microsoft.Compute/virtualMachines/write", vmRes("vm-bob"), "")
		e.op(day(d56, 11, 3), bob, tor, bob.tool, "Microsoft.Network/networkSecurityGroups/write", res("Microsoft.Network/networkSecurityGroups", "nsg-bob"), "")
		return e
	}, map[string]int{"anonymous-ip": 1}},
	{"vpn-shared", func() events {
		var e events
		e.workday(d56, alice, alice.ip, alice.tool, 0)
		e.op(day(d56, 16, 0), alice, vpnIP, alice.tool, "Microsoft.Compute/virtualMachines/write", vmRes("vm-ali"), "")
		e.op(day(d56, 16, 30), carol, vpnIP, carol.tool, "Microsoft.Compute/virtualMachines/write", vmRes("vm-car"), "")
		return e
	}, map[string]int{}},
	{"impossible-travel", func() events {
		var e events
		e.op(day(d56, 9, 0), alice, alice.ip, alice.tool, "Microsoft.Compute/virtualMachines/write", vmRes("vm-ali"), "")
		syd := "1.120.99.9"
		e.signIn(day(d56, 10, 30), alice, syd, alice.tool)
		e.op(day(d56, 10, 35), alice, syd, alice.tool, "Microsoft.Compute/virtualMachines/write", vmRes("vm-ali"), "")
		return e
	}, map[string]int{"impossible-travel": 1}},
	{"realistic-travel", func() events {
		var e events
		e.op(day(d56, 8, 0), bob, bob.ip, bob.tool, "Microsoft.Compute/virtualMachines/write", vmRes("vm-bob"), "")
		ny := "24.0.77.7"
		e.signIn(day(d56, 17, 30), bob, ny, bob.tool)
		e.op(day(d56, 17, 40), bob, ny, bob.tool, "Microsoft.Compute/virtualMachines/write", vmRes("vm-bob"), "")
		return e
	}, map[string]int{}},
	{"new-user-learning", func() events {
		var e events
		e.op(day(d56, 9, 0), nina, nina.ip, nina.tool, "Microsoft.Compute/virtualMachines/write", vmRes("vm-nin"), "")
		syd := "1.120.55.5"
		e.op(day(d56, 10, 0), nina, syd, nina.tool, "Microsoft.Compute/virtualMachines/write", vmRes("vm-nin"), "")
		return e
	}, map[string]int{}},
	{"bordering-country-level", func() events {
		var e events
		e.op(day(d56, 9, 0), bob, bob.ip, bob.tool, "Microsoft.Compute/virtualMachines/write", vmRes("vm-bob"), "")
		e.op(day(d56, 9, 20), bob, "81.240.77.7", bob.tool, "Microsoft.Compute/virtualMachines/write", vmRes("vm-bob"), "")
		return e
	}, map[string]int{}},
	{"aws-impossible-travel", func() events {
		var e events
		e.op(day(d56, 9, 0), gina, gina.ip, gina.tool, "RunInstances", "", "")
		e.op(day(d56, 9, 50), gina, "1.120.3.3", gina.tool, "RunInstances", "", "")
		return e
	}, map[string]int{"impossible-travel": 1, "infrequent-country": 1}},
}

func TestGenerateScenarios(t *testing.T) {
	if !*gen {
		t.Skip("run with -gen to rewrite the scenario events")
	}
	write := func(dir string, evs events) {
		// Exports are written in time order, give or take the reorder window.
		sort.SliceStable(evs, func(i, j int) bool { return evs[i].Time.Before(evs[j].Time) })
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(filepath.Join(dir, "events.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		w := bufio.NewWriter(f)
		enc := json.NewEncoder(w)
		for i := range evs {
			if err := enc.Encode(&evs[i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join("testdata", "background"), background())
	for _, s := range scenarios {
		if s.name == "background" {
			continue
		}
		write(filepath.Join("testdata", s.name), s.events())
	}
}
