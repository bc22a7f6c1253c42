package auditfile

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-ids/vigil/audit"
	"github.com/vigil-ids/vigil/internal/testenv"
)

func addSeeds(f *testing.F) {
	f.Add([]byte(strings.Join(recs(azRec, 2), "\n")))
	f.Add([]byte(`{"records":[` + fmt.Sprintf(azRec, 1) + `]}` + "\n" + `{"records":[]}`))
	f.Add([]byte(`{"Records":[` + strings.Join(recs(ctRec, 2), ",") + `]}`))
	f.Add([]byte("[" + strings.Join(recs(gcpRec, 2), ",") + "]"))
	f.Add([]byte(gz(fmt.Sprintf(siRec, 1))))
	f.Add([]byte(`{"records":[{"operationName":"o","time":"2026-01-05T09:00:00Z","resultType":"Start","correlationId":"c","resourceId":"r"},{"operationName":"O","time":"2026-01-05T09:00:01Z","resultType":"Failure","correlationId":"C","resourceId":"R"}]}`))
	root := testenv.SharedData(f, "audit")
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
		return nil
	})
}

// FuzzRead checks that Read never panics and accounts for every record:
// each well-formed one is delivered as an event or merged into one.
func FuzzRead(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		var n uint64
		sum, err := Read(bytes.NewReader(b), "fuzz", func(e *audit.Event) {
			n++
			if e.Time.IsZero() {
				t.Errorf("event without a time: %+v", e)
			}
		})
		if err != nil {
			return
		}
		if n != sum.Events || sum.Records() != sum.Events+sum.Paired {
			t.Errorf("summary %+v, %d events delivered", sum, n)
		}
	})
}

// FuzzDetect checks that Detect never panics on any head, and that a
// head it recognises is read without ErrUnknownFormat.
func FuzzDetect(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		k := Detect(b)
		if k == KindUnknown || bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
			return
		}
		if _, err := Read(bytes.NewReader(b), "fuzz", func(*audit.Event) {}); err != nil {
			t.Errorf("Detect said %v but Read failed: %v", k, err)
		}
	})
}
