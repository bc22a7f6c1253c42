package auditfile

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// Framing errors. They describe one stretch of input, which is counted as
// malformed; reading goes on after it.
var (
	errJunk      = errors.New("not json")
	errTruncated = errors.New("truncated record")
	errNotObject = errors.New("record is not a json object")
)

// ErrTooLarge is returned when one top-level JSON value exceeds
// MaxValueBytes: such a file is not an audit export, and reading it
// whole would exhaust memory.
var ErrTooLarge = errors.New("json value too large")

// MaxValueBytes bounds one top-level JSON value (a record, or a
// {"records":[…]} batch, which CloudTrail caps far below this).
const MaxValueBytes = 512 << 20

// scanState finds where a JSON value ends without parsing it: it tracks
// nesting depth and whether it is inside a string. The decoder validates
// the value afterwards.
type scanState struct {
	depth    int
	inString bool
	escape   bool
	// lineMode ends a value cut short at the end of its line: set for
	// JSON lines input, where no value spans lines, so that one broken
	// line does not swallow the lines after it.
	lineMode bool
}

// scan consumes b and returns how many bytes belong to the value, and
// whether the value ended there. A raw newline inside a string cannot be
// valid JSON and marks a record cut short; scan then reports broken and
// the bytes up to and including the newline, so reading resumes on the
// next line.
func (s *scanState) scan(b []byte) (n int, done, broken bool) {
	for i := 0; i < len(b); i++ {
		c := b[i]
		if s.inString {
			if s.escape {
				s.escape = false
				continue
			}
			// Jump to the next quote, backslash or newline with the
			// vectorised byte search: most bytes are inside strings.
			// Strings are mostly short: try a few bytes by hand before
			// paying for the call.
			if j, c := shortRun(b, i); j >= 0 {
				i = j
				switch c {
				case '"':
					s.inString = false
				case '\\':
					s.escape = true
				case '\n':
					return i + 1, false, true
				}
				continue
			}
			run := b[i:]
			q := bytes.IndexByte(run, '"')
			if q >= 0 {
				run = run[:q]
			}
			stop := -1
			if k := bytes.IndexByte(run, '\\'); k >= 0 {
				stop = k
				run = run[:k]
			}
			if nl := bytes.IndexByte(run, '\n'); nl >= 0 {
				return i + nl + 1, false, true
			}
			switch {
			case stop >= 0:
				i += stop
				s.escape = true
			case q >= 0:
				i += q
				s.inString = false
			default:
				return len(b), false, false
			}
			continue
		}
		switch c {
		case '\n':
			if s.lineMode {
				return i + 1, false, true
			}
		case '"':
			s.inString = true
		case '{', '[':
			s.depth++
		case '}', ']':
			s.depth--
			if s.depth <= 0 {
				return i + 1, true, false
			}
		}
	}
	return len(b), false, false
}

// shortRun looks at up to 16 bytes from b[i] for a quote, backslash or
// newline and returns its index and value, or -1 when there is none.
func shortRun(b []byte, i int) (int, byte) {
	end := min(i+16, len(b))
	for j := i; j < end; j++ {
		if c := b[j]; c == '"' || c == '\\' || c == '\n' {
			return j, c
		}
	}
	return -1, 0
}

// framer splits a stream into top-level JSON values: one document, JSON
// lines, or values concatenated with or without white space between them.
type framer struct {
	br  *bufio.Reader
	buf []byte
	// values counts the values returned; lines is set when the first one
	// sat on one line, which makes the input JSON lines.
	values int
	lines  bool
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

// next returns the next top-level value, valid until the next call. It
// returns io.EOF at the end, errJunk or errTruncated for a stretch of
// input that is not a value (already consumed), and other errors from
// the reader.
func (f *framer) next() ([]byte, error) {
	// Skip white space, stray commas between values, and a UTF-8 BOM.
	for {
		b, err := f.br.Peek(1)
		if err != nil {
			return nil, err
		}
		c := b[0]
		if isSpace(c) || c == ',' {
			f.br.Discard(1)
			continue
		}
		if c == 0xEF {
			if bom, _ := f.br.Peek(3); bytes.Equal(bom, []byte{0xEF, 0xBB, 0xBF}) {
				f.br.Discard(3)
				continue
			}
		}
		if c != '{' && c != '[' {
			// Not a value we read: skip the rest of the line.
			for {
				_, err := f.br.ReadSlice('\n')
				if err != bufio.ErrBufferFull {
					break
				}
			}
			return nil, errJunk
		}
		break
	}
	f.buf = f.buf[:0]
	st := scanState{lineMode: f.lines}
	for {
		if f.br.Buffered() == 0 {
			if _, err := f.br.Peek(1); err != nil {
				if err == io.EOF {
					return nil, errTruncated
				}
				return nil, err
			}
		}
		chunk, _ := f.br.Peek(f.br.Buffered())
		n, done, broken := st.scan(chunk)
		if len(f.buf)+n > MaxValueBytes {
			return nil, ErrTooLarge
		}
		f.buf = append(f.buf, chunk[:n]...)
		f.br.Discard(n)
		if broken {
			return nil, errTruncated
		}
		if done {
			if f.values == 0 {
				f.lines = bytes.IndexByte(f.buf, '\n') < 0
			}
			f.values++
			return f.buf, nil
		}
	}
}

// elements calls fn with each element of the JSON array v (which must
// start with '['). It returns errTruncated when v ends early.
func elements(v []byte, fn func([]byte)) error {
	i := 1
	for {
		for i < len(v) && (isSpace(v[i]) || v[i] == ',') {
			i++
		}
		if i >= len(v) {
			return errTruncated
		}
		if v[i] == ']' {
			return nil
		}
		end, err := valueEnd(v, i)
		if err != nil {
			return err
		}
		fn(v[i:end])
		i = end
	}
}

// valueEnd returns the index just past the JSON value starting at v[i].
func valueEnd(v []byte, i int) (int, error) {
	switch v[i] {
	case '{', '[':
		var st scanState
		n, done, _ := st.scan(v[i:])
		if !done {
			return 0, errTruncated
		}
		return i + n, nil
	case '"':
		for j := i + 1; j < len(v); j++ {
			switch v[j] {
			case '\\':
				j++
			case '"':
				return j + 1, nil
			}
		}
		return 0, errTruncated
	}
	// A scalar runs to the next delimiter; a value cannot start with one.
	j := i
	for j < len(v) && v[j] != ',' && v[j] != ']' && v[j] != '}' && !isSpace(v[j]) {
		j++
	}
	if j == i {
		return 0, errTruncated
	}
	return j, nil
}

// batchArray returns the array of a batch object: the value of its
// "records" member (Azure Monitor, CloudTrail's "Records") or "entries"
// member (a Cloud Logging list), matched case-insensitively. It reports
// false for an object that is a record itself. Every exporter writes the
// array as the batch's first member, and checking only the first key
// spares each record a search of its whole text.
func batchArray(obj []byte) ([]byte, bool) {
	i := 1
	for i < len(obj) && isSpace(obj[i]) {
		i++
	}
	if i >= len(obj) || obj[i] != '"' {
		return nil, false
	}
	kend, err := valueEnd(obj, i)
	if err != nil {
		return nil, false
	}
	key := obj[i+1 : kend-1]
	if !bytes.EqualFold(key, []byte("records")) && !bytes.EqualFold(key, []byte("entries")) {
		return nil, false
	}
	i = kend
	for i < len(obj) && (isSpace(obj[i]) || obj[i] == ':') {
		i++
	}
	if i >= len(obj) || obj[i] != '[' {
		return nil, false
	}
	vend, err := valueEnd(obj, i)
	if err != nil {
		return nil, false
	}
	return obj[i:vend], true
}
