package netflow

import (
	"encoding/binary"
	"fmt"
)

// ScanMessages is a bufio.SplitFunc that cuts an IPFIX byte stream (a TCP
// or SCTP connection, or an IPFIX file per RFC 5655) into messages, using
// the length in each message header. NetFlow v5 and v9 carry no message
// length and cannot be framed on a stream; a version other than 10, or a
// length below the header size, ends the scan with an error wrapping
// ErrVersion or ErrMalformed. A truncated last message wraps ErrTruncated.
func ScanMessages(data []byte, atEOF bool) (advance int, token []byte, err error) {
	if len(data) < 4 {
		if atEOF && len(data) > 0 {
			return 0, nil, fmt.Errorf("scan ipfix stream: %w: %d trailing bytes", ErrTruncated, len(data))
		}
		return 0, nil, nil
	}
	if v := binary.BigEndian.Uint16(data); v != 10 {
		return 0, nil, fmt.Errorf("scan ipfix stream: %w %d", ErrVersion, v)
	}
	n := int(binary.BigEndian.Uint16(data[2:]))
	if n < 16 {
		return 0, nil, fmt.Errorf("scan ipfix stream: %w: message length %d", ErrMalformed, n)
	}
	if len(data) < n {
		if atEOF {
			return 0, nil, fmt.Errorf("scan ipfix stream: %w: message of %d bytes, %d left", ErrTruncated, n, len(data))
		}
		return 0, nil, nil
	}
	return n, data[:n], nil
}
