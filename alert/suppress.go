package alert

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// ErrSuppression is returned for a suppression rule that cannot match.
var ErrSuppression = errors.New("invalid suppression")

// Suppression silences alerts that match every field it sets: the alert
// type, the resource (exact, case-insensitive; "*" at the end matches a
// prefix, so "/subscriptions/S/*" silences a subscription), and the remote
// CIDR, which matches when every remote address of the alert lies inside
// it (an alert that also names a remote outside the range is still
// raised). A rule with no field set is invalid: it would silence
// everything.
type Suppression struct {
	Type     string `yaml:"type,omitempty" json:"type,omitempty"`
	Resource string `yaml:"resource,omitempty" json:"resource,omitempty"`
	Remote   string `yaml:"remote,omitempty" json:"remote,omitempty"`
	Reason   string `yaml:"reason,omitempty" json:"reason,omitempty"`
}

// Validate checks the rule: at least one field set, a known type and a
// parsable remote address or CIDR.
func (s Suppression) Validate() error {
	if s.Type == "" && s.Resource == "" && s.Remote == "" {
		return fmt.Errorf("%w: a rule needs a type, a resource or a remote", ErrSuppression)
	}
	if s.Type != "" {
		if _, ok := Lookup(s.Type); !ok {
			return fmt.Errorf("%w: unknown alert type %q", ErrSuppression, s.Type)
		}
	}
	if s.Remote != "" {
		if _, err := parseRemote(s.Remote); err != nil {
			return fmt.Errorf("%w: remote %q: %w", ErrSuppression, s.Remote, err)
		}
	}
	return nil
}

func parseRemote(s string) (netip.Prefix, error) {
	if strings.IndexByte(s, '/') >= 0 {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// Matches reports whether the rule silences the alert. An invalid remote
// never matches.
func (s Suppression) Matches(a *Alert) bool {
	if s.Type != "" && s.Type != a.Type {
		return false
	}
	if s.Resource != "" {
		r := a.Key()
		if p, ok := strings.CutSuffix(s.Resource, "*"); ok {
			if len(r) < len(p) || !strings.EqualFold(r[:len(p)], p) {
				return false
			}
		} else if !strings.EqualFold(s.Resource, r) {
			return false
		}
	}
	if s.Remote != "" {
		p, err := parseRemote(s.Remote)
		if err != nil || len(a.RemoteIPs) == 0 {
			return false
		}
		for _, ip := range a.RemoteIPs {
			addr, err := netip.ParseAddr(ip)
			if err != nil || !p.Contains(addr.Unmap()) {
				return false
			}
		}
	}
	return true
}

// Suppressions is an ordered rule list.
type Suppressions []Suppression

// Validate checks every rule and names the first invalid one.
func (ss Suppressions) Validate() error {
	for i, s := range ss {
		if err := s.Validate(); err != nil {
			return fmt.Errorf("suppression %d: %w", i+1, err)
		}
	}
	return nil
}

// Match returns the index of the first rule that silences the alert.
func (ss Suppressions) Match(a *Alert) (int, bool) {
	for i := range ss {
		if ss[i].Matches(a) {
			return i, true
		}
	}
	return -1, false
}
