package mgmt

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"time"

	"github.com/vigil-ids/vigil/audit"
	"github.com/vigil-ids/vigil/sim/world"
)

// source is the log an event goes to.
type source uint8

const (
	srcActivity source = iota
	srcSignIn
	srcCloudTrail
	srcGCP
)

func (s source) controlPlane() bool { return s != srcSignIn }

type signinKind uint8

const (
	signinInteractive signinKind = iota
	signinNonInteractive
	signinServicePrincipal
)

type principalKind uint8

const (
	kindUser principalKind = iota
	kindService
	kindManagedIdentity
)

// principal is one identity in one cloud. A person with Azure, AWS and GCP
// access is three principals that share a person.
type principal struct {
	id    string // objectidentifier, userIdentity.arn or principalEmail
	name  string // display name
	upn   string // user principal name (or e-mail)
	kind  principalKind
	cloud source
	appID string // service principals: their application id
	// AWS details.
	account, awsUser string
	// GCP details.
	project string
	person  *person
}

// person is a human user and their habits.
type person struct {
	first, last string
	country     string
	city        world.City
	homeIPs     []netip.Addr
	mobileIPs   []netip.Addr
	office      bool    // works from the head office network some days
	vpn         float64 // chance of using the corporate VPN on a day
	tools       [3]int  // weights: portal, CLI, PowerShell
	psRegular   bool
	roleAdmin   bool
	opsPerDay   int
	activeFrom  time.Time
	activeUntil time.Time // zero: active until the end
	trips       []trip
	azure       *principal
	aws         *principal
	gcp         *principal
	// scripted users are kept out of random background roles.
	scripted bool
	// scriptedOff marks days on which an incident replaces the person's
	// ordinary activity.
	scriptedOff map[time.Time]bool
	// fixedIP, when valid, is the only address the person uses.
	fixedIP netip.Addr
	// customRole is the id of the custom role a role administrator
	// maintains.
	customRole string
}

type trip struct {
	depart, back time.Time // days with no activity (flights)
	country      string
	city         world.City
}

// event is one simulated action; the writers expand it into the records
// of its log (an Azure operation becomes Start, Accept and Success
// records sharing a correlation id).
type event struct {
	t        time.Time
	src      source
	p        *principal
	ip       netip.Addr
	appID    string
	ua       string
	op       string
	resource string
	sub      string // subscription, account or project
	fail     bool
	body     string // request body (JSON)
	bodyObj  bool   // write the request body as an object
	corr     string
	upper    bool // upper-case operationName and resourceId
	async    bool // has an Accept stage
	signin   signinKind
	appName  string
	region   string
	eventHub bool // the subscription exports through Event Hub
	wrapped  bool // the subscription's blobs hold {"records":[...]} objects
}

func (e *event) tool() audit.Tool { return audit.ToolForAppID(e.appID) }

// guid returns a random version-4 style GUID.
func guid(r *rand.Rand) string {
	a, b := r.Uint64(), r.Uint64()
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", uint32(a>>32), uint16(a>>16), uint16(a)&0xfff, uint16(b>>48)&0x3fff|0x8000, b&0xffffffffffff)
}

func hexString(r *rand.Rand, n int) string {
	const digits = "0123456789abcdef"
	var sb strings.Builder
	for range n {
		sb.WriteByte(digits[r.IntN(16)])
	}
	return sb.String()
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// Built-in Azure role definition ids (real, stable across tenants).
var builtinRoles = []struct{ name, id string }{
	{"Reader", "acdd72a7-3385-48ef-bd42-f606fba81ae7"},
	{"Contributor", "b24988ac-6180-42a0-ab88-20f7382dd24c"},
	{"Owner", "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"},
	{"Virtual Machine Contributor", "9980e02c-c2be-4d73-94e8-173b1dc7cf3c"},
	{"Storage Blob Data Reader", "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"},
	{"Storage Blob Data Contributor", "ba92f5b4-2d11-453d-a403-e96b0029c9fe"},
	{"Key Vault Secrets User", "4633458b-17de-408a-b874-0445c86b69e6"},
	{"Website Contributor", "de139f84-1756-47ae-9be6-808fbbe84772"},
}

// Azure operation names used by the simulation.
const (
	opRoleAssignWrite = "Microsoft.Authorization/roleAssignments/write"
	opRoleDefWrite    = "Microsoft.Authorization/roleDefinitions/write"
	opStorageListKeys = "Microsoft.Storage/storageAccounts/listKeys/action"
	opPublishXML      = "Microsoft.Web/sites/publishxml/action"
	opSiteConfigList  = "Microsoft.Web/sites/config/list/action"
	opFuncHostKeys    = "Microsoft.Web/sites/host/default/listkeys/action"
	opACRListCreds    = "Microsoft.ContainerRegistry/registries/listCredentials/action"
	opKVAccessPolicy  = "Microsoft.KeyVault/vaults/accessPolicies/write"
	opAKSAdminCreds   = "Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action"
	opVMRunCommand    = "Microsoft.Compute/virtualMachines/runCommand/action"
	opRunbookWrite    = "Microsoft.Automation/automationAccounts/runbooks/write"
	opRunbookDraft    = "Microsoft.Automation/automationAccounts/runbooks/draft/write"
	opTestJobWrite    = "Microsoft.Automation/automationAccounts/runbooks/draft/testJob/write"
	opWebhookWrite    = "Microsoft.Automation/automationAccounts/webhooks/write"
	opCosmosListKeys  = "Microsoft.DocumentDB/databaseAccounts/listKeys/action"
	opSBListKeys      = "Microsoft.ServiceBus/namespaces/authorizationRules/listKeys/action"
	opVMExtWrite      = "Microsoft.Compute/virtualMachines/extensions/write"
	opFedCredWrite    = "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write"
	opUAIWrite        = "Microsoft.ManagedIdentity/userAssignedIdentities/write"
	opElevateAccess   = "Microsoft.Authorization/elevateAccess/action"
	opDeploymentWrite = "Microsoft.Resources/deployments/write"
	opVMWrite         = "Microsoft.Compute/virtualMachines/write"
	opVMStart         = "Microsoft.Compute/virtualMachines/start/action"
	opVMRestart       = "Microsoft.Compute/virtualMachines/restart/action"
	opVMDeallocate    = "Microsoft.Compute/virtualMachines/deallocate/action"
	opStorageWrite    = "Microsoft.Storage/storageAccounts/write"
	opContainerWrite  = "Microsoft.Storage/storageAccounts/blobServices/containers/write"
	opSiteWrite       = "Microsoft.Web/sites/write"
	opSiteRestart     = "Microsoft.Web/sites/restart/action"
	opSiteConfigWrite = "Microsoft.Web/sites/config/write"
	opNSGRuleWrite    = "Microsoft.Network/networkSecurityGroups/securityRules/write"
	opTagsWrite       = "Microsoft.Resources/tags/write"
	opDiagWrite       = "Microsoft.Insights/diagnosticSettings/write"
	opSecretWrite     = "Microsoft.KeyVault/vaults/secrets/write"
	opAKSWrite        = "Microsoft.ContainerService/managedClusters/write"
	opRGWrite         = "Microsoft.Resources/subscriptions/resourceGroups/write"
)

// persistenceAzure are the Azure operations that can secure persistence,
// as the inactive-account and PowerShell detections define them.
var persistenceAzure = map[string]bool{
	strings.ToLower(opRoleAssignWrite): true, strings.ToLower(opRoleDefWrite): true,
	strings.ToLower(opRunbookWrite): true, strings.ToLower(opRunbookDraft): true, strings.ToLower(opTestJobWrite): true, strings.ToLower(opWebhookWrite): true,
	strings.ToLower(opFedCredWrite): true, strings.ToLower(opVMExtWrite): true, strings.ToLower(opVMRunCommand): true,
	strings.ToLower(opElevateAccess): true, strings.ToLower(opUAIWrite): true,
}

var persistenceAWS = map[string]bool{
	"CreateAccessKey": true, "CreateUser": true, "CreateLoginProfile": true, "AttachUserPolicy": true,
	"PutUserPolicy": true, "UpdateAssumeRolePolicy": true,
}

func (e *event) persistence() bool {
	switch e.src {
	case srcActivity:
		return persistenceAzure[strings.ToLower(e.op)]
	case srcCloudTrail:
		return persistenceAWS[e.op]
	case srcGCP:
		return strings.HasSuffix(e.op, "SetIamPolicy") || strings.HasSuffix(e.op, "CreateServiceAccountKey") ||
			strings.HasSuffix(e.op, "UploadServiceAccountKey") || strings.HasSuffix(e.op, "CreateServiceAccount")
	}
	return false
}

// estate holds the simulated resources of every subscription, account
// and project.
type estate struct {
	tenant   string
	subs     []*subscription
	accounts []string
	projects []string
}

type subscription struct {
	id        string
	eventHub  bool // exported through Event Hub rather than a storage account
	wrapped   bool // storage blobs in the {"records":[...]} form rather than JSON lines
	storage   []string
	sites     []string
	functions []string
	vaults    []string
	acrs      []string
	aks       []string
	vms       []string
	autos     []string
	cosmos    []string
	sbus      []string
	uais      []string
	nsgs      []string
	groups    []string
}

func rid(sub, rg, provider, name string) string {
	return "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/" + provider + "/" + name
}

var rgNames = []string{"rg-web-prod", "rg-data-prod", "rg-platform", "rg-shared", "rg-dev", "rg-analytics", "rg-identity", "rg-network"}
var appWords = []string{"orders", "billing", "portal", "catalog", "payments", "search", "reports", "crm", "hr", "api", "auth", "inventory", "shipping", "notify", "docs", "media"}

func newSubscription(r *rand.Rand, id string) *subscription {
	s := &subscription{id: id}
	s.groups = append(s.groups, rgNames...)
	sfx := hexString(r, 4)
	for i := range 6 {
		s.storage = append(s.storage, rid(id, pick(r, rgNames), "Microsoft.Storage", "storageAccounts/st"+appWords[(i*3)%len(appWords)]+sfx+fmt.Sprint(i)))
	}
	for i := range 14 {
		s.sites = append(s.sites, rid(id, "rg-web-prod", "Microsoft.Web", "sites/app-"+appWords[i%len(appWords)]+"-"+sfx))
	}
	for i := range 3 {
		s.functions = append(s.functions, rid(id, "rg-platform", "Microsoft.Web", "sites/func-"+appWords[(i+5)%len(appWords)]+"-"+sfx))
	}
	for i := range 3 {
		s.vaults = append(s.vaults, rid(id, "rg-identity", "Microsoft.KeyVault", "vaults/kv-"+appWords[(i+2)%len(appWords)]+"-"+sfx))
	}
	for i := range 2 {
		s.acrs = append(s.acrs, rid(id, "rg-platform", "Microsoft.ContainerRegistry", fmt.Sprintf("registries/acr%s%d", sfx, i)))
		s.aks = append(s.aks, rid(id, "rg-platform", "Microsoft.ContainerService", fmt.Sprintf("managedClusters/aks-%s-%d", sfx, i)))
		s.autos = append(s.autos, rid(id, "rg-shared", "Microsoft.Automation", fmt.Sprintf("automationAccounts/aa-ops-%d", i)))
		s.nsgs = append(s.nsgs, rid(id, "rg-network", "Microsoft.Network", fmt.Sprintf("networkSecurityGroups/nsg-%s-%d", sfx, i)))
	}
	for i := range 10 {
		s.vms = append(s.vms, rid(id, pick(r, []string{"rg-web-prod", "rg-dev", "rg-analytics"}), "Microsoft.Compute", fmt.Sprintf("virtualMachines/vm-%s-%02d", appWords[i%len(appWords)], i)))
	}
	s.cosmos = append(s.cosmos, rid(id, "rg-data-prod", "Microsoft.DocumentDB", "databaseAccounts/cosmos-"+sfx))
	s.sbus = append(s.sbus, rid(id, "rg-data-prod", "Microsoft.ServiceBus", "namespaces/sb-"+sfx+"/authorizationRules/RootManageSharedAccessKey"))
	s.uais = append(s.uais, rid(id, "rg-identity", "Microsoft.ManagedIdentity", "userAssignedIdentities/id-deploy-"+sfx))
	return s
}

// localTime returns the UTC instant of a local clock time on a day.
func localTime(day time.Time, offsetHours float64, hour float64) time.Time {
	return day.Add(time.Duration((hour - offsetHours) * float64(time.Hour)))
}
