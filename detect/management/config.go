package management

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-ids/vigil/alert"
)

// ErrConfig is returned, wrapped, for an invalid configuration.
var ErrConfig = errors.New("invalid management detection config")

// Config configures the management detections. The zero value is not
// useful: start from DefaultConfig. YAML keys are kebab-case and unknown keys
// are rejected.
type Config struct {
	// ReorderWindow is how far out of time order events may arrive. Events are
	// buffered and processed once the newest event seen is this much later.
	ReorderWindow time.Duration `yaml:"reorder-window"`
	// IncidentGap is how long after an alert's last matching activity a new
	// match of the same type and principal still extends that alert rather
	// than opening a new one.
	IncidentGap time.Duration `yaml:"incident-gap"`
	// SessionGap ends a principal's session: activity separated by less than
	// this belongs to one session (powershell-session looks at whole
	// sessions).
	SessionGap time.Duration `yaml:"session-gap"`
	// Disabled lists alert types that are never raised.
	Disabled []string `yaml:"disabled"`
	// Severities overrides the catalog severity of alert types.
	Severities map[string]string `yaml:"severities"`
	// MaxPrincipals bounds the principal profiles kept (least recently seen
	// are dropped first).
	MaxPrincipals int `yaml:"max-principals"`

	Toolkit    ToolkitConfig    `yaml:"toolkit"`
	Inactive   InactiveConfig   `yaml:"inactive"`
	PowerShell PowerShellConfig `yaml:"powershell"`
	CustomRole CustomRoleConfig `yaml:"custom-role"`
	Location   LocationConfig   `yaml:"location"`
}

// ToolkitConfig configures microburst-toolkit and azurite-toolkit.
type ToolkitConfig struct {
	// Window is the span within which one caller's actions form a burst.
	Window time.Duration `yaml:"window"`
	// MicroBurstMinKinds is the number of distinct kinds of resource (storage,
	// web, function, registry, key vault, AKS, VM, automation, Cosmos DB,
	// Service Bus, ...) a burst must touch.
	MicroBurstMinKinds int `yaml:"microburst-min-kinds"`
	// MicroBurstMinOperations is the number of toolkit actions a burst needs.
	MicroBurstMinOperations int `yaml:"microburst-min-operations"`
	// AzuriteMinWebApps is the number of distinct web apps whose publishing
	// profiles a burst must download.
	AzuriteMinWebApps int `yaml:"azurite-min-web-apps"`
	// AzuriteMinPerApp is how many publishxml calls each of those web apps
	// needs (Azurite asks for three formats; two leaves room for a lost record).
	AzuriteMinPerApp int `yaml:"azurite-min-per-app"`
	// AzuriteRequirePowerShell counts only calls made with the Azure
	// PowerShell client.
	AzuriteRequirePowerShell bool `yaml:"azurite-require-powershell"`
}

// InactiveConfig configures inactive-account-session.
type InactiveConfig struct {
	// Days without control-plane activity after which a principal is inactive.
	Days int `yaml:"days"`
	// ReturnWindow is how long after its first control-plane activity a
	// returning principal is watched for persistence actions.
	ReturnWindow time.Duration `yaml:"return-window"`
}

// PowerShellConfig configures powershell-session.
type PowerShellConfig struct {
	// LookbackDays: no PowerShell use in this many days before the session.
	LookbackDays int `yaml:"lookback-days"`
	// MinHistoryDays: the principal must have been seen first at least this
	// long ago; by default the whole lookback, so that "no PowerShell in the
	// lookback" was observed rather than assumed.
	MinHistoryDays int `yaml:"min-history-days"`
	// MinActiveDays: the principal must have been active on the control plane
	// on at least this many distinct days (0: no requirement).
	MinActiveDays int `yaml:"min-active-days"`
}

// CustomRoleConfig configures custom-role-persistence.
type CustomRoleConfig struct {
	// Window is how long after a custom role is written an assignment of it
	// counts.
	Window time.Duration `yaml:"window"`
}

// LocationConfig configures infrequent-country, anonymous-ip and
// impossible-travel and the organisation profile they share.
type LocationConfig struct {
	// OrgLearningDays is the organisation's learning period: infrequent-country
	// and anonymous-ip are not raised before the organisation has been
	// observed this long.
	OrgLearningDays int `yaml:"org-learning-days"`
	// UserLearningDays is each user's learning period for impossible-travel.
	UserLearningDays int `yaml:"user-learning-days"`
	// CountryRecencyDays: a country used by anyone in the organisation within
	// this many days is not infrequent. It is also how long shared addresses
	// are remembered.
	CountryRecencyDays int `yaml:"country-recency-days"`
	// SharedMinUsers is how many other users of the organisation must use an
	// address (or its /24 or /48, or a NAT-like ASN) for it to count as shared
	// egress, which suppresses anonymous-ip and impossible-travel.
	SharedMinUsers int `yaml:"shared-min-users"`
	// MaxSpeedKmh is the travel speed above which travel is impossible.
	MaxSpeedKmh float64 `yaml:"max-speed-kmh"`
	// MinDistanceKm is the distance below which travel is never impossible.
	MinDistanceKm float64 `yaml:"min-distance-km"`
	// SingleOrganisation pools every tenant, account and project into one
	// organisation: one company's estate across the clouds. Countries in use,
	// shared egress and the learning period are then the company's.
	SingleOrganisation bool `yaml:"single-organisation"`
	// VPNASNs lists autonomous systems of the organisation's VPN or proxy
	// egress; impossible-travel is not raised from or to them.
	VPNASNs []uint32 `yaml:"vpn-asns"`
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		ReorderWindow: 2 * time.Hour,
		IncidentGap:   2 * time.Hour,
		SessionGap:    2 * time.Hour,
		MaxPrincipals: 200000,
		Toolkit: ToolkitConfig{
			Window:                   15 * time.Minute,
			MicroBurstMinKinds:       3,
			MicroBurstMinOperations:  3,
			AzuriteMinWebApps:        3,
			AzuriteMinPerApp:         2,
			AzuriteRequirePowerShell: true,
		},
		Inactive:   InactiveConfig{Days: 30, ReturnWindow: 12 * time.Hour},
		PowerShell: PowerShellConfig{LookbackDays: 45, MinHistoryDays: 45, MinActiveDays: 0},
		CustomRole: CustomRoleConfig{Window: 24 * time.Hour},
		Location: LocationConfig{
			OrgLearningDays:    7,
			UserLearningDays:   7,
			CountryRecencyDays: 30,
			SharedMinUsers:     3,
			MaxSpeedKmh:        900,
			MinDistanceKm:      500,
		},
	}
}

// maxSharedUsers bounds the per-address user sets of the organisation
// profile; SharedMinUsers must stay below it.
const maxSharedUsers = 16

// ParseConfig decodes YAML over the defaults. Unknown keys are errors.
func ParseConfig(r io.Reader) (Config, error) {
	cfg := DefaultConfig()
	b, err := io.ReadAll(r)
	if err != nil {
		return cfg, fmt.Errorf("read management config: %w", err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return cfg, nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return cfg, cfg.Validate()
}

// Validate checks the configuration and says what is wrong.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.ReorderWindow < 0 {
		bad("reorder-window must not be negative")
	}
	if c.IncidentGap <= 0 {
		bad("incident-gap must be positive")
	}
	if c.SessionGap <= 0 {
		bad("session-gap must be positive")
	}
	if c.MaxPrincipals <= 0 {
		bad("max-principals must be positive")
	}
	for _, t := range c.Disabled {
		if !isManagementType(t) {
			bad("disabled: %q is not a management alert type", t)
		}
	}
	for t, s := range c.Severities {
		if !isManagementType(t) {
			bad("severities: %q is not a management alert type", t)
		}
		if s != alert.SeverityLow && s != alert.SeverityMedium && s != alert.SeverityHigh {
			bad("severities: %s: %q is not low, medium or high", t, s)
		}
	}
	tk := c.Toolkit
	if tk.Window <= 0 {
		bad("toolkit.window must be positive")
	}
	if tk.MicroBurstMinKinds < 2 {
		bad("toolkit.microburst-min-kinds must be at least 2")
	}
	if tk.MicroBurstMinOperations < 1 {
		bad("toolkit.microburst-min-operations must be at least 1")
	}
	if tk.AzuriteMinWebApps < 2 {
		bad("toolkit.azurite-min-web-apps must be at least 2")
	}
	if tk.AzuriteMinPerApp < 1 {
		bad("toolkit.azurite-min-per-app must be at least 1")
	}
	if c.Inactive.Days < 1 {
		bad("inactive.days must be at least 1")
	}
	if c.Inactive.ReturnWindow <= 0 {
		bad("inactive.return-window must be positive")
	}
	ps := c.PowerShell
	if ps.LookbackDays < 1 {
		bad("powershell.lookback-days must be at least 1")
	}
	if ps.MinHistoryDays < 0 || ps.MinActiveDays < 0 {
		bad("powershell.min-history-days and min-active-days must not be negative")
	}
	if c.CustomRole.Window <= 0 {
		bad("custom-role.window must be positive")
	}
	l := c.Location
	if l.OrgLearningDays < 0 || l.UserLearningDays < 0 {
		bad("location learning periods must not be negative")
	}
	if l.CountryRecencyDays < 1 {
		bad("location.country-recency-days must be at least 1")
	}
	if l.SharedMinUsers < 1 || l.SharedMinUsers >= maxSharedUsers {
		bad("location.shared-min-users must be between 1 and %d", maxSharedUsers-1)
	}
	if l.MaxSpeedKmh <= 0 {
		bad("location.max-speed-kmh must be positive")
	}
	if l.MinDistanceKm < 0 {
		bad("location.min-distance-km must not be negative")
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrConfig, errors.Join(errs...))
	}
	return nil
}

var managementTypes = []string{
	alert.MicroBurstToolkit, alert.AzuriteToolkit, alert.InactiveAccountSession,
	alert.PowerShellSession, alert.CustomRolePersistence, alert.InfrequentCountry,
	alert.AnonymousIP, alert.ImpossibleTravel,
}

// Types returns the eight alert types this package raises.
func Types() []string { return append([]string(nil), managementTypes...) }

func isManagementType(t string) bool {
	for _, m := range managementTypes {
		if m == t {
			return true
		}
	}
	return false
}

func days(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }
