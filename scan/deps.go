package scan

import (
	"fmt"
	"log/slog"
	"net/netip"

	"github.com/vigil-ids/vigil/audit"
	"github.com/vigil-ids/vigil/detect/management"
	"github.com/vigil-ids/vigil/enrich/geo"
	"github.com/vigil-ids/vigil/enrich/intel"
)

// ManagementDeps opens the GeoIP databases (either path may be empty) and
// adapts them, the built-in country table and the intel feeds to what the
// management detections need. The returned function closes the databases.
func ManagementDeps(geoipPath, asnPath string, feeds *intel.DB, logger *slog.Logger) (management.Deps, func(), error) {
	deps := management.Deps{Countries: countries{}, Logger: logger}
	closer := func() {}
	if geoipPath != "" || asnPath != "" {
		db, err := geo.Open(geoipPath, asnPath)
		if err != nil {
			return deps, closer, fmt.Errorf("geoip: %w", err)
		}
		deps.Locator = locator{db}
		closer = func() { db.Close() }
	}
	if feeds != nil {
		deps.Anonymity = anonymity{feeds}
	}
	return deps, closer, nil
}

type locator struct{ db *geo.DB }

func (l locator) Locate(ip netip.Addr) (audit.Location, uint32, string, bool) {
	r, ok := l.db.Lookup(ip)
	if !ok {
		return audit.Location{}, 0, "", false
	}
	return r.Location, r.ASN, r.ASOrg, true
}

type countries struct{}

func (countries) Bordering(a, b string) bool { return geo.Bordering(a, b) }

func (countries) Centroid(code string) (float64, float64, bool) {
	c, ok := geo.Country(code)
	if !ok {
		return 0, 0, false
	}
	return c.Latitude, c.Longitude, true
}

type anonymity struct{ db *intel.DB }

func (a anonymity) Anonymous(ip netip.Addr) (string, string, string, int, bool) {
	m, ok := a.db.Anonymous(ip)
	if !ok {
		return "", "", "", 0, false
	}
	return m.Category, m.Indicator, m.Source, m.Confidence, true
}
