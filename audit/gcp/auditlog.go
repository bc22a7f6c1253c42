// Package gcp reads Google Cloud Audit Logs (LogEntry records whose
// protoPayload is an AuditLog) into audit events. Framing (JSON lines, a
// JSON array, an {"entries":[…]} list) and gzip are audit/auditfile's
// work; Decode reads one entry.
package gcp

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/vigil-ids/vigil/audit"
	"github.com/vigil-ids/vigil/audit/auditfile/jsonfield"
)

// Errors of Decode.
var (
	ErrSyntax      = errors.New("invalid json record")
	ErrNotObject   = errors.New("record is not a json object")
	ErrNotAuditLog = errors.New("not a cloud audit log entry")
	ErrNoTime      = errors.New("missing or invalid timestamp")
)

type status struct {
	Code    jsonfield.Number `json:"code"`
	Message jsonfield.Text   `json:"message"`
}

type protoPayload struct {
	Type               jsonfield.Text `json:"@type"`
	ServiceName        jsonfield.Text `json:"serviceName"`
	MethodName         jsonfield.Text `json:"methodName"`
	ResourceName       jsonfield.Text `json:"resourceName"`
	Status             *status        `json:"status"`
	AuthenticationInfo struct {
		PrincipalEmail   jsonfield.Text `json:"principalEmail"`
		PrincipalSubject jsonfield.Text `json:"principalSubject"`
	} `json:"authenticationInfo"`
	RequestMetadata struct {
		CallerIP                jsonfield.Text `json:"callerIp"`
		CallerSuppliedUserAgent jsonfield.Text `json:"callerSuppliedUserAgent"`
	} `json:"requestMetadata"`
	Request  jsontext.Value `json:"request"`
	Response jsontext.Value `json:"response"`
}

type entry struct {
	LogName      jsonfield.Text `json:"logName"`
	InsertID     jsonfield.Text `json:"insertId"`
	Timestamp    jsonfield.Text `json:"timestamp"`
	ReceiveTime  jsonfield.Text `json:"receiveTimestamp"`
	ProtoPayload *protoPayload  `json:"protoPayload"`
	Resource     struct {
		Labels struct {
			ProjectID jsonfield.Text `json:"project_id"`
		} `json:"labels"`
	} `json:"resource"`
	Operation struct {
		ID jsonfield.Text `json:"id"`
	} `json:"operation"`
}

// Decode reads one LogEntry (a JSON object) into ev, replacing its
// content. Strings in the event never alias b.
//
// The principal is authenticationInfo.principalEmail; the project comes
// from logName ("projects/<id>/logs/…") or resource.labels.project_id.
// The status has several forms: absent, {} and {"code":0} are success, any
// other code is a failure and Status keeps its message (or code). callerIp
// may be "gce-internal-ip", which is not an address: SourceIP stays
// invalid and SourceIPText keeps it.
func Decode(b []byte, ev *audit.Event) error {
	*ev = audit.Event{}
	var e entry
	if err := jsonfield.Unmarshal(b, &e); err != nil {
		var se *jsontext.SyntacticError
		if errors.As(err, &se) {
			return fmt.Errorf("%w: %v", ErrSyntax, err)
		}
		return fmt.Errorf("%w: %v", ErrNotObject, err)
	}
	p := e.ProtoPayload
	if p == nil || (p.MethodName == "" && !strings.HasSuffix(p.Type.String(), "AuditLog")) {
		return ErrNotAuditLog
	}
	t, ok := jsonfield.Time(string(e.Timestamp))
	if !ok {
		if t, ok = jsonfield.Time(string(e.ReceiveTime)); !ok {
			return ErrNoTime
		}
	}
	ev.Time = t
	ev.Cloud = audit.CloudGCP
	ev.Kind = audit.KindGCPAudit
	project, logID := splitLogName(e.LogName.String())
	ev.Subscription = project
	if ev.Subscription == "" {
		ev.Subscription = e.Resource.Labels.ProjectID.String()
	}
	ev.Category = strings.TrimPrefix(logID, "cloudaudit.googleapis.com/")
	ev.Operation = p.MethodName.String()
	ev.OperationKey = strings.ToLower(ev.Operation)
	ev.Resource = p.ResourceName.String()
	ev.PrincipalID = p.AuthenticationInfo.PrincipalEmail.String()
	if ev.PrincipalID == "" {
		ev.PrincipalID = p.AuthenticationInfo.PrincipalSubject.String()
	}
	ev.PrincipalType = principalType(ev.PrincipalID)
	ev.UserAgent = p.RequestMetadata.CallerSuppliedUserAgent.String()
	ev.Tool = ToolForUserAgent(ev.UserAgent)
	if s := p.RequestMetadata.CallerIP.String(); s != "" {
		ev.SourceIPText = s
		ev.SourceIP, _ = jsonfield.IP(s)
	}
	ev.EventID = e.InsertID.String()
	ev.CorrelationID = e.Operation.ID.String()
	ev.RequestBody = jsonfield.Body(p.Request)
	ev.ResponseBody = jsonfield.Body(p.Response)

	ev.Result = audit.ResultSuccess
	if s := p.Status; s != nil && s.Code.Valid && s.Code.Value != 0 {
		ev.Result = audit.ResultFailure
		ev.Status = s.Message.String()
		if ev.Status == "" {
			ev.Status = strconv.FormatFloat(s.Code.Value, 'f', -1, 64)
		}
	}
	return nil
}

// splitLogName returns the project and the URL-decoded log id of a log
// name "projects/<project>/logs/<log id>". Logs of folders and
// organisations have no project.
func splitLogName(name string) (project, logID string) {
	rest, ok := strings.CutPrefix(name, "projects/")
	if !ok {
		if i := strings.Index(name, "/logs/"); i >= 0 {
			logID = name[i+len("/logs/"):]
		}
		return "", unescape(logID)
	}
	project, logID, _ = strings.Cut(rest, "/logs/")
	return project, unescape(logID)
}

func unescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// principalType classifies a principal e-mail: service accounts
// (*.gserviceaccount.com) and Kubernetes system identities ("system:…")
// are services, other e-mail addresses are users.
func principalType(email string) audit.PrincipalType {
	switch {
	case email == "":
		return audit.PrincipalUnknown
	case strings.HasSuffix(email, ".gserviceaccount.com"), strings.HasPrefix(email, "system:"):
		return audit.PrincipalService
	case strings.Contains(email, "@"):
		return audit.PrincipalUser
	}
	return audit.PrincipalUnknown
}

// ToolForUserAgent maps a GCP caller-supplied user agent to a client tool:
// the Cloud SDK (gcloud, gsutil, bq) is the CLI, Cloud Tools for
// PowerShell is PowerShell, a browser is the console, anything else is
// another program. Empty is unknown.
func ToolForUserAgent(ua string) audit.Tool {
	if ua == "" {
		return audit.ToolUnknown
	}
	l := strings.ToLower(ua)
	switch {
	case strings.Contains(l, "powershell"):
		return audit.ToolPowerShell
	case strings.Contains(l, "google-cloud-sdk") || strings.Contains(l, "gcloud") || strings.Contains(l, "gsutil"):
		return audit.ToolCLI
	case strings.HasPrefix(l, "mozilla/"):
		return audit.ToolPortal
	}
	return audit.ToolOther
}
