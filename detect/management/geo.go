package management

import (
	"math"
	"net/netip"
	"strings"

	"github.com/vigil-ids/vigil/audit"
)

const earthRadiusKm = 6371.0088

// haversineKm is the great-circle distance between two points.
func haversineKm(lat1, lon1, lat2, lon2 float64) float64 {
	const rad = math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLon := (lon2 - lon1) * rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) +
		math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusKm * math.Asin(math.Min(1, math.Sqrt(a)))
}

var (
	cgnat     = netip.MustParsePrefix("100.64.0.0/10")
	thisNet   = netip.MustParsePrefix("0.0.0.0/8")
	benchmark = netip.MustParsePrefix("198.18.0.0/15")
	reserved  = netip.MustParsePrefix("240.0.0.0/4")
	ula       = netip.MustParsePrefix("fc00::/7")
)

// routable reports whether a caller address is a public internet address.
// Private, loopback, link-local, multicast, carrier-grade NAT and reserved
// ranges are cloud-internal or meaningless for a location. Documentation
// ranges are kept: they are routable in test estates and simulations.
func routable(ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	ip = ip.Unmap()
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsMulticast() ||
		ip.IsUnspecified() || ip.IsInterfaceLocalMulticast() || ip.IsLinkLocalMulticast() {
		return false
	}
	if ip.Is4() {
		return !cgnat.Contains(ip) && !thisNet.Contains(ip) && !benchmark.Contains(ip) && !reserved.Contains(ip) &&
			ip != netip.AddrFrom4([4]byte{255, 255, 255, 255})
	}
	return !ula.Contains(ip)
}

// isUser reports whether the location detections consider the principal a
// person. Readers classify principals; when they could not, an e-mail-like
// name that is not a GCP service account, or an AWS IAM user, counts as a
// person.
func isUser(ev *audit.Event) bool {
	switch ev.PrincipalType {
	case audit.PrincipalUser:
		return true
	case audit.PrincipalUnknown:
		id := ev.PrincipalID
		if ev.PrincipalName != "" && strings.IndexByte(ev.PrincipalName, '@') > 0 {
			id = ev.PrincipalName
		}
		if strings.HasSuffix(id, ".gserviceaccount.com") {
			return false
		}
		return strings.IndexByte(id, '@') > 0 || strings.Contains(id, ":user/")
	}
	return false
}

// egressPrefix is the network an address belongs to for sharing: /24 for
// IPv4, /48 for IPv6. Corporate egress pools and VPN concentrators sit in one.
func egressPrefix(ip netip.Addr) netip.Prefix {
	ip = ip.Unmap()
	if ip.Is4() {
		p, _ := ip.Prefix(24)
		return p
	}
	p, _ := ip.Prefix(48)
	return p
}

// round1 rounds to one decimal, for stable evidence.
func round1(f float64) float64 { return math.Round(f*10) / 10 }
