package scan

import (
	"encoding/json"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/config"
	"github.com/vigil-ids/vigil/internal/testenv"
)

var sshCaptures = []string{"hydra-1_tasks.pcap", "hydra-4_tasks.pcap", "medusa-1_tasks.pcap", "ncrack-polite.pcap"}

const victim = "240.125.0.2"

// softflowdIPFIX has softflowd export a capture as IPFIX and writes the
// datagrams one after the other: an IPFIX file in the sense of RFC 5655.
func softflowdIPFIX(t *testing.T, capture string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), filepath.Base(capture)+".ipfix")
	var data []byte
	datagrams, _ := testenv.SoftflowdDatagrams(t, capture)
	for _, d := range datagrams {
		data = append(data, d.Data...)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func scanWith(t *testing.T, minAttempts float64, paths ...string) Result {
	t.Helper()
	det := config.DefaultDetection()
	if minAttempts > 0 {
		cfg, err := config.ParseDetection([]byte("network:\n  min-attempts: " + strconv.FormatFloat(minAttempts, 'f', -1, 64) + "\n"))
		if err != nil {
			t.Fatal(err)
		}
		det = cfg
	}
	res, err := Run(paths, Options{Detection: det, HomeNets: []netip.Prefix{netip.MustParsePrefix(victim + "/32")}})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// The acceptance test of the real-capture path: each capture of 61 to 243
// SSH connections from one source, scanned directly and after softflowd
// exported it as IPFIX, raises nothing with the default floors (it is
// commodity-scale brute force) and exactly one incoming-ssh alert for the
// victim with the single-source floor lowered to 50. Both paths agree.
func TestScanSSHBruteForceCaptures(t *testing.T) {
	for _, name := range sshCaptures {
		t.Run(name, func(t *testing.T) {
			capture := testenv.SharedData(t, "pcap", "ssh-bruteforce", name)
			ipfix := softflowdIPFIX(t, capture)
			var got [2][]alert.Alert
			for i, path := range []string{capture, ipfix} {
				if res := scanWith(t, 0, path); len(res.Alerts) != 0 {
					t.Errorf("%s: default floors raised %d alert(s), want none: %+v", filepath.Base(path), len(res.Alerts), res.Alerts)
				}
				res := scanWith(t, 50, path)
				if res.Summary.FlowRecords == 0 {
					t.Fatalf("%s: no flow records read", filepath.Base(path))
				}
				if len(res.Alerts) != 1 || res.Alerts[0].Type != alert.IncomingSSH || res.Alerts[0].ResourceIP != victim {
					t.Fatalf("%s: with min-attempts 50 got %s, want exactly one incoming-ssh for %s", filepath.Base(path), describe(res.Alerts), victim)
				}
				got[i] = res.Alerts
			}
			raw, exported := got[0][0], got[1][0]
			if raw.ID != exported.ID || !raw.Start.Equal(exported.Start) || !cmp.Equal(raw.RemoteIPs, exported.RemoteIPs) {
				t.Errorf("the raw and the softflowd paths disagree:\nraw      %s %s %v\nexported %s %s %v",
					raw.ID, raw.Start, raw.RemoteIPs, exported.ID, exported.Start, exported.RemoteIPs)
			}
		})
	}
}

// Alerts must not depend on the order in which inputs are named.
func TestScanDoesNotDependOnArgumentOrder(t *testing.T) {
	var paths []string
	for _, name := range sshCaptures {
		paths = append(paths, testenv.SharedData(t, "pcap", "ssh-bruteforce", name))
	}
	want := alertsJSON(t, scanWith(t, 50, paths...).Alerts)
	if len(want) == 0 {
		t.Fatal("no alerts to compare")
	}
	r := rand.New(rand.NewPCG(7, 11))
	for trial := 0; trial < 4; trial++ {
		shuffled := append([]string(nil), paths...)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if diff := cmp.Diff(want, alertsJSON(t, scanWith(t, 50, shuffled...).Alerts)); diff != "" {
			t.Fatalf("order %v changed the alerts (-want +got):\n%s", shuffled, diff)
		}
	}
}

func TestScanRejectsUnknownFilesNamedExplicitly(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(junk, []byte("not telemetry\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Run([]string{junk}, Options{Detection: config.DefaultDetection()}); err == nil {
		t.Error("an explicitly named unknown file was accepted")
	}
	// Inside a folder it is skipped and reported instead.
	res, err := Run([]string{dir}, Options{Detection: config.DefaultDetection()})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Summary.Skipped) != 1 || res.Summary.Skipped[0].Path != junk {
		t.Errorf("skipped = %+v, want the notes file", res.Summary.Skipped)
	}
	if _, err := Run([]string{filepath.Join(dir, "missing")}, Options{Detection: config.DefaultDetection()}); err == nil {
		t.Error("a missing input was accepted")
	}
}

func alertsJSON(t *testing.T, as []alert.Alert) []string {
	t.Helper()
	var out []string
	for _, a := range as {
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

func describe(as []alert.Alert) string {
	if len(as) == 0 {
		return "no alerts"
	}
	s := ""
	for _, a := range as {
		s += a.Type + "(" + a.Resource + ") "
	}
	return s
}
