package azure

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/vigil-ids/vigil/audit"
	"github.com/vigil-ids/vigil/audit/auditfile/jsonfield"
)

// Errors of Decode. A record that fails is counted by its reader under the
// error's text.
var (
	ErrSyntax    = errors.New("invalid json record")
	ErrNoTime    = errors.New("missing or invalid time")
	ErrNotAzure  = errors.New("not an activity log or sign-in record")
	ErrNotObject = errors.New("record is not a json object")
)

// Stage is the stage of an Activity Log operation a record reports.
type Stage uint8

// Stages. StageNone is a record that is complete in itself: a sign-in, or
// an event such as a ResourceHealth "Updated" that has no stages.
const (
	StageNone Stage = iota
	StageStart
	StageAccept
	StageSuccess
	StageFailure
)

// final reports whether the stage carries the operation's outcome.
func (s Stage) final() bool { return s == StageSuccess || s == StageFailure }

// String names the stage.
func (s Stage) String() string {
	switch s {
	case StageStart:
		return "start"
	case StageAccept:
		return "accept"
	case StageSuccess:
		return "success"
	case StageFailure:
		return "failure"
	}
	return "none"
}

// Record is one decoded record: the event and the stage it reports.
type Record struct {
	Event audit.Event
	Stage Stage
}

// claims are the token claims an Activity Log record carries. Only the
// ones Vigil uses are decoded; the rest are skipped.
type claims struct {
	ObjectID  jsonfield.Text `json:"'http://schemas.microsoft.com/identity/claims/objectidentifier'"`
	OID       jsonfield.Text `json:"oid"`
	TenantID  jsonfield.Text `json:"'http://schemas.microsoft.com/identity/claims/tenantid'"`
	TID       jsonfield.Text `json:"tid"`
	AppID     jsonfield.Text `json:"appid"`
	AZP       jsonfield.Text `json:"azp"`
	AppIDAcr  jsonfield.Text `json:"appidacr"`
	Name      jsonfield.Text `json:"name"`
	UPN       jsonfield.Text `json:"'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn'"`
	ClaimName jsonfield.Text `json:"'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name'"`
	UPNShort  jsonfield.Text `json:"upn"`
	IDType    jsonfield.Text `json:"idtyp"`
	IPAddr    jsonfield.Text `json:"ipaddr"`
	MIResID   jsonfield.Text `json:"xms_mirid"`
}

// identity is the Activity Log identity member: an object holding the
// claims, or (on sign-in records that arrive on the activity path) a
// display name.
type identity struct {
	Name   string
	Claims claims
}

type identityObject struct {
	Claims jsonfield.Embedded[claims] `json:"claims"`
}

// UnmarshalJSONFrom implements json.UnmarshalerFrom.
func (id *identity) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	switch dec.PeekKind() {
	case '{':
		var o identityObject
		if err := json.UnmarshalDecode(dec, &o, jsonfield.Options); err != nil {
			return err
		}
		id.Claims = o.Claims.V
		return nil
	case '"':
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		id.Name = strings.TrimSpace(tok.String())
		return nil
	}
	return dec.SkipValue()
}

type geoCoordinates struct {
	Latitude  jsonfield.Number `json:"latitude"`
	Longitude jsonfield.Number `json:"longitude"`
}

type signInLocation struct {
	City            jsonfield.Text `json:"city"`
	CountryOrRegion jsonfield.Text `json:"countryOrRegion"`
	GeoCoordinates  geoCoordinates `json:"geoCoordinates"`
}

type signInStatus struct {
	ErrorCode     jsonfield.Number `json:"errorCode"`
	FailureReason jsonfield.Text   `json:"failureReason"`
}

// properties is the union of the members Vigil reads from the properties
// of both record kinds, so that a record is decoded in one pass before
// its kind is known.
type properties struct {
	// Activity Log.
	StatusCode   jsonfield.Text `json:"statusCode"`
	RequestBody  jsontext.Value `json:"requestbody"`
	ResponseBody jsontext.Value `json:"responseBody"`
	EventDataID  jsonfield.Text `json:"eventDataId"`

	// Sign-ins.
	ID                   jsonfield.Text `json:"id"`
	CreatedDateTime      jsonfield.Text `json:"createdDateTime"`
	UserID               jsonfield.Text `json:"userId"`
	UserPrincipalName    jsonfield.Text `json:"userPrincipalName"`
	UserDisplayName      jsonfield.Text `json:"userDisplayName"`
	AppID                jsonfield.Text `json:"appId"`
	AppDisplayName       jsonfield.Text `json:"appDisplayName"`
	IPAddress            jsonfield.Text `json:"ipAddress"`
	UserAgent            jsonfield.Text `json:"userAgent"`
	CorrelationID        jsonfield.Text `json:"correlationId"`
	ResourceDisplayName  jsonfield.Text `json:"resourceDisplayName"`
	ResourceID           jsonfield.Text `json:"resourceId"`
	ServicePrincipalID   jsonfield.Text `json:"servicePrincipalId"`
	ServicePrincipalName jsonfield.Text `json:"servicePrincipalName"`
	Status               signInStatus   `json:"status"`
	Location             signInLocation `json:"location"`
}

// record is the envelope shared by Activity Log and sign-in records in
// the storage-account and Event Hub schema; the Log Analytics column
// names (Caller, Claims, SubscriptionId, ActivityStatusValue) are read
// too, because member names match case-insensitively.
type record struct {
	Time            jsonfield.Text                 `json:"time"`
	TimeGenerated   jsonfield.Text                 `json:"TimeGenerated"`
	EventTimestamp  jsonfield.Text                 `json:"eventTimestamp"`
	ResourceID      jsonfield.Text                 `json:"resourceId"`
	OperationName   jsonfield.Text                 `json:"operationName"`
	Category        jsonfield.Text                 `json:"category"`
	ResultType      jsonfield.Text                 `json:"resultType"`
	ResultSignature jsonfield.Text                 `json:"resultSignature"`
	Status          jsonfield.Text                 `json:"status"`
	ActivityStatus  jsonfield.Text                 `json:"ActivityStatusValue"`
	CallerIPAddress jsonfield.Text                 `json:"callerIpAddress"`
	CorrelationID   jsonfield.Text                 `json:"correlationId"`
	Caller          jsonfield.Text                 `json:"caller"`
	TenantID        jsonfield.Text                 `json:"tenantId"`
	SubscriptionID  jsonfield.Text                 `json:"subscriptionId"`
	Identity        identity                       `json:"identity"`
	Claims          jsonfield.Embedded[claims]     `json:"claims"`
	Properties      jsonfield.Embedded[properties] `json:"properties"`
}

// Decode reads one Activity Log or sign-in record (a JSON object) into
// rec, replacing its content. The record's category (or an operation
// named "Sign-in activity") says which kind it is. Strings in the event
// are fresh copies, never aliases of b.
func Decode(b []byte, rec *Record) error {
	*rec = Record{}
	var r record
	if len(b) == 0 || b[0] != '{' {
		return ErrNotObject
	}
	if err := walk(b, &r); err != nil {
		return fmt.Errorf("%w: %v", ErrSyntax, err)
	}
	if r.OperationName == "" && r.Category == "" && r.ResourceID == "" {
		return ErrNotAzure
	}
	if isSignIn(&r) {
		// Sign-ins carry many more properties; they take the struct path.
		return decodeReference(b, rec)
	}
	return decodeActivity(&r, rec)
}

// decodeReference is Decode by the reflection-based decoder and the
// struct tags of record. Decode uses it for sign-ins; the fuzz test
// checks that walk agrees with it on Activity Log records.
func decodeReference(b []byte, rec *Record) error {
	*rec = Record{}
	var r record
	if err := jsonfield.Unmarshal(b, &r); err != nil {
		var se *jsontext.SyntacticError
		if errors.As(err, &se) {
			return fmt.Errorf("%w: %v", ErrSyntax, err)
		}
		return fmt.Errorf("%w: %v", ErrNotObject, err)
	}
	if r.OperationName == "" && r.Category == "" && r.ResourceID == "" {
		return ErrNotAzure
	}
	if isSignIn(&r) {
		return decodeSignIn(&r, rec)
	}
	return decodeActivity(&r, rec)
}

// isSignIn reports whether the record is an Entra ID sign-in: its
// category is one of the *SignInLogs, or its operation is the sign-in
// activity (categories differ between export paths).
func isSignIn(r *record) bool {
	c := r.Category.String()
	if len(c) >= len("signinlogs") && strings.EqualFold(c[len(c)-len("signinlogs"):], "signinlogs") {
		return true
	}
	return strings.EqualFold(r.OperationName.String(), "Sign-in activity")
}

func eventTime(r *record, ev *audit.Event) error {
	for _, s := range [...]jsonfield.Text{r.Time, r.TimeGenerated, r.EventTimestamp, r.Properties.V.CreatedDateTime} {
		if t, ok := jsonfield.Time(string(s)); ok {
			ev.Time = t
			return nil
		}
	}
	return ErrNoTime
}

func setIP(ev *audit.Event, texts ...jsonfield.Text) {
	for _, t := range texts {
		s := t.String()
		if s == "" {
			continue
		}
		ev.SourceIPText = s
		if a, ok := jsonfield.IP(s); ok {
			ev.SourceIP = a
		}
		return
	}
}

func decodeActivity(r *record, rec *Record) error {
	ev := &rec.Event
	if err := eventTime(r, ev); err != nil {
		return err
	}
	ev.Cloud = audit.CloudAzure
	ev.Kind = audit.KindActivity
	ev.Category = r.Category.String()
	ev.Operation = r.OperationName.String()
	ev.OperationKey = strings.ToLower(ev.Operation)
	ev.Resource = r.ResourceID.String()
	ev.Subscription = subscriptionOf(ev.Resource)
	if ev.Subscription == "" {
		ev.Subscription = r.SubscriptionID.Lower()
	}
	ev.CorrelationID = r.CorrelationID.Lower()
	p := &r.Properties.V
	ev.EventID = p.EventDataID.Lower()

	c := &r.Identity.Claims
	if *c == (claims{}) {
		c = &r.Claims.V
	}
	ev.PrincipalID = firstLower(c.ObjectID, c.OID)
	ev.Tenant = firstLower(c.TenantID, c.TID, r.TenantID)
	ev.AppID = firstLower(c.AppID, c.AZP)
	ev.Tool = audit.ToolForAppID(ev.AppID)
	ev.PrincipalName = first(c.UPN, c.UPNShort, c.ClaimName, c.Name)
	if ev.PrincipalName == "" {
		ev.PrincipalName = r.Identity.Name
	}
	if ev.PrincipalName == "" && r.Caller.String() != ev.PrincipalID {
		ev.PrincipalName = r.Caller.String()
	}
	if ev.PrincipalID == "" {
		ev.PrincipalID = r.Caller.Lower()
	}
	ev.PrincipalType = principalType(c)
	setIP(ev, r.CallerIPAddress, c.IPAddr)

	status := first(r.ResultType, r.ActivityStatus, r.Status)
	rec.Stage = stageOf(status)
	switch rec.Stage {
	case StageSuccess:
		ev.Result = audit.ResultSuccess
	case StageFailure:
		ev.Result = audit.ResultFailure
	case StageStart, StageAccept:
		ev.Result = audit.ResultStarted
	}
	ev.Status = first(p.StatusCode, r.ResultSignature)
	if ev.Status == "" {
		ev.Status = status
	}
	ev.RequestBody = jsonfield.Body(p.RequestBody)
	ev.ResponseBody = jsonfield.Body(p.ResponseBody)
	return nil
}

// stageOf maps resultType (storage and Event Hub schema: Start, Accept,
// Success, Failure) or the status value (REST and Log Analytics schema:
// Started, Accepted, Succeeded, Failed) to a stage. Other values
// (ResourceHealth's Active, Resolved, Updated, In Progress) are not
// stages of an operation.
func stageOf(s string) Stage {
	switch strings.ToLower(s) {
	case "start", "started":
		return StageStart
	case "accept", "accepted":
		return StageAccept
	case "success", "succeeded":
		return StageSuccess
	case "failure", "failed":
		return StageFailure
	}
	return StageNone
}

// principalType classifies the caller from its token claims: idtyp says
// app or user when present; a managed identity carries xms_mirid; without
// idtyp, a user token has a name or UPN and an application token
// (appidacr 1 or 2) has none.
func principalType(c *claims) audit.PrincipalType {
	if c.MIResID != "" {
		return audit.PrincipalManagedID
	}
	switch c.IDType.Lower() {
	case "app":
		return audit.PrincipalService
	case "user":
		return audit.PrincipalUser
	}
	if c.UPN != "" || c.UPNShort != "" || c.ClaimName != "" || c.Name != "" {
		return audit.PrincipalUser
	}
	if a := c.AppIDAcr.String(); (a == "1" || a == "2") && (c.ObjectID != "" || c.OID != "") {
		return audit.PrincipalService
	}
	return audit.PrincipalUnknown
}

// subscriptionOf returns the lower-case subscription id of a resource id
// ("/subscriptions/<id>/…", any case), or "" when it names none.
func subscriptionOf(resource string) string {
	const prefix = "/subscriptions/"
	if len(resource) <= len(prefix) || !strings.EqualFold(resource[:len(prefix)], prefix) {
		return ""
	}
	rest := resource[len(prefix):]
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		rest = rest[:i]
	}
	return strings.ToLower(strings.TrimSpace(rest))
}

func decodeSignIn(r *record, rec *Record) error {
	ev := &rec.Event
	if err := eventTime(r, ev); err != nil {
		return err
	}
	p := &r.Properties.V
	ev.Cloud = audit.CloudAzure
	ev.Kind = audit.KindSignIn
	ev.Category = r.Category.String()
	ev.Operation = r.OperationName.String()
	if ev.Operation == "" {
		ev.Operation = "Sign-in activity"
	}
	ev.OperationKey = strings.ToLower(ev.Operation)
	ev.Tenant = r.TenantID.Lower()
	ev.Resource = first(p.ResourceDisplayName, p.ResourceID)
	ev.CorrelationID = firstLower(p.CorrelationID, r.CorrelationID)
	ev.EventID = p.ID.Lower()
	ev.AppID = p.AppID.Lower()
	ev.Tool = audit.ToolForAppID(ev.AppID)
	ev.UserAgent = p.UserAgent.String()

	cat := strings.ToLower(ev.Category)
	switch {
	case strings.Contains(cat, "managedidentity"):
		ev.PrincipalType = audit.PrincipalManagedID
	case strings.Contains(cat, "serviceprincipal"):
		ev.PrincipalType = audit.PrincipalService
	default:
		ev.PrincipalType = audit.PrincipalUser
	}
	if ev.PrincipalType == audit.PrincipalUser {
		ev.PrincipalID = p.UserID.Lower()
		ev.PrincipalName = first(p.UserPrincipalName, p.UserDisplayName)
		if ev.PrincipalName == "" {
			ev.PrincipalName = r.Identity.Name
		}
	}
	if ev.PrincipalID == "" {
		// Service-principal and managed-identity sign-ins have no user:
		// the principal is the service principal, or failing that the
		// application.
		ev.PrincipalID = firstLower(p.ServicePrincipalID, p.UserID, p.AppID)
		if ev.PrincipalName == "" {
			ev.PrincipalName = first(p.ServicePrincipalName, p.AppDisplayName)
		}
	}
	setIP(ev, p.IPAddress, r.CallerIPAddress)

	// errorCode 0 is success; without a status, resultType holds the code.
	code, known := p.Status.ErrorCode, p.Status.ErrorCode.Valid
	if !known {
		if f, err := strconv.ParseFloat(r.ResultType.String(), 64); err == nil {
			code, known = jsonfield.Number{Value: f, Valid: true}, true
		}
	}
	if known {
		ev.Status = strconv.FormatFloat(code.Value, 'f', -1, 64)
		ev.Result = audit.ResultFailure
		if code.Value == 0 {
			ev.Result = audit.ResultSuccess
		}
	} else {
		ev.Status = r.ResultType.String()
	}

	loc := &p.Location
	ev.Location.Country = strings.ToUpper(loc.CountryOrRegion.String())
	if ev.Location.Country != "" {
		ev.Location.City = loc.City.String()
		lat, lon := loc.GeoCoordinates.Latitude, loc.GeoCoordinates.Longitude
		if lat.Valid && lon.Valid && (lat.Value != 0 || lon.Value != 0) {
			ev.Location.Latitude, ev.Location.Longitude = lat.Value, lon.Value
		} else {
			ev.Location.CountryOnly = true
		}
	}
	return nil
}

func first(ts ...jsonfield.Text) string {
	for _, t := range ts {
		if s := t.String(); s != "" {
			return s
		}
	}
	return ""
}

func firstLower(ts ...jsonfield.Text) string {
	for _, t := range ts {
		if s := t.Lower(); s != "" {
			return s
		}
	}
	return ""
}
