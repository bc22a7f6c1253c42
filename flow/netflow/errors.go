package netflow

import "errors"

// Sentinel errors returned by Decode, wrapped with the reason that is also
// counted in Stats.
var (
	// ErrTruncated: the message is shorter than its header or its own length.
	ErrTruncated = errors.New("netflow: truncated message")
	// ErrVersion: the version is not 5, 9 or 10.
	ErrVersion = errors.New("netflow: unsupported version")
	// ErrMalformed: a set, template or record is malformed.
	ErrMalformed = errors.New("netflow: malformed message")
	// ErrLimit: a state bound (exporters, domains, templates) refused it.
	ErrLimit = errors.New("netflow: state limit reached")
)

// reason is one counted cause of an undecoded message, set or record. Its
// name is the key of the error maps in Stats.
type reason uint8

const (
	rShortHeader reason = iota
	rBadVersion
	rLengthMismatch
	rTrailingBytes
	rV5Truncated
	rV5BadCount
	rBadSetLength
	rReservedSetID
	rShortTemplate
	rBadTemplateID
	rZeroLengthField
	rEmptyTemplate
	rBadScope
	rTemplateLimit
	rWithdrawalUDP
	rWithdrawUnknown
	rBadFieldLength
	rBadVarLength
	rRecordTruncated
	rNoTemplate
	rPendingEvicted
	rPendingExpired
	rPendingDisabled
	rTemplateExpired
	rExporterLimit
	rDomainLimit
	rSamplerLimit
	rNoSysInit
	rTemplateTooLong
	numReasons
)

var reasonNames = [numReasons]string{
	rShortHeader:     "short header",
	rBadVersion:      "bad version",
	rLengthMismatch:  "message length exceeds datagram",
	rTrailingBytes:   "trailing bytes after message",
	rV5Truncated:     "v5 records truncated",
	rV5BadCount:      "v5 bad record count",
	rBadSetLength:    "bad set length",
	rReservedSetID:   "reserved set id",
	rShortTemplate:   "short template record",
	rBadTemplateID:   "bad template id",
	rZeroLengthField: "template with zero-length field",
	rEmptyTemplate:   "template without fields",
	rBadScope:        "options template with bad scope",
	rTemplateLimit:   "too many templates",
	rWithdrawalUDP:   "template withdrawal over udp ignored",
	rWithdrawUnknown: "withdrawal of unknown template",
	rBadFieldLength:  "unexpected field length",
	rBadVarLength:    "bad variable length",
	rRecordTruncated: "record truncated",
	rNoTemplate:      "no template",
	rPendingEvicted:  "pending set evicted",
	rPendingExpired:  "pending set expired",
	rPendingDisabled: "no template (buffering disabled)",
	rTemplateExpired: "template expired",
	rExporterLimit:   "too many exporters",
	rDomainLimit:     "too many observation domains",
	rSamplerLimit:    "too many samplers",
	rNoSysInit:       "relative time without system init time (export time used)",
	rTemplateTooLong: "template record longer than a message",
}

func (r reason) String() string { return reasonNames[r] }

// decodeError is a preallocated error per reason, so that counting and
// returning a malformation does not allocate even under a flood.
type decodeError struct {
	r   reason
	err error
}

func (e *decodeError) Error() string { return e.err.Error() + ": " + reasonNames[e.r] }
func (e *decodeError) Unwrap() error { return e.err }

var reasonErrors = func() [numReasons]*decodeError {
	var out [numReasons]*decodeError
	for r := reason(0); r < numReasons; r++ {
		base := ErrMalformed
		switch r {
		case rShortHeader, rLengthMismatch, rV5Truncated:
			base = ErrTruncated
		case rBadVersion:
			base = ErrVersion
		case rTemplateLimit, rExporterLimit, rDomainLimit, rSamplerLimit:
			base = ErrLimit
		}
		out[r] = &decodeError{r: r, err: base}
	}
	return out
}()

// isError tells whether a reason is a fault of the input that Decode
// reports, rather than a normal event that is only counted (a set waiting
// for its template, a withdrawal over UDP).
func (r reason) isError() bool {
	switch r {
	case rNoTemplate, rWithdrawalUDP, rPendingEvicted, rPendingExpired, rTemplateExpired, rTrailingBytes, rNoSysInit:
		return false
	}
	return true
}
