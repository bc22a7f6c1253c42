package scan

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/vigil-ids/vigil/audit/auditfile"
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
func discover(paths []string) ([]input, []Skipped, error) {
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
		in, err := sniff(path)
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

// sniff detects a file's format from its first bytes, gunzipping first.
func sniff(path string) (input, error) {
	f, err := os.Open(path)
	if err != nil {
		return input{}, err
	}
	defer f.Close()
	r, err := decompress(f)
	if err != nil {
		return input{}, err
	}
	head := make([]byte, headSize)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return input{}, fmt.Errorf("read: %w", err)
	}
	head = head[:n]
	if n == 0 {
		return input{}, errors.New("empty file")
	}
	in := input{path: path, flow: flowfile.Detect(head)}
	if in.flow == flowfile.KindUnknown {
		in.audit = auditfile.Detect(head)
		if in.audit == auditfile.KindUnknown {
			return input{}, ErrUnrecognised
		}
	}
	return in, nil
}

// decompress returns a reader of the file's content, gunzipping it when it
// starts with the gzip magic bytes (whatever its name).
func decompress(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(2)
	if err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return zr, nil
	}
	return br, nil
}
