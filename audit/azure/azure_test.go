package azure

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-ids/vigil/audit"
)

var cmpAddr = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

const userClaims = `{"http://schemas.microsoft.com/identity/claims/objectidentifier":"3F2504E0-4F89-41D3-9A0C-0305E82C3301","http://schemas.microsoft.com/identity/claims/tenantid":"72f988bf-86f1-41af-91ab-2d7cd011db47","appid":"1950a258-227b-4e31-a9cf-717495945fc2","name":"Alice Martin","http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn":"alice@contoso.com","ipaddr":"203.0.113.9"}`

func TestDecodeActivity(t *testing.T) {
	t0 := time.Date(2026, 1, 5, 9, 0, 0, 123000000, time.UTC)
	alice := audit.Event{
		Time: t0, Cloud: audit.CloudAzure, Kind: audit.KindActivity, Category: "Administrative",
		Tenant: "72f988bf-86f1-41af-91ab-2d7cd011db47", Subscription: "6a0b2c3d-1111-4222-8333-944445555666",
		PrincipalID: "3f2504e0-4f89-41d3-9a0c-0305e82c3301", PrincipalName: "alice@contoso.com", PrincipalType: audit.PrincipalUser,
		Tool: audit.ToolPowerShell, AppID: "1950a258-227b-4e31-a9cf-717495945fc2",
		SourceIP: netip.MustParseAddr("203.0.113.9"), SourceIPText: "203.0.113.9",
		Operation: "Microsoft.Authorization/roleAssignments/write", OperationKey: "microsoft.authorization/roleassignments/write",
		Resource: "/subscriptions/6A0B2C3D-1111-4222-8333-944445555666/providers/Microsoft.Authorization/roleAssignments/1",
		Result:   audit.ResultSuccess, Status: "Created", CorrelationID: "0f1e2d3c-4b5a-4697-8a9b-000000000001",
		RequestBody: []byte(`{"properties":{"principalId":"x"}}`),
	}
	with := func(f func(e *audit.Event)) audit.Event {
		e := alice
		f(&e)
		return e
	}
	const base = `"time":"2026-01-05T09:00:00.123Z","resourceId":"/subscriptions/6A0B2C3D-1111-4222-8333-944445555666/providers/Microsoft.Authorization/roleAssignments/1","operationName":"Microsoft.Authorization/roleAssignments/write","category":"Administrative","correlationId":"0F1E2D3C-4B5A-4697-8A9B-000000000001"`
	tests := []struct {
		name  string
		in    string
		want  audit.Event
		stage Stage
	}{
		{"storage schema", `{` + base + `,"resultType":"Success","resultSignature":"Succeeded.Created","identity":{"claims":` + userClaims + `},"properties":{"statusCode":"Created","requestbody":"{\"properties\": {\"principalId\": \"x\"}}"}}`, alice, StageSuccess},
		{"body as object", `{` + base + `,"resultType":"Success","identity":{"claims":` + userClaims + `},"properties":{"statusCode":"Created","requestBody":{"properties": {"principalId": "x"}}}}`, alice, StageSuccess},
		{"upper-case keys", `{"Time":"2026-01-05T09:00:00.123Z","ResourceId":"/subscriptions/6A0B2C3D-1111-4222-8333-944445555666/providers/Microsoft.Authorization/roleAssignments/1","OperationName":"Microsoft.Authorization/roleAssignments/write","Category":"Administrative","CorrelationId":"0f1e2d3c-4b5a-4697-8a9b-000000000001","ResultType":"Success","Identity":{"Claims":` + userClaims + `},"Properties":{"StatusCode":"Created","RequestBody":{"properties":{"principalId":"x"}}}}`, alice, StageSuccess},
		{"log analytics: claims and properties as strings, status objects", `{` + base + `,"ActivityStatusValue":{"value":"Succeeded","localizedValue":"Succeeded"},"Claims":"` + strings.ReplaceAll(userClaims, `"`, `\"`) + `","Properties":"{\"statusCode\":\"Created\",\"requestbody\":\"{\\\"properties\\\":{\\\"principalId\\\":\\\"x\\\"}}\"}"}`, alice, StageSuccess},
		{"start", `{` + base + `,"resultType":"Start","identity":{"claims":` + userClaims + `},"properties":{"requestbody":{"properties":{"principalId":"x"}}}}`,
			with(func(e *audit.Event) { e.Result, e.Status = audit.ResultStarted, "Start" }), StageStart},
		{"failure with port on the caller", `{` + base + `,"resultType":"Failure","resultSignature":"Failed.Forbidden","callerIpAddress":"203.0.113.7:51234","identity":{"claims":` + userClaims + `}}`,
			with(func(e *audit.Event) {
				e.Result, e.Status, e.RequestBody = audit.ResultFailure, "Failed.Forbidden", nil
				e.SourceIP, e.SourceIPText = netip.MustParseAddr("203.0.113.7"), "203.0.113.7:51234"
			}), StageFailure},
		{"application", `{` + base + `,"resultType":"Accept","identity":{"claims":{"http://schemas.microsoft.com/identity/claims/objectidentifier":"sp-1","appid":"app-1","appidacr":"2","idtyp":"app"}}}`,
			with(func(e *audit.Event) {
				e.Result, e.Status, e.RequestBody = audit.ResultStarted, "Accept", nil
				e.PrincipalID, e.PrincipalName, e.PrincipalType, e.AppID, e.Tool, e.Tenant = "sp-1", "", audit.PrincipalService, "app-1", audit.ToolOther, ""
				e.SourceIP, e.SourceIPText = netip.Addr{}, ""
			}), StageAccept},
		{"managed identity", `{` + base + `,"resultType":"Success","identity":{"claims":{"oid":"mi-1","appid":"app-2","idtyp":"app","xms_mirid":"/subscriptions/x/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id"}}}`,
			with(func(e *audit.Event) {
				e.Status, e.RequestBody = "Success", nil
				e.PrincipalID, e.PrincipalName, e.PrincipalType, e.AppID, e.Tool, e.Tenant = "mi-1", "", audit.PrincipalManagedID, "app-2", audit.ToolOther, ""
				e.SourceIP, e.SourceIPText = netip.Addr{}, ""
			}), StageSuccess},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var rec Record
			if err := Decode([]byte(tc.in), &rec); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, rec.Event, cmpAddr); d != "" {
				t.Errorf("event (-want +got):\n%s", d)
			}
			if rec.Stage != tc.stage {
				t.Errorf("stage %v, want %v", rec.Stage, tc.stage)
			}
			var ref Record
			if err := decodeReference([]byte(tc.in), &ref); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(ref, rec, cmpAddr); d != "" {
				t.Errorf("walk and reference disagree (-ref +walk):\n%s", d)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want error
	}{
		{`[1]`, ErrNotObject},
		{`{"time":"2026-01-05T09:00:00Z","operationName":"x"`, ErrSyntax},
		{`{"a":1}`, ErrNotAzure},
		{`{"operationName":"x","time":"yesterday"}`, ErrNoTime},
		{`{"operationName":"Sign-in activity","time":"2026-01-05T09:00:00Z","properties":{"status":{"errorCode":"x"}}}`, nil},
	} {
		var rec Record
		if err := Decode([]byte(tc.in), &rec); !errors.Is(err, tc.want) {
			t.Errorf("Decode(%s) = %v, want %v", tc.in, err, tc.want)
		}
	}
}

func TestDecodeSignIn(t *testing.T) {
	in := `{"time":"2026-01-05T09:00:00Z","category":"SignInLogs","operationName":"Sign-in activity","tenantId":"T1","resultType":"0","properties":{"userId":"U1","userPrincipalName":"bob@contoso.com","appId":"c44b4083-3bb0-49c1-b47d-974e53cbdf3c","ipAddress":"198.51.100.4","status":{"errorCode":0},"location":{"city":"Lyon","countryOrRegion":"fr","geoCoordinates":{}}}}`
	var rec Record
	if err := Decode([]byte(in), &rec); err != nil {
		t.Fatal(err)
	}
	want := audit.Event{
		Time: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC), Cloud: audit.CloudAzure, Kind: audit.KindSignIn, Category: "SignInLogs",
		Tenant: "t1", PrincipalID: "u1", PrincipalName: "bob@contoso.com", PrincipalType: audit.PrincipalUser,
		Tool: audit.ToolPortal, AppID: "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
		SourceIP: netip.MustParseAddr("198.51.100.4"), SourceIPText: "198.51.100.4",
		Operation: "Sign-in activity", OperationKey: "sign-in activity", Result: audit.ResultSuccess, Status: "0",
		// No coordinates: only the country is known.
		Location: audit.Location{Country: "FR", City: "Lyon", CountryOnly: true},
	}
	if d := cmp.Diff(want, rec.Event, cmpAddr); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}
