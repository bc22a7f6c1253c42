// Package auditfile opens audit-log files, detects their format by content
// and reads them into audit events: the Azure Activity Log and Entra ID
// sign-in logs (audit/azure), AWS CloudTrail (audit/aws) and GCP Cloud
// Audit Logs (audit/gcp).
//
// A file may be gzipped (recognised by its magic bytes, whatever its
// name) and may hold one JSON document, JSON lines, or JSON values
// concatenated, pretty-printed or not. A value is a record, an array of
// records, or a batch object whose "records" (Azure Monitor, CloudTrail's
// "Records") or "entries" member holds them. Malformed stretches are
// counted by reason in the Summary and reading goes on. In JSON lines
// input, a broken line ends at its newline, so it costs only itself.
//
// Azure Activity Log operations are paired within one file by an
// azure.Pairer with azure.DefaultPairConfig (15 minutes of event time, at
// most 65,536 pending events). An operation whose stages fall in two
// files (an hourly blob boundary) yields a started event from the first
// file and an outcome event from the second.
package auditfile

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/vigil-ids/vigil/audit"
	"github.com/vigil-ids/vigil/audit/auditfile/jsonfield"
	"github.com/vigil-ids/vigil/audit/aws"
	"github.com/vigil-ids/vigil/audit/azure"
	"github.com/vigil-ids/vigil/audit/gcp"
)

// ErrUnknownFormat is returned by Read for input that is not an audit log
// format Vigil reads.
var ErrUnknownFormat = errors.New("not an audit log format")

// Kind is the format of an audit-log file.
type Kind int

// Formats.
const (
	KindUnknown Kind = iota
	KindAzureActivity
	KindEntraSignIn
	KindCloudTrail
	KindGCPAudit
)

// String names the format.
func (k Kind) String() string {
	switch k {
	case KindAzureActivity:
		return "azure-activity"
	case KindEntraSignIn:
		return "entra-signin"
	case KindCloudTrail:
		return "cloudtrail"
	case KindGCPAudit:
		return "gcp-audit"
	}
	return "unknown"
}

// HeadSize is how much of a file Detect needs to see.
const HeadSize = 64 << 10

// probe holds the members that tell the formats apart.
type probe struct {
	EventVersion jsonfield.Text `json:"eventVersion"`
	EventSource  jsonfield.Text `json:"eventSource"`
	EventName    jsonfield.Text `json:"eventName"`
	ProtoPayload *struct {
		Type       jsonfield.Text `json:"@type"`
		MethodName jsonfield.Text `json:"methodName"`
	} `json:"protoPayload"`
	OperationName jsonfield.Text `json:"operationName"`
	Category      jsonfield.Text `json:"category"`
	ResourceID    jsonfield.Text `json:"resourceId"`
	Time          jsonfield.Text `json:"time"`
	Properties    jsonfield.Embedded[struct {
		Flows       jsontext.Value `json:"flows"`
		FlowRecords jsontext.Value `json:"flowRecords"`
	}] `json:"properties"`
}

// classify says which format a single record is in.
func classify(rec []byte) Kind {
	var p probe
	if jsonfield.Unmarshal(rec, &p) != nil {
		return KindUnknown
	}
	switch {
	case p.ProtoPayload != nil && (p.ProtoPayload.MethodName != "" || strings.HasSuffix(p.ProtoPayload.Type.String(), "AuditLog")):
		return KindGCPAudit
	case p.EventName != "" && (p.EventSource != "" || p.EventVersion != ""):
		return KindCloudTrail
	case len(p.Properties.V.Flows) > 0 || len(p.Properties.V.FlowRecords) > 0,
		strings.Contains(strings.ToLower(p.Category.String()), "flowevent"):
		// NSG and VNet flow logs share the Azure Monitor envelope but are
		// flow records, read by flow/flowlog.
		return KindUnknown
	case p.OperationName != "" && (p.ResourceID != "" || p.Time != ""):
		c := strings.ToLower(p.Category.String())
		if strings.HasSuffix(c, "signinlogs") || strings.EqualFold(p.OperationName.String(), "Sign-in activity") {
			return KindEntraSignIn
		}
		return KindAzureActivity
	}
	return KindUnknown
}

// Detect returns the format of a file from its head: its first bytes (up
// to HeadSize), decompressed. It classifies the first complete record;
// when the head holds none (a record larger than the head), it falls back
// to the member names the head shows. Azure NSG and VNet flow logs, which
// share the Activity Log's envelope, are not audit logs: KindUnknown.
func Detect(head []byte) Kind {
	if rec, ok := firstRecord(head); ok {
		return classify(rec)
	}
	has := func(s string) bool { return bytes.Contains(head, []byte(s)) }
	switch {
	case has(`"protoPayload"`) && (has(`AuditLog"`) || has(`"methodName"`)):
		return KindGCPAudit
	case has(`"eventName"`) && has(`"eventSource"`):
		return KindCloudTrail
	case has(`"flows"`) || has(`"flowRecords"`) || has(`FlowEvent`):
		return KindUnknown
	case has(`SignInLogs"`):
		return KindEntraSignIn
	case has(`"operationName"`) && (has(`"resourceId"`) || has(`"time"`)):
		return KindAzureActivity
	}
	return KindUnknown
}

// firstRecord returns the first complete record in head.
func firstRecord(head []byte) ([]byte, bool) {
	head = bytes.TrimPrefix(head, []byte{0xEF, 0xBB, 0xBF})
	i := 0
	for i < len(head) && isSpace(head[i]) {
		i++
	}
	if i >= len(head) {
		return nil, false
	}
	v := head[i:]
	switch v[0] {
	case '[':
		var out []byte
		_ = elements(v, func(e []byte) {
			if out == nil {
				out = e
			}
		})
		if out != nil && out[0] == '{' {
			return out, true
		}
		return nil, false
	case '{':
		end, err := valueEnd(v, 0)
		if err == nil {
			obj := v[:end]
			if arr, ok := batchArray(obj); ok {
				return firstRecord(arr)
			}
			return obj, true
		}
		// A batch longer than the head: find its array by name.
		for _, key := range []string{`"records"`, `"Records"`, `"entries"`} {
			if j := bytes.Index(v, []byte(key)); j >= 0 {
				rest := bytes.TrimLeft(v[j+len(key):], " \t\r\n:")
				if len(rest) > 0 && rest[0] == '[' {
					return firstRecord(rest)
				}
			}
		}
	}
	return nil, false
}

// Summary counts what reading found.
type Summary struct {
	// Well-formed records read, by format.
	AzureActivity uint64 `json:"azure_activity"`
	EntraSignIn   uint64 `json:"entra_signin"`
	CloudTrail    uint64 `json:"cloudtrail"`
	GCPAudit      uint64 `json:"gcp_audit"`
	// Events is the number of events delivered: records less the paired
	// ones.
	Events uint64 `json:"events"`
	// Paired is the number of Activity Log records merged into the event
	// of another record of the same operation.
	Paired uint64 `json:"paired"`
	// Unfinished is the number of operations delivered with
	// audit.ResultStarted (no outcome within the pairing window).
	Unfinished uint64 `json:"unfinished"`
	// Malformed counts the records and stretches of input that could not
	// be read, by reason.
	Malformed map[string]uint64 `json:"malformed,omitempty"`
}

// Records returns the number of well-formed records read.
func (s *Summary) Records() uint64 {
	return s.AzureActivity + s.EntraSignIn + s.CloudTrail + s.GCPAudit
}

// MalformedTotal returns the number of malformed records.
func (s *Summary) MalformedTotal() uint64 {
	var n uint64
	for _, v := range s.Malformed {
		n += v
	}
	return n
}

// Merge adds o's counts to s.
func (s *Summary) Merge(o Summary) {
	s.AzureActivity += o.AzureActivity
	s.EntraSignIn += o.EntraSignIn
	s.CloudTrail += o.CloudTrail
	s.GCPAudit += o.GCPAudit
	s.Events += o.Events
	s.Paired += o.Paired
	s.Unfinished += o.Unfinished
	if len(o.Malformed) > 0 && s.Malformed == nil {
		s.Malformed = make(map[string]uint64, len(o.Malformed))
	}
	for k, v := range o.Malformed {
		s.Malformed[k] += v
	}
}

func (s *Summary) malformed(reason string) {
	if s.Malformed == nil {
		s.Malformed = map[string]uint64{}
	}
	s.Malformed[reason]++
}

// reasons are the sentinel errors whose text names a malformed record.
var reasons = []error{
	errJunk, errTruncated, errNotObject,
	azure.ErrSyntax, azure.ErrNotObject, azure.ErrNoTime, azure.ErrNotAzure,
	aws.ErrSyntax, aws.ErrNotObject, aws.ErrNoTime, aws.ErrNotCloudTrail,
	gcp.ErrSyntax, gcp.ErrNotObject, gcp.ErrNoTime, gcp.ErrNotAuditLog,
}

func reason(err error) string {
	for _, r := range reasons {
		if errors.Is(err, r) {
			return r.Error()
		}
	}
	return "other"
}

// ReadFile reads an audit-log file; see Read.
func ReadFile(path string, h func(*audit.Event)) (Summary, error) {
	return ReadFileOptions(path, Options{}, h)
}

// Options change how a file is read.
type Options struct {
	// Unpaired delivers each Activity Log record as its own event, the
	// Start and Accept stages with audit.ResultStarted, instead of pairing
	// the stages of an operation within the file. A caller that merges
	// many files pairs them once over the merged stream (azure.Pairer's
	// AddEvent), which also joins operations split across files and saves
	// pairing every record twice.
	Unpaired bool
}

// ReadFileOptions reads an audit-log file with options; see Read.
func ReadFileOptions(path string, opts Options, h func(*audit.Event)) (Summary, error) {
	f, err := os.Open(path)
	if err != nil {
		return Summary{}, err
	}
	defer f.Close()
	return ReadOptions(f, path, opts, h)
}

// Read detects the format of r's content (gunzipping it first when it
// starts with the gzip magic bytes) and calls h with each event, in input
// order except that an Activity Log operation's records are delivered as
// one event when its first record would be (see azure.Pairer). name is
// used in errors only.
//
// The event passed to h is valid only during the call; its strings and
// bodies are never reused, so a shallow copy may be kept. Read returns
// ErrUnknownFormat for content of no audit format, and errors of the
// underlying reader or gzip stream; malformed records are counted in the
// Summary, not returned.
func Read(r io.Reader, name string, h func(*audit.Event)) (Summary, error) {
	return ReadOptions(r, name, Options{}, h)
}

// ReadOptions is Read with options.
func ReadOptions(r io.Reader, name string, opts Options, h func(*audit.Event)) (Summary, error) {
	var sum Summary
	br := bufio.NewReaderSize(r, 256<<10)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return sum, fmt.Errorf("%s: gzip: %w", name, err)
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 256<<10)
	}
	head, err := br.Peek(HeadSize)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return sum, fmt.Errorf("%s: %w", name, err)
	}
	kind := Detect(head)
	if kind == KindUnknown {
		return sum, fmt.Errorf("%s: %w", name, ErrUnknownFormat)
	}

	emit := func(ev *audit.Event) {
		sum.Events++
		h(ev)
	}
	var decode func([]byte)
	var pairer *azure.Pairer
	switch kind {
	case KindAzureActivity, KindEntraSignIn:
		if !opts.Unpaired {
			pairer = azure.NewPairer(azure.DefaultPairConfig(), emit)
		}
		var rec azure.Record
		decode = func(b []byte) {
			if err := azure.Decode(b, &rec); err != nil {
				sum.malformed(reason(err))
				return
			}
			if rec.Event.Kind == audit.KindSignIn {
				sum.EntraSignIn++
			} else {
				sum.AzureActivity++
			}
			if pairer == nil {
				emit(&rec.Event)
				return
			}
			pairer.Add(&rec)
		}
	case KindCloudTrail:
		var ev audit.Event
		decode = func(b []byte) {
			if err := aws.Decode(b, &ev); err != nil {
				sum.malformed(reason(err))
				return
			}
			sum.CloudTrail++
			emit(&ev)
		}
	case KindGCPAudit:
		var ev audit.Event
		decode = func(b []byte) {
			if err := gcp.Decode(b, &ev); err != nil {
				sum.malformed(reason(err))
				return
			}
			sum.GCPAudit++
			emit(&ev)
		}
	}
	record := func(b []byte) {
		if len(b) == 0 || b[0] != '{' {
			sum.malformed(errNotObject.Error())
			return
		}
		decode(b)
	}

	fr := framer{br: br}
	var rerr error
	for {
		v, err := fr.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			if errors.Is(err, errJunk) || errors.Is(err, errTruncated) {
				sum.malformed(err.Error())
				continue
			}
			rerr = fmt.Errorf("%s: %w", name, err)
			break
		}
		switch {
		case v[0] == '[':
			if err := elements(v, record); err != nil {
				sum.malformed(err.Error())
			}
		default:
			if arr, ok := batchArray(v); ok {
				if err := elements(arr, record); err != nil {
					sum.malformed(err.Error())
				}
				continue
			}
			record(v)
		}
	}
	if pairer != nil {
		pairer.Flush()
		st := pairer.Stats()
		sum.Paired, sum.Unfinished = st.Paired, st.Unfinished
	}
	return sum, rerr
}
