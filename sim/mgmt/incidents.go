package mgmt

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"time"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/audit"
	"github.com/vigil-ids/vigil/eval"
	"github.com/vigil-ids/vigil/sim/world"
)

// scripted creates a person reserved for an incident or a look-alike.
func (s *sim) scripted(cc string) *person {
	p := s.newPerson(cc, true)
	s.homeCnt[cc]++
	return p
}

func (s *sim) at(di int, p *person, localHour float64) time.Time {
	return localTime(s.day(di), p.city.UTCOffset, localHour)
}

func (s *sim) label(typ string, p *principal, start, end time.Time, note string) {
	s.truth = append(s.truth, eval.Incident{Type: typ, Key: p.id, Start: start, End: end, Note: note})
}

func (s *sim) azEvent(t time.Time, p *principal, ip netip.Addr, app string, sub *subscription, op, res string) event {
	return event{t: t, src: srcActivity, p: p, ip: ip, appID: app, sub: sub.id, eventHub: sub.eventHub, wrapped: sub.wrapped, op: op, resource: res, corr: guid(s.r)}
}

func (s *sim) signIn(t time.Time, p *principal, ip netip.Addr, app string) event {
	return event{t: t, src: srcSignIn, p: p.person.azure, ip: ip, appID: app, signin: signinInteractive}
}

// step returns t advanced by a jittered gap.
func step(r *rand.Rand, t time.Time, min, jitter time.Duration) time.Time {
	return t.Add(min + time.Duration(r.Int64N(int64(jitter))))
}

// scripts stages every incident and its look-alikes.
func (s *sim) scripts() {
	r := s.r
	D := s.days
	hq, _ := s.w.HQ()
	sub0, sub1 := s.est.subs[0], s.est.subs[len(s.est.subs)-1]
	ps := audit.AppIDPowerShell

	// ---- microburst-toolkit ----
	// Get-AzPasswords (Az) with a user's stolen token, from the user's own
	// address: keys and credentials of seven kinds of resource in minutes.
	mb := s.scripted(hq)
	ip := mb.homeIPs[0]
	t := s.at(D-20, mb, 14.2)
	start := t
	var evs []event
	add := func(op, res string) {
		evs = append(evs, s.azEvent(t, mb.azure, ip, ps, sub0, op, res))
		t = step(r, t, 15*time.Second, 40*time.Second)
	}
	for _, st := range sub0.storage[:4] {
		add(opStorageListKeys, st)
	}
	for _, site := range sub0.sites[:3] {
		add(opSiteConfigList, site+"/config/publishingcredentials")
	}
	for _, f := range sub0.functions[:2] {
		add(opFuncHostKeys, f+"/host/default")
	}
	add(opACRListCreds, sub0.acrs[0])
	add(opACRListCreds, sub0.acrs[1])
	add(opKVAccessPolicy, sub0.vaults[0]+"/accessPolicies/add")
	add(opAKSAdminCreds, sub0.aks[0])
	add(opRunbookWrite, sub0.autos[0]+"/runbooks/AzureAutomationTutorialPython")
	add(opTestJobWrite, sub0.autos[0]+"/runbooks/AzureAutomationTutorialPython/draft/testJob")
	s.add(evs...)
	s.label(alert.MicroBurstToolkit, mb.azure, start, evs[len(evs)-1].t, "Get-AzPasswords (Az) across storage, web, functions, ACR, Key Vault, AKS and automation")

	// AzureRM form with a service principal's secret from a rented server:
	// publishing profiles, keys and Invoke-AzVMBulkCMD's runCommand.
	legacy := &principal{id: guid(r), name: "legacy-sync", kind: kindService, cloud: srcActivity, appID: guid(r)}
	s.sps = append(s.sps, legacy)
	vps, _ := s.w.RandomIPIn(r, "NL", world.KindHosting)
	t = s.day(D - 33).Add(3*time.Hour + 10*time.Minute)
	start = t
	evs = evs[:0]
	addRM := func(op, res string) {
		e := s.azEvent(t, legacy, vps, legacy.appID, sub1, op, res)
		e.upper = true
		evs = append(evs, e)
		t = step(r, t, 10*time.Second, 50*time.Second)
	}
	addRM(opPublishXML, sub1.sites[3])
	addRM(opPublishXML, sub1.sites[4])
	for _, st := range sub1.storage[:3] {
		addRM(opStorageListKeys, st)
	}
	for _, vm := range sub1.vms[:4] {
		addRM(opVMRunCommand, vm)
	}
	addRM(opCosmosListKeys, sub1.cosmos[0])
	addRM(opSBListKeys, sub1.sbus[0])
	s.add(evs...)
	s.label(alert.MicroBurstToolkit, legacy, start, evs[len(evs)-1].t, "Get-AzurePasswords and Invoke-AzureRmVMBulkCMD (AzureRM) by a service principal")

	// Near the edge: three kinds of resource over thirteen minutes.
	mb3 := s.scripted(hq)
	mb3.tools = [3]int{0, 1, 0}
	t = s.at(D-26, mb3, 11)
	e1 := s.azEvent(t, mb3.azure, mb3.homeIPs[0], audit.AppIDCLI, sub0, opStorageListKeys, sub0.storage[2])
	e2 := s.azEvent(t.Add(6*time.Minute), mb3.azure, mb3.homeIPs[0], audit.AppIDCLI, sub0, opACRListCreds, sub0.acrs[1])
	e3 := s.azEvent(t.Add(13*time.Minute), mb3.azure, mb3.homeIPs[0], audit.AppIDCLI, sub0, opKVAccessPolicy, sub0.vaults[1]+"/accessPolicies/add")
	s.add(e1, e2, e3)
	s.label(alert.MicroBurstToolkit, mb3.azure, e1.t, e3.t, "three kinds of resource within 13 minutes (edge)")

	// Look-alike: an admin reads one storage key in the morning and one
	// publishing profile in the afternoon.
	mbl := s.scripted(hq)
	s.add(s.azEvent(s.at(D-24, mbl, 10), mbl.azure, mbl.homeIPs[0], audit.AppIDPortal, sub0, opStorageListKeys, sub0.storage[1]),
		s.azEvent(s.at(D-24, mbl, 13.5), mbl.azure, mbl.homeIPs[0], audit.AppIDPortal, sub0, opPublishXML, sub0.sites[5]))
	s.lookalikeDay(alert.MicroBurstToolkit, mbl.azure, D-24, "one storage key in the morning, one publishing profile in the afternoon")
	// Just below the edge: two kinds of resource within five minutes.
	mb2k := s.scripted(hq)
	t = s.at(D-29, mb2k, 15)
	s.add(s.azEvent(t, mb2k.azure, mb2k.homeIPs[0], audit.AppIDCLI, sub0, opStorageListKeys, sub0.storage[5]),
		s.azEvent(t.Add(2*time.Minute), mb2k.azure, mb2k.homeIPs[0], audit.AppIDCLI, sub0, opStorageListKeys, sub0.storage[4]),
		s.azEvent(t.Add(5*time.Minute), mb2k.azure, mb2k.homeIPs[0], audit.AppIDCLI, sub0, opACRListCreds, sub0.acrs[0]))
	s.lookalikeDay(alert.MicroBurstToolkit, mb2k.azure, D-29, "two kinds of resource (storage keys, registry credentials) within five minutes")

	// ---- azurite-toolkit ----
	azurite := func(p *person, di int, sub *subscription, apps int, note string) {
		t := s.at(di, p, 15)
		start := t
		var last time.Time
		for _, site := range sub.sites[:apps] {
			for range 3 { // WebDeploy, FTP and Zip deploy profiles
				e := s.azEvent(t, p.azure, p.homeIPs[0], ps, sub, opPublishXML, site)
				s.add(e)
				last = t
				t = step(r, t, 3*time.Second, 8*time.Second)
			}
			t = step(r, t, 5*time.Second, 20*time.Second)
		}
		s.label(alert.AzuriteToolkit, p.azure, start, last, note)
	}
	az1 := s.scripted(hq)
	az1.psRegular, az1.tools = true, [3]int{1, 1, 8}
	azurite(az1, D-22, sub0, 10, "Azurite Explorer: publishing profiles of 10 web apps")
	az2 := s.scripted(hq)
	az2.psRegular, az2.tools = true, [3]int{1, 1, 8}
	azurite(az2, D-11, sub1, 3, "Azurite Explorer: publishing profiles of 3 web apps (edge)")
	// Look-alikes: a developer pulls all three profiles of one app with
	// PowerShell; another downloads two apps' profiles from the portal.
	dev := s.scripted(hq)
	dev.psRegular, dev.tools = true, [3]int{1, 1, 8}
	t = s.at(D-17, dev, 10)
	for i := range 3 {
		s.add(s.azEvent(t.Add(time.Duration(i*7)*time.Second), dev.azure, dev.homeIPs[0], ps, sub0, opPublishXML, sub0.sites[6]))
	}
	web := s.scripted(hq)
	s.add(s.azEvent(s.at(D-19, web, 11), web.azure, web.homeIPs[0], audit.AppIDPortal, sub0, opPublishXML, sub0.sites[7]),
		s.azEvent(s.at(D-19, web, 11.05), web.azure, web.homeIPs[0], audit.AppIDPortal, sub0, opPublishXML, sub0.sites[8]))
	s.lookalikeDay(alert.AzuriteToolkit, dev.azure, D-17, "one web app's three publishing profiles, by a PowerShell regular")
	s.lookalikeDay(alert.AzuriteToolkit, web.azure, D-19, "two web apps' publishing profiles from the portal")
	// Just below the edge: all three profiles of two web apps, from
	// PowerShell, by a regular.
	dev2 := s.scripted(hq)
	dev2.psRegular, dev2.tools = true, [3]int{1, 1, 8}
	t = s.at(D-23, dev2, 16)
	for i, site := range sub0.sites[9:11] {
		for j := range 3 {
			s.add(s.azEvent(t.Add(time.Duration(i*40+j*6)*time.Second), dev2.azure, dev2.homeIPs[0], ps, sub0, opPublishXML, site))
		}
	}
	s.lookalikeDay(alert.AzuriteToolkit, dev2.azure, D-23, "all three publishing profiles of two web apps, by a PowerShell regular")

	// ---- custom-role-persistence ----
	sp0 := s.sps[0]
	cr1 := s.scripted(hq)
	cr1.tools = [3]int{0, 1, 0}
	g1 := guid(r)
	t = s.at(D-15, cr1, 11)
	def := s.azEvent(t, cr1.azure, cr1.homeIPs[0], audit.AppIDCLI, sub0, opRoleDefWrite, "/subscriptions/"+sub0.id+"/providers/Microsoft.Authorization/roleDefinitions/"+g1)
	def.body = roleDefinitionBody(g1, "VM Operator Plus", []string{"Microsoft.Compute/*/read", "Microsoft.Compute/virtualMachines/runCommand/action", "Microsoft.Authorization/roleAssignments/write"}, sub0.id)
	asg := s.roleAssignment(t.Add(4*time.Minute), cr1.azure, cr1.homeIPs[0], audit.AppIDCLI, sub0, g1, sp0.id, "ServicePrincipal", r)
	s.add(def, asg)
	s.label(alert.CustomRolePersistence, cr1.azure, def.t, asg.t, "custom role VM Operator Plus created and granted to service principal "+sp0.name)

	cr2, cr3 := s.scripted(hq), s.scripted(hq)
	g2 := guid(r)
	def2 := s.azEvent(s.at(D-9, cr2, 16), cr2.azure, cr2.homeIPs[0], audit.AppIDPortal, sub1, opRoleDefWrite, "/subscriptions/"+sub1.id+"/providers/Microsoft.Authorization/roleDefinitions/"+g2)
	def2.body, def2.bodyObj, def2.upper = roleDefinitionBody(g2, "Storage Key Operator", []string{"Microsoft.Storage/storageAccounts/listKeys/action", "Microsoft.Storage/storageAccounts/read"}, sub1.id), true, true
	asg2 := s.roleAssignment(s.at(D-8, cr3, 10), cr3.azure, cr3.homeIPs[0], audit.AppIDPortal, sub1, g2, mbl.azure.id, "User", r)
	asg2.bodyObj, asg2.upper = true, true
	s.add(def2, asg2)
	s.label(alert.CustomRolePersistence, cr3.azure, def2.t, asg2.t, "custom role Storage Key Operator (created the day before by another admin) granted to a user")

	// An automation principal grants the custom role a role administrator
	// has maintained for weeks to a managed identity.
	iac := &principal{id: guid(r), name: "iac-pipeline", kind: kindService, cloud: srcActivity, appID: guid(r)}
	s.sps = append(s.sps, iac)
	var admin *person
	for _, p := range s.people {
		if p.roleAdmin {
			admin = p
			break
		}
	}
	if admin != nil {
		ipc, _ := s.w.CloudIP(r, "azure", "westeurope")
		uai := guid(r)
		upd := s.azEvent(s.day(D-4).Add(19*time.Hour+40*time.Minute), admin.azure, pick(r, s.w.CorporateEgress()), audit.AppIDPortal, sub0, opRoleDefWrite,
			"/subscriptions/"+sub0.id+"/providers/Microsoft.Authorization/roleDefinitions/"+admin.customRole)
		upd.body = roleDefinitionBody(admin.customRole, "Ops Reader "+admin.last, []string{"*/read", "Microsoft.Support/*", "Microsoft.Compute/virtualMachines/runCommand/action"}, sub0.id)
		a := s.roleAssignment(s.day(D-4).Add(22*time.Hour+17*time.Minute), iac, ipc, iac.appID, sub0, admin.customRole, uai, "ServicePrincipal", r)
		s.add(upd, a)
		s.label(alert.CustomRolePersistence, iac, upd.t, a.t, "a maintained custom role, updated in the evening, granted to a managed identity by an automation principal")
	}

	// ---- inactive-account-session (labelled by the rules) ----
	ia1 := s.scripted(hq)
	ia1.activeUntil = s.day(18)
	t = s.at(D-14, ia1, 10)
	s.add(s.signIn(t.Add(-time.Minute), ia1.azure, ia1.homeIPs[0], audit.AppIDPortal),
		s.roleAssignment(t, ia1.azure, ia1.homeIPs[0], audit.AppIDPortal, sub0, builtinRoles[2].id, ia1.azure.id, "User", r),
		s.azEvent(t.Add(3*time.Minute), ia1.azure, ia1.homeIPs[0], audit.AppIDPortal, sub0, opRunbookWrite, sub0.autos[1]+"/runbooks/Update-Modules"),
		s.azEvent(t.Add(5*time.Minute), ia1.azure, ia1.homeIPs[0], audit.AppIDPortal, sub0, opWebhookWrite, sub0.autos[1]+"/webhooks/update-hook"))
	ia2 := s.scripted(hq)
	ret := s.at(D-13, ia2, 10)
	ia2.activeUntil = s.day(D - 13 - 32)
	s.add(s.azEvent(ret, ia2.azure, ia2.homeIPs[0], audit.AppIDCLI, sub1, opVMExtWrite, sub1.vms[2]+"/extensions/CustomScript"),
		s.azEvent(ret.Add(2*time.Minute), ia2.azure, ia2.homeIPs[0], audit.AppIDCLI, sub1, opFedCredWrite, sub1.uais[0]+"/federatedIdentityCredentials/gh-main"))
	iaAWS := s.scripted(hq)
	s.addAWS(iaAWS)
	iaAWS.activeUntil = s.day(15)
	for _, d := range []int{2, 5, 9, 14} {
		s.add(s.awsSession(iaAWS.aws, s.at(d, iaAWS, 10), iaAWS.homeIPs[0], 2, r, nil)...)
	}
	t = s.at(D-10, iaAWS, 21)
	for i, op := range []string{"CreateUser", "CreateAccessKey", "AttachUserPolicy", "CreateLoginProfile"} {
		body := `{"userName":"svc-backup-02"}`
		if op == "AttachUserPolicy" {
			body = `{"userName":"svc-backup-02","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"}`
		}
		s.add(event{t: t.Add(time.Duration(i*20) * time.Second), src: srcCloudTrail, p: iaAWS.aws, ip: iaAWS.homeIPs[0], ua: uaAWSCLI + "iam." + op,
			op: op, sub: iaAWS.aws.account, region: "us-east-1", body: body})
	}
	iaGCP := s.scripted(hq)
	s.addGCP(iaGCP)
	iaGCP.activeUntil = s.day(12)
	for _, d := range []int{1, 4, 8, 11} {
		s.add(s.gcpSession(iaGCP.gcp, s.at(d, iaGCP, 11), iaGCP.homeIPs[0], 2, r, nil)...)
	}
	t = s.at(D-6, iaGCP, 19)
	proj := iaGCP.gcp.project
	s.add(event{t: t, src: srcGCP, p: iaGCP.gcp, ip: iaGCP.homeIPs[0], ua: fmt.Sprintf(uaGcloud, "projects.add-iam-policy-binding", guid(r)),
		op: "SetIamPolicy", sub: proj, resource: "projects/" + proj,
		body: `{"@type":"type.googleapis.com/google.iam.v1.SetIamPolicyRequest","resource":"` + proj + `","policy":{"bindings":[{"role":"roles/owner","members":["user:` + iaGCP.gcp.id + `"]}]}}`},
		event{t: t.Add(time.Minute), src: srcGCP, p: iaGCP.gcp, ip: iaGCP.homeIPs[0], ua: fmt.Sprintf(uaGcloud, "iam.service-accounts.keys.create", guid(r)),
			op: "google.iam.admin.v1.CreateServiceAccountKey", sub: proj, resource: gcpResourceName(proj, "CreateServiceAccountKey", r)})
	// Look-alikes: back after 25 days with a role assignment; back after
	// weeks with ordinary writes only; a dormant mailbox that only signs in.
	il1 := s.scripted(hq)
	il1.activeUntil = s.day(D - 31)
	s.add(s.roleAssignment(s.at(D-5, il1, 10), il1.azure, il1.homeIPs[0], audit.AppIDPortal, sub0, builtinRoles[0].id, mb3.azure.id, "User", r))
	il2 := s.scripted(hq)
	il2.activeUntil = s.day(10)
	t = s.at(D-7, il2, 14)
	s.add(s.azEvent(t, il2.azure, il2.homeIPs[0], audit.AppIDPortal, sub0, opStorageWrite, sub0.storage[3]),
		s.azEvent(t.Add(4*time.Minute), il2.azure, il2.homeIPs[0], audit.AppIDPortal, sub0, opVMStart, sub0.vms[1]))
	il3 := s.scripted(hq)
	il3.activeUntil = s.day(12)
	s.lookalikeDay(alert.InactiveAccountSession, il1.azure, D-5, "back after 25 days with a role assignment")
	s.lookalikeDay(alert.InactiveAccountSession, il2.azure, D-7, "back after weeks with ordinary writes only")
	s.lookalike(alert.InactiveAccountSession, il3.azure, il3.activeUntil, s.cfg.End, "dormant account whose mailbox still signs in")

	// ---- powershell-session (labelled by the rules) ----
	ps1 := s.scripted(hq)
	t = s.at(D-12, ps1, 14)
	s.add(s.signIn(t.Add(-2*time.Minute), ps1.azure, ps1.homeIPs[0], ps),
		s.roleAssignment(t, ps1.azure, ps1.homeIPs[0], ps, sub0, builtinRoles[1].id, ps1.azure.id, "User", r),
		s.azEvent(t.Add(2*time.Minute), ps1.azure, ps1.homeIPs[0], ps, sub0, opWebhookWrite, sub0.autos[0]+"/webhooks/wh-"+hexString(r, 6)))
	ps2 := s.scripted(hq)
	late := D - 20
	s.add(s.azEvent(s.at(late-47, ps2, 11), ps2.azure, ps2.homeIPs[0], ps, sub0, opTagsWrite, "/subscriptions/"+sub0.id+"/resourceGroups/rg-dev/providers/Microsoft.Resources/tags/default"),
		s.azEvent(s.at(late, ps2, 16), ps2.azure, ps2.homeIPs[0], ps, sub1, opRunbookWrite, sub1.autos[1]+"/runbooks/Invoke-Maintenance"))
	psl := s.scripted(hq)
	s.add(s.azEvent(s.at(D-36, psl, 11), psl.azure, psl.homeIPs[0], ps, sub0, opTagsWrite, "/subscriptions/"+sub0.id+"/resourceGroups/rg-dev/providers/Microsoft.Resources/tags/default"),
		s.azEvent(s.at(D-8, psl, 15), psl.azure, psl.homeIPs[0], ps, sub0, opVMExtWrite, sub0.vms[4]+"/extensions/CustomScript"))
	nu := s.scripted(hq)
	nu.activeFrom = s.day(D - 3)
	s.add(s.roleAssignment(s.at(D-1, nu, 15), nu.azure, nu.homeIPs[0], ps, sub0, builtinRoles[0].id, nu.azure.id, "User", r))
	s.lookalikeDay(alert.PowerShellSession, psl.azure, D-8, "persistence with PowerShell last used 28 days before")
	s.lookalikeDay(alert.PowerShellSession, nu.azure, D-1, "persistence with PowerShell by a 3-day-old account")

	// ---- infrequent-country (labelled by the rules) ----
	// Each abroad appearance replaces the victim's ordinary day, so that
	// it does not also read as impossible travel.
	abroad := func(p *person, di int, ip netip.Addr, hourUTC float64) {
		// The day before is off too, so that the trip is never too fast.
		p.scriptedOff[s.day(di)] = true
		p.scriptedOff[s.day(di-1)] = true
		t := s.day(di).Add(time.Duration(hourUTC * float64(time.Hour)))
		s.add(s.signIn(t, p.azure, ip, audit.AppIDPortal))
		out := s.azOp(t.Add(3*time.Minute), p.azure, ip, audit.AppIDPortal, sub0, r)
		for i := range out {
			out[i].fail = false
		}
		s.add(out...)
		s.add(s.azEvent(t.Add(9*time.Minute), p.azure, ip, audit.AppIDPortal, sub0, opVMStart, sub0.vms[5]))
	}
	x1 := s.unusedCountry()
	s.visited[x1] = true
	ic1 := s.scripted(hq)
	abroad(ic1, D-18, s.w.RandomIP(r, x1), 12)
	x2 := s.unusedCountry()
	s.visited[x2] = true
	ic2, ic3 := s.scripted(hq), s.scripted(hq)
	abroad(ic2, 20, s.w.RandomIP(r, x2), 12)
	abroad(ic3, 20+33, s.w.RandomIP(r, x2), 13)
	x3 := s.unusedCountry()
	s.visited[x3] = true
	ic4, ic5 := s.scripted(hq), s.scripted(hq)
	abroad(ic4, 40, s.w.RandomIP(r, x3), 12)
	abroad(ic5, 50, s.w.RandomIP(r, x3), 14)
	x4 := s.unusedCountry()
	s.visited[x4] = true
	icAWS := s.scripted(hq)
	s.addAWS(icAWS)
	for d := 2; d < D-9; d += 4 {
		s.add(s.awsSession(icAWS.aws, s.at(d, icAWS, 10), icAWS.homeIPs[0], 1, r, nil)...)
	}
	icAWS.scriptedOff[s.day(D-7)] = true
	s.add(s.awsSession(icAWS.aws, s.day(D-7).Add(13*time.Hour), s.w.RandomIP(r, x4), 3, r, nil)...)
	s.lookalikeDay(alert.InfrequentCountry, ic5.azure, 50, "a country a colleague used 10 days before")

	// ---- anonymous-ip (labelled by the rules) ----
	tor := s.torExitNear(hq)
	an1 := s.scripted(hq)
	abroad(an1, D-16, tor, 19)
	anAWS := s.scripted(hq)
	s.addAWS(anAWS)
	for d := 1; d < D-14; d += 4 {
		s.add(s.awsSession(anAWS.aws, s.at(d, anAWS, 10), anAWS.homeIPs[0], 1, r, nil)...)
	}
	anAWS.scriptedOff[s.day(D-13)] = true
	s.add(s.awsSession(anAWS.aws, s.day(D-13).Add(20*time.Hour), s.torExitNear(hq), 3, r, nil)...)
	an3 := s.scripted(hq)
	vpnIP := s.vpnServiceNear(hq)
	abroad(an3, D-6, vpnIP, 18)

	// ---- impossible-travel (labelled by the rules) ----
	// Victims live alone in their country so that their home network is
	// not one the organisation shares.
	far := func(from string) string {
		if c := s.commonCountryWithHosting(from, 4500); c != "" {
			return c
		}
		return s.commonCountryWithHosting(from, 1500)
	}
	hop := func(p *person, di int, farCC string, gap func(km float64) time.Duration, note string) {
		p.scriptedOff[s.day(di)] = true
		home := p.homeIPs[0]
		t := s.at(di, p, 9)
		s.add(s.signIn(t, p.azure, home, audit.AppIDPortal),
			s.azEvent(t.Add(5*time.Minute), p.azure, home, audit.AppIDPortal, sub0, opVMStart, sub0.vms[6]))
		remote, ok := s.w.RandomIPIn(r, farCC, world.KindHosting)
		if !ok {
			remote = s.w.RandomIP(r, farCC)
		}
		a, _ := s.w.Lookup(home)
		b, _ := s.w.Lookup(remote)
		km := world.DistanceKm(a.Lat, a.Lon, b.Lat, b.Lon) - float64(a.RadiusKm) - float64(b.RadiusKm)
		t2 := t.Add(5*time.Minute + gap(km))
		s.add(s.signIn(t2, p.azure, remote, audit.AppIDCLI),
			s.azEvent(t2.Add(2*time.Minute), p.azure, remote, audit.AppIDCLI, sub0, opStorageWrite, sub0.storage[4]))
		_ = note
	}
	lonely := func() *person {
		cc := s.unusedCountry()
		s.visited[cc] = true
		return s.scripted(cc)
	}
	it1 := lonely()
	hop(it1, D-21, far(it1.country), func(float64) time.Duration { return 90 * time.Minute }, "strong")
	it2 := lonely()
	hop(it2, D-27, far(it2.country), func(km float64) time.Duration { return time.Duration(km / 1050 * float64(time.Hour)) }, "edge: 1050 km/h")
	itl := lonely()
	hop(itl, D-19, far(itl.country), func(km float64) time.Duration { return time.Duration(km / 750 * float64(time.Hour)) }, "look-alike: 750 km/h")
	s.lookalikeDay(alert.ImpossibleTravel, itl.azure, D-19, "a fast flight: 750 km/h")
	itAWS := lonely()
	s.addAWS(itAWS)
	for d := 1; d < D-6; d += 3 {
		s.add(s.awsSession(itAWS.aws, s.at(d, itAWS, 10), itAWS.homeIPs[0], 1, r, nil)...)
	}
	itAWS.scriptedOff[s.day(D-5)] = true
	t = s.at(D-5, itAWS, 9)
	s.add(s.awsSession(itAWS.aws, t, itAWS.homeIPs[0], 2, r, nil)...)
	farAWS := far(itAWS.country)
	remote, ok := s.w.RandomIPIn(r, farAWS, world.KindHosting)
	if !ok {
		remote = s.w.RandomIP(r, farAWS)
	}
	s.add(s.awsSession(itAWS.aws, t.Add(70*time.Minute), remote, 2, r, nil)...)
	// Look-alikes: a hop into a bordering country on a country-level
	// mobile address; a new user's far hop inside the learning week.
	hqC, _ := s.w.Country(hq)
	if len(hqC.Neighbours) > 0 {
		bh := s.scripted(hq)
		nb := hqC.Neighbours[r.IntN(len(hqC.Neighbours))]
		if mob, ok := s.w.RandomIPIn(r, nb, world.KindMobile); ok {
			bh.scriptedOff[s.day(D-10)] = true
			t := s.at(D-10, bh, 9)
			s.add(s.signIn(t, bh.azure, bh.homeIPs[0], audit.AppIDPortal),
				s.azEvent(t.Add(4*time.Minute), bh.azure, bh.homeIPs[0], audit.AppIDPortal, sub0, opVMStart, sub0.vms[7]),
				s.signIn(t.Add(45*time.Minute), bh.azure, mob, audit.AppIDPortal),
				s.azEvent(t.Add(50*time.Minute), bh.azure, mob, audit.AppIDPortal, sub0, opVMRestart, sub0.vms[7]))
			s.lookalikeDay(alert.ImpossibleTravel, bh.azure, D-10, "a hop into a bordering country on a country-level mobile address")
		}
	}
	nt := s.scripted(hq)
	nt.activeFrom = s.day(D - 4)
	hop(nt, D-3, far(hq), func(float64) time.Duration { return 90 * time.Minute }, "learning week")
	s.lookalikeDay(alert.ImpossibleTravel, nt.azure, D-3, "a far hop inside the user's learning week")
}

func (s *sim) lookalike(typ string, p *principal, start, end time.Time, note string) {
	s.lookalikes = append(s.lookalikes, eval.Incident{Type: typ, Key: p.id, Start: start, End: end, Note: note})
}

func (s *sim) lookalikeDay(typ string, p *principal, di int, note string) {
	s.lookalike(typ, p, s.day(di), s.day(di+1), note)
}

// backgroundLookalikes lists the look-alikes the ordinary population
// carries.
func (s *sim) backgroundLookalikes() {
	for _, p := range s.people {
		if p.psRegular {
			s.lookalike(alert.PowerShellSession, p.azure, p.activeFrom, s.cfg.End, "PowerShell regular: weekly persistence chores with Azure PowerShell")
		}
		if p.roleAdmin {
			s.lookalike(alert.CustomRolePersistence, p.azure, p.activeFrom, s.cfg.End, "weekly role administrator: built-in role assignments, and a custom role updated but never granted")
		}
		if p.vpn > 0 {
			s.lookalike(alert.AnonymousIP, p.azure, p.activeFrom, s.cfg.End, "corporate VPN egress that a commercial feed lists as a VPN service, shared by many users")
		}
		for _, tr := range p.trips {
			s.lookalike(alert.ImpossibleTravel, p.azure, tr.depart, tr.back.Add(24*time.Hour), "trip to "+tr.city.Name+" ("+tr.country+") with flight days")
		}
	}
	for _, sp := range s.sps {
		switch {
		case strings.HasPrefix(sp.name, "backup"):
			s.lookalike(alert.MicroBurstToolkit, sp, s.cfg.Start, s.cfg.End, "managed identity listing one storage key every night")
		case strings.HasPrefix(sp.name, "ci-deploy"):
			s.lookalike(alert.MicroBurstToolkit, sp, s.cfg.Start, s.cfg.End, "pipeline fetching registry credentials on every run")
			s.lookalike(alert.ImpossibleTravel, sp, s.cfg.Start, s.cfg.End, "service principal acting from cloud regions on several continents")
		}
	}
}

// commonCountryWithHosting is commonCountry restricted to countries with
// hosting networks (where an attacker rents a server).
func (s *sim) commonCountryWithHosting(from string, minKm float64) string {
	fc, _ := s.w.Country(from)
	var cand []string
	for _, c := range s.w.Countries() {
		if c.Code == from || s.homeCnt[c.Code] < 2 || len(s.w.NetworksOf(c.Code, world.KindHosting)) == 0 {
			continue
		}
		if world.DistanceKm(fc.Lat, fc.Lon, c.Lat, c.Lon) >= minKm {
			cand = append(cand, c.Code)
		}
	}
	if len(cand) == 0 {
		return ""
	}
	return pick(s.r, cand)
}

// torExitNear returns a Tor exit in a country the organisation uses and
// close to cc when there is one.
func (s *sim) torExitNear(cc string) netip.Addr {
	from, _ := s.w.Country(cc)
	best, bestKm := netip.Addr{}, 1e9
	exits := s.w.TorExits()
	for _, i := range s.r.Perm(len(exits)) {
		pl, _ := s.w.Lookup(exits[i])
		if s.homeCnt[pl.Country] < 2 {
			continue
		}
		if km := world.DistanceKm(from.Lat, from.Lon, pl.Lat, pl.Lon); km < bestKm {
			best, bestKm = exits[i], km
		}
	}
	if !best.IsValid() {
		best = exits[s.r.IntN(len(exits))]
	}
	return best
}

func (s *sim) vpnServiceNear(cc string) netip.Addr {
	from, _ := s.w.Country(cc)
	nets := s.w.NetworksOf("", world.KindVPNService)
	best, bestKm := nets[0].Prefix, 1e9
	for _, n := range nets {
		if s.homeCnt[n.Country] < 2 {
			continue
		}
		if km := world.DistanceKm(from.Lat, from.Lon, n.Lat, n.Lon); km < bestKm {
			best, bestKm = n.Prefix, km
		}
	}
	a := best.Addr().As4()
	a[3] = byte(10 + s.r.IntN(200))
	a[2] += byte(s.r.IntN(4))
	return netip.AddrFrom4(a)
}
