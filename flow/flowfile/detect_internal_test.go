package flowfile

import (
	"encoding/binary"
	"testing"
)

func TestFlowVersion(t *testing.T) {
	v5 := make([]byte, 24+48*2)
	binary.BigEndian.PutUint16(v5, 5)
	binary.BigEndian.PutUint16(v5[2:], 2)
	v9 := make([]byte, 20, 32)
	binary.BigEndian.PutUint16(v9, 9)
	binary.BigEndian.PutUint16(v9[2:], 1)
	v9 = append(v9, 0, 0, 0, 12, 1, 0, 0, 1, 0, 8, 0, 4) // template flowset
	v10 := make([]byte, 16, 24)
	binary.BigEndian.PutUint16(v10, 10)
	v10 = append(v10, 1, 0, 0, 8, 1, 2, 3, 4) // data set 256
	binary.BigEndian.PutUint16(v10[2:], uint16(len(v10)))
	dns := []byte{0x00, 0x09, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 1, 0, 1}
	short := func(b []byte) []byte { return b[:len(b)-1] }
	for _, tt := range []struct {
		name string
		b    []byte
		want uint16
	}{
		{"v5", v5, 5},
		{"v5 wrong count", short(v5), 0},
		{"v9", v9, 9},
		{"v9 flowset longer than datagram", short(v9), 0},
		{"ipfix", v10, 10},
		{"ipfix length mismatch", append(v10, 0), 0},
		{"dns answer with id 9", dns, 0},
		{"empty", nil, 0},
	} {
		if got := flowVersion(tt.b); got != tt.want {
			t.Errorf("%s: flowVersion = %d, want %d", tt.name, got, tt.want)
		}
	}
}
