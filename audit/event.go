// Package audit defines the normalised control-plane audit event that every
// audit reader (Azure Activity Log, Entra ID sign-ins, AWS CloudTrail, GCP
// Cloud Audit Logs) produces, and that the management detections consume.
package audit

import (
	"encoding/json"
	"net/netip"
	"time"
)

// Cloud names the provider an event came from.
type Cloud string

// Clouds.
const (
	CloudAzure Cloud = "azure"
	CloudAWS   Cloud = "aws"
	CloudGCP   Cloud = "gcp"
)

// Kind says which log an event came from. Sign-ins feed the identity and
// location detections but are not control-plane activity.
type Kind string

// Kinds of log.
const (
	KindActivity   Kind = "activity"   // Azure Activity Log
	KindSignIn     Kind = "signin"     // Entra ID sign-in logs
	KindCloudTrail Kind = "cloudtrail" // AWS CloudTrail
	KindGCPAudit   Kind = "gcp-audit"  // GCP Cloud Audit Logs
)

// ControlPlane reports whether events of this kind are control-plane
// activity (as opposed to sign-ins).
func (k Kind) ControlPlane() bool { return k != KindSignIn }

// PrincipalType classifies who acted.
type PrincipalType string

// Principal types.
const (
	PrincipalUnknown   PrincipalType = ""
	PrincipalUser      PrincipalType = "user"
	PrincipalService   PrincipalType = "service" // service principal, service account, role session of a service
	PrincipalManagedID PrincipalType = "managed-identity"
)

// Tool is the client a principal used.
type Tool string

// Client tools. Azure maps claims.appid; AWS and GCP map the user agent.
const (
	ToolUnknown    Tool = ""
	ToolPortal     Tool = "portal"
	ToolCLI        Tool = "cli"
	ToolPowerShell Tool = "powershell"
	ToolOther      Tool = "other"
)

// Well-known Azure first-party application ids (claims.appid).
const (
	AppIDPortal     = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"
	AppIDCLI        = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
	AppIDPowerShell = "1950a258-227b-4e31-a9cf-717495945fc2"
)

// ToolForAppID maps an Azure application id to a client tool.
func ToolForAppID(appID string) Tool {
	switch appID {
	case "":
		return ToolUnknown
	case AppIDPortal:
		return ToolPortal
	case AppIDCLI:
		return ToolCLI
	case AppIDPowerShell:
		return ToolPowerShell
	}
	return ToolOther
}

// Result of the operation.
type Result string

// Results.
const (
	ResultUnknown Result = ""
	ResultSuccess Result = "success"
	ResultFailure Result = "failure"
	// ResultStarted covers Azure's Start and Accept stages that were not
	// followed, in the same input, by a Success or Failure record.
	ResultStarted Result = "started"
)

// Location is where the log itself says the caller was (Entra ID sign-ins
// carry one); GeoIP enrichment fills the same shape.
type Location struct {
	Country   string  `json:"country,omitempty"` // ISO 3166-1 alpha-2, upper case
	City      string  `json:"city,omitempty"`
	Latitude  float64 `json:"lat,omitempty"`
	Longitude float64 `json:"lon,omitempty"`
	// RadiusKm is the accuracy radius; 0 when unknown.
	RadiusKm float64 `json:"radius_km,omitempty"`
	// CountryOnly is true when only the country is known.
	CountryOnly bool `json:"country_only,omitempty"`
}

// Known reports whether any location is set.
func (l Location) Known() bool { return l.Country != "" }

// Event is one normalised audit record.
type Event struct {
	Time  time.Time `json:"time"`
	Cloud Cloud     `json:"cloud"`
	Kind  Kind      `json:"kind"`

	Tenant string `json:"tenant,omitempty"`
	// Subscription is the Azure subscription, AWS account or GCP project.
	Subscription string `json:"subscription,omitempty"`

	PrincipalID   string        `json:"principal"`
	PrincipalName string        `json:"principal_name,omitempty"`
	PrincipalType PrincipalType `json:"principal_type,omitempty"`

	Tool      Tool   `json:"tool,omitempty"`
	AppID     string `json:"app_id,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`

	// SourceIP is the caller's address; invalid when absent or not an IP
	// (GCP's "gce-internal-ip"). SourceIPText keeps the raw text.
	SourceIP     netip.Addr `json:"source_ip,omitzero"`
	SourceIPText string     `json:"source_ip_text,omitempty"`

	// Operation is the operation name as logged (Azure operationName,
	// CloudTrail eventName, GCP methodName). OperationKey is its lower-case
	// form for matching.
	Operation    string `json:"operation"`
	OperationKey string `json:"-"`
	Resource     string `json:"resource,omitempty"`
	// Category is the log's own class of the record, when it has one:
	// Azure's category (Administrative, ResourceHealth, SignInLogs,
	// NonInteractiveUserSignInLogs…), CloudTrail's eventCategory
	// (Management, Data), GCP's audit log (activity, data_access…).
	Category string `json:"category,omitempty"`
	Result   Result `json:"result,omitempty"`
	// Status is the raw status text (Azure status.value, CloudTrail
	// errorCode, GCP status message).
	Status        string `json:"status,omitempty"`
	CorrelationID string `json:"correlation_id,omitempty"`
	EventID       string `json:"event_id,omitempty"`

	// Location is what the log itself says (sign-ins); enrichment may
	// replace or complete it.
	Location Location `json:"location,omitzero"`

	// RequestBody and ResponseBody are the raw JSON bodies when the log
	// carries them (Azure requestbody/responseBody, CloudTrail
	// requestParameters/responseElements, GCP request/response).
	RequestBody  json.RawMessage `json:"request_body,omitempty"`
	ResponseBody json.RawMessage `json:"response_body,omitempty"`
}
