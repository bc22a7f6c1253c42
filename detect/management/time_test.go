package management

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-ids/vigil/audit"
)

// TestTimeOutsideNanosecondRange feeds one event dated beyond what a
// nanosecond count can hold among ordinary ones. The reorder buffer keys on
// nanoseconds, so such a date would wrap to a watermark in the distant past
// and keep every later event buffered until Close; it is counted and
// skipped instead, and the ordinary events still drain as they arrive.
func TestTimeOutsideNanosecondRange(t *testing.T) {
	d, err := New(DefaultConfig(), testDeps(), nil)
	if err != nil {
		t.Fatal(err)
	}
	add := func(at time.Time) {
		d.Add(&audit.Event{Time: at, Cloud: audit.CloudAzure, Kind: audit.KindActivity, PrincipalID: "oid-a", Operation: "Microsoft.Resources/subscriptions/resourceGroups/read"})
	}
	add(base)
	add(time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC))
	add(time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC))
	const n = 1000
	for i := range n {
		add(base.Add(time.Duration(i) * time.Minute))
	}
	if got, max := len(d.heap.e), int(d.cfg.ReorderWindow/time.Minute)+2; got > max {
		t.Errorf("%d events buffered after %d ordinary ones, want at most %d (the reorder window)", got, n, max)
	}
	d.Close()
	if diff := cmp.Diff(map[string]int{skipBadTime: 2}, d.Summary().Skipped); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
}
