package output

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-ids/vigil/alert"
)

// Encode renders an alert in format (FormatJSON, FormatOCSF or, for the
// syslog payload, FormatCEF). version is Vigil's version, which OCSF and CEF
// carry.
func Encode(a *alert.Alert, format, version string) ([]byte, error) {
	switch format {
	case FormatJSON, "":
		return json.Marshal(a)
	case FormatOCSF:
		return json.Marshal(OCSF(a, version))
	case FormatCEF:
		return []byte(CEF(a, version)), nil
	}
	return nil, fmt.Errorf("%w: unknown format %q", ErrConfig, format)
}

// cefSeverity maps alert severities to CEF's 0-10 scale (low 3, medium 6,
// high 8, as ArcSight's Low/Medium/High bands).
func cefSeverity(s string) int {
	switch s {
	case alert.SeverityLow:
		return 3
	case alert.SeverityMedium:
		return 6
	case alert.SeverityHigh:
		return 8
	}
	return 5
}

// cefHeader escapes a CEF header field: backslash and pipe are escaped,
// and line breaks, which the header may not hold, become spaces.
var cefHeader = strings.NewReplacer(`\`, `\\`, `|`, `\|`, "\r\n", " ", "\n", " ", "\r", " ")

// cefValue escapes an extension value: backslash, equals sign and line
// breaks.
var cefValue = strings.NewReplacer(`\`, `\\`, `=`, `\=`, "\r\n", `\n`, "\n", `\n`, "\r", `\r`)

// CEF renders the alert as one CEF:0 line:
//
//	CEF:0|Vigil|Vigil|<version>|<type>|<title>|<severity 0-10>|<extension>
//
// The extension uses ArcSight's standard keys: rt (end), start and end in
// milliseconds, externalId, cat (layer), msg, src (first remote address),
// dst (the resource's address), suser (the principal), cs1 (subscription),
// cs2 (resource), cs3 (remote addresses) and cs4 (ATT&CK techniques), each
// csN with its csNLabel.
func CEF(a *alert.Alert, version string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CEF:0|Vigil|Vigil|%s|%s|%s|%d|", cefHeader.Replace(version), cefHeader.Replace(a.Type),
		cefHeader.Replace(a.Title), cefSeverity(a.Severity))
	var ext []string
	add := func(k, v string) {
		if v != "" {
			ext = append(ext, k+"="+cefValue.Replace(v))
		}
	}
	ms := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return strconv.FormatInt(t.UnixMilli(), 10)
	}
	add("rt", ms(a.End))
	add("start", ms(a.Start))
	add("end", ms(a.End))
	add("externalId", a.ID)
	add("cat", a.Layer)
	add("msg", a.Description)
	if len(a.RemoteIPs) > 0 {
		add("src", a.RemoteIPs[0])
	}
	add("dst", a.ResourceIP)
	add("suser", a.Principal)
	if a.Subscription != "" {
		add("cs1Label", "subscription")
		add("cs1", a.Subscription)
	}
	if a.Resource != "" {
		add("cs2Label", "resource")
		add("cs2", a.Resource)
	}
	if len(a.RemoteIPs) > 0 {
		add("cs3Label", "remoteAddresses")
		add("cs3", strings.Join(a.RemoteIPs, ","))
	}
	if len(a.Mitre) > 0 {
		add("cs4Label", "mitreTechniques")
		add("cs4", strings.Join(a.Mitre, ","))
	}
	b.WriteString(strings.Join(ext, " "))
	return b.String()
}

// OCSF Detection Finding (class 2004 in category 2, Findings), schema 1.1.
const (
	ocsfClass    = 2004
	ocsfCategory = 2
	ocsfVersion  = "1.1.0"
)

// OCSFFinding is the subset of the OCSF Detection Finding class that Vigil
// fills.
type OCSFFinding struct {
	ActivityID   int             `json:"activity_id"`
	ActivityName string          `json:"activity_name"`
	CategoryUID  int             `json:"category_uid"`
	CategoryName string          `json:"category_name"`
	ClassUID     int             `json:"class_uid"`
	ClassName    string          `json:"class_name"`
	TypeUID      int             `json:"type_uid"`
	TypeName     string          `json:"type_name"`
	Time         int64           `json:"time"`
	SeverityID   int             `json:"severity_id"`
	Severity     string          `json:"severity"`
	StatusID     int             `json:"status_id"`
	Status       string          `json:"status"`
	Message      string          `json:"message"`
	Metadata     ocsfMetadata    `json:"metadata"`
	FindingInfo  ocsfFindingInfo `json:"finding_info"`
	Resources    []ocsfResource  `json:"resources,omitempty"`
	Cloud        *ocsfCloud      `json:"cloud,omitempty"`
	Actor        *ocsfActor      `json:"actor,omitempty"`
	Remediation  *ocsfRemedy     `json:"remediation,omitempty"`
	Evidences    []ocsfEvidence  `json:"evidences,omitempty"`
	Unmapped     map[string]any  `json:"unmapped,omitempty"`
}

type ocsfMetadata struct {
	Version string      `json:"version"`
	Product ocsfProduct `json:"product"`
	UID     string      `json:"uid"`
}

type ocsfProduct struct {
	Name       string `json:"name"`
	VendorName string `json:"vendor_name"`
	Version    string `json:"version"`
}

type ocsfFindingInfo struct {
	UID           string       `json:"uid"`
	Title         string       `json:"title"`
	Desc          string       `json:"desc"`
	Types         []string     `json:"types"`
	FirstSeenTime int64        `json:"first_seen_time"`
	LastSeenTime  int64        `json:"last_seen_time"`
	Attacks       []ocsfAttack `json:"attacks,omitempty"`
}

type ocsfAttack struct {
	Technique ocsfTechnique `json:"technique"`
	Version   string        `json:"version"`
}

type ocsfTechnique struct {
	UID string `json:"uid"`
}

type ocsfResource struct {
	UID  string `json:"uid"`
	Type string `json:"type,omitempty"`
	IP   string `json:"ip,omitempty"`
}

type ocsfCloud struct {
	Provider string       `json:"provider"`
	Account  *ocsfAccount `json:"account,omitempty"`
}

type ocsfAccount struct {
	UID string `json:"uid"`
}

type ocsfActor struct {
	User ocsfUser `json:"user"`
}

type ocsfUser struct {
	UID  string `json:"uid"`
	Name string `json:"name,omitempty"`
}

type ocsfRemedy struct {
	Desc string `json:"desc"`
}

type ocsfEvidence struct {
	SrcEndpoint *ocsfEndpoint `json:"src_endpoint,omitempty"`
	DstEndpoint *ocsfEndpoint `json:"dst_endpoint,omitempty"`
}

type ocsfEndpoint struct {
	IP string `json:"ip"`
}

// OCSF maps an alert to an OCSF Detection Finding. Severities map to
// severity_id 2 (Low), 3 (Medium) and 4 (High); the finding is "New"
// (status_id 1) with activity "Create".
func OCSF(a *alert.Alert, version string) OCSFFinding {
	sevID, sev := 0, "Unknown"
	switch a.Severity {
	case alert.SeverityLow:
		sevID, sev = 2, "Low"
	case alert.SeverityMedium:
		sevID, sev = 3, "Medium"
	case alert.SeverityHigh:
		sevID, sev = 4, "High"
	}
	f := OCSFFinding{
		ActivityID: 1, ActivityName: "Create",
		CategoryUID: ocsfCategory, CategoryName: "Findings",
		ClassUID: ocsfClass, ClassName: "Detection Finding",
		TypeUID: ocsfClass*100 + 1, TypeName: "Detection Finding: Create",
		Time:       a.End.UnixMilli(),
		SeverityID: sevID, Severity: sev,
		StatusID: 1, Status: "New",
		Message: a.Title,
		Metadata: ocsfMetadata{Version: ocsfVersion, UID: a.ID,
			Product: ocsfProduct{Name: "Vigil", VendorName: "Vigil", Version: version}},
		FindingInfo: ocsfFindingInfo{
			UID: a.ID, Title: a.Title, Desc: a.Description, Types: []string{a.Type},
			FirstSeenTime: a.Start.UnixMilli(), LastSeenTime: a.End.UnixMilli(),
		},
	}
	for _, t := range a.Mitre {
		f.FindingInfo.Attacks = append(f.FindingInfo.Attacks, ocsfAttack{Technique: ocsfTechnique{UID: t}, Version: "v15"})
	}
	if a.Resource != "" {
		f.Resources = []ocsfResource{{UID: a.Resource, IP: a.ResourceIP, Type: a.Layer}}
	}
	if a.Subscription != "" {
		f.Cloud = &ocsfCloud{Provider: cloudProvider(a.Subscription), Account: &ocsfAccount{UID: a.Subscription}}
	}
	if a.Principal != "" {
		f.Actor = &ocsfActor{User: ocsfUser{UID: a.Principal, Name: a.PrincipalName}}
	}
	if a.Remediation != "" {
		f.Remediation = &ocsfRemedy{Desc: a.Remediation}
	}
	for _, ip := range slices.Sorted(slices.Values(a.RemoteIPs)) {
		e := ocsfEvidence{SrcEndpoint: &ocsfEndpoint{IP: ip}}
		if a.ResourceIP != "" {
			e.DstEndpoint = &ocsfEndpoint{IP: a.ResourceIP}
		}
		f.Evidences = append(f.Evidences, e)
	}
	if len(a.Evidence) > 0 {
		f.Unmapped = map[string]any{"evidence": a.Evidence}
	}
	return f
}

// cloudProvider tells the cloud from the shape of the account id: AWS
// account ids are 12 digits, Azure subscriptions are GUIDs, GCP projects
// are lower-case names.
func cloudProvider(sub string) string {
	digits := len(sub) == 12
	for _, c := range sub {
		if c < '0' || c > '9' {
			digits = false
		}
	}
	switch {
	case digits:
		return "AWS"
	case len(sub) == 36 && strings.Count(sub, "-") == 4:
		return "Azure"
	case sub != "":
		return "GCP"
	}
	return "Unknown"
}
