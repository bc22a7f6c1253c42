package mgmt

import (
	"os"
	"strconv"
	"testing"
	"time"
)

// TestScaleRun writes a large estate when VIGIL_SIM_SCALE is set, and
// reports the volume and the time it took.
func TestScaleRun(t *testing.T) {
	v := os.Getenv("VIGIL_SIM_SCALE")
	if v == "" {
		t.Skip("set VIGIL_SIM_SCALE to run")
	}
	scale, err := strconv.Atoi(v)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig(1, testEnd)
	cfg.Scale = scale
	dir := t.TempDir()
	start := time.Now()
	truth, st, err := GenerateStats(cfg, dir)
	if err != nil {
		t.Fatal(err)
	}
	el := time.Since(start)
	t.Logf("scale %d: %d records, %.0f MB, %d files, %d incidents in %s: %.0f records/s, %.1f MB/s",
		scale, st.Records, float64(st.Bytes)/1e6, st.Files, len(truth), el.Round(time.Millisecond),
		float64(st.Records)/el.Seconds(), float64(st.Bytes)/1e6/el.Seconds())
}
