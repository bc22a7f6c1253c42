package alert

import (
	"testing"
	"time"
)

func TestSuppression(t *testing.T) {
	at := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	res := "/subscriptions/S1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm"
	a := New(IncomingSSH, res, at, at.Add(time.Hour))
	a.Resource = res
	a.RemoteIPs = []string{"198.51.100.7", "198.51.100.9"}
	tests := []struct {
		name string
		rule Suppression
		want bool
	}{
		{"type", Suppression{Type: IncomingSSH}, true},
		{"other type", Suppression{Type: IncomingRDP}, false},
		{"resource exact, any case", Suppression{Resource: "/SUBSCRIPTIONS/S1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm"}, true},
		{"resource prefix", Suppression{Resource: "/subscriptions/S1/*"}, true},
		{"other resource", Suppression{Resource: "/subscriptions/S2/*"}, false},
		{"remote covers all", Suppression{Remote: "198.51.100.0/24"}, true},
		{"remote covers some", Suppression{Remote: "198.51.100.7"}, false},
		{"type and remote", Suppression{Type: IncomingSSH, Remote: "198.51.100.0/28"}, true},
		{"type and other remote", Suppression{Type: IncomingSSH, Remote: "203.0.113.0/24"}, false},
	}
	for _, tt := range tests {
		if err := tt.rule.Validate(); err != nil {
			t.Errorf("%s: Validate: %v", tt.name, err)
		}
		if got := tt.rule.Matches(&a); got != tt.want {
			t.Errorf("%s: Matches = %v, want %v", tt.name, got, tt.want)
		}
	}
	for _, bad := range []Suppression{{}, {Type: "no-such-type"}, {Remote: "300.1.1.1"}, {Reason: "only a reason"}} {
		if bad.Validate() == nil {
			t.Errorf("%+v: Validate accepted it", bad)
		}
	}
	ss := Suppressions{{Type: IncomingRDP}, {Remote: "198.51.100.0/24"}}
	if i, ok := ss.Match(&a); !ok || i != 1 {
		t.Errorf("Match = %d, %v; want 1, true", i, ok)
	}
}
