package watch

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// countRecords is a processor over {"records":[...]} documents that
// collects the records it is asked to process.
func countRecords(got *[]string) Processor {
	return func(path string, skip uint64) (uint64, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return 0, err
		}
		var doc struct {
			Records []string `json:"records"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			return 0, err
		}
		for i, r := range doc.Records {
			if uint64(i) >= skip {
				*got = append(*got, r)
			}
		}
		return uint64(len(doc.Records)), nil
	}
}

func writeDoc(t *testing.T, path string, recs []string, mtime time.Time) {
	t.Helper()
	b, _ := json.Marshal(map[string][]string{"records": recs})
	// Pad the records so the head covers more than the first record, as
	// real Activity Log records are kilobytes long.
	b = bytes.ReplaceAll(b, []byte(`","`), []byte(`",  "`))
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

func TestGrowingBlobIsReadOnFromTheLastRecord(t *testing.T) {
	dir := t.TempDir()
	blob := filepath.Join(dir, "h=05", "PT1H.json")
	os.MkdirAll(filepath.Dir(blob), 0o755)
	t0 := time.Date(2026, 11, 1, 5, 10, 0, 0, time.UTC)
	rec := func(i int) string {
		return "record-" + string(rune('a'+i)) + "-with-some-padding-to-look-like-a-real-record"
	}

	w := New([]string{dir}, nil, 0)
	w.now = func() time.Time { return t0.Add(time.Hour) }
	var got []string

	writeDoc(t, blob, []string{rec(0), rec(1)}, t0)
	if _, err := w.Poll(countRecords(&got)); err != nil {
		t.Fatal(err)
	}
	writeDoc(t, blob, []string{rec(0), rec(1), rec(2), rec(3)}, t0.Add(10*time.Minute))
	if _, err := w.Poll(countRecords(&got)); err != nil {
		t.Fatal(err)
	}
	// Unchanged: nothing more.
	if _, err := w.Poll(countRecords(&got)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{rec(0), rec(1), rec(2), rec(3)}, got); diff != "" {
		t.Errorf("records processed (-want +got):\n%s", diff)
	}

	// A restart from the saved progress reads nothing again.
	w2 := New([]string{dir}, w.Progress(), 0)
	w2.now = w.now
	var again []string
	if _, err := w2.Poll(countRecords(&again)); err != nil {
		t.Fatal(err)
	}
	if len(again) != 0 {
		t.Errorf("restart reprocessed %v", again)
	}

	// A replaced file (different head) is read from the start.
	writeDoc(t, blob, []string{"other-" + rec(0)}, t0.Add(20*time.Minute))
	var replaced []string
	if _, err := w2.Poll(countRecords(&replaced)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"other-" + rec(0)}, replaced); diff != "" {
		t.Errorf("replaced file (-want +got):\n%s", diff)
	}
}

func TestFilesStillBeingWrittenWaitToSettle(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 11, 1, 5, 0, 0, 0, time.UTC)
	writeDoc(t, filepath.Join(dir, "a.json"), []string{"x"}, t0)
	w := New([]string{dir}, nil, time.Minute)
	w.now = func() time.Time { return t0.Add(10 * time.Second) }
	var got []string
	res, err := w.Poll(countRecords(&got))
	if err != nil || res.Files != 0 {
		t.Fatalf("read a file that had not settled: %+v %v", res, err)
	}
	w.now = func() time.Time { return t0.Add(2 * time.Minute) }
	res, err = w.Poll(countRecords(&got))
	if err != nil || res.Files != 1 || len(got) != 1 {
		t.Fatalf("settled file not read: %+v %v %v", res, got, err)
	}
}
