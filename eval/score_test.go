package eval

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-ids/vigil/alert"
)

var h0 = time.Date(2026, 2, 3, 10, 0, 0, 0, time.UTC)

func hr(n int) time.Time { return h0.Add(time.Duration(n) * time.Hour) }

func netAlert(typ, res string, from, to int) alert.Alert {
	a := alert.New(typ, res, hr(from), hr(to))
	a.Resource = res
	return a
}

func mgmtAlert(typ, principal string, from, to int) alert.Alert {
	a := alert.New(typ, principal, hr(from), hr(to))
	a.Principal = principal
	return a
}

func TestScore(t *testing.T) {
	const vm1, vm2 = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/vm1", "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/vm2"
	inc := func(typ, key string, from, to int) Incident {
		return Incident{Type: typ, Key: key, Start: hr(from), End: hr(to)}
	}
	tests := []struct {
		name     string
		truth    []Incident
		alerts   []alert.Alert
		opts     Options
		want     []TypeScore
		overall  TypeScore
		missed   int
		lookalke string
	}{
		{
			name:    "exact match",
			truth:   []Incident{inc(alert.IncomingSSH, vm1, 0, 2)},
			alerts:  []alert.Alert{netAlert(alert.IncomingSSH, vm1, 0, 2)},
			want:    []TypeScore{{Type: alert.IncomingSSH, Expected: 1, Detected: 1, Alerts: 1, Precision: 1, Recall: 1}},
			overall: TypeScore{Type: "overall", Expected: 1, Detected: 1, Alerts: 1, Precision: 1, Recall: 1},
		},
		{
			name:    "within the slack",
			truth:   []Incident{inc(alert.IncomingSSH, vm1, 0, 1)},
			alerts:  []alert.Alert{netAlert(alert.IncomingSSH, vm1, 2, 3)},
			want:    []TypeScore{{Type: alert.IncomingSSH, Expected: 1, Detected: 1, Alerts: 1, Precision: 1, Recall: 1}},
			overall: TypeScore{Type: "overall", Expected: 1, Detected: 1, Alerts: 1, Precision: 1, Recall: 1},
		},
		{
			name:    "beyond the slack is a miss and a false alarm",
			truth:   []Incident{inc(alert.IncomingSSH, vm1, 0, 1)},
			alerts:  []alert.Alert{netAlert(alert.IncomingSSH, vm1, 3, 4)},
			want:    []TypeScore{{Type: alert.IncomingSSH, Expected: 1, Missed: 1, Alerts: 1, FalseAlarms: 1, Precision: 0, Recall: 0}},
			overall: TypeScore{Type: "overall", Expected: 1, Missed: 1, Alerts: 1, FalseAlarms: 1},
			missed:  1,
		},
		{
			name:    "no slack",
			truth:   []Incident{inc(alert.IncomingSSH, vm1, 0, 1)},
			alerts:  []alert.Alert{netAlert(alert.IncomingSSH, vm1, 2, 3)},
			opts:    Options{Slack: -1},
			want:    []TypeScore{{Type: alert.IncomingSSH, Expected: 1, Missed: 1, Alerts: 1, FalseAlarms: 1}},
			overall: TypeScore{Type: "overall", Expected: 1, Missed: 1, Alerts: 1, FalseAlarms: 1},
			missed:  1,
		},
		{
			name:   "single versus multi is a type mismatch",
			truth:  []Incident{inc(alert.IncomingSSHMulti, vm1, 0, 1)},
			alerts: []alert.Alert{netAlert(alert.IncomingSSH, vm1, 0, 1)},
			want: []TypeScore{
				{Type: alert.IncomingSSH, Alerts: 1, FalseAlarms: 1, Recall: 1},
				{Type: alert.IncomingSSHMulti, Expected: 1, Missed: 1, Precision: 1},
			},
			overall: TypeScore{Type: "overall", Expected: 1, Missed: 1, Alerts: 1, FalseAlarms: 1},
			missed:  1,
		},
		{
			name:    "other resource",
			truth:   []Incident{inc(alert.OutgoingRDP, vm1, 0, 1)},
			alerts:  []alert.Alert{netAlert(alert.OutgoingRDP, vm2, 0, 1)},
			want:    []TypeScore{{Type: alert.OutgoingRDP, Expected: 1, Missed: 1, Alerts: 1, FalseAlarms: 1}},
			overall: TypeScore{Type: "overall", Expected: 1, Missed: 1, Alerts: 1, FalseAlarms: 1},
			missed:  1,
		},
		{
			name:  "two alerts for one incident, one alert for two incidents",
			truth: []Incident{inc(alert.MaliciousAddress, vm1, 0, 1), inc(alert.MaliciousAddress, vm1, 4, 5), inc(alert.IncomingRDP, vm2, 0, 6)},
			alerts: []alert.Alert{
				netAlert(alert.MaliciousAddress, vm1, 0, 5),
				netAlert(alert.IncomingRDP, vm2, 0, 2), netAlert(alert.IncomingRDP, vm2, 4, 6),
			},
			want: []TypeScore{
				{Type: alert.IncomingRDP, Expected: 1, Detected: 1, Alerts: 2, Precision: 1, Recall: 1},
				{Type: alert.MaliciousAddress, Expected: 2, Detected: 2, Alerts: 1, Precision: 1, Recall: 1},
			},
			overall: TypeScore{Type: "overall", Expected: 3, Detected: 3, Alerts: 3, Precision: 1, Recall: 1},
		},
		{
			name:  "management alerts match by principal",
			truth: []Incident{inc(alert.ImpossibleTravel, "alice@example.com", 0, 0)},
			alerts: []alert.Alert{
				mgmtAlert(alert.ImpossibleTravel, "alice@example.com", 0, 0),
				mgmtAlert(alert.AnonymousIP, "bob@example.com", 0, 0),
			},
			want: []TypeScore{
				{Type: alert.AnonymousIP, Alerts: 1, FalseAlarms: 1, Recall: 1},
				{Type: alert.ImpossibleTravel, Expected: 1, Detected: 1, Alerts: 1, Precision: 1, Recall: 1},
			},
			overall: TypeScore{Type: "overall", Expected: 1, Detected: 1, Alerts: 2, FalseAlarms: 1, Precision: 0.5, Recall: 1},
		},
		{
			name:     "false alarm on a look-alike",
			alerts:   []alert.Alert{netAlert(alert.IncomingSSH, vm2, 5, 6)},
			opts:     Options{LookAlikes: []Incident{{Type: alert.IncomingSSH, Key: vm2, Start: hr(5), End: hr(6), Note: "bastion"}}},
			want:     []TypeScore{{Type: alert.IncomingSSH, Alerts: 1, FalseAlarms: 1, Recall: 1}},
			overall:  TypeScore{Type: "overall", Alerts: 1, FalseAlarms: 1, Recall: 1},
			lookalke: "bastion",
		},
		{
			name:    "nothing at all",
			overall: TypeScore{Type: "overall", Precision: 1, Recall: 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep := Score(tc.truth, tc.alerts, tc.opts)
			if diff := cmp.Diff(tc.want, rep.Types); diff != "" {
				t.Errorf("types (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.overall, rep.Overall); diff != "" {
				t.Errorf("overall (-want +got):\n%s", diff)
			}
			if len(rep.Missed) != tc.missed {
				t.Errorf("missed %d, want %d", len(rep.Missed), tc.missed)
			}
			if tc.lookalke != "" && (len(rep.FalseAlarms) != 1 || rep.FalseAlarms[0].LookAlike != tc.lookalke) {
				t.Errorf("false alarms %+v, want one on look-alike %q", rep.FalseAlarms, tc.lookalke)
			}
			var tab, js bytes.Buffer
			if err := rep.WriteTable(&tab); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(tab.String(), "overall") {
				t.Errorf("table has no overall row:\n%s", tab.String())
			}
			if err := rep.WriteJSON(&js); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestReadAlertsMergesDeliveries(t *testing.T) {
	a := netAlert(alert.IncomingSSH, "r", 0, 1)
	b := a
	b.End = hr(3)
	var buf bytes.Buffer
	for _, x := range []alert.Alert{a, netAlert(alert.IncomingRDP, "r", 0, 1), b} {
		line, _ := jsonMarshal(x)
		buf.Write(line)
		buf.WriteString("\n\n")
	}
	got, err := ReadAlerts(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got[0].End.Equal(hr(3)) {
		t.Fatalf("got %d alerts, first ends %v; want 2, the first ending %v", len(got), got[0].End, hr(3))
	}
	if _, err := ReadAlerts(strings.NewReader(`{"id":"x"}`)); err == nil {
		t.Error("an alert without a type must be an error")
	}
	if _, err := ReadAlerts(strings.NewReader(`{"id":`)); err == nil {
		t.Error("broken JSON must be an error")
	}
}

func TestTruthRoundTrip(t *testing.T) {
	in := []Incident{{Type: alert.IncomingSSH, Key: "k", Start: hr(0), End: hr(1), Note: "n"}}
	var buf bytes.Buffer
	if err := WriteTruth(&buf, in); err != nil {
		t.Fatal(err)
	}
	out, err := ReadTruth(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, out); diff != "" {
		t.Error(diff)
	}
}

func jsonMarshal(a alert.Alert) ([]byte, error) { return json.Marshal(a) }
