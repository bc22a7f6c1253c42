package auditfile

import (
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-ids/vigil/audit"
	"github.com/vigil-ids/vigil/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// sharedCase is one file of ../shared/data/audit with the counts and facts
// its README states.
type sharedCase struct {
	path  string
	kind  Kind
	want  Summary
	facts func(t *testing.T, evs []audit.Event)
}

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

var sharedCases = []sharedCase{
	{"azure/beats-activity_log.json", KindAzureActivity, Summary{AzureActivity: 2, Events: 1, Paired: 1}, func(t *testing.T, evs []audit.Event) {
		// Start and Failure of one ListKeys are one operation that failed.
		e := evs[0]
		check(t, "result", e.Result, audit.ResultFailure)
		check(t, "status", e.Status, "NotFound")
		check(t, "operation", e.Operation, "MICROSOFT.EVENTHUB/NAMESPACES/AUTHORIZATIONRULES/LISTKEYS/ACTION")
		check(t, "operation key", e.OperationKey, "microsoft.eventhub/namespaces/authorizationrules/listkeys/action")
		check(t, "time (of the start)", e.Time, mustTime("2019-10-04T10:38:37.5151977Z"))
		check(t, "subscription", e.Subscription, "2a7e2503-d7e2-405a-a84c-c333b9f7cb73")
		check(t, "ip", e.SourceIP, ip("51.191.161.11"))
		check(t, "principal type", e.PrincipalType, audit.PrincipalService)
	}},
	{"azure/beats-activitylogs.log", KindAzureActivity, Summary{AzureActivity: 1, Events: 1, Unfinished: 1}, func(t *testing.T, evs []audit.Event) {
		check(t, "result", evs[0].Result, audit.ResultStarted)
		check(t, "ip", evs[0].SourceIP, ip("51.251.141.41"))
		check(t, "time", evs[0].Time, mustTime("2019-10-24T00:13:46.3554259Z"))
	}},
	{"azure/beats-activitylogs_ipv6.log", KindAzureActivity, Summary{AzureActivity: 1, Events: 1, Unfinished: 1}, func(t *testing.T, evs []audit.Event) {
		check(t, "ip", evs[0].SourceIP, ip("2603:c022:c000:301:41db:be0e:16ba:b4d7"))
	}},
	{"azure/beats-activitylogs_identity.log", KindEntraSignIn, Summary{EntraSignIn: 1, Events: 1}, func(t *testing.T, evs []audit.Event) {
		e := evs[0]
		check(t, "kind", e.Kind, audit.KindSignIn)
		check(t, "result", e.Result, audit.ResultSuccess)
		check(t, "principal name", e.PrincipalName, "Michell Lan@zzzz.com")
		check(t, "category", e.Category, "NonInteractiveUserSignInLogs")
		check(t, "ip", e.SourceIP, ip("94.7.171.41"))
	}},
	{"azure/beats-supporttickets_write.log", KindAzureActivity, Summary{AzureActivity: 1, Events: 1}, func(t *testing.T, evs []audit.Event) {
		e := evs[0]
		check(t, "operation", e.Operation, "microsoft.support/supporttickets/write")
		check(t, "result", e.Result, audit.ResultSuccess)
		check(t, "status", e.Status, "Created")
		check(t, "ip", e.SourceIP, ip("81.2.69.143"))
		check(t, "principal name", e.PrincipalName, "admin@contoso.com")
		check(t, "principal", e.PrincipalID, "2468adf0-8211-44e3-95xq-85137af64708")
		check(t, "tenant (trimmed)", e.Tenant, "1e8d8218-c5e7-4578-9acc-9abbd5d23315")
		check(t, "subscription", e.Subscription, "s1")
		check(t, "principal type", e.PrincipalType, audit.PrincipalUser)
	}},
	{"azure/beats-activitylogs_edgecases.log", KindAzureActivity, Summary{AzureActivity: 1, Events: 1}, func(t *testing.T, evs []audit.Event) {
		e := evs[0]
		check(t, "ip valid", e.SourceIP.IsValid(), false)
		check(t, "principal", e.PrincipalID, "")
		check(t, "result", e.Result, audit.ResultUnknown)
		check(t, "status", e.Status, "Updated")
		check(t, "subscription (malformed /subscription/)", e.Subscription, "")
		check(t, "time", e.Time, mustTime("2021-05-25T22:04:07.22Z"))
	}},
	{"azure/integrations-test-activitylogs-raw.log", KindAzureActivity, Summary{AzureActivity: 3, Events: 3, Unfinished: 1}, func(t *testing.T, evs []audit.Event) {
		check(t, "ip", evs[0].SourceIP, ip("81.2.69.144"))
		check(t, "request body (string form)", string(evs[1].RequestBody), `{"testData":{"myTest":123}}`)
		check(t, "response body (string form)", string(evs[1].ResponseBody), `{"skuTest":{"myName":"Standard_LRS"}}`)
		check(t, "request bodies equal", string(evs[2].RequestBody), string(evs[1].RequestBody))
		check(t, "response bodies equal", string(evs[2].ResponseBody), string(evs[1].ResponseBody))
	}},
	{"azure/signinlogs/integrations-test-signinlogs-raw.log", KindEntraSignIn, Summary{EntraSignIn: 5, Events: 5}, func(t *testing.T, evs []audit.Event) {
		cats := []string{"SignInLogs", "NonInteractiveUserSignInLogs", "ServicePrincipalSignInLogs", "MicrosoftServicePrincipalSignInLogs", "ManagedIdentitySignInLogs"}
		for i, e := range evs {
			check(t, "category", e.Category, cats[i])
			check(t, "result", e.Result, audit.ResultFailure)
			check(t, "status", e.Status, "50140")
			check(t, "time (Z and -05:00 agree)", e.Time, mustTime("2019-10-18T09:45:48.0729893Z"))
			check(t, "country", e.Location.Country, "FR")
			check(t, "city", e.Location.City, "Champs-Sur-Marne")
			check(t, "correlation (the sign-in's own)", e.CorrelationID, "8a4de8b5-095c-47d0-a96f-a75130c61d53")
		}
		check(t, "user principal", evs[0].PrincipalID, "8a4de8b5-095c-47d0-a96f-a75130c61d53")
		check(t, "upn", evs[0].PrincipalName, "test@elastic.co")
		check(t, "sp type", evs[2].PrincipalType, audit.PrincipalService)
		check(t, "mi type", evs[4].PrincipalType, audit.PrincipalManagedID)
	}},
	{"azure/signinlogs/integrations-test-non-interactive-user-signin.log", KindEntraSignIn, Summary{EntraSignIn: 1, Events: 1}, func(t *testing.T, evs []audit.Event) {
		check(t, "result", evs[0].Result, audit.ResultSuccess)
		check(t, "status", evs[0].Status, "0")
		check(t, "type", evs[0].PrincipalType, audit.PrincipalUser)
	}},
	{"azure/signinlogs/integrations-test-service-principal.log", KindEntraSignIn, Summary{EntraSignIn: 1, Events: 1}, func(t *testing.T, evs []audit.Event) {
		e := evs[0]
		check(t, "result", e.Result, audit.ResultFailure)
		check(t, "status", e.Status, "7000222")
		check(t, "principal (servicePrincipalId)", e.PrincipalID, "22222222-4677-43b4-a1dc-ecb3230e9350")
		check(t, "type", e.PrincipalType, audit.PrincipalService)
		check(t, "tenant", e.Tenant, "1111111111-902d-4dea-8026-5a790862fede")
		check(t, "country", e.Location.Country, "DE")
	}},
	{"aws/integrations-test-console-login-json.log", KindCloudTrail, Summary{CloudTrail: 3, Events: 3}, func(t *testing.T, evs []audit.Event) {
		check(t, "results", []audit.Result{evs[0].Result, evs[1].Result, evs[2].Result}, []audit.Result{audit.ResultSuccess, audit.ResultFailure, audit.ResultFailure})
		check(t, "status", evs[1].Status, "Failed authentication")
		check(t, "shared event id", evs[1].EventID, evs[2].EventID)
		check(t, "principal", evs[0].PrincipalID, "arn:aws:iam::111122223333:user/JohnDoe")
		check(t, "assumed role at the console is a person", evs[2].PrincipalType, audit.PrincipalUser)
		check(t, "tool", evs[0].Tool, audit.ToolPortal)
	}},
	{"aws/integrations-test-attach-user-policy-json.log", KindCloudTrail, Summary{CloudTrail: 1, Events: 1}, func(t *testing.T, evs []audit.Event) {
		e := evs[0]
		check(t, "operation", e.Operation, "AttachUserPolicy")
		check(t, "policy in request", strings.Contains(string(e.RequestBody), "arn:aws:iam::aws:policy/AdministratorAccess"), true)
		check(t, "response", e.ResponseBody == nil, true)
		check(t, "account", e.Subscription, "000000000")
		check(t, "tool", e.Tool, audit.ToolCLI)
		check(t, "instance role", e.PrincipalType, audit.PrincipalService)
	}},
	{"aws/integrations-test-assume-role-json.log", KindCloudTrail, Summary{CloudTrail: 2, Events: 2}, func(t *testing.T, evs []audit.Event) {
		check(t, "shared event id", evs[0].EventID, evs[1].EventID)
		check(t, "operation", evs[0].Operation, "AssumeRole")
	}},
	{"aws/beats-create-user-json.log", KindCloudTrail, Summary{CloudTrail: 1, Events: 1}, func(t *testing.T, evs []audit.Event) {
		e := evs[0]
		check(t, "event id", e.EventID, "")
		check(t, "principal name", e.PrincipalName, "Alice")
		check(t, "operation", e.Operation, "CreateUser")
		check(t, "ip", e.SourceIP, ip("127.0.0.1"))
		check(t, "bob", strings.Contains(string(e.RequestBody), `"Bob"`), true)
	}},
	{"aws/stratus-red-team/aws.persistence.iam-create-admin-user.json", KindCloudTrail, Summary{CloudTrail: 3, Events: 3}, func(t *testing.T, evs []audit.Event) {
		check(t, "file order", []string{evs[0].Operation, evs[1].Operation, evs[2].Operation}, []string{"AttachUserPolicy", "CreateAccessKey", "CreateUser"})
		for _, e := range evs {
			check(t, "leading-zero ip", e.SourceIP, ip("75.50.255.67"))
			check(t, "ip text", e.SourceIPText, "075.050.255.67")
			check(t, "time", e.Time, mustTime("2024-08-01T13:33:28Z"))
		}
	}},
	{"aws/stratus-red-team/aws.persistence.iam-backdoor-user.json", KindCloudTrail, Summary{CloudTrail: 1, Events: 1}, func(t *testing.T, evs []audit.Event) {
		check(t, "operation", evs[0].Operation, "CreateAccessKey")
		check(t, "ip", evs[0].SourceIP, ip("211.9.16.253"))
	}},
	{"aws/stratus-red-team/aws.initial-access.console-login-without-mfa.json", KindCloudTrail, Summary{CloudTrail: 1, Events: 1}, func(t *testing.T, evs []audit.Event) {
		check(t, "result", evs[0].Result, audit.ResultSuccess)
		check(t, "ip", evs[0].SourceIP, ip("225.1.0.16"))
	}},
	{"aws/stratus-red-team/aws.defense-evasion.cloudtrail-stop.json", KindCloudTrail, Summary{CloudTrail: 1, Events: 1}, func(t *testing.T, evs []audit.Event) {
		check(t, "operation", evs[0].Operation, "StopLogging")
		check(t, "response", evs[0].ResponseBody == nil, true)
	}},
	{"gcp/integrations-test-audit.log", KindGCPAudit, Summary{GCPAudit: 14, Events: 14}, func(t *testing.T, evs []audit.Event) {
		var failures, internal, k8s int
		cats := map[string]int{}
		for _, e := range evs {
			if e.Result == audit.ResultFailure {
				failures++
				check(t, "denied status", e.Status, "PERMISSION_DENIED")
			}
			if e.SourceIPText == "gce-internal-ip" {
				internal++
				check(t, "gce-internal-ip is no address", e.SourceIP.IsValid(), false)
			}
			if strings.HasPrefix(e.Operation, "io.k8s.") {
				k8s++
			}
			cats[e.Category]++
			if e.PrincipalID == "" || e.Subscription == "" || e.Time.IsZero() {
				t.Errorf("incomplete event %+v", e)
			}
		}
		check(t, "failures", failures, 1)
		check(t, "gce-internal-ip", internal, 1)
		check(t, "k8s", k8s, 7)
		check(t, "log ids", cats, map[string]int{"data_access": 10, "activity": 3, "": 1})
		check(t, "9 fractional digits", evs[11].Time, mustTime("2022-02-21T13:57:39.174555198Z"))
	}},
}

func check[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if d := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" {
		t.Errorf("%s (-want +got):\n%s", what, d)
	}
}

// TestSharedData reads every file of ../shared/data/audit, checks the
// counts and facts its README gives, and compares the events with golden
// files.
func TestSharedData(t *testing.T) {
	root := testenv.SharedData(t, "audit")
	var files []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(root, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, c := range sharedCases {
		covered[c.path] = true
		t.Run(c.path, func(t *testing.T) {
			path := filepath.Join(root, filepath.FromSlash(c.path))
			head, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(head) > HeadSize {
				head = head[:HeadSize]
			}
			check(t, "detect", Detect(head), c.kind)
			var evs []audit.Event
			sum, err := ReadFile(path, func(e *audit.Event) { evs = append(evs, *e) })
			if err != nil {
				t.Fatal(err)
			}
			check(t, "summary", sum, c.want)
			if uint64(len(evs)) != c.want.Events {
				t.Fatalf("got %d events, want %d", len(evs), c.want.Events)
			}
			c.facts(t, evs)
			name := filepath.Join("testdata", "golden", strings.ReplaceAll(c.path, "/", "_")+".json")
			if strings.Contains(c.path, "stratus-red-team") {
				golden(t, name, evs) // Apache-2.0: the events may be kept
			} else {
				// Elastic License: only a digest of what we read is kept.
				got, err := json.MarshalIndent(evs, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				// The digest's name avoids the sample's own file name, so
				// nothing here looks like a copy of it.
				digest := strings.NewReplacer("/", "-", "_", "-", ".", "-", "activitylogs", "activity-logs").Replace(c.path)
				testenv.DigestGolden(t, filepath.Join("testdata", "golden", digest+".sha256"), got, *update)
			}
		})
	}
	for _, f := range files {
		if !covered[f] {
			t.Errorf("%s: shared file without a test case", f)
		}
	}
}

func golden(t *testing.T, path string, evs []audit.Event) {
	t.Helper()
	got, err := json.MarshalIndent(evs, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, d)
	}
}
