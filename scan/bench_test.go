package scan

import (
	"context"
	"io/fs"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-ids/vigil/config"
	"github.com/vigil-ids/vigil/enrich/intel"
	"github.com/vigil-ids/vigil/enrich/inventory"
	"github.com/vigil-ids/vigil/flow"
	"github.com/vigil-ids/vigil/flow/export"
	"github.com/vigil-ids/vigil/sim"
	"github.com/vigil-ids/vigil/sim/mgmt"
)

// writeBenchIPFIX writes an uncompressed IPFIX file of n records: a day of
// traffic of 5,000 resources in 10.0.0.0/16 with internet peers, mixing web
// sessions, admin SSH and RDP, and scanner probes, in time order as an
// exporter writes them. Peers come from a pool of 50,000 addresses with a
// skewed popularity, as real traffic has heavy hitters and a long tail.
func writeBenchIPFIX(b *testing.B, n int) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "bench.ipfix")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := export.NewIPFIXWriter(f, 1, 1)
	r := rand.New(rand.NewPCG(1, 2))
	peers := make([]netip.Addr, 50_000)
	for i := range peers {
		peers[i] = netip.AddrFrom4([4]byte{byte(20 + r.IntN(180)), byte(r.IntN(256)), byte(r.IntN(256)), byte(1 + r.IntN(254))})
	}
	start := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	step := 24 * time.Hour / time.Duration(n)
	var rec flow.Record
	for i := 0; i < n; i++ {
		t := start.Add(time.Duration(i) * step)
		res := netip.AddrFrom4([4]byte{10, 0, byte(r.IntN(20)), byte(r.IntN(250))})
		u := r.Float64()
		peer := peers[int(u*u*float64(len(peers)))]
		rec = flow.Record{Start: t, End: t.Add(time.Duration(r.IntN(5000)) * time.Millisecond), Proto: flow.ProtoTCP,
			SamplingRate: 1, Flags: flow.FlagHasTCPFlags}
		port := uint16(443)
		switch k := r.IntN(10); {
		case k < 2:
			port = 22
		case k < 3:
			port = 3389
		}
		eph := uint16(32768 + r.IntN(28000))
		if r.IntN(2) == 0 { // the peer's request
			rec.SrcAddr, rec.DstAddr, rec.SrcPort, rec.DstPort = peer, res, eph, port
			rec.TCPFlags = flow.TCPSyn | flow.TCPAck | flow.TCPPsh | flow.TCPFin
			if port != 443 && r.IntN(2) == 0 {
				rec.TCPFlags = flow.TCPSyn // a probe that got no answer
			}
		} else { // the resource's answer
			rec.SrcAddr, rec.DstAddr, rec.SrcPort, rec.DstPort = res, peer, port, eph
			rec.TCPFlags = flow.TCPSyn | flow.TCPAck | flow.TCPPsh | flow.TCPFin
		}
		rec.Packets = uint64(1 + r.IntN(20))
		rec.Bytes = rec.Packets * uint64(60+r.IntN(1400))
		if err := w.Write(&rec); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkScanIPFIX measures `vigil scan` end to end on an IPFIX file:
// reading, decoding, the time-ordered merge and the network detections.
// Run it with GOMAXPROCS=1 for the per-core figure.
func BenchmarkScanIPFIX(b *testing.B) {
	const n = 2_000_000
	path := writeBenchIPFIX(b, n)
	info, _ := os.Stat(path)
	opts := Options{Detection: config.DefaultDetection(), HomeNets: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16")}}
	b.SetBytes(info.Size())
	b.ResetTimer()
	var records uint64
	for range b.N {
		res, err := Run([]string{path}, opts)
		if err != nil {
			b.Fatal(err)
		}
		records += res.Summary.FlowRecords
	}
	if records != uint64(n)*uint64(b.N) {
		b.Fatalf("read %d records, want %d", records, uint64(n)*uint64(b.N))
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}

// activityLog writes the simulator's default management estate once and
// returns its Activity Log folder (hourly PT1H.json blobs, as exported to a
// storage account) and the same records concatenated into one file.
func activityLog(b *testing.B) (blobs, joined string, size int64) {
	b.Helper()
	dir := b.TempDir()
	end := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	if _, err := mgmt.Generate(mgmt.DefaultConfig(1, end), dir); err != nil {
		b.Fatal(err)
	}
	blobs = filepath.Join(dir, "azure", "activitylog")
	joined = filepath.Join(dir, "activitylog.json")
	out, err := os.Create(joined)
	if err != nil {
		b.Fatal(err)
	}
	err = filepath.WalkDir(blobs, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		size += int64(len(data))
		_, err = out.Write(append(data, '\n'))
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := out.Close(); err != nil {
		b.Fatal(err)
	}
	if size == 0 {
		b.Fatalf("no Activity Log written under %s", blobs)
	}
	return blobs, joined, size
}

func benchActivityLog(b *testing.B, path string, size int64) {
	opts := Options{Detection: config.DefaultDetection()}
	b.SetBytes(size)
	b.ResetTimer()
	var records uint64
	for range b.N {
		res, err := Run([]string{path}, opts)
		if err != nil {
			b.Fatal(err)
		}
		if res.Summary.Audit.MalformedTotal() != 0 {
			b.Fatalf("malformed input: %v", res.Summary.Audit.Malformed)
		}
		records += res.Summary.Audit.AzureActivity
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(size)/float64(records/uint64(b.N)), "bytes/record")
}

// BenchmarkScanActivityLog measures Activity Log records read, paired and
// run through the management detections per second, at the simulator's
// mean record size, from one file so that the figure is the engine's and
// not the file system's.
func BenchmarkScanActivityLog(b *testing.B) {
	_, joined, size := activityLog(b)
	benchActivityLog(b, joined, size)
}

// BenchmarkScanActivityLogBlobs is the same data in the storage export's
// layout: one small PT1H.json blob per subscription and hour, in a folder
// each, so it adds the cost of opening thousands of files.
func BenchmarkScanActivityLogBlobs(b *testing.B) {
	blobs, _, size := activityLog(b)
	benchActivityLog(b, blobs, size)
}

// BenchmarkScanSimulatedIPFIX scans the IPFIX files of the simulator's
// default estate (two exporters, 1:1 and 1:10, 50 resources, 14 days) with
// its inventory and threat feed: the realistic case of `vigil scan`.
func BenchmarkScanSimulatedIPFIX(b *testing.B) {
	dir := b.TempDir()
	cfg := sim.DefaultConfig()
	cfg.NetworkOnly = true
	if _, err := sim.Run(context.Background(), cfg, dir, nil); err != nil {
		b.Fatal(err)
	}
	inv, err := inventory.Load(filepath.Join(dir, "inventory.jsonl"), nil)
	if err != nil {
		b.Fatal(err)
	}
	feeds, err := intel.Load([]intel.Spec{{Path: filepath.Join(dir, "intel", "c2.csv")}})
	if err != nil {
		b.Fatal(err)
	}
	opts := Options{Detection: config.DefaultDetection(), Inventory: inv, Intel: feeds}
	path := filepath.Join(dir, "flows", "ipfix")
	b.ResetTimer()
	var records uint64
	for range b.N {
		res, err := Run([]string{path}, opts)
		if err != nil {
			b.Fatal(err)
		}
		records += res.Summary.FlowRecords
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}
