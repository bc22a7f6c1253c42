package jsonfield

import (
	"bytes"
	"errors"
	"strconv"
	"unicode/utf8"
)

// ErrMalformed is returned by Members for bytes that are not a JSON
// object.
var ErrMalformed = errors.New("malformed json object")

// Members calls fn with the key and the raw value of each member of the
// JSON object obj, in order, without building any value. It is the fast
// path of the readers' hot loops: a caller picks the few members it needs
// and converts only those. Keys are passed raw (without their quotes,
// escapes not decoded: exports write plain keys). Members checks the
// object's structure (strings, nesting, separators) but neither the
// spelling of numbers and literals, which the caller parses when it uses
// them, nor control characters inside strings. fn's slices alias obj.
func Members(obj []byte, fn func(key, val []byte)) error {
	end, err := Walk(obj, func(key, rest []byte) int {
		n, ok := valueEnd(rest, 0)
		if !ok {
			return -1
		}
		fn(key, rest[:n])
		return n
	})
	if err != nil {
		return err
	}
	return trailing(obj, end)
}

// Walk visits the members of the JSON object at the start of obj like
// Members, but hands fn the bytes from the member's value to the end of
// obj, and fn returns the length of the value (or -1 when it is
// malformed). A caller that descends into a nested object with Walk
// learns its end from it, rather than have the object scanned once to
// find its end and again to read it. Walk returns the index just past
// the object; bytes after it are the caller's business.
func Walk(obj []byte, fn func(key, rest []byte) int) (int, error) {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return 0, ErrMalformed
	}
	i = skipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(obj) || obj[i] != '"' {
			return 0, ErrMalformed
		}
		kend, ok := stringEnd(obj, i)
		if !ok {
			return 0, ErrMalformed
		}
		key := obj[i+1 : kend-1]
		for _, c := range key {
			if c == '\\' {
				// An escaped key (rare): compare its decoded form.
				u, _ := unquote(obj[i:kend])
				key = []byte(u)
				break
			}
		}
		i = skipSpace(obj, kend)
		if i >= len(obj) || obj[i] != ':' {
			return 0, ErrMalformed
		}
		i = skipSpace(obj, i+1)
		if i >= len(obj) {
			return 0, ErrMalformed
		}
		n := fn(key, obj[i:])
		if n <= 0 || i+n > len(obj) {
			return 0, ErrMalformed
		}
		i = skipSpace(obj, i+n)
		if i >= len(obj) {
			return 0, ErrMalformed
		}
		switch obj[i] {
		case ',':
			i = skipSpace(obj, i+1)
		case '}':
			return i + 1, nil
		default:
			return 0, ErrMalformed
		}
	}
}

// ValueLen returns the length of the JSON value at the start of b, or -1
// when it is malformed or cut short.
func ValueLen(b []byte) int {
	n, ok := valueEnd(b, 0)
	if !ok {
		return -1
	}
	return n
}

func trailing(b []byte, i int) error {
	if skipSpace(b, i) != len(b) {
		return ErrMalformed
	}
	return nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// stringEnd returns the index just past the string starting at b[i]. It
// jumps between quotes and backslashes with the vectorised byte search,
// since most of a record's bytes are inside strings.
func stringEnd(b []byte, i int) (int, bool) {
	j := i + 1
	// Keys and most values are short: scan a few bytes by hand first.
	for end := min(j+16, len(b)); j < end; j++ {
		switch b[j] {
		case '"':
			return j + 1, true
		case '\\':
			j++
		}
	}
	for j <= len(b) {
		q := bytes.IndexByte(b[j:], '"')
		if q < 0 {
			return 0, false
		}
		k := bytes.IndexByte(b[j:j+q], '\\')
		if k < 0 {
			return j + q + 1, true
		}
		j += k + 2 // past the backslash and the character it escapes
	}
	return 0, false
}

// valueEnd returns the index just past the value starting at b[i].
func valueEnd(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, ok := stringEnd(b, j)
				if !ok {
					return 0, false
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, true
				}
			}
		}
		return 0, false
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' && b[j] != '\r' && b[j] != '\t' {
		if b[j] == '"' || b[j] == '{' || b[j] == '[' || b[j] == ':' {
			return 0, false
		}
		j++
	}
	if j == i {
		return 0, false
	}
	return j, true
}

// EqualKey reports whether a raw key equals name, ignoring ASCII case.
// name must be lower case.
func EqualKey(key []byte, name string) bool {
	if len(key) != len(name) {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != name[i] {
			return false
		}
	}
	return true
}

// TextOf converts a raw value as Text does: a string unescaped, a number
// or literal as its text, null as empty, an object as its "value" member,
// anything else as empty.
func TextOf(val []byte) Text {
	if len(val) == 0 {
		return ""
	}
	switch val[0] {
	case '"':
		s, _ := unquote(val)
		return Text(s)
	case '{':
		var out Text
		_ = Members(val, func(k, v []byte) {
			if EqualKey(k, "value") {
				out = TextOf(v)
			}
		})
		return out
	case '[':
		return ""
	case 'n':
		if string(val) == "null" {
			return ""
		}
	}
	return Text(val)
}

// unquote decodes a JSON string literal (with its quotes). Invalid
// escapes are kept as written and invalid UTF-8 is replaced, as the
// decoder's AllowInvalidUTF8 does.
func unquote(val []byte) (string, bool) {
	if len(val) < 2 || val[0] != '"' || val[len(val)-1] != '"' {
		return "", false
	}
	in := val[1 : len(val)-1]
	plain := true
	for _, c := range in {
		if c == '\\' || c >= utf8.RuneSelf {
			plain = false
			break
		}
	}
	if plain {
		return string(in), true
	}
	out := make([]byte, 0, len(in))
	for i := 0; i < len(in); {
		c := in[i]
		switch {
		case c == '\\' && i+1 < len(in):
			e := in[i+1]
			i += 2
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, n := hex4(in, i)
				if n == 0 {
					out = append(out, '\\', 'u')
					continue
				}
				i += n
				if utf16Surrogate(r) {
					if i+6 <= len(in) && in[i] == '\\' && in[i+1] == 'u' {
						if r2, n2 := hex4(in, i+2); n2 > 0 && r2 >= 0xDC00 && r2 <= 0xDFFF && r < 0xDC00 {
							r = (r-0xD800)<<10 + (r2 - 0xDC00) + 0x10000
							i += 2 + n2
							out = utf8.AppendRune(out, r)
							continue
						}
					}
					r = utf8.RuneError
				}
				out = utf8.AppendRune(out, r)
			default:
				out = append(out, '\\', e)
			}
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRune(in[i:])
			out = utf8.AppendRune(out, r)
			i += n
		default:
			out = append(out, c)
			i++
		}
	}
	return string(out), true
}

func utf16Surrogate(r rune) bool { return r >= 0xD800 && r <= 0xDFFF }

func hex4(b []byte, i int) (rune, int) {
	if i+4 > len(b) {
		return 0, 0
	}
	v, err := strconv.ParseUint(string(b[i:i+4]), 16, 32)
	if err != nil {
		return 0, 0
	}
	return rune(v), 4
}

// NumberOf converts a raw value as Number does.
func NumberOf(val []byte) Number {
	if len(val) == 0 {
		return Number{}
	}
	s := val
	if val[0] == '"' {
		u, _ := unquote(val)
		s = []byte(u)
	} else if val[0] < '0' && val[0] != '-' || val[0] > '9' {
		return Number{}
	}
	f, err := strconv.ParseFloat(string(trimSpaceBytes(s)), 64)
	if err != nil {
		return Number{}
	}
	return Number{Value: f, Valid: true}
}

func trimSpaceBytes(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
