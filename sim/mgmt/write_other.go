package mgmt

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"time"

	"github.com/vigil-ids/vigil/sim/world"
)

// --- Entra ID sign-in logs ---

type geoCoordinates struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

type signinLocation struct {
	City            string         `json:"city"`
	State           string         `json:"state"`
	CountryOrRegion string         `json:"countryOrRegion"`
	GeoCoordinates  geoCoordinates `json:"geoCoordinates"`
}

type signinStatus struct {
	ErrorCode         int    `json:"errorCode"`
	FailureReason     string `json:"failureReason,omitempty"`
	AdditionalDetails string `json:"additionalDetails,omitempty"`
}

type deviceDetail struct {
	Browser         string `json:"browser"`
	DeviceID        string `json:"deviceId"`
	OperatingSystem string `json:"operatingSystem"`
}

type signinProps struct {
	ID                        string         `json:"id"`
	CreatedDateTime           string         `json:"createdDateTime"`
	UserDisplayName           string         `json:"userDisplayName,omitempty"`
	UserPrincipalName         string         `json:"userPrincipalName,omitempty"`
	UserID                    any            `json:"userId"`
	AppID                     string         `json:"appId"`
	AppDisplayName            string         `json:"appDisplayName"`
	IPAddress                 string         `json:"ipAddress"`
	ClientAppUsed             string         `json:"clientAppUsed,omitempty"`
	CorrelationID             string         `json:"correlationId"`
	ConditionalAccessStatus   string         `json:"conditionalAccessStatus"`
	IsInteractive             bool           `json:"isInteractive"`
	TokenIssuerType           string         `json:"tokenIssuerType"`
	ProcessingTimeInMillis    int            `json:"processingTimeInMilliseconds"`
	RiskDetail                string         `json:"riskDetail"`
	RiskLevelAggregated       string         `json:"riskLevelAggregated"`
	RiskLevelDuringSignIn     string         `json:"riskLevelDuringSignIn"`
	RiskState                 string         `json:"riskState"`
	ResourceDisplayName       string         `json:"resourceDisplayName"`
	ResourceID                string         `json:"resourceId"`
	ServicePrincipalID        string         `json:"servicePrincipalId"`
	ServicePrincipalName      string         `json:"servicePrincipalName,omitempty"`
	Status                    signinStatus   `json:"status"`
	Location                  signinLocation `json:"location"`
	DeviceDetail              *deviceDetail  `json:"deviceDetail,omitempty"`
	UserType                  string         `json:"userType,omitempty"`
	AuthenticationRequirement string         `json:"authenticationRequirement,omitempty"`
	OriginalRequestID         string         `json:"originalRequestId"`
}

type signinRecord struct {
	Time              string      `json:"time"`
	ResourceID        string      `json:"resourceId"`
	OperationName     string      `json:"operationName"`
	OperationVersion  string      `json:"operationVersion"`
	Category          string      `json:"category"`
	TenantID          string      `json:"tenantId"`
	ResultType        string      `json:"resultType"`
	ResultSignature   string      `json:"resultSignature"`
	ResultDescription string      `json:"resultDescription,omitempty"`
	DurationMs        int         `json:"durationMs"`
	CallerIPAddress   string      `json:"callerIpAddress"`
	CorrelationID     string      `json:"correlationId"`
	Identity          string      `json:"identity,omitempty"`
	Level             int         `json:"Level"`
	Location          string      `json:"location"`
	Properties        signinProps `json:"properties"`
}

var signinApps = map[string]string{
	"c44b4083-3bb0-49c1-b47d-974e53cbdf3c": "Azure Portal",
	"04b07795-8ddb-461a-bbee-02f9e1bf7b46": "Microsoft Azure CLI",
	"1950a258-227b-4e31-a9cf-717495945fc2": "Microsoft Azure PowerShell",
}

func (s *sinks) signin(e *event, tenant string, w *world.World, r *rand.Rand) error {
	c := e.p
	corr := guid(r)
	app := signinApps[e.appID]
	if app == "" {
		app = e.appName
	}
	rec := signinRecord{
		Time: e.t.Format(azTime), ResourceID: "/tenants/" + tenant + "/providers/Microsoft.aadiam",
		OperationName: "Sign-in activity", OperationVersion: "1.0", TenantID: tenant, ResultType: "0", ResultSignature: "None",
		CallerIPAddress: e.ip.String(), CorrelationID: corr, Level: 4,
		Properties: signinProps{
			ID: guid(r), CreatedDateTime: e.t.Format(azTime), AppID: e.appID, AppDisplayName: app,
			IPAddress: e.ip.String(), CorrelationID: corr, ConditionalAccessStatus: "success",
			TokenIssuerType: "AzureAD", ProcessingTimeInMillis: 40 + r.IntN(300), RiskDetail: "none", RiskLevelAggregated: "none",
			RiskLevelDuringSignIn: "none", RiskState: "none", ResourceDisplayName: "Windows Azure Service Management API",
			ResourceID: "797f4846-ba00-4fd7-ba43-dac1f8f63013", OriginalRequestID: guid(r),
		},
	}
	if pl, ok := w.Lookup(e.ip); ok {
		rec.Location = pl.Country
		rec.Properties.Location = signinLocation{City: pl.City, CountryOrRegion: pl.Country,
			GeoCoordinates: geoCoordinates{Latitude: pl.Lat, Longitude: pl.Lon}}
	}
	if e.fail {
		rec.ResultType = "50126"
		rec.ResultDescription = "Error validating credentials due to invalid username or password."
		rec.Properties.Status = signinStatus{ErrorCode: 50126, FailureReason: rec.ResultDescription}
		rec.Properties.ConditionalAccessStatus = "notApplied"
	}
	var cat, dir string
	switch e.signin {
	case signinServicePrincipal:
		cat, dir = "ServicePrincipalSignInLogs", "insights-logs-serviceprincipalsigninlogs"
		rec.Properties.UserID = nil
		rec.Properties.ServicePrincipalID = c.id
		rec.Properties.ServicePrincipalName = c.name
		rec.Properties.ClientAppUsed = ""
	default:
		cat, dir = "SignInLogs", "insights-logs-signinlogs"
		if e.signin == signinNonInteractive {
			cat, dir = "NonInteractiveUserSignInLogs", "insights-logs-noninteractiveusersigninlogs"
		} else {
			rec.Properties.IsInteractive = true
		}
		rec.Identity = c.name
		rec.Properties.UserDisplayName = c.name
		rec.Properties.UserPrincipalName = c.upn
		rec.Properties.UserID = c.id
		rec.Properties.UserType = "Member"
		rec.Properties.AuthenticationRequirement = "multiFactorAuthentication"
		rec.Properties.ClientAppUsed = "Browser"
		browser := "Edge 131.0.0"
		if e.appID != "c44b4083-3bb0-49c1-b47d-974e53cbdf3c" {
			rec.Properties.ClientAppUsed = "Mobile Apps and Desktop clients"
			browser = ""
		}
		rec.Properties.DeviceDetail = &deviceDetail{Browser: browser, OperatingSystem: pick(r, []string{"Windows10", "MacOs", "Linux"})}
	}
	rec.Category = cat
	b, err := json.Marshal(&rec)
	if err != nil {
		return err
	}
	return s.line(filepath.Join("azure", "signinlogs", dir, "tenantId="+tenant, hourPath(e.t)), b)
}

// --- AWS CloudTrail ---

type ctSessionIssuer struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
	Arn         string `json:"arn"`
	AccountID   string `json:"accountId"`
	UserName    string `json:"userName"`
}

type ctSessionContext struct {
	SessionIssuer ctSessionIssuer   `json:"sessionIssuer"`
	Attributes    map[string]string `json:"attributes"`
}

type ctUserIdentity struct {
	Type           string            `json:"type"`
	PrincipalID    string            `json:"principalId"`
	Arn            string            `json:"arn"`
	AccountID      string            `json:"accountId"`
	AccessKeyID    string            `json:"accessKeyId"`
	UserName       string            `json:"userName,omitempty"`
	SessionContext *ctSessionContext `json:"sessionContext,omitempty"`
}

type ctRecord struct {
	EventVersion       string          `json:"eventVersion"`
	UserIdentity       ctUserIdentity  `json:"userIdentity"`
	EventTime          string          `json:"eventTime"`
	EventSource        string          `json:"eventSource"`
	EventName          string          `json:"eventName"`
	AwsRegion          string          `json:"awsRegion"`
	SourceIPAddress    string          `json:"sourceIPAddress"`
	UserAgent          string          `json:"userAgent"`
	ErrorCode          string          `json:"errorCode,omitempty"`
	ErrorMessage       string          `json:"errorMessage,omitempty"`
	RequestParameters  json.RawMessage `json:"requestParameters"`
	ResponseElements   json.RawMessage `json:"responseElements"`
	RequestID          string          `json:"requestID"`
	EventID            string          `json:"eventID"`
	ReadOnly           bool            `json:"readOnly"`
	EventType          string          `json:"eventType"`
	ManagementEvent    bool            `json:"managementEvent"`
	RecipientAccountID string          `json:"recipientAccountId"`
	EventCategory      string          `json:"eventCategory"`
}

var awsSources = map[string]string{
	"CreateAccessKey": "iam.amazonaws.com", "CreateUser": "iam.amazonaws.com", "CreateLoginProfile": "iam.amazonaws.com",
	"AttachUserPolicy": "iam.amazonaws.com", "PutUserPolicy": "iam.amazonaws.com", "UpdateAssumeRolePolicy": "iam.amazonaws.com",
	"CreateRole": "iam.amazonaws.com", "TagRole": "iam.amazonaws.com",
	"RunInstances": "ec2.amazonaws.com", "StartInstances": "ec2.amazonaws.com", "StopInstances": "ec2.amazonaws.com",
	"CreateTags": "ec2.amazonaws.com", "AuthorizeSecurityGroupIngress": "ec2.amazonaws.com", "CreateSnapshot": "ec2.amazonaws.com",
	"CreateBucket": "s3.amazonaws.com", "PutBucketPolicy": "s3.amazonaws.com", "PutBucketTagging": "s3.amazonaws.com",
	"UpdateFunctionCode20150331v2": "lambda.amazonaws.com", "UpdateFunctionConfiguration20150331v2": "lambda.amazonaws.com",
	"PutParameter": "ssm.amazonaws.com", "CreateLogGroup": "logs.amazonaws.com", "PutMetricAlarm": "monitoring.amazonaws.com",
}

func (s *sinks) cloudTrail(e *event, r *rand.Rand) error {
	c := e.p
	id := ctUserIdentity{Arn: c.id, AccountID: c.account, AccessKeyID: "ASIA" + strings.ToUpper(hexString(r, 16))}
	switch {
	case c.kind == kindUser && c.awsUser != "":
		id.Type, id.PrincipalID, id.UserName = "IAMUser", "AIDA"+strings.ToUpper(hexString(r, 17)), c.awsUser
		id.AccessKeyID = "AKIA" + strings.ToUpper(hexString(r, 16))
	default:
		role := c.name
		issuerArn := "arn:aws:iam::" + c.account + ":role/" + role
		if strings.HasPrefix(role, "AWSReservedSSO_") {
			issuerArn = "arn:aws:iam::" + c.account + ":role/aws-reserved/sso.amazonaws.com/" + role
		}
		pid := "AROA" + strings.ToUpper(hexString(r, 17))
		sess := c.id[strings.LastIndexByte(c.id, '/')+1:]
		id.Type, id.PrincipalID = "AssumedRole", pid+":"+sess
		id.SessionContext = &ctSessionContext{
			SessionIssuer: ctSessionIssuer{Type: "Role", PrincipalID: pid, Arn: issuerArn, AccountID: c.account, UserName: role},
			Attributes:    map[string]string{"creationDate": e.t.Add(-time.Duration(r.IntN(3000)) * time.Second).Format("2006-01-02T15:04:05Z"), "mfaAuthenticated": "false"},
		}
	}
	params := e.body
	if params == "" {
		params = "null"
	}
	rec := ctRecord{
		EventVersion: "1.09", UserIdentity: id, EventTime: e.t.Format("2006-01-02T15:04:05Z"),
		EventSource: awsSources[e.op], EventName: e.op, AwsRegion: e.region, SourceIPAddress: e.ip.String(),
		UserAgent: e.ua, RequestParameters: json.RawMessage(params), ResponseElements: json.RawMessage("null"),
		RequestID: guid(r), EventID: guid(r), EventType: "AwsApiCall", ManagementEvent: true,
		RecipientAccountID: c.account, EventCategory: "Management",
	}
	if rec.EventSource == "" {
		rec.EventSource = "sts.amazonaws.com"
	}
	if rec.EventSource == "iam.amazonaws.com" {
		rec.AwsRegion = "us-east-1"
	}
	if e.fail {
		rec.ErrorCode = "AccessDenied"
		rec.ErrorMessage = fmt.Sprintf("User: %s is not authorized to perform: %s", c.id, strings.TrimSuffix(rec.EventSource, ".amazonaws.com")+":"+e.op)
	}
	b, err := json.Marshal(&rec)
	if err != nil {
		return err
	}
	k := ctKey{account: c.account, region: rec.AwsRegion, hour: e.t.Truncate(time.Hour)}
	s.ct[k] = append(s.ct[k], b)
	return nil
}

// --- GCP Cloud Audit Logs (Admin Activity) ---

type gcpAuthInfo struct {
	Resource   string `json:"resource"`
	Permission string `json:"permission"`
	Granted    bool   `json:"granted"`
}

type gcpStatus struct {
	Code    int    `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

type gcpRequestMetadata struct {
	CallerIP                string         `json:"callerIp"`
	CallerSuppliedUserAgent string         `json:"callerSuppliedUserAgent"`
	RequestAttributes       map[string]any `json:"requestAttributes"`
	DestinationAttributes   struct{}       `json:"destinationAttributes"`
}

type gcpProto struct {
	Type               string             `json:"@type"`
	Status             gcpStatus          `json:"status"`
	AuthenticationInfo map[string]string  `json:"authenticationInfo"`
	RequestMetadata    gcpRequestMetadata `json:"requestMetadata"`
	ServiceName        string             `json:"serviceName"`
	MethodName         string             `json:"methodName"`
	AuthorizationInfo  []gcpAuthInfo      `json:"authorizationInfo"`
	ResourceName       string             `json:"resourceName"`
	Request            json.RawMessage    `json:"request,omitempty"`
}

type gcpResource struct {
	Type   string            `json:"type"`
	Labels map[string]string `json:"labels"`
}

type gcpEntry struct {
	ProtoPayload     gcpProto    `json:"protoPayload"`
	InsertID         string      `json:"insertId"`
	Resource         gcpResource `json:"resource"`
	Timestamp        string      `json:"timestamp"`
	Severity         string      `json:"severity"`
	LogName          string      `json:"logName"`
	ReceiveTimestamp string      `json:"receiveTimestamp"`
}

var gcpMethods = map[string][3]string{ // service, resource type, permission
	"SetIamPolicy": {"cloudresourcemanager.googleapis.com", "project", "resourcemanager.projects.setIamPolicy"},
	"google.iam.admin.v1.CreateServiceAccountKey":                    {"iam.googleapis.com", "service_account", "iam.serviceAccountKeys.create"},
	"google.iam.admin.v1.CreateServiceAccount":                       {"iam.googleapis.com", "service_account", "iam.serviceAccounts.create"},
	"v1.compute.instances.insert":                                    {"compute.googleapis.com", "gce_instance", "compute.instances.create"},
	"v1.compute.instances.start":                                     {"compute.googleapis.com", "gce_instance", "compute.instances.start"},
	"v1.compute.instances.stop":                                      {"compute.googleapis.com", "gce_instance", "compute.instances.stop"},
	"v1.compute.firewalls.insert":                                    {"compute.googleapis.com", "gce_firewall_rule", "compute.firewalls.create"},
	"storage.buckets.create":                                         {"storage.googleapis.com", "gcs_bucket", "storage.buckets.create"},
	"storage.setIamPermissions":                                      {"storage.googleapis.com", "gcs_bucket", "storage.buckets.setIamPolicy"},
	"google.cloud.functions.v1.CloudFunctionsService.UpdateFunction": {"cloudfunctions.googleapis.com", "cloud_function", "cloudfunctions.functions.update"},
	"io.k8s.core.v1.configmaps.update":                               {"k8s.io", "k8s_cluster", "io.k8s.core.v1.configmaps.update"},
}

func (s *sinks) gcp(e *event, r *rand.Rand) error {
	m := gcpMethods[e.op]
	ts := e.t.Format("2006-01-02T15:04:05.000000Z")
	ent := gcpEntry{
		ProtoPayload: gcpProto{
			Type:               "type.googleapis.com/google.cloud.audit.AuditLog",
			AuthenticationInfo: map[string]string{"principalEmail": e.p.id},
			RequestMetadata: gcpRequestMetadata{CallerIP: e.ip.String(), CallerSuppliedUserAgent: e.ua,
				RequestAttributes: map[string]any{"time": ts, "auth": map[string]any{}}},
			ServiceName: m[0], MethodName: e.op, ResourceName: e.resource,
			AuthorizationInfo: []gcpAuthInfo{{Resource: e.resource, Permission: m[2], Granted: !e.fail}},
		},
		InsertID:         hexString(r, 12),
		Resource:         gcpResource{Type: m[1], Labels: map[string]string{"project_id": e.sub}},
		Timestamp:        ts,
		Severity:         "NOTICE",
		LogName:          "projects/" + e.sub + "/logs/cloudaudit.googleapis.com%2Factivity",
		ReceiveTimestamp: e.t.Add(time.Duration(300+r.IntN(900)) * time.Millisecond).Format(time.RFC3339Nano),
	}
	if e.fail {
		ent.ProtoPayload.Status = gcpStatus{Code: 7, Message: "PERMISSION_DENIED"}
		ent.Severity = "ERROR"
	}
	if e.body != "" {
		ent.ProtoPayload.Request = json.RawMessage(e.body)
	}
	b, err := json.Marshal(&ent)
	if err != nil {
		return err
	}
	rel := filepath.Join("gcp", "cloudaudit.googleapis.com", "activity", e.t.Format("2006/01/02"), e.t.Format("15")+":00:00_"+e.t.Format("15")+":59:59_S0.json")
	return s.line(rel, b)
}
