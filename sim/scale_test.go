package sim

import (
	"context"
	"testing"
)

// BenchmarkScale writes a scaled estate (two flow days at scale 10) and
// reports the flow records written per second, all formats together.
func BenchmarkScale(b *testing.B) {
	var recs uint64
	for i := 0; i < b.N; i++ {
		res, err := Run(context.Background(), Config{Seed: 1, Days: 10, FlowDays: 3, Scale: 10}, b.TempDir(), nil)
		if err != nil {
			b.Fatal(err)
		}
		recs += res.FlowRecords
	}
	b.ReportMetric(float64(recs)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(recs)/float64(b.N), "records/op")
}
