package mgmt

import (
	"bufio"
	"cmp"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// sinks routes records to the files of the export layouts. Line-oriented
// files stay open for a simulated day; batch-oriented ones (CloudTrail,
// Event Hub) are buffered per hour and flushed at the end of the day.
type sinks struct {
	dir     string
	r       *rand.Rand
	open    map[string]*lineFile
	created map[string]bool
	dirs    map[string]bool
	ct      map[ctKey][]json.RawMessage
	eh      map[string][]json.RawMessage
	blobs   map[string][]json.RawMessage
	records int64
	bytes   int64
	files   int
	zw      *gzip.Writer
}

type ctKey struct {
	account, region string
	hour            time.Time
}

type lineFile struct {
	f  *os.File
	bw *bufio.Writer
}

func newSinks(dir string, r *rand.Rand) *sinks {
	return &sinks{dir: dir, r: r, open: map[string]*lineFile{}, created: map[string]bool{}, dirs: map[string]bool{},
		ct: map[ctKey][]json.RawMessage{}, eh: map[string][]json.RawMessage{}, blobs: map[string][]json.RawMessage{}}
}

// line appends one JSON line to a file, creating (truncating) it the
// first time this run touches it.
func (s *sinks) line(rel string, b []byte) error {
	lf := s.open[rel]
	if lf == nil {
		path := filepath.Join(s.dir, rel)
		if err := s.mkdir(filepath.Dir(path)); err != nil {
			return err
		}
		flag := os.O_WRONLY | os.O_CREATE | os.O_APPEND
		if !s.created[rel] {
			flag |= os.O_TRUNC
			s.created[rel] = true
			s.files++
		}
		f, err := os.OpenFile(path, flag, 0o644)
		if err != nil {
			return err
		}
		lf = &lineFile{f: f, bw: bufio.NewWriterSize(f, 16<<10)}
		s.open[rel] = lf
	}
	s.records++
	s.bytes += int64(len(b) + 1)
	lf.bw.Write(b)
	return lf.bw.WriteByte('\n')
}

// mkdir creates a directory once per run.
func (s *sinks) mkdir(dir string) error {
	if s.dirs[dir] {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	s.dirs[dir] = true
	return nil
}

// flush closes the day's line files and writes the buffered batches.
func (s *sinks) flush() error {
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	for rel, lf := range s.open {
		keep(lf.bw.Flush())
		keep(lf.f.Close())
		delete(s.open, rel)
	}
	for rel, recs := range s.blobs {
		keep(s.line(rel, wrapRecords("records", recs)))
		s.records += int64(len(recs)) - 1
		delete(s.blobs, rel)
	}
	for rel, recs := range s.eh {
		for i := 0; i < len(recs); i += 100 {
			end := min(i+100, len(recs))
			keep(s.line(rel, wrapRecords("records", recs[i:end])))
			s.records += int64(end-i) - 1
		}
		delete(s.eh, rel)
	}
	// Sorted, so that the random file-name suffixes are drawn in a fixed
	// order.
	keys := make([]ctKey, 0, len(s.ct))
	for k := range s.ct {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b ctKey) int {
		return cmp.Or(cmp.Compare(a.account, b.account), cmp.Compare(a.region, b.region), a.hour.Compare(b.hour))
	})
	for _, k := range keys {
		keep(s.writeCloudTrail(k, s.ct[k]))
		delete(s.ct, k)
	}
	for rel, lf := range s.open {
		keep(lf.bw.Flush())
		keep(lf.f.Close())
		delete(s.open, rel)
	}
	return first
}

func wrapRecords(key string, recs []json.RawMessage) []byte {
	n := len(key) + 8
	for _, r := range recs {
		n += len(r) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, `{"`...)
	b = append(b, key...)
	b = append(b, `":[`...)
	for i, r := range recs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, r...)
	}
	return append(b, "]}"...)
}

// writeCloudTrail writes one hour of an account's region as CloudTrail
// delivers it: a gzipped {"Records":[...]} object under
// AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/.
func (s *sinks) writeCloudTrail(k ctKey, recs []json.RawMessage) error {
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	var sfx [16]byte
	for i := range sfx {
		sfx[i] = alnum[s.r.IntN(len(alnum))]
	}
	end := k.hour.Add(time.Duration(5+s.r.IntN(10)) * time.Minute)
	rel := filepath.Join("aws", "AWSLogs", k.account, "CloudTrail", k.region, k.hour.Format("2006/01/02"),
		fmt.Sprintf("%s_CloudTrail_%s_%sZ_%s.json.gz", k.account, k.region, end.Format("20060102T1504"), sfx[:]))
	path := filepath.Join(s.dir, rel)
	if err := s.mkdir(filepath.Dir(path)); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if s.zw == nil {
		s.zw, _ = gzip.NewWriterLevel(f, gzip.BestSpeed)
	} else {
		s.zw.Reset(f)
	}
	zw := s.zw
	body := wrapRecords("Records", recs)
	s.records += int64(len(recs))
	s.bytes += int64(len(body))
	s.files++
	if _, err := zw.Write(body); err != nil {
		f.Close()
		return err
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func hourPath(t time.Time) string {
	return t.Format("y=2006/m=01/d=02/h=15") + "/m=00/PT1H.json"
}

const azTime = "2006-01-02T15:04:05.0000000Z"

// --- Azure Activity Log ---

type azClaims struct {
	Aud            string `json:"aud"`
	Iss            string `json:"iss"`
	Iat            string `json:"iat"`
	Nbf            string `json:"nbf"`
	Exp            string `json:"exp"`
	Acr            string `json:"http://schemas.microsoft.com/claims/authnclassreference,omitempty"`
	Aio            string `json:"aio"`
	AppID          string `json:"appid"`
	AppIDAcr       string `json:"appidacr"`
	Surname        string `json:"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname,omitempty"`
	GivenName      string `json:"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname,omitempty"`
	IdentityProv   string `json:"http://schemas.microsoft.com/identity/claims/identityprovider"`
	IPAddr         string `json:"ipaddr,omitempty"`
	Name           string `json:"name,omitempty"`
	ObjectID       string `json:"http://schemas.microsoft.com/identity/claims/objectidentifier"`
	PUID           string `json:"puid,omitempty"`
	NameIdentifier string `json:"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier"`
	TenantID       string `json:"http://schemas.microsoft.com/identity/claims/tenantid"`
	ClaimName      string `json:"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name,omitempty"`
	UPN            string `json:"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn,omitempty"`
	IDType         string `json:"idtyp,omitempty"`
	UTI            string `json:"uti"`
	Ver            string `json:"ver"`
}

type azEvidence struct {
	Role                string `json:"role"`
	RoleAssignmentScope string `json:"roleAssignmentScope"`
	RoleAssignmentID    string `json:"roleAssignmentId"`
	RoleDefinitionID    string `json:"roleDefinitionId"`
	PrincipalID         string `json:"principalId"`
	PrincipalType       string `json:"principalType"`
}

type azAuthorization struct {
	Scope    string     `json:"scope"`
	Action   string     `json:"action"`
	Evidence azEvidence `json:"evidence"`
}

type azIdentity struct {
	Authorization azAuthorization `json:"authorization"`
	Claims        azClaims        `json:"claims"`
}

type azProperties struct {
	StatusCode       string `json:"statusCode,omitempty"`
	ServiceRequestID any    `json:"serviceRequestId"`
	EventCategory    string `json:"eventCategory"`
	Entity           string `json:"entity"`
	Message          string `json:"message"`
	Hierarchy        string `json:"hierarchy"`
	RequestBody      any    `json:"requestbody,omitempty"`
	ResponseBody     any    `json:"responseBody,omitempty"`
}

type azRecord struct {
	Time            string       `json:"time"`
	ResourceID      string       `json:"resourceId"`
	OperationName   string       `json:"operationName"`
	Category        string       `json:"category"`
	ResultType      string       `json:"resultType"`
	ResultSignature string       `json:"resultSignature"`
	DurationMs      int          `json:"durationMs"`
	CallerIPAddress string       `json:"callerIpAddress,omitempty"`
	CorrelationID   string       `json:"correlationId"`
	Identity        azIdentity   `json:"identity"`
	Level           string       `json:"level"`
	Location        string       `json:"location"`
	Properties      azProperties `json:"properties"`
}

type stage struct {
	typ, sig, status, level string
	at                      time.Duration
}

// activity writes the Start / Accept / Success or Failure records of one
// Azure operation. They share the correlation id, the operation name and
// the resource id, which is how the reader must pair them.
func (s *sinks) activity(e *event, tenant string, r *rand.Rand) error {
	dur := time.Duration(200+r.IntN(4000)) * time.Millisecond
	stages := []stage{{"Start", "Started.", "", "Informational", 0}}
	if e.async {
		stages = append(stages, stage{"Accept", "Accepted.Created", "Accepted", "Informational", dur / 3})
	}
	switch {
	case e.fail:
		stages = append(stages, stage{"Failure", "Failed.Forbidden", "Forbidden", "Error", dur})
	case strings.HasSuffix(e.op, "/write"):
		stages = append(stages, stage{"Success", "Succeeded.Created", "Created", "Informational", dur})
	default:
		stages = append(stages, stage{"Success", "Succeeded.OK", "OK", "Informational", dur})
	}
	op, res := e.op, e.resource
	switch {
	case e.upper:
		op, res = strings.ToUpper(op), strings.ToUpper(res)
	case r.IntN(6) == 0:
		op = strings.ToLower(op)
	}
	c := e.p
	iat := e.t.Add(-time.Duration(r.IntN(3000)) * time.Second).Unix()
	claims := azClaims{
		Aud: "https://management.core.windows.net/", Iss: "https://sts.windows.net/" + tenant + "/",
		Iat: fmt.Sprint(iat), Nbf: fmt.Sprint(iat), Exp: fmt.Sprint(iat + 4500), Aio: hexString(r, 24),
		AppID: e.appID, IdentityProv: "https://sts.windows.net/" + tenant + "/", ObjectID: c.id,
		NameIdentifier: hexString(r, 43), TenantID: tenant, UTI: hexString(r, 22), Ver: "1.0",
	}
	principalType := "User"
	if c.kind == kindUser {
		claims.Acr = "1"
		claims.AppIDAcr = "0"
		claims.Name = c.name
		claims.ClaimName = c.upn
		claims.UPN = c.upn
		claims.GivenName, claims.Surname = c.person.first, c.person.last
		claims.PUID = strings.ToUpper(hexString(r, 16))
		if e.ip.IsValid() {
			claims.IPAddr = e.ip.String()
		}
	} else {
		claims.AppIDAcr = "2"
		claims.IDType = "app"
		principalType = "ServicePrincipal"
	}
	scope := e.resource
	role := pick(r, builtinRoles)
	rec := azRecord{
		ResourceID: res, OperationName: op, Category: "Administrative", CorrelationID: e.corr,
		Identity: azIdentity{
			Authorization: azAuthorization{Scope: scope, Action: e.op, Evidence: azEvidence{
				Role: role.name, RoleAssignmentScope: "/subscriptions/" + e.sub, RoleAssignmentID: strings.ReplaceAll(guid(r), "-", ""),
				RoleDefinitionID: strings.ReplaceAll(role.id, "-", ""), PrincipalID: strings.ReplaceAll(c.id, "-", ""), PrincipalType: principalType}},
			Claims: claims,
		},
		Location: "global",
	}
	if e.ip.IsValid() {
		rec.CallerIPAddress = e.ip.String()
	}
	rel := ""
	if e.eventHub {
		rel = filepath.Join("azure", "eventhub", "insights-activity-logs", e.sub, e.t.Format("2006-01-02"), e.t.Format("15")+".json")
	}
	for _, st := range stages {
		at := e.t.Add(st.at)
		rec.Time = at.Format(azTime)
		rec.ResultType, rec.ResultSignature, rec.Level = st.typ, st.sig, st.level
		rec.DurationMs = 0
		if st.typ != "Start" {
			rec.DurationMs = int(st.at / time.Millisecond)
		}
		rec.Properties = azProperties{StatusCode: st.status, EventCategory: "Administrative", Entity: e.resource,
			Message: e.op, Hierarchy: tenant + "/" + e.sub}
		if st.typ != "Start" {
			rec.Properties.ServiceRequestID = guid(r)
		}
		if e.body != "" && st.typ == "Start" {
			if e.bodyObj {
				rec.Properties.RequestBody = json.RawMessage(e.body)
			} else {
				rec.Properties.RequestBody = e.body
			}
		}
		if e.body != "" && st.typ == "Success" {
			rec.Properties.ResponseBody = e.body
		}
		b, err := json.Marshal(&rec)
		if err != nil {
			return err
		}
		if rel != "" {
			s.eh[rel] = append(s.eh[rel], b)
			continue
		}
		p := filepath.Join("azure", "activitylog", "insights-activity-logs", "resourceId=", "SUBSCRIPTIONS", strings.ToUpper(e.sub), hourPath(at))
		if e.wrapped {
			s.blobs[p] = append(s.blobs[p], b)
			continue
		}
		if err := s.line(p, b); err != nil {
			return err
		}
	}
	return nil
}
