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

const (
	uaAWSCLI    = "aws-cli/2.17.20 md/awscrt#0.20.11 ua/2.0 os/linux#6.8.0 md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.24 md/prompt#off md/command#"
	uaConsole   = "AWS Internal"
	uaBoto      = "Boto3/1.35.10 md/Botocore#1.35.10 ua/2.0 os/linux#6.8.0 md/arch#x86_64 lang/python#3.12.3 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.10"
	uaGcloud    = "google-cloud-sdk gcloud/497.0.0 command/gcloud.%s invocation-id/%s environment/None environment-version/None client-os/LINUX client-os-ver/6.8.0 client-pltf-arch/x86_64 interactive/True from-script/False python/3.12.3 term/xterm-256color (Linux 6.8.0),gzip(gfe)"
	uaTerraform = "Terraform/1.9.5 (+https://www.terraform.io) Terraform-Plugin-SDK/2.10.1 terraform-provider-google/6.2.0,gzip(gfe)"
	uaBrowser   = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36,gzip(gfe)"
)

// azOp builds one ordinary Azure operation of a user or automation.
func (s *sim) azOp(t time.Time, p *principal, ip netip.Addr, app string, sub *subscription, r *rand.Rand) []event {
	base := event{t: t, src: srcActivity, p: p, ip: ip, appID: app, sub: sub.id, corr: guid(r), eventHub: sub.eventHub, wrapped: sub.wrapped,
		fail: r.IntN(40) == 0, upper: r.IntN(8) == 0}
	one := func(op, res string, async bool) []event {
		e := base
		e.op, e.resource, e.async = op, res, async
		return []event{e}
	}
	switch x := r.IntN(100); {
	case x < 18:
		// A template deployment: the deployment and the resources it
		// writes share one correlation id.
		rg := pick(r, sub.groups)
		dep := base
		dep.op, dep.async = opDeploymentWrite, true
		dep.resource = "/subscriptions/" + sub.id + "/resourceGroups/" + rg + "/providers/Microsoft.Resources/deployments/" +
			pick(r, []string{"Microsoft.Template-", "main-", "infra-", "webapp-"}) + t.Format("20060102150405")
		out := []event{dep}
		kinds := []string{opVMWrite, opStorageWrite, opSiteWrite, opNSGRuleWrite}
		r.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
		for i := range 1 + r.IntN(3) {
			c := base
			c.t = t.Add(time.Duration(5+i*7+r.IntN(5)) * time.Second)
			c.op, c.resource, c.async = kinds[i], "", true
			switch c.op {
			case opVMWrite:
				c.resource = pick(r, sub.vms)
			case opStorageWrite:
				c.resource = pick(r, sub.storage)
			case opSiteWrite:
				c.resource = pick(r, sub.sites)
			default:
				c.resource = pick(r, sub.nsgs) + "/securityRules/allow-https"
			}
			out = append(out, c)
		}
		return out
	case x < 32:
		return one(pick(r, []string{opVMStart, opVMRestart, opVMDeallocate}), pick(r, sub.vms), true)
	case x < 42:
		return one(opVMWrite, pick(r, sub.vms), true)
	case x < 52:
		return one(opStorageWrite, pick(r, sub.storage), false)
	case x < 60:
		return one(opContainerWrite, pick(r, sub.storage)+"/blobServices/default/containers/"+pick(r, appWords), false)
	case x < 70:
		return one(pick(r, []string{opSiteWrite, opSiteRestart, opSiteConfigWrite}), pick(r, sub.sites), false)
	case x < 78:
		return one(opNSGRuleWrite, pick(r, sub.nsgs)+"/securityRules/"+pick(r, []string{"allow-https", "deny-all", "allow-bastion"}), true)
	case x < 86:
		return one(opTagsWrite, "/subscriptions/"+sub.id+"/resourceGroups/"+pick(r, sub.groups)+"/providers/Microsoft.Resources/tags/default", false)
	case x < 92:
		return one(opDiagWrite, pick(r, sub.storage)+"/providers/microsoft.insights/diagnosticSettings/to-law", false)
	case x < 97:
		return one(opSecretWrite, pick(r, sub.vaults)+"/secrets/"+pick(r, appWords)+"-conn", false)
	default:
		return one(opAKSWrite, pick(r, sub.aks), true)
	}
}

func roleAssignmentBody(sub, roleID, assignee, assigneeType string) string {
	return fmt.Sprintf(`{"Id":"%s","Properties":{"PrincipalId":"%s","PrincipalType":"%s","RoleDefinitionId":"/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/%s","Scope":"/subscriptions/%s","Condition":null,"ConditionVersion":null}}`,
		strings.ReplaceAll(roleID, "-", "")[:8]+"-0000-0000-0000-000000000000", assignee, assigneeType, sub, roleID, sub)
}

func roleDefinitionBody(id, name string, actions []string, sub string) string {
	q := make([]string, len(actions))
	for i, a := range actions {
		q[i] = `"` + a + `"`
	}
	return fmt.Sprintf(`{"Id":"%s","Properties":{"RoleName":"%s","IsCustom":true,"Description":"%s","AssignableScopes":["/subscriptions/%s"],"Permissions":[{"Actions":[%s],"NotActions":[],"DataActions":[],"NotDataActions":[]}]}}`,
		id, name, name, sub, strings.Join(q, ","))
}

// roleAssignment returns a role assignment write granting roleID.
func (s *sim) roleAssignment(t time.Time, p *principal, ip netip.Addr, app string, sub *subscription, roleID, assignee, assigneeType string, r *rand.Rand) event {
	return event{t: t, src: srcActivity, p: p, ip: ip, appID: app, sub: sub.id, corr: guid(r), eventHub: sub.eventHub, wrapped: sub.wrapped,
		op: opRoleAssignWrite, resource: "/subscriptions/" + sub.id + "/providers/Microsoft.Authorization/roleAssignments/" + guid(r),
		body: roleAssignmentBody(sub.id, roleID, assignee, assigneeType)}
}

// personDay generates one person's ordinary day.
func (s *sim) personDay(p *person, day time.Time, r *rand.Rand, out []event) []event {
	if day.Before(p.activeFrom) {
		return out
	}
	home := p.homeIPs[0]
	if !p.activeUntil.IsZero() && day.After(p.activeUntil) {
		// A dormant account: the mailbox still refreshes tokens now and
		// then, but nobody touches the control plane.
		if r.IntN(3) == 0 && day.Weekday() != time.Saturday && day.Weekday() != time.Sunday {
			out = append(out, event{t: localTime(day, p.city.UTCOffset, 9+r.Float64()*8), src: srcSignIn, p: p.azure, ip: home,
				appID: "00000002-0000-0ff1-ce00-000000000000", appName: "Office 365 Exchange Online", signin: signinNonInteractive})
		}
		return out
	}
	if p.scriptedOff[day] {
		return out
	}
	tr, flying := p.where(day)
	if flying {
		return out
	}
	if wd := day.Weekday(); (wd == time.Saturday || wd == time.Sunday) && r.IntN(20) != 0 {
		return out
	}
	tz := p.city.UTCOffset
	if tr != nil {
		tz = tr.city.UTCOffset
	}
	ip := s.dayIP(p, tr, r)
	if p.fixedIP.IsValid() {
		ip = p.fixedIP
	}
	t := localTime(day, tz, 8.25+r.Float64()*1.5)
	end := localTime(day, tz, 18)
	app := p.pickApp(r)
	// A mistyped password now and then, from where the user is.
	if r.IntN(30) == 0 {
		out = append(out, event{t: t.Add(-time.Minute), src: srcSignIn, p: p.azure, ip: ip, appID: app, signin: signinInteractive, fail: true})
	}
	out = append(out, event{t: t, src: srcSignIn, p: p.azure, ip: ip, appID: app, signin: signinInteractive})
	for h := 1 + r.IntN(3); h < 9; h += 3 + r.IntN(2) {
		out = append(out, event{t: t.Add(time.Duration(h)*time.Hour + time.Duration(r.IntN(600))*time.Second), src: srcSignIn, p: p.azure, ip: ip,
			appID: app, signin: signinNonInteractive})
	}
	n := p.opsPerDay/2 + r.IntN(p.opsPerDay+1)
	span := end.Sub(t)
	for range n {
		at := t.Add(time.Duration(r.Int64N(int64(span))))
		sub := pick(r, s.est.subs)
		a := app
		if r.IntN(5) == 0 {
			a = p.pickApp(r)
		}
		if !p.psRegular && a == audit.AppIDPowerShell {
			a = audit.AppIDCLI
		}
		out = append(out, s.azOp(at, p.azure, ip, a, sub, r)...)
	}
	// The single admin who reads one storage key: not a toolkit.
	if r.IntN(25) == 0 {
		sub := pick(r, s.est.subs)
		out = append(out, event{t: t.Add(time.Duration(r.Int64N(int64(span)))), src: srcActivity, p: p.azure, ip: ip, appID: audit.AppIDPortal,
			sub: sub.id, eventHub: sub.eventHub, wrapped: sub.wrapped, op: opStorageListKeys, resource: pick(r, sub.storage), corr: guid(r)})
	}
	// PowerShell regulars do their weekly persistence-class chores with it.
	if p.psRegular && day.Weekday() == time.Wednesday {
		sub := pick(r, s.est.subs)
		at := t.Add(time.Duration(r.Int64N(int64(span))))
		op, res := opVMExtWrite, pick(r, sub.vms)+"/extensions/AzureMonitorLinuxAgent"
		if r.IntN(2) == 0 {
			op, res = opRunbookWrite, pick(r, sub.autos)+"/runbooks/"+pick(r, []string{"Rotate-Logs", "Patch-VMs", "Stop-DevVMs"})
		}
		out = append(out, event{t: at, src: srcActivity, p: p.azure, ip: ip, appID: audit.AppIDPowerShell, sub: sub.id, eventHub: sub.eventHub, wrapped: sub.wrapped,
			op: op, resource: res, corr: guid(r), async: true})
	}
	// Weekly role administrators grant built-in roles, and every third
	// week update a custom role that nobody is granted.
	if p.roleAdmin && day.Weekday() == time.Tuesday {
		for range 1 + r.IntN(3) {
			sub := pick(r, s.est.subs)
			at := t.Add(time.Duration(r.Int64N(int64(span))))
			who := pick(r, s.people).azure
			e := s.roleAssignment(at, p.azure, ip, app, sub, pick(r, builtinRoles).id, who.id, "User", r)
			e.bodyObj = r.IntN(3) == 0
			out = append(out, e)
		}
		if _, wk := day.ISOWeek(); wk%3 == 0 {
			sub := s.est.subs[0]
			rid := p.customRole
			out = append(out, event{t: t.Add(time.Duration(r.Int64N(int64(span)))), src: srcActivity, p: p.azure, ip: ip, appID: app, sub: sub.id,
				eventHub: sub.eventHub, wrapped: sub.wrapped, op: opRoleDefWrite, corr: guid(r),
				resource: "/subscriptions/" + sub.id + "/providers/Microsoft.Authorization/roleDefinitions/" + rid,
				body:     roleDefinitionBody(rid, "Ops Reader "+p.last, []string{"*/read", "Microsoft.Support/*"}, sub.id)})
		}
	}
	// AWS and GCP work happens from home: the corporate VPN splits its
	// tunnel and carries only the Azure estate's traffic.
	if p.aws != nil && tr == nil && r.IntN(10) < 3 {
		out = s.awsSession(p.aws, t.Add(time.Duration(r.Int64N(int64(span)))), p.homeIPs[0], 1+r.IntN(4), r, out)
	}
	if p.gcp != nil && tr == nil && r.IntN(10) < 3 {
		out = s.gcpSession(p.gcp, t.Add(time.Duration(r.Int64N(int64(span)))), p.homeIPs[0], 1+r.IntN(4), r, out)
	}
	return out
}

var awsBackgroundOps = []string{"RunInstances", "StartInstances", "StopInstances", "CreateTags", "AuthorizeSecurityGroupIngress",
	"CreateBucket", "PutBucketTagging", "PutParameter", "CreateLogGroup", "PutMetricAlarm", "CreateSnapshot"}

var awsRegions = []string{"us-east-1", "eu-west-1", "eu-central-1", "eu-west-3"}

func (s *sim) awsSession(p *principal, t time.Time, ip netip.Addr, n int, r *rand.Rand, out []event) []event {
	ua := uaConsole
	if r.IntN(2) == 0 {
		ua = uaAWSCLI
	}
	region := pick(r, awsRegions)
	for i := range n {
		op := pick(r, awsBackgroundOps)
		u := ua
		if ua == uaAWSCLI {
			u = ua + strings.ToLower(op)
		}
		out = append(out, event{t: t.Add(time.Duration(i*(30+r.IntN(300))) * time.Second), src: srcCloudTrail, p: p, ip: ip, ua: u,
			op: op, sub: p.account, region: region, fail: r.IntN(40) == 0, body: `{}`})
	}
	return out
}

var gcpBackgroundOps = []string{"v1.compute.instances.insert", "v1.compute.instances.start", "v1.compute.instances.stop",
	"v1.compute.firewalls.insert", "storage.buckets.create", "google.cloud.functions.v1.CloudFunctionsService.UpdateFunction"}

func (s *sim) gcpSession(p *principal, t time.Time, ip netip.Addr, n int, r *rand.Rand, out []event) []event {
	for i := range n {
		op := pick(r, gcpBackgroundOps)
		ua := uaBrowser
		if r.IntN(2) == 0 {
			ua = fmt.Sprintf(uaGcloud, "compute.instances", guid(r))
		}
		out = append(out, event{t: t.Add(time.Duration(i*(30+r.IntN(300))) * time.Second), src: srcGCP, p: p, ip: ip, ua: ua, op: op,
			sub: p.project, resource: gcpResourceName(p.project, op, r), fail: r.IntN(50) == 0})
	}
	return out
}

func gcpResourceName(project, op string, r *rand.Rand) string {
	switch {
	case strings.Contains(op, "instances"):
		return fmt.Sprintf("projects/%s/zones/europe-west1-b/instances/vm-%s-%d", project, pick(r, appWords), r.IntN(9))
	case strings.Contains(op, "firewalls"):
		return fmt.Sprintf("projects/%s/global/firewalls/allow-%s", project, pick(r, appWords))
	case strings.HasPrefix(op, "storage"):
		return fmt.Sprintf("projects/_/buckets/%s-%s", project, pick(r, appWords))
	case strings.Contains(op, "Function"):
		return fmt.Sprintf("projects/%s/locations/europe-west1/functions/%s", project, pick(r, appWords))
	case strings.Contains(op, "ServiceAccount"):
		return fmt.Sprintf("projects/%s/serviceAccounts/deploy@%s.iam.gserviceaccount.com", project, project)
	}
	return "projects/" + project
}

// automationDay generates the service principals' and managed
// identities' activity: around the clock, from cloud addresses in several
// regions, which must never look like a user's travel.
func (s *sim) automationDay(day time.Time, r *rand.Rand, out []event) []event {
	for _, sp := range s.sps {
		switch {
		case strings.HasPrefix(sp.name, "ci-deploy"):
			for range 4 + r.IntN(5) {
				t := day.Add(time.Duration(r.Int64N(int64(24 * time.Hour))))
				ip, _ := s.w.CloudIP(r, "azure", pick(r, []string{"eastus", "westus", "westeurope"}))
				sub := pick(r, s.est.subs)
				out = append(out, event{t: t.Add(-2 * time.Second), src: srcSignIn, p: sp, ip: ip, appID: sp.appID, appName: sp.name, signin: signinServicePrincipal})
				out = append(out, s.azOp(t, sp, ip, sp.appID, sub, r)...)
				out = append(out, event{t: t.Add(40 * time.Second), src: srcActivity, p: sp, ip: ip, appID: sp.appID, sub: sub.id, eventHub: sub.eventHub, wrapped: sub.wrapped,
					op: opACRListCreds, resource: pick(r, sub.acrs), corr: guid(r)})
			}
		case strings.HasPrefix(sp.name, "backup"):
			t := day.Add(2*time.Hour + time.Duration(r.IntN(900))*time.Second)
			ip, _ := s.w.CloudIP(r, "azure", "westeurope")
			sub := s.est.subs[0]
			out = append(out, event{t: t, src: srcActivity, p: sp, ip: ip, appID: sp.appID, sub: sub.id, eventHub: sub.eventHub, wrapped: sub.wrapped,
				op: opStorageListKeys, resource: sub.storage[0], corr: guid(r)})
		default:
			for h := 0; h < 24; h += 3 {
				t := day.Add(time.Duration(h)*time.Hour + time.Duration(r.IntN(1800))*time.Second)
				ip, _ := s.w.CloudIP(r, "azure", pick(r, []string{"westeurope", "northeurope"}))
				sub := pick(r, s.est.subs)
				op, res := opTagsWrite, "/subscriptions/"+sub.id+"/resourceGroups/"+pick(r, sub.groups)+"/providers/Microsoft.Resources/tags/default"
				if h%2 == 0 {
					op, res = opDiagWrite, pick(r, sub.vms)+"/providers/microsoft.insights/diagnosticSettings/to-law"
				}
				out = append(out, event{t: t, src: srcActivity, p: sp, ip: ip, appID: sp.appID, sub: sub.id, eventHub: sub.eventHub, wrapped: sub.wrapped,
					op: op, resource: res, corr: guid(r)})
			}
		}
	}
	for _, role := range s.awsRoles {
		for range 2 + r.IntN(4) {
			ip, _ := s.w.CloudIP(r, "azure", "eastus")
			t := day.Add(time.Duration(r.Int64N(int64(24 * time.Hour))))
			for i, op := range []string{"UpdateFunctionCode20150331v2", "UpdateFunctionConfiguration20150331v2", "PutParameter"} {
				out = append(out, event{t: t.Add(time.Duration(i*20) * time.Second), src: srcCloudTrail, p: role, ip: ip, ua: uaBoto, op: op,
					sub: role.account, region: "eu-west-1", body: `{}`})
			}
		}
	}
	for _, sa := range s.gcpSAs {
		for range 1 + r.IntN(3) {
			ip, _ := s.w.CloudIP(r, "gcp", "")
			op := pick(r, gcpBackgroundOps)
			out = append(out, event{t: day.Add(time.Duration(r.Int64N(int64(24 * time.Hour)))), src: srcGCP, p: sa, ip: ip, ua: uaTerraform, op: op,
				sub: sa.project, resource: gcpResourceName(sa.project, op, r)})
		}
	}
	return out
}

var _ = world.KindCloud
