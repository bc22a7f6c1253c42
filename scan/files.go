package scan

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/vigil-ids/vigil/audit/auditfile"
	"github.com/vigil-ids/vigil/flow"
	"github.com/vigil-ids/vigil/flow/flowfile"
)

// ErrUnrecognised is returned for a file named on the command line whose
// content is neither a flow nor an audit format.
var ErrUnrecognised = errors.New("not a flow or audit-log format that Vigil reads")

// headSize is how much of a file content detection looks at.
const headSize = 64 << 10

// input is one file to scan.
type input struct {
	path  string
	flow  flowfile.Kind
	audit auditfile.Kind
	// first is no later than the time of the file's first record, as far
	// as the head of the file shows it; zero when unknown. It only orders
	// the lazy start of files in the merge, so an early guess is safe and a
	// late one is not.
	first time.Time
}

// Skipped is a file under a named folder that was not scanned, and why.
type Skipped struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// discover expands paths (files, and folders read recursively) into the
// inputs to scan. A file named explicitly must be readable and of a known
// format; inside folders, other files are skipped and reported, because a
// folder of exports often holds manifests and checksums beside the data.
func discover(paths []string, flowOpts flowfile.Options) ([]input, []Skipped, error) {
	sn := &sniffer{head: make([]byte, headSize), flowOpts: flowOpts}
	var out []input
	var skipped []Skipped
	seen := map[string]bool{}
	add := func(path string, explicit bool) error {
		abs, err := filepath.Abs(path)
		if err == nil {
			if seen[abs] {
				return nil
			}
			seen[abs] = true
		}
		in, err := sn.sniff(path)
		if err != nil {
			if explicit {
				return fmt.Errorf("%s: %w", path, err)
			}
			skipped = append(skipped, Skipped{Path: path, Reason: err.Error()})
			return nil
		}
		out = append(out, in)
		return nil
	}
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", p, err)
		}
		if !info.IsDir() {
			if err := add(p, true); err != nil {
				return nil, nil, err
			}
			continue
		}
		var files []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", p, err)
		}
		sort.Strings(files)
		for _, f := range files {
			if err := add(f, false); err != nil {
				return nil, nil, err
			}
		}
	}
	return out, skipped, nil
}

// sniffer detects formats and first times, reusing its buffers across
// files because an export folder may hold thousands of small blobs.
type sniffer struct {
	head     []byte
	br       *bufio.Reader
	zr       *gzip.Reader
	flowOpts flowfile.Options
}

// sniff detects a file's format from its first bytes, gunzipping first,
// and estimates the time of its first record from the same bytes.
func (sn *sniffer) sniff(path string) (input, error) {
	f, err := os.Open(path)
	if err != nil {
		return input{}, err
	}
	defer f.Close()
	if sn.br == nil {
		sn.br = bufio.NewReaderSize(f, 32<<10)
	} else {
		sn.br.Reset(f)
	}
	var r io.Reader = sn.br
	if magic, err := sn.br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		if sn.zr == nil {
			sn.zr, err = gzip.NewReader(sn.br)
		} else {
			err = sn.zr.Reset(sn.br)
		}
		if err != nil {
			return input{}, fmt.Errorf("gzip: %w", err)
		}
		r = sn.zr
	}
	n, err := io.ReadFull(r, sn.head)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return input{}, fmt.Errorf("read: %w", err)
	}
	head := sn.head[:n]
	if n == 0 {
		return input{}, errors.New("empty file")
	}
	in := input{path: path, flow: flowfile.Detect(head)}
	if in.flow != flowfile.KindUnknown {
		in.first = firstFlowTime(head, path, sn.flowOpts)
		return in, nil
	}
	in.audit = auditfile.Detect(head)
	if in.audit == auditfile.KindUnknown {
		return input{}, ErrUnrecognised
	}
	in.first = earliestTimestamp(head)
	return in, nil
}

// firstFlowTime decodes the head of a flow file (a truncated last record
// is harmless) and returns its earliest record start.
func firstFlowTime(head []byte, name string, opts flowfile.Options) time.Time {
	var first time.Time
	_, _ = flowfile.Read(bytes.NewReader(head), name, opts, func(r *flow.Record) {
		if first.IsZero() || r.Start.Before(first) {
			first = r.Start
		}
	})
	return first
}

// earliestTimestamp returns the earliest RFC 3339 date-time
// (YYYY-MM-DDTHH:MM:SS, fraction and zone optional) written in b. Audit
// logs are JSON whose records all carry such a time, so the earliest one in
// the head of a file is no later than its first record; times inside
// request bodies can only make the guess earlier, which is safe.
func earliestTimestamp(b []byte) time.Time {
	var first time.Time
	for i := 0; i+19 <= len(b); i++ {
		if b[i+4] != '-' || b[i+7] != '-' || (b[i+10] != 'T' && b[i+10] != ' ') || b[i+13] != ':' || b[i+16] != ':' {
			continue
		}
		if !digits(b[i:i+4]) || !digits(b[i+5:i+7]) || !digits(b[i+8:i+10]) || !digits(b[i+11:i+13]) || !digits(b[i+14:i+16]) || !digits(b[i+17:i+19]) {
			continue
		}
		t, err := time.Parse("2006-01-02T15:04:05", string(b[i:i+10])+"T"+string(b[i+11:i+19]))
		if err != nil {
			continue
		}
		// A zone other than UTC can move the instant by up to 14 hours;
		// take the earliest reading so the guess stays early.
		t = t.Add(-14 * time.Hour)
		if first.IsZero() || t.Before(first) {
			first = t
		}
		i += 18
	}
	return first
}

func digits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
