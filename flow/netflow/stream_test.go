package netflow

import (
	"bufio"
	"bytes"
	"errors"
	"testing"

	"github.com/vigil-ids/vigil/flow"
)

func TestScanMessages(t *testing.T) {
	tmpl, data := benchDatagrams(false, 3)
	stream := bytes.Join(append([][]byte{tmpl}, data...), nil)

	sc := bufio.NewScanner(bytes.NewReader(stream))
	sc.Buffer(nil, 1<<16)
	sc.Split(ScanMessages)
	d := NewDecoder(Config{})
	n := 0
	for sc.Scan() {
		if err := d.Decode(exporterA, TransportFile, sc.Bytes(), func(*flow.Record) { n++ }); err != nil {
			t.Fatal(err)
		}
	}
	if err := sc.Err(); err != nil || n != 3*benchRecords {
		t.Fatalf("%d records, error %v", n, err)
	}

	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"truncated", stream[:len(stream)-1], ErrTruncated},
		{"netflow v9", v9Msg(0, 0, 0, 0, 0), ErrVersion},
		{"bad length", be(uint16(10), uint16(3), make([]byte, 20)), ErrMalformed},
	} {
		sc := bufio.NewScanner(bytes.NewReader(tc.in))
		sc.Split(ScanMessages)
		for sc.Scan() {
		}
		if !errors.Is(sc.Err(), tc.want) {
			t.Errorf("%s: error %v, want %v", tc.name, sc.Err(), tc.want)
		}
	}
}
