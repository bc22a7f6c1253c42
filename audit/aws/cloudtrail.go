// Package aws reads AWS CloudTrail records into audit events. Framing
// (the {"Records":[…]} object CloudTrail delivers to S3, JSON lines, a
// JSON array) and gzip are audit/auditfile's work; Decode reads one
// record.
package aws

import (
	"errors"
	"fmt"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/vigil-ids/vigil/audit"
	"github.com/vigil-ids/vigil/audit/auditfile/jsonfield"
)

// Errors of Decode.
var (
	ErrSyntax        = errors.New("invalid json record")
	ErrNotObject     = errors.New("record is not a json object")
	ErrNotCloudTrail = errors.New("not a cloudtrail record")
	ErrNoTime        = errors.New("missing or invalid eventTime")
)

type sessionIssuer struct {
	Type     jsonfield.Text `json:"type"`
	Arn      jsonfield.Text `json:"arn"`
	UserName jsonfield.Text `json:"userName"`
}

type sessionContext struct {
	SessionIssuer sessionIssuer `json:"sessionIssuer"`
}

type userIdentity struct {
	Type           jsonfield.Text `json:"type"`
	PrincipalID    jsonfield.Text `json:"principalId"`
	Arn            jsonfield.Text `json:"arn"`
	AccountID      jsonfield.Text `json:"accountId"`
	UserName       jsonfield.Text `json:"userName"`
	InvokedBy      jsonfield.Text `json:"invokedBy"`
	SessionContext sessionContext `json:"sessionContext"`
}

type record struct {
	EventVersion       jsonfield.Text `json:"eventVersion"`
	UserIdentity       userIdentity   `json:"userIdentity"`
	EventTime          jsonfield.Text `json:"eventTime"`
	EventSource        jsonfield.Text `json:"eventSource"`
	EventName          jsonfield.Text `json:"eventName"`
	AWSRegion          jsonfield.Text `json:"awsRegion"`
	SourceIPAddress    jsonfield.Text `json:"sourceIPAddress"`
	UserAgent          jsonfield.Text `json:"userAgent"`
	ErrorCode          jsonfield.Text `json:"errorCode"`
	ErrorMessage       jsonfield.Text `json:"errorMessage"`
	RequestParameters  jsontext.Value `json:"requestParameters"`
	ResponseElements   jsontext.Value `json:"responseElements"`
	RequestID          jsonfield.Text `json:"requestID"`
	EventID            jsonfield.Text `json:"eventID"`
	EventCategory      jsonfield.Text `json:"eventCategory"`
	RecipientAccountID jsonfield.Text `json:"recipientAccountId"`
	Resources          []resource     `json:"resources"`
}

type resource struct {
	ARN jsonfield.Text `json:"ARN"`
}

type consoleLogin struct {
	ConsoleLogin jsonfield.Text `json:"ConsoleLogin"`
}

// Decode reads one CloudTrail record (a JSON object) into ev, replacing
// its content. Strings in the event never alias b.
//
// The principal is userIdentity.arn (for an AWS service, invokedBy; for
// a cross-account caller without an ARN, its account). The account is
// recipientAccountId, or the caller's account. A record with an errorCode
// or errorMessage failed; ConsoleLogin failures carry only errorMessage
// and responseElements.ConsoleLogin = "Failure". sourceIPAddress is read
// leniently (leading zeros in octets are decimal; see jsonfield.IP), and
// when it is a service name ("ec2.amazonaws.com") SourceIP stays invalid
// and SourceIPText keeps the name.
func Decode(b []byte, ev *audit.Event) error {
	*ev = audit.Event{}
	var r record
	if err := jsonfield.Unmarshal(b, &r); err != nil {
		var se *jsontext.SyntacticError
		if errors.As(err, &se) {
			return fmt.Errorf("%w: %v", ErrSyntax, err)
		}
		return fmt.Errorf("%w: %v", ErrNotObject, err)
	}
	if r.EventName == "" || (r.EventSource == "" && r.EventVersion == "") {
		return ErrNotCloudTrail
	}
	t, ok := jsonfield.Time(string(r.EventTime))
	if !ok {
		return ErrNoTime
	}
	ev.Time = t
	ev.Cloud = audit.CloudAWS
	ev.Kind = audit.KindCloudTrail
	ev.Category = r.EventCategory.String()
	ev.Operation = r.EventName.String()
	ev.OperationKey = strings.ToLower(ev.Operation)
	id := &r.UserIdentity
	ev.Subscription = r.RecipientAccountID.String()
	if ev.Subscription == "" {
		ev.Subscription = id.AccountID.String()
	}
	ev.PrincipalID = id.Arn.String()
	switch {
	case ev.PrincipalID != "":
	case id.InvokedBy != "":
		ev.PrincipalID = id.InvokedBy.String()
	case id.PrincipalID != "":
		ev.PrincipalID = id.PrincipalID.String()
	default:
		ev.PrincipalID = id.AccountID.String()
	}
	ev.PrincipalName = id.UserName.String()
	if ev.PrincipalName == "" {
		ev.PrincipalName = nameOfARN(id.Arn.String())
	}
	ev.UserAgent = r.UserAgent.String()
	ev.Tool = ToolForUserAgent(ev.UserAgent)
	ev.PrincipalType = principalType(id)
	if ev.PrincipalType == audit.PrincipalService && id.Type.String() == "AssumedRole" &&
		(ev.Tool == audit.ToolPortal || strings.EqualFold(ev.Operation, "ConsoleLogin")) {
		// Workloads do not use the console: a person holds this role.
		ev.PrincipalType = audit.PrincipalUser
	}
	if s := r.SourceIPAddress.String(); s != "" {
		ev.SourceIPText = s
		ev.SourceIP, _ = jsonfield.IP(s)
	}
	ev.EventID = r.EventID.String()
	ev.CorrelationID = r.RequestID.String()
	// The target is the first resource CloudTrail names, else the service.
	ev.Resource = r.EventSource.String()
	if len(r.Resources) > 0 && r.Resources[0].ARN != "" {
		ev.Resource = r.Resources[0].ARN.String()
	}
	ev.RequestBody = jsonfield.Body(r.RequestParameters)
	ev.ResponseBody = jsonfield.Body(r.ResponseElements)

	ev.Result = audit.ResultSuccess
	switch {
	case r.ErrorCode != "":
		ev.Result, ev.Status = audit.ResultFailure, r.ErrorCode.String()
	case r.ErrorMessage != "":
		ev.Result, ev.Status = audit.ResultFailure, r.ErrorMessage.String()
	}
	if strings.EqualFold(ev.Operation, "ConsoleLogin") && len(ev.ResponseBody) > 0 {
		var cl consoleLogin
		if jsonfield.Unmarshal(ev.ResponseBody, &cl) == nil && cl.ConsoleLogin != "" {
			if strings.EqualFold(cl.ConsoleLogin.String(), "Failure") {
				ev.Result = audit.ResultFailure
			}
			if ev.Status == "" {
				ev.Status = cl.ConsoleLogin.String()
			}
		}
	}
	return nil
}

// principalType classifies userIdentity.type. An assumed role counts as a
// user when it is an IAM Identity Center (SSO) permission set or its
// session is named after a person (an e-mail address); otherwise it is a
// workload's role.
func principalType(id *userIdentity) audit.PrincipalType {
	switch strings.ToLower(id.Type.String()) {
	case "iamuser", "root", "federateduser", "samluser", "webidentityuser", "identitycenteruser", "directory":
		return audit.PrincipalUser
	case "awsservice":
		return audit.PrincipalService
	case "assumedrole":
		if strings.HasPrefix(id.SessionContext.SessionIssuer.UserName.String(), "AWSReservedSSO_") ||
			strings.Contains(id.SessionContext.SessionIssuer.Arn.String(), "/aws-reserved/sso.amazonaws.com/") {
			return audit.PrincipalUser
		}
		if arn := id.Arn.String(); strings.Contains(arn[strings.LastIndexByte(arn, '/')+1:], "@") {
			return audit.PrincipalUser
		}
		return audit.PrincipalService
	}
	if id.InvokedBy != "" {
		return audit.PrincipalService
	}
	return audit.PrincipalUnknown
}

// nameOfARN returns the resource part of an IAM or STS ARN without its
// type: "JohnDoe" for …:user/JohnDoe, "Role/Session" for
// …:assumed-role/Role/Session, "root" for …:root.
func nameOfARN(arn string) string {
	i := strings.LastIndexByte(arn, ':')
	if i < 0 {
		return ""
	}
	res := arn[i+1:]
	if j := strings.IndexByte(res, '/'); j >= 0 {
		return res[j+1:]
	}
	return res
}

// ToolForUserAgent maps an AWS user agent to a client tool: the AWS CLI,
// AWS Tools for PowerShell, the console (the console's own agents and
// browsers), or another SDK or program. Empty is unknown.
func ToolForUserAgent(ua string) audit.Tool {
	if ua == "" {
		return audit.ToolUnknown
	}
	l := strings.ToLower(ua)
	switch {
	case strings.Contains(l, "awspowershell") || strings.Contains(l, "aws.tools") || strings.Contains(l, "powershell"):
		return audit.ToolPowerShell
	case strings.HasPrefix(l, "aws-cli") || strings.Contains(l, " aws-cli/"):
		return audit.ToolCLI
	case strings.Contains(l, "console.amazonaws.com") || strings.Contains(l, "console.aws.amazon.com") ||
		strings.HasPrefix(l, "signin.amazonaws.com") || strings.HasPrefix(l, "mozilla/"):
		return audit.ToolPortal
	}
	return audit.ToolOther
}
