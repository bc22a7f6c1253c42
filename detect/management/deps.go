package management

import (
	"log/slog"
	"net/netip"

	"github.com/vigil-ids/vigil/audit"
)

// Locator finds where an address is: GeoIP in the City or Country schema,
// and the ASN database. loc.CountryOnly is set when only the country is
// known; loc.RadiusKm is the accuracy radius.
type Locator interface {
	Locate(ip netip.Addr) (loc audit.Location, asn uint32, asOrg string, ok bool)
}

// Countries is the built-in country table.
type Countries interface {
	// Bordering reports whether two ISO 3166-1 alpha-2 countries share a border.
	Bordering(a, b string) bool
	// Centroid returns a representative latitude and longitude of a country.
	Centroid(code string) (lat, lon float64, ok bool)
}

// Anonymity looks addresses up in the anonymity feeds (categories tor,
// anonymizer, proxy, vpn).
type Anonymity interface {
	Anonymous(ip netip.Addr) (category, indicator, source string, confidence int, ok bool)
}

// Deps are the detector's collaborators. Every field may be nil: without a
// Locator the detections use the location the log itself carries (sign-ins);
// without Countries country-level locations have no coordinates and no
// borders; without Anonymity anonymous-ip is never raised.
type Deps struct {
	Locator   Locator
	Countries Countries
	Anonymity Anonymity
	Logger    *slog.Logger
}
