package main

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-ids/vigil/flow/flowfile"
)

func runVigil(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	a := &app{stdout: &out, stderr: &errOut, logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	root := newRootCmd(a)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), errOut.String(), err
}

func TestFlowsJSONLines(t *testing.T) {
	out, stderr, err := runVigil(t, "flows", "../../flow/flowlog/testdata/vpc-noheader.log")
	if err != nil {
		t.Fatalf("flows: %v\n%s", err, stderr)
	}
	want := `{"start":"2026-03-04T05:10:00Z","end":"2026-03-04T05:10:59Z","src":"10.0.2.10","dst":"10.0.3.20","sport":58812,"dport":5432,"proto":6,"tcp_flags":0,"packets":22,"bytes":3100,"sampling_rate":1,"exporter":"","obs_domain":0,"direction":"","biflow_direction":"","format":"aws-vpc","action":"allow","flow_state":"","account":"123456789012","reverse":false}
{"start":"2026-03-04T05:10:00Z","end":"2026-03-04T05:10:59Z","src":"10.0.3.20","dst":"10.0.2.10","sport":5432,"dport":58812,"proto":6,"tcp_flags":0,"packets":20,"bytes":48211,"sampling_rate":1,"exporter":"","obs_domain":0,"direction":"","biflow_direction":"","format":"aws-vpc","action":"allow","flow_state":"","account":"123456789012","reverse":false}
`
	if d := cmp.Diff(want, out); d != "" {
		t.Errorf("output (-want +got):\n%s", d)
	}
	if stderr != "" {
		t.Errorf("stderr: %s", stderr)
	}
}

func TestFlowsCountDirectory(t *testing.T) {
	out, stderr, err := runVigil(t, "flows", "--count", "../../flow/flowlog/testdata")
	if err != nil {
		t.Fatalf("flows: %v\n%s", err, stderr)
	}
	for _, s := range []string{"files: 6", "aws-vpc:123456789012", "azure-nsg:3f2a9c1e-5b7d-4e8f-a0b1-c2d3e4f5a6b7", "azure-vnet", "malformed bad-address"} {
		if !strings.Contains(out, s) {
			t.Errorf("--count output lacks %q:\n%s", s, out)
		}
	}
	// The golden files beside the inputs are not flow files.
	if !strings.Contains(stderr, "file(s) of unknown format") {
		t.Errorf("stderr: %s", stderr)
	}
}

func TestFlowsErrors(t *testing.T) {
	_, _, err := runVigil(t, "flows", "does-not-exist.pcap")
	if err == nil || strings.Contains(err.Error(), "\n") {
		t.Errorf("missing file: err = %v, want a one-line error", err)
	}
	_, _, err = runVigil(t, "flows", "flows_test.go")
	if !errors.Is(err, flowfile.ErrUnknownFormat) {
		t.Errorf("named file of unknown format: err = %v", err)
	}
	_, _, err = runVigil(t, "flows")
	var ue usageError
	if !errors.As(err, &ue) {
		t.Errorf("no PATH: err = %v, want a usage error", err)
	}
	_, stderr, err := runVigil(t, "flows", "../../flow/flowlog/testdata/vpc-default-v2.log")
	if err != nil || !strings.Contains(stderr, "malformed: input aws-vpc-flow-log: bad-address: 1") {
		t.Errorf("err = %v, stderr:\n%s", err, stderr)
	}
}
