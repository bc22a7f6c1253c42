package sim

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
)

// writeIntel writes the command-and-control feed as CSV with the header
// indicator,category,source,confidence: the listed addresses the
// incidents use, among unrelated indicators and a few networks.
func (s *simulator) writeIntel(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("intel: %w", err)
	}
	f, err := os.Create(filepath.Join(dir, "c2.csv"))
	if err != nil {
		return fmt.Errorf("intel: %w", err)
	}
	r := newRNG(s.cfg.Seed, 3)
	e := s.estate
	bw := bufio.NewWriter(f)
	fmt.Fprintln(bw, "indicator,category,source,confidence")
	feeds := []string{"abuse-tracker", "c2-watch", "honeynet-eu"}
	for _, a := range e.c2 {
		fmt.Fprintf(bw, "%s,c2,%s,%d\n", a, pick(r, feeds), r.between(70, 100))
	}
	for _, a := range e.internet(r, 400*s.cfg.Scale) {
		e.listed[a] = true
		cat := pick(r, []string{"malware", "botnet", "c2", "malicious"})
		fmt.Fprintf(bw, "%s,%s,%s,%d\n", a, cat, pick(r, feeds), r.between(40, 100))
	}
	// Networks: never used by simulated hosts (their addresses are drawn
	// elsewhere and checked against these /24s).
	for _, p := range e.listedNets {
		fmt.Fprintf(bw, "%s,botnet,%s,%d\n", p, pick(r, feeds), r.between(50, 90))
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("intel: %w", err)
	}
	return f.Close()
}

// writeWorld writes the simulated internet's GeoIP City and ASN databases
// (MaxMind DB), its Tor exit list as published at the end of the span, and
// its anonymity feed.
func (s *simulator) writeWorld(outDir string) error {
	w := s.estate.world
	geo := filepath.Join(outDir, "geo")
	if err := os.MkdirAll(geo, 0o755); err != nil {
		return fmt.Errorf("geo: %w", err)
	}
	if err := w.WriteMMDB(filepath.Join(geo, "city.mmdb"), filepath.Join(geo, "asn.mmdb")); err != nil {
		return fmt.Errorf("geo: %w", err)
	}
	if err := w.WriteTorExitList(filepath.Join(outDir, "intel", "tor-exits.txt"), s.end); err != nil {
		return fmt.Errorf("intel: %w", err)
	}
	if err := w.WriteAnonymizerList(filepath.Join(outDir, "intel", "anonymizers.csv"), false); err != nil {
		return fmt.Errorf("intel: %w", err)
	}
	return nil
}
